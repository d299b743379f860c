"""tokenizer.py — converts byte-level BPE vocabularies into attn tokenizer files (format:
tokenizer/bpe.h, "attn-tokenizer 1").  Standard library only.  From the repository root:

  python3 -m scripts.convert.tokenizer gpt2 ENCODER_JSON VOCAB_BPE -o OUT [--special TEXT ...]
      GPT-2's encoder.json (token -> id) and vocab.bpe (the merges, in order).
  python3 -m scripts.convert.tokenizer hf TOKENIZER_JSON -o OUT [--special TEXT ...]
      A Hugging Face tokenizer.json whose model is BPE over GPT-2's byte-to-unicode alphabet
      (ByteLevel pre-tokenizer or decoder): GPT-2, RoBERTa, BART, Llama 3, ...
  python3 -m scripts.convert.tokenizer tiktoken RANKS --pattern NAME|REGEX -o OUT
          [--special TEXT=ID ...]
      A *.tiktoken rank file (base64 token, space, rank) with its pattern and special tokens.

How the pieces map:
  * Token strings are GPT-2's byte-to-unicode spelling; each character maps back to one byte.
  * Special tokens: HF added_tokens; --special TEXT; and (gpt2 mode) every multi-byte token no
    merge produces (GPT-2's <|endoftext|>).
  * Merge ranks: attn merges the lowest rank first, rank = id unless the file says otherwise.  When
    the ids of the merged tokens are not in merge order (BART's fairseq ids), every merged token
    gets its merge index as an explicit rank.
  * Pattern: ByteLevel(use_regex=true) is GPT-2's pattern ("gpt2"); a Split with a Regex is kept
    as a regex (a tiktoken pattern is recognised by name).
  * Refused: other model types (SentencePiece Unigram/WordPiece), ByteLevel(add_prefix_space=true),
    normalizers that change the text, and vocabularies with a character outside the byte alphabet
    in a non-special token.
"""
import argparse
import base64
import json
import sys


