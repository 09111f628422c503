"""Checks of command-line values shared by the sub-commands; each failure is a one-line usage error.

The argparse ``type`` functions here raise :class:`argparse.ArgumentTypeError` (argparse names the option);
the others raise :class:`SpecUsageError`.  Nothing heavy is imported until a check needs it.
"""
from __future__ import annotations

import argparse
import math
import shutil
import tempfile
from pathlib import Path
from typing import Callable, Iterable

from reference.errors import SpecUsageError
from transformer_spec.harness.loading import resolved_target


def positive(kind: type[int] | type[float]) -> Callable[[str], float | int]:
    """An argparse type: a finite positive number of ``kind``."""
    def parse(text: str) -> float | int:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {'an integer' if kind is int else 'a number'}") from None
        if not (math.isfinite(value) and value > 0):
            raise argparse.ArgumentTypeError(f"{text} is not a finite positive number")
        return value
    return parse


def workers(text: str) -> str:
    """An argparse type: pytest-xdist's ``-n``, a number of workers (0: none, run in this process) or ``auto``."""
    if text != "auto" and not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r}: give a number of workers (0 runs without xdist) or auto")
    return text


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
