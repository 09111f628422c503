"""Expensive set-up that the xdist workers of one run share: the first worker computes it, the others read it."""
from __future__ import annotations

import os
import pickle
from typing import Callable, TypeVar

import pytest
from filelock import FileLock

T = TypeVar("T")


def once_per_run(tmp_path_factory: pytest.TempPathFactory, key: str, compute: Callable[[], T]) -> T:
    """``compute()`` once per pytest run, however many xdist workers ask (the pattern of pytest-xdist's docs)."""
    if "PYTEST_XDIST_WORKER" not in os.environ:
        return compute()
    shared = tmp_path_factory.getbasetemp().parent / f"{key}.pickle"  # the run's folder, above each worker's own
    with FileLock(f"{shared}.lock"):
        if not shared.is_file():
            shared.write_bytes(pickle.dumps(compute()))
        return pickle.loads(shared.read_bytes())
