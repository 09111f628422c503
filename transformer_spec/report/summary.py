"""The short clause x implementation table printed at the end of a run."""
from __future__ import annotations

from pathlib import Path
from typing import Any

SHORT = {"conforms": "ok", "deviates": "deviates", "fails": "FAILS", "error": "ERROR", "not-applicable": "-"}


def summary_lines(report: dict[str, Any], directory: Path) -> list[str]:
    """Clauses that ran for some implementation, one column per implementation, then verdicts and paths."""
    specs = [i["spec"] for i in report["implementations"]]
    status = {(e["id"], e["implementation"]): e["status"] for e in report["clauses"]}
    ids = list(dict.fromkeys(e["id"] for e in report["clauses"] if e["status"] != "not-applicable"))
    width = max([len("clause"), *(len(i) for i in ids)])
    columns = [max(len(s), 8) for s in specs]
    line = lambda first, cells: "  ".join([first.ljust(width), *(c.ljust(w) for c, w in zip(cells, columns))]).rstrip()
    lines = [line("clause", specs), line("-" * width, ["-" * w for w in columns])]
    lines += [line(i, [SHORT[status[(i, s)]] for s in specs]) for i in ids]
    skipped = len({e["id"] for e in report["clauses"]}) - len(ids)
    if skipped:
        lines.append(f"({skipped} clause(s) not applicable or not selected for every implementation: '-')")
    lines += [f"{i['spec']}: {i['verdict']}" for i in report["implementations"]]
    if not report["complete"]:
        lines.append("the run did not finish: the report holds the tests that did")
    lines.append(f"reports: {directory / 'report.json'}, {directory / 'report.html'}, {directory / 'junit.xml'}"
                 + (f", {directory / 'repro'}/" if any(e["status"] in ("fails", "error") for e in report["clauses"]) else ""))
    return lines
