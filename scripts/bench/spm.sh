#!/bin/sh
# spm.sh — attn's SentencePiece encoder next to the SentencePiece library's own command line
# (`spm_encode --output_format=id`, Debian's sentencepiece package) on the same 5 MB of English
# in the same run, whole process, pinned to one core: CPU time (user + system, best of 3), so
# that a busy shared machine changes the figures less than wall-clock time would.  The outputs
# are compared too: a speed figure for different ids would mean nothing.
#
#   sh scripts/bench/spm.sh PATH/TO/attn
# Environment: ATTN_BENCH_SPM_TEXT  English text (default: the first 5 MB of bookworm's English
#                                   package descriptions, $ATTN_WORK/raw/bookworm.en (ATTN_WORK:
#                                   data), as scripts/model/fetch-data.sh fetches them; without them
#                                   tests/data/tok/en.txt.gz repeated, which flatters attn's BPE
#                                   word cache, and the output says so)
# Models: tests/data/spm/uni-mix-32k (unigram, 32000 pieces, nmt_nfkc) and bpe-en-8k-bytefb.
set -eu
ATTN=${1:-./attn}
D=tests/data/spm
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
raw=${ATTN_WORK:-data}/raw/bookworm.en
if [ -n "${ATTN_BENCH_SPM_TEXT:-}" ]; then
    head -c 5000000 "$ATTN_BENCH_SPM_TEXT" >"$tmp/text"
    what="the first 5 MB of $ATTN_BENCH_SPM_TEXT"
elif [ -f "$raw" ]; then
    head -c 5000000 "$raw" >"$tmp/text"
    what="the first 5 MB of $raw"
else
    gzip -dc tests/data/tok/en.txt.gz >"$tmp/one"
    for i in 1 2 3 4 5; do cat "$tmp/one"; done | head -c 5000000 >"$tmp/text"
    what="tests/data/tok/en.txt.gz repeated (repeated text: see the header of this script)"
fi
bytes=$(wc -c <"$tmp/text")
pin=""
command -v taskset >/dev/null 2>&1 && pin="taskset -c 0"
echo "text: $what, $bytes bytes; one core ($pin); machine: $(nproc) cores, load average" \
    "$(cut -d' ' -f1-3 /proc/loadavg)"
have_spm=yes
command -v spm_encode >/dev/null 2>&1 ||
    { have_spm=no; echo "spm_encode missing (apt-get install sentencepiece): attn alone"; }

# best NAME CMD...: runs CMD 3 times on the text; prints the best CPU time in seconds.
best() {
    name=$1
    shift
    for i in 1 2 3; do
        /usr/bin/time -f '%U %S' -o "$tmp/time.$name.$i" $pin "$@" <"$tmp/text" >"$tmp/out.$name"
    done
    cat "$tmp"/time."$name".? | awk '{ t = $1 + $2; if (NR == 1 || t < b) b = t } END { print b }'
}

status=0
for m in uni-mix-32k bpe-en-8k-bytefb; do
    gzip -dc $D/$m.model.gz >"$tmp/$m.model"
    a=$(best attn "$ATTN" tokenize -t "$tmp/$m.model")
    if [ $have_spm = yes ]; then
        s=$(best spm spm_encode --model="$tmp/$m.model" --output_format=id)
        same="identical ids"
        cmp -s "$tmp/out.attn" "$tmp/out.spm" || { same="IDS DIFFER"; status=1; }
        echo "$m: attn tokenize $a s, spm_encode $s s ($same)" |
            awk -v b="$bytes" -v a="$a" -v s="$s" '{ printf "%s: %.1f MB/s against %.1f MB/s, " \
                "%.1fx\n", $0, b / a / 1e6, b / s / 1e6, s / a }'
    else
        echo "$m: attn tokenize $a s" |
            awk -v b="$bytes" -v a="$a" '{ printf "%s: %.1f MB/s\n", $0, b / a / 1e6 }'
    fi
done
exit $status
