"""Named training runs: model size, data, batch size and budget.

Paper: Table 3 (model sizes), §5.1 (token-count batches), §5.3 (warm-up), §5.4
(dropout and label smoothing stay at the paper's 0.1).  The presets shrink the
model, the batch and the warm-up to fit a CPU budget; :func:`recipe_deviations`
names every departure from the paper's base recipe.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from transformer_spec.reference.config import TransformerConfig
from transformer_spec.reference.errors import SpecUsageError
from transformer_spec.translation.synthetic import SyntheticSpec

PAPER_WARMUP, PAPER_BATCH_TOKENS = 4000, 25000


@dataclass(frozen=True)
class Preset:
    """One training run's recipe.

    ``synthetic`` set: the seeded toy task; else the corpus ``src_lang`` ->
    ``tgt_lang`` with splits ``valid_split`` and ``test_split``.  Training
    stops after ``max_steps`` updates, or after ``time_budget`` seconds where
    one is set (a time budget makes the result depend on the machine: the
    ``smoke`` preset, which a conformance verdict rests on, has none).
    """

    name: str
    config: TransformerConfig  # ``vocab`` is replaced by the learned vocabulary's size
    vocab_size: int
    max_tokens: int  # padded tokens per batch, source and target each (§5.1)
    max_steps: int
    time_budget: Optional[float]
    max_len: int = 100  # longest training pair in subword tokens
    synthetic: Optional[SyntheticSpec] = None
    src_lang: str = "de"
    tgt_lang: str = "en"
    valid_split: str = "val"
    test_split: str = "test_2016_flickr"
    log_every: int = 25
    eval_every: int = 250  # steps between validation losses on the learning curve
    threads: Optional[int] = None  # torch intra-op threads; None = every CPU core (1 suits tiny matrices)
    lr_scale: float = 1.0  # multiplies Eq. (3): a short warm-up otherwise peaks at d_model^-0.5 / sqrt(warmup)
    average_last: int = 1  # checkpoints averaged into the evaluated model (§6.1); 1 = the last weights
    checkpoint_every: int = 0  # steps between those checkpoints (the run's last step is always one)

    def __post_init__(self) -> None:
        if self.average_last < 1 or (self.average_last > 1 and self.checkpoint_every < 1):
            raise ValueError(f"preset {self.name}: average_last >= 1, and checkpoint_every >= 1 when averaging")


def _config(d_model: int, layers: int, heads: int, d_ff: int, warmup: int) -> TransformerConfig:
    return TransformerConfig(layers=layers, d_model=d_model, d_ff=d_ff, heads=heads, d_k=d_model // heads,
                             d_v=d_model // heads, warmup_steps=warmup, vocab=8)


PRESETS = {
    "smoke": Preset("smoke", _config(64, 2, 4, 128, warmup=200), vocab_size=256, max_tokens=1200,
                    max_steps=1100, time_budget=None, synthetic=SyntheticSpec(), log_every=20, eval_every=200,
                    threads=1),
    "multi30k": Preset("multi30k", _config(256, 3, 8, 512, warmup=300), vocab_size=6000, max_tokens=2000,
                       max_steps=100_000, time_budget=1440.0, eval_every=500, lr_scale=0.45, average_last=5,
                       checkpoint_every=50),
}


def get_preset(name: str) -> Preset:
    """The preset called ``name`` (a usage error if there is none)."""
    if name not in PRESETS:
        raise SpecUsageError("preset", name, f"choose one of {', '.join(PRESETS)}")
    return PRESETS[name]


def recipe_deviations(preset: Preset) -> list[str]:
    """Human-readable departures from the paper's base recipe (§5.1, §5.3, Table 3)."""
    c = preset.config
    budget = "" if preset.time_budget is None else f" / {preset.time_budget:.0f} s"
    return [f"warm-up {c.warmup_steps} steps instead of {PAPER_WARMUP} (Eq. (3), scaled to a run of at most "
            f"{preset.max_steps} steps{budget})",
            f"batches of about {preset.max_tokens} padded tokens instead of {PAPER_BATCH_TOKENS} (§5.1)",
            *_learning_rate(preset),
            f"model d_model={c.d_model}, N={c.layers}, h={c.heads}, d_ff={c.d_ff} instead of Table 3 base",
            _averaging(preset)]


def _learning_rate(preset: Preset) -> list[str]:
    if preset.lr_scale == 1.0:
        return []
    c = preset.config
    peak = preset.lr_scale * c.d_model ** -0.5 * c.warmup_steps ** -0.5
    return [f"learning rate {preset.lr_scale:g} x Eq. (3), peaking at {peak:.2e} at step {c.warmup_steps}"]


def _averaging(preset: Preset) -> str:
    if preset.average_last <= 1:
        return "no checkpoint averaging (§6.1)"
    return (f"the last {preset.average_last} checkpoints, written every {preset.checkpoint_every} steps instead of "
            "every 10 minutes, are averaged (§6.1)")
