"""§3.2.2 Multi-head attention: values, gradients, head split/concat, heads as independent slices."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from transformer_spec.reference.attention import concat_heads, multi_head_attention, scaled_dot_product_attention, split_heads
from transformer_spec.reference.layers import decoder_layer
from transformer_spec.reference.masks import decoder_self_mask, padding_mask
from .cases import perturbation
from .gradients import check_gradients
from .strategies import SEEDS, ModelCase, distinct_sizes, model_cases
from transformer_spec.harness.checker import Checker
from transformer_spec.harness.compare import as_numpy


def _mha_inputs(case: ModelCase) -> tuple[dict, np.ndarray, np.ndarray, np.ndarray]:
    """Self-attention parameters of the first encoder layer, a query and a memory of other lengths, a key mask."""
    params = case.params["encoder"]["layers"][0]["self_attn"]
    query, memory = case.hidden(case.seq_tgt, 2), case.hidden(case.seq_src, 3)
    src, _ = case.tokens()
    return params, query, memory, (src != case.config.pad_id)[:, None, None, :]


def _call_mha(checker: Checker, clause_id: str, params: dict, query: np.ndarray, memory: np.ndarray,
              mask: np.ndarray | None) -> tuple[object, object]:
    return checker.call(clause_id, "multi_head_attention", checker.tensor(query), checker.tensor(memory),
                        checker.tensor(memory), checker.params(params), None if mask is None else checker.tensor(mask))


@pytest.mark.clause("3.2.2/multi-head")
@pytest.mark.requires("multi_head_attention")
@given(data=st.data())
def test_multi_head_attention_matches_reference(checker: Checker, data: st.DataObject) -> None:
    case = data.draw(model_cases(checker.impl, layers=(1,)), label="case")
    params, query, memory, mask = _mha_inputs(case)
    params, query, memory = checker.exact([params, query, memory])
    out, weights = checker.call_deterministic(
        "3.2.2/multi-head", "multi_head_attention", checker.tensor(query), checker.tensor(memory),
        checker.tensor(memory), checker.params(params), checker.tensor(mask))
    ref_out, ref_weights = multi_head_attention(query, memory, memory, params, mask)
    checker.assert_close("3.2.2/multi-head", "out", out, ref_out, baseline=checker.baseline(
        "multi_head_attention", checker.tensor(query), checker.tensor(memory), checker.tensor(memory),
        checker.params(params), checker.tensor(mask)))
    if weights is not None:
        checker.assert_close("3.2.2/multi-head", "weights", weights, ref_weights)


@pytest.mark.needs("gradients")
@pytest.mark.precise
@pytest.mark.clause("3.2.2/multi-head")
@pytest.mark.requires("multi_head_attention")
@given(data=st.data())
def test_multi_head_attention_gradients_match_reference(checker: Checker, data: st.DataObject) -> None:
    case = data.draw(model_cases(checker.impl, layers=(1,), padded=False), label="case")
    params, query, memory, _ = _mha_inputs(case)
    impl_fn = lambda q, m: checker.call("3.2.2/multi-head", "multi_head_attention", q, m, m, checker.params(params), None)[0]
    ref_fn = lambda q, m: multi_head_attention(q, m, m, params)[0]
    check_gradients(checker, "3.2.2/multi-head", ("query", "memory"), impl_fn, ref_fn, (query, memory), case.seed)


@pytest.mark.clause("3.2.2/head-split-concat")
@pytest.mark.requires("heads")
@given(sizes=distinct_sizes(4, 1, 6), seed=SEEDS)
def test_head_split_and_concat(checker: Checker, sizes: list[int], seed: int) -> None:
    batch, seq, heads, d = sizes
    x = np.random.default_rng(seed).normal(size=(batch, seq, heads * d))
    split = checker.call("3.2.2/head-split-concat", "split_heads", checker.tensor(x), heads)
    checker.assert_close("3.2.2/head-split-concat", "split_heads(x)", split, split_heads(x, heads))
    joined = checker.call("3.2.2/head-split-concat", "concat_heads", checker.tensor(split_heads(x, heads)))
    checker.assert_close("3.2.2/head-split-concat", "concat_heads(split_heads(x))", joined, concat_heads(split_heads(x, heads)))


def _permute_heads(params: dict, order: np.ndarray) -> dict:
    """Reorder the heads: per-head projections along their head axis, W^O in blocks of d_v rows."""
    heads, d_v = params["w_v"].shape[0], params["w_v"].shape[2]
    out = {k: (v[order] if k[2:] in ("q", "k", "v") else v) for k, v in params.items()}
    out["w_o"] = params["w_o"].reshape(heads, d_v, -1)[order].reshape(heads * d_v, -1)
    return out


@pytest.mark.precise
@pytest.mark.clause("3.2.2/head-split-concat")
@pytest.mark.requires("multi_head_attention")
@given(data=st.data(), seed=SEEDS)
def test_heads_permuted_with_their_weights_change_nothing(checker: Checker, data: st.DataObject, seed: int) -> None:
    """Head i sees only its own slice of W^Q, W^K, W^V and feeds only its block of W^O."""
    case = data.draw(model_cases(checker.impl, layers=(1,)), label="case")
    params, query, memory, mask = _mha_inputs(case)
    order = np.random.default_rng(seed).permutation(case.config.heads)
    out, _ = _call_mha(checker, "3.2.2/head-split-concat", params, query, memory, mask)
    permuted, _ = _call_mha(checker, "3.2.2/head-split-concat", _permute_heads(params, order), query, memory, mask)
    checker.assert_close("3.2.2/head-split-concat", f"MultiHead with heads reordered {order.tolist()}", permuted,
                         multi_head_attention(query, memory, memory, params, mask)[0])
    checker.assert_close("3.2.2/head-split-concat", "MultiHead", out, multi_head_attention(query, memory, memory, params, mask)[0])


@pytest.mark.precise
@pytest.mark.clause("3.2.2/head-split-concat")
@pytest.mark.requires("multi_head_attention")
@given(sizes=distinct_sizes(4, 1, 6), seed=SEEDS)
def test_one_head_with_identity_projections_is_attention(checker: Checker, sizes: list[int], seed: int) -> None:
    batch, seq_q, seq_k, d_model = sizes
    rng = np.random.default_rng(seed)
    query, memory = rng.normal(size=(batch, seq_q, d_model)), rng.normal(size=(batch, seq_k, d_model))
    eye = np.eye(d_model)[None]
    params = {"w_q": eye, "w_k": eye, "w_v": eye, "w_o": np.eye(d_model), "b_q": np.zeros((1, d_model)),
              "b_k": np.zeros((1, d_model)), "b_v": np.zeros((1, d_model)), "b_o": np.zeros(d_model)}
    out, _ = _call_mha(checker, "3.2.2/head-split-concat", params, query, memory, None)
    expected = scaled_dot_product_attention(query, memory, memory)[0]
    checker.assert_close("3.2.2/head-split-concat", "one identity head", out, expected)


@pytest.mark.precise
@pytest.mark.clause("3.2.3/cross-attention")
@pytest.mark.requires("decoder_layer")
@given(data=st.data(), seed=SEEDS)
def test_cross_attention_reads_memory_as_keys_and_values(checker: Checker, data: st.DataObject, seed: int) -> None:
    """Reordering the encoder positions (with their mask) changes nothing: memory enters only as a set of K, V."""
    case = data.draw(model_cases(checker.impl, layers=(1,)), label="case")
    config = checker.config(case.config)
    src, tgt = case.tokens()
    layer = case.params["decoder"]["layers"][0]
    y, memory = case.hidden(case.seq_tgt, 4), case.hidden(case.seq_src, 5)
    order = np.random.default_rng(seed).permutation(case.seq_src)
    src_mask, tgt_mask = padding_mask(src, config.pad_id), decoder_self_mask(tgt, config.pad_id)
    args = lambda m, sm: (checker.tensor(y), checker.tensor(m), checker.params(layer), checker.tensor(sm),
                          checker.tensor(tgt_mask), config)
    out = checker.call("3.2.3/cross-attention", "decoder_layer", *args(memory, src_mask))
    moved = checker.call("3.2.3/cross-attention", "decoder_layer", *args(memory[:, order], src_mask[..., order]))
    expected = decoder_layer(y, memory, layer, src_mask, tgt_mask, config)
    checker.assert_close("3.2.3/cross-attention", "decoder layer (queries from the decoder, K, V from memory)", out, expected)
    checker.assert_close("3.2.3/cross-attention", "decoder layer with encoder positions reordered", moved, expected)
    other = checker.call("3.2.3/cross-attention", "decoder_layer", *args(memory + 1.0, src_mask))
    checker.require("3.2.3/cross-attention", not np.allclose(as_numpy(other), as_numpy(out)),
                    "the decoder layer's output does not change when the encoder output does: cross attention ignores memory")


@pytest.mark.clause("3.2.3/encoder-self-attention")
@pytest.mark.requires("encoder_layer")
@given(data=st.data())
def test_encoder_self_attention_sees_every_position(checker: Checker, data: st.DataObject) -> None:
    """Encoder queries, keys and values all come from the previous layer, unmasked: the last input reaches the first output."""
    case = data.draw(model_cases(checker.impl, layers=(1,), padded=False), label="case")
    config = checker.config(case.config)
    x = case.hidden(case.seq_src, 6)
    layer = case.params["encoder"]["layers"][0]
    run = lambda a: as_numpy(checker.call("3.2.3/encoder-self-attention", "encoder_layer", checker.tensor(a),
                                          checker.params(layer), None, config))
    moved = x.copy()
    moved[:, -1] += perturbation(moved[:, -1].shape, np.random.default_rng(case.seed))  # no shift LayerNorm removes
    changed = np.abs(run(moved) - run(x))[:, 0].max()
    checker.require("3.2.3/encoder-self-attention", case.seq_src == 1 or changed > 0,
                    "changing the last source position leaves the first encoder output unchanged: encoder self-attention is masked")
