"""Argument checks shared by the reference functions (misuse, not nonconformance)."""
from __future__ import annotations

import numpy as np

from transformer_spec.reference.errors import SpecUsageError


def require_ndim(name: str, array: np.ndarray, ndim: int, shape_names: str) -> None:
    """Raise unless ``array`` has ``ndim`` axes, naming the expected shape."""
    if np.ndim(array) != ndim:
        raise SpecUsageError(f"{name}.shape", np.shape(array), f"expected {ndim} axes ({shape_names})")


def require_equal(name: str, value: int, other_name: str, other: int) -> None:
    """Raise unless two sizes that must agree do."""
    if value != other:
        raise SpecUsageError(name, value, f"must equal {other_name}={other}")


def require_broadcastable(name: str, shape: tuple[int, ...], target: tuple[int, ...], shape_names: str) -> None:
    """Raise unless ``shape`` broadcasts to ``target`` without growing it."""
    try:
        ok = np.broadcast_shapes(shape, target) == tuple(target)
    except ValueError:
        ok = False
    if not ok:
        raise SpecUsageError(f"{name}.shape", tuple(shape), f"must broadcast to {shape_names}={tuple(target)}")


def require_tokens(name: str, tokens: np.ndarray, vocab: int) -> None:
    """Raise unless ``tokens`` are integer ids in ``[0, vocab)``."""
    tokens = np.asarray(tokens)
    if not np.issubdtype(tokens.dtype, np.integer):
        raise SpecUsageError(f"{name}.dtype", tokens.dtype, "token ids must be integers")
    if tokens.size and (tokens.min() < 0 or tokens.max() >= vocab):
        raise SpecUsageError(name, (int(tokens.min()), int(tokens.max())), f"token ids must lie in [0, vocab={vocab})")
