"""End-to-end leak detection: teacher-forced accuracy against free-running exact match.

Paper: §3.2.3 (the decoder's self-attention is masked "to prevent leftward
information flow").  A decoder that sees future target tokens in training
predicts them almost perfectly under teacher forcing (it copies the next input
token), yet cannot translate once it must generate its own prefix (§6.1).
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LeakVerdict:
    """Whether teacher-forced and decoded quality agree, with the diagnosis in words."""

    passed: bool
    diagnosis: str


def leak_verdict(teacher_forced_accuracy: float, exact_match: float, mean_target_tokens: float,
                 min_accuracy: float = 0.9, slack: float = 0.5) -> LeakVerdict:
    """Fail a model whose decoded exact match is far below what its teacher-forced accuracy implies.

    With per-token accuracy ``a`` and ``L`` tokens per sentence (eos
    included), independent errors give exact match ``a**L``; real errors
    cluster, so a sound model does at least as well.  The verdict fails when
    ``a >= min_accuracy`` and exact match is below ``slack * a**L``.
    """
    implied = teacher_forced_accuracy ** mean_target_tokens
    figures = f"teacher-forced accuracy {teacher_forced_accuracy:.2f} but decoded exact match {exact_match:.2f}"
    if teacher_forced_accuracy >= min_accuracy and exact_match < slack * implied:
        return LeakVerdict(False, f"{figures}: the decoder sees future target tokens")
    return LeakVerdict(True, f"consistent: teacher-forced accuracy {teacher_forced_accuracy:.2f}, "
                             f"decoded exact match {exact_match:.2f} (independent errors imply {implied:.2f})")
