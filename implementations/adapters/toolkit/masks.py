"""The protocol's attention mask in the encodings other libraries take.

The suite passes a boolean ``mask`` with **True = may attend**, broadcastable to
(batch, heads, seq_q, seq_k), or None (attend everywhere).  Libraries want
True = masked (``torch.nn.MultiheadAttention``, ``torch.nn.Transformer``), an
additive float mask (0 where allowed, -inf or ``finfo.min`` where not: Hugging
Face, JAX code), a key-padding vector (batch, seq_k), one (seq_q, seq_k) mask
shared by the batch (``tgt_mask``), or one mask per (example, head) stacked
batch-major (batch * heads, seq_q, seq_k).  Every converter passes None through
and raises :class:`~transformer_spec.implementations.protocol.Unsupported` (the test then reads
not-applicable) when the mask cannot be written in the asked-for form.
"""
from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

from transformer_spec.implementations.protocol import Unsupported


def _four_d(mask: Tensor) -> Tensor:
    """The mask with leading axes of size 1 added: (..., seq_q, seq_k) -> (batch|1, heads|1, seq_q|1, seq_k|1)."""
    if mask.dtype != torch.bool or not 1 <= mask.ndim <= 4:
        raise TypeError(f"expected a boolean mask of 1 to 4 axes (True = may attend), got {mask.dtype} "
                        f"of shape {tuple(mask.shape)}")
    return mask.reshape((1,) * (4 - mask.ndim) + tuple(mask.shape))


def masked_out(mask: Tensor | None) -> Tensor | None:
    """True = masked: the polarity of torch's boolean masks. Shape unchanged."""
    return None if mask is None else ~mask


def additive(mask: Tensor | None, dtype: torch.dtype, fill: Literal["-inf", "min"] = "-inf") -> Tensor | None:
    """A float mask to add to the scores: 0 where the protocol mask allows, ``fill`` where it does not.

    ``fill="min"`` writes ``torch.finfo(dtype).min`` instead of -inf (Hugging Face's convention): a query
    with no key left then gets uniform weights instead of NaN.  Shape unchanged; on the mask's device.
    """
    if mask is None:
        return None
    low = float("-inf") if fill == "-inf" else torch.finfo(dtype).min
    zeros = torch.zeros(mask.shape, dtype=dtype, device=mask.device)
    return zeros.masked_fill(~mask, low)


def key_padding(mask: Tensor | None, batch: int, seq_k: int) -> Tensor | None:
    """A key-padding vector (batch, seq_k), True = masked (torch's ``key_padding_mask``; use ``~`` for 1 = attend).

    Raises Unsupported unless the mask is the same for every head and query (a pure padding mask).
    """
    if mask is None:
        return None
    m = _four_d(mask)
    if not bool((m == m[:, :1, :1, :]).all()):
        raise Unsupported("this mask differs between queries or heads (a causal or per-query mask); a key-padding "
                          "vector (batch, seq_k) can only say which keys every query of an example may not see")
    return ~m[:, 0, 0, :].expand(batch, seq_k)


def shared(mask: Tensor | None, seq_q: int, seq_k: int) -> Tensor | None:
    """One (seq_q, seq_k) mask for the whole batch, True = masked (``nn.Transformer``'s ``tgt_mask``).

    Raises Unsupported unless the mask is the same for every example and head (say, a causal mask).
    """
    if mask is None:
        return None
    m = _four_d(mask)
    if not bool((m == m[:1, :1]).all()):
        raise Unsupported("this mask differs between examples or heads (padding, say); a single (seq_q, seq_k) "
                          "mask shared by the batch cannot express it")
    return ~m[0, 0].expand(seq_q, seq_k)


def shared_and_padding(mask: Tensor | None, batch: int, seq_q: int,
                       seq_k: int) -> tuple[Tensor | None, Tensor | None]:
    """The mask as (shared (seq_q, seq_k), key_padding (batch, seq_k)), both True = masked, whose union it is.

    The form of ``attn_mask`` plus ``key_padding_mask`` (a causal mask and the padding of a decoder).
    Raises Unsupported when no such pair gives the mask exactly (it differs between heads, say).
    """
    if mask is None:
        return None, None
    m = _four_d(mask).expand(-1, -1, seq_q, seq_k)
    allowed_q_k = m.any(dim=1).any(dim=0)  # (seq_q, seq_k): allowed in some example; exact when a split exists
    allowed_b_k = m.any(dim=1).any(dim=1).expand(batch, seq_k)  # (batch, seq_k): some query may see the key
    if not bool(((allowed_q_k & allowed_b_k[:, None, :])[:, None] == m).all()):
        raise Unsupported("this mask is not a (seq_q, seq_k) mask shared by the batch combined with a "
                          "key-padding vector (it differs between heads, say)")
    return ~allowed_q_k, ~allowed_b_k


def per_head(mask: Tensor | None, batch: int, heads: int, seq_q: int, seq_k: int) -> Tensor | None:
    """One mask per (example, head), True = masked, stacked batch-major as ``nn.MultiheadAttention``'s 3-D
    ``attn_mask``. Shapes: broadcastable to (batch, heads, seq_q, seq_k) -> (batch * heads, seq_q, seq_k)."""
    if mask is None:
        return None
    return ~_four_d(mask).expand(batch, heads, seq_q, seq_k).reshape(batch * heads, seq_q, seq_k)
