"""``transformer-spec implementations``: the registered implementations (and mutants) and what each offers.

Each is loaded on cpu/float64; one that fails to load is listed with the reason.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
from typing import Any

from transformer_spec.harness.loading import MUTANT_PREFIX, registered
from transformer_spec.harness.target import Target
from transformer_spec.report.implementations import describe_spec


def known_specs() -> list[str]:
    """Registered names, then ``mutant:<name>`` for each mutant when ``implementations.mutants`` exists."""
    specs = sorted(registered())
    if importlib.util.find_spec("implementations.mutants") is not None:
        from implementations.mutants import MUTANTS
        specs += [f"{MUTANT_PREFIX}{name}" for name in sorted(MUTANTS)]
    return specs


def _lines(info: dict[str, Any]) -> list[str]:
    head = f"{info['spec']}  ({info['selected_as']})"
    if info["load_error"]:
        return [head, f"  fails to load: {info['load_error']}"]
    deviations = ", ".join(f"{k}={v!r}" for k, v in info["deviations"].items()) or "none"
    return [head, f"  name {info['name']}, version {info['version']}", f"  deviations: {deviations}",
            f"  offers ({len(info['offers'])}): {', '.join(info['offers'])}"]


def run(args: argparse.Namespace) -> int:
    infos = [describe_spec(spec, Target("cpu", "float64")) for spec in known_specs()]
    if args.json:
        print(json.dumps(infos, indent=2))
    else:
        print("\n".join(line for info in infos for line in _lines(info)))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("implementations", help="list the implementations that can be tested and what they offer")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.set_defaults(handler=run)
