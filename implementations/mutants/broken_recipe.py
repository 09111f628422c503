"""Broken pieces of the §5.4 and §6.1 recipe that the mutant zoo patches into the real code."""
from __future__ import annotations

from torch import Tensor

from transformer_spec.implementations.pytorch.training import label_smoothed_loss

Candidate = tuple[tuple[tuple[int, ...], float], int]  # ((tokens, log P), parent row)


def length_penalty_plain_power(length: int, alpha: float) -> float:
    """|Y|^alpha instead of GNMT's ((5 + |Y|) / 6)^alpha."""
    return float(length) ** alpha


def split_keeping_finished_alive(cands: list[Candidate], eos_id: int, beam: int) -> tuple[list, list]:
    """Hypotheses ending in EOS are recorded as finished but also stay in the beam and are extended further."""
    return [c for c in cands if c[0][0][-1] == eos_id], cands[:beam]


def smoothing_on_padding_class(logits: Tensor, targets: Tensor, epsilon: float, pad_id: int | None = None,
                               convention: str = "others", pad_class: str = "excluded") -> Tensor:
    """Gives the padding class its share of epsilon whatever padding-class rule is declared."""
    return label_smoothed_loss(logits, targets, epsilon, pad_id, convention, "included")
