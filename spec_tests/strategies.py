"""Hypothesis strategies: small cases in which every axis has a *different* size.

Arrays are not drawn element by element: a case draws sizes and a seed, and
builds its arrays with NumPy's seeded generator.  Shrinking then goes to the
smallest sizes, and a falsifying example prints as a readable case that
reproduces exactly.

Model cases draw only configurations the implementation under test declares it
can express (``transformer_spec.implementations.protocol.Shapes``): a test draws them with
``data.draw(model_cases(checker.impl, ...))`` from ``@given(data=st.data())``.
Their parameters take the form the implementation declares (:data:`PARAMETER_FIELDS`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from hypothesis import strategies as st

from transformer_spec.implementations.protocol import ANY_SHAPE, Shapes, declared_shapes
from transformer_spec.reference.config import TransformerConfig
from transformer_spec.reference.params import Params, init_params

SEEDS = st.integers(0, 2**31 - 1)

PARAMETER_FIELDS = ("projection_bias",)
"""Declarable fields that change which canonical parameters a case draws (not their names or shapes):
an implementation declaring ``projection_bias=False`` gets zero attention biases in every case."""


def distinct_sizes(count: int, low: int = 1, high: int = 7) -> st.SearchStrategy[list[int]]:
    """``count`` pairwise different sizes in [low, high], so no two axes can be swapped unnoticed."""
    return st.lists(st.integers(low, high), min_size=count, max_size=count, unique=True)


@dataclass(frozen=True)
class AttentionCase:
    """Inputs of Eq. (1): q (batch, heads, seq_q, d_k), k (..., seq_k, d_k), v (..., seq_k, d_v), a mask."""

    batch: int
    heads: int
    seq_q: int
    seq_k: int
    d_k: int
    d_v: int
    mask: str  # "none", "causal", "padding" or "random"
    seed: int

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
        rng = np.random.default_rng(self.seed)
        q = rng.normal(size=(self.batch, self.heads, self.seq_q, self.d_k))
        k = rng.normal(size=(self.batch, self.heads, self.seq_k, self.d_k))
        v = rng.normal(size=(self.batch, self.heads, self.seq_k, self.d_v))
        return q, k, v, attention_mask(self.mask, self.batch, self.seq_q, self.seq_k, rng)


def attention_mask(kind: str, batch: int, seq_q: int, seq_k: int, rng: np.random.Generator) -> np.ndarray | None:
    """A boolean mask (True = may attend) in which every query keeps at least one key."""
    if kind == "none":
        return None
    if kind == "causal":
        return np.tril(np.ones((seq_q, seq_k), dtype=bool))[None, None]
    if kind == "padding":
        lengths = rng.integers(1, seq_k + 1, size=batch)
        return (np.arange(seq_k)[None, :] < lengths[:, None])[:, None, None, :]
    mask = rng.random((batch, 1, seq_q, seq_k)) < 0.6
    mask[..., 0] |= ~mask.any(axis=-1)
    return mask


@st.composite
def attention_cases(draw: st.DrawFn, masks: tuple[str, ...] = ("none", "causal", "padding", "random")) -> AttentionCase:
    batch, heads, seq_q, seq_k, d_k, d_v = draw(distinct_sizes(6), label="batch, heads, seq_q, seq_k, d_k, d_v")
    return AttentionCase(batch, heads, seq_q, seq_k, d_k, d_v, draw(st.sampled_from(masks), label="mask"),
                         draw(SEEDS, label="seed"))


@dataclass(frozen=True)
class ModelCase:
    """A tiny configuration, its canonical parameters, and a batch of source and target tokens."""

    config: TransformerConfig
    batch: int
    seq_src: int
    seq_tgt: int
    seed: int
    padded: bool = True
    params: Params = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", init_params(self.config, self.seed))

    def params_for(self, config: TransformerConfig) -> Params:
        """Canonical parameters for ``config`` (the case's own, or a variant's: final_norm adds stack norms)."""
        return self.params if config == self.config else init_params(config, self.seed)

    def tokens(self) -> tuple[np.ndarray, np.ndarray]:
        """Source (batch, seq_src) and target (batch, seq_tgt) ids; with ``padded``, ragged right padding."""
        rng = np.random.default_rng(self.seed + 1)
        src = rng.integers(1, self.config.vocab, size=(self.batch, self.seq_src))
        tgt = rng.integers(1, self.config.vocab, size=(self.batch, self.seq_tgt))
        if self.padded:
            for arr in (src, tgt):
                lengths = rng.integers(1, arr.shape[1] + 1, size=self.batch)
                arr[np.arange(arr.shape[1])[None, :] >= lengths[:, None]] = self.config.pad_id
        return src, tgt

    def hidden(self, seq: int, salt: int = 2) -> np.ndarray:
        """A (batch, seq, d_model) activation."""
        return np.random.default_rng(self.seed + salt).normal(size=(self.batch, seq, self.config.d_model))


SHAPE_KINDS: dict[str, str] = {
    "distinct": "heads, d_k, d_v, d_model, d_ff and vocab all different, so no two axes can be swapped unnoticed",
    "heads-divide": "d_k = d_v = d_model / heads, the only shape fused attention such as nn.MultiheadAttention has",
    "paper": "the paper's ratios (§3.2.2, §3.3): 8 heads of width d_k = d_v = d_model / 8, d_ff = 4 d_model",
}
"""The kinds of configuration :func:`configs` draws, with what each is for."""


def shape_kinds(shapes: Shapes) -> tuple[str, ...]:
    """The kinds an implementation declaring ``shapes`` can express; shrinking goes to the first."""
    return ("heads-divide", "paper") if shapes.heads_divide_d_model else ("distinct", "distinct", "heads-divide", "paper")


@st.composite
def configs(draw: st.DrawFn, layers: tuple[int, ...] = (1, 2), shapes: Shapes = ANY_SHAPE) -> TransformerConfig:
    """Tiny configurations of the kinds in :data:`SHAPE_KINDS` that ``shapes`` allows.

    An implementation with every shape gets half its draws with all sizes different, a quarter with
    d_k = d_v = d_model / heads and a quarter at the paper's ratios; one that declares
    ``heads_divide_d_model`` gets only the last two, instead of rejecting the rest as Unsupported.
    """
    kind = draw(st.sampled_from(shape_kinds(shapes)), label="shape kind")
    if kind == "paper":
        heads, d_k = 8, draw(st.sampled_from((2, 3)), label="d_k")
        d_v, d_model = d_k, heads * d_k
        d_ff = 4 * d_model
    else:
        if kind == "heads-divide":
            heads, d_k = draw(distinct_sizes(2, 2, 4), label="heads, d_k")
            d_v, d_model = d_k, heads * d_k
        else:
            heads, d_k, d_v = draw(distinct_sizes(3, 1, 5), label="heads, d_k, d_v")
            d_model = draw(st.integers(6, 12).filter(lambda d: d not in (heads, d_k, d_v)), label="d_model")
        d_ff = draw(st.integers(13, 20), label="d_ff")
    vocab = draw(st.integers(21, 29).filter(lambda v: v != d_model), label="vocab")
    return TransformerConfig(layers=draw(st.sampled_from(layers), label="layers"), d_model=d_model, d_ff=d_ff,
                             heads=heads, d_k=d_k, d_v=d_v, vocab=vocab, warmup_steps=10)


@st.composite
def model_cases(draw: st.DrawFn, impl: object = None, layers: tuple[int, ...] = (1, 2),
                padded: bool = True) -> ModelCase:
    """A :class:`ModelCase` in a configuration ``impl`` declares it can express (``checker.impl``; None: any)."""
    declared = getattr(impl, "deviations", None) or {}
    config = draw(configs(layers, declared_shapes(impl)), label="config")
    config = config.replace(**{k: v for k, v in declared.items() if k in PARAMETER_FIELDS})
    batch, seq_src, seq_tgt = draw(distinct_sizes(3, 1, 6), label="batch, seq_src, seq_tgt")
    return ModelCase(config, batch, seq_src, seq_tgt, draw(SEEDS, label="seed"), padded)
