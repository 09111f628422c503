"""``--impl keras-mha``: Keras 3 ``keras.layers.MultiHeadAttention`` as multi-head attention, §3.2.2.

Keras picks its backend once, at its first import, from ``KERAS_BACKEND``: this module sets it to ``jax``
unless the user chose one.  On jax the layer's ``stateless_call`` on the canonical weights becomes a torch
function by the toolkit's ``jax_function`` (jitted with fast-compile XLA options, gradients by ``jax.vjp``:
``differentiable``).  A forced ``numpy`` backend runs forward only, and not in float64 (Keras's type promotion
turns float64 into float32 there, ``keras/src/backend/common/dtypes.py``); other backends (tensorflow, torch)
are refused with a usage error rather than half-supported.  float64 needs JAX's process-wide
``jax_enable_x64``, switched on when the target is float64; a result in another dtype than the target's is an
error (``jax_function`` checks), never passed off.
"""
from __future__ import annotations

import os
from functools import lru_cache
from typing import Any, Callable, Mapping, NoReturn

import numpy as np
import torch
from torch import Tensor

from transformer_spec.harness.target import Target
from transformer_spec.implementations.adapters.toolkit import jax_function, numpy_function
from transformer_spec.implementations.protocol import Unsupported
from transformer_spec.reference.errors import SpecUsageError

PROJECTIONS = {"query": "q", "key": "k", "value": "v"}  # Keras sublayer -> canonical suffix


def _require_backend(backend: str) -> str:
    if backend not in ("jax", "numpy"):
        raise SpecUsageError("KERAS_BACKEND", backend, "keras-mha runs Keras on jax (or numpy, forward only); "
                                                       "unset KERAS_BACKEND or set it to jax")
    return backend


_require_backend(os.environ.setdefault("KERAS_BACKEND", "jax"))  # before a missing tensorflow fails the import
import keras  # noqa: E402  (the backend is chosen first)

BACKEND = _require_backend(keras.backend.backend())  # keras may have been imported before, on another backend


def _keras_weights(params: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """The canonical block under the layer's variable names, in its layouts (torch ops: gradients flow back)."""
    heads, _, d_v = params["w_v"].shape
    weights = {f"{name}/kernel": params[f"w_{p}"].permute(1, 0, 2)  # (heads, d_model, d) -> (d_model, heads, d)
               for name, p in PROJECTIONS.items()}
    weights |= {f"{name}/bias": params[f"b_{p}"] for name, p in PROJECTIONS.items()}  # (heads, d)
    weights["attention_output/kernel"] = params["w_o"].reshape(heads, d_v, -1)  # (heads, d_v, d_model)
    weights["attention_output/bias"] = params["b_o"]
    return weights


@lru_cache(maxsize=None)
def _layer(heads: int, d_model: int, d_k: int, d_v: int, dtype: str) -> keras.layers.MultiHeadAttention:
    """A built layer; zero initial weights, since JAX would compile a random initializer per shape for nothing."""
    layer = keras.layers.MultiHeadAttention(num_heads=heads, key_dim=d_k, value_dim=d_v, output_shape=d_model,
                                            kernel_initializer="zeros", bias_initializer="zeros", dtype=dtype)
    layer.build((1, 1, d_model), (1, 1, d_model), (1, 1, d_model))  # only the last axis is fixed
    return layer


def _no_gradients(*arrays: np.ndarray) -> NoReturn:
    raise RuntimeError("Keras's numpy backend has no gradients (keras-mha declares differentiable = False)")


@lru_cache(maxsize=None)
def _bridged(heads: int, d_model: int, d_k: int, d_v: int, dtype: str) -> tuple[Callable[..., Tensor], list[str]]:
    """A torch function (query, key, value, mask, *variables) -> out and weights raveled into one vector
    (no gradient for the boolean mask; none at all on numpy), and the layer's variable names in the order it
    takes them."""
    layer = _layer(heads, d_model, d_k, d_v, dtype)

    def packed(query: Any, key: Any, value: Any, mask: Any, *variables: Any) -> Any:
        (out, scores), _ = layer.stateless_call(list(variables), [], query, value, key=key, attention_mask=mask,
                                                return_attention_scores=True)
        return keras.ops.concatenate([keras.ops.ravel(out), keras.ops.ravel(scores)])
    bridged = jax_function(packed) if BACKEND == "jax" else numpy_function(packed, _no_gradients)
    return bridged, [v.path.split("/", 1)[1] for v in layer.trainable_variables]


def _keras_mask(mask: Tensor | None, batch: int, heads: int, seq_q: int, seq_k: int, device: torch.device) -> Tensor:
    """Keras's ``attention_mask`` (batch, seq_q, seq_k), True = may attend, from the protocol's mask."""
    if mask is None:
        return torch.ones(batch, seq_q, seq_k, dtype=torch.bool, device=device)
    m = mask.expand(batch, heads, seq_q, seq_k)
    if not bool((m == m[:, :1]).all()):
        raise Unsupported("this mask differs between heads; Keras's attention_mask (batch, seq_q, seq_k) is "
                          "shared by the heads")
    return m[:, 0]


class KerasMHA:
    """No deviation.  A query that may attend to no key gets zero weights (out = b_o), the paper's
    ``fully_masked="zeros"``: ``keras/src/layers/activations/softmax.py``, ``Softmax.call``, fills masked
    scores with ``_large_negative_number`` (-1e9; -3e4 in float16), then zeroes the masked weights "in case
    the entire axis is masked".  ``attention`` is not offered: the layer cannot compute Eq. (1) alone.
    bfloat16 is Unsupported: the NumPy bridge has no such dtype."""

    name, version = "keras-mha", keras.__version__
    offers = frozenset({"multi_head_attention"})
    deviations: dict[str, Any] = {}
    differentiable = BACKEND == "jax"

    def __init__(self, target: Target) -> None:
        self.target = target
        if target.dtype == "float64" and BACKEND == "numpy":
            raise SpecUsageError("--dtype", "float64", "Keras's numpy backend computes float64 in float32 (its "
                                 "type promotion, keras/src/backend/common/dtypes.py: result_type); use jax")
        if target.dtype == "float64":
            import jax
            jax.config.update("jax_enable_x64", True)  # process-wide; without it Keras's float64 is float32

    def multi_head_attention(self, query: Tensor, key: Tensor, value: Tensor, params: Mapping[str, Tensor],
                             mask: Tensor | None) -> tuple[Tensor, Tensor]:
        """Shapes: query (batch, seq_q, d_model), key and value (batch, seq_k, d_model)
        -> out (batch, seq_q, d_model), weights (batch, heads, seq_q, seq_k)."""
        if self.target.dtype == "bfloat16":
            raise Unsupported("the NumPy bridge cannot carry bfloat16 (NumPy has no such dtype)")
        (heads, d_model, d_k), d_v = params["w_q"].shape, params["w_v"].shape[2]
        (batch, seq_q, _), seq_k = query.shape, key.shape[1]
        fn, names = _bridged(heads, d_model, d_k, d_v, self.target.dtype)
        weights = _keras_weights(params)
        flat = fn(query, key, value, _keras_mask(mask, batch, heads, seq_q, seq_k, query.device),
                  *(weights[name] for name in names))  # (batch * seq_q * d_model + batch * heads * seq_q * seq_k,)
        split = batch * seq_q * d_model
        return flat[:split].reshape(batch, seq_q, d_model), flat[split:].reshape(batch, heads, seq_q, seq_k)
