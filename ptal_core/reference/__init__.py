"""Reference implementations: plain PyTorch, written to read like the specification."""
