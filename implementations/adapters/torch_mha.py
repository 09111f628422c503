"""``--impl torch-mha``: ``torch.nn.MultiheadAttention`` as multi-head attention, §3.2.2.

A weightless (``meta``) ``nn.MultiheadAttention(d_model, heads, batch_first=True)`` runs on the
canonical weights (``toolkit.run_with``, gradients reach the caller's tensors): the per-head
W_i^Q, W_i^K, W_i^V become its fused ``in_proj_weight``, W^O its ``out_proj.weight`` transposed
(``toolkit.mha_state``), and the protocol's mask one ``attn_mask`` (True = masked) per (example,
head).  It has no separate d_k and d_v, so it declares ``Shapes(heads_divide_d_model=True)``;
other shapes raise ``Unsupported``.  It cannot compute Eq. (1) alone, so ``attention`` is not offered.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Mapping

import torch
from torch import Tensor, nn

from transformer_spec.implementations.adapters.toolkit import mha_state, per_head, require_fused_shape, run_with
from transformer_spec.implementations.protocol import Shapes
from transformer_spec.harness.target import Target


@lru_cache(maxsize=None)
def _module(d_model: int, heads: int) -> nn.MultiheadAttention:
    return nn.MultiheadAttention(d_model, heads, batch_first=True, device="meta").eval()


class TorchMHA:
    """Deviation: with ``need_weights=True`` it takes a plain softmax over scores masked with -inf,
    so a query that may attend to no key gets NaN."""

    name, version = "torch-mha", torch.__version__
    offers = frozenset({"multi_head_attention"})
    deviations: dict[str, Any] = {"fully_masked": "nan"}
    differentiable = True
    shapes = Shapes(heads_divide_d_model=True)

    def __init__(self, target: Target) -> None:
        self.target = target

    def multi_head_attention(self, query: Tensor, key: Tensor, value: Tensor, params: Mapping[str, Tensor],
                             mask: Tensor | None) -> tuple[Tensor, Tensor]:
        """Shapes: query (batch, seq_q, d_model), key and value (batch, seq_k, d_model)
        -> out (batch, seq_q, d_model), weights (batch, heads, seq_q, seq_k)."""
        heads, d_model, d_k = params["w_q"].shape
        require_fused_shape(heads, d_model, d_k, params["w_v"].shape[2], "nn.MultiheadAttention")
        mask = per_head(mask, query.shape[0], heads, query.shape[1], key.shape[1])
        return run_with(_module(d_model, heads), mha_state(params), {"heads": heads, "d_model": d_model}, query, key,
                        value, need_weights=True, attn_mask=mask, average_attn_weights=False)
