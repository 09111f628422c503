"""load_canonical: rules with wildcards and transforms, every parameter checked by name, gradients to the tree."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from transformer_spec.implementations.adapters.toolkit import load_canonical, run_with, transposed
from transformer_spec.implementations.protocol import ParameterMismatch

D_MODEL, D_FF = 4, 6


class _Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.up, self.norm = nn.Linear(D_MODEL, D_FF), nn.LayerNorm(D_MODEL)


class _Stack(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.blocks = nn.ModuleList([_Block(), _Block()])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([b.up(b.norm(x)) for b in self.blocks])


RULES = {"layers.*.ffn.w_1": ("blocks.*.up.weight", transposed), "layers.*.ffn.b_1": "blocks.*.up.bias",
         "layers.*.norm1.scale": "blocks.*.norm.weight", "layers.*.norm1.bias": "blocks.*.norm.bias"}


def _tree(scale_shape: tuple[int, ...] = (D_MODEL,)) -> dict:
    g = torch.Generator().manual_seed(0)
    layer = lambda: {"ffn": {"w_1": torch.randn(D_MODEL, D_FF, generator=g, requires_grad=True),
                             "b_1": torch.randn(D_FF, generator=g)},
                     "norm1": {"scale": torch.randn(scale_shape, generator=g),
                               "bias": torch.randn(D_MODEL, generator=g)}}
    return {"layers": [layer(), layer()]}


def test_every_layer_is_mapped_and_transformed() -> None:
    tree, module = _tree(), _Stack()
    weights = load_canonical(module, RULES, tree)
    assert weights.keys() == dict(module.named_parameters()).keys()
    assert torch.equal(weights["blocks.1.up.weight"], tree["layers"][1]["ffn"]["w_1"].T)
    assert weights["blocks.0.norm.bias"] is tree["layers"][0]["norm1"]["bias"]


def test_gradients_reach_the_tree() -> None:
    tree, module = _tree(), _Stack()
    run_with(module, load_canonical(module, RULES, tree), {}, torch.randn(3, D_MODEL)).sum().backward()
    grad = tree["layers"][1]["ffn"]["w_1"].grad
    assert grad is not None and bool(grad.abs().sum() > 0)


def test_a_parameter_of_another_shape_is_named_with_its_axes() -> None:
    with pytest.raises(ParameterMismatch, match=r"blocks.0.norm.weight has shape \(d_model,\)=\(4,\), but the "
                                                r"canonical tree has \(\)"):
        load_canonical(_Stack(), RULES, _tree(scale_shape=()), {"d_model": D_MODEL, "d_ff": D_FF})


def test_a_parameter_no_rule_reaches_is_named() -> None:
    rules = {k: v for k, v in RULES.items() if "bias" not in k or "ffn" in k}
    with pytest.raises(ParameterMismatch, match=r"no weight for the module's parameters \['blocks.0.norm.bias', "
                                                r"'blocks.1.norm.bias'\]"):
        load_canonical(_Stack(), rules, _tree())


def test_two_entries_for_one_parameter_are_refused() -> None:
    with pytest.raises(ValueError, match="two canonical entries to the module parameter 'blocks.0.up.bias'"):
        load_canonical(_Stack(), {**RULES, "layers.*.norm1.bias": "blocks.*.up.bias"}, _tree())
