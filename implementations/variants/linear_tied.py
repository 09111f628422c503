"""§3.4 tied in another module layout: the one shared matrix is the weight of an ``nn.Linear`` projection.

Many codebases tie by assigning ``generator.weight = embedding.weight``.  Here the
(vocab, d_model) weight of ``projection = nn.Linear(d_model, vocab, bias=False)`` is the
only copy: the source and target embeddings read it and the projection applies it, so
its canonical name ``embedding`` maps to the module parameter ``projection.weight``.
Correct by the paper; the suite must see it tied (``3.4/tied-weights``) although no
parameter of the model is called ``embedding``.
"""
from __future__ import annotations

from typing import Any, Mapping, Optional

import torch
from torch import Tensor, nn

from transformer_spec.implementations.adapters.toolkit import dims_of, run_with
from transformer_spec.implementations.pytorch import Transformer
from transformer_spec.implementations.pytorch.canonical import to_module_names
from transformer_spec.reference.config import TransformerConfig
from transformer_spec.reference.params import flatten
from transformer_spec.harness.target import Target


class LinearTiedTransformer(Transformer):
    """The Transformer whose shared matrix lives in ``projection``, an ``nn.Linear`` without bias.

    Paper: §3.4.  Shapes: projection.weight (vocab, d_model); logits = x projection.weight^T.
    """

    embedding = property(lambda self: self.projection.weight)  # what the source and target embeddings read

    def __init__(self, config: TransformerConfig, device: Optional[torch.device | str] = None,
                 dtype: Optional[torch.dtype] = None) -> None:
        super().__init__(config, device, dtype)
        shared = self._parameters.pop("embedding")  # the base class's matrix moves into the projection
        self.projection = nn.Linear(config.d_model, config.vocab, bias=False, device=device, dtype=dtype)
        self.projection.weight = shared

    def generator(self, x: Tensor) -> Tensor:
        """Shapes: (batch, seq, d_model) -> (batch, seq, vocab)."""
        return self.projection(x)


class LinearTied:
    """``LinearTiedTransformer`` behind the protocol: the whole model on canonical weights, and the trainable model."""

    name = "linear-tied"
    version = "0.1"
    differentiable = True
    offers = frozenset({"model", "translation"})
    deviations: dict[str, Any] = {}
    focus_clauses = frozenset({"3.4/tied-weights", "3.4/output-softmax", "3/model-forward"})

    def __init__(self, target: Target) -> None:
        self.target = target
        self._models: dict[TransformerConfig, LinearTiedTransformer] = {}

    def model(self, src: Tensor, tgt: Tensor, params: Mapping[str, Any], config: TransformerConfig,
              keep: Mapping[str, Tensor] | None = None) -> Tensor:
        """Shapes: src (batch, seq_src), tgt (batch, seq_tgt) -> logits (batch, seq_tgt, vocab)."""
        if config not in self._models:
            self._models[config] = LinearTiedTransformer(config, self.target.device, self.target.torch_dtype).eval()
        names = {("projection.weight" if k == "embedding" else k): v for k, v in to_module_names(flatten(params)).items()}
        return run_with(self._models[config], names, dims_of(config), src, tgt, keep)

    def translation_model(self, config: TransformerConfig) -> LinearTiedTransformer:
        return LinearTiedTransformer(config, self.target.device, torch.float32)
