"""A reference training trajectory: §5.3 and §5.4 applied step by step to the float64 reference.

Gradients come from central differences of the reference loss, so the
trajectory is independent of any autograd implementation.  Only tiny models
are affordable: every parameter costs two forward passes per step.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Sequence

import numpy as np

from transformer_spec.reference.config import TransformerConfig
from transformer_spec.reference.layers import transformer_forward
from transformer_spec.reference.optimizer import adam_update
from transformer_spec.reference.params import Params, flatten, init_params, unflatten
from transformer_spec.reference.regularization import label_smoothed_cross_entropy
from transformer_spec.reference.schedule import learning_rate

Batch = tuple[np.ndarray, np.ndarray, np.ndarray]  # src, tgt_in, tgt_out


def training_loss(params: Params, config: TransformerConfig, batch: Batch) -> float:
    """Label-smoothed cross-entropy of the teacher-forced model (§5.4), no dropout."""
    src, tgt_in, tgt_out = batch
    logits = transformer_forward(src, tgt_in, params, config)
    return label_smoothed_cross_entropy(logits, tgt_out, config.label_smoothing, config.pad_id, config.smoothing_convention)


def loss_gradient(params: Params, config: TransformerConfig, batch: Batch, h: float = 1e-6) -> dict[str, np.ndarray]:
    """d loss / d every parameter (flat names), by central differences."""
    flat = flatten(params)
    grads = {}
    for name, value in flat.items():
        grad = np.zeros_like(value)
        for idx in np.ndindex(value.shape):
            probe = []
            for delta in (h, -h):
                nudged = value.copy()
                nudged[idx] += delta
                probe.append(training_loss(unflatten({**flat, name: nudged}), config, batch))
            grad[idx] = (probe[0] - probe[1]) / (2 * h)
        grads[name] = grad
    return grads


def reference_trajectory(params: Params, config: TransformerConfig, batches: Sequence[Batch]) -> tuple[Params, list[float]]:
    """Parameters after one Adam step per batch with the Eq. (3) rate, and the rates used."""
    flat = flatten(params)
    m = {k: np.zeros_like(v) for k, v in flat.items()}
    v = {k: np.zeros_like(a) for k, a in flat.items()}
    rates = []
    for step, batch in enumerate(batches, start=1):
        grads = loss_gradient(unflatten(flat), config, batch)
        rates.append(learning_rate(step, config.d_model, config.warmup_steps))
        for name in flat:
            flat[name], m[name], v[name] = adam_update(flat[name], grads[name], m[name], v[name], step, rates[-1])
    return unflatten(flat), rates


@lru_cache(maxsize=8)
def trajectory_case(config: TransformerConfig, seed: int, steps: int = 2) -> tuple[Params, list[Batch], Params, list[float]]:
    """Seeded start weights and unpadded batches, and the reference trajectory from them (computed once per process)."""
    rng = np.random.default_rng(seed)
    params = init_params(config, seed)
    batches = [tuple(rng.integers(1, config.vocab, shape) for shape in ((2, 3), (2, 4), (2, 4))) for _ in range(steps)]
    expected, rates = reference_trajectory(params, config, batches)
    return params, batches, expected, rates  # type: ignore[return-value]