def bytes_to_unicode():
    """GPT-2's reversible byte -> character table: printable Latin-1 bytes stand for themselves,
    the other 68 bytes take the characters from U+0100 up, in byte order."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAC + 1)) + \
        list(range(0xAE, 0xFF + 1))
    table, extra = {}, 0
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return table


CHAR_TO_BYTE = {c: b for b, c in bytes_to_unicode().items()}

# tiktoken's patterns (npm tiktoken 1.0.22), recognised in Split pre-tokenizers
KNOWN = {
    r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+": "gpt2",
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+": "cl100k",
}


def fail(msg):
    sys.exit("tokenizer.py: " + msg)


def token_bytes(s):
    """Returns the bytes a byte-level token string spells, or None if it is not one."""
    try:
        return bytes(CHAR_TO_BYTE[c] for c in s)
    except KeyError:
        return None


def build(vocab, merges, pattern, rank_is_id=False):
    """vocab: {id: (kind, bytes)} with kind 'n' or 's'; merges: list of (left, right) token
    strings already turned into bytes (ignored when rank_is_id); returns the attn file text."""
    n = max(vocab) + 1
    by_bytes = {b: i for i, (k, b) in vocab.items() if k == "n"}
    for b in range(256):
        if bytes([b]) not in by_bytes:
            fail("the vocabulary has no token for byte 0x%02x" % b)
    rank_of = {}
    for r, (a, b) in enumerate([] if rank_is_id else merges):
        i = by_bytes.get(a + b)
        if i is None:
            fail("merge %d (%r + %r) makes a token that is not in the vocabulary" % (r, a, b))
        rank_of.setdefault(i, r)
    merged = sorted(rank_of, key=lambda i: rank_of[i])
    explicit = not rank_is_id and (merged != sorted(merged) or any(
        len(b) > 1 and i not in rank_of for i, (k, b) in vocab.items() if k == "n"))
    out = ["attn-tokenizer 1"]
    if pattern in ("gpt2", "cl100k", "o200k"):
        out.append("pattern " + pattern)
    else:
        out.append("regex " + pattern.encode("utf-8").hex())
    out.append("tokens %d" % n)
    unreached = 0
    for i in range(n):
        if i not in vocab:
            out.append("-")
            continue
        kind, b = vocab[i]
        if kind == "s":
            out.append("!" + b.hex())
        elif explicit and len(b) > 1:
            if i in rank_of:
                out.append("%s %d" % (b.hex(), 256 + rank_of[i]))
            else:  # a token no merge makes: after every merge
                unreached += 1
                out.append("%s %d" % (b.hex(), 256 + len(merges) + i))
        elif explicit:
            out.append("%s %d" % (b.hex(), b[0]))
        else:
            out.append(b.hex())
    out.append("end")
    if unreached:
        print("tok-convert: warning: %d multi-byte tokens are made by no merge" % unreached,
              file=sys.stderr)
    return "\n".join(out) + "\n"


def convert_gpt2(args):
    with open(args.encoder, encoding="utf-8") as f:
        enc = json.load(f)
    with open(args.merges, encoding="utf-8") as f:
        lines = [l.rstrip("\n") for l in f]
    merges = []
    for l in lines:
        if not l or l.startswith("#version"):
            continue
        a, b = l.split(" ")
        merges.append((token_bytes(a), token_bytes(b)))
    produced = {a + b for a, b in merges}
    vocab = {}
    for s, i in enc.items():
        b = token_bytes(s)
        if s in args.special or b is None or (len(b) > 1 and b not in produced):
            vocab[i] = ("s", s.encode("utf-8"))
        else:
            vocab[i] = ("n", b)
    return build(vocab, merges, "gpt2")


def hf_pattern(pre):
    """Returns the pattern a tokenizer.json pre_tokenizer stands for."""
    if pre is None:
        fail("no pre_tokenizer: attn always splits with a pattern")
    kind = pre.get("type")
    if kind == "ByteLevel":
        if pre.get("add_prefix_space"):
            fail("ByteLevel(add_prefix_space=true) is not supported")
        return "gpt2" if pre.get("use_regex", True) else None
    if kind == "Split":
        regex = pre.get("pattern", {}).get("Regex")
        if regex is None or pre.get("invert"):
            fail("only Split with a Regex pattern is supported")
        return KNOWN.get(regex, regex)
    if kind == "Sequence":
        found = [p for p in (hf_pattern(x) for x in pre["pretokenizers"]) if p is not None]
        if len(found) != 1:
            fail("a Sequence pre-tokenizer must hold exactly one pattern")
        return found[0]
    fail("unsupported pre_tokenizer " + str(kind))


def convert_hf(args):
    with open(args.tokenizer, encoding="utf-8") as f:
        tj = json.load(f)
    model = tj.get("model", {})
    if model.get("type") != "BPE":
        fail("the model is %s, not byte-level BPE" % model.get("type"))
    norm = tj.get("normalizer")
    if norm is not None:
        fail("normalizers are not supported (%s)" % norm.get("type"))
    pattern = hf_pattern(tj.get("pre_tokenizer"))
    added = {t["content"]: t["id"] for t in tj.get("added_tokens", [])}
    merges = []
    for m in model.get("merges", []):
        a, b = m.split(" ") if isinstance(m, str) else m
        merges.append((token_bytes(a), token_bytes(b)))
    vocab = {}
    for s, i in model["vocab"].items():
        b = token_bytes(s)
        if s in added or s in args.special:
            vocab[i] = ("s", s.encode("utf-8"))
        elif b is None:
            fail("token %r (id %d) is not in the byte alphabet" % (s, i))
        else:
            vocab[i] = ("n", b)
    for s, i in added.items():
        vocab[i] = ("s", s.encode("utf-8"))
    return build(vocab, merges, pattern)


def convert_tiktoken(args):
    vocab = {}
    with open(args.ranks, encoding="ascii") as f:
        for line in f:
            if line.strip():
                tok, rank = line.split()
                vocab[int(rank)] = ("n", base64.b64decode(tok, validate=True))
    for sp in args.special:
        text, _, i = sp.rpartition("=")
        vocab[int(i)] = ("s", text.encode("utf-8"))
    return build(vocab, [], args.pattern, rank_is_id=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="mode", required=True)
    g = sub.add_parser("gpt2")
    g.add_argument("encoder")
    g.add_argument("merges")
    h = sub.add_parser("hf")
    h.add_argument("tokenizer")
    t = sub.add_parser("tiktoken")
    t.add_argument("ranks")
    t.add_argument("--pattern", required=True)
    for p in (g, h, t):
        p.add_argument("-o", "--output", required=True)
        p.add_argument("--special", action="append", default=[])
    args = ap.parse_args()
    text = {"gpt2": convert_gpt2, "hf": convert_hf, "tiktoken": convert_tiktoken}[args.mode](args)
    with open(args.output, "w", encoding="ascii") as f:
        f.write(text)


if __name__ == "__main__":
    main()
