"""A correct implementation that computes in float32 whatever dtype it is given (constants, softmax, everything).

Many implementations build a PE table, a softmax or sqrt(d_k) in float32 and hand back float64. The
equations are the paper's; only the rounding is float32's. Checked at float64, its mismatches are
precision findings (status ``imprecise``), never a violated clause: this variant is the proof.
"""
from __future__ import annotations

from typing import Any, Callable

import torch

from transformer_spec.implementations.adapters.ours import TransformerSpec
from transformer_spec.reference.params import map_tree
from transformer_spec.harness.target import Target

COMPONENTS = frozenset({"attention", "multi_head_attention", "ffn", "embedding", "output_logits", "positional_encoding",
                        "layer_norm", "encoder_layer", "decoder_layer", "encoder", "decoder", "model"})


def _cast(value: Any, dtype: torch.dtype) -> Any:
    """Floating tensors (in nested tuples, lists and dicts) cast to ``dtype``; everything else as it is."""
    if isinstance(value, torch.Tensor):
        return value.to(dtype) if value.is_floating_point() else value
    if isinstance(value, (dict, list)):
        return map_tree(lambda leaf: _cast(leaf, dtype), value)
    if isinstance(value, tuple):
        return tuple(_cast(v, dtype) for v in value)
    return value


class Float32Internal:
    """The project's model, run in float32 behind inputs and outputs of the target dtype."""

    name = "float32-internal"
    version = TransformerSpec.version
    offers = COMPONENTS
    deviations: dict[str, Any] = {}
    differentiable = True
    focus_clauses = frozenset({"3.2.1/scaled-dot-product", "3.2.1/scaling", "3.5/positional-encoding",
                               "3.3/ffn", "3.1/encoder-stack", "3/model-forward"})

    def __init__(self, target: Target) -> None:
        self.target = target
        self._inner = TransformerSpec(Target(target.device, "float32"))

    def __getattr__(self, method: str) -> Callable[..., Any]:
        if method not in COMPONENTS:  # each offered component is one method of the same name
            raise AttributeError(method)
        inner = getattr(self._inner, method)

        def call(*args: Any, **kwargs: Any) -> Any:
            out = inner(*_cast(args, torch.float32), **_cast(kwargs, torch.float32))
            return _cast(out, self.target.torch_dtype)

        return call
