"""echo_model.py — writes tests/data/gen/echo.attn, a hand-built model that copies its source.

The command-line tests need a model whose right output is known without running attn: this one
is built so that greedy decoding returns the source tokens, eos included, so `attn` prints its
input back.  Construction (V tokens, P positions, d_model = V + P, one head of size d):

  embeddings     token v is the unit vector e_v; position p is e_(V+p) (learned, no offset)
  encoder        one pre-norm layer whose output projections are zero: it leaves x unchanged,
                 so encoder position s holds e_src[s] + e_(V+s); no norms anywhere
  decoder        self-attention and feed-forward output projections are zero; cross-attention
                 maps q = 20 * (position part of x), k = position part of the encoder output, so
                 decoder position p attends to source position p; v = token part, o = 2 * v
  output         out.weight = 5 * identity on the token part: logits are 10 for src[p], 5 for the
                 token just fed, 0 for the rest, so greedy emits src[p] at step p

The tokenizer (embedded) has the 4 specials <pad> <s> </s> <unk>, the 256 bytes and a few merges,
among them F0 9F, so that a 4-byte emoji comes out as 3 tokens split inside the character.  Or,
with SPM, the tokenizer is that gzipped SentencePiece model (unk 0, bos 1, eos 2 as spm_train
numbers them; no pad: 0 stands in), and the vocabulary is its pieces.

    python3 -m scripts.goldens.echo_model [OUT [SPM]]   (default tests/data/gen/echo.attn)
"""
import gzip
import os
import sys

import numpy as np

from scripts.lib import attnfile
from scripts.lib.protowire import count_pieces

MERGES = [b"he", b"ll", b"hell", b"hello", b" w", b"or", b"ld", b" wor", b" world", b"\xf0\x9f"]
SPECIALS = ["<pad>", "<s>", "</s>", "<unk>"]
P = 64


def tokenizer_bytes():
    """Returns the attn tokenizer file: specials, the 256 bytes, then the merges."""
    lines = ["attn-tokenizer 1", "pattern gpt2", "tokens %d" % (len(SPECIALS) + 256 + len(MERGES))]
    lines += ["!" + s.encode().hex() for s in SPECIALS]
    lines += ["%02x" % b for b in range(256)]
    lines += [m.hex() for m in MERGES]
    lines.append("end")
    return ("\n".join(lines) + "\n").encode()


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "tests/data/gen/echo.attn"
    if len(sys.argv) > 2:
        with gzip.open(sys.argv[2], "rb") as f:
            tokenizer = f.read()
        V, unk, source = count_pieces(tokenizer), 0, "scripts/goldens/echo_model.py"
    else:
        V, unk, source = len(SPECIALS) + 256 + len(MERGES), 3, "scripts/make-echo-model.py"
        tokenizer = tokenizer_bytes()
    d = V + P
    f = np.float32
    eye_tok = np.zeros((d, d), f)
    eye_tok[np.arange(V), np.arange(V)] = 1
    eye_pos = np.zeros((d, d), f)
    eye_pos[np.arange(V, d), np.arange(V, d)] = 1
    zero = np.zeros((d, d), f)
    ff = 4
    t = {
        "embed.weight": np.eye(V, d, dtype=f),
        "enc.pos.weight": np.eye(P, d, V, dtype=f),
        "dec.pos.weight": np.eye(P, d, V, dtype=f),
        "out.weight": 5 * np.eye(V, d, dtype=f),
    }
    for side in ("enc", "dec"):
        for w in ("q", "k", "v", "o"):
            t["%s.0.attn.%s.weight" % (side, w)] = zero
        t["%s.0.ffn.up.weight" % side] = np.zeros((ff, d), f)
        t["%s.0.ffn.down.weight" % side] = np.zeros((d, ff), f)
    t["dec.0.cross.q.weight"] = 20 * eye_pos
    t["dec.0.cross.k.weight"] = eye_pos
    t["dec.0.cross.v.weight"] = eye_tok
    t["dec.0.cross.o.weight"] = 2 * eye_tok
    meta = {
        "arch": "transformer", "name": "echo", "description": "copies its source (CLI tests)",
        "vocab_size": V, "d_model": d, "n_heads": 1, "d_head": d, "d_ff": ff,
        "n_enc_layers": 1, "n_dec_layers": 1, "max_positions": P, "norm": "layer",
        "norm_eps": 1e-5, "pre_norm": 1, "activation": "relu", "ffn_gated": 0,
        "pos_kind": "learned", "pos_offset": 0, "embed_scale": 1.0, "attn_scale": 1.0,
        "output_scale": 1.0, "pad_id": 0, "bos_id": 1, "eos_id": 2, "unk_id": unk,
        "decoder_start_id": 1, "gen.max_length": P + 1, "gen.bad_ids": [0, 1],
        # "source" keeps the script's name of when tests/data/gen/echo.attn was committed, so
        # that the file regenerates byte for byte
        "tokenizer": tokenizer, "source": source,
    }
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    attnfile.write(out, meta, t)
    print("echo_model.py: wrote %s (vocab %d, d_model %d)" % (out, V, d))


if __name__ == "__main__":
    main()
