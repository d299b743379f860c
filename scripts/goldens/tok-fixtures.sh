#!/bin/sh
# tok-fixtures.sh — regenerates the tokenizer's test fixtures in tests/data/tok/ from references:
#   * Debian package-description translations (bookworm, en/de/fr) fetched with apt into SCRATCH,
#     sampled (every 20th record) into en.txt.gz (1.2 MB), de.txt.gz and fr.txt.gz (0.8 MB each);
#   * tiktoken's rank files and golden ids from the npm package `tiktoken` (Rust core, WASM):
#     r50k_base and cl100k_base on the three samples and on edge.txt (lines and whole), o200k_base
#     on edge.txt with a subset of its ranks (every token that occurs in edge.txt: enough to
#     reproduce tiktoken exactly on that text, since BPE only ever forms substrings of it).
#
#   sh scripts/goldens/tok-fixtures.sh SCRATCH [NODE_MODULES]
# needs apt-get, lz4 support in apt-helper, node, and `npm install tiktoken` in NODE_MODULES/..
set -eu
scratch=${1:?usage: tok-fixtures.sh SCRATCH [NODE_MODULES]}
export NODE_PATH=${2:-$scratch/npm/node_modules}
out=tests/data/tok
mkdir -p "$scratch/apt/lists/partial" "$out"
if [ ! -d "$NODE_PATH/tiktoken" ]; then
    mkdir -p "$scratch/npm" && (cd "$scratch/npm" && npm install --no-save tiktoken >/dev/null)
    export NODE_PATH="$scratch/npm/node_modules"
fi
printf 'deb http://deb.debian.org/debian bookworm main\n' > "$scratch/apt/sources.list"
apt-get update -qq -o Acquire::Languages=en,fr,de -o Dir::State::Lists="$scratch/apt/lists" \
    -o Dir::Etc::SourceList="$scratch/apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
for l in en de fr; do
    /usr/lib/apt/apt-helper cat-file "$scratch"/apt/lists/*_bookworm_main_i18n_Translation-$l.lz4 \
        > "$scratch/Translation-$l"
    case $l in en) max=1200000 ;; *) max=800000 ;; esac
    # every 20th record (records end with an empty line), up to max bytes
    awk -v max=$max 'BEGIN { RS = ""; ORS = "\n\n" } NR % 20 == 1 { n += length($0) + 2;
        if (n > max) exit; print }' "$scratch/Translation-$l" > "$scratch/$l.txt"
    gzip -9n < "$scratch/$l.txt" > "$out/$l.txt.gz"
done
/usr/bin/python3 -m scripts.goldens.tok_edge_text "$out/edge.txt"
for enc in r50k_base cl100k_base; do
    node scripts/goldens/tok-goldens.js $enc vocab "$scratch/$enc.tiktoken"
    gzip -9n < "$scratch/$enc.tiktoken" > "$out/$enc.tiktoken.gz"
    for l in en de fr; do
        node scripts/goldens/tok-goldens.js $enc lines "$scratch/$l.txt" "$scratch/$enc.$l.ids"
        gzip -9n < "$scratch/$enc.$l.ids" > "$out/$enc.$l.ids.gz"
    done
done
for enc in r50k_base cl100k_base o200k_base; do
    for mode in lines whole; do
        node scripts/goldens/tok-goldens.js $enc $mode "$out/edge.txt" "$out/$enc.edge.$mode.ids"
    done
done
node scripts/goldens/tok-goldens.js o200k_base vocab "$scratch/o200k_base.tiktoken"
node -e '
const fs = require("fs");
const text = fs.readFileSync(process.argv[1]);
const out = fs.readFileSync(process.argv[2], "utf8").split("\n").filter((l) => {
  if (!l) return false;
  const b = Buffer.from(l.split(" ")[0], "base64");
  return b.length == 1 || text.indexOf(b) >= 0;
});
fs.writeFileSync(process.argv[3], out.join("\n") + "\n");
' "$out/edge.txt" "$scratch/o200k_base.tiktoken" "$scratch/o200k_base.edge.tiktoken"
gzip -9n < "$scratch/o200k_base.edge.tiktoken" > "$out/o200k_base.edge.tiktoken.gz"
ls -l "$out"
