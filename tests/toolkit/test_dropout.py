"""keep_masks_into on a small module with two nn.Dropout, one of them called twice; without, a model minus its head."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from transformer_spec.implementations.adapters.toolkit import keep_masks_into, without

P = 0.25


class _TwoDropouts(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.first, self.second = nn.Dropout(P), nn.Dropout(0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.second(self.first(x) + 1.0) * 2.0


def _keep(seed: int) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {site: torch.rand(2, 3, generator=g) > 0.5 for site in ("a", "b", "c")}


def test_each_dropout_applies_its_sites_mask_and_is_restored() -> None:
    module, keep, x = _TwoDropouts().train(), _keep(0), torch.randn(2, 3)
    with keep_masks_into(module, keep, {"first": "a", "second": "b"}):
        out = module(x)
    expected = (x * keep["a"] / (1 - P) + 1.0) * keep["b"] / 0.5 * 2.0  # each keeps its own p
    torch.testing.assert_close(out, expected)
    assert isinstance(module.first, nn.Dropout) and isinstance(module.second, nn.Dropout)


def test_none_is_no_dropout_and_a_list_is_taken_in_order_of_calls() -> None:
    module, keep, x = _TwoDropouts().eval(), _keep(1), torch.randn(2, 3)
    module.forward = lambda h: module.first(module.first(h)) + module.second(h)  # type: ignore[method-assign]
    with keep_masks_into(module, keep, {"first": ["a", "c"], "second": None}):
        out = module(x)
    torch.testing.assert_close(out, x * keep["a"] * keep["c"] / (1 - P) ** 2 + x)


def test_a_dropout_no_rule_names_is_refused() -> None:
    with pytest.raises(ValueError, match=r"no site for the dropout submodules \['second'\]"):
        with keep_masks_into(_TwoDropouts(), _keep(0), {"first": "a"}):
            pass


def test_calls_beyond_the_listed_sites_and_masks_left_unused_are_errors() -> None:
    module = _TwoDropouts()
    with pytest.raises(RuntimeError, match=r"dropout 'first' ran 2 times, but sites lists only \['a'\] for it"):
        with keep_masks_into(module, _keep(0), {"first": "a", "second": "b"}):
            module.first(module.first(torch.ones(2, 3)))
    assert isinstance(module.first, nn.Dropout)
    with pytest.raises(RuntimeError, match=r"masks went unused: \['first \(1 of 2\)'\]"):
        with keep_masks_into(module, _keep(0), {"first": ["a", "b"], "second": "c"}):
            module(torch.ones(2, 3))


def test_a_site_without_a_mask_is_named() -> None:
    module = _TwoDropouts()
    with pytest.raises(KeyError, match="mapped to the site 'z', which keep has no mask for"):
        with keep_masks_into(module, _keep(0), {"first": "z", "second": "b"}):
            module(torch.ones(2, 3))


def test_without_its_head_a_model_returns_its_hidden_states_and_asks_no_weight_for_the_head() -> None:
    model = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 7))  # the last: an output head (d_model=4 -> vocab=7)
    with without(model, "1"):
        assert model(torch.ones(2, 3)).shape == (2, 4)
        assert [name for name, _ in model.named_parameters()] == ["0.weight", "0.bias"]
    assert model(torch.ones(2, 3)).shape == (2, 7)
    with pytest.raises(AttributeError):
        with without(model, "generator"):
            pass
