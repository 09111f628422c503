"""Greedy search and beam search with incremental (cached) decoding, §6.1.

Both follow ``reference.decoding`` exactly: sequences exclude the start token
and end with ``eos_id`` when it was emitted within ``max_len`` tokens; greedy
ties go to the lowest token id; beam search keeps the 2*beam best candidates
by raw log-probability, ordered by (-score, token tuple).
"""
from __future__ import annotations

import torch
from torch import Tensor

from transformer_spec.reference.errors import SpecUsageError
from transformer_spec.implementations.pytorch.cache import DecoderCache
from transformer_spec.implementations.pytorch.model import Transformer

Hypothesis = tuple[tuple[int, ...], float]


def _start(model: Transformer, src: Tensor) -> DecoderCache:
    """Encode ``src`` (no dropout) and open a decoding cache.  Shapes: src (n, seq_src)."""
    if src.ndim != 2:
        raise SpecUsageError("src.shape", tuple(src.shape), "expected 2 axes (batch, seq_src)")
    return model.start_cache(model.encode(src, {}), src)


def _next_log_probs(model: Transformer, tokens: Tensor, cache: DecoderCache) -> Tensor:
    """log softmax of the next-token logits in float64.  Shapes: tokens (n,) -> (n, vocab)."""
    return torch.log_softmax(model.decode_step(tokens[:, None], cache)[:, -1].double(), dim=-1)  # (n, 1) -> (n, vocab)


@torch.no_grad()
def greedy_decode(model: Transformer, src: Tensor, bos_id: int, eos_id: int, max_len: int) -> list[tuple[int, ...]]:
    """Pick the most probable next token until ``eos_id`` or ``max_len`` tokens, all sources at once.

    Paper: §6.1.  Shapes: src (batch, seq_src) -> one token tuple per row.
    Notes: argmax over log-probabilities, ties to the lowest id (torch.argmax
    returns the first maximum); finished rows leave the batch.
    """
    cache = _start(model, src)
    out: list[list[int]] = [[] for _ in range(len(src))]
    rows = torch.arange(len(src), device=src.device)  # which source each cache row decodes
    tokens = torch.full((len(src),), bos_id, dtype=torch.long, device=src.device)
    for _ in range(max_len):
        tokens = _next_log_probs(model, tokens, cache).argmax(dim=-1)
        for r, t in zip(rows.tolist(), tokens.tolist()):
            out[r].append(t)
        live = tokens != eos_id
        if not bool(live.all()):
            rows, tokens, cache = rows[live], tokens[live], cache.select(live.nonzero().flatten())
        if len(rows) == 0:
            break
    return [tuple(seq) for seq in out]


def length_penalty(length: int, alpha: float) -> float:
    """lp(Y) = ((5 + |Y|) / 6)^alpha (Wu et al., 2016; §6.1); |Y| counts generated tokens with EOS."""
    return ((5.0 + length) / 6.0) ** alpha


def _normalised(hyp: Hypothesis, alpha: float) -> Hypothesis:
    return hyp[0], hyp[1] / length_penalty(len(hyp[0]), alpha)


def _best(pool: list[Hypothesis]) -> Hypothesis:
    return min(pool, key=lambda h: (-h[1], h[0]))


def _candidates(scores: Tensor, alive: list[list[Hypothesis]], beam: int) -> list[list[tuple[Hypothesis, int]]]:
    """Per source, the 2*beam best expansions in the reference's order, each with its parent's flat row.

    Shapes: scores (sources, beam_max, vocab) float64 with -inf where a source
    has fewer live hypotheses.  Every candidate tied with the 2*beam-th best
    is kept before the exact (-score, tokens) sort, so ties resolve as in the reference.
    """
    sources, width, vocab = scores.shape
    flat = scores.view(sources, width * vocab)  # (sources, beam_max * vocab)
    k = min(2 * beam, width * vocab)
    threshold = flat.topk(k, dim=-1).values[:, -1:]  # (sources, 1)
    s_idx, j_idx = ((flat >= threshold) & (flat > float("-inf"))).nonzero(as_tuple=True)
    picked = flat[s_idx, j_idx].tolist()
    per_source: list[list[tuple[Hypothesis, int]]] = [[] for _ in range(sources)]
    offsets = [0]
    for hyps in alive:
        offsets.append(offsets[-1] + len(hyps))
    for s, j, score in zip(s_idx.tolist(), j_idx.tolist(), picked):
        i, w = divmod(j, vocab)
        per_source[s].append(((alive[s][i][0] + (w,), score), offsets[s] + i))
    return [sorted(cands, key=lambda c: (-c[0][1], c[0][0]))[: 2 * beam] for cands in per_source]


