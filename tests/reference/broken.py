"""Deliberately broken versions of the reference's equations (§3), each a plausible real-world bug.

``BROKEN`` maps "module.function" to (label, broken function) pairs covering
every public function of ``reference/`` (this module: attention, masks, FFN,
embeddings, PE, LayerNorm and residual; ``broken_model`` the rest).  The
reference's own checks must fail on each (``test_ref_broken_variants.py``).
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from transformer_spec.reference import attention as A
from transformer_spec.reference.residual import layer_norm as _ln
from broken_model import BROKEN_MODEL

Variants = dict[str, list[tuple[str, Callable[..., Any]]]]


def softmax_wrong_axis(x: np.ndarray, axis: int = -1) -> np.ndarray:
    return A.softmax(x, axis=0)


def softmax_no_normalisation(x: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.exp(np.asarray(x, dtype=np.float64))


def softmax_without_max_shift(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """exp(x) / sum exp(x) taken literally: exp overflows to inf for large scores."""
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.exp(np.asarray(x, dtype=np.float64))
        return e / e.sum(axis=axis, keepdims=True)


def attention_unscaled(q, k, v, mask=None, fully_masked="zeros"):
    return A.scaled_dot_product_attention(q * np.sqrt(q.shape[-1]), k, v, mask, fully_masked)


def attention_scaled_by_d_k(q, k, v, mask=None, fully_masked="zeros"):
    return A.scaled_dot_product_attention(q / np.sqrt(q.shape[-1]), k, v, mask, fully_masked)


def attention_ignores_mask(q, k, v, mask=None, fully_masked="zeros"):
    return A.scaled_dot_product_attention(q, k, v, None, fully_masked)


def attention_masked_rows_uniform(q, k, v, mask=None, fully_masked="zeros"):
    """The -1e9 fill: a fully masked row silently becomes uniform whatever was declared."""
    return A.scaled_dot_product_attention(q, k, v, mask, "uniform")


def attention_softmax_over_queries(q, k, v, mask=None, fully_masked="zeros"):
    scores = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    w = A.softmax(np.where(np.broadcast_to(True if mask is None else mask, scores.shape), scores, -1e9), axis=-2)
    return w @ v, w


def split_heads_no_transpose(x: np.ndarray, heads: int) -> np.ndarray:
    batch, seq, width = x.shape
    return x.reshape(batch, heads, seq, width // heads)


def split_heads_strided(x: np.ndarray, heads: int) -> np.ndarray:
    """Head i takes every heads-th column instead of a contiguous slice."""
    batch, seq, width = x.shape
    return x.reshape(batch, seq, width // heads, heads).transpose(0, 3, 1, 2)


def concat_heads_reversed(x: np.ndarray) -> np.ndarray:
    return A.concat_heads(x[:, ::-1])


def concat_heads_no_transpose(x: np.ndarray) -> np.ndarray:
    batch, heads, seq, d = x.shape
    return x.reshape(batch, seq, heads * d)


def mha_keys_through_w_q(query, key, value, params, mask=None, fully_masked="zeros"):
    return A.multi_head_attention(query, key, value, {**params, "w_k": params["w_q"], "b_k": params.get("b_q")},
                                  mask, fully_masked)


def mha_without_output_bias(query, key, value, params, mask=None, fully_masked="zeros"):
    return A.multi_head_attention(query, key, value, {k: v for k, v in params.items() if k != "b_o"}, mask, fully_masked)


def mha_values_are_keys(query, key, value, params, mask=None, fully_masked="zeros"):
    return A.multi_head_attention(query, key, key, params, mask, fully_masked)


def ffn_no_relu(x, params):
    return (np.asarray(x) @ params["w_1"] + params["b_1"]) @ params["w_2"] + params["b_2"]


def ffn_relu_after_second(x, params):
    return np.maximum(0.0, (np.asarray(x) @ params["w_1"] + params["b_1"]) @ params["w_2"] + params["b_2"])


def embed_unscaled(tokens, embedding, scale_site="embedding"):
    return np.asarray(embedding)[np.asarray(tokens)]


def embed_scaled_by_d_model(tokens, embedding, scale_site="embedding"):
    return np.asarray(embedding)[np.asarray(tokens)] * embedding.shape[1]


def embed_always_scaled(tokens, embedding, scale_site="embedding"):
    """The site ignored: scaled even when the logits carry the scale."""
    return np.asarray(embedding)[np.asarray(tokens)] * np.sqrt(embedding.shape[1])


def logits_scaled(x, embedding, scale_site="embedding"):
    return np.asarray(x) @ np.asarray(embedding).T * np.sqrt(embedding.shape[1])


def logits_never_scaled(x, embedding, scale_site="embedding"):
    """The site ignored: the logits never carry d_model^-0.5."""
    return np.asarray(x) @ np.asarray(embedding).T


def output_always_logits(logits, kind="logits"):
    """The declared kind ignored: logits returned for log_probs too."""
    return np.asarray(logits, dtype=np.float64)


def output_probabilities_not_logs(logits, kind="logits"):
    """Probabilities where log-probabilities were declared."""
    return A.softmax(logits) if kind == "log_probs" else np.asarray(logits, dtype=np.float64)


def probabilities_over_positions(x, embedding):
    return A.softmax(np.asarray(x) @ np.asarray(embedding).T, axis=1)


def pe(seq_len: int, d_model: int, layout: str = "interleaved", offset: int = 0, sin_first: bool = True,
       two_i: bool = True) -> np.ndarray:
    """Always interleaved: ``layout`` is ignored."""
    pos = np.arange(offset, offset + seq_len, dtype=np.float64)[:, None]
    i = np.arange(0, d_model, 2, dtype=np.float64)[None, :]
    angle = pos / np.power(10000.0, (i if two_i else i / 2) / d_model)
    out = np.empty((seq_len, d_model))
    first, second = (np.sin, np.cos) if sin_first else (np.cos, np.sin)
    out[:, 0::2], out[:, 1::2] = first(angle), second(angle[:, : d_model // 2])
    return out


def pe_from_zero(seq_len: int, d_model: int, layout: str = "interleaved", offset: int = 0) -> np.ndarray:
    from transformer_spec.reference.positional_encoding import sinusoidal_encoding
    return sinusoidal_encoding(seq_len, d_model, layout)


def layer_norm_unbiased(x, scale, bias, eps, form="paper"):
    x = np.asarray(x, dtype=np.float64)
    mean, var = x.mean(-1, keepdims=True), x.var(-1, ddof=1, keepdims=True)
    return scale * (x - mean) / np.sqrt(var + eps) + bias


def layer_norm_eps_outside(x, scale, bias, eps, form="paper"):
    x = np.asarray(x, dtype=np.float64)
    return scale * (x - x.mean(-1, keepdims=True)) / (x.std(-1, keepdims=True) + eps) + bias


def layer_norm_form_ignored(x, scale, bias, eps, form="paper"):
    return _ln(x, scale, bias, eps)


def layer_norm_annotated_biased_std(x, scale, bias, eps, form="paper"):
    """The annotated form with the biased std (numpy's and torch's unbiased=False default confused)."""
    return layer_norm_eps_outside(x, scale, bias, eps) if form == "annotated" else _ln(x, scale, bias, eps)


def sublayer_always_pre(x, sublayer, norm, eps, norm_position="post", keep=None, p_drop=0.0, norm_form="paper"):
    from transformer_spec.reference.residual import sublayer_connection
    return sublayer_connection(x, sublayer, norm, eps, "pre", keep, p_drop, norm_form)


def sublayer_dropout_after_add(x, sublayer, norm, eps, norm_position="post", keep=None, p_drop=0.0, norm_form="paper"):
    from transformer_spec.reference.regularization import dropout
    ln = lambda h: _ln(h, norm["scale"], norm["bias"], eps, norm_form)
    if norm_position == "pre":
        return dropout(x + sublayer(ln(x)), keep, p_drop)
    return ln(dropout(x + sublayer(x), keep, p_drop))


def sublayer_norm_form_ignored(x, sublayer, norm, eps, norm_position="post", keep=None, p_drop=0.0, norm_form="paper"):
    from transformer_spec.reference.residual import sublayer_connection
    return sublayer_connection(x, sublayer, norm, eps, norm_position, keep, p_drop)


def causal_strict(seq_len: int) -> np.ndarray:
    return np.tril(np.ones((seq_len, seq_len), dtype=bool), -1)[None, None]


def causal_transposed(seq_len: int) -> np.ndarray:
    return np.triu(np.ones((seq_len, seq_len), dtype=bool))[None, None]


def padding_on_queries(tokens, pad_id):
    return (np.asarray(tokens) != pad_id)[:, None, :, None]


def decoder_mask_causal_only(tokens, pad_id):
    from transformer_spec.reference.masks import causal_mask
    return np.broadcast_to(causal_mask(np.shape(tokens)[1]), (len(tokens), 1) + (np.shape(tokens)[1],) * 2)


BROKEN: Variants = {
    "attention.softmax": [("softmax over the wrong axis", softmax_wrong_axis),
                          ("exp without normalisation", softmax_no_normalisation),
                          ("no max-shift (overflows)", softmax_without_max_shift)],
    "attention.scaled_dot_product_attention": [("no 1/sqrt(d_k)", attention_unscaled), ("1/d_k", attention_scaled_by_d_k),
                                               ("mask ignored", attention_ignores_mask),
                                               ("fully masked rows always uniform", attention_masked_rows_uniform),
                                               ("softmax over queries", attention_softmax_over_queries)],
    "attention.split_heads": [("reshape without transpose", split_heads_no_transpose),
                              ("strided head columns", split_heads_strided)],
    "attention.concat_heads": [("heads in reversed order", concat_heads_reversed),
                               ("reshape without transpose", concat_heads_no_transpose)],
    "attention.multi_head_attention": [("keys projected with W^Q", mha_keys_through_w_q),
                                       ("output bias dropped", mha_without_output_bias),
                                       ("values taken from the keys", mha_values_are_keys)],
    "feed_forward.position_wise_ffn": [("no ReLU", ffn_no_relu), ("ReLU after the second layer", ffn_relu_after_second)],
    "embeddings.embed": [("no sqrt(d_model)", embed_unscaled), ("times d_model", embed_scaled_by_d_model),
                         ("scale site ignored", embed_always_scaled)],
    "embeddings.output_logits": [("logits scaled by sqrt(d_model)", logits_scaled),
                                 ("scale site ignored", logits_never_scaled)],
    "embeddings.output_probabilities": [("softmax over positions", probabilities_over_positions)],
    "embeddings.model_output": [("log_probs ignored", output_always_logits),
                                ("probabilities instead of log-probabilities", output_probabilities_not_logs)],
    "positional_encoding.sinusoidal_encoding": [("sin and cos swapped", lambda *a: pe(*a, sin_first=False)),
                                                ("i instead of 2i", lambda *a: pe(*a, two_i=False)),
                                                ("halves layout ignored (always interleaved)", pe),
                                                ("offset ignored (always from 0)", pe_from_zero)],
    "residual.layer_norm": [("unbiased variance", layer_norm_unbiased), ("eps outside the sqrt", layer_norm_eps_outside),
                            ("annotated form ignored", layer_norm_form_ignored),
                            ("annotated form with the biased std", layer_norm_annotated_biased_std)],
    "residual.sublayer_connection": [("pre-norm instead of post-norm", sublayer_always_pre),
                                     ("dropout after the residual add", sublayer_dropout_after_add),
                                     ("norm form not passed to LayerNorm", sublayer_norm_form_ignored)],
    "masks.causal_mask": [("off by one (j < i)", causal_strict), ("transposed (j >= i)", causal_transposed)],
    "masks.padding_mask": [("padding masked as queries", padding_on_queries)],
    "masks.decoder_self_mask": [("causal only, padding forgotten", decoder_mask_causal_only)],
    **BROKEN_MODEL,
}
