"""The pytest plugin of the spec suite: options, Hypothesis profiles, the ``checker`` fixture, clause bookkeeping.

Options: ``--impl`` (repeatable; registered name, ``module:attr`` or ``file.py:attr``),
``--device`` (auto, cpu, cuda), ``--dtype`` (float64, float32, float16, bfloat16).
The Hypothesis profile is chosen with Hypothesis's own ``--hypothesis-profile``
(``dev`` by default, ``ci``, ``thorough``).
"""
from __future__ import annotations

import contextlib
import re
from typing import Any, Iterator

from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, Phase, settings
from hypothesis.errors import Unsatisfiable

from transformer_spec.implementations.protocol import Implementation
from transformer_spec.reference.errors import SpecUsageError
from transformer_spec.harness.applicability import not_applicable
from transformer_spec.harness.checker import Checker
from transformer_spec.harness.compare import ImplementationError, NonConformance
from transformer_spec.harness.loading import DEFAULT_IMPL, load
from transformer_spec.harness.rerun import rerun_command_line
from transformer_spec.harness.stash import IMPLS_KEY, STAGING_KEY, TARGET_KEY
from transformer_spec.harness.target import Target, resolve_target
from transformer_spec.harness.paths import inputs_path
from transformer_spec.harness.watchdog import (DEFAULT_MEMORY_GIB, DEFAULT_TIMEOUT, TestTimedOut, Watchdog, memory_cap,
                                               violation_at_time_limit)

_CLAUSE_PREFIX = re.compile(r"^\[([^\]\s]+)\]")
_SUPPRESS = (HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large,
             HealthCheck.filter_too_much)

settings.register_profile("dev", max_examples=15, deadline=None, suppress_health_check=_SUPPRESS)
settings.register_profile("ci", max_examples=15, deadline=None, derandomize=True, database=None, print_blob=True,
                          suppress_health_check=_SUPPRESS)
settings.register_profile("thorough", max_examples=400, deadline=None, suppress_health_check=_SUPPRESS)
settings.register_profile("mutants", max_examples=10, deadline=None, derandomize=True, database=None,
                          phases=(Phase.explicit, Phase.generate), suppress_health_check=_SUPPRESS)
settings.load_profile("dev")



def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("transformer-spec")
    group.addoption("--impl", action="append", default=None, metavar="IMPL",
                    help=f"implementation under test (repeatable; default {DEFAULT_IMPL})")
    group.addoption("--device", default="auto", help="auto, cpu or cuda (default auto)")
    group.addoption("--dtype", default="float64", help="float64, float32, float16 or bfloat16 (default float64)")
    group.addoption("--spec-timeout", type=float, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                    help=f"time limit per test, scaled by its time_limit marker and the implementation's time_factor; "
                         f"it only catches hangs (default {DEFAULT_TIMEOUT:g}; 0 = none)")
    group.addoption("--spec-memory-limit", type=float, default=DEFAULT_MEMORY_GIB, metavar="GIB",
                    help=f"address space of an xdist worker during each spec test on CPU, so that an implementation "
                         f"that allocates without bound errs in its own test (default {DEFAULT_MEMORY_GIB:g}; 0 = none)")
    group.addoption("--focus", action="store_true",
                    help="run only the tests of the clauses an implementation names in its focus_clauses (mutants do)")


def impl_specs(config: pytest.Config) -> list[str]:
    """The ``--impl`` values, in order, without repeats."""
    return list(dict.fromkeys(config.getoption("impl") or [DEFAULT_IMPL]))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "clause(id): the spec clause a test checks (see `transformer-spec clauses`)")
    config.addinivalue_line("markers", "requires(*components): protocol components the test needs")
    config.addinivalue_line("markers", "needs(*capabilities): declarations the test needs (harness.applicability)")
    config.addinivalue_line("markers", "precise: a property with a fixed threshold, checked in float32/float64 only")
    config.addinivalue_line("markers", "gpu: needs a CUDA device; skipped without one")
    config.addinivalue_line("markers", "slow: long-running tier, not part of the default CI run")
    config.addinivalue_line("markers", "time_limit(factor): this test's time limit is factor x --spec-timeout")
    if config.getoption("spec_timeout") > 0:
        config.pluginmanager.register(Watchdog(config.getoption("spec_timeout"), config), "transformer-spec-watchdog")
    torch.set_num_threads(1)  # the suite's tensors are tiny: intra-op threads only add contention between workers
    try:
        target = resolve_target(config.getoption("device"), config.getoption("dtype"))
        config.stash[TARGET_KEY] = target
        config.stash[IMPLS_KEY] = {spec: load(spec, target) for spec in impl_specs(config)}
    except SpecUsageError as exc:
        raise pytest.UsageError(str(exc)) from None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """With ``--focus``, keep an implementation's tests only for the clauses it names in ``focus_clauses``."""
    if not config.getoption("focus"):
        return
    impls, kept, dropped = config.stash[IMPLS_KEY], [], []
    for item in items:
        spec = getattr(item, "callspec", None) and item.callspec.params.get("impl_spec")
        focus = getattr(impls.get(spec), "focus_clauses", None) if spec else None
        clauses = {m.args[0] for m in item.iter_markers("clause")}
        (dropped if focus is not None and not clauses & focus else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "impl_spec" in metafunc.fixturenames:
        specs = impl_specs(metafunc.config)
        metafunc.parametrize("impl_spec", specs, ids=specs)


@pytest.fixture
def target(request: pytest.FixtureRequest) -> Target:
    """The device and dtype of this run."""
    return request.config.stash[TARGET_KEY]


@pytest.fixture
def checker(request: pytest.FixtureRequest, impl_spec: str, target: Target) -> Iterator[Checker]:
    """Calls the implementation under test and judges it; its measurements go into the test report.

    In an xdist worker on CPU the test runs under the memory cap (``--spec-memory-limit``), lifted after it:
    only spec tests are capped, never the project's own tests or the programs they start.
    """
    c = Checker(request.config.stash[IMPLS_KEY][impl_spec], impl_spec, target)
    request.node.user_properties.append(("measurements", c.measurements))
    request.node.user_properties.append(("findings", c.findings))
    gib = request.config.getoption("spec_memory_limit")
    capped = hasattr(request.config, "workerinput") and target.device == "cpu" and gib > 0
    with memory_cap(gib) if capped else contextlib.nullcontext():
        yield c


def pytest_runtest_setup(item: pytest.Item) -> None:
    spec = getattr(item, "callspec", None) and item.callspec.params.get("impl_spec")
    if spec and IMPLS_KEY in item.config.stash:
        reason = not_applicable(item, spec, item.config.stash[IMPLS_KEY][spec], item.config.stash[TARGET_KEY])
        if reason:
            pytest.skip(f"not-applicable: {reason}")


def failure_kind(excinfo: Any, checker: Any) -> str:
    """``fails`` for a violated clause (every one of Hypothesis's distinct failures, or one found before a
    time-out), else ``error``."""
    if excinfo is None:
        return "error"
    if isinstance(excinfo.value, TestTimedOut):
        return "fails" if getattr(checker, "failures", None) else "error"
    errors = _exceptions(excinfo.value)
    return "fails" if all(isinstance(e, (NonConformance, AssertionError)) for e in errors) else "error"


def _exceptions(exc: BaseException) -> list[BaseException]:
    """The leaves of an exception group (Hypothesis reports several distinct failures as one)."""
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for e in exc.exceptions for leaf in _exceptions(e)]
    return [exc]


