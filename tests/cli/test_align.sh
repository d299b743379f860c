#!/bin/sh
# attn run --align, attn score --align, attn attention: Pharaoh alignments after each output line
# with every decoding mode and record format, one line per record; JSON fields; heatmaps in the
# terminal and as SVG checked by xmllint; bad input.
. "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/../.." || exit 1
M=models/en-fr.attn
RM=tests/data/ref/pre_gelu_untied.attn
PY=/usr/bin/python3

# links_ok FILE: every line is "TEXT ||| LINKS" with LINKS well-formed, source word indices below
# the record's word count (records in $T/in) and output word indices below the output's.
links_ok() {
    awk -F' \\|\\|\\| ' -v src="$T/in" '
        { if ((getline rec < src) <= 0) rec = ""
          if (NF != 2) exit 1
          ns = split(rec, sw, /[ \t]+/); if (rec ~ /^[ \t]/) ns--
          nt = split($1, tw, /[ \t]+/); if ($1 ~ /^[ \t]/) nt--
          n = split($2, l, " ")
          for (i = 1; i <= n; i++) {
              if (l[i] !~ /^[0-9]+-[0-9]+$/) exit 1
              split(l[i], p, "-"); if (p[1] + 0 >= ns || p[2] + 0 >= nt) exit 1 } }' "$1"
}

printf 'The cat is on the table.\n\nCompatible with Python 3.11 and 3.12.\nHello\n' >"$T/in"
"$ATTN" -m $M "$T/in" >"$T/plain"
run "$ATTN" -m $M --align "$T/in"
ok "align: status 0, stderr empty" status_is 0
ok "align: one line per record" [ "$(wc -l <"$T/out")" -eq 4 ]
ok "align: links well-formed and in range" links_ok "$T/out"
ok "align: the text is the output without --align" \
    [ "$(sed 's/ ||| .*//' "$T/out")" = "$(cat "$T/plain")" ]
ok "align: an empty record gives ' ||| '" [ "$(sed -n 2p "$T/out")" = " ||| " ]
ok "align: every output word of the first line is aligned" \
    awk -F' \\|\\|\\| ' 'NR == 1 { n = split($1, w, " "); m = split($2, l, " ");
        for (i = 1; i <= m; i++) { split(l[i], p, "-"); seen[p[2]] = 1 }
        for (j = 0; j < n; j++) if (!(j in seen)) exit 1 }' "$T/out"
ok "align: '3.11' in the source is aligned with '3.11' of the output" \
    awk -F' \\|\\|\\| ' 'NR == 3 { n = split($1, w, " "); m = split($2, l, " ");
        for (i = 1; i <= m; i++) {
            split(l[i], p, "-"); if (p[1] == 3 && w[p[2] + 1] == "3.11") f = 1 }
        exit !f }' "$T/out"

run "$ATTN" -m $M --align=hard --batch 3 "$T/in"
ok "align=hard --batch 3: the same lines" [ "$(cat "$T/out")" = "$("$ATTN" -m $M --align "$T/in")" ]
run "$ATTN" -m $M --align -s --seed 5 "$T/in"
ok "align with sampling: one line per record, links in range" \
    sh -c "[ $(wc -l <"$T/out") -eq 4 ] && [ $RC -eq 0 ]"
ok "align with sampling: links in range" links_ok "$T/out"
run "$ATTN" -m $M --align -b 4 "$T/in"
ok "align with beams: status 0, links in range" links_ok "$T/out"
run "$ATTN" -m $M --align -b 4 --n-best 3 "$T/in"
ok "align with --n-best 3: 3 lines per record, each aligned" \
    sh -c "[ \$(wc -l <'$T/out') -eq 12 ] && [ \$(grep -c ' ||| ' '$T/out') -eq 12 ]"
printf 'The cat is on the table.\0\0Hello\0' >"$T/in0"
run "$ATTN" -m $M --align -0 "$T/in0"
ok "align -0: one NUL-terminated record per input record" \
    [ "$(tr -cd '\0' <"$T/out" | wc -c)" -eq 3 ]
