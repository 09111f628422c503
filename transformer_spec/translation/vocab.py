"""A shared source-target subword vocabulary learned with SentencePiece.

Paper: §5.1 ("byte-pair encoding, which has a shared source-target
vocabulary").  The special ids are fixed: pad 0 (``TransformerConfig.pad_id``),
unk 1, bos 2, eos 3.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import sentencepiece as spm

from transformer_spec.reference.errors import SpecUsageError

PAD_ID, UNK_ID, BOS_ID, EOS_ID = 0, 1, 2, 3


@dataclass(frozen=True)
class SharedVocab:
    """A trained SentencePiece model: text <-> token ids (no bos/eos added by ``encode``)."""

    model_proto: bytes

    def __post_init__(self) -> None:
        object.__setattr__(self, "_sp", spm.SentencePieceProcessor(model_proto=self.model_proto))

    @property
    def size(self) -> int:
        """Number of token ids (the model's ``vocab``)."""
        return self._sp.get_piece_size()  # type: ignore[attr-defined]

    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of each sentence."""
        return self._sp.encode(list(texts), out_type=int)  # type: ignore[attr-defined]

    def decode(self, ids: Sequence[Sequence[int]]) -> list[str]:
        """Detokenised text of each id sequence; bos, eos and pad are dropped, decoding stops at eos."""
        return [self._sp.decode(_content(row)) for row in ids]  # type: ignore[attr-defined]

    def save(self, path: Path) -> None:
        """Write the SentencePiece model file."""
        path.write_bytes(self.model_proto)


def _content(row: Sequence[int]) -> list[int]:
    row = list(row)
    row = row[: row.index(EOS_ID)] if EOS_ID in row else row
    return [int(t) for t in row if t not in (PAD_ID, BOS_ID)]


def train_shared_vocab(texts: Iterable[str], vocab_size: int, model_type: str = "bpe", seed: int = 0) -> SharedVocab:
    """Learn one vocabulary from source and target training text (deterministic for given text and seed).

    SentencePiece trains in memory (no files, so the model bytes depend only on
    the text and options); ``vocab_size`` is an upper bound (a small corpus may
    yield fewer pieces).
    """
    if vocab_size < 8:
        raise SpecUsageError("vocab_size", vocab_size, "must be at least 8")
    spm.set_random_generator_seed(seed)
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(list(texts)), model_writer=model, vocab_size=vocab_size, model_type=model_type,
        pad_id=PAD_ID, unk_id=UNK_ID, bos_id=BOS_ID, eos_id=EOS_ID, character_coverage=1.0,
        hard_vocab_limit=False, input_sentence_size=0, shuffle_input_sentence=False, num_threads=1, minloglevel=2)
    return SharedVocab(model.getvalue())
