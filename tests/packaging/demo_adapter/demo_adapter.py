"""Two adapters a third party registers by entry point: a correct Eq. (1), and one that never returns."""
from __future__ import annotations

import math
import time
from typing import Any

import torch
from torch import Tensor


class DemoAttention:
    """softmax(Q K^T / sqrt(d_k)) V in plain torch; a query that sees no key gets zeros (the suite's default)."""

    name, version = "demo-attention", "1.0"
    offers = frozenset({"attention"})
    deviations: dict[str, Any] = {}

    def __init__(self, target: Any) -> None:
        self.target = target

    def attention(self, q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None) -> tuple[Tensor, Tensor]:
        """Shapes: q (batch, seq_q, d_k), k (batch, seq_k, d_k), v (batch, seq_k, d_v), mask (batch, seq_q, seq_k)."""
        scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # (batch, seq_q, seq_k)
        if mask is not None:
            scores = scores.masked_fill(~mask, float("-inf"))
        weights = torch.softmax(scores, dim=-1).nan_to_num(0.0)
        return weights @ v, weights


class DemoHang(DemoAttention):
    """Never returns; declares a small time_factor so that the suite's time limit (300 s x 0.01) ends it soon."""

    name = "demo-hang"
    time_factor = 0.01

    def attention(self, q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None) -> tuple[Tensor, Tensor]:
        time.sleep(3600)
        raise AssertionError("unreachable")
