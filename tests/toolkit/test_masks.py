"""The mask converters against the boolean mask they come from, on random masks of every broadcast shape."""
from __future__ import annotations

import pytest
import torch

from transformer_spec.implementations.adapters.toolkit import additive, key_padding, masked_out, per_head, shared, shared_and_padding
from transformer_spec.implementations.protocol import Unsupported

B, H, Q, K = 3, 2, 4, 5
SHAPES = [(B, H, Q, K), (B, 1, Q, K), (B, 1, 1, K), (1, 1, Q, K), (Q, K), (K,)]


def _random(shape: tuple[int, ...], seed: int) -> torch.Tensor:
    return torch.rand(shape, generator=torch.Generator().manual_seed(seed)) < 0.6


def _full(mask: torch.Tensor) -> torch.Tensor:
    return mask.reshape((1,) * (4 - mask.ndim) + tuple(mask.shape)).expand(B, H, Q, K)


def _padding(seed: int) -> torch.Tensor:
    return _random((B, 1, 1, K), seed)


def _causal() -> torch.Tensor:
    return torch.ones(Q, K, dtype=torch.bool).tril()


def test_none_means_no_mask_in_every_form() -> None:
    assert masked_out(None) is additive(None, torch.float32) is key_padding(None, B, K) is None
    assert shared(None, Q, K) is per_head(None, B, H, Q, K) is None
    assert shared_and_padding(None, B, Q, K) == (None, None)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("seed", range(3))
def test_masked_out_and_per_head_are_the_opposite_polarity(shape: tuple[int, ...], seed: int) -> None:
    mask = _random(shape, seed)
    assert torch.equal(masked_out(mask), ~mask)
    stacked = per_head(mask, B, H, Q, K)
    assert stacked.shape == (B * H, Q, K)
    for b in range(B):
        for h in range(H):
            assert torch.equal(stacked[b * H + h], ~_full(mask)[b, h]), (b, h)  # batch-major, as torch stacks


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16])
@pytest.mark.parametrize("fill", ["-inf", "min"])
def test_additive_is_zero_where_allowed_and_the_fill_elsewhere(dtype: torch.dtype, fill: str) -> None:
    mask = _random((B, H, Q, K), 7)
    out = additive(mask, dtype, fill)  # type: ignore[arg-type]
    low = float("-inf") if fill == "-inf" else torch.finfo(dtype).min
    assert out.dtype == dtype and out.shape == mask.shape
    assert bool((out[mask] == 0).all()) and bool((out[~mask] == low).all())


def test_an_additive_mask_gives_the_masked_softmax() -> None:
    mask = _random((B, 1, Q, K), 3)
    mask[..., 0] = True  # every query keeps a key
    scores = torch.randn(B, H, Q, K, dtype=torch.float64)
    expected = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)
    for fill in ("-inf", "min"):
        torch.testing.assert_close(torch.softmax(scores + additive(mask, torch.float64, fill), dim=-1), expected)


@pytest.mark.parametrize("seed", range(5))
def test_key_padding_of_a_padding_mask(seed: int) -> None:
    mask = _padding(seed)
    vector = key_padding(mask, B, K)
    assert vector.shape == (B, K) and torch.equal(vector, ~mask[:, 0, 0, :])
    assert torch.equal(~vector[:, None, None, :].expand(B, H, Q, K), _full(mask))


@pytest.mark.parametrize("mask", [_causal(), _causal() & _padding(1)], ids=["causal", "causal-and-padding"])
def test_a_mask_that_differs_between_queries_has_no_key_padding_form(mask: torch.Tensor) -> None:
    with pytest.raises(Unsupported, match=r"differs between queries or heads .* key-padding vector \(batch, seq_k\)"):
        key_padding(mask, B, K)


def test_shared_of_a_causal_mask_and_refusal_of_padding() -> None:
    assert torch.equal(shared(_causal()[None, None], Q, K), ~_causal())
    assert torch.equal(shared(torch.ones(1, dtype=torch.bool), Q, K), torch.zeros(Q, K, dtype=torch.bool))
    padding = torch.ones(B, 1, 1, K, dtype=torch.bool)
    padding[0, ..., -1] = False  # only the first example is padded
    with pytest.raises(Unsupported, match=r"differs between examples or heads .* single \(seq_q, seq_k\) mask"):
        shared(padding, Q, K)


@pytest.mark.parametrize("seed", range(5))
def test_shared_and_padding_give_back_the_mask(seed: int) -> None:
    for mask in (_causal() & _padding(seed), _padding(seed), _causal(), _random((Q, K), seed)):
        attn, pad = shared_and_padding(mask, B, Q, K)
        assert attn.shape == (Q, K) and pad.shape == (B, K)
        assert torch.equal(~(attn[None, None] | pad[:, None, None, :]).expand(B, H, Q, K), _full(mask))


def test_a_mask_that_differs_between_heads_has_no_shared_and_padding_form() -> None:
    mask = torch.ones(B, H, Q, K, dtype=torch.bool)
    mask[0, 1, 0, 0] = False
    with pytest.raises(Unsupported, match="differs between heads"):
        shared_and_padding(mask, B, Q, K)


def test_a_mask_that_is_not_boolean_is_refused_with_its_type() -> None:
    with pytest.raises(TypeError, match=r"expected a boolean mask .* got torch.float32 of shape \(4, 5\)"):
        key_padding(torch.zeros(Q, K), B, K)
