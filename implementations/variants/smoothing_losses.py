"""Correct variants: label-smoothed losses (§5.4) as two other code bases write them.

``TorchSmoothing`` is PyTorch's own ``F.cross_entropy(label_smoothing=eps,
ignore_index=pad)``: q = (1 - eps) onehot + eps / V over all V classes, the
padding class included, averaged over the non-ignored positions; it declares
``smoothing_convention="uniform"``.  ``T2TSmoothing`` builds tensor2tensor's soft
targets (``smoothing_cross_entropy``: 1 - eps on the target, eps / (V - 1) on
every other class, padding included) and weights padding positions 0
(``weights_nonzero``); that is the reference's default, so it declares nothing.
tensor2tensor also subtracts the constant entropy of q (a KL divergence with the
same gradients); this variant reports the cross-entropy, as the protocol asks.
"""
from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from transformer_spec.harness.target import Target

FOCUS = frozenset({"5.4/label-smoothing", "5.4/smoothing-denominator"})


class _LossOnly:
    """What both variants share: they offer ``loss`` alone, differentiably, and are checked on §5.4."""

    version = "0.1"
    offers = frozenset({"loss"})
    deviations: dict[str, Any] = {}
    focus_clauses = FOCUS
    differentiable = True

    def __init__(self, target: Target) -> None:
        self.target = target


class TorchSmoothing(_LossOnly):
    """Offers ``loss`` only: ``torch.nn.functional.cross_entropy`` with ``label_smoothing``."""

    name = "torch-smoothing"
    version = torch.__version__
    deviations: dict[str, Any] = {"smoothing_convention": "uniform"}

    def loss(self, logits: Tensor, targets: Tensor, epsilon: float, pad_id: int) -> Tensor:
        vocab = logits.shape[-1]
        return F.cross_entropy(logits.reshape(-1, vocab), targets.reshape(-1), ignore_index=pad_id,
                               label_smoothing=epsilon)  # (batch * seq, vocab) vs (batch * seq,)


class T2TSmoothing(_LossOnly):
    """Offers ``loss`` only: tensor2tensor's soft targets and non-padding weights."""

    name = "t2t-smoothing"

    def loss(self, logits: Tensor, targets: Tensor, epsilon: float, pad_id: int) -> Tensor:
        vocab = logits.shape[-1]
        low = epsilon / (vocab - 1)
        soft = torch.full(logits.shape, low, dtype=logits.dtype, device=logits.device)  # (batch, seq, vocab)
        soft.scatter_(-1, targets[..., None], 1.0 - epsilon)
        xent = -(soft * torch.log_softmax(logits, dim=-1)).sum(-1)  # (batch, seq)
        weights = (targets != pad_id).to(logits.dtype)
        return (xent * weights).sum() / weights.sum()