def _split(cands: list[tuple[Hypothesis, int]], eos_id: int, beam: int) -> tuple[list, list]:
    """Candidates ending in EOS are finished; the first ``beam`` others stay live (a finished one is never extended)."""
    return [c for c in cands if c[0][0][-1] == eos_id], [c for c in cands if c[0][0][-1] != eos_id][:beam]


def _expand_scores(log_p: Tensor, alive: list[list[Hypothesis]], beam_max: int) -> Tensor:
    """Raw scores log P(prefix) + log p(w) laid out per source.  Shapes: log_p (rows, vocab) -> (sources, beam_max, vocab)."""
    scores = torch.full((len(alive), beam_max, log_p.shape[1]), float("-inf"), dtype=torch.float64, device=log_p.device)
    row = 0
    for s, hyps in enumerate(alive):
        base = torch.tensor([lp for _, lp in hyps], dtype=torch.float64, device=log_p.device)
        scores[s, : len(hyps)] = base[:, None] + log_p[row:row + len(hyps)]  # (n_s, 1) + (n_s, vocab)
        row += len(hyps)
    return scores


@torch.no_grad()
def beam_search(model: Transformer, src: Tensor, bos_id: int, eos_id: int, max_len: int, beam: int = 4,
                alpha: float = 0.6) -> list[Hypothesis]:
    """Beam search of width ``beam`` for every source row at once; (tokens, log P / lp) per row.

    Paper: §6.1 (beam 4, alpha 0.6).  Shapes: src (batch, seq_src) -> one hypothesis per row.
    Notes: the algorithm of ``reference.decoding.beam_search``: expand every
    live hypothesis by every token, keep the 2*beam best by raw log-probability;
    those ending in EOS are finished (scored log P / lp), the first ``beam``
    others stay live; a source stops when nothing is live, at ``max_len``
    tokens, or when its best finished score is at least best-live log P /
    lp(max_len).  All live hypotheses of all running sources share one cached decoder batch.
    """
    if beam < 1:
        raise SpecUsageError("beam", beam, "must be a positive integer")
    cache = _start(model, src)
    alive: list[list[Hypothesis]] = [[((), 0.0)] for _ in range(len(src))]
    finished: list[list[Hypothesis]] = [[] for _ in range(len(src))]
    done = [False] * len(src)
    tokens = torch.full((len(src),), bos_id, dtype=torch.long, device=src.device)
    for _ in range(max_len):
        running = [s for s in range(len(src)) if not done[s]]
        pools = [alive[s] for s in running]  # cache rows are these hypotheses, in this order
        log_p = _next_log_probs(model, tokens, cache)  # (rows, vocab)
        chosen = _candidates(_expand_scores(log_p, pools, beam), pools, beam)
        parents: list[int] = []
        for s, cands in zip(running, chosen):
            ended, live = _split(cands, eos_id, beam)
            finished[s] += [_normalised(h, alpha) for h, _ in ended]
            alive[s] = [h for h, _ in live]
            bound = live[0][0][1] / length_penalty(max_len, alpha) if live else 0.0  # best score a live one can reach
            done[s] = not live or (bool(finished[s]) and _best(finished[s])[1] >= bound)
            parents += [] if done[s] else [p for _, p in live]
        if all(done):
            break
        index = torch.tensor(parents, dtype=torch.long, device=src.device)
        tokens = torch.tensor([h[0][-1] for s in range(len(src)) if not done[s] for h in alive[s]],
                              dtype=torch.long, device=src.device)
        cache = cache.select(index)
    return [_best(finished[s] or [_normalised(h, alpha) for h in alive[s]]) for s in range(len(src))]

