"""``Unsupported``: a reason that names the example rejects it (another may fit); one that never changes skips at once."""
from __future__ import annotations

from typing import Any

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable

from transformer_spec.harness.checker import SAME_REASON_SKIPS, Checker
from transformer_spec.harness.target import Target
from transformer_spec.implementations.protocol import Unsupported


class Refuses:
    name, version, offers, deviations = "refuses", "0", frozenset({"attention"}), {}

    def __init__(self, reason: Any) -> None:
        self.reason = reason

    def attention(self, q: torch.Tensor, *rest: Any) -> None:
        raise Unsupported(self.reason(q.shape[-1]))


def _drive(reason: Any, seen: list[int], d_ks: st.SearchStrategy[int] = st.integers(1, 10_000)) -> None:
    """Twenty examples of d_k, each refused with ``reason(d_k)``; the d_k tried are appended to ``seen``."""
    checker = Checker(Refuses(reason), "refuses", Target())

    @settings(max_examples=20, database=None, derandomize=True)
    @given(d_ks)
    def body(d_k: int) -> None:
        seen.append(d_k)
        q = torch.zeros(1, 2, d_k, dtype=torch.float64)
        checker.call("3.2.1/scaled-dot-product", "attention", q, q, q, None)

    body()


def test_a_reason_that_never_changes_skips_after_a_few_examples() -> None:
    seen: list[int] = []
    with pytest.raises(pytest.skip.Exception, match="refuses.attention: takes no masks"):
        _drive(lambda d_k: "takes no masks", seen)
    assert len(seen) == SAME_REASON_SKIPS


def test_a_reason_that_names_the_shape_lets_hypothesis_try_other_examples() -> None:
    seen: list[int] = []
    with pytest.raises(Unsatisfiable):
        _drive(lambda d_k: f"d_k={d_k} is not a power of two", seen)
    assert len(set(seen)) > SAME_REASON_SKIPS


def test_the_same_arguments_refused_again_count_once() -> None:
    seen: list[int] = []
    with pytest.raises(Unsatisfiable):
        _drive(lambda d_k: "takes no masks", seen, st.sampled_from([4]))
