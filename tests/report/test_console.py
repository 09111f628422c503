"""What ``transformer-spec run`` prints: a line per finished test, the training test's steps, the table, and one
block per failing clause (its first message and a rerun command), never pytest's or xdist's own output.

Real runs of the real CLI (the shared failing run of conftest.py, a passing one, a ``--verbose`` one) and of the
progress plugin under real pytest-xdist workers.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

import pytest

from report_support import ROOT
from transformer_spec.report.status import FAILING
from transformer_spec.report.summary import HEADING, SHORT

COUNTER = re.compile(r"^\[ *(\d+)/(\d+)\] (ok|FAILS|ERROR|skipped) +\S", re.M)
PYTEST_NOISE = re.compile(r"bringing up nodes|Traceback|^E {3}|^_{3,} |^={3,} (FAILURES|short test summary)", re.M)


def _cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "transformer_spec", "run", *args, "--report-dir", str(tmp_path / "r")],
                          cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})


def _counters(out: str, report: dict[str, Any]) -> None:
    """One counter line per selected test, counting 1..N."""
    found = [(int(done), int(total)) for done, total, _ in COUNTER.findall(out)]
    selected = report["run"]["selected_tests"]
    assert found == [(i, selected) for i in range(1, selected + 1)], out


def test_a_failing_run_prints_one_block_per_failing_clause(cli_run: dict[str, Any],
                                                          load_report: Callable[[Path], dict[str, Any]]) -> None:
    out, report = cli_run["out"], load_report(cli_run["dir"])
    assert cli_run["code"] == 1, out[-3000:]
    assert not PYTEST_NOISE.search(out), out
    _counters(out, report)
    lines = out.splitlines()
    failing = [e for e in report["clauses"] if e["status"] in FAILING]
    assert {e["status"] for e in failing} == {"fails", "error"}
    for entry in failing:
        head = f"{entry['id']} on {entry['implementation']}: {SHORT[entry['status']]}"
        assert lines.count(head) == 1, out
        message, rerun = lines[lines.index(head) + 1:lines.index(head) + 3]
        assert message.startswith("  ") and f"[{entry['id']}]" in message, out
        assert rerun.startswith("  rerun: ") and " -m pytest " in rerun and entry["implementation"] in rerun, out
    blocks = [line for line in lines if re.fullmatch(r"\S.* on .*: (FAILS|ERROR|NOT RUN)", line)]
    assert len(blocks) == len(failing), out


def test_a_passing_run_prints_its_progress_then_the_table(tmp_path: Path) -> None:
    done = _cli(tmp_path, "--impl", "reference", "-k", "test_attention", "--no-training", "-n", "2")
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert not PYTEST_NOISE.search(out), out
    _counters(out, json.loads((tmp_path / "r" / "report.json").read_text(encoding="utf-8")))
    assert {word for _, _, word in COUNTER.findall(out)} <= {"ok", "skipped"}, out
    assert out.count(HEADING) == 1 and re.search(r"^3\.2\.1/scaling +ok$", out.split(HEADING)[1], re.M), out


def test_verbose_gives_pytest_its_own_output_back(tmp_path: Path) -> None:
    done = _cli(tmp_path, "--impl", "tests/report/impls.py:WrongScale", "-k", "scores_are_scaled_by", "-n", "0", "-v")
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert re.search(r"^E {3}", out, re.M) and "short test summary" in out, out
    assert not COUNTER.search(out) and out.count(HEADING) == 1, out


def _with_progress(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """pytest with the plugins of ``transformer-spec run`` and its terminal output off, as the run has them."""
    return subprocess.run([sys.executable, "-m", "pytest", *args, "-p", "transformer_spec.pytest_plugin",
                           "-p", "transformer_spec.report.plugin", "-p", "transformer_spec.report.progress",
                           "-p", "no:terminal", "-p", "no:cacheprovider", "--impl", "reference",
                           "--report-dir", str(tmp_path / "r")], cwd=ROOT, capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("workers", ["0", "1"])
def test_a_test_s_progress_lines_reach_the_console(tmp_path: Path, workers: str) -> None:
    """As the training test's steps do: from an xdist worker, or from inside pytest's output capture."""
    done = _with_progress(tmp_path, "tests/report/progress_probe.py", "-n", workers)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines() == [
        "      6/end-to-end-translation on reference: training step 1/2",
        "      6/end-to-end-translation on reference: training step 2/2",
        "[1/1] ok       6/end-to-end-translation      test_sends_progress_lines[reference]"], done.stdout + done.stderr


def test_a_file_that_does_not_import_is_named_with_its_error(tmp_path: Path) -> None:
    broken = tmp_path / "test_broken.py"
    broken.write_text("import pytest\n1 / 0\n", encoding="utf-8")
    done = _with_progress(tmp_path, str(broken), "-n", "0", "--rootdir", str(tmp_path))
    assert done.returncode == pytest.ExitCode.INTERRUPTED, done.stdout + done.stderr
    assert done.stdout.splitlines() == [
        "collection error in test_broken.py: ZeroDivisionError: division by zero (see it whole with -v)"], done.stdout
