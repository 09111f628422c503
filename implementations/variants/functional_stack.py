"""An independent functional Transformer on the canonical tree, and two correct variants built on it.

Written from the paper, not from ``implementations/pytorch``: per-head projections are einsums on the
canonical (heads, d_model, d_k) weights, Eq. (1) masks with -inf, LayerNorm is
``torch.nn.functional.layer_norm``.  The variants differ where the paper is silent or where the
difference cannot reach a loss:

- :class:`PreNorm` puts LayerNorm in front of every sub-layer, x + Sublayer(LayerNorm(x)), and
  declares it (``norm_position="pre"``); the suite checks it against that variant (``deviates``).
- :class:`PaddingIdxEmbedding` looks tokens up with ``nn.Embedding(padding_idx=pad_id)``, whose pad
  row gets no gradient from the lookup: padding reaches no real position, so no loss sees it.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.func import functional_call

from transformer_spec.implementations.protocol import Unsupported
from transformer_spec.reference.config import TransformerConfig
from transformer_spec.harness.target import Target

STACK_CLAUSES = frozenset({"3.1/encoder-layer", "3.1/decoder-layer", "3.1/encoder-stack", "3.1/decoder-stack",
                           "3/model-forward", "3.2.3/causal-mask", "3.2.3/padding-mask"})


class FunctionalTransformer:
    """Post-norm Transformer of §3 computed directly from the canonical parameter tree."""

    name = "functional-transformer"
    version = "0.1"
    differentiable = True
    offers = frozenset({"attention", "multi_head_attention", "ffn", "layer_norm", "sublayer_connection",
                        "encoder_layer", "decoder_layer", "encoder", "decoder", "model"})
    deviations: dict[str, Any] = {}
    focus_clauses = STACK_CLAUSES
    norm_position = "post"

    def __init__(self, target: Target) -> None:
        self.target = target

    # §3.2 ------------------------------------------------------------------------------
    def attention(self, q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None) -> tuple[Tensor, Tensor]:
        """softmax(Q K^T / sqrt(d_k)) V; a query with no key left gets zero weights (fully_masked="zeros").

        Shapes: q (batch, heads, seq_q, d_k), k (..., seq_k, d_k), v (..., seq_k, d_v), mask broadcastable
        to (batch, heads, seq_q, seq_k) -> out (..., seq_q, d_v), weights (..., seq_q, seq_k).
        """
        scores = torch.einsum("...qd,...kd->...qk", q, k) / math.sqrt(q.shape[-1])
        if mask is None:
            weights = torch.softmax(scores, dim=-1)
        else:
            empty = ~mask.any(dim=-1, keepdim=True)  # (..., seq_q, 1): softmax over every key, zeroed below
            weights = torch.softmax(scores.masked_fill(~(mask | empty), float("-inf")), dim=-1).masked_fill(empty, 0.0)
        return weights @ v, weights

    def multi_head_attention(self, query: Tensor, key: Tensor, value: Tensor, params: Any,
                             mask: Tensor | None) -> tuple[Tensor, Tensor]:
        """Concat(head_1, ..., head_h) W^O + b_o with head_i = Attention(Q W_i^Q, K W_i^K, V W_i^V), §3.2.2.

        Shapes: query (batch, seq_q, d_model), key and value (batch, seq_k, d_model) -> (batch, seq_q, d_model).
        """
        project = lambda x, role: torch.einsum("bsm,hmd->bhsd", x, params[f"w_{role}"]) + params[f"b_{role}"][:, None]
        heads, weights = self.attention(project(query, "q"), project(key, "k"), project(value, "v"), mask)
        concat = heads.transpose(1, 2).flatten(2)  # (batch, heads, seq_q, d_v) -> (batch, seq_q, heads * d_v)
        return concat @ params["w_o"] + params["b_o"], weights

    # §3.3, §3.1 ---------------------------------------------------------------------------
    def ffn(self, x: Tensor, params: Any) -> Tensor:
        """max(0, x W_1 + b_1) W_2 + b_2, Eq. (2).  Shapes: (batch, seq, d_model) -> (batch, seq, d_model)."""
        return torch.relu(x @ params["w_1"] + params["b_1"]) @ params["w_2"] + params["b_2"]

    def layer_norm(self, x: Tensor, scale: Tensor, bias: Tensor, eps: float) -> Tensor:
        return F.layer_norm(x, (x.shape[-1],), scale, bias, eps)

    def sublayer_connection(self, x: Tensor, sublayer: Callable[[Tensor], Tensor], norm: Any, eps: float) -> Tensor:
        """LayerNorm(x + Sublayer(x)) (post-norm, §3.1) or x + Sublayer(LayerNorm(x)) (pre-norm)."""
        normed = lambda h: self.layer_norm(h, norm["scale"], norm["bias"], eps)
        return normed(x + sublayer(x)) if self.norm_position == "post" else x + sublayer(normed(x))

    def encoder_layer(self, x: Tensor, params: Any, src_mask: Tensor | None, config: TransformerConfig) -> Tensor:
        eps = config.layer_norm_eps
        x = self.sublayer_connection(x, lambda h: self.multi_head_attention(h, h, h, params["self_attn"], src_mask)[0],
                                     params["norm1"], eps)
        return self.sublayer_connection(x, lambda h: self.ffn(h, params["ffn"]), params["norm2"], eps)

    def decoder_layer(self, y: Tensor, memory: Tensor, params: Any, src_mask: Tensor | None, tgt_mask: Tensor | None,
                      config: TransformerConfig) -> Tensor:
        eps = config.layer_norm_eps
        y = self.sublayer_connection(y, lambda h: self.multi_head_attention(h, h, h, params["self_attn"], tgt_mask)[0],
                                     params["norm1"], eps)
        y = self.sublayer_connection(
            y, lambda h: self.multi_head_attention(h, memory, memory, params["cross_attn"], src_mask)[0],
            params["norm2"], eps)
        return self.sublayer_connection(y, lambda h: self.ffn(h, params["ffn"]), params["norm3"], eps)

    # §3.4, §3.5 and the stacks -------------------------------------------------------------
    def embed(self, tokens: Tensor, weight: Tensor, pad_id: int) -> Tensor:
        """E[tokens] * sqrt(d_model), §3.4.  Shapes: tokens (batch, seq) -> (batch, seq, d_model)."""
        return weight[tokens] * math.sqrt(weight.shape[1])

    def _inputs(self, tokens: Tensor, params: Any, config: TransformerConfig) -> Tensor:
        """Embedding plus the sinusoidal encoding of §3.5, computed in float64 and rounded once."""
        if config.final_norm:
            raise Unsupported("this implementation has no LayerNorm after the stacks")
        pos = torch.arange(tokens.shape[1], dtype=torch.float64, device=tokens.device)[:, None]  # (seq, 1)
        rates = 10000.0 ** (-torch.arange(0, config.d_model, 2, dtype=torch.float64, device=tokens.device) / config.d_model)
        pe = torch.zeros(tokens.shape[1], config.d_model, dtype=torch.float64, device=tokens.device)
        pe[:, 0::2], pe[:, 1::2] = torch.sin(pos * rates), torch.cos(pos * rates[: config.d_model // 2])
        return self.embed(tokens, params["embedding"], config.pad_id) + pe.to(params["embedding"].dtype)

    def encoder(self, src: Tensor, params: Any, config: TransformerConfig) -> Tensor:
        x, mask = self._inputs(src, params, config), (src != config.pad_id)[:, None, None, :]  # (batch, 1, 1, seq_src)
        for layer in params["encoder"]["layers"]:
            x = self.encoder_layer(x, layer, mask, config)
        return x

    def decoder(self, tgt: Tensor, memory: Tensor, src: Tensor, params: Any, config: TransformerConfig) -> Tensor:
        seq_tgt = tgt.shape[1]
        causal = torch.ones(seq_tgt, seq_tgt, dtype=torch.bool, device=tgt.device).tril()  # key j <= query i
        tgt_mask = causal & (tgt != config.pad_id)[:, None, None, :]  # (batch, 1, seq_tgt, seq_tgt)
        src_mask = (src != config.pad_id)[:, None, None, :]  # (batch, 1, 1, seq_src)
        y = self._inputs(tgt, params, config)
        for layer in params["decoder"]["layers"]:
            y = self.decoder_layer(y, memory, layer, src_mask, tgt_mask, config)
        return y

    def model(self, src: Tensor, tgt: Tensor, params: Any, config: TransformerConfig, keep: Any = None) -> Tensor:
        """Logits y E^T with the shared embedding E (§3.4).  Shapes: -> (batch, seq_tgt, vocab)."""
        if keep is not None:
            raise Unsupported("this implementation has no dropout")
        return self.decoder(tgt, self.encoder(src, params, config), src, params, config) @ params["embedding"].T


class PreNorm(FunctionalTransformer):
    """x + Sublayer(LayerNorm(x)) in every layer, declared: checked against the pre-norm variant."""

    name = "pre-norm"
    deviations = {"norm_position": "pre"}
    norm_position = "pre"
    focus_clauses = STACK_CLAUSES | {"3.1/residual-post-norm", "3.2.3/encoder-self-attention", "3.2.3/cross-attention",
                                     "3.2.2/multi-head", "3.2.2/head-split-concat", "3.2.1/scaled-dot-product",
                                     "3.2.1/softmax", "3.1/layer-norm", "3.3/ffn"}


class PaddingIdxEmbedding(FunctionalTransformer):
    """Tokens looked up by ``nn.Embedding(vocab, d_model, padding_idx=pad_id)``: the pad row gets no gradient."""

    name = "padding-idx-embedding"

    def embed(self, tokens: Tensor, weight: Tensor, pad_id: int) -> Tensor:
        table = nn.Embedding(*weight.shape, padding_idx=pad_id, device="meta")  # its weight is replaced below
        return functional_call(table, {"weight": weight}, (tokens,)) * math.sqrt(weight.shape[1])
