"""Deviations of torch's own attention, measured on the target instead of guessed from the release."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from transformer_spec.reference.config import FullyMasked
from transformer_spec.harness.target import Target


def sdpa_fully_masked(target: Target) -> dict[str, FullyMasked]:
    """The ``fully_masked`` deviation of ``F.scaled_dot_product_attention`` on ``target``: {} when it gives zeros.

    What a query that may attend to no key gets changed between releases (NaN from the plain softmax
    before torch 2.5, zeros since the math backend's safe softmax) and can differ between backends,
    so the adapters measure it once instead of guessing.
    """
    device, dtype = target.torch_device, target.torch_dtype
    q = torch.ones(1, 1, 1, 1, device=device, dtype=dtype)
    v = torch.tensor([1.0, 3.0], device=device, dtype=dtype).reshape(1, 1, 2, 1)  # uniform weights give 2
    nobody = torch.zeros(1, 1, 1, 2, dtype=torch.bool, device=device)
    out = float(F.scaled_dot_product_attention(q, torch.ones_like(v), v, attn_mask=nobody))
    return {} if out == 0.0 else {"fully_masked": "nan" if out != out else "uniform"}
