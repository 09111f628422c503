"""Regularisation, §5.4: residual dropout and label smoothing."""
from __future__ import annotations

import numpy as np

from transformer_spec.reference.checks import require_equal, require_ndim, require_tokens
from transformer_spec.reference.config import SmoothingConvention, SmoothingPadClass, TransformerConfig
from transformer_spec.reference.errors import SpecUsageError


def dropout(x: np.ndarray, keep: np.ndarray | None, p_drop: float) -> np.ndarray:
    """Inverted dropout with an explicit keep-mask: x * keep / (1 - p_drop).

    Paper: §5.4 (P_drop = 0.1).
    Shapes: x (...), keep broadcastable to x (True/1 = kept); keep None -> x unchanged.
    Notes: scaling kept units by 1/(1 - p) at training time (rather than
    scaling at test time) is implementation-defined; it makes eval an identity.
    """
    if keep is None:
        return np.asarray(x, dtype=np.float64)
    if not 0.0 <= p_drop < 1.0:
        raise SpecUsageError("p_drop", p_drop, "must lie in [0, 1)")
    return np.asarray(x, dtype=np.float64) * np.asarray(keep, dtype=np.float64) / (1.0 - p_drop)


def dropout_sites(config: TransformerConfig, batch: int, seq_src: int, seq_tgt: int) -> dict[str, tuple[int, ...]]:
    """Every place §5.4 applies dropout, with the shape of its keep-mask.

    Paper: §5.4: "the output of each sub-layer, before it is added to the
    sub-layer input and normalized" and "the sums of the embeddings and the
    positional encodings in both the encoder and decoder stacks".
    """
    src, tgt = (batch, seq_src, config.d_model), (batch, seq_tgt, config.d_model)
    sites = {"encoder.embedding": src, "decoder.embedding": tgt}
    for i in range(config.layers):
        sites.update({f"encoder.layers.{i}.self_attn": src, f"encoder.layers.{i}.ffn": src})
        sites.update({f"decoder.layers.{i}.{s}": tgt for s in ("self_attn", "cross_attn", "ffn")})
    return sites


def smoothed_targets(
    targets: np.ndarray, vocab: int, epsilon: float, pad_id: int | None = None,
    convention: SmoothingConvention = "others", pad_class: SmoothingPadClass = "included",
) -> np.ndarray:
    r"""The label-smoothed target distribution q over the vocabulary.

    Paper: §5.4 (epsilon_ls = 0.1, citing Szegedy et al., 2016).
    Shapes: targets (batch, seq) -> (batch, seq, vocab).
    Notes: how the mass epsilon is spread is implementation-defined (see
    ``TransformerConfig``).  "others": the target gets 1 - epsilon and every
    other class epsilon/(K-1) (tensor2tensor, the paper's code); "uniform":
    q = (1 - epsilon) onehot + epsilon/K (Szegedy et al.; torch's ``label_smoothing``).
    K = vocab, or vocab - 1 when ``pad_class`` is "excluded" and ``pad_id`` is
    given: then the padding class receives no mass.
    """
    require_ndim("targets", targets, 2, "batch, seq")
    require_tokens("targets", targets, vocab)
    if pad_class not in ("included", "excluded"):
        raise SpecUsageError("pad_class", pad_class, "must be 'included' or 'excluded'")
    support = np.ones(vocab, dtype=bool)
    if pad_id is not None and pad_class == "excluded":
        support[pad_id] = False
    k = int(support.sum())
    if k < (2 if convention == "others" else 1):
        raise SpecUsageError("vocab", vocab, f"smoothing {convention!r} with pad_id={pad_id} leaves too few classes")
    onehot = np.eye(vocab, dtype=np.float64)[np.asarray(targets)]
    if convention == "others":
        return onehot * (1.0 - epsilon) + (1.0 - onehot) * support * epsilon / (k - 1)
    if convention == "uniform":
        return onehot * (1.0 - epsilon) + support * epsilon / k
    raise SpecUsageError("convention", convention, "must be 'others' or 'uniform'")


def label_smoothed_cross_entropy(
    logits: np.ndarray, targets: np.ndarray, epsilon: float, pad_id: int | None = None,
    convention: SmoothingConvention = "others", pad_class: SmoothingPadClass = "included",
) -> float:
    r"""Mean over non-padding target positions of -\sum_v q_v log softmax(logits)_v.

    Paper: §5.4.
    Shapes: logits (batch, seq, vocab), targets (batch, seq) -> scalar.
    Notes: positions whose target is ``pad_id`` contribute nothing (normative);
    q is :func:`smoothed_targets`; averaging over real tokens (not summing) is
    implementation-defined.  tensor2tensor reports this minus the constant
    entropy of q (a KL divergence, same gradients); this is the cross-entropy.
    """
    logits = np.asarray(logits, dtype=np.float64)
    require_ndim("logits", logits, 3, "batch, seq, vocab")
    require_equal("targets.shape", np.shape(targets), "logits.shape[:2]", logits.shape[:2])
    q = smoothed_targets(targets, logits.shape[-1], epsilon, pad_id, convention, pad_class)
    shifted = logits - logits.max(axis=-1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    per_position = -(q * log_p).sum(axis=-1)  # (batch, seq)
    real = np.ones(per_position.shape, dtype=bool) if pad_id is None else np.asarray(targets) != pad_id
    if not real.any():
        raise SpecUsageError("targets", "all padding", "at least one target must be a real token")
    return float(per_position[real].mean())
