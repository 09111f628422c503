"""Limits that contain a hostile implementation: a time limit per test, a memory cap per spec test.

The time limit only catches hangs, and is reported as a time-out, never as a crash.  It is generous
and scaled to the work: ``--spec-timeout`` seconds times the test's ``time_limit(factor)`` marker
(training) times the implementation's declared ``time_factor`` (slow implementations).  Verdicts
never depend on it: training is bounded by steps.

At the limit the test's thread gets :class:`TestTimedOut` (a ``BaseException``, so neither
Hypothesis nor an implementation's ``except Exception`` swallows it) and the run goes on.  Code
stuck outside Python cannot be interrupted: after a grace period the worker process writes a
note for the controller (``timeouts/`` in the staged report folder) and exits, and the report
reads the note instead of "worker crashed".

The memory cap (``--spec-memory-limit`` GiB of address space, set by the ``checker`` fixture for
the duration of a spec test in an xdist worker, on CPU only: CUDA reserves far more address space
than it uses) turns an implementation that allocates without bound into a ``MemoryError`` or a
failed allocation in its own call, an ``error`` of that test, before the kernel's OOM killer
picks a process.
"""
from __future__ import annotations

import contextlib
import json
import os
import resource
import signal
import threading
from typing import Any, Iterator

import pytest

from transformer_spec.harness.paths import note_path
from transformer_spec.harness.stash import IMPLS_KEY, STAGING_KEY

DEFAULT_TIMEOUT = 300.0
"""Seconds per test before the scaling: far above what any test of a correct implementation needs, even busy."""
DEFAULT_MEMORY_GIB = 8.0
"""Address space per spec test: ten times what the suite's largest test uses (the training test: under 1 GiB)."""


@contextlib.contextmanager
def memory_cap(gib: float) -> Iterator[None]:
    """This process's address space limited to ``gib`` GiB (never above the hard limit) until the block ends."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = int(gib * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (cap if hard == resource.RLIM_INFINITY else min(cap, hard), hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def violation_at_time_limit(violation: str, timeout: str) -> str:
    """The report of a test that found a violation and was still shrinking it when its time ran out."""
    return f"{violation}\n({timeout}; Hypothesis was still shrinking: the example is the smallest found by then)"


class TestTimedOut(BaseException):
    """Raised in the test's thread when it outlives its time limit."""

    __test__ = False


def _raise_timeout(signum: int, frame: Any) -> None:
    if Watchdog.pending is not None:  # None: the test ended while the signal was on its way
        raise TestTimedOut(Watchdog.pending)


class Watchdog:
    """The pytest plugin object that arms one timer per test."""

    pending: str | None = None  # the message the signal handler raises (set just before the signal)

    def __init__(self, base: float, config: pytest.Config) -> None:
        self.base, self.config = base, config
        self.phase = "setup"
        self._can_signal = threading.current_thread() is threading.main_thread()
        if self._can_signal:
            signal.signal(signal.SIGALRM, _raise_timeout)

    def limit(self, item: pytest.Item, impl: Any) -> float:
        marker = item.get_closest_marker("time_limit")
        factor = float(marker.args[0]) if marker else 1.0
        return self.base * factor * float(getattr(impl, "time_factor", 1.0))

    def message(self, item: pytest.Item, limit: float) -> str:
        checker = getattr(item, "funcargs", {}).get("checker")
        phase = self.phase
        if phase == "call" and getattr(checker, "failures", None):
            phase = "call, while Hypothesis shrank a failing example"
        return f"timed out after {limit:g} s in {item.nodeid} ({phase})"

    def _write_note(self, item: pytest.Item, message: str) -> None:
        folder = self.config.stash.get(STAGING_KEY, None)
        if folder is None:
            return
        checker = getattr(item, "funcargs", {}).get("checker")
        path = note_path(folder, item.nodeid)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"message": message, "failures": list(getattr(checker, "failures", []))}))

    def _soft(self, item: pytest.Item, limit: float) -> None:
        Watchdog.pending = self.message(item, limit)
        self._write_note(item, Watchdog.pending)
        if self._can_signal:  # a real signal, so that a blocking call in the test's thread returns (EINTR)
            signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGALRM)

    def _hard(self, item: pytest.Item, limit: float) -> None:
        self._write_note(item, self.message(item, limit) + "; it did not return to Python, so its worker was stopped")
        os._exit(3)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
        self._can_signal = self._can_signal and threading.current_thread() is threading.main_thread()
        spec = getattr(item, "callspec", None) and item.callspec.params.get("impl_spec")
        limit = self.limit(item, item.config.stash[IMPLS_KEY].get(spec))
        timers = [threading.Timer(limit, self._soft, (item, limit)),
                  threading.Timer(limit + max(30.0, limit / 4), self._hard, (item, limit))]
        for timer in timers:
            timer.daemon = True
            timer.start()
        try:
            yield
        finally:
            Watchdog.pending = None
            for timer in timers:
                timer.cancel()

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> Iterator[None]:
        self.phase = "setup"
        yield

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Iterator[None]:
        self.phase = "call"
        yield

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_teardown(self, item: pytest.Item) -> Iterator[None]:
        self.phase = "teardown"
        yield
