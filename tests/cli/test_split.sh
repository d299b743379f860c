#!/bin/sh
# attn run's sentence splitting and input hygiene (issue 14): a translator's records are split
# into sentences and rebuilt with their own separators; white space around a record is kept,
# a record of white space is answered with itself, CRLF and a byte order mark are handled,
# control characters are not given to the model and the output is valid UTF-8 whatever the
# input; --split, --no-split and --json.
#
# Models: tests/data/gen/echo.attn copies its source (so with or without splitting the right
# output is the input, and its JSON shows what the model was given); $T/echo-tr.attn is the same
# model marked as a translator with attn convert --set; models/en-fr.attn is the default model.
. "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/../.." || exit 1
ECHO=tests/data/gen/echo.attn
M=models/en-fr.attn
TR=$T/echo-tr.attn

# same FILE: stdout equals the bytes of FILE.
same() { cmp -s "$T/out" "$1"; }
# count TEXT N: stdout holds TEXT exactly N times.
count() { [ "$(grep -o -- "$1" "$T/out" | wc -l)" -eq "$2" ]; }

run "$ATTN" convert --set task=translation --set lang.source=en $ECHO "$TR"
ok "convert --set marks the echo model as a translator" status_is 0
run "$ATTN" info "$TR"
ok "info shows the task key" out_has '^  task  *str  *"translation"$'

# ---- records rebuilt from their sentences ----------------------------------------------------

printf 'One sentence. Two sentences! Three?\n  Lead and trail.  \n   \n\n' >"$T/in"
printf '\tTab\tseparated.\t\r\nCRLF line. Next.\r\nA\001control. Dr. Who is here.\n' >>"$T/in"
run "$ATTN" -m "$TR" "$T/in"
ok "translator: status 0" status_is 0
ok "translator: every record rebuilt byte for byte around its sentences" same "$T/in"
run "$ATTN" -m "$TR" --json "$T/in"
ok "json: one object per record" [ "$(wc -l <"$T/out")" -eq 7 ]
ok "json: the first record's three sentences" \
    out_has '"sentences":\[{"source":"One sentence.","output":"One sentence."'
ok "json: the third sentence of the first record" out_has '{"source":"Three?","output":"Three?"'
ok "json: 11 sentences in all (abbreviation and control character included)" \
    count '{"source":' 11
ok "json: a record of spaces has no sentence and is its own output" \
    out_has '{"index":2,"source":"   ","output":"   ","sentences":\[\]}'
ok "json: the record's output keeps its white space" \
    out_has '"source":"  Lead and trail.  ","output":"  Lead and trail.  "'
ok "json: the control character separates, it is not given to the model" \
    out_has '{"source":"A","output":"A",'

printf 'It is fast. It is small. It is free.\n' >"$T/three"
run "$ATTN" -m "$TR" --json "$T/three"
ok "three short sentences: three sources" count '{"source":"It is ' 3
run "$ATTN" -m "$TR" --no-split --json "$T/three"
ok "--no-split: one source per record, no sentences" sh -c "! grep -q sentences '$T/out'"
ok "--no-split: the record is the source" out_has '"output":"It is fast. It is small. It is free."'
run "$ATTN" -m $ECHO --json "$T/three"
ok "a model without task=translation is not split" sh -c "! grep -q sentences '$T/out'"
run "$ATTN" -m $ECHO --split --json "$T/three"
ok "--split splits for any model" count '{"source":"It is ' 3
for b in 1 3 64; do
    run "$ATTN" -m "$TR" --batch $b "$T/in"
    ok "--batch $b: the same output" same "$T/in"
done
printf 'A first one. A second one.\nAnd a third one.' >"$T/whole"
run "$ATTN" -m "$TR" --whole --json "$T/whole"
ok "--whole: newlines are sentence boundaries" count '{"source":"A' 3
run "$ATTN" -m "$TR" -0 "$T/whole"
ok "-0: a record with newlines comes back whole" out_is "$(cat "$T/whole")"

# A coprocess: a split record's answer arrives before the next record is written.
mkfifo "$T/to" "$T/from"
"$ATTN" -m "$TR" <"$T/to" >"$T/from" 2>"$T/err" &
pid=$!
exec 3>"$T/to" 4<"$T/from"
echo "First one. Second one." >&3
read -r first <&4
echo "Third. Fourth!" >&3
read -r second <&4
exec 3>&-
wait $pid
RC=$?
exec 4<&-
ok "coprocess: each split record is answered before more input comes" \
    [ "$first|$second" = "First one. Second one.|Third. Fourth!" ]
ok "coprocess: status 0" status_is 0

