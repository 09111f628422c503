"""Broken parameters: a LayerNorm with scalar gain and bias, and an output projection never tied to the embedding.

Neither bug shows in a forward pass run on the canonical weights with a plain
``torch.func.functional_call`` (it substitutes a (d_model,) gain for a scalar one
without a word, and the same canonical matrix for both copies of the embedding):
the first is caught by the checked loading of ``transformer_spec.implementations.adapters.toolkit.run_with``,
the second only by behaviour under training (§3.4, ``spec_tests/test_embeddings.py``).
"""
from __future__ import annotations

import copy
from typing import Any

import torch
from torch import Tensor, nn

from transformer_spec.implementations.pytorch import Transformer, load_canonical
from transformer_spec.implementations.pytorch import functional as fn
from transformer_spec.reference.config import TransformerConfig


def scalar_norm_parameters(module: nn.Module, config: TransformerConfig, factory: dict[str, Any]) -> None:
    """§3.1 broken: one gain and one bias shared by all d_model features, instead of a (d_model,) vector each."""
    module.eps = config.layer_norm_eps
    module.scale = nn.Parameter(torch.ones((), **factory))
    module.bias = nn.Parameter(torch.zeros((), **factory))


def untie(model: Transformer) -> Transformer:
    """§3.4 broken: the pre-softmax projection becomes its own matrix, a copy of the embedding from now on.

    Its outputs are unchanged until the first update, which then moves the embedding and the
    projection apart.  Shapes: projection (vocab, d_model), as the embedding.
    """
    model.projection = nn.Parameter(model.embedding.detach().clone())

    def generator(x: Tensor) -> Tensor:
        return fn.output_logits(x, model.projection)

    model.generator = generator  # type: ignore[method-assign]
    return model


def load_canonical_untied(model: Transformer, params: Any) -> Transformer:
    """``load_canonical`` into a copy of ``model`` whose projection no longer shares the embedding matrix.

    A copy, so that a module the adapter caches for its forward components keeps the canonical parameter names.
    """
    return untie(copy.deepcopy(load_canonical(model, params)))  # type: ignore[arg-type]


def translation_model_untied(impl: Any, config: TransformerConfig) -> Transformer:
    """The trainable model of the ``translation`` component, with its projection untied."""
    return untie(impl.translation_model(config))
