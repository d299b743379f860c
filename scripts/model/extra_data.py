"""extra_data.py — more English-French training pairs for attn's default model, from the sources
that the DDTP pairs of fetch-data.sh do not cover: Debian's manuals in both languages, the FreeDict
English-French dictionary, sentence pairs of the DDTP training paragraphs, and synthetic copy
examples.

  python3 -m scripts.model.extra_data --work DIR
      (DIR holds en-fr/ of scripts/model/fetch-data.sh; writes DIR/en-fr-x/)

Debian packages are fetched with `apt-get download` and unpacked with `dpkg -x` under
DIR/manuals (nothing is installed). Output: DIR/en-fr-x/{train,valid,test}.{en,fr}, where valid
and test are fetch-data.sh's (unchanged) and train is its DDTP training split followed by the new
pairs; DIR/en-fr-x/sources.txt gives every source, its licence and its pair count.

How the manuals are aligned: the English and French HTML files of the same page are paired by
file name; each page is cut at the anchors (id/name attributes) that both languages have, in the
same order; in each piece the text blocks (paragraphs, list items, headings, table cells, terms)
are aligned by length with Gale and Church's method (1-1, 1-0, 0-1, 2-1, 1-2), and only 1-1 links
between blocks of the same kind are kept. Preformatted text (program listings, screens) is left
out. A paragraph pair whose two sides have the same number of sentences also gives its sentence
pairs (the same for the DDTP training paragraphs).

Filters, for every new pair: both sides non-empty and different (an untranslated copy is
dropped), at least one letter in each, lengths within a factor 2.2 (plus 12 characters) of each
other, at most 600 characters; no pair whose English side is a line or a sentence of the valid or
test split; duplicates dropped (English and French both equal).

Copy examples: spans that a translation must keep (numbers, versions, paths, URLs, e-mail
addresses, options, identifiers such as CVE-2023-12345) found on both sides of a training pair are
replaced by random spans of the same kind, the same on both sides, so the model learns to copy
spans it has never seen.
"""
import argparse
import glob
import gzip
import html.parser
import math
import os
import random
import re
import subprocess
import sys

from scripts.lib import spans

PACKAGES = ["installation-guide-amd64", "debian-reference-en", "debian-reference-fr",
            "debian-handbook", "maint-guide", "maint-guide-fr", "developers-reference",
            "developers-reference-fr", "debian-faq", "debian-faq-fr", "dict-freedict-eng-fra"]

# (source name, licence, English glob, function English path -> French path)
MANUALS = [
    ("installation-guide-amd64", "GPL-2",
     "usr/share/doc/installation-guide-amd64/en/*.html",
     lambda p: p.replace("/en/", "/fr/")),
    ("debian-reference", "GPL-2+",
     "usr/share/debian-reference/*.en.html",
     lambda p: p.replace(".en.html", ".fr.html")),
    ("debian-handbook", "GPL-2+ or CC-BY-SA-3.0",
     "usr/share/doc/debian-handbook/html/en-US/*.html",
     lambda p: p.replace("/en-US/", "/fr-FR/")),
    ("maint-guide", "GPL-2+",
     "usr/share/doc/maint-guide/html/*.en.html",
     lambda p: p.replace("/maint-guide/", "/maint-guide-fr/").replace(".en.html", ".fr.html")),
    ("developers-reference", "GPL-2",
     "usr/share/developers-reference/*.html",
     lambda p: os.path.join(os.path.dirname(p), "fr", os.path.basename(p))),
    ("debian-faq", "verbatim and modified copies and translations permitted (SPI, see its "
     "copyright file)",
     "usr/share/doc/debian/FAQ/*.en.html",
     lambda p: os.path.join(os.path.dirname(p), "fr", os.path.basename(p).replace(".en.", ".fr."))),
]
SKIP_PAGES = {"search.html", "genindex.html", "developers-reference.html", "index.html",
              "index.en.html", "ix01.html"}

BLOCKS = {"p", "li", "dt", "dd", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6", "title",
          "caption", "figcaption", "blockquote"}
SKIP = {"pre", "script", "style", "head"}
ANCHOR_TAGS = {"div", "section", "a", "span", "h1", "h2", "h3", "h4", "h5", "h6", "dt", "table"}


def norm(text):
    """Collapses whitespace runs into one space and strips the ends (and Sphinx's ¶ marks)."""
    return re.sub(r"\s+", " ", text.replace("\u00b6", "")).strip()


