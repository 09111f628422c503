"""``--impl torch-transformer``: ``torch.nn.Transformer`` and its layers, §3.1.

One weightless (``meta``) ``nn.Transformer(batch_first=True, activation="relu")`` per configuration
runs in evaluation mode on the canonical weights (``toolkit.run_canonical``:
gradients reach the caller's tensors, always off the inference fast path); ``norm_position="pre"``
is ``norm_first=True``.  ``model``'s dropout keep-masks go into its ``nn.Dropout`` submodules
(``toolkit.keep_masks_into``; the dropout inside its FFN is not the paper's and does nothing).
It has no embeddings, positional encoding or output projection: the adapter supplies
E[tokens] * sqrt(d_model) + PE and the tied x E^T from ``transformer_spec.implementations.pytorch.functional``.
Masks reach it as 3-D boolean masks (True = masked), not ``*_key_padding_mask``: with its default
``enable_nested_tensor`` the encoder would return zeros at padded positions.
Deviation: its stacks always end with an extra LayerNorm.
"""
from __future__ import annotations

import warnings
from contextlib import nullcontext
from functools import lru_cache
from typing import Any, Mapping

import torch
from torch import Tensor, nn

from transformer_spec.implementations.adapters.toolkit import (Rule, apply_keep, dims_of, keep_masks_into, mha_state, per_head,
                                              require_fused_shape, run_canonical, sdpa_fully_masked, transposed)
from transformer_spec.implementations.protocol import Shapes
from transformer_spec.implementations.pytorch.functional import causal_mask, embed, output_logits, padding_mask, sinusoidal_encoding
from transformer_spec.reference.config import TransformerConfig
from transformer_spec.harness.target import Target


def _layer_rules(at: str) -> dict[str, Rule]:
    """Canonical names of one layer (under ``at``) -> nn.Transformer{Encoder,Decoder}Layer's."""
    return {f"{at}self_attn": (f"{at}self_attn.", mha_state), f"{at}cross_attn": (f"{at}multihead_attn.", mha_state),
            f"{at}ffn.w_1": (f"{at}linear1.weight", transposed), f"{at}ffn.b_1": f"{at}linear1.bias",
            f"{at}ffn.w_2": (f"{at}linear2.weight", transposed), f"{at}ffn.b_2": f"{at}linear2.bias",
            f"{at}*.scale": f"{at}*.weight", f"{at}*.bias": f"{at}*.bias"}


_LAYER, _STACK = _layer_rules(""), {**_layer_rules("layers.*."), "norm.scale": "norm.weight", "norm.bias": "norm.bias"}
_SITES = {"*.layers.*.dropout": None, "*.layers.*.dropout1": "*.layers.*.self_attn",  # None: FFN-inner, not §5.4
          "encoder.layers.*.dropout2": "encoder.layers.*.ffn", "decoder.layers.*.dropout3": "decoder.layers.*.ffn",
          "decoder.layers.*.dropout2": "decoder.layers.*.cross_attn"}


@lru_cache(maxsize=None)
def _net(c: TransformerConfig) -> nn.Transformer:
    require_fused_shape(c.heads, c.d_model, c.d_k, c.d_v, "nn.Transformer")
    with warnings.catch_warnings():  # norm_first=True warns that nested tensors (unused here) are off
        warnings.simplefilter("ignore", UserWarning)
        return nn.Transformer(c.d_model, c.heads, c.layers, c.layers, c.d_ff, c.dropout, "relu",
                              layer_norm_eps=c.layer_norm_eps, batch_first=True, norm_first=c.norm_position == "pre",
                              device="meta").eval()


class TorchTransformer:
    """Encoder and decoder layers and stacks, and the whole model, by ``torch.nn.Transformer``."""

    name, version = "torch-transformer", torch.__version__
    offers = frozenset({"encoder_layer", "decoder_layer", "encoder", "decoder", "model"})
    differentiable = True
    shapes = Shapes(heads_divide_d_model=True)  # fused attention: d_k = d_v = d_model / heads only

    def __init__(self, target: Target) -> None:
        self.deviations: dict[str, Any] = {"final_norm": True, **sdpa_fully_masked(target)}  # attention is SDPA

    def encoder_layer(self, x: Tensor, params: Mapping[str, Any], src_mask: Tensor | None,
                      c: TransformerConfig) -> Tensor:
        mask = per_head(src_mask, x.shape[0], c.heads, x.shape[1], x.shape[1])
        return run_canonical(_net(c).encoder.layers[0], _LAYER, params, dims_of(c), x, src_mask=mask)

    def decoder_layer(self, y: Tensor, memory: Tensor, params: Mapping[str, Any], src_mask: Tensor | None,
                      tgt_mask: Tensor | None, c: TransformerConfig) -> Tensor:
        (batch, seq_tgt, _), seq_src = y.shape, memory.shape[1]
        masks = {"tgt_mask": per_head(tgt_mask, batch, c.heads, seq_tgt, seq_tgt),
                 "memory_mask": per_head(src_mask, batch, c.heads, seq_tgt, seq_src)}
        return run_canonical(_net(c).decoder.layers[0], _LAYER, params, dims_of(c), y, memory, **masks)

    def encoder(self, src: Tensor, params: Mapping[str, Any], c: TransformerConfig,
                keep: Mapping[str, Tensor] | None = None) -> Tensor:
        x, (batch, seq) = _embedded(src, params["embedding"], keep, "encoder", c), src.shape
        mask = per_head(padding_mask(src, c.pad_id), batch, c.heads, seq, seq)
        return run_canonical(_net(c).encoder, _STACK, params["encoder"], dims_of(c), x, mask=mask)

    def decoder(self, tgt: Tensor, memory: Tensor, src: Tensor, params: Mapping[str, Any], c: TransformerConfig,
                keep: Mapping[str, Tensor] | None = None) -> Tensor:
        y, (batch, seq_tgt), seq_src = _embedded(tgt, params["embedding"], keep, "decoder", c), tgt.shape, src.shape[1]
        self_mask = causal_mask(seq_tgt, seq_tgt, tgt.device) & padding_mask(tgt, c.pad_id)
        masks = {"tgt_mask": per_head(self_mask, batch, c.heads, seq_tgt, seq_tgt),
                 "memory_mask": per_head(padding_mask(src, c.pad_id), batch, c.heads, seq_tgt, seq_src)}
        return run_canonical(_net(c).decoder, _STACK, params["decoder"], dims_of(c), y, memory, **masks)

    def model(self, src: Tensor, tgt: Tensor, params: Mapping[str, Any], c: TransformerConfig,
              keep: Mapping[str, Tensor] | None = None) -> Tensor:
        with nullcontext() if keep is None else keep_masks_into(_net(c), keep, _SITES):
            memory = self.encoder(src, params, c, keep)
            return output_logits(self.decoder(tgt, memory, src, params, c, keep), params["embedding"])


def _embedded(tokens: Tensor, embedding: Tensor, keep: Mapping[str, Tensor] | None, stack: str,
              c: TransformerConfig) -> Tensor:
    """E[tokens] * sqrt(d_model) + PE, dropped out with ``keep[f"{stack}.embedding"]`` when given.

    Shapes: (batch, seq) -> (batch, seq, d_model)."""
    x = embed(tokens, embedding) + sinusoidal_encoding(tokens.shape[1], c.d_model, tokens.device, embedding.dtype)
    return x if keep is None else apply_keep(x, keep[f"{stack}.embedding"], c.dropout)
