"""Submodules swapped for the duration of a ``with``: a foreign model with its output head removed, and more.

An adapter that offers ``decoder`` (hidden states (batch, seq_tgt, d_model)) for a model whose forward
pass ends in its output projection runs the model with the head replaced by ``nn.Identity``;
:func:`~.dropout.keep_masks_into` swaps dropout modules the same way.
"""
from __future__ import annotations

from contextlib import AbstractContextManager, contextmanager
from typing import Iterator, Mapping

from torch import nn


def _parent(root: nn.Module, name: str) -> tuple[nn.Module, str]:
    parent, _, child = name.rpartition(".")
    return (root.get_submodule(parent) if parent else root), child


@contextmanager
def swapped(module: nn.Module, replacements: Mapping[str, nn.Module]) -> Iterator[nn.Module]:
    """Within the ``with``, ``module``'s submodules named in ``replacements`` are those replacements.

    The originals are back afterwards, whatever happened.  The replaced submodules' parameters are
    not the module's meanwhile, so ``load_canonical`` asks no weight for them.
    Raises AttributeError naming a submodule the module does not have.
    """
    originals = {name: module.get_submodule(name) for name in replacements}
    try:
        for name, replacement in replacements.items():
            setattr(*_parent(module, name), replacement)
        yield module
    finally:
        for name, original in originals.items():
            setattr(*_parent(module, name), original)


def without(module: nn.Module, *heads: str) -> AbstractContextManager[nn.Module]:
    """``swapped`` with each of ``heads`` (e.g. ``"generator"``) an ``nn.Identity``: the model minus its output head.

    Shapes: a forward pass that ended in (batch, seq, vocab) then ends in (batch, seq, d_model).
    """
    return swapped(module, {head: nn.Identity() for head in heads})
