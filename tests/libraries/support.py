"""What the library adapters' fixed-shape tests share: their float64 tolerance, a canonical attention block and a
key-padding mask."""
from __future__ import annotations

import numpy as np

from transformer_spec.reference.config import TransformerConfig
from transformer_spec.reference.params import init_params

TIGHT = dict(rtol=1e-10, atol=1e-10)
"""float64 agreement with the reference on fixed shapes (rtol and atol together)."""


def attention_block(c: TransformerConfig) -> dict[str, np.ndarray]:
    """The canonical weights of one self-attention block (w_q, b_q, ..., w_o, b_o) of configuration ``c``."""
    return init_params(c, 1)["encoder"]["layers"][0]["self_attn"]


def key_mask(batch: int, seq_k: int) -> np.ndarray:
    """(batch, 1, 1, seq_k): example i may attend to its first seq_k - i keys."""
    return (np.arange(seq_k)[None, :] < seq_k - np.arange(batch)[:, None])[:, None, None, :]
