"""Writes the model-file test fixtures with the Python writer, or checks a file against them.

    python3 -m scripts.goldens.modelfile_fixtures [DIR]    write DIR/py-{f32,f16,bf16,q8,none}.attn
                                                           (default DIR: tests/data/modelfile)
    python3 -m scripts.goldens.modelfile_fixtures --seeds DIR     the fuzzer's seeds (tiny files)
    python3 -m scripts.goldens.modelfile_fixtures --check FILE DTYPE COMPRESS
        reads FILE (written by any writer, e.g. the C one in tests/test_modelfile.c) with
        scripts/lib/attnfile.py and checks that its metadata and the stored bits of every tensor
        are exactly what this script writes for DTYPE (f32 f16 bf16 q8 q4) and COMPRESS (zlib none);
        exit 0 when they are, 1 with the first difference otherwise.

The values are chosen to hit the conversions' edge cases (halfway cases of f16 and bf16, f16
overflow and subnormals, an all-zero q8 row).  f16 conversion is numpy's; bf16 conversion is
checked against torch when torch is importable.  tests/test_modelfile.c knows the metadata below
and checks the C reader against these files.
"""

import os
import sys

import numpy as np

from scripts.lib import attnfile

CHUNK = 1024

META = {
    "arch": "transformer",
    "name": "fixture \u00e9\u00e8 \u2713",
    "d_model": 48,
    "neg": -(2 ** 63),
    "big": 2 ** 63 - 1,
    "norm_eps": 1e-5,
    "embed_scale": -0.0,
    "empty_str": "",
    "tokenizer": bytes(range(256)) * 3,
    "empty_blob": b"",
    "gen.bad_ids": [1, -2, 3],
    "empty_ids": [],
    "floats": [0.5, -1.25, 1e300],
}


def ref_values():
    """The 256 values that tests/test_modelfile.c converts itself and compares bit for bit."""
    special = [0.0, -0.0, 1.0, -1.0, 65504.0, 65519.0, 65520.0, -65520.0, 1e30,
               2.0 ** -24, 2.0 ** -25, 3 * 2.0 ** -25, 2.0 ** -26, 6e-8, 1e-45, -2.0 ** -14,
               1 + 2.0 ** -11, 1 + 3 * 2.0 ** -11, 1 + 2.0 ** -8, 1 + 3 * 2.0 ** -8,
               1 + 2.0 ** -8 + 2.0 ** -20, 3.4e38, -3.4e38, 1e-40, 0.1, -0.3, 1 / 3, 2.5]
    rng = np.random.default_rng(1234)
    v = np.concatenate([np.array(special, dtype=np.float32),
                        coarse(rng.standard_normal(240 - len(special)) * 0.05),
                        np.zeros(16, np.float32)])
    return v.astype(np.float32)


def coarse(x):
    """Values rounded to multiples of 2^-12: zero low mantissa bits, so that deflate shrinks every
    tensor enough to be stored compressed (random full-precision floats would be stored as is)."""
    return (np.round(np.asarray(x) * 4096) / 4096).astype(np.float32)


def tensors():
    """The fixture's tensors: conv.weight is ref.values as a (16, 16) matrix (last row zero)."""
    rng = np.random.default_rng(99)
    v = ref_values()
    # few distinct values (and max |w| = 3/32 in every row): every dtype deflates well
    steps = rng.integers(-3, 4, size=(32, 48))
    steps[:, 0] = 3
    embed = (steps / 32).astype(np.float32)
    return {
        "ref.values": v,
        "conv.weight": v.reshape(16, 16),
        "embed.weight": embed,
        "enc.0.attn_norm.bias": coarse(rng.standard_normal(48) * 0.1),
        "cube": coarse(rng.standard_normal((2, 3, 5))),
    }


FILES = [("py-f32.attn", "f32", "zlib"), ("py-f16.attn", "f16", "zlib"),
         ("py-bf16.attn", "bf16", "zlib"), ("py-q8.attn", "q8", "zlib"),
         ("py-none.attn", "f32", "none")]


def write_all(outdir):
    os.makedirs(outdir, exist_ok=True)
    for name, dtype, compress in FILES:
        path = os.path.join(outdir, name)
        attnfile.write(path, META, tensors(), dtype=dtype, compress=compress, level=6,
                       chunk_size=CHUNK)
        print("wrote %s (%d bytes)" % (path, os.path.getsize(path)))


