"""Converters from other formats into attn model and tokenizer files."""
