"""Values worked out by hand for the model's equations (§3), each a check taking the function under test."""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

Fn = Callable[..., Any]
T, F = True, False


def near(what: str, got: object, want: object, tol: float = 1e-12) -> None:
    """Assert ``got`` equals the hand-computed ``want`` (NaN meets NaN), naming the quantity."""
    g, w = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    ok = g.shape == w.shape and np.allclose(g, w, rtol=tol, atol=tol, equal_nan=True)
    assert ok, f"{what}: expected by hand {w.tolist()}, function under test gives {g.tolist()}"


def same(what: str, got: object, want: object) -> None:
    g, w = np.asarray(got), np.asarray(want)
    assert g.shape == w.shape and np.array_equal(g, w), f"{what}: expected {w.tolist()} {w.shape}, got {g.tolist()} {g.shape}"


def hand_softmax(fn: Fn) -> None:
    """softmax(0, log 2, log 3) = (1/6, 2/6, 3/6) along the asked axis; huge equal scores give halves; -inf gives 0."""
    row = np.log([1.0, 2.0, 3.0])
    near("softmax(log [1, 2, 3])", fn(row), [1 / 6, 2 / 6, 3 / 6])
    near("softmax of a column along axis 0", fn(np.stack([row, np.zeros(3)], 1), axis=0),
         [[1 / 6, 1 / 3], [2 / 6, 1 / 3], [3 / 6, 1 / 3]])
    near("softmax([1000, 1000])", fn(np.array([1000.0, 1000.0])), [0.5, 0.5])
    near("softmax([0, -inf])", fn(np.array([0.0, -np.inf])), [1.0, 0.0])


def hand_attention(fn: Fn) -> None:
    """Eq. (1) by hand: one key returns its value; identical keys give the mean of V; 1/sqrt(d_k) on a known score."""
    q = np.array([[[0.3, -1.2, 2.0]]])
    out, w = fn(q, np.array([[[5.0, 1.0, -2.0]]]), np.array([[[7.0, -3.0]]]))
    near("attention over a single key (output = its value)", out, [[[7.0, -3.0]]])
    near("attention weight of a single key", w, [[[1.0]]])
    v = np.array([[[1.0, 2.0], [3.0, -4.0], [8.0, 5.0]]])
    out, w = fn(q, np.ones((1, 3, 3)), v)
    near("attention over identical keys (output = mean of V)", out, [[[4.0, 1.0]]])
    q, k = np.array([[[2.0, 0, 0, 0]]]), np.array([[[1.0, 0, 0, 0], [0, 0, 0, 0]]])
    e = math.e
    out, w = fn(q, k, np.array([[[1.0], [0.0]]]))
    near("weights for scores (2, 0) / sqrt(d_k = 4)", w, [[[e / (e + 1), 1 / (e + 1)]]])


def hand_fully_masked(fn: Fn) -> None:
    """A query with every key masked yields zeros, NaN or uniform weights as declared; other rows are untouched."""
    q, k = np.array([[[1.0, 0.0], [0.0, 1.0]]]), np.array([[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]])
    v = np.array([[[3.0], [6.0], [9.0]]])
    mask = np.array([[[F, F, F], [T, F, F]]])
    for option, row, value in (("zeros", [0.0] * 3, 0.0), ("nan", [math.nan] * 3, math.nan),
                               ("uniform", [1 / 3] * 3, 6.0)):
        out, w = fn(q, k, v, mask, option)
        near(f"fully masked row with fully_masked={option!r}: weights", w[0, 0], row)
        near(f"fully masked row with fully_masked={option!r}: output", out[0, 0], [value])
        near(f"row with one allowed key under fully_masked={option!r}", out[0, 1], [3.0])
    out, w = fn(q, k, v, mask)
    near("fully masked row under the default (zeros)", out[0, 0], [0.0])


