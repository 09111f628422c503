"""The pure functions of transformer_spec.implementations.pytorch.functional against the NumPy reference (float64 to 1e-10)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, strategies as st

from transformer_spec.reference import attention as ref_attn, embeddings as ref_emb, feed_forward as ref_ffn
from transformer_spec.reference import positional_encoding as ref_pe, residual as ref_res
from transformer_spec.reference.config import TransformerConfig
from transformer_spec.reference.params import init_params
from transformer_spec.implementations.pytorch import functional as fn
from transformer_spec.implementations.pytorch.canonical import to_module_names
from transformer_spec.implementations.pytorch.modules import MultiHeadAttention
from pytorch_support import err, t

TOL64, TOL32 = 1e-10, 1e-5


@st.composite
def attention_inputs(draw: st.DrawFn) -> tuple[np.ndarray, ...]:
    """q, k, v and a mask with some fully masked rows; every axis its own size."""
    batch, heads, seq_q, seq_k = (draw(st.integers(1, 4)) for _ in range(4))
    d_k, d_v = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 31)))
    q, k = rng.normal(size=(batch, heads, seq_q, d_k)), rng.normal(size=(batch, heads, seq_k, d_k))
    v = rng.normal(size=(batch, heads, seq_k, d_v))
    mask_shape = draw(st.sampled_from([(batch, heads, seq_q, seq_k), (batch, 1, 1, seq_k), (1, 1, seq_q, seq_k)]))
    return q, k, v, rng.random(mask_shape) < 0.6


@given(attention_inputs(), st.sampled_from(["zeros", "nan", "uniform"]), st.booleans())
def test_attention_math_and_fast_paths_match_reference(inputs, fully_masked, need_weights):
    q, k, v, mask = inputs
    ref_out, ref_w = ref_attn.scaled_dot_product_attention(q, k, v, mask, fully_masked)
    out, w = fn.scaled_dot_product_attention(t(q), t(k), t(v), t(mask), fully_masked, need_weights)
    assert err(out, ref_out) <= TOL64
    assert (w is None) != need_weights
    if need_weights:
        assert err(w, ref_w) <= TOL64


@given(attention_inputs())
def test_attention_float32_close_and_no_mask(inputs):
    q, k, v, mask = inputs
    out, _ = fn.scaled_dot_product_attention(t(q, torch.float32), t(k, torch.float32), t(v, torch.float32), t(mask))
    assert err(out, ref_attn.scaled_dot_product_attention(q, k, v, mask)[0]) <= TOL32
    out, _ = fn.scaled_dot_product_attention(t(q), t(k), t(v))
    assert err(out, ref_attn.scaled_dot_product_attention(q, k, v)[0]) <= TOL64


def test_fully_masked_rows_have_finite_gradients_on_the_fast_path():
    q, k, v = (torch.randn(1, 1, 2, 3, dtype=torch.float64, requires_grad=True) for _ in range(3))
    mask = torch.tensor([[True, False], [False, False]])
    out, _ = fn.scaled_dot_product_attention(q, k, v, mask)
    out.sum().backward()
    assert torch.equal(out[0, 0, 1], torch.zeros(3, dtype=torch.float64))
    assert all(torch.isfinite(x.grad).all() for x in (q, k, v))


@given(st.integers(1, 3), st.integers(1, 4), st.integers(1, 3), st.integers(1, 4))
def test_split_and_concat_heads_match_reference(batch, seq, heads, d):
    x = np.random.default_rng(0).normal(size=(batch, seq, heads * d))
    split = fn.split_heads(t(x), heads)
    assert err(split, ref_attn.split_heads(x, heads)) == 0.0
    assert err(fn.concat_heads(split), x) == 0.0


@st.composite
def mha_case(draw: st.DrawFn) -> tuple[TransformerConfig, np.ndarray, np.ndarray, np.ndarray]:
    c = TransformerConfig.small(d_model=draw(st.integers(2, 7)), heads=draw(st.integers(1, 3)),
                                d_k=draw(st.integers(1, 4)), d_v=draw(st.integers(1, 4)))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 31)))
    batch, seq_q, seq_k = (draw(st.integers(1, 4)) for _ in range(3))
    query, memory = rng.normal(size=(batch, seq_q, c.d_model)), rng.normal(size=(batch, seq_k, c.d_model))
    return c, query, memory, rng.random((batch, 1, seq_q, seq_k)) < 0.7


def _mha(c: TransformerConfig, seed: int = 0) -> tuple[MultiHeadAttention, dict]:
    params = init_params(c, seed)["encoder"]["layers"][0]["self_attn"]
    module = MultiHeadAttention(c, {"dtype": torch.float64})
    state = to_module_names({f"a.self_attn.{k}": t(v) for k, v in params.items()})
    module.load_state_dict({k.rsplit(".", 1)[1]: v for k, v in state.items()})
    return module, params


@given(mha_case(), st.booleans())
def test_multi_head_attention_self_and_cross_match_reference(case, need_weights):
    c, query, memory, mask = case
    module, params = _mha(c)
    for key_value, m in ((query, None), (memory, mask)):  # self-attention (fused QKV), cross attention
        ref_out, ref_w = ref_attn.multi_head_attention(query, key_value, key_value, params, m)
        kv = t(query) if key_value is query else t(key_value)
        q_in = kv if key_value is query else t(query)
        out, w = module(q_in, kv, None if m is None else t(m), need_weights)
        assert err(out, ref_out) <= TOL64
        if need_weights:
            assert err(w, ref_w) <= TOL64


@given(st.integers(1, 6), st.integers(1, 6), st.integers(1, 3), st.integers(1, 4))
def test_ffn_embedding_logits_layer_norm_match_reference(d_model, d_ff, batch, seq):
    rng = np.random.default_rng(d_model * 31 + d_ff)
    x = rng.normal(size=(batch, seq, d_model))
    w1, b1, w2, b2 = rng.normal(size=(d_model, d_ff)), rng.normal(size=d_ff), rng.normal(size=(d_ff, d_model)), rng.normal(size=d_model)
    ref = ref_ffn.position_wise_ffn(x, {"w_1": w1, "b_1": b1, "w_2": w2, "b_2": b2})
    assert err(fn.position_wise_ffn(t(x), t(w1).T, t(b1), t(w2).T, t(b2)), ref) <= TOL64
    emb, tokens = rng.normal(size=(7, d_model)), rng.integers(0, 7, (batch, seq))
    assert err(fn.embed(t(tokens), t(emb)), ref_emb.embed(tokens, emb)) <= TOL64
    assert err(fn.output_logits(t(x), t(emb)), ref_emb.output_logits(x, emb)) <= TOL64
    scale, bias = rng.normal(size=d_model), rng.normal(size=d_model)
    assert err(fn.layer_norm(t(x), t(scale), t(bias), 1e-5), ref_res.layer_norm(x, scale, bias, 1e-5)) <= TOL64


@given(st.integers(1, 60), st.integers(1, 33), st.sampled_from([torch.float64, torch.float32]))
def test_positional_encoding_matches_reference(seq_len, d_model, dtype):
    ours = fn.sinusoidal_encoding(seq_len, d_model, dtype=dtype)
    assert ours.dtype == dtype
    assert err(ours, ref_pe.sinusoidal_encoding(seq_len, d_model)) <= (TOL64 if dtype == torch.float64 else 1e-6)


@pytest.mark.parametrize("position", ["post", "pre"])
def test_sublayer_connection_with_keep_mask_matches_reference(position):
    rng = np.random.default_rng(3)
    x, keep = rng.normal(size=(2, 3, 4)), rng.random((2, 3, 4)) < 0.8
    norm = {"scale": rng.normal(size=4), "bias": rng.normal(size=4)}
    sub = lambda h: h * 2.0 + 1.0
    ref = ref_res.sublayer_connection(x, sub, norm, 1e-5, position, keep, 0.1)
    ours = fn.sublayer_connection(t(x), sub, t(norm["scale"]), t(norm["bias"]), 1e-5, position, t(keep), 0.1)
    assert err(ours, ref) <= TOL64


def test_causal_mask_for_trailing_queries():
    full = fn.causal_mask(4, 4)
    assert torch.equal(full, torch.tril(torch.ones(4, 4, dtype=torch.bool))[None, None])
    assert torch.equal(fn.causal_mask(1, 4), full[:, :, -1:])
