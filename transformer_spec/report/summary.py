"""The short clause x implementation table printed at the end of a run, and a word on each clause that needs one.

A failing clause gets a block: its first failure's message (first line) and the command that reruns that test;
the full messages, counterexamples and inputs stay in report.json, report.html and repro/.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from transformer_spec.harness.paths import safe_name
from transformer_spec.report.repro import rerun_command
from transformer_spec.report.status import FAILING

HEADING = "transformer-spec conformance"
"""The title of the table's section in a run's output."""
SHORT = {"conforms": "ok", "deviates": "deviates", "partial": "partial", "imprecise": "imprecise", "blocked": "blocked",
         "fails": "FAILS", "error": "ERROR", "not-run": "NOT RUN", "not-applicable": "-"}


def first_failure(entry: dict[str, Any]) -> dict[str, Any]:
    """The first test of a failing clause entry whose failure no failing part explains."""
    return next(t for t in entry["tests"] if t["outcome"] in ("failed", "error", "not-run") and not t["blocked_by"])


def reason(entry: dict[str, Any]) -> str | None:
    """Why a clause entry is not a plain ``ok``: its first failure, its blocker, its coverage or its finding."""
    status, tests = entry["status"], entry["tests"]
    if status in FAILING:
        first = first_failure(entry)
        return (first["message"] or first["outcome"]).split("\nclause:")[0].splitlines()[0]
    if status == "blocked":
        return entry["fault_localisation"]["note"]
    if status == "partial":
        cov = entry["coverage"]
        return f"{cov['ran']} of {cov['total']} tests ran; " + "; ".join(cov["not_applicable"])
    if status == "imprecise":
        worst = max((f for t in tests for f in t["findings"]), key=lambda f: float(f["max_abs"]))
        return f"precision finding: {worst['what']} off by {float(worst['max_abs']):.3g} ({worst['budget']})"
    return None


def failure_block(entry: dict[str, Any], environment: dict[str, Any], directory: Path) -> list[str]:
    """A failing clause: its status, its first failure (without the exception's module path) and how to rerun it."""
    impl, failing = entry["implementation"], [t for t in entry["tests"] if t["outcome"] in ("failed", "error")]
    lines = [f"{entry['id']} on {impl}: {SHORT[entry['status']]}",
             "  " + re.sub(r"^(?:\w+\.)+(?=\w+: )", "", str(reason(entry))),
             f"  rerun: {rerun_command(first_failure(entry), impl, environment)}"]
    if len(failing) > 1:
        script = directory / "repro" / safe_name(entry["id"]) / safe_name(impl) / "rerun.sh"
        lines.append(f"  all {len(failing)} failing tests: {script}")
    return lines


def summary_lines(report: dict[str, Any], directory: Path) -> list[str]:
    """Clauses that ran for some implementation, one column per implementation, then reasons, verdicts and paths."""
    specs = [i["spec"] for i in report["implementations"]]
    status = {(e["id"], e["implementation"]): e["status"] for e in report["clauses"]}
    ids = list(dict.fromkeys(e["id"] for e in report["clauses"] if e["status"] != "not-applicable"))
    width = max([len("clause"), *(len(i) for i in ids)])
    columns = [max(len(s), 9) for s in specs]
    line = lambda first, cells: "  ".join([first.ljust(width), *(c.ljust(w) for c, w in zip(cells, columns))]).rstrip()
    lines = [line("clause", specs), line("-" * width, ["-" * w for w in columns])]
    lines += [line(i, [SHORT[status[(i, s)]] for s in specs]) for i in ids]
    skipped = len({e["id"] for e in report["clauses"]}) - len(ids)
    if skipped:
        lines.append(f"({skipped} clause(s) not applicable or not selected for every implementation: '-')")
    notes = [(e, reason(e)) for e in report["clauses"] if e["status"] not in ("conforms", "deviates", "not-applicable")]
    known = {i["spec"]: i.get("notes", {}) for i in report["implementations"]}  # what each adapter's author says
    for entry, why in notes:
        if entry["status"] in FAILING:
            lines += failure_block(entry, report["environment"], directory)
        elif why:
            lines.append(f"{entry['id']} on {entry['implementation']}: {SHORT[entry['status']]}: {why}")
        if entry["id"] in known.get(entry["implementation"], {}):
            lines.append(f"  the adapter's note: {known[entry['implementation']][entry['id']]}")
    lines += [f"{i['spec']}: {i['verdict']}" for i in report["implementations"]]
    if not report["complete"]:
        lines.append("the run did not finish: tests that never ran are counted as not run")
    lines.append(f"reports: {directory / 'report.json'}, {directory / 'report.html'}, {directory / 'junit.xml'}"
                 + (f", {directory / 'repro'}/" if any(e["status"] in ("fails", "error") for e in report["clauses"]) else ""))
    return lines
