#!/bin/sh
# Hugging Face conversion: scripts/convert/hf_model.py on the fixture models in tests/data/hf,
# checked with numpy (tensors bit-exact, metadata, a spec-following forward pass against
# transformers' outputs, greedy ids, refusals).  The engine's own comparison is tests/test_hf.c.
cd "$(dirname "$0")/../.." || exit 1
if ! /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
    echo "test_hf.sh: SKIPPED: needs /usr/bin/python3 with numpy" \
         "(scripts/setup/install-deps.sh installs it)"
    exit 0
fi
PYTHONPATH=. /usr/bin/python3 tests/hf_convert_check.py --attn "$ATTN"
