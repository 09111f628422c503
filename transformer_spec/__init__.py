"""transformer-spec: the conformance suite for "Attention Is All You Need" (Vaswani et al., 2017)."""

__version__ = "0.1.0"
