"""Translating held-out sentences and scoring them.

Paper: §6.1 (beam search, beam 4, length penalty alpha 0.6, maximum output
length input length + 50), §6.1 / Table 2 (BLEU).  Scores are sacreBLEU's
cased BLEU and chrF on detokenised text, and exact match of whole sentences.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Sequence

import numpy as np
import sacrebleu
import torch

from transformer_spec.implementations.pytorch import Transformer, beam_search, greedy_decode, label_smoothed_loss
from transformer_spec.translation.batching import Batch, Example, collate, token_batches
from transformer_spec.translation.vocab import BOS_ID, EOS_ID, PAD_ID, SharedVocab

EXTRA_OUTPUT_TOKENS = 50  # §6.1: maximum output length = input length + 50


@dataclass(frozen=True)
class TextScores:
    """Corpus-level scores of hypotheses against one reference each."""

    bleu: float
    chrf: float
    exact_match: float
    bleu_signature: str
    chrf_signature: str


def score_texts(hypotheses: Sequence[str], references: Sequence[str]) -> TextScores:
    """sacreBLEU BLEU (cased, 13a tokenisation) and chrF, and the share of exact sentence matches."""
    bleu, chrf = sacrebleu.metrics.BLEU(), sacrebleu.metrics.CHRF()
    refs = [list(references)]
    exact = float(np.mean([h == r for h, r in zip(hypotheses, references)])) if references else 0.0
    return TextScores(bleu.corpus_score(list(hypotheses), refs).score, chrf.corpus_score(list(hypotheses), refs).score,
                      exact, str(bleu.get_signature()), str(chrf.get_signature()))


def _chunks(examples: Sequence[Example], max_tokens: int) -> list[list[int]]:
    """Index batches of similar length in a fixed order (evaluation needs no shuffling)."""
    return sorted(token_batches([e.size for e in examples], max_tokens, np.random.default_rng(0)))


@torch.no_grad()
def translate(model: Transformer, examples: Sequence[Example], vocab: SharedVocab, beam: int,
              max_tokens: int, alpha: float = 0.6) -> list[str]:
    """Detokenised translations in input order: greedy when ``beam`` is 1, else beam search (§6.1)."""
    model.eval()
    out: list[str] = [""] * len(examples)
    for chunk in _chunks(examples, max_tokens):
        src = collate([examples[i] for i in chunk]).src.to(model.embedding.device)
        max_len = src.shape[1] + EXTRA_OUTPUT_TOKENS
        if beam == 1:
            tokens = greedy_decode(model, src, BOS_ID, EOS_ID, max_len)
        else:
            tokens = [t for t, _ in beam_search(model, src, BOS_ID, EOS_ID, max_len, beam=beam, alpha=alpha)]
        for i, text in zip(chunk, vocab.decode(tokens)):
            out[i] = text
    return out


def _batches(examples: Sequence[Example], max_tokens: int, device: torch.device) -> Iterator[Batch]:
    for chunk in _chunks(examples, max_tokens):
        batch = collate([examples[i] for i in chunk])
        yield Batch(batch.src.to(device), batch.tgt_in.to(device), batch.tgt_out.to(device))


@torch.no_grad()
def teacher_forced_accuracy(model: Transformer, examples: Sequence[Example], max_tokens: int) -> float:
    """Share of non-padding target positions whose argmax prediction is right given the true prefix."""
    model.eval()
    right = total = 0
    for batch in _batches(examples, max_tokens, model.embedding.device):
        valid = batch.tgt_out != PAD_ID
        predicted = model(batch.src, batch.tgt_in).argmax(-1)  # (batch, seq_tgt, vocab) -> (batch, seq_tgt)
        right += int(((predicted == batch.tgt_out) & valid).sum())
        total += int(valid.sum())
    return right / max(total, 1)


@torch.no_grad()
def validation_loss(model: Transformer, examples: Sequence[Example], max_tokens: int) -> float:
    """Label-smoothed loss per target token (§5.4) without dropout, over all ``examples``."""
    model.eval()
    c, weighted, tokens = model.config, 0.0, 0
    for batch in _batches(examples, max_tokens, model.embedding.device):
        loss = label_smoothed_loss(model(batch.src, batch.tgt_in), batch.tgt_out, c.label_smoothing, c.pad_id,
                                   c.smoothing_convention)
        weighted, tokens = weighted + float(loss) * batch.target_tokens, tokens + batch.target_tokens
    return weighted / max(tokens, 1)
