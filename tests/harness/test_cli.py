"""The command line as a user meets it: real processes of the real ``transformer-spec``.

Misuse is not nonconformance: every usage error exits 2 with one line on stderr naming the problem,
before any test runs and without creating a report folder.  Also: ``--help`` imports no heavy module,
``implementations`` lists the mutant zoo only when asked, and a failing test's rerun command reruns it
from another folder and another shell.
"""
from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.harness.once import once_per_run
from transformer_spec.harness.rerun import rerun_command_line

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(sys.executable).with_name("transformer-spec")
CLI = [str(SCRIPT)] if SCRIPT.is_file() else [sys.executable, "-m", "transformer_spec"]
AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0

ADAPTERS = {
    "bad.py": '''
from typing import Any


class Good:
    name = "good"
    version = "1"
    offers = frozenset({"attention"})
    deviations: dict[str, Any] = {}

    def __init__(self, target: Any) -> None:
        self.target = target

    def attention(self, q: Any, k: Any, v: Any, mask: Any) -> Any:
        raise NotImplementedError


class OffersNone(Good):
    offers = None


class OffersString(Good):
    offers = "attention"


class DeviationsNone(Good):
    deviations = None


class NormSideways(Good):
    deviations = {"norm_position": "sideways"}


class EpsText(Good):
    deviations = {"layer_norm_eps": "x"}


class NameNumber(Good):
    name = 3


class VersionNone(Good):
    version = None


class NeedsWeights(Good):
    def __init__(self, target: Any, weights: str) -> None:
        self.target = target


def returns_none(target: Any) -> None:
    return None
''',
    "syntax_error.py": "class Broken:\n    def method(:\n        pass\n",
    "raises_on_import.py": 'raise RuntimeError("no accelerator driver here")\n',
    "rerun_me.py": '''
import os
from typing import Any

import torch


class ScaledByDk:
    """Eq. (1) with scores divided by d_k ** SPEC_RERUN_POWER: only 0.5 conforms, and without the variable it
    cannot be built."""

    name = "scaled"
    version = "0"
    offers = frozenset({"attention"})
    deviations: dict[str, Any] = {}

    def __init__(self, target: Any) -> None:
        self.power = float(os.environ["SPEC_RERUN_POWER"])

    def attention(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: Any) -> Any:
        scores = q @ k.transpose(-2, -1) / q.shape[-1] ** self.power
        if mask is not None:
            scores = scores.masked_fill(~mask, float("-inf"))
        weights = torch.softmax(scores, dim=-1).nan_to_num(0.0)
        return weights @ v, weights
''',
}

BAD = "{adapters}/bad.py"
"""Cases run each in an empty folder of their own; ``{adapters}`` is the adapters' folder relative to it,
``{file}`` a regular file and ``{readonly}`` a folder nobody may write (except root)."""
USAGE_ERRORS: dict[str, tuple[list[str], str]] = {
    "adapter file with a syntax error": (["--impl", "{adapters}/syntax_error.py:Broken"], "SyntaxError"),
    "adapter file raising on import": (["--impl", "{adapters}/raises_on_import.py:X"],
                                       "RuntimeError: no accelerator driver here"),
    "offers None": (["--impl", f"{BAD}:OffersNone"], "offers must be a set of component names"),
    "offers a string": (["--impl", f"{BAD}:OffersString"], "not 'attention'"),
    "deviations None": (["--impl", f"{BAD}:DeviationsNone"], "deviations must be a mapping"),
    "deviation value not allowed": (["--impl", f"{BAD}:NormSideways"], "norm_position='sideways'"),
    "deviation value of the wrong type": (["--impl", f"{BAD}:EpsText"], "layer_norm_eps='x'"),
    "name not a string": (["--impl", f"{BAD}:NameNumber"], "name must be a non-empty string"),
    "version not a string": (["--impl", f"{BAD}:VersionNone"], "version must be a non-empty string"),
    "factory returning None": (["--impl", f"{BAD}:returns_none"], "is not an implementation"),
    "factory needing arguments": (["--impl", f"{BAD}:NeedsWeights"], "missing 1 required positional argument"),
    "empty impl": (["--impl", ""], "not a registered name"),
    "impl without module": (["--impl", ":Good"], "neither part empty"),
    "impl without attribute": (["--impl", f"{BAD}:"], "neither part empty"),
    "impl given twice": (["--impl", f"{BAD}:Good", "--impl", f"{BAD}:Good"], "is given twice"),
    "impl given twice by two names": (["--impl", "reference", "--impl", "transformer_spec.implementations.adapters.reference:Reference"],
                                      "is given twice (as 'reference')"),
    "report folder under a file": (["--report-dir", "{file}/reports"], "cannot be written"),
    "report folder is a file": (["--report-dir", "{file}"], "exists and is not a folder"),
    "report folder read-only": (["--report-dir", "{readonly}/reports"], "cannot be written"),
    "-k syntax error": (["-k", "scaling and ("], "not a pytest -k expression"),
    "timeout nan": (["--timeout", "nan"], "--timeout='nan': must be a finite positive number"),
    "timeout inf": (["--timeout", "inf"], "--timeout='inf': must be a finite positive number"),
    "timeout zero": (["--timeout", "0"], "--timeout='0.0': must be a finite positive number"),
    "negative workers": (["-n", "-1"], "-n='-1': give a number of workers"),
    "unknown hypothesis profile": (["--hypothesis-profile", "nope"], "invalid choice: 'nope'"),
    "unknown device": (["--device", "tpu"], "--device='tpu'"),
    "unknown option": (["--no-such-option"], "unrecognized arguments: --no-such-option"),
}
"""``transformer-spec run --device cpu <args>`` -> what its one line must say."""
OTHER_COMMANDS: dict[str, tuple[list[str], str]] = {
    "no command": ([], "required: command"),
    "unknown command": (["nope"], "invalid choice: 'nope'"),
    "clauses unknown option": (["clauses", "--tsv"], "unrecognized arguments: --tsv"),
    "selftest unknown mutant": (["selftest", "--mutant", "nope"], "--mutant='nope': no such mutant"),
    "selftest negative workers": (["selftest", "-n", "-1"], "-n='-1': give a number of workers"),
    "selftest report folder under a file": (["selftest", "--mutant", "no-scale", "--report-dir", "{file}/selftest"],
                                            "cannot be written"),
    "train nan time budget": (["train", "--time-budget", "nan"], "--time-budget='nan': must be a finite positive"),
    "train zero steps": (["train", "--max-steps", "0"], "--max-steps='0': must be a finite positive number"),
    "train unknown variant": (["train", "--variant", "nope"], "--variant='nope': choose one of paper"),
    "train missing corpus": (["train", "--corpus", "no-such-corpus"], "--corpus='no-such-corpus': is not a folder"),
    "train output under a file": (["train", "--out", "{file}/run"], "cannot be written"),
}
CASES = {**{f"run: {name}": (["run", "--device", "cpu", *args], problem)
            for name, (args, problem) in USAGE_ERRORS.items()}, **OTHER_COMMANDS}
