"""spm_model_fixture.py — writes tests/data/spm/spm-model.attn: a model file with no real weights
whose "tokenizer" blob is the SentencePiece model uni-en-100 (tests/data/spm/uni-en-100.model.gz,
unpacked), for `attn tokenize -t MODEL` tests of an embedded SentencePiece tokenizer.  scripts/goldens/
spm-goldens.sh runs it.

    /usr/bin/python3 -m scripts.goldens.spm_model_fixture
"""
import gzip

import numpy as np

from scripts.lib import attnfile

with gzip.open("tests/data/spm/uni-en-100.model.gz", "rb") as f:
    blob = f.read()
attnfile.write("tests/data/spm/spm-model.attn",
               {"arch": "transformer", "vocab_size": 100, "name": "SentencePiece fixture",
                "tokenizer": blob},
               {"embed.weight": np.zeros((4, 4), dtype=np.float32)})
