"""Checks scripts/convert/hf_model.py on the Hugging Face fixtures in tests/data/hf, with numpy
alone.

usage, from the repository root (which must be on PYTHONPATH for scripts.lib):
    PYTHONPATH=. python3 tests/hf_convert_check.py [--dtypes] [--attn PATH] [MODEL...]

For each fixture model (bart, marian, t5_v1_0, t5_v1_1) it converts the folder to an attn model
file, reads the file back with scripts/lib/attnfile.py and checks:
  tensors   every tensor bit-exact against the same weights read from model.safetensors by this
            file's own reader, under the name mapping of the attn model-file spec written out
            below, and every checkpoint tensor used (tied copies must equal their embedding);
  metadata  hyperparameters, special ids and generation defaults against values stated here from
            the fixtures' README (transformers 4.30 behaviour), not computed by the converter;
  forward   a float64 numpy forward pass that follows the spec's definitions, run on the
            converted file, against transformers' encoder states and logits (max abs <= 1e-4),
            and greedy generation from the file's generation defaults against generate();
  refusals  an unknown model type, architecture, activation or generation option is refused by
            name with exit status 1;
  attn      with --attn PATH: the attn command (--ids --json) on every fixture input with each
            generate() run's options gives transformers' ids (greedy, beam n-best, repetition).
--dtypes also converts with --dtype bf16 and q8 and prints how far encoder states and logits move
and how many greedy sequences stay equal (a measurement, not a pass/fail check).
Ends with "hf_convert_check.py: N passed, M failed"; exit status 0 all passed, 1 a check failed,
77 skipped (numpy missing).
"""
import json
import math
import os
import shutil
import struct
import subprocess
import sys
import tempfile

try:
    import numpy as np
except ImportError:
    print("SKIP: hf_convert_check.py needs numpy (Debian: apt-get install python3-numpy)")
    sys.exit(77)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "tests", "data", "hf")
from scripts.lib import attnfile  # noqa: E402 (after the numpy check)

MODELS = ["bart", "marian", "t5_v1_0", "t5_v1_1"]
TOL = 1e-4
failures = []
passes = [0]


def check(ok, what):
    """Counts a check, printing a failed one at once, and returns ok."""
    passes[0] += bool(ok)
    if not ok:
        failures.append(what)
        print(f"FAIL: {what}")
    return ok


# ---- an independent safetensors reader ----------------------------------------------------------

