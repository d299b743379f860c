"""attnfile — read and write attn model files (format version 1.0) from Python.

The format is specified in man/attn-format.5; src/modelfile.c is the C reader and writer.
Only the standard library and numpy are needed.

    from scripts.lib import attnfile
    attnfile.write(path, meta, tensors, dtype="f32", compress="zlib", level=6)
    meta, tensors = attnfile.read(path)

meta values map to the file's types: int -> i64, float -> f64, str -> str, bytes -> blob,
list of ints -> i64 array, list of floats -> f64 array (bool is refused: write 0 or 1).
`dtype` (f32, f16, bf16, q8, q4) applies to the 2-D tensors whose name ends in ".weight"; every
other tensor is stored as f32. read() returns every tensor as a float32 array (f16, bf16 and q8
dequantized); read(path, raw=True) also returns the stored form (see read's docstring).
`python3 -m scripts.lib.attnfile FILE` (from the repository root) prints a file's metadata and
tensor table.
"""

import os
import struct
import sys
import zlib

import numpy as np

MAGIC = b"\x89ATTN\r\n\x1a"
VERSION_MAJOR = 1
VERSION_MINOR = 0              # written when no tensor is q4
VERSION_MINOR_Q4 = 1           # the minor version that added q4
Q4_GROUP = 32
HEADER_SIZE = 64
ALIGN = 64
MAX_DIMS = 4
MAX_NAME = 4095
MAX_CHUNK = 1 << 26
DEFAULT_CHUNK = 1 << 18

T_I64, T_F64, T_STR, T_BLOB, T_I64_ARRAY, T_F64_ARRAY = 1, 2, 3, 4, 5, 6
DTYPES = {"f32": 0, "f16": 1, "bf16": 2, "q8": 3, "q4": 4}
DTYPE_NAMES = {v: k for k, v in DTYPES.items()}
ELEM_SIZE = {0: 4, 1: 2, 2: 2, 3: 1, 4: 1}   # q4: see q4_layout
METHOD_NONE, METHOD_DEFLATE = 0, 1
FILTER_NONE, FILTER_SHUFFLE = 0, 1

_HEADER = struct.Struct("<8sHHIQQQIIIIII")       # 64 bytes
_META = struct.Struct("<IIQ")                    # 16 bytes, then key and value
_TENSOR = struct.Struct("<IBBBB4QQQQQII")        # 80 bytes, then name and chunk table
_CHUNK = struct.Struct("<QII")                   # 16 bytes


class FormatError(ValueError):
    """A file that is not a valid attn model file; the message says where and what."""


def _round(n, a):
    return (n + a - 1) // a * a


def _padded_str(b):
    """Bytes followed by a NUL and zero padding up to a multiple of 8."""
    return b + b"\0" * (_round(len(b) + 1, 8) - len(b))


def _padded(b):
    return b + b"\0" * (_round(len(b), 8) - len(b))


# ---- element types --------------------------------------------------------------------------

def f32_to_bf16_bits(x):
    """float32 array -> uint16 bfloat16 bit patterns, rounded to nearest even (NaN stays NaN)."""
    u = np.ascontiguousarray(x, dtype="<f4").view("<u4").astype(np.uint64)
    r = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
    nan = np.isnan(np.asarray(x, dtype=np.float32))
    if nan.any():
        r[nan] = ((u[nan] >> 16).astype(np.uint16) | 0x0040)
    return r


def bf16_bits_to_f32(b):
    return (np.asarray(b, dtype="<u2").astype("<u4") << 16).view("<f4")


def quantize_q8(x):
    """(rows, cols) float32 -> (int8 values, float32 per-row scales); scale = maxabs/127,
    q = round-half-even(x / scale) (0 where a row is all zero)."""
    x = np.ascontiguousarray(x, dtype=np.float32).reshape(x.shape[0], -1)
    if not np.all(np.isfinite(x)):
        raise ValueError("q8 needs finite values")
    maxabs = np.max(np.abs(x), axis=1) if x.shape[1] else np.zeros(x.shape[0], np.float32)
    scale = (maxabs.astype(np.float32) / np.float32(127)).astype(np.float32)
    safe = np.where(scale > 0, scale, np.float32(1)).astype(np.float32)
    q = np.rint(x / safe[:, None])
    q = np.clip(q, -127, 127).astype(np.int8)
    q[scale == 0] = 0
    return q, scale


