"""Fixtures of the report tests: the shared spec runs of report_support.py."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import pytest

from report_support import SELECTION, impl_args, run_once


@pytest.fixture(scope="session")
def serial_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """``pytest spec_tests --report-dir`` without xdist."""
    return run_once(tmp_path_factory, "pytest-n0", ["-m", "pytest", "spec_tests", "-p", "transformer_spec.report.plugin",
                                                    "-n", "0", "-q", "--hypothesis-profile", "ci", "-k", SELECTION,
                                                    *impl_args()])


@pytest.fixture(scope="session")
def cli_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """``transformer-spec run -n 2`` on the same selection."""
    return run_once(tmp_path_factory, "cli-n2", ["-m", "transformer_spec", "run", "-n", "2", "-k", SELECTION, *impl_args()])


@pytest.fixture(scope="session")
def load_report() -> Callable[[Path], dict[str, Any]]:
    """Read a report.json."""
    return lambda directory: json.loads((directory / "report.json").read_text(encoding="utf-8"))
