"""Loading plain-text parallel corpora."""
from __future__ import annotations

import gzip

import pytest

from transformer_spec.reference.errors import SpecUsageError
from transformer_spec.translation.corpus import ParallelCorpus, load_split


def test_reads_plain_and_gzip_files(tmp_path):
    (tmp_path / "train.de").write_text("ein Hund\nzwei Katzen\n", encoding="utf-8")
    with gzip.open(tmp_path / "train.en.gz", "wt", encoding="utf-8") as handle:
        handle.write("a dog\ntwo cats\n")
    corpus = load_split(tmp_path, "train", "de", "en")
    assert corpus == ParallelCorpus(("ein Hund", "zwei Katzen"), ("a dog", "two cats"))


def test_mismatched_line_counts_are_a_usage_error(tmp_path):
    (tmp_path / "val.de").write_text("a\nb\nc\n", encoding="utf-8")
    (tmp_path / "val.en").write_text("a\nb\n", encoding="utf-8")
    with pytest.raises(SpecUsageError, match="val.de has 3 lines but val.en has 2"):
        load_split(tmp_path, "val", "de", "en")


def test_missing_files_and_directories_are_usage_errors(tmp_path):
    with pytest.raises(SpecUsageError, match="is not a directory"):
        load_split(tmp_path / "absent", "train", "de", "en")
    with pytest.raises(SpecUsageError, match="has no train.de"):
        load_split(tmp_path, "train", "de", "en")
