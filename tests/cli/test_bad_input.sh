#!/bin/sh
# attn run and score on bad input (issue 14): every record is answered, one output line per
# input record, with a warning naming the record that had a problem, and nothing lost from the
# others: lines longer than the model, a 10 MB line, 1 MB of random bytes, NUL bytes without -0,
# overlong and surrogate UTF-8, a last line without its newline, untranslatable records,
# unreadable files among several, pairs that cannot be scored; a coprocess gets each answer
# before it sends the next line (--batch and score); a 100 MB line stays within 200 MB of memory.
#
# Model: tests/data/gen/echo.attn (scripts/goldens/echo_model.py) copies its source, so the right
# output of a text record is the record itself; tests/data/ref/post_relu_tied.attn reads ids.
. "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/../.." || exit 1
ECHO=tests/data/gen/echo.attn
PY=/usr/bin/python3

# lines_are N: stdout has N lines.
lines_are() { [ "$(wc -l <"$T/out")" -eq "$1" ]; }
# line_is N TEXT: line N of stdout is TEXT.
line_is() { [ "$(sed -n "$1p" "$T/out")" = "$2" ]; }

# ---- a line too long for the model, a line too long to read -----------------------------------

python3_line() { $PY -c "import sys; sys.stdout.write('$1' * $2)"; }
{ echo before; python3_line 'It supports plugins, and more. ' 40; echo; echo after; } >"$T/in"
run "$ATTN" -m $ECHO "$T/in"
ok "a 1240-byte line: status 0" status_is 0
ok "... translated in pieces and joined: the echo model gives the input back" \
    cmp -s "$T/out" "$T/in"
ok "... one warning naming the record" \
    grep -qxF "attn: $T/in:2: sentence of 1160 tokens translated in 20 pieces" "$T/err"
run "$ATTN" -m $ECHO --json "$T/in"
ok "--json: the cut record says so, with its pieces" \
    sh -c "sed -n 2p '$T/out' | grep -q '\"cut\":true'"
ok "--json: its output is the pieces' outputs joined" \
    sh -c "sed -n 2p '$T/out' | grep -q '\"output\":\"It supports plugins, and more. It'"
ok "--json: one object per record" lines_are 3

{ echo before; head -c 10000000 /dev/zero | tr '\0' 'x'; echo; echo after; } >"$T/in"
run "$ATTN" -m $ECHO "$T/in"
ok "a 10 MB line: status 1" status_is 1
ok "... one output line per record" lines_are 3
ok "... its output line is empty, the others are right" \
    sh -c "[ \"\$(cat '$T/out')\" = \"\$(printf 'before\n\nafter')\" ]"
ok "... one warning naming it" sh -c "[ \$(wc -l <'$T/err') -eq 1 ] &&
    grep -q '^attn: $T/in:2: record of 10000000 bytes is longer than the 1048576 bytes' '$T/err'"

# A 100 MB line through a pipe: refused as it is read, memory stays bounded.
run $PY tests/cli/peak_rss.py 100000000 "$T/big" "$ATTN" -m $ECHO
kb=$(awk '{ print $2 }' "$T/out")
ok "a 100 MB line: attn exits 1" grep -q 'status 1$' "$T/out"
ok "a 100 MB line: peak memory under 200 MB (was $kb kB)" [ "$kb" -lt 204800 ]
ok "a 100 MB line: an empty line for it, then the next line" \
    sh -c "[ \"\$(cat '$T/big')\" = \"\$(printf '\nafter')\" ]"
run $PY tests/cli/peak_rss.py 100000000 "$T/big" "$ATTN" -m $ECHO --truncate
kb=$(awk '{ print $2 }' "$T/out")
ok "a 100 MB line with --truncate: status 0, under 200 MB (was $kb kB)" \
    sh -c "grep -q 'status 0$' '$T/out' && [ $kb -lt 204800 ]"
ok "... its first 63 tokens, then the next line" \
    sh -c "[ \"\$(cat '$T/big')\" = \"\$(printf '%063d\nafter' 0 | tr 0 a)\" ]"

# ---- bytes that are not text ---------------------------------------------------------------

head -c 1048576 /dev/urandom >"$T/rand"
records=$(($(tr -cd '\n' <"$T/rand" | wc -c) + $(tail -c 1 "$T/rand" | tr -d '\n' | wc -c)))
run "$ATTN" -m $ECHO --truncate -n 1 --batch 64 "$T/rand"
ok "1 MB of random bytes: status 0" status_is 0
ok "... one output line per record ($records)" lines_are "$records"
ok "... warnings name records" err_has "^attn: $T/rand:[0-9]*: not valid UTF-8"

printf 'a\000b\nnext\n' >"$T/in"
run "$ATTN" -m $ECHO "$T/in"
ok "NUL bytes without -0: status 0, one line per record, the NUL given to the model as a space" \
    sh -c "[ $RC -eq 0 ] && [ \"\$(cat '$T/out')\" = \"\$(printf 'a b\nnext')\" ]"