def hand_split_heads(fn: Fn) -> None:
    """§3.2.2: head i takes feature columns [i*d, (i+1)*d)."""
    x = np.arange(12.0).reshape(1, 2, 6)
    same("split_heads(arange(12).reshape(1, 2, 6), 3)", fn(x, 3),
         [[[[0, 1], [6, 7]], [[2, 3], [8, 9]], [[4, 5], [10, 11]]]])


def hand_concat_heads(fn: Fn) -> None:
    """Concat puts head 0 first: heads [[a]], [[b]] -> [[a, b]]."""
    y = np.array([[[[1.0, 2.0]], [[3.0, 4.0]], [[5.0, 6.0]]]])  # (1 batch, 3 heads, 1 position, 2)
    same("concat_heads of heads (1,2), (3,4), (5,6)", fn(y), [[[1, 2, 3, 4, 5, 6]]])


def hand_multi_head_attention(fn: Fn) -> None:
    """Head i reads feature slice i, W^O swaps the two heads' outputs: with one key the output is V's halves swapped."""
    eye = np.eye(4)
    p = {"w_q": np.stack([eye[:, :2], eye[:, 2:]]), "w_k": np.stack([eye[:, :2], eye[:, 2:]]),
         "w_v": np.stack([eye[:, :2], eye[:, 2:]]), "w_o": eye[[2, 3, 0, 1]], "b_o": np.array([0.0, 0, 0, 10])}
    value = np.array([[[1.0, 2.0, 3.0, 4.0]]])
    out, w = fn(np.ones((1, 2, 4)), value, value, p)
    near("multi-head attention over one key with swapping W^O", out, [[[3.0, 4.0, 1.0, 12.0]] * 2])
    near("multi-head attention weights over one key", w, np.ones((1, 2, 2, 1)))


def hand_ffn(fn: Fn) -> None:
    """Eq. (2) with identity weights: max(0, x) + b_2 per position."""
    p = {"w_1": np.eye(2), "b_1": np.zeros(2), "w_2": np.eye(2), "b_2": np.array([0.5, 0.0])}
    near("FFN(x) = max(0, x) + b_2", fn(np.array([[1.0, -1.0], [-2.0, 3.0]]), p), [[1.5, 0.0], [0.5, 3.0]])


