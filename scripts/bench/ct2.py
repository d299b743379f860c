"""ct2.py — CTranslate2's speed on the shapes of attn's base-size benchmark model, for
scripts/bench/decode.sh to print beside attn's figures.

  /usr/bin/python3 -m scripts.bench.ct2 --threads T --compute-type int8|float32 [--batch 32]
      [--beams 4] [--src-len 32] [--out-len 32] [--work DIR]

Writes a model with random weights of the base model's shapes (d_model 512, 8 heads, FFN 2048,
6+6 post-norm layers, vocabulary 32000; speed does not depend on the values) under --work once
with scripts/bench/ct2_model.py (float32; CTranslate2 quantises it to int8 on load), and
decodes random source ids with forced lengths (min_decoding_length = max_decoding_length), as
attn bench does: the bulk case (batch x beams)
and batch 1 greedy.  Decoding time is the time at L = out_len + 8 minus the time at L = 8, so
that encoding and setup cancel out; tokens are counted per beam (batch x beams x out_len), as
attn bench counts them.  Prints "key<TAB>value" lines: ct2.decode_b1_tok_s and
ct2.decode_bBxK_tok_s.  Exits with status 3 (and one line on stderr) when ctranslate2 cannot be
imported: it is never a dependency of attn.
"""
import argparse
import os
import statistics
import sys
import time

from scripts.bench import ct2_model


def decode_seconds(translator, sources, beams, length, reps):
    """Median seconds of translating sources with forced output length `length`."""
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        translator.translate_batch(sources, beam_size=beams, max_batch_size=len(sources),
                                   min_decoding_length=length, max_decoding_length=length)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--compute-type", default="int8", help="int8 or float32")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--beams", type=int, default=4)
    p.add_argument("--src-len", type=int, default=32)
    p.add_argument("--out-len", type=int, default=32)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--work", default="build/bench/ct2-base")
    a = p.parse_args()
    try:
        import ctranslate2
    except ImportError as e:
        print("ct2.py: ctranslate2 is not importable (%s)" % e, file=sys.stderr)
        sys.exit(3)
    if not os.path.exists(os.path.join(a.work, "model.bin")):
        ct2_model.write(a.work, "float32")
    tr = ctranslate2.Translator(a.work, device="cpu", compute_type=a.compute_type,
                                inter_threads=1, intra_threads=a.threads)
    import random
    rnd = random.Random(12345)
    srcs = [["t%d" % rnd.randrange(4, 32000) for _ in range(a.src_len)] for _ in range(a.batch)]
    print("ct2.version\t%s" % ctranslate2.__version__)
    for name, batch, beams in (("b1", 1, 1), ("b%dx%d" % (a.batch, a.beams), a.batch, a.beams)):
        src = srcs[:batch]
        short = decode_seconds(tr, src, beams, 8, a.reps)
        full = decode_seconds(tr, src, beams, 8 + a.out_len, a.reps)
        tokens = batch * beams * a.out_len
        print("ct2.decode_%s_tok_s\t%.1f" % (name, tokens / max(full - short, 1e-9)), flush=True)


if __name__ == "__main__":
    main()
