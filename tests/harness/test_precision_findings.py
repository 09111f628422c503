"""Precision is not semantics: an implementation computing in float32 is ``imprecise`` at float64, never failing.

A real run of a few clauses on the correct ``float32-internal`` variant (the project's model run in float32
behind float64 inputs and outputs) and on a mutant with a wrong scale: the variant's mismatches are
precision findings, the mutant's is a violation, at the same float64 target.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SELECTION = "scaling_queries or positional_encoding_matches or ffn_matches_reference"


def _statuses(tmp_path: Path, impl: str) -> dict[str, str]:
    subprocess.run([sys.executable, "-m", "pytest", "spec_tests", "-k", SELECTION, "--impl", impl, "-n", "0", "-q",
                    "--hypothesis-profile", "ci", "-p", "no:cacheprovider", "-p", "transformer_spec.report.plugin",
                    "--report-dir", str(tmp_path / impl.replace(":", "-"))], cwd=ROOT, capture_output=True, timeout=600)
    report = json.loads((tmp_path / impl.replace(":", "-") / "report.json").read_text())
    return {e["id"]: e["status"] for e in report["clauses"] if e["status"] != "not-applicable"}


def test_float32_rounding_is_a_precision_finding_and_a_wrong_scale_a_violation(tmp_path: Path) -> None:
    assert _statuses(tmp_path, "variant:float32-internal") == {
        "3.2.1/scaling": "imprecise", "3.3/ffn": "imprecise", "3.5/positional-encoding": "imprecise"}
    assert _statuses(tmp_path, "mutant:scale-by-dk")["3.2.1/scaling"] == "fails"
