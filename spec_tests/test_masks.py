"""§3.2.3 Masking: no leakage from future target tokens, padding masked as keys.

Leakage is checked by intervention (change what must not matter, compare bit
for bit) and, for differentiable implementations, by the autograd Jacobian,
which must be exactly zero from later inputs to earlier outputs.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from transformer_spec.reference.masks import causal_mask, padding_mask
from .cases import perturbation, scatter_padding
from .strategies import model_cases
from transformer_spec.harness.checker import Checker
from transformer_spec.harness.compare import Tolerance, as_numpy


def _first_change(before: np.ndarray, after: np.ndarray) -> int | None:
    """The first position (axis 1) whose output differs at all."""
    diff = np.argwhere((before != after).any(axis=tuple(i for i in range(before.ndim) if i != 1)))
    return int(diff[0, 0]) if diff.size else None


@pytest.mark.clause("3.2.3/causal-mask")
@pytest.mark.requires("model")
@given(data=st.data())
def test_future_target_tokens_do_not_change_earlier_logits(checker: Checker, data: st.DataObject) -> None:
    """Through every decoder layer: logits at positions <= i ignore target tokens after i."""
    case = data.draw(model_cases(checker.impl, padded=False), label="case")
    config = checker.config(case.config)
    src, tgt = case.tokens()
    i = data.draw(st.integers(0, case.seq_tgt - 1), label="position i")
    changed = tgt.copy()
    changed[:, i + 1:] = (tgt[:, i + 1:] % (config.vocab - 1)) + 1  # a different real token at every later position
    run = lambda t: as_numpy(checker.call_deterministic("3.2.3/causal-mask", "model", checker.tensor(src),
                                                        checker.tensor(t), checker.params(case.params_for(config)), config))
    before, after = run(tgt), run(changed)
    first = _first_change(before[:, : i + 1], after[:, : i + 1])
    checker.require("3.2.3/causal-mask", first is None,
                    f"changing target tokens after position {i} changed the logits at position {first} <= {i}: "
                    "a future token leaks into the decoder")


@pytest.mark.needs("gradients")
@pytest.mark.clause("3.2.3/causal-mask")
@pytest.mark.requires("decoder_layer")
@given(data=st.data())
def test_decoder_layer_jacobian_is_causal(checker: Checker, data: st.DataObject) -> None:
    """d out_i / d y_j = 0 exactly for j > i (masked decoder self-attention)."""
    case = data.draw(model_cases(checker.impl, layers=(1,), padded=False), label="case")
    config = checker.config(case.config)
    src, _ = case.tokens()
    y = checker.tensor(case.hidden(case.seq_tgt, 7)).requires_grad_(True)
    memory = checker.tensor(case.hidden(case.seq_src, 8))
    out = checker.call("3.2.3/causal-mask", "decoder_layer", y, memory, checker.params(case.params["decoder"]["layers"][0]),
                       checker.tensor(padding_mask(src, config.pad_id)), checker.tensor(causal_mask(case.seq_tgt)), config)
    for i in range(case.seq_tgt - 1):
        (grad,) = torch.autograd.grad(out[:, i].sum(), y, retain_graph=True, allow_unused=True)
        leak = 0.0 if grad is None else float(grad[:, i + 1:].abs().max())
        checker.require("3.2.3/causal-mask", leak == 0.0,
                        f"d out[{i}] / d y[j > {i}] reaches {leak:.3g}, but must be exactly 0: a future position leaks")


@pytest.mark.clause("3.2.3/causal-mask")
@pytest.mark.requires("attention")
@given(data=st.data())
def test_causal_mask_weights_are_lower_triangular(checker: Checker, data: st.DataObject) -> None:
    """With the subsequent-position mask of §3.2.3, query i gives weight 0 to every key j > i."""
    case = data.draw(model_cases(checker.impl, layers=(1,), padded=False), label="case")
    n = case.seq_tgt
    q, k = case.hidden(n, 9)[:, None], case.hidden(n, 10)[:, None]
    eye = np.broadcast_to(np.eye(n), (case.batch, 1, n, n))
    w = as_numpy(checker.call("3.2.3/causal-mask", "attention", checker.tensor(q), checker.tensor(k), checker.tensor(eye),
                              checker.tensor(causal_mask(n)))[0])
    upper = np.triu(np.ones((n, n), dtype=bool), 1)
    checker.require("3.2.3/causal-mask", bool((w[..., upper] == 0).all()),
                    f"query i gives weight {np.abs(w[..., upper]).max(initial=0):.3g} to a later key j > i, but must give 0")


def _right_pad(tokens: np.ndarray, extra: int, pad_id: int) -> np.ndarray:
    """(batch, seq) -> (batch, seq + extra): ``extra`` more padding tokens after every sequence."""
    return np.concatenate([tokens, np.full((tokens.shape[0], extra), pad_id)], axis=1)


@pytest.mark.clause("3.2.3/padding-mask")
@pytest.mark.requires("model")
@given(data=st.data(), extra=st.integers(1, 3))
def test_more_padding_changes_no_real_position(checker: Checker, data: st.DataObject, extra: int) -> None:
    """Right-padding source and target further leaves every real position's logits unchanged."""
    case = data.draw(model_cases(checker.impl), label="case")
    config = checker.config(case.config)
    src, tgt = case.tokens()
    run = lambda s, t: as_numpy(checker.call("3.2.3/padding-mask", "model", checker.tensor(s), checker.tensor(t),
                                             checker.params(case.params_for(config)), config))
    plain = run(src, tgt)
    padded = run(_right_pad(src, extra, config.pad_id), _right_pad(tgt, extra, config.pad_id))[:, : case.seq_tgt]
    real = tgt != config.pad_id
    checker.assert_close("3.2.3/padding-mask", f"logits of real positions after {extra} more padding tokens",
                         padded[real], plain[real])