ok "align -0: the empty record is ' ||| '" [ "$(tr '\0' '\n' <"$T/out" | sed -n 2p)" = " ||| " ]
printf 'Good morning.\nThe house is big.\n' >"$T/whole"
run "$ATTN" -m $M --align --whole "$T/whole"
ok "align --whole: one alignment, at the end of the record" \
    sh -c "[ \$(grep -c ' ||| ' '$T/out') -eq 1 ] && tail -n 1 '$T/out' | grep -q ' ||| [0-9]'"
ok "align --whole: the second sentence's links in the record's words (source word 5: big.)" \
    sh -c "tail -n 1 '$T/out' | sed 's/.* ||| //' | tr ' ' '\n' | grep -q '^5-'"
run sh -c "printf 'Good morning. The house is big.\n' | '$ATTN' -m $M --align --no-split"
ok "align --no-split: links of the one source" sh -c "[ $RC -eq 0 ] && grep -q ' ||| 0-' '$T/out'"
printf '' | "$ATTN" -m $M --align >"$T/out" 2>"$T/err"
RC=$?
ok "align with no input: no output" out_empty

# JSON: the alignment field; with soft, one attention row per output token, each summing to 1.
run sh -c "printf 'The cat is on the table.\n\n' | '$ATTN' -m $M --json --align soft"
ok "align soft --json: status 0" status_is 0
ok "align soft --json: fields and rows" $PY -c '
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
a, e = rows
assert a["alignment"] and all("-" in x for x in a["alignment"].split())
for s in a.get("sentences", [a]):
    assert s["alignment"] and len(s["attention"]) == len(s["ids"])
    assert all(len(r) == len(s["source_ids"]) for r in s["attention"])
    assert all(abs(sum(r) - 1) < 2e-3 for r in s["attention"])
assert e["alignment"] == "" and e.get("attention", []) == []
' "$T/out"
run sh -c "printf 'Good morning. The house is big.\n' | '$ATTN' -m $M --json --align"
ok "align --json, split: each sentence's links, and the record's in its words" $PY -c '
import json, sys
r = json.loads(open(sys.argv[1]).read())
first, second = r["sentences"]
n = len(first["source"].split())
want = [int(x.split("-")[0]) + n for x in second["alignment"].split()]
got = [int(x.split("-")[0]) for x in r["alignment"].split()]
assert want == got[-len(want):], (want, got)
' "$T/out"
run sh -c "printf 'The cat.\n' | '$ATTN' -m $M --json --align -b 3 --n-best 2"
ok "align --json --n-best: each hypothesis has its alignment" \
    [ "$(grep -o '"alignment"' "$T/out" | wc -l)" -eq 3 ]

# Token ids: every token is a word.
run sh -c "printf '3 4 5\n' | '$ATTN' -m $RM --ids -n 4 --align"
ok "align --ids: links between token positions" \
    sh -c "[ $RC -eq 0 ] && grep -Eq '^[0-9 ]+ \|\|\| [0-9]+-[0-9]+' '$T/out'"

# Layer and head choices: each gives well-formed links; bad ones are usage errors.
for choice in "--align-layer 1" "--align-layer -1" "--align-layer all" "--align-layer 1,3" \
              "--align-heads 2" "--align-heads 1,4 --align-layer 2"; do
    run "$ATTN" -m $M --align $choice "$T/in"
    ok "align $choice: links in range" links_ok "$T/out"
done
for bad in "--align=both" "--align --align-layer 0" "--align --align-layer 4" \
           "--align --align-layer 1,,2" "--align --align-heads 5" "--align --align-heads x" \
           "--align-layer 1" "--align-heads 1" "--align soft"; do
    run sh -c "echo hi | '$ATTN' -m $M $bad"
    ok "bad: $bad is a usage error (status 2, one line)" \
        sh -c "[ $RC -eq 2 ] && [ \$(wc -l <'$T/err') -eq 1 ] && grep -q '^attn: ' '$T/err'"
done

# attn score --align: forced decoding of a given pair.
printf 'The cat is on the table.\tLe chat est sur la table.\nPython 3.11\tPython 3.11\n' >"$T/pairs"
cut -f1 "$T/pairs" >"$T/in"
run "$ATTN" score -m $M --align "$T/pairs"
ok "score --align: number ||| links" \
    sh -c "[ $RC -eq 0 ] && [ \$(grep -Ec '^-[0-9.]+ \|\|\| [0-9]' '$T/out') -eq 2 ]"
