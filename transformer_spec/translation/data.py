"""The data of a training run: splits, the shared vocabulary and encoded examples.

Paper: §5.1 (a shared source-target subword vocabulary, sentence pairs
batched by length).  The synthetic preset draws its splits from the run's
seed; a corpus preset reads ``train``, its validation and its test split.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from transformer_spec.reference.errors import SpecUsageError
from transformer_spec.translation.batching import Example, make_examples
from transformer_spec.translation.corpus import ParallelCorpus, load_split
from transformer_spec.translation.presets import Preset
from transformer_spec.translation.synthetic import generate
from transformer_spec.translation.vocab import SharedVocab, train_shared_vocab

NO_LENGTH_LIMIT = 10**9


@dataclass(frozen=True)
class Splits:
    """Training, validation and test sentence pairs as text."""

    train: ParallelCorpus
    valid: ParallelCorpus
    test: ParallelCorpus


@dataclass(frozen=True)
class RunData:
    """Everything a run trains and evaluates on; ``test_references`` are the raw target sentences."""

    vocab: SharedVocab
    train: list[Example]
    valid: list[Example]
    test: list[Example]
    test_references: tuple[str, ...]


def load_splits(preset: Preset, seed: int, corpus: Optional[Path]) -> Splits:
    """The synthetic task of ``seed`` or the corpus directory's three splits."""
    if preset.synthetic is not None:
        task = generate(seed, preset.synthetic)
        return Splits(task.train, task.valid, task.test)
    if corpus is None:
        raise SpecUsageError("corpus", None, f"preset {preset.name} needs a corpus directory")
    read = lambda split: load_split(corpus, split, preset.src_lang, preset.tgt_lang)
    return Splits(read("train"), read(preset.valid_split), read(preset.test_split))


def _encode(vocab: SharedVocab, corpus: ParallelCorpus, max_len: int) -> list[Example]:
    return make_examples(vocab.encode(corpus.source), vocab.encode(corpus.target), max_len)


def prepare(preset: Preset, seed: int, corpus: Optional[Path]) -> RunData:
    """Load the splits, learn the vocabulary on the training text, encode every split.

    Training pairs longer than ``preset.max_len`` tokens are dropped; held-out
    pairs are all kept.
    """
    splits = load_splits(preset, seed, corpus)
    vocab = train_shared_vocab(splits.train.texts(), preset.vocab_size, seed=seed)
    return RunData(vocab, _encode(vocab, splits.train, preset.max_len), _encode(vocab, splits.valid, NO_LENGTH_LIMIT),
                   _encode(vocab, splits.test, NO_LENGTH_LIMIT), splits.test.target)
