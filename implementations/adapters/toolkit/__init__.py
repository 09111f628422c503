"""The adapter toolkit: the conversions most adapters repeat, public and tested.

- :mod:`.masks`: the protocol's mask (True = may attend) as True = masked, additive float,
  key-padding, shared (seq_q, seq_k), or per-head (batch * heads, seq_q, seq_k) masks.
- :mod:`.heads`: canonical per-head weights <-> fused ``(d_model, heads * d)`` and torch
  ``in_proj_weight`` layouts.
- :mod:`.weights`: :func:`load_canonical` (the canonical tree under a module's parameter names,
  checked), :func:`run_with` (``functional_call`` off torch's inference fast path) and
  :func:`run_canonical` (both in one call).
- :mod:`.modules`: :func:`swapped` and :func:`without`, submodules replaced within a ``with`` (an output
  head removed).
- :mod:`.dropout`: :func:`keep_masks_into`, the suite's keep-masks in a module's ``nn.Dropout``.
- :mod:`.numpy_bridge`: :func:`numpy_function`, NumPy/JAX code with a VJP as a differentiable torch function.
- :mod:`.jax_bridge`: :func:`jax_function`, a JAX function jitted (fast-compile XLA options) with its
  ``jax.vjp``, through :func:`numpy_function`; JAX is imported at its first call, not here.
- :mod:`.measured`: :func:`sdpa_fully_masked`, the fully-masked-query behaviour of torch's SDPA on a target.

The README's "Adapter authoring guide" shows them in use.
"""
from transformer_spec.implementations.adapters.toolkit.dropout import apply_keep, keep_masks_into
from transformer_spec.implementations.adapters.toolkit.heads import (fuse, fuse_bias, from_in_proj, in_proj, mha_state,
                                                    require_fused_shape, unfuse)
from transformer_spec.implementations.adapters.toolkit.jax_bridge import jax_function
from transformer_spec.implementations.adapters.toolkit.masks import (additive, key_padding, masked_out, per_head, shared,
                                                    shared_and_padding)
from transformer_spec.implementations.adapters.toolkit.measured import sdpa_fully_masked
from transformer_spec.implementations.adapters.toolkit.modules import swapped, without
from transformer_spec.implementations.adapters.toolkit.numpy_bridge import numpy_function
from transformer_spec.implementations.adapters.toolkit.weights import (Rule, check_weights, dims_of, load_canonical, run_canonical,
                                                      run_with, transposed)

__all__ = ["Rule", "additive", "apply_keep", "check_weights", "dims_of", "from_in_proj", "fuse", "fuse_bias",
           "in_proj", "jax_function", "keep_masks_into", "key_padding", "load_canonical", "masked_out", "mha_state",
           "numpy_function", "per_head", "require_fused_shape", "run_canonical", "run_with", "sdpa_fully_masked",
           "shared", "shared_and_padding", "swapped", "transposed", "unfuse", "without"]
