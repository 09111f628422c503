"""Conversions shared by the adapters: masks, weights, shape limits, and running a module on canonical weights.

The protocol's masks use True = may attend; ``nn.MultiheadAttention`` and
``nn.Transformer`` use True = may *not* attend and want one mask per
(example, head) stacked batch-major.  Their fused ``in_proj_weight`` holds
W^Q, W^K, W^V as rows grouped by head, which only exists when
d_k = d_v = d_model / heads.  Their inference "fast path" treats a fully
masked query differently from the ordinary path (NaN instead of zeros in
torch 2.13), so the adapters always take the ordinary one.

``torch.func.functional_call`` substitutes whatever tensors it is given and
quietly keeps the module's own value for any parameter it is not given, so
:func:`run_with` first checks the weights against the module's parameters.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator, Mapping

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.func import functional_call

from implementations.protocol import ParameterMismatch, Unsupported
from implementations.pytorch.canonical import heads_to_rows
from reference.config import FullyMasked, TransformerConfig
from transformer_spec.harness.target import Target


def require_fused_shape(heads: int, d_model: int, d_k: int, d_v: int, who: str) -> None:
    """Raise :class:`Unsupported` unless d_k = d_v = d_model / heads, the only shape torch's fused attention has."""
    if not d_k == d_v == d_model / heads:
        raise Unsupported(f"{who} needs d_k = d_v = d_model / heads, got d_k={d_k}, d_v={d_v}, "
                          f"d_model={d_model}, heads={heads}")


def forbidden(mask: Tensor | None, batch: int, heads: int, seq_q: int, seq_k: int) -> Tensor | None:
    """A protocol mask (True = may attend) as torch's 3-D attention mask (True = masked).

    Shapes: mask broadcastable to (batch, heads, seq_q, seq_k) -> (batch * heads, seq_q, seq_k).
    """
    if mask is None:
        return None
    return ~mask.expand(batch, heads, seq_q, seq_k).reshape(batch * heads, seq_q, seq_k)  # batch-major, as torch wants


def fused_attention(block: Mapping[str, Tensor], prefix: str) -> dict[str, Tensor]:
    """A canonical attention block as ``nn.MultiheadAttention`` parameters named ``{prefix}in_proj_weight`` etc.

    Shapes: w_q, w_k, w_v (heads, d_model, d) -> in_proj_weight (3 * heads * d, d_model);
    w_o (heads * d_v, d_model) -> out_proj.weight (d_model, heads * d_v).  Missing biases are zero.
    """
    def bias(name: str, like: Tensor) -> Tensor:
        return block[name].reshape(-1) if name in block else like.new_zeros(like.shape[0])  # (heads, d) -> (heads * d,)

    rows = [heads_to_rows(block[f"w_{r}"]) for r in "qkv"]  # 3 x (heads * d, d_model)
    w_in, b_in = torch.cat(rows), torch.cat([bias(f"b_{r}", w) for r, w in zip("qkv", rows)])
    return {f"{prefix}in_proj_weight": w_in, f"{prefix}in_proj_bias": b_in,
            f"{prefix}out_proj.weight": block["w_o"].T, f"{prefix}out_proj.bias": bias("b_o", block["w_o"].T)}


def sdpa_fully_masked(target: Target) -> dict[str, FullyMasked]:
    """The ``fully_masked`` deviation of ``F.scaled_dot_product_attention`` on ``target``: {} when it gives zeros.

    What a query that may attend to no key gets changed between releases (NaN from the plain softmax
    before torch 2.5, zeros since the math backend's safe softmax) and can differ between backends,
    so the adapters measure it once instead of guessing.
    """
    device, dtype = target.torch_device, target.torch_dtype
    q = torch.ones(1, 1, 1, 1, device=device, dtype=dtype)
    v = torch.tensor([1.0, 3.0], device=device, dtype=dtype).reshape(1, 1, 2, 1)  # uniform weights give 2
    nobody = torch.zeros(1, 1, 1, 2, dtype=torch.bool, device=device)
    out = float(F.scaled_dot_product_attention(q, torch.ones_like(v), v, attn_mask=nobody))
    return {} if out == 0.0 else {"fully_masked": "nan" if out != out else "uniform"}


@contextmanager
def _fastpath_disabled() -> Iterator[None]:
    before = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        yield
    finally:
        torch.backends.mha.set_fastpath_enabled(before)


def dims_of(config: TransformerConfig) -> dict[str, int]:
    """The named dimensions of ``config`` (docs/conventions.md), to name the axes of parameter shapes."""
    return {d: getattr(config, d) for d in ("vocab", "d_model", "d_ff", "heads", "d_k", "d_v")}


def _shape_text(shape: torch.Size, dims: Mapping[str, int]) -> str:
    """``(d_model,)=(8,)`` where every size is exactly one named dimension, else just ``(8,)``."""
    sizes = tuple(shape)
    names = [[d for d, n in dims.items() if n == size] for size in sizes]
    if not sizes or any(len(found) != 1 for found in names):
        return str(sizes)
    return f"({', '.join(found[0] for found in names)}{',' if len(sizes) == 1 else ''})={sizes}"


def check_weights(module: nn.Module, weights: Mapping[str, Tensor], dims: Mapping[str, int]) -> None:
    """Raise :class:`ParameterMismatch` unless ``weights`` gives every parameter of ``module``, at its shape.

    A weight the module has no parameter for, a parameter no weight reaches (functional_call would
    keep its own initial value), or a shape that differs (functional_call would run a module whose
    LayerNorm gain is a scalar with the (d_model,) one it is given, hiding the scalar) means the
    module cannot hold the paper's parameters.
    Tied parameters count once, under their first name, as ``named_parameters`` lists them.
    """
    own = dict(module.named_parameters())
    missing, extra = sorted(own.keys() - weights.keys()), sorted(weights.keys() - own.keys())
    if missing or extra:
        problems = [f"no weight for the module's parameters {missing}"] if missing else []
        problems += [f"weights for {extra}, which the module does not have"] if extra else []
        raise ParameterMismatch(f"the canonical tree gives {' and '.join(problems)}")
    for name, param in own.items():
        if weights[name].shape != param.shape:
            raise ParameterMismatch(f"{name} has shape {_shape_text(param.shape, dims)}, but the canonical tree has "
                                    f"{_shape_text(weights[name].shape, dims)}")


def run_with(module: nn.Module, weights: Mapping[str, Tensor], dims: Mapping[str, int], *args: Any,
             **kwargs: Any) -> Any:
    """``module(*args, **kwargs)`` with ``weights`` in place of its parameters, off the inference fast path.

    The weights are checked first (:func:`check_weights`; ``dims`` names the axes in its message).
    Every call takes the same code path whether or not gradients are wanted, so
    value and gradient tests see one behaviour.
    """
    check_weights(module, weights, dims)
    with _fastpath_disabled():
        return functional_call(module, dict(weights), args, kwargs)
