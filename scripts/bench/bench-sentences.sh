#!/bin/sh
# bench-sentences.sh — the sentence splitter's speed in MB/s (median of 5, thread CPU time) on a
# text file split line by line, and ICU's (through PyICU) on the same file when it is installed.
#
#   sh scripts/bench/bench-sentences.sh [FILE [LANG]]
# FILE defaults to the English package descriptions of tests/data/tok/en.txt.gz (1.6 MB);
# build libattn first (make).
set -eu
file=${1:-}
lang=${2:-en}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ -z "$file" ]; then
    gzip -dc tests/data/tok/en.txt.gz >"$tmp/en.txt"
    file=$tmp/en.txt
fi
${CC:-cc} -O2 -D_GNU_SOURCE -Isrc scripts/bench/bench-sentences.c build/libattn.a -o "$tmp/bench"
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
"$tmp/bench" "$file" "$lang"
if /usr/bin/python3 -c 'import icu' 2>/dev/null; then
    /usr/bin/python3 scripts/bench/icu-sentence-breaks.py --speed "$file"
else
    echo "ICU: skipped (no python3-icu)"
fi