ok "score --align: identical words aligned to themselves" \
    [ "$(sed -n 2p "$T/out" | sed 's/.* ||| //')" = "0-0 1-1" ]
run "$ATTN" score -m $M --align --json "$T/pairs"
ok "score --align --json: alignment field" [ "$(grep -c '"alignment":"0-0' "$T/out")" -eq 2 ]
run "$ATTN" score -m $M --align-heads 1 "$T/pairs"
ok "score --align-heads without --align: usage error" status_is 2

# attn attention: terminal blocks, SVG validated by xmllint, non-ASCII labels, refusals.
run "$ATTN" attention -m $M --width 100 "The needle has a sharp point."
ok "attention: 24-bit colour blocks" \
    sh -c "[ $RC -eq 0 ] && grep -q \"\$(printf '\033')\[48;2;\" '$T/out'"
ok "attention: the legend names the source words" out_has "5 point."
run "$ATTN" attention -m $M --encoder --each --svg "$T/a.svg" "The needle has a sharp point."
ok "attention --svg: status 0" status_is 0
ok "attention --svg: valid XML (xmllint)" xmllint --noout "$T/a.svg"
ok "attention --encoder --each: combined + 12 panels" \
    [ "$(grep -c '<g transform' "$T/a.svg")" -eq 13 ]
ok "attention --encoder: 6 x 6 cells per panel" \
    [ "$(grep -c '<rect x=.*<title>' "$T/a.svg")" -eq $((13 * 36)) ]
printf 'Le caf\303\251 co\303\273te 3 \342\202\254 <b>&amp; "x"\n' >"$T/utf8"
run sh -c "'$ATTN' attention -m $M --svg - <'$T/utf8' >'$T/u.svg'"
ok "attention: non-ASCII and markup in labels: valid XML" xmllint --noout "$T/u.svg"
ok "attention: UTF-8 labels kept" grep -q 'caf\xc3\xa9\|café' "$T/u.svg"
ok "attention: markup escaped" grep -q '&lt;b&gt;&amp;amp;' "$T/u.svg"
printf 'bad \377\376 bytes here\n' >"$T/bad"
run sh -c "'$ATTN' attention -m $M --svg - <'$T/bad' >'$T/b.svg'"
ok "attention: invalid UTF-8 becomes U+FFFD, still valid XML" xmllint --noout "$T/b.svg"
awk 'BEGIN { for (i = 0; i < 300; i++) printf "word%d ", i; print "" }' >"$T/long"
run sh -c "'$ATTN' attention -m $M --svg '$T/l.svg' <'$T/long'"
ok "attention: a 300-word text is refused with one line" \
    sh -c "[ $RC -eq 1 ] && [ \$(wc -l <'$T/err') -eq 1 ] && grep -q 'at most 256' '$T/err'"
awk 'BEGIN { for (i = 0; i < 60; i++) printf "cat "; print "" }' >"$T/wide"
run sh -c "'$ATTN' attention -m $M --width 80 <'$T/wide'"
ok "attention: too wide for the terminal: refused, --svg suggested" \
    sh -c "[ $RC -eq 1 ] && grep -q 'use --svg' '$T/err' && [ ! -s '$T/out' ]"
run sh -c "printf '\n' | '$ATTN' attention -m $M"
ok "attention: empty text refused" sh -c "[ $RC -eq 1 ] && grep -q 'empty' '$T/err'"
run "$ATTN" attention -m $M --layer 7 "Hello"
ok "attention: bad --layer is a usage error" status_is 2
run "$ATTN" attention -m $M --svg /nonexistent/dir/x.svg "Hello"
ok "attention: unwritable --svg file: status 1" \
    sh -c "[ $RC -eq 1 ] && grep -q '/nonexistent' '$T/err'"
# The words of the output as written: a protected span the model dropped and the repair put in
# (src/spans.h) is a word of the output line, linked with the source's copy.  The record's "60"
# (source word 13) is missing from the model's output (checked first; when the shipped model
# changes, evaluate_model.py's attn-bare output shows lines to take such a case from).
printf 'The problem of parsing structured text has resisted %s\n' \
    'one-size-fits all solutions for over 60 years.' >"$T/in"
run "$ATTN" -m $M --no-protect "$T/in"
ok "spans: the model drops the 60 (the case this test needs)" sh -c "! grep -q 60 '$T/out'"
run "$ATTN" -m $M --align "$T/in"
ok "spans: links in range of the repaired output line" links_ok "$T/out"
ok "spans: the 60 put in is linked with the source's 60" \
    awk -F' \\|\\|\\| ' '{ n = split($1, w, " "); m = split($2, l, " ");
        for (i = 1; i <= m; i++) {
            split(l[i], p, "-"); if (p[1] == 13 && w[p[2] + 1] == "60") f = 1 }
        exit !f }' "$T/out"

