"""Correct variants: independent implementations that make other legitimate choices than ours.

Mutants (``implementations/mutants``) prove that a test can fail; variants prove that it
fails only what is wrong.  Each variant here is correct by the paper, but chooses where the
paper is silent or the choice is harmless: pre-norm declared as a deviation, constants built
in float32, a textbook beam search, PyTorch's label smoothing, a slow implementation, and so on.
``--impl variant:<name>`` runs the suite on one; ``tests/test_variants.py`` requires every
variant to conform (or deviate as declared) on the clauses it names in ``focus_clauses``.

A variant is registered by name in :data:`VARIANTS` as ``"module:Factory"`` (a module of this
package), so that importing the registry imports no variant.
"""
from __future__ import annotations

import importlib
from typing import Any

VARIANTS: dict[str, str] = {
    "pre-norm": "functional_stack:PreNorm",
    "padding-idx-embedding": "functional_stack:PaddingIdxEmbedding",
    "fixed-eps-layer-norm": "fixed_eps:FixedEpsLayerNorm",
    "torch-smoothing": "smoothing_losses:TorchSmoothing",
    "t2t-smoothing": "smoothing_losses:T2TSmoothing",
    "linear-tied": "linear_tied:LinearTied",
    "textbook-beam": "textbook_beam:TextbookBeam",
    "float32-internal": "float32_internal:Float32Internal",
    "halves-pe": "library_choices:HalvesPositionalEncoding",
    "offset-pe": "library_choices:OffsetPositionalEncoding",
    "bias-free-projections": "library_choices:BiasFreeProjections",
    "annotated-layer-norm": "library_choices:AnnotatedLayerNorm",
    "scale-at-logits": "library_choices:ScaleAtLogits",
    "log-prob-output": "library_choices:LogProbOutput",
    "learned-positions": "library_choices:LearnedPositions",
}
"""Variant name -> ``module:Factory`` inside ``transformer_spec.implementations.variants``."""


def variant_factory(name: str) -> Any:
    """The factory of the variant ``name`` (a KeyError for an unknown one)."""
    module, _, attr = VARIANTS[name].partition(":")
    return getattr(importlib.import_module(f"transformer_spec.implementations.variants.{module}"), attr)