def write_seeds(outdir):
    """Tiny files for tests/fuzz/fuzz_modelfile.c: every dtype, method and metadata type."""
    os.makedirs(outdir, exist_ok=True)
    rng = np.random.default_rng(7)
    meta = {"arch": "transformer", "d_model": 8, "norm_eps": 1e-6, "tokenizer": b"\x01\x02tok",
            "gen.bad_ids": [0, 5], "gen.scales": [0.5, 2.0]}
    t = {"embed.weight": (rng.integers(-3, 4, size=(6, 8)) / 32).astype(np.float32),
         "enc.0.ffn.up.weight": coarse(rng.standard_normal((4, 8))),
         "out.bias": np.zeros(6, np.float32)}
    n = 0
    for dtype in ("f32", "f16", "bf16", "q8"):
        for compress in ("zlib", "none"):
            path = os.path.join(outdir, "seed-%s-%s.attn" % (dtype, compress))
            attnfile.write(path, meta, t, dtype=dtype, compress=compress, chunk_size=64)
            n += 1
    attnfile.write(os.path.join(outdir, "seed-meta-only.attn"), meta, {})
    attnfile.write(os.path.join(outdir, "seed-empty.attn"), {}, {})
    print("wrote %d seeds to %s" % (n + 2, outdir))


def cross_check_bf16():
    """bf16 rounding of attnfile against torch's, when torch is there."""
    try:
        import torch
    except ImportError:
        print("torch not importable: bf16 rounding not cross-checked against torch")
        return
    v = ref_values()
    mine = attnfile.f32_to_bf16_bits(v)
    theirs = torch.from_numpy(v).to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16)
    if not np.array_equal(mine, theirs):
        i = int(np.nonzero(mine != theirs)[0][0])
        sys.exit("bf16 rounding differs from torch at %r: %04x vs %04x" % (v[i], mine[i], theirs[i]))
    print("bf16 rounding agrees with torch on the %d reference values" % len(v))


def check(path, dtype, compress):
    info = []
    meta, got = attnfile.read(path, raw=True, info=info)
    if meta != META:
        for k in set(meta) | set(META):
            if meta.get(k) != META.get(k):
                return "metadata %s: %r, expected %r" % (k, meta.get(k), META.get(k))
    want = tensors()
    if list(got) != list(want):
        return "tensor names %s, expected %s" % (list(got), list(want))
    for t in info:
        name = t["name"]
        dt = attnfile._tensor_dtype(name, want[name], dtype)
        if t["dtype"] != dt:
            return "tensor %s: dtype %s, expected %s" % (name, t["dtype"], dt)
        expect = attnfile.encode_tensor(want[name], dt)
        code = attnfile.DTYPES[dt]
        method, filt, _ = attnfile.store_chunks(expect, code, compress, chunk_size=t["chunk_size"])
        if (t["method"], t["filter"]) != (method, filt):
            return "tensor %s: method %d filter %d, expected %d %d" % (
                name, t["method"], t["filter"], method, filt)
        raw = got[name]
        if code == 3:
            off, _ = attnfile.q8_layout(raw[0].shape[0], raw[0].size // raw[0].shape[0])
            data = raw[0].tobytes() + b"\0" * (off - raw[0].size) + raw[1].tobytes()
        elif code == 4:
            w = np.asarray(want[name])
            off, _ = attnfile.q4_layout(w.shape[0], w.size // w.shape[0])
            data = raw[0].tobytes() + b"\0" * (off - raw[0].size) + raw[1].astype("<u2").tobytes()
        else:
            data = raw.tobytes()
        if data != expect:
            i = next(i for i in range(len(data)) if data[i] != expect[i])
            return "tensor %s: stored bytes differ from byte %d" % (name, i)
    # the Python writer, given the same values and options, writes the very same file
    chunk = info[0]["chunk_size"] if info else attnfile.DEFAULT_CHUNK
    ref = path + ".py"
    attnfile.write(ref, META, want, dtype=dtype, compress=compress, chunk_size=chunk)
    with open(ref, "rb") as f:
        a = f.read()
    os.remove(ref)
    with open(path, "rb") as f:
        b = f.read()
    if a != b:
        i = next((i for i in range(min(len(a), len(b))) if a[i] != b[i]), min(len(a), len(b)))
        return "differs from the Python writer's file from byte %d (sizes %d, %d)" % (
            i, len(b), len(a))
    return None


def main(argv):
    if len(argv) >= 2 and argv[1] == "--check":
        if len(argv) != 5:
            print(__doc__)
            return 2
        err = check(argv[2], argv[3], argv[4])
        if err:
            print("modelfile_fixtures.py: %s: %s" % (argv[2], err), file=sys.stderr)
            return 1
        print("%s: metadata and every tensor's stored bits as expected, and byte-identical to the "
              "Python writer's file (%s, %s)"
              % (argv[2], argv[3], argv[4]))
        return 0
    if len(argv) == 3 and argv[1] == "--seeds":
        write_seeds(argv[2])
        return 0
    cross_check_bf16()
    write_all(argv[1] if len(argv) > 1 else "tests/data/modelfile")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
