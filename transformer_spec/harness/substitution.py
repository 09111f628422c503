"""Fault localisation by substitution: which offered part, put into the reference, reproduces a failing composite.

When a layer, a stack or the model disagrees with the reference, the reference is recomputed with
one of the implementation's own offered components in place of its float64 counterpart (its
positional encoding, its embedding, its FFN, ...), one at a time, smallest first.  The first part
whose substitution reproduces the implementation's output is the root cause: "substituting the
implementation's positional_encoding into the reference reproduces this output".  Only offered
components are tried, so only offered components are ever blamed; when no single part reproduces
the output, the fault is in how the parts are put together.

The reference functions are swapped for the duration of one recomputation only (the pattern of
``unittest.mock.patch``), in the module that calls them.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterator

import numpy as np

from transformer_spec.reference import layers, residual
from transformer_spec.harness.compare import PRECISION_FINDINGS, TOLERANCES, as_numpy, measure

if TYPE_CHECKING:
    from transformer_spec.harness.checker import Checker


@dataclass(frozen=True)
class Part:
    """An offered component, the clause that checks it alone, and where the reference calls its counterpart."""

    component: str
    clause: str
    owners: tuple[Any, ...]  # reference modules whose global ``name`` is the counterpart
    name: str
    adapt: Callable[["Checker"], Callable[..., np.ndarray]]  # the implementation's component, in the reference's signature


def _mha(c: "Checker") -> Callable[..., Any]:
    def mha(q: np.ndarray, k: np.ndarray, v: np.ndarray, params: Any, mask: Any, fully_masked: str = "zeros") -> Any:
        out, _ = c.impl.multi_head_attention(c.tensor(q), c.tensor(k), c.tensor(v), c.params(params),
                                             None if mask is None else c.tensor(mask))
        return as_numpy(out), None
    return mha


PARTS: tuple[Part, ...] = (
    Part("positional_encoding", "3.5/positional-encoding", (layers,), "sinusoidal_encoding",
         lambda c: lambda seq_len, d_model: as_numpy(c.impl.positional_encoding(seq_len, d_model))),
    Part("embedding", "3.4/embedding-scale", (layers,), "embed",
         lambda c: lambda tokens, weight: as_numpy(c.impl.embedding(c.tensor(tokens), c.tensor(weight)))),
    Part("layer_norm", "3.1/layer-norm", (layers, residual), "layer_norm",
         lambda c: lambda x, scale, bias, eps: as_numpy(c.impl.layer_norm(c.tensor(x), c.tensor(scale), c.tensor(bias), eps))),
    Part("ffn", "3.3/ffn", (layers,), "position_wise_ffn",
         lambda c: lambda x, params: as_numpy(c.impl.ffn(c.tensor(x), c.params(params)))),
    Part("output_logits", "3.4/output-softmax", (layers,), "output_logits",
         lambda c: lambda x, weight: as_numpy(c.impl.output_logits(c.tensor(x), c.tensor(weight)))),
    Part("multi_head_attention", "3.2.2/multi-head", (layers,), "multi_head_attention", _mha),
)
"""Substitutable parts, smallest first: the first that explains a failure is named."""


@contextlib.contextmanager
def substituted(part: Part, checker: "Checker") -> Iterator[None]:
    """The reference computes with the implementation's ``part`` until the block ends."""
    replacement = part.adapt(checker)
    saved = [(owner, getattr(owner, part.name)) for owner in part.owners]
    try:
        for owner, _ in saved:
            setattr(owner, part.name, replacement)
        yield
    finally:
        for owner, original in saved:
            setattr(owner, part.name, original)


def root_cause(checker: "Checker", parts_in: set[str], actual: np.ndarray,
               recompute: Callable[[], np.ndarray]) -> str:
    """One line naming the offered part whose substitution reproduces ``actual``, or saying none does."""
    tol = PRECISION_FINDINGS.get(checker.target.dtype, ("", TOLERANCES[checker.target.dtype]))[1]
    tried = []
    for part in PARTS:
        if part.component not in parts_in or part.component not in checker.impl.offers:
            continue
        tried.append(part.component)
        try:
            with substituted(part, checker):
                again = recompute()
        except Exception:  # the part cannot run in the reference's place (another signature, Unsupported...)
            continue
        if again.shape == actual.shape and measure("substituted", actual, again, tol).ratio <= 1.0:
            return (f"root cause: {part.clause} (substituting the implementation's {part.component} into the "
                    "reference reproduces this output)")
    if not tried:
        return "root cause not localised: the implementation offers none of the parts on its own"
    return (f"root cause not localised to one part: substituting each offered part ({', '.join(tried)}) into the "
            "reference does not reproduce this output, so the fault is in how the parts are put together")
