"""A small self-written attention module and its transformer-spec adapter.

Validate it with ``transformer-spec run --impl examples/my_attention.py:MyAdapter``
(the guide is the README's "Validate your own implementation" section).
"""
from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn

from transformer_spec.implementations.adapters.toolkit import additive


class MyAttention(nn.Module):
    """softmax(Q K^T / sqrt(d_k) + bias) V, with an additive mask as many libraries take (-inf = masked key);
    a query with no key left gets zeros."""

    def forward(self, q: Tensor, k: Tensor, v: Tensor, bias: Tensor | None = None) -> tuple[Tensor, Tensor]:
        scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # (batch, heads, seq_q, seq_k)
        if bias is not None:
            scores = scores + bias
        weights = torch.softmax(scores, dim=-1).nan_to_num(0.0)  # all -inf rows: NaN -> 0
        return weights @ v, weights


# --- The adapter: all transformer-spec needs to know about MyAttention. -----------------------
class MyAdapter:
    """Puts MyAttention behind the protocol (implementations/protocol.py) for the ``attention`` component."""

    name = "my-attention"
    version = "0.1"
    offers = frozenset({"attention"})  # the components it can be checked on; the rest is not-applicable
    deviations: dict[str, Any] = {}  # departures from the paper, e.g. {"fully_masked": "nan"}
    differentiable = True  # outputs carry autograd, so the gradient clauses run too

    def __init__(self, target: Any) -> None:  # target.torch_device / target.torch_dtype: where inputs arrive
        self.module = MyAttention().to(target.torch_device)

    def attention(self, q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None) -> tuple[Tensor, Tensor]:
        """q (batch, heads, seq_q, d_k), k (..., seq_k, d_k), v (..., seq_k, d_v); mask True = may attend."""
        return self.module(q, k, v, additive(mask, q.dtype))  # the mask as 0 / -inf, MyAttention's encoding
