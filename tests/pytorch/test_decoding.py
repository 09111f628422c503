"""Cached decoding equals full recomputation; greedy and beam search equal reference.decoding."""
from __future__ import annotations

import numpy as np
import torch
from hypothesis import given, strategies as st

from transformer_spec.reference import decoding as ref
from transformer_spec.reference.config import TransformerConfig
from transformer_spec.implementations.pytorch import beam_search, greedy_decode
from pytorch_support import configs, err, loaded, t, token_batches


@st.composite
def decode_cases(draw: st.DrawFn) -> tuple[TransformerConfig, np.ndarray, int, int]:
    c = draw(configs(final_norm=draw(st.booleans()), norm_position=draw(st.sampled_from(["post", "pre"]))))
    src = draw(token_batches(c.vocab, c.pad_id))
    bos, eos = draw(st.integers(0, c.vocab - 1)), draw(st.integers(0, c.vocab - 1))
    return c, src, bos, eos


@given(decode_cases(), st.integers(1, 3))
def test_cached_decoding_equals_full_recomputation(case, chunk):
    c, src, _, _ = case
    model, _ = loaded(c, seed=3)
    rng = np.random.default_rng(int(src.sum()))
    tgt = t(rng.integers(0, c.vocab, (len(src), 6)))
    with torch.no_grad():
        memory = model.encode(t(src))
        full = model.generator(model.decode(tgt, memory, t(src)))
        cache = model.start_cache(memory, t(src))
        steps = [model.decode_step(tgt[:, i:i + chunk], cache) for i in range(0, tgt.shape[1], chunk)]
    assert err(torch.cat(steps, dim=1), full.numpy()) <= 1e-12


@given(decode_cases(), st.integers(0, 6))
def test_greedy_equals_reference(case, max_len):
    c, src, bos, eos = case
    model, params = loaded(c, seed=1)
    assert greedy_decode(model, t(src), bos, eos, max_len) == ref.greedy_decode(src, params, c, bos, eos, max_len)


@given(decode_cases(), st.integers(1, 6), st.integers(1, 4), st.sampled_from([0.0, 0.6, 1.0]))
def test_beam_search_equals_reference(case, max_len, beam, alpha):
    c, src, bos, eos = case
    model, params = loaded(c, seed=2)
    ours = beam_search(model, t(src), bos, eos, max_len, beam, alpha)
    assert_same_hypotheses(ours, [ref.beam_search(row, params, c, bos, eos, max_len, beam, alpha) for row in src])


def test_beam_search_defaults_and_eos_heavy_model():
    c = TransformerConfig.small(vocab=6)
    model, params = loaded(c, seed=4)
    with torch.no_grad():
        model.embedding[3] *= 5.0  # make one token dominant so hypotheses finish early
    src = np.array([[1, 2, 3], [4, 5, 0]])
    params["embedding"] = model.embedding.detach().numpy().copy()
    assert_same_hypotheses(beam_search(model, t(src), 1, 3, 8), [ref.beam_search(row, params, c, 1, 3, 8) for row in src])


def assert_same_hypotheses(ours: list, expected: list) -> None:
    """Identical token tuples, normalised scores within 1e-10."""
    assert [tokens for tokens, _ in ours] == [tokens for tokens, _ in expected]
    assert np.allclose([s for _, s in ours], [s for _, s in expected], rtol=0, atol=1e-10)
