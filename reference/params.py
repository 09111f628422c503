"""The canonical parameter tree: one fixed set of names and shapes.

Every implementation under test receives its weights in this layout, so the
reference and the implementation compute with identical numbers.  The tree is
plain nested ``dict``/``list`` of float64 arrays; ``flatten`` gives dotted names
such as ``decoder.layers.1.cross_attn.w_k``.

Layout (paper notation, §3.2.2: head_i = Attention(Q W_i^Q, K W_i^K, V W_i^V)):

========================  ============================  =========================
name                      shape                         paper
========================  ============================  =========================
embedding                 (vocab, d_model)              shared E, §3.4
*.w_q / *.w_k             (heads, d_model, d_k)         W_i^Q, W_i^K
*.w_v                     (heads, d_model, d_v)         W_i^V
*.b_q / *.b_k / *.b_v     (heads, d_k|d_v)              (biases; zero = none)
*.w_o                     (heads * d_v, d_model)        W^O
*.b_o                     (d_model,)
ffn.w_1 / ffn.b_1         (d_model, d_ff) / (d_ff,)     Eq. (2)
ffn.w_2 / ffn.b_2         (d_ff, d_model) / (d_model,)  Eq. (2)
norm*.scale / norm*.bias  (d_model,)                    LayerNorm gain and bias
========================  ============================  =========================

Encoder layer: ``self_attn, norm1, ffn, norm2``.  Decoder layer: ``self_attn,
norm1, cross_attn, norm2, ffn, norm3``.  ``encoder.norm``/``decoder.norm`` exist
only when ``config.final_norm`` (a deviation, not the paper); ``encoder.positions``/``decoder.positions``
(max_positions, d_model) only under ``positional_encoding_kind="learned"`` (§3.5's alternative).
"""
from __future__ import annotations

from typing import Any, Union

import numpy as np

from transformer_spec.reference.config import TransformerConfig

Params = dict[str, Any]
Tree = Union[dict, list, np.ndarray]


def _attention_shapes(c: TransformerConfig) -> dict[str, tuple[int, ...]]:
    return {
        "w_q": (c.heads, c.d_model, c.d_k), "b_q": (c.heads, c.d_k),
        "w_k": (c.heads, c.d_model, c.d_k), "b_k": (c.heads, c.d_k),
        "w_v": (c.heads, c.d_model, c.d_v), "b_v": (c.heads, c.d_v),
        "w_o": (c.heads * c.d_v, c.d_model), "b_o": (c.d_model,),
    }


def _ffn_shapes(c: TransformerConfig) -> dict[str, tuple[int, ...]]:
    return {"w_1": (c.d_model, c.d_ff), "b_1": (c.d_ff,), "w_2": (c.d_ff, c.d_model), "b_2": (c.d_model,)}


def _norm_shapes(c: TransformerConfig) -> dict[str, tuple[int, ...]]:
    return {"scale": (c.d_model,), "bias": (c.d_model,)}


def param_shapes(config: TransformerConfig) -> dict[str, tuple[int, ...]]:
    """Flat ``{dotted name: shape}`` of the canonical tree for ``config``."""
    c = config
    enc = {"self_attn": _attention_shapes(c), "norm1": _norm_shapes(c), "ffn": _ffn_shapes(c), "norm2": _norm_shapes(c)}
    dec = {"self_attn": _attention_shapes(c), "norm1": _norm_shapes(c), "cross_attn": _attention_shapes(c),
           "norm2": _norm_shapes(c), "ffn": _ffn_shapes(c), "norm3": _norm_shapes(c)}
    shapes: dict[str, tuple[int, ...]] = {"embedding": (c.vocab, c.d_model)}
    for stack, layer in (("encoder", enc), ("decoder", dec)):
        for i in range(c.layers):
            for block, entries in layer.items():
                shapes.update({f"{stack}.layers.{i}.{block}.{k}": s for k, s in entries.items()})
        if c.final_norm:
            shapes.update({f"{stack}.norm.{k}": s for k, s in _norm_shapes(c).items()})
        if c.positional_encoding_kind == "learned":
            shapes[f"{stack}.positions"] = (c.max_positions, c.d_model)
    return shapes


def _draw(rng: np.random.Generator, name: str, shape: tuple[int, ...], d_model: int) -> np.ndarray:
    """Weights ~ N(0, 1/fan_in); biases and LayerNorm offsets visibly non-zero."""
    leaf = name.rsplit(".", 1)[-1]
    if name == "embedding":
        return rng.normal(0.0, d_model ** -0.5, shape)
    if leaf == "scale":
        return 1.0 + rng.normal(0.0, 0.1, shape)
    if leaf == "positions":
        return rng.normal(0.0, 1.0, shape)  # as large as the sinusoids it replaces
    if leaf.startswith("b_") or leaf == "bias":
        return rng.normal(0.0, 0.1, shape)
    fan_in = shape[-2]
    return rng.normal(0.0, fan_in ** -0.5, shape)


PROJECTION_BIASES = frozenset({"b_q", "b_k", "b_v", "b_o"})
"""The attention projections' biases, zero under ``projection_bias=False``."""


def init_params(config: TransformerConfig, seed: int = 0) -> Params:
    """A seeded canonical parameter tree (float64) for ``config``.

    Under ``config.projection_bias=False`` the attention biases are zeros (the tree keeps its names
    and shapes), so that a bias-free implementation (tensor2tensor, T5) holds the same function;
    every other leaf is what the default configuration draws.
    """
    rng = np.random.default_rng(seed)
    flat = {name: _draw(rng, name, shape, config.d_model) for name, shape in param_shapes(config).items()}
    if not config.projection_bias:
        flat.update({name: np.zeros_like(leaf) for name, leaf in flat.items()
                     if name.rsplit(".", 1)[-1] in PROJECTION_BIASES})
    return unflatten(flat)


def flatten(tree: Tree, prefix: str = "") -> dict[str, Any]:
    """``{dotted name: leaf}`` of a nested dict/list tree."""
    if isinstance(tree, dict):
        items = tree.items()
    elif isinstance(tree, list):
        items = ((str(i), v) for i, v in enumerate(tree))
    else:
        return {prefix: tree}
    flat: dict[str, Any] = {}
    for key, value in items:
        flat.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    return flat


def unflatten(flat: dict[str, Any]) -> Params:
    """Inverse of :func:`flatten`; numeric path parts become list indices."""
    root: dict[str, Any] = {}
    for name, leaf in flat.items():
        node = root
        parts = name.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = leaf
    return _lists(root)


def _lists(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    if node and all(k.isdigit() for k in node):
        return [_lists(node[str(i)]) for i in range(len(node))]
    return {k: _lists(v) for k, v in node.items()}


def map_tree(fn: Any, tree: Tree) -> Any:
    """Apply ``fn`` to every leaf, keeping the structure."""
    return unflatten({k: fn(v) for k, v in flatten(tree).items()})
