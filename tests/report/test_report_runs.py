"""Real spec runs (shared, see conftest.py): the report's content, its schema, junit.xml, bundles, -n 0 = -n 2."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any, Callable

import jsonschema

import pytest

from report_support import IMPLS, SCHEMA, run_once


def _entry(report: dict[str, Any], clause_id: str, spec: str) -> dict[str, Any]:
    return next(e for e in report["clauses"] if e["id"] == clause_id and e["implementation"] == spec)


def test_reports_follow_the_schema(serial_run: dict, cli_run: dict, load_report: Callable) -> None:
    schema = json.loads(SCHEMA.read_text())
    for run in (serial_run, cli_run):
        report = load_report(run["dir"])
        jsonschema.validate(report, schema)
        assert report["complete"] is True


def test_statuses_cover_every_case(serial_run: dict, load_report: Callable) -> None:
    report = load_report(serial_run["dir"])
    wrong, crashing, nan = IMPLS
    assert _entry(report, "3.2.1/scaling", "reference")["status"] == "conforms"
    assert _entry(report, "3.2.1/scaling", wrong)["status"] == "fails"
    assert _entry(report, "3.2.1/scaling", crashing)["status"] == "error"
    deviating = _entry(report, "3.2.3/fully-masked-row", nan)
    assert deviating["status"] == "deviates" and deviating["deviations"] == {"fully_masked": "nan"}
    assert _entry(report, "3/model-forward", "reference")["status"] == "not-applicable"  # not selected
    assert sum(report["summary"].values()) == len(report["clauses"])


def test_failure_carries_counterexample_budget_and_command(serial_run: dict, load_report: Callable) -> None:
    entry = _entry(load_report(serial_run["dir"]), "3.2.1/scaling", IMPLS[0])
    test = next(t for t in entry["tests"] if t["outcome"] == "failed")
    assert test["message"].startswith("transformer_spec.harness.compare.NonConformance: [3.2.1/scaling]")
    assert test["counterexample"].startswith(("Falsifying example", "Failing test case"))
    assert test["reproduce_blob"].startswith("@reproduce_failure(")
    assert " -m pytest " in test["reproduce"] and "-n 0" in test["reproduce"]
    [m] = test["measurements"]
    assert m["ratio"] > 1 and m["margin"] == 1 - m["ratio"] and "atol" in m["budget"]


def test_report_is_the_same_with_and_without_xdist(serial_run: dict, cli_run: dict, load_report: Callable) -> None:
    serial, parallel = load_report(serial_run["dir"]), load_report(cli_run["dir"])
    assert serial.pop("run")["workers"] == 0 and parallel.pop("run")["workers"] == 2
    assert serial == parallel


def test_cli_exits_1_and_prints_the_table(cli_run: dict) -> None:
    assert cli_run["code"] == 1, cli_run["out"][-3000:]
    assert "transformer-spec conformance" in cli_run["out"]
    assert f"{IMPLS[0]}: does not conform" in cli_run["out"]
    assert f"reports: {cli_run['dir'] / 'report.json'}" in cli_run["out"]


def test_junit_has_one_case_per_test_with_clause_properties(serial_run: dict, load_report: Callable) -> None:
    suite = ET.parse(serial_run["dir"] / "junit.xml").getroot().find("testsuite")
    cases = suite.findall("testcase")
    assert int(suite.get("tests")) == len(cases) == load_report(serial_run["dir"])["run"]["finished_tests"]
    assert int(suite.get("failures")) == sum(1 for c in cases if c.find("failure") is not None) > 0
    assert int(suite.get("errors")) == sum(1 for c in cases if c.find("error") is not None) > 0
    clauses = {p.get("value") for c in cases for p in c.iter("property") if p.get("name") == "clause"}
    assert {"3.2.1/scaling", "3.2.3/fully-masked-row"} <= clauses


def test_repro_bundle_per_failing_clause(serial_run: dict) -> None:
    bundle = serial_run["dir"] / "repro" / "3.2.1_scaling" / "tests_report_impls.py-WrongScale"
    manifest = json.loads((bundle / "failure.json").read_text())
    assert manifest["clause"] == "3.2.1/scaling" and manifest["environment"]["torch"]
    assert manifest["failures"][0]["reproduce_blob"].startswith("@reproduce_failure(")
    script = (bundle / "rerun.sh").read_text()
    assert manifest["failures"][0]["rerun"] in script
    assert not (serial_run["dir"] / "repro" / "3.2.3_fully-masked-row" / "tests_report_impls.py-NanMasked").exists()


def test_html_is_self_contained(serial_run: dict) -> None:
    page = (serial_run["dir"] / "report.html").read_text()
    assert '<table id="matrix">' in page and "data:image/png;base64," in page
    assert "src=\"http" not in page and "href=\"http" not in page and "<script" not in page
    assert "reproduce:" in page and "positional encoding of reference" in page


def test_interrupted_run_leaves_a_valid_incomplete_report(tmp_path_factory: pytest.TempPathFactory,
                                                          load_report: Callable) -> None:
    run = run_once(tmp_path_factory, "interrupted", [
        "-m", "pytest", "spec_tests", "-p", "transformer_spec.report.plugin", "-n", "0", "-q", "-k", "scaling_queries",
        "--impl", "reference", "--impl", "tests/report/impls.py:Interrupts"])
    report = load_report(run["dir"].with_name("reports.incomplete"))  # beside the (absent) previous report
    jsonschema.validate(report, json.loads(SCHEMA.read_text()))
    assert run["code"] == 2 and report["complete"] is False and not run["dir"].exists()
    assert _entry(report, "3.2.1/scaling", "reference")["status"] == "conforms"
    assert _entry(report, "3.2.1/scaling", "tests/report/impls.py:Interrupts")["status"] == "not-run"
    junit = (run["dir"].with_name("reports.incomplete") / "junit.xml").read_text()
    assert 'message="never ran' in junit  # a CI system reads the test that never ran as an error, not as passed
