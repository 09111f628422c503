"""The torch adapters on the one shape they can express, d_k = d_v = d_model / heads, and their declarations.

They declare ``Shapes(heads_divide_d_model=True)``, so the suite's model strategies
draw only that shape for them (the paper's ratios among it); here the same
comparisons run on fixed shapes, other shapes are shown Unsupported, and canonical
weights that do not fit a module's parameters are shown refused by name.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import find, given, settings
from hypothesis import strategies as st

from transformer_spec.implementations.protocol import ParameterMismatch, Shapes, Unsupported
from transformer_spec.reference import layers
from transformer_spec.reference.attention import multi_head_attention
from transformer_spec.reference.config import TransformerConfig
from transformer_spec.reference.errors import SpecUsageError
from transformer_spec.reference.masks import decoder_self_mask, padding_mask
from transformer_spec.reference.params import init_params, map_tree
from transformer_spec.reference.regularization import dropout_sites
from transformer_spec.harness.checker import Checker
from transformer_spec.spec_tests.strategies import configs, model_cases
from transformer_spec.harness.loading import check_implementation, load
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


@settings(max_examples=20, deadline=None)
@given(data=st.data())
def test_declared_shapes_are_the_only_ones_drawn(data: st.DataObject) -> None:
    for spec in ("torch-mha", "torch-transformer"):
        c = data.draw(model_cases(load(spec, Target())), label=spec).config
        assert c.d_k == c.d_v == c.d_model // c.heads and c.d_model % c.heads == 0, f"{spec} was given {c}"


def test_the_paper_ratios_are_drawn() -> None:
    paper = lambda c: c.heads == 8 and c.d_model == 8 * c.d_k and c.d_ff == 4 * c.d_model
    for shapes in (Shapes(), Shapes(heads_divide_d_model=True)):
        assert paper(find(configs(shapes=shapes), paper))


def test_a_declaration_of_the_wrong_kind_is_a_usage_error() -> None:
    impl = load("torch-mha", Target())
    impl.shapes = "heads-divide-d_model"  # an instance attribute shadows the class's declaration
    with pytest.raises(SpecUsageError, match="declares shapes = 'heads-divide-d_model', which is not an "
                                             "transformer_spec.implementations.protocol.Shapes"):
        check_implementation(impl, "torch-mha")


@pytest.mark.parametrize("spec, gain, message", [
    ("mutant:scalar-layer-norm", np.ones(8), r"norm1.scale has shape \(\), but the canonical tree has \(d_model,\)=\(8,\)"),
    ("torch-transformer", np.float64(1.0), r"norm1.weight has shape \(d_model,\)=\(8,\), but the canonical tree has \(\)"),
], ids=["scalar-gain-in-the-module", "scalar-gain-in-the-tree"])
def test_weights_that_do_not_fit_the_module_are_refused_by_name(spec: str, gain: np.ndarray, message: str) -> None:
    """A LayerNorm gain of another shape than the module's parameter is named, never broadcast (§3.1)."""
    c = TransformerConfig.small(d_model=8, d_k=4, d_v=4)
    layer = init_params(c)["encoder"]["layers"][0]
    layer["norm1"]["scale"] = gain
    x = torch.zeros(1, 3, c.d_model, dtype=torch.float64)
    with pytest.raises(ParameterMismatch, match=message):
        load(spec, Target()).encoder_layer(x, map_tree(torch.tensor, layer), None, c)


@pytest.mark.parametrize("norm_position", ["post", "pre"])
def test_torch_transformer_takes_the_suites_dropout_keep_masks(norm_position: str) -> None:
    """§5.4 sites reach nn.Transformer's dropout modules; the one inside its FFN (not the paper's) stays off."""
    checker, rng = _checker("torch-transformer"), np.random.default_rng(4)
    c = checker.config(TransformerConfig.small(dropout=0.3, norm_position=norm_position))
    p, src, tgt = init_params(c, 5), _tokens(c, rng, 2, 5), _tokens(c, rng, 2, 4)
    keep = {site: rng.random(shape) >= c.dropout for site, shape in dropout_sites(c, 2, 5, 4).items()}
    t = checker.tensor
    out = checker.call("5.4/dropout", "model", t(src), t(tgt), checker.params(p), c,
                       {site: t(mask) for site, mask in keep.items()})
    checker.assert_close("5.4/dropout", "logits", out, layers.transformer_forward(src, tgt, p, c, keep))


@pytest.mark.parametrize("notes", [{"3.5/positional": "a typo in the clause id"}, {"3.5/positional-encoding": 1},
                                   "float32 positions"])
def test_notes_must_map_clause_ids_to_text(notes: object) -> None:
    impl = load("torch-mha", Target())
    impl.notes = notes
    with pytest.raises(SpecUsageError, match="they must map clause ids"):
        check_implementation(impl, "torch-mha")
