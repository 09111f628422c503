"""Position-wise feed-forward network, §3.3."""
from __future__ import annotations

from typing import Mapping

import numpy as np

from transformer_spec.reference.checks import require_equal


def position_wise_ffn(x: np.ndarray, params: Mapping[str, np.ndarray]) -> np.ndarray:
    r"""FFN(x) = max(0, x W_1 + b_1) W_2 + b_2, applied to each position alike.

    Paper: §3.3, Eq. (2).
    Shapes: x (..., d_model); w_1 (d_model, d_ff), b_1 (d_ff,), w_2 (d_ff, d_model),
    b_2 (d_model,) -> (..., d_model).
    """
    x = np.asarray(x, dtype=np.float64)
    require_equal("x.shape[-1] (d_model)", x.shape[-1], "w_1.shape[0]", params["w_1"].shape[0])
    hidden = np.maximum(0.0, x @ params["w_1"] + params["b_1"])  # (..., d_ff)
    return hidden @ params["w_2"] + params["b_2"]