def load_safetensors(path):
    """Returns {name: float32 array} of an F32 safetensors file."""
    with open(path, "rb") as f:
        blob = f.read()
    n = struct.unpack_from("<Q", blob)[0]
    header = json.loads(blob[8:8 + n])
    out = {}
    for name, e in header.items():
        if name != "__metadata__":
            assert e["dtype"] == "F32"
            a, b = e["data_offsets"]
            out[name] = np.frombuffer(blob, "<f4", (b - a) // 4, 8 + n + a).reshape(e["shape"])
    return out


# ---- the expected name mapping (attn spec <- transformers state dict) ---------------------------

def bart_like_mapping(n_layers, marian):
    """Returns [(attn name, HF name)] for BART and Marian checkpoints."""
    m = [("embed.weight", "model.shared.weight")]
    if not marian:
        m += [("out.bias", "final_logits_bias")]
    else:
        m += [("out.bias", "final_logits_bias")]
    for stack, s in (("encoder", "enc"), ("decoder", "dec")):
        if not marian:
            m += [(f"{s}.pos.weight", f"model.{stack}.embed_positions.weight"),
                  (f"{s}.embed_norm.weight", f"model.{stack}.layernorm_embedding.weight"),
                  (f"{s}.embed_norm.bias", f"model.{stack}.layernorm_embedding.bias")]
        for i in range(n_layers):
            subs = [("self_attn", "attn")] + ([("encoder_attn", "cross")] if s == "dec" else [])
            for hf_sub, sub in subs:
                for hf_p, p in (("q_proj", "q"), ("k_proj", "k"), ("v_proj", "v"), ("out_proj", "o")):
                    for kind in ("weight", "bias"):
                        m.append((f"{s}.{i}.{sub}.{p}.{kind}", f"model.{stack}.layers.{i}.{hf_sub}.{hf_p}.{kind}"))
                for kind in ("weight", "bias"):
                    m.append((f"{s}.{i}.{sub}_norm.{kind}", f"model.{stack}.layers.{i}.{hf_sub}_layer_norm.{kind}"))
            for kind in ("weight", "bias"):
                m += [(f"{s}.{i}.ffn.up.{kind}", f"model.{stack}.layers.{i}.fc1.{kind}"),
                      (f"{s}.{i}.ffn.down.{kind}", f"model.{stack}.layers.{i}.fc2.{kind}"),
                      (f"{s}.{i}.ffn_norm.{kind}", f"model.{stack}.layers.{i}.final_layer_norm.{kind}")]
    return m


def t5_mapping(n_layers, gated, tied):
    """Returns [(attn name, HF name)] for T5 checkpoints."""
    m = [("embed.weight", "shared.weight")] + ([] if tied else [("out.weight", "lm_head.weight")])
    for stack, s in (("encoder", "enc"), ("decoder", "dec")):
        m += [(f"{s}.rel.weight", f"{stack}.block.0.layer.0.SelfAttention.relative_attention_bias.weight"),
              (f"{s}.norm.weight", f"{stack}.final_layer_norm.weight")]
        for i in range(n_layers):
            b = f"{stack}.block.{i}.layer"
            subs = [("SelfAttention", "attn")] + ([("EncDecAttention", "cross")] if s == "dec" else [])
            for j, (hf_sub, sub) in enumerate(subs):
                m += [(f"{s}.{i}.{sub}.{p}.weight", f"{b}.{j}.{hf_sub}.{p}.weight") for p in "qkvo"]
                m.append((f"{s}.{i}.{sub}_norm.weight", f"{b}.{j}.layer_norm.weight"))
            f = len(subs)
            if gated:
                m += [(f"{s}.{i}.ffn.gate.weight", f"{b}.{f}.DenseReluDense.wi_0.weight"),
                      (f"{s}.{i}.ffn.up.weight", f"{b}.{f}.DenseReluDense.wi_1.weight")]
            else:
                m.append((f"{s}.{i}.ffn.up.weight", f"{b}.{f}.DenseReluDense.wi.weight"))
            m += [(f"{s}.{i}.ffn.down.weight", f"{b}.{f}.DenseReluDense.wo.weight"),
                  (f"{s}.{i}.ffn_norm.weight", f"{b}.{f}.layer_norm.weight")]
    return m


# Metadata the converted fixtures must carry, from the fixtures' README and config files.
COMMON = {"arch": "transformer", "vocab_size": 512, "d_model": 64, "n_heads": 4, "d_ff": 128,
          "n_enc_layers": 2, "n_dec_layers": 2, "embed_scale": 1.0, "output_scale": 1.0,
          "ffn_gated": 0, "gen.max_length": 20, "gen.min_length": 0, "gen.num_beams": 1,
          "gen.no_repeat_ngram": 0, "gen.length_penalty": 1.0, "gen.repetition_penalty": 1.0,
          "gen.early_stopping": 0, "gen.forced_bos_id": -1, "gen.forced_eos_id": -1, "gen.bad_ids": []}
EXPECTED = {
    "bart": {**COMMON, "d_head": 16, "max_positions": 128, "norm": "layer", "norm_eps": 1e-5,
             "pre_norm": 0, "activation": "gelu", "pos_kind": "learned", "pos_offset": 2,
             "attn_scale": 0.25, "pad_id": 1, "bos_id": 0, "eos_id": 2, "decoder_start_id": 2,
             "gen.forced_bos_id": 0, "gen.forced_eos_id": 2},
    "marian": {**COMMON, "d_head": 16, "max_positions": 128, "norm": "layer", "norm_eps": 1e-5,
               "pre_norm": 0, "activation": "silu", "pos_kind": "sinusoidal",
               "pos_sin_layout": "concat", "embed_scale": 8.0, "attn_scale": 0.25, "pad_id": 511,
               "bos_id": 0, "eos_id": 0, "decoder_start_id": 511, "gen.forced_eos_id": 0,
               "gen.bad_ids": [511], "gen.beam_mask_pad": 1},
    "t5_v1_0": {**COMMON, "d_head": 16, "norm": "rms", "norm_eps": 1e-6, "pre_norm": 1,
                "activation": "relu", "pos_kind": "relative", "rel_buckets": 32,
                "rel_max_distance": 128, "attn_scale": 1.0, "output_scale": 0.125, "pad_id": 0,
                "bos_id": -1, "eos_id": 1, "decoder_start_id": 0},
    "t5_v1_1": {**COMMON, "d_head": 24, "norm": "rms", "norm_eps": 1e-6, "pre_norm": 1,
                "activation": "gelu_tanh", "ffn_gated": 1, "pos_kind": "relative",
                "rel_buckets": 32, "rel_max_distance": 128, "attn_scale": 1.0, "pad_id": 0,
                "bos_id": -1, "eos_id": 1, "decoder_start_id": 0},
}


def check_tensors(name, tensors):
    """Compares every converted tensor bit for bit with the checkpoint it came from."""
    src = load_safetensors(os.path.join(DATA, name, "model.safetensors"))
    if name.startswith("t5"):
        mapping = t5_mapping(2, name == "t5_v1_1", name == "t5_v1_0")
    else:
        mapping = bart_like_mapping(2, name == "marian")
    check(sorted(a for a, _ in mapping) == sorted(tensors),
          f"{name}: tensor names {sorted(set(tensors) ^ set(a for a, _ in mapping))} differ from the spec mapping")
    check(sorted(h for _, h in mapping) == sorted(src),
          f"{name}: checkpoint tensors {sorted(set(src) ^ set(h for _, h in mapping))} not mapped")
    bad = [a for a, h in mapping if a in tensors and h in src and
           not (tensors[a].dtype == np.float32 and tensors[a].size == src[h].size and
                np.array_equal(tensors[a].reshape(-1).view(np.uint32), src[h].reshape(-1).view(np.uint32)))]
    check(not bad, f"{name}: tensors not bit-exact: {bad[:5]}")
    shapes = [a for a, h in mapping if a in tensors and h in src and a != "out.bias"
              and list(tensors[a].shape) != list(src[h].shape)]
    check(not shapes, f"{name}: tensors with changed shapes: {shapes[:5]}")
    check("out.bias" not in tensors or tensors["out.bias"].shape == (512,), f"{name}: out.bias is not (V)")
    return len(mapping)


def check_meta(name, meta):
    """Compares the converted metadata with the values the fixtures' README states."""
    for key, want in EXPECTED[name].items():
        got = meta.get(key)
        ok = got == want and type(got) is type(want) if not isinstance(want, float) else \
            isinstance(got, float) and abs(got - want) <= 1e-15 * abs(want)
        check(ok, f"{name}: metadata {key} = {got!r}, expected {want!r}")
    hf_keys = {"pad_id", "bos_id", "eos_id", "decoder_start_id"}
    check(hf_keys <= set(meta), f"{name}: special ids missing")


# ---- a float64 forward pass that follows the spec ----------------------------------------------

def erf(x):
    return np.frompyfunc(math.erf, 1, 1)(x).astype(np.float64)


ACT = {"relu": lambda x: np.maximum(x, 0), "gelu": lambda x: 0.5 * x * (1 + erf(x / math.sqrt(2))),
       "gelu_tanh": lambda x: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3))),
       "silu": lambda x: x / (1 + np.exp(-x))}