def hand_positional_encoding(fn: Fn) -> None:
    """§3.5: PE(0) = (0, 1, 0, 1, ...); PE(1) starts (sin 1, cos 1); PE(2, 2) = sin(2 / 10000^(2/4))."""
    for d in (4, 7):
        near(f"PE(0) for d_model={d}", fn(3, d)[0], [0.0, 1.0] * (d // 2) + [0.0] * (d % 2))
    near("PE(1, 0:2)", fn(2, 6)[1, :2], [math.sin(1.0), math.cos(1.0)])
    near("PE(2, 2:4) at d_model=4", fn(3, 4)[2, 2:], [math.sin(0.02), math.cos(0.02)])
    near("PE(0) in halves at d_model=7", fn(3, 7, "halves")[0], [0.0] * 4 + [1.0] * 3)
    near("PE(1) in halves at d_model=4", fn(2, 4, "halves")[1],
         [math.sin(1.0), math.sin(0.01), math.cos(1.0), math.cos(0.01)])
    near("the first row from position 2 at d_model=4", fn(1, 4, "interleaved", 2)[0],
         [math.sin(2.0), math.cos(2.0), math.sin(0.02), math.cos(0.02)])


def hand_layer_norm(fn: Fn) -> None:
    """x = (1, 2, 3, 4): mean 2.5, biased variance 1.25."""
    sd = math.sqrt(1.25 + 1e-5)
    want = [2 * (t - 2.5) / sd + 1 for t in (1, 2, 3, 4)]
    near("LayerNorm(1, 2, 3, 4), scale 2, bias 1", fn(np.array([1.0, 2, 3, 4]), np.full(4, 2.0), np.ones(4), 1e-5), want)
    sd = math.sqrt(5 / 3) + 0.1  # unbiased variance 5/3, eps added to the std
    near("annotated LayerNorm(1, 2, 3, 4), eps 0.1", fn(np.array([1.0, 2, 3, 4]), np.ones(4), np.zeros(4), 0.1, "annotated"),
         [(t - 2.5) / sd for t in (1, 2, 3, 4)])


def hand_sublayer_connection(fn: Fn) -> None:
    """A sub-layer that outputs zero: post-norm gives LayerNorm(x), the pre-norm variant gives x."""
    x, norm = np.array([[[1.0, 2.0, 3.0, 4.0]]]), {"scale": np.ones(4), "bias": np.zeros(4)}
    ln = [(t - 2.5) / math.sqrt(1.25) for t in (1, 2, 3, 4)]
    near("post-norm residual with a zero sub-layer", fn(x, np.zeros_like, norm, 0.0), [[ln]])
    near("pre-norm residual with a zero sub-layer", fn(x, np.zeros_like, norm, 0.0, "pre"), x)
    near("post-norm residual with identity sub-layer", fn(x, lambda h: h, norm, 0.0), [[ln]])
    annotated = [(t - 2.5) / math.sqrt(5 / 3) for t in (1, 2, 3, 4)]
    near("post-norm residual, annotated LayerNorm", fn(x, np.zeros_like, norm, 0.0, "post", None, 0.0, "annotated"),
         [[annotated]])


def hand_dropout(fn: Fn) -> None:
    near("dropout of (2, 4) keeping (1, 0) at p = 0.5", fn(np.array([2.0, 4.0]), np.array([1, 0]), 0.5), [4.0, 0.0])
    near("dropout without keep-mask is the identity", fn(np.array([2.0, 4.0]), None, 0.5), [2.0, 4.0])


def hand_embed(fn: Fn) -> None:
    e = np.arange(12.0).reshape(3, 4)
    near("embedding of token 2 with d_model = 4 (x sqrt 4)", fn(np.array([[2, 0]]), e), [[[16, 18, 20, 22], [0, 2, 4, 6]]])
    near("unscaled embedding when the logits carry the scale", fn(np.array([[2]]), e, "logits"), [[[8, 9, 10, 11]]])


def hand_output_logits(fn: Fn) -> None:
    e = np.arange(12.0).reshape(3, 4)
    near("logits of x = e_1 are E's column 1", fn(np.array([[[0.0, 1.0, 0.0, 0.0]]]), e), [[[1.0, 5.0, 9.0]]])
    near("logits of x = e_1 over sqrt 4 when they carry the scale", fn(np.array([[[0.0, 1.0, 0.0, 0.0]]]), e, "logits"),
         [[[0.5, 2.5, 4.5]]])


def hand_model_output(fn: Fn) -> None:
    logits = np.array([[[0.0, math.log(3.0)]]])
    near("the logits as they are", fn(logits), logits)
    near("log-probabilities of logits (0, log 3)", fn(logits, "log_probs"), [[[math.log(0.25), math.log(0.75)]]])


def hand_output_probabilities(fn: Fn) -> None:
    e = np.log([[1.0], [2.0], [3.0]])
    near("softmax(1 * log [1, 2, 3])", fn(np.ones((1, 1, 1)), e), [[[1 / 6, 2 / 6, 3 / 6]]])


def hand_causal_mask(fn: Fn) -> None:
    same("causal_mask(3)", fn(3), [[[[T, F, F], [T, T, F], [T, T, T]]]])


def hand_padding_mask(fn: Fn) -> None:
    same("padding_mask([[5, 0, 3], [0, 7, 7]], pad 0)", fn(np.array([[5, 0, 3], [0, 7, 7]]), 0),
         [[[[T, F, T]]], [[[F, T, T]]]])


def hand_decoder_self_mask(fn: Fn) -> None:
    same("decoder_self_mask([[4, 9, 0]], pad 0)", fn(np.array([[4, 9, 0]]), 0),
         [[[[T, F, F], [T, T, F], [T, T, F]]]])
