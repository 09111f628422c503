"""The reference's own checks pass on the reference and fail on every deliberately broken variant.

A check that cannot tell a broken function from the real one proves nothing;
here each check runs on both.  Every public function of ``reference/`` must
have checks and at least one broken variant that they catch.
"""
from __future__ import annotations

from typing import Any, Callable

import pytest

from broken import BROKEN
from registry import CHECKS, public_functions, real

VARIANTS = [(name, label, fn) for name, variants in BROKEN.items() for label, fn in variants]


def _failures(fn: Callable[..., Any], checks: list) -> list[str]:
    """Messages of the checks that fail on ``fn`` (only AssertionError counts as failing)."""
    failed = []
    for check in checks:
        try:
            check(fn)
        except AssertionError as err:
            failed.append(str(err).splitlines()[0])
    return failed


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_reference_passes_its_checks(name: str) -> None:
    for check in CHECKS[name]:
        check(real(name))


@pytest.mark.parametrize("name, label, fn", VARIANTS, ids=[f"{n}: {lbl}" for n, lbl, _ in VARIANTS])
def test_broken_variant_is_caught(name: str, label: str, fn: Callable[..., Any]) -> None:
    failed = _failures(fn, CHECKS[name])
    assert failed, f"broken variant of reference.{name} ({label}) passes all {len(CHECKS[name])} of its checks"


def test_every_public_function_has_checks_and_a_broken_variant() -> None:
    functions = set(public_functions())
    no_checks, no_variant = sorted(functions - set(CHECKS)), sorted(functions - set(BROKEN))
    assert not no_checks, f"reference functions without checks in tests/reference/registry.py: {no_checks}"
    assert not no_variant, f"reference functions without a broken variant in tests/reference/broken*.py: {no_variant}"
    stale = sorted((set(CHECKS) | set(BROKEN)) - functions)
    assert not stale, f"checks or broken variants name functions that reference/ no longer has: {stale}"
