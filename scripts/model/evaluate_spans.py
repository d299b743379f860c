"""evaluate_spans.py — how many protected spans attn reproduces, with and without --no-protect.

  python3 -m scripts.model.evaluate_spans [--set tests/data/spans/set.tsv] [--attn ./attn]
      [--model models/en-fr.attn] [-- ATTN-ARGS...]

Translates the sources of the span test set (scripts/goldens/span_set.py) twice, with
`--no-protect` and without, and prints for each run the share of spans reproduced exactly: a
span counts when it stands alone in the output (no letter or digit runs on across its edges,
directly or through one of . , : - /) exactly as many times as in the source. The DDTP part and
the hand-marked software part are shown apart; lines that lose spans are written to --misses.
"""
import argparse
import re
import subprocess
import sys

JOIN = ".,:-/"


def is_word(c):
    """True for a character that continues a word: a letter, a digit or '_'."""
    return c.isalnum() or c == "_"


def occurrences(text, span):
    """How often span stands alone in text."""
    n, at = 0, text.find(span)
    while at >= 0:
        end = at + len(span)
        left = at > 0 and is_word(span[0]) and span[0].isascii() and (
            is_word(text[at - 1]) or (at > 1 and text[at - 1] in JOIN and is_word(text[at - 2])))
        right = end < len(text) and is_word(span[-1]) and span[-1].isascii() and (
            is_word(text[end]) or (end + 1 < len(text) and text[end] in JOIN
                                   and is_word(text[end + 1])))
        n += not (left or right)
        at = text.find(span, at + 1)
    return n


def score(rows, outs):
    """(spans reproduced, spans, lines with a miss) of outputs against the set's rows."""
    ok = total = 0
    missed = []
    for row, out in zip(rows, outs):
        src, sp = row[0], row[1:]
        bad = [s for s in dict.fromkeys(sp) if occurrences(out, s) != occurrences(src, s)]
        for s in sp:
            total += 1
            ok += s not in bad
        if bad:
            missed.append((src, out, bad))
    return ok, total, missed


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--set", default="tests/data/spans/set.tsv")
    p.add_argument("--attn", default="./attn")
    p.add_argument("--model", default="models/en-fr.attn")
    p.add_argument("--n-ddtp", type=int, default=None,
                   help="rows of the DDTP part (default: rows before the first software line)")
    p.add_argument("--misses", default=None, help="file for the lines that lose spans")
    p.add_argument("args", nargs="*", help="more attn options (after --)")
    a = p.parse_args()
    with open(a.set, encoding="utf-8") as f:
        rows = [line.rstrip("\n").split("\t") for line in f]
    with open("tests/data/spans/software.txt", encoding="utf-8") as f:
        n_soft = sum(1 for line in f if line.strip() and not line.startswith("#"))
    n_ddtp = a.n_ddtp if a.n_ddtp is not None else len(rows) - n_soft
    src = "".join(r[0] + "\n" for r in rows).encode()
    for label, extra in (("--no-protect", ["--no-protect"]), ("default", [])):
        r = subprocess.run([a.attn, "-m", a.model, "--batch", "16"] + a.args + extra, input=src,
                           stdout=subprocess.PIPE, check=True)
        outs = r.stdout.decode("utf-8", "replace").split("\n")[:len(rows)]
        if len(outs) != len(rows):
            sys.exit("evaluate_spans.py: %d outputs for %d lines" % (len(outs), len(rows)))
        parts = []
        for name, lo, hi in (("DDTP", 0, n_ddtp), ("software", n_ddtp, len(rows)),
                             ("all", 0, len(rows))):
            ok, total, missed = score(rows[lo:hi], outs[lo:hi])
            parts.append("%s %d/%d = %.1f%%" % (name, ok, total, 100.0 * ok / max(total, 1)))
        print("%-13s spans reproduced exactly: %s" % (label, ", ".join(parts)))
        if a.misses:
            with open(a.misses + ("" if extra == [] else ".no-protect"), "w",
                      encoding="utf-8") as f:
                for s, o, bad in missed:
                    f.write("%s\n%s\n  missing or changed: %s\n\n" % (s, o, " | ".join(bad)))


if __name__ == "__main__":
    main()
