#!/bin/sh
# attn run: the I/O contract (pipes, one line in one line out, -0, --whole, empty input and lines,
# invalid UTF-8, a 1 MB line, a token split inside a 4-byte emoji, | head, /dev/full, models that
# are missing or corrupt, every exit status, stdout = generated text only) and the decoding modes.
#
# Models: tests/data/gen/echo.attn (scripts/goldens/echo_model.py) is built by hand to copy its
# source, so the right output of every text test is the input itself; tests/data/ref/*.attn are
# PyTorch reference models (scripts/goldens/reference.py) whose .ref files hold PyTorch's greedy
# ids.
. "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/../.." || exit 1
ECHO=tests/data/gen/echo.attn
REF=tests/data/ref

# same FILE: stdout equals the bytes of FILE.
same() { cmp -s "$T/out" "$1"; }

# ---- pipes, one line in, one line out -------------------------------------------------------

printf 'hello world\nabc\n' >"$T/in"
run sh -c "cat '$T/in' | '$ATTN' -m $ECHO | cat"
ok "pipe in and out: the echo model copies each line" same "$T/in"
ok "pipe: status 0" status_is 0
ok "pipe: nothing on stderr" err_empty

i=0
: >"$T/many"
while [ $i -lt 150 ]; do
    printf 'line %d %s\n' $i "$(printf 'abcdefghij' | cut -c1-$((i % 10 + 1)))" >>"$T/many"
    i=$((i + 1))
done
for b in 1 7 32; do
    run "$ATTN" -m $ECHO --batch $b "$T/many"
    ok "150 lines in, the same 150 lines out, in order (--batch $b)" same "$T/many"
done
run "$ATTN" -m $ECHO "$T/in" - "$T/in" <"$T/many"
cat "$T/in" "$T/many" "$T/in" >"$T/cat"
ok "files are read in order, - is stdin" same "$T/cat"

# A coprocess: the output of a line arrives before the next line is written.
mkfifo "$T/to" "$T/from"
"$ATTN" -m $ECHO <"$T/to" >"$T/from" 2>"$T/err" &
pid=$!
exec 3>"$T/to" 4<"$T/from"
echo "first line" >&3
read -r first <&4
echo "second" >&3
read -r second <&4
exec 3>&-
wait $pid
RC=$?
exec 4<&-
ok "coprocess: each output line is flushed before more input comes" \
    [ "$first|$second" = "first line|second" ]
ok "coprocess: status 0" status_is 0

# ---- records ------------------------------------------------------------------------------------

printf 'a\nb\0c\0' >"$T/in0"
run sh -c "'$ATTN' -m $ECHO -0 <'$T/in0'"
ok "-0: NUL-separated records (with newlines inside) in and out" same "$T/in0"
printf 'line1\nline2\n' >"$T/whole"
run sh -c "'$ATTN' -m $ECHO --whole <'$T/whole'"
ok "--whole: the whole input is one source" same "$T/whole"

run sh -c "'$ATTN' -m $ECHO </dev/null"
ok "empty input: no output" out_empty
ok "empty input: status 0" status_is 0
printf 'a\n\nb\n' >"$T/empty"
run sh -c "'$ATTN' -m $ECHO <'$T/empty'"
ok "an empty line gives an empty output line" same "$T/empty"
run sh -c "printf '\n' | '$ATTN' -m $ECHO --json"
ok "an empty line in --json: an object with an empty output" out_has '"output":"","ids":\[\]'

printf 'ab\377c\342\202\n' >"$T/bad"
printf 'ab\357\277\275c\357\277\275\357\277\275\n' >"$T/bad.want"
run sh -c "'$ATTN' -m $ECHO <'$T/bad'"
ok "invalid UTF-8 input is encoded as bytes, copied back with U+FFFD for each invalid byte" \
    same "$T/bad.want"

# ---- long lines -----------------------------------------------------------------------------------
# A line longer than the model's 64 positions is cut into pieces, each translated, the outputs
# joined; a line longer than the 1 MiB read of a record is refused with an empty output line.

head -c 3000 /dev/zero | tr '\0' 'x' >"$T/kb"
printf 'ok\n' >"$T/long"
cat "$T/kb" >>"$T/long"
printf '\nafter\n' >>"$T/long"
run "$ATTN" -m $ECHO "$T/long"
ok "a 3000-token line is translated in pieces (status 0)" status_is 0
ok "... the echo model gives the whole line back" same "$T/long"
ok "... one warning naming the file and line" \
    sh -c "[ \"\$(cat '$T/err')\" = 'attn: $T/long:2: sentence of 3001 tokens translated in 48 pieces' ]"