class Blocks(html.parser.HTMLParser):
    """Collects a page's text blocks as (anchor, kind, text): anchor is the id of the newest
    anchor before the block, kind its tag; text outside blocks and in preformatted parts is
    dropped."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out, self.stack, self.buf = [], [], []
        self.skip = 0
        self.anchor = ""

    def flush(self):
        """Ends the text gathered for the innermost open block."""
        if self.stack and self.buf:
            text = norm("".join(self.buf))
            if text:
                self.out.append((self.stack[-1][1], self.stack[-1][0], text))
        self.buf = []

    def handle_starttag(self, tag, attrs):
        if tag in SKIP:
            self.skip += 1
            return
        a = dict(attrs)
        if tag in ANCHOR_TAGS and (a.get("id") or a.get("name")):
            self.anchor = a.get("id") or a.get("name")
        if tag in BLOCKS:
            self.flush()
            self.stack.append((tag, self.anchor))
        elif tag == "br":
            self.buf.append(" ")

    def handle_endtag(self, tag):
        if tag in SKIP:
            self.skip = max(0, self.skip - 1)
            return
        if tag in BLOCKS and self.stack:
            self.flush()
            while self.stack and self.stack.pop()[0] != tag:
                pass

    def handle_data(self, data):
        if not self.skip and self.stack:
            self.buf.append(data)


def page_blocks(path):
    """The (anchor, kind, text) blocks of an HTML page."""
    p = Blocks()
    with open(path, encoding="utf-8", errors="replace") as f:
        p.feed(f.read())
    p.close()
    return p.out


def pieces(blocks, anchors):
    """Cuts a block list at the given anchors: {anchor: [(kind, text), ...]}."""
    out = {}
    for anchor, kind, text in blocks:
        out.setdefault(anchor if anchor in anchors else None, []).append((kind, text))
    return out


def common_anchors(a, b):
    """Anchors that both block lists have, kept only when their order agrees."""
    import difflib
    seq_a = list(dict.fromkeys(x[0] for x in a))
    seq_b = list(dict.fromkeys(x[0] for x in b))
    sm = difflib.SequenceMatcher(None, seq_a, seq_b, autojunk=False)
    keep = set()
    for blk in sm.get_matching_blocks():
        keep.update(seq_a[blk.a: blk.a + blk.size])
    return keep


def gc_cost(l1, l2):
    """Gale and Church's length cost of linking l1 English to l2 French characters."""
    c, s2 = 1.12, 6.8
    if l1 == 0 and l2 == 0:
        return 0.0
    mean = (l1 + l2 / c) / 2
    z = (c * l1 - l2) / math.sqrt(max(mean, 1) * s2)
    p = 2 * (1 - 0.5 * (1 + math.erf(abs(z) / math.sqrt(2))))
    return -math.log(max(p, 1e-12))


PRIORS = {(1, 1): -math.log(0.89), (1, 0): -math.log(0.005), (0, 1): -math.log(0.005),
          (2, 1): -math.log(0.045), (1, 2): -math.log(0.045)}


def align(en, fr):
    """Gale-Church alignment of two block lists [(kind, text)]; returns the 1-1 links (i, j)."""
    n, m = len(en), len(fr)
    if n == m and all(a[0] == b[0] for a, b in zip(en, fr)) and n > 0:
        # Same structure: link in order when the lengths agree block by block.
        return [(i, i) for i in range(n)]
    inf = float("inf")
    cost = [[inf] * (m + 1) for _ in range(n + 1)]
    back = [[None] * (m + 1) for _ in range(n + 1)]
    cost[0][0] = 0.0
    for i in range(n + 1):
        for j in range(m + 1):
            if cost[i][j] == inf:
                continue
            for (di, dj), prior in PRIORS.items():
                ni, nj = i + di, j + dj
                if ni > n or nj > m:
                    continue
                l1 = sum(len(t) for _, t in en[i:ni])
                l2 = sum(len(t) for _, t in fr[j:nj])
                c = cost[i][j] + prior + gc_cost(l1, l2)
                if c < cost[ni][nj]:
                    cost[ni][nj], back[ni][nj] = c, (i, j)
    links, i, j = [], n, m
    while (i, j) != (0, 0) and back[i][j] is not None:
        pi, pj = back[i][j]
        if i - pi == 1 and j - pj == 1 and en[pi][0] == fr[pj][0]:
            links.append((pi, pj))
        i, j = pi, pj
    return links[::-1]


_ABBREV = re.compile(r"(?:\b(?:e\.g|i\.e|etc|vs|cf|Mr|Mrs|Dr|No|Fig|M|Mme|p\.ex|ex|resp)\.|"
                     r"\b[A-Z]\.)$")


