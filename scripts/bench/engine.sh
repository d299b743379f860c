#!/bin/sh
# The engine benchmark: `attn bench` next to PyTorch (scripts/goldens/reference.py --bench, the same
# weights in torch.nn.Transformer) in the same run, for the default model (models/en-fr.attn, when
# present) and a base-size model with random weights (d_model 512, 8 heads, FFN 2048, 6+6 layers,
# vocabulary 32000; written once to build/bench/), in f32, bf16 and q8, on 1 and 2 threads.
#
# Usage: scripts/bench/engine.sh [PATH/TO/attn]
# Environment: BENCH_THREADS ("1 2"), BENCH_DTYPES ("f32 bf16 q8"), BENCH_REPS (3),
#   BENCH_SRC_LEN (32), BENCH_OUT_LEN (32), BENCH_BATCH (32), BENCH_BEAMS (4),
#   BENCH_TORCH (1; 0 skips PyTorch), BENCH_TORCH_OUT_LEN (8) and BENCH_TORCH_BULK_OUT_LEN (2):
#   PyTorch recomputes the whole prefix every step, so it generates fewer tokens (which favours
#   it: its cost per token grows with the length), BENCH_MODELS (default: the default model and the base model).
# Timings are medians; on a shared machine compare the ratios of one run, not absolute figures.
set -u
ATTN=${1:-./attn}
THREADS=${BENCH_THREADS:-"1 2"}
DTYPES=${BENCH_DTYPES:-"f32 bf16 q8"}
REPS=${BENCH_REPS:-3}
SRC_LEN=${BENCH_SRC_LEN:-32}
OUT_LEN=${BENCH_OUT_LEN:-32}
BATCH=${BENCH_BATCH:-32}
BEAMS=${BENCH_BEAMS:-4}
TORCH=${BENCH_TORCH:-1}
TORCH_OUT_LEN=${BENCH_TORCH_OUT_LEN:-8}
TORCH_BULK_OUT_LEN=${BENCH_TORCH_BULK_OUT_LEN:-2}
PY=/usr/bin/python3
DIR=build/bench
mkdir -p "$DIR" || exit 1
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

if [ "$TORCH" = 1 ] && ! "$PY" -c 'import torch' 2>/dev/null; then
    echo "bench-engine: $PY has no torch (apt-get install python3-torch): attn alone"
    TORCH=0
fi

# The default model in each dtype (attn convert writes the reduced ones).
models=${BENCH_MODELS:-}
if [ -z "$models" ]; then
    [ -f models/en-fr.attn ] && models="en-fr"
    models="$models base"
fi
# The base-size model in each dtype (PyTorch writes it once; uncompressed so that it maps).
case " $models " in *" base "*)
    for dt in $DTYPES; do
        f=$DIR/base-$dt.attn
        [ -f "$f" ] || "$PY" -m scripts.goldens.reference --base-model "$f" --dtype "$dt" ||
            echo "bench-engine: cannot write $f (needs $PY with torch and numpy)"
    done ;;
esac
model_file() { # NAME DTYPE -> path (or empty)
    if [ "$1" = base ]; then echo "$DIR/base-$2.attn"; return; fi
    if [ "$2" = f32 ]; then echo "models/$1.attn"; return; fi
    out=$DIR/$1-$2.attn
    [ "$out" -nt "models/$1.attn" ] ||
        "$ATTN" convert --dtype "$2" --compress none "models/$1.attn" "$out" >/dev/null 2>&1 ||
        { echo ""; return; }
    echo "$out"
}

get() { # FILE KEY -> value, or - when absent
    v=$(awk -F '\t' -v k="$2" '$1 == k { print $2; exit }' "$1" 2>/dev/null)
    echo "${v:--}"
}
ratio() { # A B
    awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.1fx", a / b; else printf "-" }'
}

