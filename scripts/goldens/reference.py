"""reference.py — PyTorch reference models and goldens for attn's engine.

Builds encoder-decoder models around torch.nn.Transformer (the paper's architecture, including
its final encoder and decoder LayerNorms) with seeded random weights for several configurations,
writes each as an attn model file through scripts/lib/attnfile.py, and writes golden outputs
computed by PyTorch: the encoder output of a batch of padded sources, teacher-forced decoder logits
for target prefixes, and greedy output ids (full recomputation each step, no cache).

Run from the repository root as python3 -m scripts.goldens.reference with:
    --out tests/data/ref               regenerate the committed small goldens
    --check --attn build/attn          regenerate every config (large ones too) in a temp dir and
                                       run the engine's test (build/test_transformer) against them
    --bench MODEL.attn ...             PyTorch timings for scripts/bench/engine.sh
    --base-model PATH --dtype q8       the random base-size benchmark model

Each configuration is also written in bf16 and q8 (NAME.bf16.attn, NAME.q8.attn): the test
measures how far their logits move from PyTorch's f32 ones and how often greedy ids agree.

Golden files (NAME.ref) are whitespace-separated text, read by tests/test_transformer.c:
    attn-ref 1
    model NAME.attn
    tol F                              max abs difference allowed (f32: 1e-4)
    sources N, then N lines: LEN id...
    enc S LEN D  then LEN*D floats     encoder output of source S (valid positions)
    targets N T, then N lines of T ids (row r decodes against source r)
    logits N T V then N*T*V floats     logits[r, t] after feeding targets[r][0..t]
    greedy S LEN id...                 greedy ids from decoder_start, eos included, at most max_new
    margin F                           smallest top1 - top2 logit gap over every greedy step
Run with /usr/bin/python3 (Debian's python3-torch 1.13 and numpy).
"""

import argparse
import math
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn as nn

from scripts.lib import attnfile

# name: configuration. Small ones are committed (tests/data/ref); "live" ones only run in --check.
CONFIGS = {
    "post_relu_tied": dict(d=32, heads=4, ff=64, enc=2, dec=2, vocab=61, pre_norm=0,
                           act="relu", pos="sinusoidal", layout="interleaved", tied=1,
                           shared_src=1, out_bias=0, embed_scale=math.sqrt(32), embed_norm=0,
                           seed=1, live_only=0),
    "pre_gelu_untied": dict(d=40, heads=5, ff=80, enc=1, dec=2, vocab=75, pre_norm=1,
                            act="gelu", pos="sinusoidal", layout="concat", tied=0,
                            shared_src=0, out_bias=1, embed_scale=1.0, embed_norm=0,
                            seed=2, live_only=0),
    "post_gelu_learned": dict(d=32, heads=2, ff=48, enc=3, dec=2, vocab=53, pre_norm=0,
                              act="gelu", pos="learned", pos_offset=2, tied=1, shared_src=1,
                              out_bias=1, embed_scale=1.0, embed_norm=1, seed=3, live_only=0),
    "pre_relu_deep": dict(d=128, heads=8, ff=256, enc=6, dec=6, vocab=300, pre_norm=1,
                          act="relu", pos="sinusoidal", layout="interleaved", tied=0,
                          shared_src=1, out_bias=1, embed_scale=math.sqrt(128), embed_norm=0,
                          seed=4, live_only=1),
    "base_post_relu": dict(d=512, heads=8, ff=2048, enc=6, dec=6, vocab=1000, pre_norm=0,
                           act="relu", pos="sinusoidal", layout="interleaved", tied=1,
                           shared_src=1, out_bias=0, embed_scale=math.sqrt(512), embed_norm=0,
                           seed=5, live_only=1),
}

MAX_POS = 64
PAD, BOS, EOS = 0, 1, 2
MAX_NEW = 12


def sinusoids(n_pos, d, layout):
    """(n_pos, d) float32 table computed in float64: interleaved sin/cos or concatenated halves."""
    pe = np.zeros((n_pos, d), dtype=np.float64)
    half = d // 2
    for p in range(n_pos):
        for i in range(half):
            angle = p / math.pow(10000.0, 2.0 * i / d)
            if layout == "concat":
                pe[p, i], pe[p, half + i] = math.sin(angle), math.cos(angle)
            else:
                pe[p, 2 * i], pe[p, 2 * i + 1] = math.sin(angle), math.cos(angle)
    return torch.from_numpy(pe.astype(np.float32))


