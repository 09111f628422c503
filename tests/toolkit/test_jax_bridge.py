"""jax_function: a small JAX function's values and gradients through the bridge against torch autograd and a
closed form, the boolean mask without gradient, the dtype check, the compile-option fallback, and JAX's
read-only results copied (no torch "non-writable" warning)."""
from __future__ import annotations

import warnings
from typing import Any, Iterator

import numpy as np
import pytest
import torch

jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")

from transformer_spec.implementations.adapters.toolkit import jax_function, numpy_function  # noqa: E402
from transformer_spec.implementations.adapters.toolkit import jax_bridge  # noqa: E402


@pytest.fixture(autouse=True)
def x64() -> Iterator[None]:
    """float64 in JAX for the tests' tolerances (process-wide, as the adapters set it), restored after."""
    before = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    yield
    jax.config.update("jax_enable_x64", before)


def _masked_tanh(x: Any, w: Any, keep: Any) -> Any:
    """Shapes: x (batch, n, d), w (d, m), keep (batch, n, m) bool -> (batch, n, m)."""
    return jnp.where(keep, jnp.tanh(x @ w), 0.0)


def _inputs(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(2, 3, 4, dtype=torch.float64, generator=g, requires_grad=True)
    w = torch.randn(4, 5, dtype=torch.float64, generator=g, requires_grad=True)
    return x, w, torch.rand(2, 3, 5, generator=g) > 0.3


def test_value_and_gradients_match_torch_autograd() -> None:
    x, w, keep = _inputs()
    out = jax_function(_masked_tanh)(x, w, keep)
    expected = torch.where(keep, torch.tanh(x @ w), 0.0)
    assert out.dtype == torch.float64 and out.shape == (2, 3, 5)
    torch.testing.assert_close(out, expected, rtol=1e-12, atol=1e-12)
    cotangent = torch.randn(2, 3, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    got = torch.autograd.grad(out, (x, w), cotangent)
    want = torch.autograd.grad(expected, (x, w), cotangent)
    for g, e in zip(got, want):
        torch.testing.assert_close(g, e, rtol=1e-12, atol=1e-12)


def test_each_of_several_results_has_its_own_gradient() -> None:
    """fn -> (x * w, sum(x^2) over the last axis): d/dx of each against its closed form, w's included."""
    x, w, _ = _inputs(2)
    w = w[:, 0].detach().requires_grad_()  # (d,), broadcast over x (batch, n, d)
    product, squares = jax_function(lambda a, b: (a * b, (a ** 2).sum(-1)), outputs=2)
    c = torch.ones(2, 3, 4, dtype=torch.float64)
    torch.testing.assert_close(torch.autograd.grad(product(x, w), (x, w), c), (c * w, (c * x).sum((0, 1))))
    d_x, = torch.autograd.grad(squares(x, w).sum(), x)
    torch.testing.assert_close(d_x, 2 * x)
    assert torch.autograd.gradcheck(lambda a: squares(a, w), (x,))


def test_a_result_in_another_dtype_than_the_inputs_raises() -> None:
    x, w, _ = _inputs()
    with pytest.raises(TypeError, match="JAX computed in float32"):
        jax_function(lambda a, b: (a @ b).astype(jnp.float32))(x, w)


def test_compile_options_are_the_fast_ones_here_and_none_where_jax_rejects_them(
        monkeypatch: pytest.MonkeyPatch) -> None:
    assert jax_bridge.compile_options() == jax_bridge.FAST_COMPILE

    def refusing_jit(*args: Any, **options: Any) -> Any:
        raise TypeError("jit() got an unexpected keyword argument 'compiler_options'")
    jax_bridge.compile_options.cache_clear()
    monkeypatch.setattr(jax, "jit", refusing_jit)
    try:
        assert jax_bridge.compile_options() == {}
    finally:
        jax_bridge.compile_options.cache_clear()


def test_read_only_results_are_copied_without_a_torch_warning() -> None:
    x, w, keep = _inputs()
    assert not np.asarray(jnp.ones(2)).flags.writeable  # what JAX hands over
    frozen = np.ones((2, 3))
    frozen.flags.writeable = False
    ones = numpy_function(lambda a: frozen, lambda a, g: (frozen,))
    a = torch.zeros(2, 3, dtype=torch.float64, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # torch.as_tensor of a read-only array warns "non-writable"
        out = ones(a)
        grad, = torch.autograd.grad(out, a, torch.ones(2, 3, dtype=torch.float64))
        bridged = jax_function(_masked_tanh)(x, w, keep)
        torch.autograd.grad(bridged.sum(), (x, w))
    out.detach().add_(1)  # a copy: writing it leaves the array alone
    assert (frozen == 1).all() and (grad == 1).all() and grad.data_ptr() != out.data_ptr()
