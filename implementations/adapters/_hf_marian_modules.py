"""Weightless Hugging Face Marian modules and the canonical -> Marian parameter names, for ``hf_marian.py``.

Every module is built once per shape on the ``meta`` device, in evaluation mode, and run on the
canonical weights with ``toolkit.run_canonical``.  The only real tensors are the library's own
constants, each made on the target's device in its dtype: the sinusoid tables
(``MarianSinusoidalPositionalEmbedding.create_weight``; frozen parameters, passed with the canonical
weights) and the zero ``final_logits_bias`` buffer.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Mapping

import torch
from torch import Tensor
from transformers.models.marian.configuration_marian import MarianConfig
from transformers.models.marian.modeling_marian import (MarianAttention, MarianMTModel,
                                                        MarianSinusoidalPositionalEmbedding, eager_attention_forward)

from transformer_spec.implementations.adapters.toolkit import Rule, fuse, fuse_bias, transposed

MAX_POSITIONS = 1024
"""Rows of the stacks' sinusoid tables: MarianConfig's default ``max_position_embeddings``."""


def marian_config(vocab: int, d_model: int, d_ff: int, heads: int, layers: int, pad_id: int,
                  dropout: float) -> MarianConfig:
    """The suite's sizes as a MarianConfig with the options closest to the paper (see ``hf_marian``'s docstring)."""
    return MarianConfig(vocab_size=vocab, d_model=d_model, encoder_ffn_dim=d_ff, decoder_ffn_dim=d_ff,
                        encoder_attention_heads=heads, decoder_attention_heads=heads, encoder_layers=layers,
                        decoder_layers=layers, pad_token_id=pad_id, decoder_start_token_id=pad_id, dropout=dropout,
                        attention_dropout=0.0, activation_dropout=0.0, activation_function="relu",
                        scale_embedding=True, share_encoder_decoder_embeddings=True, tie_word_embeddings=True,
                        max_position_embeddings=MAX_POSITIONS, use_cache=False, attn_implementation="eager")


@lru_cache(maxsize=None)
def attention(d_model: int, heads: int) -> MarianAttention:
    """One weightless MarianAttention (eager, so that it returns its weights)."""
    with torch.device("meta"):
        return MarianAttention(d_model, heads, config=marian_config(1, d_model, 1, heads, 1, 0, 0.0)).eval()


@lru_cache(maxsize=None)
def mt_model(vocab: int, d_model: int, d_ff: int, heads: int, layers: int, pad_id: int, dropout: float,
           dtype: torch.dtype, device: torch.device) -> MarianMTModel:
    """A weightless MarianMTModel whose ``final_logits_bias`` is the library's zeros (1, vocab) on the target."""
    with torch.device("meta"):
        model = MarianMTModel(marian_config(vocab, d_model, d_ff, heads, layers, pad_id, dropout)).eval()
    model.final_logits_bias = torch.zeros(1, vocab, dtype=dtype, device=device)
    return model


@lru_cache(maxsize=None)
def positions(seq: int, d_model: int, dtype: torch.dtype,
              device: torch.device) -> MarianSinusoidalPositionalEmbedding:
    """A MarianSinusoidalPositionalEmbedding of ``seq`` rows holding the library's own table (``create_weight``)."""
    table = MarianSinusoidalPositionalEmbedding(seq, d_model)  # on the CPU in float32, as the library builds it
    with torch.no_grad():
        table.weight.copy_(table.create_weight())  # (seq, d_model)
    return table.to(device=device, dtype=dtype)


def eager_attention(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None) -> tuple[Tensor, Tensor]:
    """MarianAttention's Eq. (1), ``eager_attention_forward``, with its default scale d_k^-0.5 and no dropout.

    Shapes: q (batch, heads, seq_q, d_k), k (batch, heads, seq_k, d_k), v (batch, heads, seq_k, d_v), an additive
    mask broadcastable to (batch, heads, seq_q, seq_k) -> out (batch, seq_q, heads, d_v),
    weights (batch, heads, seq_q, seq_k).
    """
    return eager_attention_forward(attention(1, 1), q, k, v, mask)  # the module only tells it training=False


def attention_state(block: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """A canonical attention block under MarianAttention's names; ``nn.Linear`` holds (out, in) weights.

    Shapes: w_q, w_k, w_v (heads, d_model, d) -> (heads * d, d_model), head i in rows i*d .. (i+1)*d (HF's
    ``view(..., -1, head_dim)``); b_q, b_k, b_v (heads, d) -> (heads * d,); w_o (heads * d_v, d_model) transposed.
    """
    state = {f"{r}_proj.weight": fuse(block[f"w_{r}"]).T for r in "qkv"}  # (heads * d, d_model)
    state.update({f"{r}_proj.bias": fuse_bias(block[f"b_{r}"]) for r in "qkv"})
    return {**state, "out_proj.weight": block["w_o"].T, "out_proj.bias": block["b_o"]}


ENCODER_LAYER = {"self_attn": "self_attn", "norm1": "self_attn_layer_norm", "norm2": "final_layer_norm"}
DECODER_LAYER = {"self_attn": "self_attn", "norm1": "self_attn_layer_norm", "cross_attn": "encoder_attn",
                 "norm2": "encoder_attn_layer_norm", "norm3": "final_layer_norm"}
"""Canonical block -> Marian{Encoder,Decoder}Layer submodule; both layers name their FFN fc1, fc2."""


def layer_rules(ours: str, theirs: str, blocks: Mapping[str, str]) -> dict[str, Rule]:
    """The name map of one layer, canonical paths under ``ours`` to Marian names under ``theirs``."""
    rules: dict[str, Rule] = {f"{ours}ffn.b_1": f"{theirs}fc1.bias", f"{ours}ffn.b_2": f"{theirs}fc2.bias",
                              f"{ours}ffn.w_1": (f"{theirs}fc1.weight", transposed),
                              f"{ours}ffn.w_2": (f"{theirs}fc2.weight", transposed)}
    for block, module in blocks.items():
        if block.startswith("norm"):
            rules[f"{ours}{block}.scale"] = f"{theirs}{module}.weight"
            rules[f"{ours}{block}.bias"] = f"{theirs}{module}.bias"
        else:
            rules[f"{ours}{block}"] = (f"{theirs}{module}.", attention_state)
    return rules


ENCODER_LAYER_RULES = layer_rules("", "", ENCODER_LAYER)
DECODER_LAYER_RULES = layer_rules("", "", DECODER_LAYER)
ENCODER = layer_rules("encoder.layers.*.", "layers.*.", ENCODER_LAYER)
DECODER = layer_rules("decoder.layers.*.", "layers.*.", DECODER_LAYER)
MODEL = {**layer_rules("encoder.layers.*.", "model.encoder.layers.*.", ENCODER_LAYER),
         **layer_rules("decoder.layers.*.", "model.decoder.layers.*.", DECODER_LAYER)}
"""Layers alone, and the layers of MarianEncoder, MarianDecoder and MarianMTModel on the whole canonical tree
(:func:`with_embedding` adds the embedding)."""


def with_embedding(rules: Mapping[str, Rule], embedding: str, tables: Mapping[str, Tensor]) -> dict[str, Rule]:
    """``rules`` plus the canonical embedding under the name ``embedding``, and the library's sinusoid tables
    (``embed_positions``' frozen parameters, which have no canonical entry) under the names of ``tables``."""
    return {**rules, "embedding": ("", lambda matrix: {embedding: matrix, **tables})}
