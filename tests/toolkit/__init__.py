"""Unit tests of implementations.adapters.toolkit, the helpers adapters are written with."""
