"""§3.3 Position-wise feed-forward network, Eq. (2)."""
from __future__ import annotations

import pytest
from hypothesis import given

from transformer_spec.reference.feed_forward import position_wise_ffn
from .gradients import check_gradients
from .strategies import ModelCase, model_cases
from transformer_spec.harness.checker import Checker

pytestmark = [pytest.mark.clause("3.3/ffn"), pytest.mark.requires("ffn")]


@given(case=model_cases(layers=(1,)))
def test_ffn_matches_reference(checker: Checker, case: ModelCase) -> None:
    params, x = checker.exact([case.params["encoder"]["layers"][0]["ffn"], case.hidden(case.seq_src)])
    out = checker.call_deterministic("3.3/ffn", "ffn", checker.tensor(x), checker.params(params))
    checker.assert_close("3.3/ffn", "FFN(x)", out, position_wise_ffn(x, params),
                         baseline=checker.baseline("ffn", checker.tensor(x), checker.params(params)))


@pytest.mark.needs("gradients")
@pytest.mark.precise
@given(case=model_cases(layers=(1,)))
def test_ffn_gradients_match_reference(checker: Checker, case: ModelCase) -> None:
    params = case.params["encoder"]["layers"][0]["ffn"]
    impl_fn = lambda x: checker.call("3.3/ffn", "ffn", x, checker.params(params))
    check_gradients(checker, "3.3/ffn", ("x",), impl_fn, lambda x: position_wise_ffn(x, params),
                    (case.hidden(case.seq_src),), case.seed)
