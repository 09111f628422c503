"""Run by test_console.py, not collected on its own: a test that sends progress lines as the training test does."""
from __future__ import annotations

import pytest

from transformer_spec.harness.checker import Checker
from transformer_spec.report.progress import progress_echo

LINES = ("training step 1/2", "training step 2/2")


@pytest.mark.clause("6/end-to-end-translation")
def test_sends_progress_lines(checker: Checker, request: pytest.FixtureRequest) -> None:
    echo = progress_echo(request.node)
    assert callable(echo), "the run asked for no progress lines"
    for line in LINES:
        echo(line)
