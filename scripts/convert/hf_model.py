"""Converts a Hugging Face encoder-decoder model folder into an attn model file.

usage (from the repository root; elsewhere, set PYTHONPATH to it):
    python3 -m scripts.convert.hf_model HF_DIR -o OUT.attn [--dtype f32|f16|bf16|q8]

Families: BART (model_type "bart": BART, DistilBART), mBART ("mbart"), Marian / OPUS-MT ("marian"),
T5 v1.0, v1.1, Flan-T5 ("t5") and mT5 ("mt5"). The folder holds config.json, optionally
generation_config.json, the weights (model.safetensors, read with the standard library and numpy
alone, or pytorch_model.bin, which needs torch; sharded *.index.json forms too) and optionally the
tokenizer files (a byte-level BPE vocab.json + merges.txt, or tokenizer.json, becomes attn's
tokenizer; Marian's source.spm/target.spm/vocab.json, T5's spiece.model and mBART's
sentencepiece.bpe.model are embedded with the model's vocabulary as spm-map tokenizers).

The result computes what transformers 4.30 computes: every hyperparameter and every generation
default that transformers' generate() would use is written into the file, in the keys and tensor
names that the attn model-file spec defines. Whatever this script cannot reproduce exactly (an
unknown architecture, activation, generation option or tensor layout) is refused with an error
naming it; nothing is converted into something silently different.

Exit status: 0 converted, 1 refused or failed (one line on stderr), 2 usage error.
"""
import argparse
import json
import math
import os
import re
import struct
import subprocess
import sys
import tempfile

try:
    import numpy as np
except ImportError:  # the message names the fix; tests use the same exit status to report a skip
    sys.stderr.write("hf_model.py: numpy is required (Debian: apt-get install python3-numpy)\n")
    sys.exit(1)

from scripts.lib import attnfile, protowire  # noqa: E402 (after the numpy check)


class ConvertError(Exception):
    """A refusal or a failure; its text is printed after 'hf_model.py: '."""


# ---- checkpoint readers ------------------------------------------------------------------------

SAFETENSORS_DTYPES = {"F32": "<f4", "F16": "<f2", "BF16": "<u2", "F64": "<f8"}


def as_float32(raw, st_dtype):
    """Returns raw values (numpy array of a safetensors dtype) widened exactly to float32."""
    if st_dtype == "BF16":
        return (raw.astype(np.uint32) << 16).view(np.float32)
    if st_dtype == "F64":
        narrow = raw.astype(np.float32)
        if not np.array_equal(narrow.astype(np.float64), raw):
            raise ConvertError("F64 tensor does not fit float32 exactly")
        return narrow
    return raw if raw.dtype == np.float32 else raw.astype(np.float32)  # F32: a view of the mapped file


def read_safetensors(path):
    """Returns {name: float32 array} from one .safetensors file; raises ConvertError if malformed."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) != 8:
            raise ConvertError(f"{path}: too short for a safetensors file")
        (n,) = struct.unpack("<Q", head)
        if n > size - 8 or n > 100 << 20:
            raise ConvertError(f"{path}: header length {n} does not fit the file ({size} bytes)")
        try:
            header = json.loads(f.read(n).decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            raise ConvertError(f"{path}: header is not JSON: {e}")
    if not isinstance(header, dict):
        raise ConvertError(f"{path}: header is not a JSON object")
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + n) if size > 8 + n else np.zeros(0, np.uint8)
    out = {}
    for name, ent in header.items():
        if name == "__metadata__":
            continue
        try:
            st_dtype, shape, (begin, end) = ent["dtype"], [int(d) for d in ent["shape"]], ent["data_offsets"]
        except (KeyError, TypeError, ValueError):
            raise ConvertError(f"{path}: tensor {name}: malformed header entry")
        if st_dtype not in SAFETENSORS_DTYPES:
            raise ConvertError(f"{path}: tensor {name}: dtype {st_dtype} is not supported (F32, F16, BF16, F64)")
        np_dtype = np.dtype(SAFETENSORS_DTYPES[st_dtype])
        count = int(np.prod(shape, dtype=np.int64))
        if not (0 <= begin <= end <= len(data)) or end - begin != count * np_dtype.itemsize:
            raise ConvertError(f"{path}: tensor {name}: data_offsets {begin}..{end} do not match "
                               f"shape {shape} or the file")
        raw = np.frombuffer(data[begin:end], dtype=np_dtype).reshape(shape)
        out[name] = as_float32(raw, st_dtype)
    return out


def read_torch_bin(path):
    """Returns {name: float32 array} from a pytorch_model.bin (needs torch); raises ConvertError."""
    try:
        import torch
    except ImportError:
        raise ConvertError(f"{path}: reading pytorch_model.bin needs torch (run with /usr/bin/python3 "
                           "where python3-torch is installed, or provide model.safetensors)")
    try:
        state = torch.load(path, map_location="cpu")
    except Exception as e:  # torch raises many types for a damaged file
        raise ConvertError(f"{path}: cannot load: {e}")
    if not isinstance(state, dict):
        raise ConvertError(f"{path}: not a state dict")
    out = {}
    for name, t in state.items():
        if not hasattr(t, "dtype"):
            continue
        if t.dtype not in (torch.float32, torch.float16, torch.bfloat16, torch.float64):
            raise ConvertError(f"{path}: tensor {name}: dtype {t.dtype} is not supported")
        wide = t.detach().to(torch.float32)
        if t.dtype == torch.float64 and not torch.equal(wide.to(torch.float64), t):
            raise ConvertError(f"{path}: tensor {name}: float64 values do not fit float32 exactly")
        out[name] = wide.contiguous().numpy()
    return out


def read_sharded(hf_dir, index_name, reader):
    """Returns the union of the shards an *.index.json names; raises ConvertError."""
    index = load_json(os.path.join(hf_dir, index_name))
    weight_map = index.get("weight_map") if isinstance(index, dict) else None
    if not isinstance(weight_map, dict):
        raise ConvertError(f"{index_name}: no weight_map")
    out = {}
    for shard in sorted(set(weight_map.values())):
        if os.path.basename(shard) != shard:
            raise ConvertError(f"{index_name}: shard name {shard!r} is not a plain file name")
        out.update(reader(os.path.join(hf_dir, shard)))
    return out


def read_checkpoint(hf_dir):
    """Returns ({name: float32 array}, file name) from the folder's weights; raises ConvertError."""
    choices = [("model.safetensors", read_safetensors), ("model.safetensors.index.json", None),
               ("pytorch_model.bin", read_torch_bin), ("pytorch_model.bin.index.json", None)]
    for name, reader in choices:
        path = os.path.join(hf_dir, name)
        if not os.path.isfile(path):
            continue
        if reader is None:
            shard_reader = read_safetensors if name.startswith("model.safetensors") else read_torch_bin
            return read_sharded(hf_dir, name, shard_reader), name
        return reader(path), name
    raise ConvertError(f"{hf_dir}: no model.safetensors or pytorch_model.bin")


