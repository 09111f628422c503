"""Print the largest naive-vs-reference difference per equation over many random cases.

Usage: ``python tests/reference/measure_errors.py [cases]`` (default 40 per
equation, 6 per model check).  Sizes are random and all different per axis, as
in the Hypothesis tests; the table is what the 1e-12 tolerance is measured against.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

import agreement  # noqa: E402
import ref_cases as rc  # noqa: E402
from test_ref_naive_agreement import EQUATIONS, MODEL  # noqa: E402
import verify_naive as vn  # noqa: E402
from transformer_spec.reference import schedule  # noqa: E402


def distinct_sizes(rng: np.random.Generator, kind: str) -> dict[str, int]:
    names, low = list(rc.SIZES[kind]), rc.LOW.get(kind, 1)
    values = rng.choice(np.arange(low, max(7, low + len(names)) + 1), size=len(names), replace=False)
    return dict(zip(names, (int(v) for v in values)))


def model_sizes(rng: np.random.Generator) -> dict[str, int]:
    small, wide = rng.permutation([1, 2, 3, 4, 5]), rng.choice(np.arange(6, 12), 4, replace=False)
    return {**dict(zip(("batch", "heads", "seq_src", "seq_tgt", "layers"), map(int, small))),
            **dict(zip(("d_model", "d_ff", "d_k", "d_v"), map(int, wide))), "vocab": int(rng.integers(12, 17))}


def main(cases: int = 40) -> None:
    rng = np.random.default_rng(2017)
    for _, check, fn, kind in EQUATIONS:
        for _ in range(cases):
            check(fn, rc.BUILDERS[kind](int(rng.integers(2 ** 32)), **distinct_sizes(rng, kind)))
    for _ in range(cases):
        vn.check_learning_rate(schedule.learning_rate, rc.schedule_case(int(rng.integers(2 ** 32))))
    for _, check, fn in MODEL:
        for i in range(max(2, cases // 7)):
            check(fn, rc.model_case(int(rng.integers(2 ** 32)), **model_sizes(rng), variant=bool(i % 2)))
    width = max(map(len, agreement.MAX_ERRORS))
    print(f"{'equation':<{width}}  max abs error  max rel error   (allowed: 1e-12 x max(1, |value|))")
    for name, (abs_err, rel_err) in sorted(agreement.MAX_ERRORS.items()):
        print(f"{name:<{width}}  {abs_err:13.3g}  {rel_err:13.3g}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 40)
