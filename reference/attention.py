"""Attention, §3.2: Eq. (1), multi-head attention (§3.2.2) and its three uses (§3.2.3).

All arrays are float64.  Masks are boolean, True = may attend, broadcastable
to (batch, heads, seq_q, seq_k).
"""
from __future__ import annotations

from typing import Mapping

import numpy as np

from transformer_spec.reference.checks import require_broadcastable, require_equal, require_ndim
from transformer_spec.reference.config import FullyMasked
from transformer_spec.reference.errors import SpecUsageError


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    r"""softmax(x)_j = exp(x_j) / \sum_l exp(x_l) along ``axis``.

    Notes: computed as exp(x - max x); subtracting a constant from every
    entry multiplies numerator and denominator by the same exp(-max x), so the
    value is unchanged and exp never overflows.  ``-inf`` entries get weight 0.
    """
    x = np.asarray(x, dtype=np.float64)
    shifted = x - np.max(x, axis=axis, keepdims=True)
    e = np.exp(shifted)
    return e / np.sum(e, axis=axis, keepdims=True)


def scaled_dot_product_attention(
    q: np.ndarray, k: np.ndarray, v: np.ndarray, mask: np.ndarray | None = None,
    fully_masked: FullyMasked = "zeros",
) -> tuple[np.ndarray, np.ndarray]:
    r"""Attention(Q, K, V) = softmax(Q K^T / \sqrt{d_k}) V.

    Paper: §3.2.1, Eq. (1).
    Shapes: q (..., seq_q, d_k), k (..., seq_k, d_k), v (..., seq_k, d_v),
    mask broadcastable to (..., seq_q, seq_k) -> out (..., seq_q, d_v),
    weights (..., seq_q, seq_k).
    Notes: masked scores are set to -inf before the softmax (§3.2.3).  A query
    that may attend to no key is implementation-defined: ``fully_masked``
    "zeros" gives zero weights (so a zero output), "nan" gives NaN, "uniform"
    gives equal weights over all keys (what a finite fill such as -1e9 gives).
    """
    q, k, v = (np.asarray(a, dtype=np.float64) for a in (q, k, v))
    require_equal("k.shape[-1] (d_k)", k.shape[-1], "q.shape[-1]", q.shape[-1])
    require_equal("v.shape[-2] (seq_k)", v.shape[-2], "k.shape[-2]", k.shape[-2])
    scores = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    if mask is None:
        mask = np.ones(scores.shape, dtype=bool)
    require_broadcastable("mask", np.shape(mask), scores.shape, "(..., seq_q, seq_k)")
    mask = np.broadcast_to(np.asarray(mask, dtype=bool), scores.shape)
    empty = ~mask.any(axis=-1, keepdims=True)  # queries that may attend to no key
    weights = softmax(np.where(mask | empty, scores, -np.inf))
    fills = {"zeros": 0.0, "nan": np.nan, "uniform": 1.0 / scores.shape[-1]}
    if fully_masked not in fills:
        raise SpecUsageError("fully_masked", fully_masked, "must be 'zeros', 'nan' or 'uniform'")
    fill = fills[fully_masked]
    weights = np.where(empty, fill, weights)
    return weights @ v, weights


def split_heads(x: np.ndarray, heads: int) -> np.ndarray:
    """(batch, seq, heads * d) -> (batch, heads, seq, d): head i takes columns [i*d, (i+1)*d).

    Paper: §3.2.2.
    """
    require_ndim("x", x, 3, "batch, seq, heads * d")
    batch, seq, width = x.shape
    if heads < 1 or width % heads:
        raise SpecUsageError("heads", heads, f"must divide the feature width {width}")
    return x.reshape(batch, seq, heads, width // heads).transpose(0, 2, 1, 3)


def concat_heads(x: np.ndarray) -> np.ndarray:
    """Concat(head_1, ..., head_h): (batch, heads, seq, d) -> (batch, seq, heads * d).

    Paper: §3.2.2.  Inverse of :func:`split_heads`.
    """
    require_ndim("x", x, 4, "batch, heads, seq, d")
    batch, heads, seq, d = x.shape
    return x.transpose(0, 2, 1, 3).reshape(batch, seq, heads * d)


def _project(x: np.ndarray, w: np.ndarray, b: np.ndarray | None) -> np.ndarray:
    """x W_i (+ b_i) for every head: (batch, seq, d_model) x (heads, d_model, d) -> (batch, heads, seq, d)."""
    out = np.einsum("bsm,hmd->bhsd", x, w)
    return out if b is None else out + b[None, :, None, :]


def multi_head_attention(
    query: np.ndarray, key: np.ndarray, value: np.ndarray, params: Mapping[str, np.ndarray],
    mask: np.ndarray | None = None, fully_masked: FullyMasked = "zeros",
) -> tuple[np.ndarray, np.ndarray]:
    r"""MultiHead(Q, K, V) = Concat(head_1, ..., head_h) W^O, head_i = Attention(Q W_i^Q, K W_i^K, V W_i^V).

    Paper: §3.2.2.
    Shapes: query (batch, seq_q, d_model), key and value (batch, seq_k, d_model);
    params w_q, w_k (heads, d_model, d_k), w_v (heads, d_model, d_v),
    w_o (heads * d_v, d_model), optional biases b_q, b_k, b_v (heads, d), b_o (d_model,)
    -> out (batch, seq_q, d_model), weights (batch, heads, seq_q, seq_k).
    """
    for name, arr in (("query", query), ("key", key), ("value", value)):
        require_ndim(name, arr, 3, "batch, seq, d_model")
    require_equal("value.shape[1] (seq_k)", value.shape[1], "key.shape[1]", key.shape[1])
    require_equal("query.shape[-1] (d_model)", query.shape[-1], "w_q.shape[1]", params["w_q"].shape[1])
    q = _project(query, params["w_q"], params.get("b_q"))  # (batch, heads, seq_q, d_k)
    k = _project(key, params["w_k"], params.get("b_k"))  # (batch, heads, seq_k, d_k)
    v = _project(value, params["w_v"], params.get("b_v"))  # (batch, heads, seq_k, d_v)
    heads, weights = scaled_dot_product_attention(q, k, v, mask, fully_masked)
    out = concat_heads(heads) @ params["w_o"]  # (batch, seq_q, d_model)
    b_o = params.get("b_o")
    return (out if b_o is None else out + b_o), weights
