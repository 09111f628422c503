"""Cases that only a real violation can fail: padding on every side, large attention scores, perturbations
that no LayerNorm or softmax removes.

A property test must change what the clause says matters.  Adding one constant to every feature of a
position is removed by a LayerNorm in front of the sub-layer (the declared pre-norm variant), and adding one
constant to every score of a query is removed by the softmax; :func:`perturbation` is neither.  Padding only
on the right is hidden by causality; :func:`scatter_padding` pads on the left, in the middle and on the right.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st

from .strategies import SEEDS, attention_mask, distinct_sizes


def perturbation(shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """A random change of each feature vector that is no shift and no rescaling of it (LayerNorm keeps it).

    Shapes: (..., d_model) with d_model >= 2; every vector has mean 0 and norm sqrt(d_model), so it is
    orthogonal to the constant direction that LayerNorm projects out.
    """
    delta = rng.normal(size=shape)
    delta -= delta.mean(axis=-1, keepdims=True)
    return delta * np.sqrt(shape[-1]) / np.linalg.norm(delta, axis=-1, keepdims=True)


def scatter_padding(tokens: np.ndarray, pad_id: int, rng: np.random.Generator) -> np.ndarray:
    """``tokens`` (batch, seq) with padding on the left, in the middle and on the right, one real token at least.

    Example i (cyclically) pads on the left, in the middle or on the right; the padded positions are a
    random run of up to seq - 1 positions.  Only for masks given explicitly: with positional encodings,
    padding before a real token moves it.
    """
    out = tokens.copy()
    batch, seq = tokens.shape
    for i in range(batch):
        count = int(rng.integers(1, seq)) if seq > 1 else 0
        start = (0, (seq - count + 1) // 2, seq - count)[i % 3]
        out[i, start:start + count] = pad_id
    return out


@dataclass(frozen=True)
class LargeScoreCase:
    """Inputs of Eq. (1) whose scores all lie near ``offset`` (hundreds to thousands), spread by about 1.

    q = z_q + a e and k = z_k + sign * a e with z orthogonal to a unit vector e and a^2 = |offset| sqrt(d_k),
    so every score is sign * |offset| + z_q . z_k / sqrt(d_k): far beyond exp's range in float32 (88.7) and
    float64 (709.8), yet the weights are as spread as for ordinary scores.  Only the max-subtraction
    (softmax's shift invariance) computes them.
    """

    batch: int
    heads: int
    seq_q: int
    seq_k: int
    d_k: int
    d_v: int
    offset: float
    mask: str
    seed: int

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
        """q (batch, heads, seq_q, d_k), k (..., seq_k, d_k), v (..., seq_k, d_v), a mask or None."""
        rng = np.random.default_rng(self.seed)
        e = rng.normal(size=(self.batch, self.heads, 1, self.d_k))
        e /= np.linalg.norm(e, axis=-1, keepdims=True)
        a = np.sqrt(abs(self.offset) * np.sqrt(self.d_k))
        z_q, z_k = (rng.normal(size=(self.batch, self.heads, n, self.d_k)) for n in (self.seq_q, self.seq_k))
        z_q, z_k = (z - (z * e).sum(-1, keepdims=True) * e for z in (z_q, z_k))
        q, k = z_q + a * e, z_k + np.sign(self.offset) * a * e
        v = rng.normal(size=(self.batch, self.heads, self.seq_k, self.d_v))
        return q, k, v, attention_mask(self.mask, self.batch, self.seq_q, self.seq_k, rng)


@st.composite
def large_score_cases(draw: st.DrawFn) -> LargeScoreCase:
    """Small shapes, every axis of its own size, scores near -5000 ... 5000."""
    batch, heads, seq_q, seq_k, d_k, d_v = draw(distinct_sizes(6), label="batch, heads, seq_q, seq_k, d_k, d_v")
    offset = draw(st.sampled_from([5000.0, 1000.0, 300.0, -1000.0]), label="score offset")
    return LargeScoreCase(batch, heads, seq_q, seq_k, d_k, d_v, offset,
                          draw(st.sampled_from(("none", "causal", "random")), label="mask"), draw(SEEDS, label="seed"))
