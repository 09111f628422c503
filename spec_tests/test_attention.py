"""§3.2.1 Scaled dot-product attention, Eq. (1): values, gradients, softmax rows, the 1/sqrt(d_k) scale."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from transformer_spec.reference.attention import scaled_dot_product_attention
from transformer_spec.reference.config import TransformerConfig
from .cases import LargeScoreCase, large_score_cases
from .gradients import check_gradients
from .strategies import SEEDS, AttentionCase, attention_cases, distinct_sizes
from transformer_spec.harness.checker import Checker
from transformer_spec.harness.compare import PRECISION_FINDINGS, TOLERANCES, Tolerance, as_numpy

pytestmark = pytest.mark.requires("attention")


def attention_weights(checker: Checker, clause_id: str, q: np.ndarray, k: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """The implementation's weights, read as Attention(Q, K, I): with V the identity the output is the weights."""
    eye = np.broadcast_to(np.eye(k.shape[-2]), (*k.shape[:-1], k.shape[-2]))
    out, _ = checker.call(clause_id, "attention", checker.tensor(q), checker.tensor(k), checker.tensor(eye),
                          None if mask is None else checker.tensor(mask))
    return as_numpy(out)


@pytest.mark.clause("3.2.1/scaled-dot-product")
@given(case=attention_cases())
def test_attention_matches_reference(checker: Checker, case: AttentionCase) -> None:
    q, k, v, mask = case.arrays()
    q, k, v = checker.exact([q, k, v])
    out, weights = checker.call_deterministic("3.2.1/scaled-dot-product", "attention", checker.tensor(q),
                                              checker.tensor(k), checker.tensor(v),
                                              None if mask is None else checker.tensor(mask))
    ref_out, ref_weights = scaled_dot_product_attention(q, k, v, mask)
    checker.assert_close("3.2.1/scaled-dot-product", "out", out, ref_out,
                         baseline=checker.baseline("attention", *(checker.tensor(a) if a is not None else None for a in (q, k, v, mask))))
    if weights is not None:
        checker.assert_close("3.2.1/scaled-dot-product", "weights", weights, ref_weights)


@pytest.mark.needs("gradients")
@pytest.mark.precise
@pytest.mark.clause("3.2.1/scaled-dot-product")
@given(case=attention_cases(masks=("none", "causal")))
def test_attention_gradients_match_reference(checker: Checker, case: AttentionCase) -> None:
    q, k, v, mask = case.arrays()
    mask_t = None if mask is None else checker.tensor(mask)
    impl_fn = lambda q_, k_, v_: checker.call("3.2.1/scaled-dot-product", "attention", q_, k_, v_, mask_t)[0]
    ref_fn = lambda q_, k_, v_: scaled_dot_product_attention(q_, k_, v_, mask)[0]
    check_gradients(checker, "3.2.1/scaled-dot-product", ("q", "k", "v"), impl_fn, ref_fn, (q, k, v), case.seed)


@pytest.mark.clause("3.2.1/softmax")
@given(case=attention_cases(masks=("causal", "padding", "random")))
def test_attention_rows_are_distributions(checker: Checker, case: AttentionCase) -> None:
    q, k, _, mask = case.arrays()
    w = attention_weights(checker, "3.2.1/softmax", q, k, mask)
    sums = w.sum(axis=-1)
    checker.require("3.2.1/softmax", bool((w >= -1e-7).all()), f"a weight is negative: min {w.min():.3g}")
    worst = np.unravel_index(np.argmax(np.abs(sums - 1)), sums.shape)
    atol = max(1e-4, 8 * float(torch.finfo(checker.target.torch_dtype).eps))
    checker.require("3.2.1/softmax", bool(np.allclose(sums, 1.0, rtol=0, atol=atol)),
                    f"attention weights of query {worst} sum to {sums[worst]:.6g} over the keys, but should sum to 1")
    masked = ~np.broadcast_to(mask, w.shape)
    checker.require("3.2.1/softmax", bool((w[masked] == 0).all()),
                    f"masked keys get weight up to {np.abs(w[masked]).max(initial=0):.3g}, but should get exactly 0")


def score_rounding_tolerance(checker: Checker, q: np.ndarray, k: np.ndarray, v_max: float,
                             dtype: str | None = None) -> Tolerance:
    """The forward error bound of Eq. (1) in the target dtype (or ``dtype``), for scores of any size.

    A score is a d_k-term dot product scaled once: it errs by at most (d_k + 2) u S, where u is the unit
    roundoff and S = max |q| . |k| / sqrt(d_k).  Softmax turns a score error delta into a relative weight
    error of at most 2 delta, and the weighted sum of seq_k values adds (seq_k + 1) u.  So an output errs by
    at most (2 (d_k + 2) u S + (seq_k + 1) u) max|v|; the budget is twice that on top of the dtype's table.
    """
    dtype = dtype or checker.target.dtype
    u = float(torch.finfo(getattr(torch, dtype)).eps) / 2
    d_k, seq_k = q.shape[-1], k.shape[-2]
    s_max = float((np.abs(q) @ np.swapaxes(np.abs(k), -1, -2)).max()) / np.sqrt(d_k)
    base = TOLERANCES[dtype]
    return Tolerance(base.rtol, base.atol + 2 * (2 * (d_k + 2) * u * s_max + (seq_k + 1) * u) * v_max)


