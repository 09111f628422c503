"""The learning-rate schedule, §5.3."""
from __future__ import annotations

from transformer_spec.reference.errors import SpecUsageError


def learning_rate(step: int, d_model: int, warmup_steps: int) -> float:
    r"""lrate = d_model^{-0.5} * min(step^{-0.5}, step * warmup_steps^{-1.5}).

    Paper: §5.3, Eq. (3).  Steps count from 1 (the first update); the rate
    rises linearly for ``warmup_steps`` steps, peaks at step = warmup_steps
    with d_model^{-0.5} * warmup_steps^{-0.5}, then decays as step^{-0.5}.
    """
    if step < 1:
        raise SpecUsageError("step", step, "steps count from 1 (Eq. (3) is undefined at 0)")
    if warmup_steps < 1:
        raise SpecUsageError("warmup_steps", warmup_steps, "must be a positive integer")
    return d_model ** -0.5 * min(step ** -0.5, step * warmup_steps ** -1.5)
