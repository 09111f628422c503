"""The whole Transformer against reference.layers: forward pass, variants, canonical weights, dropout, ties."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, strategies as st

from transformer_spec.reference import layers as ref
from transformer_spec.reference.config import TransformerConfig
from transformer_spec.reference.params import flatten, init_params
from transformer_spec.reference.regularization import dropout_sites
from transformer_spec.implementations.pytorch import Transformer, export_canonical, load_canonical, make_optimizer
from pytorch_support import configs, err, loaded, t, token_batches

TOL64, TOL32 = 1e-10, 1e-5


@st.composite
def model_cases(draw: st.DrawFn, **fixed: object) -> tuple[TransformerConfig, np.ndarray, np.ndarray]:
    c = draw(configs(**fixed))
    batch = draw(st.integers(1, 3))
    return c, draw(token_batches(c.vocab, c.pad_id, batch)), draw(token_batches(c.vocab, c.pad_id, batch))


@given(model_cases(), st.sampled_from(["post", "pre"]), st.booleans(), st.sampled_from(["zeros", "nan", "uniform"]))
def test_forward_float64_matches_reference(case, norm_position, final_norm, fully_masked):
    c, src, tgt = case
    c = c.replace(norm_position=norm_position, final_norm=final_norm, fully_masked=fully_masked)
    model, params = loaded(c, seed=int(src.sum()))
    with torch.no_grad():
        assert err(model(t(src), t(tgt)), ref.transformer_forward(src, tgt, params, c)) <= TOL64
        memory = model.encode(t(src))
        assert err(memory, ref.encode(src, params, c)) <= TOL64
        assert err(model.decode(t(tgt), memory, t(src)), ref.decode(tgt, memory.numpy(), src, params, c)) <= TOL64


@given(model_cases())
def test_forward_float32_close_to_reference(case):
    c, src, tgt = case
    model, params = loaded(c, dtype=torch.float32)
    with torch.no_grad():
        assert err(model(t(src), t(tgt)), ref.transformer_forward(src, tgt, params, c)) <= TOL32


@given(configs(), st.booleans())
def test_canonical_round_trip_is_exact(c, final_norm):
    c = c.replace(final_norm=final_norm)
    params = init_params(c, 5)
    back = flatten(export_canonical(load_canonical(Transformer(c, dtype=torch.float64), params)))
    assert list(back) == list(flatten(params))
    assert all(np.array_equal(back[k], v) and back[k].dtype == np.float64 for k, v in flatten(params).items())


def test_export_is_a_copy_and_load_rejects_a_foreign_tree():
    c = TransformerConfig.small()
    model, params = loaded(c)
    exported = export_canonical(model)
    exported["embedding"][0, 0] += 1.0
    assert model.embedding[0, 0].item() == params["embedding"][0, 0]
    with pytest.raises(ValueError):
        load_canonical(Transformer(c.replace(final_norm=True)), params)


def test_one_shared_embedding_stays_tied_after_an_adam_step():
    c = TransformerConfig.small()
    model, _ = loaded(c)
    assert sum(p is model.embedding for p in model.parameters()) == 1
    assert [n for n, p in model.named_parameters() if p.shape == (c.vocab, c.d_model)] == ["embedding"]
    optimizer = make_optimizer(model.parameters(), lr=1e-2)
    src = torch.tensor([[1, 2, 3]])
    model(src, src).sum().backward()
    before = model.embedding.detach().clone()
    optimizer.step()
    assert not torch.equal(before, model.embedding)
    x = torch.randn(1, 1, c.d_model, dtype=torch.float64)
    assert torch.equal(model.generator(x), x @ model.embedding.T)
    tokens = torch.tensor([[4]])
    assert torch.allclose(model.encoder.pe(model.embedding[4][None, None] * c.d_model ** 0.5, {}), model.encoder.pe(
        torch.nn.functional.embedding(tokens, model.embedding) * c.d_model ** 0.5, {}))


@given(model_cases(dropout=0.3), st.integers(0, 2 ** 31))
def test_explicit_keep_masks_give_the_reference_output(case, seed):
    c, src, tgt = case
    model, params = loaded(c)
    rng = np.random.default_rng(seed)
    sites = dropout_sites(c, len(src), src.shape[1], tgt.shape[1])
    keep = {name: rng.random(shape) > c.dropout for name, shape in sites.items() if rng.random() < 0.8}
    ours = model.train()(t(src), t(tgt), {k: t(v) for k, v in keep.items()})
    assert err(ours, ref.transformer_forward(src, tgt, params, c, keep)) <= TOL64


def test_dropout_random_in_training_and_off_in_evaluation():
    c = TransformerConfig.small(dropout=0.5)
    model, params = loaded(c)
    src, tgt = torch.tensor([[1, 2, 3, 4]]), torch.tensor([[5, 6, 7]])
    expected = ref.transformer_forward(src.numpy(), tgt.numpy(), params, c)
    assert err(model.eval()(src, tgt), expected) <= TOL64
    assert torch.equal(model(src, tgt), model(src, tgt))  # evaluation is deterministic
    model.train()
    assert not torch.equal(model(src, tgt), model(src, tgt))


def test_gradcheck_full_model_float64():
    c = TransformerConfig(layers=1, d_model=4, d_ff=3, heads=2, d_k=2, d_v=2, vocab=5, dropout=0.0)
    model, _ = loaded(c)
    names, values = zip(*model.named_parameters())
    src, tgt = torch.tensor([[1, 2, 0], [3, 4, 1]]), torch.tensor([[2, 3], [0, 1]])

    def logits(*flat: torch.Tensor) -> torch.Tensor:
        return torch.func.functional_call(model, dict(zip(names, flat)), (src, tgt))

    inputs = tuple(v.detach().clone().requires_grad_() for v in values)
    assert torch.autograd.gradcheck(logits, inputs, eps=1e-6, atol=1e-7)


def test_pe_buffer_is_not_persistent_and_exact_after_dtype_change():
    c = TransformerConfig.small()
    model = Transformer(c, dtype=torch.float32).double()
    assert not any("pe" in k for k in model.state_dict())
    from transformer_spec.reference.positional_encoding import sinusoidal_encoding
    assert err(model.encoder.pe.table[:50], sinusoidal_encoding(50, c.d_model)) <= 1e-15  # a float32 table would be ~1e-8 off
    long = model.decoder.pe.encoding(1020, 10, model.decoder.pe.table)
    assert err(long, sinusoidal_encoding(1030, c.d_model)[1020:]) <= 1e-13
