"""alignment_error.py — how well attn's attention aligns words: alignment error rate (AER) of
each decoder layer / head choice against hand alignments, and the share of words that stand
unchanged in both languages (names, numbers) aligned to themselves.

Input: tests/data/align/ddtp-en-fr.tsv, lines "SOURCE<TAB>TARGET<TAB>GOLD" where GOLD holds sure
links "i-j" and possible links "i?j" (source word i, target word j, words = whitespace-separated,
from 0).  Each pair is force-decoded by `attn score --align` (the model reads the reference
translation), once per choice of --align-layer / --align-heads.

    AER = 1 - (|A & S| + |A & P|) / (|A| + |S|)     (Och and Ney 2003; P includes S)

Run from the repository root:
    /usr/bin/python3 -m scripts.model.alignment_error [--attn ./attn] [--model models/en-fr.attn]
"""

import argparse
import subprocess
import sys

PUNCT = ".,:;()[]\"'«»“”"


def read(path):
    pairs = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            src, tgt, gold = line.rstrip("\n").split("\t")
            sure, possible = set(), set()
            for link in gold.split():
                sep = "?" if "?" in link else "-"
                i, j = link.split(sep)
                (possible if sep == "?" else sure).add((int(i), int(j)))
            pairs.append((src, tgt, sure, sure | possible))
    return pairs


def align(attn, model, pairs, layer, heads):
    text = "".join("%s\t%s\n" % (s, t) for s, t, _, _ in pairs)
    cmd = [attn, "score", "-m", model, "--align", "--align-layer", layer,
           "--align-heads", heads]
    out = subprocess.run(cmd, input=text.encode(), capture_output=True, check=True).stdout
    links = []
    for line in out.decode().splitlines():
        _, _, ls = line.partition(" ||| ")
        links.append({tuple(map(int, x.split("-"))) for x in ls.split()})
    return links


def aer(pairs, links):
    a_s = a_p = n_a = n_s = 0
    for (_, _, sure, possible), a in zip(pairs, links):
        a_s += len(a & sure)
        a_p += len(a & possible)
        n_a += len(a)
        n_s += len(sure)
    return 1.0 - (a_s + a_p) / (n_a + n_s)


def unchanged(pairs, links):
    """(aligned to itself, words) over source words found unchanged among the target words."""
    hit = total = 0
    for (src, tgt, _, _), a in zip(pairs, links):
        sw = [w.strip(PUNCT) for w in src.split()]
        tw = [w.strip(PUNCT) for w in tgt.split()]
        for i, w in enumerate(sw):
            same = {j for j, u in enumerate(tw) if u == w and u}
            if not same:
                continue
            total += 1
            hit += any((i, j) in a for j in same)
    return hit, total


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--attn", default="./attn")
    ap.add_argument("--model", default="models/en-fr.attn")
    ap.add_argument("--data", default="tests/data/align/ddtp-en-fr.tsv")
    ap.add_argument("--layers", type=int, default=3, help="decoder layers of the model")
    ap.add_argument("--heads", type=int, default=4, help="heads per layer")
    a = ap.parse_args()
    pairs = read(a.data)
    choices = [("all", "all")] + [(str(l), "all") for l in range(1, a.layers + 1)]
    choices += [("%d,%d" % (l, l + 1), "all") for l in range(1, a.layers)]
    choices += [(str(l), str(h)) for l in range(1, a.layers + 1)
                for h in range(1, a.heads + 1)]
    print("%d pairs, %d sure links, %d possible; model %s" %
          (len(pairs), sum(len(p[2]) for p in pairs), sum(len(p[3] - p[2]) for p in pairs),
           a.model))
    print("%-8s %-6s %6s %s" % ("layer", "heads", "AER", "unchanged words aligned to themselves"))
    for layer, heads in choices:
        links = align(a.attn, a.model, pairs, layer, heads)
        hit, total = unchanged(pairs, links)
        print("%-8s %-6s %6.3f %d/%d (%.1f%%)" % (layer, heads, aer(pairs, links), hit, total,
                                                 100.0 * hit / max(total, 1)))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
