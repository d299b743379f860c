#!/bin/sh
# Hugging Face SentencePiece families from text: the Marian, T5 (v1.0, v1.1) and mBART fixture
# models converted with the tokenizers of tests/data/hf_spm (scripts/goldens/hf_text_fixtures.py
# trains them with spm_train and computes the goldens from spm_encode and the family rules).
#  1. text -> the source ids the model gets (attn tokenize --source) equal the goldens, without
#     and with --special;
#  2. text -> text through attn run equals attn detokenize of attn run --ids on those ids (whose
#     generation tests/test_hf.c checks against transformers), special tokens hidden or shown;
#  3. the decoded text's fix-ups (the strip, the clean-up) as transformers makes them, and none
#     for byte-level BPE models;
#  4. mBART's --src-lang / --tgt-lang, and the errors.
. "$(dirname "$0")/lib.sh"
if ! /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
    echo "test_hf_text.sh: SKIPPED: needs /usr/bin/python3 with numpy" \
         "(scripts/setup/install-deps.sh installs it)"
    exit 0
fi
D=tests/data/hf_spm
IN=$D/input.txt
differ() { ! cmp -s "$1" "$2"; }
/usr/bin/python3 scripts/goldens/hf_text_fixtures.py folders "$T/hf" || exit 1
for m in marian t5_v1_0 t5_v1_1 mbart; do
    run env PYTHONPATH=. /usr/bin/python3 -m scripts.convert.hf_model "$T/hf/$m" -o "$T/$m.attn"
    ok "$m: converts" status_is 0
    ok "$m: the tokenizer is embedded" err_has "tokenizer embedded"
done

# the lines attn run gives to the model as they are: no tabs, no white space at either end
grep -v "$(printf '\t')" $IN | grep -v '^ ' | grep -v ' $' >"$T/run.in"
ok "test 2 has lines" [ "$(wc -l <"$T/run.in")" -ge 30 ]

# special_ids MODEL: the ids the target tokenizer of MODEL treats as special (s, a, l entries and
# unused ids, which decode as the unknown token), one per line
special_ids() {
    PYTHONPATH=. /usr/bin/python3 -c '
import sys
from scripts.lib import attnfile
meta, _ = attnfile.read(sys.argv[1])
m = attnfile.read_spm_map(meta.get("tokenizer.target", meta["tokenizer"]))
for i, (kind, _, _) in enumerate(m["entries"]):
    if kind in "-sal":
        print(i)' "$1"
}

