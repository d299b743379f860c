#!/bin/sh
# fetch-data.sh — download Debian's package-description translations (DDTP) through apt and turn
# them into parallel corpora for attn's default model.
#
#   ATTN_WORK=DIR sh scripts/model/fetch-data.sh        (default DIR: data, which git ignores)
#
# Output under DIR:
#   en-fr/{train,valid,test}.{en,fr}   English-French sentence pairs, one per line
#   en-de/{train,valid,test}.{en,de}   English-German, the same way
#   en.txt                             every English short description and paragraph of bookworm
#                                      (a plain English corpus for tokenizer work and benchmarks)
#   stats.txt                          counts of everything above
#
# How pairs are made: Translation-en/-fr/-de of bookworm, trixie, sid and bullseye are fetched
# with apt-get into a private lists folder (the system's apt state is not touched). A translated
# description shares its Description-md5 with the English one: the short descriptions are paired,
# and the long descriptions paragraph by paragraph when both have the same number of paragraphs.
# Whitespace is normalised (lines joined, runs of blanks collapsed). Pairs whose two sides are
# equal, empty, or of wildly different lengths are dropped. Each description goes to train, valid
# or test by a hash of its package name (the smallest name if several packages share it), so the
# split is deterministic; then every English sentence that is in test is removed from valid and
# train, and every one in valid from train, so no sentence is in two splits. Test keeps one
# reference per English sentence and at most 1500 sentences.
#
# Licence of the data: the descriptions and their translations belong to the Debian packages
# they describe and are under those packages' licences (DDTP translations are contributed under
# the same terms). They are fetched at build time and never committed.
set -eu

WORK=${ATTN_WORK:-data}
SUITES="bookworm trixie sid bullseye"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

mkdir -p "$WORK/apt/lists/partial" "$WORK/raw"
: > "$WORK/apt/sources.list"
for s in $SUITES; do
    printf 'deb http://deb.debian.org/debian %s main\n' "$s" >> "$WORK/apt/sources.list"
done

# Only the i18n Translation files are wanted: binary Packages indexes are switched off.
apt-get update -q \
    -o Acquire::Languages=en,fr,de \
    -o Acquire::IndexTargets::deb::Packages::DefaultEnabled=false \
    -o Dir::State::Lists="$WORK/apt/lists" \
    -o Dir::Etc::SourceList="$WORK/apt/sources.list" \
    -o Dir::Etc::SourceParts=/dev/null >&2