run "$ATTN" -m "$TR" --split --ids "$T/three"
ok "--split with --ids: usage error" status_is 2
run "$ATTN" -m "$TR" --split -b 2 --n-best 2 "$T/three"
ok "--split with --n-best: usage error" status_is 2
run "$ATTN" -m "$TR" --split --prefix It "$T/three"
ok "--split with --prefix: usage error" status_is 2

# ---- input hygiene without splitting ---------------------------------------------------------

printf '  padded  \n \t \nx\001y\t z\n\r\n' >"$T/hyg"
run "$ATTN" -m $ECHO --json "$T/hyg"
ok "no split: white space around a record is not given to the model" \
    out_has '"source":"  padded  ","output":"padded"'
ok "no split: control characters and tabs reach the model as spaces" \
    out_has '"source":"x\\u0001y\\t z","output":"x y  z"'
run "$ATTN" -m $ECHO "$T/hyg"
printf '  padded  \n \t \nx y  z\n\r\n' >"$T/hyg.want"
ok "no split: the white space is written back around the output, CR before the newline" \
    same "$T/hyg.want"
printf '\357\273\277Hello.\n' | "$ATTN" -m $ECHO >"$T/out" 2>"$T/err"
ok "a byte order mark at the start of the input is skipped" out_is "Hello."

# ---- the output is valid UTF-8 ---------------------------------------------------------------

# utf8: stdout decodes as strict UTF-8 (no stray byte, overlong form or surrogate).
utf8() { /usr/bin/python3 -c 'import sys; sys.stdin.buffer.read().decode("utf-8")' <"$T/out"; }
# 2000 pseudo-random bytes (a fixed seed) with newlines among them.
LC_ALL=C awk 'BEGIN { srand(7); for (i = 0; i < 2000; i++) printf "%c", int(rand() * 256) }' \
    >"$T/random"
records=$(tr -dc '\n' <"$T/random" | wc -c)
[ -n "$(tail -c 1 "$T/random" | tr -d '\n')" ] && records=$((records + 1))
for model in $ECHO "$TR"; do
    run "$ATTN" -m "$model" --truncate "$T/random"
    ok "random bytes ($(basename "$model")): status 0" status_is 0
    ok "random bytes ($(basename "$model")): one line per record" \
        [ "$(wc -l <"$T/out")" -eq "$records" ]
    ok "random bytes ($(basename "$model")): the output is valid UTF-8" utf8
done
printf 'overlong \300\257 surrogate \355\240\200 cut \360\237\230\n' >"$T/badutf8"
run "$ATTN" -m $ECHO "$T/badutf8"
R='\357\277\275'
printf "overlong $R$R surrogate $R$R$R cut $R$R$R\\n" >"$T/badutf8.want"
ok "overlong, surrogate and cut sequences come back as U+FFFD, byte by byte" same "$T/badutf8.want"

# ---- the default model -----------------------------------------------------------------------

if [ -f $M ]; then
    run "$ATTN" info $M
    ok "the default model is a translator" out_has '^  task  *str  *"translation"$'
    ok "the default model translates from English" out_has '^  lang.source  *str  *"en"$'
    printf 'This package provides a library.\nIt supports plugins.\n' >"$T/two"
    run "$ATTN" -m $M --whole "$T/two"
    ok "--whole: both sentences translated, on two lines" [ "$(wc -l <"$T/out")" -eq 2 ]
    second=$(sed -n 2p "$T/out")
    translated() { [ -n "$second" ] && [ "$second" != 'It supports plugins.' ]; }
    ok "--whole: the second line is translated too" translated
    run "$ATTN" -m $M --json "$T/three"
    ok "three short sentences: three translations" count '{"source":"It is ' 3
    ok "three short sentences: none empty" sh -c "! grep -q '\"output\":\"\"' '$T/out'"
    printf '   \n\t\n' >"$T/blank"
    run "$ATTN" -m $M "$T/blank"
    ok "records of white space are answered with themselves" same "$T/blank"
    printf 'This package provides a library.\n' >"$T/lf"
    printf 'This package provides a library.\r\n' >"$T/crlf"
    "$ATTN" -m $M "$T/lf" | sed 's/$/\r/' >"$T/crlf.want"
    run "$ATTN" -m $M "$T/crlf"
    ok "CRLF: the CR is not translated and comes back before the newline" same "$T/crlf.want"
    run "$ATTN" -m $M --truncate "$T/random"
    ok "random bytes (default model): one line per record" [ "$(wc -l <"$T/out")" -eq "$records" ]
    ok "random bytes (default model): the output is valid UTF-8" utf8
    printf '\357\273\277' | cat - "$T/lf" >"$T/bom"
    "$ATTN" -m $M "$T/lf" >"$T/lf.out"
    run "$ATTN" -m $M "$T/bom"
    ok "BOM: the same translation as without it" same "$T/lf.out"
fi
finish
