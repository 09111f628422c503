"""report.html: one self-contained page (inline CSS, figures as base64 PNG), rendered from ``templates/``."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2

from transformer_spec.reference.clauses import CLAUSES
from transformer_spec.reference.positional_encoding import sinusoidal_encoding
from transformer_spec.harness.compare import as_numpy
from transformer_spec.harness.loading import load
from transformer_spec.harness.target import Target
from transformer_spec.report import figures
from transformer_spec.report.build import failing_entries
from transformer_spec.report.repro import rerun_command
from transformer_spec.report.summary import reason

TEMPLATES = Path(__file__).parent / "templates"
PE_SHAPE = (64, 128)
"""(positions, d_model) of the positional-encoding heatmaps."""


def positional_encoding_panel(spec: str) -> dict[str, str | None]:
    """The PE heatmaps of ``spec`` (built on cpu/float64) beside the reference's, or why there are none."""
    try:
        impl = load(spec, Target("cpu", "float64"))
        ours = as_numpy(impl.positional_encoding(*PE_SHAPE))
        ref = sinusoidal_encoding(*PE_SHAPE)
        if ours.shape != ref.shape:
            return {"image": None, "note": f"positional_encoding{PE_SHAPE} returned shape {ours.shape}"}
        return {"image": figures.positional_encoding_figure(ours, ref, spec), "note": None}
    except Exception as exc:  # the page must render whatever the implementation does
        return {"image": None, "note": f"positional_encoding{PE_SHAPE} raised {type(exc).__name__}: {exc}"}


def _margin_rows(report: dict[str, Any]) -> list[tuple[str, str, float, str]]:
    rows = []
    for e in report["clauses"]:
        ratios = [m["ratio"] for t in e["tests"] for m in t["measurements"] if isinstance(m["ratio"], float)]
        if ratios:
            rows.append((e["id"], e["implementation"], max(ratios), e["status"]))
    return rows


def figure_context(report: dict[str, Any]) -> dict[str, Any]:
    """Every figure the data allows; a missing one is None and the page shows a placeholder."""
    pe = {i["spec"]: positional_encoding_panel(i["spec"]) for i in report["implementations"]
          if "positional_encoding" in i["offers"]}
    rows = _margin_rows(report)
    training = report.get("training")
    scores = (training or {}).get("scores") or {}
    return {"positional_encoding": pe, "margins": figures.margin_figure(rows) if rows else None,
            "curve": figures.curve_figure(training["curve"], scores.get("bleu")) if training and training["curve"] else None,
            "kill_matrix": figures.kill_matrix_figure(report["kill_matrix"]) if report.get("kill_matrix") else None}


def matrix_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Clause x implementation: one row per clause in registry order, one status per implementation."""
    status = {(e["id"], e["implementation"]): e["status"] for e in report["clauses"]}
    specs = [i["spec"] for i in report["implementations"]]
    return [{"id": c.id, "title": c.title, "kind": c.kind, "cells": [status.get((c.id, s), "not-applicable") for s in specs]}
            for c in CLAUSES]


def failures(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Per failing clause entry: its failing tests (the message holds the measured error) and the rerun command."""
    found = []
    for e in failing_entries(report):
        tests = [{**t, "rerun": rerun_command(t, e["implementation"], report["environment"])}
                 for t in e["tests"] if t["outcome"] in ("failed", "error") and not t["blocked_by"]]
        found.append({**e, "failing": tests})
    return found


def notes(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Blocked, partial, imprecise and not-run clause entries with their one-line reason."""
    return [{**e, "reason": reason(e)} for e in report["clauses"]
            if e["status"] in ("blocked", "partial", "imprecise", "not-run")]


def number(value: Any) -> str:
    """Floats to three significant digits for the page (report.json keeps them in full)."""
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def render(report: dict[str, Any]) -> str:
    """The page for ``report``."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["num"] = number
    return env.get_template("report.html.j2").render(
        report=report, matrix=matrix_rows(report), failures=failures(report), notes=notes(report),
        figures=figure_context(report),
        colours=figures.STATUS_COLOURS)
