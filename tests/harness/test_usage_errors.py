"""Usage errors of ``--impl``, ``--device`` and ``--dtype``: one line naming the option, never a verdict.

Through ``load``/``resolve_target`` directly, through pytest (its usage error,
exit code 4) and through the command line (exit code 2).  The command line's other usage errors, as
real processes, are in ``test_cli.py``.
"""
from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import torch

from transformer_spec.reference.errors import SpecUsageError
from tests.harness.once import once_per_run
from transformer_spec.cli import main
from transformer_spec.harness.loading import load
from transformer_spec.harness.target import Target, resolve_target

ROOT = Path(__file__).resolve().parents[2]
MODULE = "tests/harness/misbehaving.py"
NO_CUDA = pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")

BAD_IMPLS = {
    "unknown name": ("no-such-impl", "not a registered name"),
    "module not found": ("no_such_package.adapter:Impl", "module 'no_such_package' not found"),
    "file not found": ("tests/harness/no_such_file.py:Impl", "does not exist"),
    "attribute missing": (f"{MODULE}:NoSuchClass", "has no attribute 'NoSuchClass'"),
    "not an implementation": (f"{MODULE}:NotAnImplementation", "is not an implementation"),
    "not a factory": (f"{MODULE}:NOT_A_FACTORY", "must name a factory"),
    "unknown component": (f"{MODULE}:OffersUnknown", "offers unknown components ['time_travel']"),
    "fails to build": (f"{MODULE}:FailsToBuild", "building it failed: OSError: cannot open weights.bin"),
}
BAD_TARGETS = {
    "unknown device": (("tpu", "float64"), "--device='tpu'"),
    "unknown dtype": (("cpu", "float8"), "--dtype='float8'"),
}


@pytest.mark.parametrize("spec, problem", BAD_IMPLS.values(), ids=BAD_IMPLS)
def test_load_rejects(spec: str, problem: str) -> None:
    with pytest.raises(SpecUsageError, match="^--impl=") as info:
        load(spec, Target())
    assert problem in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("args, problem", BAD_TARGETS.values(), ids=BAD_TARGETS)
def test_resolve_target_rejects(args: tuple[str, str], problem: str) -> None:
    with pytest.raises(SpecUsageError, match=problem):
        resolve_target(*args)


@NO_CUDA
def test_cuda_without_cuda_is_a_usage_error() -> None:
    with pytest.raises(SpecUsageError, match="no usable CUDA device"):
        resolve_target("cuda", "float64")


THROUGH_PYTEST = ("unknown name", "not an implementation")  # the others take the same path: checked in-process
PYTEST_CASES = {**{name: (["--impl", BAD_IMPLS[name][0]], BAD_IMPLS[name][1]) for name in THROUGH_PYTEST},
                **{name: (["--device", d, "--dtype", t], problem) for name, ((d, t), problem) in BAD_TARGETS.items()},
                **({} if torch.cuda.is_available() else {"cuda without cuda": (["--device", "cuda"], "no usable CUDA")})}


@pytest.fixture(scope="module")
def pytest_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, subprocess.CompletedProcess[str]]:
    """Each case as its own pytest process, a few at a time (each only loads and stops); the other ``--impl``
    errors take the same path and are checked in-process and through the command line."""
    def one(args: list[str]) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "pytest", "spec_tests/test_attention.py", *args, "-n", "0",
                   "-p", "no:cacheprovider", "-q"]
        return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)

    def all_cases() -> dict[str, subprocess.CompletedProcess[str]]:
        with ThreadPoolExecutor(4) as pool:
            return dict(zip(PYTEST_CASES, pool.map(one, (args for args, _ in PYTEST_CASES.values()))))
    return once_per_run(tmp_path_factory, "usage-errors", all_cases)


@pytest.mark.parametrize("case", PYTEST_CASES)
def test_pytest_reports_a_usage_error(pytest_runs: dict[str, subprocess.CompletedProcess[str]], case: str) -> None:
    done, problem = pytest_runs[case], PYTEST_CASES[case][1]
    assert done.returncode == pytest.ExitCode.USAGE_ERROR, done.stdout + done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("ERROR:")]
    assert len(lines) == 1 and problem in lines[0], done.stderr


def test_command_line_usage_error_exits_2() -> None:
    done = subprocess.run([sys.executable, "-m", "transformer_spec", "clauses", "--no-such-option"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("transformer-spec: usage error:")


@pytest.mark.parametrize("spec, problem", BAD_IMPLS.values(), ids=BAD_IMPLS)
def test_command_line_run_rejects(capsys: pytest.CaptureFixture[str], spec: str, problem: str) -> None:
    assert main(["run", "--impl", spec]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and problem in err
