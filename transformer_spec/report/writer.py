"""Writing the report folder: report.json (also while the run goes on), then report.html, junit.xml, repro/."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

from transformer_spec.report import html
from transformer_spec.report.atomic import write_bytes, write_text
from transformer_spec.report.junit import junit_xml
from transformer_spec.report.repro import write_bundles
from transformer_spec.report.results import TestResult

REPORT_JSON, REPORT_HTML, JUNIT_XML = "report.json", "report.html", "junit.xml"


def write_json(report: dict[str, Any], directory: Path) -> Path:
    """report.json, atomically."""
    path = directory / REPORT_JSON
    write_text(path, json.dumps(report, indent=1, ensure_ascii=False) + "\n")
    return path


def write_all(report: dict[str, Any], results: Sequence[TestResult], directory: Path) -> list[Path]:
    """Every report file; returns the paths written (bundle folders included)."""
    written = [write_json(report, directory)]
    write_text(directory / REPORT_HTML, html.render(report))
    write_bytes(directory / JUNIT_XML, junit_xml(results))
    return written + [directory / REPORT_HTML, directory / JUNIT_XML, *write_bundles(report, directory)]


def read_report(directory: Path) -> dict[str, Any]:
    """The report.json in ``directory``."""
    return json.loads((directory / REPORT_JSON).read_text(encoding="utf-8"))
