"""Ablated model variants and the leak verdict, without training."""
from __future__ import annotations

import pytest
import torch

from transformer_spec.reference.config import TransformerConfig
from transformer_spec.reference.errors import SpecUsageError
from transformer_spec.translation.leak import leak_verdict
from transformer_spec.translation.variants import build_model

CONFIG = TransformerConfig.small(vocab=12, dropout=0.0)
SRC = torch.tensor([[4, 5, 6, 7, 3], [7, 6, 5, 4, 3]])
TGT = torch.tensor([[2, 8, 9, 10], [2, 8, 9, 11]])


def _model(variant: str) -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model(variant, CONFIG, torch.device("cpu")).eval()


def test_paper_model_depends_on_the_source_order_and_not_on_future_targets():
    model = _model("paper")
    logits = model(SRC, TGT[:1].expand(2, -1))  # the two sources are permutations of each other
    assert not torch.allclose(logits[0], logits[1], atol=1e-5)
    assert torch.allclose(model(SRC, TGT)[:, :3], model(SRC, TGT[:, :3]), atol=1e-6)


def test_no_cross_attention_ignores_the_source():
    model = _model("no-cross-attention")
    logits = model(SRC, TGT[:1].expand(2, -1))
    assert torch.allclose(logits[0], logits[1], atol=1e-6)


def test_no_positional_encoding_sees_a_bag_of_source_words():
    model = _model("no-positional-encoding")
    logits = model(SRC, TGT[:1].expand(2, -1))  # the two sources are permutations of each other
    assert torch.allclose(logits[0], logits[1], atol=1e-5)


def test_leaky_decoder_sees_future_target_tokens():
    leaky, paper = _model("leaky-decoder"), _model("paper")
    changed = TGT.clone()
    changed[:, -1] = 5
    assert not torch.allclose(leaky(SRC, TGT)[:, 0], leaky(SRC, changed)[:, 0])
    assert torch.allclose(paper(SRC, TGT)[:, 0], paper(SRC, changed)[:, 0], atol=1e-6)


def test_unknown_variant_is_a_usage_error():
    with pytest.raises(SpecUsageError):
        build_model("no-attention", CONFIG, torch.device("cpu"))


def test_leak_verdict_names_the_leak():
    verdict = leak_verdict(0.99, 0.02, mean_target_tokens=20)
    assert not verdict.passed
    assert verdict.diagnosis == ("teacher-forced accuracy 0.99 but decoded exact match 0.02: "
                                 "the decoder sees future target tokens")


def test_leak_verdict_passes_consistent_and_weak_models():
    assert leak_verdict(0.998, 0.97, mean_target_tokens=20).passed
    assert leak_verdict(0.6, 0.0, mean_target_tokens=20).passed  # weak, but no sign of a leak
