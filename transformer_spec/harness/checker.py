"""The per-test helper that calls an implementation and judges its outputs against the reference."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pytest
import torch
from hypothesis import currently_in_test_context, reject

from transformer_spec.implementations.protocol import Implementation, ParameterMismatch, Unsupported
from transformer_spec.reference.config import TransformerConfig
from transformer_spec.reference.params import flatten, map_tree
from transformer_spec.harness.compare import (PRECISION_FINDINGS, TOLERANCES, ImplementationError, Measurement, NonConformance, Tolerance,
                                              as_numpy, check_output, check_tensor, describe, measure, measure_against_baseline)
from transformer_spec.harness.composition import parts_of
from transformer_spec.harness.substitution import root_cause
from transformer_spec.harness.target import Target


SAME_REASON_SKIPS = 3
"""An Unsupported reason given word for word for this many different arguments does not depend on the example:
the test is skipped with it at once instead of Hypothesis drawing until it gives up.  Reasons that name a shape
differ per shape, and the same arguments drawn again (Hypothesis may redraw a small case) count once."""


def _signature(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    """The arguments of a call as far as an implementation can tell them apart by kind: shapes and plain values."""
    leaves = _tensor_leaves((args, kwargs))
    scalars = [repr(a) for a in (*args, *kwargs.values()) if not isinstance(a, (torch.Tensor, dict, list, tuple))]
    return repr(([tuple(t.shape) for t in leaves], scalars))


@dataclass(repr=False)
class Checker:
    """Calls ``impl`` safely and compares with the reference, keeping the worst measurement per check."""

    impl: Implementation
    spec: str
    target: Target
    measurements: dict[str, dict[str, Any]] = field(default_factory=dict)
    findings: list[dict[str, Any]] = field(default_factory=list)  # mismatches within a lower precision's budget
    failures: list[str] = field(default_factory=list)  # every violation raised, in order (the last is the smallest)
    _plain: Any = None
    last_call: tuple[str, tuple[Any, ...], dict[str, Any]] | None = None  # what the implementation was last given
    unsupported: dict[str, set[str]] = field(default_factory=dict)  # Unsupported reason -> the arguments it refused

    def __repr__(self) -> str:
        return f"Checker({self.spec!r}, {self.target})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """One line in Hypothesis's counterexamples too (its printer would otherwise list every field)."""
        printer.text(repr(self))

    # -- inputs -----------------------------------------------------------------
    def tensor(self, array: Any) -> torch.Tensor:
        """A NumPy input as a tensor on the target: floats in the target dtype, ids as int64, masks as bool."""
        array = np.asarray(array)
        if array.dtype == bool:
            return torch.tensor(array, device=self.target.torch_device)
        if np.issubdtype(array.dtype, np.integer):
            return torch.tensor(array, dtype=torch.int64, device=self.target.torch_device)
        return torch.tensor(array, dtype=self.target.torch_dtype, device=self.target.torch_device)

    def exact(self, tree: Any) -> Any:
        """Float arrays (or a tree of them) rounded to the target dtype and back to float64.

        Differential tests feed these to both sides, so the reference sees exactly the
        numbers the implementation receives (it matters in float16/bfloat16).
        """
        round_trip = lambda a: as_numpy(self.tensor(a)) if np.issubdtype(np.asarray(a).dtype, np.floating) else a
        return map_tree(round_trip, tree) if isinstance(tree, (dict, list)) else round_trip(tree)

    def params(self, tree: Any) -> Any:
        """The canonical parameter tree with tensor leaves on the target."""
        return map_tree(self.tensor, tree)

    def config(self, config: TransformerConfig) -> TransformerConfig:
        """``config`` with the implementation's declared deviations applied: the variant it is checked against."""
        return config.replace(**dict(self.impl.deviations)) if self.impl.deviations else config

    # -- calling ----------------------------------------------------------------
    def call(self, clause_id: str, method: str, *args: Any, **kwargs: Any) -> Any:
        """``impl.method(*args)``; :class:`Unsupported` skips as not-applicable, anything else raised is an ``error``.

        Floating tensors in the result must have the inputs' dtype and device and finite values
        (else ``error``): a property is never judged on NaN.
        """
        __tracebackhide__ = True
        return self._call(clause_id, method, args, kwargs, finite=True)

    def call_allowing_nan(self, clause_id: str, method: str, *args: Any) -> Any:
        """:meth:`call` for the one case where the paper leaves NaN possible (a query with no key left)."""
        __tracebackhide__ = True
        return self._call(clause_id, method, args, {}, finite=False)

    def _call(self, clause_id: str, method: str, args: tuple[Any, ...], kwargs: dict[str, Any], finite: bool) -> Any:
        __tracebackhide__ = True
        self.last_call = (method, args, kwargs)
        try:
            out = getattr(self.impl, method)(*args, **kwargs)
        except Unsupported as exc:
            reason = f"{self.spec}.{method}: {exc}"
            self.unsupported.setdefault(reason, set()).add(_signature(args, kwargs))
            if currently_in_test_context() and len(self.unsupported[reason]) < SAME_REASON_SKIPS:
                reject()  # another example may have a shape the implementation supports
            pytest.skip(f"not-applicable: {reason}")
        except ParameterMismatch as exc:  # parameters are part of conformance: a scalar LayerNorm gain is a violation
            raise self._violation(clause_id, f"{self.spec}.{method} cannot hold the paper's parameters: {exc}") from exc
        except Exception as exc:
            if isinstance(exc, MemoryError) or "can't allocate memory" in str(exc):
                raise ImplementationError(f"[{clause_id}] {self.spec}.{method} ran out of memory (the worker's "
                                          f"memory cap, --spec-memory-limit, or the machine's): {exc}") from exc
            raise ImplementationError(f"[{clause_id}] {self.spec}.{method} raised {type(exc).__name__}: {exc}") from exc
        for i, leaf in enumerate(_tensor_leaves(out)):
            check_tensor(f"[{clause_id}] {self.spec}.{method} output {i}", leaf, self.target.torch_dtype,
                         self.target.device, finite)
        return out

    def call_deterministic(self, clause_id: str, method: str, *args: Any, **kwargs: Any) -> Any:
        """Call twice with the same inputs; outputs that differ are an ``error`` (non-determinism)."""
        __tracebackhide__ = True
        first = self.call(clause_id, method, *args, **kwargs)
        second = self.call(clause_id, method, *args, **kwargs)
        a, b = _leaves(first), _leaves(second)
        if len(a) != len(b) or not all(np.array_equal(x, y, equal_nan=True) for x, y in zip(a, b)):
            raise ImplementationError(f"[{clause_id}] {self.spec}.{method} is not deterministic: two identical calls differ")
        return first

    def baseline(self, method: str, *args: Any) -> Callable[[], Any]:
        """The same call on plain PyTorch in the target dtype: the error a straightforward computation makes.

        Used only in float16/bfloat16, where the budget is k times this baseline's error
        against the float64 reference (FlashAttention's rule).  The project's own
        implementation (its math path), which the suite checks in float64, is the baseline.
        """
        def compute() -> Any:
            if self._plain is None:
                from transformer_spec.implementations.adapters.ours import TransformerSpec
                self._plain = TransformerSpec(self.target)
            out = getattr(self._plain, method)(*args)
            return out[0] if isinstance(out, tuple) else out
        return compute

    # -- judging ----------------------------------------------------------------
    def assert_close(self, clause_id: str, what: str, actual: Any, desired: np.ndarray, tol: Tolerance | None = None,
                     baseline: Callable[[], Any] | None = None,
                     composite: tuple[str, Callable[[], np.ndarray]] | None = None,
                     lower_tol: Tolerance | None = None) -> None:
        """Shape, dtype, device, finiteness, then values of ``actual`` against the reference ``desired``.

        ``baseline`` computes the same quantity with plain PyTorch in the target dtype; in float16/bfloat16
        the budget is k times its error against the reference (plus a small atol).  ``composite`` is
        (the component under test, the reference's recomputation of ``desired``): on a mismatch the
        message names the offered part whose substitution into the reference reproduces ``actual``.
        ``lower_tol`` is this check's own budget in the next lower precision (default: the table's), within
        which a mismatch is a precision finding.
        """
        __tracebackhide__ = True
        desired = np.asarray(desired, dtype=np.float64)
        array = check_output(clause_id, what, actual, desired.shape, self.target.torch_dtype, self.target.device)
        tol = tol or TOLERANCES[self.target.dtype]
        if self.target.low_precision and baseline is not None:
            m = measure_against_baseline(what, array, desired, as_numpy(baseline()), tol.atol)
        else:
            m = measure(what, array, desired, tol)
        self._keep(clause_id, m)
        if m.ratio > 1.0 and not self._precision_finding(clause_id, what, array, desired, m, lower_tol):
            where = "" if composite is None else "\n" + root_cause(self, parts_of([composite[0]]), array, composite[1])
            raise self._violation(clause_id, describe(m) + where, m.as_dict())

    def _precision_finding(self, clause_id: str, what: str, array: np.ndarray, desired: np.ndarray,
                           m: Measurement, lower_tol: Tolerance | None) -> bool:
        """Whether a mismatch fits the next lower precision's budget: then it is a finding, not a violation."""
        if self.target.dtype not in PRECISION_FINDINGS:
            return False
        lower, tol = PRECISION_FINDINGS[self.target.dtype]
        tol = lower_tol or tol
        if measure(what, array, desired, tol).ratio > 1.0:
            return False
        budget = f"{m.budget}; within {lower}'s atol={tol.atol:.3g} + rtol={tol.rtol:.3g} * |reference|"
        self.findings.append({"clause": clause_id, "dtype": self.target.dtype, **m.as_dict(), "budget": budget})
        return True

    def _violation(self, clause_id: str, message: str, measurement: dict[str, Any] | None = None) -> NonConformance:
        """The exception for a violated clause, remembered (a time-out while shrinking still reports it)."""
        exc = NonConformance(clause_id, message, measurement)
        self.failures.append(str(exc))
        return exc

    def assert_equal(self, clause_id: str, what: str, actual: Any, desired: Any) -> None:
        """Exact equality (token sequences, bit-for-bit invariances)."""
        __tracebackhide__ = True
        a, d = _as_comparable(actual), _as_comparable(desired)
        if a != d:
            raise self._violation(clause_id, f"{what} = {_short(actual)}, but should be {_short(desired)}")

    def require(self, clause_id: str, condition: bool, message: str) -> None:
        """A property of the paper's text that must hold."""
        __tracebackhide__ = True
        if not condition:
            raise self._violation(clause_id, message)

    def last_inputs(self) -> dict[str, np.ndarray]:
        """The arrays of the last call, by argument position and canonical name, for a reproduction bundle."""
        if self.last_call is None:
            return {}
        method, args, kwargs = self.last_call
        found: dict[str, np.ndarray] = {"method": np.array(method)}
        for key, value in [*((f"arg{i}", a) for i, a in enumerate(args)), *kwargs.items()]:
            if isinstance(value, (dict, list, tuple)):
                found.update({f"{key}.{name}": as_numpy(leaf) for name, leaf in flatten(list(value) if isinstance(value, tuple) else value).items()
                              if isinstance(leaf, (torch.Tensor, np.ndarray))})
            elif isinstance(value, (torch.Tensor, np.ndarray)):
                found[key] = as_numpy(value)
            elif isinstance(value, (int, float, str, bool)) or value is None or hasattr(value, "__dataclass_fields__"):
                found[key] = np.array(repr(value))
        return found

    def _keep(self, clause_id: str, m: Measurement) -> None:
        key = f"{clause_id}|{m.what}"
        if key not in self.measurements or m.ratio > self.measurements[key]["ratio"]:
            self.measurements[key] = {"clause": clause_id, "dtype": self.target.dtype, **m.as_dict()}


def _tensor_leaves(value: Any) -> list[Any]:
    """The tensors and arrays in a (nested) result, in order; modules and other objects are not looked into."""
    if isinstance(value, (tuple, list)):
        return [leaf for v in value for leaf in _tensor_leaves(v)]
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in _tensor_leaves(v)]
    return [value] if isinstance(value, (torch.Tensor, np.ndarray)) else []


def _leaves(value: Any) -> list[np.ndarray]:
    if isinstance(value, (tuple, list)):
        return [leaf for v in value for leaf in _leaves(v)]
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in _leaves(v)]
    return [as_numpy(value)] if value is not None else []


def _as_comparable(value: Any) -> Any:
    if isinstance(value, (torch.Tensor, np.ndarray)):
        return as_numpy(value).tolist()
    if isinstance(value, (tuple, list)):
        return [_as_comparable(v) for v in value]
    return value


def _short(value: Any, limit: int = 200) -> str:
    text = repr(_as_comparable(value))
    return text if len(text) <= limit else text[:limit] + "..."
