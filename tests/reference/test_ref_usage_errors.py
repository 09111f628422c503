"""Misuse of the reference raises SpecUsageError naming the argument and its value (conventions, "Errors")."""
from __future__ import annotations

import pytest

from transformer_spec.reference import checks
from verify_usage import MISUSES, expect_usage_error, usage_require_broadcastable, usage_require_equal, \
    usage_require_ndim, usage_require_tokens


@pytest.mark.parametrize("what, call, argument, value", MISUSES, ids=[m[0] for m in MISUSES])
def test_misuse_names_argument_and_value(what: str, call, argument: str, value: object) -> None:
    expect_usage_error(what, call, argument, value)


@pytest.mark.parametrize("check, fn", [(usage_require_ndim, checks.require_ndim),
                                       (usage_require_equal, checks.require_equal),
                                       (usage_require_broadcastable, checks.require_broadcastable),
                                       (usage_require_tokens, checks.require_tokens)],
                         ids=["require_ndim", "require_equal", "require_broadcastable", "require_tokens"])
def test_argument_helpers(check, fn) -> None:
    check(fn)
