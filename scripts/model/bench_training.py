"""bench_training.py — training speed of the default model's recipe under several settings,
measured in turns so that a busy machine slows each setting alike.

  python3 -m scripts.model.bench_training --data DIR --init MODEL.attn [--rounds 3] [--steps 3]
      [--configs f32-t2-b2500,bf16-t2-b2500,...]

Each configuration (dtype f32 or bf16 autocast, PyTorch threads, batch tokens) runs --steps
training steps on real training batches of DIR (the .ids files of train.py), then the next one,
for --rounds rounds. The weights are MODEL's and the learning rate is 0, so every configuration
sees the same weights and its mean loss shows what the dtype changes. Prints each round's target
tokens per second and, per configuration, the median and the mean loss. OpenBLAS threads and
OpenMP's wait policy are set from outside (OPENBLAS_NUM_THREADS, OMP_WAIT_POLICY).
"""
import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from scripts.lib import attnfile
from scripts.lib.translator import PAD, build, config_from_meta, state_from_attn
from scripts.model.train import load_pairs, make_batches, tensors


def parse_config(text):
    """'bf16-t2-b2500' -> (name, bf16, threads, batch tokens)."""
    dtype, threads, batch = text.split("-")
    return text, dtype == "bf16", int(threads[1:]), int(batch[1:])


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--data", required=True)
    p.add_argument("--init", required=True, help="attn model file whose weights are used")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--steps", type=int, default=3, help="steps per configuration and round")
    p.add_argument("--configs", default="f32-t2-b2500,bf16-t2-b2500,f32-t1-b2500,bf16-t1-b2500,"
                   "f32-t2-b5000,bf16-t2-b5000")
    args = p.parse_args()
    meta, weights = attnfile.read(args.init)
    cfg = config_from_meta(meta, dropout=0.1)
    model = build(cfg)
    model.load_state_dict(state_from_attn(cfg, weights))
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=0.0, betas=(0.9, 0.98), eps=1e-9)
    pairs = load_pairs(args.data, "train", "en", "fr", 160)
    configs = [parse_config(c) for c in args.configs.split(",")]
    batches = {bt: make_batches(pairs, bt, 7) for _, _, _, bt in configs}
    rates = {c[0]: [] for c in configs}
    losses = {c[0]: [] for c in configs}
    for r in range(args.rounds):
        for name, bf16, threads, bt in configs:
            torch.set_num_threads(threads)
            tok, t0 = 0, time.time()
            for i in range(args.steps):
                src, tgt_in, tgt_out = tensors(pairs, batches[bt][r * args.steps + i])
                with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                    logits = model(src, tgt_in)
                loss = F.cross_entropy(logits.float().reshape(-1, cfg["vocab"]),
                                       tgt_out.reshape(-1), ignore_index=PAD, label_smoothing=0.1)
                opt.zero_grad()
                loss.backward()
                opt.step()
                n = int(tgt_out.ne(PAD).sum())
                tok += n
                losses[name].append((loss.item(), n))
            rates[name].append(tok / (time.time() - t0))
            print("round %d %-14s %5.0f target tokens/s" % (r, name, rates[name][-1]), flush=True)
    for name, *_ in configs:
        pairs_loss = losses[name]
        print("%-14s median %5.0f target tokens/s over %d rounds, mean loss %.4f" %
              (name, statistics.median(rates[name]), args.rounds,
               sum(a * n for a, n in pairs_loss) / sum(n for _, n in pairs_loss)))


if __name__ == "__main__":
    main()
