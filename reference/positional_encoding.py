"""Sinusoidal positional encoding, §3.5."""
from __future__ import annotations

import numpy as np

from transformer_spec.reference.config import PeLayout
from transformer_spec.reference.errors import SpecUsageError


def sinusoidal_encoding(seq_len: int, d_model: int, layout: PeLayout = "interleaved", offset: int = 0) -> np.ndarray:
    r"""PE(pos, 2i) = sin(pos / 10000^{2i/d_model}), PE(pos, 2i+1) = cos(pos / 10000^{2i/d_model}).

    Paper: §3.5.
    Shapes: -> (seq_len, d_model); positions offset .. offset + seq_len - 1 (the paper: 0 ..).
    Notes: sin fills the even columns and cos the odd ones, interleaved.  For
    odd d_model the last column 2i = d_model - 1 is a sine with the same
    formula and its cosine partner is dropped.
    Variants (declared ``TransformerConfig.pe_layout`` / ``pe_offset``, not the paper):
    ``layout="halves"`` puts the ceil(d_model / 2) sines first, then the floor(d_model / 2)
    cosines, at the same frequencies (Hugging Face ``MarianSinusoidalPositionalEmbedding``);
    ``offset`` is the first position (fairseq's ``make_positions`` starts at padding_idx + 1).
    """
    if seq_len < 1 or d_model < 1:
        raise SpecUsageError("seq_len, d_model", (seq_len, d_model), "must be positive integers")
    if offset < 0:
        raise SpecUsageError("offset", offset, "must be a non-negative position")
    pos = np.arange(offset, offset + seq_len, dtype=np.float64)[:, None]  # (seq_len, 1)
    two_i = np.arange(0, d_model, 2, dtype=np.float64)[None, :]  # (1, ceil(d_model / 2))
    angle = pos / np.power(10000.0, two_i / d_model)  # (seq_len, ceil(d_model / 2))
    sines, cosines = np.sin(angle), np.cos(angle[:, : d_model // 2])
    if layout == "halves":
        return np.concatenate([sines, cosines], axis=1)
    if layout != "interleaved":
        raise SpecUsageError("layout", layout, "must be 'interleaved' or 'halves'")
    pe = np.empty((seq_len, d_model), dtype=np.float64)
    pe[:, 0::2], pe[:, 1::2] = sines, cosines
    return pe
