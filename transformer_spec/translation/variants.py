"""Ablated model variants for negative controls, as subclasses of the project's model.

Each removes one ingredient the paper says translation needs, so a training
run with it must fail:

* ``no-cross-attention``: the encoder output fed to encoder-decoder attention
  (§3.2.3) is zero, so the decoder never sees the source.
* ``no-positional-encoding``: the sinusoids of §3.5 are zero, so the encoder
  sees a bag of words.
* ``leaky-decoder``: the decoder's self-attention keeps only the padding mask,
  not the causal one (§3.2.3), so in training every position sees the target
  token it must predict.
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from transformer_spec.reference.config import TransformerConfig
from transformer_spec.reference.errors import SpecUsageError
from transformer_spec.implementations.pytorch import Transformer
from transformer_spec.implementations.pytorch.modules import PositionalEncoding


class NoCrossAttention(Transformer):
    """The Transformer with the memory seen by cross-attention replaced by zeros."""

    def encode(self, src: Tensor, keep: object = None) -> Tensor:
        """Zeros in place of the encoder output.  Shapes: src (batch, seq_src) -> (batch, seq_src, d_model)."""
        return self.embedding.new_zeros(*src.shape, self.config.d_model)


class _ZeroEncoding(PositionalEncoding):
    """A positional encoding that adds nothing (dropout still applies, §5.4)."""

    def encoding(self, start: int, length: int, like: Tensor) -> Tensor:
        return like.new_zeros(length, like.shape[-1])


class NoPositionalEncoding(Transformer):
    """The Transformer without positional encodings in either stack."""

    def __init__(self, config: TransformerConfig, device: Optional[torch.device | str] = None,
                 dtype: Optional[torch.dtype] = None) -> None:
        super().__init__(config, device, dtype)
        factory = {"device": device, "dtype": dtype}
        self.encoder.pe = _ZeroEncoding(config, "encoder.embedding", 1, factory)
        self.decoder.pe = _ZeroEncoding(config, "decoder.embedding", 1, factory)


def _padding_only(module: torch.nn.Module, args: tuple) -> tuple:
    """Forward pre-hook of a decoder layer: replace its target mask (causal & padding) by padding alone.

    The last query row of a causal mask keeps every key, so it is the padding
    mask; it is broadcast to every query.  The mask may come as a boolean
    tensor or as the model's ``AttentionMask`` (its ``allowed`` tensor).
    Shapes: tgt_mask (batch, 1, seq_q, seq_k).
    """
    y, memory, src_mask, tgt_mask, *rest = args
    allowed = getattr(tgt_mask, "allowed", tgt_mask)
    return (y, memory, src_mask, allowed[..., -1:, :].expand_as(allowed), *rest)


class LeakyDecoder(Transformer):
    """The Transformer whose decoder self-attention sees future target tokens (a broken causal mask)."""

    def __init__(self, config: TransformerConfig, device: Optional[torch.device | str] = None,
                 dtype: Optional[torch.dtype] = None) -> None:
        super().__init__(config, device, dtype)
        for layer in self.decoder.layers:
            layer.register_forward_pre_hook(_padding_only)


VARIANTS: dict[str, type[Transformer]] = {"paper": Transformer, "no-cross-attention": NoCrossAttention,
                                          "no-positional-encoding": NoPositionalEncoding,
                                          "leaky-decoder": LeakyDecoder}


def build_model(variant: str, config: TransformerConfig, device: torch.device) -> Transformer:
    """The project's model, or one of its ablations, on ``device``."""
    if variant not in VARIANTS:
        raise SpecUsageError("variant", variant, f"choose one of {', '.join(VARIANTS)}")
    return VARIANTS[variant](config, device=device)
