"""Comparing an implementation's output with the reference: tolerances and the one assertion helper.

Checks run in order (shape, dtype, device, finiteness, values) and each has
its own message.  Values pass when |actual - desired| <= atol + rtol * |desired|
(asymmetric: the reference is always ``desired``).  In float16/bfloat16 the
budget is calibrated as in FlashAttention's tests: the error of the
implementation against the float64 reference may be at most ``k`` times the
error a plain PyTorch computation in the same dtype makes, plus a small atol.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from transformer_spec.reference.clauses import clause


class NonConformance(AssertionError):
    """A violated clause: carries the clause id and the measured error."""

    def __init__(self, clause_id: str, message: str, measurement: dict[str, Any] | None = None) -> None:
        self.clause_id = clause_id
        self.measurement = measurement or {}
        c = clause(clause_id)
        super().__init__(f"[{clause_id}] {message}\nclause: {c.statement}")


class ImplementationError(Exception):
    """The implementation crashed, returned NaN/Inf, or was not deterministic: an ``error`` status."""


@dataclass(frozen=True)
class Tolerance:
    """rtol and atol, always together."""

    rtol: float
    atol: float


TOLERANCES: dict[str, Tolerance] = {
    "float64": Tolerance(rtol=1e-10, atol=1e-10),
    "float32": Tolerance(rtol=2e-5, atol=2e-5),
    "float16": Tolerance(rtol=1e-3, atol=1e-3),
    "bfloat16": Tolerance(rtol=1.6e-2, atol=1e-3),
}
"""Per dtype: float64 is tight; float32 covers the rounding of a few hundred operations at the suite's sizes;
float16/bfloat16 are floors under the calibrated budget (torch.testing's table, atol raised to 1e-3)."""

PRECISION_FINDINGS: dict[str, tuple[str, Tolerance]] = {
    "float64": ("float32", Tolerance(rtol=1e-4, atol=1e-4)),
    "float32": ("float16", Tolerance(rtol=1e-3, atol=1e-3)),
}
"""Precision is not semantics: a float64 (float32) mismatch that fits float32's (float16's) budget for a chain of
operations is a *precision finding* on the clause (status ``imprecise``), not a violation.  A wrong equation
(a scale off by sqrt(2), a swapped sin/cos, a missing ReLU) is off by O(1) of the values and still fails."""

LOW_PRECISION_FACTOR = 3.0
"""k in error <= k * baseline_error + atol (FlashAttention uses 2 to 3)."""


@dataclass(frozen=True)
class Measurement:
    """What one comparison measured, kept for the report's margins.

    ``ratio`` is the worst error / allowed error over the elements: at most 1 passes,
    and 1 - ratio is the margin the report shows.
    """

    what: str
    max_abs: float
    max_rel: float
    ratio: float
    budget: str
    mismatched: int
    total: int
    where: tuple[int, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"what": self.what, "max_abs": self.max_abs, "max_rel": self.max_rel, "ratio": self.ratio,
                "budget": self.budget, "mismatched": self.mismatched, "total": self.total, "where": list(self.where)}


def as_numpy(value: Any) -> np.ndarray:
    """A float64 (or integer/bool) NumPy copy of a tensor, array or number."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu()
        return (value.double() if value.is_floating_point() else value).numpy()
    return np.asarray(value)


def check_tensor(where: str, actual: Any, dtype: torch.dtype | None, device: str | None, finite: bool = True) -> None:
    """What the protocol promises of every floating output: the inputs' dtype and device, and finite values.

    ``where`` names the clause and the call (``"[3.2.1/softmax] impl.attention output 0"``); a broken
    promise is an :class:`ImplementationError` (status ``error``), not a violated clause.
    """
    __tracebackhide__ = True
    if isinstance(actual, torch.Tensor):
        if device is not None and actual.device.type != torch.device(device).type:
            raise ImplementationError(f"{where} is on device {actual.device}, but the inputs were on {device}")
        if dtype is not None and actual.is_floating_point() and actual.dtype != dtype:
            raise ImplementationError(f"{where} has dtype {actual.dtype}, but the inputs had {dtype}")
    if not finite:
        return
    array = as_numpy(actual)
    if np.issubdtype(array.dtype, np.floating) and not np.isfinite(array).all():
        bad = np.argwhere(~np.isfinite(array))[0] if array.ndim else ()
        raise ImplementationError(f"{where} has {int((~np.isfinite(array)).sum())} non-finite values (first "
                                  f"{array[tuple(bad)]} at {tuple(int(i) for i in bad)}) for finite inputs")


def check_output(clause_id: str, what: str, actual: Any, expected_shape: tuple[int, ...],
                 dtype: torch.dtype | None, device: str | None) -> np.ndarray:
    """Shape, dtype, device and finiteness of an implementation's output, in that order; the output as NumPy."""
    __tracebackhide__ = True
    if tuple(np.shape(actual)) != tuple(expected_shape):
        raise ImplementationError(f"[{clause_id}] {what}.shape={tuple(np.shape(actual))}, but should be "
                                  f"{tuple(expected_shape)}")
    check_tensor(f"[{clause_id}] {what}", actual, dtype, device)
    return as_numpy(actual)


def measure(what: str, actual: np.ndarray, desired: np.ndarray, tol: Tolerance) -> Measurement:
    """Element-wise errors of ``actual`` against ``desired`` within atol + rtol * |desired|."""
    diff = np.abs(actual.astype(np.float64) - desired)
    ratio = diff / (tol.atol + tol.rtol * np.abs(desired))
    rel = diff / np.maximum(np.abs(desired), np.finfo(np.float64).tiny)
    worst = np.unravel_index(int(np.argmax(ratio)), ratio.shape) if ratio.size else ()
    return Measurement(what, float(diff.max(initial=0.0)), float(rel.max(initial=0.0)), float(ratio.max(initial=0.0)),
                       f"atol={tol.atol:.3g} + rtol={tol.rtol:.3g} * |reference|", int((ratio > 1).sum()),
                       int(diff.size), tuple(int(i) for i in worst))


def measure_against_baseline(what: str, actual: np.ndarray, desired: np.ndarray, baseline: np.ndarray,
                             atol: float) -> Measurement:
    """max|actual - desired| <= k * max|baseline - desired| + atol, the low-precision rule."""
    diff = np.abs(actual.astype(np.float64) - desired)
    allowed = LOW_PRECISION_FACTOR * float(np.abs(baseline - desired).max(initial=0.0)) + atol
    rel = diff / np.maximum(np.abs(desired), np.finfo(np.float64).tiny)
    worst = np.unravel_index(int(np.argmax(diff)), diff.shape) if diff.size else ()
    return Measurement(what, float(diff.max(initial=0.0)), float(rel.max(initial=0.0)),
                       float(diff.max(initial=0.0)) / allowed, f"{LOW_PRECISION_FACTOR:g} x plain-PyTorch error + {atol:.3g}",
                       int((diff > allowed).sum()), int(diff.size), tuple(int(i) for i in worst))


def describe(m: Measurement) -> str:
    """The torch.testing-style mismatch report."""
    return (f"{m.what}: mismatched elements {m.mismatched} / {m.total} ({100.0 * m.mismatched / max(m.total, 1):.1f}%); "
            f"greatest absolute difference {m.max_abs:.3g}, greatest relative difference {m.max_rel:.3g}, "
            f"worst at index {m.where}; error/allowed = {m.ratio:.3g} (allowed: {m.budget})")
