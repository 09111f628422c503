"""Unit tests of transformer_spec.implementations.adapters.toolkit, the helpers adapters are written with."""