def sentences(text):
    """Splits a paragraph at . ! ? (with closing quotes or brackets) followed by a space and an
    upper-case letter, a digit or an opening quote, except after common abbreviations."""
    out, start = [], 0
    for m in re.finditer(r"[.!?…][\"'»”)\]]*\s+(?=[\"«“(]?\s?[A-ZÀ-Ý0-9])", text):
        head = text[start:m.start() + 1]
        if _ABBREV.search(head):
            continue
        out.append(norm(text[start:m.end()]))
        start = m.end()
    out.append(norm(text[start:]))
    return [s for s in out if s]


def plausible(e, f):
    """True when a pair looks like a translation worth learning (see the module comment)."""
    if not e or not f or e == f or len(e) > 600 or len(f) > 700:
        return False
    if not re.search(r"[^\W\d_]", e) or not re.search(r"[^\W\d_]", f):
        return False
    le, lf = len(e), len(f)
    return lf <= 2.2 * le + 12 and le <= 2.2 * lf + 12


def manual_pairs(root):
    """Yields (source, English, French) for the aligned blocks of every manual."""
    for name, _, pattern, to_fr in MANUALS:
        for en_path in sorted(glob.glob(os.path.join(root, pattern))):
            if os.path.basename(en_path) in SKIP_PAGES:
                continue
            fr_path = to_fr(en_path)
            if not os.path.exists(fr_path):
                continue
            en_b, fr_b = page_blocks(en_path), page_blocks(fr_path)
            anchors = common_anchors(en_b, fr_b)
            en_p, fr_p = pieces(en_b, anchors), pieces(fr_b, anchors)
            for anchor, en_blocks in en_p.items():
                fr_blocks = fr_p.get(anchor)
                if not fr_blocks or len(en_blocks) * len(fr_blocks) > 40000:
                    continue
                for i, j in align(en_blocks, fr_blocks):
                    yield name, en_blocks[i][1], fr_blocks[j][1]


