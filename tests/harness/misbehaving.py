"""Deliberately misbehaving implementations: one way of going wrong each, all offering only ``attention``.

The harness must turn each into a one-line ``fails`` or ``error`` of the test
it happens in, and carry on with the rest of the run.  The last few objects
are not implementations at all, for the usage errors of ``--impl``.
"""
from __future__ import annotations

import os
import signal
import time
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from transformer_spec.harness.target import Target


class Correct:
    """Eq. (1) done right; the misbehaving ones below change one thing."""

    name = "correct"
    version = "0"
    offers = frozenset({"attention"})
    deviations: dict[str, Any] = {}

    def __init__(self, target: Target) -> None:
        self.target = target

    def attention(self, q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None) -> tuple[Tensor, None]:
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask), None


class Raises(Correct):
    def attention(self, q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None) -> tuple[Tensor, None]:
        raise RuntimeError("deliberately broken")


class ReturnsNaN(Correct):
    def attention(self, q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None) -> tuple[Tensor, None]:
        out, _ = super().attention(q, k, v, mask)
        return out.index_fill(-1, torch.tensor([0], device=out.device), float("nan")), None


class ReturnsInf(Correct):
    def attention(self, q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None) -> tuple[Tensor, None]:
        out, _ = super().attention(q, k, v, mask)
        return out * float("inf"), None


class WrongShape(Correct):
    def attention(self, q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None) -> tuple[Tensor, None]:
        out, _ = super().attention(q, k, v, mask)
        return out.transpose(1, 2), None  # (batch, seq_q, heads, d_v): the heads' layout forgotten


class WrongDtype(Correct):
    def attention(self, q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None) -> tuple[Tensor, None]:
        out, _ = super().attention(q, k, v, mask)
        return out.to(torch.float32 if out.dtype != torch.float32 else torch.float64), None


class WrongDevice(Correct):
    def attention(self, q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None) -> tuple[Tensor, None]:
        out, _ = super().attention(q, k, v, mask)
        return out.to("meta"), None


class NonDeterministic(Correct):
    """Every other call is off by a few ulp (zeros stay zero): far inside every tolerance, only a repeat sees it."""

    calls = 0

    def attention(self, q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None) -> tuple[Tensor, None]:
        out, _ = super().attention(q, k, v, mask)
        self.calls += 1
        return out * (1 + 2.0 ** -48 * (self.calls % 2)), None


class Hangs(Correct):
    def attention(self, q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None) -> tuple[Tensor, None]:
        while True:
            time.sleep(3600)


class Exits(Correct):
    def attention(self, q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None) -> tuple[Tensor, None]:
        os._exit(1)


class KillsItself(Correct):
    """Dies as by the OOM killer or a segfault: no Python code runs after the signal."""

    def attention(self, q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None) -> tuple[Tensor, None]:
        os.kill(os.getpid(), signal.SIGKILL)
        raise AssertionError("unreachable")


class EatsMemory(Correct):
    """Allocates (and touches) 256 MiB after 256 MiB without bound."""

    def attention(self, q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None) -> tuple[Tensor, None]:
        hoard = []
        while True:
            hoard.append(torch.ones(2**26, dtype=torch.float32))


class SlowButRight(Correct):
    """Correct, and 0.3 s a call (a library compiling per shape): it declares the time it needs."""

    time_factor = 8.0

    def attention(self, q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None) -> tuple[Tensor, None]:
        time.sleep(0.3)
        return super().attention(q, k, v, mask)


class SlowAndWrong(Correct):
    """Scores scaled by 1/d_k, and 1 s a call: Hypothesis is still shrinking the failure at the time limit."""

    def attention(self, q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None) -> tuple[Tensor, None]:
        time.sleep(1.0)
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=1.0 / q.shape[-1]), None


class NotAnImplementation:
    """Has a method but none of the protocol's attributes."""

    def __init__(self, target: Target) -> None:
        self.target = target


class OffersUnknown(Correct):
    offers = frozenset({"attention", "time_travel"})


class FailsToBuild(Correct):
    def __init__(self, target: Target) -> None:
        raise OSError("cannot open weights.bin")


NOT_A_FACTORY = 42
