"""``transformer-spec run``: the spec suite on one or more implementations, then the reports.

Options are checked before anything runs (a bad one is a one-line usage error, exit 2); the suite then
runs in this process through ``pytest.main`` under pytest-xdist (a worker that dies is replaced and its
test counted as an error) with the reporting plugin, which writes report.json, report.html, junit.xml
and repro/ into ``--report-dir``.  The console gets a line per finished test and the training test's steps
(:mod:`transformer_spec.report.progress`, with pytest's own output off), then the clause x implementation
table with one block per failing clause; ``--verbose`` gives pytest's own output instead (tracebacks
included), the table at its end.

Exit code: 0 when every applicable clause conforms or deviates as declared, 1 when one fails or errors
(or the run did not finish), 2 on usage errors.
"""
from __future__ import annotations

import argparse
import contextlib
import signal
import sys
from pathlib import Path
from typing import Any, Iterator

from transformer_spec import spec_tests
from transformer_spec.reference.errors import SpecUsageError
from transformer_spec.commands.options import (distinct_implementations, existing_folder, k_expression, positive,
                                                workers, writable_folder)
from transformer_spec.harness.loading import DEFAULT_IMPL, load
from transformer_spec.harness.target import DEVICES, DTYPES, resolve_target
from transformer_spec.report.folder import ReportFolder
from transformer_spec.report.inputs import load_kill_matrix

PROFILES = ("dev", "ci", "thorough")
MAX_WORKER_RESTARTS = 10_000
"""A crashed worker is always replaced, and its remaining tests run in the new one (xdist stops at 8 by default)."""


def check_options(args: argparse.Namespace) -> None:
    """Every check that needs no test to run, cheapest first; none leaves a trace."""
    workers(args.workers)
    positive("--timeout", args.timeout)
    if args.k:
        k_expression(args.k)
    existing_folder("--training-dir", args.training_dir)
    load_kill_matrix(args.kill_matrix)
    writable_folder("--report-dir", args.report_dir)
    ReportFolder(args.report_dir.resolve()).check_free()
    target = resolve_target(args.device, args.dtype)
    for spec in distinct_implementations(args.impl or [DEFAULT_IMPL]):
        load(spec, target)


def pytest_args(args: argparse.Namespace, report: bool = True) -> list[str]:
    """The pytest command line of the run (``report=False``: without the report folder, which --explain leaves alone)."""
    argv = [str(Path(spec_tests.__file__).resolve().parent), "-p", "transformer_spec.pytest_plugin",
            "-p", "transformer_spec.report.plugin", "-p", "no:cacheprovider", "-p", "no:timeout",
            *(() if args.verbose else ("-p", "no:terminal", "-p", "transformer_spec.report.progress")),
            "-W", "ignore::pytest.PytestAssertRewriteWarning",  # the plugins were imported to check the options
            "-n", args.workers, "--max-worker-restart", str(MAX_WORKER_RESTARTS),
            "--device", args.device, "--dtype", args.dtype, "--spec-timeout", str(args.timeout),
            "--hypothesis-profile", args.hypothesis_profile]
    if report:
        argv += ["--report-dir", str(args.report_dir)]
    for spec in dict.fromkeys(args.impl or [DEFAULT_IMPL]):
        argv += ["--impl", spec]
    if args.k:
        argv += ["-k", args.k]
    if args.no_training:
        argv.append("--no-training")
    for option, value in (("--training-dir", args.training_dir), ("--kill-matrix", args.kill_matrix)):
        if value is not None:
            argv += [option, str(value)]
    return argv


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM ends the run like Ctrl-C: pytest stops, and the partial report goes beside the previous one."""
    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")
    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run(args: argparse.Namespace) -> int:
    """The exit code comes from this run's own results, never from a report file another run may have left."""
    check_options(args)
    if args.explain:
        from transformer_spec.commands.explain import explain
        return explain(pytest_args(args, report=False))
    import pytest  # imported here, not above, so that --help and usage errors come fast
    from transformer_spec.report.plugin import RunOutcome
    from transformer_spec.report.status import FAILING
    from transformer_spec.report.summary import HEADING, summary_lines
    outcome = RunOutcome()
    with terminate_as_interrupt():
        code = pytest.main(pytest_args(args), plugins=[outcome])
    if code == pytest.ExitCode.USAGE_ERROR:
        return SpecUsageError.exit_code
    if code == pytest.ExitCode.NO_TESTS_COLLECTED:
        raise SpecUsageError("-k", args.k or "", "selects no spec test")
    if outcome.report is None:
        print("transformer-spec: the run broke down before its report was written", file=sys.stderr)
        return 1
    if not args.verbose and outcome.published is not None:  # verbose: pytest's terminal summary printed the table
        print("", f" {HEADING} ".center(80, "="), *summary_lines(outcome.report, outcome.published), sep="\n")
    if code == pytest.ExitCode.INTERRUPTED:
        print(f"transformer-spec: the run was interrupted; its partial report is in {outcome.published}",
              file=sys.stderr)
    failing = any(e["status"] in FAILING for e in outcome.report["clauses"])
    return 1 if failing or not outcome.report["complete"] else 0


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("run", help="run the spec suite and write the reports")
    parser.add_argument("--impl", action="append", metavar="IMPL",
                        help=f"implementation under test, repeatable (default {DEFAULT_IMPL})")
    parser.add_argument("--device", default="auto", help=f"{', '.join(DEVICES)} (default auto)")
    parser.add_argument("--dtype", default="float64", help=f"{', '.join(DTYPES)} (default float64)")
    parser.add_argument("--report-dir", type=Path, default=Path("reports"), metavar="DIR",
                        help="where the reports go (default reports/)")
    parser.add_argument("-n", dest="workers", default="2", metavar="N",
                        help="pytest-xdist workers, a number or auto; 0 runs in this process (default 2)")
    parser.add_argument("--hypothesis-profile", choices=PROFILES, default="ci", help="default ci")
    parser.add_argument("--timeout", type=float, default=300.0, metavar="SECONDS",
                        help="time limit per test, only to catch hangs: training tests get 10x, and an implementation "
                             "may declare a time_factor (default 300)")
    parser.add_argument("-k", default=None, metavar="EXPR", help="only tests matching this pytest -k expression")
    parser.add_argument("--no-training", action="store_true",
                        help="skip the tests that train and leave training results out of the report")
    parser.add_argument("--training-dir", type=Path, default=None, metavar="DIR",
                        help="results of `transformer-spec train` to show (default: the report folder, if there)")
    parser.add_argument("--kill-matrix", type=Path, default=None, metavar="FILE", help="mutant kill matrix JSON to show")
    parser.add_argument("--explain", action="store_true",
                        help="run nothing: print, per clause, which tests would run for each implementation and why "
                             "the others would not")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="pytest's own output (every failure's traceback) instead of a line per test")
    parser.set_defaults(handler=run)
