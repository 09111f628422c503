"""Building the report.json document (schema ``schema/report.schema.json``) from the collected results.

Everything is sorted deterministically (clauses in registry order, implementations in ``--impl`` order,
tests and measurements by name); timings live only in the ``run`` section, so two runs of the same
selection differ only there, whatever the number of xdist workers.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

from transformer_spec.reference.clauses import CLAUSES, Clause
from transformer_spec.report.blocking import mark_blocked, root_cause, seen_from
from transformer_spec.report.results import TestResult
from transformer_spec.report.status import FAILING, clause_status, coverage, deviations_touching, summary, verdict

SCHEMA_VERSION = "1.0"


def _number(x: Any) -> float | str | None:
    """A JSON-safe number: non-finite values as their string (``"inf"``)."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else str(x)


def measurement_entry(m: dict[str, Any]) -> dict[str, Any]:
    """One measured comparison: errors, budget and margin = 1 - error/allowed."""
    ratio = float(m.get("ratio", math.nan))
    return {"what": str(m.get("what")), "dtype": m.get("dtype"), "max_abs": _number(m.get("max_abs")),
            "max_rel": _number(m.get("max_rel")), "ratio": _number(ratio), "budget": m.get("budget"),
            "margin": _number(1.0 - ratio), "mismatched": m.get("mismatched"), "total": m.get("total"),
            "where": list(m.get("where") or [])}


def test_entry(result: TestResult, clause_id: str) -> dict[str, Any]:
    """A test as seen from one of its clauses (only that clause's measurements)."""
    measured = [measurement_entry(m) for _, m in sorted(result.measurements.items()) if m.get("clause") == clause_id]
    margins = [m["margin"] for m in measured if isinstance(m["margin"], float)]
    findings = [measurement_entry(m) for m in result.findings if m.get("clause") == clause_id]
    return {"nodeid": result.nodeid, "outcome": result.outcome, "blocked_by": result.blocked_by, "findings": findings,
            "message": result.message, "measurements": measured, "margin": min(margins, default=None),
            "counterexample": result.counterexample, "reproduce_blob": result.reproduce_blob, "seed": result.seed,
            "reproduce": result.reproduce}


def _clause_entry(clause: Clause, impl: dict[str, Any], tests: list[TestResult]) -> dict[str, Any]:
    entries = [test_entry(t, clause.id) for t in tests]
    margins = [e["margin"] for e in entries if e["margin"] is not None]
    status = clause_status(clause, tests, impl["deviations"])
    return {"id": clause.id, "section": clause.section, "title": clause.title, "kind": clause.kind,
            "statement": clause.statement, "implementation": impl["spec"], "status": status,
            "deviations": deviations_touching(clause, impl["deviations"]), "margin": min(margins, default=None),
            "coverage": coverage(tests), "fault_localisation": root_cause(status, tests), "tests": entries}


def clause_entries(results: Sequence[TestResult], implementations: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per clause and implementation from the finished tests.

    A test without an implementation (one the suite runs once, or a crash that names none) counts for every one.
    """
    ordered = sorted((r for r in results if r.finished), key=lambda r: r.nodeid)
    for impl in implementations:
        mark_blocked([r for r in ordered if r.impl == impl["spec"]])
    return [_clause_entry(clause, impl, [seen_from(r, clause.id) for r in ordered
                                         if clause.id in r.clauses and r.impl in (impl["spec"], None)])
            for clause in CLAUSES for impl in implementations]


def build_report(results: Sequence[TestResult], implementations: Sequence[dict[str, Any]],
                 environment: dict[str, Any], run: dict[str, Any], complete: bool,
                 training: dict[str, Any] | None = None,
                 kill_matrix: dict[str, dict[str, str]] | None = None) -> dict[str, Any]:
    """The whole report.json document."""
    clauses = clause_entries(results, implementations)
    impls = []
    for impl in implementations:
        statuses = [e["status"] for e in clauses if e["implementation"] == impl["spec"]]
        impls.append({**impl, "verdict": verdict(statuses), "summary": summary(statuses)})
    return {"schema_version": SCHEMA_VERSION, "complete": complete, "implementations": impls,
            "environment": environment, "summary": summary(e["status"] for e in clauses),
            "clauses": clauses, "training": training, "kill_matrix": kill_matrix, "run": run}


def failing_entries(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The clause entries that fail or are in error."""
    return [e for e in report["clauses"] if e["status"] in FAILING]