for pair in marian:marian t5_v1_0:t5 t5_v1_1:t5 mbart:mbart; do
    m=${pair%%:*}
    g=${pair#*:}
    M="$T/$m.attn"
    run "$ATTN" tokenize --source -t "$M" $IN
    ok "$m: source ids equal the family rules' (spm_encode + README rules)" \
        cmp -s "$T/out" $D/$g.ids
    ok "$m: tokenize --source is quiet" err_empty
    run "$ATTN" tokenize --source --special -t "$M" $IN
    ok "$m: --special: source ids equal the rules' with control tokens" \
        cmp -s "$T/out" $D/$g.special.ids

    # test 2, special tokens hidden (the default) and shown (--special)
    special_ids "$M" >"$T/special"
    ok "$m: the special ids are listed" [ -s "$T/special" ]
    "$ATTN" tokenize --source -t "$M" "$T/run.in" >"$T/src.ids"
    run "$ATTN" -m "$M" --ids -n 12 "$T/src.ids"
    awk 'NR == FNR { sp[$1] = 1; next }
         { s = ""; for (i = 1; i <= NF; i++) if (!($i in sp)) s = s (s == "" ? "" : " ") $i
           print s }' \
        "$T/special" "$T/out" >"$T/out.ids"
    "$ATTN" detokenize -t "$M" "$T/out.ids" >"$T/want.txt"
    run "$ATTN" -m "$M" -n 12 --no-protect "$T/run.in"
    ok "$m: text -> text equals detokenize of the --ids output" cmp -s "$T/out" "$T/want.txt"
    ok "$m: attn run is quiet" err_empty
    "$ATTN" tokenize --source --special -t "$M" "$T/run.in" >"$T/src.ids"
    "$ATTN" -m "$M" --ids -n 12 "$T/src.ids" >"$T/out.ids"
    "$ATTN" detokenize -t "$M" "$T/out.ids" >"$T/want.txt"
    run "$ATTN" -m "$M" -n 12 --no-protect --special "$T/run.in"
    ok "$m: --special: text -> text equals detokenize of the --ids output" \
        cmp -s "$T/out" "$T/want.txt"
done

# transformers' fix-ups of decoded text, which the converter asks for: the strip() that ends
# convert_tokens_to_string (detok.strip_spaces), then clean_up_tokenization_spaces
# (detok.cleanup_spaces). attn detokenize of chosen ids equals spm_decode's text after them, both
# computed by scripts/goldens/hf_text_fixtures.py; with a key 0 that fix-up is not made
set_keys() {    # set_keys IN OUT KEY=VALUE...: IN with those metadata keys
    PYTHONPATH=. /usr/bin/python3 -c '
import sys
from scripts.lib import attnfile
meta, tensors = attnfile.read(sys.argv[1])
for kv in sys.argv[3:]:
    k, v = kv.split("=", 1)
    meta[k] = int(v) if v.isdigit() else v
attnfile.write(sys.argv[2], meta, tensors)' "$@"
}
fix_up() {      # fix_up [strip] [clean]: the fix-ups, in transformers order, on each line of stdin
    PYTHONPATH=. /usr/bin/python3 -c '
import sys
sys.path.insert(0, "scripts/goldens")
from hf_text_fixtures import clean_up
for line in sys.stdin.buffer.read().decode("utf-8", "surrogateescape").split("\n")[:-1]:
    if "strip" in sys.argv[1:]:
        line = line.strip()
    if "clean" in sys.argv[1:]:
        line = clean_up(line)
    sys.stdout.buffer.write((line + "\n").encode("utf-8", "surrogateescape"))' "$@"
}
json_outputs() {    # the "output" of each JSON line of file $1
    /usr/bin/python3 -c 'import json, sys
for l in open(sys.argv[1], encoding="utf-8"):
    print(json.loads(l)["output"])' "$1"
}
meta_key() {    # meta_key FILE KEY: the metadata value (None when absent)
    PYTHONPATH=. /usr/bin/python3 -c 'import sys
from scripts.lib import attnfile
print(attnfile.read(sys.argv[1])[0].get(sys.argv[2]))' "$1" "$2"
}
links() {       # the alignments of attn run --align output $1, one line each
    sed 's/.* ||| //' "$1"
}
ok "the clean-up goldens differ from spm_decode's text" differ $D/cleanup.t5.raw $D/cleanup.t5.txt
for g in marian t5 mbart; do
    ok "$g: the strip goldens differ from spm_decode's text" differ $D/cleanup.$g.raw \
        $D/cleanup.$g.strip
done
r() {   # r MODEL: attn run of MODEL on run.in with $opts and --prefix $pfx when set
    "$ATTN" -m "$1" $opts ${pfx:+--prefix "$pfx"} "$T/run.in"
}
changed=0
stripped=0
aligned=0
for pair in marian:marian t5_v1_0:t5 t5_v1_1:t5 mbart:mbart; do
    m=${pair%%:*}
    g=${pair#*:}
    M="$T/$m.attn"
    ok "$m: the converter turns the clean-up on" [ "$(meta_key "$M" detok.cleanup_spaces)" = 1 ]
    ok "$m: the converter turns the strip on" [ "$(meta_key "$M" detok.strip_spaces)" = 1 ]
    run "$ATTN" detokenize -t "$M" $D/cleanup.$g.ids
    ok "$m: detokenize strips and cleans up as transformers' decode does" \
        cmp -s "$T/out" $D/cleanup.$g.txt
    set_keys "$M" "$T/$m.raw.attn" detok.cleanup_spaces=0 detok.strip_spaces=0
    run "$ATTN" detokenize -t "$T/$m.raw.attn" $D/cleanup.$g.ids
    ok "$m: both keys 0: spm_decode's text" cmp -s "$T/out" $D/cleanup.$g.raw
    set_keys "$M" "$T/$m.strip.attn" detok.cleanup_spaces=0
    run "$ATTN" detokenize -t "$T/$m.strip.attn" $D/cleanup.$g.ids
    ok "$m: detok.cleanup_spaces 0: spm_decode's text, stripped" \
        cmp -s "$T/out" $D/cleanup.$g.strip
    set_keys "$M" "$T/$m.clean.attn" detok.strip_spaces=0
    run "$ATTN" detokenize -t "$T/$m.clean.attn" $D/cleanup.$g.ids
    fix_up clean <$D/cleanup.$g.raw >"$T/want.txt"
    ok "$m: detok.strip_spaces 0: spm_decode's text, cleaned up" cmp -s "$T/out" "$T/want.txt"
    # attn run: each output is the text without the fix-ups, stripped and cleaned up (plain,
    # --n-best, --json); the outputs of the random fixture weights seldom end in white space, so
    # they are also forced to start with "x 字" (pieces ▁ x ▁ <unk>: "x " as decoded)
    for pfx in "" "x 字"; do
        for opts in "-n 20" "-n 20 -b 2 --n-best 2" "-n 20 --json"; do
            [ -n "$pfx" ] && opts="-n 6${opts#-n 20}"
            opts="$opts --no-protect"
            what="$m $opts${pfx:+ --prefix '$pfx'}"
            r "$T/$m.raw.attn" >"$T/raw.txt"
            r "$T/$m.strip.attn" >"$T/strip.txt"
            run r "$M"
            ok "$what: quiet" err_empty
            if [ "${opts#*--json}" != "$opts" ]; then
                for f in raw strip; do
                    json_outputs "$T/$f.txt" >"$T/$f.json.txt"
                    mv "$T/$f.json.txt" "$T/$f.txt"
                done
                json_outputs "$T/out" >"$T/got.txt"
            else
                cp "$T/out" "$T/got.txt"
            fi
            fix_up strip clean <"$T/raw.txt" >"$T/want.txt"
            ok "$what: the outputs are stripped and cleaned up" cmp -s "$T/got.txt" "$T/want.txt"
            fix_up strip <"$T/raw.txt" >"$T/want.txt"
            ok "$what: detok.cleanup_spaces 0: the outputs are stripped" \
                cmp -s "$T/strip.txt" "$T/want.txt"
            cmp -s "$T/strip.txt" "$T/got.txt" || changed=$((changed + 1))
            cmp -s "$T/raw.txt" "$T/strip.txt" || stripped=$((stripped + 1))
        done
    done
    # --align: the output as written, and output word indices within its words; the strip
    # takes off no word, so the links are those of the text without it
    run "$ATTN" -m "$M" -n 20 --no-protect --align "$T/run.in"
    "$ATTN" -m "$M" -n 20 --no-protect "$T/run.in" >"$T/want.txt"
    sed 's/ ||| .*//' "$T/out" >"$T/text.txt"
    ok "$m --align: the output text is the fixed-up one" cmp -s "$T/text.txt" "$T/want.txt"
    ok "$m --align: output words are those written" [ "$(awk -F ' \\|\\|\\| ' '{
        n = split($1, w, /[ \t]+/); m = 0; for (i = 1; i <= n; i++) m += w[i] != ""
        k = split($2, l, " "); for (i = 1; i <= k; i++) { split(l[i], p, "-"); if (p[2] >= m) bad++ }
    } END { print bad + 0 }' "$T/out")" = 0 ]
    for pfx in "" "x 字"; do
        opts="-n 20 --no-protect --align"
        [ -n "$pfx" ] && opts="-n 6 --no-protect --align"
        what="$m $opts${pfx:+ --prefix '$pfx'}"
        r "$T/$m.raw.attn" >"$T/raw.txt"
        links "$T/raw.txt" >"$T/want.txt"
        run r "$T/$m.strip.attn"
        links "$T/out" >"$T/got.txt"
        ok "$what: the strip changes no link" cmp -s "$T/got.txt" "$T/want.txt"
        sed 's/ ||| .*//' "$T/raw.txt" >"$T/raw.text.txt"
        fix_up strip <"$T/raw.text.txt" >"$T/want.txt"
        sed 's/ ||| .*//' "$T/out" >"$T/text.txt"
        ok "$what: detok.cleanup_spaces 0: the output text is stripped" \
            cmp -s "$T/text.txt" "$T/want.txt"
        cmp -s "$T/text.txt" "$T/raw.text.txt" || aligned=$((aligned + 1))
    done
done
ok "some outputs of attn run change with the clean-up" [ "$changed" -gt 0 ]
ok "some outputs of attn run change with the strip" [ "$stripped" -gt 0 ]
ok "some outputs of attn run --align change with the strip" [ "$aligned" -gt 0 ]
set_keys "$T/t5_v1_1.attn" "$T/bad-clean.attn" detok.cleanup_spaces=yes
run "$ATTN" detokenize -t "$T/bad-clean.attn" $D/cleanup.t5.ids
ok "a detok.cleanup_spaces that is no number: exit 1" status_is 1
ok "a detok.cleanup_spaces that is no number: says so" err_has "detok.cleanup_spaces: not an integer"
run "$ATTN" -m "$T/bad-clean.attn" "$T/run.in"
ok "attn run: a detok.cleanup_spaces that is no number: exit 1" status_is 1
ok "attn run: says so" err_has "detok.cleanup_spaces: not an integer"
set_keys "$T/t5_v1_1.attn" "$T/bad-strip.attn" detok.strip_spaces=yes
run "$ATTN" detokenize -t "$T/bad-strip.attn" $D/cleanup.t5.ids
ok "a detok.strip_spaces that is no number: exit 1" status_is 1
ok "a detok.strip_spaces that is no number: one line saying so" err_one_line
ok "a detok.strip_spaces that is no number: says what" \
    err_has "metadata detok.strip_spaces: not an integer"
run "$ATTN" -m "$T/bad-strip.attn" "$T/run.in"
ok "attn run: a detok.strip_spaces that is no number: exit 1" status_is 1
ok "attn run: says so" err_has "detok.strip_spaces: not an integer"
ok "attn run: no output" out_empty
cp -r "$T/hf/t5_v1_1" "$T/noclean"
printf '{"clean_up_tokenization_spaces": false}\n' >"$T/noclean/tokenizer_config.json"
run env PYTHONPATH=. /usr/bin/python3 -m scripts.convert.hf_model "$T/noclean" -o "$T/noclean.attn"
ok "clean_up_tokenization_spaces false converts" status_is 0
run "$ATTN" detokenize -t "$T/noclean.attn" $D/cleanup.t5.ids
ok "clean_up_tokenization_spaces false: no clean-up, the strip still" \
    cmp -s "$T/out" $D/cleanup.t5.strip
printf '{"clean_up_tokenization_spaces": "no"}\n' >"$T/noclean/tokenizer_config.json"
run env PYTHONPATH=. /usr/bin/python3 -m scripts.convert.hf_model "$T/noclean" -o "$T/noclean.attn"
ok "a clean_up_tokenization_spaces that is no boolean is refused" status_is 1
ok "... by name" err_has "clean_up_tokenization_spaces"

# tokens the SentencePiece model does not know come out as their text, U+2581 kept, as
# spm_decode writes them (transformers 4.30 hands them to the model's decode): Marian's vocab.json
# pieces that target.spm lacks; T5's ids past the sentinels, which T5Tokenizer names
# <extra_id_-1>, <extra_id_-2>, ... (t5_pad: extra_ids 90, ids 502-511), no special tokens
run env PYTHONPATH=. /usr/bin/python3 -m scripts.convert.hf_model "$T/hf/t5_pad" -o "$T/t5_pad.attn"
ok "t5 with extra_ids 90: converts" status_is 0
ok "t5 with extra_ids 90: 90 sentinels" err_has "412 pieces, 90 sentinels"
set_keys "$T/t5_pad.attn" "$T/t5_pad.raw.attn" detok.cleanup_spaces=0 detok.strip_spaces=0
ok "the Marian decode goldens hold U+2581" grep -q "$(printf '\342\226\201')" $D/decode.marian.raw
ok "the T5 decode goldens hold <extra_id_-10>" grep -q "<extra_id_-10>" $D/decode.t5.raw
special_ids "$T/t5_pad.attn" >"$T/special"
ok "t5 with extra_ids 90: the special ids are 0-2 and the sentinels 412-501" \
    [ "$(tr '\n' ' ' <"$T/special")" = "0 1 2 $(seq -s ' ' 412 501) " ]
for pair in marian:marian t5_pad:t5; do
    m=${pair%%:*}
    g=${pair#*:}
    special_ids "$T/$m.attn" >"$T/special"
    awk 'NR == FNR { sp[$1] = 1; next }     # leave out the special tokens, as attn run does
         { s = ""; for (i = 1; i <= NF; i++) if (!($i in sp)) s = s (s == "" ? "" : " ") $i
           print s }' "$T/special" $D/decode.$g.ids >"$T/decode.ids"
    run "$ATTN" detokenize -t "$T/$m.raw.attn" "$T/decode.ids"
    ok "$m: unknown tokens decode as spm_decode writes them" cmp -s "$T/out" $D/decode.$g.raw
    run "$ATTN" detokenize -t "$T/$m.attn" "$T/decode.ids"
    ok "$m: ... stripped and cleaned up" cmp -s "$T/out" $D/decode.$g.txt
done
printf '<extra_id_-1> <extra_id_89> <extra_id_90>\n' >"$T/pad.txt"
run "$ATTN" tokenize -t "$T/t5_pad.attn" "$T/pad.txt"
ok "t5: <extra_id_-1> and <extra_id_90> in text are pieces, <extra_id_89> is 412" \
    [ "$(tr ' ' '\n' <"$T/out" | awk '$1 >= 412')" = 412 ]

# a byte-level BPE model (BART, whose tokenizer does not strip, and attn's own) has no
# detok.strip_spaces and keeps the white space at the ends of its text: the BART fixture with
# the byte-level tokenizer of tests/data/hf/bart_tok gives back the texts whose ids
# gpt-3-encoder computed (leading spaces, trailing tabs and spaces)
mkdir "$T/hf/bart"
cp tests/data/hf/bart/config.json tests/data/hf/bart/generation_config.json \
    tests/data/hf/bart/model.safetensors tests/data/hf/bart_tok/vocab.json \
    tests/data/hf/bart_tok/merges.txt tests/data/hf/bart_tok/special_tokens_map.json "$T/hf/bart"
run env PYTHONPATH=. /usr/bin/python3 -m scripts.convert.hf_model "$T/hf/bart" -o "$T/bart.attn"
ok "bart: converts with its tokenizer" err_has "byte-level BPE tokenizer embedded"
ok "bart: no detok.strip_spaces" [ "$(meta_key "$T/bart.attn" detok.strip_spaces)" = None ]
ok "the BART texts have white space at their ends" \
    grep -q "^ .*[[:space:]]$" tests/data/hf/bart_tok/texts.txt
awk '{ $1 = $NF = ""; sub(/^ /, ""); sub(/ $/, ""); print }' tests/data/hf/bart_tok/ids.txt \
    >"$T/bart.ids"      # without <s> and </s>, which detokenize writes
run "$ATTN" detokenize -t "$T/bart.attn" "$T/bart.ids"
ok "bart: detokenize keeps the white space at the ends" \
    cmp -s "$T/out" tests/data/hf/bart_tok/texts.txt
# BartTokenizer.decode cleans up too (clean_up_tokenization_spaces defaults to true for every
# tokenizer in 4.30): the clean-up texts, as ids of the BART tokenizer, decode cleaned up
ok "bart: the converter turns the clean-up on" [ "$(meta_key "$T/bart.attn" detok.cleanup_spaces)" = 1 ]
/usr/bin/python3 -c 'import sys
sys.path.insert(0, "scripts/goldens")
from hf_text_fixtures import CLEANUP_TEXT
print("\n".join(CLEANUP_TEXT + [" It '"'"'s here , \t"]))' >"$T/bart.clean.in"
"$ATTN" tokenize -t "$T/bart.attn" "$T/bart.clean.in" >"$T/bart.clean.ids"
set_keys "$T/bart.attn" "$T/bart.raw.attn" detok.cleanup_spaces=0
run "$ATTN" detokenize -t "$T/bart.raw.attn" "$T/bart.clean.ids"
ok "bart: detok.cleanup_spaces 0: the ids give back the texts" cmp -s "$T/out" "$T/bart.clean.in"
run "$ATTN" detokenize -t "$T/bart.attn" "$T/bart.clean.ids"
fix_up clean <"$T/bart.clean.in" >"$T/want.txt"
ok "bart: the clean-up changes the texts" differ "$T/want.txt" "$T/bart.clean.in"
ok "bart: detokenize cleans up, keeping the white space at the ends" cmp -s "$T/out" "$T/want.txt"
for pfx in "" "I do n't know , it 's x"; do     # the fixture's outputs hold nothing to clean
    "$ATTN" -m "$T/bart.raw.attn" -n 16 --no-protect ${pfx:+--prefix "$pfx"} "$T/run.in" \
        >"$T/raw.txt"
    run "$ATTN" -m "$T/bart.attn" -n 16 --no-protect ${pfx:+--prefix "$pfx"} "$T/run.in"
    fix_up clean <"$T/raw.txt" >"$T/want.txt"
    ok "bart${pfx:+ --prefix '$pfx'}: attn run's outputs are cleaned up" \
        cmp -s "$T/out" "$T/want.txt"
done
ok "bart: ... which changes them" differ "$T/want.txt" "$T/raw.txt"
ok "bart: attn run is quiet" err_empty
mkdir "$T/bart-noclean"
cp "$T"/hf/bart/* "$T/bart-noclean"
printf '{"clean_up_tokenization_spaces": false}\n' >"$T/bart-noclean/tokenizer_config.json"
run env PYTHONPATH=. /usr/bin/python3 -m scripts.convert.hf_model "$T/bart-noclean" \
    -o "$T/bart-noclean.attn"
ok "bart: clean_up_tokenization_spaces false: detok.cleanup_spaces 0" \
    [ "$(meta_key "$T/bart-noclean.attn" detok.cleanup_spaces)" = 0 ]
ok "attn's own model: no detok.strip_spaces" \
    [ "$(meta_key models/en-fr.attn detok.strip_spaces)" = None ]
printf '  Hello world \t\n' >"$T/spaced.txt"
"$ATTN" tokenize -t models/en-fr.attn "$T/spaced.txt" >"$T/spaced.ids"
run "$ATTN" detokenize -t models/en-fr.attn "$T/spaced.ids"
ok "attn's own model: detokenize keeps the white space at the ends" cmp -s "$T/out" "$T/spaced.txt"

# the fixtures' outputs are not empty everywhere (random weights write nonsense, but text)
run "$ATTN" -m "$T/t5_v1_1.attn" -n 12 --no-protect "$T/run.in"
ok "T5 v1.1 writes some text" [ -n "$(tr -d ' \n' <"$T/out")" ]
run "$ATTN" -m "$T/marian.attn" -n 12 --no-protect "$T/run.in"
ok "Marian writes some text" [ -n "$(tr -d ' \n' <"$T/out")" ]

# outputs written whole (a protected span to repair, --json) are decoded text too, not pieces;
# special tokens found in the text (T5's sentinels) are no spans to repeat
printf 'Version 3.11 of the program is here.\n' >"$T/span.txt"
for m in marian t5_v1_1; do
    run "$ATTN" -m "$T/$m.attn" -n 12 -v "$T/span.txt"
    ok "$m: the number is a protected span" err_has "protected spans: 1,"
    ok "$m: a repaired output holds no U+2581" [ "$(grep -c "$(printf '\342\226\201')" "$T/out")" = 0 ]
    run "$ATTN" -m "$T/$m.attn" -n 12 --json --no-protect "$T/span.txt"
    ok "$m: --json text holds no U+2581" [ "$(grep -c "$(printf '\342\226\201')" "$T/out")" = 0 ]
done
# a repaired output is repaired from the stripped text (the text the model's pieces decode to
# here ends in a space, and the span is put before it)
for m in marian mbart; do
    run "$ATTN" -m "$T/$m.raw.attn" -n 6 --prefix "x 字" "$T/span.txt"
    ok "$m.raw: the repaired output ends in white space" grep -q '[[:space:]]$' "$T/out"
    run "$ATTN" -m "$T/$m.attn" -n 6 --prefix "x 字" -v "$T/span.txt"
    ok "$m: a span is repaired" err_has "protected spans: 1,"
    ok "$m: the repaired output is stripped" \
        [ "$(grep -c '^[[:space:]]\|[[:space:]]$' "$T/out")" = 0 ]
done
printf 'The <extra_id_0> sat on the <extra_id_1>.\n' >"$T/sentinel.txt"
run "$ATTN" -m "$T/t5_v1_1.attn" -n 12 -v "$T/sentinel.txt"
ok "T5 sentinels in the text are not protected spans" err_has "protected spans: 0,"

# attn score: sources with the source tokenizer, targets with the target one (Marian's target.spm)
printf 'Hello world\tHallo Welt, größer\n' >"$T/pair.txt"
run "$ATTN" score -m "$T/marian.attn" "$T/pair.txt"
ok "marian: score runs from text" status_is 0
ok "marian: score prints a log-probability" out_has '^-[0-9]'

# mBART: the source language after </s>; --src-lang chooses another; --tgt-lang the start token
printf 'Hello world\n' >"$T/one.txt"
run "$ATTN" tokenize --source -t "$T/mbart.attn" "$T/one.txt"
en=$(awk '{ print $NF }' "$T/out")
run "$ATTN" tokenize --source --src-lang de_DE -t "$T/mbart.attn" "$T/one.txt"
de=$(awk '{ print $NF }' "$T/out")
ok "mbart: en_XX (489) ends the source by default" [ "$en" = 489 ]
ok "mbart: --src-lang de_DE (488) ends it instead" [ "$de" = 488 ]
ok "mbart: --src-lang changes nothing else" \
    [ "$(awk '{ NF--; print }' "$T/out")" = "$("$ATTN" tokenize --source -t "$T/mbart.attn" \
        "$T/one.txt" | awk '{ NF--; print }')" ]
"$ATTN" tokenize --source -t "$T/mbart.attn" "$T/run.in" >"$T/src.ids"
"$ATTN" -m "$T/mbart.attn" --ids -n 6 "$T/src.ids" >"$T/ro.ids"
run "$ATTN" -m "$T/mbart.attn" --ids -n 6 --tgt-lang ro_RO "$T/src.ids"
ok "mbart: --tgt-lang ro_RO is the model's own decoder start" cmp -s "$T/out" "$T/ro.ids"
run "$ATTN" -m "$T/mbart.attn" --ids -n 6 --tgt-lang de_DE "$T/src.ids"
ok "mbart: --tgt-lang de_DE starts the decoder elsewhere" differ "$T/out" "$T/ro.ids"
ok "mbart: --tgt-lang de_DE is quiet" err_empty
run "$ATTN" -m "$T/mbart.attn" -n 6 --no-protect --tgt-lang de_DE --src-lang fr_XX "$T/run.in"
ok "mbart: text with --src-lang and --tgt-lang" status_is 0

# attn score --src-lang / --tgt-lang: the output that attn run generated with them scores what
# the run's --json said (the sum of its log-probabilities), and the languages change the score
"$ATTN" tokenize --source --src-lang fr_XX -t "$T/mbart.attn" "$T/one.txt" >"$T/fr.ids"
"$ATTN" -m "$T/mbart.attn" --ids -n 6 --greedy --tgt-lang de_DE --json "$T/fr.ids" >"$T/gen.json"
want=$(sed 's/.*"score":\([-0-9.e]*\).*/\1/' "$T/gen.json")
sed 's/.*"ids":\[\([0-9,]*\)\].*/\1/; s/,/ /g' "$T/gen.json" >"$T/gen.ids"
run "$ATTN" score -m "$T/mbart.attn" --ids --tgt-lang de_DE --source "$T/fr.ids" \
    --target "$T/gen.ids"
ok "mbart: score --tgt-lang de_DE gives the run's score ($want)" \
    awk -v a="$(cat "$T/out")" -v b="$want" 'BEGIN { d = a - b; exit !(d < 1e-4 && d > -1e-4) }'
run "$ATTN" score -m "$T/mbart.attn" --ids --source "$T/fr.ids" --target "$T/gen.ids"
ok "mbart: score without --tgt-lang starts at ro_RO: another score" \
    awk -v a="$(cat "$T/out")" -v b="$want" 'BEGIN { d = a - b; exit !(d > 1e-3 || d < -1e-3) }'
printf 'Hello world\tHallo Welt\n' >"$T/mpair.txt"
"$ATTN" score -m "$T/mbart.attn" --src-lang fr_XX --tgt-lang de_DE "$T/mpair.txt" >"$T/text.score"
"$ATTN" tokenize --source --src-lang fr_XX -t "$T/mbart.attn" "$T/one.txt" >"$T/s.ids"
printf 'Hallo Welt\n' | "$ATTN" tokenize -t "$T/mbart.attn" >"$T/t.ids"
run "$ATTN" score -m "$T/mbart.attn" --ids --tgt-lang de_DE --source "$T/s.ids" --target "$T/t.ids"
ok "mbart: score --src-lang fr_XX from text equals the ids with fr_XX" cmp -s "$T/out" "$T/text.score"
"$ATTN" score -m "$T/mbart.attn" --tgt-lang de_DE "$T/mpair.txt" >"$T/en.score"
ok "mbart: score --src-lang fr_XX differs from the default en_XX" differ "$T/en.score" "$T/text.score"
run "$ATTN" score -m "$T/mbart.attn" --tgt-lang en_xx "$T/mpair.txt"
ok "score: an unknown --tgt-lang exits 1" status_is 1
ok "score: an unknown --tgt-lang: one line naming it" err_has "target language 'en_xx'"

# errors: one line, exit 1
run "$ATTN" -m "$T/mbart.attn" --src-lang xx_YY "$T/one.txt"
ok "an unknown --src-lang exits 1" status_is 1
ok "an unknown --src-lang: one line naming it" err_one_line
ok "an unknown --src-lang: says what" err_has "source language 'xx_YY': not a language code"
ok "an unknown --src-lang: no output" out_empty
run "$ATTN" -m "$T/mbart.attn" --tgt-lang en_xx "$T/one.txt"
ok "an unknown --tgt-lang exits 1" status_is 1
ok "an unknown --tgt-lang: says what" err_has "target language 'en_xx': not a language code"
run "$ATTN" -m "$T/t5_v1_1.attn" --tgt-lang de_DE "$T/one.txt"
ok "--tgt-lang on a model without language tokens exits 1" status_is 1
ok "--tgt-lang on T5: says why" err_has "does not choose its output language by a token"
run "$ATTN" -m "$T/marian.attn" --src-lang en_XX "$T/one.txt"
ok "--src-lang on Marian exits 1" status_is 1
ok "--src-lang on Marian: says why" err_has "no source language token"
run "$ATTN" tokenize --src-lang de_DE -t "$T/mbart.attn" "$T/one.txt"
ok "tokenize --src-lang without --source is a usage error" status_is 2

# a damaged spm-map tokenizer is refused with one line, never a crash: truncations of its text
# part (each in its header) and of its model part, and each malformed line
PYTHONPATH=. /usr/bin/python3 - "$T/t5_v1_1.attn" "$T/bad" <<'PY' || exit 1
import os, sys
from scripts.lib import attnfile
meta, _ = attnfile.read(sys.argv[1])
blob, out = meta["tokenizer"], sys.argv[2]
os.makedirs(out)
text_end = blob.index(b"\nspm ") + 1
cuts = list(range(0, 64)) + list(range(64, text_end, 29)) + list(range(text_end, len(blob), 311))
cases = {f"cut{n}": blob[:n] for n in cuts}
head, rest = blob[:text_end], blob[text_end:]
lines = head.split(b"\n")
def edit(i, new):
    return b"\n".join(lines[:i] + [new] + lines[i + 1:]) + rest
cases.update({
    "version": blob.replace(b"attn-spm-map 1", b"attn-spm-map 2", 1),
    "tokens0": edit(1, b"tokens 0"),
    "unk-range": edit(2, b"unk 99999"),
    "kind": edit(3, b"x 3c2f733e both"),
    "odd-hex": edit(5, b"p e29"),
    "upper-hex": edit(5, b"p E29681"),
    "nul": edit(5, b"p 00"),
    "utf8": edit(5, b"p ff"),
    "duplicate": edit(5, lines[6]),
    "no-strip": edit(3, lines[3].rsplit(b" ", 1)[0]),
    "bad-strip": edit(3, lines[3].rsplit(b" ", 1)[0] + b" sideways"),
    "piece-strip": edit(6, lines[6] + b" both"),
    "unused-text": edit(len(lines) - 3, b"- 41"),
    "unk-unused": edit(2, b"unk 511").replace(lines[514] + b"\n", b"-\n"),
    "spm-length": blob + b"x",
    "p-alone": edit(5, b"p"),
    "s-short": edit(3, b"s 3"),
    "spm-bytes": head + rest[:len(b"spm ")] + rest[len(b"spm "):].replace(b"\x0a", b"\x0b", 3),
})
for name, data in cases.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
os.makedirs(out + "-flip")
for i in range(0, text_end, 43):
    with open(os.path.join(out + "-flip", f"flip{i}"), "wb") as f:
        f.write(blob[:i] + bytes([blob[i] ^ (1 << (i % 8))]) + blob[i + 1:])
PY
printf 'x\n' >"$T/x.txt"
bad=0
for f in "$T"/bad/*; do
    run "$ATTN" tokenize -t "$f" "$T/x.txt"
    if [ "$RC" -ne 1 ] || ! err_one_line || ! grep -q "$(basename "$f"): " "$T/err"; then
        echo "damaged spm-map $(basename "$f"): status $RC: $(head -c 200 "$T/err")"
        bad=$((bad + 1))
    fi
done
ok "every damaged spm-map file is refused (exit 1, one line naming it)" [ "$bad" -eq 0 ]
ok "the damaged files are many" [ "$(ls "$T/bad" | wc -l)" -gt 100 ]
# a flipped bit may leave a valid file (another hex digit): exit 0, or 1 with one line
bad=0
for f in "$T"/bad-flip/*; do
    run "$ATTN" tokenize -t "$f" "$T/x.txt"
    if ! { [ "$RC" -eq 0 ] && err_empty; } && ! { [ "$RC" -eq 1 ] && err_one_line; }; then
        echo "flipped spm-map $(basename "$f"): status $RC: $(head -c 200 "$T/err")"
        bad=$((bad + 1))
    fi
done
ok "single bit flips of an spm-map file: accepted or refused with one line" [ "$bad" -eq 0 ]
run "$ATTN" tokenize -t "$T/bad/unk-unused" "$T/x.txt"
ok "an unused unknown id: says so" err_has "the unknown id .* is unused"
run "$ATTN" tokenize -t "$T/bad/duplicate" "$T/x.txt"
ok "a repeated text: says so" err_has "the same text as an earlier id"

# model files whose tokenizer keys are wrong are refused when opened
PYTHONPATH=. /usr/bin/python3 - "$T" <<'PY' || exit 1
import sys
from scripts.lib import attnfile
T = sys.argv[1]
meta, tensors = attnfile.read(T + "/mbart.attn")
for name, change in (("lang", {"src.lang": "xx_YY"}), ("lang-type", {"src.lang": 7}),
                     ("target", {"tokenizer.target": meta["tokenizer"][:-9]})):
    attnfile.write(f"{T}/bad-{name}.attn", dict(meta, **change), tensors)
marian, tensors = attnfile.read(T + "/marian.attn")
m = attnfile.read_spm_map(marian["tokenizer"])
small = attnfile.spm_map_bytes(m["entries"][:300], m["unk"], m["spm"], m["marian_codes"])
attnfile.write(T + "/bad-size.attn", dict(marian, **{"tokenizer.target": small}), tensors)
PY
for c in "lang:metadata src.lang 'xx_YY': not a language code" \
         "lang-type:metadata src.lang: not a string" \
         "target:tokenizer.target: no 'spm LENGTH' line" \
         "size:tokenizer.target: 300 ids, the source tokenizer has 512"; do
    run "$ATTN" -m "$T/bad-${c%%:*}.attn" "$T/one.txt"
    ok "bad ${c%%:*}: exit 1" status_is 1
    ok "bad ${c%%:*}: one line saying what" err_has "${c#*:}"
done

# the converter refuses separate vocabularies by name
cp -r "$T/hf/marian" "$T/sep"
printf '{"separate_vocabs": true}\n' >"$T/sep/tokenizer_config.json"
run env PYTHONPATH=. /usr/bin/python3 -m scripts.convert.hf_model "$T/sep" -o "$T/sep.attn"
ok "separate_vocabs is refused" status_is 1
ok "separate_vocabs is refused by name" err_has "separate_vocabs"
finish
