"""The environment manifest: versions, device, GPU and driver, precision flags, Hypothesis settings."""
from __future__ import annotations

import platform
import shutil
import subprocess
from typing import Any

import hypothesis
import numpy as np
import torch

from transformer_spec import __version__
from transformer_spec.harness.target import Target


def precision_flags() -> dict[str, Any]:
    """The process-wide switches that change float32 matmul results (TF32 and friends)."""
    return {"float32_matmul_precision": torch.get_float32_matmul_precision(),
            "cuda_matmul_allow_tf32": bool(torch.backends.cuda.matmul.allow_tf32),
            "cudnn_allow_tf32": bool(torch.backends.cudnn.allow_tf32),
            "deterministic_algorithms": torch.are_deterministic_algorithms_enabled()}


def _driver_version() -> str | None:
    if shutil.which("nvidia-smi") is None:
        return None
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=10, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return out.strip().splitlines()[0] if out.strip() else None


def gpu_info(target: Target) -> dict[str, Any]:
    """GPU name, CUDA and cuDNN versions and the driver, when the run is on CUDA."""
    if target.device != "cuda":
        return {"name": None, "cuda": torch.version.cuda, "cudnn": None, "driver": None}
    return {"name": torch.cuda.get_device_name(0), "cuda": torch.version.cuda,
            "cudnn": torch.backends.cudnn.version(), "driver": _driver_version()}


def hypothesis_settings(profile: str | None, seed: Any) -> dict[str, Any]:
    """The Hypothesis profile and seed; a derandomized profile needs no seed to replay."""
    chosen = hypothesis.settings.get_profile(profile) if profile else hypothesis.settings.default
    return {"version": hypothesis.__version__, "profile": profile, "seed": None if seed is None else str(seed),
            "derandomize": bool(chosen.derandomize), "max_examples": int(chosen.max_examples)}


def environment(target: Target, profile: str | None, seed: Any) -> dict[str, Any]:
    """The manifest written into report.json and every reproduction bundle."""
    return {"transformer_spec": __version__, "python": platform.python_version(),
            "platform": platform.platform(), "numpy": np.__version__, "torch": torch.__version__,
            "device": target.device, "dtype": target.dtype, "gpu": gpu_info(target),
            "precision": precision_flags(), "hypothesis": hypothesis_settings(profile, seed)}
