"""train.py — train, export and run attn's default translation model with PyTorch (CPU).

The model is scripts/lib/translator.py's (torch.nn.Transformer, post-norm, shared embeddings).
Training: label smoothing 0.1, gradients clipped to norm --clip, Adam (0.9, 0.98, 1e-9) with the
paper's warm-up schedule lr = factor * d_model^-0.5 * min(step^-0.5, step * warmup^-1.5), dropout
0.1, batches holding at most --batch-tokens (padded) tokens, checkpoints every --save-minutes to
--ckpt, resumed from the newest one when the command is run again (step, schedule, data position
and time spent included).
SIGTERM makes it save a checkpoint and stop.

The decoder learns to predict the target ids followed by </s>.

Run from the repository root as python3 -m scripts.model.train MODE ...; modes:
  train.py train  --data DIR --ckpt DIR --vocab-size V [sizes] [--minutes M]
  train.py bench  --vocab-size V [sizes] --steps N        tokens/s of N training steps (random ids)
  train.py export --ckpt DIR --tokenizer FILE -o OUT.attn [--average N] [--dtype f32|f16|bf16|q8]
  train.py greedy --model OUT.attn < ids > ids            PyTorch greedy decoding of an attn file
Id files hold one sentence per line as space-separated ids (the output of `attn tokenize`).
"""
import argparse
import glob
import math
import os
import random
import signal
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

from scripts.lib import attnfile, metrics
from scripts.lib.translator import (BOS, EOS, PAD, UNK, attn_tensors, build, greedy, load_attn,
                                    pad)


# ---- data ----------------------------------------------------------------------------------------

def read_ids(path):
    """Reads an id file: one list of ints per line."""
    with open(path) as f:
        return [[int(t) for t in line.split()] for line in f]


def make_batches(pairs, batch_tokens, seed):
    """Groups pairs of similar length into batches of <= batch_tokens padded tokens, shuffled."""
    rng = random.Random(seed)
    idx = list(range(len(pairs)))
    rng.shuffle(idx)
    idx.sort(key=lambda i: (max(len(pairs[i][0]), len(pairs[i][1])), len(pairs[i][0])))
    batches, cur, longest = [], [], 0
    for i in idx:
        n = max(len(pairs[i][0]), len(pairs[i][1])) + 1
        if cur and max(longest, n) * (len(cur) + 1) > batch_tokens:
            batches.append(cur)
            cur, longest = [], 0
        cur.append(i)
        longest = max(longest, n)
    if cur:
        batches.append(cur)
    rng.shuffle(batches)
    return batches


def tensors(pairs, batch):
    """Returns (src, tgt_in, tgt_out) tensors of one batch of pairs."""
    src = pad([pairs[i][0] + [EOS] for i in batch])
    tgt_in = pad([[BOS] + pairs[i][1] for i in batch])
    tgt_out = pad([pairs[i][1] + [EOS] for i in batch])
    return src, tgt_in, tgt_out


def load_pairs(data, split, src_lang, tgt_lang, max_len):
    """Reads DIR/split.{src,tgt}.ids; drops empty pairs and those longer than max_len."""
    s = read_ids(os.path.join(data, "%s.%s.ids" % (split, src_lang)))
    t = read_ids(os.path.join(data, "%s.%s.ids" % (split, tgt_lang)))
    if len(s) != len(t):
        sys.exit("train.py: %s: %d source lines but %d target lines" % (split, len(s), len(t)))
    return [(a, b) for a, b in zip(s, t) if a and b and len(a) < max_len and len(b) < max_len]


# ---- training ------------------------------------------------------------------------------------

def lr_at(step, cfg):
    """The paper's learning rate at a step (1-based), times cfg['lr_factor'] (or, from the step of
    an entry [step, factor] of cfg['lr_drops'] on, times that entry's factor)."""
    factor = cfg["lr_factor"]
    for at, f in cfg.get("lr_drops", []):
        if step >= at:
            factor = f
    return factor * cfg["d_model"] ** -0.5 * min(step ** -0.5, step * cfg["warmup"] ** -1.5)


