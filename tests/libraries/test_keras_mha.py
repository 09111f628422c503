"""The keras-mha adapter on fixed shapes: outputs, weights and gradients (jax.vjp through the NumPy bridge)
against the reference, its declarations (no deviation: a query that sees no key gets zeros), float64 kept
float64, and what it refuses (a mask per head, bfloat16, backends other than jax and numpy)."""
from __future__ import annotations

import os
from typing import Any

import numpy as np
import pytest
import torch

os.environ.setdefault("KERAS_BACKEND", "jax")  # as the adapter does: Keras's own default is tensorflow
keras = pytest.importorskip("keras")

from transformer_spec.harness.loading import load  # noqa: E402  (after the importorskip)
from transformer_spec.harness.target import Target  # noqa: E402
from transformer_spec.implementations.adapters import keras_mha  # noqa: E402
from transformer_spec.implementations.protocol import Unsupported  # noqa: E402
from transformer_spec.reference.attention import multi_head_attention  # noqa: E402
from transformer_spec.reference.config import TransformerConfig  # noqa: E402
from transformer_spec.reference.errors import SpecUsageError  # noqa: E402
from transformer_spec.reference.params import map_tree  # noqa: E402

from .support import TIGHT, attention_block, key_mask  # noqa: E402

# d_k = d_v = d_model / heads, and 3 heads with d_k = 4 != d_v = 5 on d_model = 10 (Keras takes any key_dim, value_dim)
CONFIGS = [TransformerConfig.small(), TransformerConfig.small(d_model=10, heads=3, d_k=4, d_v=5)]


@pytest.fixture(scope="module")
def impl() -> Any:
    return load("keras-mha", Target())


def _call(impl: Any, query: np.ndarray, memory: np.ndarray, block: dict, mask: np.ndarray | None) -> tuple:
    return impl.multi_head_attention(torch.tensor(query), torch.tensor(memory), torch.tensor(memory),
                                     map_tree(torch.tensor, block), None if mask is None else torch.tensor(mask))


@pytest.mark.parametrize("c", CONFIGS, ids=["small", "d_k-4-d_v-5-on-10"])
@pytest.mark.parametrize("masked", [False, True], ids=["unmasked", "key-mask"])
def test_multi_head_attention_matches_reference(impl: Any, c: TransformerConfig, masked: bool) -> None:
    rng = np.random.default_rng(1)
    query, memory, block = rng.normal(size=(2, 4, c.d_model)), rng.normal(size=(2, 5, c.d_model)), attention_block(c)
    mask = key_mask(2, 5) if masked else None
    out, weights = _call(impl, query, memory, block, mask)
    ref_out, ref_weights = multi_head_attention(query, memory, memory, block, mask)
    assert out.dtype == weights.dtype == torch.float64
    np.testing.assert_allclose(out.numpy(), ref_out, **TIGHT)
    np.testing.assert_allclose(weights.numpy(), ref_weights, **TIGHT)


def test_gradients_through_the_bridge_match_central_differences_of_the_reference(impl: Any) -> None:
    """d sum(out * c) / d query, memory, W^Q, W^O along random directions, with a key mask."""
    c, rng, mask = CONFIGS[1], np.random.default_rng(2), key_mask(2, 4)
    block = attention_block(c)
    arrays = [rng.normal(size=(2, 3, c.d_model)), rng.normal(size=(2, 4, c.d_model)), block["w_q"], block["w_o"]]
    tensors = [torch.tensor(a, requires_grad=True) for a in arrays]
    params = map_tree(torch.tensor, block) | {"w_q": tensors[2], "w_o": tensors[3]}
    out, _ = impl.multi_head_attention(tensors[0], tensors[1], tensors[1], params, torch.tensor(mask))
    cotangent = rng.normal(size=tuple(out.shape))
    grads = torch.autograd.grad(out, tensors, torch.tensor(cotangent))

    def reference(query: np.ndarray, memory: np.ndarray, w_q: np.ndarray, w_o: np.ndarray) -> np.ndarray:
        return multi_head_attention(query, memory, memory, block | {"w_q": w_q, "w_o": w_o}, mask)[0]
    h = 1e-6
    for i, (name, grad) in enumerate(zip(("query", "memory", "w_q", "w_o"), grads)):
        d = rng.normal(size=arrays[i].shape)
        moved = lambda s: reference(*(a + s * h * d if j == i else a for j, a in enumerate(arrays)))
        desired = float(((moved(1) - moved(-1)) * cotangent).sum() / (2 * h))
        assert float((grad.numpy() * d).sum()) == pytest.approx(desired, rel=1e-6, abs=1e-7), name


