"""How the protocol's composite components are built from the others (the paper's Figure 1), as plain data."""
from __future__ import annotations

from typing import Iterable

PARTS: dict[str, tuple[str, ...]] = {
    "multi_head_attention": ("attention", "heads"),
    "sublayer_connection": ("layer_norm",),
    "encoder_layer": ("multi_head_attention", "ffn", "sublayer_connection"),
    "decoder_layer": ("multi_head_attention", "ffn", "sublayer_connection"),
    "encoder": ("encoder_layer", "embedding", "positional_encoding"),
    "decoder": ("decoder_layer", "embedding", "positional_encoding"),
    "model": ("encoder", "decoder", "output_logits"),
    "greedy_decode": ("model",),
    "beam_search": ("model",),
    "train_steps": ("model", "loss", "learning_rate", "adam_step"),
}
"""Composite protocol component -> the components it is built from."""


def parts_of(components: Iterable[str]) -> set[str]:
    """Every component the given ones are built from, transitively, themselves excluded."""
    found: set[str] = set()
    todo = [p for c in components for p in PARTS.get(c, ())]
    while todo:
        part = todo.pop()
        if part not in found:
            found.add(part)
            todo.extend(PARTS.get(part, ()))
    return found - set(components)
