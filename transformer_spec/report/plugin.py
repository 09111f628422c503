"""The reporting pytest plugin: ``--report-dir DIR`` writes report.json, report.html, junit.xml and repro/.

Load it with ``-p transformer_spec.report.plugin`` (``transformer-spec run`` does) or from a conftest's
``pytest_plugins``.  Results are gathered on the controller from ``pytest_runtest_logreport``, so every
xdist worker's tests are in, including those of a worker that crashed; a selected test that never
finished is reported ``not-run``.  Everything is written into a staging folder (report.json every
:data:`WRITE_EVERY` finished tests, the rest at the end) and published as a whole by
:class:`~transformer_spec.report.folder.ReportFolder`: a finished run replaces ``--report-dir``, an
interrupted one goes beside it as ``<dir>.incomplete`` (``complete`` is true only when every selected
test finished).
"""
from __future__ import annotations

import datetime
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from transformer_spec.reference.errors import SpecUsageError
from transformer_spec.pytest_plugin import IMPLS_KEY, STAGING_KEY, TARGET_KEY, impl_specs
from transformer_spec.report.build import build_report
from transformer_spec.report.environment import environment
from transformer_spec.report.folder import ReportFolder
from transformer_spec.report.implementations import describe
from transformer_spec.report.inputs import load_kill_matrix, load_training
from transformer_spec.report.nodeinfo import clauses_of, impl_of
from transformer_spec.report.results import ResultLog
from transformer_spec.report.summary import HEADING, summary_lines
from transformer_spec.report.writer import write_all, write_json

WRITE_EVERY = 25
INTERRUPTED = (pytest.ExitCode.INTERRUPTED, pytest.ExitCode.INTERNAL_ERROR)
NOTHING_RAN = (pytest.ExitCode.NO_TESTS_COLLECTED, pytest.ExitCode.USAGE_ERROR)
STAGING_INPUT = "transformer_spec_staging"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("transformer-spec reports")
    group.addoption("--report-dir", default=None, metavar="DIR",
                    help="write report.json, report.html, junit.xml and repro/ into DIR")
    group.addoption("--training-dir", default=None, metavar="DIR",
                    help="folder with scores.json and learning_curve.json of a training run (default: the report folder)")
    group.addoption("--kill-matrix", default=None, metavar="FILE",
                    help="mutant kill matrix JSON ({mutant: {clause: status}} or a mutants' report.json)")
    group.addoption("--no-training", action="store_true",
                    help="deselect the end-to-end translation training (component translation); no training section in the report")