def valid_loss(model, pairs, batch_tokens):
    """Mean per-token cross entropy (no smoothing) of the model on pairs."""
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for batch in make_batches(pairs, batch_tokens, 0):
            src, tgt_in, tgt_out = tensors(pairs, batch)
            logits = model(src, tgt_in)
            total += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt_out.reshape(-1),
                                     ignore_index=PAD, reduction="sum").item()
            count += int(tgt_out.ne(PAD).sum())
    model.train()
    return total / max(count, 1)


def valid_bleu(model, pairs, detok):
    """Corpus BLEU of greedy output on pairs (text through detok), or None without a detokenizer."""
    hyps = greedy(model, [p[0] for p in pairs], max_len=160, relative=True)
    model.train()
    text_hyps = detok(hyps) if detok else None
    text_refs = detok([p[1] for p in pairs]) if detok else None
    if text_hyps is None or text_refs is None:
        return None
    return metrics.bleu(text_hyps, text_refs)[0]


def checkpoints(ckpt_dir):
    """Checkpoint paths of a folder, oldest first."""
    return sorted(glob.glob(os.path.join(ckpt_dir, "ckpt-*.pt")))


def save(ckpt_dir, state, keep):
    """Writes a checkpoint atomically and deletes all but the newest `keep`."""
    path = os.path.join(ckpt_dir, "ckpt-%08d.pt" % state["step"])
    torch.save(state, path + ".tmp")
    os.replace(path + ".tmp", path)
    for old in checkpoints(ckpt_dir)[:-keep]:
        os.remove(old)
    return path


def make_detok(attn, tokenizer):
    """Returns a function ids-lists -> text lines (None when `attn detokenize` fails), or None."""
    import subprocess
    if not attn or not tokenizer:
        return None

    def detok(rows):
        inp = "".join(" ".join(map(str, r)) + "\n" for r in rows)
        res = subprocess.run([attn, "detokenize", "-t", tokenizer], input=inp.encode(),
                             stdout=subprocess.PIPE)
        if res.returncode != 0:
            return None
        return res.stdout.decode("utf-8", "replace").split("\n")[: len(rows)]
    return detok


def log(fh, msg):
    """Prints a time-stamped line to stdout and the log file."""
    line = time.strftime("%Y-%m-%d %H:%M:%S ") + msg
    print(line, flush=True)
    if fh:
        fh.write(line + "\n")
        fh.flush()


def config_from(args):
    """The model and schedule configuration of the command line."""
    return dict(vocab=args.vocab_size, d_model=args.d_model, heads=args.heads, d_ff=args.d_ff,
                enc_layers=args.layers, dec_layers=args.layers, dropout=args.dropout,
                max_pos=args.max_pos, warmup=args.warmup, lr_factor=args.lr_factor,
                batch_tokens=args.batch_tokens, max_len=args.max_len, smoothing=args.smoothing,
                seed=args.seed, src=args.src, tgt=args.tgt, clip=args.clip)


