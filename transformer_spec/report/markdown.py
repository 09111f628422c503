"""A report's verdicts as a Markdown table per implementation: clause, status and why, one line each.

Used for the committed verdict tables of the shipped library adapters (docs/libraries/), and by anyone who
wants a report in a README or a pull request.  Every clause of the registry gets a row, so a table shows what
was not tested as plainly as what was.
"""
from __future__ import annotations

from typing import Any

from transformer_spec.reference.clauses import CLAUSES
from transformer_spec.report.summary import reason


def cell(text: str) -> str:
    """``text`` inside a Markdown table cell: a ``|`` of its own (as in ``|reference|``) escaped."""
    return text.replace("|", "\\|")


def why(entry: dict[str, Any]) -> str:
    """One line: the reason a clause does not apply, or :func:`reason`, then the declared deviations it touches."""
    declared = ", ".join(f"{k}={v!r}" for k, v in entry["deviations"].items())
    if entry["status"] == "not-applicable":
        reasons = dict.fromkeys(r.removeprefix("not-applicable: ") for r in entry["coverage"]["not_applicable"])
        return "; ".join(reasons) or "no spec test selected"
    notes = [reason(entry) or "", f"declared {declared}" if declared else ""]
    return "; ".join(n for n in notes if n)


def verdict_table(report: dict[str, Any], spec: str) -> list[str]:
    """The Markdown lines of implementation ``spec``'s table; the implementation's notes lead their clause's why."""
    entries = {e["id"]: e for e in report["clauses"] if e["implementation"] == spec}
    notes = next(i["notes"] for i in report["implementations"] if i["spec"] == spec)
    lines = ["| clause | status | why |", "|---|---|---|"]
    for clause in CLAUSES:
        entry = entries.get(clause.id)
        status, note = (entry["status"], why(entry)) if entry else ("not-applicable", "no spec test selected")
        if clause.id in notes:
            note = f"**{notes[clause.id]}** {note}"
        lines.append(f"| {clause.id} | {status} | {cell(note)} |")
    return lines