@pytest.mark.clause("3.2.3/padding-mask")
@pytest.mark.requires("encoder")
@given(data=st.data(), extra=st.integers(1, 3))
def test_more_source_padding_changes_no_real_encoder_position(checker: Checker, data: st.DataObject, extra: int) -> None:
    """The encoder masks padding as keys, so real positions never attend to it (no causality to hide a mask on queries)."""
    case = data.draw(model_cases(checker.impl), label="case")
    config = checker.config(case.config)
    src, _ = case.tokens()
    run = lambda s: as_numpy(checker.call("3.2.3/padding-mask", "encoder", checker.tensor(s),
                                          checker.params(case.params_for(config)), config))
    plain, padded = run(src), run(_right_pad(src, extra, config.pad_id))[:, : case.seq_src]
    real = src != config.pad_id
    checker.assert_close("3.2.3/padding-mask", f"encoder output at real positions after {extra} more padding tokens",
                         padded[real], plain[real])


@pytest.mark.clause("3.2.3/padding-mask")
@pytest.mark.requires("encoder_layer")
@given(data=st.data())
def test_padded_keys_are_ignored(checker: Checker, data: st.DataObject) -> None:
    """Padding on the left, in the middle or on the right: changing its activations changes no real position."""
    case = data.draw(model_cases(checker.impl, layers=(1,)), label="case")
    config = checker.config(case.config)
    rng = np.random.default_rng(case.seed + 12)
    src = scatter_padding(case.tokens()[0], config.pad_id, rng)
    x = case.hidden(case.seq_src, 11)
    pads = src == config.pad_id
    moved = x + pads[..., None] * perturbation(x.shape, rng)
    run = lambda a: as_numpy(checker.call("3.2.3/padding-mask", "encoder_layer", checker.tensor(a),
                                          checker.params(case.params["encoder"]["layers"][0]),
                                          checker.tensor(padding_mask(src, config.pad_id)), config))
    checker.assert_close("3.2.3/padding-mask", f"real positions after changing the padded ones of {src.tolist()}",
                         run(moved)[~pads], run(x)[~pads], Tolerance(rtol=0.0, atol=1e-12))


@pytest.mark.clause("3.2.3/padding-mask")
@pytest.mark.requires("decoder")
@given(data=st.data())
def test_padded_memory_is_ignored(checker: Checker, data: st.DataObject) -> None:
    """Cross attention masks source padding as keys: changing the memory there changes no decoder output.

    The source has as many positions as the target, so a mask on queries instead broadcasts and is seen failing.
    """
    case = data.draw(model_cases(checker.impl), label="case")
    config = checker.config(case.config)
    rng = np.random.default_rng(case.seed + 13)
    _, tgt = case.tokens()
    src = scatter_padding(rng.integers(1, config.vocab, size=tgt.shape), config.pad_id, rng)
    memory = case.hidden(case.seq_tgt, 14)
    pads = src == config.pad_id
    moved = memory + pads[..., None] * perturbation(memory.shape, rng)
    run = lambda m: as_numpy(checker.call("3.2.3/padding-mask", "decoder", checker.tensor(tgt), checker.tensor(m),
                                          checker.tensor(src), checker.params(case.params_for(config)), config))
    real = tgt != config.pad_id
    checker.assert_close("3.2.3/padding-mask", f"decoder output after changing the memory at the padding of {src.tolist()}",
                         run(moved)[real], run(memory)[real], Tolerance(rtol=0.0, atol=1e-12))
