#!/bin/sh
# How often reduced-precision weights change the output: converts MODEL to f16, bf16 and q8
# (attn convert), runs greedy decoding (attn run) on every line of INPUT with each, and prints
# the share of output lines identical to the f32 model's, with the run times.
#
# Usage: scripts/model/dtype-agreement.sh ATTN MODEL INPUT [attn run options...]
#   e.g. scripts/model/dtype-agreement.sh ./attn models/en-fr.attn data/test.en --batch 16
#        scripts/model/dtype-agreement.sh ./attn model.attn ids.txt --ids -n 20
set -u
[ $# -ge 3 ] || { echo "usage: $0 ATTN MODEL INPUT [attn run options...]" >&2; exit 2; }
ATTN=$1 MODEL=$2 INPUT=$3
shift 3
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

run() { # MODEL OUT [options...]: prints the seconds taken
    m=$1 o=$2
    shift 2
    start=$(date +%s.%N)
    "$ATTN" run --greedy -m "$m" "$@" "$INPUT" >"$o" 2>"$tmp/err" ||
        { echo "dtype-agreement: attn run failed on $m: $(head -n 1 "$tmp/err")" >&2; return 1; }
    end=$(date +%s.%N)
    awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }'
}

secs=$(run "$MODEL" "$tmp/f32.out" "$@") || exit 1
total=$(wc -l <"$tmp/f32.out")
echo "f32   $total lines, ${secs} s"
for dt in f16 bf16 q8; do
    "$ATTN" convert --dtype "$dt" --compress none "$MODEL" "$tmp/model-$dt.attn" >/dev/null ||
        { echo "dtype-agreement: attn convert --dtype $dt failed" >&2; exit 1; }
    secs=$(run "$tmp/model-$dt.attn" "$tmp/$dt.out" "$@") || exit 1
    same=$(paste -d '\t' "$tmp/f32.out" "$tmp/$dt.out" | awk -F '\t' '$1 == $2' | wc -l)
    awk -v d="$dt" -v s="$same" -v t="$total" -v secs="$secs" \
        'BEGIN { printf "%-5s %d/%d lines identical to f32 (%.1f%%), %s s\n", d, s, t, t ? 100 * s / t : 0, secs }'
done
