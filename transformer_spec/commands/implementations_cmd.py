"""``transformer-spec implementations``: the registered implementations and what each offers.

Each is loaded on cpu/float64; one that fails to load is listed with the reason.  With ``--mutants``,
the mutant zoo (``implementations/mutants``) and the correct variants (``implementations/variants``)
follow, one line each.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
from typing import Any

from transformer_spec.harness.loading import MUTANT_PREFIX, VARIANT_PREFIX, registered
from transformer_spec.harness.target import Target
from transformer_spec.report.implementations import describe_spec


def zoo_lines() -> dict[str, str]:
    """``mutant:<name>`` and ``variant:<name>`` -> what it is, for the zoos this tree has."""
    lines: dict[str, str] = {}
    if importlib.util.find_spec("transformer_spec.implementations.mutants") is not None:
        from transformer_spec.implementations.mutants import MUTANTS
        lines.update({f"{MUTANT_PREFIX}{name}": f"breaks {m.clause}: {m.bug}" for name, m in sorted(MUTANTS.items())})
    if importlib.util.find_spec("transformer_spec.implementations.variants") is not None:
        from transformer_spec.implementations.variants import VARIANTS
        lines.update({f"{VARIANT_PREFIX}{name}": f"correct variant ({where})"
                      for name, where in sorted(VARIANTS.items())})
    return lines


def _lines(info: dict[str, Any]) -> list[str]:
    head = f"{info['spec']}  ({info['selected_as']})"
    if info["load_error"]:
        return [head, f"  fails to load: {info['load_error']}"]
    deviations = ", ".join(f"{k}={v!r}" for k, v in info["deviations"].items()) or "none"
    return [head, f"  name {info['name']}, version {info['version']}", f"  deviations: {deviations}",
            f"  offers ({len(info['offers'])}): {', '.join(info['offers'])}"]


def run(args: argparse.Namespace) -> int:
    target, specs = Target("cpu", "float64"), sorted(registered())
    zoo = zoo_lines() if args.mutants else {}
    if args.json:
        print(json.dumps([describe_spec(spec, target) for spec in [*specs, *zoo]], indent=2))
        return 0
    print("\n".join(line for spec in specs for line in _lines(describe_spec(spec, target))))
    if zoo:
        width = max(len(spec) for spec in zoo)
        print("\n" + "\n".join(f"{spec.ljust(width)}  {what}" for spec, what in zoo.items()))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("implementations", help="list the implementations that can be tested and what they offer")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.add_argument("--mutants", action="store_true",
                        help="also list the mutant zoo and the correct variants, one line each")
    parser.set_defaults(handler=run)
