#!/bin/sh
# sentences.sh — the sentence splitter (src/sentences.c) next to ICU's sentence break iterator
# (through PyICU) on the same text: splitting speed in MB/s, one line at a time as attn splits
# records (attn: thread CPU time, median of 5; ICU: wall time, best of 3, Python loop included).
#
#   sh scripts/bench/sentences.sh PATH/TO/attn
# Environment: ATTN_BENCH_TEXT  English text to use (default: tests/data/tok/en.txt.gz, 1.2 MB
#                               of Debian package descriptions, one per line)
# The in-process part, scripts/bench/sentences.c, is built by the Makefile beside attn.
set -eu
ATTN=${1:-./attn}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bench=$(dirname "$ATTN")/bench-sentences
[ -x "$bench" ] || bench=build/bench-sentences
[ -x "$bench" ] || { echo "bench-sentences: no $bench: run make $bench (make bench does)"; exit 1; }
if [ -n "${ATTN_BENCH_TEXT:-}" ]; then
    file=$ATTN_BENCH_TEXT
else
    gzip -dc tests/data/tok/en.txt.gz >"$tmp/en.txt"
    file=$tmp/en.txt
fi
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
"$bench" "$file" en
if /usr/bin/python3 -c 'import icu' 2>/dev/null; then
    /usr/bin/python3 -m scripts.bench.icu_sentence_breaks --speed "$file"
else
    echo "ICU: not measured (no PyICU: apt-get install python3-icu)"
fi
