#!/bin/sh
# decode.sh — decoding speed on the base-size model (d_model 512, 8 heads, FFN 2048, 6+6 layers,
# vocabulary 32000, random weights) in f32, q8 and q4, on 1 and 2 threads: the bulk case (32
# sources x 4 beams) and batch 1 greedy, with forced lengths (end of sequence ignored) and every
# beam's token counted; beside them CTranslate2's figures for the same shapes and counts
# (scripts/bench/ct2.py: float32 beside f32, int8 beside q8 and q4) when /usr/bin/python3 can
# import ctranslate2, else a note saying it was skipped.
#
# Usage: scripts/bench/decode.sh [PATH/TO/attn]
# Environment: BENCH_THREADS ("1 2"), BENCH_DTYPES ("f32 q8 q4"), BENCH_REPS (3),
#   BENCH_BATCH (32), BENCH_BEAMS (4), BENCH_OUT_LEN (32).
# attn's figures are `attn bench` medians (decode_b1_tok_s, decode_bBxK_tok_s, b1_of_bound);
# x2/x1: the 2-thread bulk figure over the 1-thread one of the same run.  The machine is shared:
# compare within one run, and read the load average printed first.
set -u
ATTN=${1:-./attn}
THREADS=${BENCH_THREADS:-"1 2"}
DTYPES=${BENCH_DTYPES:-"f32 q8 q4"}
REPS=${BENCH_REPS:-3}
BATCH=${BENCH_BATCH:-32}
BEAMS=${BENCH_BEAMS:-4}
OUT_LEN=${BENCH_OUT_LEN:-32}
PY=/usr/bin/python3
DIR=build/bench
mkdir -p "$DIR" || exit 1
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

# The base-size model: f32 from scripts/goldens/reference.py (as engine.sh writes it), the others
# converted from it.
f32=$DIR/base-f32.attn
[ -f "$f32" ] || "$PY" -m scripts.goldens.reference --base-model "$f32" --dtype f32 ||
    { echo "bench-decode: cannot write $f32 (needs $PY with torch and numpy)"; exit 1; }
for dt in $DTYPES; do
    f=$DIR/base-$dt.attn
    [ -f "$f" ] || "$ATTN" convert --dtype "$dt" --compress none "$f32" "$f" >/dev/null ||
        { echo "bench-decode: attn convert --dtype $dt failed"; exit 1; }
done

ct2=1
if ! "$PY" -c 'import ctranslate2' 2>/dev/null; then
    echo "bench-decode: CTranslate2 skipped: $PY cannot import ctranslate2 (never a dependency;"
    echo "  sh scripts/bench/ct2_node.sh runs the npm ctranslate2 binding beside attn instead)"
    ct2=0
fi

get() { # FILE KEY -> value, or - when absent
    v=$(awk -F '\t' -v k="$2" '$1 == k { print $2; exit }' "$1" 2>/dev/null)
    echo "${v:--}"
}
ratio() { # A B -> A/B or -
    awk -v a="$1" -v b="$2" \
        'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else printf "-" }'
}

echo "== decoding: base model, bulk $BATCH x $BEAMS beams and batch 1, $OUT_LEN tokens, medians" \
     "of $REPS; $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
bulk_key="decode_b${BATCH}x${BEAMS}_tok_s"
printf '%-5s %3s %10s %7s %10s %6s %9s %9s %6s %10s %10s\n' dtype thr bulk_tok/s of_peak \
    ct2_bulk x2/x1 b1_tok/s ct2_b1 bound ct2_type cpu_share
status=0
for dt in $DTYPES; do
    ctype=int8
    [ "$dt" = f32 ] && ctype=float32
    one=""
    for t in $THREADS; do
        out=$tmp/attn-$dt-$t
        if ! "$ATTN" bench --threads "$t" --reps "$REPS" --out-len "$OUT_LEN" --batch "$BATCH" \
            --beams "$BEAMS" "$DIR/base-$dt.attn" >"$out"; then
            echo "bench-decode: attn bench failed on $DIR/base-$dt.attn"
            status=1
            continue
        fi
        c=$tmp/ct2-$dt-$t
        : >"$c"
        if [ $ct2 = 1 ]; then
            "$PY" -m scripts.bench.ct2 --threads "$t" --compute-type "$ctype" --batch "$BATCH" \
                --beams "$BEAMS" --out-len "$OUT_LEN" --reps "$REPS" --work "$DIR/ct2-base" >"$c" ||
                echo "bench-decode: CTranslate2 run failed ($ctype, $t threads)"
        fi
        bulk=$(get "$out" "$bulk_key")
        [ -z "$one" ] && one=$bulk
        printf '%-5s %3s %10s %7s %10s %6s %9s %9s %6s %10s %10s\n' "$dt" "$t" "$bulk" \
            "$(get "$out" bulk_of_peak)" "$(get "$c" "ct2.$bulk_key")" "$(ratio "$bulk" "$one")" \
            "$(get "$out" decode_b1_tok_s)" "$(get "$c" ct2.decode_b1_tok_s)" \
            "$(get "$out" b1_of_bound)" \
            "$([ $ct2 = 1 ] && echo "$ctype" || echo -)" \
            "$(get "$out" cpu_share_bulk)/$(get "$out" cpu_share_b1)"
    done
done
echo "bulk / b1: tokens/s of every beam's token; of_peak: the bulk products' operations/s as a"
echo "share of the arithmetic peak attn bench measures (f32: multiply-add, q8/q4: int8 dot"
echo "products);"
echo "bound: batch 1 as a share of the memory-bandwidth"
echo "bound (decoder weight bytes per token / the read bandwidth attn bench measures); cpu_share:"
echo "CPU time attn got / (wall time x threads), bulk/b1 (1.00: the cores were free)."
exit $status
