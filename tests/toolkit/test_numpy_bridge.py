"""numpy_function: a NumPy forward with its VJP gets torch gradients, checked against finite differences."""
from __future__ import annotations

import numpy as np
import torch

from transformer_spec.implementations.adapters.toolkit import numpy_function


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _forward(scores: np.ndarray, keep: np.ndarray, v: np.ndarray) -> np.ndarray:
    return _softmax(np.where(keep, scores, -np.inf)) @ v


def _vjp(scores: np.ndarray, keep: np.ndarray, v: np.ndarray, grad: np.ndarray) -> tuple:
    w = _softmax(np.where(keep, scores, -np.inf))
    d_w = grad @ v.swapaxes(-1, -2)
    return w * (d_w - (d_w * w).sum(axis=-1, keepdims=True)), None, w.swapaxes(-1, -2) @ grad


def test_gradients_of_a_numpy_attention_pass_gradcheck() -> None:
    g = torch.Generator().manual_seed(0)
    scores = torch.randn(2, 3, 4, dtype=torch.float64, generator=g, requires_grad=True)
    v = torch.randn(2, 4, 5, dtype=torch.float64, generator=g, requires_grad=True)
    keep = torch.rand(2, 3, 4, generator=g) > 0.3
    keep[..., 0] = True
    attention = numpy_function(_forward, _vjp)
    assert torch.autograd.gradcheck(lambda s, w: attention(s, keep, w), (scores, v))
    out = attention(scores, keep, v)
    assert out.dtype == torch.float64 and out.shape == (2, 3, 5)
