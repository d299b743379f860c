#!/usr/bin/python3
"""spm_set_unused.py IN.model OUT.model EVERY — marks every EVERY-th normal piece of two or more
characters UNUSED (type 5), the state SentencePiece's vocabulary restriction puts pieces in, and
writes the model again; everything else is copied byte for byte.

spm_train never writes unused pieces, so this is how the goldens get a model that has them: the
reference outputs still come from spm_encode and spm_decode reading the written file.  The
protobuf wire format is read and written directly (scripts/lib/protowire.py).

    python3 -m scripts.goldens.spm_set_unused IN.model OUT.model EVERY
"""
import sys

from scripts.lib.protowire import fields, put_varint, varint


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
