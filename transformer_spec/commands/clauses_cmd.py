"""``transformer-spec clauses``: the clause registry as a table or JSON."""
from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from transformer_spec.reference.clauses import Clause


def clause_record(c: Clause) -> dict[str, object]:
    """The JSON form of a clause."""
    return {"id": c.id, "section": c.section, "equation": c.equation, "title": c.title, "kind": c.kind,
            "statement": c.statement, "reference": f"{c.reference.__module__}.{c.reference.__qualname__}",
            "governed_by": list(c.governed_by)}


def _table(rows: list[dict[str, object]], columns: tuple[str, ...]) -> str:
    widths = {col: max(len(col), *(len(str(r[col] or "")) for r in rows)) for col in columns}
    line = lambda values: "  ".join(str(v or "").ljust(widths[c]) for c, v in zip(columns, values))
    return "\n".join([line(columns), line("-" * widths[c] for c in columns), *(line(r[c] for c in columns) for r in rows)])


def run(args: argparse.Namespace) -> int:
    from transformer_spec.reference.clauses import CLAUSES  # here, not above: --help does without the reference's NumPy
    rows = [clause_record(c) for c in CLAUSES]
    print(json.dumps(rows, indent=2) if args.json else _table(rows, ("id", "equation", "kind", "title")))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("clauses", help="list the spec clauses")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(handler=run)
