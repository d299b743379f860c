#!/bin/sh
# gemm.sh — builds scripts/bench/gemm.c against the engine library and runs it: this
# thread's peak FMA and int8 rates, and the blocked products (gm_linear) beside kn_linear on the
# bulk shapes of a base-size model, per weight dtype, with their share of the peak.
#
#   sh scripts/gemm.sh [PATH/TO/attn] [ROWS [REPS]]
# The library is taken from the directory of PATH/TO/attn (default build/attn).
set -eu
ATTN=${1:-build/attn}
shift || true
build=$(dirname "$ATTN")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
make -s "$build/libattn.a" >&2
${CC:-cc} -O2 -std=c11 -D_GNU_SOURCE -Isrc scripts/bench/gemm.c "$build/libattn.a" -lm -pthread \
    -o "$tmp/bench-gemm"
"$tmp/bench-gemm" "$@"
