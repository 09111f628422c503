"""The oracle stays pure: no torch anywhere under reference/, and every clause has a callable reference."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from transformer_spec import reference
from transformer_spec.reference.clauses import CLAUSE_IDS, CLAUSES

REFERENCE_DIR = Path(reference.__file__).parent
SOURCES = sorted(REFERENCE_DIR.rglob("*.py"))


def imported_modules(path: Path) -> set[str]:
    """Top-level names of every module imported by ``path`` (import x.y / from x.y import z)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) in (
                "__import__", "import_module") and node.args and isinstance(node.args[0], ast.Constant):
            names.add(str(node.args[0].value).split(".")[0])
    return names


@pytest.mark.parametrize("path", SOURCES, ids=[p.name for p in SOURCES])
def test_reference_module_does_not_import_torch(path: Path) -> None:
    found = imported_modules(path) & {"torch", "torchvision", "functorch", "jax", "tensorflow"}
    assert not found, f"{path.relative_to(REFERENCE_DIR.parent)} imports {sorted(found)}; the oracle must be pure NumPy"


def test_the_import_scan_would_see_torch(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text("import numpy\nfrom torch.nn import functional\nimportlib.import_module('torch')\n")
    assert imported_modules(probe) == {"numpy", "torch"}, "the import scan misses a torch import"


@pytest.mark.parametrize("clause", CLAUSES, ids=[c.id for c in CLAUSES])
def test_clause_has_a_callable_reference(clause) -> None:
    assert callable(clause.reference), f"clause {clause.id}: reference {clause.reference!r} is not callable"
    module = getattr(clause.reference, "__module__", "")
    assert module.startswith("transformer_spec.reference."), f"clause {clause.id}: reference lives in {module!r}, not reference/"
    assert clause.id.split("/")[0] == clause.section, f"clause {clause.id}: section {clause.section!r}"


def test_clause_ids_are_unique() -> None:
    assert len(CLAUSE_IDS) == len(CLAUSES), "two clauses share an id"
