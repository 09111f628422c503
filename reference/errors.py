"""Errors that separate misuse from nonconformance.

A :class:`SpecUsageError` means the caller asked for something impossible
(``d_model=30`` with ``heads=4``, a mask of the wrong shape, an unknown
option).  It is never a verdict on an implementation: the command line turns
it into a one-line message and exit code 2.
"""
from __future__ import annotations


class SpecUsageError(ValueError):
    """A usage error: an argument is impossible, named with its value."""

    exit_code = 2

    def __init__(self, argument: str, value: object, problem: str) -> None:
        self.argument = argument
        self.value = value
        self.problem = problem
        super().__init__(f"{argument}={value!r}: {problem}")
