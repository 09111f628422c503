"""Implementations outside PyTorch (NumPy, JAX) as differentiable torch functions, for the gradient clauses.

The suite takes gradients with torch's autograd.  :func:`numpy_function` wraps a NumPy forward and
its vector-Jacobian product (from JAX, ``jax.vjp``, or written by hand) as a
``torch.autograd.Function``, so an adapter can set ``differentiable = True``.  For a JAX function,
:func:`~.jax_bridge.jax_function` builds both (jitted) and calls this.
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


def _tensor(array: Any, like: Tensor) -> Tensor:
    """``array`` as a tensor of ``like``'s dtype and device; a read-only array (JAX's results) is copied first,
    since ``torch.as_tensor`` would share a buffer it may not write (and warns so)."""
    array = np.asarray(array)
    if not array.flags.writeable:
        array = array.copy()
    return torch.as_tensor(array, dtype=like.dtype, device=like.device)


def numpy_function(forward: Forward, vjp: Vjp) -> Callable[..., Tensor]:
    """``f(*tensors) -> Tensor`` computing ``forward(*arrays)``, whose gradient is ``vjp(*arrays, grad_out)``.

    ``vjp`` returns one array per input (None where there is no gradient, e.g. a boolean mask), each
    of its input's shape.  The result has the dtype and device of the first floating-point input.  A read-only
    array that ``forward`` or ``vjp`` returns (JAX's) is copied, not shared.
    Limits: one output; no second derivatives (the backward pass is NumPy too).
    """
    class _Function(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, *inputs: Tensor) -> Tensor:
            ctx.save_for_backward(*inputs)
            like = next(t for t in inputs if t.is_floating_point())
            return _tensor(forward(*_arrays(inputs)), like)

        @staticmethod
        def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, ...]:
            inputs = ctx.saved_tensors
            grads = vjp(*_arrays(inputs), grad.detach().cpu().numpy())
            if len(grads) != len(inputs):
                raise ValueError(f"vjp returned {len(grads)} gradients for {len(inputs)} inputs")
            return tuple(None if g is None else _tensor(g, t) for g, t in zip(grads, inputs))

    return _Function.apply
