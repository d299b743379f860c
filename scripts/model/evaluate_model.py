"""evaluate_model.py — BLEU and chrF of attn's default model on the test split.

  python3 -m scripts.model.evaluate_model --model models/en-fr.attn --src test.en --ref test.fr
      [--attn ./attn]
  python3 -m scripts.model.evaluate_model HYP REF        scores any two files

Translates the source file with attn (greedy, then beam 4, each line as one source as PyTorch
does: --no-split; attn-bare is greedy without attn's protected-span repair, as PyTorch decodes,
and the one compared with PyTorch line by line; then greedy with attn's sentence splitting,
system attn-split; then attn as a user runs it, greedy and beam 4 with sentence splitting and
without --truncate, so that the over-long sources are translated whole in pieces: attn-whole
and attn-whole-beam4, the figures of the default model's goal) and with
PyTorch's greedy decoding of the same model file (scripts/lib/translator.py), and prints for
each: corpus BLEU (sacreBLEU's definition: 13a tokenisation, one reference, brevity penalty,
'exp' smoothing) and chrF2
(character n-grams 1..6 without spaces, beta 2, corpus statistics; both in scripts/lib/metrics.py),
plus the share of sentences where attn's greedy output equals PyTorch's. Each system is scored
twice: on every line (attn --truncate cuts the sources longer than the model's --limit tokens)
and on the lines whose source fits the limit. Each row also gives the share of outputs with a word
written three times in a row (a loop), against the references' share, and the span-copy rate: of
the spans that must stay unchanged (scripts/lib/spans.py: numbers, versions, paths, URLs...)
found in a source and unchanged in its reference, how many the output has. When the system's BLAS
is the reference one, the PyTorch run uses Debian's OpenBLAS unpacked into $ATTN_WORK/openblas
(default data/openblas), as scripts/model/make-model.sh does (scripts/lib/openblas.py).
"""
import argparse
import os
import re
import subprocess
import sys
import time

from scripts.lib import spans
from scripts.lib.metrics import bleu, chrf
from scripts.lib.openblas import use_openblas


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
    """PyTorch's greedy translation of src with the model file (scripts/lib/translator.py's
    Translator loaded from the same file), detokenized by attn; returns the wall time in seconds."""
    import torch
    from scripts.lib import translator
    torch.set_num_threads(threads)
    t = time.time()
    ids = subprocess.run([attn, "tokenize", "-t", model_path, src_path], stdout=subprocess.PIPE,
                         check=True).stdout.decode().split("\n")[:-1]
    model, meta = translator.load_attn(model_path)
    out = translator.greedy(model, [[int(x) for x in line.split()] for line in ids],
                       max_len=meta["gen.max_length"] - 1)
    text = subprocess.run([attn, "detokenize", "-t", model_path],
                          input="".join(" ".join(map(str, o)) + "\n" for o in out).encode(),
                          stdout=subprocess.PIPE, check=True).stdout.decode("utf-8", "replace")
    with open(out_path, "w", encoding="utf-8") as f:
        f.write(text)
    return time.time() - t


_LOOP = re.compile(r"(?<!\w)(\w+)(?: \1(?!\w)){2}")


def loop_share(lines):
    """Share (0-1) of lines with a word written three times in a row ("Play Play Play")."""
    return sum(1 for x in lines if _LOOP.search(x)) / max(len(lines), 1)


def span_copy(srcs, hyps, refs):
    """(kept, total): of the spans (scripts/lib/spans.py) of each source that its reference has
    unchanged, how many the hypothesis has too."""
    kept = total = 0
    for s, h, r in zip(srcs, hyps, refs):
        for _, x in spans.find(s):
            if x in r:
                total += 1
                kept += x in h
    return kept, total


def report(name, hyps, refs, seconds, srcs=None):
    """One result row: BLEU, its details, chrF, the share of looping lines (and, given the
    sources, the span-copy rate) of hypotheses against references."""
    b, prec, bp, hl, rl = bleu(hyps, refs)
    row = dict(system=name, bleu=round(b, 2), chrf=round(chrf(hyps, refs), 2),
               precisions=[round(p, 1) for p in prec], bp=round(bp, 3), hyp_len=hl, ref_len=rl,
               seconds=round(seconds, 1), sentences=len(hyps),
               loops=round(loop_share(hyps), 4), ref_loops=round(loop_share(refs), 4))
    if srcs is not None:
        row["spans_kept"], row["spans"] = span_copy(srcs, hyps, refs)
    return row


