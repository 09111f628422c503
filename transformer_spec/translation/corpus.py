"""Parallel corpora: sentence pairs in memory and a loader for plain-text files.

A corpus directory holds one file per split and language, ``<split>.<lang>``
(optionally gzip-compressed, ``train.de.gz``), one sentence per line, line i
of the source file translating line i of the target file.
"""
from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path

from transformer_spec.reference.errors import SpecUsageError


@dataclass(frozen=True)
class ParallelCorpus:
    """Aligned source and target sentences (detokenised text)."""

    source: tuple[str, ...]
    target: tuple[str, ...]

    def __post_init__(self) -> None:
        if len(self.source) != len(self.target):
            raise SpecUsageError("corpus", f"{len(self.source)} source / {len(self.target)} target lines",
                                 "source and target must have the same number of sentences")

    def __len__(self) -> int:
        return len(self.source)

    def texts(self) -> tuple[str, ...]:
        """Source and target sentences together (for a shared vocabulary)."""
        return self.source + self.target


def split_file(directory: Path, split: str, lang: str) -> Path:
    """The file of one split and language: ``<split>.<lang>`` or ``<split>.<lang>.gz``."""
    for name in (f"{split}.{lang}", f"{split}.{lang}.gz"):
        if (directory / name).is_file():
            return directory / name
    raise SpecUsageError("corpus", str(directory), f"has no {split}.{lang} or {split}.{lang}.gz")


def read_lines(path: Path) -> tuple[str, ...]:
    """The stripped lines of a UTF-8 text file, gzip-decompressed when the name ends in ``.gz``."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        return tuple(line.strip() for line in handle)


def load_split(directory: str | Path, split: str, src_lang: str, tgt_lang: str) -> ParallelCorpus:
    """Read one split of a parallel corpus; mismatched line counts are a usage error."""
    directory = Path(directory)
    if not directory.is_dir():
        raise SpecUsageError("corpus", str(directory), "is not a directory")
    src_path, tgt_path = split_file(directory, split, src_lang), split_file(directory, split, tgt_lang)
    source, target = read_lines(src_path), read_lines(tgt_path)
    if len(source) != len(target):
        raise SpecUsageError("corpus", str(directory), f"{src_path.name} has {len(source)} lines but "
                             f"{tgt_path.name} has {len(target)}")
    return ParallelCorpus(source, target)
