#!/bin/sh
# Runs every benchmark of attn, each next to its peer in the same run: tokenizer (tiktoken),
# model loading, engine (PyTorch) and generation.  Usage: scripts/bench.sh PATH/TO/attn
# Each part is scripts/bench-PART.sh; a part whose peer is missing says so and shows attn alone.
set -u
ATTN=${1:-./attn}
export ATTN
status=0
for part in tokenizer load engine generate; do
    script=scripts/bench-$part.sh
    [ -f "$script" ] || { echo "== $part: $script not present"; continue; }
    echo "== $part"
    sh "$script" "$ATTN" || status=1
done
exit $status
