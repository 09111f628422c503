"""A report folder always holds one whole run: staged beside it, swapped in at the end, locked meanwhile.

A run writes everything (report.json while it goes, then report.html, junit.xml, repro/ and the
failing calls' inputs) into a hidden staging folder next to ``--report-dir``.  A run that
finishes swaps the staging folder in as a whole; an interrupted one leaves the previous report
untouched and puts its partial report beside it as ``<report-dir>.incomplete``; a run killed
outright leaves only its hidden staging folder, removed by the next run.  An advisory lock
(``fcntl.flock``, released by the kernel when the process dies) refuses a second concurrent run
into the same folder.
"""
from __future__ import annotations

import fcntl
import os
import shutil
from pathlib import Path
from typing import IO

from transformer_spec.reference.errors import SpecUsageError

INCOMPLETE_SUFFIX = ".incomplete"
OWN_FILES = frozenset({"report.json", "report.html", "junit.xml"})
"""What every run writes anew (with the folders repro/ and inputs/)."""


class ReportFolder:
    """The staging and publishing of one run's report folder ``final``."""

    def __init__(self, final: Path) -> None:
        self.final = final
        self.staging = final.parent / f".{final.name}.staging-{os.getpid()}"
        self._lock: IO[str] | None = None

    @property
    def incomplete(self) -> Path:
        return self.final.with_name(self.final.name + INCOMPLETE_SUFFIX)

    def check_free(self) -> None:
        """A usage error now, before anything runs, if another run holds the folder's lock (creates nothing)."""
        if (self.final.parent / f".{self.final.name}.lock").is_file():
            self.acquire(staging=False)
            self.release()

    def acquire(self, staging: bool = True) -> None:
        """Take the folder's lock (a usage error if another run holds it) and start a fresh staging folder."""
        self.final.parent.mkdir(parents=True, exist_ok=True)
        lock = open(self.final.parent / f".{self.final.name}.lock", "a+", encoding="utf-8")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder = lock.read().strip() or "another process"
            lock.close()
            raise SpecUsageError("--report-dir", str(self.final),
                                 f"another transformer-spec run ({holder}) is writing this folder; "
                                 "wait for it or choose another --report-dir") from None
        self._lock = lock
        if not staging:
            return
        lock.seek(0), lock.truncate(), lock.write(f"pid {os.getpid()}"), lock.flush()
        for stale in self.final.parent.glob(f".{self.final.name}.staging-*"):  # left by runs that were killed
            shutil.rmtree(stale, ignore_errors=True)
        self.staging.mkdir()

    def publish(self, complete: bool) -> Path:
        """Swap the staged report in (``complete``) or put it beside the previous one; returns where it went."""
        target = self.final if complete else self.incomplete
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        if target.exists():
            self._carry_over(target)
            target.rename(old)
        self.staging.rename(target)
        shutil.rmtree(old, ignore_errors=True)
        if complete:
            shutil.rmtree(self.incomplete, ignore_errors=True)
        return target

    def _carry_over(self, previous: Path) -> None:
        """Files of the previous folder that no report writes (a training run's scores, a kill matrix) stay."""
        for path in previous.iterdir():
            if path.is_file() and path.name not in OWN_FILES and not (self.staging / path.name).exists():
                shutil.copy2(path, self.staging / path.name)

    def discard(self) -> None:
        """Drop the staged files (a run that selected nothing or stopped on a usage error)."""
        shutil.rmtree(self.staging, ignore_errors=True)

    def release(self) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None