def t5_bucket(rel, bidirectional, n, max_dist):
    """T5's bucket of relative position rel = key - query (README "T5" 3)."""
    b = 0
    if bidirectional:
        n //= 2
        b = n if rel > 0 else 0
        rel = abs(rel)
    else:
        rel = -min(rel, 0)
    exact = n // 2
    if rel < exact:
        return b + rel
    return b + min(exact + int(math.log(rel / exact) / math.log(max_dist / exact) * (n - exact)), n - 1)


class Model:
    """A converted model file run by the spec's definitions in float64 (one sequence at a time)."""

    def __init__(self, meta, tensors):
        self.m = meta
        self.t = {k: v.astype(np.float64) for k, v in tensors.items()}

    def w(self, name):
        return self.t.get(name)

    def norm(self, x, prefix):
        w, b, eps = self.w(prefix + ".weight"), self.w(prefix + ".bias"), self.m["norm_eps"]
        if w is None:
            return x
        if self.m["norm"] == "layer":
            x = x - x.mean(-1, keepdims=True)
        y = x / np.sqrt((x * x).mean(-1, keepdims=True) + eps) * w
        return y + b if b is not None else y

    def linear(self, x, prefix):
        b = self.w(prefix + ".bias")
        y = x @ self.w(prefix + ".weight").T
        return y + b if b is not None else y

    def rel_bias(self, stack, nq, nk, q0):
        """(heads, nq, nk) relative position bias, queries at q0.., keys at 0..."""
        table = self.w(f"{stack}.rel.weight")
        if self.m.get("pos_kind") != "relative":
            return 0.0
        n, dist = self.m["rel_buckets"], self.m["rel_max_distance"]
        idx = [[t5_bucket(k - (q0 + q), stack == "enc", n, dist) for k in range(nk)] for q in range(nq)]
        return table[np.array(idx)].transpose(2, 0, 1)

    def attention(self, x, kv, prefix, bias, causal):
        h, dh = self.m["n_heads"], self.m["d_head"]
        q = self.linear(x, prefix + ".q").reshape(len(x), h, dh).transpose(1, 0, 2)
        k = self.linear(kv, prefix + ".k").reshape(len(kv), h, dh).transpose(1, 0, 2)
        v = self.linear(kv, prefix + ".v").reshape(len(kv), h, dh).transpose(1, 0, 2)
        s = self.m["attn_scale"] * q @ k.transpose(0, 2, 1) + bias
        if causal:
            s = s + np.triu(np.full((len(x), len(kv)), -np.inf), 1)
        p = np.exp(s - s.max(-1, keepdims=True))
        p /= p.sum(-1, keepdims=True)
        return self.linear((p @ v).transpose(1, 0, 2).reshape(len(x), h * dh), prefix + ".o")

    def ffn(self, x, prefix):
        act = ACT[self.m["activation"]]
        if self.m.get("ffn_gated"):
            hidden = act(self.linear(x, prefix + ".gate")) * self.linear(x, prefix + ".up")
        else:
            hidden = act(self.linear(x, prefix + ".up"))
        return self.linear(hidden, prefix + ".down")

    def embed(self, ids, stack):
        e = self.w(f"{stack}.embed.weight")
        e = self.w("embed.weight") if e is None else e
        x = e[ids] * self.m["embed_scale"]
        kind, d, pos = self.m.get("pos_kind"), self.m["d_model"], np.arange(len(ids))
        if kind == "learned":
            x = x + self.w(f"{stack}.pos.weight")[pos + self.m.get("pos_offset", 0)]
        elif kind == "sinusoidal":
            freq = np.power(10000.0, 2.0 * np.arange(d // 2) / d)
            ang = pos[:, None] / freq[None, :]
            if self.m.get("pos_sin_layout") == "concat":
                x = x + np.concatenate([np.sin(ang), np.cos(ang)], 1)
            else:
                x = x + np.stack([np.sin(ang), np.cos(ang)], 2).reshape(len(ids), d)
        return self.norm(x, f"{stack}.embed_norm")

    def layer(self, x, stack, i, enc_out, bias):
        pre = self.m["pre_norm"]
        subs = [("attn", lambda y: self.attention(y, y, f"{stack}.{i}.attn", bias, stack == "dec"))]
        if stack == "dec":
            subs.append(("cross", lambda y: self.attention(y, enc_out, f"{stack}.{i}.cross", 0.0, False)))
        subs.append(("ffn", lambda y: self.ffn(y, f"{stack}.{i}.ffn")))
        for name, f in subs:
            norm = f"{stack}.{i}.{name}_norm"
            x = x + f(self.norm(x, norm)) if pre else self.norm(x + f(x), norm)
        return x

    def encode(self, ids):
        x = self.embed(np.array(ids), "enc")
        bias = self.rel_bias("enc", len(ids), len(ids), 0)
        for i in range(self.m["n_enc_layers"]):
            x = self.layer(x, "enc", i, None, bias)
        return self.norm(x, "enc.norm")

    def decode(self, ids, enc_out):
        """Logits (len(ids), V) of a teacher-forced decoder input."""
        x = self.embed(np.array(ids), "dec")
        bias = self.rel_bias("dec", len(ids), len(ids), 0)
        for i in range(self.m["n_dec_layers"]):
            x = self.layer(x, "dec", i, enc_out, bias)
        x = self.norm(x, "dec.norm") * self.m.get("output_scale", 1.0)
        out = self.w("out.weight")
        if out is None:
            out = self.w("dec.embed.weight") if self.w("dec.embed.weight") is not None else self.w("embed.weight")
        y = x @ out.T
        return y + self.w("out.bias") if self.w("out.bias") is not None else y

    def greedy(self, enc_out, max_new_tokens):
        """generate()'s greedy ids from the file's generation defaults and max_new_tokens."""
        m = self.m
        seq, max_len = [m["decoder_start_id"]], 1 + max_new_tokens
        while len(seq) < max_len:
            s = self.decode(seq, enc_out)[-1].copy()
            s[m["gen.bad_ids"]] = -np.inf
            for forced, at in ((m["gen.forced_bos_id"], 1), (m["gen.forced_eos_id"], max_len - 1)):
                if forced >= 0 and len(seq) == at:
                    s[:] = -np.inf
                    s[forced] = 0
            seq.append(int(np.argmax(s)))
            if seq[-1] == m["eos_id"]:
                break
        return seq


# ---- the fixtures' reference.txt ---------------------------------------------------------------

def load_reference(name):
    """Returns {case: {"src": [[ids]], "dec": [[ids]], "enc": file, "logits": file, "seq": {mode: [...]}}}."""
    cases, cur = {}, None
    with open(os.path.join(DATA, name, "reference.txt")) as f:
        for line in f:
            w = line.split()
            if not w or w[0].startswith("#"):
                continue
            if w[0] == "case":
                cur = cases[w[1]] = {"src": [], "dec": [], "seq": {}, "gen": {}}
            elif w[0] in ("src", "dec"):
                cur[w[0]].append([int(v) for v in w[3:]])
            elif w[0] in ("enc", "logits"):
                cur[w[0]] = w[1]
            elif w[0] == "gen":
                cur["gen"][w[1]] = dict(zip(w[2::2], w[3::2]))
            elif w[0] == "seq":
                cur["seq"].setdefault(w[1], []).append([int(v) for v in w[4:]])
    return cases


def run_forward(name, model, with_greedy, report=None):
    """Compares the numpy forward pass with the reference; returns (max enc diff, max logit diff, greedy equal, total)."""
    worst_enc = worst_logits = 0.0
    same = total = 0
    for case, c in load_reference(name).items():
        enc_ref = np.load(os.path.join(DATA, name, c["enc"]))
        log_ref = np.load(os.path.join(DATA, name, c["logits"]))
        for r, src in enumerate(c["src"]):
            enc = model.encode(src)
            de = float(np.abs(enc - enc_ref[r, :len(src)]).max())
            dl = float(np.abs(model.decode(c["dec"][r], enc) - log_ref[r]).max())
            worst_enc, worst_logits = max(worst_enc, de), max(worst_logits, dl)
            if report is not None:
                check(de <= TOL, f"{name}/{case} row {r}: encoder states differ by {de:.3g} > {TOL}")
                check(dl <= TOL, f"{name}/{case} row {r}: logits differ by {dl:.3g} > {TOL}")
            if with_greedy and "greedy" in c["seq"]:
                want = c["seq"]["greedy"][r]
                got = model.greedy(enc, int(c["gen"]["greedy"]["max_new_tokens"]))
                # rows of a batch that end early are filled with pad up to the longest row
                got_padded = got + [model.m["pad_id"]] * (len(want) - len(got))
                total += 1
                same += got_padded == want
                if report is not None:
                    check(got_padded == want, f"{name}/{case} row {r}: greedy {got} != generate() {want}")
    return worst_enc, worst_logits, same, total


# ---- conversion runs ----------------------------------------------------------------------------

def convert(src, out, *extra):
    """Runs the converter (scripts/convert/hf_model.py); returns (exit status, stderr)."""
    p = subprocess.run([sys.executable, "-m", "scripts.convert.hf_model", src, "-o", out, *extra],
                       cwd=ROOT, capture_output=True, text=True)
    return p.returncode, p.stderr


def save_safetensors(path, tensors, dtype="F32"):
    """Writes {name: array} as a safetensors file (F32, F16, or BF16 by truncating float32)."""
    header, offset, blobs = {}, 0, []
    for name in sorted(tensors):
        if dtype == "BF16":
            b = (np.ascontiguousarray(tensors[name], "<f4").view("<u4") >> 16).astype("<u2").tobytes()
        else:
            b = np.ascontiguousarray(tensors[name], dtype={"F32": "<f4", "F16": "<f2"}[dtype]).tobytes()
        header[name] = {"dtype": dtype, "shape": list(tensors[name].shape), "data_offsets": [offset, offset + len(b)]}
        offset += len(b)
        blobs.append(b)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def variant(tmp, model, cfg_patch=None, gen=None, tensors=None):
    """Returns a copy of fixture model in tmp with config.json keys patched (None deletes), a
    generation_config.json replaced (False removes it) and the weights replaced."""
    d = os.path.join(tmp, "variant")
    shutil.rmtree(d, ignore_errors=True)
    shutil.copytree(os.path.join(DATA, model), d)
    with open(os.path.join(d, "config.json")) as f:
        cfg = json.load(f)
    for k, v in (cfg_patch or {}).items():
        if v is None:
            cfg.pop(k, None)
        else:
            cfg[k] = v
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f)
    if gen is False:
        os.remove(os.path.join(d, "generation_config.json"))
    elif gen is not None:
        with open(os.path.join(d, "generation_config.json"), "w") as f:
            json.dump(gen, f)
    if tensors is not None:
        save_safetensors(os.path.join(d, "model.safetensors"), tensors)
    return d


def convert_variant(tmp, d, label):
    """Converts folder d; returns (meta, tensors) or None after recording the failure."""
    out = os.path.join(tmp, "variant.attn")
    rc, err = convert(d, out)
    if not check(rc == 0, f"{label}: hf_model.py failed: {err.strip()}"):
        return None
    return attnfile.read(out)


def check_variants(tmp, attn):
    """Checks what the fixtures themselves do not exercise, on modified copies of them."""
    n = 0
    base = load_safetensors(os.path.join(DATA, "marian", "model.safetensors"))

    # Generation settings: generation_config.json is used as it is ...
    gen = {"decoder_start_token_id": 511, "eos_token_id": 0, "pad_token_id": 511, "num_beams": 4,
           "max_new_tokens": 141, "min_length": 56, "no_repeat_ngram_size": 3, "length_penalty": 2.0,
           "early_stopping": True, "repetition_penalty": 1.2, "forced_bos_token_id": 7}
    r = convert_variant(tmp, variant(tmp, "marian", gen=gen), "generation_config.json")
    if r:
        want = {"gen.num_beams": 4, "gen.max_length": 142, "gen.min_length": 56, "gen.no_repeat_ngram": 3,
                "gen.length_penalty": 2.0, "gen.early_stopping": 1, "gen.repetition_penalty": 1.2,
                "gen.forced_bos_id": 7, "gen.forced_eos_id": -1, "gen.bad_ids": []}
        for k, v in want.items():
            check(r[0].get(k) == v, f"generation_config.json: {k} = {r[0].get(k)!r}, expected {v!r}")
    # ... unless it says "_from_model_config": generate() then rebuilds it from config.json
    r = convert_variant(tmp, variant(tmp, "marian", {"num_beams": 6, "max_length": 64},
                                     gen={**gen, "_from_model_config": True}), "_from_model_config")
    if r:
        check(r[0].get("gen.num_beams") == 6 and r[0].get("gen.max_length") == 64 and r[0].get("gen.bad_ids") == [511],
              f"_from_model_config: generation settings not taken from config.json: {r[0].get('gen.num_beams')}")
    # ... and without the file config.json's keys (and class defaults) are the generation config
    r = convert_variant(tmp, variant(tmp, "bart", {"num_beams": 4, "early_stopping": "never",
                                                   "forced_bos_token_id": None, "forced_eos_token_id": None},
                                     gen=False), "no generation_config.json")
    if r:
        check(r[0].get("gen.num_beams") == 4 and r[0].get("gen.early_stopping") == 2 and
              r[0].get("gen.forced_bos_id") == -1 and r[0].get("gen.forced_eos_id") == 2,
              "no generation_config.json: expected num_beams 4, early_stopping never, no forced bos, "
              f"BartConfig's default forced eos 2; got {r[0]}")
        if attn:  # the engine and the command line take these defaults as they are
            p = subprocess.run([attn, "-m", os.path.join(tmp, "variant.attn"), "--ids", "--json"],
                               input="5 6 7 2\n", capture_output=True, text=True)
            check(p.returncode == 0 and p.stdout.startswith('{"') and '"ids":' in p.stdout,
                  f"no generation_config.json: attn with beam 4, early stopping never: {p.stderr.strip()}")
    # BART's legacy force_bos_token_to_be_generated (DistilBART configs) is forced_bos_token_id = bos
    r = convert_variant(tmp, variant(tmp, "bart", {"forced_bos_token_id": None, "bos_token_id": 5,
                                                   "force_bos_token_to_be_generated": True}, gen=False),
                        "force_bos_token_to_be_generated")
    if r:
        check(r[0].get("gen.forced_bos_id") == 5, "force_bos_token_to_be_generated: forced bos is not bos 5")
    n += 4

    # Marian with separate encoder and decoder embeddings (copies here, so outputs are unchanged)
    t = dict(base)
    t["model.encoder.embed_tokens.weight"] = t["model.decoder.embed_tokens.weight"] = t.pop("model.shared.weight")
    r = convert_variant(tmp, variant(tmp, "marian", {"share_encoder_decoder_embeddings": False}, tensors=t),
                        "unshared Marian")
    if r:
        check({"enc.embed.weight", "dec.embed.weight"} <= set(r[1]) and "embed.weight" not in r[1],
              "unshared Marian: expected enc.embed.weight and dec.embed.weight")
        de, dl, _, _ = run_forward("marian", Model(*r), False)
        check(de <= TOL and dl <= TOL, f"unshared Marian: outputs moved ({de:.2g}, {dl:.2g})")
    # Marian checkpoints that store the sinusoidal table: accepted if it is the one computed
    d = len(base["model.shared.weight"][0])
    j = np.arange(d // 2)
    ang = np.arange(128)[:, None] / np.power(10000.0, 2.0 * j / d)[None, :]
    table = np.concatenate([np.sin(ang), np.cos(ang)], 1).astype(np.float32)
    t = dict(base, **{"model.encoder.embed_positions.weight": table, "model.decoder.embed_positions.weight": table})
    r = convert_variant(tmp, variant(tmp, "marian", tensors=t), "Marian with stored positions")
    if r:
        check(r[0].get("pos_kind") == "sinusoidal" and "enc.pos.weight" not in r[1],
              "Marian with stored positions: not converted as sinusoidal")
    t["model.decoder.embed_positions.weight"] = table + 1
    rc, err = convert(variant(tmp, "marian", tensors=t), os.path.join(tmp, "x.attn"))
    check(rc == 1 and "embed_positions" in err, f"Marian with other positions: status {rc}, {err.strip()!r}")
    # A tied output layer that is not a copy of the embedding is ambiguous
    t = dict(base, **{"lm_head.weight": base["model.shared.weight"] + 1})
    rc, err = convert(variant(tmp, "marian", tensors=t), os.path.join(tmp, "x.attn"))
    check(rc == 1 and "lm_head.weight" in err, f"untied lm_head copy: status {rc}, {err.strip()!r}")
    n += 4

    # mBART: pre-norm blocks and a final LayerNorm per stack (transformers' MBart layout)
    t = load_safetensors(os.path.join(DATA, "bart", "model.safetensors"))
    t = dict(t)
    for stack in ("encoder", "decoder"):
        t[f"model.{stack}.layer_norm.weight"] = np.ones(64, np.float32)
        t[f"model.{stack}.layer_norm.bias"] = np.zeros(64, np.float32)
    r = convert_variant(tmp, variant(tmp, "bart", {"model_type": "mbart", "scale_embedding": True,
                                                   "architectures": ["MBartForConditionalGeneration"]},
                                     tensors=t), "mBART")
    if r:
        check(r[0].get("pre_norm") == 1 and r[0].get("embed_scale") == 8.0 and
              {"enc.norm.weight", "enc.norm.bias", "dec.norm.weight", "dec.norm.bias"} <= set(r[1]),
              "mBART: expected pre_norm 1, embed_scale 8 and final norms")
    # T5 as the hub writes its config (no derived dense_act_fn / is_gated_act)
    r = convert_variant(tmp, variant(tmp, "t5_v1_1", {"dense_act_fn": None, "is_gated_act": None}),
                        "T5 v1.1 hub config")
    if r:
        check(r[0].get("activation") == "gelu_tanh" and r[0].get("ffn_gated") == 1,
              "T5 v1.1 hub config: gated-gelu must become gated gelu_tanh")
    n += 2

    # Other storage forms give identical tensors: F16 weights, shards, pytorch_model.bin
    ref = convert_variant(tmp, os.path.join(DATA, "t5_v1_0"), "t5_v1_0")
    t = load_safetensors(os.path.join(DATA, "t5_v1_0", "model.safetensors"))
    half = {k: v.astype(np.float16) for k, v in t.items()}
    d = variant(tmp, "t5_v1_0")
    save_safetensors(os.path.join(d, "model.safetensors"), half, "F16")
    r = convert_variant(tmp, d, "F16 safetensors")
    if r:
        check(all(np.array_equal(r[1][k], ref[1][k].astype(np.float16).astype(np.float32)) for k in ref[1]),
              "F16 safetensors: tensors not widened exactly")
    save_safetensors(os.path.join(d, "model.safetensors"), t, "BF16")
    r = convert_variant(tmp, d, "BF16 safetensors")
    if r:
        check(all(np.array_equal(r[1][k], ((ref[1][k].view("<u4") >> 16) << 16).view("<f4")) for k in ref[1]),
              "BF16 safetensors: tensors not widened exactly")
    d = variant(tmp, "t5_v1_0")
    os.remove(os.path.join(d, "model.safetensors"))
    names = sorted(t)
    shards = {"model-00001-of-00002.safetensors": names[::2], "model-00002-of-00002.safetensors": names[1::2]}
    for fn, keys in shards.items():
        save_safetensors(os.path.join(d, fn), {k: t[k] for k in keys})
    with open(os.path.join(d, "model.safetensors.index.json"), "w") as f:
        json.dump({"weight_map": {k: fn for fn, keys in shards.items() for k in keys}}, f)
    r = convert_variant(tmp, d, "sharded safetensors")
    if r:
        check(all(np.array_equal(r[1][k], ref[1][k]) for k in ref[1]) and set(r[1]) == set(ref[1]),
              "sharded safetensors: tensors differ")
    n += 3
    try:
        import torch
    except ImportError:
        print("variants: pytorch_model.bin form SKIPPED (no torch in /usr/bin/python3)")
        torch = None
    if torch is not None:
        d = variant(tmp, "t5_v1_0")
        os.remove(os.path.join(d, "model.safetensors"))
        torch.save({k: torch.from_numpy(v.copy()) for k, v in t.items()}, os.path.join(d, "pytorch_model.bin"))
        r = convert_variant(tmp, d, "pytorch_model.bin")
        if r:
            check(all(np.array_equal(r[1][k], ref[1][k]) for k in ref[1]) and set(r[1]) == set(ref[1]),
                  "pytorch_model.bin: tensors differ")
        n += 1
    print(f"variants: {n} modified fixture folders checked (generation settings, Marian embeddings and "
          "positions, mBART, T5 hub config, F16, BF16, shards, .bin)")


def check_refusals(tmp):
    """An unsupported model must be refused by name, never converted into something else."""
    cases = [
        ("bart", {"model_type": "pegasus"}, None, "model_type 'pegasus'"),
        ("bart", {"architectures": ["BartForSequenceClassification"]}, None, "BartForSequenceClassification"),
        ("bart", {"activation_function": "quick_gelu"}, None, "quick_gelu"),
        ("bart", {"decoder_attention_heads": 8}, None, "decoder_attention_heads"),
        ("t5_v1_1", {"feed_forward_proj": "gated-gelu-x", "dense_act_fn": None}, None, "feed_forward_proj"),
        ("marian", {}, {"do_sample": True}, "do_sample"),
        ("marian", {}, {"bad_words_ids": [[5, 6]]}, "bad_words_ids"),
        ("bart", {}, {"forced_decoder_ids": [[1, 5]]}, "forced_decoder_ids"),
        ("t5_v1_0", {"n_positions": 10 ** 20}, None, "n_positions"),
        ("bart", {"architectures": 3}, None, "architectures"),
        ("marian", {"activation_function": {}}, None, "activation"),
    ]
    for model, cfg_patch, gen_patch, word in cases:
        d = os.path.join(tmp, "refuse")
        shutil.rmtree(d, ignore_errors=True)
        shutil.copytree(os.path.join(DATA, model), d)
        with open(os.path.join(d, "config.json")) as f:
            cfg = json.load(f)
        cfg.update({k: v for k, v in cfg_patch.items() if v is not None})
        for k in [k for k, v in cfg_patch.items() if v is None]:
            cfg.pop(k, None)
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(cfg, f)
        if gen_patch is not None:
            with open(os.path.join(d, "generation_config.json"), "w") as f:
                json.dump({"decoder_start_token_id": cfg["decoder_start_token_id"], **gen_patch}, f)
        out = os.path.join(tmp, "refused.attn")
        rc, err = convert(d, out)
        check(rc == 1 and word in err and err.count("\n") == 1 and not os.path.exists(out),
              f"refusal of {word}: status {rc}, stderr {err.strip()!r}")
    rc, err = convert(os.path.join(tmp, "no-such-folder"), os.path.join(tmp, "x.attn"))
    check(rc == 1 and "no-such-folder" in err, f"missing folder: status {rc}, stderr {err.strip()!r}")
    print(f"refusals: {len(cases) + 1} unsupported inputs checked")


def cli_options(g):
    """Returns attn's command-line options for a generate() run's kwargs."""
    opts = ["-n", g["max_new_tokens"]]
    if int(g["num_beams"]) > 1:
        opts += ["-b", g["num_beams"], "--n-best", g["num_return"], "--length-penalty", g["length_penalty"],
                 "--early-stopping", "true" if g["early_stopping"] == "1" else "false"]
    else:
        opts += ["--greedy"]
    if float(g["repetition_penalty"]) != 1.0:
        opts += ["--repetition-penalty", g["repetition_penalty"]]
    if int(g["no_repeat_ngram"]):
        opts += ["--no-repeat-ngram", g["no_repeat_ngram"]]
    return opts


def check_cli(attn, name, path):
    """Runs `attn -m MODEL --ids --json` on every fixture input with each generate() run's
    options; the model's own defaults (start, forced and banned ids) must do the rest."""
    meta, _ = attnfile.read(path)
    runs = same = 0
    for case, c in load_reference(name).items():
        text = "".join(" ".join(map(str, src)) + "\n" for src in c["src"])
        for mode, g in c["gen"].items():
            cmd = [attn, "-m", path, "--ids", "--json", "--threads", "1"] + [str(o) for o in cli_options(g)]
            p = subprocess.run(cmd, input=text, capture_output=True, text=True)
            runs += 1
            if not check(p.returncode == 0, f"{name}/{case}/{mode}: {' '.join(cmd[1:])}: status "
                         f"{p.returncode}, {p.stderr.strip()}"):
                continue
            lines = p.stdout.splitlines()
            n_ret = int(g["num_return"])
            ok = len(lines) == len(c["src"])
            for r, line in enumerate(lines if ok else []):
                obj = json.loads(line)
                hyps = obj.get("n_best", [obj]) if n_ret > 1 else [obj]
                ok = ok and len(hyps) == n_ret
                for h, hyp in enumerate(hyps[:n_ret]):
                    want = c["seq"][mode][r * n_ret + h]
                    got = [meta["decoder_start_id"]] + hyp["ids"] + ([meta["eos_id"]] if hyp["ended"] else [])
                    ok = ok and len(got) <= len(want) and got + [meta["pad_id"]] * (len(want) - len(got)) == want
            same += ok
            check(ok, f"{name}/{case}/{mode}: attn {' '.join(cmd[1:])} gave {p.stdout.strip()[:300]}")
    print(f"{name}: attn command line: {same}/{runs} generate() runs identical (ids)")


def check_tokenizer(attn, tmp):
    """BART with its byte-level BPE tokenizer (tests/data/hf/bart_tok: ids that are not merge ranks,
    reference ids from gpt-3-encoder, see scripts/goldens/hf-tokenizer-fixture.js), as vocab.json +
    merges.txt and as tokenizer.json: the embedded tokenizer gives the reference ids, and text
    input runs exactly as its "<s> ids </s>" given with --ids."""
    tok = os.path.join(DATA, "bart_tok")
    with open(os.path.join(tok, "texts.txt"), encoding="utf-8") as f:
        texts = f.read()
    with open(os.path.join(tok, "ids.txt")) as f:
        framed = f.read()
    want_raw = "".join(" ".join(l.split()[1:-1]) + "\n" for l in framed.splitlines())
    with open(os.path.join(tok, "vocab.json"), encoding="utf-8") as f:
        vocab = json.load(f)
    with open(os.path.join(tok, "merges.txt"), encoding="utf-8") as f:
        merges = [l.rstrip("\n") for l in f if l.strip() and not l.startswith("#version")]
    specials = ["<s>", "<pad>", "</s>", "<unk>"]
    tokenizer_json = {
        "version": "1.0", "truncation": None, "padding": None, "normalizer": None,
        "added_tokens": [{"id": vocab[t], "content": t, "single_word": False, "lstrip": False,
                          "rstrip": False, "normalized": False, "special": True} for t in specials],
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
                          "use_regex": True},
        "post_processor": {"type": "RobertaProcessing", "sep": ["</s>", 2], "cls": ["<s>", 0],
                           "trim_offsets": True, "add_prefix_space": False},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                  "end_of_word_suffix": "", "fuse_unk": False, "vocab": vocab, "merges": merges}}
    for form in ("vocab.json + merges.txt", "tokenizer.json"):
        d = variant(tmp, "bart")
        shutil.copy(os.path.join(tok, "special_tokens_map.json"), d)
        if form == "tokenizer.json":
            with open(os.path.join(d, "tokenizer.json"), "w", encoding="utf-8") as f:
                json.dump(tokenizer_json, f)
        else:
            shutil.copy(os.path.join(tok, "vocab.json"), d)
            shutil.copy(os.path.join(tok, "merges.txt"), d)
        out = os.path.join(tmp, "bart-tok.attn")
        rc, err = convert(d, out)
        if not check(rc == 0, f"BART tokenizer ({form}): hf_model.py failed: {err.strip()}"):
            continue
        meta, _ = attnfile.read(out)
        check(isinstance(meta.get("tokenizer"), bytes) and meta.get("src.add_bos") == 1 and
              meta.get("src.add_eos") == 1 and meta.get("unk_id") == 3,
              f"BART tokenizer ({form}): tokenizer, src.add_bos/eos 1 and unk_id 3 expected")
        if attn is None:
            continue
        p = subprocess.run([attn, "tokenize", "-t", out], input=texts, capture_output=True, text=True)
        check(p.returncode == 0 and p.stdout == want_raw,
              f"BART tokenizer ({form}): attn tokenize differs from the reference:\n{p.stdout}{p.stderr}")
        # attn run gives the model a record without the white space around it and with its
        # tabs as spaces (the text is kept around the output), so such lines are left out here
        keep = [i for i, l in enumerate(texts.splitlines()) if l == l.strip() and "\t" not in l]
        runs = []
        for extra, lines in (([], texts), (["--ids"], framed)):
            data = "".join(lines.splitlines(True)[i] for i in keep)
            p = subprocess.run([attn, "-m", out, "--json", "-n", "12", "--threads", "1"] + extra,
                               input=data, capture_output=True, text=True)
            runs.append([json.loads(l)["ids"] for l in p.stdout.splitlines()] if p.returncode == 0 else p.stderr)
        check(runs[0] == runs[1] and len(runs[0]) == len(keep) >= 5,
              f"BART tokenizer ({form}): text run {runs[0]} differs from the id run {runs[1]}")
    print("BART tokenizer: vocab.json + merges.txt and tokenizer.json embedded"
          + (", ids equal to the reference, text runs framed as <s> text </s>" if attn else ""))


