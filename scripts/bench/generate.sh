#!/bin/sh
# generate.sh — generation throughput of `attn run`: 500 sources greedy and with 4 beams,
# unbatched and with --batch 32, on the same machine in the same run.
#
#   sh scripts/bench/generate.sh [PATH/TO/attn]
#
# Model: $ATTN_BENCH_MODEL, else models/en-fr.attn (sources: data/en-fr/test.en when
# scripts/model/fetch-data.sh has run, else generated English-like lines), else the reference model
# tests/data/ref/pre_gelu_untied.attn on generated ids (tiny: only the batching overhead shows).
# Prints one line per setting: sources/s and generated tokens/s (counted from --json output).
# Text sources are not split into sentences (--no-split), so that a source is one input line.
set -u
ATTN=${1:-${ATTN:-./attn}}
N=500
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

model=${ATTN_BENCH_MODEL:-models/en-fr.attn}
mode=text
if [ ! -f "$model" ]; then
    model=tests/data/ref/pre_gelu_untied.attn
    mode=ids
fi
if [ $mode = ids ]; then
    awk -v n=$N 'BEGIN { srand(1); for (i = 0; i < n; i++) { k = 3 + int(rand() * 25); s = "";
        for (j = 0; j < k; j++) s = s (j ? " " : "") (3 + int(rand() * 70)); print s } }' >"$tmp/in"
    extra="--ids -n 32"
elif [ -f data/en-fr/test.en ]; then
    head -n $N data/en-fr/test.en >"$tmp/in"
    extra="--no-split"
else
    awk -v n=$N 'BEGIN { srand(1); split("the a this package provides library for tools data files \
        support reading writing images network server client simple fast small module", w, " ");
        for (i = 0; i < n; i++) { k = 4 + int(rand() * 16); s = "";
        for (j = 0; j < k; j++) s = s (j ? " " : "") w[1 + int(rand() * 21)]; print s "." } }' >"$tmp/in"
    extra="--no-split"
fi
threads=$(nproc 2>/dev/null || echo 1)
echo "generate: $model ($mode input, $(wc -l <"$tmp/in") sources, $threads threads)"

# bench LABEL OPTIONS...: runs attn over the input, prints sources/s and tokens/s.
bench() {
    label=$1
    shift
    start=$(date +%s.%N)
    # shellcheck disable=SC2086
    "$ATTN" -m "$model" $extra --truncate --json "$@" "$tmp/in" >"$tmp/out" 2>"$tmp/err" || {
        echo "  $label: failed: $(head -n 1 "$tmp/err")"
        return 1
    }
    end=$(date +%s.%N)
    tokens=$(sed 's/.*"ids":\[\([^]]*\)\].*/\1/' "$tmp/out" | tr ',' '\n' | grep -c .)
    awk -v l="$label" -v s="$start" -v e="$end" -v n="$(wc -l <"$tmp/out")" -v t="$tokens" \
        'BEGIN { d = e - s; printf "  %-26s %7.2f s  %8.1f sources/s  %9.1f tokens/s\n", l, d, n / d, t / d }'
}

status=0
bench "greedy, unbatched" --greedy || status=1
bench "greedy, --batch 32" --greedy --batch 32 || status=1
bench "-b 4, unbatched" -b 4 || status=1
bench "-b 4, --batch 32" -b 4 --batch 32 || status=1
exit $status
