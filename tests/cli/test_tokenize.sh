#!/bin/sh
# attn tokenize, detokenize and train-tokenizer: tiktoken goldens through the command line, round
# trips, special tokens, model files, errors and exit statuses.
. "$(dirname "$0")/lib.sh"
D=tests/data/tok
gzip -dc $D/r50k_base.tiktoken.gz >"$T/r50k_base.tiktoken"
gzip -dc $D/cl100k_base.tiktoken.gz >"$T/cl100k_base.tiktoken"
R50K="$T/r50k_base.tiktoken"

for cmd in tokenize detokenize train-tokenizer; do
    run "$ATTN" $cmd --help
    ok "$cmd --help exits 0" status_is 0
    ok "$cmd --help prints usage" out_has "^Usage: attn $cmd"
    ok "$cmd --help is quiet on stderr" err_empty
    run "$ATTN" $cmd --no-such-option
    ok "$cmd: unknown option exits 2" status_is 2
    ok "$cmd: unknown option: one line" err_one_line
done

# goldens from tiktoken, per line and whole, from a file and from stdin
for enc in r50k_base cl100k_base; do
    run "$ATTN" tokenize -t "$T/$enc.tiktoken" $D/edge.txt
    ok "$enc edge lines equal tiktoken" cmp -s "$T/out" $D/$enc.edge.lines.ids
    ok "$enc edge lines: quiet" err_empty
    run "$ATTN" tokenize --whole -t "$T/$enc.tiktoken" - <$D/edge.txt
    ok "$enc edge whole from stdin equals tiktoken" cmp -s "$T/out" $D/$enc.edge.whole.ids
done
gzip -dc $D/fr.txt.gz >"$T/fr.txt"
gzip -dc $D/r50k_base.fr.ids.gz >"$T/fr.ids"
run "$ATTN" tokenize -t "$R50K" "$T/fr.txt"
ok "r50k French sample equals tiktoken" cmp -s "$T/out" "$T/fr.ids"

# detokenize is the inverse (every line gets its newline back)
run "$ATTN" detokenize -t "$R50K" $D/r50k_base.edge.lines.ids
{ cat $D/edge.txt; echo; } >"$T/edge-nl.txt"
ok "detokenize restores the edge text" cmp -s "$T/out" "$T/edge-nl.txt"
run "$ATTN" detokenize -t "$R50K" "$T/fr.ids"
ok "detokenize restores the French sample" cmp -s "$T/out" "$T/fr.txt"
printf '\377\376 bytes \303\n' >"$T/bad-utf8.txt"
"$ATTN" tokenize -t "$R50K" "$T/bad-utf8.txt" >"$T/bad.ids"
run "$ATTN" detokenize -t "$R50K" "$T/bad.ids"
ok "invalid UTF-8 round-trips" cmp -s "$T/out" "$T/bad-utf8.txt"

# special tokens only with --special (expected ids: tiktoken r50k_base, with and without
# allowed_special)
run sh -c 'printf "a<|endoftext|>b\n" | "$ATTN" tokenize -t "$1"' sh "$R50K"
ok "special text is plain by default" out_is "64 27 91 437 1659 5239 91 29 65"
run sh -c 'printf "a<|endoftext|>b\n" | "$ATTN" tokenize --special -t "$1"' sh "$R50K"
ok "--special parses the special token" out_is "64 50256 65"
run sh -c 'echo "64 50256 65" | "$ATTN" detokenize -t "$1"' sh "$R50K"
ok "detokenize writes a special token's text" out_is "a<|endoftext|>b"

# --pattern: r50k's vocabulary split by cl100k's pattern (" ", "202", "4"; tiktoken's r50k ids
# of these pieces: 220, 19004, 19; of " 2024" whole: 48609)
run sh -c 'echo " 2024" | "$ATTN" tokenize -t "$1"' sh "$R50K"
ok "gpt2 pattern keeps ' 2024' whole" out_is "48609"
run sh -c 'echo " 2024" | "$ATTN" tokenize -t "$1" --pattern cl100k' sh "$R50K"
ok "--pattern cl100k splits digits in threes" out_is "220 19004 19"
run "$ATTN" tokenize -t "$R50K" --pattern '(' $D/edge.txt
ok "--pattern that does not compile exits 2" status_is 2
ok "--pattern error: one line" err_one_line

# train-tokenizer: ids of the specials, determinism, round trip, the result's use
run "$ATTN" train-tokenizer --vocab-size 600 --special '<pad>,<s>,</s>,<unk>' -o "$T/a.tok" "$T/fr.txt"
ok "train-tokenizer exits 0" status_is 0
ok "train-tokenizer writes nothing to stdout" out_empty
"$ATTN" train-tokenizer --vocab-size 600 --special '<pad>,<s>,</s>,<unk>' -o "$T/b.tok" "$T/fr.txt"
ok "training is deterministic" cmp -s "$T/a.tok" "$T/b.tok"
ok "the file has 600 ids" grep -qx 'tokens 600' "$T/a.tok"
ok "special ids in the order given" [ "$(sed -n '4,7p' "$T/a.tok" | tr '\n' ' ')" = '!3c7061643e !3c733e !3c2f733e !3c756e6b3e ' ]
ok "then the 256 bytes" [ "$(sed -n '8p;263p' "$T/a.tok" | tr '\n' ' ')" = '00 ff ' ]
run sh -c 'printf "<s>x</s><pad><unk>\n" | "$ATTN" tokenize --special -t "$1"' sh "$T/a.tok"
ok "trained specials encode to 1, 2, 0, 3" out_is "1 124 2 0 3"
run "$ATTN" tokenize -t "$T/a.tok" "$T/fr.txt"
cp "$T/out" "$T/fr-a.ids"
run "$ATTN" detokenize -t "$T/a.tok" "$T/fr-a.ids"
ok "trained tokenizer round-trips the corpus" cmp -s "$T/out" "$T/fr.txt"
run "$ATTN" train-tokenizer --vocab-size 300 --pattern cl100k -o "$T/c.tok" "$T/fr.txt" "$T/edge-nl.txt"
ok "train-tokenizer --pattern cl100k, two files" grep -qx 'pattern cl100k' "$T/c.tok"

