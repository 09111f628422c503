"""A typical self-written PyTorch Transformer and its transformer-spec adapter, written with the toolkit.

Validate it with ``transformer-spec run --impl examples/my_transformer.py:MyTransformerAdapter``
(the README's "Adapter authoring guide" explains each part).
"""
from __future__ import annotations

import math
import warnings
from contextlib import nullcontext
from functools import lru_cache
from typing import Any, Mapping

import torch
from torch import Tensor, nn

from transformer_spec.implementations.adapters.toolkit import (dims_of, keep_masks_into, mha_state, require_fused_shape, run_canonical,
                                              sdpa_fully_masked, transposed)
from transformer_spec.implementations.protocol import Shapes
from transformer_spec.reference.config import TransformerConfig


class MyTransformer(nn.Module):
    """Shared embedding E (times sqrt(d_model), plus sinusoids), ``nn.Transformer``, logits x E^T."""

    def __init__(self, vocab: int, d_model: int, heads: int, layers: int, d_ff: int, dropout: float, pad_id: int,
                 **factory: Any) -> None:
        super().__init__()
        self.pad_id, self.embed = pad_id, nn.Embedding(vocab, d_model, **factory)
        self.drop = nn.Dropout(dropout)  # used for the source and the target embeddings
        self.transformer = nn.Transformer(d_model, heads, layers, layers, d_ff, dropout, batch_first=True, **factory)

    def embedded(self, tokens: Tensor) -> Tensor:
        d_model, f64 = self.embed.embedding_dim, {"device": tokens.device, "dtype": torch.float64}
        angle = torch.arange(tokens.shape[1], **f64)[:, None] / 10000 ** (torch.arange(0, d_model, 2, **f64) / d_model)
        pe = torch.stack([angle.sin(), angle.cos()], dim=-1).reshape(tokens.shape[1], d_model)  # sin, cos interleaved
        return self.drop(self.embed(tokens) * math.sqrt(d_model) + pe.to(self.embed.weight.dtype))

    def forward(self, src: Tensor, tgt: Tensor) -> Tensor:
        causal = torch.ones(tgt.shape[1], tgt.shape[1], dtype=torch.bool, device=tgt.device).triu(1)  # True = masked
        out = self.transformer(self.embedded(src), self.embedded(tgt), tgt_mask=causal,
                               src_key_padding_mask=src == self.pad_id, tgt_key_padding_mask=tgt == self.pad_id,
                               memory_key_padding_mask=src == self.pad_id)
        return out @ self.embed.weight.T  # (batch, seq_tgt, vocab)


# --- The adapter: all transformer-spec needs to know about MyTransformer. ---------------------
T = "transformer.*.layers.*."  # nn.Transformer's layers; the first * is encoder or decoder
NAMES = {"embedding": "embed.weight", "*.norm.scale": "transformer.*.norm.weight",
         "*.norm.bias": "transformer.*.norm.bias", "*.layers.*.self_attn": (f"{T}self_attn.", mha_state),
         "decoder.layers.*.cross_attn": ("transformer.decoder.layers.*.multihead_attn.", mha_state),
         "*.layers.*.ffn.w_1": (f"{T}linear1.weight", transposed), "*.layers.*.ffn.b_1": f"{T}linear1.bias",
         "*.layers.*.ffn.w_2": (f"{T}linear2.weight", transposed), "*.layers.*.ffn.b_2": f"{T}linear2.bias",
         "*.layers.*.*.scale": f"{T}*.weight", "*.layers.*.*.bias": f"{T}*.bias"}  # norm1 .. norm3
SITES = {"drop": ["encoder.embedding", "decoder.embedding"], f"{T}dropout": None,  # None: FFN-inner, not §5.4
         f"{T}dropout1": "*.layers.*.self_attn", "transformer.encoder.layers.*.dropout2": "encoder.layers.*.ffn",
         "transformer.decoder.layers.*.dropout2": "decoder.layers.*.cross_attn",
         "transformer.decoder.layers.*.dropout3": "decoder.layers.*.ffn"}


@lru_cache(maxsize=None)
def _net(c: TransformerConfig) -> MyTransformer:  # weightless: run_canonical supplies every weight
    with warnings.catch_warnings():  # odd heads: nn.Transformer warns that its nested-tensor fast path is off
        warnings.simplefilter("ignore", UserWarning)
        return MyTransformer(c.vocab, c.d_model, c.heads, c.layers, c.d_ff, c.dropout, c.pad_id, device="meta").eval()


class MyTransformerAdapter:
    """MyTransformer behind the protocol for the whole ``model``, dropout keep-masks included."""

    name, version = "my-transformer", "0.1"
    offers = frozenset({"model"})
    differentiable = True
    shapes = Shapes(heads_divide_d_model=True)  # nn.MultiheadAttention: d_k = d_v = d_model / heads

    def __init__(self, target: Any) -> None:  # nn.Transformer ends each stack with a LayerNorm; SDPA's empty rows
        self.deviations: dict[str, Any] = {"final_norm": True, **sdpa_fully_masked(target)}

    def model(self, src: Tensor, tgt: Tensor, params: Mapping[str, Any], config: TransformerConfig,
              keep: Mapping[str, Tensor] | None = None) -> Tensor:
        require_fused_shape(config.heads, config.d_model, config.d_k, config.d_v, "nn.Transformer")
        net = _net(config)
        with nullcontext() if keep is None else keep_masks_into(net, keep, SITES):
            return run_canonical(net, NAMES, params, dims_of(config), src, tgt)
