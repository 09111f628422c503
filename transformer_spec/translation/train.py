"""Training a translation model with the paper's recipe.

Paper: §5.1 (batches of roughly equal token counts), §5.3 (Adam with
beta = (0.9, 0.98), eps = 1e-9 and the Eq. (3) schedule), §5.4 (dropout 0.1,
label smoothing 0.1), §3.4 (tied embeddings: the project's model shares one
matrix).
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator, Optional, Sequence, Union

import numpy as np
from tqdm import tqdm

from transformer_spec.implementations.pytorch import Transformer, make_optimizer, noam_scheduler, train_step
from transformer_spec.translation.averaging import Checkpoints
from transformer_spec.translation.batching import Batch, Example, collate, token_batches
from transformer_spec.translation.evaluate import validation_loss
from transformer_spec.translation.presets import Preset
from transformer_spec.translation.vocab import PAD_ID


@dataclass
class FitResult:
    """What a training loop did: updates, seconds, why it stopped, the learning curve and the kept checkpoints."""

    steps: int = 0
    seconds: float = 0.0
    stopped_by: str = "max_steps"
    curve: list[dict[str, float]] = field(default_factory=list)
    checkpoints: Optional[Checkpoints] = None  # set when the preset averages checkpoints (§6.1)


def epoch_batches(examples: Sequence[Example], max_tokens: int, rng: np.random.Generator) -> Iterator[Batch]:
    """Endless token-count batches (§5.1), reshuffled every epoch from ``rng``."""
    sizes = [e.size for e in examples]
    while True:
        for indices in token_batches(sizes, max_tokens, rng):
            yield collate([examples[i] for i in indices])


@dataclass
class _Throughput:
    """Tokens per second since the last reading."""

    start: float = field(default_factory=time.perf_counter)
    tokens: int = 0

    def read(self) -> float:
        now = time.perf_counter()
        rate, self.start, self.tokens = self.tokens / max(now - self.start, 1e-9), now, 0
        return rate


def _log(result: FitResult, bar: Union[tqdm, StepLines], loss: float, lr: float, rate: float, seconds: float) -> None:
    """One learning-curve point and the progress bar's loss, learning rate and tokens/s."""
    result.curve.append({"step": result.steps, "train_loss": loss, "lr": lr, "tokens_per_s": rate, "seconds": seconds})
    bar.set_postfix(loss=f"{loss:.3f}", lr=f"{lr:.2e}", tok_s=f"{rate:.0f}")


Progress = Union[bool, Callable[[str], None]]
"""True: a tqdm bar on stderr; False: none; a callable: a "training step N/M" line handed to it now and then."""
LINE_EVERY_FRACTION, LINE_EVERY_S = 0.1, 20.0


class StepLines:
    """The progress bar's stand-in for logs: "training step N/M (loss x)" every tenth of the steps or 20 s."""

    def __init__(self, total: int, echo: Callable[[str], None]) -> None:
        self.total, self.echo, self.steps, self.postfix = total, echo, 0, ""
        self._stride = max(1, round(total * LINE_EVERY_FRACTION))
        self._last_steps, self._last_time = 0, time.monotonic()

    def __enter__(self) -> "StepLines":
        return self

    def __exit__(self, *exc: object) -> None:
        """Nothing to close: the last step already gave its line."""

    def update(self, steps: int) -> None:
        self.steps += steps
        now = time.monotonic()
        due = self.steps - self._last_steps >= self._stride or now - self._last_time >= LINE_EVERY_S
        if due or self.steps == self.total:
            self._last_steps, self._last_time = self.steps, now
            self.echo(f"training step {self.steps}/{self.total}{self.postfix}")

    def set_postfix(self, loss: str, **others: str) -> None:
        """Keep the latest training loss for the next line (the bar's other figures are left to the curve)."""
        self.postfix = f" (loss {loss})"


def _progress(preset: Preset, max_steps: int, progress: Progress) -> Union[tqdm, StepLines]:
    if callable(progress):
        return StepLines(max_steps, progress)
    return tqdm(total=max_steps, desc=f"train {preset.name}", unit="step", file=sys.stderr,
                disable=not progress, dynamic_ncols=True, mininterval=1.0)


def fit(model: Transformer, train: Sequence[Example], valid: Sequence[Example], preset: Preset, seed: int,
        max_steps: int, time_budget: float | None, progress: Progress = True) -> FitResult:
    """Train ``model`` in place for ``max_steps`` updates, or ``time_budget`` seconds if given and reached first.

    ``progress`` shows the steps as they go (see :data:`Progress`).
    Logs loss, learning rate and tokens/s every ``preset.log_every`` steps and
    the validation loss every ``preset.eval_every`` steps and at the end.  When
    the preset averages checkpoints, snapshots every ``preset.checkpoint_every``
    steps and at the last step are kept in ``FitResult.checkpoints``; ``model``
    itself keeps its last weights.
    """
    optimizer = make_optimizer(model.parameters(), lr=preset.lr_scale)  # LambdaLR multiplies Eq. (3) by it
    scheduler = noam_scheduler(optimizer, model.config.d_model, model.config.warmup_steps)
    device, result = model.embedding.device, FitResult()
    if preset.average_last > 1:
        result.checkpoints = Checkpoints(preset.average_last)
    batches = epoch_batches(train, preset.max_tokens, np.random.default_rng(seed))
    start, throughput = time.perf_counter(), _Throughput()
    with _progress(preset, max_steps, progress) as bar:
        while result.steps < max_steps:
            if time_budget is not None and time.perf_counter() - start >= time_budget:
                result.stopped_by = "time_budget"
                break
            model.train()
            batch = next(batches)
            lr = optimizer.param_groups[0]["lr"]
            loss = train_step(model, optimizer, scheduler, batch.src.to(device), batch.tgt_in.to(device),
                              batch.tgt_out.to(device), model.config)
            result.steps += 1
            throughput.tokens += int((batch.src != PAD_ID).sum()) + batch.target_tokens
            bar.update(1)
            if result.steps % preset.log_every == 0:
                _log(result, bar, float(loss), lr, throughput.read(), time.perf_counter() - start)
            if result.checkpoints is not None and result.steps % preset.checkpoint_every == 0:
                result.checkpoints.write(model, result.steps)
            if result.steps % preset.eval_every == 0:
                result.curve.append({"step": result.steps, "valid_loss": validation_loss(model, valid, preset.max_tokens)})
    result.seconds = time.perf_counter() - start
    if result.checkpoints is not None:
        result.checkpoints.write(model, result.steps)
    if result.steps % preset.eval_every:
        result.curve.append({"step": result.steps, "valid_loss": validation_loss(model, valid, preset.max_tokens)})
    return result
