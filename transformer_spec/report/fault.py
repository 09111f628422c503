"""Fault localisation (issue 7 point 6): which component is at fault when a composite clause fails.

Honest and simple: no new computation.  The suite already checks every offered component on its own
against the reference (a component-level clause swaps in the reference for everything around it), so
when a composite clause (the full model, a stack, a layer, decoding) fails, the lowest-level component
clause that also fails for the same implementation names the component at fault.  When none fails,
the fault lies in how the components are wired together, or in a component the implementation does not
offer on its own.
"""
from __future__ import annotations

from typing import Any

LEVELS: dict[str, tuple[int, str]] = {
    "3.2.1/softmax": (0, "attention"), "3.2.1/scaling": (0, "attention"),
    "3.2.1/scaled-dot-product": (0, "attention"), "3.2.3/causal-mask": (0, "attention masks"),
    "3.2.3/padding-mask": (0, "attention masks"), "3.2.3/fully-masked-row": (0, "attention masks"),
    "3.2.2/head-split-concat": (0, "heads"), "3.3/ffn": (0, "ffn"), "3.4/embedding-scale": (0, "embedding"),
    "3.4/output-softmax": (0, "output_logits"), "3.5/positional-encoding": (0, "positional_encoding"),
    "3.1/layer-norm": (0, "layer_norm"),
    "3.2.2/multi-head": (1, "multi_head_attention"), "3.2.3/encoder-self-attention": (1, "multi_head_attention"),
    "3.2.3/cross-attention": (1, "multi_head_attention"), "3.1/residual-post-norm": (1, "sublayer_connection"),
    "3.4/tied-weights": (1, "output_logits"),
    "3.1/encoder-layer": (2, "encoder_layer"), "3.1/decoder-layer": (2, "decoder_layer"),
    "3.1/encoder-stack": (3, "encoder"), "3.1/decoder-stack": (3, "decoder"),
    "3/model-forward": (4, "model"),
    "6.1/greedy-decoding": (5, "greedy_decode"), "6.1/beam-search": (5, "beam_search"),
}
"""Clause id -> (level, component): components at a lower level are parts of those above."""


def localise(clause_id: str, statuses: dict[str, str]) -> dict[str, Any] | None:
    """For a failing composite clause, the lowest-level failing component clause among ``statuses``.

    ``statuses`` maps clause ids to this implementation's statuses.  None when ``clause_id`` is not
    composite (level 0 or not in :data:`LEVELS`).
    """
    level = LEVELS.get(clause_id, (0, ""))[0]
    if level == 0:
        return None
    below = [c for c in LEVELS if LEVELS[c][0] < level and statuses.get(c) in ("fails", "error")]
    below.sort(key=lambda c: LEVELS[c][0])
    if not below:
        tested = sum(1 for c in LEVELS if LEVELS[c][0] < level and statuses.get(c, "not-applicable") != "not-applicable")
        return {"clause": None, "component": None, "also_failing": [],
                "note": f"no lower-level component clause fails ({tested} tested on their own): the fault is in "
                        "how the components are put together, or in a part not offered on its own"}
    first = below[0]
    return {"clause": first, "component": LEVELS[first][1], "also_failing": below[1:],
            "note": f"fault localised to: {first} ({LEVELS[first][1]})"}
