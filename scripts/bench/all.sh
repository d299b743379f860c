#!/bin/sh
# Runs every benchmark of attn, each next to its peer in the same run: tokenizer (tiktoken),
# sentence splitter (ICU), SentencePiece (spm_encode), model loading, engine (PyTorch), decoding
# on the base model (CTranslate2 when importable) and generation.
# Usage: scripts/bench/all.sh PATH/TO/attn
# Each part is scripts/bench/PART.sh; a part whose peer is missing says so and shows attn alone.
set -u
ATTN=${1:-./attn}
export ATTN
status=0

# The peers: tiktoken from the npm registry into build/npm when node is here and it is missing.
if [ -z "${NODE_PATH:-}" ] && command -v npm >/dev/null 2>&1; then
    if [ ! -d build/npm/node_modules/tiktoken ]; then
        mkdir -p build/npm
        npm install --silent --no-audit --no-fund --prefix build/npm tiktoken >/dev/null 2>&1 ||
            echo "bench: npm install tiktoken failed; the tokenizer runs without its peer"
    fi
    [ -d build/npm/node_modules/tiktoken ] && NODE_PATH=$(pwd)/build/npm/node_modules && export NODE_PATH
fi

for part in tokenizer sentences spm load engine decode generate; do
    script=scripts/bench/$part.sh
    [ -f "$script" ] || { echo "== $part: $script not present"; continue; }
    echo "== $part"
    sh "$script" "$ATTN" || status=1
done
exit $status