status=0
bulk_key="decode_b${BATCH}x${BEAMS}_tok_s"
for name in $models; do
    for t in $THREADS; do
        torch_out=$tmp/torch-$name-$t
        if [ "$TORCH" = 1 ]; then
            f32=$(model_file "$name" f32)
            "$PY" -m scripts.goldens.reference --bench "$f32" --threads "$t" --src-len "$SRC_LEN" \
                --out-len "$TORCH_OUT_LEN" --batch "$BATCH" --beams "$BEAMS" --reps 3 \
                --bulk-out-len "$TORCH_BULK_OUT_LEN" >"$torch_out" ||
                { echo "bench-engine: PyTorch run failed on $f32"; : >"$torch_out"; }
        else
            : >"$torch_out"
        fi
        for dt in $DTYPES; do
            f=$(model_file "$name" "$dt")
            [ -n "$f" ] && [ -f "$f" ] || { echo "bench-engine: no $name model in $dt"; continue; }
            out=$tmp/attn-$name-$dt-$t
            if ! "$ATTN" bench --threads "$t" --reps "$REPS" --src-len "$SRC_LEN" \
                --out-len "$OUT_LEN" --batch "$BATCH" --beams "$BEAMS" "$f" >"$out"; then
                echo "bench-engine: attn bench failed on $f"
                status=1
                continue
            fi
            echo "$name $dt $t $(get "$out" encoder_tok_s) $(get "$out" ttft_ms) \
$(get "$out" decode_b1_tok_s) $(get "$out" decode_b1_tok_cpu_s) $(get "$torch_out" torch.decode_b1_tok_s) \
$(ratio "$(get "$out" decode_b1_tok_s)" "$(get "$torch_out" torch.decode_b1_tok_s)") \
$(get "$out" b1_of_bound) $(get "$out" "$bulk_key") $(get "$torch_out" "torch.$bulk_key") \
$(ratio "$(get "$out" "$bulk_key")" "$(get "$torch_out" "torch.$bulk_key")") \
$(get "$out" read_bandwidth_gb_s) $(get "$out" peak_rss_mb) $(get "$out" cpu_share_b1) \
$(get "$torch_out" torch.encoder_tok_s) $(get "$torch_out" torch.ttft_ms)" >>"$tmp/rows"
        done
    done
done

echo "attn bench vs PyTorch $("$PY" -c 'import torch; print(torch.__version__)' 2>/dev/null) on" \
     "$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "src_len $SRC_LEN, out_len $OUT_LEN, bulk $BATCH sources x $BEAMS beams; medians of $REPS runs (PyTorch: 3)"
printf '%-6s %-5s %3s %9s %8s %9s %9s %9s %6s %6s %9s %9s %6s %6s %7s %4s %9s %8s\n' \
    model dtype thr enc_tok/s ttft_ms b1_tok/s b1_cpu torch_b1 ratio bound bulk_tok/s torch_blk ratio \
    GB/s rss_MB cpu torch_enc torch_ttft
[ -f "$tmp/rows" ] && while read -r l; do
    # shellcheck disable=SC2086
    printf '%-6s %-5s %3s %9s %8s %9s %9s %9s %6s %6s %9s %9s %6s %6s %7s %4s %9s %8s\n' $l
done <"$tmp/rows"
echo "b1 = batch 1 greedy (tokens/s), b1_cpu = the same per CPU-second of the calling thread (what"
echo "free cores would give), bound = b1 as a share of the memory-bandwidth bound"
echo "(decoder weights per token / measured read bandwidth), bulk = batch x beams decoding tokens/s,"
echo "cpu = CPU time attn got / (wall time x threads) in the batch-1 runs (1.00: the cores were free)."
echo "PyTorch: torch.nn.Transformer without a key/value cache (it has none), f32 weights; its"
echo "batch-1 case generates $TORCH_OUT_LEN tokens, its bulk case $TORCH_BULK_OUT_LEN per row. Debian's torch"
echo "reports its BLAS with:"
"$PY" -c 'import torch; import re; print(" ", re.search(r"BLAS_INFO=[^,]*", torch.__config__.show()).group(0))' 2>/dev/null
exit $status
