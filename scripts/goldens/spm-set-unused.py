#!/usr/bin/python3
"""spm-set-unused.py IN.model OUT.model EVERY — marks every EVERY-th normal piece of two or more
characters UNUSED (type 5), the state SentencePiece's vocabulary restriction puts pieces in, and
writes the model again; everything else is copied byte for byte.

spm_train never writes unused pieces, so this is how the goldens get a model that has them: the
reference outputs still come from spm_encode and spm_decode reading the written file.  The
protobuf wire format is read and written here directly (no protobuf package).
"""
import sys


def varint(b, i):
    """Returns the varint at b[i:] and the offset after it."""
    v = shift = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7F) << shift
        shift += 7
        if c < 0x80:
            return v, i


def put_varint(v):
    """Returns the bytes of varint v."""
    out = bytearray()
    while True:
        c = v & 0x7F
        v >>= 7
        out.append(c | (0x80 if v else 0))
        if not v:
            return bytes(out)


def fields(b):
    """Yields (number, wire type, value bytes, whole field bytes) for each field of message b."""
    i = 0
    while i < len(b):
        start = i
        key, i = varint(b, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            _, j = varint(b, i)
        elif wt == 1:
            j = i + 8
        elif wt == 5:
            j = i + 4
        elif wt == 2:
            n, i = varint(b, i)
            j = i + n
        else:
            raise ValueError("unexpected wire type %d" % wt)
        yield num, wt, b[i:j], b[start:j]
        i = j


def main():
    src, dst, every = sys.argv[1], sys.argv[2], int(sys.argv[3])
    data = open(src, "rb").read()
    out = bytearray()
    seen = 0
    for num, wt, value, whole in fields(data):
        if num != 1:
            out += whole
            continue
        text, ptype = b"", 1
        for n, w, v, _ in fields(value):
            if n == 1:
                text = v
            elif n == 3:
                ptype, _ = varint(v, 0)
        if ptype == 1 and len(text.decode("utf-8")) >= 2:
            seen += 1
            if seen % every == 0:
                kept = b"".join(f for n, w, v, f in fields(value) if n != 3)
                value = kept + put_varint(3 << 3) + put_varint(5)
        out += put_varint(1 << 3 | 2) + put_varint(len(value)) + value
    open(dst, "wb").write(bytes(out))


if __name__ == "__main__":
    main()
