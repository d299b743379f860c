#!/bin/sh
# make-model.sh — reproduce models/en-fr.attn from scratch (`make model` runs this).
#
#   ATTN_WORK=DIR sh scripts/model/make-model.sh      (default DIR: data, which git ignores)
#   INIT=models/en-fr.attn ATTN_WORK=DIR sh scripts/model/make-model.sh
#                                                     (one more stretch: continue the shipped model)
#
# The model was trained in stretches (one a session, about 2 hours each on 2 shared cores);
# models/en-fr.runs.md logs every run (steps, tokens, time, losses, scores). Steps:
#  1. Data: the Debian DDTP parallel text (scripts/model/fetch-data.sh, DIR/en-fr) and the
#     extended set (scripts/model/extra_data.py, DIR/en-fr-x: DDTP plus its sentence pairs,
#     Debian's manuals, FreeDict, synthetic copy examples; same valid and test splits).
#  2. attn's byte-level BPE tokenizer (8000 ids, joint English+French, DDTP training split only)
#     and the tokenized splits.
#  3. Stretch 1: the Transformer trained from scratch with PyTorch on the CPU on the DDTP pairs
#     (110 minutes; checkpoints every 8 minutes in DIR/ckpt-en-fr, and running this script again
#     resumes from the newest one), exported to DIR/en-fr-1.attn. With INIT=FILE this step is
#     skipped and FILE (and its tokenizer) takes its place.
#  4. Warm-started stretches from that file (train.py --init: the learning-rate schedule goes on
#     from its step after a 200-step ramp) on the extended data, each resumable from its
#     checkpoint folder: from scratch, runs 2, 3 and 4 of the log; with INIT, one more stretch
#     (LR_FACTOR, LR_DROP=STEP:FACTOR, MINUTES; a new, empty CKPT2 folder).
#  5. Evaluation of the stretch's export on the test split (scripts/model/evaluate_model.py);
#     models/en-fr.attn is replaced (with the scores in its metadata) only when the greedy test
#     BLEU beats its start's, and then the CLI test's PyTorch reference is made again.
#
# Needs: /usr/bin/python3 with torch (Debian's python3-torch) and numpy, apt-get, and ./attn
# built (`make`). Debian's torch uses whatever libblas.so.3 the system selects; the reference
# BLAS makes training about 18x slower than OpenBLAS, so when the system's BLAS is the reference
# one this script unpacks Debian's libopenblas0-pthread into DIR (nothing is installed) and points
# the training process at it (scripts/lib/openblas.py, which scripts/model/evaluate_model.py also
# uses when it runs on its own). Training runs with OMP_WAIT_POLICY=PASSIVE and one OpenBLAS
# thread: on a machine shared with other jobs, PyTorch's two spinning OpenMP threads made it
# 2-3x slower (models/en-fr.runs.md). Run it from the repository root.
set -eu

WORK=${ATTN_WORK:-data}
export ATTN_WORK="$WORK"
PY=/usr/bin/python3
ATTN=${ATTN:-./attn}
OUT=${MODEL_OUT:-models/en-fr.attn}
D="$WORK/en-fr"
X="$WORK/en-fr-x"
TOK="$D/tokenizer.tok"

[ -x "$ATTN" ] || { echo "make-model.sh: build attn first (make)" >&2; exit 1; }

# 1. Data.
[ -s "$D/train.fr" ] || sh scripts/model/fetch-data.sh
[ -s "$X/train.fr" ] || "$PY" -m scripts.model.extra_data --work "$WORK"

# 2. Tokenizer (the DDTP training split only) and tokenized splits.
if [ -n "${INIT:-}" ]; then
    TOK=$INIT
elif [ ! -s "$D/tokenizer.tok" ]; then
    "$ATTN" train-tokenizer --vocab-size 8000 --special '<pad>,<s>,</s>,<unk>' \
        -o "$D/tokenizer.tok" "$D/train.en" "$D/train.fr"
fi
for dir in "$D" "$X"; do
    for s in train valid test; do
        for l in en fr; do
            [ -s "$dir/$s.$l.ids" ] || "$ATTN" tokenize -t "$TOK" "$dir/$s.$l" > "$dir/$s.$l.ids"
        done
    done
done

# A fast BLAS for PyTorch when the system has only the reference one (scripts/lib/openblas.py).
blas_dir=$("$PY" -m scripts.lib.openblas "$WORK")
if [ -n "$blas_dir" ]; then
    LD_LIBRARY_PATH=$blas_dir
    export LD_LIBRARY_PATH
fi
export OPENBLAS_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE

