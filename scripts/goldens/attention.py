"""attention.py — PyTorch's attention weights as goldens for attn's attention capture.

For each committed reference model of reference.py (torch.nn.Transformer with seeded weights) and
each of its sources (encoded alone, no padding), the decoder is teacher-forced along reference.py's
target of that source, and every decoder layer's cross-attention weights are taken from its
nn.MultiheadAttention called with need_weights=True, both per head (average_attn_weights=False)
and averaged over heads (average_attn_weights=True, PyTorch's default); every encoder layer's
self-attention weights too.

Run from the repository root: /usr/bin/python3 -m scripts.goldens.attention --out tests/data/ref
It writes NAME.attnw next to reference.py's NAME.ref, whitespace-separated text read by
tests/test_transformer.c:
    attn-weights 1
    model NAME.attn
    tol F                                     max abs difference allowed
    sources N, then per source:
    source I LEN id...                        the source ids
    steps T id...                             decoder inputs (reference.py's target prefix)
    cross L H T LEN then L*H*T*LEN floats     weights[l, h, t, j] of step t (per head)
    mean L T LEN then L*T*LEN floats          the same averaged over heads by PyTorch
    enc L H LEN LEN then floats               encoder self-attention weights[l, h, i, j]
"""

import argparse
import os

import numpy as np
import torch

from scripts.goldens import reference

NAMES = [n for n, c in reference.CONFIGS.items() if not c["live_only"]]


def fmt(a):
    return " ".join("%.9g" % v for v in np.asarray(a, dtype=np.float32).ravel())


def mha_weights(mod, q, kv, average):
    """nn.MultiheadAttention's weights for queries q over keys kv (no mask), as PyTorch returns
    them with need_weights=True: (H, Tq, Tk), or (Tq, Tk) when averaged over heads."""
    _, w = mod(q, kv, kv, need_weights=True, average_attn_weights=average)
    return w[0].numpy()


@torch.no_grad()
def weights(m, src, steps):
    """Cross (L, H, T, S), mean (L, T, S) and encoder (L, H, S, S) weights for one source, read
    layer by layer: each attention module is called on the input its layer gives it."""
    x = m.embed(torch.tensor([src]), "src")
    encw = []
    for layer in m.tr.encoder.layers:
        h = layer.norm1(x) if layer.norm_first else x
        encw.append(mha_weights(layer.self_attn, h, h, False))
        x = layer(x)
    mem = m.encode(torch.tensor([src]), None)
    y = m.embed(torch.tensor([steps]), "tgt")
    causal = m.tr.generate_square_subsequent_mask(len(steps))
    cross, mean = [], []
    for layer in m.tr.decoder.layers:
        if layer.norm_first:
            q = layer.norm2(y + layer._sa_block(layer.norm1(y), causal, None))
        else:
            q = layer.norm1(y + layer._sa_block(y, causal, None))
        cross.append(mha_weights(layer.multihead_attn, q, mem, False))
        mean.append(mha_weights(layer.multihead_attn, q, mem, True))
        y = layer(y, mem, tgt_mask=causal)
    return np.stack(cross), np.stack(mean), np.stack(encw)


def write(out_dir, name):
    c = reference.CONFIGS[name]
    m = reference.build(name)
    src, tgt = reference.make_inputs(c, c["seed"])
    with open(os.path.join(out_dir, name + ".attnw"), "w") as f:
        f.write("attn-weights 1\nmodel %s.attn\ntol %g\nsources %d\n" % (name, 1e-5, len(src)))
        for i, s in enumerate(src):
            steps = [int(t) for t in tgt[i]]
            cross, avg, encw = weights(m, [int(t) for t in s], steps)
            f.write("source %d %d %s\n" % (i, len(s), " ".join(map(str, s))))
            f.write("steps %d %s\n" % (len(steps), " ".join(map(str, steps))))
            f.write("cross %d %d %d %d\n%s\n" % (cross.shape + (fmt(cross),)))
            f.write("mean %d %d %d\n%s\n" % (avg.shape + (fmt(avg),)))
            f.write("enc %d %d %d %d\n%s\n" % (encw.shape + (fmt(encw),)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="directory of reference.py's goldens")
    ap.add_argument("names", nargs="*", default=NAMES)
    a = ap.parse_args()
    for name in a.names:
        write(a.out, name)


if __name__ == "__main__":
    main()
