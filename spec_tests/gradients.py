"""Gradients: autograd of the implementation against central differences of the float64 reference."""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import torch

from transformer_spec.harness.checker import Checker
from transformer_spec.harness.compare import Tolerance, as_numpy

GRAD_TOLERANCE = {"float64": Tolerance(rtol=1e-6, atol=1e-7), "float32": Tolerance(rtol=2e-3, atol=2e-4)}
"""Central differences with h = 1e-6 are accurate to about 1e-9 in float64; float32 autograd to about 1e-4."""


DIRECTIONS = 3
"""Random directions per check: a wrong gradient agrees with central differences along a random direction
with probability zero, so three directions are as strong as the full Jacobian and far cheaper."""


def directional_derivative(fn: Callable[..., np.ndarray], inputs: Sequence[np.ndarray], directions: Sequence[np.ndarray],
                           cotangent: np.ndarray, h: float = 1e-6) -> float:
    """d/dt sum(fn(inputs + t * directions) * cotangent) at t = 0, by central differences."""
    plus = fn(*(x + h * d for x, d in zip(inputs, directions)))
    minus = fn(*(x - h * d for x, d in zip(inputs, directions)))
    return float(((plus - minus) * cotangent).sum() / (2 * h))


def smooth_directional_derivative(fn: Callable[..., np.ndarray], inputs: Sequence[np.ndarray],
                                  directions: Sequence[np.ndarray], cotangent: np.ndarray) -> float | None:
    """The central difference, or None where ``fn`` has a kink within the step along ``directions``.

    A ReLU (Eq. (2)) whose input crosses 0 inside [-h, h] makes the central difference an average of two
    slopes, not the derivative; then steps h and h/2 disagree far beyond their O(h^2) truncation error.
    """
    full, half = (directional_derivative(fn, inputs, directions, cotangent, h) for h in (1e-6, 5e-7))
    smooth = GRAD_TOLERANCE["float64"]
    return full if abs(full - half) <= smooth.atol + smooth.rtol * abs(full) else None


def check_gradients(checker: Checker, clause_id: str, names: Sequence[str], impl_fn: Callable[..., torch.Tensor],
                    ref_fn: Callable[..., np.ndarray], inputs: Sequence[np.ndarray], seed: int,
                    seen: np.ndarray | None = None) -> None:
    """The implementation's autograd gradients against central differences of the reference, along random directions.

    For a cotangent c and direction D, <grad of sum(out * c), D> from autograd must equal the
    derivative of sum(ref(x + tD) * c) at t = 0.  Each input is probed alone, so a message names it.
    ``seen`` (boolean, broadcastable to the output) keeps c to the outputs a loss of the paper can see,
    e.g. the logits of real target positions: what happens at padding is no part of the paper
    (``nn.Embedding(padding_idx=...)`` stops its gradient there, legitimately).
    """
    __tracebackhide__ = True
    tensors = [checker.tensor(x).requires_grad_(True) for x in inputs]
    out = impl_fn(*tensors)
    rng = np.random.default_rng(seed)
    cotangent = rng.normal(size=tuple(out.shape)) * (True if seen is None else np.broadcast_to(seen, tuple(out.shape)))
    grads = torch.autograd.grad(out, tensors, checker.tensor(cotangent), allow_unused=True)
    tol = GRAD_TOLERANCE.get(checker.target.dtype, Tolerance(rtol=5e-2, atol=5e-2))
    for i, (name, grad) in enumerate(zip(names, grads)):
        g = np.zeros(inputs[i].shape) if grad is None else as_numpy(grad)
        for _ in range(DIRECTIONS):
            directions = [np.zeros_like(x) for x in inputs]
            directions[i] = rng.normal(size=inputs[i].shape)
            desired = smooth_directional_derivative(ref_fn, inputs, directions, cotangent)
            if desired is None:
                continue  # a kink within the step: no finite difference measures this direction
            checker.assert_close(clause_id, f"d(out)/d({name}) along a random direction",
                                 np.array([float((g * directions[i]).sum())]), np.array([desired]), tol)