for s in $SUITES; do
    for l in en fr de; do
        f=$(ls "$WORK"/apt/lists/*_"$s"_main_i18n_Translation-"$l"* 2>/dev/null | head -n 1)
        if [ -z "$f" ]; then
            echo "fetch-data.sh: Translation-$l of $s was not downloaded" >&2
            exit 1
        fi
        /usr/lib/apt/apt-helper cat-file "$f" > "$WORK/raw/$s.$l"
    done
done

"$PY" - "$WORK" $SUITES <<'EOF'
import hashlib, os, re, sys

work, suites = sys.argv[1], sys.argv[2:]
TEST_MAX = 1500          # test sentences kept at most (keeps evaluation quick)
TEST_PERMILLE = 15       # share of packages in test, then in valid (1.5% each)
VALID_PERMILLE = 15

def norm(text):
    """Collapses every run of whitespace into one space and strips the ends."""
    return re.sub(r"\s+", " ", text).strip()

def read_translation(path, lang):
    """Returns {md5: (packages, short, paragraphs)} for one Translation-<lang> file."""
    out = {}
    key = "Description-%s:" % lang
    with open(path, encoding="utf-8", errors="replace") as f:
        blocks = f.read().split("\n\n")
    for block in blocks:
        pkg = md5 = short = None
        paras, cur = [], []
        in_desc = False
        for line in block.split("\n"):
            if line.startswith("Package:"):
                pkg = line[8:].strip()
            elif line.startswith("Description-md5:"):
                md5 = line[16:].strip()
            elif line.startswith(key):
                short = line[len(key):]
                in_desc = True
            elif in_desc and line.startswith(" "):
                if line.strip() == ".":
                    paras.append(cur)
                    cur = []
                else:
                    cur.append(line)
            else:
                in_desc = False
        if pkg is None or md5 is None or short is None:
            continue
        paras.append(cur)
        paras = [norm(" ".join(p)) for p in paras if p]
        entry = out.get(md5)
        if entry is None:
            out[md5] = ({pkg}, norm(short), paras)
        else:
            entry[0].add(pkg)
    return out

def merge(dst, src):
    """Adds src's descriptions to dst (first text wins; package names are united)."""
    for md5, (pkgs, short, paras) in src.items():
        if md5 in dst:
            dst[md5][0].update(pkgs)
        else:
            dst[md5] = (set(pkgs), short, paras)

def bucket(name):
    """Deterministic 0..999 bucket of a string (first bytes of its SHA-1)."""
    return int(hashlib.sha1(name.encode("utf-8")).hexdigest()[:8], 16) % 1000

def plausible(a, b):
    """True when a pair looks like a translation: both sides present, different, similar length."""
    if not a or not b or a == b:
        return False
    la, lb = len(a), len(b)
    return la <= 3 * lb + 10 and lb <= 3 * la + 10

descs = {}
for lang in ("en", "fr", "de"):
    descs[lang] = {}
    for s in suites:
        merge(descs[lang], read_translation(os.path.join(work, "raw", "%s.%s" % (s, lang)), lang))

stats = []
for tgt in ("fr", "de"):
    en, tr = descs["en"], descs[tgt]
    splits = {"train": [], "valid": [], "test": []}
    n_desc = n_para_mismatch = 0
    for md5 in sorted(set(en) & set(tr)):
        pkgs_en, short_en, paras_en = en[md5]
        _, short_tr, paras_tr = tr[md5]
        n_desc += 1
        b = bucket(min(pkgs_en))
        split = "test" if b < TEST_PERMILLE else "valid" if b < TEST_PERMILLE + VALID_PERMILLE else "train"
        pairs = [(short_en, short_tr)]
        if len(paras_en) == len(paras_tr):
            pairs += list(zip(paras_en, paras_tr))
        else:
            n_para_mismatch += 1
        splits[split] += [p for p in pairs if plausible(*p)]
    # Deduplicate; an English sentence belongs to the first of test, valid, train that has it.
    taken = set()
    for name in ("test", "valid", "train"):
        seen, kept = set(), []
        for e, t in splits[name]:
            if e in taken:
                continue
            key = e if name == "test" else (e, t)
            if key in seen:
                continue
            seen.add(key)
            kept.append((e, t))
        if name == "test" and len(kept) > TEST_MAX:
            kept.sort(key=lambda p: hashlib.sha1(p[0].encode("utf-8")).hexdigest())
            kept = kept[:TEST_MAX]
        taken.update(e for e, _ in kept)
        splits[name] = kept
    d = os.path.join(work, "en-" + tgt)
    os.makedirs(d, exist_ok=True)
    for name, pairs in splits.items():
        with open(os.path.join(d, name + ".en"), "w", encoding="utf-8") as fe, \
             open(os.path.join(d, name + "." + tgt), "w", encoding="utf-8") as ft:
            for e, t in pairs:
                fe.write(e + "\n")
                ft.write(t + "\n")
        words = sum(len(e.split()) for e, _ in pairs)
        stats.append("en-%s %-5s %6d pairs %8d English words" % (tgt, name, len(pairs), words))
    stats.append("en-%s descriptions paired: %d (long descriptions skipped for a paragraph-count "
                 "mismatch: %d)" % (tgt, n_desc, n_para_mismatch))

seen, n = set(), 0
with open(os.path.join(work, "en.txt"), "w", encoding="utf-8") as f:
    for md5, (pkgs, short, paras) in read_translation(os.path.join(work, "raw", "bookworm.en"), "en").items():
        for line in [short] + paras:
            if line and line not in seen:
                seen.add(line)
                f.write(line + "\n")
                n += 1
stats.append("en.txt %d lines (bookworm Translation-en, deduplicated)" % n)
with open(os.path.join(work, "stats.txt"), "w") as f:
    f.write("\n".join(stats) + "\n")
print("\n".join(stats))
EOF
