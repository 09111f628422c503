"""One result per test, merged from pytest's setup, call and teardown reports (on the controller under xdist).

A result keeps what the spec plugin put in ``report.user_properties`` (clauses, impl, failure kind,
measurements), the "Reproduce" section, and what Hypothesis printed: the minimal counterexample,
the ``@reproduce_failure`` blob and a seed.  Object addresses (``at 0x7f...``) are blanked so that
two runs of the same suite give the same text.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pytest

from transformer_spec.harness.paths import note_path
from transformer_spec.harness.watchdog import violation_at_time_limit

MESSAGE_LIMIT = 1200
_COUNTEREXAMPLE = re.compile(r"^(?:Falsifying example|Failing test case): .*?^\)$", re.S | re.M)
_BLOB = re.compile(r"@reproduce_failure\([^)]*\)")
_SEED = re.compile(r"@seed\((\d+)\)|--hypothesis-seed[= ](\d+)")
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
_WORKER_HEADER = re.compile(r"^\[gw\d+\] .*\n", re.M)
_FIXTURE_ARGUMENT = re.compile(r"^\s+(?:checker|target|tmp_path)=.*\n", re.M)  # the harness, not the drawn inputs


def scrub(text: str) -> str:
    """``text`` with object addresses blanked (they differ from run to run)."""
    return _ADDRESS.sub(" at 0x…", text)


@dataclass
class TestResult:
    """The merged outcome of one test (one node id)."""

    __test__ = False  # not a pytest test class
    nodeid: str
    clauses: list[str] = field(default_factory=list)
    impl: str | None = None
    components: list[str] = field(default_factory=list)  # what it exercises: its ``requires`` marker
    outcome: str = "passed"  # passed, failed, error, skipped, not-run
    message: str | None = None
    counterexample: str | None = None
    reproduce_blob: str | None = None
    seed: int | None = None
    reproduce: str | None = None
    measurements: dict[str, dict[str, Any]] = field(default_factory=dict)
    findings: list[dict[str, Any]] = field(default_factory=list)  # precision findings (values off the dtype's budget only)
    blocked_by: list[str] = field(default_factory=list)  # clauses of failing parts that explain this failure
    violated: list[str] = field(default_factory=list)  # the clauses its failure names (``[clause] ...``)
    duration: float = 0.0
    finished: bool = False


def crash_text(report: pytest.TestReport) -> str:
    """The exception text without traceback lines when pytest kept it, else the long report less xdist's header."""
    crash = getattr(report.longrepr, "reprcrash", None)
    return str(crash.message) if crash is not None else _WORKER_HEADER.sub("", report.longreprtext)


def short_message(text: str) -> str:
    """The failure message up to the Hypothesis counterexample, limited to :data:`MESSAGE_LIMIT` characters."""
    head = _COUNTEREXAMPLE.split(text, maxsplit=1)[0].split("\nYou can reproduce", 1)[0].strip()
    return scrub(head if len(head) <= MESSAGE_LIMIT else head[:MESSAGE_LIMIT] + "…")


def hypothesis_details(text: str) -> tuple[str | None, str | None, int | None]:
    """(counterexample, ``@reproduce_failure`` text, seed) as printed by Hypothesis, each None if absent."""
    example, blob, seed = _COUNTEREXAMPLE.search(text), _BLOB.search(text), _SEED.search(text)
    return (_FIXTURE_ARGUMENT.sub("", scrub(example.group(0))) if example else None, blob.group(0) if blob else None,
            int(seed.group(1) or seed.group(2)) if seed else None)


def skip_reason(report: pytest.TestReport) -> str:
    """The reason of a skipped report, without pytest's ``Skipped:`` prefix."""
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    return reason.removeprefix("Skipped: ")


class ResultLog:
    """Folds test reports into :class:`TestResult` objects, one per node id."""

    def __init__(self, identify: Callable[[str], tuple[list[str], str | None, list[str]]],
                 notes: Path | None = None) -> None:
        """``identify(nodeid)`` gives (clauses, impl, components) for a report that carries none (a crashed worker);
        ``notes`` is the folder where a worker stopped by its time limit left a note on the test."""
        self.results: dict[str, TestResult] = {}
        self._identify = identify
        self._notes = notes

    def add(self, report: pytest.TestReport) -> TestResult:
        """Merge one report; returns the result it belongs to."""
        result = self.results.setdefault(report.nodeid, TestResult(report.nodeid))
        props = dict(report.user_properties)
        if "clauses" in props:
            result.clauses, result.impl = list(props["clauses"]), props.get("impl")
            result.components = list(props.get("components", ()))
        elif not result.clauses:
            result.clauses, result.impl, result.components = self._identify(report.nodeid)
        if props.get("measurements"):
            result.measurements = json.loads(json.dumps(props["measurements"], default=str))
        if props.get("violated"):
            result.violated = list(props["violated"])
        if props.get("findings"):
            result.findings = json.loads(json.dumps(props["findings"], default=str))
        result.duration += report.duration or 0.0
        if report.failed and result.outcome not in ("failed", "error"):
            self._failed(result, report, props.get("failure_kind", "error"))
            if report.when == "???":  # its worker died: a time-out note says why, if there is one
                self._timed_out(result)
        elif report.skipped and result.outcome == "passed":
            result.outcome, result.message = "skipped", skip_reason(report)
        result.finished = result.finished or report.when in ("teardown", "???")
        return result

    @staticmethod
    def _failed(result: TestResult, report: pytest.TestReport, kind: str) -> None:
        text = crash_text(report)
        result.outcome = "failed" if kind == "fails" else "error"
        result.message = short_message(text)
        result.counterexample, result.reproduce_blob, result.seed = hypothesis_details(text)
        result.reproduce = next((body for name, body in report.sections if name == "Reproduce"), None)

    def _timed_out(self, result: TestResult) -> None:
        note = note_path(self._notes, result.nodeid) if self._notes else None
        if note is None or not note.is_file():
            result.message = (f"the process running this test died (an exit, a signal such as SIGKILL, or the "
                              f"kernel's OOM killer); xdist said: {result.message}")
            return
        found = json.loads(note.read_text(encoding="utf-8"))
        if found["failures"]:
            result.outcome = "failed"
            result.message = short_message(violation_at_time_limit(found["failures"][-1], found["message"]))
        else:
            result.message = found["message"]

    def sorted(self, expected: set[str] | None = None) -> list[TestResult]:
        """All results by node id; with ``expected``, a ``not-run`` result for each selected test that never finished."""
        found = dict(self.results)
        for nodeid in expected or ():
            if nodeid not in found or not found[nodeid].finished:
                clauses, impl, components = self._identify(nodeid)
                found[nodeid] = TestResult(nodeid, clauses, impl, components, outcome="not-run", finished=True,
                                           message="never ran: its worker was lost or the run was stopped first")
        return [found[k] for k in sorted(found)]
