"""``transformer-spec run``: the spec suite on one or more implementations, then the reports.

Options are checked before anything runs (a bad one is a one-line usage error, exit 2); the suite then
runs in this process through ``pytest.main`` under pytest-xdist (a worker that dies is replaced and its
test counted as an error) with the reporting plugin, which writes report.json, report.html, junit.xml
and repro/ into ``--report-dir`` and prints the clause x implementation table.

Exit code: 0 when every applicable clause conforms or deviates as declared, 1 when one fails or errors
(or the run did not finish), 2 on usage errors.
"""
from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

import spec_tests
from reference.errors import SpecUsageError
from transformer_spec.commands.options import (distinct_implementations, existing_folder, k_expression, positive,
                                                workers, writable_folder)
from transformer_spec.harness.loading import DEFAULT_IMPL, load
from transformer_spec.harness.target import DEVICES, DTYPES, resolve_target
from transformer_spec.report.inputs import load_kill_matrix

PROFILES = ("dev", "ci", "thorough")


def check_options(args: argparse.Namespace) -> None:
    """Every check that needs no test to run, cheapest first; the report folder last, as checking creates it.

    The number-valued options were checked by argparse.
    """
    if args.k:
        k_expression(args.k)
    existing_folder("--training-dir", args.training_dir)
    load_kill_matrix(args.kill_matrix)
    target = resolve_target(args.device, args.dtype)
    for spec in distinct_implementations(args.impl or [DEFAULT_IMPL]):
        load(spec, target)
    writable_folder("--report-dir", args.report_dir)


def pytest_args(args: argparse.Namespace) -> list[str]:
    """The pytest command line of the run."""
    argv = [str(Path(spec_tests.__file__).parent), "-p", "transformer_spec.pytest_plugin",
            "-p", "transformer_spec.report.plugin", "-p", "no:cacheprovider", "-q",
            "-W", "ignore::pytest.PytestAssertRewriteWarning",  # the plugins were imported to check the options
            "-n", args.workers, "--device", args.device, "--dtype", args.dtype,
            "--hypothesis-profile", args.hypothesis_profile, "--report-dir", str(args.report_dir)]
    for spec in dict.fromkeys(args.impl or [DEFAULT_IMPL]):
        argv += ["--impl", spec]
    if importlib.util.find_spec("pytest_timeout") is not None:
        argv += ["--timeout", str(args.timeout), "--timeout-method", "thread"]  # signals get swallowed by Hypothesis replays
    else:
        print("transformer-spec: pytest-timeout is not installed; tests run without a time limit", file=sys.stderr)
    if args.k:
        argv += ["-k", args.k]
    if args.no_training:
        argv.append("--no-training")
    for option, value in (("--training-dir", args.training_dir), ("--kill-matrix", args.kill_matrix)):
        if value is not None:
            argv += [option, str(value)]
    return argv


def run(args: argparse.Namespace) -> int:
    check_options(args)
    import pytest  # imported here, not above, so that --help and usage errors come fast
    from transformer_spec.report.status import FAILING
    from transformer_spec.report.writer import read_report
    args.report_dir.mkdir(parents=True, exist_ok=True)
    code = pytest.main(pytest_args(args))
    if code == pytest.ExitCode.USAGE_ERROR:
        return SpecUsageError.exit_code
    if code == pytest.ExitCode.NO_TESTS_COLLECTED:
        raise SpecUsageError("-k", args.k or "", "selects no spec test")
    if code == pytest.ExitCode.INTERNAL_ERROR or not (args.report_dir / "report.json").is_file():
        print("transformer-spec: the run broke down before its report was written", file=sys.stderr)
        return 1
    report = read_report(args.report_dir)
    failing = any(e["status"] in FAILING for e in report["clauses"])
    return 1 if failing or not report["complete"] else 0


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("run", help="run the spec suite and write the reports")
    parser.add_argument("--impl", action="append", metavar="IMPL",
                        help=f"implementation under test, repeatable (default {DEFAULT_IMPL})")
    parser.add_argument("--device", default="auto", help=f"{', '.join(DEVICES)} (default auto)")
    parser.add_argument("--dtype", default="float64", help=f"{', '.join(DTYPES)} (default float64)")
    parser.add_argument("--report-dir", type=Path, default=Path("reports"), metavar="DIR",
                        help="where the reports go (default reports/)")
    parser.add_argument("-n", dest="workers", type=workers, default="2", metavar="N",
                        help="pytest-xdist workers, a number or auto; 0 runs in this process (default 2)")
    parser.add_argument("--hypothesis-profile", choices=PROFILES, default="ci", help="default ci")
    parser.add_argument("--timeout", type=positive(float), default=120.0, metavar="SECONDS",
                        help="time limit per test (default 120)")
    parser.add_argument("-k", default=None, metavar="EXPR", help="only tests matching this pytest -k expression")
    parser.add_argument("--no-training", action="store_true",
                        help="skip the tests that train and leave training results out of the report")
    parser.add_argument("--training-dir", type=Path, default=None, metavar="DIR",
                        help="results of `transformer-spec train` to show (default: the report folder, if there)")
    parser.add_argument("--kill-matrix", type=Path, default=None, metavar="FILE", help="mutant kill matrix JSON to show")
    parser.set_defaults(handler=run)
