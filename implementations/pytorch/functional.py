"""Pure tensor functions of §3 (attention, heads, FFN, embeddings, PE, LayerNorm, dropout).

Every function takes tensors and returns tensors; nothing here holds state or
assumes a device or dtype.  The modules in :mod:`.modules` and :mod:`.model`
only wire these together.  Masks are boolean, True = may attend, broadcastable
to (batch, heads, seq_q, seq_k) (docs/conventions.md).
"""
from __future__ import annotations

import math
from typing import Callable, Mapping, NamedTuple, Optional, Union

import torch
import torch.nn.functional as F
from torch import Tensor

from transformer_spec.reference.config import FullyMasked, NormPosition
from transformer_spec.reference.errors import SpecUsageError

Keep = Optional[Mapping[str, object]]


def _fill_empty_rows(x: Tensor, empty: Tensor, v: Tensor, fully_masked: FullyMasked, is_weights: bool) -> Tensor:
    """Overwrite the rows of queries that may attend to no key, per ``fully_masked``.

    Shapes: x (..., seq_q, seq_k) weights or (..., seq_q, d_v) outputs,
    empty (..., seq_q, 1) bool, v (..., seq_k, d_v).
    """
    if fully_masked == "zeros":
        return x.masked_fill(empty, 0.0)
    if fully_masked == "nan":
        return x.masked_fill(empty, float("nan"))
    if fully_masked == "uniform":
        uniform = 1.0 / v.shape[-2] if is_weights else v.mean(dim=-2, keepdim=True)  # (..., 1, d_v)
        return torch.where(empty, torch.as_tensor(uniform, dtype=x.dtype, device=x.device), x)
    raise SpecUsageError("fully_masked", fully_masked, "must be 'zeros', 'nan' or 'uniform'")


class AttentionMask(NamedTuple):
    """A boolean mask made safe for every kernel, with the queries that may attend to no key.

    Shapes: allowed broadcastable to (batch, heads, seq_q, seq_k); empty
    (..., seq_q, 1) or None when every query sees some key.
    Notes: build it once per stack with :meth:`of` and reuse it in every layer.
    """

    allowed: Optional[Tensor]
    empty: Optional[Tensor]

    @classmethod
    def of(cls, mask: "MaskLike") -> "AttentionMask":
        """Give fully-masked query rows every key (no kernel then sees an all -inf row) and remember them."""
        if mask is None or isinstance(mask, AttentionMask):
            return cls(None, None) if mask is None else mask
        empty = ~mask.any(dim=-1, keepdim=True)  # (..., seq_q, 1)
        if not bool(empty.any()):
            return cls(mask, None)
        return cls(mask | empty, empty)  # broadcast to (..., seq_q, seq_k)


MaskLike = Optional[Union[Tensor, AttentionMask]]
"""A boolean mask (True = may attend), an :class:`AttentionMask` built from one, or None."""


def scaled_dot_product_attention(
    q: Tensor, k: Tensor, v: Tensor, mask: MaskLike = None,
    fully_masked: FullyMasked = "zeros", need_weights: bool = False,
) -> tuple[Tensor, Optional[Tensor]]:
    r"""Attention(Q, K, V) = softmax(Q K^T / \sqrt{d_k}) V.

    Paper: §3.2.1, Eq. (1); masking §3.2.3.
    Shapes: q (..., seq_q, d_k), k (..., seq_k, d_k), v (..., seq_k, d_v),
    mask broadcastable to (..., seq_q, seq_k) -> out (..., seq_q, d_v),
    weights (..., seq_q, seq_k) or None.
    Notes: with ``need_weights`` the explicit math path runs; otherwise
    ``torch.nn.functional.scaled_dot_product_attention``.  Queries that may
    attend to no key are computed with every key (an all -inf row gives NaN
    values and NaN gradients in some kernels) and then overwritten per
    ``fully_masked`` (see :class:`AttentionMask`), so both paths agree with the reference.
    """
    allowed, empty = AttentionMask.of(mask)
    if need_weights:
        scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # (..., seq_q, d_k) @ (..., d_k, seq_k)
        if allowed is not None:
            scores = scores.masked_fill(~allowed, float("-inf"))
        weights = torch.softmax(scores, dim=-1)  # (..., seq_q, seq_k)
        if empty is not None:
            weights = _fill_empty_rows(weights, empty, v, fully_masked, is_weights=True)
        return weights @ v, weights
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed)  # (..., seq_q, d_v)
    if empty is not None:
        out = _fill_empty_rows(out, empty, v, fully_masked, is_weights=False)
    return out, None


