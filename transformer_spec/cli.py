"""The ``transformer-spec`` command line.

Each sub-command lives in its own module exposing ``register(subparsers)``,
which adds a parser whose ``handler`` default takes the parsed arguments and
returns an exit code.  Usage errors print one line and exit 2.
"""
from __future__ import annotations

import argparse
import sys
from typing import Sequence

from transformer_spec.reference.errors import SpecUsageError
from transformer_spec import __version__
from transformer_spec.commands import clauses_cmd, implementations_cmd, run_cmd, selftest_cmd, train_cmd

COMMANDS = (clauses_cmd, run_cmd, implementations_cmd, selftest_cmd, train_cmd)


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad option is a one-line usage error with exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise SpecUsageError("command line", " ".join(sys.argv[1:]), message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="transformer-spec", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"transformer-spec {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for command in COMMANDS:
        command.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return int(args.handler(args))
    except SpecUsageError as exc:
        print(f"transformer-spec: usage error: {exc}", file=sys.stderr)
        return SpecUsageError.exit_code
    except KeyboardInterrupt:  # Ctrl-C before the run started (or after it ended): nothing was written
        print("transformer-spec: interrupted", file=sys.stderr)
        return INTERRUPTED


INTERRUPTED = 130
"""The shell's code for a command ended by Ctrl-C (128 + SIGINT)."""


if __name__ == "__main__":
    sys.exit(main())
