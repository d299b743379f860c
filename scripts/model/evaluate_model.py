#!/usr/bin/python3
"""evaluate.py — BLEU and chrF of attn's default model on the test split.

  scripts/evaluate.py --model models/en-fr.attn --src test.en --ref test.fr [--attn ./attn]

Translates the source file with attn (greedy, then beam 4) and with PyTorch's greedy decoding of
the same model file (scripts/train.py greedy), and prints for each: corpus BLEU (sacreBLEU's
definition: 13a tokenisation, one reference, brevity penalty, 'exp' smoothing) and chrF2
(character n-grams 1..6 without spaces, beta 2, corpus statistics), plus the share of sentences
where attn's greedy output equals PyTorch's. Both metrics are implemented here from their
definitions; `evaluate.py score HYP REF` scores any two files.
"""
import argparse
import math
import os
import re
import subprocess
import sys
import time
from collections import Counter

# ---- BLEU ----------------------------------------------------------------------------------------

_13A = [
    (re.compile(r"([\{-\~\[-\` -\&\(-\+\:-\@\/])"), r" \1 "),   # punctuation and symbols
    (re.compile(r"([^0-9])([\.,])"), r"\1 \2 "),               # period, comma not after a digit
    (re.compile(r"([\.,])([^0-9])"), r" \1 \2"),               # period, comma not before a digit
    (re.compile(r"([0-9])(-)"), r"\1 \2 "),                    # dash after a digit
]


def tokenize_13a(line):
    """mteval-v13a's tokenisation (as sacreBLEU's default '13a' tokenizer) of one line."""
    line = line.replace("<skipped>", "").replace("-\n", "").replace("\n", " ")
    if "&" in line:
        line = (line.replace("&quot;", '"').replace("&amp;", "&")
                .replace("&lt;", "<").replace("&gt;", ">"))
    line = " %s " % line
    for pattern, repl in _13A:
        line = pattern.sub(repl, line)
    return line.split()


def ngrams(tokens, n):
    """Counter of the n-grams (tuples) of a token list."""
    return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def bleu(hyps, refs, order=4):
    """Corpus BLEU (0-100) as sacreBLEU computes it by default.

    refs: one reference string per hypothesis, or a list of such reference streams (several
    references: n-gram counts clipped by the largest count in any reference, reference length the
    closest to the hypothesis', the shorter on a tie). Returns (score, precisions in %, brevity
    penalty, hypothesis length, reference length)."""
    streams = [refs] if refs and isinstance(refs[0], str) else refs
    correct, total = [0] * order, [0] * order
    hyp_len = ref_len = 0
    for i, h in enumerate(hyps):
        ht = tokenize_13a(h)
        rts = [tokenize_13a(stream[i]) for stream in streams]
        hyp_len += len(ht)
        ref_len += min((abs(len(rt) - len(ht)), len(rt)) for rt in rts)[1]
        for n in range(1, order + 1):
            hc = ngrams(ht, n)
            most = Counter()
            for rt in rts:
                most |= ngrams(rt, n)
            correct[n - 1] += sum(min(c, most[g]) for g, c in hc.items())
            total[n - 1] += max(len(ht) - n + 1, 0)
    precisions = [0.0] * order
    smooth = 1.0
    for n in range(order):
        if total[n] == 0:
            break
        if correct[n] == 0:
            smooth *= 2
            precisions[n] = 100.0 / (smooth * total[n])
        else:
            precisions[n] = 100.0 * correct[n] / total[n]
    if hyp_len == 0:
        return 0.0, precisions, 0.0, hyp_len, ref_len
    bp = 1.0 if hyp_len >= ref_len else math.exp(1 - ref_len / hyp_len)
    if min(precisions) <= 0:
        return 0.0, precisions, bp, hyp_len, ref_len
    score = bp * math.exp(sum(math.log(p) for p in precisions) / order)
    return score, precisions, bp, hyp_len, ref_len


# ---- chrF ----------------------------------------------------------------------------------------

def char_ngrams(text, n):
    """Counter of the character n-grams of text with all whitespace removed."""
    s = "".join(text.split())
    return Counter(s[i:i + n] for i in range(len(s) - n + 1))


def chrf(hyps, refs, order=6, beta=2.0):
    """Corpus chrF (0-100) as sacreBLEU's default chrF2: character n-gram statistics of orders
    1..order summed over the corpus; precision and recall averaged over the orders present in both
    hypotheses and references; then their F-beta."""
    stats = [[0, 0, 0] for _ in range(order)]   # per order: hypothesis, reference, matching
    for h, r in zip(hyps, refs):
        for n in range(1, order + 1):
            hc, rc = char_ngrams(h, n), char_ngrams(r, n)
            stats[n - 1][0] += sum(hc.values())
            stats[n - 1][1] += sum(rc.values())
            stats[n - 1][2] += sum(min(c, rc[g]) for g, c in hc.items())
    prec = rec = 0.0
    effective = 0
    for n_hyp, n_ref, n_match in stats:
        if n_hyp > 0 and n_ref > 0:
            prec += n_match / n_hyp
            rec += n_match / n_ref
            effective += 1
    if effective == 0:
        return 0.0
    prec, rec = prec / effective, rec / effective
    if prec + rec == 0:
        return 0.0
    b2 = beta * beta
    return 100.0 * (1 + b2) * prec * rec / (b2 * prec + rec)


# ---- translation runs ----------------------------------------------------------------------------

