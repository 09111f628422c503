"""§3.4 Embeddings and softmax: the sqrt(d_model) scale, the tied output projection, the output softmax.

That one matrix serves all three uses can only show under training: a forward
pass on canonical weights puts the same matrix everywhere, even into a model
that keeps two.  So ``3.4/tied-weights`` is checked by behaviour: an update
made through one use must show in the others (here, on the trainable model),
and the trajectory of ``train_steps`` must follow the tied reference
(``test_training.py``).
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import Tensor, nn

from transformer_spec.reference.attention import softmax
from transformer_spec.reference.embeddings import embed, output_logits
from transformer_spec.reference.layers import transformer_forward
from .strategies import model_cases
from transformer_spec.harness.checker import Checker
from transformer_spec.harness.compare import as_numpy


@pytest.mark.precise
@pytest.mark.clause("3.4/embedding-scale")
@pytest.mark.requires("embedding")
@given(data=st.data())
def test_embedding_is_scaled_row(checker: Checker, data: st.DataObject) -> None:
    """E[tokens] * sqrt(d_model); unscaled under a declared embedding_scale_site="logits"."""
    case = data.draw(model_cases(checker.impl, layers=(1,)), label="case")
    site, d_model = checker.config(case.config).embedding_scale_site, case.config.d_model
    src, _ = case.tokens()
    weight = case.params["embedding"]
    out = as_numpy(checker.call("3.4/embedding-scale", "embedding", checker.tensor(src), checker.tensor(weight)))
    ratio = float(np.linalg.norm(out) / np.linalg.norm(weight[src]))
    factor, named = (np.sqrt(d_model), "sqrt(d_model)") if site == "embedding" else (1.0, "1 (the logits carry the scale)")
    checker.require("3.4/embedding-scale", abs(ratio / factor - 1) < 1e-3,
                    f"embedding / embedding-matrix row = {ratio:.6g}, but should be {named} = {factor:.6g} "
                    f"(d_model={d_model}, embedding_scale_site={site!r})")
    checker.assert_close("3.4/embedding-scale", "embedding(tokens)", out, embed(src, weight, site))


@pytest.mark.precise
@pytest.mark.clause("3.4/output-softmax")
@pytest.mark.requires("output_logits")
@given(data=st.data())
def test_output_projection_is_the_embedding_transposed(checker: Checker, data: st.DataObject) -> None:
    case = data.draw(model_cases(checker.impl, layers=(1,)), label="case")
    site = checker.config(case.config).embedding_scale_site
    x, weight = case.hidden(case.seq_tgt), case.params["embedding"]
    out = checker.call("3.4/output-softmax", "output_logits", checker.tensor(x), checker.tensor(weight))
    checker.assert_close("3.4/output-softmax", "x E^T" if site == "embedding" else "x E^T * d_model^-0.5", out,
                         output_logits(x, weight, site))


USES = ("source embedding", "target embedding", "output projection")
"""The three uses of the one matrix of §3.4."""

MOVED = 1e-6
"""Relative change above which a use counts as moved; a use whose parameters were not updated moves by exactly 0."""


def _uses(model: nn.Module, src: Tensor, tgt: Tensor, memory: Tensor, hidden: Tensor) -> dict[str, Tensor]:
    """What each use computes, each from fixed inputs, so that it reads the shared matrix only through that use.

    Shapes: src (1, vocab), tgt (1, vocab) holding every token id; memory (1, vocab, d_model),
    hidden (1, vocab, d_model) -> encoder output, decoder output, logits.
    """
    return {"source embedding": model.encode(src), "target embedding": model.decode(tgt, memory, src),
            "output projection": model.generator(hidden)}


@pytest.mark.precise
@pytest.mark.clause("3.4/tied-weights")
@pytest.mark.requires("translation")
@pytest.mark.parametrize("through", USES)
@given(data=st.data())
def test_one_update_moves_every_use_of_the_shared_matrix(checker: Checker, through: str, data: st.DataObject) -> None:
    """One matrix, so one gradient step through any one of its uses changes what the other two compute.

    The source and target sequences hold every token id, so every row of the matrix is read by
    every use.  A model that keeps a second matrix (say, a projection initialised as a copy of the
    embedding) computes the same forward pass, but after the step its other uses stay exactly where they were.
    """
    case = data.draw(model_cases(checker.impl, layers=(1,)), label="case")
    config, rng = checker.config(case.config), np.random.default_rng(case.seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(case.seed)
        model = checker.call("3.4/tied-weights", "translation_model", config).eval()
    floats = lambda *shape: torch.tensor(rng.normal(size=shape), dtype=torch.float32, device=checker.target.torch_device)
    src, tgt = (torch.tensor(rng.permutation(config.vocab)[None], device=checker.target.torch_device) for _ in range(2))
    memory, hidden = floats(1, config.vocab, config.d_model), floats(1, config.vocab, config.d_model)
    before = _uses(model, src, tgt, memory, hidden)
    params = [p for p in model.parameters() if p.requires_grad]
    loss = (before[through] * floats(*before[through].shape)).sum()
    updates = [(p, g) for p, g in zip(params, torch.autograd.grad(loss, params, allow_unused=True)) if g is not None]
    step = 1e-2 / max(float(g.abs().max()) for _, g in updates)  # the largest entry moves by 0.01
    with torch.no_grad():
        for p, g in updates:
            p -= step * g
        after = _uses(model, src, tgt, memory, hidden)
    for use in USES:
        moved = float((after[use] - before[use].detach()).abs().max() / before[use].detach().abs().max())
        checker.require("3.4/tied-weights", use == through or moved > MOVED,
                        f"a gradient step through the {through} leaves the {use} unchanged (relative change "
                        f"{moved:.3g}): they do not share one matrix (vocab={config.vocab}, d_model={config.d_model})")


@pytest.mark.precise
@pytest.mark.clause("3.4/output-softmax")
@pytest.mark.requires("model")
@given(data=st.data())
def test_logits_give_the_reference_next_token_distribution(checker: Checker, data: st.DataObject) -> None:
    """softmax over the vocabulary of the model's logits equals the reference's next-token probabilities."""
    case = data.draw(model_cases(checker.impl, layers=(1,)), label="case")
    config = checker.config(case.config)
    src, tgt = case.tokens()
    logits = as_numpy(checker.call("3.4/output-softmax", "model", checker.tensor(src), checker.tensor(tgt),
                                   checker.params(case.params_for(config)), config))
    expected = softmax(transformer_forward(src, tgt, case.params_for(config), config))
    checker.assert_close("3.4/output-softmax", "softmax(logits)", softmax(logits), expected)
