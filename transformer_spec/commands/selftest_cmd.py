"""``transformer-spec selftest``: the suite proves its strength on the mutant zoo.

Runs the spec suite on every mutant (only the tests of the clause each one is
designed to break, unless ``--all-clauses``), on the shipped correct
implementations and on the correct variants of ``implementations/variants`` (the
clauses each names), prints the kill matrix (mutant x clause) and writes it as
``kill-matrix.json`` beside the run's report.  Exit 0 when every mutant is
killed by its clause and no correct implementation fails; 1 otherwise.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from transformer_spec import spec_tests
from transformer_spec.reference.errors import SpecUsageError
from transformer_spec.commands.options import workers, writable_folder
from transformer_spec.harness.loading import BUILTIN

# The mutant zoo, pytest and the report writer are imported by the functions that use them, so that
# `transformer-spec --help` does not pay for torch and matplotlib.


def kill_matrix(report: dict) -> dict[str, dict[str, str]]:
    """{mutant: {clause: status}} for the mutants in a report."""
    from transformer_spec.implementations.mutants import MUTANTS
    matrix: dict[str, dict[str, str]] = {}
    for entry in report["clauses"]:
        if entry["implementation"].startswith("mutant:") and entry["status"] != "not-applicable":
            matrix.setdefault(entry["implementation"][len("mutant:"):], {})[entry["id"]] = entry["status"]
    return {m: dict(sorted(matrix.get(m, {}).items())) for m in sorted(MUTANTS)}


def format_matrix(matrix: dict[str, dict[str, str]]) -> str:
    """One row per mutant: its designated clause, whether it is killed there, and every clause that killed it."""
    from transformer_spec.implementations.mutants import MUTANTS
    from transformer_spec.report.status import FAILING
    width = max(len(m) for m in matrix)
    rows = [f"{'mutant'.ljust(width)}  {'designated clause'.ljust(28)}  verdict   killed by"]
    for name, statuses in matrix.items():
        designated = MUTANTS[name].clause
        killers = [c for c, s in statuses.items() if s in FAILING]
        verdict = "killed" if statuses.get(designated) in FAILING else "SURVIVED"
        rows.append(f"{name.ljust(width)}  {designated.ljust(28)}  {verdict.ljust(8)}  {', '.join(killers) or '-'}")
    return "\n".join(rows)


def run(args: argparse.Namespace) -> int:
    workers(args.workers)
    writable_folder("--report-dir", args.report_dir)
    from transformer_spec.implementations.mutants import MUTANTS
    unknown = sorted(set(args.mutant or ()) - set(MUTANTS))
    if unknown:
        raise SpecUsageError("--mutant", unknown[0], f"no such mutant (known: {', '.join(sorted(MUTANTS))})")
    import pytest
    from transformer_spec.implementations.variants import VARIANTS
    from transformer_spec.report.status import FAILING
    from transformer_spec.report.writer import read_report
    mutants = args.mutant or sorted(MUTANTS)
    correct = [*BUILTIN, *(f"variant:{v}" for v in sorted(VARIANTS))]
    impls = [f"mutant:{m}" for m in mutants] + ([] if args.mutants_only else correct)
    argv = [str(Path(spec_tests.__file__).resolve().parent), "-p", "transformer_spec.pytest_plugin",
            "-p", "transformer_spec.report.plugin", "-p", "no:cacheprovider", "-q", "--no-training",
            "-n", args.workers, "--device", "cpu", "--hypothesis-profile", "mutants",
            "--report-dir", str(args.report_dir), *[a for spec in impls for a in ("--impl", spec)]]
    if not args.all_clauses:
        argv.append("--focus")
    pytest.main(argv)
    report = read_report(args.report_dir)
    matrix = {m: s for m, s in kill_matrix(report).items() if m in mutants}
    (args.report_dir / "kill-matrix.json").write_text(json.dumps(matrix, indent=2) + "\n", encoding="utf-8")
    print(format_matrix(matrix))
    survivors = [m for m in mutants if matrix[m].get(MUTANTS[m].clause) not in FAILING]
    broken = sorted({e["implementation"] for e in report["clauses"]
                     if not e["implementation"].startswith("mutant:") and e["status"] in FAILING})
    print(f"\n{len(mutants) - len(survivors)}/{len(mutants)} mutants killed by their clause"
          + (f"; survivors: {', '.join(survivors)}" if survivors else "")
          + (f"; correct implementations failing: {', '.join(broken)}" if broken else ""))
    return 1 if survivors or broken or not report["complete"] else 0


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("selftest", help="run the suite on the mutant zoo and print the kill matrix")
    parser.add_argument("--mutant", action="append", metavar="NAME", help="only this mutant (repeatable)")
    parser.add_argument("--all-clauses", action="store_true", help="run every clause's tests on every mutant")
    parser.add_argument("--mutants-only", action="store_true", help="leave out the shipped correct implementations")
    parser.add_argument("--report-dir", type=Path, default=Path("reports/selftest"), metavar="DIR",
                        help="where the run's report and kill-matrix.json go (default reports/selftest)")
    parser.add_argument("-n", dest="workers", default="2", metavar="N",
                        help="pytest-xdist workers, a number or auto; 0 runs in this process (default 2)")
    parser.set_defaults(handler=run)
