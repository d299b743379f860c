"""hf_attention.py — attention goldens for the Hugging Face families attn converts (BART, Marian,
T5 v1.0 and v1.1, mBART), from a PyTorch forward pass written here from each family's definition.

transformers is not installed here, so this script carries its own forward pass of each family
(post-norm BART / Marian with learned or sinusoidal positions, pre-norm T5 with RMSNorm and
relative position buckets) and earns its place as a reference by reproducing, before it writes
anything, what transformers 4.30 computed for the fixtures in tests/data/hf: the teacher-forced
logits (<case>.logits.npy) and encoder states (<case>.encoder_last_hidden_state.npy) of every case
in reference.txt, padded batch included, within 1e-4, and T5's bucket table
(t5_relative_position_buckets.json) exactly.  It stops with an error when any of them differs.

Then, for a short input of its own (two sources of different lengths, batched with right padding
and an attention mask as transformers is run, and a few teacher-forced decoder tokens), it writes
the attention probabilities as transformers returns them with output_attentions=True:
cross_attentions[l][b, h, t, j], the softmax over source positions j of decoder step t's query
(pad positions masked with finfo(float32).min, so exactly 0), and encoder_attentions[l][0, h, i, j]
of the first (unpadded) source.  BART and Marian scale the query by head_dim**-0.5; T5 does not
scale, and adds its relative position bias in self-attention only.

mBART has no transformers fixture.  With --make-mbart the script first writes tests/data/hf/mbart, a
small seeded MBartForConditionalGeneration checkpoint (config.json, model.safetensors); its goldens
come from the pre-norm arrangement of the same BART code (LayerNorm before each sub-layer, a final
LayerNorm per stack), which no transformers output checks: attention.txt says "checked none".

Run from the repository root with Debian's python3 (torch, numpy):
    /usr/bin/python3 -m scripts.goldens.hf_attention [--dir tests/data/hf] [--make-mbart] [MODEL...]
It reads MODEL/config.json, MODEL/model.safetensors (or pytorch_model.bin) and MODEL/reference.txt
and writes MODEL/attention.txt, whitespace-separated text read by tests/test_hf.c:
    hf-attention 1
    model NAME
    checked logits X encoder Y      this script's max |diff| from transformers over the fixtures
                                    ("checked none" for mbart)
    tol 1e-05                       max abs difference the test allows
    rows B
    src ROW LEN id...               per row, the unpadded source ids
    dec ROW T id...                 per row, the decoder inputs (starting with decoder_start)
    cross L H T S                   then for each row b: L*H*T*S floats [l][h][t][j], S = longest
                                    source, zeros past the row's length
    enc L H S S                     then L*H*S*S floats: row 0's encoder self-attention [l][h][i][j]
"""

import argparse
import json
import math
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

MODELS = ["bart", "marian", "t5_v1_0", "t5_v1_1", "mbart"]
TOL_LOGITS = 1e-4
TOL_ATTENTION = 1e-5
NEG = torch.finfo(torch.float32).min


# ---- inputs ----------------------------------------------------------------------------------