def print_row(r):
    """Prints one result row on one line."""
    print("%-18s BLEU %6.2f  chrF2 %6.2f  (%s, BP %.3f, %d/%d)  loops %.2f%% (refs %.2f%%)%s  "
          "%.0f s" % (r["system"], r["bleu"], r["chrf"],
                      "/".join("%.1f" % x for x in r["precisions"]), r["bp"], r["hyp_len"],
                      r["ref_len"], 100 * r["loops"], 100 * r["ref_loops"],
                      "  spans kept %d/%d" % (r["spans_kept"], r["spans"]) if "spans" in r else "",
                      r["seconds"]), flush=True)


def within_limit(attn, model, src_path, limit):
    """Indexes of the source lines whose tokens (plus </s>) fit the limit."""
    ids = subprocess.run([attn, "tokenize", "-t", model, src_path], stdout=subprocess.PIPE,
                         check=True).stdout.decode().split("\n")[:-1]
    return [i for i, line in enumerate(ids) if len(line.split()) + 1 <= limit]


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
    p.add_argument("--limit", type=int, default=256,
                   help="also score the lines whose source fits this many tokens")
    p.add_argument("--systems", default="pytorch,attn-bare,attn-greedy,attn-beam4,attn-split,"
                   "attn-whole,attn-whole-beam4",
                   help="comma-separated subset of pytorch, attn-bare, attn-greedy, attn-beam4, "
                   "attn-split, attn-whole, attn-whole-beam4")
    args = p.parse_args()

    if args.files:
        if len(args.files) != 2:
            p.error("score mode takes HYP REF")
        hyps, refs = read_lines(args.files[0]), read_lines(args.files[1])
        if len(hyps) != len(refs):
            sys.exit("evaluate_model.py: %d hypotheses but %d references" % (len(hyps), len(refs)))
        print_row(report(args.files[0], hyps, refs, 0))
        return
    if not (args.model and args.src and args.ref):
        p.error("--model, --src and --ref are needed (or HYP REF to score two files)")
    os.makedirs(args.work, exist_ok=True)
    refs, srcs = read_lines(args.ref), read_lines(args.src)
    inside = within_limit(args.attn, args.model, args.src, args.limit)
    systems = args.systems.split(",")
    if "pytorch" in systems:
        use_openblas(os.environ.get("ATTN_WORK", "data"), args.threads)
    common = ["-m", args.model, "--truncate", "--batch", str(args.batch),
              "--threads", str(args.threads)]
    whole = common + ["--no-split"]
    free = [a for a in common if a != "--truncate"]
    rows, outs = [], {}
    for name in systems:
        out = os.path.join(args.work, name + ".txt")
        if name == "pytorch":
            secs = pytorch_greedy(args.model, args.attn, args.src, out, args.threads)
        elif name == "attn-greedy":
            secs = run_attn(args.attn, whole + ["--greedy"], args.src, out)
        elif name == "attn-bare":
            secs = run_attn(args.attn, whole + ["--greedy", "--no-protect"], args.src, out)
        elif name == "attn-beam4":
            secs = run_attn(args.attn, whole + ["-b", "4"], args.src, out)
        elif name == "attn-split":
            secs = run_attn(args.attn, common + ["--greedy", "--split"], args.src, out)
        elif name == "attn-whole":
            secs = run_attn(args.attn, free + ["--greedy", "--split"], args.src, out)
        elif name == "attn-whole-beam4":
            secs = run_attn(args.attn, free + ["-b", "4", "--split"], args.src, out)
        else:
            p.error("unknown system %r" % name)
        outs[name] = read_lines(out)
        if len(outs[name]) != len(refs):
            sys.exit("evaluate_model.py: %s wrote %d lines for %d references" %
                     (name, len(outs[name]), len(refs)))
        rows.append(report(name, outs[name], refs, secs, srcs))
        print_row(rows[-1])
        rows.append(report("%s/%d" % (name, len(inside)), [outs[name][i] for i in inside],
                           [refs[i] for i in inside], 0, [srcs[i] for i in inside]))
        print_row(rows[-1])
    result = dict(model=args.model, src=args.src, ref=args.ref, results=rows)
    if "pytorch" in outs and "attn-bare" in outs:
        same = sum(a == b for a, b in zip(outs["pytorch"], outs["attn-bare"]))
        result["greedy_equal"] = same
        result["greedy_equal_share"] = round(same / max(len(refs), 1), 4)
        print("attn-bare (greedy, no span repair) == PyTorch greedy on %d of %d sentences (%.2f%%)"
              % (same, len(refs), 100.0 * same / max(len(refs), 1)))
    import json
    with open(os.path.join(args.work, "results.json"), "w") as f:
        json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
