"""The flax-attention adapter on fixed shapes: both offered components and a gradient against the reference,
each declaration, float64 kept float64, and what Flax's multi-head module cannot express."""
from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

flax = pytest.importorskip("flax")

from transformer_spec.harness.loading import load  # noqa: E402  (after the importorskip)
from transformer_spec.harness.target import Target  # noqa: E402
from transformer_spec.implementations.protocol import ParameterMismatch, Unsupported  # noqa: E402
from transformer_spec.reference.attention import multi_head_attention, scaled_dot_product_attention  # noqa: E402
from transformer_spec.reference.config import TransformerConfig  # noqa: E402
from transformer_spec.reference.params import map_tree  # noqa: E402

from .support import TIGHT, attention_block, key_mask  # noqa: E402

# d_k = d_model / heads, and 3 heads of width 4 on d_model = 10 (Flax's qkv_features need not be d_model)
CONFIGS = [TransformerConfig.small(), TransformerConfig.small(d_model=10, heads=3, d_k=4, d_v=4)]


@pytest.fixture(scope="module")
def impl() -> Any:
    return load("flax-attention", Target())


def test_attention_matches_reference(impl: Any) -> None:
    rng = np.random.default_rng(0)
    q, k, v = rng.normal(size=(2, 3, 4, 5)), rng.normal(size=(2, 3, 6, 5)), rng.normal(size=(2, 3, 6, 7))
    for mask in (None, key_mask(2, 6)):
        out, weights = impl.attention(torch.tensor(q), torch.tensor(k), torch.tensor(v),
                                      None if mask is None else torch.tensor(mask))
        ref_out, ref_weights = scaled_dot_product_attention(q, k, v, mask)
        np.testing.assert_allclose(out.numpy(), ref_out, **TIGHT)
        np.testing.assert_allclose(weights.numpy(), ref_weights, **TIGHT)


@pytest.mark.parametrize("c", CONFIGS, ids=["small", "three-heads-of-4-on-10"])
def test_multi_head_attention_matches_reference(impl: Any, c: TransformerConfig) -> None:
    rng = np.random.default_rng(1)
    query, memory, mask, block = rng.normal(size=(2, 4, c.d_model)), rng.normal(size=(2, 5, c.d_model)), \
        key_mask(2, 5), attention_block(c)
    out, weights = impl.multi_head_attention(torch.tensor(query), torch.tensor(memory), torch.tensor(memory),
                                             map_tree(torch.tensor, block), torch.tensor(mask))
    ref_out, ref_weights = multi_head_attention(query, memory, memory, block, mask)
    np.testing.assert_allclose(out.numpy(), ref_out, **TIGHT)
    np.testing.assert_allclose(weights.numpy(), ref_weights, **TIGHT)


def test_gradients_through_the_bridge_match_central_differences_of_the_reference(impl: Any) -> None:
    """d sum(out * c) / d q, k, v along random directions, with a key mask (jax.vjp through numpy_function)."""
    rng, mask = np.random.default_rng(2), key_mask(2, 4)
    arrays = [rng.normal(size=(2, 3, 3, 5)), rng.normal(size=(2, 3, 4, 5)), rng.normal(size=(2, 3, 4, 2))]
    tensors = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, _ = impl.attention(*tensors, torch.tensor(mask))
    cotangent = rng.normal(size=tuple(out.shape))
    grads = torch.autograd.grad(out, tensors, torch.tensor(cotangent))
    h = 1e-6
    for i, (name, grad) in enumerate(zip("qkv", grads)):
        d = rng.normal(size=arrays[i].shape)
        moved = lambda s: scaled_dot_product_attention(*(a + s * h * d if j == i else a for j, a in enumerate(arrays)),
                                                       mask)[0]
        desired = float(((moved(1) - moved(-1)) * cotangent).sum() / (2 * h))
        assert float((grad.numpy() * d).sum()) == pytest.approx(desired, rel=1e-6, abs=1e-7), name


def test_declarations() -> None:
    from transformer_spec.implementations.adapters.flax_attention import FlaxAttention
    assert FlaxAttention.deviations == {"fully_masked": "uniform"}
    assert FlaxAttention.offers == {"attention", "multi_head_attention"} and FlaxAttention.differentiable
    assert FlaxAttention.version == flax.__version__


def test_a_query_that_sees_no_key_gets_uniform_weights(impl: Any) -> None:
    """Declared fully_masked="uniform": Flax fills masked scores with finfo(dtype).min, not -inf."""
    rng = np.random.default_rng(3)
    q, k, v = rng.normal(size=(1, 2, 3, 4)), rng.normal(size=(1, 2, 5, 4)), rng.normal(size=(1, 2, 5, 3))
    mask = np.ones((1, 1, 3, 5), dtype=bool)
    mask[0, 0, 1] = False
    out, weights = impl.attention(torch.tensor(q), torch.tensor(k), torch.tensor(v), torch.tensor(mask))
    np.testing.assert_allclose(weights.numpy()[0, :, 1], np.full((2, 5), 0.2), **TIGHT)
    np.testing.assert_allclose(out.numpy(), scaled_dot_product_attention(q, k, v, mask, "uniform")[0], **TIGHT)


def test_float64_sets_jax_enable_x64_and_float32_stays_float32() -> None:
    import jax
    rng = np.random.default_rng(4)
    q, k, v = rng.normal(size=(1, 2, 3, 4)), rng.normal(size=(1, 2, 5, 4)), rng.normal(size=(1, 2, 5, 3))
    load("flax-attention", Target())
    assert jax.config.jax_enable_x64
    out, _ = load("flax-attention", Target(dtype="float32")).attention(
        *(torch.tensor(a, dtype=torch.float32) for a in (q, k, v)), None)
    assert out.dtype == torch.float32
    np.testing.assert_allclose(out.numpy(), scaled_dot_product_attention(q, k, v)[0], rtol=1e-5, atol=1e-5)


def test_d_k_other_than_d_v_is_unsupported_in_multi_head_attention(impl: Any) -> None:
    c = TransformerConfig.small(d_k=3, d_v=5)
    x = torch.zeros(1, 2, c.d_model, dtype=torch.float64)
    with pytest.raises(Unsupported, match="one qkv_features"):
        impl.multi_head_attention(x, x, x, map_tree(torch.tensor, attention_block(c)), None)


def test_weights_that_do_not_fit_flax_kernels_are_refused_by_name(impl: Any) -> None:
    c = CONFIGS[0]
    block = map_tree(torch.tensor, attention_block(c))
    block["b_q"] = block["b_q"][:, :-1]
    x = torch.zeros(1, 2, c.d_model, dtype=torch.float64)
    with pytest.raises(ParameterMismatch, match='"bias" in "/query"'):
        impl.multi_head_attention(x, x, x, block, None)
