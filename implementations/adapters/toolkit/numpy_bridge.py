"""Implementations outside PyTorch (NumPy, JAX) as differentiable torch functions, for the gradient clauses.

The suite takes gradients with torch's autograd.  :func:`numpy_function` wraps a NumPy forward and
its vector-Jacobian product (from JAX, ``jax.vjp``, or written by hand) as a
``torch.autograd.Function``, so an adapter can set ``differentiable = True``.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
import torch
from torch import Tensor

Forward = Callable[..., np.ndarray]
Vjp = Callable[..., Sequence[Any]]


def _arrays(tensors: Sequence[Tensor]) -> list[np.ndarray]:
    return [t.detach().cpu().numpy() for t in tensors]


def numpy_function(forward: Forward, vjp: Vjp) -> Callable[..., Tensor]:
    """``f(*tensors) -> Tensor`` computing ``forward(*arrays)``, whose gradient is ``vjp(*arrays, grad_out)``.

    ``vjp`` returns one array per input (None where there is no gradient, e.g. a boolean mask), each
    of its input's shape.  The result has the dtype and device of the first floating-point input.
    Limits: one output; no second derivatives (the backward pass is NumPy too).
    """
    class _Function(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, *inputs: Tensor) -> Tensor:
            ctx.save_for_backward(*inputs)
            like = next(t for t in inputs if t.is_floating_point())
            return torch.as_tensor(np.asarray(forward(*_arrays(inputs))), dtype=like.dtype, device=like.device)

        @staticmethod
        def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, ...]:
            inputs = ctx.saved_tensors
            grads = vjp(*_arrays(inputs), grad.detach().cpu().numpy())
            if len(grads) != len(inputs):
                raise ValueError(f"vjp returned {len(grads)} gradients for {len(inputs)} inputs")
            return tuple(None if g is None else torch.as_tensor(np.asarray(g), dtype=t.dtype, device=t.device)
                         for g, t in zip(grads, inputs))

    return _Function.apply
