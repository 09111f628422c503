"""Batches of roughly equal token counts.

Paper: §5.1 ("Sentence pairs were batched together by approximate sequence
length.  Each training batch contained a set of sentence pairs containing
approximately 25000 source tokens and 25000 target tokens").
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from transformer_spec.reference.errors import SpecUsageError
from transformer_spec.translation.vocab import BOS_ID, EOS_ID, PAD_ID


@dataclass(frozen=True)
class Example:
    """One encoded pair: source ids ending in eos, target ids without bos/eos."""

    src: tuple[int, ...]
    tgt: tuple[int, ...]

    @property
    def size(self) -> int:
        """Tokens this pair occupies per padded row (the longer of source and target+1)."""
        return max(len(self.src), len(self.tgt) + 1)


@dataclass(frozen=True)
class Batch:
    """Padded tensors of one batch.

    Shapes: src (batch, seq_src), tgt_in (batch, seq_tgt) starting with bos,
    tgt_out (batch, seq_tgt) ending with eos; padding is ``PAD_ID``.
    """

    src: torch.Tensor
    tgt_in: torch.Tensor
    tgt_out: torch.Tensor

    @property
    def target_tokens(self) -> int:
        """Non-padding target tokens (what the loss averages over)."""
        return int((self.tgt_out != PAD_ID).sum())


def make_examples(src_ids: Sequence[Sequence[int]], tgt_ids: Sequence[Sequence[int]], max_len: int) -> list[Example]:
    """Pair encoded sentences, append eos to the source, drop pairs longer than ``max_len`` tokens."""
    pairs = (Example((*s, EOS_ID), tuple(t)) for s, t in zip(src_ids, tgt_ids))
    return [e for e in pairs if e.size <= max_len]


def token_batches(sizes: Sequence[int], max_tokens: int, rng: np.random.Generator) -> list[list[int]]:
    """Index batches whose padded size (rows x longest row) stays within ``max_tokens``.

    Examples are sorted by size (ties broken randomly), cut greedily into
    batches, and the batch order is shuffled; a single example longer than
    ``max_tokens`` forms a batch of its own.
    """
    if max_tokens < 1:
        raise SpecUsageError("max_tokens", max_tokens, "must be a positive integer")
    order = sorted(range(len(sizes)), key=lambda i: (sizes[i], rng.random()))
    batches: list[list[int]] = []
    for i in order:
        if batches and (len(batches[-1]) + 1) * sizes[i] <= max_tokens:
            batches[-1].append(i)
        else:
            batches.append([i])
    return [batches[k] for k in rng.permutation(len(batches))]


def _pad(rows: Sequence[Sequence[int]]) -> torch.Tensor:
    width = max(len(r) for r in rows)
    return torch.tensor([list(r) + [PAD_ID] * (width - len(r)) for r in rows], dtype=torch.long)


def collate(examples: Sequence[Example]) -> Batch:
    """Pad a list of examples into a :class:`Batch` (teacher forcing: tgt_in is tgt_out shifted right)."""
    return Batch(_pad([e.src for e in examples]), _pad([(BOS_ID, *e.tgt) for e in examples]),
                 _pad([(*e.tgt, EOS_ID) for e in examples]))
