#!/bin/sh
# The command-line contract that every subcommand follows: help, version, usage errors, stdout.
. "$(dirname "$0")/lib.sh"

run "$ATTN" --help
ok "--help exits 0" status_is 0
ok "--help writes usage to stdout" out_has '^Usage: attn'
ok "--help lists the commands" out_has 'train-tokenizer'
ok "--help writes nothing to stderr" err_empty

run "$ATTN" -h
ok "-h is --help" out_has '^Usage: attn'

run "$ATTN" --version
ok "--version exits 0" status_is 0
ok "--version prints the version" out_has '^attn [0-9][0-9.]*$'

for cmd in run tokenize detokenize train-tokenizer info convert score bench; do
    run "$ATTN" $cmd --help
    ok "$cmd --help exits 0" status_is 0
    ok "$cmd --help prints usage" out_has "^Usage: attn"
    run "$ATTN" $cmd --no-such-option
    ok "$cmd: unknown option exits 2" status_is 2
    ok "$cmd: unknown option is one line on stderr" err_one_line
    ok "$cmd: unknown option writes nothing to stdout" out_empty
done

run sh -c '"$ATTN" --help >/dev/full'
ok "--help to a full disk exits 1" status_is 1
ok "--help to a full disk says so" err_has 'attn: stdout: No space left on device'

# A reader that closes the pipe early ends attn quietly with status 0.
yes 'a line of text to copy' | head -n 50000 >"$T/lines"
run sh -c '("$ATTN" -m tests/data/gen/echo.attn "$1"; echo $? >"$2") | head -c1' sh "$T/lines" "$T/st"
ok "| head -c1: one byte" out_is "a"
ok "| head -c1: attn exits 0" [ "$(cat "$T/st")" = 0 ]
ok "| head -c1: nothing on stderr" err_empty

run "$ATTN" -m /nonexistent/model.attn
ok "missing model exits 1" status_is 1
ok "missing model is one line naming the file" err_one_line
ok "missing model names the file" err_has '/nonexistent/model.attn'

finish
