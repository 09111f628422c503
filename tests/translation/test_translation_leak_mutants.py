"""Leak detection through training, on the causal-mask mutants of the zoo (issue 6, point 3).

A decoder that sees future target tokens learns to copy them under teacher
forcing and cannot translate free-running; the end-to-end verdict must say so.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from transformer_spec.implementations.mutants import MUTANTS
from transformer_spec.harness.target import Target
from transformer_spec.translation.run import RunOptions, train_and_evaluate


@pytest.mark.parametrize("name", ["causal-off-by-one"])
def test_causal_mask_mutant_is_diagnosed_as_a_leak(name: str, tmp_path: Path) -> None:
    mutant = MUTANTS[name](Target("cpu", "float32"))
    scores = train_and_evaluate(RunOptions(max_steps=200, out=tmp_path, progress=False,
                                           model_factory=lambda config, device: mutant.translation_model(config)),
                                echo=lambda line: None)
    assert not scores["leak_check_passed"], scores
    assert str(scores["leak_diagnosis"]).endswith("the decoder sees future target tokens"), scores["leak_diagnosis"]