# 3. Stretch 1 (resumes from the newest checkpoint in $WORK/ckpt-en-fr).
if [ -z "${INIT:-}" ]; then
    "$PY" -W ignore -m scripts.model.train train --data "$D" --ckpt "$WORK/ckpt-en-fr" \
        --vocab-size 8000 --d-model 256 --heads 4 --d-ff 1024 --layers 3 \
        --batch-tokens 2500 --warmup 800 --lr-factor 0.32 --lr-drop 439:0.55 --clip 1.0 \
        --minutes 110 --save-minutes 8 \
        --bleu-sentences 150 --log-every 25 --attn "$ATTN" --tokenizer "$TOK"
    "$PY" -m scripts.model.train export --ckpt "$WORK/ckpt-en-fr" --tokenizer "$TOK" \
        --average 2 --dtype f16 -o "$WORK/en-fr-1.attn"
    INIT=$WORK/en-fr-1.attn FROM_SCRATCH=1
fi

# 4. Warm-started stretches on the extended data. stretch INIT CKPT FACTOR DROP MINUTES OUT SEED
#    trains from the weights of INIT (train.py --init: its learning-rate schedule goes on from
#    INIT's step after a 200-step ramp; resumes from the newest checkpoint in CKPT; batches
#    shuffled by SEED, which differs from stretch to stretch so that one that ended within an
#    epoch is not followed by the same batches again), then writes the average of the two
#    newest checkpoints as OUT (f16). Validation BLEU is off (greedy decoding took minutes a
#    checkpoint).
stretch() {
    "$PY" -W ignore -m scripts.model.train train --data "$X" --ckpt "$2" --init "$1" \
        --rewarm 200 --batch-tokens 2500 --warmup 800 --lr-factor "$3" ${4:+--lr-drop "$4"} \
        --clip 1.0 --minutes "$5" --save-minutes 12 --bleu-sentences 0 --log-every 25 \
        --attn "$ATTN" --tokenizer "$TOK" --seed "$7"
    "$PY" -m scripts.model.train export --data "$X" --ckpt "$2" --init "$1" --tokenizer "$1" \
        --average "${AVERAGE:-2}" --dtype "${DTYPE:-f16}" -o "$6"
}
if [ -n "${FROM_SCRATCH:-}" ]; then
    # The shipped chain (models/en-fr.runs.md): run 2 (factor 0.55 on the schedule continued
    # from step 2374, 0.3 from its step 500 on, 81 minutes), run 3 (factor 0.3, 95 minutes,
    # seed 3), then run 4 (the same with seed 4).
    stretch "$INIT" "$WORK/ckpt-en-fr-x" 0.55 500:0.3 81 "$WORK/en-fr-2.attn" 1
    stretch "$WORK/en-fr-2.attn" "$WORK/ckpt-en-fr-3" 0.3 "" 95 "$WORK/en-fr-3.attn" 3
    INIT=$WORK/en-fr-3.attn
    CKPT2=${CKPT2:-$WORK/ckpt-en-fr-4}
    SEED=${SEED:-4}
fi
# One more stretch from INIT (a further stretch needs a new, empty CKPT2 and its own SEED).
CKPT2=${CKPT2:-$WORK/ckpt-next}
stretch "$INIT" "$CKPT2" "${LR_FACTOR:-0.3}" "${LR_DROP:-}" "${MINUTES:-95}" "$OUT.new" \
    "${SEED:-5}"

# 5. Evaluation on the test split; OUT is replaced only when the greedy test BLEU (all lines,
#    attn --truncate, the figure every run of models/en-fr.runs.md reports) beats INIT's, and it
#    is then written with the scores in its metadata (quality.*; the same tensors).
"$PY" -W ignore -m scripts.model.evaluate_model --model "$OUT.new" --attn "$ATTN" \
    --src "$D/test.en" --ref "$D/test.fr" --work "$WORK/eval"
old=$("$ATTN" info "$INIT" | awk '$1 == "quality.test.bleu" { print $3 }')
new=$("$PY" -c 'import json, sys
print(next(r["bleu"] for r in json.load(open(sys.argv[1]))["results"] if r["system"] == "attn-greedy"))' \
    "$WORK/eval/results.json")
if [ -n "$old" ] && ! awk -v a="$new" -v b="$old" 'BEGIN { exit !(a > b) }'; then
    echo "make-model.sh: BLEU $new does not beat $old of $INIT: $OUT kept, candidate $OUT.new" >&2
    exit 0
fi
"$PY" -m scripts.model.train export --data "$X" --ckpt "$CKPT2" --init "$INIT" \
    --tokenizer "$INIT" --average "${AVERAGE:-2}" --dtype "${DTYPE:-f16}" \
    --scores "$WORK/eval/results.json" -o "$OUT"
rm -f "$OUT.new"

# 6. The CLI test's reference: PyTorch's greedy output of the exported file on the sentences of
#    tests/data/model/en-fr.src (tests/cli/test_model.sh compares attn's output with it).
"$ATTN" tokenize -t "$OUT" tests/data/model/en-fr.src |
    "$PY" -W ignore -m scripts.model.train greedy --model "$OUT" |
    "$ATTN" detokenize -t "$OUT" > tests/data/model/en-fr.pytorch
