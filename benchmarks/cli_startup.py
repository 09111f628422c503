"""Start-up wall time of the command line: ``transformer-spec --version`` against ``python -c pass``.

Target (issue 13): ``--version``, ``--help``, sub-command ``--help`` and argparse-level usage errors in
at most 1 s on an idle machine.  Each command runs ``--repeat`` times, interleaved with the bare
interpreter so that both see the same load; the best of each is reported.  The last line is
``ratio_vs_python=<best transformer-spec wall / best python wall>``.

    python benchmarks/cli_startup.py [--repeat 5] [--args=--help]
"""
from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = Path(sys.executable).with_name("transformer-spec")


def wall(command: list[str]) -> float:
    """Seconds one run of ``command`` takes, start-up included."""
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, capture_output=True, check=False)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--args", default="--version", help="the command line's arguments (default --version)")
    args = parser.parse_args()
    cli = [str(SCRIPT)] if SCRIPT.is_file() else [sys.executable, "-m", "transformer_spec"]
    command, bare = [*cli, *shlex.split(args.args)], [sys.executable, "-c", "pass"]
    walls: dict[str, list[float]] = {"cli": [], "python": []}
    for _ in range(args.repeat):
        walls["cli"].append(wall(command))
        walls["python"].append(wall(bare))
    cli_best, python_best = min(walls["cli"]), min(walls["python"])
    print(f"{shlex.join(command)}: best {cli_best:.3f} s wall of {args.repeat}")
    print(f"python -c pass: best {python_best:.3f} s wall of {args.repeat}")
    print(f"ratio_vs_python={cli_best / python_best:.1f}")


if __name__ == "__main__":
    main()
