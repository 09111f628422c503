"""§3.1 Encoder and decoder stacks: LayerNorm, the post-norm residual connection, layers, stacks, the full model."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from transformer_spec.reference import layers
from transformer_spec.reference.masks import decoder_self_mask, padding_mask
from transformer_spec.reference.residual import layer_norm, sublayer_connection
from .gradients import check_gradients
from .strategies import SEEDS, model_cases
from transformer_spec.harness.checker import Checker
from transformer_spec.harness.compare import TOLERANCES, Tolerance, as_numpy

COMPOSITE = {"float32": Tolerance(rtol=1e-4, atol=1e-4)}
"""Stacks and the full model chain dozens of float32 operations: a wider float32 budget; float64 stays tight."""


def _tol(checker: Checker) -> Tolerance | None:
    return COMPOSITE.get(checker.target.dtype)


def _real_rows(real: np.ndarray, value: Any) -> Any:
    """``value`` (batch, seq, ...) with the rows of padded positions set to 0; type, dtype and device kept."""
    if tuple(np.shape(value))[:2] != real.shape:
        return value  # assert_close reports the wrong shape
    if isinstance(value, torch.Tensor):
        return torch.where(torch.as_tensor(real, device=value.device)[..., None], value, torch.zeros_like(value))
    return np.where(real[..., None], value, 0.0)


def assert_close_where_real(checker: Checker, clause_id: str, what: str, real: np.ndarray, out: Any,
                            reference: Callable[[], np.ndarray], baseline: Callable[[], Any]) -> None:
    """Compare the rows of real (non-padding) positions only, with the reference recomputed by ``reference()``.

    A padded row is read by nothing the paper defines: the next layer masks it as a key (§3.2.3) and the
    loss skips it (§5.4), so an implementation may leave anything there (zeros, as nested tensors do).
    On a mismatch the recomputation is repeated with the implementation's own parts substituted, to
    name the part at fault (the composite is the component just called).
    """
    __tracebackhide__ = True
    only = lambda v: _real_rows(real, v)
    checker.assert_close(clause_id, f"{what} at real positions", only(out), only(reference()), _tol(checker),
                         lambda: only(baseline()), composite=(checker.last_call[0], lambda: only(reference())))


def layer_norm_tolerance(checker: Checker, x: np.ndarray, scale: np.ndarray, eps: float) -> Tolerance | None:
    """The float budget of LayerNorm(x): the composite table plus the cancellation in x - mean.

    Rounding x - mean errs by about d_model u |mean| (u the unit roundoff), which the division by
    sqrt(var + eps) and the gain magnify.  float16/bfloat16 use the low-precision rule instead (None).
    """
    if checker.target.low_precision:
        return None
    base = _tol(checker) or TOLERANCES[checker.target.dtype]
    mean, var = x.mean(-1), x.var(-1)
    u = float(torch.finfo(checker.target.torch_dtype).eps) / 2
    cancellation = x.shape[-1] * u * float((np.abs(mean) / np.sqrt(var + eps)).max()) * float(np.abs(scale).max())
    return Tolerance(base.rtol, base.atol + cancellation)


@pytest.mark.clause("3.1/layer-norm")
@pytest.mark.requires("layer_norm")
@given(data=st.data(), shift=st.floats(-100, 100), log_spread=st.floats(-4, 2))
def test_layer_norm_matches_reference(checker: Checker, data: st.DataObject, shift: float, log_spread: float) -> None:
    """Normalise over the feature axis with the biased variance and the declared eps (§3.1), or in the declared form.

    Each row is (z + shift) * spread with its own spread between 10^log_spread and 10^-4: shift and scale
    must not matter, and rows whose variance is near eps (spread 1e-3 for eps 1e-6) show a wrong eps.
    """
    case = data.draw(model_cases(checker.impl, layers=(1,)), label="case")
    config = checker.config(case.config)
    eps, form = config.layer_norm_eps, config.layer_norm_form
    rng = np.random.default_rng(case.seed + 15)
    spread = 10.0 ** rng.uniform(-4.0, max(log_spread, -4.0), size=(case.batch, case.seq_src, 1))
    norm, x = checker.exact([case.params["encoder"]["layers"][0]["norm1"], (case.hidden(case.seq_src) + shift) * spread])
    args = (checker.tensor(x), checker.tensor(norm["scale"]), checker.tensor(norm["bias"]), eps)
    out = checker.call_deterministic("3.1/layer-norm", "layer_norm", *args)
    checker.assert_close("3.1/layer-norm", f"LayerNorm(x) ({form} form) with eps={eps:g}, row spreads "
                         f"{spread.min():.2g} to {spread.max():.2g}", out, layer_norm(x, norm["scale"], norm["bias"], eps, form),
                         layer_norm_tolerance(checker, x, norm["scale"], eps), checker.baseline("layer_norm", *args))


@pytest.mark.precise
@pytest.mark.clause("3.1/residual-post-norm")
@pytest.mark.requires("sublayer_connection")
@given(data=st.data(), seed=SEEDS)
def test_sublayer_connection_is_post_norm(checker: Checker, data: st.DataObject, seed: int) -> None:
    """LayerNorm(x + Sublayer(x)) with a fixed random linear map as the sub-layer."""
    case = data.draw(model_cases(checker.impl, layers=(1,)), label="case")
    config = checker.config(case.config)
    norm = case.params["encoder"]["layers"][0]["norm1"]
    w = np.random.default_rng(seed).normal(size=(config.d_model, config.d_model))
    w_t = checker.tensor(w)
    x = case.hidden(case.seq_src)
    out = checker.call("3.1/residual-post-norm", "sublayer_connection", checker.tensor(x), lambda h: h @ w_t,
                       checker.params(norm), config.layer_norm_eps)
    expected = sublayer_connection(x, lambda h: h @ w, norm, config.layer_norm_eps, config.norm_position,
                                   norm_form=config.layer_norm_form)
    checker.assert_close("3.1/residual-post-norm", "LayerNorm(x + Sublayer(x))", out, expected, _tol(checker))


@pytest.mark.clause("3.1/encoder-layer")
@pytest.mark.requires("encoder_layer")
@given(data=st.data())
def test_encoder_layer_matches_reference(checker: Checker, data: st.DataObject) -> None:
    case = data.draw(model_cases(checker.impl, layers=(1,)), label="case")
    config = checker.config(case.config)
    src, _ = case.tokens()
    x, layer = checker.exact([case.hidden(case.seq_src), case.params["encoder"]["layers"][0]])
    mask = padding_mask(src, config.pad_id)
    args = (checker.tensor(x), checker.params(layer), checker.tensor(mask), config)
    out = checker.call_deterministic("3.1/encoder-layer", "encoder_layer", *args)
    assert_close_where_real(checker, "3.1/encoder-layer", "encoder layer", src != config.pad_id, out,
                            lambda: layers.encoder_layer(x, layer, mask, config), checker.baseline("encoder_layer", *args))


@pytest.mark.precise
@pytest.mark.clause("3.1/encoder-layer")
@pytest.mark.requires("encoder_layer")
@given(data=st.data(), seed=SEEDS)
def test_encoder_layer_is_permutation_equivariant(checker: Checker, data: st.DataObject, seed: int) -> None:
    """Without positional encodings a layer cannot tell positions apart: permuting inputs permutes outputs."""
    case = data.draw(model_cases(checker.impl, layers=(1,), padded=False), label="case")
    config = checker.config(case.config)
    x, layer = case.hidden(case.seq_src), case.params["encoder"]["layers"][0]
    order = np.random.default_rng(seed).permutation(case.seq_src)
    run = lambda a: checker.call("3.1/encoder-layer", "encoder_layer", checker.tensor(a), checker.params(layer), None, config)
    checker.assert_close("3.1/encoder-layer", f"encoder layer of inputs permuted by {order.tolist()}", run(x[:, order]),
                         as_numpy(run(x))[:, order], _tol(checker) or Tolerance(1e-10, 1e-10))


@pytest.mark.clause("3.1/decoder-layer")
@pytest.mark.requires("decoder_layer")
@given(data=st.data())
def test_decoder_layer_matches_reference(checker: Checker, data: st.DataObject) -> None:
    case = data.draw(model_cases(checker.impl, layers=(1,)), label="case")
    config = checker.config(case.config)
    src, tgt = case.tokens()
    y, memory, layer = checker.exact([case.hidden(case.seq_tgt, 3), case.hidden(case.seq_src, 4),
                                      case.params["decoder"]["layers"][0]])
    src_mask, tgt_mask = padding_mask(src, config.pad_id), decoder_self_mask(tgt, config.pad_id)
    args = (checker.tensor(y), checker.tensor(memory), checker.params(layer), checker.tensor(src_mask),
            checker.tensor(tgt_mask), config)
    out = checker.call_deterministic("3.1/decoder-layer", "decoder_layer", *args)
    expected = lambda: layers.decoder_layer(y, memory, layer, src_mask, tgt_mask, config)
    assert_close_where_real(checker, "3.1/decoder-layer", "decoder layer", tgt != config.pad_id, out, expected,
                            checker.baseline("decoder_layer", *args))


@pytest.mark.clause("3.1/encoder-stack")
@pytest.mark.requires("encoder")
@given(data=st.data())
def test_encoder_stack_matches_reference(checker: Checker, data: st.DataObject) -> None:
    case = data.draw(model_cases(checker.impl), label="case")
    config = checker.config(case.config)
    src, _ = case.tokens()
    params = checker.exact(case.params_for(config))
    args = (checker.tensor(src), checker.params(params), config)
    out = checker.call_deterministic("3.1/encoder-stack", "encoder", *args)
    assert_close_where_real(checker, "3.1/encoder-stack", "encoder output", src != config.pad_id, out,
                            lambda: layers.encode(src, params, config), checker.baseline("encoder", *args))


@pytest.mark.clause("3.1/decoder-stack")
@pytest.mark.requires("decoder")
@given(data=st.data())
def test_decoder_stack_matches_reference(checker: Checker, data: st.DataObject) -> None:
    case = data.draw(model_cases(checker.impl), label="case")
    config = checker.config(case.config)
    src, tgt = case.tokens()
    memory, params = checker.exact([case.hidden(case.seq_src, 5), case.params_for(config)])
    args = (checker.tensor(tgt), checker.tensor(memory), checker.tensor(src), checker.params(params), config)
    out = checker.call_deterministic("3.1/decoder-stack", "decoder", *args)
    assert_close_where_real(checker, "3.1/decoder-stack", "decoder output", tgt != config.pad_id, out,
                            lambda: layers.decode(tgt, memory, src, params, config), checker.baseline("decoder", *args))


@pytest.mark.clause("3/model-forward")
@pytest.mark.requires("model")
@given(data=st.data())
def test_model_matches_reference(checker: Checker, data: st.DataObject) -> None:
    case = data.draw(model_cases(checker.impl), label="case")
    config = checker.config(case.config)
    src, tgt = case.tokens()
    params = checker.exact(case.params_for(config))
    args = (checker.tensor(src), checker.tensor(tgt), checker.params(params), config)
    out = checker.call_deterministic("3/model-forward", "model", *args)
    what = "logits" if config.model_output == "logits" else "log-probabilities (declared model_output)"
    assert_close_where_real(checker, "3/model-forward", what, tgt != config.pad_id, out,
                            lambda: layers.transformer_forward(src, tgt, params, config), checker.baseline("model", *args))


@pytest.mark.needs("gradients")
@pytest.mark.precise
@pytest.mark.clause("3/model-forward")
@pytest.mark.requires("model")
@given(data=st.data())
def test_model_gradients_match_reference(checker: Checker, data: st.DataObject) -> None:
    """d logits / d embedding matrix: one gradient through embeddings, every layer and the tied projection.

    Only the logits of real target positions are differentiated: no loss of the paper uses the others.
    """
    case = data.draw(model_cases(checker.impl, layers=(1,)), label="case")
    config = checker.config(case.config)
    src, tgt = case.tokens()
    params = checker.params(case.params_for(config))
    impl_fn = lambda e: checker.call("3/model-forward", "model", checker.tensor(src), checker.tensor(tgt),
                                     {**params, "embedding": e}, config)
    ref_fn = lambda e: layers.transformer_forward(src, tgt, {**case.params_for(config), "embedding": e}, config)
    check_gradients(checker, "3/model-forward", ("embedding",), impl_fn, ref_fn, (case.params["embedding"],), case.seed,
                    seen=(tgt != config.pad_id)[..., None])


@pytest.mark.precise
@pytest.mark.clause("3/model-forward")
@pytest.mark.requires("model")
@given(data=st.data())
def test_example_does_not_depend_on_the_rest_of_its_batch(checker: Checker, data: st.DataObject) -> None:
    case = data.draw(model_cases(checker.impl, layers=(1,)), label="case")
    config = checker.config(case.config)
    src, tgt = case.tokens()
    run = lambda s, t: as_numpy(checker.call("3/model-forward", "model", checker.tensor(s), checker.tensor(t),
                                             checker.params(case.params_for(config)), config))
    alone = run(src[:1], tgt[:1])
    checker.assert_close("3/model-forward", "logits of example 0 in its batch", run(src, tgt)[:1],
                         alone, _tol(checker) or Tolerance(1e-10, 1e-10))