run "$ATTN" -m $ECHO --truncate "$T/long"
ok "--truncate: status 0" status_is 0
ok "--truncate: the long line is cut to the model's 64 positions" \
    [ "$(sed -n 2p "$T/out")" = "$(head -c 63 "$T/kb")" ]
ok "--truncate: a warning says so" err_has "long:2: sentence of 3001 tokens cut to 64"
ok "--truncate: the following line is still right" [ "$(sed -n 3p "$T/out")" = "after" ]
run "$ATTN" -m $ECHO --json --truncate "$T/long"
ok "--truncate --json: the cut record says so" sh -c "sed -n 2p '$T/out' | grep -q '\"cut\":true'"
ok "--truncate --json: the others do not" sh -c "sed -n 1p '$T/out' | grep -q '\"cut\":false'"

# ---- whole UTF-8 characters ----------------------------------------------------------------------
# The echo model's tokenizer has a token for the bytes F0 9F, so the emoji U+1F600 (F0 9F 98 80)
# is 3 tokens and the stream is split inside the character.

printf 'a\360\237\230\200b\n' >"$T/emoji"
run sh -c "'$ATTN' -m $ECHO <'$T/emoji'"
ok "an emoji split over 3 tokens comes out whole" same "$T/emoji"
run sh -c "'$ATTN' -m $ECHO --json <'$T/emoji'"
ok "the emoji is 3 tokens (F0 9F, 98, 80)" out_has '"ids":\[101,269,156,132,102\]'
# (--no-protect: protected spans would put the whole emoji back, tests/cli/test_spans.sh)
run sh -c "'$ATTN' -m $ECHO -n 2 --no-protect <'$T/emoji'"
printf 'a\357\277\275\357\277\275\n' >"$T/cut"
ok "an output cut inside a character: its held bytes end it, each as U+FFFD" same "$T/cut"

# ---- readers that go away, full disks -------------------------------------------------------------

i=0
: >"$T/lots"
while [ $i -lt 2000 ]; do echo "hello world $i" >>"$T/lots"; i=$((i + 1)); done
run sh -c "('$ATTN' -m $ECHO '$T/lots'; echo \$? >'$T/st') | head -n 1"
ok "| head: the first line" out_is "hello world 0"
ok "| head: attn exits 0" [ "$(cat "$T/st")" = 0 ]
ok "| head: nothing on stderr" err_empty
run sh -c "echo hi | '$ATTN' -m $ECHO >/dev/full"
ok "> /dev/full: exit 1" status_is 1
ok "> /dev/full: says so in one line" err_has 'attn: stdout: No space left on device'

# ---- models --------------------------------------------------------------------------------------

run sh -c "echo hi | '$ATTN' -m /nonexistent/model.attn"
ok "missing model: exit 1" status_is 1
ok "missing model: one line naming the file" err_has '/nonexistent/model.attn'
head -c 5000 $ECHO >"$T/trunc.attn"
run sh -c "echo hi | '$ATTN' -m '$T/trunc.attn'"
ok "truncated model: exit 1" status_is 1
ok "truncated model: one line" err_one_line
ok "truncated model: nothing on stdout" out_empty
printf 'not a model\n' >"$T/text.attn"
run sh -c "echo hi | '$ATTN' -m '$T/text.attn'"
ok "a text file as model: exit 1 with one line" err_one_line
run sh -c "echo hi | ATTN_MODEL=$ECHO '$ATTN'"
ok "\$ATTN_MODEL names the default model" out_is "hi"
run sh -c "echo 5 6 | '$ATTN' -m $REF/post_relu_tied.attn"
ok "a model without a tokenizer needs --ids (exit 1)" status_is 1
ok "... and says so" err_has 'give token ids with --ids'

# ---- exit statuses and usage errors ----------------------------------------------------------------

for args in "-n 0" "--top-p 2" "-t 0" "--n-best 2" "-b 2 --n-best 3" "--batch 0" \
    "--early-stopping maybe" "--no-such-option" "-b" "-s -b 2"; do
    run sh -c "echo hi | '$ATTN' -m $ECHO $args"
    ok "usage error '$args': exit 2" status_is 2
    ok "usage error '$args': one line" err_one_line
    ok "usage error '$args': nothing on stdout" out_empty
done
run sh -c "echo 5 999 | '$ATTN' -m $REF/post_relu_tied.attn --ids"
ok "an id outside the vocabulary: exit 1 naming the line" err_has '^attn: -:1: not a token id'
run sh -c "echo hi | '$ATTN' -m $ECHO -n 65"
ok "-n beyond the model's positions: exit 2" status_is 2
run "$ATTN" -m $ECHO /nonexistent/input
ok "missing input file: exit 1 naming it" err_has '/nonexistent/input'

