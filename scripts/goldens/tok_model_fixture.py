#!/usr/bin/python3
"""tok-model-fixture.py — writes tests/data/tok/small-model.attn: a model file with no real
weights whose "tokenizer" blob is tests/data/tok/small.tok, for `attn tokenize -t MODEL` tests.

    /usr/bin/python3 scripts/tok-model-fixture.py
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import attnfile  # noqa: E402

with open("tests/data/tok/small.tok", "rb") as f:
    blob = f.read()
attnfile.write("tests/data/tok/small-model.attn",
               {"arch": "transformer", "vocab_size": 1000, "name": "tokenizer fixture",
                "tokenizer": blob},
               {"embed.weight": np.zeros((4, 4), dtype=np.float32)})
