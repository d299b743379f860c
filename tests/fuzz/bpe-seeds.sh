#!/bin/sh
# bpe-seeds.sh — rewrites the seeds of fuzz_bpe (tests/data/fuzz-bpe) from the repository's data:
# each seed is the target's selector byte ('0' attn tokenizer file, '1' tiktoken ranks, '2' text,
# '3' text with specials; see tests/fuzz/fuzz_bpe.c) and the bytes of the job.
#     sh tests/fuzz/bpe-seeds.sh [ATTN]        (ATTN: the attn binary, default ./attn)
set -eu
attn=${1:-./attn}
out=tests/data/fuzz-bpe
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rm -f "$out"/seed-*
mkdir -p "$out"

# Two small attn tokenizer files: merges with specials, and a user regex with no merges.
zcat tests/data/tok/en.txt.gz | head -c 20000 > "$tmp/en.txt"
"$attn" train-tokenizer --vocab-size 330 --special '<pad>,<s>,</s>,<unk>' -o "$tmp/small.tok" \
    "$tmp/en.txt"
"$attn" train-tokenizer --vocab-size 257 --pattern '\p{L}+' --special '<s>' -o "$tmp/regex.tok" \
    "$tmp/en.txt"
{ printf 0; cat "$tmp/small.tok"; } > "$out/seed-0-small.tok"
{ printf 0; cat "$tmp/regex.tok"; } > "$out/seed-0-regex.tok"

# The first 300 ranks of r50k (the 256 bytes and 44 merges).
{ printf 1; zcat tests/data/tok/r50k_base.tiktoken.gz | head -300; } > "$out/seed-1-r50k.tiktoken"

# The edge-case text, its lines cut to 200 bytes (the long runs need no more to take the long
# merge path), in pieces of at most 255 bytes (the target's TEXT_MAX is 256 with the selector);
# those with a '<' also with special-token parsing.
cut -b 1-200 tests/data/tok/edge.txt | LC_ALL=C awk -v dir="$tmp" 'BEGIN { n = 0; size = 0 }
    { if (size > 0 && size + length($0) + 1 > 255) { n++; size = 0 }
      print > (dir "/edge-" sprintf("%02d", n)); size += length($0) + 1 }'
for f in "$tmp"/edge-*; do
    name=${f##*/}
    { printf 2; cat "$f"; } > "$out/seed-2-$name.txt"
    if grep -q '<' "$f"; then
        { printf 3; cat "$f"; } > "$out/seed-3-$name.txt"
    fi
done
