#!/bin/sh
# spm-goldens.sh — trains the SentencePiece test models with Debian's spm_train and writes their
# goldens (spm_encode --output_format=id, spm_decode --input_format=id) into tests/data/spm.
#
#   sh scripts/goldens/spm-goldens.sh          every model but the 32k one (several minutes), and
#                                              the model files spm-model.attn and spm-echo.attn
#   sh scripts/goldens/spm-goldens.sh --big    also the 32k one (committed too), trained on the
#                                              DDTP files that scripts/model/fetch-data.sh fetches
#                                              into $ATTN_WORK/raw (ATTN_WORK: data)
#
# Needs Debian's `sentencepiece` package (bookworm: 0.1.97; `apt-get install sentencepiece`).
# Training text: the DDTP English, French and German descriptions in tests/data/tok.  Test lines:
# every 60th English, 40th French and 25th German line of those, then the edge cases that
# scripts/goldens/spm-edge-text.py writes.  Every model and golden is gzipped (gzip -n: no time
# stamp); tests/data/spm/README.md lists each model's spm_train options.  The smallest models,
# unpacked, and a few edge lines also seed the fuzz target (tests/data/fuzz-spm).
set -eu
cd "$(dirname "$0")/../.."
out=tests/data/spm
big=no
[ "${1:-}" = "--big" ] && big=yes

for tool in spm_train spm_encode spm_decode; do
    command -v $tool >/dev/null ||
        { echo "spm-goldens.sh: $tool missing: apt-get install sentencepiece" >&2; exit 1; }
done
version=$(dpkg-query -W -f '${Version}' sentencepiece 2>/dev/null || echo unknown)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p $out

for lang in en fr de; do
    zcat tests/data/tok/$lang.txt.gz > $work/$lang.txt
done
cat $work/en.txt $work/fr.txt $work/de.txt > $work/mix.txt
/usr/bin/python3 scripts/goldens/spm-edge-text.py > $out/edge.txt
{
    awk 'NR % 60 == 0' $work/en.txt
    awk 'NR % 40 == 0' $work/fr.txt
    awk 'NR % 25 == 0' $work/de.txt
    cat $out/edge.txt
} > $work/lines.txt
gzip -9n < $work/lines.txt > $out/lines.txt.gz

# Normalization rules of one's own (source and target code points in hex, an empty target
# deletes) and a denormalization rule (decoded text only).
printf 'E9\t65\nDF\t73 73\nFF21\t41\n41 42\t78\n200B\t\n9\t20\n3000\t20\n' > $work/rules.tsv
printf '41\t61\n2D 2D\t2014\n' > $work/denorm.tsv

readme=$work/README.md
cat > $readme <<EOF
# SentencePiece test models and goldens

