"""``transformer-spec run --explain`` runs nothing and agrees with a real run on which clauses apply."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

from report_support import ROOT, SELECTION, impl_args

CLAUSE_LINE = re.compile(r"^(?P<clause>\S+): (?P<runs>\d+) of (?P<total>\d+) tests run")


def _explain(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "transformer_spec", "run", *args, "--explain"], cwd=cwd,
                          capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)})


def _runs_per_clause(out: str) -> dict[tuple[str, str], int]:
    """(implementation, clause) -> how many tests the explanation says will run."""
    found, impl = {}, None
    for line in out.splitlines():
        if line and not line.startswith(" ") and " on cpu/" in line:
            impl = line.split(" (")[0]
        elif match := CLAUSE_LINE.match(line):
            found[impl, match["clause"]] = int(match["runs"])
    return found


def test_explain_agrees_with_the_run_on_what_applies(cli_run: dict[str, Any],
                                                     load_report: Callable[[Path], dict[str, Any]]) -> None:
    done = _explain("-k", SELECTION, *impl_args())
    assert done.returncode == 0, done.stderr
    explained = _runs_per_clause(done.stdout)
    report = load_report(cli_run["dir"])
    statuses = {(e["implementation"], e["id"]): e["status"] for e in report["clauses"]}
    assert statuses, "the run reported no clause"
    for key, status in statuses.items():
        assert (status == "not-applicable") == (explained[key] == 0), \
            f"{key}: the run says {status}, --explain says {explained[key]} tests run"


def test_explain_names_why_a_test_does_not_run_and_writes_nothing(tmp_path: Path) -> None:
    done = _explain("--impl", "torch-mha", "--report-dir", str(tmp_path / "reports"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "3.2.2/multi-head: 2 of 2 tests run - judged against the declared fully_masked='nan'" not in lines
    assert "3.2.2/multi-head: 2 of 2 tests run" in lines, done.stdout
    assert any("test_attention_matches_reference" in line and "skips: torch-mha does not offer attention" in line
               for line in lines), done.stdout
    assert any("test_multi_head_attention_gradients_match_reference" in line
               and "runs (needs multi_head_attention, gradients)" in line for line in lines), done.stdout
    assert not (tmp_path / "reports").exists(), "--explain wrote a report folder"
