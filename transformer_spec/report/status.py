"""The status of a clause for one implementation, and an implementation's verdict.

From every test of the clause on the implementation, in this order:
no test, or every test skipped (not offered, Unsupported)        -> ``not-applicable``;
an error that no failing part explains (crash, NaN, time-out)     -> ``error``;
a violation that no failing part explains                         -> ``fails``;
a selected test that never finished (worker lost, run stopped)    -> ``not-run``;
only failures of composites whose parts already fail              -> ``blocked`` (by those parts' clauses);
values within the next lower precision's budget, not the dtype's  -> ``imprecise`` (a precision finding);
some tests ran and passed, others were not applicable             -> ``partial``;
a declared deviation of a field the clause is ``governed_by``     -> ``deviates``;
otherwise                                                         -> ``conforms``.
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence

from transformer_spec.reference.clauses import Clause
from transformer_spec.report.results import TestResult

STATUSES = ("conforms", "deviates", "partial", "imprecise", "blocked", "fails", "error", "not-run", "not-applicable")
FAILING = ("fails", "error", "not-run")
"""Statuses that make an implementation (and the run) fail: a violation, an error, or a test that never ran."""
PASSING = ("conforms", "deviates", "partial", "imprecise")


def clause_status(clause: Clause, tests: Sequence[TestResult], deviations: Mapping[str, Any]) -> str:
    """The status of ``clause`` from its ``tests`` on an implementation declaring ``deviations``."""
    outcomes = {t.outcome for t in tests}
    if outcomes <= {"skipped"}:
        return "not-applicable"
    unexplained = {t.outcome for t in tests if t.outcome in ("failed", "error") and not t.blocked_by}
    if "error" in unexplained:
        return "error"
    if "failed" in unexplained:
        return "fails"
    if "not-run" in outcomes:
        return "not-run"
    if outcomes & {"failed", "error"}:
        return "blocked"
    if any(t.findings for t in tests):
        return "imprecise"
    if "skipped" in outcomes:
        return "partial"
    return "deviates" if deviations_touching(clause, deviations) else "conforms"


def coverage(tests: Sequence[TestResult]) -> dict[str, Any]:
    """How many of a clause's tests ran, and why the others did not (their skip reasons, once each)."""
    skipped = [t for t in tests if t.outcome == "skipped"]
    return {"ran": len(tests) - len(skipped), "total": len(tests),
            "not_applicable": sorted({t.message or "skipped" for t in skipped})}


def deviations_touching(clause: Clause, deviations: Mapping[str, Any]) -> dict[str, Any]:
    """The declared deviations of fields that govern ``clause``."""
    return {k: deviations[k] for k in sorted(deviations) if k in clause.governed_by}


def verdict(statuses: Iterable[str]) -> str:
    """One line per implementation from its clause statuses."""
    counts = summary(statuses)
    if counts["fails"] or counts["error"] or counts["not-run"]:
        parts = [f"{counts['fails']} failing", f"{counts['error']} in error"]
        parts += [f"{counts[s]} {s}" for s in ("blocked", "not-run") if counts[s]]
        return f"does not conform ({', '.join(parts)})"
    if not any(counts[s] for s in PASSING):
        return "nothing applicable was tested"
    notes = [f"{counts[s]} {label}" for s, label in (("deviates", "with declared deviations"),
                                                     ("imprecise", "with precision findings"),
                                                     ("partial", "partially tested")) if counts[s]]
    return f"conforms ({'; '.join(notes)})" if notes else "conforms"


def summary(statuses: Iterable[str]) -> dict[str, int]:
    """Counts per status, every status present."""
    counts = {s: 0 for s in STATUSES}
    for s in statuses:
        counts[s] += 1
    return counts
