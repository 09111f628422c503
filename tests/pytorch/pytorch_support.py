"""Shared strategies and helpers for the tests of implementations/pytorch (not a test module)."""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
from hypothesis import strategies as st

from transformer_spec.reference.config import TransformerConfig
from transformer_spec.reference.params import init_params
from transformer_spec.implementations.pytorch import Transformer, load_canonical


@st.composite
def configs(draw: st.DrawFn, **fixed: Any) -> TransformerConfig:
    """Tiny configurations with a different size on every axis (d_k, d_v and d_model need not agree)."""
    sizes = dict(layers=draw(st.integers(1, 2)), d_model=draw(st.integers(3, 9)), d_ff=draw(st.integers(2, 10)),
                 heads=draw(st.integers(1, 3)), d_k=draw(st.integers(1, 5)), d_v=draw(st.integers(1, 5)),
                 vocab=draw(st.integers(4, 12)), pad_id=draw(st.integers(0, 3)), warmup_steps=4)
    sizes.update(fixed)
    return TransformerConfig(**sizes)


@st.composite
def token_batches(draw: st.DrawFn, vocab: int, pad_id: int, batch: int | None = None) -> np.ndarray:
    """Token ids (batch, seq), padding anywhere (whole padded rows included)."""
    batch = batch or draw(st.integers(1, 3))
    seq = draw(st.integers(1, 5))
    seed = draw(st.integers(0, 2 ** 31))
    rng = np.random.default_rng(seed)
    tokens = rng.integers(0, vocab, (batch, seq))
    tokens[rng.random((batch, seq)) < 0.2] = pad_id
    return tokens


def loaded(config: TransformerConfig, seed: int = 0, dtype: torch.dtype = torch.float64) -> tuple[Transformer, Any]:
    """A model in eval mode holding the canonical tree ``init_params(config, seed)``, and that tree."""
    params = init_params(config, seed)
    return load_canonical(Transformer(config, dtype=dtype), params).eval(), params


def t(array: np.ndarray, dtype: torch.dtype | None = None) -> torch.Tensor:
    """A NumPy array as a new tensor (a copy; float arrays cast to ``dtype`` when given)."""
    out = torch.tensor(np.asarray(array))
    return out.to(dtype) if dtype is not None and out.is_floating_point() else out


def err(ours: torch.Tensor, ref: np.ndarray) -> float:
    """Largest absolute difference, NaNs matched by position."""
    a, b = ours.detach().double().cpu().numpy(), np.asarray(ref, dtype=np.float64)
    assert np.array_equal(np.isnan(a), np.isnan(b)), "NaN positions differ"
    return float(np.nanmax(np.abs(a - b), initial=0.0))
