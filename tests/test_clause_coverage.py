"""Every clause of the registry has at least one spec test, and every spec test names a known clause."""
from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

from transformer_spec import spec_tests
from transformer_spec.reference.clauses import CLAUSE_IDS


def spec_test_clauses() -> dict[str, set[str]]:
    """{test name: clause ids of its ``clause`` markers} over every spec test module."""
    found: dict[str, set[str]] = {}
    for info in pkgutil.iter_modules(spec_tests.__path__):
        if not info.name.startswith("test_"):
            continue
        module = importlib.import_module(f"transformer_spec.spec_tests.{info.name}")
        module_marks = getattr(module, "pytestmark", [])
        module_marks = module_marks if isinstance(module_marks, list) else [module_marks]
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if name.startswith("test_"):
                marks = [*module_marks, *getattr(fn, "pytestmark", [])]
                found[f"{info.name}::{name}"] = {m.args[0] for m in marks if m.name == "clause"}
    return found


def test_every_clause_has_a_spec_test() -> None:
    covered = set().union(*spec_test_clauses().values())
    missing = sorted(CLAUSE_IDS - covered)
    assert not missing, f"clauses without a spec test: {missing}"


@pytest.mark.parametrize("test, clauses", sorted(spec_test_clauses().items()))
def test_every_spec_test_names_known_clauses(test: str, clauses: set[str]) -> None:
    assert clauses, f"{test} is marked with no clause"
    unknown = sorted(clauses - CLAUSE_IDS)
    assert not unknown, f"{test} names unknown clauses {unknown}"
