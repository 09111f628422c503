"""Helpers of the report tests: shared spec runs, each run once per test session whatever the xdist worker.

The runs cover a small ``-k`` selection on four implementations (tests/report/impls.py) so that every
status appears: reference conforms, WrongScale fails, Crashing errors, NanMasked deviates.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import filelock
import pytest

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "transformer_spec" / "report" / "schema" / "report.schema.json"
IMPLS = [f"tests/report/impls.py:{name}" for name in ("WrongScale", "Crashing", "NanMasked")]
SELECTION = "scaling_queries or fully_masked"


def impl_args(*extra: str) -> list[str]:
    """``--impl`` options: the reference, the three report impls, then ``extra``."""
    return [arg for spec in ("reference", *IMPLS, *extra) for arg in ("--impl", spec)]


def run_once(tmp_path_factory: pytest.TempPathFactory, name: str, argv: list[str]) -> dict[str, Any]:
    """Run ``python argv`` in the project root once per session; returns its folder, exit code and output."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base  # xdist: popen-gwN's parent is shared
    folder = shared / name
    with filelock.FileLock(str(shared / f"{name}.lock")):
        done = folder / "run.json"
        if not done.is_file():
            folder.mkdir(exist_ok=True)
            env = {**os.environ, "PYTHONPATH": str(ROOT)}
            proc = subprocess.run([sys.executable, *argv, "--report-dir", str(folder / "reports")], cwd=ROOT,
                                  capture_output=True, text=True, timeout=300, env=env)
            done.write_text(json.dumps({"code": proc.returncode, "out": proc.stdout + proc.stderr}))
    return {"dir": folder / "reports", **json.loads((folder / "run.json").read_text())}
