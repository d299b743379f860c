#!/bin/sh
# make-model.sh — reproduce models/en-fr.attn from scratch (`make model` runs this).
#
#   ATTN_WORK=DIR sh scripts/model/make-model.sh      (default DIR: data, which git ignores)
#
# Steps: fetch the Debian DDTP parallel text (scripts/model/fetch-data.sh), train attn's byte-level
# BPE tokenizer (8000 ids, joint English+French, training split only), tokenize the splits,
# train the Transformer with PyTorch on the CPU (about 110 minutes of training on 2 cores;
# checkpoints every 8 minutes in DIR/ckpt-en-fr, and running this script again resumes from
# the newest one), export the average of the last checkpoints to models/en-fr.attn, and
# evaluate it on the test split (scripts/model/evaluate_model.py).
#
# Needs: /usr/bin/python3 with torch (Debian's python3-torch) and numpy, apt-get, and ./attn
# built (`make`). Debian's torch uses whatever libblas.so.3 the system selects; the reference
# BLAS makes training about 18x slower than OpenBLAS, so when the system's BLAS is the reference
# one this script unpacks Debian's libopenblas0-pthread into DIR (nothing is installed) and points
# the training process at it (scripts/lib/openblas.py, which scripts/model/evaluate_model.py also
# uses when it runs on its own). Run it from the repository root.
set -eu

WORK=${ATTN_WORK:-data}
export ATTN_WORK="$WORK"
PY=/usr/bin/python3
ATTN=${ATTN:-./attn}
OUT=${MODEL_OUT:-models/en-fr.attn}
D="$WORK/en-fr"

[ -x "$ATTN" ] || { echo "make-model.sh: build attn first (make)" >&2; exit 1; }

# 1. Data.
[ -s "$D/train.fr" ] || sh scripts/model/fetch-data.sh

# 2. Tokenizer (the training split only) and 3. tokenized splits.
if [ ! -s "$D/tokenizer.tok" ]; then
    "$ATTN" train-tokenizer --vocab-size 8000 --special '<pad>,<s>,</s>,<unk>' \
        -o "$D/tokenizer.tok" "$D/train.en" "$D/train.fr"
fi
for s in train valid test; do
    for l in en fr; do
        [ -s "$D/$s.$l.ids" ] || "$ATTN" tokenize -t "$D/tokenizer.tok" "$D/$s.$l" > "$D/$s.$l.ids"
    done
done

# A fast BLAS for PyTorch when the system has only the reference one (scripts/lib/openblas.py).
blas_dir=$("$PY" -m scripts.lib.openblas "$WORK")
if [ -n "$blas_dir" ]; then
    LD_LIBRARY_PATH=$blas_dir
    export LD_LIBRARY_PATH
fi
export OPENBLAS_NUM_THREADS=2

# 4. Training (resumes from the newest checkpoint in $WORK/ckpt-en-fr).
"$PY" -W ignore -m scripts.model.train train --data "$D" --ckpt "$WORK/ckpt-en-fr" \
    --vocab-size 8000 --d-model 256 --heads 4 --d-ff 1024 --layers 3 \
    --batch-tokens 2500 --warmup 800 --lr-factor 0.32 --lr-drop 439:0.55 --clip 1.0 \
    --minutes 110 --save-minutes 8 \
    --bleu-sentences 150 --log-every 25 --attn "$ATTN" --tokenizer "$D/tokenizer.tok"

# 5. Export: the average of the newest checkpoints.
"$PY" -m scripts.model.train export --ckpt "$WORK/ckpt-en-fr" --tokenizer "$D/tokenizer.tok" \
    --average "${AVERAGE:-2}" --dtype "${DTYPE:-f16}" -o "$OUT"

# 6. Evaluation on the test split, then the same export with the scores in its metadata
#    (quality.*; the tensors are the same, so the scores are those of the shipped file).
"$PY" -W ignore -m scripts.model.evaluate_model --model "$OUT" --attn "$ATTN" --src "$D/test.en" \
    --ref "$D/test.fr" --work "$WORK/eval"
"$PY" -m scripts.model.train export --ckpt "$WORK/ckpt-en-fr" --tokenizer "$D/tokenizer.tok" \
    --average "${AVERAGE:-2}" --dtype "${DTYPE:-f16}" --scores "$WORK/eval/results.json" -o "$OUT"

# 7. The CLI test's reference: PyTorch's greedy output of the exported file on the sentences of
#    tests/data/model/en-fr.src (tests/cli/test_model.sh compares attn's output with it).
"$ATTN" tokenize -t "$OUT" tests/data/model/en-fr.src |
    "$PY" -W ignore -m scripts.model.train greedy --model "$OUT" |
    "$ATTN" detokenize -t "$OUT" > tests/data/model/en-fr.pytorch
