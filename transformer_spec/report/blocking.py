"""Which failures a failing part explains: composites are ``blocked by`` the clauses of their parts.

A test exercises the components of its ``requires`` marker.  A composite component is built from
parts (:data:`PARTS`, the paper's Figure 1): an implementation whose attention fails its own tests
will fail every layer, stack and model test too, and those failures say nothing new.  A failing
test is *blocked* when a failing test of the same implementation exercises only components that
are strict parts of its own; the report then names the parts' clauses as the root cause instead
of counting the composite as a second failure.  Only offered components are ever blamed: a part
that is not offered has no test, so it cannot block anything.
"""
from __future__ import annotations

from typing import Any, Iterable, Sequence

from transformer_spec.report.results import TestResult

PARTS: dict[str, tuple[str, ...]] = {
    "multi_head_attention": ("attention", "heads"),
    "sublayer_connection": ("layer_norm",),
    "encoder_layer": ("multi_head_attention", "ffn", "sublayer_connection"),
    "decoder_layer": ("multi_head_attention", "ffn", "sublayer_connection"),
    "encoder": ("encoder_layer", "embedding", "positional_encoding"),
    "decoder": ("decoder_layer", "embedding", "positional_encoding"),
    "model": ("encoder", "decoder", "output_logits"),
    "greedy_decode": ("model",),
    "beam_search": ("model",),
    "train_steps": ("model", "loss", "learning_rate", "adam_step"),
}
"""Composite protocol component -> the components it is built from."""

BROKEN = ("failed", "error")


def parts_of(components: Iterable[str]) -> set[str]:
    """Every component the given ones are built from, transitively, themselves excluded."""
    found: set[str] = set()
    todo = [p for c in components for p in PARTS.get(c, ())]
    while todo:
        part = todo.pop()
        if part not in found:
            found.add(part)
            todo.extend(PARTS.get(part, ()))
    return found - set(components)


def mark_blocked(tests: Sequence[TestResult]) -> None:
    """Set ``blocked_by`` (the clauses of failing parts) on every failing test of one implementation."""
    broken = [t for t in tests if t.outcome in BROKEN and t.components]
    for t in tests:
        parts = parts_of(t.components) if t.outcome in BROKEN else set()
        t.blocked_by = sorted({c for u in broken if u is not t and set(u.components) <= parts for c in u.clauses})


def root_cause(status: str, tests: Sequence[TestResult]) -> dict[str, Any] | None:
    """For a blocked or failing composite clause, the clauses of its failing parts, with a one-line note."""
    blockers = sorted({c for t in tests for c in t.blocked_by})
    if status == "blocked":
        return {"blocked_by": blockers,
                "note": f"blocked by {', '.join(blockers)}: a part it is built from fails on its own, "
                        "so its own failure says nothing new"}
    if status in ("fails", "error") and any(parts_of(t.components) for t in tests if t.outcome in BROKEN):
        return {"blocked_by": [], "note": "every part it is built from that was tested on its own agrees with the "
                                          "reference: the fault is in how the parts are put together, or in a part "
                                          "not offered on its own"}
    return None
