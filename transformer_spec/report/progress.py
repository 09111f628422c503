"""The console lines of ``transformer-spec run``: one per finished test, and a training test's steps as it trains.

``transformer-spec run`` loads this plugin (``-p transformer_spec.report.progress``) with pytest's own terminal
output off (``-p no:terminal``), so these lines, then the run's table, are all the run prints::

    [ 7/58] FAILS    3.2.1/scaling                 test_scaling_queries_scales_the_scores[my.py:Impl]
            6/end-to-end-translation on my.py:Impl: training step 440/1100 (loss 2.315)

A line is plain text ended by a newline, never redrawn in place, so a CI log reads like a terminal.  Under
pytest-xdist a test runs in a worker whose prints never reach the controller: a test's progress line travels
as a test report of its own phase, :data:`PROGRESS`, which xdist forwards like any other (a passed report of
no duration: the results take nothing from it).
"""
from __future__ import annotations

import re
from typing import Callable

import pytest

from transformer_spec.reference.clauses import CLAUSE_IDS
from transformer_spec.report.plugin import ReportCollector

PROGRESS = "progress"
"""The ``when`` of a report that only carries a progress line (in ``user_properties``), never a result."""
WORDS = {"passed": "ok", "failed": "FAILS", "error": "ERROR", "skipped": "skipped"}
CLAUSE_WIDTH = max(map(len, CLAUSE_IDS))


def progress_echo(item: pytest.Item) -> Callable[[str], None] | bool:
    """What test ``item`` hands to training as its progress: its lines go to the run's console, one report each;
    False (no progress shown) when the run does not print them (plain pytest, ``transformer-spec run -v``)."""
    if not item.config.pluginmanager.has_plugin(__name__):
        return False

    def echo(line: str) -> None:
        report = pytest.TestReport(item.nodeid, item.location, {}, "passed", None, PROGRESS,  # type: ignore[arg-type]
                                   user_properties=[(PROGRESS, line)])
        item.ihook.pytest_runtest_logreport(report=report)
    return echo


class ProgressLines:
    """Prints, on the controller, a counter line per finished test, the progress lines tests send, and what did not
    collect (each node id once)."""

    def __init__(self, config: pytest.Config, collector: ReportCollector) -> None:
        self.config, self.collector = config, collector
        self.finished: set[str] = set()
        self.uncollected: set[str] = set()

    def write(self, line: str) -> None:
        """One line on stdout, now, even from inside a test (``-n 0``: pytest is capturing the test's output)."""
        with self.config.pluginmanager.getplugin("capturemanager").global_and_fixture_disabled():
            print(line, flush=True)

    @pytest.hookimpl(trylast=True)  # after the report collector has folded the report into its result
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        result, total = self.collector.log.results[report.nodeid], len(self.collector.expected or ())
        if report.when == PROGRESS:
            indent, line = " " * (2 * len(str(total)) + 4), dict(report.user_properties)[PROGRESS]
            self.write(f"{indent}{', '.join(result.clauses)} on {result.impl}: {line}")
        elif result.finished and report.nodeid not in self.finished:
            self.finished.add(report.nodeid)
            counter = f"[{len(self.finished):>{len(str(total))}}/{total}]"
            clauses = ", ".join(result.clauses).ljust(CLAUSE_WIDTH)
            self.write(f"{counter} {WORDS[result.outcome]:<7}  {clauses}  {report.nodeid.split('::')[-1]}")

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        """A test file that fails to import: the last line of its error, once (every xdist worker reports it)."""
        if report.failed and report.nodeid not in self.uncollected:
            self.uncollected.add(report.nodeid)
            error = re.sub(r"^E\s+", "", report.longreprtext.strip().splitlines()[-1])
            self.write(f"collection error in {report.nodeid}: {error} (see it whole with -v)")


@pytest.hookimpl(trylast=True)  # after the report plugin registered its collector
def pytest_configure(config: pytest.Config) -> None:
    collector = config.pluginmanager.get_plugin("transformer-spec-report")
    if isinstance(collector, ReportCollector):
        config.pluginmanager.register(ProgressLines(config, collector), "transformer-spec-progress")
