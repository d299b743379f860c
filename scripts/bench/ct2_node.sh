#!/bin/sh
# ct2_node.sh — attn beside the CTranslate2 that this machine can run: the npm `ctranslate2`
# binding (1.0.0, CTranslate2 built into it; its own log names the matrix-product backend), on
# base-size models of the same shapes with random weights, in the bulk case (32 sources x 4
# beams) and batch 1 greedy, f32 / float32 and q8 / int8, on 1 and 2 threads.  Opt-in: never
# part of make check or make bench, and attn does not depend on it.
#
# Usage: sh scripts/bench/ct2_node.sh [PATH/TO/attn]
# Environment: CT2_NODE_DIR (build/bench/ct2-node: the binding, models, C library),
#   BENCH_THREADS ("1 2"), BENCH_DTYPES ("f32 q8"), BENCH_BATCH (32), BENCH_BEAMS (4),
#   BENCH_REPS (1 for CTranslate2, 3 for attn).
#
# The binding sets no decoding length, so its hypotheses run to CTranslate2's default limit of
# 256 tokens (scripts/bench/ct2_model.py makes end of sequence unreachable); attn bench runs 255
# (the base model's 256 positions).  Both rates count every beam's token and include encoding
# (attn: tokens / bulk_total_s; batch 1: attn's decode_b1_tok_s, CTranslate2's whole call).
# The binding needs glibc 2.38; on Debian 12 (2.36) the script fetches Debian 13's libc6,
# libstdc++6 and libgcc-s1 from deb.debian.org into CT2_NODE_DIR and starts node through that
# loader (nothing is installed system-wide).
set -eu
ATTN=${1:-./attn}
DIR=${CT2_NODE_DIR:-build/bench/ct2-node}
THREADS=${BENCH_THREADS:-"1 2"}
DTYPES=${BENCH_DTYPES:-"f32 q8"}
BATCH=${BENCH_BATCH:-32}
BEAMS=${BENCH_BEAMS:-4}
REPS=${BENCH_REPS:-1}
PY=/usr/bin/python3
MIRROR=http://deb.debian.org/debian
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)

if [ ! -f "$DIR/package/ct2.linux-x64-gnu.node" ]; then
    (cd "$DIR" && npm pack --silent ctranslate2@1.0.0 >/dev/null && tar xzf ctranslate2-1.0.0.tgz)
fi
run_node() { node "$@"; }
glibc=$(ldd --version | awk 'NR == 1 { print $NF }')
if [ "$(printf '%s\n2.38\n' "$glibc" | sort -V | head -1)" != 2.38 ]; then
    lib=$DIR/libc/usr/lib/x86_64-linux-gnu
    if [ ! -x "$lib/ld-linux-x86-64.so.2" ]; then
        curl -fsS "$MIRROR/dists/trixie/main/binary-amd64/Packages.xz" | xz -dc |
            awk '/^Package: (libc6|libstdc\+\+6|libgcc-s1)$/ { p = 1 }
                 p && /^Filename:/ { print $2; p = 0 }' >"$DIR/debs.txt"
        while read -r f; do
            curl -fsS -o "$DIR/pkg.deb" "$MIRROR/$f"
            dpkg -x "$DIR/pkg.deb" "$DIR/libc"
        done <"$DIR/debs.txt"
        rm -f "$DIR/pkg.deb"
    fi
    run_node() { "$lib/ld-linux-x86-64.so.2" --library-path "$lib" "$(command -v node)" "$@"; }
fi

f32=build/bench/base-f32.attn
[ -f "$f32" ] || "$PY" -m scripts.goldens.reference --base-model "$f32" --dtype f32
[ -f build/bench/base-q8.attn ] ||
    "$ATTN" convert --dtype q8 --compress none "$f32" build/bench/base-q8.attn >/dev/null
for ct in float32 int8; do
    [ -f "$DIR/$ct/model.bin" ] || "$PY" -m scripts.bench.ct2_model "$DIR/$ct" "$ct"
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
get() { awk -F '\t' -v k="$2" '$1 == k { print $2; exit }' "$1"; }

backend=$(CT2_VERBOSE=1 run_node scripts/bench/ct2_node.js "$DIR/package" "$DIR/float32" 1 1 1 0 \
    2>&1 | sed -n 's/.*\(SGEMM backend: [^(]*\).*/\1/p; s/.*\(GEMM_S8 backend: [^(]*\).*/\1/p' |
    sed 's/ *$//' | paste -sd ',' -)
echo "== attn and CTranslate2 (npm ctranslate2 1.0.0; $backend), bulk $BATCH x $BEAMS and" \
     "batch 1; $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-5s %3s %10s %10s %6s %9s %9s %6s %10s\n' dtype thr bulk_tok/s ct2_bulk ratio \
    b1_tok/s ct2_b1 ratio cpu_share
for dt in $DTYPES; do
    ct=int8
    [ "$dt" = f32 ] && ct=float32
    for t in $THREADS; do
        a=$tmp/attn
        "$ATTN" bench --threads "$t" --reps 3 --out-len 255 --batch "$BATCH" --beams "$BEAMS" \
            --bandwidth-mb 0 "build/bench/base-$dt.attn" >"$a"
        bulk=$(awk -v n="$((BATCH * BEAMS * 255))" -v s="$(get "$a" bulk_total_s)" \
            'BEGIN { printf "%.1f", n / s }')
        run_node scripts/bench/ct2_node.js "$DIR/package" "$DIR/$ct" "$t" "$BATCH" "$BEAMS" \
            "$REPS" >"$tmp/cb"
        run_node scripts/bench/ct2_node.js "$DIR/package" "$DIR/$ct" "$t" 1 1 "$REPS" >"$tmp/c1"
        b1=$(get "$a" decode_b1_tok_s)
        cb=$(get "$tmp/cb" tok_s)
        c1=$(get "$tmp/c1" tok_s)
        printf '%-5s %3s %10s %10s %6s %9s %9s %6s %10s\n' "$dt" "$t" "$bulk" "$cb" \
            "$(awk -v a="$bulk" -v b="$cb" 'BEGIN { printf "%.2f", a / b }')" "$b1" "$c1" \
            "$(awk -v a="$b1" -v b="$c1" 'BEGIN { printf "%.2f", a / b }')" \
            "$(get "$a" cpu_share_bulk)/$(get "$tmp/cb" cpu_share)"
    done
done
echo "ratio: attn / CTranslate2; cpu_share: CPU time / (wall x threads), attn bulk / CTranslate2"
echo "bulk (1.00: the cores were free).  CTranslate2 runs $REPS time(s) without warm-up."
