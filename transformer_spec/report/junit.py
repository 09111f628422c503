"""junit.xml for CI systems: one testcase per test, its clauses and implementation as properties.

A selected test that never ran is an ``<error>`` ("never ran: ..."), so a CI system never reads it as passed.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Sequence

from transformer_spec.report.results import TestResult


def _names(nodeid: str) -> tuple[str, str]:
    """(classname, name) the way pytest's own junitxml spells them."""
    file, *rest = nodeid.split("::")
    module = file.removesuffix(".py").replace("/", ".")
    return ".".join([module, *rest[:-1]]), rest[-1] if rest else file


def junit_xml(results: Sequence[TestResult]) -> bytes:
    """The document for the finished ``results``, sorted by node id."""
    finished = sorted((r for r in results if r.finished), key=lambda r: r.nodeid)
    count = lambda outcome: str(sum(1 for r in finished if r.outcome == outcome))
    suite = ET.Element("testsuite", name="transformer-spec", tests=str(len(finished)), failures=count("failed"),
                       errors=str(int(count("error")) + int(count("not-run"))), skipped=count("skipped"),
                       time=f"{sum(r.duration for r in finished):.3f}")
    for r in finished:
        classname, name = _names(r.nodeid)
        case = ET.SubElement(suite, "testcase", classname=classname, name=name, time=f"{r.duration:.3f}")
        props = ET.SubElement(case, "properties")
        for clause_id in r.clauses:
            ET.SubElement(props, "property", name="clause", value=clause_id)
        if r.impl is not None:
            ET.SubElement(props, "property", name="impl", value=r.impl)
        tag = {"failed": "failure", "error": "error", "not-run": "error", "skipped": "skipped"}.get(r.outcome)
        if tag:
            first_line = (r.message or "").splitlines()[0] if r.message else ""
            detail = ET.SubElement(case, tag, message=first_line)
            detail.text = "\n\n".join(x for x in (r.message, r.counterexample, r.reproduce) if x) if tag != "skipped" else None
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)
