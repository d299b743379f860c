#!/bin/sh
# attn run's protected spans (src/spans.h): URLs, numbers, paths, options, placeholders, code...
# reproduced exactly, on by default, off with --no-protect.
#
# The echo model (tests/data/gen/echo.attn) copies its source; a forced --prefix makes it change
# or drop a span in a known way, so each repair (replace, insert, remove a surplus copy) is
# checked exactly. The default model is checked on the hand-marked software messages of the span
# test set (tests/data/spans/software.txt; scripts/model/evaluate_spans.py measures the rest).
. "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/../.." || exit 1
E=tests/data/gen/echo.attn
M=models/en-fr.attn

# each OUTPUT [ATTN-ARGS...]: the first input line of $T/in through attn gives OUTPUT.
each() {
    want=$1
    shift
    run "$ATTN" "$@" "$T/in"
    ok "'$(cat "$T/in")' $* -> '$want'" out_is "$want"
}

# ---- each repair, exactly --------------------------------------------------------------------

echo 'version 3.12 here' >"$T/in"
each 'version 3.11 here' -m $E --prefix 'version 3.11 ' --no-protect
each 'version 3.12 here' -m $E --prefix 'version 3.11 '
each '3.12 3.12 3.12re' -m $E --prefix '3.12 3.12 3.12' --no-protect
each '3.12 3.12re' -m $E --prefix '3.12 3.12 3.12'
echo 'see https://x.org/a now' >"$T/in"
each 'see thetps://x.org/a now' -m $E --prefix 'see the' --no-protect
each 'see https://x.org/a now' -m $E --prefix 'see the'
echo '3.12 and more' >"$T/in"
each 'see thend more' -m $E --prefix 'see the' --no-protect
each '3.12 see thend more' -m $E --prefix 'see the'
# A span the model glued to the next word (-v + twice = -vttwice) is cut back to the span, not
# written a second time beside the glued one.
echo 'pass -v twice' >"$T/in"
each 'pass -vttwice' -m $E --prefix 'pass -vt' --no-protect
each 'pass -v' -m $E --prefix 'pass -vt'

# --json carries the repaired output; --n-best repairs every hypothesis.
echo 'version 3.12 here' >"$T/in"
run "$ATTN" -m $E --prefix 'version 3.11 ' --json "$T/in"
ok "--json: the output is repaired" out_has '"output":"version 3.12 here"'
run "$ATTN" -m $E --prefix 'version 3.11 ' -b 2 --n-best 2 "$T/in"
ok "--n-best 2: two lines, both repaired" [ "$(grep -c 'version 3.12' "$T/out")" -eq 2 ]
ok "--n-best 2: no 3.11 left" [ "$(grep -c '3.11' "$T/out")" -eq 0 ]

# An output cut inside an emoji (-n 2): the emoji is put back whole, once.
printf 'a\360\237\230\200b\n' >"$T/emoji"
run "$ATTN" -m $E -n 2 "$T/emoji"
ok "an emoji the output cut comes back once" [ "$(grep -o '😀' "$T/out" | wc -l)" -eq 1 ]

# Records without spans, empty records, --ids and -0 are left as they are.
printf 'plain words\n\nversion 3.12 here\n' >"$T/in3"
run "$ATTN" -m $E --prefix 'version 3.11 ' "$T/in3"
ok "three records in, three out" [ "$(wc -l <"$T/out")" -eq 3 ]
ok "the record with a span is repaired" [ "$(sed -n 3p "$T/out")" = 'version 3.12 here' ]
ok "the empty record stays empty" [ -z "$(sed -n 2p "$T/out")" ]
printf 'a 1.5 b\0c 2.5\0' >"$T/in0"
run "$ATTN" -m $E -0 "$T/in0"
ok "-0: records with spans come back as they were" cmp -s "$T/out" "$T/in0"
printf '5 6 7\n' >"$T/ids"
run "$ATTN" -m $E --ids -n 4 --no-protect "$T/ids"
cp "$T/out" "$T/ids.out"
run "$ATTN" -m $E --ids -n 4 "$T/ids"
ok "--ids: token ids are not repaired" cmp -s "$T/out" "$T/ids.out"

# ---- the default model on hand-marked software messages --------------------------------------

grep -v '^#' tests/data/spans/software.txt | sed 's/⟦//g; s/⟧//g' >"$T/soft"
run "$ATTN" -m $M "$T/soft"
ok "software messages: status 0" status_is 0
ok "software messages: one line out per line in" [ "$(wc -l <"$T/out")" -eq "$(wc -l <"$T/soft")" ]
# Every hand-marked span occurs in the output as often as in the source (plain substring counts).
bad=$(grep -v '^#' tests/data/spans/software.txt | paste -d '\n' - "$T/out" | awk '
    function count(s, t,   n, i) {
        n = 0
        while ((i = index(s, t)) > 0) { n++; s = substr(s, i + length(t)) }
        return n
    }
    function unmark(s,   i) {
        while ((i = index(s, "⟦")) || (i = index(s, "⟧"))) s = substr(s, 1, i - 1) substr(s, i + 3)
        return s
    }
    NR % 2 { line = $0; next }
    {
        src = unmark(line); n = split(line, parts, "⟦")
        for (k = 2; k <= n; k++) {
            sp = parts[k]; sp = substr(sp, 1, index(sp, "⟧") - 1)
            if (count($0, sp) != count(src, sp)) {
                miss++; print "  missing: " sp " in: " $0 > "/dev/stderr"
            }
        }
    }
    END { print miss + 0 }' 2>"$T/misses")
ok "software messages: every marked span reproduced ($bad missing)" [ "$bad" -eq 0 ]
[ "$bad" -eq 0 ] || cat "$T/misses"

finish
