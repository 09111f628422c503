"""The README's commands and sample output are what the project does (docs drift is a test failure).

- The Quick start holds exactly two command lines, and the second is what ``.ci/run`` runs.
- Every ``transformer-spec ...`` line of a code block is accepted by the real command-line parser
  (parsing only: nothing runs, and a device the machine lacks is not asked for).
- The "Read the result" sample is the table a real run of the example adapter prints.
"""
from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from transformer_spec.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"^```[a-z]*\n(.*?)^```$", README, re.S | re.M)


def _section(title: str) -> str:
    return README.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def _commands() -> list[str]:
    lines = [line.split("  #")[0].strip() for block in BLOCKS for line in block.splitlines()]
    return [line for line in lines if line.startswith("transformer-spec ")]


def test_quick_start_is_two_lines_and_the_second_is_what_ci_runs() -> None:
    [block] = re.findall(r"^```bash\n(.*?)^```$", _section("Quick start"), re.S | re.M)
    lines = block.strip().splitlines()
    assert len(lines) == 2, lines
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert lines[1] in ci, f"{lines[1]!r} is not what .ci/run runs"
    assert lines[0].endswith("transformer-spec run"), lines[0]


@pytest.mark.parametrize("command", _commands())
def test_every_readme_command_line_parses(command: str) -> None:
    args = build_parser().parse_args(shlex.split(command)[1:])
    assert callable(args.handler)


def test_the_sample_table_is_what_a_run_of_the_example_prints(tmp_path: Path) -> None:
    section = README.split("### Read the result\n", 1)[1]
    sample = re.search(r"^```\n(.*?)^```$", section, re.S | re.M).group(1).strip().splitlines()  # type: ignore[union-attr]
    done = subprocess.run([sys.executable, "-m", "transformer_spec", "run", "--impl", "examples/my_attention.py:MyAdapter",
                           "--report-dir", str(tmp_path / "reports")], cwd=ROOT, capture_output=True, text=True,
                          timeout=900)
    printed = done.stdout.split("transformer-spec conformance", 1)[1].splitlines()
    table = printed[printed.index(sample[0]):][:len(sample)]
    assert table == sample, "\n".join(printed)
    assert done.returncode == 0