def split_heads(x: Tensor, heads: int) -> Tensor:
    """(batch, seq, heads * d) -> (batch, heads, seq, d): head i takes columns [i*d, (i+1)*d).

    Paper: §3.2.2.
    """
    batch, seq, width = x.shape
    if width % heads:
        raise SpecUsageError("heads", heads, f"must divide the feature width {width}")
    return x.view(batch, seq, heads, width // heads).transpose(1, 2)  # (batch, seq, heads, d) -> (batch, heads, seq, d)


def concat_heads(x: Tensor) -> Tensor:
    """Concat(head_1, ..., head_h): (batch, heads, seq, d) -> (batch, seq, heads * d).

    Paper: §3.2.2.  Inverse of :func:`split_heads`.
    """
    batch, heads, seq, d = x.shape
    return x.transpose(1, 2).reshape(batch, seq, heads * d)  # (batch, seq, heads, d) -> (batch, seq, heads * d)


def project_heads(x: Tensor, weight: Tensor, bias: Optional[Tensor], heads: int) -> Tensor:
    """x W_i (+ b_i) for every head i at once, split into heads.

    Paper: §3.2.2 (the per-head projections W_i^Q, W_i^K, W_i^V side by side).
    Shapes: x (batch, seq, d_model), weight (heads * d, d_model) rows grouped by
    head, bias (heads * d,) -> (batch, heads, seq, d).
    """
    return split_heads(F.linear(x, weight, bias), heads)


def multi_head_attention(
    q: Tensor, k: Tensor, v: Tensor, w_o: Tensor, b_o: Optional[Tensor], mask: MaskLike = None,
    fully_masked: FullyMasked = "zeros", need_weights: bool = False,
) -> tuple[Tensor, Optional[Tensor]]:
    r"""MultiHead(Q, K, V) = Concat(head_1, ..., head_h) W^O from per-role projections.

    Paper: §3.2.2; head_i = Attention(Q W_i^Q, K W_i^K, V W_i^V).
    Shapes: q (batch, heads, seq_q, d_k), k (batch, heads, seq_k, d_k),
    v (batch, heads, seq_k, d_v) (already projected, see :func:`project_heads`),
    w_o (d_model, heads * d_v) (torch's (out, in) layout of W^O), b_o (d_model,)
    -> out (batch, seq_q, d_model), weights (batch, heads, seq_q, seq_k) or None.
    """
    heads, weights = scaled_dot_product_attention(q, k, v, mask, fully_masked, need_weights)
    return F.linear(concat_heads(heads), w_o, b_o), weights


def position_wise_ffn(x: Tensor, w_1: Tensor, b_1: Tensor, w_2: Tensor, b_2: Tensor) -> Tensor:
    r"""FFN(x) = max(0, x W_1 + b_1) W_2 + b_2.

    Paper: §3.3, Eq. (2).
    Shapes: x (..., d_model), w_1 (d_ff, d_model), b_1 (d_ff,), w_2 (d_model, d_ff),
    b_2 (d_model,) (torch's (out, in) layout) -> (..., d_model).
    """
    return F.linear(F.relu(F.linear(x, w_1, b_1)), w_2, b_2)


def embed(tokens: Tensor, embedding: Tensor) -> Tensor:
    r"""E[tokens] * \sqrt{d_model}.

    Paper: §3.4.  Shapes: tokens (batch, seq), embedding (vocab, d_model) -> (batch, seq, d_model).
    """
    return F.embedding(tokens, embedding) * math.sqrt(embedding.shape[1])


def output_logits(x: Tensor, embedding: Tensor) -> Tensor:
    """Pre-softmax projection with the shared weight: x E^T, no bias.

    Paper: §3.4.  Shapes: x (batch, seq, d_model), embedding (vocab, d_model) -> (batch, seq, vocab).
    """
    return F.linear(x, embedding)


def sinusoidal_encoding(seq_len: int, d_model: int, device: Optional[torch.device] = None,
                        dtype: Optional[torch.dtype] = None) -> Tensor:
    r"""PE(pos, 2i) = sin(pos / 10000^{2i/d_model}), PE(pos, 2i+1) = cos(pos / 10000^{2i/d_model}).

    Paper: §3.5.  Shapes: -> (seq_len, d_model), positions 0 .. seq_len - 1.
    Notes: computed in float64 and rounded once to ``dtype``; for odd d_model
    the last column is a sine whose cosine partner is dropped.
    """
    if seq_len < 1 or d_model < 1:
        raise SpecUsageError("seq_len, d_model", (seq_len, d_model), "must be positive integers")
    pos = torch.arange(seq_len, dtype=torch.float64, device=device)[:, None]  # (seq_len, 1)
    two_i = torch.arange(0, d_model, 2, dtype=torch.float64, device=device)[None, :]  # (1, ceil(d_model / 2))
    angle = pos / torch.pow(10000.0, two_i / d_model)  # (seq_len, ceil(d_model / 2))
    pe = torch.empty(seq_len, d_model, dtype=torch.float64, device=device)
    pe[:, 0::2] = torch.sin(angle)
    pe[:, 1::2] = torch.cos(angle[:, : d_model // 2])
    return pe.to(dtype or torch.get_default_dtype())


def layer_norm(x: Tensor, scale: Tensor, bias: Tensor, eps: float) -> Tensor:
    r"""LayerNorm(x) = scale * (x - mean) / \sqrt{var + eps} + bias (biased variance).

    Paper: §3.1.  Shapes: x (..., d_model), scale and bias (d_model,) -> (..., d_model).
    """
    return F.layer_norm(x, (x.shape[-1],), scale, bias, eps)


def dropout(x: Tensor, keep: Optional[object], p_drop: float, random: bool = False) -> Tensor:
    """Inverted dropout: x * keep / (1 - p_drop) with an explicit keep-mask, else random or none.

    Paper: §5.4.  Shapes: x (...), keep broadcastable to x (True/1 = kept).
    Notes: an explicit ``keep`` always applies; without one, ``random`` draws
    a Bernoulli mask (training) and otherwise x passes unchanged (evaluation).
    """
    if keep is not None:
        if not 0.0 <= p_drop < 1.0:
            raise SpecUsageError("p_drop", p_drop, "must lie in [0, 1)")
        return x * torch.as_tensor(keep, device=x.device).to(x.dtype) / (1.0 - p_drop)
    return F.dropout(x, p_drop, training=True) if random and p_drop > 0.0 else x


def sublayer_connection(
    x: Tensor, sublayer: Callable[[Tensor], Tensor], scale: Tensor, bias: Tensor, eps: float,
    norm_position: NormPosition = "post", keep: Optional[object] = None, p_drop: float = 0.0,
    random: bool = False,
) -> Tensor:
    """LayerNorm(x + Dropout(Sublayer(x))) (paper), or x + Dropout(Sublayer(LayerNorm(x))) ("pre" variant).

    Paper: §3.1; dropout placement §5.4.
    Shapes: x (batch, seq, d_model) -> (batch, seq, d_model).
    """
    if norm_position == "post":
        return layer_norm(x + dropout(sublayer(x), keep, p_drop, random), scale, bias, eps)
    if norm_position == "pre":
        return x + dropout(sublayer(layer_norm(x, scale, bias, eps)), keep, p_drop, random)
    raise SpecUsageError("norm_position", norm_position, "must be 'post' or 'pre'")


def padding_mask(tokens: Tensor, pad_id: int) -> Tensor:
    """Key-padding mask, True where the key token is not padding.

    Paper: §3.2.3.  Shapes: tokens (batch, seq_k) -> (batch, 1, 1, seq_k).
    """
    return (tokens != pad_id)[:, None, None, :]  # (batch, seq_k) -> (batch, 1, 1, seq_k)


def causal_mask(seq_q: int, seq_k: int, device: Optional[torch.device] = None) -> Tensor:
    """Subsequent-position mask for the last ``seq_q`` of ``seq_k`` positions: key j <= query position.

    Paper: §3.2.3.  Shapes: -> (1, 1, seq_q, seq_k); seq_q = seq_k is the usual square mask,
    seq_q < seq_k serves incremental decoding (queries are the last positions).
    """
    rows = torch.arange(seq_k - seq_q, seq_k, device=device)[:, None]  # (seq_q, 1)
    cols = torch.arange(seq_k, device=device)[None, :]  # (1, seq_k)
    return (cols <= rows)[None, None]  # (seq_q, seq_k) -> (1, 1, seq_q, seq_k)
