"""Checkpoint averaging: the model that is evaluated is the mean of the last checkpoints.

Paper: §6.1 ("For the base models, we used a single model obtained by
averaging the last 5 checkpoints, which were written at 10-minute
intervals").  A run of minutes writes its checkpoints every few steps
instead; the preset states the interval as a recipe deviation.
"""
from __future__ import annotations

from collections import deque
from typing import Mapping

import torch

State = dict[str, torch.Tensor]


class Checkpoints:
    """The last ``keep`` snapshots of a model's state, oldest first."""

    def __init__(self, keep: int) -> None:
        self.snapshots: deque[State] = deque(maxlen=keep)
        self.last_step = -1

    def write(self, model: torch.nn.Module, step: int) -> None:
        """Snapshot ``model`` at ``step`` (a second write at the same step is ignored)."""
        if step != self.last_step:
            self.snapshots.append({k: v.detach().clone() for k, v in model.state_dict().items()})
            self.last_step = step

    def average(self) -> State:
        """The element-wise mean of the snapshots (accumulated in float64); non-float entries from the newest."""
        return average_states(list(self.snapshots))


def average_states(states: list[Mapping[str, torch.Tensor]]) -> State:
    """Mean of floating-point tensors over ``states``; other tensors (step counters, ids) are the last state's."""
    if not states:
        raise ValueError("no checkpoints to average")
    newest = states[-1]
    return {k: (torch.stack([s[k].double() for s in states]).mean(0).to(v.dtype) if v.is_floating_point() else v)
            for k, v in newest.items()}
