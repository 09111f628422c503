"""Training pieces: label-smoothed loss (§5.4), Adam (§5.3), the Eq. (3) schedule, one training step."""
from __future__ import annotations

import contextlib
from typing import Iterable, Optional

import torch
from torch import Tensor
from torch.optim.lr_scheduler import LambdaLR

from transformer_spec.reference.config import SmoothingConvention, SmoothingPadClass, TransformerConfig
from transformer_spec.reference.errors import SpecUsageError
from transformer_spec.implementations.pytorch.functional import Keep
from transformer_spec.implementations.pytorch.model import Transformer


def label_smoothed_loss(logits: Tensor, targets: Tensor, epsilon: float, pad_id: Optional[int] = None,
                        convention: SmoothingConvention = "others", pad_class: SmoothingPadClass = "included") -> Tensor:
    r"""Mean over non-padding targets of -\sum_v q_v log softmax(logits)_v, q label-smoothed.

    Paper: §5.4 (epsilon_ls = 0.1).
    Shapes: logits (batch, seq, vocab), targets (batch, seq) -> scalar.
    Notes: as ``reference.regularization``: "others" gives the target
    1 - epsilon and every other class epsilon / (K - 1); "uniform" gives
    (1 - epsilon) onehot + epsilon / K; K = vocab, or vocab - 1 when ``pad_id``
    is given and ``pad_class`` is "excluded" (the pad class then gets no mass).
    Computed without forming q.
    """
    log_p = torch.log_softmax(logits.float() if logits.dtype in (torch.float16, torch.bfloat16) else logits, dim=-1)
    target_lp = log_p.gather(-1, targets[..., None])[..., 0]  # (batch, seq, 1) -> (batch, seq)
    support_lp = log_p.sum(dim=-1)  # (batch, seq): sum over the support of log p
    k = log_p.shape[-1]
    if pad_class not in ("included", "excluded"):
        raise SpecUsageError("pad_class", pad_class, "must be 'included' or 'excluded'")
    if pad_id is not None and pad_class == "excluded":
        support_lp, k = support_lp - log_p[..., pad_id], k - 1
    if convention == "others":
        per_position = -((1.0 - epsilon) * target_lp + epsilon / (k - 1) * (support_lp - target_lp))
    elif convention == "uniform":
        per_position = -((1.0 - epsilon) * target_lp + epsilon / k * support_lp)
    else:
        raise SpecUsageError("convention", convention, "must be 'others' or 'uniform'")
    if pad_id is None:
        return per_position.mean()
    real = targets != pad_id  # (batch, seq)
    count = real.sum()
    if int(count) == 0:
        raise SpecUsageError("targets", "all padding", "at least one target must be a real token")
    return (per_position * real).sum() / count


def learning_rate(step: int, d_model: int, warmup_steps: int) -> float:
    r"""lrate = d_model^{-0.5} * min(step^{-0.5}, step * warmup_steps^{-1.5}), steps from 1.

    Paper: §5.3, Eq. (3).
    """
    if step < 1:
        raise SpecUsageError("step", step, "steps count from 1 (Eq. (3) is undefined at 0)")
    return d_model ** -0.5 * min(step ** -0.5, step * warmup_steps ** -1.5)


def noam_scheduler(optimizer: torch.optim.Optimizer, d_model: int, warmup_steps: int) -> LambdaLR:
    """Eq. (3) as a LambdaLR multiplying the optimiser's base lr (1.0 from :func:`make_optimizer`).

    Paper: §5.3.  Notes: LambdaLR evaluates its lambda at 0 on construction and
    at k after k ``scheduler.step()`` calls; the lambda shifts by one so the
    k-th optimiser step uses ``learning_rate(k)``.
    """
    if warmup_steps < 1:
        raise SpecUsageError("warmup_steps", warmup_steps, "must be a positive integer")
    return LambdaLR(optimizer, lambda done: learning_rate(done + 1, d_model, warmup_steps))


def make_optimizer(params: Iterable[torch.nn.Parameter], lr: float = 1.0) -> torch.optim.Adam:
    """Adam with beta_1 = 0.9, beta_2 = 0.98, epsilon = 1e-9.  Paper: §5.3."""
    return torch.optim.Adam(params, lr=lr, betas=(0.9, 0.98), eps=1e-9)


def train_step(model: Transformer, optimizer: torch.optim.Optimizer, scheduler: LambdaLR, src: Tensor,
               tgt_in: Tensor, tgt_out: Tensor, config: TransformerConfig, keep: Keep = None,
               autocast_dtype: Optional[torch.dtype] = None) -> Tensor:
    """One update: forward, label-smoothed loss, backward, optimiser step, scheduler step.

    Paper: §5.3, §5.4.  Shapes: src (batch, seq_src), tgt_in and tgt_out (batch, seq_tgt).
    Returns the detached loss.  Notes: dropout follows the model's mode unless
    ``keep`` gives explicit masks; ``autocast_dtype`` (e.g. bfloat16) runs the
    forward pass under ``torch.autocast`` on the model's device.
    """
    amp = (torch.autocast(src.device.type, dtype=autocast_dtype) if autocast_dtype is not None
           else contextlib.nullcontext())
    optimizer.zero_grad(set_to_none=True)
    with amp:
        logits = model(src, tgt_in, keep)
    loss = label_smoothed_loss(logits, tgt_out, config.label_smoothing, config.pad_id, config.smoothing_convention,
                               config.smoothing_pad_class)
    loss.backward()
    optimizer.step()
    scheduler.step()
    return loss.detach()
