"""Choices other libraries make legitimately, made here without declaring them: each must fail its clause.

The declared forms are correct variants (``implementations/variants/library_choices.py``) that read
``deviates``; these are the same choices in the project's own implementation, undeclared.
"""
from __future__ import annotations

from typing import Any, Optional

import torch
from torch import Tensor

from transformer_spec.implementations.pytorch.functional import embed, multi_head_attention, output_logits, sinusoidal_encoding


def sinusoid_from_position_1(seq_len: int, d_model: int, device: Optional[torch.device] = None,
                             dtype: Optional[torch.dtype] = None) -> Tensor:
    """The §3.5 encoding of positions 1 .. seq_len instead of 0 .. seq_len - 1 (a 1-based position counter)."""
    return sinusoidal_encoding(seq_len + 1, d_model, device, dtype)[1:]


def attention_without_output_bias(q: Tensor, k: Tensor, v: Tensor, w_o: Tensor, b_o: Optional[Tensor],
                                  *rest: object) -> tuple[Tensor, Optional[Tensor]]:
    """Concat(head_i) W^O with the output bias b_o left out (a bias-free output projection, as in T5)."""
    return multi_head_attention(q, k, v, w_o, None, *rest)  # type: ignore[arg-type]


def embed_unscaled(tokens: Tensor, embedding: Tensor) -> Tensor:
    """E[tokens] without sqrt(d_model): the scale moved to the logits (Mesh TensorFlow, T5)."""
    return embed(tokens, embedding) / embedding.shape[1] ** 0.5


def logits_scaled_down(x: Tensor, embedding: Tensor) -> Tensor:
    """x E^T * d_model^-0.5: where Mesh TensorFlow and T5 put the scale instead."""
    return output_logits(x, embedding) * embedding.shape[1] ** -0.5


def model_log_probs(base: Any, *args: Any, **kwargs: Any) -> Tensor:
    """The model's log-softmax over the vocabulary where its logits are asked for (an ``nn.LogSoftmax`` generator)."""
    return torch.log_softmax(base.model(*args, **kwargs), dim=-1)
