"""Training shows its steps as lines when handed a callable: what ``transformer-spec run`` prints while it trains."""
from __future__ import annotations

import re
from dataclasses import replace

import torch

from transformer_spec.translation.batching import make_examples
from transformer_spec.translation.presets import get_preset
from transformer_spec.translation.train import fit
from transformer_spec.translation.variants import build_model

EXAMPLES = make_examples([[5, 6, 7]] * 8, [[7, 6]] * 8, max_len=10)
LINE = re.compile(r"training step (\d+)/20(?: \(loss (\d+\.\d{3})\))?")


def test_a_callable_gets_a_line_at_least_every_tenth_of_the_steps_and_at_the_last():
    preset = replace(get_preset("smoke"), log_every=5, eval_every=100)
    torch.manual_seed(0)
    model = build_model("paper", preset.config.replace(vocab=10), torch.device("cpu"))
    lines: list[str] = []
    fit(model, EXAMPLES, EXAMPLES, preset, seed=0, max_steps=20, time_budget=None, progress=lines.append)
    matches = [LINE.fullmatch(line) for line in lines]
    assert all(matches), lines
    steps = [int(m.group(1)) for m in matches]  # type: ignore[union-attr]
    assert steps[-1] == 20 and steps[0] <= 2, lines
    assert all(1 <= b - a <= 2 for a, b in zip(steps, steps[1:])), lines  # 2 steps are a tenth of 20
    assert [m.group(2) is not None for m in matches] == [s >= 5 for s in steps], lines  # the loss once logged
