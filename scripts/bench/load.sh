#!/bin/sh
# load.sh — model-file loading: time and peak memory of `attn info --stats` (which opens a
# model exactly as the other commands do: every tensor read is CRC-checked, uncompressed ones are
# memory-mapped), for the default model and a base-size model (d_model 512, 6+6 layers, d_ff
# 2048, vocabulary 32000, random weights of standard deviation 0.02 written by
# scripts/lib/attnfile.py), compressed and uncompressed, in every dtype; size on disk of each dtype
# against f32; and what the byte-shuffle filter gains.
#
# Usage: scripts/bench/load.sh [ATTN]      (make bench calls it through scripts/bench/all.sh)
# Environment: BENCH_LOAD_DIR (scratch folder, default /tmp/attn-bench-load; the generated
# models, about 1.3 GB, are kept there between runs), BENCH_LOAD_RUNS (default 5),
# BENCH_LOAD_THREADS (default 2).
# Goals (issue 4): compressed load >= 1 GB/s decoded on 2 threads; mmap of an uncompressed file
# < 5 ms; peak RSS after loading < 1.1 x the decoded size.
set -eu
ATTN=${1:-./attn}
case $ATTN in /*) ;; *) ATTN=$(pwd)/$ATTN ;; esac
DIR=${BENCH_LOAD_DIR:-/tmp/attn-bench-load}
RUNS=${BENCH_LOAD_RUNS:-5}
THREADS=${BENCH_LOAD_THREADS:-2}
PY=/usr/bin/python3
REPO=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$DIR"

echo "== model loading (scripts/bench/load.sh): $RUNS runs each, --threads $THREADS"
echo "   machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"

if ! $PY -c 'import numpy' 2>/dev/null; then
    echo "SKIPPED: base-size model: /usr/bin/python3 with numpy not found (needed to write it)"
else
    if [ ! -s "$DIR/base-f32.attn" ] || [ ! -s "$DIR/base-f32-noshuffle.attn" ]; then
        echo "   writing the base-size model with scripts/lib/attnfile.py (once; kept in $DIR)"
        PYTHONPATH="$REPO" $PY - "$DIR" <<'EOF'
import sys
from scripts.lib import attnfile
import numpy as np

rng = np.random.default_rng(0)
d, ff, V, L = 512, 2048, 32000, 6

def w(*shape):
    # float64 draws cast to float32: full-entropy mantissas, like trained weights
    return (rng.standard_normal(shape) * 0.02).astype(np.float32)

T = {"embed.weight": w(V, d)}
for stack in ("enc", "dec"):
    for i in range(L):
        for blk in ["attn"] + (["cross"] if stack == "dec" else []):
            for p in "qkvo":
                T["%s.%d.%s.%s.weight" % (stack, i, blk, p)] = w(d, d)
                T["%s.%d.%s.%s.bias" % (stack, i, blk, p)] = np.zeros(d, np.float32)
            T["%s.%d.%s_norm.weight" % (stack, i, blk)] = np.ones(d, np.float32)
            T["%s.%d.%s_norm.bias" % (stack, i, blk)] = np.zeros(d, np.float32)
        T["%s.%d.ffn.up.weight" % (stack, i)] = w(ff, d)
        T["%s.%d.ffn.up.bias" % (stack, i)] = np.zeros(ff, np.float32)
        T["%s.%d.ffn.down.weight" % (stack, i)] = w(d, ff)
        T["%s.%d.ffn.down.bias" % (stack, i)] = np.zeros(d, np.float32)
        T["%s.%d.ffn_norm.weight" % (stack, i)] = np.ones(d, np.float32)
        T["%s.%d.ffn_norm.bias" % (stack, i)] = np.zeros(d, np.float32)
meta = {"arch": "transformer", "vocab_size": V, "d_model": d, "n_heads": 8, "d_head": 64,
        "d_ff": ff, "n_enc_layers": L, "n_dec_layers": L, "name": "bench-load base model"}
attnfile.write(sys.argv[1] + "/base-f32.attn", meta, T)
attnfile.write(sys.argv[1] + "/base-f32-noshuffle.attn", meta, T, shuffle_filter=False)
EOF
    fi
    for dt in f16 bf16 q8; do
        [ -s "$DIR/base-$dt.attn" ] || "$ATTN" convert --dtype $dt "$DIR/base-f32.attn" "$DIR/base-$dt.attn"
    done
    for dt in f32 q8; do
        [ -s "$DIR/base-$dt-none.attn" ] ||
            "$ATTN" convert --compress none "$DIR/base-$dt.attn" "$DIR/base-$dt-none.attn"
    done
fi

# The default model, when there is one, and an uncompressed copy of it.
DEFAULT=""
for m in "${ATTN_MODEL:-}" "$REPO/models/en-fr.attn"; do
    if [ -n "$m" ] && [ -s "$m" ]; then DEFAULT=$m; break; fi
done
if [ -n "$DEFAULT" ]; then
    # (dash's -nt is false when the second file is missing: test for it first)
    if [ ! -e "$DIR/default-none.attn" ] || [ "$DEFAULT" -nt "$DIR/default-none.attn" ]; then
        "$ATTN" convert --compress none "$DEFAULT" "$DIR/default-none.attn"
    fi
else
    echo "SKIPPED: default model: neither \$ATTN_MODEL nor models/en-fr.attn exists"
fi

# load FILE LABEL: best and median of RUNS loads; prints one line.
load() {
    file=$1
    label=$2
    i=0
    : >"$DIR/runs"
    while [ $i -lt "$RUNS" ]; do
        "$ATTN" info --stats --verify read --threads "$THREADS" "$file" >>"$DIR/runs"
        i=$((i + 1))
    done
    times=$(sed 's/.*load_ms=\([0-9.]*\).*/\1/' "$DIR/runs" | sort -n)
    best=$(echo "$times" | head -1)
    med=$(echo "$times" | sed -n "$(( (RUNS + 1) / 2 ))p")
    cpu=$(sed 's/.*cpu_ms=\([0-9.]*\).*/\1/' "$DIR/runs" | sort -n | head -1)
    awk -v label="$label" -v best="$best" -v med="$med" -v cpu="$cpu" '
        { for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
          if (v["peak_rss_bytes"] + 0 > rss) rss = v["peak_rss_bytes"] + 0
          dec = v["decoded_bytes"]; size = v["file_bytes"] }
        END { printf "   %-28s %8.1f MB %8.1f MB %9.3f %9.3f %7.2f %9.1f %7.2f %8.1f MB %6.3f\n", label,
                     size / 1e6, dec / 1e6, best, med, dec / best / 1e6, cpu, dec / cpu / 1e6,
                     rss / 1e6, rss / dec }
    ' "$DIR/runs"
}

