"""A report folder always holds one whole run, and a run that did not finish never exits 0.

Real ``transformer-spec run`` processes (real pytest-xdist workers) on the reference, stopped by real
signals at real moments: before pytest starts, after the first test finished, and killed outright;
plus two runs into one folder at once, and a ``-k`` that selects nothing.  Each case starts from a
folder holding a finished run's report and checks that it is untouched afterwards.
"""
from __future__ import annotations

import hashlib
import json
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.harness.once import once_per_run

ROOT = Path(__file__).resolve().parents[2]
RUN = [sys.executable, "-m", "transformer_spec", "run", "--impl", "reference", "--no-training",
       "-k", "test_attention", "-n", "2"]


def _start(report_dir: Path, *extra: str) -> subprocess.Popen[str]:
    """A run whose Ctrl-C works as in a terminal (a background parent may have SIGINT ignored)."""
    return subprocess.Popen([*RUN, "--report-dir", str(report_dir), *extra], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def _wait_for_first_result(proc: subprocess.Popen[str]) -> str:
    """Read the run's output until the first finished test shows (its line "[ 1/N] ..."), without a clock."""
    seen = ""
    while not re.search(r"^\[ *1/\d+\] ", seen, re.M):
        line = proc.stdout.readline()  # type: ignore[union-attr]
        assert line, f"the run ended before its first test finished:\n{seen}"
        seen += line
    return seen


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def finished_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One finished run's report folder, made once and copied into each case."""
    def make() -> str:
        folder = tmp_path_factory.mktemp("finished") / "reports"
        done = subprocess.run([*RUN, "--report-dir", str(folder)], cwd=ROOT, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        return str(folder)
    return Path(once_per_run(tmp_path_factory, "finished-report", make))


@pytest.fixture
def previous(finished_report: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "reports"
    shutil.copytree(finished_report, folder)
    return folder


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_before_the_run_starts_leaves_the_previous_report_and_exits_non_zero(previous: Path,
                                                                                        sig: signal.Signals) -> None:
    before = _digest(previous)
    proc = _start(previous)
    time.sleep(0.3)  # still importing: no test has been collected
    proc.send_signal(sig)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode != 0, out
    assert _digest(previous) == before
    assert not previous.with_name("reports.incomplete").exists()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_mid_run_puts_the_partial_report_beside_the_previous_one(previous: Path, sig: signal.Signals) -> None:
    before = _digest(previous)
    proc = _start(previous)
    _wait_for_first_result(proc)
    proc.send_signal(sig)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode not in (0, 2), out
    assert _digest(previous) == before
    partial = json.loads((previous.with_name("reports.incomplete") / "report.json").read_text())
    assert partial["complete"] is False
    assert [i["verdict"] for i in partial["implementations"]] != ["conforms"]
    assert "interrupted" in out and "reports.incomplete" in out


def test_a_killed_run_leaves_the_previous_report_and_the_next_run_cleans_up(previous: Path) -> None:
    before = _digest(previous)
    proc = _start(previous)
    _wait_for_first_result(proc)
    proc.kill()
    proc.communicate(timeout=120)
    assert _digest(previous) == before
    assert list(previous.parent.glob(".reports.staging-*")), "a killed run's staging folder is hidden beside it"
    done = subprocess.run([*RUN, "--report-dir", str(previous)], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:]
    assert not list(previous.parent.glob(".reports.staging-*"))


def test_a_second_run_into_the_same_folder_is_refused_while_the_first_runs(previous: Path) -> None:
    before = _digest(previous)
    first = _start(previous, "--impl", "tests/harness/misbehaving.py:Hangs", "--timeout", "600")  # busy until killed
    while not list(previous.parent.glob(".reports.staging-*")):  # the first run holds the lock from now on
        assert first.poll() is None, first.communicate()[0]
        time.sleep(0.2)
    second = subprocess.run([*RUN, "--report-dir", str(previous)], cwd=ROOT, capture_output=True, text=True,
                            timeout=600)
    first.kill()
    first.communicate(timeout=120)
    assert second.returncode == 2 and second.stderr.count("\n") == 1, second.stderr
    assert "another transformer-spec run" in second.stderr
    assert _digest(previous) == before


def test_a_selection_of_nothing_is_a_usage_error_and_keeps_the_report(previous: Path) -> None:
    before = _digest(previous)
    done = subprocess.run([*RUN[:-4], "-k", "no_test_has_this_name", "--report-dir", str(previous)], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 2 and "selects no spec test" in done.stderr, done.stderr
    assert _digest(previous) == before
