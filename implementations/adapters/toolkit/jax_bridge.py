"""JAX functions as differentiable torch functions: ``jax.jit`` with fast-compile XLA options, ``jax.vjp``
pullbacks, and the toolkit's :func:`numpy_function` in between.

JAX is imported on the first call, not with this module, so the toolkit imports without it.  JAX runs on its
default backend; results come back on the target's device.  float64 needs JAX's process-wide
``jax_enable_x64`` (the adapter sets it); a result in another dtype than its inputs' raises rather than being
cast.  NumPy, hence the bridge, has no bfloat16.
"""
from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any, Callable, overload

import numpy as np
from torch import Tensor

from transformer_spec.implementations.adapters.toolkit.numpy_bridge import numpy_function

if TYPE_CHECKING:
    import jax

FAST_COMPILE = {"xla_backend_optimization_level": 0, "xla_cpu_use_fusion_emitters": False}
"""XLA options that cut compile time about fivefold on CPU, where compiling (afresh for each shape Hypothesis
draws) costs far more than running; the same arithmetic.  An XLA that lacks one compiles with its defaults."""

TorchFunction = Callable[..., Tensor]


@lru_cache(maxsize=None)
def compile_options() -> dict[str, Any]:
    """:data:`FAST_COMPILE` where this jax and XLA accept it, else none (probed once, on a scalar)."""
    import jax
    try:
        jax.jit(lambda x: x, compiler_options=FAST_COMPILE)(0.0)
    except (TypeError, RuntimeError):  # an older jax.jit, or an XLA without the option
        return {}
    return FAST_COMPILE


def _is_float(dtype: Any) -> bool:
    return bool(np.issubdtype(dtype, np.inexact))


@overload
def jax_function(fn: Callable[..., jax.Array], outputs: None = None) -> TorchFunction: ...
@overload
def jax_function(fn: Callable[..., tuple[jax.Array, ...]], outputs: int) -> tuple[TorchFunction, ...]: ...


def jax_function(fn: Callable[..., Any], outputs: int | None = None) -> TorchFunction | tuple[TorchFunction, ...]:
    """``fn(*arrays)`` as a torch function differentiable in its floating-point arguments.

    ``outputs=None``: ``fn`` returns one array, and one torch function comes back.  ``outputs=n``: ``fn``
    returns a tuple of n arrays, and n torch functions come back, one per result, sharing one jitted forward
    (one compilation per shapes and dtypes for all results).  Arguments of another dtype (a boolean mask)
    get no gradient.  A result's pullback, ``jax.vjp`` of it jitted, compiles only when its gradient is
    asked for.  Both compile with :func:`compile_options`.  Limits: those of :func:`numpy_function` (one
    output per torch function, no second derivatives).
    """
    import jax
    options = compile_options()
    forward = jax.jit(fn, compiler_options=options)

    def result(i: int | None) -> TorchFunction:
        pick: Callable[[Any], Any] = (lambda r: r) if i is None else (lambda r: r[i])

        def pullback(*args: jax.Array) -> tuple[jax.Array, ...]:
            """The cotangents of the floating-point inputs, in order, given theirs (``args[:-1]``) and the
            result's (``args[-1]``, of the result's shape)."""
            *inputs, grad = args
            wrt = [n for n, x in enumerate(inputs) if _is_float(x.dtype)]

            def of_floats(*floats: jax.Array) -> jax.Array:
                full = list(inputs)
                for n, x in zip(wrt, floats):
                    full[n] = x
                return pick(fn(*full))
            _, vjp = jax.vjp(of_floats, *(inputs[n] for n in wrt))
            return vjp(grad)
        jitted_pullback = jax.jit(pullback, compiler_options=options)

        def value(*arrays: np.ndarray) -> np.ndarray:
            out = np.asarray(pick(forward(*arrays)))
            dtype = next(a.dtype for a in arrays if _is_float(a.dtype))
            if out.dtype != dtype:
                raise TypeError(f"JAX computed in {out.dtype}, not in its inputs' {dtype} (float64 needs "
                                f"jax_enable_x64)")
            return out

        def grads(*args: np.ndarray) -> list[np.ndarray | None]:
            computed = iter(jitted_pullback(*args))
            return [next(computed) if _is_float(a.dtype) else None for a in args[:-1]]

        return numpy_function(value, grads)

    return result(None) if outputs is None else tuple(result(i) for i in range(outputs))
