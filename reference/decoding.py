"""Decoding, §6.1: greedy search and beam search with the GNMT length penalty.

Generated sequences exclude the start token and end with ``eos_id`` when it
was emitted within ``max_len`` tokens.  Ties are broken deterministically: by
the lower token id (greedy) and by the lexicographically smaller token
sequence (beam search).
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from transformer_spec.reference.checks import require_ndim
from transformer_spec.reference.config import TransformerConfig
from transformer_spec.reference.embeddings import output_logits
from transformer_spec.reference.errors import SpecUsageError
from transformer_spec.reference.layers import decode, encode

Hypothesis = tuple[tuple[int, ...], float]


def next_token_log_probs(prefixes: np.ndarray, memory: np.ndarray, src: np.ndarray, params: Mapping[str, Any],
                         config: TransformerConfig) -> np.ndarray:
    """log softmax of the logits at the last position of each prefix.

    Shapes: prefixes (n, t) starting with the start token, memory (n, seq_src, d_model),
    src (n, seq_src) -> (n, vocab).
    """
    logits = output_logits(decode(prefixes, memory, src, params, config), params["embedding"],
                           config.embedding_scale_site)[:, -1]
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def greedy_decode(src: np.ndarray, params: Mapping[str, Any], config: TransformerConfig, bos_id: int, eos_id: int,
                  max_len: int) -> list[tuple[int, ...]]:
    """Pick the most probable next token until ``eos_id`` or ``max_len`` tokens.

    Shapes: src (batch, seq_src) -> one token tuple per example.
    Notes: argmax ties go to the lowest token id.
    """
    require_ndim("src", src, 2, "batch, seq_src")
    out = []
    for row in np.asarray(src):
        row = row[None]
        memory, seq = encode(row, params, config), [bos_id]
        while len(seq) <= max_len and (len(seq) == 1 or seq[-1] != eos_id):
            seq.append(int(np.argmax(next_token_log_probs(np.array([seq]), memory, row, params, config)[0])))
        out.append(tuple(seq[1:]))
    return out


def length_penalty(length: int, alpha: float) -> float:
    """lp(Y) = ((5 + |Y|) / 6)^alpha (Wu et al., 2016, cited in §6.1); |Y| counts generated tokens with EOS."""
    return ((5.0 + length) / 6.0) ** alpha


def _normalised(hyp: Hypothesis, alpha: float) -> Hypothesis:
    return hyp[0], hyp[1] / length_penalty(len(hyp[0]), alpha)


def _best(pool: list[Hypothesis]) -> Hypothesis:
    return min(pool, key=lambda h: (-h[1], h[0]))


def beam_search(src: np.ndarray, params: Mapping[str, Any], config: TransformerConfig, bos_id: int, eos_id: int,
                max_len: int, beam: int = 4, alpha: float = 0.6) -> Hypothesis:
    """Beam search of width ``beam``; returns (tokens, log P(tokens) / lp(tokens)).

    Paper: §6.1 (beam size 4, length penalty alpha = 0.6).
    Shapes: src (seq_src,) one source sentence.
    Notes: each step expands every live hypothesis by every token and keeps
    the 2*beam best by raw log-probability; those ending in EOS are finished
    (scored log P / lp), the first ``beam`` others stay live.  The search
    stops when nothing is live, at ``max_len`` tokens, or when no live
    hypothesis can still beat the best finished one (log P only falls and lp
    is at most lp(max_len)).  Without any finished hypothesis the best live
    one is returned.
    """
    if beam < 1:
        raise SpecUsageError("beam", beam, "must be a positive integer")
    row = np.asarray(src)[None]
    memory = encode(row, params, config)
    alive: list[Hypothesis] = [((), 0.0)]
    finished: list[Hypothesis] = []
    for _ in range(max_len):
        prefixes = np.array([(bos_id, *seq) for seq, _ in alive])
        n = len(alive)
        log_p = next_token_log_probs(prefixes, np.repeat(memory, n, 0), np.repeat(row, n, 0), params, config)
        candidates = [(seq + (w,), lp + float(log_p[i, w])) for i, (seq, lp) in enumerate(alive) for w in range(log_p.shape[1])]
        candidates.sort(key=lambda h: (-h[1], h[0]))
        finished += [_normalised(h, alpha) for h in candidates[: 2 * beam] if h[0][-1] == eos_id]
        alive = [h for h in candidates[: 2 * beam] if h[0][-1] != eos_id][:beam]
        if not alive or (finished and _best(finished)[1] >= alive[0][1] / length_penalty(max_len, alpha)):
            break
    return _best(finished or [_normalised(h, alpha) for h in alive])
