"""§3.4 Embeddings and softmax: the sqrt(d_model) scale, the tied output projection, the output softmax.

That one matrix serves all three uses can only show through training (a
forward pass loads the same canonical matrix everywhere): see
``test_training.py``'s trajectory test.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given

from reference.attention import softmax
from reference.embeddings import embed, output_logits
from reference.layers import transformer_forward
from spec_tests.strategies import ModelCase, model_cases
from transformer_spec.harness.checker import Checker
from transformer_spec.harness.compare import as_numpy


@pytest.mark.precise
@pytest.mark.clause("3.4/embedding-scale")
@pytest.mark.requires("embedding")
@given(case=model_cases(layers=(1,)))
def test_embedding_is_scaled_row(checker: Checker, case: ModelCase) -> None:
    src, _ = case.tokens()
    weight = case.params["embedding"]
    out = as_numpy(checker.call("3.4/embedding-scale", "embedding", checker.tensor(src), checker.tensor(weight)))
    ratio = float(np.linalg.norm(out) / np.linalg.norm(weight[src]))
    checker.require("3.4/embedding-scale", abs(ratio / np.sqrt(case.config.d_model) - 1) < 1e-3,
                    f"embedding / embedding-matrix row = {ratio:.6g}, but should be sqrt(d_model) = "
                    f"{np.sqrt(case.config.d_model):.6g} (d_model={case.config.d_model})")
    checker.assert_close("3.4/embedding-scale", "embedding(tokens)", out, embed(src, weight))


@pytest.mark.precise
@pytest.mark.clause("3.4/tied-weights")
@pytest.mark.requires("output_logits")
@given(case=model_cases(layers=(1,)))
def test_output_projection_is_the_embedding_transposed(checker: Checker, case: ModelCase) -> None:
    x, weight = case.hidden(case.seq_tgt), case.params["embedding"]
    out = checker.call("3.4/tied-weights", "output_logits", checker.tensor(x), checker.tensor(weight))
    checker.assert_close("3.4/tied-weights", "x E^T", out, output_logits(x, weight))


@pytest.mark.precise
@pytest.mark.clause("3.4/output-softmax")
@pytest.mark.requires("model")
@given(case=model_cases(layers=(1,)))
def test_logits_give_the_reference_next_token_distribution(checker: Checker, case: ModelCase) -> None:
    """softmax over the vocabulary of the model's logits equals the reference's next-token probabilities."""
    config = checker.config(case.config)
    src, tgt = case.tokens()
    logits = as_numpy(checker.call("3.4/output-softmax", "model", checker.tensor(src), checker.tensor(tgt),
                                   checker.params(case.params_for(config)), config))
    expected = softmax(transformer_forward(src, tgt, case.params_for(config), config))
    checker.assert_close("3.4/output-softmax", "softmax(logits)", softmax(logits), expected)
