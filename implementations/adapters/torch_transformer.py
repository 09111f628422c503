"""``--impl torch-transformer``: ``torch.nn.Transformer`` and its layers, §3.1.

One ``nn.Transformer(batch_first=True, activation="relu")`` per configuration
is built on the ``meta`` device and run on the canonical weights through
``torch.func.functional_call`` (gradients reach the caller's tensors), always
off its inference fast path (see ``_convert``).  It is
used in evaluation mode, so ``model`` with explicit dropout keep-masks is
``Unsupported``; ``norm_position="pre"`` maps to ``norm_first=True``.

nn.Transformer has no embeddings, positional encoding or output projection:
for ``encoder``, ``decoder`` and ``model`` the adapter supplies E[tokens] *
sqrt(d_model) + PE and the tied projection x E^T from transformer-spec's own
``implementations.pytorch.functional``.  Padding and the causal mask reach it
as 3-D boolean masks (True = masked) rather than ``*_key_padding_mask``: with
its default ``enable_nested_tensor`` the encoder would return zeros at padded
positions.  Deviation: its stacks always end with an extra LayerNorm.
"""
from __future__ import annotations

import warnings
from functools import lru_cache
from typing import Any, Mapping

import torch
from torch import Tensor, nn

from implementations.adapters._convert import (dims_of, forbidden, fused_attention, require_fused_shape, run_with,
                                               sdpa_fully_masked)
from implementations.protocol import Shapes, Unsupported
from implementations.pytorch.functional import causal_mask, embed, output_logits, padding_mask, sinusoidal_encoding
from reference.config import TransformerConfig
from transformer_spec.harness.target import Target


def _net(c: TransformerConfig) -> nn.Transformer:
    """A weightless (meta) nn.Transformer of this configuration, in evaluation mode."""
    require_fused_shape(c.heads, c.d_model, c.d_k, c.d_v, "nn.Transformer")
    return _build(c.d_model, c.heads, c.layers, c.d_ff, c.dropout, c.layer_norm_eps, c.norm_position == "pre")


@lru_cache(maxsize=None)
def _build(d_model: int, heads: int, layers: int, d_ff: int, dropout: float, eps: float,
           norm_first: bool) -> nn.Transformer:
    with warnings.catch_warnings():  # norm_first=True warns that nested tensors (unused here) are off
        warnings.simplefilter("ignore", UserWarning)
        return nn.Transformer(d_model, heads, layers, layers, d_ff, dropout, "relu", layer_norm_eps=eps,
                              batch_first=True, norm_first=norm_first, device="meta").eval()


def _norm(norm: Mapping[str, Tensor], prefix: str) -> dict[str, Tensor]:
    return {f"{prefix}weight": norm["scale"], f"{prefix}bias": norm["bias"]}


def _layer(p: Mapping[str, Any], prefix: str = "") -> dict[str, Tensor]:
    """A canonical encoder or decoder layer under nn.Transformer{Encoder,Decoder}Layer's names."""
    ffn = p["ffn"]
    state = {f"{prefix}linear1.weight": ffn["w_1"].T, f"{prefix}linear1.bias": ffn["b_1"],  # (d_ff, d_model)
             f"{prefix}linear2.weight": ffn["w_2"].T, f"{prefix}linear2.bias": ffn["b_2"],  # (d_model, d_ff)
             **fused_attention(p["self_attn"], f"{prefix}self_attn.")}
    if "cross_attn" in p:
        state.update(fused_attention(p["cross_attn"], f"{prefix}multihead_attn."))
    for norm in ("norm1", "norm2", "norm3"):
        state.update(_norm(p[norm], f"{prefix}{norm}.") if norm in p else {})
    return state


def _stack(p: Mapping[str, Any]) -> dict[str, Tensor]:
    """A canonical encoder or decoder stack, with its final ``norm``, under TransformerEncoder/Decoder's names."""
    state = _norm(p["norm"], "norm.")
    for i, layer in enumerate(p["layers"]):
        state.update(_layer(layer, f"layers.{i}."))
    return state


def _embedded(tokens: Tensor, embedding: Tensor) -> Tensor:
    """E[tokens] * sqrt(d_model) + PE. Shapes: (batch, seq) -> (batch, seq, d_model)."""
    pe = sinusoidal_encoding(tokens.shape[1], embedding.shape[1], tokens.device, embedding.dtype)  # (seq, d_model)
    return embed(tokens, embedding) + pe


class TorchTransformer:
    """Encoder and decoder layers and stacks, and the whole model, by ``torch.nn.Transformer``."""

    name = "torch-transformer"
    version = torch.__version__
    offers = frozenset({"encoder_layer", "decoder_layer", "encoder", "decoder", "model"})
    differentiable = True
    shapes = Shapes(heads_divide_d_model=True)  # fused attention: d_k = d_v = d_model / heads only

    def __init__(self, target: Target) -> None:
        self.deviations: dict[str, Any] = {"final_norm": True, **sdpa_fully_masked(target)}  # attention is SDPA

    def encoder_layer(self, x: Tensor, params: Mapping[str, Any], src_mask: Tensor | None,
                      config: TransformerConfig) -> Tensor:
        batch, seq, _ = x.shape
        mask = forbidden(src_mask, batch, config.heads, seq, seq)
        return run_with(_net(config).encoder.layers[0], _layer(params), dims_of(config), x, src_mask=mask)

    def decoder_layer(self, y: Tensor, memory: Tensor, params: Mapping[str, Any], src_mask: Tensor | None,
                      tgt_mask: Tensor | None, config: TransformerConfig) -> Tensor:
        (batch, seq_tgt, _), seq_src, h = y.shape, memory.shape[1], config.heads
        masks = {"tgt_mask": forbidden(tgt_mask, batch, h, seq_tgt, seq_tgt),
                 "memory_mask": forbidden(src_mask, batch, h, seq_tgt, seq_src)}
        return run_with(_net(config).decoder.layers[0], _layer(params), dims_of(config), y, memory, **masks)

    def encoder(self, src: Tensor, params: Mapping[str, Any], config: TransformerConfig) -> Tensor:
        (batch, seq), x = src.shape, _embedded(src, params["embedding"])
        mask = forbidden(padding_mask(src, config.pad_id), batch, config.heads, seq, seq)
        return run_with(_net(config).encoder, _stack(params["encoder"]), dims_of(config), x, mask=mask)

    def decoder(self, tgt: Tensor, memory: Tensor, src: Tensor, params: Mapping[str, Any],
                config: TransformerConfig) -> Tensor:
        (batch, seq_tgt), seq_src, h = tgt.shape, src.shape[1], config.heads
        self_mask = causal_mask(seq_tgt, seq_tgt, tgt.device) & padding_mask(tgt, config.pad_id)
        masks = {"tgt_mask": forbidden(self_mask, batch, h, seq_tgt, seq_tgt),
                 "memory_mask": forbidden(padding_mask(src, config.pad_id), batch, h, seq_tgt, seq_src)}
        y = _embedded(tgt, params["embedding"])
        return run_with(_net(config).decoder, _stack(params["decoder"]), dims_of(config), y, memory, **masks)

    def model(self, src: Tensor, tgt: Tensor, params: Mapping[str, Any], config: TransformerConfig,
              keep: Mapping[str, Tensor] | None = None) -> Tensor:
        if keep is not None:
            raise Unsupported("nn.Transformer draws its own dropout masks; explicit keep-masks cannot be applied")
        memory = self.encoder(src, params, config)
        return output_logits(self.decoder(tgt, memory, src, params, config), params["embedding"])