def main(argv):
    dtypes = "--dtypes" in argv
    attn = argv[argv.index("--attn") + 1] if "--attn" in argv[:-1] else None
    names = [a for a in argv if not a.startswith("--") and a != attn] or MODELS
    tmp = tempfile.mkdtemp(prefix="attn-hf-")
    try:
        buckets = json.load(open(os.path.join(DATA, "t5_relative_position_buckets.json")))
        for key, bidi in (("bidirectional_encoder", True), ("unidirectional_decoder", False)):
            got = [t5_bucket(r, bidi, 32, 128) for r in buckets["relative_position"]]
            check(got == buckets[key], f"T5 bucket function differs from the fixture table ({key})")
        print(f"T5 buckets: {len(buckets['relative_position'])} relative positions x 2 directions checked")
        for name in names:
            out = os.path.join(tmp, name + ".attn")
            rc, err = convert(os.path.join(DATA, name), out)
            if not check(rc == 0, f"{name}: hf_model.py failed: {err.strip()}"):
                continue
            meta, tensors = attnfile.read(out)
            n = check_tensors(name, tensors)
            check_meta(name, meta)
            de, dl, same, total = run_forward(name, Model(meta, tensors), True, report=True)
            print(f"{name}: {n} tensors bit-exact, metadata as stated; numpy forward: encoder max abs "
                  f"{de:.2e}, logits {dl:.2e} (tolerance {TOL}); greedy {same}/{total} equal to generate()")
            if attn:
                check_cli(attn, name, out)
            for dt in (["bf16", "q8"] if dtypes else []):
                out_dt = os.path.join(tmp, f"{name}.{dt}.attn")
                rc, err = convert(os.path.join(DATA, name), out_dt, "--dtype", dt)
                if check(rc == 0, f"{name}: hf_model.py --dtype {dt} failed: {err.strip()}"):
                    de, dl, same, total = run_forward(name, Model(*attnfile.read(out_dt)), True)
                    print(f"  --dtype {dt}: encoder max abs {de:.2e}, logits max abs {dl:.2e}; "
                          f"greedy {same}/{total} sequences equal to generate()")
        check_variants(tmp, attn)
        check_tokenizer(attn, tmp)
        check_refusals(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"hf_convert_check.py: {passes[0]} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
