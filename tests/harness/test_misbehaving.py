"""Misbehaving implementations are normal input: each is reported as designed and the rest of the run completes.

One real run of the §3.2.1 tests (in a subprocess, two xdist workers, a
per-test time-out) takes every implementation of ``misbehaving.py`` at once,
next to the reference; the JUnit XML it writes is read back per test.

A hang meets the suite's own time limit (``--spec-timeout``): the test's
thread gets an exception Hypothesis does not catch, and the test reads
"timed out after N s in <test> (call)"; a process exit reads "worker ...
crashed" and xdist starts a new worker.
"""
from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.harness.once import once_per_run

ROOT = Path(__file__).resolve().parents[2]
MODULE = "tests/harness/misbehaving.py"
BEHAVIOURS = ("Raises", "ReturnsNaN", "ReturnsInf", "WrongShape", "WrongDtype", "WrongDevice", "NonDeterministic",
              "Hangs", "Exits", "KillsItself", "EatsMemory", "SlowButRight")
ONE_TEST_ONLY = ("Hangs", "Exits", "KillsItself", "EatsMemory", "SlowButRight")  # slow or fatal: one test each
TIMEOUT_S = 10


@dataclass(frozen=True)
class Outcome:
    """One test of the run: ``passed``, ``skipped`` or ``failed``, and the failure's message."""

    status: str
    message: str = ""


@dataclass(frozen=True)
class Run:
    returncode: int
    output: str
    outcomes: dict[str, Outcome]

    def of(self, test: str, impl: str) -> Outcome:
        spec = impl if impl == "reference" else f"{MODULE}:{impl}"
        return self.outcomes[f"{test}[{spec}]"]


def _outcomes(junit: Path) -> dict[str, Outcome]:
    found = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        bad = case.find("failure") if case.find("failure") is not None else case.find("error")
        status = "failed" if bad is not None else "skipped" if case.find("skipped") is not None else "passed"
        found[case.get("name")] = Outcome(status, "" if bad is None else bad.get("message", ""))
    return found


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """The run: the hanging and exiting ones only in one test each, to keep it short."""
    junit = tmp_path_factory.mktemp("misbehaving") / "junit.xml"
    impls = [arg for b in BEHAVIOURS for arg in ("--impl", f"{MODULE}:{b}")] + ["--impl", "reference"]
    command = [sys.executable, "-m", "pytest", "spec_tests/test_attention.py", *impls,
               "-k", f"scaling_queries or (matches_reference and not {' and not '.join(ONE_TEST_ONLY)})",
               "-n", "2", "--spec-timeout", str(TIMEOUT_S), "--spec-memory-limit", "2", "-p", "no:cacheprovider",
               "-p", "tests.harness.quick_profile", "--hypothesis-profile", "quick", "-q", "--tb=line",
               f"--junitxml={junit}"]

    def go() -> Run:
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
        return Run(done.returncode, done.stdout + done.stderr, _outcomes(junit))
    return once_per_run(tmp_path_factory, "misbehaving", go)


@pytest.mark.parametrize("impl, test, expected", [
    ("Raises", "test_attention_matches_reference", "ImplementationError: [3.2.1/scaled-dot-product] "
                                                   f"{MODULE}:Raises.attention raised RuntimeError: deliberately broken"),
    ("ReturnsNaN", "test_attention_matches_reference", f"[3.2.1/scaled-dot-product] {MODULE}:ReturnsNaN.attention "
                                                       "output 0 has 6 non-finite values"),
    ("WrongShape", "test_attention_matches_reference", "out.shape="),
    ("WrongDtype", "test_attention_matches_reference", "output 0 has dtype torch.float32, but the inputs had torch.float64"),
    ("WrongDevice", "test_scaling_queries_scales_the_scores", "output 0 is on device meta, but the inputs were on cpu"),
    ("NonDeterministic", "test_attention_matches_reference", "is not deterministic: two identical calls differ"),
    ("Hangs", "test_scaling_queries_scales_the_scores", f"timed out after {TIMEOUT_S} s in "),
    ("Exits", "test_scaling_queries_scales_the_scores", "crashed while running"),
    ("KillsItself", "test_scaling_queries_scales_the_scores", "crashed while running"),
    ("ReturnsInf", "test_attention_matches_reference", "ReturnsInf.attention output 0 has 36 non-finite values (first -inf"),
    ("EatsMemory", "test_scaling_queries_scales_the_scores", f"{MODULE}:EatsMemory.attention ran out of memory"),
])
def test_misbehaviour_is_reported(run: Run, impl: str, test: str, expected: str) -> None:
    outcome = run.of(test, impl)
    assert outcome.status == "failed"
    reason = outcome.message.split("\nFailing test case")[0]  # what Hypothesis appends is not the reason
    assert expected.split(": ", 1)[-1] in reason, reason


def test_the_rest_of_the_run_completes(run: Run) -> None:
    """The reference passes everything; a misbehaviour stays in its own tests."""
    assert run.returncode == 1, run.output[-2000:]
    assert {run.of(t, "reference").status for t in ("test_attention_matches_reference",
                                                    "test_scaling_queries_scales_the_scores")} == {"passed"}
    assert run.of("test_scaling_queries_scales_the_scores", "NonDeterministic").status == "passed"
    assert run.of("test_scaling_queries_scales_the_scores", "SlowButRight").status == "passed"  # its time_factor
    assert len(run.outcomes) == 2 * (len(BEHAVIOURS) + 1) - len(ONE_TEST_ONLY)


def test_a_failure_still_shrinking_at_the_time_limit_is_reported_as_the_failure(tmp_path: Path) -> None:
    """Shrinking (the ci profile) outlasts the limit: the report keeps the violation, not a time-out error."""
    done = subprocess.run([sys.executable, "-m", "pytest", "spec_tests/test_attention.py", "-k", "scaling_queries",
                           "--impl", f"{MODULE}:SlowAndWrong", "-n", "0", "--spec-timeout", str(TIMEOUT_S),
                           "--hypothesis-profile", "ci", "-p", "no:cacheprovider", "-q", "-p", "transformer_spec.report.plugin",
                           "--report-dir", str(tmp_path / "reports")], cwd=ROOT, capture_output=True, text=True, timeout=600)
    report = json.loads((tmp_path / "reports" / "report.json").read_text())
    [entry] = [e for e in report["clauses"] if e["id"] == "3.2.1/scaling"]
    assert entry["status"] == "fails", done.stdout[-2000:]
    [test] = entry["tests"]
    assert "[3.2.1/scaling] Attention(cQ, K, V): mismatched" in test["message"]
    assert f"timed out after {TIMEOUT_S} s" in test["message"] and "Hypothesis was still shrinking" in test["message"]
