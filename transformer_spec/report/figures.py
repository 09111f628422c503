"""The report's figures as ``data:image/png;base64`` URIs, drawn on matplotlib's Agg canvas (no pyplot, no display)."""
from __future__ import annotations

import base64
import io
import math
from typing import Any, Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

from transformer_spec.translation.curve import draw_curve

STATUS_COLOURS = {"conforms": "#2e7d32", "deviates": "#1565c0", "partial": "#558b2f", "imprecise": "#00838f",
                  "blocked": "#ef6c00", "fails": "#c62828", "error": "#6a1b9a", "not-run": "#4e342e",
                  "not-applicable": "#9e9e9e"}


def _figure(width: float, height: float) -> Figure:
    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def data_uri(figure: Figure) -> str:
    """The figure as an embeddable PNG."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def positional_encoding_figure(impl: np.ndarray, ref: np.ndarray, name: str) -> str:
    """The implementation's PE matrix beside the reference's and their difference (§3.5)."""
    figure = _figure(12, 3.4)
    panels = ((impl, f"{name}", "RdBu_r"), (ref, "reference (Eq. §3.5)", "RdBu_r"), (impl - ref, "difference", "PuOr_r"))
    for i, (values, title, cmap) in enumerate(panels):
        axes = figure.add_subplot(1, 3, i + 1)
        limit = max(float(np.abs(values).max(initial=0.0)), 1e-12)
        image = axes.imshow(values, aspect="auto", cmap=cmap, vmin=-limit, vmax=limit, interpolation="nearest")
        axes.set_title(title, fontsize=10)
        axes.set_xlabel("dimension")
        axes.set_ylabel("position")
        figure.colorbar(image, ax=axes, fraction=0.046)
    return data_uri(figure)


def margin_figure(rows: Sequence[tuple[str, str, float, str]]) -> str:
    """Horizontal bars of worst error / allowed per (clause, implementation): right of 1 fails.

    ``rows`` are (clause id, implementation, ratio, status); the margin the report quotes is 1 - ratio.
    """
    figure = _figure(9, 0.32 * len(rows) + 1.2)
    axes = figure.add_subplot()
    ratios = [max(r[2], 1e-18) for r in rows]
    labels = [f"{clause}  [{impl}]" for clause, impl, _, _ in rows]
    axes.barh(range(len(rows)), ratios, color=[STATUS_COLOURS.get(r[3], "#555") for r in rows])
    axes.set_xscale("log")
    axes.axvline(1.0, color="black", linestyle="--", linewidth=1)
    axes.set_yticks(range(len(rows)), labels, fontsize=8)
    axes.invert_yaxis()
    axes.set_xlabel("worst error / allowed error (log scale; margin = 1 - ratio, the dashed line is the budget)")
    return data_uri(figure)


def curve_figure(points: Sequence[dict[str, Any]], bleu: float | None) -> str:
    """Training and validation loss against steps, the learning rate on a second axis."""
    figure = _figure(9, 3.6)
    axes = figure.add_subplot()
    draw_curve(axes, points)
    if bleu is not None and math.isfinite(float(bleu)):
        axes.set_title(f"test BLEU {float(bleu):.2f}", fontsize=10)
    return data_uri(figure)


def kill_matrix_figure(matrix: dict[str, dict[str, str]]) -> str:
    """Mutants against clauses: red where the clause kills the mutant (fails or error)."""
    mutants = list(matrix)
    clauses = sorted({c for row in matrix.values() for c in row})
    killed = np.array([[matrix[m].get(c) in ("fails", "error") for c in clauses] for m in mutants], dtype=float)
    figure = _figure(max(6.0, 0.35 * len(clauses) + 3), 0.4 * len(mutants) + 2.2)
    axes = figure.add_subplot()
    axes.imshow(killed, cmap=ListedColormap(["#e0e0e0", "#c62828"]), vmin=0, vmax=1, aspect="auto")
    axes.set_xticks(range(len(clauses)), clauses, rotation=70, ha="right", fontsize=8)
    axes.set_yticks(range(len(mutants)), mutants, fontsize=8)
    axes.set_title("mutant kill matrix (red: killed)", fontsize=10)
    return data_uri(figure)