class RefModel(nn.Module):
    """torch.nn.Transformer with token embeddings, positions and an output projection."""

    def __init__(self, c):
        super().__init__()
        self.c = c
        d, V = c["d"], c["vocab"]
        self.tr = nn.Transformer(d_model=d, nhead=c["heads"], num_encoder_layers=c["enc"],
                                 num_decoder_layers=c["dec"], dim_feedforward=c["ff"],
                                 dropout=0.0, activation=c["act"], batch_first=True,
                                 norm_first=bool(c["pre_norm"]))
        self.src_embed = nn.Embedding(V, d)
        self.tgt_embed = self.src_embed if c["shared_src"] else nn.Embedding(V, d)
        self.out = None if c["tied"] else nn.Linear(d, V, bias=False)
        self.out_bias = nn.Parameter(torch.zeros(V)) if c["out_bias"] else None
        if c["pos"] == "learned":
            self.src_pos = nn.Embedding(c.get("max_pos", MAX_POS) + c["pos_offset"], d)
            self.tgt_pos = nn.Embedding(c.get("max_pos", MAX_POS) + c["pos_offset"], d)
        else:
            self.register_buffer("pe", sinusoids(c.get("max_pos", MAX_POS), d, c["layout"]))
        if c["embed_norm"]:
            self.src_norm = nn.LayerNorm(d)
            self.tgt_norm = nn.LayerNorm(d)

    def perturb(self, gen):
        """Moves every bias and norm weight off its initial 0 / 1 so that a dropped or swapped
        one shows; embeddings get a scale that keeps activations moderate."""
        with torch.no_grad():
            for name, p in self.named_parameters():
                if name.endswith("bias") or "norm" in name:
                    p.add_(torch.randn(p.shape, generator=gen) * 0.2)
                elif "embed" in name or "_pos" in name:
                    p.copy_(torch.randn(p.shape, generator=gen) * 0.5)

    def embed(self, ids, which):
        c = self.c
        emb = self.src_embed if which == "src" else self.tgt_embed
        x = emb(ids) * c["embed_scale"]
        L = ids.shape[1]
        if c["pos"] == "learned":
            pos = self.src_pos if which == "src" else self.tgt_pos
            x = x + pos.weight[c["pos_offset"]:c["pos_offset"] + L].unsqueeze(0)
        else:
            x = x + self.pe[:L].unsqueeze(0)
        if c["embed_norm"]:
            x = (self.src_norm if which == "src" else self.tgt_norm)(x)
        return x

    def encode(self, src, pad_mask):
        return self.tr.encoder(self.embed(src, "src"), src_key_padding_mask=pad_mask)

    def decode(self, tgt, memory, pad_mask):
        T = tgt.shape[1]
        causal = self.tr.generate_square_subsequent_mask(T)
        h = self.tr.decoder(self.embed(tgt, "tgt"), memory, tgt_mask=causal,
                            memory_key_padding_mask=pad_mask)
        w = self.tgt_embed.weight if self.out is None else self.out.weight
        logits = h @ w.t()
        if self.out_bias is not None:
            logits = logits + self.out_bias
        return logits


def build(name):
    c = CONFIGS[name]
    torch.manual_seed(c["seed"])
    m = RefModel(c)
    m.perturb(torch.Generator().manual_seed(1000 + c["seed"]))
    m.eval()
    return m


