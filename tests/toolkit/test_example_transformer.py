"""examples/my_transformer.py, the README's typical toolkit-written adapter, computes the reference's model."""
from __future__ import annotations

import numpy as np
import pytest

from transformer_spec.reference.config import TransformerConfig
from transformer_spec.reference.layers import transformer_forward
from transformer_spec.reference.params import init_params
from transformer_spec.reference.regularization import dropout_sites
from transformer_spec.harness.checker import Checker
from transformer_spec.harness.loading import load
from transformer_spec.harness.target import Target

SPEC = "examples/my_transformer.py:MyTransformerAdapter"


@pytest.mark.parametrize("with_dropout", [False, True], ids=["evaluation", "keep-masks"])
def test_the_example_model_matches_the_reference(with_dropout: bool) -> None:
    checker, rng = Checker(load(SPEC, Target()), SPEC, Target()), np.random.default_rng(0)
    c = checker.config(TransformerConfig.small(layers=2, dropout=0.2))
    p, src, tgt = init_params(c, 1), rng.integers(1, c.vocab, size=(2, 6)), rng.integers(1, c.vocab, size=(2, 5))
    src[0, 4:], tgt[1, 3:] = c.pad_id, c.pad_id
    keep = {site: rng.random(shape) >= c.dropout for site, shape in dropout_sites(c, 2, 6, 5).items()}
    given = {site: checker.tensor(mask) for site, mask in keep.items()} if with_dropout else None
    out = checker.call("3/model-forward", "model", checker.tensor(src), checker.tensor(tgt), checker.params(p), c, given)
    checker.assert_close("3/model-forward", "logits", out, transformer_forward(src, tgt, p, c, keep if with_dropout else None))
