"""Numerically broken versions of the project's PyTorch functions: right on paper, wrong in floating point.

Each mirrors the signature of the function it replaces and differs in exactly the way its name says.
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor


def softmax_without_max_subtraction(x: Tensor, dim: int, dtype: Optional[torch.dtype] = None) -> Tensor:
    """exp(x) / sum exp(x) as written in §3.2.1, without subtracting the row maximum first.

    exp overflows to inf above 88.7 in float32 (709.8 in float64) and inf / inf is NaN; a row of large
    negative scores underflows to 0 / 0.  Replaces ``torch.softmax`` (the math path of Eq. (1) calls it).
    """
    e = torch.exp(x if dtype is None else x.to(dtype))
    return e / e.sum(dim=dim, keepdim=True)
