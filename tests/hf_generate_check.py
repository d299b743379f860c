#!/usr/bin/python3
"""hf_generate_check.py — attn's generate() against transformers 4.30's on the HF fixtures.

For each fixture folder of tests/data/hf (BART, Marian, T5 v1.0, T5 v1.1) this converts the model
with scripts/convert/hf_model.py, runs `attn --ids --json` on every source of reference.txt with
the generate() settings recorded there (greedy; 4 beams with early stopping and 4 returned
sequences; repetition penalty 1.3 with no-repeat 3-grams), and compares every returned sequence
with transformers' ids (start token, ids, eos, padding) and every beam score within 1e-4.

    tests/hf_generate_check.py [--attn ./attn]          exit 0 when everything matches
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = ["bart", "marian", "t5_v1_0", "t5_v1_1"]


def read_reference(path):
    """Yields (case, sources, {run: {"kw": dict, "seq": {i: ids}, "score": {i: float}}})."""
    case, srcs, runs = None, {}, {}
    for line in open(path):
        w = line.split()
        if not w or w[0].startswith("#"):
            continue
        if w[0] == "case":
            case, srcs, runs = w[1], {}, {}
        elif w[0] == "src":
            srcs[int(w[1])] = [int(x) for x in w[3:]]
        elif w[0] == "gen":
            runs[w[1]] = {"kw": dict(zip(w[2::2], w[3::2])), "seq": {}, "score": {}}
        elif w[0] == "seq":
            runs[w[1]]["seq"][int(w[2])] = [int(x) for x in w[4:]]
        elif w[0] == "score":
            runs[w[1]]["score"][int(w[2])] = float(w[3])
        elif w[0] == "end":
            yield case, srcs, runs


def options(kw):
    """Returns attn's options for one recorded generate() call."""
    opts = ["-n", kw["max_new_tokens"], "--repetition-penalty", kw["repetition_penalty"],
            "--no-repeat-ngram", kw["no_repeat_ngram"]]
    if int(kw["num_beams"]) > 1:
        opts += ["-b", kw["num_beams"], "--n-best", kw["num_return"], "--length-penalty",
                 kw["length_penalty"], "--early-stopping",
                 "true" if kw["early_stopping"] == "1" else "false"]
    else:
        opts.append("--greedy")
    return opts


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--attn", default=os.path.join(ROOT, "attn"))
    args = ap.parse_args()
    checked = failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for m in MODELS:
            folder = os.path.join(ROOT, "tests", "data", "hf", m)
            model = os.path.join(tmp, m + ".attn")
            subprocess.run([sys.executable, "-m", "scripts.convert.hf_model", folder, "-o", model],
                           cwd=ROOT, check=True, capture_output=True)
            cfg = json.load(open(os.path.join(folder, "config.json")))
            eos, pad = cfg["eos_token_id"], cfg["pad_token_id"]
            for case, srcs, runs in read_reference(os.path.join(folder, "reference.txt")):
                for name, run in runs.items():
                    n_ret = int(run["kw"]["num_return"])
                    for b in sorted(srcs):
                        out = subprocess.run([args.attn, "-m", model, "--ids", "--json"] +
                                             options(run["kw"]), capture_output=True, text=True,
                                             input=" ".join(map(str, srcs[b])) + "\n")
                        if out.returncode != 0:
                            print("%s %s %s: attn failed: %s" % (m, case, name, out.stderr.strip()))
                            failed += 1
                            continue
                        obj = json.loads(out.stdout)
                        hyps = obj.get("n_best", [obj])
                        width = max(len(run["seq"][b * n_ret + k]) for k in range(n_ret))
                        for k in range(n_ret):
                            want = run["seq"][b * n_ret + k]
                            h = hyps[k]
                            got = [want[0]] + h["ids"] + ([eos] if h["ended"] else [])
                            got += [pad] * (width - len(got))
                            score = run["score"].get(b * n_ret + k)
                            checked += 1
                            if got != want or (score is not None and abs(score - h["score"]) > 1e-4):
                                failed += 1
                                print("%s %s %s source %d hyp %d:\n  want %s %s\n  got  %s %s" %
                                      (m, case, name, b, k, want, score, got, h["score"]))
    print("hf_generate_check.py: %d sequences, %d differ" % (checked, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
