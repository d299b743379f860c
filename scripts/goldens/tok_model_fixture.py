"""tok_model_fixture.py — writes tests/data/tok/small-model.attn: a model file with no real
weights whose "tokenizer" blob is tests/data/tok/small.tok, for `attn tokenize -t MODEL` tests.

    /usr/bin/python3 -m scripts.goldens.tok_model_fixture
"""
import numpy as np

from scripts.lib import attnfile

with open("tests/data/tok/small.tok", "rb") as f:
    blob = f.read()
attnfile.write("tests/data/tok/small-model.attn",
               {"arch": "transformer", "vocab_size": 1000, "name": "tokenizer fixture",
                "tokenizer": blob},
               {"embed.weight": np.zeros((4, 4), dtype=np.float32)})