ok "... a warning names the record" \
    grep -qxF "attn: $T/in:1: NUL bytes in the record (-0 reads NUL-separated records)" "$T/err"

printf 'over\300\257long\nsur\355\240\200rogate\nfine\n' >"$T/in"
run "$ATTN" -m $ECHO "$T/in"
ok "overlong and surrogate UTF-8: status 0, one line per record" \
    sh -c "[ $RC -eq 0 ] && [ \$(wc -l <'$T/out') -eq 3 ]"
ok "... the valid line is untouched" line_is 3 fine
ok "... a warning names each bad record" \
    sh -c "grep -q '$T/in:1: not valid UTF-8' '$T/err' &&
           grep -q '$T/in:2: not valid UTF-8' '$T/err' &&
           [ \$(wc -l <'$T/err') -eq 2 ]"

printf 'one\ntwo' >"$T/in"
run "$ATTN" -m $ECHO "$T/in"
ok "a last line without its newline: answered, with a newline, status 0, no warning" \
    sh -c "[ $RC -eq 0 ] && [ \"\$(cat '$T/out')\" = \"\$(printf 'one\ntwo')\" ] &&
           [ \$(wc -l <'$T/out') -eq 2 ] && [ ! -s '$T/err' ]"

# ---- records that cannot be translated, files that cannot be read ----------------------------

printf '5 6\n5 999\n7\n' >"$T/in"
run "$ATTN" -m tests/data/ref/post_relu_tied.attn --ids -n 3 "$T/in"
ok "an id outside the vocabulary: status 1" status_is 1
ok "... an empty output line for it, the others translated" \
    sh -c "lines=\$(wc -l <'$T/out'); [ \$lines -eq 3 ] && [ -z \"\$(sed -n 2p '$T/out')\" ] &&
           [ -n \"\$(sed -n 1p '$T/out')\" ] && [ -n \"\$(sed -n 3p '$T/out')\" ]"
ok "... one warning naming it" \
    sh -c "[ \$(wc -l <'$T/err') -eq 1 ] && grep -q '^attn: $T/in:2: not a token id' '$T/err'"

printf 'a\n' >"$T/a"
printf 'b\n' >"$T/b"
run "$ATTN" -m $ECHO "$T/a" /nonexistent/file "$T" "$T/b"
ok "unreadable files among others: status 1" status_is 1
ok "... the readable ones are all translated, in order" out_is "$(printf 'a\nb')"
ok "... one warning for each unreadable one" \
    sh -c "grep -q '^attn: /nonexistent/file: No such file' '$T/err' &&
           grep -q '^attn: $T: Is a directory' '$T/err' && [ \$(wc -l <'$T/err') -eq 2 ]"

{ printf 'a\tb\nno tab\na\t'; python3_line x 100; printf '\nd\te\n'; } >"$T/in"
run "$ATTN" score -m $ECHO "$T/in"
ok "score: pairs that cannot be scored print nan, status 1" \
    sh -c "[ $RC -eq 1 ] && [ \"\$(sed -n 2p '$T/out')\" = nan ] &&
           [ \"\$(sed -n 3p '$T/out')\" = nan ]"
ok "score: the others are scored, one line per pair" \
    sh -c "[ \$(wc -l <'$T/out') -eq 4 ] && sed -n 1p '$T/out' | grep -q '^-[0-9]' &&
           sed -n 4p '$T/out' | grep -q '^-[0-9]'"
ok "score: a warning names each" \
    sh -c "grep -q '$T/in:2: no tab' '$T/err' && grep -q '$T/in:3: target has 100 tokens' '$T/err'"
run "$ATTN" score -m $ECHO --json "$T/in"
ok "score --json: null and failed for those pairs" \
    sh -c "sed -n 2p '$T/out' | grep -q '\"logprob\":null,\"mean\":null.*\"failed\":true'"
run "$ATTN" score -m $ECHO --json --mean "$T/in"
ok "score --mean --json: the mean is the sum over the tokens" \
    $PY -c "import json,sys; r=json.loads(open('$T/out').readline());
sys.exit(abs(r['mean'] - r['logprob'] / r['tokens']) > 1e-4 * abs(r['mean']))"

# ---- prompt answers: a coprocess gets each answer before it writes the next line ------------

printf 'first line\nsecond\nthird one\nfourth\n' >"$T/lines"
for args in "--batch 1" "--batch 4" "--batch 32"; do
    run $PY tests/cli/coproc.py "$T/lines" "$ATTN" -m $ECHO $args
    ok "coprocess $args: every answer before the next line" \
        sh -c "[ $RC -eq 0 ] && cmp -s '$T/out' '$T/lines'"
done
printf 'a\tb\nc\td\ne\tf\n' >"$T/pairs"
run $PY tests/cli/coproc.py "$T/pairs" "$ATTN" score -m $ECHO --batch 16
ok "coprocess score --batch 16: every answer before the next line" \
    sh -c "[ $RC -eq 0 ] && [ \$(wc -l <'$T/out') -eq 3 ]"

finish