def violated_clauses(exc: BaseException) -> list[str]:
    """The clauses the failure names: a violation's own, or an error's ``[clause]`` prefix (several in a group)."""
    found = [getattr(e, "clause_id", None) or _CLAUSE_PREFIX.match(str(e)) for e in _exceptions(exc)]
    return list(dict.fromkeys(f if isinstance(f, str) else f.group(1) for f in found if f))


def failure_message(item: pytest.Item, spec: str | None, excinfo: Any) -> str | None:
    """One line per distinct failure, naming clause and implementation; None to keep pytest's own text.

    A time-out after a violation was seen reports the violation (the smallest example found by then);
    an exception of the test's own code means the implementation's output was unusable.
    """
    exc, checker = excinfo.value, getattr(item, "funcargs", {}).get("checker")
    if not isinstance(checker, Checker):
        return None  # not a spec test
    failures = checker.failures
    if isinstance(exc, TestTimedOut):
        return violation_at_time_limit(failures[-1], str(exc)) if failures else str(exc)
    errors = _exceptions(exc)
    if len(errors) == 1 and isinstance(exc, (NonConformance, ImplementationError)):
        return None
    clause = next((m.args[0] for m in item.iter_markers("clause")), "?")
    method = checker.last_call[0] if checker.last_call else "?"
    lines = [str(e).split("\nclause:")[0] if isinstance(e, (NonConformance, ImplementationError)) else
             f"[{clause}] {spec}: the suite could not use what {spec}.{method} returned ({type(e).__name__}: {e})"
             for e in errors]
    return "\n".join(dict.fromkeys(lines))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    outcome = yield
    report = outcome.get_result()
    if report.failed and call.excinfo is not None and call.excinfo.errisinstance(Unsatisfiable):
        report.outcome = "skipped"  # every example needed a shape the implementation raised Unsupported for
        checker = getattr(item, "funcargs", {}).get("checker")
        reasons = list(checker.unsupported) if checker is not None else []
        why = f"the last of {len(reasons)} reasons: {reasons[-1]}" if reasons else "no reason given"
        report.longrepr = (str(item.path), item.location[1] or 0, "Skipped: not-applicable: the implementation "
                           f"supports none of the shapes this test draws ({why})")
    if report.when != "call" and not report.failed:
        return
    spec = getattr(item, "callspec", None) and item.callspec.params.get("impl_spec")
    report.user_properties.append(("clauses", [m.args[0] for m in item.iter_markers("clause")]))
    report.user_properties.append(("impl", spec))
    report.user_properties.append(("components", [c for m in item.iter_markers("requires") for c in m.args]))
    if report.failed:
        kind = failure_kind(call.excinfo, getattr(item, "funcargs", {}).get("checker"))
        message = failure_message(item, spec, call.excinfo) if call.excinfo is not None else None
        if message is not None:
            report.longrepr = message
        report.user_properties.append(("failure_kind", kind))
        if call.excinfo is not None:
            report.user_properties.append(("violated", violated_clauses(call.excinfo.value)))
        report.sections.append(("Reproduce", reproduce_command(item, spec)))
        save_inputs(item)


def save_inputs(item: pytest.Item) -> None:
    """With a report folder, keep the failing call's inputs as ``inputs/<node id>.npz`` for the bundle."""
    directory = item.config.stash.get(STAGING_KEY, None)
    checker = getattr(item, "funcargs", {}).get("checker")
    if directory and isinstance(checker, Checker) and checker.last_call is not None:
        path = inputs_path(directory, item.nodeid)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, **checker.last_inputs())


def reproduce_command(item: pytest.Item, spec: str | None) -> str:
    """One copy-paste command that reruns exactly this test on this implementation, device and dtype."""
    opts = item.config.option
    return rerun_command_line(item.nodeid, spec, item.config.stash[TARGET_KEY].device, opts.dtype,
                              getattr(opts, "hypothesis_profile", None), getattr(opts, "hypothesis_seed", None),
                              item.config.rootpath)
