"""The learning curve of a training run: JSON records and a PNG plot."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


def draw_curve(axes: Axes, points: Sequence[dict[str, Any]]) -> None:
    """Train and validation loss against steps on ``axes``, the learning rate on a twin axis.

    Each point has ``step`` and ``lr`` and ``train_loss``, or ``valid_loss``, or
    ``averaged_valid_loss`` (the mean of the last checkpoints, §6.1).
    """
    for key, style in (("train_loss", "-"), ("valid_loss", "o-"), ("averaged_valid_loss", "x")):
        chosen = [p for p in points if key in p]
        axes.plot([p["step"] for p in chosen], [p[key] for p in chosen], style, label=key.replace("_", " "))
    axes.set_xlabel("step")
    axes.set_ylabel("label-smoothed loss (nats/token)")
    axes.legend(loc="upper center")
    lr = [p for p in points if "lr" in p]
    if lr:
        twin = axes.twinx()
        twin.plot([p["step"] for p in lr], [p["lr"] for p in lr], ":", color="grey")
        twin.set_ylabel("learning rate, Eq. (3)")


def write_curve(points: Sequence[dict[str, float]], out: Path) -> None:
    """Write ``learning_curve.json`` and ``learning_curve.png`` (train and validation loss, learning rate).

    Each point has ``step`` and ``lr`` and ``train_loss`` or ``valid_loss``.
    The plot uses matplotlib's Agg canvas directly (no pyplot, no display).
    """
    (out / "learning_curve.json").write_text(json.dumps(list(points), indent=1) + "\n", encoding="utf-8")
    figure = Figure(figsize=(7, 4))
    FigureCanvasAgg(figure)
    draw_curve(figure.add_subplot(), points)
    figure.tight_layout()
    figure.savefig(out / "learning_curve.png", dpi=100)
