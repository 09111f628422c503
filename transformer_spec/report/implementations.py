"""What an implementation is, as the reports and ``transformer-spec implementations`` show it."""
from __future__ import annotations

from typing import Any

from transformer_spec.implementations.protocol import Implementation, declared_notes
from transformer_spec.reference.errors import SpecUsageError
from transformer_spec.harness.loading import load, resolved_target
from transformer_spec.harness.target import Target


def describe(spec: str, impl: Implementation) -> dict[str, Any]:
    """Spec, how it was selected (the resolved ``module:attr``), name, version, deviations, offers and notes."""
    return {"spec": spec, "selected_as": resolved_target(spec), "name": str(impl.name), "version": str(impl.version),
            "deviations": {k: impl.deviations[k] for k in sorted(impl.deviations)}, "offers": sorted(impl.offers),
            "notes": dict(declared_notes(impl))}


def describe_spec(spec: str, target: Target) -> dict[str, Any]:
    """:func:`describe` after loading ``spec`` on ``target``; one that fails to load carries ``load_error``."""
    try:
        return {**describe(spec, load(spec, target)), "load_error": None}
    except SpecUsageError as exc:
        try:
            selected = resolved_target(spec)
        except SpecUsageError:
            selected = None
        return {"spec": spec, "selected_as": selected, "name": None, "version": None, "deviations": {}, "offers": [],
                "notes": {}, "load_error": str(exc)}
