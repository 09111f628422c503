"""Encoder and decoder layers and stacks, and the whole encoder-decoder Transformer.

Paper: §3 (Figure 1).  ``keep`` maps the dropout sites of
``reference.regularization.dropout_sites`` to explicit keep-masks: given, it
decides dropout completely (a missing site has none); None means random
dropout in training mode and none in evaluation mode.
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor, nn

from transformer_spec.reference.config import TransformerConfig
from transformer_spec.implementations.pytorch import functional as fn
from transformer_spec.implementations.pytorch.cache import DecoderCache, LayerCache
from transformer_spec.implementations.pytorch.modules import (Factory, FeedForward, LayerNorm, MultiHeadAttention, PositionalEncoding,
                                             SublayerConnection)


class EncoderLayer(nn.Module):
    """Self-attention then FFN, each in a residual sub-layer connection.

    Paper: §3.1, §3.2.3.  Shapes: x (batch, seq_src, d_model), src_mask (batch, 1, 1, seq_src) -> like x.
    """

    def __init__(self, config: TransformerConfig, site: str, factory: Factory) -> None:
        super().__init__()
        self.self_attn, self.ffn = MultiHeadAttention(config, factory), FeedForward(config, factory)
        self.norm1 = SublayerConnection(config, f"{site}.self_attn", factory)
        self.norm2 = SublayerConnection(config, f"{site}.ffn", factory)

    def forward(self, x: Tensor, src_mask: fn.MaskLike, keep: fn.Keep = None) -> Tensor:
        x = self.norm1(x, lambda h: self.self_attn(h, h, src_mask)[0], keep)
        return self.norm2(x, self.ffn, keep)


class DecoderLayer(nn.Module):
    """Masked self-attention, encoder-decoder attention (Q from the decoder, K and V from ``memory``), FFN.

    Paper: §3.1, §3.2.3.  Shapes: y (batch, seq_q, d_model), memory (batch, seq_src, d_model),
    src_mask (batch, 1, 1, seq_src), tgt_mask (batch, 1, seq_q, seq_k) -> like y.
    Notes: with a ``cache`` the self-attention keys and values of earlier
    positions come from it (and the new ones are appended), and the
    cross-attention keys and values of ``memory`` are the cached ones.
    """

    def __init__(self, config: TransformerConfig, site: str, factory: Factory) -> None:
        super().__init__()
        self.self_attn, self.cross_attn = MultiHeadAttention(config, factory), MultiHeadAttention(config, factory)
        self.ffn = FeedForward(config, factory)
        self.norm1 = SublayerConnection(config, f"{site}.self_attn", factory)
        self.norm2 = SublayerConnection(config, f"{site}.cross_attn", factory)
        self.norm3 = SublayerConnection(config, f"{site}.ffn", factory)

    def _self_attend(self, h: Tensor, mask: Tensor, cache: Optional[LayerCache]) -> Tensor:
        q, k, v = self.self_attn.project_qkv(h)
        if cache is not None:
            k, v = cache.extend(k, v)
        return self.self_attn.attend(q, k, v, mask)[0]

    def _cross_attend(self, h: Tensor, memory: Optional[Tensor], mask: fn.MaskLike,
                      cache: Optional[LayerCache]) -> Tensor:
        k, v = (cache.cross_k, cache.cross_v) if cache is not None else self.cross_attn.project_kv(memory)
        return self.cross_attn.attend(self.cross_attn.project_q(h), k, v, mask)[0]

    def forward(self, y: Tensor, memory: Optional[Tensor], src_mask: fn.MaskLike, tgt_mask: fn.MaskLike,
                keep: fn.Keep = None, cache: Optional[LayerCache] = None) -> Tensor:
        y = self.norm1(y, lambda h: self._self_attend(h, tgt_mask, cache), keep)
        y = self.norm2(y, lambda h: self._cross_attend(h, memory, src_mask, cache), keep)
        return self.norm3(y, self.ffn, keep)


class Encoder(nn.Module):
    """PE and embedding dropout, N encoder layers (and the ``final_norm`` variant's LayerNorm).

    Paper: §3.1.  Shapes: x scaled embeddings (batch, seq_src, d_model) -> memory (batch, seq_src, d_model).
    """

    def __init__(self, config: TransformerConfig, max_len: int, factory: Factory) -> None:
        super().__init__()
        self.pe = PositionalEncoding(config, "encoder.embedding", max_len, factory)
        self.layers = nn.ModuleList(EncoderLayer(config, f"encoder.layers.{i}", factory) for i in range(config.layers))
        self.norm = LayerNorm(config, factory) if config.final_norm else None

    def forward(self, x: Tensor, src_mask: Tensor, keep: fn.Keep = None) -> Tensor:
        x, src_mask = self.pe(x, keep), fn.AttentionMask.of(src_mask)
        for layer in self.layers:
            x = layer(x, src_mask, keep)
        return x if self.norm is None else self.norm(x)


class Decoder(nn.Module):
    """PE and embedding dropout, N decoder layers (and the ``final_norm`` variant's LayerNorm).

    Paper: §3.1.  Shapes: y scaled embeddings (batch, seq_q, d_model), tgt_valid (batch, seq_q)
    True where the target token is not padding -> (batch, seq_q, d_model).
    Notes: with a ``cache`` the queries are positions ``cache.length ..`` and
    attend to every cached position as well.
    """

    def __init__(self, config: TransformerConfig, max_len: int, factory: Factory) -> None:
        super().__init__()
        self.pe = PositionalEncoding(config, "decoder.embedding", max_len, factory)
        self.layers = nn.ModuleList(DecoderLayer(config, f"decoder.layers.{i}", factory) for i in range(config.layers))
        self.norm = LayerNorm(config, factory) if config.final_norm else None

    def forward(self, y: Tensor, memory: Optional[Tensor], src_mask: Tensor, tgt_valid: Tensor,
                keep: fn.Keep = None, cache: Optional[DecoderCache] = None) -> Tensor:
        start = 0 if cache is None else cache.length
        key_valid = tgt_valid if cache is None else cache.extend_valid(tgt_valid)  # (batch, seq_k)
        tgt_mask = fn.AttentionMask.of(fn.causal_mask(y.shape[1], key_valid.shape[1], y.device)
                                       & key_valid[:, None, None, :])  # (batch, 1, seq_q, seq_k)
        y, src_mask = self.pe(y, keep, start), fn.AttentionMask.of(src_mask)
        for i, layer in enumerate(self.layers):
            y = layer(y, memory, src_mask, tgt_mask, keep, None if cache is None else cache.layers[i])
        return y if self.norm is None else self.norm(y)


class Transformer(nn.Module):
    """The encoder-decoder Transformer with one embedding matrix shared three ways.

    Paper: §3 (Figure 1), §3.4 (source embedding, target embedding and the
    pre-softmax projection share ``embedding``), Table 3 sizes via ``config``.
    Shapes: src (batch, seq_src), tgt (batch, seq_tgt) token ids -> logits (batch, seq_tgt, vocab).
    Notes: ``max_len`` only sizes the PE buffer; longer inputs compute PE on the fly.
    """

    def __init__(self, config: TransformerConfig, device: Optional[torch.device | str] = None,
                 dtype: Optional[torch.dtype] = None, max_len: int = 1024) -> None:
        super().__init__()
        factory = {"device": device, "dtype": dtype}
        self.config = config
        self.embedding = nn.Parameter(torch.randn(config.vocab, config.d_model, **factory) * config.d_model ** -0.5)
        self.encoder = Encoder(config, max_len, factory)
        self.decoder = Decoder(config, max_len, factory)

    def src_mask(self, src: Tensor) -> Tensor:
        """Key-padding mask of the source: (batch, seq_src) -> (batch, 1, 1, seq_src)."""
        return fn.padding_mask(src, self.config.pad_id)

    def encode(self, src: Tensor, keep: fn.Keep = None) -> Tensor:
        """The encoder stack.  Shapes: src (batch, seq_src) -> memory (batch, seq_src, d_model)."""
        return self.encoder(fn.embed(src, self.embedding), self.src_mask(src), keep)

    def decode(self, tgt: Tensor, memory: Tensor, src: Tensor, keep: fn.Keep = None) -> Tensor:
        """The decoder stack (``src`` gives the padding mask).  Shapes: tgt (batch, seq_tgt) -> (batch, seq_tgt, d_model)."""
        return self.decoder(fn.embed(tgt, self.embedding), memory, self.src_mask(src), tgt != self.config.pad_id, keep)

    def generator(self, x: Tensor) -> Tensor:
        """Pre-softmax logits with the tied weight.  Shapes: (batch, seq, d_model) -> (batch, seq, vocab)."""
        return fn.output_logits(x, self.embedding)

    def forward(self, src: Tensor, tgt: Tensor, keep: fn.Keep = None) -> Tensor:
        return self.generator(self.decode(tgt, self.encode(src, keep), src, keep))

    def start_cache(self, memory: Tensor, src: Tensor) -> DecoderCache:
        """A decoding cache holding each layer's cross-attention K, V of ``memory`` (computed once).

        Shapes: memory (n, seq_src, d_model), src (n, seq_src).
        """
        layers = [LayerCache(*layer.cross_attn.project_kv(memory)) for layer in self.decoder.layers]
        return DecoderCache(layers, self.src_mask(src), torch.zeros(len(src), 0, dtype=torch.bool, device=src.device))

    def decode_step(self, tokens: Tensor, cache: DecoderCache) -> Tensor:
        """Logits for the tokens that follow ``cache``'s prefix; appends them to the cache.

        Shapes: tokens (n, seq_new) -> logits (n, seq_new, vocab).  Evaluation only (no dropout).
        """
        y = fn.embed(tokens, self.embedding)
        return self.generator(self.decoder(y, None, cache.src_mask, tokens != self.config.pad_id, {}, cache))
