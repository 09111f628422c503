"""Loss, schedule, optimiser and the training step against reference.regularization/schedule/optimizer."""
from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from hypothesis import given, strategies as st

from transformer_spec.reference.config import TransformerConfig
from transformer_spec.reference.errors import SpecUsageError
from transformer_spec.reference.optimizer import adam_update
from transformer_spec.reference.regularization import label_smoothed_cross_entropy
from transformer_spec.reference.schedule import learning_rate as ref_learning_rate
from transformer_spec.reference.params import flatten, unflatten
from transformer_spec.implementations.pytorch import (export_canonical, label_smoothed_loss, load_canonical, make_optimizer,
                                     noam_scheduler, train_step)
from pytorch_support import loaded, t


@given(st.integers(1, 3), st.integers(1, 4), st.integers(3, 9), st.floats(0.0, 0.9), st.sampled_from(["others", "uniform"]),
       st.sampled_from([None, 0, 2]), st.integers(0, 2 ** 31))
def test_label_smoothed_loss_matches_reference(batch, seq, vocab, epsilon, convention, pad_id, seed):
    rng = np.random.default_rng(seed)
    logits, targets = rng.normal(size=(batch, seq, vocab)) * 3, rng.integers(0, vocab, (batch, seq))
    if pad_id is not None:
        targets[0, 0] = (pad_id + 1) % vocab  # at least one real token
    expected = label_smoothed_cross_entropy(logits, targets, epsilon, pad_id, convention)
    assert abs(label_smoothed_loss(t(logits), t(targets), epsilon, pad_id, convention).item() - expected) <= 1e-12


def test_loss_rejects_all_padding_and_unknown_convention():
    logits = torch.zeros(1, 2, 4)
    with pytest.raises(SpecUsageError):
        label_smoothed_loss(logits, torch.zeros(1, 2, dtype=torch.long), 0.1, 0)
    with pytest.raises(SpecUsageError):
        label_smoothed_loss(logits, torch.ones(1, 2, dtype=torch.long), 0.1, 0, "other")  # type: ignore[arg-type]


@pytest.mark.parametrize("d_model,warmup,steps", [(512, 4000, 20), (16, 3, 9), (7, 1, 4)])
def test_schedule_first_step_uses_step_one_rate(d_model, warmup, steps):
    p = torch.nn.Parameter(torch.zeros(1))
    optimizer = make_optimizer([p])
    scheduler = noam_scheduler(optimizer, d_model, warmup)
    for step in range(1, steps + 1):
        assert optimizer.param_groups[0]["lr"] == pytest.approx(ref_learning_rate(step, d_model, warmup), rel=1e-15)
        optimizer.step()
        scheduler.step()


def test_adam_hyper_parameters_and_update_match_reference():
    optimizer = make_optimizer([torch.nn.Parameter(torch.zeros(1))])
    assert optimizer.defaults["betas"] == (0.9, 0.98) and optimizer.defaults["eps"] == 1e-9
    rng = np.random.default_rng(0)
    param, grads = rng.normal(size=5), rng.normal(size=(3, 5))
    p = torch.nn.Parameter(t(param))
    optimizer = make_optimizer([p], lr=0.01)
    m = v = np.zeros(5)
    for step, g in enumerate(grads, start=1):
        p.grad = t(g)
        optimizer.step()
        param, m, v = adam_update(param, g, m, v, step, 0.01)
    assert np.max(np.abs(p.detach().numpy() - param)) <= 1e-12


def test_train_steps_follow_the_reference_update_rule():
    """k train_step calls == loss gradient (torch autograd) fed to the reference Adam with the Eq. (3) rates."""
    c = TransformerConfig.small(dropout=0.0)
    model, params = loaded(c)
    twin, _ = loaded(c)
    optimizer = make_optimizer(model.parameters())
    scheduler = noam_scheduler(optimizer, c.d_model, c.warmup_steps)
    src, tgt = torch.tensor([[1, 2, 3, 0], [4, 5, 6, 7]]), torch.tensor([[1, 8, 9, 2], [1, 3, 2, 0]])
    flat, state = flatten(params), {}
    for step in range(1, 4):
        loss = train_step(model.train(), optimizer, scheduler, src, tgt[:, :-1], tgt[:, 1:], c)
        assert loss.ndim == 0 and torch.isfinite(loss)
        twin.zero_grad()
        label_smoothed_loss(twin(src, tgt[:, :-1]), tgt[:, 1:], c.label_smoothing, c.pad_id).backward()
        grads = flatten(export_canonical_grads(twin))
        lr = ref_learning_rate(step, c.d_model, c.warmup_steps)
        for k in flat:
            m, v = state.get(k, (0.0, 0.0))
            flat[k], m, v = adam_update(flat[k], grads[k], m, v, step, lr)
            state[k] = (m, v)
        load_flat(twin, flat)
    ours = flatten(export_canonical(model))
    # Adam divides by sqrt(v): for near-zero gradients a 1e-16 difference in the
    # parameters after step 1 grows to ~1e-10 of the ~1e-2 updates, hence 1e-8.
    assert max(np.max(np.abs(ours[k] - flat[k])) for k in flat) <= 1e-8


def export_canonical_grads(model: torch.nn.Module) -> dict:
    """The gradients in canonical layout (grads copied into the parameters of a throwaway copy)."""
    clone = copy.deepcopy(model)
    with torch.no_grad():
        for p, q in zip(clone.parameters(), model.parameters()):
            p.copy_(q.grad)
    return export_canonical(clone)


def load_flat(model: torch.nn.Module, flat: dict) -> None:
    load_canonical(model, unflatten(dict(flat)))
