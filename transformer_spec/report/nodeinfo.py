"""Clauses and implementation of a test known only by its node id (a crashed xdist worker sends nothing else).

The clauses come from the ``clause`` markers of the test function, its class and its module, found by
importing the module; the implementation is the ``--impl`` value among the node id's parameters.
"""
from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any, Sequence


def _module_name(path: Path) -> tuple[Path, str]:
    """(directory to import from, dotted module name) of a test file inside packages."""
    parts, base = [path.stem], path.parent
    while (base / "__init__.py").is_file():
        parts.insert(0, base.name)
        base = base.parent
    return base, ".".join(parts)


def _marks(obj: Any) -> list[Any]:
    marks = getattr(obj, "pytestmark", [])
    return list(marks) if isinstance(marks, (list, tuple)) else [marks]


def clauses_of(nodeid: str, rootpath: Path, marker: str = "clause") -> list[str]:
    """The clause ids a test checks (or the arguments of another ``marker``), closest first; [] if unimportable."""
    file, *names = nodeid.split("::")
    if not names:
        return []
    names[-1] = names[-1].split("[", 1)[0]
    base, dotted = _module_name((rootpath / file).resolve())
    if str(base) not in sys.path:
        sys.path.insert(0, str(base))
    try:
        chain = [importlib.import_module(dotted)]
        for name in names:
            chain.append(getattr(chain[-1], name))
    except Exception:  # an unimportable module or a vanished test: no clauses to report
        return []
    return [a for obj in reversed(chain) for m in _marks(obj) if m.name == marker for a in m.args]


def impl_of(nodeid: str, specs: Sequence[str]) -> str | None:
    """The spec among ``specs`` that is one of the node id's ``-``-joined parameter ids (longest match wins)."""
    params = nodeid.rsplit("[", 1)[1].rstrip("]") if nodeid.endswith("]") else ""
    found = [s for s in specs if params == s or params.startswith(f"{s}-") or params.endswith(f"-{s}") or f"-{s}-" in params]
    return max(found, key=len, default=None)
