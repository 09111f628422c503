"""Embeddings and softmax, §3.4: one weight matrix for both embeddings and the output projection."""
from __future__ import annotations

import numpy as np

from reference.attention import softmax
from reference.checks import require_ndim, require_tokens


def embed(tokens: np.ndarray, embedding: np.ndarray) -> np.ndarray:
    r"""Token embedding scaled by \sqrt{d_model}: E[tokens] * \sqrt{d_model}.

    Paper: §3.4 ("In the embedding layers, we multiply those weights by \sqrt{d_model}").
    Shapes: tokens (batch, seq), embedding (vocab, d_model) -> (batch, seq, d_model).
    """
    require_ndim("embedding", embedding, 2, "vocab, d_model")
    require_tokens("tokens", tokens, embedding.shape[0])
    return np.asarray(embedding, dtype=np.float64)[np.asarray(tokens)] * np.sqrt(embedding.shape[1])


def output_logits(x: np.ndarray, embedding: np.ndarray) -> np.ndarray:
    """Pre-softmax linear transformation with the shared (tied) weight: x E^T, no bias.

    Paper: §3.4.
    Shapes: x (batch, seq, d_model), embedding (vocab, d_model) -> (batch, seq, vocab).
    """
    return np.asarray(x, dtype=np.float64) @ np.asarray(embedding, dtype=np.float64).T


def output_probabilities(x: np.ndarray, embedding: np.ndarray) -> np.ndarray:
    """Next-token probabilities: softmax(x E^T) over the vocabulary.

    Paper: §3.4.
    Shapes: x (batch, seq, d_model) -> (batch, seq, vocab).
    """
    return softmax(output_logits(x, embedding), axis=-1)
