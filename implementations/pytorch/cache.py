"""Key/value caches for incremental decoding (§6.1 inference without recomputing the prefix).

A decoder position's self-attention keys and values never change once
computed (the causal mask hides later positions), so each step projects only
the new positions and appends them; the cross-attention keys and values of the
encoder output are computed once per source.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch
from torch import Tensor


@dataclass
class LayerCache:
    """One decoder layer's keys and values.

    Shapes: cross_k (n, heads, seq_src, d_k), cross_v (n, heads, seq_src, d_v),
    self_k (n, heads, t, d_k), self_v (n, heads, t, d_v) for the t positions seen.
    """

    cross_k: Tensor
    cross_v: Tensor
    self_k: Optional[Tensor] = None
    self_v: Optional[Tensor] = None

    def extend(self, k: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
        """Append the new positions' keys and values (seq axis 2) and return all of them."""
        if self.self_k is not None:
            k, v = torch.cat([self.self_k, k], dim=2), torch.cat([self.self_v, v], dim=2)
        self.self_k, self.self_v = k, v
        return k, v

    def select(self, index: Tensor) -> "LayerCache":
        """The cache rows ``index`` (beam reordering).  Shapes: index (m,) -> every tensor (m, ...)."""
        pick = lambda t: None if t is None else t.index_select(0, index)
        return LayerCache(pick(self.cross_k), pick(self.cross_v), pick(self.self_k), pick(self.self_v))


@dataclass
class DecoderCache:
    """All decoder layers' caches, the source padding mask and which cached target keys are real tokens.

    Shapes: src_mask (n, 1, 1, seq_src), key_valid (n, t) True where the cached
    target token is not padding (padding keys stay masked, as in a full pass).
    """

    layers: list[LayerCache]
    src_mask: Tensor
    key_valid: Tensor

    @property
    def length(self) -> int:
        """Number of target positions already decoded."""
        return self.key_valid.shape[1]

    def extend_valid(self, valid: Tensor) -> Tensor:
        """Append the new tokens' validity (n, seq_new) and return the whole (n, t + seq_new)."""
        self.key_valid = torch.cat([self.key_valid, valid], dim=1)
        return self.key_valid

    def select(self, index: Tensor) -> "DecoderCache":
        """The cache rows ``index`` (beam reordering, dropping finished rows).  Shapes: index (m,)."""
        return DecoderCache([layer.select(index) for layer in self.layers], self.src_mask.index_select(0, index),
                            self.key_valid.index_select(0, index))
