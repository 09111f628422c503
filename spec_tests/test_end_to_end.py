"""§5-§6 end to end: the paper's recipe trains the implementation's model into a translator.

Equations can all conform and a model still fail to learn (a leak that only
shows under teacher forcing, a tie that unties, a schedule that never warms
up).  This trains the ``smoke`` preset on the synthetic task and requires
real translation of held-out sentences, and free-running decoding that agrees
with teacher forcing.  Under ``transformer-spec run`` its training steps show
on the run's console as it trains.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from transformer_spec.harness.checker import Checker
from transformer_spec.report.progress import progress_echo
from transformer_spec.translation.run import RunOptions, train_and_evaluate

CLAUSE = "6/end-to-end-translation"
EXACT_MATCH, BLEU = 0.95, 95.0


@pytest.mark.clause(CLAUSE)
@pytest.mark.requires("translation")
@pytest.mark.time_limit(10)  # a thousand training steps: ten times the limit of a component test, only to catch a hang
def test_smoke_training_translates_held_out_sentences(checker: Checker, tmp_path: Path,
                                                     request: pytest.FixtureRequest) -> None:
    factory = lambda config, device: checker.call(CLAUSE, "translation_model", checker.config(config))
    scores = train_and_evaluate(RunOptions(preset="smoke", device=checker.target.device, out=tmp_path,
                                           progress=progress_echo(request.node), model_factory=factory),
                                echo=lambda line: None)
    checker.require(CLAUSE, bool(scores["leak_check_passed"]), str(scores["leak_diagnosis"]))
    checker.require(CLAUSE, scores["exact_match"] >= EXACT_MATCH and scores["bleu"] >= BLEU,
                    f"after {scores['steps']} steps ({scores['train_seconds']:.0f} s) the model reaches exact match "
                    f"{scores['exact_match']:.3f} and BLEU {scores['bleu']:.1f} on held-out sentences, but should reach "
                    f">= {EXACT_MATCH} and >= {BLEU}")
