"""Gradients: autograd of the implementation against central differences of the float64 reference."""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import torch

from transformer_spec.harness.checker import Checker
from transformer_spec.harness.compare import Tolerance

GRAD_TOLERANCE = {"float64": Tolerance(rtol=1e-6, atol=1e-7), "float32": Tolerance(rtol=2e-3, atol=2e-4)}
"""Central differences with h = 1e-6 are accurate to about 1e-9 in float64; float32 autograd to about 1e-4."""


def numeric_vjp(fn: Callable[..., np.ndarray], inputs: Sequence[np.ndarray], cotangent: np.ndarray,
                h: float = 1e-6) -> list[np.ndarray]:
    """d/dx_i of sum(fn(*inputs) * cotangent) for every input, by central differences."""
    grads = []
    for i, x in enumerate(inputs):
        grad = np.zeros_like(x)
        for idx in np.ndindex(x.shape):
            args = [a.copy() for a in inputs]
            args[i][idx] = x[idx] + h
            plus = float((fn(*args) * cotangent).sum())
            args[i][idx] = x[idx] - h
            grad[idx] = (plus - float((fn(*args) * cotangent).sum())) / (2 * h)
        grads.append(grad)
    return grads


def check_gradients(checker: Checker, clause_id: str, names: Sequence[str], impl_fn: Callable[..., torch.Tensor],
                    ref_fn: Callable[..., np.ndarray], inputs: Sequence[np.ndarray], seed: int) -> None:
    """Compare the implementation's input gradients (autograd) with the reference's (central differences)."""
    __tracebackhide__ = True
    tensors = [checker.tensor(x).requires_grad_(True) for x in inputs]
    out = impl_fn(*tensors)
    cotangent = np.random.default_rng(seed).normal(size=tuple(out.shape))
    actual = torch.autograd.grad(out, tensors, checker.tensor(cotangent), allow_unused=True)
    desired = numeric_vjp(ref_fn, inputs, cotangent)
    tol = GRAD_TOLERANCE.get(checker.target.dtype, Tolerance(rtol=5e-2, atol=5e-2))
    for name, a, d, t in zip(names, actual, desired, tensors):
        checker.assert_close(clause_id, f"d(out)/d({name})", torch.zeros_like(t) if a is None else a, d, tol)
