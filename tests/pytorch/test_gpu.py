"""CUDA checks: device and dtype are arguments (float32/float64/float16/bfloat16), fast attention path on GPU kernels."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from transformer_spec.reference import layers as ref
from transformer_spec.reference.config import TransformerConfig
from transformer_spec.reference.params import init_params
from transformer_spec.implementations.pytorch import Transformer, beam_search, greedy_decode, load_canonical, make_optimizer, noam_scheduler, train_step
from transformer_spec.implementations.pytorch import functional as fn

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")]

TOLERANCE = {torch.float64: 1e-10, torch.float32: 1e-4, torch.float16: 3e-2, torch.bfloat16: 1e-1}


@pytest.mark.parametrize("dtype", list(TOLERANCE))
def test_forward_on_cuda_matches_reference(dtype):
    c = TransformerConfig.small()
    params = init_params(c, 0)
    model = load_canonical(Transformer(c, device="cuda", dtype=dtype), params).eval()
    src, tgt = np.array([[1, 2, 3, 0], [0, 0, 0, 0]]), np.array([[0, 4, 5], [6, 7, 0]])
    with torch.no_grad():
        ours = model(torch.tensor(src, device="cuda"), torch.tensor(tgt, device="cuda"))
    assert ours.device.type == "cuda" and ours.dtype == dtype
    assert np.max(np.abs(ours.double().cpu().numpy() - ref.transformer_forward(src, tgt, params, c))) <= TOLERANCE[dtype]


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32])
def test_fast_attention_fully_masked_rows_are_zero_on_cuda(dtype):
    q = torch.randn(2, 2, 3, 8, device="cuda", dtype=dtype, requires_grad=True)
    mask = torch.tensor([True, False, False], device="cuda")[None, None, :, None].expand(2, 1, 3, 3)
    out, _ = fn.scaled_dot_product_attention(q, q, q, mask)
    out.float().sum().backward()
    assert torch.equal(out[:, :, 1:], torch.zeros_like(out[:, :, 1:])) and torch.isfinite(q.grad).all()


def test_decoding_and_training_step_on_cuda():
    c = TransformerConfig.small()
    model = Transformer(c, device="cuda")
    src = torch.tensor([[1, 2, 3], [4, 5, 0]], device="cuda")
    assert len(greedy_decode(model.eval(), src, 1, 2, 5)) == 2 and len(beam_search(model, src, 1, 2, 5)) == 2
    optimizer = make_optimizer(model.parameters())
    scheduler = noam_scheduler(optimizer, c.d_model, c.warmup_steps)
    loss = train_step(model.train(), optimizer, scheduler, src, src, src, c, autocast_dtype=torch.bfloat16)
    assert torch.isfinite(loss)