def export(m, path, dtype="f32", compress="zlib"):
    """Writes the model as an attn file (attn tensor names, see attn-spec / attn-format.5)."""
    c = m.c
    d = c["d"]
    meta = {
        "arch": "transformer", "name": "reference", "vocab_size": c["vocab"], "d_model": d,
        "n_heads": c["heads"], "d_head": d // c["heads"], "d_ff": c["ff"],
        "n_enc_layers": c["enc"], "n_dec_layers": c["dec"],
        "max_positions": c.get("max_pos", MAX_POS),
        "norm": "layer", "norm_eps": 1e-5, "pre_norm": c["pre_norm"], "activation": c["act"],
        "ffn_gated": 0, "pos_kind": c["pos"], "embed_scale": float(c["embed_scale"]),
        "attn_scale": 1.0 / math.sqrt(d // c["heads"]), "output_scale": 1.0,
        "pad_id": PAD, "bos_id": BOS, "eos_id": EOS, "unk_id": -1, "decoder_start_id": BOS,
        # the script's path of when tests/data/ref was committed: the files regenerate byte for byte
        "source": "scripts/reference.py (torch.nn.Transformer, random weights)",
    }
    if c["pos"] == "learned":
        meta["pos_offset"] = c["pos_offset"]
    else:
        meta["pos_sin_layout"] = c["layout"]
    t = {}

    def put(name, p):
        t[name] = p.detach().numpy().astype(np.float32)

    def attn(prefix, a):
        w, b = a.in_proj_weight, a.in_proj_bias
        for i, part in enumerate("qkv"):
            put("%s.%s.weight" % (prefix, part), w[i * d:(i + 1) * d])
            put("%s.%s.bias" % (prefix, part), b[i * d:(i + 1) * d])
        put(prefix + ".o.weight", a.out_proj.weight)
        put(prefix + ".o.bias", a.out_proj.bias)

    def norm(prefix, n):
        put(prefix + ".weight", n.weight)
        put(prefix + ".bias", n.bias)

    def ffn(prefix, layer):
        put(prefix + ".up.weight", layer.linear1.weight)
        put(prefix + ".up.bias", layer.linear1.bias)
        put(prefix + ".down.weight", layer.linear2.weight)
        put(prefix + ".down.bias", layer.linear2.bias)

    if c["shared_src"]:
        put("embed.weight", m.src_embed.weight)
    else:
        put("enc.embed.weight", m.src_embed.weight)
        put("dec.embed.weight", m.tgt_embed.weight)
    if c["pos"] == "learned":
        put("enc.pos.weight", m.src_pos.weight)
        put("dec.pos.weight", m.tgt_pos.weight)
    if c["embed_norm"]:
        norm("enc.embed_norm", m.src_norm)
        norm("dec.embed_norm", m.tgt_norm)
    for i, L in enumerate(m.tr.encoder.layers):
        attn("enc.%d.attn" % i, L.self_attn)
        norm("enc.%d.attn_norm" % i, L.norm1)
        ffn("enc.%d.ffn" % i, L)
        norm("enc.%d.ffn_norm" % i, L.norm2)
    norm("enc.norm", m.tr.encoder.norm)
    for i, L in enumerate(m.tr.decoder.layers):
        attn("dec.%d.attn" % i, L.self_attn)
        norm("dec.%d.attn_norm" % i, L.norm1)
        attn("dec.%d.cross" % i, L.multihead_attn)
        norm("dec.%d.cross_norm" % i, L.norm2)
        ffn("dec.%d.ffn" % i, L)
        norm("dec.%d.ffn_norm" % i, L.norm3)
    norm("dec.norm", m.tr.decoder.norm)
    if m.out is not None:
        put("out.weight", m.out.weight)
    if m.out_bias is not None:
        put("out.bias", m.out_bias)
    attnfile.write(path, meta, t, dtype=dtype, compress=compress)


def make_inputs(c, seed):
    """Three sources of different lengths and a target prefix per source (fixed by seed)."""
    g = np.random.RandomState(100 + seed)
    V = c["vocab"]
    lens = [7, 12, 3]
    src = [list(g.randint(3, V, size=n)) for n in lens]
    T = 6
    tgt = [[BOS] + list(g.randint(3, V, size=T - 1)) for _ in lens]
    return src, tgt


def padded(src):
    S = max(len(s) for s in src)
    ids = torch.full((len(src), S), PAD, dtype=torch.long)
    mask = torch.ones((len(src), S), dtype=torch.bool)
    for i, s in enumerate(src):
        ids[i, :len(s)] = torch.tensor(s)
        mask[i, :len(s)] = False
    return ids, mask


@torch.no_grad()
def goldens(m, src, tgt):
    ids, mask = padded(src)
    mem = m.encode(ids, mask)
    logits = m.decode(torch.tensor(tgt), mem, mask)
    greedy, margin = [], float("inf")
    for i in range(len(src)):
        one = torch.tensor([src[i]])
        mem1 = m.encode(one, None)
        seq = [BOS]
        for _ in range(MAX_NEW):
            lg = m.decode(torch.tensor([seq]), mem1, None)[0, -1]
            top = torch.topk(lg, 2).values
            margin = min(margin, float(top[0] - top[1]))
            nxt = int(torch.argmax(lg))
            seq.append(nxt)
            if nxt == EOS:
                break
        greedy.append(seq[1:])
    enc = [mem[i, :len(s)].numpy() for i, s in enumerate(src)]
    return enc, logits.numpy(), greedy, margin


def fmt(a):
    return " ".join("%.9g" % v for v in np.asarray(a, dtype=np.float32).ravel())


def write_ref(path, model_file, src, tgt, enc, logits, greedy, margin, tol):
    with open(path, "w") as f:
        f.write("attn-ref 1\nmodel %s\ntol %g\n" % (model_file, tol))
        f.write("sources %d\n" % len(src))
        for s in src:
            f.write("%d %s\n" % (len(s), " ".join(map(str, s))))
        for i, e in enumerate(enc):
            f.write("enc %d %d %d\n%s\n" % (i, e.shape[0], e.shape[1], fmt(e)))
        f.write("targets %d %d\n" % (len(tgt), len(tgt[0])))
        for t in tgt:
            f.write("%s\n" % " ".join(map(str, t)))
        f.write("logits %d %d %d\n%s\n" % (logits.shape + (fmt(logits),)))
        for i, g in enumerate(greedy):
            f.write("greedy %d %d %s\n" % (i, len(g), " ".join(map(str, g))))
        f.write("margin %.6g\n" % margin)


def generate(out_dir, names):
    os.makedirs(out_dir, exist_ok=True)
    for name in names:
        c = CONFIGS[name]
        m = build(name)
        src, tgt = make_inputs(c, c["seed"])
        enc, logits, greedy, margin = goldens(m, src, tgt)
        export(m, os.path.join(out_dir, name + ".attn"))
        for dt in ("bf16", "q8"):
            export(m, os.path.join(out_dir, "%s.%s.attn" % (name, dt)), dt)
        write_ref(os.path.join(out_dir, name + ".ref"), name + ".attn", src, tgt, enc, logits,
                  greedy, margin, 1e-4)
        print("reference: %s: d_model %d, %d+%d layers, greedy margin %.4g" %
              (name, c["d"], c["enc"], c["dec"], margin), file=sys.stderr)


def check(attn):
    """Regenerates every configuration in a temp dir and runs test_transformer against it."""
    build_dir = os.path.dirname(os.path.abspath(attn))
    test = os.path.join(build_dir, "test_transformer")
    if not os.path.exists(test):
        print("reference: %s missing: run make %s" % (test, test), file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="attn-ref-") as tmp:
        generate(tmp, list(CONFIGS))
        env = dict(os.environ, ATTN_REF_DIR=tmp, ATTN_REF_NAMES=",".join(CONFIGS))
        return subprocess.call([test], env=env)


# ---- benchmark peer: PyTorch on the same model -----------------------------------------------

class FileModel(nn.Module):
    """An attn model file (post-norm or pre-norm, layer norm, relu/gelu, sinusoidal or learned
    positions) loaded into torch.nn.Transformer, for timing PyTorch on the same weights."""

    def __init__(self, path):
        super().__init__()
        meta, t = attnfile.read(path)
        self.meta = meta
        d, H = meta["d_model"], meta["n_heads"]
        act = meta.get("activation", "relu")
        self.tr = nn.Transformer(d_model=d, nhead=H, num_encoder_layers=meta["n_enc_layers"],
                                 num_decoder_layers=meta["n_dec_layers"],
                                 dim_feedforward=meta["d_ff"], dropout=0.0,
                                 activation="gelu" if act.startswith("gelu") else "relu",
                                 batch_first=True, norm_first=bool(meta.get("pre_norm", 0)))
        sd = {}

        def get(n, default_shape=None):
            if n in t:
                return torch.from_numpy(t[n])
            return torch.zeros(default_shape) if default_shape is not None else None

        def attn(prefix, key):
            sd[key + ".in_proj_weight"] = torch.cat([get(prefix + ".%s.weight" % p) for p in "qkv"])
            sd[key + ".in_proj_bias"] = torch.cat([get(prefix + ".%s.bias" % p, (d,)) for p in "qkv"])
            sd[key + ".out_proj.weight"] = get(prefix + ".o.weight")
            sd[key + ".out_proj.bias"] = get(prefix + ".o.bias", (d,))

        def norm(prefix, key):
            sd[key + ".weight"] = get(prefix + ".weight") if prefix + ".weight" in t else torch.ones(d)
            sd[key + ".bias"] = get(prefix + ".bias", (d,))

        def ffn(prefix, key):
            ff = meta["d_ff"]
            sd[key + ".linear1.weight"] = get(prefix + ".up.weight")
            sd[key + ".linear1.bias"] = get(prefix + ".up.bias", (ff,))
            sd[key + ".linear2.weight"] = get(prefix + ".down.weight")
            sd[key + ".linear2.bias"] = get(prefix + ".down.bias", (d,))

        for i in range(meta["n_enc_layers"]):
            k = "encoder.layers.%d" % i
            attn("enc.%d.attn" % i, k + ".self_attn")
            norm("enc.%d.attn_norm" % i, k + ".norm1")
            ffn("enc.%d.ffn" % i, k)
            norm("enc.%d.ffn_norm" % i, k + ".norm2")
        for i in range(meta["n_dec_layers"]):
            k = "decoder.layers.%d" % i
            attn("dec.%d.attn" % i, k + ".self_attn")
            norm("dec.%d.attn_norm" % i, k + ".norm1")
            attn("dec.%d.cross" % i, k + ".multihead_attn")
            norm("dec.%d.cross_norm" % i, k + ".norm2")
            ffn("dec.%d.ffn" % i, k)
            norm("dec.%d.ffn_norm" % i, k + ".norm3")
        norm("enc.norm", "encoder.norm")
        norm("dec.norm", "decoder.norm")
        self.tr.load_state_dict(sd)
        self.src_embed = torch.from_numpy(t.get("enc.embed.weight", t.get("embed.weight")))
        self.tgt_embed = torch.from_numpy(t.get("dec.embed.weight", t.get("embed.weight")))
        self.out_w = torch.from_numpy(t["out.weight"]) if "out.weight" in t else self.tgt_embed
        self.out_b = torch.from_numpy(t["out.bias"]) if "out.bias" in t else None
        self.scale = float(meta.get("embed_scale", 1.0))
        P = int(meta.get("max_positions", 1024))
        off = int(meta.get("pos_offset", 0))
        if meta.get("pos_kind", "sinusoidal") == "learned":
            self.src_pe = torch.from_numpy(t["enc.pos.weight"][off:])
            self.tgt_pe = torch.from_numpy(t["dec.pos.weight"][off:])
        else:
            self.src_pe = self.tgt_pe = sinusoids(min(P, 512), d,
                                                  meta.get("pos_sin_layout", "interleaved"))
        self.eval()

    def embed(self, ids, table, pe):
        return table[ids] * self.scale + pe[:ids.shape[1]].unsqueeze(0)

    @torch.no_grad()
    def encode(self, src):
        return self.tr.encoder(self.embed(src, self.src_embed, self.src_pe))

    @torch.no_grad()
    def step_logits(self, seq, mem):
        """Logits of the last position of seq (full recomputation: what nn.Transformer offers)."""
        T = seq.shape[1]
        mask = self.tr.generate_square_subsequent_mask(T)
        h = self.tr.decoder(self.embed(seq, self.tgt_embed, self.tgt_pe), mem, tgt_mask=mask)[:, -1]
        lg = h @ self.out_w.t()
        return lg + self.out_b if self.out_b is not None else lg


def bench(path, threads, src_len, out_len, batch, beams, reps, bulk_out_len):
    """Prints PyTorch figures (tab-separated key value) for the model at path."""
    torch.set_num_threads(threads)
    m = FileModel(path)
    V = m.src_embed.shape[0]
    g = torch.Generator().manual_seed(7)
    src = torch.randint(4, V, (1, src_len), generator=g)
    enc_times, ttft, dec1 = [], [], []
    for _ in range(reps):
        t0 = time.perf_counter()
        mem = m.encode(src)
        t1 = time.perf_counter()
        seq = torch.tensor([[1]])
        lg = m.step_logits(seq, mem)
        t2 = time.perf_counter()
        enc_times.append(t1 - t0)
        ttft.append(t2 - t0)
        t3 = time.perf_counter()
        for _ in range(out_len):
            nxt = lg.argmax(-1, keepdim=True)
            seq = torch.cat([seq, nxt], 1)
            lg = m.step_logits(seq, mem)
        dec1.append(out_len / (time.perf_counter() - t3))
    print("torch.threads\t%d" % threads)
    print("torch.encoder_tok_s\t%.1f" % (src_len / float(np.median(enc_times))))
    print("torch.ttft_ms\t%.2f" % (1000 * float(np.median(ttft))))
    print("torch.decode_b1_tok_s\t%.1f" % float(np.median(dec1)))
    if batch > 0:
        srcb = torch.randint(4, V, (batch, src_len), generator=g)
        rows = batch * beams
        t0 = time.perf_counter()
        mem = m.encode(srcb).repeat_interleave(beams, 0)
        seq = torch.full((rows, 1), 1, dtype=torch.long)
        score = torch.full((batch, beams), -1e9)
        score[:, 0] = 0
        base = (torch.arange(batch) * beams).unsqueeze(1)
        for _ in range(bulk_out_len):
            lp = torch.log_softmax(m.step_logits(seq, mem), -1).view(batch, beams * V)
            score, idx = (lp + score.view(batch * beams, 1).view(batch, beams, 1)
                          .expand(batch, beams, V).reshape(batch, beams * V)).topk(beams, -1)
            parent = (base + idx // V).view(-1)
            seq = torch.cat([seq[parent], (idx % V).view(-1, 1)], 1)
        dt = time.perf_counter() - t0
        print("torch.decode_b%dx%d_tok_s\t%.1f" % (batch, beams, rows * bulk_out_len / dt))
        print("torch.bulk_out_len\t%d" % bulk_out_len)
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="tests/data/ref", help="directory for committed goldens")
    ap.add_argument("--check", action="store_true", help="regenerate all configs and compare")
    ap.add_argument("--attn", default="build/attn", help="path of the attn binary (its build dir)")
    ap.add_argument("--bench", metavar="MODEL", help="time PyTorch on an attn model file")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--src-len", type=int, default=32)
    ap.add_argument("--out-len", type=int, default=32)
    ap.add_argument("--batch", type=int, default=0)
    ap.add_argument("--bulk-out-len", type=int, default=0,
                    help="generated tokens in the bulk case (default: --out-len)")
    ap.add_argument("--beams", type=int, default=4)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--base-model", metavar="PATH", help="write the random base-size model")
    ap.add_argument("--dtype", default="f32")
    a = ap.parse_args()
    if a.base_model:
        return write_base(a.base_model, a.dtype)
    if a.bench:
        return bench(a.bench, a.threads, a.src_len, a.out_len, a.batch, a.beams, a.reps,
                     a.bulk_out_len or a.out_len)
    if a.check:
        return check(a.attn)
    generate(a.out, [n for n, c in CONFIGS.items() if not c["live_only"]])
    return 0


def write_base(path, dtype):
    """Writes the base-size benchmark model: d_model 512, 8 heads, FFN 2048, 6+6 layers,
    vocabulary 32000, post-norm relu, tied embeddings, seeded random weights."""
    c = dict(d=512, heads=8, ff=2048, enc=6, dec=6, vocab=32000, pre_norm=0, act="relu",
             pos="sinusoidal", layout="interleaved", tied=1, shared_src=1, out_bias=0,
             embed_scale=math.sqrt(512), embed_norm=0, seed=9, max_pos=256)
    torch.manual_seed(c["seed"])
    m = RefModel(c)
    m.perturb(torch.Generator().manual_seed(9))
    with torch.no_grad():
        m.src_embed.weight.mul_(0.1)
    export(m, path, dtype, compress="none")
    return 0


if __name__ == "__main__":
    sys.exit(main())
