"""The one command that reruns a test as it ran: same interpreter, same adapter, same environment.

It must work from another folder and from another shell, so the test file and a file adapter's
path are made absolute (the test's id, which holds the ``--impl`` value, follows), the interpreter
is the one that ran the suite (``sys.executable``), and environment variables are carried: every
``TRANSFORMER_SPEC_*`` variable that was set, and every variable the adapter's own module reads by
a literal name (``os.environ["X"]``, ``os.environ.get("X")``, ``os.getenv("X")``) that was set.
Only the adapter's module is read, not what it imports.  A variable whose name suggests a secret
(token, password, key ...) is not written out: the command asks for it (``X="${X:?}"``), so that a
rerun in a shell without it stops and names it.
"""
from __future__ import annotations

import importlib.util
import os
import re
import shlex
import sys
from pathlib import Path

from transformer_spec.harness.loading import MUTANT_PREFIX, VARIANT_PREFIX, resolved_target

ENV_PREFIX = "TRANSFORMER_SPEC_"
_READS_ENV = re.compile(r"""(?:environ\s*(?:\.get\s*\(|\[)|getenv\s*\()\s*['"]([A-Za-z_][A-Za-z0-9_]*)['"]""")
_SECRET = re.compile(r"TOKEN|SECRET|PASSW|KEY|CREDENTIAL|AUTH", re.IGNORECASE)


def portable_spec(spec: str) -> str:
    """``spec`` as it means the same from any folder: a ``file.py:attr`` adapter gets an absolute path."""
    where, _, attr = spec.rpartition(":")
    return f"{Path(where).resolve()}:{attr}" if where.endswith(".py") else spec


def _adapter_source(spec: str) -> Path | None:
    """The source file of the module that holds ``spec``'s factory, when it is a file outside the project's zoos."""
    target = resolved_target(spec)
    if target.startswith((MUTANT_PREFIX, VARIANT_PREFIX)):
        return None
    where = target.rpartition(":")[0]
    if where.endswith(".py"):
        return Path(where)
    try:
        found = importlib.util.find_spec(where)
    except (ImportError, ValueError):
        return None
    return Path(found.origin) if found is not None and found.origin else None


def carried_environment(spec: str) -> dict[str, str]:
    """The set environment variables a rerun of ``spec`` needs, by name (see the module's docstring)."""
    names = {name for name in os.environ if name.startswith(ENV_PREFIX)}
    source = _adapter_source(spec)
    if source is not None and source.suffix == ".py" and source.is_file():
        names.update(_READS_ENV.findall(source.read_text(encoding="utf-8", errors="replace")))
    return {name: os.environ[name] for name in sorted(names) if name in os.environ}


def _assignment(name: str, value: str) -> str:
    return f'{name}="${{{name}:?}}"' if _SECRET.search(name) else f"{name}={shlex.quote(value)}"


def _test_argument(nodeid: str, spec: str | None, rootdir: Path | None) -> str:
    """``nodeid`` with its file under ``rootdir`` when given, and ``spec`` in its parameters made portable, as the
    rerun passes ``--impl`` (the test's id holds the ``--impl`` value it ran with)."""
    path, sep, rest = nodeid.partition("::")
    name, bracket, params = rest.partition("[")
    if spec:
        params = params.replace(spec, portable_spec(spec))
    return f"{rootdir / path if rootdir else path}{sep}{name}{bracket}{params}"


def rerun_command_line(nodeid: str, spec: str | None, device: str, dtype: str, profile: str | None = None,
                   seed: object = None, rootdir: Path | None = None) -> str:
    """One shell command that reruns test ``nodeid`` on ``spec``, ``device`` and ``dtype``: from any folder when
    the project's ``rootdir`` is given, else from that folder."""
    environment = carried_environment(spec) if spec else {}
    parts = [*(_assignment(n, v) for n, v in environment.items()), shlex.quote(sys.executable), "-m pytest",
             shlex.quote(_test_argument(nodeid, spec, rootdir)), "-n 0"]
    if spec:
        parts.append(f"--impl {shlex.quote(portable_spec(spec))}")
    parts += [f"--device {device}", f"--dtype {dtype}"]
    if profile:
        parts.append(f"--hypothesis-profile {profile}")
    if seed is not None:
        parts.append(f"--hypothesis-seed {seed}")
    return " ".join(parts)
