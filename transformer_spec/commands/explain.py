"""``transformer-spec run --explain``: per clause, which spec tests would run for each implementation and why
the others would not, without running any.

The suite is collected (not run) with the run's own options, and every test is judged by the rule the run
itself applies before a test starts (:func:`transformer_spec.harness.applicability.not_applicable`), so the
explanation and the run cannot disagree; only ``Unsupported`` raised by a call stays a run-time decision.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import pytest

from transformer_spec.harness.applicability import RUN_TIME_RULE, clauses_of, components_of, needs_of, not_applicable
from transformer_spec.harness.stash import IMPLS_KEY, TARGET_KEY
from transformer_spec.implementations.protocol import declared_shapes
from transformer_spec.reference.clauses import CLAUSES


@dataclass(frozen=True)
class Verdict:
    """What the run would do with one collected test of one implementation."""

    test: str  # file::name, without the implementation's parameter
    clauses: tuple[str, ...]
    needs: tuple[str, ...]  # components, then capabilities
    reason: str | None  # None: it runs


class Explainer:
    """A pytest plugin that records, at collection, what the run would do with each test."""

    def __init__(self) -> None:
        self.verdicts: dict[str, list[Verdict]] = defaultdict(list)
        self.config: pytest.Config | None = None

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        for item in items:
            self._record(item, self._deselection_reason(item))

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        self.config = config
        for item in items:
            spec = _spec_of(item)
            impl = config.stash[IMPLS_KEY][spec]
            self._record(item, not_applicable(item, spec, impl, config.stash[TARGET_KEY]))

    def _deselection_reason(self, item: pytest.Item) -> str:
        if item.config.getoption("no_training") and "translation" in components_of(item):
            return "deselected by --no-training"
        focus = getattr(item.config.stash[IMPLS_KEY][_spec_of(item)], "focus_clauses", None)
        if focus is not None and not set(clauses_of(item)) & focus:
            return "outside the clauses this mutant or variant focuses on"
        return "deselected by -k"

    def _record(self, item: pytest.Item, reason: str | None) -> None:
        test = item.nodeid.split("[")[0].rsplit("/", 1)[-1]
        needs = tuple(components_of(item)) + tuple(needs_of(item))
        self.verdicts[_spec_of(item)].append(Verdict(test, tuple(clauses_of(item)), needs, reason))


def _spec_of(item: pytest.Item) -> str:
    return item.callspec.params["impl_spec"]


def _declarations(impl: Any) -> list[str]:
    deviations = ", ".join(f"{k}={v!r}" for k, v in impl.deviations.items()) or "none"
    shapes = declared_shapes(impl)
    return [f"  declared deviations: {deviations} (a clause they touch is checked against them and reads deviates)",
            f"  differentiable: {'yes' if getattr(impl, 'differentiable', False) else 'no'}; shapes: "
            + ("d_k = d_v = d_model / heads only" if shapes.heads_divide_d_model else "any d_k, d_v"),
            f"  offers: {', '.join(sorted(impl.offers))}"]


def explanation(spec: str, impl: Any, target: Any, verdicts: list[Verdict]) -> list[str]:
    """The lines printed for one implementation."""
    by_clause: dict[str, list[Verdict]] = defaultdict(list)
    for verdict in verdicts:
        for clause in verdict.clauses:
            by_clause[clause].append(verdict)
    lines = [f"{spec} ({impl.name} {impl.version}) on {target.device}/{target.dtype}", *_declarations(impl), ""]
    for clause in CLAUSES:
        tests = by_clause.get(clause.id, [])
        running = [v for v in tests if v.reason is None]
        declared = [f"{k}={v!r}" for k, v in impl.deviations.items() if k in clause.governed_by]
        lines.append(f"{clause.id}: {len(running)} of {len(tests)} tests run"
                     + ("" if running else " - the clause will read not-applicable")
                     + (f" - judged against the declared {', '.join(declared)}" if running and declared else ""))
        width = max((len(v.test) for v in tests), default=0)
        for v in tests:
            why = f"runs (needs {', '.join(v.needs) or 'nothing'})" if v.reason is None else f"skips: {v.reason}"
            lines.append(f"  {v.test.ljust(width)}  {why}")
    runs = sum(v.reason is None for v in verdicts)
    covered = sum(any(v.reason is None for v in by_clause.get(c.id, [])) for c in CLAUSES)
    lines += ["", f"{runs} of {len(verdicts)} tests run, covering {covered} of {len(CLAUSES)} clauses; "
                  f"{RUN_TIME_RULE}."]
    return lines


def explain(argv: list[str]) -> int:
    """Collect the suite with the run's pytest arguments ``argv`` and print the explanation; exit code 0."""
    explainer = Explainer()
    code = pytest.main([*argv, "--collect-only", "-n", "0", "-p", "no:terminal"], plugins=[explainer])
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED) or explainer.config is None:
        return int(code)
    config = explainer.config
    for spec, verdicts in explainer.verdicts.items():
        print("\n".join(explanation(spec, config.stash[IMPLS_KEY][spec], config.stash[TARGET_KEY], verdicts)))
    return 0
