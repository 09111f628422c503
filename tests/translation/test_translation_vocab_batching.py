"""The shared vocabulary and token-count batching."""
from __future__ import annotations

import numpy as np
import pytest

from transformer_spec.reference.errors import SpecUsageError
from transformer_spec.translation.batching import collate, make_examples, token_batches
from transformer_spec.translation.synthetic import SyntheticSpec, generate
from transformer_spec.translation.vocab import BOS_ID, EOS_ID, PAD_ID, UNK_ID, train_shared_vocab

TASK = generate(0, SyntheticSpec(n_train=300, n_valid=20, n_test=20))
MIXED = ("Ein Mann fährt Fahrrad.", "A man rides a bicycle.", "Zwei Hunde spielen im Schnee.", "Two dogs play.")


def test_vocabulary_round_trips_and_fixes_special_ids():
    vocab = train_shared_vocab(TASK.train.texts() + MIXED * 5, 200)
    for text in TASK.test.source + TASK.test.target + MIXED:
        assert vocab.decode(vocab.encode([text])) == [text]
    sp = vocab._sp  # type: ignore[attr-defined]
    assert [sp.pad_id(), sp.unk_id(), sp.bos_id(), sp.eos_id()] == [PAD_ID, UNK_ID, BOS_ID, EOS_ID]


def test_vocabulary_is_deterministic_and_decode_stops_at_eos():
    first, second = train_shared_vocab(TASK.train.texts(), 120), train_shared_vocab(TASK.train.texts(), 120)
    assert first.model_proto == second.model_proto
    ids = first.encode(["the dog"])[0]
    assert first.decode([[BOS_ID, *ids, EOS_ID, *ids, PAD_ID]]) == ["the dog"]


def test_batches_bound_padded_token_counts_and_cover_every_example():
    rng = np.random.default_rng(0)
    sizes = [int(s) for s in rng.integers(1, 40, size=500)]
    batches = token_batches(sizes, 200, np.random.default_rng(1))
    assert sorted(i for b in batches for i in b) == list(range(500))
    assert all(len(b) * max(sizes[i] for i in b) <= 200 for b in batches)
    assert sum(len(b) * max(sizes[i] for i in b) for b in batches) <= 1.25 * sum(sizes)  # little padding
    assert batches == token_batches(sizes, 200, np.random.default_rng(1))
    assert batches != token_batches(sizes, 200, np.random.default_rng(2))


def test_oversized_examples_get_their_own_batch_and_bad_budgets_fail():
    assert sorted(sorted(b) for b in token_batches([50, 3, 3], 10, np.random.default_rng(0))) == [[0], [1, 2]]
    with pytest.raises(SpecUsageError):
        token_batches([1], 0, np.random.default_rng(0))


def test_collate_shifts_targets_for_teacher_forcing():
    examples = make_examples([[5, 6], [7]], [[8], [9, 10, 11]], max_len=10)
    batch = collate(examples)
    assert batch.src.tolist() == [[5, 6, EOS_ID], [7, EOS_ID, PAD_ID]]
    assert batch.tgt_in.tolist() == [[BOS_ID, 8, PAD_ID, PAD_ID], [BOS_ID, 9, 10, 11]]
    assert batch.tgt_out.tolist() == [[8, EOS_ID, PAD_ID, PAD_ID], [9, 10, 11, EOS_ID]]
    assert batch.target_tokens == 6
    assert make_examples([[1] * 20], [[2]], max_len=10) == []
