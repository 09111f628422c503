"""The suite's dropout keep-masks inside a foreign module (§5.4).

``model(src, tgt, params, config, keep=...)`` asks for training-mode dropout with exactly the
given keep-masks, ``keep = {site: (batch, seq, d_model) bool}``, with the sites of
``reference.regularization.dropout_sites`` (``encoder.embedding``, ``encoder.layers.0.self_attn``,
``encoder.layers.0.ffn``, ``decoder.layers.0.cross_attn`` ...).  :func:`keep_masks_into` swaps the
module's ``nn.Dropout`` submodules for ones that apply those masks, for the duration of a ``with``.

Limits: only ``nn.Dropout`` *submodules* are reached.  Dropout called as a function
(``F.dropout``, or ``nn.MultiheadAttention``'s dropout of the attention weights, driven by its
float ``dropout`` attribute and ``training``) is not: keep the module in evaluation mode, where
those do nothing, and let the swapped modules do the paper's dropout.  A submodule used at several
sites takes their masks in the order of its calls; one forward pass per ``with``.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, Mapping, Sequence, Union

from torch import Tensor, nn

from transformer_spec.implementations.adapters.toolkit.modules import swapped
from transformer_spec.implementations.adapters.toolkit.paths import fill, matches

Sites = Union[str, None, Sequence[Union[str, None]]]


def apply_keep(x: Tensor, keep: Tensor, p_drop: float) -> Tensor:
    """Inverted dropout with a given keep-mask: x * keep / (1 - p_drop). Shapes: keep broadcastable to x."""
    return x * keep.to(x.dtype) / (1.0 - p_drop)


class _KeepMaskDropout(nn.Module):
    """Stands in for one ``nn.Dropout``: its n-th call applies the keep-mask of its n-th site (None = identity)."""

    def __init__(self, name: str, sites: Sequence[str | None], keep: Mapping[str, Tensor], p_drop: float) -> None:
        super().__init__()
        self.name, self.sites, self.keep, self.p_drop, self.calls = name, list(sites), keep, p_drop, 0

    def forward(self, x: Tensor) -> Tensor:
        if self.calls == len(self.sites):
            raise RuntimeError(f"dropout {self.name!r} ran {self.calls + 1} times, but sites lists only "
                               f"{self.sites} for it")
        site = self.sites[self.calls]
        self.calls += 1
        if site is None:
            return x
        if site not in self.keep:
            raise KeyError(f"dropout {self.name!r} is mapped to the site {site!r}, which keep has no mask for; "
                           f"keep has {sorted(self.keep)}")
        return apply_keep(x, self.keep[site], self.p_drop)


@contextmanager
def keep_masks_into(module: nn.Module, keep: Mapping[str, Tensor], sites: Mapping[str, Sites]) -> Iterator[None]:
    """Within the ``with``, every ``nn.Dropout`` of ``module`` applies the suite's keep-masks.

    ``sites`` maps each dropout submodule's name (``*`` = any one segment, as in ``load_canonical``)
    to the site whose mask it applies, None for a dropout the paper does not have (it then does
    nothing; say, inside the FFN), or a list of those for a submodule called more than once,
    in the order of its calls.  Each keeps its own ``p`` for the 1 / (1 - p) scaling.
    Raises ValueError for a dropout no rule names (it would draw random masks) and RuntimeError
    at the end for one called fewer times than it has sites (a mask the module never applied).
    """
    dropouts = {n: m for n, m in module.named_modules() if isinstance(m, nn.Dropout)}
    found = matches(sites, dropouts)
    if unnamed := sorted(dropouts.keys() - found.keys()):
        raise ValueError(f"sites names no site for the dropout submodules {unnamed}; map each to a site of "
                         "transformer_spec.reference.regularization.dropout_sites, or to None where the paper has no dropout")
    stand_ins: dict[str, _KeepMaskDropout] = {}
    for name, (rule, groups) in found.items():
        listed = [rule] if rule is None or isinstance(rule, str) else list(rule)
        stand_ins[name] = _KeepMaskDropout(name, [None if s is None else fill(s, groups) for s in listed], keep,
                                         dropouts[name].p)
    with swapped(module, stand_ins):
        yield
    if short := [f"{s.name} ({s.calls} of {len(s.sites)})" for s in stand_ins.values() if 0 < s.calls < len(s.sites)]:
        raise RuntimeError(f"dropouts ran fewer times than sites lists for them, so masks went unused: {short}")