NOT_HERE = {"run: report folder read-only": "root may write into a read-only folder"} if AS_ROOT else {}
"""Cases that would not be usage errors on this machine (and would start a whole run)."""


@pytest.fixture(scope="module")
def places(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The adapters' folder, a regular file and a read-only folder, shared by the module's tests."""
    root = tmp_path_factory.mktemp("cli")
    adapters = root / "adapters"
    adapters.mkdir()
    for name, source in ADAPTERS.items():
        (adapters / name).write_text(source, encoding="utf-8")
    (root / "a-file").write_text("not a folder\n", encoding="utf-8")
    readonly = root / "readonly"
    readonly.mkdir(mode=0o555)
    return {"root": root, "adapters": adapters, "file": root / "a-file", "readonly": readonly}


def _filled(args: list[str], places: dict[str, Path]) -> list[str]:
    return [a.format(adapters="../../adapters", file=places["file"], readonly=places["readonly"]) for a in args]


def _folder(places: dict[str, Path], case: str) -> Path:
    """The case's own working folder, two levels below the adapters' parent."""
    return places["root"] / "cases" / re.sub(r"\W+", "-", case)


@pytest.fixture(scope="module")
def usage_runs(tmp_path_factory: pytest.TempPathFactory,
               places: dict[str, Path]) -> dict[str, subprocess.CompletedProcess[str]]:
    """Every case as its own process in its own empty folder, a few at a time (each stops at its check)."""
    def one(name: str) -> subprocess.CompletedProcess[str]:
        _folder(places, name).mkdir(parents=True)
        return subprocess.run([*CLI, *_filled(CASES[name][0], places)], cwd=_folder(places, name),
                              capture_output=True, text=True, timeout=300)

    def all_cases() -> dict[str, subprocess.CompletedProcess[str]]:
        cases = [case for case in CASES if case not in NOT_HERE]
        with ThreadPoolExecutor(4) as pool:
            return dict(zip(cases, pool.map(one, cases)))
    return once_per_run(tmp_path_factory, "cli-usage-errors", all_cases)


@pytest.mark.parametrize("case", CASES)
def test_usage_error_is_one_line_and_exit_2(usage_runs: dict[str, subprocess.CompletedProcess[str]],
                                            places: dict[str, Path], case: str) -> None:
    if case in NOT_HERE:
        pytest.skip(NOT_HERE[case])
    (args, problem), done = CASES[case], usage_runs[case]
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("transformer-spec: usage error: "), done.stderr
    assert problem in done.stderr and done.stdout == ""
    assert not any(_folder(places, case).iterdir()), "a usage error left files behind"
    for option, value in zip(args, _filled(args[1:], places)):
        if option in ("--report-dir", "--out"):
            assert not Path(value).is_dir(), f"{option} {value} was created"


def test_help_and_version_import_no_heavy_module() -> None:
    """--help and usage errors stay fast because torch, matplotlib and pytest are imported only by the handlers."""
    script = ("import sys\nfrom transformer_spec.cli import main\n"
              "for argv in (['--version'], ['--help'], ['run', '--help'], ['train', '--help'],\n"
              "             ['selftest', '--help'], ['implementations', '--help'], ['clauses', '--help'],\n"
              "             ['run', '--timeout', 'nan']):\n"
              "    try:\n        main(argv)\n    except SystemExit:\n        pass\n"
              "print(sorted(m for m in ('torch', 'matplotlib', 'pytest') if m in sys.modules))\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "[]"


@pytest.fixture(scope="module")
def listings() -> dict[str, str]:
    """``transformer-spec implementations`` without and with ``--mutants``."""
    def one(flags: tuple[str, ...]) -> str:
        done = subprocess.run([*CLI, "implementations", *flags], cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        return done.stdout
    with ThreadPoolExecutor(2) as pool:
        plain, zoo = pool.map(one, [(), ("--mutants",)])
    return {"plain": plain, "zoo": zoo}


def test_implementations_lists_the_zoo_only_when_asked(listings: dict[str, str]) -> None:
    from transformer_spec.implementations.mutants import MUTANTS
    assert "mutant:" not in listings["plain"] and "variant:" not in listings["plain"]
    assert "transformer-spec  (" in listings["plain"]
    zoo = [line for line in listings["zoo"].splitlines() if line.startswith(("mutant:", "variant:"))]
    listed = sorted(line.split()[0] for line in zoo if line.startswith("mutant:"))
    assert listed == [f"mutant:{m}" for m in sorted(MUTANTS)]
    assert listings["zoo"].endswith("\n".join(zoo) + "\n"), "each mutant and variant takes exactly one line"


def test_train_help_shows_no_path_of_this_machine() -> None:
    done = subprocess.run([*CLI, "train", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "multi30k" in done.stdout
    assert str(ROOT.parent) not in done.stdout


def test_examples_point_to_guides_that_exist() -> None:
    for example in (ROOT / "examples").glob("*.py"):
        for path in re.findall(r"\b(?:docs|examples)/[\w./-]+\.\w+", example.read_text(encoding="utf-8")):
            assert (ROOT / path).is_file(), f"{example.name} points to a missing {path}"
    assert "## Validate your own implementation" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_rerun_command_asks_for_secrets_instead_of_writing_them(places: dict[str, Path],
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    adapter = places["root"] / "secretive.py"
    adapter.write_text('import os\nTOKEN = os.environ["SPEC_TEST_API_TOKEN"]\nPLAIN = os.getenv("SPEC_TEST_PLAIN")\n',
                       encoding="utf-8")
    monkeypatch.setenv("SPEC_TEST_API_TOKEN", "hunter2")
    monkeypatch.setenv("SPEC_TEST_PLAIN", "a b")
    command = rerun_command_line("spec_tests/test_attention.py::test_x[x]", f"{adapter}:Impl", "cpu", "float64")
    assert 'SPEC_TEST_API_TOKEN="${SPEC_TEST_API_TOKEN:?}"' in command and "hunter2" not in command
    assert "SPEC_TEST_PLAIN='a b'" in command


def test_rerun_command_reruns_from_another_folder_and_shell(places: dict[str, Path]) -> None:
    """A relative file adapter that needs an environment variable fails a clause; its Reproduce command, run from
    elsewhere by sh without that variable, reruns exactly that test with the same verdict."""
    first, elsewhere = places["root"] / "first", places["root"] / "elsewhere"
    first.mkdir()
    elsewhere.mkdir()
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "SPEC_RERUN_"))}
    test = "test_scores_are_scaled_by_inverse_sqrt_dk"
    done = subprocess.run([sys.executable, "-m", "pytest", str(ROOT / "spec_tests" / "test_attention.py"), "-k", test,
                           "--impl", "../adapters/rerun_me.py:ScaledByDk", "-n", "0", "--device", "cpu",
                           "-p", "no:cacheprovider", "--hypothesis-profile", "ci"],
                          cwd=first, env={**clean, "SPEC_RERUN_POWER": "1"}, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 1 and "1 failed" in done.stdout, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    command = lines[next(i for i, line in enumerate(lines) if re.fullmatch(r"-+ Reproduce -+", line)) + 1]
    assert command.startswith("SPEC_RERUN_POWER=1 ") and shlex.quote(sys.executable) in command
    rerun = subprocess.run(["sh", "-c", command], cwd=elsewhere, env=clean, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 1 and "1 failed" in rerun.stdout and test in rerun.stdout, rerun.stdout + rerun.stderr
