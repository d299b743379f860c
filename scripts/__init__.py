"""attn's scripts, run as modules from the repository root (scripts/README.md)."""
