"""Head layouts: round trips are exact, the fused layouts compute the per-head projections, shapes are checked."""
from __future__ import annotations

import pytest
import torch

from transformer_spec.implementations.adapters.toolkit import (from_in_proj, fuse, fuse_bias, in_proj, mha_state, require_fused_shape,
                                              unfuse)
from transformer_spec.implementations.protocol import ParameterMismatch, Unsupported

HEADS, D_MODEL, D = 3, 6, 2


def _block(seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    block = {f"w_{r}": torch.randn(HEADS, D_MODEL, D, generator=g, dtype=torch.float64) for r in "qkv"}
    block.update({f"b_{r}": torch.randn(HEADS, D, generator=g, dtype=torch.float64) for r in "qkv"})
    return block


def test_fuse_puts_head_i_in_columns_i_d_to_i_plus_1_d() -> None:
    w = _block()["w_q"]
    fused = fuse(w)  # so x @ fused holds x @ w[i] in those columns
    assert fused.shape == (D_MODEL, HEADS * D)
    for i in range(HEADS):
        assert torch.equal(fused[:, i * D:(i + 1) * D], w[i]), i


def test_canonical_fused_canonical_is_exact() -> None:
    block = _block(1)
    assert torch.equal(unfuse(fuse(block["w_k"]), HEADS), block["w_k"])
    assert torch.equal(fuse_bias(block["b_k"]).reshape(HEADS, D), block["b_k"])
    back = from_in_proj(*in_proj(block), HEADS)
    assert back.keys() == block.keys() and all(torch.equal(back[k], block[k]) for k in block)


def test_in_proj_stacks_q_k_v_rows_and_zero_biases_when_absent() -> None:
    block = {k: v for k, v in _block(2).items() if k.startswith("w_")}
    weight, bias = in_proj(block)
    assert weight.shape == (3 * HEADS * D, D_MODEL) and torch.equal(bias, torch.zeros(3 * HEADS * D, dtype=bias.dtype))
    assert torch.equal(weight[HEADS * D:2 * HEADS * D], fuse(block["w_k"]).T)


def test_mha_state_runs_nn_multihead_attention_as_the_per_head_formula() -> None:
    block = {**_block(3), "w_o": torch.randn(HEADS * D, D_MODEL, dtype=torch.float64),
             "b_o": torch.randn(D_MODEL, dtype=torch.float64)}
    x = torch.randn(2, 4, D_MODEL, dtype=torch.float64)
    module = torch.nn.MultiheadAttention(D_MODEL, HEADS, batch_first=True, dtype=torch.float64)
    out, _ = torch.func.functional_call(module, mha_state(block), (x, x, x))
    heads = []
    for i in range(HEADS):
        q, k, v = (x @ block[f"w_{r}"][i] + block[f"b_{r}"][i] for r in "qkv")
        heads.append(torch.softmax(q @ k.transpose(1, 2) / D ** 0.5, dim=-1) @ v)
    torch.testing.assert_close(out, torch.cat(heads, dim=-1) @ block["w_o"] + block["b_o"])


@pytest.mark.parametrize("call, message", [
    (lambda: fuse(torch.zeros(D_MODEL, D)), r"per-head projection has shape \(heads, d_model, d\), got \(6, 2\)"),
    (lambda: unfuse(torch.zeros(D_MODEL, 7), HEADS), r"\(d_model, heads \* d\) with heads=3, got \(6, 7\)"),
    (lambda: fuse_bias(torch.zeros(D)), r"per-head bias has shape \(heads, d\), got \(2,\)"),
    (lambda: from_in_proj(torch.zeros(10, D_MODEL), torch.zeros(10), HEADS), r"heads=3 do not fit shapes \(10, 6\)"),
])
def test_a_weight_of_the_wrong_shape_is_named_by_its_layout(call: object, message: str) -> None:
    with pytest.raises(ParameterMismatch, match=message):
        call()  # type: ignore[operator]


def test_fused_attention_needs_d_k_equal_d_model_over_heads() -> None:
    require_fused_shape(4, 8, 2, 2, "nn.MultiheadAttention")
    with pytest.raises(Unsupported, match="nn.MultiheadAttention needs d_k = d_v = d_model / heads, got d_k=3"):
        require_fused_shape(4, 8, 3, 2, "nn.MultiheadAttention")
