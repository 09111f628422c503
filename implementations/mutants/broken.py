"""Broken versions of the project's PyTorch functions: each is one realistic bug seen in published code.

Each mirrors the signature of the function it replaces in
``transformer_spec.implementations.pytorch`` and differs in exactly the way its name says.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from transformer_spec.implementations.pytorch import functional as fn
from transformer_spec.implementations.pytorch.training import label_smoothed_loss, learning_rate


def attention_with(score_scale: Callable[[Tensor], float] = lambda q: 1.0 / math.sqrt(q.shape[-1]),
                   softmax_dim: int = -1, fill: float = float("-inf"), mask_after: bool = False,
                   keep_empty_rows: bool = False) -> Callable[..., tuple[Tensor, Optional[Tensor]]]:
    """The math path of Eq. (1) with one knob turned: the scale, the softmax axis, the mask fill or order."""

    def attention(q: Tensor, k: Tensor, v: Tensor, mask: fn.MaskLike = None, fully_masked: str = "zeros",
                  need_weights: bool = False) -> tuple[Tensor, Optional[Tensor]]:
        if isinstance(mask, fn.AttentionMask):  # the model's prepared mask: back to the plain boolean one
            mask = mask.allowed if mask.empty is None else mask.allowed & ~mask.empty
        scores = q @ k.transpose(-2, -1) * score_scale(q)  # (..., seq_q, seq_k)
        if mask is not None and not mask_after:
            scores = scores.masked_fill(~mask, fill)
        weights = torch.softmax(scores, dim=softmax_dim)
        if mask is not None and mask_after:
            weights = weights * mask
        if mask is not None and not keep_empty_rows:
            weights = weights.masked_fill(~mask.any(dim=-1, keepdim=True), 0.0)
        return weights @ v, (weights if need_weights else None)

    return attention


def split_heads_without_transpose(x: Tensor, heads: int) -> Tensor:
    batch, seq, width = x.shape
    return x.reshape(batch, heads, seq, width // heads)  # the bug: no (seq, heads) transpose


def concat_heads_reversed(x: Tensor) -> Tensor:
    return fn.concat_heads(x.flip(1))  # head h lands where head 1 belongs


def sinusoid_with(exponent_uses_i: bool = False, swap: bool = False, halves: bool = False,
                  position_dtype: torch.dtype = torch.float64) -> Callable[..., Tensor]:
    """PE with i instead of 2i in the exponent, sin and cos swapped, sin/cos halves concatenated, or the
    positions counted in a low-precision ``position_dtype``."""

    def encoding(seq_len: int, d_model: int, device: Any = None, dtype: Any = None) -> Tensor:
        pos = torch.arange(seq_len, device=device).to(position_dtype).double()[:, None]  # (seq_len, 1)
        i = torch.arange(0, d_model, 2, dtype=torch.float64, device=device)[None, :]  # (1, ceil(d_model / 2))
        angle = pos / torch.pow(10000.0, (i / 2 if exponent_uses_i else i) / d_model)
        first, second = (torch.cos, torch.sin) if swap else (torch.sin, torch.cos)
        if halves:
            pe = torch.cat([first(angle), second(angle)], dim=-1)[:, :d_model]  # [sin ... | cos ...]
        else:
            pe = torch.empty(seq_len, d_model, dtype=torch.float64, device=device)
            pe[:, 0::2], pe[:, 1::2] = first(angle), second(angle[:, : d_model // 2])
        return pe.to(dtype or torch.get_default_dtype())

    return encoding


def embed_unscaled(tokens: Tensor, embedding: Tensor) -> Tensor:
    return F.embedding(tokens, embedding)  # the bug: no * sqrt(d_model)


def layer_norm_over_batch(x: Tensor, scale: Tensor, bias: Tensor, eps: float) -> Tensor:
    dims = tuple(range(x.dim() - 1))  # the bug: BatchNorm statistics, per feature over (batch, seq), not per row
    mean, var = x.mean(dims, keepdim=True), x.var(dims, unbiased=False, keepdim=True)
    return scale * (x - mean) / torch.sqrt(var + eps) + bias


def layer_norm_unbiased(x: Tensor, scale: Tensor, bias: Tensor, eps: float) -> Tensor:
    mean = x.mean(-1, keepdim=True)
    return scale * (x - mean) / (x.std(-1, keepdim=True) + eps) + bias  # unbiased std, eps outside the root


def ffn_without_relu(x: Tensor, w_1: Tensor, b_1: Tensor, w_2: Tensor, b_2: Tensor) -> Tensor:
    return F.linear(F.linear(x, w_1, b_1), w_2, b_2)


def sublayer_always_pre_norm(x: Tensor, sublayer: Callable[[Tensor], Tensor], scale: Tensor, bias: Tensor, eps: float,
                             norm_position: str = "post", keep: Any = None, p_drop: float = 0.0,
                             random: bool = False) -> Tensor:
    return x + fn.dropout(sublayer(fn.layer_norm(x, scale, bias, eps)), keep, p_drop, random)


def dropout_always_random(x: Tensor, keep: Any, p_drop: float, random: bool = False) -> Tensor:
    return F.dropout(x, p_drop, training=True) if p_drop > 0 else x  # ignores eval mode and the given masks


def causal_mask_off_by_one(seq_q: int, seq_k: int, device: Any = None) -> Tensor:
    rows = torch.arange(seq_k - seq_q, seq_k, device=device)[:, None]
    return (torch.arange(seq_k, device=device)[None, :] <= rows + 1)[None, None]  # sees one token ahead


def padding_mask_on_queries(tokens: Tensor, pad_id: int) -> Tensor:
    return (tokens != pad_id)[:, None, :, None]  # (batch, 1, seq, 1): masks query rows, not key columns


def loss_counting_padding(logits: Tensor, targets: Tensor, epsilon: float, pad_id: Optional[int] = None,
                          convention: str = "others") -> Tensor:
    """Forgets ``pad_id``: padding targets count in the mean (and the pad class gets smoothing mass)."""
    return label_smoothed_loss(logits, targets, epsilon, None, convention)


def schedule_one_step_ahead(optimizer: torch.optim.Optimizer, d_model: int, warmup_steps: int) -> Any:
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda done: learning_rate(done + 2, d_model, warmup_steps))


def adam_default_beta2(params: Any, lr: float = 1.0) -> torch.optim.Adam:
    return torch.optim.Adam(params, lr=lr, betas=(0.9, 0.999), eps=1e-9)


def no_length_penalty(length: int, alpha: float) -> float:
    return 1.0
