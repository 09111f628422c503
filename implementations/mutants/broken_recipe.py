"""Broken pieces of the §5.4 and §6.1 recipe that the mutant zoo patches into the real code."""
from __future__ import annotations

from torch import Tensor

from implementations.pytorch.training import label_smoothed_loss


def smoothing_on_padding_class(logits: Tensor, targets: Tensor, epsilon: float, pad_id: int | None = None,
                               convention: str = "others", pad_class: str = "excluded") -> Tensor:
    """Gives the padding class its share of epsilon whatever padding-class rule is declared."""
    return label_smoothed_loss(logits, targets, epsilon, pad_id, convention, "included")
