"""Whether a spec test applies to an implementation, decided before it runs, from the test's markers.

One rule serves the run (a test that does not apply is skipped as ``not-applicable`` with the reason) and
``transformer-spec run --explain`` (which prints the same reasons without running anything):

- ``requires(*components)``: the implementation offers each protocol component;
- ``needs(*capabilities)``: each capability of :data:`CAPABILITIES` holds (gradients, sinusoids);
- ``precise``: a fixed-threshold property, checked in float32/float64 only.

Tests left out before that (``-k``, ``--no-training``, a mutant's ``--focus``) are deselected, never skipped;
``--explain`` names those too.

What only a call can tell (an offered component raising ``Unsupported`` for particular arguments) stays a
run-time decision: :data:`RUN_TIME_RULE` says so.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import pytest

from transformer_spec.harness.target import Target


@dataclass(frozen=True)
class Capability:
    """Something an implementation declares that some tests need beyond its components."""

    holds: Callable[[Any], bool]
    missing: str  # why a test needing it does not apply, after "<impl> "


CAPABILITIES: dict[str, Capability] = {
    "gradients": Capability(lambda impl: bool(getattr(impl, "differentiable", False)),
                            "does not declare differentiable = True (results connected to autograd)"),
    "sinusoids": Capability(
        lambda impl: getattr(impl, "deviations", {}).get("positional_encoding_kind", "sinusoidal") != "learned",
        "declares positional_encoding_kind='learned': its positions are a learned table (checked with the "
        "stacks), not §3.5's sinusoids"),
}
"""Capability name (the argument of the ``needs`` marker) -> how to tell and what to say."""

RUN_TIME_RULE = ("a call that raises Unsupported (arguments the implementation cannot express) makes that "
                 "test not-applicable at run time")


def clauses_of(item: pytest.Item) -> list[str]:
    return [m.args[0] for m in item.iter_markers("clause")]


def components_of(item: pytest.Item) -> list[str]:
    return [c for m in item.iter_markers("requires") for c in m.args]


def needs_of(item: pytest.Item) -> list[str]:
    return [c for m in item.iter_markers("needs") for c in m.args]


def not_applicable(item: pytest.Item, spec: str, impl: Any, target: Target) -> str | None:
    """Why ``item`` does not apply to implementation ``impl`` (``--impl spec``) at ``target``; None if it does."""
    if item.get_closest_marker("precise") and target.low_precision:
        return f"a fixed-threshold property, checked in float32/float64, not {target.dtype}"
    missing = [c for c in components_of(item) if c not in impl.offers]
    if missing:
        return f"{spec} does not offer {', '.join(missing)}"
    for name in needs_of(item):
        if not CAPABILITIES[name].holds(impl):
            return f"{spec} {CAPABILITIES[name].missing}"
    return None