def read_lines(path):
    """Lines of a UTF-8 text file without their newlines."""
    with open(path, encoding="utf-8") as f:
        return f.read().split("\n")[:-1] if os.path.getsize(path) else []


def write_lines(path, lines):
    """Writes lines to a UTF-8 text file, one per line."""
    with open(path, "w", encoding="utf-8") as f:
        f.writelines(line + "\n" for line in lines)


def run_attn(attn, args, src_path, out_path):
    """Runs `attn ARGS < src > out`; returns the wall time in seconds."""
    t = time.time()
    with open(src_path, "rb") as fin, open(out_path, "wb") as fout:
        subprocess.run([attn] + args, stdin=fin, stdout=fout, check=True)
    return time.time() - t


def pytorch_greedy(model_path, attn, src_path, out_path, threads):
    """PyTorch's greedy translation of src with the model file (scripts/train.py's Translator
    loaded from the same file), detokenized by attn; returns the wall time in seconds."""
    import torch
    import train
    torch.set_num_threads(threads)
    t = time.time()
    ids = subprocess.run([attn, "tokenize", "-t", model_path, src_path], stdout=subprocess.PIPE,
                         check=True).stdout.decode().split("\n")[:-1]
    model, meta = train.load_attn(model_path)
    out = train.greedy(model, [[int(x) for x in line.split()] for line in ids],
                       max_len=meta["gen.max_length"] - 1)
    text = subprocess.run([attn, "detokenize", "-t", model_path],
                          input="".join(" ".join(map(str, o)) + "\n" for o in out).encode(),
                          stdout=subprocess.PIPE, check=True).stdout.decode("utf-8", "replace")
    with open(out_path, "w", encoding="utf-8") as f:
        f.write(text)
    return time.time() - t


def report(name, hyps, refs, seconds):
    """One result row: BLEU, its details and chrF of hypotheses against references."""
    b, prec, bp, hl, rl = bleu(hyps, refs)
    return dict(system=name, bleu=round(b, 2), chrf=round(chrf(hyps, refs), 2),
                precisions=[round(p, 1) for p in prec], bp=round(bp, 3), hyp_len=hl, ref_len=rl,
                seconds=round(seconds, 1), sentences=len(hyps))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("files", nargs="*", help="score mode: HYP REF")
    p.add_argument("--model", help="attn model file")
    p.add_argument("--src", help="source text, one sentence per line")
    p.add_argument("--ref", help="reference translations, one per line")
    p.add_argument("--attn", default="./attn", help="the attn binary")
    p.add_argument("--work", default="eval", help="folder for the outputs")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch", type=int, default=32, help="attn --batch")
    p.add_argument("--systems", default="pytorch,attn-greedy,attn-beam4",
                   help="comma-separated subset of pytorch, attn-greedy, attn-beam4")
    args = p.parse_args()
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

    if args.files:
        if len(args.files) != 2:
            p.error("score mode takes HYP REF")
        hyps, refs = read_lines(args.files[0]), read_lines(args.files[1])
        if len(hyps) != len(refs):
            sys.exit("evaluate.py: %d hypotheses but %d references" % (len(hyps), len(refs)))
        r = report(args.files[0], hyps, refs, 0)
        print("BLEU %.2f (%s, BP %.3f, %d/%d)  chrF2 %.2f" %
              (r["bleu"], "/".join("%.1f" % x for x in r["precisions"]), r["bp"], r["hyp_len"],
               r["ref_len"], r["chrf"]))
        return
    if not (args.model and args.src and args.ref):
        p.error("--model, --src and --ref are needed (or HYP REF to score two files)")
    os.makedirs(args.work, exist_ok=True)
    refs = read_lines(args.ref)
    systems = args.systems.split(",")
    common = ["-m", args.model, "--truncate", "--batch", str(args.batch),
              "--threads", str(args.threads)]
    rows, outs = [], {}
    for name in systems:
        out = os.path.join(args.work, name + ".txt")
        if name == "pytorch":
            secs = pytorch_greedy(args.model, args.attn, args.src, out, args.threads)
        elif name == "attn-greedy":
            secs = run_attn(args.attn, common + ["--greedy"], args.src, out)
        elif name == "attn-beam4":
            secs = run_attn(args.attn, common + ["-b", "4"], args.src, out)
        else:
            p.error("unknown system %r" % name)
        outs[name] = read_lines(out)
        if len(outs[name]) != len(refs):
            sys.exit("evaluate.py: %s wrote %d lines for %d references" %
                     (name, len(outs[name]), len(refs)))
        rows.append(report(name, outs[name], refs, secs))
        r = rows[-1]
        print("%-12s BLEU %6.2f  chrF2 %6.2f  (%s, BP %.3f, %d/%d)  %.0f s" %
              (name, r["bleu"], r["chrf"], "/".join("%.1f" % x for x in r["precisions"]), r["bp"],
               r["hyp_len"], r["ref_len"], r["seconds"]), flush=True)
    result = dict(model=args.model, src=args.src, ref=args.ref, results=rows)
    if "pytorch" in outs and "attn-greedy" in outs:
        same = sum(a == b for a, b in zip(outs["pytorch"], outs["attn-greedy"]))
        result["greedy_equal"] = same
        result["greedy_equal_share"] = round(same / max(len(refs), 1), 4)
        print("attn greedy == PyTorch greedy on %d of %d sentences (%.2f%%)" %
              (same, len(refs), 100.0 * same / max(len(refs), 1)))
    import json
    with open(os.path.join(args.work, "results.json"), "w") as f:
        json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
