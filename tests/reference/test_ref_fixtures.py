"""The committed golden data equals a fresh run of ``python -m transformer_spec.fixtures.generate`` (so nobody edits it by hand)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from transformer_spec.fixtures.generate import GENERATOR_VERSION, GOLDEN, SEED, generate

TOTAL_LIMIT = 1_000_000  # bytes
GOLDEN_ATOL, GOLDEN_RTOL = 1e-14, 1e-13
"""float64 rounding of the same equations on another machine's BLAS (matmul summation order): seen 1.2e-15 on
forward.npz with NumPy 2.4; any change of an equation moves values by far more."""


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("golden")
    generate(out)
    return out


def test_committed_files_are_the_generated_files(fresh: Path) -> None:
    committed, generated = sorted(p.name for p in GOLDEN.iterdir()), sorted(p.name for p in fresh.iterdir())
    assert committed == generated, f"fixtures/golden holds {committed}; the generator writes {generated}"


@pytest.mark.parametrize("name", sorted(p.name for p in GOLDEN.glob("*.npz")))
def test_golden_arrays_reproduce(fresh: Path, name: str) -> None:
    with np.load(GOLDEN / name) as old, np.load(fresh / name) as new:
        assert sorted(old.files) == sorted(new.files), f"{name}: committed arrays {old.files} vs generated {new.files}"
        for key in old.files:
            a, b = old[key], new[key]
            assert a.shape == b.shape and a.dtype == b.dtype, f"{name}[{key}]: {a.shape} {a.dtype} vs {b.shape} {b.dtype}"
            if a.dtype.kind == "f":
                diff = np.where(np.isnan(a) & np.isnan(b), 0.0, np.abs(a - b))
                allowed = GOLDEN_ATOL + GOLDEN_RTOL * np.abs(np.nan_to_num(a))
                assert not np.isnan(diff).any() and (diff <= allowed).all(), \
                    f"{name}[{key}] differs from a fresh `python -m transformer_spec.fixtures.generate` by {np.nanmax(diff)} " \
                    f"(allowed {GOLDEN_ATOL:g} + {GOLDEN_RTOL:g} * |value|)"
            else:
                assert np.array_equal(a, b), f"{name}[{key}] differs from a fresh `python -m transformer_spec.fixtures.generate`"


def test_metadata_and_size() -> None:
    meta = json.loads((GOLDEN / "metadata.json").read_text())
    assert meta["seed"] == SEED and meta["generator_version"] == GENERATOR_VERSION, \
        f"metadata.json says seed {meta['seed']} version {meta['generator_version']}: regenerate the fixtures"
    assert {"numpy_version", "files"} <= set(meta), f"metadata.json lacks numpy_version or files: {sorted(meta)}"
    total = sum(p.stat().st_size for p in GOLDEN.iterdir())
    assert total < TOTAL_LIMIT, f"fixtures/golden is {total} bytes; keep it under {TOTAL_LIMIT}"
