"""Attention weights between the canonical per-head layout and fused layouts, both directions.

Canonical (``reference.params``): ``w_q, w_k (heads, d_model, d_k)``, ``w_v (heads, d_model, d_v)``,
biases ``(heads, d)``, ``w_o (heads * d_v, d_model)``.  Fused "columns" layout, applied as ``x @ W``:
``(d_model, heads * d)`` with head i in columns ``i*d .. (i+1)*d`` (JAX/Flax, GPT-2's ``Conv1D``).
torch's ``nn.Linear`` holds the transpose, ``(heads * d, d_model)``; ``nn.MultiheadAttention``
stacks the three as ``in_proj_weight (3 * heads * d, d_model)``, which needs d_k = d_v = d_model / heads.
Every conversion is a permutation of entries (a round trip is exact) and differentiable.
"""
from __future__ import annotations

from typing import Mapping

import torch
from torch import Tensor

from transformer_spec.implementations.protocol import ParameterMismatch, Unsupported
from transformer_spec.implementations.pytorch.canonical import heads_to_rows


def require_fused_shape(heads: int, d_model: int, d_k: int, d_v: int, who: str) -> None:
    """Raise :class:`Unsupported` unless d_k = d_v = d_model / heads, the only shape torch's fused attention has."""
    if not d_k == d_v == d_model / heads:
        raise Unsupported(f"{who} needs d_k = d_v = d_model / heads, got d_k={d_k}, d_v={d_v}, "
                          f"d_model={d_model}, heads={heads}")


def fuse(w: Tensor) -> Tensor:
    """Per-head projections side by side. Shapes: (heads, d_model, d) -> (d_model, heads * d)."""
    if w.ndim != 3:
        raise ParameterMismatch(f"a per-head projection has shape (heads, d_model, d), got {tuple(w.shape)}")
    return heads_to_rows(w).T


def unfuse(w: Tensor, heads: int) -> Tensor:
    """Inverse of :func:`fuse`. Shapes: (d_model, heads * d) -> (heads, d_model, d)."""
    if w.ndim != 2 or w.shape[1] % heads:
        raise ParameterMismatch(f"a fused projection has shape (d_model, heads * d) with heads={heads}, "
                                f"got {tuple(w.shape)}")
    d_model, d = w.shape[0], w.shape[1] // heads
    return w.reshape(d_model, heads, d).permute(1, 0, 2)


def fuse_bias(b: Tensor) -> Tensor:
    """Per-head biases side by side. Shapes: (heads, d) -> (heads * d,)."""
    if b.ndim != 2:
        raise ParameterMismatch(f"a per-head bias has shape (heads, d), got {tuple(b.shape)}")
    return b.reshape(-1)


def in_proj(block: Mapping[str, Tensor]) -> tuple[Tensor, Tensor]:
    """W^Q, W^K, W^V of a canonical attention block as torch's ``(in_proj_weight, in_proj_bias)``.

    Shapes: w_q, w_k, w_v (heads, d_model, d) -> (3 * heads * d, d_model) and (3 * heads * d,).
    Missing biases are zero.
    """
    rows = [fuse(block[f"w_{r}"]).T for r in "qkv"]  # 3 x (heads * d, d_model)
    biases = [fuse_bias(block[f"b_{r}"]) if f"b_{r}" in block else w.new_zeros(w.shape[0]) for r, w in zip("qkv", rows)]
    return torch.cat(rows), torch.cat(biases)


def from_in_proj(weight: Tensor, bias: Tensor, heads: int) -> dict[str, Tensor]:
    """Inverse of :func:`in_proj`: ``w_q, w_k, w_v (heads, d_model, d)`` and ``b_q, b_k, b_v (heads, d)``.

    Shapes: weight (3 * heads * d, d_model), bias (3 * heads * d,).
    """
    if weight.ndim != 2 or weight.shape[0] % (3 * heads) or bias.shape != weight.shape[:1]:
        raise ParameterMismatch(f"in_proj_weight (3 * heads * d, d_model) and in_proj_bias (3 * heads * d,) with "
                                f"heads={heads} do not fit shapes {tuple(weight.shape)} and {tuple(bias.shape)}")
    out: dict[str, Tensor] = {}
    for r, w, b in zip("qkv", weight.chunk(3), bias.chunk(3)):
        out[f"w_{r}"], out[f"b_{r}"] = unfuse(w.T, heads), b.reshape(heads, -1)
    return out


def mha_state(block: Mapping[str, Tensor], prefix: str = "") -> dict[str, Tensor]:
    """A canonical attention block under ``nn.MultiheadAttention``'s parameter names, each after ``prefix``.

    Shapes: in_proj_weight (3 * heads * d, d_model), out_proj.weight = W^O transposed (d_model, heads * d_v).
    A missing ``b_o`` is zero.
    """
    w_in, b_in = in_proj(block)
    w_out = block["w_o"].T
    b_out = block["b_o"] if "b_o" in block else w_out.new_zeros(w_out.shape[0])
    return {f"{prefix}in_proj_weight": w_in, f"{prefix}in_proj_bias": b_in,
            f"{prefix}out_proj.weight": w_out, f"{prefix}out_proj.bias": b_out}
