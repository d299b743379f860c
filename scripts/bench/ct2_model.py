"""ct2_model.py — writes a CTranslate2 model directory of the base model's shapes with random
weights, without the ctranslate2 module (the speed of a product does not depend on its values).

  /usr/bin/python3 -m scripts.bench.ct2_model DIR float32|int8

DIR gets model.bin (CTranslate2's binary layout, version 6: the spec name and revision, then each
variable's name, shape, type and bytes, sorted by name), config.json, shared_vocabulary.json and
a word-level tokenizer.json (tokens "t4" ... "t31999", split on spaces) for front ends that
tokenize text.  The output projection's bias puts end of sequence at -1e9, so that a decoder
never stops before its length limit: runs with no forced length still generate the same number
of tokens as attn bench does with end of sequence ignored.  int8 holds each weight matrix as int8
with one float scale per row (127 / max |row|), as CTranslate2's int8 models do.
"""
import json
import os
import struct
import sys

import numpy as np

TYPE_IDS = {"float32": 0, "int8": 1, "int16": 2, "int32": 3, "float16": 4}
SPECIAL = ["<blank>", "<s>", "</s>", "<unk>"]


def variables(d=512, heads=8, ff=2048, layers=6, vocab=32000, eos=2):
    """Returns {name: array} of a post-norm Transformer in CTranslate2's variable names."""
    rng = np.random.default_rng(0)
    var = {}

    def linear(scope, rows, cols, bias=None):
        var[scope + "/weight"] = (rng.standard_normal((rows, cols)) * 0.02).astype(np.float32)
        var[scope + "/bias"] = np.zeros(rows, np.float32) if bias is None else bias
        var[scope + "/keep_in_float32"] = np.int8(0)

    def norm(scope):
        var[scope + "/gamma"] = np.ones(d, np.float32)
        var[scope + "/beta"] = np.zeros(d, np.float32)

    for stack in ("encoder", "decoder"):
        var[stack + "/num_heads"] = np.int16(heads)
        var[stack + "/pre_norm"] = np.int8(0)
        var[stack + "/activation"] = np.int8(0)         # ReLU
        var[stack + "/scale_embeddings"] = np.int8(1)
        for i in range(layers):
            scope = "%s/layer_%d" % (stack, i)
            linear(scope + "/self_attention/linear_0", 3 * d, d)   # queries, keys, values
            linear(scope + "/self_attention/linear_1", d, d)
            norm(scope + "/self_attention/layer_norm")
            if stack == "decoder":
                linear(scope + "/attention/linear_0", d, d)        # queries
                linear(scope + "/attention/linear_1", 2 * d, d)    # keys, values of the source
                linear(scope + "/attention/linear_2", d, d)
                norm(scope + "/attention/layer_norm")
            linear(scope + "/ffn/linear_0", ff, d)
            linear(scope + "/ffn/linear_1", d, ff)
            norm(scope + "/ffn/layer_norm")
        emb = (rng.standard_normal((vocab, d)) * 0.02).astype(np.float32)
        var["encoder/embeddings_0/weight" if stack == "encoder" else
            "decoder/embeddings/weight"] = emb
    var["encoder/embeddings_merge"] = np.int8(0)
    var["encoder/multi_query_attention"] = np.int8(0)
    var["decoder/alignment_layer"] = np.int16(-1)
    var["decoder/alignment_heads"] = np.int16(1)
    for flag in ("alibi", "alibi_use_positive_positions", "scale_alibi",
                 "start_from_zero_embedding"):
        var["decoder/" + flag] = np.int8(0)
    bias = np.zeros(vocab, np.float32)
    bias[eos] = -1e9
    linear("decoder/projection", vocab, d, bias)
    return var


def quantize_int8(var):
    """Replaces each weight matrix by int8 values and a per-row float scale, in place."""
    for name in [k for k in var if k.endswith("/weight")]:
        w = var[name]
        amax = np.abs(w).max(axis=1)
        amax[amax == 0] = 127.0
        scale = (127.0 / amax).astype(np.float32)
        var[name] = np.rint(w * scale[:, None]).astype(np.int8)
        var[name + "_scale"] = scale


def write_bin(path, var, spec="TransformerSpec", revision=7):
    """Writes the variables in CTranslate2's model.bin layout (binary version 6, no aliases)."""
    with open(path, "wb") as f:
        def string(s):
            b = s.encode("utf-8")
            f.write(struct.pack("<H", len(b) + 1) + b + b"\0")
        f.write(struct.pack("<I", 6))
        string(spec)
        f.write(struct.pack("<II", revision, len(var)))
        for name in sorted(var):
            a = np.asarray(var[name])
            string(name)
            f.write(struct.pack("<B", a.ndim))
            f.write(struct.pack("<%dI" % a.ndim, *a.shape))
            f.write(struct.pack("<BI", TYPE_IDS[a.dtype.name], a.nbytes))
            f.write(a.tobytes())
        f.write(struct.pack("<I", 0))


def write(out_dir, compute_type, vocab=32000):
    """Writes the whole model directory for compute_type float32 or int8."""
    var = variables(vocab=vocab)
    if compute_type == "int8":
        quantize_int8(var)
    elif compute_type != "float32":
        raise ValueError("compute type must be float32 or int8, not %r" % compute_type)
    os.makedirs(out_dir, exist_ok=True)
    write_bin(os.path.join(out_dir, "model.bin"), var)
    tokens = SPECIAL + ["t%d" % i for i in range(len(SPECIAL), vocab)]
    with open(os.path.join(out_dir, "shared_vocabulary.json"), "w") as f:
        json.dump(tokens, f)
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump({"add_source_bos": False, "add_source_eos": False, "bos_token": "<s>",
                   "decoder_start_token": "<s>", "eos_token": "</s>",
                   "layer_norm_epsilon": None, "multi_query_attention": False,
                   "unk_token": "<unk>"}, f)
    with open(os.path.join(out_dir, "tokenizer.json"), "w") as f:
        json.dump({"version": "1.0", "truncation": None, "padding": None, "added_tokens": [],
                   "normalizer": None, "pre_tokenizer": {"type": "WhitespaceSplit"},
                   "post_processor": None,
                   "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": False},
                   "model": {"type": "WordLevel", "unk_token": "<unk>",
                             "vocab": {t: i for i, t in enumerate(tokens)}}}, f)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python3 -m scripts.bench.ct2_model DIR float32|int8")
    write(sys.argv[1], sys.argv[2])
