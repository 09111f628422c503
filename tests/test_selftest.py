"""The suite's strength: every mutant of the zoo is killed by its clause, no shipped implementation fails.

Runs the real ``transformer-spec selftest`` (the real suite, real pytest-xdist workers) in a subprocess.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from transformer_spec.implementations.mutants import MUTANTS

ROOT = Path(__file__).resolve().parents[1]


def test_selftest_kills_every_mutant_and_passes_the_correct_implementations(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "transformer_spec", "selftest", "-n", "2", "--report-dir", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=900)
    tail = done.stdout[-3000:]
    matrix = json.loads((tmp_path / "kill-matrix.json").read_text())
    survivors = [m for m, mutant in MUTANTS.items() if matrix[m].get(mutant.clause) not in ("fails", "error")]
    assert not survivors, f"mutants not killed by their clause: {survivors}\n{tail}"
    assert done.returncode == 0, f"selftest exited {done.returncode} (a correct implementation failed?)\n{tail}"
