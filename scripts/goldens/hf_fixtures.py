"""Copies the Hugging Face reference fixtures that make check needs into tests/data/hf/.

usage: python3 -m scripts.goldens.hf_fixtures [--src ../shared/fixtures/hf] [--dst tests/data/hf]

For each model (bart, marian, t5_v1_0, t5_v1_1) it copies config.json, generation_config.json,
model.safetensors and the <case>.*.npy outputs, checking each against the fixtures' SHA256SUMS,
and writes reference.txt: the parts of reference.json (made by transformers 4.30.0) that the tests
read, as plain lines a C test parses with sscanf.  Nothing in reference.txt is computed here;
every number is copied from reference.json.

reference.txt lines (ids are space separated):
  model NAME
  case NAME ROWS                    a batch of ROWS sources
  src ROW LEN ID...                 the attention_mask == 1 tokens of input_ids[ROW]
  dec ROW LEN ID...                 decoder_input_ids[ROW] (teacher forcing; logits at each position)
  enc FILE                          encoder_last_hidden_state .npy [ROWS, S, d_model]
  logits FILE                       logits .npy [ROWS, 8, vocab]
  gen MODE num_beams N max_new_tokens N length_penalty X early_stopping 0|1 num_return N
      repetition_penalty X no_repeat_ngram N         (generate() kwargs; defaults filled in)
  seq MODE I LEN ID...              generate().sequences[I] (rows grouped, num_return each)
  score MODE I X                    sequences_scores[I] (beam only)
  end
"""
import argparse
import hashlib
import json
import os
import shutil
import sys

MODELS = ["bart", "marian", "t5_v1_0", "t5_v1_1"]
COPIED = ["config.json", "generation_config.json", "model.safetensors"]


def sha256(path):
    """Returns the hex SHA-256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def ids(row):
    """Returns 'LEN id id ...' for a list of ints."""
    return " ".join(str(int(v)) for v in [len(row)] + list(row))


def reference_lines(name, ref):
    """Returns reference.txt's lines for one model's reference.json."""
    v = ref["versions"]
    # the script's name of when the committed files were written: they regenerate byte for byte
    out = [f"# {name}: extracted by scripts/hf_fixtures.py from reference.json, made by transformers "
           f"{v['transformers']} (torch {v['torch']}); do not edit", f"model {name}"]
    for case, c in ref["cases"].items():
        out.append(f"case {case} {len(c['input_ids'])}")
        for r, (row, mask) in enumerate(zip(c["input_ids"], c["attention_mask"])):
            n = sum(mask)
            if mask != [1] * n + [0] * (len(mask) - n):
                sys.exit(f"hf_fixtures.py: {name}/{case}: attention_mask is not right padding")
            out.append(f"src {r} {ids(row[:n])}")
        for r, row in enumerate(c["decoder_input_ids"]):
            out.append(f"dec {r} {ids(row)}")
        out.append(f"enc {c['encoder_last_hidden_state']['file']}")
        out.append(f"logits {c['logits']['file']}")
        for mode, g in c.get("generate", {}).items():
            k = g["kwargs"]
            if k.get("do_sample") or set(k) - {"do_sample", "num_beams", "max_new_tokens", "length_penalty",
                                               "early_stopping", "num_return_sequences",
                                               "repetition_penalty", "no_repeat_ngram_size"}:
                sys.exit(f"hf_fixtures.py: {name}/{case}/{mode}: unexpected kwargs {k}")
            out.append(f"gen {mode} num_beams {k.get('num_beams', 1)} max_new_tokens {k['max_new_tokens']} "
                       f"length_penalty {float(k.get('length_penalty', 1.0))!r} "
                       f"early_stopping {int(k.get('early_stopping', False))} "
                       f"num_return {k.get('num_return_sequences', 1)} "
                       f"repetition_penalty {float(k.get('repetition_penalty', 1.0))!r} "
                       f"no_repeat_ngram {k.get('no_repeat_ngram_size', 0)}")
            for i, s in enumerate(g["sequences"]):
                out.append(f"seq {mode} {i} {ids(s)}")
            for i, s in enumerate(g.get("sequences_scores", [])):
                out.append(f"score {mode} {i} {float(s)!r}")
        out.append("end")
    return out


def main(argv):
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    parser = argparse.ArgumentParser(description="copy the HF fixtures make check needs")
    parser.add_argument("--src", default=os.path.join(root, "..", "shared", "fixtures", "hf"))
    parser.add_argument("--dst", default=os.path.join(root, "tests", "data", "hf"))
    args = parser.parse_args(argv)
    sums = {}
    with open(os.path.join(args.src, "SHA256SUMS")) as f:
        for line in f:
            digest, path = line.split()
            sums[path] = digest
    for name in MODELS:
        with open(os.path.join(args.src, name, "reference.json")) as f:
            ref = json.load(f)
        files = list(COPIED)
        for c in ref["cases"].values():
            files += [c["encoder_last_hidden_state"]["file"], c["logits"]["file"]]
        os.makedirs(os.path.join(args.dst, name), exist_ok=True)
        for fn in files:
            src = os.path.join(args.src, name, fn)
            if sha256(src) != sums[f"{name}/{fn}"]:
                sys.exit(f"hf_fixtures.py: {src}: SHA-256 differs from SHA256SUMS")
            shutil.copyfile(src, os.path.join(args.dst, name, fn))
        with open(os.path.join(args.dst, name, "reference.txt"), "w") as f:
            f.write("\n".join(reference_lines(name, ref)) + "\n")
        print(f"{name}: {len(files)} files and reference.txt")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
