"""Properties that a dedicated mutant shows failing.

The kill matrix proves each clause can fail; a clause's differential test
often fails first and hides whether its metamorphic properties could fail
at all.  Each witness runs one spec test alone on one mutant (real pytest,
real plugin, a subprocess) and requires that it fails with its own message.
"""
from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from transformer_spec.implementations.mutants import MUTANTS

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Witness:
    test: str  # node id from the project root
    mutant: str
    message: str  # a fragment of the property's own failure message


WITNESSES = (
    Witness("spec_tests/test_positional_encoding.py::test_distinct_positions_get_distinct_codes",
            "pe-positions-bfloat16", "get codes only 0 apart"),
    Witness("spec_tests/test_residual.py::test_encoder_layer_is_permutation_equivariant", "encoder-causal",
            "encoder layer of inputs permuted by"),
    Witness("spec_tests/test_residual.py::test_example_does_not_depend_on_the_rest_of_its_batch", "batch-norm",
            "logits of example 0 in its batch"),
    Witness("spec_tests/test_training.py::test_padding_positions_do_not_count", "loss-counts-padding", "padding"),
)


@pytest.mark.parametrize("witness", WITNESSES, ids=lambda w: f"{w.test.split('::')[1]}-{w.mutant}")
def test_property_fails_on_its_witness_mutant(witness: Witness) -> None:
    assert witness.mutant in MUTANTS, f"no mutant {witness.mutant}"
    done = subprocess.run([sys.executable, "-m", "pytest", witness.test, "--impl", f"mutant:{witness.mutant}",
                           "-n", "0", "--device", "cpu", "--hypothesis-profile", "mutants", "-q", "-p", "no:randomly"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    tail = done.stdout[-2500:]
    assert done.returncode == 1, f"{witness.test} did not fail on mutant:{witness.mutant} (exit {done.returncode})\n{tail}"
    assert witness.message in done.stdout, f"the failure is not the property's own ({witness.message!r})\n{tail}"
