"""The torch adapters on the one shape they can express, d_k = d_v = d_model / heads.

The suite's model strategies always draw d_k != d_v (so no axes can be
swapped unnoticed), which ``torch-mha`` and ``torch-transformer`` answer with
``Unsupported``; here the same comparisons run on shapes they support.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from implementations.protocol import Unsupported
from reference import layers
from reference.attention import multi_head_attention
from reference.config import TransformerConfig
from reference.masks import decoder_self_mask, padding_mask
from reference.params import init_params, map_tree
from transformer_spec.harness.checker import Checker
from transformer_spec.harness.loading import load
from transformer_spec.harness.target import Target

CONFIGS = [TransformerConfig.small(), TransformerConfig.small(layers=1, d_model=12, heads=4, d_k=3, d_v=3, d_ff=7)]


def _checker(spec: str) -> Checker:
    return Checker(load(spec, Target()), spec, Target())


def _tokens(c: TransformerConfig, rng: np.random.Generator, batch: int, seq: int) -> np.ndarray:
    """Ids with ragged right padding; every row keeps at least its first token."""
    tokens = rng.integers(1, c.vocab, size=(batch, seq))
    tokens[np.arange(seq)[None, :] >= rng.integers(1, seq + 1, size=(batch, 1))] = c.pad_id
    return tokens


@pytest.mark.parametrize("c", CONFIGS, ids=["small", "four-heads"])
def test_torch_mha_matches_reference(c: TransformerConfig) -> None:
    checker, rng = _checker("torch-mha"), np.random.default_rng(0)
    params = init_params(c, 1)["decoder"]["layers"][0]["cross_attn"]
    query, memory = rng.normal(size=(3, 4, c.d_model)), rng.normal(size=(3, 5, c.d_model))
    mask = padding_mask(_tokens(c, rng, 3, 5), c.pad_id)
    t = checker.tensor
    out, weights = checker.call("3.2.2/multi-head", "multi_head_attention", t(query), t(memory), t(memory),
                                checker.params(params), t(mask))
    ref_out, ref_weights = multi_head_attention(query, memory, memory, params, mask)
    checker.assert_close("3.2.2/multi-head", "out", out, ref_out)
    checker.assert_close("3.2.2/multi-head", "weights", weights, ref_weights)


@pytest.mark.parametrize("c", CONFIGS, ids=["small", "four-heads"])
@pytest.mark.parametrize("norm_position", ["post", "pre"])
def test_torch_transformer_matches_reference(c: TransformerConfig, norm_position: str) -> None:
    checker, rng = _checker("torch-transformer"), np.random.default_rng(1)
    c = checker.config(c.replace(norm_position=norm_position))
    p = init_params(c, 2)
    src, tgt = _tokens(c, rng, 3, 6), _tokens(c, rng, 3, 5)
    x, y = rng.normal(size=(3, 6, c.d_model)), rng.normal(size=(3, 5, c.d_model))
    sm, tm, memory = padding_mask(src, c.pad_id), decoder_self_mask(tgt, c.pad_id), layers.encode(src, p, c)
    t, tree, enc, dec = checker.tensor, checker.params, p["encoder"]["layers"][0], p["decoder"]["layers"][0]
    cases = {  # component: (clause, its arguments, the reference's result)
        "encoder_layer": ("3.1/encoder-layer", (t(x), tree(enc), t(sm), c), layers.encoder_layer(x, enc, sm, c)),
        "decoder_layer": ("3.1/decoder-layer", (t(y), t(x), tree(dec), t(sm), t(tm), c),
                          layers.decoder_layer(y, x, dec, sm, tm, c)),
        "encoder": ("3.1/encoder-stack", (t(src), tree(p), c), memory),
        "decoder": ("3.1/decoder-stack", (t(tgt), t(memory), t(src), tree(p), c), layers.decode(tgt, memory, src, p, c)),
        "model": ("3/model-forward", (t(src), t(tgt), tree(p), c), layers.transformer_forward(src, tgt, p, c)),
    }
    for method, (clause_id, args, expected) in cases.items():
        checker.assert_close(clause_id, method, checker.call(clause_id, method, *args), expected)


def test_fully_masked_query_takes_one_path_with_and_without_gradients() -> None:
    """nn.TransformerEncoderLayer's inference fast path gives NaN where its ordinary path gives zeros."""
    impl, c = load("torch-transformer", Target()), CONFIGS[0]
    p = init_params(c, 3)["encoder"]["layers"][0]
    mask = torch.ones(2, 1, 3, 3, dtype=torch.bool)
    mask[0, 0, 0] = False
    x = torch.randn(2, 3, c.d_model, dtype=torch.float64)
    outs = [impl.encoder_layer(x, map_tree(lambda a: torch.tensor(a, requires_grad=grad), p), mask, c).detach()
            for grad in (False, True)]
    torch.testing.assert_close(outs[0], outs[1])
    expected = layers.encoder_layer(x.numpy(), p, mask.numpy(), c.replace(**impl.deviations))
    np.testing.assert_allclose(outs[0].numpy(), expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("spec, method", [("torch-mha", "multi_head_attention"), ("torch-transformer", "encoder_layer")])
def test_other_shapes_are_unsupported(spec: str, method: str) -> None:
    c = TransformerConfig.small(d_k=3, d_v=5)
    layer = init_params(c)["encoder"]["layers"][0]
    x = torch.zeros(1, 2, c.d_model, dtype=torch.float64)
    tree = map_tree(torch.tensor, layer)
    args = (x, x, x, tree["self_attn"], None) if method == "multi_head_attention" else (x, tree, None, c)
    with pytest.raises(Unsupported, match="d_k = d_v = d_model / heads"):
        getattr(load(spec, Target()), method)(*args)
