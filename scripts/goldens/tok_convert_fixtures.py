"""tok_convert_fixtures.py — writes the tiny vocabularies that tests/cli/test_tokenize.sh converts
with scripts/convert/tokenizer.py (tests/data/tok/tiny-*):

  tiny-hf.json: a BART-like tokenizer.json: <s> 0, <pad> 1, </s> 2, <unk> 3 (added tokens), the
    256 bytes at 4 + byte value, then "Ġl" 260, "lo" 261, "low" 262, "er" 263 with the merges in
    the order "l o", "lo w", "e r", "Ġ l": ids not in merge order, so the converter must write
    explicit ranks.  HF encodes " low" as "Ġ" (36) + "low" (262); merging by id would make "Ġl".
  tiny-encoder.json + tiny-vocab.bpe: GPT-2 style, the 256 bytes at their byte value, "lo" 256,
    "low" 257, "<|endoftext|>" 258 (made by no merge: a special token).
"""
import json

keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
char, extra = {}, 0
for b in range(256):
    if b in keep:
        char[b] = chr(b)
    else:
        char[b] = chr(256 + extra)
        extra += 1

specials = ["<s>", "<pad>", "</s>", "<unk>"]
vocab = {s: i for i, s in enumerate(specials)}
vocab.update({char[b]: 4 + b for b in range(256)})
vocab.update({"\u0120l": 260, "lo": 261, "low": 262, "er": 263})
tj = {
    "version": "1.0",
    "added_tokens": [{"id": i, "content": s, "special": True} for i, s in enumerate(specials)],
    "normalizer": None,
    "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
                      "use_regex": True},
    "decoder": {"type": "ByteLevel"},
    "model": {"type": "BPE", "vocab": vocab, "merges": ["l o", "lo w", "e r", "\u0120 l"]},
}
with open("tests/data/tok/tiny-hf.json", "w", encoding="utf-8") as f:
    json.dump(tj, f, ensure_ascii=False, indent=1)

enc = {char[b]: b for b in range(256)}
enc.update({"lo": 256, "low": 257, "<|endoftext|>": 258})
with open("tests/data/tok/tiny-encoder.json", "w", encoding="utf-8") as f:
    json.dump(enc, f, ensure_ascii=False)
with open("tests/data/tok/tiny-vocab.bpe", "w", encoding="utf-8") as f:
    f.write("#version: 0.2\nl o\nlo w\n")
