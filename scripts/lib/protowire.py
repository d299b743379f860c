"""protowire.py — the protobuf wire format, read and written directly (no protobuf package):
varints and the fields of a message, for the scripts that look inside SentencePiece models."""


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


def count_pieces(model):
    """Returns the number of pieces (ModelProto field 1) of a SentencePiece model's bytes."""
    return sum(1 for num, _, _, _ in fields(model) if num == 1)


def pieces(model):
    """Returns [(text, type)] of a SentencePiece model's pieces (ModelProto field 1; type as in
    the file: 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte)."""
    out = []
    for num, wt, value, _ in fields(model):
        if num != 1 or wt != 2:
            continue
        text, kind = None, 1
        for n, w, v, _ in fields(value):
            if n == 1 and w == 2:
                text = bytes(v).decode("utf-8")
            elif n == 3 and w == 0:
                kind = varint(v, 0)[0]
        if text is None:
            raise ValueError("a piece without text")
        out.append((text, kind))
    return out
