#!/bin/sh
# attn score: pairs in (tab-separated or two files), one log-probability per pair out, in order;
# agreement with the log-probabilities attn run reports for its own outputs; input hygiene;
# errors.
. "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/../.." || exit 1
ECHO=tests/data/gen/echo.attn
RM=tests/data/ref/pre_gelu_untied.attn

# same_as FILE: stdout equals the bytes of FILE.
same_as() { cmp -s "$T/out" "$1"; }
# num_is VALUE WANT TOL: |VALUE - WANT| <= TOL.
num_is() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= t) }'; }

printf 'hello\thello\nhello\thallo\n' >"$T/pairs"
run "$ATTN" score -m $ECHO "$T/pairs"
ok "score: status 0" status_is 0
ok "score: one line per pair" [ "$(wc -l <"$T/out")" -eq 2 ]
ok "score: stderr empty" err_empty
good=$(sed -n 1p "$T/out")
bad=$(sed -n 2p "$T/out")
ok "score: the echo model prefers its own copy" awk -v g="$good" -v b="$bad" 'BEGIN { exit !(g > b + 5) }'

# Input hygiene: a CR before the newline, white space around either side, a byte order mark and
# control characters do not reach the model: the same scores as the clean pair.
printf 'hello world\thello world\n' >"$T/clean"
"$ATTN" score -m $ECHO "$T/clean" >"$T/clean.out"
printf '\357\273\277 hello world \t  hello world\r\n' >"$T/dirty"
run "$ATTN" score -m $ECHO "$T/dirty"
ok "score: CRLF, padding and a BOM give the clean pair's score" same_as "$T/clean.out"
printf 'hello\001world\thello world\n' >"$T/ctl"
printf 'hello world\thello world\n' | "$ATTN" score -m $ECHO >"$T/ctl.want"
run "$ATTN" score -m $ECHO "$T/ctl"
ok "score: a control character is given to the model as a space" same_as "$T/ctl.want"
printf 'hello world\n' >"$T/src1"
printf 'hello world\r\n' >"$T/tgt1"
run "$ATTN" score -m $ECHO --source "$T/src1" --target "$T/tgt1"
ok "score: two files, CRLF target: the clean pair's score" same_as "$T/clean.out"

# The score of an output equals the score attn run --json gives it (sum of its log-probabilities).
printf 'hello world\n' | "$ATTN" -m $ECHO --json >"$T/json"
want=$(sed 's/.*"score":\([-0-9.e]*\).*/\1/' "$T/json")
run sh -c "printf 'hello world\thello world\n' | '$ATTN' score -m $ECHO"
ok "score equals the generation's own score ($want)" num_is "$(cat "$T/out")" "$want" 1e-5

# On a PyTorch reference model, through ids: score the greedy outputs of attn run.
printf '3 4 5\n10 11\n7\n' >"$T/src"
"$ATTN" -m $RM --ids -n 10 --json "$T/src" >"$T/gen"
"$ATTN" -m $RM --ids -n 10 "$T/src" >"$T/tgt"
run "$ATTN" score -m $RM --ids --source "$T/src" --target "$T/tgt"
ok "two files: one score per line" [ "$(wc -l <"$T/out")" -eq 3 ]
i=1
while [ $i -le 3 ]; do
    # a run that did not end at eos lacks the eos term that score adds: compare token by token
    lps=$(sed -n ${i}p "$T/gen" | sed 's/.*"logprobs":\[\([^]]*\)\].*/\1/')
    run sh -c "sed -n ${i}p '$T/src' >'$T/s1'; sed -n ${i}p '$T/tgt' >'$T/t1'; '$ATTN' score -m $RM --ids --json --source '$T/s1' --target '$T/t1'"
    got=$(sed 's/.*"logprobs":\[\([^]]*\)\].*/\1/' "$T/out")
    ok "per-token log-probabilities of pair $i equal the generator's" \
        awk -v a="$lps" -v b="$got" 'BEGIN { n = split(a, x, ","); m = split(b, y, ",");
            if (m < n) exit 1; for (i = 1; i <= n; i++) { d = x[i] - y[i]; if (d < 0) d = -d;
            if (d > 1e-5) exit 1 } exit 0 }'
    i=$((i + 1))
done
run "$ATTN" score -m $RM --ids --batch 1 --source "$T/src" --target "$T/tgt"
cp "$T/out" "$T/b1"
run "$ATTN" score -m $RM --ids --batch 3 --source "$T/src" --target "$T/tgt"
ok "the batch size does not change the scores" cmp -s "$T/out" "$T/b1"
run "$ATTN" score -m $RM --ids --mean --source "$T/src" --target "$T/tgt"
ok "--mean: one value per pair" [ "$(wc -l <"$T/out")" -eq 3 ]

# Errors.
run sh -c "printf 'no tab here\n' | '$ATTN' score -m $ECHO"
ok "a line without a tab: exit 1 naming the line" err_has '^attn: -:1: no tab'
run sh -c "printf 'a\tb\n' | '$ATTN' score -m $ECHO --source /dev/null"
ok "--source without --target: exit 2" status_is 2
printf '1\n2\n' >"$T/two"
printf '1\n' >"$T/one"
run "$ATTN" score -m $RM --ids --source "$T/two" --target "$T/one"
ok "parallel files of different lengths: exit 1" status_is 1
run sh -c "printf 'a\tb\n' | '$ATTN' score -m /nonexistent.attn"
ok "missing model: exit 1" status_is 1
run sh -c "printf 'a\tb\n' | '$ATTN' score -m $ECHO >/dev/full"
ok "> /dev/full: exit 1" status_is 1

finish
