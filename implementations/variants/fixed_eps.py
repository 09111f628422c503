"""A LayerNorm whose eps is fixed when it is built, as ``nn.LayerNorm(d_model, eps=1e-6)`` in many codebases.

The paper gives no eps (§3.1); ``layer_norm_eps`` is implementation-defined.  This variant declares
its own and cannot compute with another: asked for a different eps it answers Unsupported, so the
suite must check it with the declared one.
"""
from __future__ import annotations

from typing import Any

from torch import Tensor, nn
from torch.func import functional_call

from transformer_spec.implementations.protocol import Unsupported
from transformer_spec.harness.target import Target

EPS = 1e-6
"""The eps this LayerNorm is built with (the paper's Tensor2Tensor code uses 1e-6)."""


class FixedEpsLayerNorm:
    """``nn.LayerNorm(d_model, eps=1e-6)`` behind the protocol's ``layer_norm`` component."""

    name = "fixed-eps-layer-norm"
    version = "0.1"
    differentiable = True
    offers = frozenset({"layer_norm"})
    deviations: dict[str, Any] = {"layer_norm_eps": EPS}
    focus_clauses = frozenset({"3.1/layer-norm"})

    def __init__(self, target: Target) -> None:
        self.target = target

    def layer_norm(self, x: Tensor, scale: Tensor, bias: Tensor, eps: float) -> Tensor:
        """Shapes: x (batch, seq, d_model), scale and bias (d_model,) -> (batch, seq, d_model)."""
        if eps != EPS:
            raise Unsupported(f"this LayerNorm's eps is fixed at {EPS:g}; it cannot compute with eps={eps:g}")
        norm = nn.LayerNorm(x.shape[-1], eps=EPS, device="meta")  # its weight and bias are replaced below
        return functional_call(norm, {"weight": scale, "bias": bias}, (x,))
