"""Wall time of the component suite (everything but end-to-end training) under the ``ci`` profile.

Baseline: the 30 s budget of issue 5 for 2 cores.  Prints the wall time of
each run and, as its last line, ``ratio_vs_30s_budget=<wall / 30>`` (below 1 meets it).

    python benchmarks/suite_speed.py [--impl transformer-spec] [-n 2] [--repeat 1]
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

BUDGET_S = 30.0
ROOT = Path(__file__).resolve().parents[1]


def one_run(impl: str, workers: str) -> float:
    cmd = [sys.executable, "-m", "pytest", "spec_tests", "--impl", impl, "-n", workers, "-q", "-p", "no:cacheprovider",
           "--hypothesis-profile", "ci", "--no-training"]
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - start
    print(done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr[-500:])
    return wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--impl", default="transformer-spec")
    parser.add_argument("-n", dest="workers", default="2")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    walls = [one_run(args.impl, args.workers) for _ in range(args.repeat)]
    for i, wall in enumerate(walls, 1):
        print(f"run {i}: {wall:.1f} s wall (-n {args.workers}, impl {args.impl}, profile ci, start-up included)")
    print(f"ratio_vs_30s_budget={min(walls) / BUDGET_S:.2f}")


if __name__ == "__main__":
    main()
