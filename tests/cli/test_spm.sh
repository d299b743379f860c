#!/bin/sh
# attn tokenize and detokenize with SentencePiece models (-t FILE.model): the spm_encode and
# spm_decode goldens of tests/data/spm through the command line, special pieces, model files
# whose embedded tokenizer is a SentencePiece model (attn run included), and errors with their
# exit statuses.
. "$(dirname "$0")/lib.sh"
D=tests/data/spm
gzip -dc $D/lines.txt.gz >"$T/lines.txt"

# goldens: one model of each algorithm and normalizer, and the 32k one
for m in uni-en-1k bpe-en-8k-bytefb uni-mix-4k-bytefb-digits uni-fr-2k-nfkc bpe-en-2k-cf \
    uni-en-2k-user bpe-en-1k-suffix char-en word-de-2k uni-en-1k-denorm uni-mix-32k; do
    gzip -dc $D/$m.model.gz >"$T/$m.model"
    gzip -dc $D/$m.ids.gz >"$T/$m.ids"
    gzip -dc $D/$m.dec.gz >"$T/$m.dec"
    run "$ATTN" tokenize -t "$T/$m.model" "$T/lines.txt"
    ok "$m: tokenize equals spm_encode" cmp -s "$T/out" "$T/$m.ids"
    ok "$m: tokenize is quiet" err_empty
    run "$ATTN" detokenize -t "$T/$m.model" - <"$T/$m.ids"
    ok "$m: detokenize equals spm_decode" cmp -s "$T/out" "$T/$m.dec"
    ok "$m: detokenize is quiet" err_empty
done

# the tokenizer blob of a model file may be a SentencePiece model
gzip -dc $D/uni-en-100.ids.gz >"$T/uni-en-100.ids"
run "$ATTN" tokenize -t $D/spm-model.attn "$T/lines.txt"
ok "embedded SentencePiece tokenizer equals spm_encode" cmp -s "$T/out" "$T/uni-en-100.ids"

# attn run over a model whose tokenizer is SentencePiece (spm-echo.attn copies its source): the
# text printed, streamed token by token, is spm_decode's of spm_encode's ids, on the DDTP lines
# that fit the model's 64 positions (1 to 60 ids) and that attn run's input hygiene leaves as
# they are (no white space around them, no control characters; the edge cases are the tokenize
# and detokenize checks' above)
gzip -dc $D/bpe-en-320-bytefb.ids.gz >"$T/echo.ids"
gzip -dc $D/bpe-en-320-bytefb.dec.gz >"$T/echo.dec"
ddtp=$(($(wc -l <"$T/lines.txt") - $(wc -l <$D/edge.txt)))
sel=$(LC_ALL=C awk -v ddtp=$ddtp 'NR == FNR { ok[FNR] = NF >= 1 && NF <= 60; next }
    FNR <= ddtp && ok[FNR] && /^[^ ]/ && /[^ ]$/ && !/[\001-\037\177]/ { printf "%dp;", FNR }' \
    "$T/echo.ids" "$T/lines.txt")
sed -n "$sel" "$T/lines.txt" >"$T/echo.in"
sed -n "$sel" "$T/echo.dec" >"$T/echo.want"
ok "the echo test has lines to run" [ "$(wc -l <"$T/echo.in")" -gt 200 ]
run "$ATTN" -m $D/spm-echo.attn --no-split "$T/echo.in"
ok "attn run with a SentencePiece tokenizer prints spm_decode's text" cmp -s "$T/out" "$T/echo.want"
ok "attn run with a SentencePiece tokenizer is quiet" err_empty

# control and unknown pieces' text: plain text, or their ids with --special
M="$T/uni-en-1k.model"
printf '<s>Hello</s>\n' >"$T/special.txt"
run "$ATTN" tokenize -t "$M" "$T/special.txt"
ok "<s> is plain text without --special (as spm_encode)" out_is "3 0 4 0 265 509 21 0 67 4 0"
run "$ATTN" tokenize --special -t "$M" "$T/special.txt"
ok "--special: <s> and </s> are their ids" out_is "1 201 509 21 2"
cp "$T/out" "$T/special.ids"
run "$ATTN" detokenize -t "$M" "$T/special.ids"
ok "--special: control pieces decode to nothing" out_is "Hello"

# errors: one line on stderr, exit 1 for bad data, 2 for bad usage
echo '5 99999' >"$T/bad.ids"
run "$ATTN" detokenize -t "$M" "$T/bad.ids"
ok "an id outside the vocabulary exits 1" status_is 1
ok "an id outside the vocabulary: one line naming the line" err_one_line
ok "an id outside the vocabulary: where" err_has "bad.ids:1:"
head -c 2000 "$M" >"$T/cut.model"
run "$ATTN" tokenize -t "$T/cut.model" "$T/lines.txt"
ok "a truncated model exits 1" status_is 1
ok "a truncated model: one line" err_one_line
ok "a truncated model: says so" err_has "cut.model: ModelProto: malformed protobuf"
ok "a truncated model: no output" out_empty
run "$ATTN" tokenize -p gpt2 -t "$M" "$T/lines.txt"
ok "--pattern with a SentencePiece model exits 2" status_is 2
ok "--pattern with a SentencePiece model: one line" err_one_line
finish
