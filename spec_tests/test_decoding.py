"""§6.1 Decoding: greedy search and beam search with the length penalty ((5 + |Y|) / 6)^alpha.

A different token sequence is accepted only as a near-tie: when the
reference scores it within 1e-6 of its own choice, the two are equally good
and floating-point order decides ("indeterminate", not a failure).
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from reference.config import TransformerConfig
from reference.decoding import beam_search, greedy_decode, length_penalty, next_token_log_probs
from reference.layers import encode
from reference.params import Params
from spec_tests.strategies import ModelCase, model_cases
from transformer_spec.harness.checker import Checker

BOS, EOS, MAX_LEN = 1, 2, 5
NEAR_TIE = {"float64": 1e-6, "float32": 1e-4, "float16": 5e-2, "bfloat16": 2e-1}
"""Log-probability gaps below which two choices count as tied: rounding the weights to the dtype moves scores by this much."""


def sequence_log_prob(src: np.ndarray, tokens: tuple[int, ...], params: Params, config: TransformerConfig) -> float:
    """log P(tokens | src) under the reference model, teacher-forced from the start token."""
    memory, total = encode(src[None], params, config), 0.0
    for t, token in enumerate(tokens):
        prefix = np.array([(BOS, *tokens[:t])])
        total += float(next_token_log_probs(prefix, memory, src[None], params, config)[0, token])
    return total


@pytest.mark.clause("6.1/greedy-decoding")
@pytest.mark.requires("greedy_decode")
@given(case=model_cases(padded=False))
def test_greedy_decoding_matches_reference(checker: Checker, case: ModelCase) -> None:
    config = checker.config(case.config)
    params = case.params_for(config)
    src, _ = case.tokens()
    out = checker.call("6.1/greedy-decoding", "greedy_decode", checker.tensor(src), checker.params(params), config,
                       BOS, EOS, MAX_LEN)
    expected = greedy_decode(src, params, config, BOS, EOS, MAX_LEN)
    for row, (got, want) in enumerate(zip(out, expected)):
        got = tuple(int(t) for t in got)
        if got != want:
            first = next(i for i, (a, b) in enumerate(zip(got + (-1,), want + (-1,))) if a != b)
            log_p = next_token_log_probs(np.array([(BOS, *want[:first])]), encode(src[row:row + 1], params, config),
                                         src[row:row + 1], params, config)[0]
            tie = first < len(got) and abs(log_p[got[first]] - log_p[want[first]]) < NEAR_TIE[checker.target.dtype]
            checker.require("6.1/greedy-decoding", tie, f"example {row}: greedy output {got}, but should be {want} "
                            f"(first difference at step {first})")


@pytest.mark.clause("6.1/beam-search")
@pytest.mark.requires("beam_search")
@given(case=model_cases(layers=(1,), padded=False), beam=st.sampled_from([1, 2, 4]), alpha=st.sampled_from([0.0, 0.6, 2.0]))
def test_beam_search_matches_reference(checker: Checker, case: ModelCase, beam: int, alpha: float) -> None:
    """Same best hypothesis and the same score log P(Y) / lp(Y) as the reference's beam search."""
    config = checker.config(case.config)
    params = case.params_for(config)
    src, _ = case.tokens()
    src = src[:2]
    out = checker.call("6.1/beam-search", "beam_search", checker.tensor(src), checker.params(params), config,
                       BOS, EOS, MAX_LEN, beam, alpha)
    for row, (got_tokens, got_score) in enumerate(out):
        want_tokens, want_score = beam_search(src[row], params, config, BOS, EOS, MAX_LEN, beam, alpha)
        got_tokens = tuple(int(t) for t in got_tokens)
        own = sequence_log_prob(src[row], got_tokens, params, config) / length_penalty(len(got_tokens), alpha)
        checker.require("6.1/beam-search", got_tokens == want_tokens or abs(own - want_score) < NEAR_TIE[checker.target.dtype],
                        f"example {row} (beam={beam}, alpha={alpha}): best hypothesis {got_tokens} scores {own:.6g}, "
                        f"but the reference finds {want_tokens} with {want_score:.6g}")
        checker.require("6.1/beam-search", abs(float(got_score) - own) < max(1e-4, NEAR_TIE[checker.target.dtype]) * max(1.0, abs(own)),
                        f"example {row} (beam={beam}, alpha={alpha}): reported score {float(got_score):.6g}, but "
                        f"log P(Y) / ((5 + |Y|) / 6)^alpha = {own:.6g} for its Y = {got_tokens}")
