"""translator — attn's default model in PyTorch: the Transformer of "Attention Is All You Need"
(torch.nn.Transformer), greedy decoding with a key/value cache, and the mapping between its
weights and an attn model file.

Post-norm, sinusoidal positions (sin on even, cos on odd dimensions), one token embedding shared
by the encoder, the decoder and the output projection, multiplied by sqrt(d_model), ReLU
feed-forward. Sequences: the source is its token ids followed by </s>; the decoder starts at <s>.
scripts/model/train.py trains it; scripts/model/evaluate_model.py runs it as attn's peer.
"""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from scripts.lib import attnfile

PAD, BOS, EOS, UNK = 0, 1, 2, 3
SPECIALS = "<pad>,<s>,</s>,<unk>"


# ---- model ---------------------------------------------------------------------------------------

def sinusoids(n_pos, d):
    """Returns the paper's (n_pos, d) position table: PE[p,2i]=sin(p/10000^(2i/d)),
    PE[p,2i+1]=cos(p/10000^(2i/d))."""
    pos = torch.arange(n_pos, dtype=torch.float64)[:, None]
    freq = torch.pow(10000.0, -torch.arange(0, d, 2, dtype=torch.float64) / d)[None, :]
    pe = torch.zeros(n_pos, d, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(pos * freq)
    pe[:, 1::2] = torch.cos(pos * freq)
    return pe.float()


class Translator(nn.Module):
    """The paper's encoder-decoder with one embedding shared by encoder, decoder and output."""

    def __init__(self, vocab, d_model, heads, d_ff, enc_layers, dec_layers, dropout, max_pos):
        super().__init__()
        self.d_model = d_model
        self.embed = nn.Embedding(vocab, d_model, padding_idx=PAD)
        nn.init.normal_(self.embed.weight, 0.0, d_model ** -0.5)
        with torch.no_grad():
            self.embed.weight[PAD].zero_()
        self.register_buffer("pe", sinusoids(max_pos, d_model), persistent=False)
        self.drop = nn.Dropout(dropout)
        self.tf = nn.Transformer(d_model, heads, enc_layers, dec_layers, d_ff, dropout,
                                 activation="relu", batch_first=True, norm_first=False)

    def embed_tokens(self, ids):
        """(B, T) ids -> (B, T, d) scaled embeddings plus positions, with dropout."""
        x = self.embed(ids) * math.sqrt(self.d_model) + self.pe[: ids.shape[1]][None]
        return self.drop(x)

    def encode(self, src):
        """(B, S) source ids -> (B, S, d) encoder output."""
        return self.tf.encoder(self.embed_tokens(src), src_key_padding_mask=src.eq(PAD))

    def decode(self, tgt_in, memory, src):
        """(B, T) decoder inputs, encoder output -> (B, T, V) logits."""
        t = tgt_in.shape[1]
        causal = torch.triu(torch.full((t, t), float("-inf")), diagonal=1)
        h = self.tf.decoder(self.embed_tokens(tgt_in), memory, tgt_mask=causal,
                            tgt_key_padding_mask=tgt_in.eq(PAD),
                            memory_key_padding_mask=src.eq(PAD))
        return F.linear(h, self.embed.weight)

    def forward(self, src, tgt_in):
        """(B, S) sources, (B, T) decoder inputs -> (B, T, V) logits."""
        return self.decode(tgt_in, self.encode(src), src)


def build(cfg):
    """Builds a Translator from a config dict (the one stored in checkpoints)."""
    return Translator(cfg["vocab"], cfg["d_model"], cfg["heads"], cfg["d_ff"], cfg["enc_layers"],
                      cfg["dec_layers"], cfg["dropout"], cfg["max_pos"])


class StepDecoder:
    """Runs a Translator's decoder one position at a time with cached keys and values (the
    weights of its nn.TransformerDecoder, attention written out); step() gives the logits that
    model.decode gives for the last position, within float rounding."""

    def __init__(self, model, memory, src):
        self.m = model
        self.layers = model.tf.decoder.layers
        self.d = model.d_model
        self.h = self.layers[0].self_attn.num_heads
        self.b = src.shape[0]
        self.mask = torch.zeros(self.b, 1, 1, src.shape[1])           # (B, 1, 1, S)
        self.mask.masked_fill_(src.eq(PAD)[:, None, None, :], float("-inf"))
        self.cross = []
        d = self.d
        for layer in self.layers:
            w, bias = layer.multihead_attn.in_proj_weight, layer.multihead_attn.in_proj_bias
            self.cross.append((self.heads(F.linear(memory, w[d:2 * d], bias[d:2 * d])),
                               self.heads(F.linear(memory, w[2 * d:], bias[2 * d:]))))
        self.k = [None] * len(self.layers)                              # (B, H, t, dh) each
        self.v = [None] * len(self.layers)
        self.pos = 0

    def heads(self, x):
        """(B, T, d) -> (B, H, T, d/H)."""
        return x.view(x.shape[0], x.shape[1], self.h, -1).transpose(1, 2)

    def attend(self, q, k, v, mask, module):
        """softmax(q k^T / sqrt(dh) + mask) v per head, heads joined, then module's out_proj."""
        scores = torch.matmul(q, k.transpose(-1, -2)) * (q.shape[-1] ** -0.5)
        if mask is not None:
            scores = scores + mask
        o = torch.matmul(torch.softmax(scores, -1), v)                  # (B, H, 1, dh)
        return module.out_proj(o.transpose(1, 2).reshape(self.b, 1, self.d))

    def step(self, tokens):
        """(B,) tokens at the next position -> (B, V) logits."""
        d = self.d
        x = self.m.embed(tokens)[:, None] * math.sqrt(d) + self.m.pe[self.pos][None, None]
        self.pos += 1
        for i, layer in enumerate(self.layers):
            q, k, v = F.linear(x, layer.self_attn.in_proj_weight,
                               layer.self_attn.in_proj_bias).split(d, -1)
            k, v = self.heads(k), self.heads(v)
            self.k[i] = k if self.k[i] is None else torch.cat([self.k[i], k], 2)
            self.v[i] = v if self.v[i] is None else torch.cat([self.v[i], v], 2)
            x = layer.norm1(x + self.attend(self.heads(q), self.k[i], self.v[i], None,
                                            layer.self_attn))
            w, bias = layer.multihead_attn.in_proj_weight, layer.multihead_attn.in_proj_bias
            q = self.heads(F.linear(x, w[:d], bias[:d]))
            x = layer.norm2(x + self.attend(q, *self.cross[i], self.mask, layer.multihead_attn))
            x = layer.norm3(x + layer.linear2(F.relu(layer.linear1(x))))
        x = self.m.tf.decoder.norm(x)
        return F.linear(x[:, 0], self.m.embed.weight)


@torch.no_grad()
def greedy(model, srcs, max_len, batch_size=64, relative=False):
    """Greedy-decodes lists of source ids (without </s>), never choosing <pad> or <s> (the
    exported gen.bad_ids), at most max_len tokens (with relative, also at most twice the longest
    source of the batch plus 10: quick validation); returns lists of output ids."""
    model.eval()
    order = sorted(range(len(srcs)), key=lambda i: len(srcs[i]))
    out = [None] * len(srcs)
    for b in range(0, len(order), batch_size):
        idx = order[b: b + batch_size]
        src = pad([srcs[i][: model.pe.shape[0] - 1] + [EOS] for i in idx])
        dec = StepDecoder(model, model.encode(src), src)
        nxt = torch.full((len(idx),), BOS, dtype=torch.long)
        done = torch.zeros(len(idx), dtype=torch.bool)
        toks = []
        limit = min(max_len, 2 * src.shape[1] + 10) if relative else max_len
        for _ in range(limit):
            logits = dec.step(nxt)
            logits[:, PAD] = float("-inf")
            logits[:, BOS] = float("-inf")
            nxt = logits.argmax(-1)
            toks.append(torch.where(done, torch.full_like(nxt, PAD), nxt))
            done |= nxt.eq(EOS)
            if bool(done.all()):
                break
        ys = torch.stack(toks, 1).tolist()
        for row, i in enumerate(idx):
            t = ys[row]
            out[i] = t[: t.index(EOS)] if EOS in t else [x for x in t if x != PAD]
    return out


def pad(rows):
    """Pads lists of ids with PAD into a (B, T) long tensor."""
    t = max(len(r) for r in rows)
    out = torch.full((len(rows), t), PAD, dtype=torch.long)
    for i, r in enumerate(rows):
        out[i, : len(r)] = torch.tensor(r, dtype=torch.long)
    return out


# ---- attn model files --------------------------------------------------------------------------

def name_pairs(cfg):
    """Yields (kind, attn prefix, Translator prefix) for every weight group: kind "attn" is an
    attention block (packed in_proj in torch, q/k/v/o in attn), "copy" a weight and bias pair."""
    for i in range(cfg["enc_layers"]):
        s = "tf.encoder.layers.%d" % i
        yield "attn", "enc.%d.attn" % i, s + ".self_attn"
        yield "copy", "enc.%d.attn_norm" % i, s + ".norm1"
        yield "copy", "enc.%d.ffn.up" % i, s + ".linear1"
        yield "copy", "enc.%d.ffn.down" % i, s + ".linear2"
        yield "copy", "enc.%d.ffn_norm" % i, s + ".norm2"
    for i in range(cfg["dec_layers"]):
        s = "tf.decoder.layers.%d" % i
        yield "attn", "dec.%d.attn" % i, s + ".self_attn"
        yield "copy", "dec.%d.attn_norm" % i, s + ".norm1"
        yield "attn", "dec.%d.cross" % i, s + ".multihead_attn"
        yield "copy", "dec.%d.cross_norm" % i, s + ".norm2"
        yield "copy", "dec.%d.ffn.up" % i, s + ".linear1"
        yield "copy", "dec.%d.ffn.down" % i, s + ".linear2"
        yield "copy", "dec.%d.ffn_norm" % i, s + ".norm3"
    yield "copy", "enc.norm", "tf.encoder.norm"
    yield "copy", "dec.norm", "tf.decoder.norm"


def attn_tensors(cfg, sd):
    """Maps a Translator state dict to attn's tensor names (float32 numpy arrays)."""
    d = cfg["d_model"]
    out = {"embed.weight": sd["embed.weight"]}
    for kind, dst, src in name_pairs(cfg):
        if kind == "attn":
            w, b = sd[src + ".in_proj_weight"], sd[src + ".in_proj_bias"]
            for j, name in enumerate("qkv"):
                out["%s.%s.weight" % (dst, name)] = w[j * d:(j + 1) * d]
                out["%s.%s.bias" % (dst, name)] = b[j * d:(j + 1) * d]
            dst, src = dst + ".o", src + ".out_proj"
        for part in ("weight", "bias"):
            out["%s.%s" % (dst, part)] = sd["%s.%s" % (src, part)]
    return {k: v.detach().float().contiguous().numpy() for k, v in out.items()}


def state_from_attn(cfg, tensors):
    """Inverse of attn_tensors: a Translator state dict from attn tensors."""
    t = {k: torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32)) for k, v in tensors.items()}
    sd = {"embed.weight": t["embed.weight"]}
    for kind, src, dst in name_pairs(cfg):
        if kind == "attn":
            sd[dst + ".in_proj_weight"] = torch.cat([t["%s.%s.weight" % (src, n)] for n in "qkv"])
            sd[dst + ".in_proj_bias"] = torch.cat([t["%s.%s.bias" % (src, n)] for n in "qkv"])
            src, dst = src + ".o", dst + ".out_proj"
        for part in ("weight", "bias"):
            sd["%s.%s" % (dst, part)] = t["%s.%s" % (src, part)]
    return sd


def config_from_meta(meta, dropout=0.0):
    """The Translator config (build's) of an attn model file's metadata."""
    return dict(vocab=meta["vocab_size"], d_model=meta["d_model"], heads=meta["n_heads"],
                d_ff=meta["d_ff"], enc_layers=meta["n_enc_layers"], dec_layers=meta["n_dec_layers"],
                dropout=dropout, max_pos=meta["max_positions"])


def load_attn(path):
    """Builds a Translator (eval mode) from an attn model file written by export."""
    meta, tensors = attnfile.read(path)
    cfg = config_from_meta(meta)
    model = build(cfg)
    model.load_state_dict(state_from_attn(cfg, tensors))
    model.eval()
    return model, meta

