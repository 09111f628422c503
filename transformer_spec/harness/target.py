"""Where and in what precision an implementation runs: chosen by options, never by globals."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from reference.errors import SpecUsageError

DTYPES: dict[str, torch.dtype] = {
    "float64": torch.float64, "float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16,
}
DEVICES = ("auto", "cpu", "cuda")


@dataclass(frozen=True)
class Target:
    """A device (``cpu`` or ``cuda``) and a floating dtype name (``float64`` ...)."""

    device: str = "cpu"
    dtype: str = "float64"

    @property
    def torch_dtype(self) -> torch.dtype:
        return DTYPES[self.dtype]

    @property
    def torch_device(self) -> torch.device:
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
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise SpecUsageError("--device", device, "CUDA was asked for but this machine has no usable CUDA device")
    return Target(device, dtype)