def q8_layout(rows, cols):
    """Offsets inside a decoded q8 tensor: (scales offset, decoded size)."""
    off = _round(rows * cols, ALIGN)
    return off, off + 4 * rows


def quantize_q4(x):
    """(rows, cols) float32 -> (uint8 nibbles (rows, 16 per group), uint16 half scales (rows,
    groups)); per group of 32, d = m / -8 as a half (m the first value of largest magnitude),
    nibble = round-half-even(x / d) + 8 within 0..15 (8 where d is 0 and past cols)."""
    x = np.ascontiguousarray(x, dtype=np.float32).reshape(x.shape[0], -1)
    if not np.all(np.isfinite(x)):
        raise ValueError("q4 needs finite values")
    rows, cols = x.shape
    groups = -(-cols // Q4_GROUP)
    xg = np.zeros((rows, groups * Q4_GROUP), np.float32)
    xg[:, :cols] = x
    xg = xg.reshape(rows, groups, Q4_GROUP)
    m = np.take_along_axis(xg, np.argmax(np.abs(xg), axis=2)[:, :, None], axis=2)[:, :, 0]
    with np.errstate(over="ignore"):
        d = (m / np.float32(-8)).astype(np.float16)
    if not np.all(np.isfinite(d)):
        raise ValueError("q4 needs |values| below 524160")
    dd = d.astype(np.float32)
    safe = np.where(dd != 0, dd, np.float32(1)).astype(np.float32)
    q = np.clip(np.rint(xg / safe[:, :, None]) + 8, 0, 15).astype(np.uint8)
    q[dd == 0] = 8
    q = q.reshape(rows, groups * Q4_GROUP)
    q[:, cols:] = 8
    return (q[:, 0::2] | (q[:, 1::2] << 4)).astype(np.uint8), d.view(np.uint16)


def q4_layout(rows, cols):
    """Offsets inside a decoded q4 tensor: (scales offset, decoded size)."""
    groups = -(-cols // Q4_GROUP)
    off = _round(rows * groups * (Q4_GROUP // 2), ALIGN)
    return off, off + 2 * rows * groups


def decoded_size(code, shape):
    """Bytes of a decoded tensor of the dtype code and shape."""
    n = int(np.prod([int(d) for d in shape], dtype=object))
    if code == 3:
        return q8_layout(shape[0], n // shape[0])[1]
    if code == 4:
        return q4_layout(shape[0], n // shape[0])[1]
    return n * ELEM_SIZE[code]


def encode_tensor(arr, dtype):
    """float array -> decoded bytes of the given dtype (f32, f16, bf16, q8, q4)."""
    a = np.ascontiguousarray(arr, dtype=np.float32)
    if dtype == "f32":
        return a.astype("<f4").tobytes()
    if dtype == "f16":
        with np.errstate(over="ignore"):     # beyond 65504 becomes infinity, as intended
            return a.astype("<f2").tobytes()
    if dtype == "bf16":
        return f32_to_bf16_bits(a).tobytes()
    if dtype == "q8":
        rows = a.shape[0]
        q, scale = quantize_q8(a.reshape(rows, -1))
        off, size = q8_layout(rows, q.shape[1])
        buf = bytearray(size)
        buf[:q.size] = q.tobytes()
        buf[off:] = scale.astype("<f4").tobytes()
        return bytes(buf)
    if dtype == "q4":
        rows = a.shape[0]
        nib, d = quantize_q4(a.reshape(rows, -1))
        off, size = q4_layout(rows, a.size // rows)
        buf = bytearray(size)
        buf[:nib.size] = nib.tobytes()
        buf[off:] = d.astype("<u2").tobytes()
        return bytes(buf)
    raise ValueError("unknown dtype %r (f32, f16, bf16, q8, q4)" % dtype)


def decode_tensor(data, dtype_code, shape, raw=False):
    """Decoded bytes -> float32 array of the shape (raw=True: the stored values, and for q8 a
    (int8 array, scales) pair)."""
    n = int(np.prod(shape))
    if dtype_code == 0:
        v = np.frombuffer(data, dtype="<f4", count=n).reshape(shape)
        return v.copy() if raw else v.astype(np.float32)
    if dtype_code == 1:
        v = np.frombuffer(data, dtype="<f2", count=n).reshape(shape)
        return v.copy() if raw else v.astype(np.float32)
    if dtype_code == 2:
        v = np.frombuffer(data, dtype="<u2", count=n).reshape(shape)
        return v.copy() if raw else bf16_bits_to_f32(v).reshape(shape)
    rows = shape[0]
    cols = n // rows
    if dtype_code == 4:
        off, _ = q4_layout(rows, cols)
        groups = -(-cols // Q4_GROUP)
        nib = np.frombuffer(data, dtype=np.uint8, count=rows * groups * 16).reshape(rows, -1)
        d = np.frombuffer(data, dtype="<u2", count=rows * groups, offset=off).reshape(rows, -1)
        if raw:
            return nib.copy(), d.copy()
        q = np.stack([nib & 15, nib >> 4], axis=2).reshape(rows, -1)[:, :cols].astype(np.float32)
        scale = np.repeat(d.view(np.float16).astype(np.float32), Q4_GROUP, axis=1)[:, :cols]
        return (scale * (q - np.float32(8))).astype(np.float32).reshape(shape)
    off, _ = q8_layout(rows, cols)
    q = np.frombuffer(data, dtype=np.int8, count=n).reshape(rows, cols)
    s = np.frombuffer(data, dtype="<f4", count=rows, offset=off)
    if raw:
        return q.reshape(shape).copy(), s.copy()
    return (q.astype(np.float32) * s[:, None]).reshape(shape)


def shuffle(b, esize):
    """Byte-shuffle: all first bytes of the values, then all second bytes, ..."""
    if esize == 1:
        return b
    return np.frombuffer(b, dtype=np.uint8).reshape(-1, esize).T.tobytes()


def unshuffle(b, esize):
    if esize == 1:
        return b
    return np.frombuffer(b, dtype=np.uint8).reshape(esize, -1).T.tobytes()


# ---- writer ---------------------------------------------------------------------------------

def _meta_entry(key, value):
    kb = key.encode("utf-8")
    if not 1 <= len(kb) <= MAX_NAME or b"\0" in kb:
        raise ValueError("metadata key %r: 1 to %d bytes, no NUL" % (key, MAX_NAME))
    if isinstance(value, bool):
        raise TypeError("metadata %s: bool is ambiguous, write 0 or 1" % key)
    if isinstance(value, (int, np.integer)):
        t, vb = T_I64, struct.pack("<q", int(value))
    elif isinstance(value, (float, np.floating)):
        t, vb = T_F64, struct.pack("<d", float(value))
    elif isinstance(value, str):
        t, vb = T_STR, value.encode("utf-8")
        if b"\0" in vb:
            raise ValueError("metadata %s: a string cannot hold a NUL character" % key)
    elif isinstance(value, (bytes, bytearray, memoryview)):
        t, vb = T_BLOB, bytes(value)
    elif isinstance(value, (list, tuple, np.ndarray)):
        vals = list(value)
        if all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in vals):
            t, vb = T_I64_ARRAY, struct.pack("<%dq" % len(vals), *[int(v) for v in vals])
        elif all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
                 for v in vals):
            t, vb = T_F64_ARRAY, struct.pack("<%dd" % len(vals), *[float(v) for v in vals])
        else:
            raise TypeError("metadata %s: a list must hold only ints or only numbers" % key)
    else:
        raise TypeError("metadata %s: unsupported type %s" % (key, type(value).__name__))
    body = _padded_str(vb) if t == T_STR else _padded(vb)
    return _META.pack(len(kb), t, len(vb)) + _padded_str(kb) + body


def _tensor_dtype(name, arr, dtype):
    if dtype not in DTYPES:
        raise ValueError("unknown dtype %r (f32, f16, bf16, q8, q4)" % dtype)
    if arr.ndim == 2 and name.endswith(".weight"):
        return dtype
    return "f32"


def store_chunks(dec, code, compress, level=6, shuffle_filter=True, chunk_size=DEFAULT_CHUNK):
    """Decoded bytes of a tensor -> (method, filter, list of stored chunks).

    With compress "zlib" every chunk is deflated (byte-shuffled first for f32/f16/bf16), unless
    that saves less than a tenth of the tensor's size: then the tensor is stored uncompressed
    (inflating it would cost more load time than it saves, and it can be memory-mapped).
    The C writer (src/modelfile_write.c) makes the same choices."""
    pieces = [dec[off:off + chunk_size] for off in range(0, len(dec), chunk_size)]
    if compress != "zlib":
        return METHOD_NONE, FILTER_NONE, pieces
    filt = FILTER_SHUFFLE if shuffle_filter and code < 3 else FILTER_NONE
    out = []
    for piece in pieces:
        if filt == FILTER_SHUFFLE:
            piece = shuffle(piece, ELEM_SIZE[code])
        c = zlib.compressobj(int(level), zlib.DEFLATED, -15)
        out.append(c.compress(piece) + c.flush())
    if 10 * sum(len(c) for c in out) > 9 * len(dec):
        return METHOD_NONE, FILTER_NONE, pieces
    return METHOD_DEFLATE, filt, out


def write(path, meta, tensors, dtype="f32", compress="zlib", level=6, shuffle_filter=True,
          chunk_size=DEFAULT_CHUNK):
    """Writes an attn model file: meta (dict key -> value), tensors (dict name -> array).

    dtype applies to 2-D ".weight" tensors; compress is "zlib" (raw deflate at `level`, with the
    byte-shuffle filter on f32/f16/bf16 unless shuffle_filter is False; see store_chunks) or
    "none". The file is
    written to PATH.tmp and renamed over PATH. Raises ValueError/TypeError on bad input."""
    if compress not in ("zlib", "none"):
        raise ValueError("compress must be 'zlib' or 'none'")
    if not 0 <= int(level) <= 9:
        raise ValueError("level must be 0 to 9")
    if chunk_size <= 0 or chunk_size % ALIGN or chunk_size > MAX_CHUNK:
        raise ValueError("chunk_size must be a positive multiple of 64 up to 64 MiB")
    meta_bytes = b"".join(_meta_entry(k, v) for k, v in meta.items())

    entries = []      # (name bytes, dtype code, method, filter, shape, decoded, crc, chunks)
    for name, t in tensors.items():
        nb = name.encode("utf-8")
        if not 1 <= len(nb) <= MAX_NAME or b"\0" in nb:
            raise ValueError("tensor name %r: 1 to %d bytes, no NUL" % (name, MAX_NAME))
        arr = np.asarray(t)
        if not 1 <= arr.ndim <= MAX_DIMS or arr.size == 0:
            raise ValueError("tensor %s: shape %s (1 to 4 dimensions, none 0)" % (name, arr.shape))
        dt = _tensor_dtype(name, arr, dtype)
        code = DTYPES[dt]
        dec = encode_tensor(arr, dt)
        method, filt, chunks = store_chunks(dec, code, compress, level, shuffle_filter,
                                            chunk_size)
        entries.append((nb, code, method, filt, arr.shape, len(dec), zlib.crc32(dec), chunks))

    dir_size = sum(_TENSOR.size + _round(len(e[0]) + 1, 8) + _CHUNK.size * len(e[7])
                   for e in entries)
    pos = _round(HEADER_SIZE + len(meta_bytes) + dir_size, ALIGN)
    dir_parts = []
    offsets = []
    for nb, code, method, filt, shape, dsize, crc, chunks in entries:
        stored = sum(len(c) for c in chunks)
        shp = list(shape) + [0] * (MAX_DIMS - len(shape))
        dir_parts.append(_TENSOR.pack(len(nb), code, method, filt, len(shape), *shp, pos, stored,
                                      dsize, chunk_size, len(chunks), crc))
        dir_parts.append(_padded_str(nb))
        for c in chunks:
            dir_parts.append(_CHUNK.pack(len(c), zlib.crc32(c), 0))
        offsets.append(pos)
        pos = _round(pos + stored, ALIGN)
    dir_bytes = b"".join(dir_parts)
    assert len(dir_bytes) == dir_size
    file_size = offsets[-1] + sum(len(c) for c in entries[-1][7]) if entries \
        else HEADER_SIZE + len(meta_bytes) + dir_size
    minor = VERSION_MINOR_Q4 if any(e[1] == 4 for e in entries) else VERSION_MINOR
    head = _HEADER.pack(MAGIC, VERSION_MAJOR, minor, 0, file_size, len(meta_bytes),
                        dir_size, len(meta), len(entries), zlib.crc32(meta_bytes),
                        zlib.crc32(dir_bytes), 0, 0)
    head = head[:60] + struct.pack("<I", zlib.crc32(head[:60]))
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(head)
        f.write(meta_bytes)
        f.write(dir_bytes)
        here = HEADER_SIZE + len(meta_bytes) + dir_size
        for off, e in zip(offsets, entries):
            f.write(b"\0" * (off - here))
            for c in e[7]:
                f.write(c)
            here = off + sum(len(c) for c in e[7])
        assert here == file_size
    os.replace(tmp, path)


# ---- reader ---------------------------------------------------------------------------------

class _Buf:
    def __init__(self, data, what):
        self.data, self.pos, self.what = data, 0, what

    def take(self, n, what):
        if n > len(self.data) - self.pos:
            raise FormatError("%s: %s runs past the end of the %s" % (what, what, self.what))
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def string(self, n, what):
        b = self.take(_round(n + 1, 8), what)
        if b[n] != 0 or b"\0" in b[:n] or any(b[n:]):
            raise FormatError("%s: bad terminator or padding" % what)
        return b[:n]


def _read_meta(data, n_meta):
    buf = _Buf(data, "metadata section")
    meta = {}
    for i in range(n_meta):
        klen, t, vsize = _META.unpack(buf.take(_META.size, "metadata entry %d" % i))
        if not 1 <= klen <= MAX_NAME:
            raise FormatError("metadata entry %d: key length %d" % (i, klen))
        key = buf.string(klen, "metadata entry %d" % i).decode("utf-8", "replace")
        what = "key %s" % key
        if key in meta:
            raise FormatError("%s: duplicate key" % what)
        if t in (T_I64, T_F64) and vsize != 8 or t in (T_I64_ARRAY, T_F64_ARRAY) and vsize % 8:
            raise FormatError("%s: value size %d does not fit its type" % (what, vsize))
        if t == T_STR:
            vb = buf.string(vsize, what)
        elif T_I64 <= t <= T_F64_ARRAY:
            vb = buf.take(_round(vsize, 8), what)
            if any(vb[vsize:]):
                raise FormatError("%s: nonzero padding" % what)
            vb = vb[:vsize]
        else:
            raise FormatError("%s: unknown type %d" % (what, t))
        if t == T_I64:
            v = struct.unpack("<q", vb)[0]
        elif t == T_F64:
            v = struct.unpack("<d", vb)[0]
        elif t == T_STR:
            v = vb.decode("utf-8", "surrogateescape")
        elif t == T_BLOB:
            v = bytes(vb)
        elif t == T_I64_ARRAY:
            v = list(struct.unpack("<%dq" % (vsize // 8), vb))
        else:
            v = list(struct.unpack("<%dd" % (vsize // 8), vb))
        meta[key] = v
    if buf.pos != len(data):
        raise FormatError("metadata section: %d bytes left over" % (len(data) - buf.pos))
    return meta


def read(path, raw=False, verify=True, info=None):
    """Reads an attn model file; returns (meta dict, tensors dict of float32 arrays).

    raw=True returns the stored values instead: float32, float16 and uint16 (bf16 bit patterns)
    arrays, and (int8 array, float32 scales) pairs for q8. verify=False skips the data CRCs.
    When `info` is a list, one dict per tensor (name, dtype, method, filter, shape, stored,
    decoded, chunk_size, n_chunks, offset) is appended to it. Raises FormatError."""
    with open(path, "rb") as f:
        data = f.read()
    return read_bytes(data, raw, verify, info)


def read_bytes(data, raw=False, verify=True, info=None):
    """read() on the bytes of a file."""
    if len(data) < HEADER_SIZE:
        raise FormatError("file too short for a header (%d bytes)" % len(data))
    (magic, major, minor, flags, file_size, meta_size, dir_size, n_meta, n_tensors, meta_crc,
     dir_crc, reserved, head_crc) = _HEADER.unpack(data[:HEADER_SIZE])
    if magic != MAGIC:
        raise FormatError("not an attn model file (bad magic)")
    if major != VERSION_MAJOR:
        raise FormatError("format version %d.%d, this reader reads %d.x"
                          % (major, minor, VERSION_MAJOR))
    if zlib.crc32(data[:60]) != head_crc:
        raise FormatError("header: CRC mismatch")
    if flags or reserved:
        raise FormatError("header: nonzero reserved field")
    if file_size != len(data):
        raise FormatError("file is %d bytes, header says %d (truncated or extended)"
                          % (len(data), file_size))
    if meta_size % 8 or dir_size % 8 or HEADER_SIZE + meta_size + dir_size > len(data):
        raise FormatError("header: metadata/directory sizes do not fit the file")
    mdata = data[HEADER_SIZE:HEADER_SIZE + meta_size]
    ddata = data[HEADER_SIZE + meta_size:HEADER_SIZE + meta_size + dir_size]
    if zlib.crc32(mdata) != meta_crc:
        raise FormatError("metadata section: CRC mismatch")
    if zlib.crc32(ddata) != dir_crc:
        raise FormatError("tensor directory: CRC mismatch")
    meta = _read_meta(mdata, n_meta)

    buf = _Buf(ddata, "tensor directory")
    tensors = {}
    pos = HEADER_SIZE + meta_size + dir_size
    for i in range(n_tensors):
        f = _TENSOR.unpack(buf.take(_TENSOR.size, "tensor entry %d" % i))
        nlen, code, method, filt, ndim = f[0:5]
        shape4 = f[5:9]
        offset, stored, decoded, chunk_size, n_chunks, crc = f[9:15]
        if not 1 <= nlen <= MAX_NAME:
            raise FormatError("tensor entry %d: name length %d" % (i, nlen))
        name = buf.string(nlen, "tensor entry %d" % i).decode("utf-8", "replace")
        what = "tensor %s" % name
        if name in tensors:
            raise FormatError("%s: duplicate name" % what)
        if code not in ELEM_SIZE or method > 1 or filt > 1:
            raise FormatError("%s: unknown dtype, method or filter" % what)
        if filt and (method != METHOD_DEFLATE or code >= 3):
            raise FormatError("%s: shuffle filter without deflate or on q8 / q4" % what)
        if not 1 <= ndim <= MAX_DIMS or any(d == 0 for d in shape4[:ndim]) or any(shape4[ndim:]):
            raise FormatError("%s: bad shape" % what)
        shape = tuple(shape4[:ndim])
        want = decoded_size(code, shape)
        if decoded != want:
            raise FormatError("%s: decoded size %d, shape says %d" % (what, decoded, want))
        if chunk_size == 0 or chunk_size % ALIGN or chunk_size > MAX_CHUNK \
                or n_chunks != (decoded + chunk_size - 1) // chunk_size:
            raise FormatError("%s: bad chunking" % what)
        if offset != _round(pos, ALIGN) or offset + stored > len(data):
            raise FormatError("%s: data offset %d / size %d out of place" % (what, offset, stored))
        if any(data[pos:offset]):
            raise FormatError("%s: nonzero padding before its data" % what)
        chunks = [_CHUNK.unpack(buf.take(_CHUNK.size, what + " chunk table"))
                  for _ in range(n_chunks)]
        if sum(c[0] for c in chunks) != stored:
            raise FormatError("%s: chunk sizes do not add up to the stored size" % what)
        out = bytearray()
        p = offset
        for j, (csize, ccrc, cres) in enumerate(chunks):
            dlen = min(chunk_size, decoded - j * chunk_size)
            piece = data[p:p + csize]
            p += csize
            if cres:
                raise FormatError("%s: chunk %d: nonzero reserved field" % (what, j))
            if verify and zlib.crc32(piece) != ccrc:
                raise FormatError("%s: chunk %d: CRC mismatch" % (what, j))
            if method == METHOD_DEFLATE:
                d = zlib.decompressobj(-15)
                try:
                    piece = d.decompress(piece, dlen + 1)
                except zlib.error as e:
                    raise FormatError("%s: chunk %d: %s" % (what, j, e))
                if not d.eof or d.unused_data or d.unconsumed_tail or len(piece) != dlen:
                    raise FormatError("%s: chunk %d: inflates to a wrong size" % (what, j))
                if filt:
                    piece = unshuffle(piece, ELEM_SIZE[code])
            elif csize != dlen:
                raise FormatError("%s: chunk %d: stored size differs from decoded" % (what, j))
            out += piece
        if verify and zlib.crc32(out) != crc:
            raise FormatError("%s: CRC mismatch of the decoded data" % what)
        tensors[name] = decode_tensor(bytes(out), code, shape, raw)
        if info is not None:
            info.append(dict(name=name, dtype=DTYPE_NAMES[code], method=method, filter=filt,
                             shape=shape, stored=stored, decoded=decoded,
                             chunk_size=chunk_size, n_chunks=n_chunks, offset=offset))
        pos = offset + stored
    if buf.pos != len(ddata):
        raise FormatError("tensor directory: %d bytes left over" % (len(ddata) - buf.pos))
    if pos != len(data):
        raise FormatError("%d bytes after the last tensor" % (len(data) - pos))
    return meta, tensors


# ---- the spm-map tokenizer blob (man/attn-format.5, TOKENIZER FILE) ----------------------------

SPM_MAP_MAGIC = b"attn-spm-map 1\n"
SPM_MAP_KINDS = "-psal"        # unused, piece, special (control), added special, language code
SPM_MAP_STRIPS = ("none", "left", "right", "both")


def spm_map_bytes(entries, unk, spm_model, marian_codes=False):
    """Returns the bytes of an spm-map tokenizer: entries[i] is (kind, text, strip) for id i, kind
    one of SPM_MAP_KINDS ("-" with text None), strip one of SPM_MAP_STRIPS for s/a/l entries and
    None otherwise; unk the unknown id; spm_model a SentencePiece model's bytes."""
    lines = [SPM_MAP_MAGIC, b"tokens %d\n" % len(entries), b"unk %d\n" % unk]
    if marian_codes:
        lines.append(b"marian\n")
    for kind, text, strip in entries:
        if kind == "-":
            lines.append(b"-\n")
            continue
        if kind not in SPM_MAP_KINDS or not text or "\0" in text:
            raise ValueError("bad spm-map entry %r" % ((kind, text, strip),))
        line = kind.encode() + b" " + text.encode("utf-8").hex().encode()
        if kind != "p":
            if strip not in SPM_MAP_STRIPS:
                raise ValueError("spm-map entry %r: strip must be one of %s"
                                 % (text, SPM_MAP_STRIPS))
            line += b" " + strip.encode()
        lines.append(line + b"\n")
    lines.append(b"spm %d\n" % len(spm_model))
    return b"".join(lines) + bytes(spm_model)


def read_spm_map(blob):
    """Returns {"entries", "unk", "marian_codes", "spm"} from spm-map bytes, checked as the C
    reader checks them (tokenizer/spm_map.c) except for the SentencePiece model itself; raises
    FormatError."""
    if not blob.startswith(SPM_MAP_MAGIC):
        raise FormatError("not an attn-spm-map 1 file")
    pos = len(SPM_MAP_MAGIC)

    def line():
        nonlocal pos
        end = blob.find(b"\n", pos)
        if end < 0:
            raise FormatError("spm-map: a line without a newline")
        text, pos = blob[pos:end].decode("ascii", "replace"), end + 1
        return text

    head = line().split(" ")
    if (len(head) != 2 or head[0] != "tokens" or not head[1].isdigit()
            or not 1 <= int(head[1]) <= 1 << 24):
        raise FormatError("spm-map: no 'tokens N' line")
    n = int(head[1])
    head = line().split(" ")
    if len(head) != 2 or head[0] != "unk" or not head[1].isdigit() or int(head[1]) >= n:
        raise FormatError("spm-map: no 'unk ID' line with an id below %d" % n)
    unk = int(head[1])
    marian = blob.startswith(b"marian\n", pos)
    pos += len(b"marian\n") if marian else 0
    entries, seen = [], set()
    for i in range(n):
        parts = line().split(" ")
        kind = parts[0]
        if kind == "-" and len(parts) == 1:
            entries.append(("-", None, None))
            continue
        want = 2 if kind == "p" else 3
        if kind not in SPM_MAP_KINDS[1:] or len(parts) != want or not parts[1] or len(parts[1]) % 2:
            raise FormatError("spm-map: vocabulary id %d: bad line" % i)
        try:
            raw = bytes.fromhex(parts[1])
            text = raw.decode("utf-8")
        except ValueError:
            raise FormatError("spm-map: vocabulary id %d: bad hexadecimal or UTF-8 text" % i)
        if parts[1] != parts[1].lower() or "\0" in text or text in seen:
            raise FormatError("spm-map: vocabulary id %d: bad or repeated text" % i)
        strip = parts[2] if kind != "p" else None
        if kind != "p" and strip not in SPM_MAP_STRIPS:
            raise FormatError("spm-map: vocabulary id %d: bad strip %r" % (i, strip))
        seen.add(text)
        entries.append((kind, text, strip))
    if entries[unk][0] == "-":
        raise FormatError("spm-map: the unknown id %d is unused" % unk)
    tail = line().split(" ")
    if (len(tail) != 2 or tail[0] != "spm" or not tail[1].isdigit()
            or int(tail[1]) != len(blob) - pos):
        raise FormatError("spm-map: no 'spm LENGTH' line followed by exactly LENGTH bytes")
    return {"entries": entries, "unk": unk, "marian_codes": marian, "spm": blob[pos:]}


def main(argv):
    if len(argv) != 2 or argv[1] in ("-h", "--help"):
        print("usage: python3 -m scripts.lib.attnfile FILE   (prints metadata and tensor table)")
        return 0 if len(argv) == 2 else 2
    info = []
    try:
        meta, _ = read(argv[1], raw=True, info=info)
    except (OSError, FormatError) as e:
        print("attnfile.py: %s: %s" % (argv[1], e), file=sys.stderr)
        return 1
    for k, v in meta.items():
        if isinstance(v, bytes):
            v = "<blob %d bytes>" % len(v)
        print("%s = %r" % (k, v))
    for t in info:
        print("%-32s %-4s %-16s %12d %12d" % (t["name"], t["dtype"], "x".join(map(str, t["shape"])),
                                            t["stored"], t["decoded"]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