def pytest_configure(config: pytest.Config) -> None:
    directory = config.getoption("report_dir")
    if hasattr(config, "workerinput"):
        if config.workerinput.get(STAGING_INPUT):
            config.stash[STAGING_KEY] = Path(config.workerinput[STAGING_INPUT])
    elif directory:
        config.pluginmanager.register(ReportCollector(config, Path(directory).resolve()), "transformer-spec-report")


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """Tell each xdist worker where this run's staged report folder is (the failing calls' inputs go there)."""
    staging = node.config.stash.get(STAGING_KEY, None)
    if staging is not None:
        node.workerinput[STAGING_INPUT] = str(staging)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.getoption("no_training"):
        return
    training = [i for i in items if any("translation" in m.args for m in i.iter_markers("requires"))]
    if training:
        config.hook.pytest_deselected(items=training)
        items[:] = [i for i in items if i not in training]


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Give every report (skipped setups included) its clauses and implementation."""
    outcome = yield
    report = outcome.get_result()
    if "clauses" not in dict(report.user_properties):
        spec = getattr(item, "callspec", None) and item.callspec.params.get("impl_spec")
        report.user_properties += [("clauses", [m.args[0] for m in item.iter_markers("clause")]), ("impl", spec),
                                   ("components", [c for m in item.iter_markers("requires") for c in m.args])]


class ReportCollector:
    """Gathers the results on the controller and writes the reports."""

    def __init__(self, config: pytest.Config, directory: Path) -> None:
        self.config, self.directory = config, directory
        self.folder = ReportFolder(directory)
        self.published: Path | None = None
        self.log = ResultLog(self._identify, self.folder.staging)
        self.expected: set[str] | None = None
        self.started, self._clock = datetime.datetime.now(datetime.timezone.utc), time.perf_counter()
        self._unwritten = 0
        self.report: dict[str, Any] | None = None
        try:
            self.training = None if config.getoption("no_training") else load_training(
                Path(config.getoption("training_dir") or directory))
            self.kill_matrix = load_kill_matrix(config.getoption("kill_matrix") and Path(config.getoption("kill_matrix")))
            self.folder.acquire()
        except SpecUsageError as exc:
            raise pytest.UsageError(str(exc)) from None
        config.stash[STAGING_KEY] = self.folder.staging

    def _identify(self, nodeid: str) -> tuple[list[str], str | None, list[str]]:
        root = self.config.rootpath
        return clauses_of(nodeid, root), impl_of(nodeid, impl_specs(self.config)), clauses_of(nodeid, root, "requires")

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.expected = {item.nodeid for item in session.items}

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        self.expected = set(ids)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        result = self.log.add(report)
        if result.finished and report.when in ("teardown", "???"):
            self._unwritten += 1
            if self._unwritten >= WRITE_EVERY:
                write_json(self.build(complete=False, exit_status=None), self.folder.staging)
                self._unwritten = 0

    def build(self, complete: bool, exit_status: int | None, final: bool = False) -> dict[str, Any]:
        """The report of what has finished so far; ``final``: selected tests that never finished count as not run."""
        opts = self.config.option
        impls = self.config.stash[IMPLS_KEY]
        results = self.log.sorted(self.expected if final else None)
        run = {"command_line": shlex.join(sys.argv), "pytest_args": list(self.config.invocation_params.args),
               "workers": getattr(opts, "numprocesses", None), "rootdir": str(self.config.rootpath),
               "started_at": self.started.isoformat(timespec="seconds"),
               "finished_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
               "duration_s": round(time.perf_counter() - self._clock, 3), "exit_status": exit_status,
               "selected_tests": None if self.expected is None else len(self.expected),
               "finished_tests": sum(r.finished and r.outcome != "not-run" for r in results),
               "test_durations": {r.nodeid: round(r.duration, 4) for r in results}}
        return build_report(results, [describe(s, impls[s]) for s in impl_specs(self.config)],
                            environment(self.config.stash[TARGET_KEY], getattr(opts, "hypothesis_profile", None),
                                        getattr(opts, "hypothesis_seed", None)),
                            run, complete, self.training, self.kill_matrix)

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        """Write the whole report into the staging folder, then publish it (or drop it: nothing was selected)."""
        try:
            if exitstatus in NOTHING_RAN:
                self.folder.discard()
                return
            finished = {r.nodeid for r in self.log.results.values() if r.finished}
            interrupted = exitstatus in INTERRUPTED
            complete = not interrupted and self.expected is not None and self.expected <= finished
            self.report = self.build(complete, int(exitstatus), final=True)
            write_all(self.report, self.log.sorted(self.expected), self.folder.staging)
            self.published = self.folder.publish(not interrupted)
        finally:
            self.folder.release()

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.report is not None and self.published is not None:
            terminalreporter.write_sep("=", HEADING)
            for line in summary_lines(self.report, self.published):
                terminalreporter.write_line(line)


class RunOutcome:
    """Handed to ``pytest.main(plugins=[...])``: keeps this run's own report once it is written."""

    def __init__(self) -> None:
        self.report: dict[str, Any] | None = None
        self.published: Path | None = None

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        collector = session.config.pluginmanager.get_plugin("transformer-spec-report")
        if isinstance(collector, ReportCollector):
            self.report, self.published = collector.report, collector.published
