"""File names the harness and the report agree on: a test's files in the staged report folder."""
from __future__ import annotations

import re
from pathlib import Path

INPUTS, TIMEOUT_NOTES = "inputs", "timeouts"


def safe_name(text: str) -> str:
    """``text`` as one path component: ``/`` becomes ``_``, anything unusual ``-``."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text.replace("/", "_")).strip("-") or "_"


def inputs_path(folder: Path, nodeid: str) -> Path:
    """Where the failing call's arrays of test ``nodeid`` are saved (``.npz``)."""
    return folder / INPUTS / f"{safe_name(nodeid)}.npz"


def note_path(folder: Path, nodeid: str) -> Path:
    """Where a worker stopped by the time limit leaves its note on test ``nodeid``."""
    return folder / TIMEOUT_NOTES / f"{safe_name(nodeid)}.json"
