#!/bin/sh
# attn run --markup html|xml (src/markup.h): tags and entities out of the translation and back,
# well-formed output with the same tags, nesting and attributes; broken markup translated as plain
# text with a warning; empty records; one line in, one line out.
#
# tests/data/markup/cases.{html,xml} are written in the form attn writes (attributes in double
# quotes, void and empty elements self-closed), one record per line: through the echo model
# (which copies its source) each must come back byte for byte; through the default model each
# output must parse (xmllint, from libxml2-utils) with the same sequence of tags.
. "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/../.." || exit 1
E=tests/data/gen/echo.attn
M=models/en-fr.attn
D=tests/data/markup

# tags FILE: the tags of FILE, one per line.
tags() { grep -o '<[^>]*>' "$1"; }

for k in html xml; do
    n=$(wc -l <"$D/cases.$k")
    run "$ATTN" -m $E --markup $k "$D/cases.$k"
    ok "$k: echo model: all $n records come back byte for byte" cmp -s "$T/out" "$D/cases.$k"
    ok "$k: echo model: no warning" err_empty

    run "$ATTN" -m $M --markup $k "$D/cases.$k"
    ok "$k: default model: status 0" status_is 0
    ok "$k: default model: $n lines in, $n out" [ "$(wc -l <"$T/out")" -eq "$n" ]
    ok "$k: default model: no warning" err_empty
    cp "$T/out" "$T/out.$k"
    bad=0
    i=1
    while [ $i -le "$n" ]; do
        sed -n "${i}p" "$D/cases.$k" >"$T/src1"
        sed -n "${i}p" "$T/out.$k" >"$T/out1"
        if [ $k = html ]; then
            { printf '<html><body>'; cat "$T/out1"; printf '</body></html>\n'; } >"$T/doc"
            # HTML 4's parser does not know HTML 5's element names (mark): that error aside
            xmllint --html --noout "$T/doc" 2>&1 | grep 'error' |
                grep -v 'error : Tag [a-z0-9]* invalid' >"$T/lint"
        else
            { printf '<r>'; cat "$T/out1"; printf '</r>\n'; } >"$T/doc"
            xmllint --noout "$T/doc" 2>"$T/lint"
        fi
        if [ -s "$T/lint" ] || [ "$(tags "$T/src1")" != "$(tags "$T/out1")" ]; then
            bad=$((bad + 1))
            echo "  $k record $i: $(cat "$T/out1")" >&2
            cat "$T/lint" >&2
        fi
        i=$((i + 1))
    done
    ok "$k: default model: every output parses with the record's tags ($bad of $n do not)" \
        [ "$bad" -eq 0 ]
done

# Entities: decoded for the model, written back as the record wrote them.
printf 'Copyright &copy; 2024 &amp; &lt;b&gt; caf&#233; &agrave; la carte\n' >"$T/in"
run "$ATTN" -m $E --markup html "$T/in"
ok "entities come back as written" \
    out_is 'Copyright &copy; 2024 &amp; &lt;b&gt; caf&#233; &agrave; la carte'
run "$ATTN" -m $E --markup html --json "$T/in"
ok "--json: the output has the entities back" \
    out_has '"output":"Copyright &copy; 2024 &amp; &lt;b&gt; caf&#233; &agrave; la carte"'

# script, style, code and pre: not translated (the echo model would copy them anyway: the
# default model must leave them as they are).
printf '<script>if (a &lt; b) run();</script>The page loads quickly.\n' >"$T/in"
run "$ATTN" -m $M --markup html "$T/in"
ok "script content untouched" out_has '^<script>if (a &lt; b) run();</script>'
printf 'Run <code>make install</code> as root.\n' >"$T/in"
run "$ATTN" -m $M --markup html "$T/in"
ok "code content untouched, once" \
    [ "$(grep -o '<code>make install</code>' "$T/out" | wc -l)" -eq 1 ]

# Broken markup: translated as plain text with a one-line warning naming the record; never dropped.
printf 'fine <b>line</b>\n<b>x</i> broken\nx & y\n' >"$T/in"
run "$ATTN" -m $E --markup html "$T/in"
ok "broken html: status 0" status_is 0
ok "broken html: three lines out" [ "$(wc -l <"$T/out")" -eq 3 ]
ok "broken html: the broken records pass through as text" \
    [ "$(sed -n 2,3p "$T/out")" = "$(printf '<b>x</i> broken\nx & y')" ]
ok "broken html: a warning for record 2" err_has "^attn: .*:2: warning: not well-formed HTML"
ok "broken html: a warning for record 3" err_has "^attn: .*:3: warning: not well-formed HTML"
ok "broken html: no warning for record 1" sh -c "! grep -q ':1: warning' '$T/err'"
printf '<a>x</b>\n<a>fine</a>\n' >"$T/in"
run "$ATTN" -m $E --markup xml "$T/in"
ok "broken xml: passed through, the next record translated" \
    out_is "$(printf '<a>x</b>\n<a>fine</a>')"
ok "broken xml: one warning" [ "$(grep -c 'warning: not well-formed XML' "$T/err")" -eq 1 ]

# Empty records and records of tags only; plain text under --markup.
printf '\n<br/>\n<p></p>\nplain words here\n' >"$T/in"
run "$ATTN" -m $E --markup html "$T/in"
ok "empty and tag-only records: four lines, as they were" cmp -s "$T/out" "$T/in"
printf 'This package provides a library.\n' >"$T/in"
run "$ATTN" -m $M "$T/in"
cp "$T/out" "$T/plain"
run "$ATTN" -m $M --markup xml "$T/in"
ok "plain text under --markup: the same translation" cmp -s "$T/out" "$T/plain"
printf 'a <b>b</b>\0c <i>d</i>\0' >"$T/in0"
run "$ATTN" -m $E --markup html -0 "$T/in0"
ok "-0: NUL-separated records" cmp -s "$T/out" "$T/in0"

# A record longer than the model reads is cut into pieces: their outputs are joined and the tags
# put back once (the echo model gives the record back byte for byte, each word aligned with
# itself across the pieces).
awk 'BEGIN { printf "<p>"; for (i = 0; i < 12; i++)
    printf "%sItem <b>%d</b> is <i>here</i>.", i ? " " : "", i; print "</p>" }' >"$T/long"
run "$ATTN" -m $E --markup html "$T/long"
ok "a record cut into pieces: back byte for byte" cmp -s "$T/out" "$T/long"
ok "a record cut into pieces: the warning says so" err_has "translated in 3 pieces"
run "$ATTN" -m $E --markup html --json "$T/long"
ok "a record cut into pieces, --json: the output whole" \
    out_has "\"output\":\"$(sed 's/"/\\\\"/g' "$T/long")\""
run "$ATTN" -m $E --markup html --align "$T/long"
ok "a record cut into pieces, --align: each of the 48 words aligned with itself" \
    [ "$(sed 's/.* ||| //' "$T/out")" = "$(awk 'BEGIN { for (i = 0; i < 48; i++)
        printf "%s%d-%d", i ? " " : "", i, i }')" ]

# Usage errors.
run "$ATTN" -m $E --markup svg "$T/in"
ok "--markup svg: usage error (status 2)" status_is 2
ok "--markup svg: one line" err_one_line
run "$ATTN" -m $E --markup html --ids "$T/in"
ok "--markup with --ids: usage error (status 2)" status_is 2

finish
