"""The committed verdict tables of the shipped library adapters (docs/libraries/) are what a fresh run gives.

Each runs ``transformer-spec run --impl <library>`` with the derandomised ``ci`` profile, as
``docs/libraries/generate.py`` does, so the tables cannot go stale unnoticed.
Without a library's extra installed its test is skipped.  Measured errors (``off by 5.73e-08``) are compared
without their digits: they are this machine's rounding, the statuses and reasons are the verdict.
"""
from __future__ import annotations

import difflib
import importlib.util
import re
from pathlib import Path
from types import ModuleType

import pytest

from transformer_spec.harness.loading import LIBRARIES, Library

DOCS = Path(__file__).resolve().parents[2] / "docs" / "libraries"
FIGURE = re.compile(r"\d+(?:\.\d+)?e[-+]?\d+")


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("verdict_tables_generator", DOCS / "generate.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


IN_CI = ("hf-marian",)
"""The tables checked in the default CI run: hf-marian's, the run that exercises the most components.  The JAX
runs compile a kernel per drawn shape (about a minute each), so their tables are checked in the slow tier; their
adapters run in CI through tests/libraries/test_flax_attention.py and test_keras_mha.py."""


@pytest.mark.parametrize("library", [lib if lib.name in IN_CI else pytest.param(lib, marks=pytest.mark.slow)
                                     for lib in LIBRARIES], ids=[lib.name for lib in LIBRARIES])
def test_the_committed_verdict_table_is_a_fresh_run(library: Library, tmp_path: Path) -> None:
    if importlib.util.find_spec(library.module) is None:
        pytest.skip(f"{library.module} is not installed (pip install 'transformer-spec[{library.extra}]')")
    generator = _generator()
    fresh = generator.page(library, generator.run(library, tmp_path / "report", workers=0))  # in-process: no worker to start
    fresh, committed = (FIGURE.sub("<figure>", text) for text in (fresh, (DOCS / f"{library.name}.md").read_text()))
    diff = "\n".join(difflib.unified_diff(committed.splitlines(), fresh.splitlines(), "committed", "fresh", lineterm=""))
    assert fresh == committed, f"docs/libraries/{library.name}.md is stale; rerun python docs/libraries/generate.py " \
                               f"{library.name}:\n{diff}"