Written by \`scripts/goldens/spm-goldens.sh\` (rerun it to regenerate everything here) with
Debian's \`sentencepiece\` $version: each model is trained by \`spm_train\`, then
\`spm_encode --output_format=id\` encodes \`lines.txt.gz\` into \`NAME.ids.gz\` and
\`spm_decode --input_format=id\` decodes those ids into \`NAME.dec.gz\`, one line per line.
tests/test_spm.c checks that attn gives the same ids and the same decoded text on every line.

\`lines.txt.gz\`: every 60th English, 40th French and 25th German line of the DDTP descriptions in
tests/data/tok, then \`edge.txt\` (scripts/goldens/spm-edge-text.py: mixed scripts, combining marks,
full-width forms, emoji, invalid UTF-8, control and zero-width characters, long runs, lines of only
whitespace, text that looks like pieces).

Every model is trained with \`--num_threads=1 --random_seed=1 --minloglevel=2\` plus:

| model | training text | spm_train options |
|---|---|---|
EOF

# goldens NAME: writes the model $work/NAME.model and its goldens into $out.
goldens() {
    spm_encode --model=$work/$1.model --output_format=id < $work/lines.txt > $work/$1.ids
    spm_decode --model=$work/$1.model --input_format=id < $work/$1.ids > $work/$1.dec
    for f in model ids dec; do
        gzip -9n < $work/$1.$f > $out/$1.$f.gz
    done
}

# train NAME TEXT OPTIONS...: trains a model and writes its goldens.
train() {
    name=$1 text=$2
    shift 2
    echo "== $name" >&2
    # From inside $work, so that the paths the model records are the same on every run.
    (cd $work && nice spm_train --input=$text.txt --model_prefix=$name --num_threads=1 \
        --random_seed=1 --minloglevel=2 "$@" >/dev/null 2>&1) ||
        { echo "spm-goldens.sh: spm_train failed for $name" >&2; exit 1; }
    goldens $name
    echo "| $name | $text | \`$*\` |" >> $readme
}

# unused NAME BASE: BASE's model with every 7th normal piece of 2+ characters made unused.
unused() {
    echo "== $1" >&2
    /usr/bin/python3 -m scripts.goldens.spm_set_unused $work/$2.model $work/$1.model 7
    goldens $1
    echo "| $1 | $2's | $2's, then every 7th normal piece of 2+ characters unused |" >> $readme
}

train uni-en-1k en --model_type=unigram --vocab_size=1000
train uni-fr-8k fr --model_type=unigram --vocab_size=8000
train bpe-de-1k de --model_type=bpe --vocab_size=1000
train bpe-en-8k-bytefb en --model_type=bpe --vocab_size=8000 --byte_fallback=true \
    --normalization_rule_name=identity
train uni-mix-4k-bytefb-digits mix --model_type=unigram --vocab_size=4000 --byte_fallback=true \
    --split_digits=true
train uni-fr-2k-nfkc fr --model_type=unigram --vocab_size=2000 --normalization_rule_name=nfkc
train bpe-en-2k-cf en --model_type=bpe --vocab_size=2000 --normalization_rule_name=nmt_nfkc_cf
train uni-de-1k-identity de --model_type=unigram --vocab_size=1000 \
    --normalization_rule_name=identity
train uni-en-1k-noprefix en --model_type=unigram --vocab_size=1000 --add_dummy_prefix=false \
    --normalization_rule_name=identity
train uni-en-1k-keepws en --model_type=unigram --vocab_size=1000 \
    --remove_extra_whitespaces=false --normalization_rule_name=identity
train uni-en-1k-suffix en --model_type=unigram --vocab_size=1000 \
    --treat_whitespace_as_suffix=true --normalization_rule_name=identity
train uni-en-2k-user en --model_type=unigram --vocab_size=2000 \
    --user_defined_symbols='<sep>,@@,ing,the' --control_symbols='<2fr>,<2de>'
train bpe-fr-1k-user fr --model_type=bpe --vocab_size=1000 --byte_fallback=true \
    --user_defined_symbols='<sep>,@@,qu' --control_symbols='<mask>' \
    --normalization_rule_name=identity
train uni-en-100 en --model_type=unigram --vocab_size=100 --character_coverage=0.98 \
    --normalization_rule_name=identity
train bpe-en-100 en --model_type=bpe --vocab_size=100 --character_coverage=0.98 \
    --normalization_rule_name=identity
train char-en en --model_type=char --vocab_size=100 --character_coverage=0.99 \
    --normalization_rule_name=identity
train word-de-2k de --model_type=word --vocab_size=2000 --normalization_rule_name=identity
train uni-en-1k-ids en --model_type=unigram --vocab_size=1000 --unk_id=3 --bos_id=-1 \
    --eos_id=0 --pad_id=1 --unk_piece='[UNK]' --eos_piece='[EOS]' --pad_piece='[PAD]' \
    --unk_surface='<?>' --normalization_rule_name=identity
train bpe-en-320-bytefb en --model_type=bpe --vocab_size=320 --byte_fallback=true \
    --character_coverage=0.98 --normalization_rule_name=identity
train bpe-en-1k-suffix en --model_type=bpe --vocab_size=1000 \
    --treat_whitespace_as_suffix=true --normalization_rule_name=identity
unused uni-en-2k-unused uni-en-2k-user
unused bpe-en-2k-unused bpe-en-2k-cf
train uni-en-1k-rules en --model_type=unigram --vocab_size=1000 \
    --normalization_rule_tsv=rules.tsv
train uni-en-1k-denorm en --model_type=unigram --vocab_size=1000 \
    --denormalization_rule_tsv=denorm.tsv --normalization_rule_name=identity

if [ $big = yes ]; then
    raw=${ATTN_WORK:-data}/raw
    [ -f $raw/bookworm.en ] ||
        { echo "spm-goldens.sh: run scripts/model/fetch-data.sh first" >&2; exit 1; }
    cat $raw/bookworm.en $raw/bookworm.fr $raw/bookworm.de > $work/ddtp.txt
    train uni-mix-32k ddtp --model_type=unigram --vocab_size=32000 --input_sentence_size=400000 \
        --shuffle_input_sentence=true
fi

cat >> $readme <<'EOF'

`mix` is the English, French and German text together; `ddtp` (the 32k model, only with
`--big`) is the bookworm DDTP files of scripts/model/fetch-data.sh.  spm_train never writes
unused pieces; scripts/goldens/spm_set_unused.py marks them in a copy of a trained model (the
goldens still come from spm_encode and spm_decode reading that copy).  `spm-model.attn`
(scripts/goldens/spm_model_fixture.py) is an attn model file whose tokenizer blob is uni-en-100;
`spm-echo.attn` (scripts/goldens/echo_model.py) is the model that copies its source, with
bpe-en-320-bytefb as its tokenizer.  `rules.tsv` normalizes `é` to `e`,
`ß` to `ss`, full-width `Ａ` to `A`, `AB` to `x`, tab and U+3000 to a space, and deletes U+200B;
`denorm.tsv` maps `A` to `a` and `--` to an em dash in decoded text.
EOF
cp $readme $out/README.md

# Model files whose tokenizer blob is a SentencePiece model: one with no weights, and the echo
# model (it copies its source) over bpe-en-320-bytefb.
/usr/bin/python3 -m scripts.goldens.spm_model_fixture
/usr/bin/python3 -m scripts.goldens.echo_model $out/spm-echo.attn $out/bpe-en-320-bytefb.model.gz

seeds=tests/data/fuzz-spm
mkdir -p $seeds
for name in uni-en-100 bpe-en-100 char-en uni-en-1k-rules; do
    gunzip < $out/$name.model.gz > $seeds/seed-$name.model
done
sed -n '14p;18p;21p;25p;52p;53p' $out/edge.txt > $seeds/seed-edge.txt
echo "spm-goldens.sh: wrote $out" >&2
