"""Reproduction bundles: ``repro/<clause id>/<implementation>/`` per failing clause and implementation.

Each holds ``failure.json`` (node ids, messages, Hypothesis seed and ``@reproduce_failure`` blob,
counterexamples, the environment manifest), ``rerun.sh`` with one command per failing test, and
``inputs-<i>.npz``: the arrays (inputs and canonical weights) of the failing test's last call.
"""
from __future__ import annotations

import json
import shlex
import shutil
from pathlib import Path
from typing import Any

from transformer_spec.harness.rerun import rerun_command_line
from transformer_spec.harness.paths import inputs_path, safe_name
from transformer_spec.report.atomic import write_text
from transformer_spec.report.build import failing_entries


def rerun_command(test: dict[str, Any], impl: str, environment: dict[str, Any]) -> str:
    """The test's "Reproduce" command; for a test that left none (a crashed worker), one built from the run."""
    if test["reproduce"]:
        return str(test["reproduce"])
    return rerun_command_line(test["nodeid"], impl, environment["device"], environment["dtype"],
                              environment["hypothesis"]["profile"])


def write_bundles(report: dict[str, Any], directory: Path) -> list[Path]:
    """Replace ``directory/repro`` with one bundle per failing clause entry; returns the bundle folders."""
    root = directory / "repro"
    shutil.rmtree(root, ignore_errors=True)
    env, rootdir = report["environment"], report["run"].get("rootdir")
    bundles = []
    for entry in failing_entries(report):
        failing = [t for t in entry["tests"] if t["outcome"] in ("failed", "error")]
        commands = [rerun_command(t, entry["implementation"], env) for t in failing]
        bundle = root / safe_name(entry["id"]) / safe_name(entry["implementation"])
        bundle.mkdir(parents=True, exist_ok=True)
        manifest = {"clause": entry["id"], "statement": entry["statement"], "implementation": entry["implementation"],
                    "status": entry["status"], "fault_localisation": entry["fault_localisation"],
                    "environment": env, "rootdir": rootdir,
                    "failures": [{**{k: t[k] for k in ("nodeid", "outcome", "message", "seed", "reproduce_blob",
                                                       "counterexample", "measurements")}, "rerun": c}
                                 for t, c in zip(failing, commands)]}
        write_text(bundle / "failure.json", json.dumps(manifest, indent=1, sort_keys=True) + "\n")
        cd = [f"cd {shlex.quote(rootdir)}"] if rootdir else []
        write_text(bundle / "rerun.sh", "\n".join(["#!/bin/sh", f"# {entry['id']} on {entry['implementation']}: "
                                                   "one command per failing test", *cd, *commands]) + "\n")
        (bundle / "rerun.sh").chmod(0o755)
        for i, test in enumerate(failing):  # the inputs the implementation last got, saved by the spec plugin
            saved = inputs_path(directory, test["nodeid"])
            if saved.is_file():
                shutil.copyfile(saved, bundle / f"inputs-{i}.npz")
        bundles.append(bundle)
    return bundles