run "$ATTN" train-tokenizer -o "$T/x.tok" "$T/fr.txt"
ok "missing --vocab-size exits 2" status_is 2
run "$ATTN" train-tokenizer --vocab-size 259 --special 'a,b,c,d' -o "$T/x.tok" "$T/fr.txt"
ok "vocab smaller than specials + 256 exits 2" status_is 2
ok "vocab too small: one line" err_one_line
run "$ATTN" train-tokenizer --vocab-size 300 --special 'a,,b' -o "$T/x.tok" "$T/fr.txt"
ok "an empty special token exits 1" status_is 1
ok "empty special: one line" err_one_line
run "$ATTN" train-tokenizer --vocab-size 300 --pattern '[' -o "$T/x.tok" "$T/fr.txt"
ok "bad --pattern exits 2" status_is 2
run "$ATTN" train-tokenizer --vocab-size 300 -o "$T/x.tok" "$T/no-such-file"
ok "missing input exits 1" status_is 1
ok "missing input: one line naming it" err_has "no-such-file"
run "$ATTN" train-tokenizer --vocab-size 300 -o "$T/no-dir/x.tok" "$T/fr.txt"
ok "unwritable output exits 1" status_is 1

# model files: the embedded tokenizer
run "$ATTN" tokenize -t $D/small-model.attn "$T/fr.txt"
cp "$T/out" "$T/fr-model.ids"
run "$ATTN" tokenize -t $D/small.tok "$T/fr.txt"
ok "-t MODEL uses its embedded tokenizer" cmp -s "$T/out" "$T/fr-model.ids"
run "$ATTN" tokenize -t tests/data/modelfile/py-q8.attn "$T/fr.txt"
ok "a model whose tokenizer blob is not one exits 1" status_is 1
ok "bad embedded tokenizer: one line" err_one_line

# converters (scripts/convert/tokenizer.py; fixtures and hand-derived ids:
# scripts/goldens/tok_convert_fixtures.py)
if [ -x /usr/bin/python3 ]; then
    run /usr/bin/python3 -m scripts.convert.tokenizer hf $D/tiny-hf.json -o "$T/hf.tok"
    ok "convert hf exits 0" status_is 0
    ok "convert hf: ids not in merge order get explicit ranks" grep -qx '6c6f77 257' "$T/hf.tok"
    run sh -c 'echo " low lower<s>" | "$ATTN" tokenize --special -t "$1"' sh "$T/hf.tok"
    ok "converted HF tokenizer merges by merge order" out_is "36 262 36 262 263 0"
    run /usr/bin/python3 -m scripts.convert.tokenizer gpt2 $D/tiny-encoder.json $D/tiny-vocab.bpe -o "$T/g.tok"
    ok "convert gpt2 exits 0" status_is 0
    run sh -c 'echo "low<|endoftext|>" | "$ATTN" tokenize --special -t "$1"' sh "$T/g.tok"
    ok "converted GPT-2 vocabulary: merges and <|endoftext|> special" out_is "257 258"
    run /usr/bin/python3 -m scripts.convert.tokenizer tiktoken "$R50K" --pattern gpt2 --special '<|endoftext|>=50256' -o "$T/r.tok"
    run "$ATTN" tokenize -t "$T/r.tok" $D/edge.txt
    ok "converted r50k rank file equals tiktoken" cmp -s "$T/out" $D/r50k_base.edge.lines.ids
else
    echo "SKIP: converter checks (no /usr/bin/python3); not counted as passed"
fi

# runtime errors
run "$ATTN" tokenize -t "$T/no-such.tok" $D/edge.txt
ok "missing tokenizer exits 1" status_is 1
ok "missing tokenizer: one line naming it" err_has "no-such.tok: No such file"
printf 'attn-tokenizer 1\npattern gpt2\ntokens 256\n' >"$T/trunc.tok"
run "$ATTN" tokenize -t "$T/trunc.tok" $D/edge.txt
ok "truncated tokenizer exits 1" status_is 1
ok "truncated tokenizer: one line" err_one_line
run sh -c 'echo "15496 50257" | "$ATTN" detokenize -t "$1"' sh "$R50K"
ok "out-of-range id exits 1" status_is 1
ok "out-of-range id: names the line" err_has "-:1: token id out of range"
run sh -c 'printf "1 2\n3 x\n" | "$ATTN" detokenize -t "$1"' sh "$R50K"
ok "non-numeric id exits 1" status_is 1
ok "non-numeric id: names the line" err_has "-:2: not a token id: 'x'"
run "$ATTN" tokenize -t "$R50K" "$T/no-such-input"
ok "missing input file exits 1" status_is 1

# a closed pipe is a quiet, successful end
run sh -c '"$ATTN" tokenize -t "$1" "$2" | head -1 >/dev/null' sh "$R50K" "$T/fr.txt"
ok "tokenize into a closed pipe exits 0" status_is 0
ok "tokenize into a closed pipe is quiet" err_empty

finish