def train(args):
    """Trains until --minutes of training time or --max-steps, resuming from the newest checkpoint."""
    torch.set_num_threads(args.threads)
    os.makedirs(args.ckpt, exist_ok=True)
    fh = open(os.path.join(args.ckpt, "train.log"), "a")
    existing = checkpoints(args.ckpt)
    if existing:
        state = torch.load(existing[-1])
        cfg = state["cfg"]
        log(fh, "resuming from %s (step %d, %.1f min trained)" %
            (existing[-1], state["step"], state["seconds"] / 60))
    else:
        state, cfg = None, config_from(args)
        log(fh, "new run: %r" % cfg)
    for drop in args.lr_drop or []:
        at, _, f = drop.partition(":")
        entry = [int(at), float(f)]
        if entry not in cfg.setdefault("lr_drops", []):
            cfg["lr_drops"] = sorted(cfg["lr_drops"] + [entry])
            log(fh, "learning-rate factor %g from step %d on" % (entry[1], entry[0]))
    torch.manual_seed(cfg["seed"] + (state["step"] if state else 0))
    train_pairs = load_pairs(args.data, "train", cfg["src"], cfg["tgt"], cfg["max_len"])
    valid_pairs = load_pairs(args.data, "valid", cfg["src"], cfg["tgt"], cfg["max_len"])
    bleu_pairs = valid_pairs[: args.bleu_sentences]
    n_tok = sum(len(b) + 1 for _, b in train_pairs)
    log(fh, "train %d pairs (%d target tokens), valid %d pairs" %
        (len(train_pairs), n_tok, len(valid_pairs)))
    detok = make_detok(args.attn, args.tokenizer)

    model = build(cfg)
    opt = torch.optim.Adam(model.parameters(), lr=1.0, betas=(0.9, 0.98), eps=1e-9)
    step, epoch, pos, seconds = 0, 0, 0, 0.0
    if state:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        step, epoch, pos, seconds = state["step"], state["epoch"], state["pos"], state["seconds"]
    n_params = sum(p.numel() for p in model.parameters())
    log(fh, "parameters: %d" % n_params)
    model.train()

    def snapshot():
        return dict(cfg=cfg, model=model.state_dict(), opt=opt.state_dict(), step=step,
                    epoch=epoch, pos=pos, seconds=seconds)

    batches = make_batches(train_pairs, cfg["batch_tokens"], cfg["seed"] + epoch)
    t_last = time.time()
    t_save = t_last
    acc_loss, acc_tok, acc_time = 0.0, 0, 0.0
    limit = args.minutes * 60
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    while seconds < limit and step < args.max_steps and not stop:
        if pos >= len(batches):
            epoch, pos = epoch + 1, 0
            batches = make_batches(train_pairs, cfg["batch_tokens"], cfg["seed"] + epoch)
            log(fh, "epoch %d begins" % epoch)
        src, tgt_in, tgt_out = tensors(train_pairs, batches[pos])
        pos += 1
        step += 1
        lr = lr_at(step, cfg)
        for g in opt.param_groups:
            g["lr"] = lr
        logits = model(src, tgt_in)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt_out.reshape(-1),
                               ignore_index=PAD, label_smoothing=cfg["smoothing"])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.get("clip", 0) > 0:
            nn.utils.clip_grad_norm_(model.parameters(), cfg["clip"])
        opt.step()
        ntok = int(tgt_out.ne(PAD).sum())
        acc_loss += loss.item() * ntok
        acc_tok += ntok
        now = time.time()
        acc_time += now - t_last
        seconds += now - t_last
        t_last = now
        if step % args.log_every == 0:
            log(fh, "step %d epoch %d lr %.2e loss %.3f tgt-tok/s %.0f trained %.1f min" %
                (step, epoch, lr, acc_loss / acc_tok, acc_tok / max(acc_time, 1e-9), seconds / 60))
            acc_loss, acc_tok, acc_time = 0.0, 0, 0.0
        if (now - t_save >= args.save_minutes * 60 or seconds >= limit or step >= args.max_steps
                or stop):
            vl = valid_loss(model, valid_pairs, cfg["batch_tokens"])
            path = save(args.ckpt, snapshot(), args.keep)
            b = valid_bleu(model, bleu_pairs, detok) if bleu_pairs and not stop else None
            log(fh, "checkpoint %s: valid loss %.3f ppl %.2f%s" %
                (path, vl, math.exp(vl), "" if b is None else " valid BLEU %.2f (%d sentences)"
                 % (b, len(bleu_pairs))))
            t_save = time.time()
            t_last = t_save
    log(fh, "done: step %d, epoch %d, %.1f min of training" % (step, epoch, seconds / 60))


def bench(args):
    """Times --steps training steps on random ids with the training length profile of --data."""
    torch.set_num_threads(args.threads)
    cfg = config_from(args)
    model = build(cfg)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4, betas=(0.9, 0.98), eps=1e-9)
    rng = random.Random(0)
    if args.data:
        pairs = load_pairs(args.data, "train", cfg["src"], cfg["tgt"], cfg["max_len"])
    else:
        lens = [rng.choice([8, 12, 20, 30, 45, 70]) for _ in range(20000)]
        pairs = [([5] * n, [5] * int(n * 1.2)) for n in lens]
    pairs = [([rng.randrange(4, cfg["vocab"]) for _ in a], [rng.randrange(4, cfg["vocab"]) for _ in b])
             for a, b in pairs]
    batches = make_batches(pairs, cfg["batch_tokens"], 0)
    print("parameters %d, %d batches per epoch" % (sum(p.numel() for p in model.parameters()),
                                                  len(batches)))
    tok, t0 = 0, None
    for i in range(args.steps + 2):
        if i == 2:
            tok, t0 = 0, time.time()
        src, tgt_in, tgt_out = tensors(pairs, batches[i])
        loss = F.cross_entropy(model(src, tgt_in).reshape(-1, cfg["vocab"]), tgt_out.reshape(-1),
                               ignore_index=PAD, label_smoothing=0.1)
        opt.zero_grad()
        loss.backward()
        opt.step()
        tok += int(tgt_out.ne(PAD).sum())
    dt = time.time() - t0
    print("%d steps in %.1f s: %.2f s/step, %.0f target tokens/s, epoch = %.1f min" %
          (args.steps, dt, dt / args.steps, tok / dt,
           len(batches) * dt / args.steps / 60))


