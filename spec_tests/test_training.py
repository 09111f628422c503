"""§5.3 and §5.4 Training: Eq. (3), Adam, dropout placement, label smoothing, and the training trajectory."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from transformer_spec.reference.config import TransformerConfig
from transformer_spec.reference.layers import transformer_forward
from transformer_spec.reference.optimizer import adam_update
from transformer_spec.reference.params import flatten
from transformer_spec.reference.regularization import dropout_sites, label_smoothed_cross_entropy
from transformer_spec.reference.schedule import learning_rate
from .strategies import SEEDS, ModelCase, model_cases
from .trajectory import trajectory_case
from transformer_spec.harness.checker import Checker
from transformer_spec.harness.compare import Tolerance, as_numpy

EXACT = Tolerance(rtol=1e-9, atol=0.0)


@pytest.mark.clause("5.3/learning-rate")
@pytest.mark.requires("learning_rate")
@pytest.mark.parametrize("d_model", [64, 512])
@pytest.mark.parametrize("warmup", [1, 7, 400])
def test_learning_rate_at_every_step(checker: Checker, d_model: int, warmup: int) -> None:
    """Eq. (3) at every step 1 .. 2 * warmup_steps (and beyond for tiny warm-ups)."""
    steps = max(2 * warmup, 20)
    actual = np.asarray(checker.call("5.3/learning-rate", "learning_rates", steps, d_model, warmup), dtype=np.float64)
    expected = np.array([learning_rate(s, d_model, warmup) for s in range(1, steps + 1)])
    ratio = actual / expected if actual.shape == expected.shape else np.ones(1)
    checker.require("5.3/learning-rate", not (np.ptp(ratio) <= 1e-9 * abs(ratio[0]) and abs(ratio[0] - 1) > 1e-9),
                    f"lrate is {ratio[0]:.4g} x Eq. (3) at every step 1..{steps} (d_model={d_model}, "
                    f"warmup_steps={warmup}), but should be exactly Eq. (3)")
    checker.assert_close("5.3/learning-rate", f"lrate at steps 1..{steps}", actual, expected, EXACT)


@pytest.mark.clause("5.3/adam")
@pytest.mark.requires("adam_step")
@given(seed=SEEDS, steps=st.integers(2, 8))
def test_adam_updates_match_reference(checker: Checker, seed: int, steps: int) -> None:
    """Adam with beta_1 = 0.9, beta_2 = 0.98, epsilon = 1e-9, over steps whose gradients change in scale."""
    rng = np.random.default_rng(seed)
    param = rng.normal(size=(3, 5))
    m, v = np.zeros_like(param), np.zeros_like(param)
    state = [checker.tensor(a) for a in (param, m, v)]
    for step in range(1, steps + 1):
        grad = rng.normal(size=param.shape) * 10.0 ** rng.uniform(-3, 1)
        lr = 1e-3 * step
        state = list(checker.call("5.3/adam", "adam_step", *state[:1], checker.tensor(grad), *state[1:], step, lr))
        param, m, v = adam_update(param, grad, m, v, step, lr)
        for name, actual, desired in zip(("param", "m", "v"), state, (param, m, v)):
            checker.assert_close("5.3/adam", f"{name} after step {step}", actual, desired)


@pytest.mark.precise
@pytest.mark.clause("5.4/dropout")
@pytest.mark.requires("model")
@given(case=model_cases(layers=(1, 2), padded=False), seed=SEEDS)
def test_dropout_is_where_section_5_4_puts_it(checker: Checker, case: ModelCase, seed: int) -> None:
    """With explicit keep-masks at every §5.4 site, the model equals the reference with the same masks."""
    config = checker.config(case.config.replace(dropout=0.3))
    src, tgt = case.tokens()
    rng = np.random.default_rng(seed)
    keep = {name: rng.random(shape) >= config.dropout
            for name, shape in dropout_sites(config, case.batch, case.seq_src, case.seq_tgt).items()}
    out = checker.call("5.4/dropout", "model", checker.tensor(src), checker.tensor(tgt), checker.params(case.params_for(config)),
                       config, {k: checker.tensor(v) for k, v in keep.items()})
    expected = transformer_forward(src, tgt, case.params_for(config), config, keep)
    checker.assert_close("5.4/dropout", "logits with the given dropout keep-masks", out, expected,
                         Tolerance(1e-4, 1e-4) if checker.target.dtype == "float32" else None)


@pytest.mark.precise
@pytest.mark.clause("5.4/dropout")
@pytest.mark.requires("model")
@given(case=model_cases(layers=(1,)))
def test_no_dropout_in_evaluation(checker: Checker, case: ModelCase) -> None:
    config = checker.config(case.config.replace(dropout=0.5))
    src, tgt = case.tokens()
    out = checker.call_deterministic("5.4/dropout", "model", checker.tensor(src), checker.tensor(tgt),
                                     checker.params(case.params_for(config)), config)
    checker.assert_close("5.4/dropout", "evaluation logits with dropout=0.5 configured", out,
                         transformer_forward(src, tgt, case.params_for(config), config),
                         Tolerance(1e-4, 1e-4) if checker.target.dtype == "float32" else None)


def _declared(config: TransformerConfig) -> str:
    return f"smoothing {config.smoothing_convention!r}, padding class {config.smoothing_pad_class}"


def _loss_case(case: ModelCase) -> tuple[np.ndarray, np.ndarray]:
    _, tgt = case.tokens()
    logits = np.random.default_rng(case.seed).normal(size=(case.batch, case.seq_tgt, case.config.vocab)) * 3.0
    return logits, tgt


@pytest.mark.clause("5.4/label-smoothing")
@pytest.mark.requires("loss")
@given(case=model_cases(layers=(1,)), epsilon=st.sampled_from([0.0, 0.1, 0.3]))
def test_label_smoothed_loss_matches_reference(checker: Checker, case: ModelCase, epsilon: float) -> None:
    config = checker.config(case.config)
    logits, tgt = _loss_case(case)
    out = checker.call("5.4/label-smoothing", "loss", checker.tensor(logits), checker.tensor(tgt), epsilon, config.pad_id)
    expected = label_smoothed_cross_entropy(logits, tgt, epsilon, config.pad_id, config.smoothing_convention,
                                            config.smoothing_pad_class)
    checker.assert_close("5.4/label-smoothing", f"loss (epsilon={epsilon}, {_declared(config)})",
                         np.asarray(as_numpy(out), np.float64), np.float64(expected))


@pytest.mark.clause("5.4/label-smoothing")
@pytest.mark.requires("loss")
@given(case=model_cases(layers=(1,)))
def test_padding_positions_do_not_count(checker: Checker, case: ModelCase) -> None:
    config = checker.config(case.config)
    logits, tgt = _loss_case(case)
    moved = logits + (tgt == config.pad_id)[..., None] * np.arange(config.vocab) * 5.0
    run = lambda lg: float(as_numpy(checker.call("5.4/label-smoothing", "loss", checker.tensor(lg), checker.tensor(tgt),
                                                 0.1, config.pad_id)))
    before, after = run(logits), run(moved)
    checker.require("5.4/label-smoothing", abs(before - after) <= 1e-6 * max(1.0, abs(before)),
                    f"changing the logits at padding targets moved the loss from {before:.9g} to {after:.9g}")


@pytest.mark.clause("5.4/smoothing-denominator")
@pytest.mark.requires("loss")
@given(vocab=st.integers(4, 30), seed=SEEDS)
def test_smoothing_mass_follows_declared_convention(checker: Checker, vocab: int, seed: int) -> None:
    """Logits that make the padding class likely separate eps/(K-1) from eps/K, and padding class in or out."""
    config = checker.config(TransformerConfig(vocab=vocab, pad_id=0))
    rng = np.random.default_rng(seed)
    tgt = rng.integers(1, vocab, size=(1, 4))
    logits = rng.normal(size=(1, 4, vocab))
    logits[..., 0] += 6.0  # the padding class looks likely: mass wrongly put on it would be cheap
    out = checker.call("5.4/smoothing-denominator", "loss", checker.tensor(logits), checker.tensor(tgt), 0.2, 0)
    expected = label_smoothed_cross_entropy(logits, tgt, 0.2, 0, config.smoothing_convention, config.smoothing_pad_class)
    checker.assert_close("5.4/smoothing-denominator", f"loss under the declared {_declared(config)}",
                         np.asarray(as_numpy(out), np.float64), np.float64(expected))


TINY = TransformerConfig(layers=1, d_model=4, d_ff=5, heads=2, d_k=2, d_v=3, vocab=7, warmup_steps=3, dropout=0.0)
PAPER_SHAPED = TINY.replace(d_v=2)
"""d_k = d_v = d_model / heads: the only shape fused attention kernels express."""


@pytest.mark.precise
@pytest.mark.clause("3.4/tied-weights")
@pytest.mark.clause("5.3/adam")
@pytest.mark.requires("train_steps")
@pytest.mark.parametrize("base, seed", [pytest.param(TINY, 0, id="dk2-dv3-seed0"), pytest.param(TINY, 1, id="dk2-dv3-seed1"),
                                        pytest.param(PAPER_SHAPED, 0, id="dk-dv-dmodel-over-heads-seed0")])
def test_training_trajectory_matches_reference(checker: Checker, base: TransformerConfig, seed: int) -> None:
    """Two steps of the paper's recipe from the same weights and batches land on the reference's parameters.

    The tied matrix must get the sum of its three gradients; untied copies, a
    shifted schedule or other optimiser settings move the weights elsewhere.
    """
    if checker.target.dtype != "float64":
        pytest.skip("not-applicable: Adam divides by |gradient|, so rounding noise in gradients that are truly zero "
                    "becomes full-size steps; the trajectory is compared in float64")
    config = checker.config(base)
    params, batches, expected, rates = trajectory_case(config, seed)
    out = checker.call("5.3/adam", "train_steps", checker.params(params), config,
                       [tuple(checker.tensor(a) for a in b) for b in batches])
    tol = Tolerance(rtol=0.0, atol=0.25 * sum(rates))  # central differences blur gradients that are truly zero
    for name, desired in flatten(expected).items():
        checker.assert_close("3.4/tied-weights" if name == "embedding" else "5.3/adam", f"{name} after 2 steps",
                             flatten(out)[name], desired, tol)
