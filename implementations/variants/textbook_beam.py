"""A correct variant: greedy and beam search written the textbook way, without a cache.

Every step re-runs the whole decoder on each hypothesis (our model's forward
pass through ``transformer_spec.implementations.adapters.ours.TransformerSpec.model``).  Beam
search expands each live hypothesis by its own ``beam`` best tokens, keeps the
``beam`` best of those by log-probability, and moves the ones that end in EOS
to the finished pool, so the beam narrows as hypotheses finish; at beam 1 it is
greedy decoding.  Nothing else is shared with ``implementations/pytorch/decoding.py``:
its 2 * beam candidates, early stop and tie order are different legitimate choices.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from transformer_spec.implementations.adapters.ours import TransformerSpec
from transformer_spec.reference.config import TransformerConfig
from transformer_spec.harness.target import Target


class TextbookBeam:
    """Offers ``greedy_decode`` and ``beam_search`` (§6.1) only."""

    name = "textbook-beam"
    version = "0.1"
    offers = frozenset({"greedy_decode", "beam_search"})
    deviations: dict[str, Any] = {}
    focus_clauses = frozenset({"6.1/beam-search", "6.1/greedy-decoding"})

    def __init__(self, target: Target) -> None:
        self._model = TransformerSpec(target)

    def _log_probs(self, src: Tensor, prefixes: list[list[int]], params: Any, config: TransformerConfig) -> Tensor:
        """log p(next token) after each prefix.  Shapes: src (seq_src,), prefixes n lists of one length -> (n, vocab)."""
        tgt = torch.tensor(prefixes, dtype=torch.long, device=src.device)  # (n, t)
        logits = self._model.model(src.expand(len(prefixes), -1), tgt, params, config)  # (n, t, vocab)
        return torch.log_softmax(logits[:, -1].double(), dim=-1)

    @torch.no_grad()
    def greedy_decode(self, src: Tensor, params: Any, config: TransformerConfig, bos_id: int, eos_id: int,
                      max_len: int) -> list[tuple[int, ...]]:
        out = []
        for row in src:
            seq = [bos_id]
            while len(seq) <= max_len and (len(seq) == 1 or seq[-1] != eos_id):
                seq.append(int(self._log_probs(row, [seq], params, config)[0].argmax()))
            out.append(tuple(seq[1:]))
        return out

    @torch.no_grad()
    def beam_search(self, src: Tensor, params: Any, config: TransformerConfig, bos_id: int, eos_id: int, max_len: int,
                    beam: int, alpha: float) -> list[tuple[tuple[int, ...], float]]:
        return [self._search(row, params, config, bos_id, eos_id, max_len, beam, alpha) for row in src]

    def _search(self, src: Tensor, params: Any, config: TransformerConfig, bos_id: int, eos_id: int, max_len: int,
                beam: int, alpha: float) -> tuple[tuple[int, ...], float]:
        live: list[tuple[list[int], float]] = [([bos_id], 0.0)]
        finished: list[tuple[list[int], float]] = []
        for _ in range(max_len):
            log_p = self._log_probs(src, [seq for seq, _ in live], params, config)  # (len(live), vocab)
            top = log_p.topk(min(beam, log_p.shape[1]), dim=-1)
            expanded = [(seq + [int(w)], total + float(lp)) for (seq, total), lps, ws in zip(live, top.values, top.indices)
                        for lp, w in zip(lps, ws)]
            expanded.sort(key=lambda h: h[1], reverse=True)
            kept = expanded[:beam]
            finished += [h for h in kept if h[0][-1] == eos_id]
            live = [h for h in kept if h[0][-1] != eos_id]
            if not live:
                break
        scored = [(tuple(seq[1:]), total / ((5.0 + len(seq) - 1) / 6.0) ** alpha) for seq, total in finished or live]
        return max(scored, key=lambda h: h[1])  # lp(Y) = ((5 + |Y|) / 6)^alpha, |Y| without the start token