# ---- stdout holds generated text only --------------------------------------------------------------

run "$ATTN" -m $ECHO -v --progress "$T/many"
ok "-v --progress: stdout is still exactly the outputs" same "$T/many"
ok "-v: timings on stderr" err_has 'tokens/s'
run sh -c "echo hi | '$ATTN' -m $ECHO -s -v"
ok "-v with sampling and no --seed shows the drawn seed" err_has '^attn: seed [0-9]'

# ---- decoding -----------------------------------------------------------------------------------------

# Greedy equals PyTorch's argmax path (full recomputation) on the reference models.
for ref in $REF/*.ref; do
    model=$REF/$(awk '$1 == "model" { print $2 }' "$ref")
    awk '$1 == "sources" { n = $2; for (i = 0; i < n; i++) { getline; $1 = ""; sub(/^ /, ""); print } }' \
        "$ref" >"$T/src"
    awk '$1 == "greedy" { s = ""; for (i = 4; i <= NF && $i != 2; i++) s = s (s == "" ? "" : " ") $i; print s }' \
        "$ref" >"$T/want"
    run "$ATTN" -m "$model" --ids -n 12 "$T/src"
    ok "greedy equals PyTorch on $(basename "$ref" .ref)" same "$T/want"
done

# The seed gives the same samples whatever the thread count and batch size; beams too.
RM=$REF/pre_gelu_untied.attn
i=0
: >"$T/ids"
while [ $i -lt 23 ]; do
    echo "$((i % 50 + 3)) $((i * 7 % 60 + 3)) $((i * 13 % 70 + 3))" | cut -d' ' -f1-$((i % 3 + 1)) >>"$T/ids"
    i=$((i + 1))
done
for mode in "-s --seed 42 -t 0.8 -p 0.9" "-s --seed 42 -k 5 --min-p 0.05" "-b 4" "-b 3 --n-best 2"; do
    "$ATTN" -m $RM --ids -n 16 $mode --threads 1 --batch 1 "$T/ids" >"$T/a" 2>&1
    "$ATTN" -m $RM --ids -n 16 $mode --threads 2 --batch 5 "$T/ids" >"$T/b" 2>&1
    run "$ATTN" -m $RM --ids -n 16 $mode --threads 2 --batch 23 "$T/ids"
    ok "'$mode': same output for threads 1/2 and batch 1/5/23" \
        sh -c "cmp -s '$T/a' '$T/b' && cmp -s '$T/a' '$T/out'"
done
run "$ATTN" -m $RM --ids -n 16 -s --seed 43 "$T/ids"
"$ATTN" -m $RM --ids -n 16 -s --seed 42 "$T/ids" >"$T/a"
ok "another seed gives other samples" sh -c "! cmp -s '$T/a' '$T/out'"
run "$ATTN" -m $RM --ids -n 16 -b 3 --n-best 3 "$T/ids"
ok "--n-best 3: three lines per source" [ "$(wc -l <"$T/out")" -eq 69 ]

printf 'xyz\n' >"$T/xyz"
run "$ATTN" -m $ECHO --prefix Q "$T/xyz"
ok "--prefix forces the start of the output" out_is "Qyz"
run "$ATTN" -m $RM --ids --prefix '5 x7' -n 4 "$T/ids"
ok "--ids --prefix with a word that is no id: usage error (status 2)" status_is 2
ok "... that names the bad token" err_has "--prefix: not a token id of this model: 'x7'"
run "$ATTN" -m $RM --ids --prefix '5 99999' -n 4 "$T/ids"
ok "--ids --prefix with an id past the vocabulary: status 2" status_is 2
run "$ATTN" -m $ECHO --min-tokens 6 -n 6 "$T/xyz"
ok "--min-tokens: the copy goes on past its end" [ "$(head -c 3 "$T/out")" = "xyz" ]
ok "--min-tokens: no end of sequence before 6 tokens" [ "$(wc -c <"$T/out")" -gt 4 ]
run "$ATTN" -m $ECHO -b 4 --batch 3 "$T/many"
ok "beam search on the echo model also copies" same "$T/many"

# transformers 4.30's generate() on the HF fixtures (BART, Marian, T5): greedy, 4 beams with
# scores, repetition penalty with no-repeat n-grams.  Needs numpy for the conversion.
if /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
    run /usr/bin/python3 tests/hf_generate_check.py --attn "$ATTN"
    ok "generate() equals transformers 4.30 on the HF fixtures" status_is 0
else
    echo "SKIP (not counted): HF generate check, /usr/bin/python3 has no numpy"
fi

finish
