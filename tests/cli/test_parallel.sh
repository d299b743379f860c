#!/bin/sh
# Large corpora with GNU parallel (issue 14): attn is a filter, so `parallel --pipe --keep-order`
# cuts the input into blocks of whole lines, runs one attn per block and writes the outputs in
# the input's order.  Checks that this is byte-identical to one attn run over a 5,000-line input
# of one- to three-sentence lines and empty lines (tests/cli/corpus.py), with blocks small enough
# that the input makes many of them.  GNU parallel is installed through apt when missing.
#
# Model: tests/data/gen/echo.attn, which copies its source, with -n 4 (fast enough for make
# check; the default model takes minutes for 5,000 lines on a busy 2-core machine). Its 64
# positions cut the three-sentence lines into pieces, so pieces are exercised too.
. "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/../.." || exit 1
ECHO=tests/data/gen/echo.attn

if ! parallel --version 2>/dev/null | grep -q 'GNU parallel' && command -v apt-get >/dev/null; then
    { apt-get install -y -qq parallel ||
        { apt-get update -qq && apt-get install -y -qq parallel; }; } >/dev/null 2>&1
fi
run sh -c "parallel --version | head -n 1"
ok "GNU parallel is installed (apt-get install parallel)" out_has 'GNU parallel'

/usr/bin/python3 tests/cli/corpus.py "$T/in" 5000
"$ATTN" -m $ECHO --batch 32 -n 4 "$T/in" >"$T/one" 2>/dev/null
ok "one attn run: 5000 lines out" [ "$(wc -l <"$T/one")" -eq 5000 ]
run sh -c "parallel --pipe --keep-order --block 20k -j 2 '$ATTN' -m $ECHO --batch 32 -n 4 <'$T/in' \
    2>/dev/null | tee '$T/par' | cmp -s - '$T/one'"
ok "parallel --pipe --keep-order --block 20k: byte-identical to one run" status_is 0
ok "... over more than one block" \
    [ "$(parallel --pipe --keep-order --block 20k wc -l <"$T/in" | wc -l)" -gt 5 ]
finish
