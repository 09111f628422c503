"""Broken wiring inside the modules: cross attention, encoder masking, untied embeddings."""
from __future__ import annotations

from typing import Any, Optional

import torch
from torch import Tensor, nn

from transformer_spec.implementations.pytorch import Transformer, export_canonical, load_canonical, make_optimizer, noam_scheduler
from transformer_spec.implementations.pytorch import functional as fn
from transformer_spec.implementations.pytorch.model import DecoderLayer, EncoderLayer
from transformer_spec.implementations.pytorch.training import label_smoothed_loss
from transformer_spec.reference.config import TransformerConfig


def project_kv_swapped(self: Any, x: Tensor) -> tuple[Tensor, Tensor]:
    """Keys through W^V and values through W^K."""
    w, b = self._rows(1, 2)
    k, v = torch.nn.functional.linear(x, w, b).split(self.sizes[1:], dim=-1)  # (batch, seq_k, heads * (d_k + d_v))
    return fn.split_heads(v, self.heads), fn.split_heads(k, self.heads)


def cross_attend_to_decoder(self: DecoderLayer, h: Tensor, memory: Optional[Tensor], mask: Optional[Tensor],
                            cache: Any) -> Tensor:
    """Encoder-decoder attention that takes K and V from the decoder state instead of the encoder output."""
    k, v = self.cross_attn.project_kv(h)
    return self.cross_attn.attend(self.cross_attn.project_q(h), k, v, None)[0]


def encoder_layer_causal(self: EncoderLayer, x: Tensor, src_mask: Optional[Tensor], keep: Any = None) -> Tensor:
    """Encoder self-attention under the decoder's subsequent-position mask."""
    causal = fn.causal_mask(x.shape[1], x.shape[1], x.device)
    mask = causal if src_mask is None else src_mask & causal
    x = self.norm1(x, lambda h: self.self_attn(h, h, mask)[0], keep)
    return self.norm2(x, self.ffn, keep)


class _Untied(nn.Module):
    """A model whose source and target embeddings are copies of the projection matrix, trained separately."""

    def __init__(self, model: Transformer) -> None:
        super().__init__()
        self.model = model
        self.src_embedding = nn.Parameter(model.embedding.detach().clone())
        self.tgt_embedding = nn.Parameter(model.embedding.detach().clone())

    def forward(self, src: Tensor, tgt: Tensor) -> Tensor:
        m = self.model
        memory = m.encoder(fn.embed(src, self.src_embedding), m.src_mask(src))
        hidden = m.decoder(fn.embed(tgt, self.tgt_embedding), memory, m.src_mask(src), tgt != m.config.pad_id)
        return m.generator(hidden)


def train_steps_untied(impl: Any, params: Any, config: TransformerConfig, batches: list[tuple[Tensor, Tensor, Tensor]]) -> Any:
    model = load_canonical(Transformer(config, impl.target.device, impl.target.torch_dtype), params).train()
    untied = _Untied(model)
    optimizer = make_optimizer(untied.parameters())
    scheduler = noam_scheduler(optimizer, config.d_model, config.warmup_steps)
    for src, tgt_in, tgt_out in batches:
        optimizer.zero_grad()
        label_smoothed_loss(untied(src, tgt_in), tgt_out, config.label_smoothing, config.pad_id).backward()
        optimizer.step()
        scheduler.step()
    return export_canonical(model)
