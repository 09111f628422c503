"""Running a foreign module on the canonical parameter tree, with every parameter checked.

``torch.func.functional_call`` substitutes whatever tensors it is given and quietly keeps the
module's own value for any parameter it is not given, so the weights are checked against the
module's parameters first: every parameter gets a weight of exactly its shape, or
:class:`~transformer_spec.implementations.protocol.ParameterMismatch` names the one that does not fit.
The module's inference "fast path" (``nn.MultiheadAttention``, ``nn.TransformerEncoderLayer``)
treats a fully masked query differently from the ordinary path (NaN instead of zeros in torch 2.13),
so :func:`run_with` always takes the ordinary one.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Callable, Iterator, Mapping, Union

import torch
from torch import Tensor, nn
from torch.func import functional_call

from transformer_spec.implementations.adapters.toolkit.paths import fill, matches
from transformer_spec.implementations.protocol import ParameterMismatch
from transformer_spec.reference.config import TransformerConfig

Transform = Callable[[Any], Union[Tensor, Mapping[str, Tensor]]]
Rule = Union[str, tuple[str, Transform]]


def transposed(w: Tensor) -> Tensor:
    """A matrix in the other (in, out) order: canonical ``x @ W`` weights are ``nn.Linear``'s transposed."""
    return w.T


def dims_of(config: TransformerConfig) -> dict[str, int]:
    """The named dimensions of ``config`` (docs/conventions.md), to name the axes of parameter shapes."""
    return {d: getattr(config, d) for d in ("vocab", "d_model", "d_ff", "heads", "d_k", "d_v")}


def _shape_text(shape: torch.Size, dims: Mapping[str, int]) -> str:
    """``(d_model,)=(8,)`` where every size is exactly one named dimension, else just ``(8,)``."""
    sizes = tuple(shape)
    names = [[d for d, n in dims.items() if n == size] for size in sizes]
    if not sizes or any(len(found) != 1 for found in names):
        return str(sizes)
    return f"({', '.join(found[0] for found in names)}{',' if len(sizes) == 1 else ''})={sizes}"


def check_weights(module: nn.Module, weights: Mapping[str, Tensor], dims: Mapping[str, int]) -> None:
    """Raise :class:`ParameterMismatch` unless ``weights`` gives every parameter of ``module``, at its shape.

    A weight the module has no parameter for, a parameter no weight reaches (functional_call would
    keep its own initial value), or a shape that differs (functional_call would run a module whose
    LayerNorm gain is a scalar with the (d_model,) one it is given, hiding the scalar) means the
    module cannot hold the paper's parameters.  ``dims`` names the axes in the message.
    Tied parameters count once, under their first name, as ``named_parameters`` lists them.
    """
    own = dict(module.named_parameters())
    missing, extra = sorted(own.keys() - weights.keys()), sorted(weights.keys() - own.keys())
    if missing or extra:
        problems = [f"no weight for the module's parameters {missing}"] if missing else []
        problems += [f"weights for {extra}, which the module does not have"] if extra else []
        raise ParameterMismatch(f"the canonical tree gives {' and '.join(problems)}")
    for name, param in own.items():
        if weights[name].shape != param.shape:
            raise ParameterMismatch(f"{name} has shape {_shape_text(param.shape, dims)}, but the canonical tree has "
                                    f"{_shape_text(weights[name].shape, dims)}")


def _nodes(tree: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every (dotted path, node) of a nested dict/list tree, sub-trees and leaves alike."""
    if path:
        yield path, tree
    if isinstance(tree, (dict, list)):
        for key, child in (tree.items() if isinstance(tree, dict) else enumerate(tree)):
            yield from _nodes(child, f"{path}.{key}" if path else str(key))


def load_canonical(module: nn.Module, name_map: Mapping[str, Rule], tree: Any,
                   dims: Mapping[str, int] | None = None) -> dict[str, Tensor]:
    """The canonical ``tree`` under ``module``'s parameter names, checked: the mapping for ``functional_call``.

    ``name_map`` maps a canonical dotted path (``*`` = any one segment, e.g. a layer index) to either
    the module's parameter name, or ``(name, transform)``: ``transform`` gets the tensor (or, for the
    path of a block such as ``encoder.layers.*.self_attn``, its sub-tree) and returns the tensor, or a
    dict of tensors named after ``name`` as a prefix (e.g. :func:`~.heads.mha_state`).
    Canonical entries no rule maps are not passed on.  Raises :class:`ParameterMismatch` unless
    every parameter of ``module`` gets a weight of exactly its shape (``dims``, e.g.
    :func:`dims_of`, names the axes in the message).  No tensor is copied, so gradients reach the tree.
    """
    weights: dict[str, Tensor] = {}
    nodes = dict(_nodes(tree))
    for path, (rule, found) in matches(name_map, nodes).items():
        target, transform = (rule, None) if isinstance(rule, str) else rule
        value = nodes[path] if transform is None else transform(nodes[path])
        named = value.items() if isinstance(value, Mapping) else [("", value)]
        for suffix, tensor in named:
            name = fill(target, found) + suffix
            if name in weights:
                raise ValueError(f"name_map sends two canonical entries to the module parameter {name!r}")
            weights[name] = tensor
    check_weights(module, weights, dims or {})
    return weights


@contextmanager
def _fastpath_disabled() -> Iterator[None]:
    before = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        yield
    finally:
        torch.backends.mha.set_fastpath_enabled(before)


def run_with(module: nn.Module, weights: Mapping[str, Tensor], dims: Mapping[str, int], *args: Any,
             **kwargs: Any) -> Any:
    """``module(*args, **kwargs)`` with ``weights`` in place of its parameters, off the inference fast path.

    The weights are checked first (:func:`check_weights`; ``dims`` names the axes in its message).
    Every call takes the same code path whether or not gradients are wanted, so
    value and gradient tests see one behaviour.
    """
    check_weights(module, weights, dims)
    with _fastpath_disabled():
        return functional_call(module, dict(weights), args, kwargs)


def run_canonical(module: nn.Module, name_map: Mapping[str, Rule], tree: Any, dims: Mapping[str, int], *args: Any,
                  **kwargs: Any) -> Any:
    """:func:`run_with` on :func:`load_canonical`'s weights: ``module(*args, **kwargs)`` on the canonical ``tree``."""
    with _fastpath_disabled():
        return functional_call(module, load_canonical(module, name_map, tree, dims), args, kwargs)
