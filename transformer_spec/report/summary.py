"""The short clause x implementation table printed at the end of a run, and one line per clause that needs a word."""
from __future__ import annotations

from pathlib import Path
from typing import Any

SHORT = {"conforms": "ok", "deviates": "deviates", "partial": "partial", "imprecise": "imprecise", "blocked": "blocked",
         "fails": "FAILS", "error": "ERROR", "not-run": "NOT RUN", "not-applicable": "-"}


def reason(entry: dict[str, Any]) -> str | None:
    """Why a clause entry is not a plain ``ok``: its first failure, its blocker, its coverage or its finding."""
    status, tests = entry["status"], entry["tests"]
    if status in ("fails", "error", "not-run"):
        first = next(t for t in tests if t["outcome"] in ("failed", "error", "not-run") and not t["blocked_by"])
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
    lines += [f"{e['id']} on {e['implementation']}: {SHORT[e['status']]}: {why}" for e, why in notes if why]
    lines += [f"{i['spec']}: {i['verdict']}" for i in report["implementations"]]
    if not report["complete"]:
        lines.append("the run did not finish: tests that never ran are counted as not run")
    lines.append(f"reports: {directory / 'report.json'}, {directory / 'report.html'}, {directory / 'junit.xml'}"
                 + (f", {directory / 'repro'}/" if any(e["status"] in ("fails", "error") for e in report["clauses"]) else ""))
    return lines
