"""A tiny Transformer whose next-token distribution is set by hand, for the §6.1 decoding checks.

Every attention output projection and every FFN weight is zero, so each
sub-layer adds nothing and the decoder output at the last position is
``g * n(E[y] sqrt(d) + PE) + b``, with ``n`` the LayerNorm normalisation and
(g, b) the last LayerNorm's gain and bias.  The embedding rows are rows of the
8 x 8 Sylvester Hadamard matrix H times a huge M (so PE, at most 1, is
negligible and n(E[y] sqrt(d) + PE) = H[idx y]).  With H[i] * H[j] = H[i xor j],
the tied output projection gives

    logit(v | previous token y) = f[idx y xor idx v] + c[v]

for any table f (8 values) and offsets c (per token): g = H f / (8 M),
b = sum_v c[v] H[idx v] / (8 M).  So the model is a first-order Markov chain
whose transition logits we write down directly.
"""
from __future__ import annotations

import math

import numpy as np

from transformer_spec.reference.config import TransformerConfig
from transformer_spec.reference.params import flatten, init_params, map_tree, unflatten

PAD, BOS, EOS, A, B = 0, 1, 2, 3, 4
NAMES = {PAD: "pad", BOS: "bos", EOS: "eos", A: "A", B: "B"}
INDEX = {PAD: 5, BOS: 1, EOS: 2, A: 3, B: 4}  # Hadamard row of each token
CONFIG = TransformerConfig(layers=1, d_model=8, d_ff=3, heads=2, d_k=4, d_v=4, vocab=5, warmup_steps=1, pad_id=PAD,
                           layer_norm_eps=1e-12)  # a tiny eps keeps the LayerNorms exact normalisations
M = 1e8
OFFSETS = {PAD: -30.0, BOS: -30.0, EOS: 0.0, A: 0.0, B: 0.0}  # pad and bos are never generated

# Transition logits f[idx y xor idx v]: after bos: A 1.0, B 0.8, eos -1.0; after A: eos 0.2, A 0.0, B -0.1;
# after B: eos 3.0, A -0.1, B 0.0.  (xor: bos^A=2, bos^B=5, bos^eos=3, A^eos=1, A^B=7, B^eos=6, y^y=0.)
GREEDY_DIFFERS = [0.0, 0.2, 1.0, -1.0, 0.0, 0.8, 3.0, -0.1]
# The same, but after bos: eos log .38, B log .40, A log .22, so [eos] wins at alpha 0 and [B, eos] at alpha 0.6.
PENALTY_MATTERS = [0.0, 0.2, math.log(0.22), math.log(0.38), 0.0, math.log(0.40), 3.0, -0.1]


def hadamard(n: int = 8) -> np.ndarray:
    h = np.ones((1, 1))
    while h.shape[0] < n:
        h = np.block([[h, h], [h, -h]])
    return h


def transition_logits(f: list[float]) -> dict[int, dict[int, float]]:
    """The hand-written table: logit(v | y) = f[idx y xor idx v] + c[v]."""
    return {y: {v: f[INDEX[y] ^ INDEX[v]] + OFFSETS[v] for v in NAMES} for y in NAMES}


def transition_log_probs(f: list[float]) -> dict[int, dict[int, float]]:
    """log softmax of each row of :func:`transition_logits`, by hand."""
    table = transition_logits(f)
    out = {}
    for y, row in table.items():
        log_z = math.log(sum(math.exp(t) for t in row.values()))
        out[y] = {v: t - log_z for v, t in row.items()}
    return out


def build_params(f: list[float]) -> dict:
    """Canonical params realising the table ``f``: everything zero except embedding and LayerNorms."""
    h = hadamard()
    params = map_tree(np.zeros_like, init_params(CONFIG, 0))
    flat = flatten(params)
    for name in flat:
        if name.endswith(".scale"):
            flat[name] = np.ones(CONFIG.d_model)
    flat["embedding"] = np.array([h[INDEX[t]] for t in range(CONFIG.vocab)]) * M
    flat["decoder.layers.0.norm3.scale"] = h @ np.asarray(f) / (8 * M)
    flat["decoder.layers.0.norm3.bias"] = sum(OFFSETS[t] * h[INDEX[t]] for t in NAMES) / (8 * M)
    return unflatten(flat)


def sequence_log_prob(f: list[float], tokens: tuple[int, ...]) -> float:
    """log P(tokens | bos) under the hand table (the chain rule, token by token)."""
    table, previous, total = transition_log_probs(f), BOS, 0.0
    for t in tokens:
        total += table[previous][t]
        previous = t
    return total


def best_finished(f: list[float], max_len: int, alpha: float) -> tuple[tuple[int, ...], float]:
    """Exhaustive search over every sequence ending in eos within ``max_len`` tokens, by the hand table."""
    best: tuple[tuple[int, ...], float] = ((), -math.inf)
    frontier: list[tuple[int, ...]] = [()]
    for length in range(1, max_len + 1):
        frontier = [seq + (t,) for seq in frontier for t in (EOS, A, B)]
        for seq in frontier:
            if seq[-1] == EOS and EOS not in seq[:-1]:
                score = sequence_log_prob(f, seq) / ((5 + length) / 6) ** alpha
                if score > best[1]:
                    best = (seq, score)
    return best
