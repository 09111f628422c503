"""One end-to-end run: data, vocabulary, model, training, evaluation, written results.

Paper: §5 (training), §6.1 (beam 4, alpha 0.6; BLEU).  Outputs in ``out``:
``scores.json``, ``learning_curve.json``, ``learning_curve.png``,
``spm.model`` and the beam-search translations ``test.hyp``.
"""
from __future__ import annotations

import json
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Callable, Iterator, Optional

import torch

from transformer_spec.reference.config import TransformerConfig
from transformer_spec.reference.errors import SpecUsageError
from transformer_spec.translation.curve import write_curve
from transformer_spec.translation.data import RunData, prepare
from transformer_spec.translation.evaluate import score_texts, teacher_forced_accuracy, translate, validation_loss
from transformer_spec.translation.leak import leak_verdict
from transformer_spec.translation.presets import Preset, get_preset, recipe_deviations
from transformer_spec.translation.train import FitResult, Progress, fit
from transformer_spec.translation.variants import build_model

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CORPUS = PROJECT_ROOT.parent / "shared" / "data" / "multi30k"
EVAL_TOKENS = 4000  # padded source tokens per decoding batch


@dataclass(frozen=True)
class RunOptions:
    """What to train and where; ``None`` picks the preset's or the project's default."""

    preset: str = "smoke"
    seed: int = 0
    device: str = "auto"
    corpus: Optional[Path] = None
    time_budget: Optional[float] = None
    max_steps: Optional[int] = None
    out: Optional[Path] = None
    variant: str = "paper"  # an ablation of transformer_spec.translation.variants
    progress: Progress = True  # a tqdm bar, none, or step lines handed to a callable
    threads: Optional[int] = None  # torch intra-op threads; default the preset's
    model_factory: Optional[Callable[[TransformerConfig, torch.device], torch.nn.Module]] = None  # else ``variant``


def resolve_device(name: str) -> torch.device:
    """``auto`` is CUDA when available, else CPU; asking for an absent CUDA is a usage error."""
    if name not in ("auto", "cpu", "cuda"):
        raise SpecUsageError("device", name, "choose auto, cpu or cuda")
    if name == "cuda" and not torch.cuda.is_available():
        raise SpecUsageError("device", name, "no CUDA device is available")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def _evaluate(model: torch.nn.Module, data: RunData, echo: Callable[[str], None]) -> tuple[dict[str, object], list[str]]:
    """Beam-search and greedy scores on the test split, teacher-forced accuracy and the leak verdict."""
    beam_text = translate(model, data.test, data.vocab, beam=4, max_tokens=EVAL_TOKENS)
    greedy = score_texts(translate(model, data.test, data.vocab, beam=1, max_tokens=EVAL_TOKENS), data.test_references)
    beam = score_texts(beam_text, data.test_references)
    accuracy = teacher_forced_accuracy(model, data.test, EVAL_TOKENS)
    mean_tokens = sum(len(e.tgt) + 1 for e in data.test) / max(len(data.test), 1)
    verdict = leak_verdict(accuracy, beam.exact_match, mean_tokens)
    echo(f"sacreBLEU signature: {beam.bleu_signature}")
    echo(f"chrF signature: {beam.chrf_signature}")
    echo(f"leak check: {'pass' if verdict.passed else 'FAIL'}: {verdict.diagnosis}")
    return {"bleu": beam.bleu, "exact_match": beam.exact_match, "chrf": beam.chrf, "greedy_bleu": greedy.bleu,
            "greedy_exact_match": greedy.exact_match, "greedy_chrf": greedy.chrf,
            "teacher_forced_accuracy": accuracy, "leak_check_passed": verdict.passed,
            "leak_diagnosis": verdict.diagnosis, "bleu_signature": beam.bleu_signature,
            "chrf_signature": beam.chrf_signature}, beam_text


def _write(out: Path, scores: dict[str, object], fitted: FitResult, data: RunData, hypotheses: list[str]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "scores.json").write_text(json.dumps(scores, indent=1) + "\n", encoding="utf-8")
    (out / "test.hyp").write_text("\n".join(hypotheses) + "\n", encoding="utf-8")
    data.vocab.save(out / "spm.model")
    write_curve(fitted.curve, out)


def _average_checkpoints(model: torch.nn.Module, fitted: FitResult, data: RunData, preset: Preset) -> int:
    """Load the mean of the kept checkpoints (§6.1) into ``model``; its validation loss joins the learning curve.

    Returns how many checkpoints were averaged (1: the model keeps its last weights).
    """
    if fitted.checkpoints is None:
        return 1
    model.load_state_dict(fitted.checkpoints.average())
    fitted.curve.append({"step": fitted.steps,
                         "averaged_valid_loss": validation_loss(model, data.valid, preset.max_tokens)})
    return len(fitted.checkpoints.snapshots)


@contextmanager
def torch_threads(count: int) -> Iterator[None]:
    """Run with ``count`` torch intra-op threads, restoring the caller's setting afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def train_and_evaluate(options: RunOptions, echo: Callable[[str], None] = print) -> dict[str, object]:
    """Run the preset end to end; returns the scores (also written to ``scores.json``).

    Reproducible for a seed: the data, vocabulary, initial weights, dropout and
    batch order all derive from it (a run cut short by the time budget stops
    at a machine-dependent step).
    """
    preset = get_preset(options.preset)
    with torch_threads(options.threads or preset.threads or os.cpu_count() or 1):
        return _train_and_evaluate(options, preset, echo)


def _train_and_evaluate(options: RunOptions, preset: Preset, echo: Callable[[str], None]) -> dict[str, object]:
    began, device = time.perf_counter(), resolve_device(options.device)
    for line in recipe_deviations(preset):
        echo(f"recipe deviation: {line}")
    data = prepare(preset, options.seed, options.corpus or DEFAULT_CORPUS)
    torch.manual_seed(options.seed)
    config = preset.config.replace(vocab=data.vocab.size)
    model = (options.model_factory or partial(build_model, options.variant))(config, device)
    fitted = fit(model, data.train, data.valid, preset, options.seed, options.max_steps or preset.max_steps,
                 options.time_budget or preset.time_budget, options.progress)  # None: steps alone decide
    averaged = _average_checkpoints(model, fitted, data, preset)
    scores, hypotheses = _evaluate(model, data, echo)
    scores.update(train_seconds=fitted.seconds, total_seconds=time.perf_counter() - began, steps=fitted.steps,
                  stopped_by=fitted.stopped_by, averaged_checkpoints=averaged, device=str(device),
                  threads=torch.get_num_threads(), seed=options.seed, preset=preset.name, variant=options.variant,
                  vocab=data.vocab.size, train_pairs=len(data.train), test_pairs=len(data.test),
                  deviations=recipe_deviations(preset))
    _write(options.out or PROJECT_ROOT / "runs" / preset.name, scores, fitted, data, hypotheses)
    return scores
