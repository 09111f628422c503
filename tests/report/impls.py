"""Small implementations for the report's tests: one wrong, one crashing, one declaring a deviation.

Each is the reference adapter with one method changed, loaded with ``--impl tests/report/impls.py:<Class>``.
"""
from __future__ import annotations

import os
from typing import Any

import numpy as np

from transformer_spec.implementations.adapters.reference import Reference, _np
from transformer_spec.reference.attention import scaled_dot_product_attention


class WrongScale(Reference):
    """Scales the scores by 1/d_k instead of 1/sqrt(d_k): §3.2.1 must fail, everything else is the reference."""

    name = "wrong-scale"
    offers = frozenset({"attention", "positional_encoding", "model"})

    def attention(self, q: Any, k: Any, v: Any, mask: Any) -> tuple[np.ndarray, np.ndarray]:
        q = _np(q)
        return scaled_dot_product_attention(q / np.sqrt(q.shape[-1]), _np(k), _np(v), _np(mask))

    def positional_encoding(self, seq_len: int, d_model: int) -> np.ndarray:
        """Sines and cosines swapped, so the heatmaps differ visibly."""
        return super().positional_encoding(seq_len, d_model)[:, ::-1].copy()


class Crashing(Reference):
    """Attention raises: every attention clause is an ``error``."""

    name = "crashing"
    offers = frozenset({"attention"})

    def attention(self, q: Any, k: Any, v: Any, mask: Any) -> tuple[np.ndarray, np.ndarray]:
        raise RuntimeError("kernel exploded")


class NanMasked(Reference):
    """Declares ``fully_masked="nan"`` and behaves so: §3.2.3's fully-masked row ``deviates``."""

    name = "nan-masked"
    offers = frozenset({"attention"})
    deviations = {"fully_masked": "nan"}

    def attention(self, q: Any, k: Any, v: Any, mask: Any) -> tuple[np.ndarray, np.ndarray]:
        return scaled_dot_product_attention(_np(q), _np(k), _np(v), _np(mask), "nan")


class Dies(Reference):
    """The process running attention dies (as after a segfault): under xdist its worker crashes."""

    name = "dies"
    offers = frozenset({"attention"})

    def attention(self, q: Any, k: Any, v: Any, mask: Any) -> tuple[np.ndarray, np.ndarray]:
        os._exit(3)


class Interrupts(Reference):
    """Attention is interrupted as by Ctrl-C: the session ends early."""

    name = "interrupts"
    offers = frozenset({"attention"})

    def attention(self, q: Any, k: Any, v: Any, mask: Any) -> tuple[np.ndarray, np.ndarray]:
        raise KeyboardInterrupt