echo "   GB/s: decoded bytes per second of the best wall-clock load (for mapped files, mapping"
echo "   is not decoding); cpu ms: least processor time of a run, all threads and process start"
echo "   included; GB/cpu-s: decoded bytes per processor second, what each idle CPU would give"
printf "   %-28s %11s %11s %9s %9s %7s %9s %7s %11s %6s\n" file "on disk" decoded "best ms" \
    "median ms" "GB/s" "cpu ms" "GB/cpu-s" "peak RSS" "RSS/dec"
[ -n "$DEFAULT" ] && load "$DEFAULT" "default (zlib)" && load "$DIR/default-none.attn" "default (none, mmap)"
if [ -s "$DIR/base-f32.attn" ]; then
    for f in f32 f16 bf16 q8; do
        load "$DIR/base-$f.attn" "base $f (zlib)"
    done
    load "$DIR/base-f32-noshuffle.attn" "base f32 (zlib, no shuffle)"
    load "$DIR/base-f32-none.attn" "base f32 (none, mmap)"
    load "$DIR/base-q8-none.attn" "base q8 (none, mmap)"

    echo "   size on disk against the f32 decoded size ($(stat -c %s "$DIR/base-f32-none.attn") bytes uncompressed):"
    ref=$(stat -c %s "$DIR/base-f32-none.attn")
    for f in f32 f32-noshuffle f16 bf16 q8 q8-none; do
        s=$(stat -c %s "$DIR/base-$f.attn")
        awk -v f="$f" -v s="$s" -v r="$ref" 'BEGIN { printf "     %-16s %12d bytes  %.3f\n", f, s, s / r }'
    done
    a=$(stat -c %s "$DIR/base-f32-noshuffle.attn")
    b=$(stat -c %s "$DIR/base-f32.attn")
    awk -v a="$a" -v b="$b" -v r="$ref" 'BEGIN {
        printf "   byte shuffle (f32, zlib level 6): %.3f of the raw size without, %.3f with: %.1f%% smaller\n",
               a / r, b / r, 100 * (a - b) / a }'
fi
if [ -n "$DEFAULT" ] && $PY -c 'import numpy' 2>/dev/null; then
    PYTHONPATH="$REPO" $PY - "$DEFAULT" "$DIR" <<'EOF'
import os, sys
from scripts.lib import attnfile
meta, tensors = attnfile.read(sys.argv[1])
sizes = []
for shuffle in (False, True):
    out = sys.argv[2] + "/default-f32-shuffle%d.attn" % shuffle
    attnfile.write(out, meta, tensors, shuffle_filter=shuffle)
    sizes.append(os.path.getsize(out))
a, b = sizes
raw = sum(t.nbytes for t in tensors.values())
print("   byte shuffle on the default model's weights as f32: %.3f of the raw size without, "
      "%.3f with: %.1f%% smaller" % (a / raw, b / raw, 100 * (a - b) / a))
EOF
fi
