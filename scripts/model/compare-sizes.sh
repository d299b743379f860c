#!/bin/sh
# compare-sizes.sh — trains two model sizes from scratch side by side for the same wall time
# (issue 17, item 4) and prints the validation loss of each at every checkpoint.
#
#   ATTN_WORK=DIR MINUTES=16 sh scripts/model/compare-sizes.sh
#
# Both runs start at once on the extended data (DIR/en-fr-x, made by make-model.sh), one PyTorch
# thread each, so that each has one core's share of the machine; their logs are DIR/size-*/train.log.
set -eu
WORK=${ATTN_WORK:-data}
PY=/usr/bin/python3
MIN=${MINUTES:-16}
export OPENBLAS_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE
run() { # name, then model-size arguments
    name=$1; shift
    rm -rf "$WORK/size-$name"
    nice -n 19 "$PY" -W ignore -m scripts.model.train train --data "$WORK/en-fr-x" \
        --ckpt "$WORK/size-$name" --threads 1 --batch-tokens 2500 --warmup 800 \
        --lr-factor 0.32 --clip 1.0 --minutes "$MIN" --save-minutes 4 --bleu-sentences 0 \
        --log-every 25 "$@" > "$WORK/size-$name.out" 2>&1 &
}
run base --d-model 256 --heads 4 --d-ff 1024 --layers 3
run large --d-model 384 --heads 6 --d-ff 1536 --layers 4
wait
for name in base large; do
    echo "== $name"; grep -i "valid" "$WORK/size-$name/train.log" || true
done
