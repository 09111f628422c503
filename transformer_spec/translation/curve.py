"""The learning curve of a training run: JSON records and a PNG plot."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


def write_curve(points: Sequence[dict[str, float]], out: Path) -> None:
    """Write ``learning_curve.json`` and ``learning_curve.png`` (train and validation loss, learning rate).

    Each point has ``step`` and ``lr`` and ``train_loss`` or ``valid_loss``.
    The plot uses matplotlib's Agg canvas directly (no pyplot, no display).
    """
    (out / "learning_curve.json").write_text(json.dumps(list(points), indent=1) + "\n", encoding="utf-8")
    figure = Figure(figsize=(7, 4))
    FigureCanvasAgg(figure)
    loss_axes = figure.add_subplot()
    for key, style in (("train_loss", "-"), ("valid_loss", "o-")):
        chosen = [p for p in points if key in p]
        loss_axes.plot([p["step"] for p in chosen], [p[key] for p in chosen], style, label=key.replace("_", " "))
    loss_axes.set_xlabel("step")
    loss_axes.set_ylabel("label-smoothed loss (nats/token)")
    loss_axes.legend(loc="upper center")
    lr_axes = loss_axes.twinx()
    lr_axes.plot([p["step"] for p in points if "lr" in p], [p["lr"] for p in points if "lr" in p], ":", color="grey")
    lr_axes.set_ylabel("learning rate, Eq. (3)")
    figure.tight_layout()
    figure.savefig(out / "learning_curve.png", dpi=100)
