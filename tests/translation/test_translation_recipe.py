"""The training recipe's knobs: checkpoint averaging (§6.1) and the scaled Eq. (3) learning rate (§5.3)."""
from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from transformer_spec.implementations.pytorch import learning_rate
from transformer_spec.translation.averaging import Checkpoints, average_states
from transformer_spec.translation.batching import make_examples
from transformer_spec.translation.presets import get_preset, recipe_deviations
from transformer_spec.translation.train import fit
from transformer_spec.translation.variants import build_model


def test_average_is_the_elementwise_mean_and_keeps_dtypes():
    states = [{"w": torch.tensor([1.0, 2.0], dtype=torch.float32), "n": torch.tensor(1)},
              {"w": torch.tensor([2.0, 5.0], dtype=torch.float32), "n": torch.tensor(7)},
              {"w": torch.tensor([6.0, 2.0], dtype=torch.float32), "n": torch.tensor(9)}]
    mean = average_states(states)
    assert torch.equal(mean["w"], torch.tensor([3.0, 3.0])) and mean["w"].dtype == torch.float32
    assert int(mean["n"]) == 9  # not a weight: the newest value
    with pytest.raises(ValueError, match="no checkpoints"):
        average_states([])


def test_checkpoints_keep_the_last_few_and_copy_the_weights():
    model, kept = torch.nn.Linear(2, 1), Checkpoints(keep=2)
    for step in (1, 2, 2, 3):
        with torch.no_grad():
            model.bias.fill_(step)
        kept.write(model, step)
    assert [float(s["bias"]) for s in kept.snapshots] == [2.0, 3.0]  # step 2 written once, step 1 dropped
    assert float(kept.average()["bias"]) == 2.5


EXAMPLES = make_examples([[5, 6, 7]] * 8, [[7, 6]] * 8, max_len=10)


def _model(preset):
    torch.manual_seed(0)
    return build_model("paper", preset.config.replace(vocab=10), torch.device("cpu"))


def test_fit_keeps_the_checkpoints_the_preset_asks_for():
    preset = replace(get_preset("smoke"), average_last=3, checkpoint_every=2, eval_every=100)
    examples, model = EXAMPLES, _model(preset)
    fitted = fit(model, examples, examples, preset, seed=0, max_steps=5, time_budget=60.0, progress=False)
    assert len(fitted.checkpoints.snapshots) == 3  # steps 2, 4 and the last step, 5
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in fitted.checkpoints.snapshots[-1].items())
    assert not torch.equal(fitted.checkpoints.snapshots[0]["embedding"], model.state_dict()["embedding"])
    assert "every 2 steps" in recipe_deviations(preset)[-1]
    assert fit(model, examples, examples, get_preset("smoke"), 0, 2, 60.0, progress=False).checkpoints is None


def test_averaging_needs_an_interval():
    with pytest.raises(ValueError, match="checkpoint_every"):
        replace(get_preset("smoke"), average_last=5, checkpoint_every=0)


def test_lr_scale_multiplies_equation_3():
    preset = replace(get_preset("smoke"), lr_scale=0.5, log_every=1, eval_every=100)
    fitted = fit(_model(preset), EXAMPLES, EXAMPLES, preset, seed=0, max_steps=3, time_budget=60.0, progress=False)
    d_model, warmup = preset.config.d_model, preset.config.warmup_steps
    assert [p["lr"] for p in fitted.curve if "lr" in p] == pytest.approx(
        [0.5 * learning_rate(step, d_model, warmup) for step in (1, 2, 3)], rel=1e-12)
    assert any("0.5 x Eq. (3)" in line for line in recipe_deviations(preset))
    assert not any("x Eq. (3)" in line for line in recipe_deviations(get_preset("smoke")))
