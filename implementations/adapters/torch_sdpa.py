"""``--impl torch-sdpa``: PyTorch's fused ``F.scaled_dot_product_attention`` as Eq. (1).

The shortest useful adapter: one component, no layout conversion (SDPA takes
the paper's (batch, heads, seq, d) layout and a boolean mask with True = may
attend, exactly as the protocol does).  SDPA never returns its weights, so the
suite checks them through the output (``Attention(Q, K, I)``).
"""
from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from transformer_spec.implementations.adapters.toolkit import sdpa_fully_masked
from transformer_spec.harness.target import Target


class TorchSDPA:
    """Scaled dot-product attention by ``torch.nn.functional.scaled_dot_product_attention``.

    Deviation: what a query that may attend to no key gets depends on the torch
    release and backend; it is measured on the target once and declared.
    """

    name = "torch-sdpa"
    version = torch.__version__
    offers = frozenset({"attention"})
    differentiable = True

    def __init__(self, target: Target) -> None:
        self.deviations: dict[str, Any] = sdpa_fully_masked(target)

    def attention(self, q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None) -> tuple[Tensor, None]:
        """Shapes: q (batch, heads, seq_q, d_k), k (..., seq_k, d_k), v (..., seq_k, d_v) -> out (..., seq_q, d_v)."""
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask), None
