"""§3.5 Sinusoidal positional encoding: values, range, wavelengths, the relative-position rotation, interleaving.

A declared ``pe_layout`` (sines and cosines in two halves) or ``pe_offset`` (first position) is
checked instead of the paper's interleaved columns from position 0; under a declared
``positional_encoding_kind="learned"`` (§3.5's alternative) the clause is not applicable.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from transformer_spec.reference.config import TransformerConfig
from transformer_spec.reference.positional_encoding import sinusoidal_encoding
from transformer_spec.harness.checker import Checker
from transformer_spec.harness.compare import as_numpy

pytestmark = [pytest.mark.clause("3.5/positional-encoding"), pytest.mark.requires("positional_encoding"),
              pytest.mark.needs("sinusoids")]
CLAUSE = "3.5/positional-encoding"


def _declared(checker: Checker) -> TransformerConfig:
    """The paper's configuration with the implementation's declared deviations (pe_layout, pe_offset)."""
    return checker.config(TransformerConfig())


def _describe(config: TransformerConfig) -> str:
    return f"{config.pe_layout} layout, positions from {config.pe_offset}"


def _sines_cosines(pe: np.ndarray, config: TransformerConfig) -> tuple[np.ndarray, np.ndarray]:
    """The sine columns and their cosine partners, frequency i in column i of each; even d_model."""
    if config.pe_layout == "halves":
        return pe[:, : pe.shape[1] // 2], pe[:, pe.shape[1] // 2:]
    return pe[:, 0::2], pe[:, 1::2]


def _pe(checker: Checker, seq_len: int, d_model: int) -> np.ndarray:
    config = _declared(checker)
    out = checker.call_deterministic(CLAUSE, "positional_encoding", seq_len, d_model)
    checker.assert_close(CLAUSE, f"PE({seq_len} positions, d_model={d_model}, {_describe(config)})", out,
                         sinusoidal_encoding(seq_len, d_model, config.pe_layout, config.pe_offset))
    return as_numpy(out)


@given(seq_len=st.integers(1, 64), d_model=st.integers(1, 48))
def test_positional_encoding_matches_reference(checker: Checker, seq_len: int, d_model: int) -> None:
    pe = _pe(checker, seq_len, d_model)
    checker.require(CLAUSE, bool((np.abs(pe) <= 1 + 1e-6).all()), f"|PE| reaches {np.abs(pe).max():.6g}, outside [-1, 1]")


@pytest.mark.precise
@given(d_model=st.sampled_from([4, 6, 16, 32]))
def test_sin_and_cos_interleave(checker: Checker, d_model: int) -> None:
    """Even columns are sines (0 at pos 0), odd columns cosines (1 at pos 0); the first pair is (sin pos, cos pos).

    Under a declared layout or offset: the sines and cosines sit where it says, of the positions it counts.
    """
    config = _declared(checker)
    pe = as_numpy(checker.call(CLAUSE, "positional_encoding", 3, d_model))
    sines, cosines = _sines_cosines(pe, config)
    pos, omega = config.pe_offset + np.arange(2), 10000.0 ** (-np.arange(0, d_model, 2) / d_model)
    pattern = "[sin, cos, sin, cos, ...]" if config.pe_layout == "interleaved" else "[sin, ..., sin, cos, ..., cos]"
    first = [sines[0] - np.sin(pos[0] * omega), cosines[0] - np.cos(pos[0] * omega)]
    checker.require(CLAUSE, bool(np.allclose(first, 0.0, atol=1e-6)),
                    f"the first row = {np.round(pe[0][:6], 4).tolist()}..., but should be the code of position "
                    f"{pos[0]} laid out {pattern} ({_describe(config)}, d_model={d_model})")
    second = [sines[1, 0], cosines[1, 0]]
    checker.require(CLAUSE, bool(np.allclose(second, [np.sin(pos[1]), np.cos(pos[1])], atol=1e-6)),
                    f"the second row's first (sine, cosine) pair = {second}, but should be "
                    f"[sin {pos[1]}, cos {pos[1]}] ({_describe(config)})")


@pytest.mark.precise
@given(d_model=st.sampled_from([8, 12, 20]), k=st.integers(1, 9))
def test_shift_by_k_is_a_fixed_rotation(checker: Checker, d_model: int, k: int) -> None:
    """PE(pos + k) = R_k PE(pos), with R_k a rotation by k / 10000^(2i/d_model) in every (2i, 2i+1) plane."""
    config = _declared(checker)
    pe = as_numpy(checker.call(CLAUSE, "positional_encoding", 40 + k, d_model))
    omega = 1.0 / np.power(10000.0, np.arange(0, d_model, 2) / d_model)
    c, s = np.cos(k * omega), np.sin(k * omega)
    sin_p, cos_p = _sines_cosines(pe[:40], config)
    sin_k, cos_k = _sines_cosines(pe[k:], config)
    err = float(max(np.abs(sin_p * c + cos_p * s - sin_k).max(), np.abs(cos_p * c - sin_p * s - cos_k).max()))
    checker.require(CLAUSE, err < 1e-4, f"PE(pos + {k}) differs from the rotation of PE(pos) by {err:.3g}: "
                    f"the (sine, cosine) pair of frequency i is not a sinusoid of wavelength 2 pi 10000^(2i/d_model) "
                    f"({_describe(config)})")


def test_distinct_positions_get_distinct_codes(checker: Checker) -> None:
    """Every position up to 2048 has its own code (positions counted in low precision collide)."""
    n = 2048
    pe = as_numpy(checker.call_deterministic(CLAUSE, "positional_encoding", n, 64))
    sq = (pe ** 2).sum(axis=1)
    dist = np.sqrt(np.maximum(sq[:, None] + sq[None, :] - 2 * pe @ pe.T, 0.0)) + np.eye(n) * 1e9
    i, j = np.unravel_index(np.argmin(dist), dist.shape)
    checker.require(CLAUSE, dist.min() > 1e-3, f"positions {i} and {j} of {n} get codes only {dist.min():.3g} apart")
