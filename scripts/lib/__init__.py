"""Modules the scripts share: the model file, the default model in PyTorch, metrics, BLAS choice."""