# ---- export --------------------------------------------------------------------------------------

def averaged_state(ckpt_dir, n):
    """Returns (cfg, averaged model state, newest checkpoint) over the newest n checkpoints."""
    paths = checkpoints(ckpt_dir)[-n:]
    if not paths:
        sys.exit("train.py: no checkpoint in %s" % ckpt_dir)
    states = [torch.load(p) for p in paths]
    avg = {}
    for k, v in states[-1]["model"].items():
        avg[k] = sum(s["model"][k].double() for s in states).div(len(states)).to(v.dtype)
    return states[-1]["cfg"], avg, states[-1], paths


def metadata(cfg, ckpt, paths, args):
    """The attn metadata of an exported model (every key of the format spec)."""
    d, h = cfg["d_model"], cfg["heads"]
    with open(args.tokenizer, "rb") as f:
        tok = f.read()
    meta = {
        "arch": "transformer", "vocab_size": cfg["vocab"], "d_model": d, "n_heads": h,
        "d_head": d // h, "d_ff": cfg["d_ff"], "n_enc_layers": cfg["enc_layers"],
        "n_dec_layers": cfg["dec_layers"], "max_positions": cfg["max_pos"],
        "norm": "layer", "norm_eps": 1e-5, "pre_norm": 0, "activation": "relu", "ffn_gated": 0,
        "pos_kind": "sinusoidal", "pos_sin_layout": "interleaved", "pos_offset": 0,
        "embed_scale": math.sqrt(d), "attn_scale": 1.0 / math.sqrt(d // h), "output_scale": 1.0,
        "pad_id": PAD, "bos_id": BOS, "eos_id": EOS, "unk_id": UNK, "decoder_start_id": BOS,
        "gen.forced_bos_id": -1, "gen.forced_eos_id": -1, "gen.bad_ids": [PAD, BOS],
        "gen.max_length": args.gen_max_length, "gen.min_length": 0, "gen.num_beams": 1,
        "gen.no_repeat_ngram": 0, "gen.length_penalty": 1.0, "gen.repetition_penalty": 1.0,
        "gen.early_stopping": 1,
        "tokenizer": tok,
        "name": "attn-%s-%s" % (cfg["src"], cfg["tgt"]),
        "description": "English to French translation of software and package descriptions "
                       "(a small Transformer trained by attn's scripts/model/train.py)"
                       if cfg["tgt"] == "fr" else
                       "%s to %s translation of package descriptions" % (cfg["src"], cfg["tgt"]),
        "src.add_bos": 0, "src.add_eos": 1,
        "task": "translation", "lang.source": cfg["src"], "lang.target": cfg["tgt"],
        "source": "trained by scripts/model/make-model.sh of attn",
        "license": "The training data are Debian package descriptions and their DDTP translations, "
                   "which are under the licences of the Debian packages they describe; this model "
                   "is derived from them.",
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "training.data": "Debian DDTP Translation-en/-%s of bookworm, trixie, sid, bullseye "
                         "(scripts/model/fetch-data.sh)" % cfg["tgt"],
        "training.recipe": "scripts/model/make-model.sh: %r" % cfg,
        "training.steps": ckpt["step"], "training.epochs": ckpt["epoch"],
        "training.seconds": float(ckpt["seconds"]),
        "training.averaged_checkpoints": len(paths),
        "training.machine": "2 CPU cores (shared), PyTorch %s" % torch.__version__,
    }
    if args.scores:
        import json
        with open(args.scores) as f:
            res = json.load(f)
        names = {"attn-greedy": "test", "attn-beam4": "test.beam4", "pytorch": "test.pytorch"}
        for row in res["results"]:
            key = "quality." + names.get(row["system"], row["system"])
            meta[key + ".bleu"] = float(row["bleu"])
            meta[key + ".chrf"] = float(row["chrf"])
        meta["quality.test.sentences"] = res["results"][0]["sentences"]
        if "greedy_equal_share" in res:
            meta["quality.greedy_equal_pytorch"] = float(res["greedy_equal_share"])
        meta["quality.metrics"] = ("corpus BLEU (sacreBLEU definition, 13a) and chrF2 on the "
                                   "DDTP en-fr test split, by scripts/model/evaluate_model.py")
    for kv in args.meta or []:
        k, _, v = kv.partition("=")
        try:
            meta[k] = float(v) if "." in v else int(v)
        except ValueError:
            meta[k] = v
    return meta


def export(args):
    """Writes the (averaged) newest checkpoints as an attn model file."""
    cfg, sd, ckpt, paths = averaged_state(args.ckpt, args.average)
    meta = metadata(cfg, ckpt, paths, args)
    attnfile.write(args.output, meta, attn_tensors(cfg, sd), dtype=args.dtype, compress="zlib",
                   level=9)
    print("train.py: wrote %s (%d bytes) from %s" %
          (args.output, os.path.getsize(args.output), ", ".join(os.path.basename(p) for p in paths)),
          file=sys.stderr)


def greedy_cli(args):
    """Reads id lines on stdin, writes PyTorch's greedy output ids of --model on stdout."""
    torch.set_num_threads(args.threads)
    model, meta = load_attn(args.model)
    srcs = [[int(t) for t in line.split()] for line in sys.stdin]
    for ids in greedy(model, srcs, max_len=meta.get("gen.max_length", 256) - 1):
        sys.stdout.write(" ".join(map(str, ids)) + "\n")


# ---- main ----------------------------------------------------------------------------------------

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("mode", choices=["train", "bench", "export", "greedy"])
    p.add_argument("--data", help="folder with {train,valid}.{src,tgt}.ids")
    p.add_argument("--src", default="en")
    p.add_argument("--tgt", default="fr")
    p.add_argument("--ckpt", help="checkpoint folder (also holds train.log)")
    p.add_argument("--vocab-size", type=int, default=8000)
    p.add_argument("--d-model", type=int, default=256)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--d-ff", type=int, default=1024)
    p.add_argument("--layers", type=int, default=3, help="encoder and decoder layers each")
    p.add_argument("--dropout", type=float, default=0.1)
    p.add_argument("--smoothing", type=float, default=0.1)
    p.add_argument("--max-pos", type=int, default=256, help="longest sequence the model accepts")
    p.add_argument("--max-len", type=int, default=160, help="training pairs longer are skipped")
    p.add_argument("--warmup", type=int, default=1500)
    p.add_argument("--lr-factor", type=float, default=1.0)
    p.add_argument("--lr-drop", action="append", metavar="STEP:FACTOR",
                   help="from STEP on, FACTOR replaces --lr-factor (kept in the checkpoints)")
    p.add_argument("--batch-tokens", type=int, default=4096)
    p.add_argument("--clip", type=float, default=1.0, help="gradient norm limit (0: none)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--minutes", type=float, default=100.0, help="training time budget")
    p.add_argument("--max-steps", type=int, default=10 ** 9)
    p.add_argument("--save-minutes", type=float, default=10.0)
    p.add_argument("--keep", type=int, default=6, help="checkpoints kept")
    p.add_argument("--log-every", type=int, default=50)
    p.add_argument("--bleu-sentences", type=int, default=300)
    p.add_argument("--attn", help="attn binary, for `attn detokenize` in validation BLEU")
    p.add_argument("--tokenizer", help="attn tokenizer file")
    p.add_argument("--steps", type=int, default=20, help="bench: steps to time")
    p.add_argument("--average", type=int, default=1, help="export: average the newest N checkpoints")
    p.add_argument("--dtype", default="f32")
    p.add_argument("--model", help="greedy: an attn model file")
    p.add_argument("--gen-max-length", type=int, default=256)
    p.add_argument("--meta", action="append", help="export: extra KEY=VALUE metadata")
    p.add_argument("--scores", help="export: evaluate_model.py's results.json, stored as quality.*")
    p.add_argument("-o", "--output")
    args = p.parse_args()
    {"train": train, "bench": bench, "export": export, "greedy": greedy_cli}[args.mode](args)


if __name__ == "__main__":
    main()
