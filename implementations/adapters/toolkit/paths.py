"""Dotted-name rules with ``*`` wildcards, shared by ``load_canonical`` and ``keep_masks_into``.

A rule ``"encoder.layers.*.ffn.w_1": "encoder.layers.*.linear1.weight"`` stands for one rule per
layer: each ``*`` matches one dotted segment (``0``, ``1``, ...) and is written into the target's
``*`` in the same order.
"""
from __future__ import annotations

import re
from typing import Iterable, Mapping, TypeVar

T = TypeVar("T")


def _pattern(rule: str) -> re.Pattern[str]:
    return re.compile(r"\.".join("([^.]+)" if part == "*" else re.escape(part) for part in rule.split(".")))


def fill(target: str, found: tuple[str, ...]) -> str:
    """``target`` with its ``*`` segments replaced, in order, by the segments a rule's wildcards matched."""
    parts = iter(found)
    return ".".join(next(parts) if part == "*" else part for part in target.split("."))


def matches(rules: Mapping[str, T], names: Iterable[str]) -> dict[str, tuple[T, tuple[str, ...]]]:
    """``{name: (the value of the rule matching it, the segments its wildcards matched)}`` for the matched names.

    Raises ValueError when two rules match one name.
    """
    compiled = [(key, _pattern(key), value) for key, value in rules.items()]
    out: dict[str, tuple[T, tuple[str, ...]]] = {}
    for name in names:
        for key, pattern, value in compiled:
            found = pattern.fullmatch(name)
            if found is not None:
                if name in out:
                    raise ValueError(f"two rules match {name!r} (one is {key!r}); make them distinct")
                out[name] = (value, found.groups())
    return out
