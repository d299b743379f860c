#!/bin/sh
# How often reduced-precision weights change the output, and what they cost in quality: converts
# MODEL to f32, f16, bf16, q8 and q4 (attn convert), runs greedy decoding (attn run) on every
# line of INPUT with each, and prints the share of output lines identical to the f32 model's and
# the run times; with REF set (reference translations, one per line of INPUT), also each dtype's
# corpus BLEU and chrF2 (scripts/model/evaluate_model.py's score mode: sacreBLEU's definitions).
# A MODEL stored in f16 widens exactly to f32, so f32 is its exact reference either way.
#
# Usage: [REF=REFS] scripts/model/dtype-agreement.sh ATTN MODEL INPUT [attn run options...]
#   e.g. REF=test.fr scripts/model/dtype-agreement.sh ./attn models/en-fr.attn test.en \
#            --no-split --truncate
#        scripts/model/dtype-agreement.sh ./attn model.attn ids.txt --ids -n 20
# Environment: DTYPES (default "f16 bf16 q8 q4"), REF.
set -u
[ $# -ge 3 ] || { echo "usage: $0 ATTN MODEL INPUT [attn run options...]" >&2; exit 2; }
ATTN=$1 MODEL=$2 INPUT=$3
shift 3
DTYPES=${DTYPES:-"f16 bf16 q8 q4"}
REF=${REF:-}
REPO=$(cd "$(dirname "$0")/../.." && pwd)
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

score() { # OUT: prints " BLEU x chrF2 y" when REF is set
    [ -n "$REF" ] || return 0
    (cd "$REPO" && /usr/bin/python3 -m scripts.model.evaluate_model "$1" "$REF") |
        awk '{ printf "  BLEU %s  chrF2 %s", $3, $5 }'
}

for dt in f32 $DTYPES; do
    "$ATTN" convert --dtype "$dt" --compress none "$MODEL" "$tmp/model-$dt.attn" >/dev/null ||
        { echo "dtype-agreement: attn convert --dtype $dt failed" >&2; exit 1; }
    secs=$(run "$tmp/model-$dt.attn" "$tmp/$dt.out" "$@") || exit 1
    total=$(wc -l <"$tmp/$dt.out")
    same=$(paste -d '\t' "$tmp/f32.out" "$tmp/$dt.out" | awk -F '\t' '$1 == $2' | wc -l)
    awk -v d="$dt" -v s="$same" -v t="$total" -v secs="$secs" -v q="$(score "$tmp/$dt.out")" \
        'BEGIN { printf "%-5s %d/%d lines identical to f32 (%.1f%%)%s, %s s\n", d, s, t,
                 t ? 100 * s / t : 0, q, secs }'
done
