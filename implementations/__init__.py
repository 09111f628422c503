"""Implementations under test: the project's own PyTorch model, adapters and mutants."""