def test_declarations() -> None:
    assert keras_mha.KerasMHA.deviations == {}
    assert keras_mha.KerasMHA.offers == {"multi_head_attention"} and keras_mha.KerasMHA.differentiable
    assert keras_mha.KerasMHA.version == keras.__version__ and keras.backend.backend() == "jax"


def test_a_query_that_sees_no_key_gets_zero_weights(impl: Any) -> None:
    """The paper's fully_masked="zeros", undeclared: Keras's Softmax zeroes the masked weights after its -1e9 fill."""
    c, rng = CONFIGS[1], np.random.default_rng(3)
    query, memory, block = rng.normal(size=(1, 3, c.d_model)), rng.normal(size=(1, 5, c.d_model)), attention_block(c)
    mask = np.ones((1, 1, 3, 5), dtype=bool)
    mask[0, 0, 1] = False
    out, weights = _call(impl, query, memory, block, mask)
    np.testing.assert_array_equal(weights.numpy()[0, :, 1], 0.0)
    np.testing.assert_allclose(out.numpy()[0, 1], block["b_o"], **TIGHT)
    np.testing.assert_allclose(out.numpy(), multi_head_attention(query, memory, memory, block, mask, "zeros")[0],
                               **TIGHT)


def test_float64_sets_jax_enable_x64_and_float32_stays_float32() -> None:
    import jax
    c, rng = CONFIGS[0], np.random.default_rng(4)
    query, memory, block = rng.normal(size=(1, 2, c.d_model)), rng.normal(size=(1, 3, c.d_model)), attention_block(c)
    load("keras-mha", Target())
    assert jax.config.jax_enable_x64
    as32 = lambda a: torch.tensor(a, dtype=torch.float32)
    out, weights = load("keras-mha", Target(dtype="float32")).multi_head_attention(
        as32(query), as32(memory), as32(memory), map_tree(as32, block), None)
    assert out.dtype == weights.dtype == torch.float32
    np.testing.assert_allclose(out.numpy(), multi_head_attention(query, memory, memory, block)[0], rtol=1e-5, atol=1e-5)


def test_a_mask_that_differs_between_heads_is_unsupported(impl: Any) -> None:
    c = CONFIGS[0]
    x = np.zeros((1, 2, c.d_model))
    mask = np.ones((1, c.heads, 2, 2), dtype=bool)
    mask[0, 0, 0, 0] = False
    with pytest.raises(Unsupported, match="differs between heads"):
        _call(impl, x, x, attention_block(c), mask)


def test_bfloat16_is_unsupported() -> None:
    x = torch.zeros(1, 2, CONFIGS[0].d_model, dtype=torch.bfloat16)
    block = map_tree(lambda a: torch.tensor(a, dtype=torch.bfloat16), attention_block(CONFIGS[0]))
    with pytest.raises(Unsupported, match="bfloat16"):
        load("keras-mha", Target(dtype="bfloat16")).multi_head_attention(x, x, x, block, None)


def test_other_backends_and_float64_on_numpy_are_usage_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keras's backend is fixed at its import: the checks are called directly."""
    for backend in ("tensorflow", "torch"):
        with pytest.raises(SpecUsageError, match="KERAS_BACKEND"):
            keras_mha._require_backend(backend)
    monkeypatch.setattr(keras_mha, "BACKEND", "numpy")
    with pytest.raises(SpecUsageError, match="numpy backend computes float64 in float32"):
        keras_mha.KerasMHA(Target())
