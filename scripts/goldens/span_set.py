"""span_set.py — tests/data/spans/set.tsv: the protected-span test set.

  python3 -m scripts.goldens.span_set [--ddtp test.en] [-o tests/data/spans/set.tsv]

Each line of the set is a source, a tab, and the spans it holds, tab-separated, in order: the
strings a translation must reproduce exactly. Two parts:
  - sentences of the DDTP test split (scripts/model/fetch-data.sh; default
    $ATTN_WORK/en-fr/test.en, ATTN_WORK defaulting to /var/tmp/attn-work) that hold a span by this
    script's own definition below (written apart from src/spans.c, which it serves to check);
  - tests/data/spans/software.txt: software messages whose spans are marked by hand with ⟦ ⟧.
A span here is one of: a URL, an e-mail address, an absolute or home path, a command-line option
(--long, -x), a CVE/RFC/ISO/PEP number, a printf or brace placeholder, an environment variable,
code in backticks, or a whitespace-separated word holding a digit (numbers, versions, dates,
sizes, names like x86_64; ASCII digits), ordinals (3rd, 3rd-party) excepted, with surrounding
punctuation left out.
"""
import argparse
import os
import re

WHOLE = [  # (kind, pattern) matched on the line before its words
    ("url", r"(?:https?|ftp)://[^\s<>]+?(?=[.,;:!?)\]'\"]*(?:[\s<>]|$))"),
    ("email", r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"),
    ("code", r"`[^`]+`"),
    ("ident", r"\b(?:CVE-\d{4}-\d+|(?:RFC|ISO|PEP|IEEE)[ -]\d+(?:[-:.]\d+)*)\b"),
    ("path", r"(?<![\w/])~?/[\w.+-]+(?:/[\w.+-]+)*(?<![.])"),
    ("option", r"(?<![\w-])--[a-z][\w-]*\w|(?<![\w-])-[a-zA-Z](?=[\s,)]|$)"),
    ("placeholder", r"%(?:\d+\$)?[-+#0]*\d*(?:\.\d+)?[sdiufxXcg](?![A-Za-z])|\{\w*\}"),
    ("env", r"\$\{?[A-Z_][A-Z0-9_]*\}?"),
]
ORDINAL = re.compile(r"^\d+(?:st|nd|rd|th)(?:-\w+)*$")
EDGE = "\"'()[]{}<>«»“”‘’"
TRAIL = ".,;:!?"


def word_spans(text):
    """The words of text that hold a digit, trimmed of quotes, brackets and final punctuation."""
    out = []
    for m in re.finditer(r"\S+", text):
        w = m.group(0).strip(EDGE)
        w = w.rstrip(TRAIL).strip(EDGE)
        if (any(c in "0123456789" for c in w) and not ORDINAL.match(w)
                and re.fullmatch(r"[\w.,:/+%~-]+", w)):
            out.append((m.start() + m.group(0).find(w), w))
    return out


def spans(line):
    """The spans of a line, in order, by the definition of this file."""
    found, masked = [], line
    for _, rx in WHOLE:
        for m in re.finditer(rx, masked):
            found.append((m.start(), m.group(0)))
            masked = masked[:m.start()] + " " * len(m.group(0)) + masked[m.end():]
    found += word_spans(masked)
    return [s for _, s in sorted(found)]


def sentences(line):
    """A DDTP line cut after sentence-final punctuation followed by a capital letter."""
    return re.split(r"(?<=[.!?])\s+(?=[A-Z])", line)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    work = os.environ.get("ATTN_WORK", "/var/tmp/attn-work")
    p.add_argument("--ddtp", default=os.path.join(work, "en-fr", "test.en"))
    p.add_argument("--software", default="tests/data/spans/software.txt")
    p.add_argument("--max-chars", type=int, default=600, help="longest DDTP sentence kept")
    p.add_argument("-o", "--out", default="tests/data/spans/set.tsv")
    args = p.parse_args()
    rows = []
    seen = set()
    with open(args.ddtp, encoding="utf-8") as f:
        for line in f:
            for s in sentences(line.strip()):
                sp = spans(s)
                if sp and len(s) <= args.max_chars and s not in seen and "\t" not in s:
                    seen.add(s)
                    rows.append([s] + sp)
    n_ddtp = len(rows)
    with open(args.software, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            text = line.replace("⟦", "").replace("⟧", "")
            rows.append([text] + re.findall("⟦(.*?)⟧", line))
    with open(args.out, "w", encoding="utf-8") as f:
        f.writelines("\t".join(r) + "\n" for r in rows)
    print("%s: %d DDTP sentences, %d software lines, %d spans" %
          (args.out, n_ddtp, len(rows) - n_ddtp, sum(len(r) - 1 for r in rows)))


if __name__ == "__main__":
    main()
