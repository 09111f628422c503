"""Hand-worked values for training and decoding (§5, §6.1) and for the parameter tree and clause registry."""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

import hand_model as hm
from transformer_spec.reference.config import TransformerConfig
from transformer_spec.reference.errors import SpecUsageError
from verify_hand import near, same

Fn = Callable[..., Any]
LOG_P = [math.log(p) for p in (0.1, 0.2, 0.3, 0.4)]  # logits whose softmax is (.1, .2, .3, .4)


def hand_learning_rate(fn: Fn) -> None:
    """Eq. (3): linear up to the peak d^-0.5 w^-0.5 at step w, then ~ 1/sqrt(step)."""
    d, w = 512, 4000
    peak = 512 ** -0.5 * 4000 ** -0.5
    near("lrate at step = warmup_steps (the peak)", fn(w, d, w), peak)
    near("lrate at step 1", fn(1, d, w), peak / w)
    near("lrate at step warmup / 2 (linear warm-up)", fn(w // 2, d, w), peak / 2)
    near("lrate at step 4 * warmup (inverse square root)", fn(4 * w, d, w), peak / 2)
    assert fn(w, d, w) > max(fn(w - 1, d, w), fn(w + 1, d, w)), "lrate must peak exactly at step = warmup_steps"


def hand_smoothed_targets(fn: Fn) -> None:
    """Target 3 of 4 classes, epsilon 0.1, both conventions, padding class 0 included, excluded, or no padding."""
    t = np.array([[3]])
    near("q, convention 'others', no pad", fn(t, 4, 0.1, None, "others")[0, 0], [0.1 / 3] * 3 + [0.9])
    near("q, convention 'uniform', no pad", fn(t, 4, 0.1, None, "uniform")[0, 0], [0.025] * 3 + [0.925])
    near("q, convention 'others', pad 0 included (tensor2tensor)", fn(t, 4, 0.1, 0, "others", "included")[0, 0],
         [0.1 / 3] * 3 + [0.9])
    near("q, convention 'uniform', pad 0 included (torch)", fn(t, 4, 0.1, 0, "uniform", "included")[0, 0],
         [0.025] * 3 + [0.925])
    near("q, convention 'others', pad 0 excluded", fn(t, 4, 0.1, 0, "others", "excluded")[0, 0], [0.0, 0.05, 0.05, 0.9])
    near("q, convention 'uniform', pad 0 excluded", fn(t, 4, 0.1, 0, "uniform", "excluded")[0, 0],
         [0.0, 0.1 / 3, 0.1 / 3, 0.9 + 0.1 / 3])
    near("q by default: 'others' with the padding class included", fn(t, 4, 0.1, 0)[0, 0], [0.1 / 3] * 3 + [0.9])


def hand_label_smoothing(fn: Fn) -> None:
    """-sum q log p at p = (.1, .2, .3, .4), target 3; a padding target adds nothing."""
    lp, logits = LOG_P, np.array([[LOG_P, LOG_P]])
    cases = [("others", None, "included", -(0.1 / 3) * sum(lp[:3]) - 0.9 * lp[3]),
             ("uniform", None, "included", -0.025 * sum(lp[:3]) - 0.925 * lp[3]),
             ("others", 0, "included", -(0.1 / 3) * sum(lp[:3]) - 0.9 * lp[3]),
             ("uniform", 0, "included", -0.025 * sum(lp[:3]) - 0.925 * lp[3]),
             ("others", 0, "excluded", -0.05 * (lp[1] + lp[2]) - 0.9 * lp[3]),
             ("uniform", 0, "excluded", -(0.1 / 3) * (lp[1] + lp[2]) - (0.9 + 0.1 / 3) * lp[3])]
    for convention, pad, pad_class, want in cases:
        targets = np.array([[3, 3 if pad is None else pad]])
        near(f"label-smoothed loss ({convention}, pad {pad} {pad_class}, targets {targets.tolist()})",
             fn(logits, targets, 0.1, pad, convention, pad_class), want)
    near("unsmoothed loss (epsilon 0) is -log p(target)", fn(logits, np.array([[2, 1]]), 0.0), -(lp[2] + lp[1]) / 2)


def hand_adam(fn: Fn) -> None:
    """§5.3: from m = v = 0 the first step moves each parameter by lr * g / (|g| + eps), i.e. about lr * sign(g)."""
    g = np.array([0.5, -3.0, 1e-3, -2e-2])
    p, m, v = fn(np.ones(4), g, np.zeros(4), np.zeros(4), 1, 0.01)
    near("first Adam step ~ -lr sign(g)", p - 1.0, -0.01 * np.sign(g), tol=1e-7)
    near("first moment after one step", m, 0.1 * g)
    near("second moment after one step", v, 0.02 * g * g)


def hand_length_penalty(fn: Fn) -> None:
    near("lp(1) = 1 for any alpha", [fn(1, a) for a in (0.0, 0.6, 2.0)], [1.0, 1.0, 1.0])
    near("lp(7) at alpha 1 = 12 / 6", fn(7, 1.0), 2.0)
    near("lp(3) at alpha 0.6", fn(3, 0.6), (8 / 6) ** 0.6)


def _hand_run(f: list[float]) -> tuple[np.ndarray, dict]:
    return np.array([[hm.A, hm.B, hm.EOS]]), hm.build_params(f)


def hand_next_token_log_probs(fn: Fn) -> None:
    """The hand-built model realises its transition table after bos, A and B."""
    from transformer_spec.reference.layers import encode
    src, params = _hand_run(hm.GREEDY_DIFFERS)
    memory, table = encode(src, params, hm.CONFIG), hm.transition_log_probs(hm.GREEDY_DIFFERS)
    prefixes = np.array([[hm.BOS, hm.A, hm.B], [hm.BOS, hm.B, hm.A], [hm.BOS, hm.A, hm.A]])
    got = fn(prefixes, np.repeat(memory, 3, 0), np.repeat(src, 3, 0), params, hm.CONFIG)
    want = [[table[y][v] for v in range(5)] for y in (hm.B, hm.A, hm.A)]
    near("log p(next | prefix) of the hand-built model", got, want, tol=1e-6)


def hand_greedy(fn: Fn) -> None:
    """Greedy takes A (p .51) then eos (p .38): [A, eos], although [B, eos] is more probable."""
    src, params = _hand_run(hm.GREEDY_DIFFERS)
    same("greedy decoding of the hand-built model", fn(src, params, hm.CONFIG, hm.BOS, hm.EOS, 4), [(hm.A, hm.EOS)])


def hand_beam(fn: Fn) -> None:
    """Beam search finds [B, eos] (p .38 vs greedy's .19); the length penalty turns [eos] into [B, eos]."""
    for f, alpha, want in ((hm.GREEDY_DIFFERS, 0.0, (hm.B, hm.EOS)), (hm.GREEDY_DIFFERS, 0.6, (hm.B, hm.EOS)),
                           (hm.PENALTY_MATTERS, 0.0, (hm.EOS,)), (hm.PENALTY_MATTERS, 0.6, (hm.B, hm.EOS))):
        src, params = _hand_run(f)
        seq, score = fn(src[0], params, hm.CONFIG, hm.BOS, hm.EOS, 4, 4, alpha)
        best = hm.best_finished(f, 4, alpha)
        assert best[0] == want, f"hand table: exhaustive search gives {best[0]}, expected {want}"
        same(f"beam search ({'greedy-differs' if f is hm.GREEDY_DIFFERS else 'penalty'} model, alpha {alpha})", seq, want)
        near(f"beam score of {want} at alpha {alpha}", score, best[1], tol=1e-6)


def hand_dropout_sites(fn: Fn) -> None:
    sites = fn(TransformerConfig.small(layers=1), 2, 3, 4)
    want = {"encoder.embedding": (2, 3, 16), "decoder.embedding": (2, 4, 16), "encoder.layers.0.self_attn": (2, 3, 16),
            "encoder.layers.0.ffn": (2, 3, 16), "decoder.layers.0.self_attn": (2, 4, 16),
            "decoder.layers.0.cross_attn": (2, 4, 16), "decoder.layers.0.ffn": (2, 4, 16)}
    assert sites == want, f"dropout sites of a 1-layer model: expected {want}, got {sites}"


def hand_param_shapes(fn: Fn) -> None:
    shapes, c = fn(TransformerConfig.small()), TransformerConfig.small()
    assert len(shapes) == 1 + 2 * (8 + 2 + 4 + 2) + 2 * (2 * 8 + 3 * 2 + 4), f"small config: {len(shapes)} leaves"
    for name, want in (("embedding", (11, 16)), ("encoder.layers.1.self_attn.w_q", (2, 16, 8)),
                       ("decoder.layers.0.cross_attn.w_o", (16, 16)), ("decoder.layers.1.ffn.w_1", (16, 24)),
                       ("decoder.layers.1.norm3.bias", (16,)), ("encoder.layers.0.self_attn.b_v", (2, 8))):
        assert shapes.get(name) == want, f"param_shapes(small)[{name!r}]: expected {want}, got {shapes.get(name)}"
    c2 = c.replace(d_v=5, final_norm=True)
    got = fn(c2)
    assert got["encoder.layers.0.self_attn.w_o"] == (10, 16) and "decoder.norm.scale" in got, \
        f"w_o must be (heads * d_v, d_model) and final_norm adds stack norms: {got['encoder.layers.0.self_attn.w_o']}"
    learned = fn(c.replace(positional_encoding_kind="learned", max_positions=9))
    added = {k: v for k, v in learned.items() if k not in shapes}
    assert added == {"encoder.positions": (9, 16), "decoder.positions": (9, 16)}, \
        f"learned positions must add one (max_positions, d_model) table per stack, got {added}"


def hand_init_params(fn: Fn) -> None:
    from transformer_spec.reference.params import flatten, param_shapes
    c = TransformerConfig.small()
    a, b, other = flatten(fn(c, 3)), flatten(fn(c, 3)), flatten(fn(c, 4))
    assert {k: v.shape for k, v in a.items()} == param_shapes(c), "init_params must follow param_shapes"
    assert all(v.dtype == np.float64 for v in a.values()), "init_params must give float64 leaves"
    assert all(np.array_equal(a[k], b[k]) for k in a), "init_params with the same seed must repeat itself"
    assert not np.array_equal(a["embedding"], other["embedding"]), "init_params must depend on the seed"
    assert abs(a["embedding"].std() - 16 ** -0.5) < 0.05, f"embedding std {a['embedding'].std()} != d_model^-0.5"
    free = flatten(fn(c.replace(projection_bias=False), 3))
    biases = sorted(k for k in a if k.rsplit(".", 1)[-1] in ("b_q", "b_k", "b_v", "b_o"))
    assert len(biases) == 4 * 3 * c.layers and all(a[k].any() for k in biases), "attention biases must be drawn non-zero"
    assert not any(free[k].any() for k in biases), "projection_bias=False must give zero attention biases"
    assert all(np.array_equal(free[k], a[k]) for k in a if k not in biases), \
        "projection_bias=False must change nothing but the attention biases"


def hand_flatten(fn: Fn) -> None:
    tree = {"a": [{"w": 1}, {"w": 2}], "b": {"c": 3}}
    same("flatten of a small tree", sorted(fn(tree).items()), sorted({"a.0.w": 1, "a.1.w": 2, "b.c": 3}.items()))


def hand_unflatten(fn: Fn) -> None:
    got = fn({"a.0.w": 1, "a.1.w": 2, "b.c": 3})
    assert got == {"a": [{"w": 1}, {"w": 2}], "b": {"c": 3}}, f"unflatten: {got}"


def hand_map_tree(fn: Fn) -> None:
    got = fn(lambda x: x * 10, {"a": [1, 2], "b": {"c": 3}})
    assert got == {"a": [10, 20], "b": {"c": 30}}, f"map_tree(x * 10): {got}"


def hand_clause(fn: Fn) -> None:
    from transformer_spec.reference.clauses import CLAUSES
    for c in CLAUSES:
        assert fn(c.id) is c, f"clause({c.id!r}) returned {fn(c.id).id!r}"
    try:
        fn("9.9/no-such-clause")
    except SpecUsageError as err:
        assert err.argument == "clause", f"unknown clause names argument {err.argument!r}"
    else:
        raise AssertionError("clause('9.9/no-such-clause') must raise SpecUsageError")