class Weights:
    """The checkpoint's tensors; take() hands each one out once, checking its shape."""

    def __init__(self, tensors, source):
        self.tensors = tensors
        self.source = source
        self.used = set()

    def has(self, name):
        return name in self.tensors

    def take(self, name, shape):
        """Returns tensor name, which must exist and have shape; raises ConvertError."""
        if name not in self.tensors:
            raise ConvertError(f"{self.source}: tensor {name} is missing")
        t = self.tensors[name]
        if list(t.shape) != list(shape):
            raise ConvertError(f"{self.source}: tensor {name} has shape {list(t.shape)}, the config "
                               f"implies {list(shape)}")
        self.used.add(name)
        return t

    def take_tied(self, name, ref):
        """Marks name used if it is absent or bit-identical to ref (a tied copy); raises otherwise."""
        if name not in self.tensors:
            return
        t = self.tensors[name]
        if t.shape != ref.shape or not np.array_equal(t.view(np.uint32), ref.view(np.uint32)):
            raise ConvertError(f"{self.source}: tensor {name} should be a tied copy but differs from "
                               "the embedding it is tied to; transformers would keep only one of them")
        self.used.add(name)

    def unused(self):
        return sorted(set(self.tensors) - self.used)


# ---- configuration -----------------------------------------------------------------------------

def load_json(path):
    """Returns the JSON object in path; raises ConvertError."""
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except OSError as e:
        raise ConvertError(f"{path}: {e.strerror}")
    except ValueError as e:
        raise ConvertError(f"{path}: not valid JSON: {e}")


class Config:
    """config.json with the family's class defaults (transformers 4.30) behind it."""

    def __init__(self, raw, defaults, where="config.json"):
        self.raw = raw
        self.defaults = defaults
        self.where = where

    def get(self, key):
        if key in self.raw and self.raw[key] is not None:
            return self.raw[key]
        return self.defaults.get(key)

    def int(self, key, minimum=None):
        v = self.get(key)
        if isinstance(v, bool) or not isinstance(v, int):
            raise ConvertError(f"{self.where}: {key} must be an integer, not {v!r}")
        if minimum is not None and v < minimum:
            raise ConvertError(f"{self.where}: {key} = {v} must be at least {minimum}")
        if v >= 1 << 31:
            raise ConvertError(f"{self.where}: {key} = {v} is too large")
        return v

    def float(self, key):
        v = self.get(key)
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ConvertError(f"{self.where}: {key} must be a number, not {v!r}")
        return float(v)

    def flag(self, key):
        v = self.get(key)
        if not isinstance(v, bool):
            raise ConvertError(f"{self.where}: {key} must be true or false, not {v!r}")
        return v


# transformers 4.30 class defaults of the keys read below (BartConfig, MBartConfig, MarianConfig,
# T5Config, MT5Config); a key absent from config.json takes these values in transformers too.
COMMON_DEFAULTS = {"tie_word_embeddings": True, "is_encoder_decoder": True}
BART_DEFAULTS = {**COMMON_DEFAULTS, "vocab_size": 50265, "max_position_embeddings": 1024,
                 "encoder_layers": 12, "decoder_layers": 12, "encoder_ffn_dim": 4096,
                 "decoder_ffn_dim": 4096, "encoder_attention_heads": 16, "decoder_attention_heads": 16,
                 "activation_function": "gelu", "d_model": 1024, "scale_embedding": False,
                 "pad_token_id": 1, "bos_token_id": 0, "eos_token_id": 2, "decoder_start_token_id": 2,
                 "forced_eos_token_id": 2}
MBART_DEFAULTS = {**BART_DEFAULTS, "decoder_start_token_id": None}
BART_LEGACY = {"normalize_before": False, "add_final_layer_norm": False, "normalize_embedding": True,
               "static_position_embeddings": False, "add_bias_logits": False, "extra_pos_embeddings": 2}
MARIAN_DEFAULTS = {**COMMON_DEFAULTS, "vocab_size": 58101, "decoder_vocab_size": None,
                   "max_position_embeddings": 1024, "encoder_layers": 12, "decoder_layers": 12,
                   "encoder_ffn_dim": 4096, "decoder_ffn_dim": 4096, "encoder_attention_heads": 16,
                   "decoder_attention_heads": 16, "activation_function": "gelu", "d_model": 1024,
                   "scale_embedding": False, "pad_token_id": 58100, "eos_token_id": 0,
                   "decoder_start_token_id": 58100, "forced_eos_token_id": 0,
                   "share_encoder_decoder_embeddings": True, "static_position_embeddings": False}
T5_DEFAULTS = {**COMMON_DEFAULTS, "vocab_size": 32128, "d_model": 512, "d_kv": 64, "d_ff": 2048,
               "num_layers": 6, "num_decoder_layers": None, "num_heads": 8,
               "relative_attention_num_buckets": 32, "relative_attention_max_distance": 128,
               "layer_norm_epsilon": 1e-6, "feed_forward_proj": "relu", "pad_token_id": 0,
               "eos_token_id": 1}
MT5_DEFAULTS = {**T5_DEFAULTS, "vocab_size": 250112, "d_ff": 1024, "num_layers": 8, "num_heads": 6,
                "feed_forward_proj": "gated-gelu", "tie_word_embeddings": False}

# transformers' ACT2FN names -> attn's activation; the tanh forms are one function written three ways.
ACTIVATIONS = {"relu": "relu", "gelu": "gelu", "gelu_new": "gelu_tanh", "gelu_fast": "gelu_tanh",
               "gelu_pytorch_tanh": "gelu_tanh", "silu": "silu", "swish": "silu"}

# model_type -> the architectures (config.json "architectures") whose weights this script maps.
ARCHITECTURES = {
    "bart": {"BartForConditionalGeneration", "BartModel"},
    "mbart": {"MBartForConditionalGeneration", "MBartModel"},
    "marian": {"MarianMTModel", "MarianModel"},
    "t5": {"T5ForConditionalGeneration", "T5Model"},
    "mt5": {"MT5ForConditionalGeneration", "MT5Model"},
}


