"""Embeddings and softmax, §3.4: one weight matrix for both embeddings and the output projection."""
from __future__ import annotations

import numpy as np

from transformer_spec.reference.attention import softmax
from transformer_spec.reference.checks import require_ndim, require_tokens
from transformer_spec.reference.config import ModelOutput, ScaleSite
from transformer_spec.reference.errors import SpecUsageError


def _scale(d_model: int, site: ScaleSite) -> tuple[float, float]:
    """(embedding factor, logit factor) for the scale site: (sqrt(d_model), 1) in the paper."""
    factors = {"embedding": (np.sqrt(d_model), 1.0), "logits": (1.0, d_model ** -0.5)}
    if site not in factors:
        raise SpecUsageError("scale_site", site, "must be 'embedding' or 'logits'")
    return factors[site]


def embed(tokens: np.ndarray, embedding: np.ndarray, scale_site: ScaleSite = "embedding") -> np.ndarray:
    r"""Token embedding scaled by \sqrt{d_model}: E[tokens] * \sqrt{d_model}.

    Paper: §3.4 ("In the embedding layers, we multiply those weights by \sqrt{d_model}").
    Shapes: tokens (batch, seq), embedding (vocab, d_model) -> (batch, seq, d_model).
    Variant ``scale_site="logits"`` (a declared ``embedding_scale_site``): E[tokens] unscaled (Mesh TensorFlow, T5).
    """
    require_ndim("embedding", embedding, 2, "vocab, d_model")
    require_tokens("tokens", tokens, embedding.shape[0])
    return np.asarray(embedding, dtype=np.float64)[np.asarray(tokens)] * _scale(embedding.shape[1], scale_site)[0]


def output_logits(x: np.ndarray, embedding: np.ndarray, scale_site: ScaleSite = "embedding") -> np.ndarray:
    """Pre-softmax linear transformation with the shared (tied) weight: x E^T, no bias.

    Paper: §3.4.
    Shapes: x (batch, seq, d_model), embedding (vocab, d_model) -> (batch, seq, vocab).
    Variant ``scale_site="logits"`` (a declared ``embedding_scale_site``): x E^T * d_model^-0.5, as Mesh
    TensorFlow and Hugging Face's ``T5ForConditionalGeneration`` rescale the decoder output when tied.
    """
    factor = _scale(np.shape(embedding)[1], scale_site)[1]
    return np.asarray(x, dtype=np.float64) @ np.asarray(embedding, dtype=np.float64).T * factor


def output_probabilities(x: np.ndarray, embedding: np.ndarray) -> np.ndarray:
    """Next-token probabilities: softmax(x E^T) over the vocabulary.

    Paper: §3.4.
    Shapes: x (batch, seq, d_model) -> (batch, seq, vocab).
    """
    return softmax(output_logits(x, embedding), axis=-1)


def model_output(logits: np.ndarray, kind: ModelOutput = "logits") -> np.ndarray:
    """What the model returns: its logits (§3.4), or log softmax(logits) over the vocabulary.

    Paper: §3.4 (the pre-softmax linear transformation gives the logits).
    Shapes: logits (batch, seq, vocab) -> (batch, seq, vocab).
    Variant ``kind="log_probs"`` (a declared ``model_output``): the log-probabilities, as the Annotated
    Transformer's ``Generator`` and OpenNMT-py's generator (``nn.LogSoftmax``) return them.
    """
    logits = np.asarray(logits, dtype=np.float64)
    if kind == "logits":
        return logits
    if kind != "log_probs":
        raise SpecUsageError("kind", kind, "must be 'logits' or 'log_probs'")
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
