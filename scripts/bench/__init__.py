"""Benchmarks that measure attn next to its peers (the Python ones are run with -m)."""
