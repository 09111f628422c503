"""Where and in what precision an implementation runs: chosen by options, never by globals.

torch is imported only when a target is resolved or used, so that the command line can name the
choices (``--help``, option checks) without paying for it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from transformer_spec.reference.errors import SpecUsageError

if TYPE_CHECKING:
    import torch

DTYPES = ("float64", "float32", "float16", "bfloat16")
"""The floating dtypes a run can be asked for, by their torch names."""
DEVICES = ("auto", "cpu", "cuda")


@dataclass(frozen=True)
class Target:
    """A device (``cpu`` or ``cuda``) and a floating dtype name (``float64`` ...)."""

    device: str = "cpu"
    dtype: str = "float64"

    @property
    def torch_dtype(self) -> torch.dtype:
        import torch
        return getattr(torch, self.dtype)

    @property
    def torch_device(self) -> torch.device:
        import torch
        return torch.device(self.device)

    @property
    def low_precision(self) -> bool:
        return self.dtype in ("float16", "bfloat16")


def resolve_target(device: str = "auto", dtype: str = "float64") -> Target:
    """Check the user's ``--device``/``--dtype`` and settle ``auto``."""
    if device not in DEVICES:
        raise SpecUsageError("--device", device, f"choose one of {', '.join(DEVICES)}")
    if dtype not in DTYPES:
        raise SpecUsageError("--dtype", dtype, f"choose one of {', '.join(DTYPES)}")
    if device == "cpu":
        return Target(device, dtype)
    import torch
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise SpecUsageError("--device", device, "CUDA was asked for but this machine has no usable CUDA device")
    return Target(device, dtype)
