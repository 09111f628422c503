"""Sinusoidal positional encoding, §3.5."""
from __future__ import annotations

import numpy as np

from reference.errors import SpecUsageError


def sinusoidal_encoding(seq_len: int, d_model: int) -> np.ndarray:
    r"""PE(pos, 2i) = sin(pos / 10000^{2i/d_model}), PE(pos, 2i+1) = cos(pos / 10000^{2i/d_model}).

    Paper: §3.5.
    Shapes: -> (seq_len, d_model); positions 0 .. seq_len - 1.
    Notes: sin fills the even columns and cos the odd ones, interleaved.  For
    odd d_model the last column 2i = d_model - 1 is a sine with the same
    formula and its cosine partner is dropped.
    """
    if seq_len < 1 or d_model < 1:
        raise SpecUsageError("seq_len, d_model", (seq_len, d_model), "must be positive integers")
    pos = np.arange(seq_len, dtype=np.float64)[:, None]  # (seq_len, 1)
    two_i = np.arange(0, d_model, 2, dtype=np.float64)[None, :]  # (1, ceil(d_model / 2))
    angle = pos / np.power(10000.0, two_i / d_model)  # (seq_len, ceil(d_model / 2))
    pe = np.empty((seq_len, d_model), dtype=np.float64)
    pe[:, 0::2] = np.sin(angle)
    pe[:, 1::2] = np.cos(angle[:, : d_model // 2])
    return pe