# SentencePiece models: words are the record's and the output's whitespace-separated words,
# pieces joined.  The echo models copy their source, each output token looking at its own
# source position (scripts/goldens/echo_model.py), so each output word is its source word: over
# bpe-en-320-bytefb (identity normalization; byte pieces, e.g. <0x48>ello for Hello) the
# alignment is i-i for every word; over uni-en-1k-rules, whose normalization maps U+3000 to a
# space and deletes U+200B (tests/data/spm/README.md), a record word holding U+3000 becomes two
# output words and a word of U+200B alone none.
printf 'Hello world, this is a test of subwords.\n' >"$T/in"
printf 'The quick brown fox jumps over 3.12 lazy dogs.\n' >>"$T/in"
printf '  Extra   spaces,  here  \nna\303\257ve caf\303\251 \360\237\230\200 ok\n' >>"$T/in"
run "$ATTN" -m tests/data/spm/spm-echo.attn --align "$T/in"
ok "spm echo: status 0, quiet" sh -c "[ $RC -eq 0 ] && [ ! -s '$T/err' ]"
ok "spm echo: links in range" links_ok "$T/out"
ok "spm echo: each word aligned with itself, and only with itself" \
    awk -F' \\|\\|\\| ' -v src="$T/in" '{ getline rec < src; n = split(rec, w, /[ \t]+/)
        want = ""; k = 0
        for (i = 1; i <= n; i++) if (w[i] != "") { want = want (k ? " " : "") k "-" k; k++ }
        if ($2 != want) { print NR ": " $2 " want " want; exit 1 } }' "$T/out"
$PY -m scripts.goldens.echo_model "$T/rules-echo.attn" tests/data/spm/uni-en-1k-rules.model.gz \
    >/dev/null 2>&1
printf 'The full\343\200\200width space.\na \342\200\213 b\nABout caf\303\251 stra\303\237e ok\n' \
    >"$T/in"
run "$ATTN" -m "$T/rules-echo.attn" --align "$T/in"
ok "spm normalized: the output as the model writes it" [ "$(sed 's/ ||| .*//' "$T/out")" = \
    "$(printf 'The full width space.\na b\nxout cafe strasse ok')" ]
ok "spm normalized: U+3000 inside a word: its two output words" \
    [ "$(sed -n '1s/.* ||| //p' "$T/out")" = "0-0 1-1 1-2 2-3" ]
ok "spm normalized: a word of U+200B alone has no output word" \
    [ "$(sed -n '2s/.* ||| //p' "$T/out")" = "0-0 2-1" ]
ok "spm normalized: words changed by the rules keep their place" \
    [ "$(sed -n '3s/.* ||| //p' "$T/out")" = "0-0 1-1 2-2 3-3" ]
printf 'The full\343\200\200width space.\tThe full\343\200\200width space.\n' >"$T/pair"
run "$ATTN" score -m "$T/rules-echo.attn" --align "$T/pair"
ok "spm normalized, score: the target's words are the given target's" \
    [ "$(sed 's/.* ||| //' "$T/out")" = "0-0 1-1 2-2" ]
run "$ATTN" -m "$T/rules-echo.attn" --align --json "$T/in"
ok "spm normalized --json: the same links" \
    [ "$(grep -o '"alignment":"[^"]*"' "$T/out" | head -1)" = '"alignment":"0-0 1-1 1-2 2-3"' ]

finish