def read_weights(folder):
    """Returns {name: float32 tensor} from model.safetensors (read here: u64 header length, JSON
    header, raw little-endian data) or else pytorch_model.bin."""
    path = os.path.join(folder, "model.safetensors")
    if not os.path.exists(path):
        sd = torch.load(os.path.join(folder, "pytorch_model.bin"), map_location="cpu")
        return {k: v.float() for k, v in sd.items()}
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    base, out = 8 + n, {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        if t["dtype"] != "F32":
            sys.exit("hf_attention.py: %s: %s is %s, only F32 is read" % (path, name, t["dtype"]))
        b, e = t["data_offsets"]
        a = np.frombuffer(blob, dtype="<f4", count=(e - b) // 4, offset=base + b)
        out[name] = torch.from_numpy(a.reshape(t["shape"]).copy())
    return out


def read_reference(folder):
    """Returns reference.txt's cases: [{name, src: [[ids]], dec: [[ids]], enc, logits}]."""
    cases = []
    with open(os.path.join(folder, "reference.txt")) as f:
        for line in f:
            w = line.split()
            if not w or w[0] in ("#", "model", "end", "gen", "seq", "score"):
                continue
            if w[0] == "case":
                cases.append({"name": w[1], "src": [None] * int(w[2]), "dec": [None] * int(w[2])})
            elif w[0] in ("src", "dec"):
                ids = [int(v) for v in w[3:]]
                assert len(ids) == int(w[2]), line
                cases[-1][w[0]][int(w[1])] = ids
            elif w[0] in ("enc", "logits"):
                cases[-1][w[0]] = w[1]
    return cases


def batch(rows, pad):
    """Right-pads rows of ids with pad: (ids (B, S) long, mask (B, S) with 1 on real tokens)."""
    S = max(len(r) for r in rows)
    ids = torch.tensor([r + [pad] * (S - len(r)) for r in rows], dtype=torch.long)
    mask = torch.tensor([[1] * len(r) + [0] * (S - len(r)) for r in rows], dtype=torch.long)
    return ids, mask


def key_mask(mask, n_queries):
    """The additive mask (B, 1, Tq, S): 0 on real keys, finfo(float32).min on padding."""
    m = (1.0 - mask[:, None, None, :].float()) * NEG
    return m.expand(-1, 1, n_queries, -1)


def causal_mask(T):
    """The additive causal mask (1, 1, T, T): finfo(float32).min above the diagonal."""
    return torch.triu(torch.full((T, T), NEG), diagonal=1)[None, None]


# ---- attention shared by the families ----------------------------------------------------------

def attention(q, k, v, add, scale, n_heads):
    """Multi-head attention of q (B, Tq, inner) over k, v (B, Tk, inner) with additive add
    (broadcast to (B, H, Tq, Tk)): returns (context (B, Tq, inner), probabilities
    (B, H, Tq, Tk))."""
    B, Tq, inner = q.shape
    dh = inner // n_heads

    def heads(x):
        """(B, T, inner) -> (B, H, T, dh)."""
        return x.view(B, -1, n_heads, dh).transpose(1, 2)

    scores = torch.matmul(heads(q) * scale, heads(k).transpose(-1, -2)) + add
    p = torch.softmax(scores.float(), dim=-1)
    ctx = torch.matmul(p, heads(v)).transpose(1, 2).reshape(B, Tq, inner)
    return ctx, p


# ---- BART and Marian -------------------------------------------------------------------------

def sinusoids(n_pos, d):
    """Marian's position table (n_pos, d): sin in the first half, cos in the second, not
    interleaved; computed in float64 and rounded to float32."""
    pos = np.arange(n_pos, dtype=np.float64)[:, None]
    j = np.arange(d // 2, dtype=np.float64)[None, :]
    angle = pos / np.power(10000.0, 2 * j / d)
    table = np.concatenate([np.sin(angle), np.cos(angle)], axis=1)
    return torch.from_numpy(table.astype(np.float32))


class BartLike:
    """BART / Marian: post-norm blocks; mBART: pre-norm blocks and a final LayerNorm per stack;
    all with biased projections and the query scaled by head_dim**-0.5."""

    def __init__(self, cfg, w):
        self.cfg, self.w = cfg, w
        self.family = cfg["model_type"]
        self.pre = self.family == "mbart"
        self.d = cfg["d_model"]
        self.heads = cfg["encoder_attention_heads"]
        assert cfg["decoder_attention_heads"] == self.heads
        self.act = {"gelu": lambda x: F.gelu(x), "swish": F.silu, "silu": F.silu,
                    "relu": F.relu}[cfg["activation_function"]]
        self.embed_scale = math.sqrt(self.d) if cfg.get("scale_embedding") else 1.0
        if self.family == "marian":
            self.table = sinusoids(cfg["max_position_embeddings"], self.d)

    def lin(self, x, name):
        """Linear layer name (weight and bias) applied to x."""
        return F.linear(x, self.w[name + ".weight"], self.w[name + ".bias"])

    def ln(self, x, name):
        """LayerNorm name (eps 1e-5) applied to x."""
        return F.layer_norm(x, (self.d,), self.w[name + ".weight"], self.w[name + ".bias"], 1e-5)

    def embed(self, ids, stack):
        """Token embedding times embed_scale plus positions 0.. (BART: learned, offset 2, then
        layernorm_embedding; Marian: the sinusoid table)."""
        x = self.w["model.shared.weight"][ids] * self.embed_scale
        pos = torch.arange(ids.shape[1])
        if self.family == "marian":
            return x + self.table[pos]
        x = x + self.w["model.%s.embed_positions.weight" % stack][pos + 2]
        return self.ln(x, "model.%s.layernorm_embedding" % stack)

    def attn(self, x, kv, add, name):
        """Attention module name, queries from x over kv: (output, probabilities)."""
        q = self.lin(x, name + ".q_proj")
        ctx, p = attention(q, self.lin(kv, name + ".k_proj"), self.lin(kv, name + ".v_proj"), add,
                           (self.d // self.heads) ** -0.5, self.heads)
        return self.lin(ctx, name + ".out_proj"), p

    def ffn(self, x, name):
        """The feed-forward block of layer prefix name: fc2(act(fc1(x)))."""
        return self.lin(self.act(self.lin(x, name + "fc1")), name + "fc2")

    def sublayer(self, x, f, norm):
        """x plus sub-layer f, with LayerNorm norm before f (mBART) or after the sum; returns
        (new x, what f returned besides its output)."""
        out, extra = f(self.ln(x, norm) if self.pre else x)
        x = x + out
        return (x if self.pre else self.ln(x, norm)), extra

    def forward(self, src, mask, dec):
        """Returns logits (B, T, V), encoder output (B, S, d), cross-attention [L](B, H, T, S)
        and encoder self-attention [L](B, H, S, S)."""
        x, enc_p = self.embed(src, "encoder"), []
        add = key_mask(mask, src.shape[1])
        for l in range(self.cfg["encoder_layers"]):
            n = "model.encoder.layers.%d." % l
            x, p = self.sublayer(x, lambda h: self.attn(h, h, add, n + "self_attn"),
                                 n + "self_attn_layer_norm")
            x, _ = self.sublayer(x, lambda h: (self.ffn(h, n), None), n + "final_layer_norm")
            enc_p.append(p)
        if self.pre:
            x = self.ln(x, "model.encoder.layer_norm")
        y, cross = self.embed(dec, "decoder"), []
        T = dec.shape[1]
        for l in range(self.cfg["decoder_layers"]):
            n = "model.decoder.layers.%d." % l
            y, _ = self.sublayer(y, lambda h: self.attn(h, h, causal_mask(T), n + "self_attn"),
                                 n + "self_attn_layer_norm")
            y, p = self.sublayer(y, lambda h: self.attn(h, x, key_mask(mask, T),
                                                        n + "encoder_attn"),
                                 n + "encoder_attn_layer_norm")
            y, _ = self.sublayer(y, lambda h: (self.ffn(h, n), None), n + "final_layer_norm")
            cross.append(p)
        if self.pre:
            y = self.ln(y, "model.decoder.layer_norm")
        logits = F.linear(y, self.w["model.shared.weight"]) + self.w["final_logits_bias"]
        return logits, x, cross, enc_p


# ---- T5 --------------------------------------------------------------------------------------

def t5_bucket(rel, bidirectional, n_buckets, max_distance):
    """T5's bucket of relative position rel = key - query (an int tensor), as T5 defines it:
    half the buckets per direction when bidirectional, exact below n/2, log-spaced above,
    clamped to the last bucket."""
    ret = torch.zeros_like(rel)
    if bidirectional:
        n_buckets //= 2
        ret = ret + (rel > 0).long() * n_buckets
        rel = rel.abs()
    else:
        rel = -torch.clamp(rel, max=0)
    exact = n_buckets // 2
    far = exact + (torch.log(rel.float() / exact) / math.log(max_distance / exact) *
                   (n_buckets - exact)).long()
    far = torch.clamp(far, max=n_buckets - 1)
    return ret + torch.where(rel < exact, rel, far)


class T5:
    """T5 v1.0 / v1.1: pre-norm RMSNorm blocks, no biases, unscaled scores, relative position
    bias (block 0's table, shared by the stack's layers) in self-attention only."""

    def __init__(self, cfg, w):
        self.cfg, self.w = cfg, w
        self.heads = cfg["num_heads"]
        self.eps = cfg.get("layer_norm_epsilon", 1e-6)
        proj = cfg.get("feed_forward_proj", "relu")
        self.gated = proj.startswith("gated-")
        act = proj[len("gated-"):] if self.gated else proj
        self.act = {"relu": F.relu, "gelu": self.gelu_tanh}[act]
        self.tied = cfg.get("tie_word_embeddings", True)

    @staticmethod
    def gelu_tanh(x):
        """gelu_new, the tanh approximation of GELU."""
        return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))

    def rms(self, x, name):
        """T5's RMSNorm name: weight * x / sqrt(mean(x^2) + eps), no mean, no bias."""
        var = x.float().pow(2).mean(-1, keepdim=True)
        return self.w[name + ".weight"] * (x * torch.rsqrt(var + self.eps))

    def bias(self, stack, Tq, Tk, bidirectional):
        """Relative position bias (1, H, Tq, Tk) of stack from block 0's table."""
        rel = torch.arange(Tk)[None, :] - torch.arange(Tq)[:, None]
        b = t5_bucket(rel, bidirectional, self.cfg["relative_attention_num_buckets"],
                      self.cfg.get("relative_attention_max_distance", 128))
        table = self.w["%s.block.0.layer.0.SelfAttention.relative_attention_bias.weight" % stack]
        return table[b].permute(2, 0, 1)[None]

    def attn(self, x, kv, add, name):
        """Attention module name, queries from x over kv, unscaled: (output, probabilities)."""
        ctx, p = attention(F.linear(x, self.w[name + ".q.weight"]),
                           F.linear(kv, self.w[name + ".k.weight"]),
                           F.linear(kv, self.w[name + ".v.weight"]), add, 1.0, self.heads)
        return F.linear(ctx, self.w[name + ".o.weight"]), p

    def ffn(self, x, name):
        """The feed-forward block name: wo(act(wi x)), or wo(act(wi_0 x) * wi_1 x) when gated."""
        if self.gated:
            h = self.act(F.linear(x, self.w[name + ".wi_0.weight"])) * \
                F.linear(x, self.w[name + ".wi_1.weight"])
        else:
            h = self.act(F.linear(x, self.w[name + ".wi.weight"]))
        return F.linear(h, self.w[name + ".wo.weight"])

    def forward(self, src, mask, dec):
        """Returns logits (B, T, V), encoder output (B, S, d), cross-attention [L](B, H, T, S)
        and encoder self-attention [L](B, H, S, S)."""
        S, T = src.shape[1], dec.shape[1]
        x, enc_p = self.w["shared.weight"][src], []
        add = self.bias("encoder", S, S, True) + key_mask(mask, S)
        for l in range(self.cfg["num_layers"]):
            n = "encoder.block.%d.layer." % l
            h = self.rms(x, n + "0.layer_norm")
            a, p = self.attn(h, h, add, n + "0.SelfAttention")
            x = x + a
            x = x + self.ffn(self.rms(x, n + "1.layer_norm"), n + "1.DenseReluDense")
            enc_p.append(p)
        x = self.rms(x, "encoder.final_layer_norm")
        y, cross = self.w["shared.weight"][dec], []
        self_add = self.bias("decoder", T, T, False) + causal_mask(T)
        for l in range(self.cfg.get("num_decoder_layers", self.cfg["num_layers"])):
            n = "decoder.block.%d.layer." % l
            h = self.rms(y, n + "0.layer_norm")
            y = y + self.attn(h, h, self_add, n + "0.SelfAttention")[0]
            a, p = self.attn(self.rms(y, n + "1.layer_norm"), x, key_mask(mask, T),
                             n + "1.EncDecAttention")
            y = y + a
            y = y + self.ffn(self.rms(y, n + "2.layer_norm"), n + "2.DenseReluDense")
            cross.append(p)
        y = self.rms(y, "decoder.final_layer_norm")
        if self.tied:
            logits = F.linear(y * self.cfg["d_model"] ** -0.5, self.w["shared.weight"])
        else:
            logits = F.linear(y, self.w["lm_head.weight"])
        return logits, x, cross, enc_p


# ---- a small mBART checkpoint (no transformers fixture exists for mBART) ------------------------

MBART_CONFIG = {"architectures": ["MBartForConditionalGeneration"], "model_type": "mbart",
                "d_model": 16, "encoder_layers": 2, "decoder_layers": 2,
                "encoder_attention_heads": 4, "decoder_attention_heads": 4,
                "encoder_ffn_dim": 32, "decoder_ffn_dim": 32, "vocab_size": 64,
                "max_position_embeddings": 16, "activation_function": "gelu",
                "scale_embedding": True, "pad_token_id": 1, "bos_token_id": 0, "eos_token_id": 2,
                "decoder_start_token_id": 2, "forced_eos_token_id": 2,
                "tie_word_embeddings": True, "torch_dtype": "float32"}


def mbart_shapes(c):
    """{name: shape} of an MBartForConditionalGeneration checkpoint with config c (tied copies
    of model.shared left out, as save_pretrained leaves them out of safetensors)."""
    d, V, F_ = c["d_model"], c["vocab_size"], c["encoder_ffn_dim"]
    out = {"model.shared.weight": [V, d], "final_logits_bias": [1, V]}

    def add(name, rows, cols=None):
        """A Linear (rows, cols) or, without cols, a LayerNorm of rows: weight and bias."""
        out[name + ".weight"] = [rows, cols] if cols else [rows]
        out[name + ".bias"] = [rows]

    for stack in ("encoder", "decoder"):
        m = "model.%s." % stack
        out[m + "embed_positions.weight"] = [c["max_position_embeddings"] + 2, d]
        add(m + "layernorm_embedding", d)
        add(m + "layer_norm", d)
        blocks = ["self_attn"] + (["encoder_attn"] if stack == "decoder" else [])
        for l in range(c[stack + "_layers"]):
            n = m + "layers.%d." % l
            for b in blocks:
                for p in ("q_proj", "k_proj", "v_proj", "out_proj"):
                    add(n + b + "." + p, d, d)
                add(n + b + "_layer_norm", d)
            add(n + "fc1", F_, d)
            add(n + "fc2", d, F_)
            add(n + "final_layer_norm", d)
    return out


def make_mbart(folder):
    """Writes folder/config.json and folder/model.safetensors: MBART_CONFIG with seeded weights
    (std 0.3, so that attention is far from uniform; norms and biases 1 and 0 give or take
    0.1)."""
    g = torch.Generator().manual_seed(15)
    tensors = {}
    for name, shape in sorted(mbart_shapes(MBART_CONFIG).items()):
        t = torch.randn(shape, generator=g) * (0.1 if len(shape) == 1 else 0.3)
        if "norm" in name and name.endswith(".weight"):
            t = t + 1.0
        tensors[name] = t
    header, data, off = {"__metadata__": {"format": "pt"}}, [], 0
    for name, t in tensors.items():
        b = t.numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        data.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(data))
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(MBART_CONFIG, f, indent=2)
        f.write("\n")


# ---- checking against transformers, writing the goldens ----------------------------------------

def build(folder):
    """Returns (config, model) for the fixture folder."""
    with open(os.path.join(folder, "config.json")) as f:
        cfg = json.load(f)
    kind = {"bart": BartLike, "mbart": BartLike, "marian": BartLike,
            "t5": T5}.get(cfg["model_type"])
    if kind is None:
        sys.exit("hf_attention.py: %s: model_type %s has no forward pass here"
                 % (folder, cfg["model_type"]))
    return cfg, kind(cfg, read_weights(folder))


def check_buckets(path):
    """Exits unless t5_bucket gives the table transformers wrote into path."""
    with open(path) as f:
        ref = json.load(f)
    rel = torch.tensor(ref["relative_position"])
    for key, bidir in (("bidirectional_encoder", True), ("unidirectional_decoder", False)):
        if t5_bucket(rel, bidir, 32, 128).tolist() != ref[key]:
            sys.exit("hf_attention.py: T5 buckets differ from %s (%s)" % (path, key))


def check(folder, cfg, model):
    """Runs every case of reference.txt and returns the max |diff| of (logits, encoder output)
    from transformers' .npy files; exits when either exceeds TOL_LOGITS; None without
    reference.txt (the made mBART model)."""
    if not os.path.exists(os.path.join(folder, "reference.txt")):
        print("  %s: no transformers outputs to check this forward pass against; it follows the "
              "family's definition only" % folder)
        return None
    worst_l = worst_e = 0.0
    for c in read_reference(folder):
        src, mask = batch(c["src"], cfg["pad_token_id"])
        dec = torch.tensor(c["dec"], dtype=torch.long)
        logits, enc, _, _ = model.forward(src, mask, dec)
        want_l = np.load(os.path.join(folder, c["logits"]))
        want_e = np.load(os.path.join(folder, c["enc"]))
        dl = float(np.abs(logits.numpy() - want_l).max())
        de = float(np.abs(enc.numpy() - want_e).max())
        print("  %s/%s: logits max|diff| %.2e, encoder %.2e" % (os.path.basename(folder),
                                                              c["name"], dl, de))
        worst_l, worst_e = max(worst_l, dl), max(worst_e, de)
    if not (worst_l <= TOL_LOGITS and worst_e <= TOL_LOGITS):
        sys.exit("hf_attention.py: %s: this forward pass is %.2e (logits) / %.2e (encoder) from "
                 "transformers, over %g: no goldens written" % (folder, worst_l, worst_e,
                                                                TOL_LOGITS))
    return worst_l, worst_e


def golden_input(cfg, seed):
    """A short input: sources of 6 and 3 tokens (BART framed <s> ... </s>, the others ending in
    </s>) and 4 decoder inputs per row starting with decoder_start, ordinary ids drawn with seed."""
    special = {cfg.get(k) for k in ("pad_token_id", "eos_token_id", "bos_token_id",
                                    "decoder_start_token_id")}
    ordinary = [i for i in range(cfg["vocab_size"]) if i not in special]
    rng = np.random.default_rng(seed)

    def draw(n):
        """n ordinary ids."""
        return [int(ordinary[i]) for i in rng.integers(0, len(ordinary), n)]

    eos, framed = cfg["eos_token_id"], cfg["model_type"] == "bart"
    src = [([cfg["bos_token_id"]] if framed else []) + draw(n - 1 - framed) + [eos]
           for n in (6, 3)]
    dec = [[cfg["decoder_start_token_id"]] + draw(3) for _ in src]
    return src, dec


def fmt(a):
    """The values of a as space-separated text, 8 decimals (probabilities: 5e-9 absolute)."""
    return " ".join("%.8f" % v for v in np.asarray(a, dtype=np.float64).ravel())


def write(folder, name, checked):
    """Writes folder/attention.txt: the golden input's attention; checked = check()'s result."""
    cfg, model = build(folder)
    src_rows, dec_rows = golden_input(cfg, 15)
    src, mask = batch(src_rows, cfg["pad_token_id"])
    dec = torch.tensor(dec_rows, dtype=torch.long)
    _, _, cross, enc = model.forward(src, mask, dec)
    cross = torch.stack(cross, 1).numpy()        # (B, L, H, T, S)
    enc = torch.stack(enc, 1)[0].numpy()         # (L, H, S, S) of row 0, unpadded
    B, L, H, T, S = cross.shape
    assert len(src_rows[0]) == S
    with open(os.path.join(folder, "attention.txt"), "w") as f:
        f.write("hf-attention 1\nmodel %s\n" % name)
        f.write("checked logits %.2e encoder %.2e\n" % checked if checked else "checked none\n")
        f.write("tol %g\nrows %d\n" % (TOL_ATTENTION, B))
        for b, r in enumerate(src_rows):
            f.write("src %d %d %s\n" % (b, len(r), " ".join(map(str, r))))
        for b, r in enumerate(dec_rows):
            f.write("dec %d %d %s\n" % (b, len(r), " ".join(map(str, r))))
        f.write("cross %d %d %d %d\n" % (L, H, T, S))
        for b in range(B):
            f.write(fmt(cross[b]) + "\n")
        f.write("enc %d %d %d %d\n%s\n" % (enc.shape + (fmt(enc),)))


def main():
    """Checks each model against transformers' outputs, then writes its attention.txt."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dir", default=os.path.join("tests", "data", "hf"))
    ap.add_argument("--make-mbart", action="store_true",
                    help="first (re)write DIR/mbart, the small mBART checkpoint")
    ap.add_argument("models", nargs="*", default=MODELS)
    a = ap.parse_args()
    torch.set_num_threads(1)
    if a.make_mbart:
        make_mbart(os.path.join(a.dir, "mbart"))
    check_buckets(os.path.join(a.dir, "t5_relative_position_buckets.json"))
    for name in a.models:
        folder = os.path.join(a.dir, name)
        cfg, model = build(folder)
        with torch.no_grad():
            checked = check(folder, cfg, model)
            write(folder, name, checked)
        print("%s: %s written" % (name, os.path.join(folder, "attention.txt")))


if __name__ == "__main__":
    main()