def activation(name, where):
    """Returns attn's name for transformers activation name; raises ConvertError if unsupported."""
    if not isinstance(name, str) or name not in ACTIVATIONS:
        raise ConvertError(f"{where}: activation {name!r} is not supported (supported: "
                           f"{', '.join(sorted(ACTIVATIONS))})")
    return ACTIVATIONS[name]


def same_for_both_stacks(cfg, enc_key, dec_key):
    """Returns the value both stacks share; raises ConvertError when encoder and decoder differ."""
    a, b = cfg.int(enc_key, 1), cfg.int(dec_key, 1)
    if a != b:
        raise ConvertError(f"config.json: {enc_key} = {a} differs from {dec_key} = {b}; attn models "
                           "use one value for both stacks")
    return a


# ---- generation defaults -----------------------------------------------------------------------

# GenerationConfig (transformers 4.30) defaults of the options attn carries or refuses.
GEN_DEFAULTS = {
    "max_length": 20, "max_new_tokens": None, "min_length": 0, "min_new_tokens": None,
    "early_stopping": False, "max_time": None, "do_sample": False, "num_beams": 1,
    "num_beam_groups": 1, "penalty_alpha": None, "temperature": 1.0, "top_k": 50, "top_p": 1.0,
    "typical_p": 1.0, "epsilon_cutoff": 0.0, "eta_cutoff": 0.0, "diversity_penalty": 0.0,
    "repetition_penalty": 1.0, "encoder_repetition_penalty": 1.0, "length_penalty": 1.0,
    "no_repeat_ngram_size": 0, "bad_words_ids": None, "force_words_ids": None,
    "renormalize_logits": False, "constraints": None, "forced_bos_token_id": None,
    "forced_eos_token_id": None, "exponential_decay_length_penalty": None, "suppress_tokens": None,
    "begin_suppress_tokens": None, "forced_decoder_ids": None, "sequence_bias": None,
    "guidance_scale": None, "encoder_no_repeat_ngram_size": 0,
    "pad_token_id": None, "bos_token_id": None, "eos_token_id": None, "decoder_start_token_id": None,
}
# Options that change which tokens generate() returns and that attn cannot reproduce.
GEN_UNSUPPORTED = ["do_sample", "num_beam_groups", "diversity_penalty", "penalty_alpha", "max_time",
                   "encoder_repetition_penalty", "encoder_no_repeat_ngram_size", "force_words_ids",
                   "constraints", "renormalize_logits", "exponential_decay_length_penalty",
                   "suppress_tokens", "begin_suppress_tokens", "forced_decoder_ids", "sequence_bias",
                   "guidance_scale"]


def generation_settings(hf_dir, cfg):
    """Returns the GenerationConfig generate() would use, as a dict, and where it came from.

    transformers 4.30 reads generation_config.json when the folder has one. It builds the generation
    config from config.json instead (GenerationConfig.from_model_config, class defaults included)
    when there is no such file, and also when the file says "_from_model_config": true, because
    generate() then re-derives it from the model config.
    """
    path = os.path.join(hf_dir, "generation_config.json")
    raw = load_json(path) if os.path.isfile(path) else None
    if raw is not None and not isinstance(raw, dict):
        raise ConvertError("generation_config.json: not a JSON object")
    if raw is None or raw.get("_from_model_config") is True:
        raw, where = {k: cfg.get(k) for k in GEN_DEFAULTS}, "config.json"
    else:
        where = "generation_config.json"
    settings = dict(GEN_DEFAULTS)
    settings.update({k: v for k, v in raw.items() if v is not None})
    return settings, where


def special_id(value, where, key, vocab_size, allow_none=True):
    """Returns a token id (or -1 for none) checked against the vocabulary; raises ConvertError."""
    if value is None and allow_none:
        return -1
    if isinstance(value, list):
        if len(value) != 1:
            raise ConvertError(f"{where}: {key} = {value}: several ids are not supported")
        value = value[0]
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < vocab_size:
        raise ConvertError(f"{where}: {key} = {value!r} is not a token id below vocab_size {vocab_size}")
    return value


def generation_meta(gen, where, cfg, vocab_size):
    """Returns the special-id and gen.* metadata for generation settings gen; raises ConvertError."""
    for key in GEN_UNSUPPORTED:
        if gen.get(key) not in (None, GEN_DEFAULTS[key], [], {}):
            raise ConvertError(f"{where}: {key} = {gen[key]!r} is not supported by attn; remove it "
                               "from the file to convert with transformers' default behaviour")
    meta = {}
    # generate() takes the special ids from the generation config; config.json fills the gaps.
    for key, meta_key in (("pad_token_id", "pad_id"), ("bos_token_id", "bos_id"),
                          ("eos_token_id", "eos_id")):
        value = gen.get(key) if gen.get(key) is not None else cfg.get(key)
        meta[meta_key] = special_id(value, where, key, vocab_size)
    start = gen.get("decoder_start_token_id")
    if start is None:
        start = cfg.get("decoder_start_token_id")
    if start is None:  # generate() falls back to bos
        start = meta["bos_id"] if meta["bos_id"] >= 0 else None
    if start is None:
        raise ConvertError(f"{where}: no decoder_start_token_id and no bos_token_id")
    meta["decoder_start_id"] = special_id(start, where, "decoder_start_token_id", vocab_size, False)
    meta["gen.forced_bos_id"] = special_id(gen.get("forced_bos_token_id"), where, "forced_bos_token_id",
                                           vocab_size)
    meta["gen.forced_eos_id"] = special_id(gen.get("forced_eos_token_id"), where, "forced_eos_token_id",
                                           vocab_size)
    bad = gen.get("bad_words_ids") or []
    if not isinstance(bad, list) or any(not isinstance(seq, list) or len(seq) != 1 for seq in bad):
        raise ConvertError(f"{where}: bad_words_ids = {bad!r}: only single-token entries are supported")
    meta["gen.bad_ids"] = [special_id(seq[0], where, "bad_words_ids", vocab_size, False) for seq in bad]

    def count(key, minimum):
        v = gen.get(key)
        if isinstance(v, bool) or not isinstance(v, int) or v < minimum or v >= 1 << 31:
            raise ConvertError(f"{where}: {key} = {v!r} must be an integer from {minimum} to 2^31-1")
        return v

    def number(key):
        v = gen.get(key)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise ConvertError(f"{where}: {key} = {v!r} must be a finite number")
        return float(v)

    # For encoder-decoder models the decoder prompt is the start token alone, so generate() turns
    # max_new_tokens into max_length = 1 + max_new_tokens (and min_new_tokens likewise).
    max_length = count("max_length", 1)
    if gen.get("max_new_tokens") is not None:
        max_length = 1 + count("max_new_tokens", 1)
    min_length = count("min_length", 0)
    if gen.get("min_new_tokens") is not None:
        min_length = max(min_length, 1 + count("min_new_tokens", 0))
    meta["gen.max_length"] = max_length
    meta["gen.min_length"] = min_length
    meta["gen.num_beams"] = count("num_beams", 1)
    meta["gen.no_repeat_ngram"] = count("no_repeat_ngram_size", 0)
    meta["gen.length_penalty"] = number("length_penalty")
    meta["gen.repetition_penalty"] = number("repetition_penalty")
    if meta["gen.repetition_penalty"] <= 0:
        raise ConvertError(f"{where}: repetition_penalty must be positive")
    early = gen.get("early_stopping")
    if early not in (False, True, "never"):
        raise ConvertError(f"{where}: early_stopping = {early!r} is not true, false or \"never\"")
    meta["gen.early_stopping"] = 2 if early == "never" else int(early)
    return meta


