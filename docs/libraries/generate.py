"""Regenerate docs/libraries/<name>.md: each shipped library adapter's verdict table, from a real run.

Usage: ``python docs/libraries/generate.py [NAME ...]`` (default: every shipped library adapter whose library is
installed).  A table comes from ``transformer-spec run --impl NAME`` at float64 on the CPU with the derandomised
``ci`` Hypothesis profile, so any machine draws the same cases; ``tests/libraries/test_verdict_tables.py``
checks in CI that the committed tables are what a fresh run gives.
"""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from transformer_spec.harness.loading import LIBRARIES, Library
from transformer_spec.report.markdown import verdict_table

HERE = Path(__file__).resolve().parent
RUN = ("--dtype", "float64", "--device", "cpu", "--hypothesis-profile", "ci")


def run(library: Library, folder: Path, workers: int = 2) -> dict[str, Any]:
    """The report of ``transformer-spec run --impl <library>`` (exit code 0 or 1; a usage error raises)."""
    done = subprocess.run([sys.executable, "-m", "transformer_spec", "run", "--impl", library.name, *RUN,
                           "-n", str(workers), "--report-dir", str(folder)], capture_output=True, text=True)
    if done.returncode not in (0, 1) or not (folder / "report.json").is_file():
        raise RuntimeError(f"transformer-spec run --impl {library.name} exited {done.returncode}: {done.stderr[-2000:]}")
    return json.loads((folder / "report.json").read_text(encoding="utf-8"))


def page(library: Library, report: dict[str, Any]) -> str:
    """The Markdown page of one library adapter."""
    (impl,) = report["implementations"]
    module = library.target.partition(":")[0]
    deviations = ", ".join(f"{k}={v!r}" for k, v in impl["deviations"].items()) or "none"
    path = module.removeprefix("transformer_spec.").replace(".", "/")
    return "\n".join([
        f"# {library.name}: {library.module} {impl['version']}", "",
        "<!-- written by docs/libraries/generate.py from a real run; do not edit by hand -->",
        f"Install with `pip install 'transformer-spec[{library.extra}]'`, then run "
        f"`transformer-spec run --impl {library.name}`. The adapter is `{path}.py`: its docstring names the "
        "library source of each declared deviation and each departure.", "",
        f"Run: `transformer-spec run --impl {library.name} {' '.join(RUN)}`.", "",
        f"- verdict: {impl['verdict']}",
        f"- offers: {', '.join(impl['offers'])}",
        f"- declared deviations: {deviations}", "",
        *verdict_table(report, impl["spec"]), ""])


def main(names: list[str]) -> int:
    chosen = [lib for lib in LIBRARIES if lib.name in names] if names else \
        [lib for lib in LIBRARIES if importlib.util.find_spec(lib.module) is not None]
    for library in chosen:
        with tempfile.TemporaryDirectory() as folder:
            text = page(library, run(library, Path(folder) / "report"))
        (HERE / f"{library.name}.md").write_text(text, encoding="utf-8")
        print(f"wrote {HERE / f'{library.name}.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
