"""Which failures a failing part explains: composites are ``blocked by`` the clauses of their parts.

A test exercises the components of its ``requires`` marker.  A composite component is built from
parts (``harness.composition.PARTS``, the paper's Figure 1): an implementation whose attention
fails its own tests will fail every layer, stack and model test too, and those failures say
nothing new.  A failing
test is *blocked* when a failing test of the same implementation exercises only components that
are strict parts of its own; the report then names the parts' clauses as the root cause instead
of counting the composite as a second failure.  Only offered components are ever blamed: a part
that is not offered has no test, so it cannot block anything.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Sequence

from transformer_spec.harness.composition import parts_of
from transformer_spec.report.results import TestResult

BROKEN = ("failed", "error")


def mark_blocked(tests: Sequence[TestResult]) -> None:
    """Set ``blocked_by`` (the clauses of failing parts) on every failing test of one implementation."""
    broken = [t for t in tests if t.outcome in BROKEN and t.components]
    for t in tests:
        parts = parts_of(t.components) if t.outcome in BROKEN else set()
        t.blocked_by = sorted({c for u in broken if u is not t and set(u.components) <= parts for c in u.clauses})


def seen_from(test: TestResult, clause_id: str) -> TestResult:
    """``test`` as it counts for ``clause_id``: a test of several clauses that broke on another of them is
    blocked by that clause here (its checks of ``clause_id`` never got their turn)."""
    if test.outcome not in BROKEN or test.blocked_by or not test.violated or clause_id in test.violated:
        return test
    return dataclasses.replace(test, blocked_by=sorted(set(test.violated)))


def root_cause(status: str, tests: Sequence[TestResult]) -> dict[str, Any] | None:
    """For a blocked or failing composite clause, the clauses of its failing parts, with a one-line note."""
    blockers = sorted({c for t in tests for c in t.blocked_by})
    if status == "blocked":
        return {"blocked_by": blockers,
                "note": f"blocked by {', '.join(blockers)}: its failing tests break there first (a part they are "
                        "built from, or another clause the same test checks), so they say nothing new about this one"}
    if status in ("fails", "error") and any(parts_of(t.components) for t in tests if t.outcome in BROKEN):
        return {"blocked_by": [], "note": "every part it is built from that was tested on its own agrees with the "
                                          "reference: the fault is in how the parts are put together, or in a part "
                                          "not offered on its own"}
    return None
