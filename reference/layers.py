"""Encoder and decoder layers and stacks, §3.1, and the full forward pass to logits.

``keep`` maps dropout site names (``reference.regularization.dropout_sites``)
to keep-masks; None means no dropout (evaluation).
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from transformer_spec.reference.attention import multi_head_attention
from transformer_spec.reference.checks import require_ndim
from transformer_spec.reference.config import TransformerConfig
from transformer_spec.reference.embeddings import embed, model_output, output_logits
from transformer_spec.reference.errors import SpecUsageError
from transformer_spec.reference.feed_forward import position_wise_ffn
from transformer_spec.reference.masks import decoder_self_mask, padding_mask
from transformer_spec.reference.positional_encoding import sinusoidal_encoding
from transformer_spec.reference.regularization import dropout
from transformer_spec.reference.residual import layer_norm, sublayer_connection

Keep = Mapping[str, np.ndarray] | None


def _residual(x: np.ndarray, fn: Any, norm: Mapping[str, np.ndarray], c: TransformerConfig, keep: Keep, site: str) -> np.ndarray:
    """One sub-layer wrapped as §3.1 says, with the §5.4 dropout at ``site``."""
    mask = None if keep is None else keep.get(site)
    return sublayer_connection(x, fn, norm, c.layer_norm_eps, c.norm_position, mask, c.dropout, c.layer_norm_form)


def encoder_layer(x: np.ndarray, params: Mapping[str, Any], src_mask: np.ndarray | None, config: TransformerConfig,
                  keep: Keep = None, site: str = "encoder.layers.0") -> np.ndarray:
    """Self-attention then FFN, each in a residual sub-layer connection.

    Paper: §3.1 (encoder), §3.2.3 (encoder self-attention: Q, K, V from the previous layer).
    Shapes: x (batch, seq_src, d_model), src_mask broadcastable to (batch, 1, 1, seq_src).
    """
    attend = lambda h: multi_head_attention(h, h, h, params["self_attn"], src_mask, config.fully_masked)[0]
    x = _residual(x, attend, params["norm1"], config, keep, f"{site}.self_attn")
    return _residual(x, lambda h: position_wise_ffn(h, params["ffn"]), params["norm2"], config, keep, f"{site}.ffn")


def decoder_layer(y: np.ndarray, memory: np.ndarray, params: Mapping[str, Any], src_mask: np.ndarray | None,
                  tgt_mask: np.ndarray | None, config: TransformerConfig, keep: Keep = None,
                  site: str = "decoder.layers.0") -> np.ndarray:
    """Masked self-attention, encoder-decoder attention, FFN, each in a residual connection.

    Paper: §3.1 (decoder), §3.2.3: in cross attention the queries come from the
    decoder and the keys and values from the encoder output ``memory``.
    Shapes: y (batch, seq_tgt, d_model), memory (batch, seq_src, d_model).
    """
    fm = config.fully_masked
    self_attend = lambda h: multi_head_attention(h, h, h, params["self_attn"], tgt_mask, fm)[0]
    cross_attend = lambda h: multi_head_attention(h, memory, memory, params["cross_attn"], src_mask, fm)[0]
    y = _residual(y, self_attend, params["norm1"], config, keep, f"{site}.self_attn")
    y = _residual(y, cross_attend, params["norm2"], config, keep, f"{site}.cross_attn")
    return _residual(y, lambda h: position_wise_ffn(h, params["ffn"]), params["norm3"], config, keep, f"{site}.ffn")


def _positions(seq: int, stack_params: Mapping[str, Any], c: TransformerConfig) -> np.ndarray:
    """(seq, d_model): §3.5's sinusoids, or rows pe_offset .. of the stack's table when they are learned."""
    if c.positional_encoding_kind == "sinusoidal":
        return sinusoidal_encoding(seq, c.d_model, c.pe_layout, c.pe_offset)
    table = np.asarray(stack_params["positions"], dtype=np.float64)  # (max_positions, d_model)
    if c.pe_offset + seq > table.shape[0]:
        raise SpecUsageError("seq", seq, f"positions from {c.pe_offset} exceed the {table.shape[0]} learned ones")
    return table[c.pe_offset:c.pe_offset + seq]


def _embed_input(tokens: np.ndarray, params: Mapping[str, Any], c: TransformerConfig, keep: Keep, stack: str) -> np.ndarray:
    """Dropout(Embedding(tokens) * sqrt(d_model) + PE), §3.4, §3.5, §5.4."""
    require_ndim("tokens", tokens, 2, "batch, seq")
    x = embed(tokens, params["embedding"], c.embedding_scale_site) + _positions(np.shape(tokens)[1], params[stack], c)
    return dropout(x, None if keep is None else keep.get(f"{stack}.embedding"), c.dropout)


def _final_norm(x: np.ndarray, params: Mapping[str, Any], c: TransformerConfig) -> np.ndarray:
    """The extra LayerNorm after a stack: only under the ``final_norm`` variant (not the paper)."""
    if not c.final_norm:
        return x
    return layer_norm(x, params["norm"]["scale"], params["norm"]["bias"], c.layer_norm_eps, c.layer_norm_form)


def encode(src: np.ndarray, params: Mapping[str, Any], config: TransformerConfig, keep: Keep = None) -> np.ndarray:
    """The encoder stack: embeddings + PE, then N encoder layers.

    Paper: §3.1.  Shapes: src (batch, seq_src) token ids -> memory (batch, seq_src, d_model).
    """
    x = _embed_input(src, params, config, keep, "encoder")
    mask = padding_mask(src, config.pad_id)
    for i, layer in enumerate(params["encoder"]["layers"]):
        x = encoder_layer(x, layer, mask, config, keep, f"encoder.layers.{i}")
    return _final_norm(x, params["encoder"], config)


def decode(tgt: np.ndarray, memory: np.ndarray, src: np.ndarray, params: Mapping[str, Any],
           config: TransformerConfig, keep: Keep = None) -> np.ndarray:
    """The decoder stack over the (shifted-right) target tokens.

    Paper: §3.1.  Shapes: tgt (batch, seq_tgt), memory (batch, seq_src, d_model),
    src (batch, seq_src) (for its padding mask) -> (batch, seq_tgt, d_model).
    """
    y = _embed_input(tgt, params, config, keep, "decoder")
    src_mask, tgt_mask = padding_mask(src, config.pad_id), decoder_self_mask(tgt, config.pad_id)
    for i, layer in enumerate(params["decoder"]["layers"]):
        y = decoder_layer(y, memory, layer, src_mask, tgt_mask, config, keep, f"decoder.layers.{i}")
    return _final_norm(y, params["decoder"], config)


def transformer_forward(src: np.ndarray, tgt: np.ndarray, params: Mapping[str, Any], config: TransformerConfig,
                        keep: Keep = None) -> np.ndarray:
    """The whole encoder-decoder model: logits of the next target token at every position.

    Paper: §3 (Figure 1), §3.4 (tied pre-softmax projection).
    Shapes: src (batch, seq_src), tgt (batch, seq_tgt) -> logits (batch, seq_tgt, vocab)
    (log-probabilities under a declared ``model_output="log_probs"``).
    """
    memory = encode(src, params, config, keep)
    y = decode(tgt, memory, src, params, config, keep)  # (batch, seq_tgt, d_model)
    logits = output_logits(y, params["embedding"], config.embedding_scale_site)
    return model_output(logits, config.model_output)
