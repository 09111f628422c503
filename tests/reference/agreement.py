"""Comparison of a function under test with the naive form, with the largest error seen so far.

``MAX_ERRORS[equation]`` keeps the largest absolute and relative difference that
passed through :func:`assert_agrees` in this process (``measure_errors.py``
prints them).
"""
from __future__ import annotations

import numpy as np

TOLERANCE = 1e-12
MAX_ERRORS: dict[str, tuple[float, float]] = {}


def _record(equation: str, abs_err: float, rel_err: float) -> None:
    equation = equation.split(" (")[0].split(" at ")[0]  # one row per equation, not per parameter
    old_abs, old_rel = MAX_ERRORS.get(equation, (0.0, 0.0))
    MAX_ERRORS[equation] = (max(old_abs, abs_err), max(old_rel, rel_err))


def assert_agrees(equation: str, got: object, want: object, tol: float = TOLERANCE) -> None:
    """Raise AssertionError unless ``got`` (function under test) equals ``want`` (naive) to ``tol``.

    The allowed difference at each entry is ``tol * max(1, |want|)``; NaN must
    meet NaN.  The message names the equation, the worst entry and both values.
    """
    got_a, want_a = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    if got_a.shape != want_a.shape:
        raise AssertionError(f"{equation}: function under test gives shape {got_a.shape}, "
                             f"naive form gives {want_a.shape}")
    nan_got, nan_want = np.isnan(got_a), np.isnan(want_a)
    if (nan_got != nan_want).any():
        where = tuple(int(i) for i in np.argwhere(nan_got != nan_want)[0])
        raise AssertionError(f"{equation}: NaN at {where} in only one of function under test "
                             f"({got_a[where]}) and naive form ({want_a[where]})")
    diff = np.where(nan_want, 0.0, np.abs(got_a - want_a))
    magnitude = np.where(nan_want, 1.0, np.abs(want_a))
    scaled = diff / np.maximum(1.0, magnitude)
    if diff.size == 0:
        return
    worst = np.unravel_index(int(np.argmax(scaled)), scaled.shape)
    if scaled[worst] > tol:
        raise AssertionError(f"naive {equation} differs from the function under test by {diff[worst]:.3g} at "
                             f"{tuple(int(i) for i in worst)} (naive {want_a[worst]!r}, got {got_a[worst]!r}; "
                             f"allowed {tol:g} x max(1, |value|))")
    big = magnitude > 1e-8  # relative error is only meaningful away from zero
    _record(equation, float(diff.max()), float((diff[big] / magnitude[big]).max()) if big.any() else 0.0)


def _plain(x: object) -> object:
    return x.tolist() if isinstance(x, np.ndarray) else x


def assert_equal(what: str, got: object, want: object) -> None:
    """Exact equality of non-float results (masks, token sequences, names, shapes)."""
    if isinstance(want, (list, tuple)):
        equal = list(map(_plain, got)) == list(map(_plain, want)) if isinstance(got, (list, tuple)) else False
    else:
        got_a, want_a = np.asarray(got), np.asarray(want)
        equal = got_a.shape == want_a.shape and np.array_equal(got_a, want_a)
    if not equal:
        raise AssertionError(f"{what}: function under test gives {got!r} but the naive form gives {want!r}")
