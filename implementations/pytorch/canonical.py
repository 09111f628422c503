"""Exact conversion between the canonical parameter tree (``reference.params``) and :class:`Transformer`.

The module's names are the canonical ones except inside attention (``w_in``
stacks W^Q, W^K, W^V as rows, ``w_out`` is W^O transposed) and the FFN
(``w_1``, ``w_2`` transposed to torch's (out, in) layout).  Every conversion
is a permutation of entries, so a float64 round trip is bit-exact.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import torch
from torch import Tensor, nn

from transformer_spec.reference.errors import SpecUsageError
from transformer_spec.reference.params import flatten, param_shapes, unflatten

_ROLES = ("q", "k", "v")


def heads_to_rows(w: Tensor) -> Tensor:
    """Per-head projections as rows grouped by head: (heads, d_model, d) -> (heads * d, d_model)."""
    heads, d_model, d = w.shape
    return w.permute(0, 2, 1).reshape(heads * d, d_model)  # (heads, d, d_model) -> (heads * d, d_model)


def rows_to_heads(w: Tensor, heads: int) -> Tensor:
    """Inverse of :func:`heads_to_rows`: (heads * d, d_model) -> (heads, d_model, d)."""
    rows, d_model = w.shape
    return w.reshape(heads, rows // heads, d_model).permute(0, 2, 1)  # (heads, d, d_model) -> (heads, d_model, d)


def _attention_prefixes(names: Any) -> list[str]:
    """Dotted prefixes of the attention blocks among flat canonical names."""
    return sorted({n.rsplit(".", 1)[0] for n in names if n.rsplit(".", 2)[-2:-1] in (["self_attn"], ["cross_attn"])})


def _is_ffn_weight(name: str) -> bool:
    return name.endswith((".ffn.w_1", ".ffn.w_2"))


def to_module_names(flat: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """Canonical flat tensors -> the module's flat tensors (fusing attention, transposing the FFN)."""
    out = {name: (t.T if _is_ffn_weight(name) else t) for name, t in flat.items()
           if name.rsplit(".", 2)[-2:-1] not in (["self_attn"], ["cross_attn"])}
    for p in _attention_prefixes(flat):
        out[f"{p}.w_in"] = torch.cat([heads_to_rows(flat[f"{p}.w_{r}"]) for r in _ROLES])
        out[f"{p}.b_in"] = torch.cat([flat[f"{p}.b_{r}"].reshape(-1) for r in _ROLES])  # (heads, d) -> (heads * d,)
        out[f"{p}.w_out"], out[f"{p}.b_out"] = flat[f"{p}.w_o"].T, flat[f"{p}.b_o"]
    return out


def to_canonical_names(state: Mapping[str, Tensor], heads: int) -> dict[str, Tensor]:
    """Inverse of :func:`to_module_names`."""
    attn = {n.rsplit(".", 1)[0] for n in state if n.endswith(".w_in")}
    out = {name: (t.T if _is_ffn_weight(name) else t) for name, t in state.items() if name.rsplit(".", 1)[0] not in attn}
    for p in attn:
        w_in, b_in = state[f"{p}.w_in"], state[f"{p}.b_in"]
        hd_v = state[f"{p}.w_out"].shape[1]
        sizes = [(w_in.shape[0] - hd_v) // 2] * 2 + [hd_v]  # rows of W^Q, W^K (heads * d_k each), W^V (heads * d_v)
        for r, w, b in zip(_ROLES, w_in.split(sizes), b_in.split(sizes)):
            out[f"{p}.w_{r}"], out[f"{p}.b_{r}"] = rows_to_heads(w, heads), b.reshape(heads, -1)  # (heads * d,) -> (heads, d)
        out[f"{p}.w_o"], out[f"{p}.b_o"] = state[f"{p}.w_out"].T, state[f"{p}.b_out"]
    return out


def load_canonical(model: nn.Module, params: Mapping[str, Any]) -> nn.Module:
    """Copy a canonical tree (float64 NumPy or tensor leaves) into ``model``'s parameters, in place.

    Values are cast to each parameter's device and dtype; the tied embedding
    stays one tensor.  Raises SpecUsageError when the names or shapes differ.
    """
    flat = {k: torch.as_tensor(np.asarray(v) if not isinstance(v, Tensor) else v) for k, v in flatten(params).items()}
    state = to_module_names(flat)
    own = dict(model.named_parameters())
    if set(state) != set(own):
        raise SpecUsageError("params", sorted(set(state) ^ set(own)), "names differ from the model's canonical tree")
    with torch.no_grad():
        for name, param in own.items():
            if state[name].shape != param.shape:
                raise SpecUsageError(f"params.{name}.shape", tuple(state[name].shape), f"expected {tuple(param.shape)}")
            param.copy_(state[name])
    return model


def export_canonical(model: nn.Module) -> dict[str, Any]:
    """The model's parameters as a canonical tree of float64 NumPy arrays (copies, not views)."""
    state = {k: p.detach().to("cpu", torch.float64) for k, p in model.named_parameters()}
    flat = to_canonical_names(state, model.config.heads)
    return unflatten({k: np.array(flat[k].numpy(), dtype=np.float64) for k in param_shapes(model.config)})
