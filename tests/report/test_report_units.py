"""The report's parts on made-up results: status rules, blocked composites, crashed workers, inputs, HTML, CLI."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from transformer_spec.reference.clauses import clause
from transformer_spec.cli import main
from transformer_spec.report.build import build_report
from transformer_spec.harness.composition import parts_of
from transformer_spec.report.blocking import mark_blocked, root_cause, seen_from
from transformer_spec.report.html import render
from transformer_spec.report.inputs import load_kill_matrix, load_training
from transformer_spec.report.nodeinfo import clauses_of, impl_of
from transformer_spec.report.results import ResultLog, TestResult, hypothesis_details
from transformer_spec.report.status import clause_status
from transformer_spec.report.summary import summary_lines

ROOT = Path(__file__).resolve().parents[2]
NODE = "spec_tests/test_attention.py::test_scores_are_scaled_by_inverse_sqrt_dk[torch-sdpa]"


def _result(outcome: str, clause_id: str = "3.2.3/fully-masked-row", components: tuple[str, ...] = ("attention",),
            **kw: object) -> TestResult:
    return TestResult(f"t::{clause_id}-{outcome}", [clause_id], "impl", list(components), outcome, finished=True,
                      **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("outcomes, deviations, expected", [
    ([], {}, "not-applicable"), (["skipped", "skipped"], {}, "not-applicable"), (["passed", "skipped"], {}, "partial"),
    (["passed", "failed", "error"], {}, "error"), (["passed", "failed"], {}, "fails"), (["passed", "not-run"], {}, "not-run"),
    (["failed", "not-run"], {}, "fails"),
    (["passed"], {"fully_masked": "nan"}, "deviates"), (["passed"], {"final_norm": True}, "conforms"),
])
def test_clause_status_rules(outcomes: list[str], deviations: dict, expected: str) -> None:
    c = clause("3.2.3/fully-masked-row")
    assert clause_status(c, [_result(o) for o in outcomes], deviations) == expected


def test_a_precision_finding_is_imprecise_not_failing() -> None:
    finding = {"clause": "3.2.3/fully-masked-row", "what": "out", "max_abs": 1e-8}
    assert clause_status(clause("3.2.3/fully-masked-row"), [_result("passed", findings=[finding])], {}) == "imprecise"


def test_a_composite_whose_part_fails_is_blocked_by_the_parts_clause() -> None:
    pe = _result("failed", "3.5/positional-encoding", ("positional_encoding",))
    model = _result("failed", "3/model-forward", ("model",))
    softmax = _result("failed", "3.4/output-softmax", ("model",))
    ffn = _result("passed", "3.3/ffn", ("ffn",))
    mark_blocked([pe, model, softmax, ffn])
    assert (pe.blocked_by, model.blocked_by, softmax.blocked_by) == ([], ["3.5/positional-encoding"], ["3.5/positional-encoding"])
    assert clause_status(clause("3/model-forward"), [model], {}) == "blocked"
    assert clause_status(clause("3.5/positional-encoding"), [pe], {}) == "fails"
    assert root_cause("blocked", [model])["blocked_by"] == ["3.5/positional-encoding"]
    assert "positional_encoding" in parts_of(["model"]) and "model" not in parts_of(["model"])


def test_a_composite_is_never_blocked_by_a_sibling_or_by_itself() -> None:
    encoder = _result("failed", "3.1/encoder-stack", ("encoder",))
    decoder = _result("failed", "3.1/decoder-stack", ("decoder",))
    mark_blocked([encoder, decoder])
    assert encoder.blocked_by == decoder.blocked_by == []
    assert "how the parts are put together" in root_cause("fails", [encoder])["note"]


def test_a_test_of_two_clauses_fails_the_one_it_broke_on_and_blocks_the_other() -> None:
    trajectory = TestResult("t::trajectory", ["3.4/tied-weights", "5.3/adam"], "impl", ["train_steps"], "failed",
                            finished=True, violated=["3.4/tied-weights"])
    assert clause_status(clause("3.4/tied-weights"), [seen_from(trajectory, "3.4/tied-weights")], {}) == "fails"
    assert clause_status(clause("5.3/adam"), [seen_from(trajectory, "5.3/adam")], {}) == "blocked"
    assert seen_from(trajectory, "5.3/adam").blocked_by == ["3.4/tied-weights"] and trajectory.blocked_by == []


def test_crashed_worker_report_is_an_error_of_the_right_clause_and_impl() -> None:
    log = ResultLog(lambda nodeid: (clauses_of(nodeid, ROOT), impl_of(nodeid, ["reference", "torch-sdpa"]),
                                    clauses_of(nodeid, ROOT, "requires")))
    crash = pytest.TestReport(nodeid=NODE, location=("x", None, "x"), keywords={}, outcome="failed",
                              longrepr=f"worker 'gw1' crashed while running {NODE!r}", when="???")  # type: ignore[arg-type]
    result = log.add(crash)
    assert (result.clauses, result.impl, result.outcome, result.finished) == (["3.2.1/scaling"], "torch-sdpa", "error", True)
    assert result.components == ["attention"]
    assert result.message.startswith("the process running this test died") and "worker 'gw1' crashed" in result.message


def test_hypothesis_text_is_parsed_and_addresses_blanked() -> None:
    text = ("AssertionError: bad\nFalsifying example: test_x(\n    checker=<C object at 0x7f00aa>,\n    n=<N at 0x7f00ab>,\n)\n"
            "You can reproduce this example by temporarily adding @reproduce_failure('6.1', b'AAE=') as a decorator\n"
            "@seed(1234)")
    example, blob, seed = hypothesis_details(text)
    assert example == "Falsifying example: test_x(\n    n=<N at 0x…>,\n)"  # the harness's checker is no input
    assert (blob, seed) == ("@reproduce_failure('6.1', b'AAE=')", 1234)


def test_inputs_are_read(tmp_path: Path) -> None:
    assert load_training(tmp_path) is None
    (tmp_path / "scores.json").write_text(json.dumps({"bleu": 31.5}))
    (tmp_path / "learning_curve.json").write_text(json.dumps([{"step": 1, "lr": 1e-4, "train_loss": 9.0}]))
    assert load_training(tmp_path)["scores"] == {"bleu": 31.5}
    (tmp_path / "kill.json").write_text(json.dumps({"mutant:b": {"3.3/ffn": "fails"}, "mutant:a": {}}))
    assert list(load_kill_matrix(tmp_path / "kill.json")) == ["mutant:a", "mutant:b"]


def test_page_fills_training_and_kill_matrix_placeholders(tmp_path: Path) -> None:
    impl = {"spec": "x", "selected_as": "m:X", "name": "x", "version": "1", "deviations": {}, "offers": []}
    env = {"device": "cpu", "dtype": "float64", "hypothesis": {"profile": "ci"}}
    report = build_report([_result("failed", message="boom")], [impl], env, {}, complete=False,
                          training={"source": "t", "scores": {"bleu": 27.3}, "curve": [{"step": 1, "train_loss": 2.0}]},
                          kill_matrix={"mutant:a": {"3.3/ffn": "fails"}})
    page = render(report)
    assert page.count("data:image/png;base64,") == 2 and "27.3" in page and "incomplete run" in page
    assert "No kill matrix given" not in page and "No training results" not in page


@pytest.mark.parametrize("argv, problem", [
    (["run", "--device", "tpu"], "--device='tpu'"), (["run", "--impl", "nope"], "--impl='nope'"),
    (["run", "-n", "many"], "-n='many'"), (["run", "--timeout", "0"], "--timeout='0.0'"),
    (["run", "--kill-matrix", "/nonexistent.json"], "--kill-matrix"),
])
def test_run_usage_errors_are_one_line_exit_2(argv: list[str], problem: str, capsys: pytest.CaptureFixture) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and problem in err


def test_implementations_lists_offers_and_load_failures(capsys: pytest.CaptureFixture,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from transformer_spec.commands import implementations_cmd
    monkeypatch.setattr(implementations_cmd, "registered", lambda: {"reference": "x", "broken": "nowhere:Thing"})
    monkeypatch.setattr("transformer_spec.harness.loading.registered",
                        lambda: {"reference": "transformer_spec.implementations.adapters.reference:Reference", "broken": "nowhere:Thing"})
    assert main(["implementations"]) == 0
    out = capsys.readouterr().out
    assert "reference  (transformer_spec.implementations.adapters.reference:Reference)" in out and "offers (19)" in out
    assert "broken  (nowhere:Thing)\n  fails to load: --impl='broken': module 'nowhere' not found" in out


def test_an_adapter_s_note_follows_its_clause_in_the_console_summary(tmp_path: Path) -> None:
    finding = {"what": "PE", "max_abs": 3e-8, "budget": "float32's"}
    report = {"complete": True, "environment": {},
              "implementations": [{"spec": "lib", "verdict": "conforms (1 with precision findings)",
                                   "notes": {"3.5/positional-encoding": "the library builds its table in float32"}}],
              "clauses": [{"id": "3.5/positional-encoding", "implementation": "lib", "status": "imprecise",
                           "tests": [{"findings": [finding]}]}]}
    lines = summary_lines(report, tmp_path)
    at = lines.index("3.5/positional-encoding on lib: imprecise: precision finding: PE off by 3e-08 (float32's)")
    assert lines[at + 1] == "  the adapter's note: the library builds its table in float32"