# ---- families ----------------------------------------------------------------------------------

def sinusoid_concat(n_pos, d):
    """Returns Marian's (n_pos, d) float32 table: sin of every frequency, then cos, computed in float64."""
    j = np.arange(d // 2, dtype=np.float64)
    angle = np.arange(n_pos, dtype=np.float64)[:, None] / np.power(10000.0, 2.0 * j / d)[None, :]
    return np.concatenate([np.sin(angle), np.cos(angle)], axis=1).astype(np.float32)


def convert_bart_like(cfg, w, family):
    """Maps BART / mBART / Marian weights and hyperparameters; returns (meta, tensors)."""
    d = cfg.int("d_model", 1)
    heads = same_for_both_stacks(cfg, "encoder_attention_heads", "decoder_attention_heads")
    d_ff = same_for_both_stacks(cfg, "encoder_ffn_dim", "decoder_ffn_dim")
    if d % heads:
        raise ConvertError(f"config.json: d_model {d} is not a multiple of the {heads} heads")
    vocab = cfg.int("vocab_size", 1)
    n_enc, n_dec = cfg.int("encoder_layers", 1), cfg.int("decoder_layers", 1)
    n_pos = cfg.int("max_position_embeddings", 1)
    act = activation(cfg.get("activation_function"), "config.json: activation_function")
    meta = {"vocab_size": vocab, "d_model": d, "n_heads": heads, "d_head": d // heads, "d_ff": d_ff,
            "n_enc_layers": n_enc, "n_dec_layers": n_dec, "max_positions": n_pos,
            "norm": "layer", "norm_eps": 1e-5, "pre_norm": int(family == "mbart"),
            "activation": act, "ffn_gated": 0,
            "embed_scale": math.sqrt(d) if cfg.flag("scale_embedding") else 1.0,
            "attn_scale": (d // heads) ** -0.5, "output_scale": 1.0}
    t = {}
    if family == "marian":
        dec_vocab = cfg.get("decoder_vocab_size")
        if dec_vocab is not None and dec_vocab != vocab:
            raise ConvertError(f"config.json: decoder_vocab_size {dec_vocab} differs from vocab_size "
                               f"{vocab}; separate source and target vocabularies are not supported")
        if cfg.flag("share_encoder_decoder_embeddings"):
            t["embed.weight"] = w.take("model.shared.weight", [vocab, d])
            w.take_tied("model.encoder.embed_tokens.weight", t["embed.weight"])
            w.take_tied("model.decoder.embed_tokens.weight", t["embed.weight"])
            dec_embed = t["embed.weight"]
        else:
            t["enc.embed.weight"] = w.take("model.encoder.embed_tokens.weight", [vocab, d])
            t["dec.embed.weight"] = dec_embed = w.take("model.decoder.embed_tokens.weight", [vocab, d])
        if d % 2:
            raise ConvertError(f"config.json: d_model {d} is odd; Marian's sinusoidal table needs it even")
        meta.update(pos_kind="sinusoidal", pos_sin_layout="concat", pos_offset=0)
        table = sinusoid_concat(n_pos, d)
        for stack in ("encoder", "decoder"):
            name = f"model.{stack}.embed_positions.weight"
            if w.has(name):
                stored = w.take(name, [n_pos, d])
                if not np.array_equal(stored, table):
                    raise ConvertError(f"{w.source}: {name} differs from the sinusoidal table that "
                                       "transformers computes; such a checkpoint is not supported")
    else:
        t["embed.weight"] = w.take("model.shared.weight", [vocab, d])
        w.take_tied("model.encoder.embed_tokens.weight", t["embed.weight"])
        w.take_tied("model.decoder.embed_tokens.weight", t["embed.weight"])
        dec_embed = t["embed.weight"]
        meta.update(pos_kind="learned", pos_offset=2)
        for stack, s in (("encoder", "enc"), ("decoder", "dec")):
            t[f"{s}.pos.weight"] = w.take(f"model.{stack}.embed_positions.weight", [n_pos + 2, d])
            for p in ("weight", "bias"):
                t[f"{s}.embed_norm.{p}"] = w.take(f"model.{stack}.layernorm_embedding.{p}", [d])
    for stack, s, n_layers in (("encoder", "enc", n_enc), ("decoder", "dec", n_dec)):
        for i in range(n_layers):
            hf, at = f"model.{stack}.layers.{i}", f"{s}.{i}"
            blocks = [("self_attn", "attn")] + ([("encoder_attn", "cross")] if s == "dec" else [])
            for hf_attn, at_attn in blocks:
                for hp, ap in (("q_proj", "q"), ("k_proj", "k"), ("v_proj", "v"), ("out_proj", "o")):
                    t[f"{at}.{at_attn}.{ap}.weight"] = w.take(f"{hf}.{hf_attn}.{hp}.weight", [d, d])
                    t[f"{at}.{at_attn}.{ap}.bias"] = w.take(f"{hf}.{hf_attn}.{hp}.bias", [d])
                for p in ("weight", "bias"):
                    t[f"{at}.{at_attn}_norm.{p}"] = w.take(f"{hf}.{hf_attn}_layer_norm.{p}", [d])
            t[f"{at}.ffn.up.weight"] = w.take(f"{hf}.fc1.weight", [d_ff, d])
            t[f"{at}.ffn.up.bias"] = w.take(f"{hf}.fc1.bias", [d_ff])
            t[f"{at}.ffn.down.weight"] = w.take(f"{hf}.fc2.weight", [d, d_ff])
            t[f"{at}.ffn.down.bias"] = w.take(f"{hf}.fc2.bias", [d])
            for p in ("weight", "bias"):
                t[f"{at}.ffn_norm.{p}"] = w.take(f"{hf}.final_layer_norm.{p}", [d])
        if family == "mbart":  # pre-norm stacks end with a LayerNorm
            for p in ("weight", "bias"):
                t[f"{s}.norm.{p}"] = w.take(f"model.{stack}.layer_norm.{p}", [d])
    if not cfg.flag("tie_word_embeddings"):
        raise ConvertError("config.json: tie_word_embeddings = false is not supported for "
                           f"{family} (transformers' {family} checkpoints always tie the output layer)")
    w.take_tied("lm_head.weight", dec_embed)
    if w.has("final_logits_bias"):  # absent: transformers' buffer of zeros
        t["out.bias"] = w.take("final_logits_bias", [1, vocab]).reshape(vocab)
    return meta, t


def convert_t5(cfg, w, family):
    """Maps T5 v1.0 / v1.1 / Flan-T5 / mT5 weights and hyperparameters; returns (meta, tensors)."""
    d, d_kv, heads = cfg.int("d_model", 1), cfg.int("d_kv", 1), cfg.int("num_heads", 1)
    d_ff, vocab = cfg.int("d_ff", 1), cfg.int("vocab_size", 1)
    n_enc = cfg.int("num_layers", 1)
    n_dec = cfg.int("num_decoder_layers", 1) if cfg.get("num_decoder_layers") is not None else n_enc
    n_buckets = cfg.int("relative_attention_num_buckets", 2)
    proj = cfg.get("feed_forward_proj")
    parts = proj.split("-") if isinstance(proj, str) else []
    if not parts or len(parts) > 2 or (len(parts) == 2 and parts[0] != "gated"):
        raise ConvertError(f"config.json: feed_forward_proj {proj!r} is not 'ACT' or 'gated-ACT'")
    # T5Config derives these two from feed_forward_proj; saved values in config.json override them.
    gated = parts[0] == "gated" if cfg.raw.get("is_gated_act") is None else cfg.flag("is_gated_act")
    act_name = cfg.raw.get("dense_act_fn") or ("gelu_new" if proj == "gated-gelu" else parts[-1])
    tied = cfg.flag("tie_word_embeddings")
    inner = heads * d_kv
    meta = {"vocab_size": vocab, "d_model": d, "n_heads": heads, "d_head": d_kv, "d_ff": d_ff,
            "n_enc_layers": n_enc, "n_dec_layers": n_dec,
            "max_positions": cfg.int("n_positions", 1) if cfg.get("n_positions") is not None else 512,
            "norm": "rms", "norm_eps": cfg.float("layer_norm_epsilon"), "pre_norm": 1,
            "activation": activation(act_name, "config.json: dense_act_fn"), "ffn_gated": int(gated),
            "pos_kind": "relative", "rel_buckets": n_buckets,
            "rel_max_distance": cfg.int("relative_attention_max_distance", 1),
            "embed_scale": 1.0, "attn_scale": 1.0, "output_scale": d ** -0.5 if tied else 1.0}
    t = {"embed.weight": w.take("shared.weight", [vocab, d])}
    w.take_tied("encoder.embed_tokens.weight", t["embed.weight"])
    w.take_tied("decoder.embed_tokens.weight", t["embed.weight"])
    for stack, s, n_layers in (("encoder", "enc", n_enc), ("decoder", "dec", n_dec)):
        t[f"{s}.rel.weight"] = w.take(
            f"{stack}.block.0.layer.0.SelfAttention.relative_attention_bias.weight", [n_buckets, heads])
        for i in range(n_layers):
            hf, at = f"{stack}.block.{i}.layer", f"{s}.{i}"
            subs = [("SelfAttention", "attn")] + ([("EncDecAttention", "cross")] if s == "dec" else [])
            for j, (hf_attn, at_attn) in enumerate(subs):
                for p in ("q", "k", "v"):
                    t[f"{at}.{at_attn}.{p}.weight"] = w.take(f"{hf}.{j}.{hf_attn}.{p}.weight", [inner, d])
                t[f"{at}.{at_attn}.o.weight"] = w.take(f"{hf}.{j}.{hf_attn}.o.weight", [d, inner])
                t[f"{at}.{at_attn}_norm.weight"] = w.take(f"{hf}.{j}.layer_norm.weight", [d])
            j = len(subs)
            ffn = f"{hf}.{j}.DenseReluDense"
            if gated:
                t[f"{at}.ffn.gate.weight"] = w.take(f"{ffn}.wi_0.weight", [d_ff, d])
                t[f"{at}.ffn.up.weight"] = w.take(f"{ffn}.wi_1.weight", [d_ff, d])
            else:
                t[f"{at}.ffn.up.weight"] = w.take(f"{ffn}.wi.weight", [d_ff, d])
            t[f"{at}.ffn.down.weight"] = w.take(f"{ffn}.wo.weight", [d, d_ff])
            t[f"{at}.ffn_norm.weight"] = w.take(f"{hf}.{j}.layer_norm.weight", [d])
        t[f"{s}.norm.weight"] = w.take(f"{stack}.final_layer_norm.weight", [d])
    if tied:
        w.take_tied("lm_head.weight", t["embed.weight"])
    else:
        t["out.weight"] = w.take("lm_head.weight", [vocab, d])
    return meta, t


# ---- tokenizer ---------------------------------------------------------------------------------

def token_ids(hf_dir):
    """Returns the tokenizer's {token string: id} from vocab.json or tokenizer.json, or {}."""
    for name in ("vocab.json", "tokenizer.json"):
        if os.path.isfile(os.path.join(hf_dir, name)):
            data = load_json(os.path.join(hf_dir, name))
            if name == "tokenizer.json" and isinstance(data, dict):
                ids = dict((data.get("model") or {}).get("vocab") or {})
                ids.update({t["content"]: t["id"] for t in data.get("added_tokens") or []
                            if isinstance(t, dict) and "content" in t and "id" in t})
                data = ids
            return data if isinstance(data, dict) else {}
    return {}


def unk_id(hf_dir):
    """Returns the id of special_tokens_map.json's unk_token in the tokenizer's vocabulary, or -1."""
    smap = os.path.join(hf_dir, "special_tokens_map.json")
    if not os.path.isfile(smap):
        return -1
    raw = load_json(smap)
    unk = raw.get("unk_token") if isinstance(raw, dict) else None
    if isinstance(unk, dict):
        unk = unk.get("content")
    v = token_ids(hf_dir).get(unk, -1) if isinstance(unk, str) else -1
    return v if isinstance(v, int) else -1


def framing(tokenizer_json, meta):
    """Returns (add_bos, add_eos): how tokenizer.json's post_processor frames one text; raises
    ConvertError for a framing attn cannot reproduce."""
    post = tokenizer_json.get("post_processor")
    if post is None:
        return 0, 0
    want = {"cls": meta["bos_id"], "sep": meta["eos_id"]}
    kind = post.get("type")
    if kind in ("RobertaProcessing", "BertProcessing"):
        for key, want_id in want.items():
            tok = post.get(key)
            if not (isinstance(tok, list) and len(tok) == 2 and tok[1] == want_id):
                raise ConvertError(f"tokenizer.json: post_processor {key} = {tok!r}, not the model's "
                                   f"{'bos' if key == 'cls' else 'eos'} id {want_id}")
        return 1, 1
    if kind == "TemplateProcessing":
        ids = {name: sp.get("ids", [None])[0] for name, sp in (post.get("special_tokens") or {}).items()}
        items = post.get("single") or []
        seq = [i for i, it in enumerate(items) if "Sequence" in it]
        if len(seq) == 1:
            pre = [ids.get(it.get("SpecialToken", {}).get("id")) for it in items[:seq[0]]]
            suf = [ids.get(it.get("SpecialToken", {}).get("id")) for it in items[seq[0] + 1:]]
            if pre in ([], [meta["bos_id"]]) and suf in ([], [meta["eos_id"]]):
                return len(pre), len(suf)
    raise ConvertError(f"tokenizer.json: post_processor {kind} frames texts in a way attn cannot "
                       "reproduce (supported: bos? text eos?)")


# ---- SentencePiece families: the model's vocabulary over the .model file (README: "Hugging Face
# tokenizers") -------------------------------------------------------------------------------------

# MBartTokenizer's language codes (transformers 4.30 FAIRSEQ_LANGUAGE_CODES), in id order.
MBART_LANGS = ["ar_AR", "cs_CZ", "de_DE", "en_XX", "es_XX", "et_EE", "fi_FI", "fr_XX", "gu_IN",
               "hi_IN", "it_IT", "ja_XX", "kk_KZ", "ko_KR", "lt_LT", "lv_LV", "my_MM", "ne_NP",
               "nl_XX", "ro_RO", "ru_RU", "si_LK", "tr_TR", "vi_VN", "zh_CN"]


def read_spm(path):
    """Returns (bytes, [(piece, type)]) of a SentencePiece model file; raises ConvertError."""
    try:
        with open(path, "rb") as f:
            data = f.read()
        return data, protowire.pieces(data)
    except OSError as e:
        raise ConvertError(f"{path}: {e.strerror}")
    except (ValueError, IndexError, UnicodeDecodeError) as e:
        raise ConvertError(f"{path}: not a SentencePiece model: {e}")


def spm_entry(text, kind):
    """Returns the spm-map entry of a SentencePiece piece: control and unknown pieces are the
    tokenizer's special tokens (stripping the white space around them, as strings do)."""
    return ("s", text, "both") if kind in (2, 3) else ("p", text, None)


def tokenizer_config(hf_dir):
    """Returns tokenizer_config.json as a dict ({} when absent); raises ConvertError."""
    path = os.path.join(hf_dir, "tokenizer_config.json")
    raw = load_json(path) if os.path.isfile(path) else {}
    if not isinstance(raw, dict):
        raise ConvertError("tokenizer_config.json: not a JSON object")
    return raw


def pad_entries(entries, vocab_size, what):
    """Returns entries filled with unused ids up to vocab_size; raises ConvertError if longer."""
    if len(entries) > vocab_size:
        raise ConvertError(f"{what}: {len(entries)} tokens, more than the model's vocab_size "
                           f"{vocab_size}")
    return entries + [("-", None, None)] * (vocab_size - len(entries))


def marian_tokenizer(hf_dir, tcfg, meta):
    """MarianTokenizer: source.spm encodes, target.spm decodes, vocab.json numbers the pieces."""
    if tcfg.get("separate_vocabs") or os.path.isfile(os.path.join(hf_dir, "target_vocab.json")):
        raise ConvertError("tokenizer_config.json: separate_vocabs (a target_vocab.json) is not "
                           "supported: attn models share one vocabulary")
    vocab = load_json(os.path.join(hf_dir, "vocab.json"))
    if not isinstance(vocab, dict) or not all(isinstance(v, int) and not isinstance(v, bool)
                                              for v in vocab.values()):
        raise ConvertError("vocab.json: not an object of token ids")
    V = meta["vocab_size"]
    entries = [("-", None, None)] * V
    specials = {tcfg.get(k) or d for k, d in (("unk_token", "<unk>"), ("eos_token", "</s>"),
                                              ("pad_token", "<pad>"))}
    for text, i in vocab.items():
        if not 0 <= i < V or entries[i][0] != "-":
            raise ConvertError(f"vocab.json: {text!r} has id {i}, outside vocab_size {V} or taken")
        if not text or "\0" in text:
            raise ConvertError(f"vocab.json: the empty or NUL-holding token {text!r}")
        entries[i] = ("s", text, "both") if text in specials else ("p", text, None)
    unk = tcfg.get("unk_token") or "<unk>"
    if unk not in vocab:
        raise ConvertError(f"vocab.json: no unknown token {unk!r} (MarianTokenizer requires it)")
    src, _ = read_spm(os.path.join(hf_dir, "source.spm"))
    tgt, _ = read_spm(os.path.join(hf_dir, "target.spm"))
    out = {"tokenizer": attnfile.spm_map_bytes(entries, vocab[unk], src, marian_codes=True),
           "src.add_bos": 0, "src.add_eos": 1}
    if tgt != src:
        out["tokenizer.target"] = attnfile.spm_map_bytes(entries, vocab[unk], tgt,
                                                         marian_codes=True)
    return out, f"Marian tokenizer embedded (source.spm, target.spm, {len(vocab)} vocab.json ids)"


def t5_tokenizer(hf_dir, tcfg, meta):
    """T5Tokenizer: spiece.model's ids, then <extra_id_N> sentinels from the top down."""
    data, pieces = read_spm(os.path.join(hf_dir, "spiece.model"))
    extra = tcfg.get("extra_ids", 100)
    if isinstance(extra, bool) or not isinstance(extra, int) or extra < 0:
        raise ConvertError(f"tokenizer_config.json: extra_ids = {extra!r} is not a count")
    entries = [spm_entry(t, k) for t, k in pieces]
    entries += [("a", f"<extra_id_{extra - 1 - i}>", "both") for i in range(extra)]
    unk = next(i for i, (_, k) in enumerate(pieces) if k == 2)
    # the ids past the sentinels (T5's padding of its embeddings) are the tokens
    # <extra_id_-1>, <extra_id_-2>, ... of T5Tokenizer._convert_id_to_token: no special tokens,
    # and pieces the SentencePiece model does not know, so decode() writes their text
    texts = {t for _, t, _ in entries}
    for i in range(len(entries), meta["vocab_size"]):
        text = f"<extra_id_{len(pieces) + extra - 1 - i}>"
        if text in texts:
            raise ConvertError(f"spiece.model: the piece {text!r} is also T5Tokenizer's name for "
                               f"id {i}")
        entries.append(("p", text, None))
    entries = pad_entries(entries, meta["vocab_size"], "spiece.model")
    out = {"tokenizer": attnfile.spm_map_bytes(entries, unk, data),  # eos unless already there
           "src.add_bos": 0, "src.add_eos": 2}
    return out, f"T5 tokenizer embedded (spiece.model, {len(pieces)} pieces, {extra} sentinels)"


def mbart_tokenizer(hf_dir, tcfg, meta):
    """MBartTokenizer: fairseq ids (piece + 1), then language codes, then <mask>."""
    cls = tcfg.get("tokenizer_class")
    if cls not in (None, "MBartTokenizer", "MBartTokenizerFast"):
        raise ConvertError(f"tokenizer_config.json: tokenizer_class {cls!r} is not supported "
                           "(supported: MBartTokenizer)")
    data, pieces = read_spm(os.path.join(hf_dir, "sentencepiece.bpe.model"))
    if [k for _, k in pieces[:3]] != [2, 3, 3]:
        raise ConvertError("sentencepiece.bpe.model: pieces 0-2 are not <unk>, <s>, </s> as "
                           "fairseq expects")
    entries = [("s", "<s>", "both"), ("s", "<pad>", "both"), ("s", "</s>", "both"),
               ("s", "<unk>", "both")]
    entries += [spm_entry(t, k) for t, k in pieces[3:]]
    entries += [("l", code, "both") for code in MBART_LANGS]
    entries.append(("a", "<mask>", "left"))
    src_lang = tcfg.get("src_lang") or "en_XX"
    if src_lang not in MBART_LANGS:
        raise ConvertError(f"tokenizer_config.json: src_lang {src_lang!r} is not an mBART "
                           "language code")
    out = {"tokenizer": attnfile.spm_map_bytes(pad_entries(entries, meta["vocab_size"],
                                                           "sentencepiece.bpe.model"), 3, data),
           "src.add_bos": 0, "src.add_eos": 1, "src.lang": src_lang}
    return out, (f"mBART tokenizer embedded (sentencepiece.bpe.model, {len(pieces)} pieces, "
                 f"{len(MBART_LANGS)} language codes, source language {src_lang})")


SPM_FILES = {"marian": ("source.spm", marian_tokenizer), "t5": ("spiece.model", t5_tokenizer),
             "mt5": ("spiece.model", t5_tokenizer),
             "mbart": ("sentencepiece.bpe.model", mbart_tokenizer)}


def cleanup_spaces(tcfg):
    """Returns detok.cleanup_spaces: 1 unless tokenizer_config.json turns transformers'
    clean_up_tokenization_spaces off (its default is on); raises ConvertError."""
    on = tcfg.get("clean_up_tokenization_spaces", True)
    if not isinstance(on, bool):
        raise ConvertError(f"tokenizer_config.json: clean_up_tokenization_spaces = {on!r} is not "
                           "true or false")
    return int(on)


def spm_tokenizer(hf_dir, model_type, meta):
    """Returns (metadata to add, note) for a SentencePiece family's tokenizer; raises
    ConvertError."""
    name, build = SPM_FILES[model_type]
    if not os.path.isfile(os.path.join(hf_dir, name)):
        return {}, f"no {name}: the model runs on token ids (attn --ids)"
    tcfg = tokenizer_config(hf_dir)
    out, note = build(hf_dir, tcfg, meta)
    out["detok.cleanup_spaces"] = cleanup_spaces(tcfg)
    out["detok.strip_spaces"] = 1  # the three classes' convert_tokens_to_string ends in strip()
    return out, note


def tokenizer_blob(hf_dir, model_type, meta):
    """Returns (attn tokenizer file bytes or None, add_bos, add_eos, note) for the folder's
    byte-level BPE tokenizer, converted by scripts/convert/tokenizer.py; raises ConvertError."""
    tj, vocab, merges = (os.path.join(hf_dir, f) for f in ("tokenizer.json", "vocab.json", "merges.txt"))
    if os.path.isfile(tj):  # what AutoTokenizer loads (the fast tokenizer)
        add_bos, add_eos = framing(load_json(tj), meta)
        args = ["hf", tj]
    elif os.path.isfile(vocab) and os.path.isfile(merges):  # BartTokenizer: "<s> text </s>"
        add_bos, add_eos = 1, 1
        args = ["gpt2", vocab, merges]
    else:
        return None, 0, 0, "no tokenizer files: the model runs on token ids (attn --ids)"
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "tokenizer")
        p = subprocess.run([sys.executable, "-m", "scripts.convert.tokenizer", *args, "-o", out],
                           capture_output=True, text=True)
        if p.returncode != 0:
            raise ConvertError(f"tokenizer: {p.stderr.strip() or 'tokenizer.py failed'}")
        with open(out, "rb") as f:
            blob = f.read()
    lines = blob.decode("ascii").split("\n")
    n = next(int(l.split()[1]) for l in lines if l.startswith("tokens "))
    entries = lines[lines.index(f"tokens {n}") + 1:][:n]
    beyond = [i for i in range(meta["vocab_size"], n) if not entries[i].startswith(("!", "-"))]
    if beyond:
        raise ConvertError(f"tokenizer: token {beyond[0]} is beyond the model's vocab_size "
                           f"{meta['vocab_size']}")
    for key in ("bos_id", "eos_id"):
        if meta[key] >= 0 and (meta[key] >= n or not entries[meta[key]].startswith("!")):
            raise ConvertError(f"tokenizer: the model's {key} {meta[key]} is not a special token")
    return blob, add_bos, add_eos, f"byte-level BPE tokenizer embedded ({n} tokens)"


def model_card_license(hf_dir):
    """Returns the licence named in README.md's YAML front matter, or None."""
    try:
        with open(os.path.join(hf_dir, "README.md"), encoding="utf-8", errors="replace") as f:
            text = f.read(65536)
    except OSError:
        return None
    m = re.match(r"---\n(.*?)\n---", text, re.S)
    lic = re.search(r"^license:\s*(\S+)\s*$", m.group(1), re.M) if m else None
    return lic.group(1) if lic else None


# ---- main --------------------------------------------------------------------------------------

FAMILY_DEFAULTS = {"bart": BART_DEFAULTS, "mbart": MBART_DEFAULTS, "marian": MARIAN_DEFAULTS,
                   "t5": T5_DEFAULTS, "mt5": MT5_DEFAULTS}


def convert(hf_dir):
    """Returns (meta, tensors, notes) for the model in hf_dir; raises ConvertError."""
    raw = load_json(os.path.join(hf_dir, "config.json"))
    if not isinstance(raw, dict):
        raise ConvertError("config.json: not a JSON object")
    model_type = raw.get("model_type")
    if not isinstance(model_type, str) or model_type not in ARCHITECTURES:
        raise ConvertError(f"config.json: model_type {model_type!r} is not supported (supported: "
                           f"{', '.join(sorted(ARCHITECTURES))})")
    archs = raw.get("architectures") or []
    if not isinstance(archs, list):
        raise ConvertError(f"config.json: architectures must be a list, not {archs!r}")
    for arch in archs:
        if not isinstance(arch, str) or arch not in ARCHITECTURES[model_type]:
            raise ConvertError(f"config.json: architecture {arch!r} is not supported (supported for "
                               f"{model_type}: {', '.join(sorted(ARCHITECTURES[model_type]))})")
    defaults = FAMILY_DEFAULTS[model_type]
    if model_type == "bart" and raw.get("force_bos_token_to_be_generated") and raw.get("forced_bos_token_id") is None:
        # BartConfig turns this legacy flag into forced_bos_token_id = bos_token_id
        raw = dict(raw, forced_bos_token_id=raw.get("bos_token_id", defaults["bos_token_id"]))
    cfg = Config(raw, defaults)
    if not cfg.flag("is_encoder_decoder"):
        raise ConvertError("config.json: is_encoder_decoder = false is not supported")
    if raw.get("add_cross_attention") or raw.get("is_decoder"):
        raise ConvertError("config.json: a decoder-only configuration is not supported")
    tensors, source = read_checkpoint(hf_dir)
    w = Weights(tensors, source)
    if model_type in ("t5", "mt5"):
        meta, t = convert_t5(cfg, w, model_type)
    else:
        meta, t = convert_bart_like(cfg, w, model_type)
    notes = []
    if model_type == "bart":  # keys of old BART configs that transformers 4.30 no longer reads
        for key, standard in BART_LEGACY.items():
            if key in raw and raw[key] != standard:
                notes.append(f"config.json: {key} = {raw[key]!r} is ignored, as transformers 4.30 "
                             "ignores it")
    unused = w.unused()
    if unused:  # transformers ignores (and warns about) checkpoint keys its model has no place for
        notes.append(f"ignored {len(unused)} tensor(s) transformers does not use either: "
                     + ", ".join(unused[:5]) + (" ..." if len(unused) > 5 else ""))
    gen, gen_where = generation_settings(hf_dir, cfg)
    meta.update(generation_meta(gen, gen_where, cfg, meta["vocab_size"]))
    if model_type == "marian":  # MarianMTModel.adjust_logits_during_generation, beam search only
        if meta["pad_id"] < 0:
            raise ConvertError("config.json: Marian needs a pad_token_id")
        meta["gen.beam_mask_pad"] = 1
    else:  # said explicitly, so that a model which bans pad is not masked by the default rule
        meta["gen.beam_mask_pad"] = 0
    meta["unk_id"] = unk_id(hf_dir)
    if model_type in SPM_FILES:
        tok_meta, tok_note = spm_tokenizer(hf_dir, model_type, meta)
        meta.update(tok_meta)
    else:
        blob, add_bos, add_eos, tok_note = tokenizer_blob(hf_dir, model_type, meta)
        if blob is not None:  # how the tokenizer frames a source, e.g. BART's "<s> text </s>"
            meta.update({"tokenizer": blob, "src.add_bos": add_bos, "src.add_eos": add_eos,
                         "detok.cleanup_spaces": cleanup_spaces(tokenizer_config(hf_dir))})
    notes.append(tok_note)
    name = os.path.basename(os.path.normpath(hf_dir))
    archs = ",".join(raw.get("architectures") or [model_type])
    meta.update({"arch": "transformer", "name": raw.get("_name_or_path") or name,
                 "source": f"Hugging Face {archs} (model_type {model_type}, saved by transformers "
                           f"{raw.get('transformers_version', 'unknown')}), weights from {source}, "
                           "converted by scripts/convert/hf_model.py",
                 "hf.model_type": model_type})
    lic = model_card_license(hf_dir)
    if lic:
        meta["license"] = lic
    return meta, t, notes


def main(argv):
    parser = argparse.ArgumentParser(
        prog="python3 -m scripts.convert.hf_model",
        description="Convert a Hugging Face BART / mBART / Marian / T5 folder into an attn model "
        "file.")
    parser.add_argument("hf_dir", metavar="HF_DIR", help="folder with config.json and the weights")
    parser.add_argument("-o", "--output", required=True, metavar="OUT.attn", help="model file to write")
    parser.add_argument("--dtype", choices=["f32", "f16", "bf16", "q8"], default="f32",
                        help="storage type of the 2-D weights (default f32)")
    args = parser.parse_args(argv)
    try:
        if not os.path.isdir(args.hf_dir):
            raise ConvertError(f"{args.hf_dir}: not a folder")
        meta, tensors, notes = convert(args.hf_dir)
        attnfile.write(args.output, meta, tensors, dtype=args.dtype)
    except ConvertError as e:
        sys.stderr.write(f"hf_model.py: {e}\n")
        return 1
    except OSError as e:
        sys.stderr.write(f"hf_model.py: {e.filename or args.output}: {e.strerror}\n")
        return 1
    for note in notes:
        sys.stderr.write(f"hf_model.py: note: {note}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
