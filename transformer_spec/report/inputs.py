"""Optional inputs of the report: translation training results and a mutant kill matrix.

Training: the directory written by ``transformer-spec train`` (``scores.json`` with ``bleu`` ...,
``learning_curve.json`` with points ``{step, lr, train_loss | valid_loss}``).

Kill matrix: either ``{"<mutant>": {"<clause id>": "<status>"}}`` or a report.json of a run over
``--impl mutant:<name>`` implementations, from which the matrix is read.  A mutant is killed by a clause
whose status is ``fails`` or ``error``.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from transformer_spec.reference.errors import SpecUsageError

CURVE_FILES = ("learning_curve.json", "curve.json")


def _read_json(path: Path, argument: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SpecUsageError(argument, str(path), f"cannot be read as JSON: {exc}") from None


def load_training(directory: Path | None) -> dict[str, Any] | None:
    """``{"scores": {...} | None, "curve": [...]}`` from ``directory``, or None when it holds neither file."""
    if directory is None:
        return None
    scores_path = directory / "scores.json"
    curve_path = next((directory / name for name in CURVE_FILES if (directory / name).is_file()), None)
    if not scores_path.is_file() and curve_path is None:
        return None
    scores = _read_json(scores_path, "training scores") if scores_path.is_file() else None
    curve = _read_json(curve_path, "training curve") if curve_path else []
    return {"source": str(directory), "scores": scores, "curve": curve}


def load_kill_matrix(path: Path | None) -> dict[str, dict[str, str]] | None:
    """``{mutant: {clause id: status}}`` from ``path`` (either form), sorted; None without a path."""
    if path is None:
        return None
    data = _read_json(path, "--kill-matrix")
    if isinstance(data, dict) and "clauses" in data and "schema_version" in data:
        matrix: dict[str, dict[str, str]] = {}
        for entry in data["clauses"]:
            matrix.setdefault(entry["implementation"], {})[entry["id"]] = entry["status"]
        data = matrix
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise SpecUsageError("--kill-matrix", str(path), "must map mutants to {clause id: status}")
    return {m: {c: str(data[m][c]) for c in sorted(data[m])} for m in sorted(data)}
