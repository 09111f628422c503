"""``--impl torch-mha``: ``torch.nn.MultiheadAttention`` as multi-head attention, §3.2.2.

Every call runs one ``nn.MultiheadAttention(d_model, heads, batch_first=True)``
on the canonical weights through ``torch.func.functional_call`` (see
``_convert.run_with``): the per-head W_i^Q, W_i^K, W_i^V become the rows of
its fused ``in_proj_weight`` (head after head), W^O its ``out_proj.weight``
transposed, and the protocol's mask (True = may attend) its ``attn_mask``
(True = masked), one per (example, head).
The module itself is built once per shape on the ``meta`` device and holds no
weights of its own, so gradients flow to the caller's tensors.

nn.MultiheadAttention has no separate d_k and d_v: it declares
``Shapes(heads_divide_d_model=True)``, so the suite draws only d_k = d_v =
d_model / heads; other shapes still raise ``Unsupported`` (not-applicable).  It is not offered for
``attention`` (Eq. (1) alone), which it cannot compute without projections.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Mapping

import torch
from torch import Tensor, nn

from implementations.adapters._convert import forbidden, fused_attention, require_fused_shape, run_with
from implementations.protocol import Shapes
from transformer_spec.harness.target import Target


@lru_cache(maxsize=None)
def _module(d_model: int, heads: int) -> nn.MultiheadAttention:
    """A weightless (meta) module of this shape; functional_call supplies the weights."""
    return nn.MultiheadAttention(d_model, heads, batch_first=True, device="meta").eval()


class TorchMHA:
    """Multi-head attention by ``torch.nn.MultiheadAttention``, per-head weights returned.

    Deviation: with ``need_weights=True`` it takes a plain softmax over scores
    masked with -inf, so a query that may attend to no key gets NaN.
    """

    name = "torch-mha"
    version = torch.__version__
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
        (batch, seq_q, _), seq_k = query.shape, key.shape[1]
        dims = {"heads": heads, "d_model": d_model, "d_k": d_k}
        return run_with(_module(d_model, heads), fused_attention(params, ""), dims, query, key, value,
                        need_weights=True, attn_mask=forbidden(mask, batch, heads, seq_q, seq_k),
                        average_attn_weights=False)
