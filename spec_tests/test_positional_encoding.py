"""§3.5 Sinusoidal positional encoding: values, range, wavelengths, the relative-position rotation, interleaving."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from reference.positional_encoding import sinusoidal_encoding
from transformer_spec.harness.checker import Checker
from transformer_spec.harness.compare import as_numpy

pytestmark = [pytest.mark.clause("3.5/positional-encoding"), pytest.mark.requires("positional_encoding")]
CLAUSE = "3.5/positional-encoding"


def _pe(checker: Checker, seq_len: int, d_model: int) -> np.ndarray:
    out = checker.call_deterministic(CLAUSE, "positional_encoding", seq_len, d_model)
    checker.assert_close(CLAUSE, f"PE({seq_len} positions, d_model={d_model})", out, sinusoidal_encoding(seq_len, d_model))
    return as_numpy(out)


@given(seq_len=st.integers(1, 64), d_model=st.integers(1, 48))
def test_positional_encoding_matches_reference(checker: Checker, seq_len: int, d_model: int) -> None:
    pe = _pe(checker, seq_len, d_model)
    checker.require(CLAUSE, bool((np.abs(pe) <= 1 + 1e-6).all()), f"|PE| reaches {np.abs(pe).max():.6g}, outside [-1, 1]")


@pytest.mark.precise
@given(d_model=st.sampled_from([4, 6, 16, 32]))
def test_sin_and_cos_interleave(checker: Checker, d_model: int) -> None:
    """Even columns are sines (0 at pos 0), odd columns cosines (1 at pos 0); the first pair is (sin pos, cos pos)."""
    pe = as_numpy(checker.call(CLAUSE, "positional_encoding", 3, d_model))
    expected0 = np.tile([0.0, 1.0], d_model // 2)
    checker.require(CLAUSE, bool(np.allclose(pe[0], expected0, atol=1e-6)),
                    f"PE(0) = {np.round(pe[0][:6], 4).tolist()}..., but should be [0, 1, 0, 1, ...] (sin, cos interleaved)")
    checker.require(CLAUSE, bool(np.allclose(pe[1, :2], [np.sin(1.0), np.cos(1.0)], atol=1e-6)),
                    f"PE(1)[0:2] = {pe[1, :2].tolist()}, but should be [sin 1, cos 1]")


@pytest.mark.precise
@given(d_model=st.sampled_from([8, 12, 20]), k=st.integers(1, 9))
def test_shift_by_k_is_a_fixed_rotation(checker: Checker, d_model: int, k: int) -> None:
    """PE(pos + k) = R_k PE(pos), with R_k a rotation by k / 10000^(2i/d_model) in every (2i, 2i+1) plane."""
    pe = as_numpy(checker.call(CLAUSE, "positional_encoding", 40 + k, d_model))
    omega = 1.0 / np.power(10000.0, np.arange(0, d_model, 2) / d_model)
    c, s = np.cos(k * omega), np.sin(k * omega)
    sin_p, cos_p = pe[:40, 0::2], pe[:40, 1::2]
    rotated = np.empty((40, d_model))
    rotated[:, 0::2], rotated[:, 1::2] = sin_p * c + cos_p * s, cos_p * c - sin_p * s
    err = float(np.abs(rotated - pe[k:]).max())
    checker.require(CLAUSE, err < 1e-4, f"PE(pos + {k}) differs from the rotation of PE(pos) by {err:.3g}: "
                    "the pair (2i, 2i+1) is not a sinusoid of wavelength 2 pi 10000^(2i/d_model)")


def test_distinct_positions_get_distinct_codes(checker: Checker) -> None:
    """Every position up to 2048 has its own code (positions counted in low precision collide)."""
    n = 2048
    pe = as_numpy(checker.call_deterministic(CLAUSE, "positional_encoding", n, 64))
    sq = (pe ** 2).sum(axis=1)
    dist = np.sqrt(np.maximum(sq[:, None] + sq[None, :] - 2 * pe @ pe.T, 0.0)) + np.eye(n) * 1e9
    i, j = np.unravel_index(np.argmin(dist), dist.shape)
    checker.require(CLAUSE, dist.min() > 1e-3, f"positions {i} and {j} of {n} get codes only {dist.min():.3g} apart")
