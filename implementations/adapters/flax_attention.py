"""``--impl flax-attention``: Flax's attention as Eq. (1) and as multi-head attention, §3.2.1-3.2.2.

``attention`` is ``flax.linen.dot_product_attention`` (output) and ``dot_product_attention_weights`` (weights).
``multi_head_attention`` is ``flax.linen.MultiHeadDotProductAttention``: Linen, not NNX's ``MultiHeadAttention``
(same kernels, same attention function), because most Flax Transformer code and checkpoints in use (T5X,
big_vision, Scenic, MaxText, Gemma) are built on it.  W_i^Q, W_i^K, W_i^V become its query/key/value kernels
(d_model, heads, d_k), W^O its out kernel (heads, d_v, d_model).  ``heads`` is not offered: Flax has no
split/concat function (``DenseGeneral`` projects straight to (heads, d)).

Gradients: each result is a torch function by the toolkit's ``jax_function`` (``jax.jit`` with fast-compile XLA
options, ``jax.vjp`` through ``numpy_function``); JAX runs on its default backend, results return to the target's
device.  float64: JAX computes in float32 unless ``jax_enable_x64`` is set, a process-wide flag, so a float64
target sets it when the adapter is made, and a result in another dtype than the target's raises.  NumPy, hence
the bridge, has no bfloat16.
"""
from __future__ import annotations

from typing import Any, Mapping

import flax
import flax.linen as nn
import jax
from torch import Tensor

from transformer_spec.harness.target import Target
from transformer_spec.implementations.adapters.toolkit import jax_function
from transformer_spec.implementations.protocol import ParameterMismatch, Unsupported

BLOCK = ("w_q", "b_q", "w_k", "b_k", "w_v", "b_v", "w_o", "b_o")  # the canonical block, in the bridged order


def _flax_layout(x: jax.Array) -> jax.Array:
    """(batch, heads, seq, d) <-> Flax's (batch, seq, heads, d)."""
    return x.swapaxes(-3, -2)


def _eq1(q: jax.Array, k: jax.Array, v: jax.Array, mask: jax.Array | None = None) -> tuple[jax.Array, jax.Array]:
    """Eq. (1) and its weights. Shapes: q (batch, heads, seq_q, d_k), k (..., seq_k, d_k), v (..., seq_k, d_v)
    -> out (..., seq_q, d_v), weights (..., seq_q, seq_k)."""
    q, k, v = _flax_layout(q), _flax_layout(k), _flax_layout(v)
    out = nn.dot_product_attention(q, k, v, mask=mask, deterministic=True)  # (batch, seq_q, heads, d_v)
    return _flax_layout(out), nn.dot_product_attention_weights(q, k, mask=mask, deterministic=True)


def _multi_head(query: jax.Array, key: jax.Array, value: jax.Array, *block: jax.Array) -> tuple[jax.Array, jax.Array]:
    """MultiHead(Q, K, V) and its weights on the canonical ``BLOCK`` (a mask may follow it).

    Shapes: query (batch, seq_q, d_model), key and value (batch, seq_k, d_model)
    -> out (batch, seq_q, d_model), weights (batch, heads, seq_q, seq_k).
    """
    p = dict(zip(BLOCK + ("mask",), block))
    heads, d_model, d_k = p["w_q"].shape
    dense = {r: {"kernel": p[f"w_{r[0]}"].swapaxes(0, 1), "bias": p[f"b_{r[0]}"]}  # -> (d_model, heads, d_k)
             for r in ("query", "key", "value")}
    out = {"kernel": p["w_o"].reshape(heads, -1, d_model), "bias": p["b_o"]}  # -> (heads, d_v, d_model)
    module = nn.MultiHeadDotProductAttention(num_heads=heads, qkv_features=heads * d_k, out_features=d_model)
    result, state = module.apply({"params": dense | {"out": out}}, query, key, value, mask=p.get("mask"),
                                 sow_weights=True, mutable=["intermediates"])
    return result, state["intermediates"]["attention_weights"][0]


# each pair shares one jitted forward; the mask, boolean, gets no gradient
ATTENTION, ATTENTION_WEIGHTS = jax_function(_eq1, outputs=2)
MULTI_HEAD, MULTI_HEAD_WEIGHTS = jax_function(_multi_head, outputs=2)


class FlaxAttention:
    """Deviation: a query that may attend to no key gets uniform weights over all keys (the mean of V):
    ``dot_product_attention_weights`` in flax/linen/attention.py replaces masked scores by
    ``jnp.finfo(dtype).min``, not -inf, so a fully masked row has equal scores and the softmax spreads evenly."""

    name, version = "flax-attention", flax.__version__
    offers = frozenset({"attention", "multi_head_attention"})
    deviations: dict[str, Any] = {"fully_masked": "uniform"}
    differentiable = True

    def __init__(self, target: Target) -> None:
        self.target = target
        if target.dtype == "float64":
            jax.config.update("jax_enable_x64", True)

    def _args(self, *tensors: Tensor, mask: Tensor | None) -> tuple[Tensor, ...]:
        """The bridged functions' arguments: the tensors, then the mask (True = may attend) unless None."""
        if self.target.dtype == "bfloat16":
            raise Unsupported("the NumPy bridge to JAX has no bfloat16 (NumPy lacks it)")
        return tensors if mask is None else (*tensors, mask)

    def attention(self, q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None) -> tuple[Tensor, Tensor]:
        """Shapes: q (batch, heads, seq_q, d_k), k (..., seq_k, d_k), v (..., seq_k, d_v)
        -> out (..., seq_q, d_v), weights (..., seq_q, seq_k)."""
        args = self._args(q, k, v, mask=mask)
        return ATTENTION(*args), ATTENTION_WEIGHTS(*args)

    def multi_head_attention(self, query: Tensor, key: Tensor, value: Tensor, params: Mapping[str, Tensor],
                             mask: Tensor | None) -> tuple[Tensor, Tensor]:
        """Shapes: query (batch, seq_q, d_model), key and value (batch, seq_k, d_model)
        -> out (batch, seq_q, d_model), weights (batch, heads, seq_q, seq_k)."""
        heads, d_model, d_k = params["w_q"].shape
        if params["w_v"].shape[2] != d_k:
            raise Unsupported(f"flax.linen.MultiHeadDotProductAttention has one qkv_features for queries, keys and "
                              f"values, so d_k = d_v = qkv_features / heads; got heads={heads}, d_model={d_model}, "
                              f"d_k={d_k}, d_v={params['w_v'].shape[2]}")
        args = self._args(query, key, value, *(params[name] for name in BLOCK), mask=mask)
        try:
            return MULTI_HEAD(*args), MULTI_HEAD_WEIGHTS(*args)
        except flax.errors.ScopeParamShapeError as exc:  # a canonical weight of another shape than Flax's kernel
            raise ParameterMismatch(str(exc)) from exc
