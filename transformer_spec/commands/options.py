"""Checks of command-line values shared by the sub-commands, run by their handlers before anything heavy.

Each failure is a :class:`SpecUsageError` naming the option and its value: one line, exit code 2.
"""
from __future__ import annotations

import math
import shutil
import tempfile
from pathlib import Path
from typing import Iterable

from transformer_spec.reference.errors import SpecUsageError
from transformer_spec.harness.loading import resolved_target


def positive(option: str, value: float | None) -> None:
    """A usage error unless ``value`` is a finite positive number (or None: the option was left out)."""
    if value is not None and not (math.isfinite(value) and value > 0):
        raise SpecUsageError(option, str(value), "must be a finite positive number")


def workers(value: str) -> None:
    """A usage error unless ``value`` is pytest-xdist's ``-n``: a number of workers (0: none) or ``auto``."""
    if value != "auto" and not value.isdigit():
        raise SpecUsageError("-n", value, "give a number of workers (0 runs without xdist) or auto")


def k_expression(expression: str) -> None:
    """A usage error unless pytest can parse ``expression`` for ``-k`` (where its parser has moved, pytest judges)."""
    try:
        from _pytest.mark import expression as parser
    except ImportError:
        return
    errors = (SyntaxError, getattr(parser, "ParseError", SyntaxError))  # ParseError in older pytest
    try:
        parser.Expression.compile(expression)
    except errors as exc:
        problem = getattr(exc, "msg", None) or getattr(exc, "message", None) or str(exc)
        raise SpecUsageError("-k", expression, f"not a pytest -k expression: {problem}") from None


def writable_folder(option: str, path: Path) -> None:
    """A usage error unless ``path`` is a folder that can be created and written: a probe file is written in it,
    and what the probe created is removed again, so that a usage error found later leaves nothing behind."""
    if path.exists() and not path.is_dir():
        raise SpecUsageError(option, str(path), "exists and is not a folder")
    created = next((p for p in reversed((path, *path.parents)) if not p.exists()), None)
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        raise SpecUsageError(option, str(path), f"cannot be written: {exc.strerror or exc}") from None
    finally:
        if created is not None:
            shutil.rmtree(created, ignore_errors=True)


def existing_folder(option: str, path: Path | None) -> None:
    """A usage error unless ``path`` is None or an existing folder."""
    if path is not None and not path.is_dir():
        raise SpecUsageError(option, str(path), "is not a folder")


def distinct_implementations(specs: Iterable[str]) -> list[str]:
    """``specs`` in order; a usage error when two of them select the same implementation."""
    seen: dict[str, str] = {}
    for spec in specs:
        where = resolved_target(spec)
        if where in seen:
            also = "" if seen[where] == spec else f" (as {seen[where]!r})"
            raise SpecUsageError("--impl", spec, f"is given twice{also}: each implementation once")
        seen[where] = spec
    return list(seen.values())