def freedict_pairs(root):
    """Yields (English, French) from FreeDict eng-fra: each headword with the first translation
    of each of its first two senses."""
    base = os.path.join(root, "usr/share/dictd/freedict-eng-fra")
    with gzip.open(base + ".dict.dz", "rb") as f:
        data = f.read()
    b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

    def num(s):
        v = 0
        for ch in s:
            v = v * 64 + b64.index(ch)
        return v
    with open(base + ".index", encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 3 or parts[0].startswith("00database"):
                continue
            body = data[num(parts[1]): num(parts[1]) + num(parts[2])].decode("utf-8", "replace")
            lines = [x.strip() for x in body.split("\n")[1:] if x.strip()]
            head = parts[0].strip()
            senses = []
            for x in lines:
                x = re.sub(r"^\d+\.\s*", "", x)
                first = x.split(",")[0].split(";")[0].strip()
                if first and first not in senses:
                    senses.append(first)
            for tr in senses[:2]:
                yield head, tr


# ---- copy examples -------------------------------------------------------------------------------

_WORDS = ["data", "core", "lib", "net", "tools", "share", "local", "cache", "conf", "x11", "gtk",
          "qt5", "perl", "node", "server", "client", "docs", "test", "plugins", "fonts", "sound"]


def random_span(kind, rng):
    """A random span of a kind (see spans.SPANS)."""
    def w():
        return rng.choice(_WORDS) + (str(rng.randint(1, 99)) if rng.random() < 0.3 else "")
    if kind == "url":
        scheme, host = rng.choice(["", "s"]), w()
        tld = rng.choice(["org", "net", "com", "io", "de", "fr"])
        path = "/".join(w() for _ in range(rng.randint(0, 2)))
        return "http%s://%s.%s/%s" % (scheme, host, tld, path)
    if kind == "email":
        return "%s@%s.%s" % (w(), w(), rng.choice(["org", "net", "com"]))
    if kind == "path":
        return "/" + "/".join(w() for _ in range(rng.randint(2, 4))) + rng.choice(["", ".conf",
                                                                                  ".txt", ".so"])
    if kind == "cve":
        return "CVE-%d-%d" % (rng.randint(1999, 2029), rng.randint(1000, 99999))
    if kind == "option":
        return "--" + "-".join(w() for _ in range(rng.randint(1, 2)))
    if kind == "version":
        v = ".".join(str(rng.randint(0, 40)) for _ in range(rng.randint(2, 4)))
        return v + (rng.choice(["-1", "~rc1", "+dfsg", "-2ubuntu1"]) if rng.random() < 0.2 else "")
    return str(rng.randint(10, 10 ** rng.randint(2, 6)))


def copy_examples(pairs, n, rng):
    """Up to n pairs made from pairs with a span found exactly on both sides, each such span
    replaced by a new random one of its kind on both sides."""
    out = []
    cand = list(range(len(pairs)))
    rng.shuffle(cand)
    for i in cand:
        e, f = pairs[i]
        found = [(k, x) for k, x in spans.find(e) if x in f and e.count(x) == f.count(x)]
        if not found:
            continue
        for kind, s in found:
            new = random_span(kind, rng)
            e, f = e.replace(s, new), f.replace(s, new)
        if e != pairs[i][0]:
            out.append((e, f))
        if len(out) >= n:
            break
    return out


# ---- main ----------------------------------------------------------------------------------------

def read_lines(path):
    """Lines of a UTF-8 file without their newlines."""
    with open(path, encoding="utf-8") as f:
        return f.read().split("\n")[:-1]


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", default="data")
    ap.add_argument("--copy-examples", type=int, default=8000)
    ap.add_argument("--seed", type=int, default=17)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    src, out = os.path.join(args.work, "en-fr"), os.path.join(args.work, "en-fr-x")
    mdir = os.path.join(args.work, "manuals")
    root = os.path.join(mdir, "root")
    if not os.path.isdir(root):
        os.makedirs(os.path.join(mdir, "debs"), exist_ok=True)
        subprocess.run(["apt-get", "download", "-q"] + PACKAGES, cwd=os.path.join(mdir, "debs"),
                       check=True)
        for deb in sorted(glob.glob(os.path.join(mdir, "debs", "*.deb"))):
            subprocess.run(["dpkg", "-x", deb, root], check=True)

    held = set()
    for split in ("valid", "test"):
        for line in read_lines(os.path.join(src, split + ".en")):
            held.add(line)
            held.update(sentences(line))
    seen, stats, new = set(), {}, []
    train_en, train_fr = read_lines(os.path.join(src, "train.en")), read_lines(
        os.path.join(src, "train.fr"))
    for e, f in zip(train_en, train_fr):
        seen.add((e, f))

    def add(source, e, f):
        """Keeps a pair when it passes the filters and is new."""
        e, f = norm(e), norm(f)
        if not plausible(e, f) or e in held or (e, f) in seen:
            return False
        seen.add((e, f))
        new.append((e, f))
        stats[source] = stats.get(source, 0) + 1
        return True

    def add_with_sentences(source, e, f):
        """Adds a paragraph pair, and its sentence pairs when the sentence counts agree."""
        add(source, e, f)
        se, sf = sentences(e), sentences(f)
        if len(se) == len(sf) > 1:
            for a, b in zip(se, sf):
                add(source + " (sentences)", a, b)

    for e, f in zip(train_en, train_fr):
        se, sf = sentences(e), sentences(f)
        if len(se) == len(sf) > 1:
            for a, b in zip(se, sf):
                add("DDTP training paragraphs (sentences)", a, b)
    for name, e, f in manual_pairs(root):
        add_with_sentences(name, e, f)
    for e, f in freedict_pairs(root):
        add("FreeDict eng-fra", e, f)
    base = list(zip(train_en, train_fr)) + new
    for e, f in copy_examples(base, args.copy_examples, rng):
        add("synthetic copy examples", e, f)

    os.makedirs(out, exist_ok=True)
    for split in ("valid", "test"):
        for lang in ("en", "fr"):
            with open(os.path.join(src, "%s.%s" % (split, lang)), "rb") as fi, \
                 open(os.path.join(out, "%s.%s" % (split, lang)), "wb") as fo:
                fo.write(fi.read())
    with open(os.path.join(out, "train.en"), "w", encoding="utf-8") as fe, \
         open(os.path.join(out, "train.fr"), "w", encoding="utf-8") as ff:
        for e, f in list(zip(train_en, train_fr)) + new:
            fe.write(e + "\n")
            ff.write(f + "\n")
    licences = {m[0]: m[1] for m in MANUALS}
    licences.update({"FreeDict eng-fra": "GPL-2+",
                     "DDTP training paragraphs": "licences of the packages described",
                     "synthetic copy examples": "derived from the pairs above"})
    lines = ["DDTP (fetch-data.sh train split)\tlicences of the packages described\t%d"
             % len(train_en)]
    for name in sorted(stats):
        lic = licences.get(name.replace(" (sentences)", ""), "")
        lines.append("%s\t%s\t%d" % (name, lic, stats[name]))
    lines.append("total train\t\t%d" % (len(train_en) + len(new)))
    with open(os.path.join(out, "sources.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
