"""Small modules that hold the parameters of §3 and call :mod:`.functional`.

Parameters are kept in torch's (out, in) layout and, for attention, fused:
``w_in`` stacks W^Q, W^K, W^V (all heads side by side, head i in rows
[i*d, (i+1)*d) of its block) so self-attention needs one matrix product.
:mod:`.canonical` converts to and from the per-head canonical tree exactly.
"""
from __future__ import annotations

from typing import Callable, Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from transformer_spec.reference.config import TransformerConfig
from transformer_spec.implementations.pytorch import functional as fn

Factory = dict[str, object]
"""Keyword arguments ``device`` and ``dtype`` passed to every tensor constructor."""


def _param(shape: tuple[int, ...], std: float, factory: Factory) -> nn.Parameter:
    """A parameter ~ N(0, std^2) (zero when std = 0)."""
    return nn.Parameter(torch.randn(shape, **factory) * std if std else torch.zeros(shape, **factory))


class MultiHeadAttention(nn.Module):
    """Multi-head attention with projections W^Q, W^K, W^V (fused rows of ``w_in``) and W^O.

    Paper: §3.2.2; its three uses §3.2.3 (encoder self, masked decoder self, encoder-decoder).
    Shapes: query (batch, seq_q, d_model), key_value (batch, seq_k, d_model)
    -> (batch, seq_q, d_model); weights (batch, heads, seq_q, seq_k).
    """

    def __init__(self, config: TransformerConfig, factory: Factory) -> None:
        super().__init__()
        c = config
        self.heads, self.fully_masked = c.heads, c.fully_masked
        self.sizes = (c.heads * c.d_k, c.heads * c.d_k, c.heads * c.d_v)  # rows of W^Q, W^K, W^V in w_in
        self.w_in = _param((sum(self.sizes), c.d_model), c.d_model ** -0.5, factory)
        self.b_in = _param((sum(self.sizes),), 0.0, factory)
        self.w_out = _param((c.d_model, c.heads * c.d_v), (c.heads * c.d_v) ** -0.5, factory)
        self.b_out = _param((c.d_model,), 0.0, factory)

    def _rows(self, first: int, count: int) -> tuple[Tensor, Tensor]:
        """Rows of the fused projection covering ``count`` roles from role ``first`` (0 = Q, 1 = K, 2 = V)."""
        start = sum(self.sizes[:first])
        stop = start + sum(self.sizes[first:first + count])
        return self.w_in[start:stop], self.b_in[start:stop]

    def project_qkv(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Q, K, V of self-attention with one matrix product: each (batch, heads, seq, d_k|d_v)."""
        qkv = F.linear(x, self.w_in, self.b_in)  # (batch, seq, heads * (2 d_k + d_v))
        return tuple(fn.split_heads(part, self.heads) for part in qkv.split(self.sizes, dim=-1))  # type: ignore[return-value]

    def project_q(self, x: Tensor) -> Tensor:
        """Queries Q W_i^Q: (batch, seq_q, d_model) -> (batch, heads, seq_q, d_k)."""
        return fn.project_heads(x, *self._rows(0, 1), self.heads)

    def project_kv(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Keys and values from one source with one matrix product: each (batch, heads, seq_k, d_k|d_v)."""
        kv = F.linear(x, *self._rows(1, 2))  # (batch, seq_k, heads * (d_k + d_v))
        k, v = kv.split(self.sizes[1:], dim=-1)
        return fn.split_heads(k, self.heads), fn.split_heads(v, self.heads)

    def attend(self, q: Tensor, k: Tensor, v: Tensor, mask: fn.MaskLike,
               need_weights: bool = False) -> tuple[Tensor, Optional[Tensor]]:
        """Concat(head_1..head_h) W^O from projected heads (see :func:`functional.multi_head_attention`)."""
        return fn.multi_head_attention(q, k, v, self.w_out, self.b_out, mask, self.fully_masked, need_weights)

    def forward(self, query: Tensor, key_value: Tensor, mask: fn.MaskLike = None,
                need_weights: bool = False) -> tuple[Tensor, Optional[Tensor]]:
        """Self-attention when ``key_value is query`` (fused QKV), else queries from ``query`` and K, V from ``key_value``."""
        if key_value is query:
            q, k, v = self.project_qkv(query)
        else:
            q, (k, v) = self.project_q(query), self.project_kv(key_value)
        return self.attend(q, k, v, mask, need_weights)


class FeedForward(nn.Module):
    """FFN(x) = max(0, x W_1 + b_1) W_2 + b_2.

    Paper: §3.3, Eq. (2).  Shapes: x (..., d_model) -> (..., d_model); hidden d_ff.
    """

    def __init__(self, config: TransformerConfig, factory: Factory) -> None:
        super().__init__()
        self.w_1 = _param((config.d_ff, config.d_model), config.d_model ** -0.5, factory)
        self.b_1 = _param((config.d_ff,), 0.0, factory)
        self.w_2 = _param((config.d_model, config.d_ff), config.d_ff ** -0.5, factory)
        self.b_2 = _param((config.d_model,), 0.0, factory)

    def forward(self, x: Tensor) -> Tensor:
        return fn.position_wise_ffn(x, self.w_1, self.b_1, self.w_2, self.b_2)


def _norm_parameters(module: nn.Module, config: TransformerConfig, factory: Factory) -> None:
    """Give ``module`` a LayerNorm gain ``scale`` (ones) and offset ``bias`` (zeros) of width d_model."""
    module.eps = config.layer_norm_eps
    module.scale = nn.Parameter(torch.ones(config.d_model, **factory))
    module.bias = nn.Parameter(torch.zeros(config.d_model, **factory))


class LayerNorm(nn.Module):
    """LayerNorm with gain ``scale`` and offset ``bias`` (the stacks' final norm under ``final_norm``).

    Paper: §3.1.  Shapes: x (..., d_model) -> (..., d_model).
    """

    def __init__(self, config: TransformerConfig, factory: Factory) -> None:
        super().__init__()
        _norm_parameters(self, config, factory)

    def forward(self, x: Tensor) -> Tensor:
        return fn.layer_norm(x, self.scale, self.bias, self.eps)


class SublayerConnection(nn.Module):
    """One residual sub-layer connection: its LayerNorm parameters and its §5.4 dropout site.

    Paper: §3.1 (LayerNorm(x + Sublayer(x))), §5.4.  Shapes: x (batch, seq, d_model) -> same.
    Notes: it owns ``scale`` and ``bias`` itself, so ``encoder.layers.0.norm1.scale``
    is both the module path and the canonical name.
    """

    def __init__(self, config: TransformerConfig, site: str, factory: Factory) -> None:
        super().__init__()
        _norm_parameters(self, config, factory)
        self.site, self.position, self.p_drop = site, config.norm_position, config.dropout

    def forward(self, x: Tensor, sublayer: Callable[[Tensor], Tensor], keep: fn.Keep) -> Tensor:
        mask = None if keep is None else keep.get(self.site)
        return fn.sublayer_connection(x, sublayer, self.scale, self.bias, self.eps, self.position,
                                      mask, self.p_drop, random=self.training and keep is None)


class PositionalEncoding(nn.Module):
    """Sinusoidal PE added to the scaled embeddings, then the §5.4 embedding dropout.

    Paper: §3.5, §5.4.  Shapes: x (batch, seq, d_model) -> same; the table is a
    non-persistent buffer of ``max_len`` rows, rebuilt from float64 whenever the
    module moves to another device or dtype (so ``.double()`` stays exact).
    """

    def __init__(self, config: TransformerConfig, site: str, max_len: int, factory: Factory) -> None:
        super().__init__()
        self.site, self.p_drop, self.d_model = site, config.dropout, config.d_model
        self.register_buffer("table", fn.sinusoidal_encoding(max_len, config.d_model, **factory), persistent=False)

    def _apply(self, *args: object, **kwargs: object) -> "PositionalEncoding":
        super()._apply(*args, **kwargs)  # type: ignore[arg-type]
        self.table = fn.sinusoidal_encoding(len(self.table), self.d_model, self.table.device, self.table.dtype)
        return self

    def encoding(self, start: int, length: int, like: Tensor) -> Tensor:
        """PE rows for positions start .. start + length - 1: (length, d_model)."""
        if start + length <= len(self.table):
            return self.table[start:start + length]
        return fn.sinusoidal_encoding(start + length, self.d_model, like.device, like.dtype)[start:]

    def forward(self, x: Tensor, keep: fn.Keep, start: int = 0) -> Tensor:
        mask = None if keep is None else keep.get(self.site)
        x = x + self.encoding(start, x.shape[1], x)  # (batch, seq, d_model) + (seq, d_model)
        return fn.dropout(x, mask, self.p_drop, random=self.training and keep is None)

