"""Masks of §3.2.3 (boolean, True = may attend), broadcastable to (batch, heads, seq_q, seq_k)."""
from __future__ import annotations

import numpy as np

from transformer_spec.reference.checks import require_ndim
from transformer_spec.reference.errors import SpecUsageError


def causal_mask(seq_len: int) -> np.ndarray:
    """Subsequent-position mask: query i may attend to key j only if j <= i.

    Paper: §3.2.3 ("prevent leftward information flow in the decoder").
    Shapes: -> (1, 1, seq_len, seq_len).
    """
    if seq_len < 1:
        raise SpecUsageError("seq_len", seq_len, "must be a positive integer")
    return np.tril(np.ones((seq_len, seq_len), dtype=bool))[None, None]


def padding_mask(tokens: np.ndarray, pad_id: int) -> np.ndarray:
    """Key-padding mask: no query attends to a padding key.

    Paper: §3.2.3 (padding is not in the paper; masking it as keys keeps real
    positions independent of how much padding a batch carries).
    Shapes: tokens (batch, seq_k) -> (batch, 1, 1, seq_k).
    """
    require_ndim("tokens", tokens, 2, "batch, seq_k")
    return (np.asarray(tokens) != pad_id)[:, None, None, :]


def decoder_self_mask(tokens: np.ndarray, pad_id: int) -> np.ndarray:
    """Causal mask and target key-padding mask together.

    Shapes: tokens (batch, seq_tgt) -> (batch, 1, seq_tgt, seq_tgt).
    """
    return causal_mask(np.shape(tokens)[1]) & padding_mask(tokens, pad_id)