@pytest.mark.clause("3.2.1/softmax")
@given(case=large_score_cases())
def test_scores_shifted_far_give_the_same_attention(checker: Checker, case: LargeScoreCase) -> None:
    """Every score moved by the same +-300 ... 5000, where exp overflows (float32 above 88.7, float64 above 709.8).

    softmax(s + c) = softmax(s) (its shift invariance), so the attention must equal the implementation's own
    attention on the unshifted scores; only a softmax that subtracts the maximum stays finite.  Whatever
    scale the implementation applies moves both alike, so only the softmax is judged here.
    """
    far = [checker.exact(a) if a is not None else None for a in case.arrays()]
    near = [checker.exact(a) if a is not None else None for a in dataclasses.replace(case, offset=0.0).arrays()]
    run = lambda arrays: checker.call_deterministic("3.2.1/softmax", "attention",
                                                    *(None if a is None else checker.tensor(a) for a in arrays))
    (out, weights), (near_out, near_weights) = run(far), run(near)
    q, k, v, _ = far
    what = f"with every score moved by {case.offset:g}"
    lower = PRECISION_FINDINGS.get(checker.target.dtype, (None,))[0]  # a float32-internal softmax: a finding
    bound = lambda v_max, dtype=None: score_rounding_tolerance(checker, q, k, v_max, dtype)
    v_max = float(np.abs(v).max())
    checker.assert_close("3.2.1/softmax", f"Attention(Q, K, V) {what}", out, as_numpy(near_out), bound(v_max),
                         lower_tol=bound(v_max, lower) if lower else None)
    if weights is not None and near_weights is not None:
        checker.assert_close("3.2.1/softmax", f"attention weights {what}", weights, as_numpy(near_weights),
                             bound(1.0), lower_tol=bound(1.0, lower) if lower else None)


@pytest.mark.precise
@pytest.mark.clause("3.2.1/scaling")
@given(d_k=st.sampled_from([1, 4, 9, 16, 64]), heads=st.integers(1, 4), seed=SEEDS)
def test_scores_are_scaled_by_inverse_sqrt_dk(checker: Checker, d_k: int, heads: int, seed: int) -> None:
    """log(w_1 / w_2) = (q.k_1 - q.k_2) * scale exposes the scale; §3.2.1 and footnote 4 make it 1/sqrt(d_k).

    Several heads make 1/sqrt(d_model) = 1/sqrt(heads * d_k) differ from 1/sqrt(d_k).
    """
    rng = np.random.default_rng(seed)
    q, k = rng.normal(size=(1, heads, 1, d_k)) / np.sqrt(d_k), rng.normal(size=(1, heads, 2, d_k))
    w = attention_weights(checker, "3.2.1/scaling", q, k, None)[0, :, 0]  # (heads, 2)
    dots = np.einsum("hd,hd->h", q[0, :, 0], k[0, :, 0] - k[0, :, 1])
    scales = np.log(w[:, 0] / w[:, 1]) / dots
    worst = int(np.argmax(np.abs(scales * np.sqrt(d_k) - 1)))
    checker.require("3.2.1/scaling", bool(np.all(np.abs(scales * np.sqrt(d_k) - 1) < 1e-3)),
                    f"effective score scale of head {worst} is {scales[worst]:.6g} (= 1/{1 / scales[worst]:.6g}), "
                    f"but should be 1/sqrt(d_k) = {d_k ** -0.5:.6g} (d_k={d_k}, heads={heads})")


@pytest.mark.precise
@pytest.mark.clause("3.2.1/scaling")
@given(sizes=distinct_sizes(3, 2, 6), c=st.sampled_from([0.5, 2.0, 3.0]), seed=SEEDS)
def test_scaling_queries_scales_the_scores(checker: Checker, sizes: list[int], c: float, seed: int) -> None:
    """Attention(cQ, K, V) is attention with scores c Q K^T / sqrt(d_k): the scale is linear in Q."""
    seq_q, seq_k, d_k = sizes
    rng = np.random.default_rng(seed)
    q, k, v = (rng.normal(size=(1, 1, n, d)) for n, d in ((seq_q, d_k), (seq_k, d_k), (seq_k, 3)))
    out, _ = checker.call("3.2.1/scaling", "attention", checker.tensor(c * q), checker.tensor(k), checker.tensor(v), None)
    checker.assert_close("3.2.1/scaling", "Attention(cQ, K, V)", out, scaled_dot_product_attention(c * q, k, v)[0])


@pytest.mark.clause("3.2.3/fully-masked-row")
@given(case=attention_cases(masks=("random",)))
def test_fully_masked_row_follows_declaration(checker: Checker, case: AttentionCase) -> None:
    q, k, v, mask = case.arrays()
    mask = np.broadcast_to(mask, (case.batch, 1, case.seq_q, case.seq_k)).copy()
    mask[0, 0, 0, :] = False  # the first query of the first example may attend to nothing
    declared = checker.config(TransformerConfig()).fully_masked
    out, _ = checker.call_allowing_nan("3.2.3/fully-masked-row", "attention", checker.tensor(q), checker.tensor(k),
                          checker.tensor(v), checker.tensor(mask))
    row = as_numpy(out)[0, :, 0]
    expected = scaled_dot_product_attention(q, k, v, mask, declared)[0][0, :, 0]
    same = np.allclose(row, expected, rtol=1e-3, atol=1e-4, equal_nan=True)
    checker.require("3.2.3/fully-masked-row", bool(same),
                    f"a query with every key masked gives {row.ravel()[:4]}..., but the declared convention "
                    f"fully_masked={declared!r} gives {expected.ravel()[:4]}...")
