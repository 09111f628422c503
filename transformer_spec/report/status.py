"""The status of a clause for one implementation, and an implementation's verdict.

From every test of the clause on the implementation:
no test, or every test skipped (not offered)  -> ``not-applicable``;
any error (a crash, NaN, time-out, a crashed worker, a failed setup) -> ``error``;
any violated clause -> ``fails``;
otherwise, a declared deviation of a field the clause is ``governed_by`` -> ``deviates``;
otherwise ``conforms``.
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence

from reference.clauses import Clause
from transformer_spec.report.results import TestResult

STATUSES = ("conforms", "deviates", "fails", "error", "not-applicable")
FAILING = ("fails", "error")


def clause_status(clause: Clause, tests: Sequence[TestResult], deviations: Mapping[str, Any]) -> str:
    """The status of ``clause`` from its ``tests`` on an implementation declaring ``deviations``."""
    outcomes = {t.outcome for t in tests}
    if outcomes <= {"skipped"}:
        return "not-applicable"
    if "error" in outcomes:
        return "error"
    if "failed" in outcomes:
        return "fails"
    return "deviates" if deviations_touching(clause, deviations) else "conforms"


def deviations_touching(clause: Clause, deviations: Mapping[str, Any]) -> dict[str, Any]:
    """The declared deviations of fields that govern ``clause``."""
    return {k: deviations[k] for k in sorted(deviations) if k in clause.governed_by}


def verdict(statuses: Iterable[str]) -> str:
    """One line per implementation from its clause statuses."""
    counts = summary(statuses)
    if counts["fails"] or counts["error"]:
        return f"does not conform ({counts['fails']} failing, {counts['error']} in error)"
    if not counts["conforms"] and not counts["deviates"]:
        return "nothing applicable was tested"
    if counts["deviates"]:
        return f"conforms, with declared deviations on {counts['deviates']} clause(s)"
    return "conforms"


def summary(statuses: Iterable[str]) -> dict[str, int]:
    """Counts per status, every status present."""
    counts = {s: 0 for s in STATUSES}
    for s in statuses:
        counts[s] += 1
    return counts
