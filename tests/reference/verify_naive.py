"""Checks that a function under test agrees with the naive form (§3, §5) on one case.

Every check takes the function under test first, so the same check runs on the
real reference (it must pass) and on each broken variant (it must fail).
"""
from __future__ import annotations

import itertools
from typing import Any, Callable

import numpy as np

import naive
import naive_model
from agreement import assert_agrees, assert_equal
from ref_cases import Case

Fn = Callable[..., Any]


def check_softmax(fn: Fn, case: Case) -> None:
    """§3.2.1: softmax along the requested axis (and along the last one by default)."""
    assert_agrees("softmax", fn(case["x"], axis=case["axis"]), naive.softmax(case["x"], case["axis"]))
    assert_agrees("softmax", fn(case["x"]), naive.softmax(case["x"], -1))


def check_attention(fn: Fn, case: Case) -> None:
    """Eq. (1) with a mask holding a fully masked row, under the case's fully_masked option."""
    args = (case["q"], case["k"], case["v"], case["mask"], case["fully_masked"])
    (out, w), (n_out, n_w) = fn(*args), naive.attention(*args)
    assert_agrees("attention weights", w, n_w)
    assert_agrees("attention output", out, n_out)
    (out, w), (n_out, n_w) = fn(*args[:3]), naive.attention(*args[:3])
    assert_agrees("attention output (no mask)", out, n_out)


def check_split_heads(fn: Fn, case: Case) -> None:
    assert_agrees("split_heads", fn(case["x"], case["heads"]), naive.split_heads(case["x"], case["heads"]))


def check_concat_heads(fn: Fn, case: Case) -> None:
    assert_agrees("concat_heads", fn(case["y"]), naive.concat_heads(case["y"]))


def check_multi_head_attention(fn: Fn, case: Case) -> None:
    """§3.2.2 as cross attention (different query and key lengths), masked."""
    args = (case["query"], case["key"], case["value"], case["params"], case["mask"])
    (out, w), (n_out, n_w) = fn(*args), naive.multi_head_attention(*args)
    assert_agrees("multi-head attention weights", w, n_w)
    assert_agrees("multi-head attention output", out, n_out)


def check_ffn(fn: Fn, case: Case) -> None:
    assert_agrees("FFN Eq. 2", fn(case["x"], case["params"]), naive.feed_forward(case["x"], case["params"]))


def check_positional_encoding(fn: Fn, case: Case) -> None:
    """§3.5 in the paper's interleaved layout from position 0, and the declared halves layout and offsets."""
    for layout in ("interleaved", "halves"):
        for offset in (0, case["offset"]):
            want = naive.positional_encoding(case["seq_len"], case["d_model"], layout, offset)
            got = fn(case["seq_len"], case["d_model"], layout, offset)
            assert_agrees(f"positional encoding ({layout}, first position {offset})", got, want)


def _norm_forms(case: Case) -> tuple[str, ...]:
    """The LayerNorm forms defined at the case's width: the unbiased std needs d_model >= 2."""
    return ("paper", "annotated") if case["x"].shape[-1] > 1 else ("paper",)


def check_layer_norm(fn: Fn, case: Case) -> None:
    """§3.1's LayerNorm and the declared Annotated Transformer form."""
    for form in _norm_forms(case):
        want = naive.layer_norm(case["x"], case["scale"], case["bias"], case["eps"], form)
        assert_agrees(f"layer norm ({form} form)", fn(case["x"], case["scale"], case["bias"], case["eps"], form), want)


def check_sublayer_connection(fn: Fn, case: Case) -> None:
    """§3.1 post-norm (and the pre-norm variant) around a fixed sub-layer, with and without dropout, in both norm forms."""
    norm = {"scale": case["scale"], "bias": case["bias"]}
    sub = lambda h: np.tanh(h[..., ::-1]) * 2.0
    for position, form, keep in itertools.product(("post", "pre"), _norm_forms(case), (None, case["keep"])):
        got = fn(case["x"], sub, norm, case["eps"], position, keep, case["p_drop"], form)
        ln = lambda h: naive.layer_norm(h, case["scale"], case["bias"], case["eps"], form)
        drop = lambda h: naive.dropout(h, keep, case["p_drop"])
        want = ln(case["x"] + drop(sub(case["x"]))) if position == "post" else case["x"] + drop(sub(ln(case["x"])))
        assert_agrees(f"sub-layer connection ({position}-norm, {form} form, dropout {keep is not None})", got, want)


def check_dropout(fn: Fn, case: Case) -> None:
    want = naive.dropout(case["x"], case["keep"], case["p_drop"])
    assert_agrees("inverted dropout", fn(case["x"], case["keep"], case["p_drop"]), want)
    assert_agrees("dropout without keep-mask", fn(case["x"], None, case["p_drop"]), case["x"])


def check_embed(fn: Fn, case: Case) -> None:
    """§3.4's scaled embedding, and the unscaled one when the logits carry the scale."""
    assert_agrees("embedding", fn(case["tokens"], case["embedding"]), naive_model.embed(case["tokens"], case["embedding"]))
    assert_agrees("embedding with the scale at the logits", fn(case["tokens"], case["embedding"], "logits"),
                  naive_model.embed(case["tokens"], case["embedding"], "logits"))


def check_output_logits(fn: Fn, case: Case) -> None:
    """§3.4's x E^T, and x E^T / sqrt(d_model) when the logits carry the scale."""
    for site in ("embedding", "logits"):
        want = naive_model.output_logits(case["x"], case["embedding"], site)
        assert_agrees(f"output logits (scale at the {site})", fn(case["x"], case["embedding"], site), want)


def check_output_probabilities(fn: Fn, case: Case) -> None:
    want = naive_model.output_probabilities(case["x"], case["embedding"])
    assert_agrees("output probabilities", fn(case["x"], case["embedding"]), want)


def check_model_output(fn: Fn, case: Case) -> None:
    """The model's logits as they are, and their log-softmax over the vocabulary when declared."""
    for kind in ("logits", "log_probs"):
        assert_agrees(f"model output ({kind})", fn(case["logits"], kind), naive_model.model_output(case["logits"], kind))


def check_causal_mask(fn: Fn, case: Case) -> None:
    assert_equal(f"causal_mask({case['seq_len']})", fn(case["seq_len"]), naive_model.causal_mask(case["seq_len"]))


def check_padding_mask(fn: Fn, case: Case) -> None:
    want = naive_model.padding_mask(case["tokens"], case["pad_id"])
    assert_equal("padding_mask", fn(case["tokens"], case["pad_id"]), want)


def check_decoder_self_mask(fn: Fn, case: Case) -> None:
    want = naive_model.decoder_self_mask(case["tokens"], case["pad_id"])
    assert_equal("decoder_self_mask", fn(case["tokens"], case["pad_id"]), want)


def check_smoothed_targets(fn: Fn, case: Case) -> None:
    """§5.4: the smoothed distribution at every real (non-pad) target."""
    args = (case["targets"], case["vocab"], case["epsilon"], case["pad_id"], case["convention"], case["pad_class"])
    real = case["targets"] != case["pad_id"]
    assert_agrees(f"smoothed targets ({case['convention']}, pad {case['pad_id']}, pad class {case['pad_class']})",
                  fn(*args)[real], naive.smoothed_targets(*args)[real])


def check_label_smoothing(fn: Fn, case: Case) -> None:
    args = (case["logits"], case["targets"], case["epsilon"], case["pad_id"], case["convention"], case["pad_class"])
    assert_agrees(f"label-smoothed cross-entropy ({case['convention']}, pad {case['pad_id']}, pad class {case['pad_class']})",
                  fn(*args), naive.label_smoothed_cross_entropy(*args))


def check_learning_rate(fn: Fn, case: Case) -> None:
    for step in case["steps"]:
        assert_agrees(f"learning rate at step {step} (warmup {case['warmup_steps']})",
                      fn(step, case["d_model"], case["warmup_steps"]),
                      naive.learning_rate(step, case["d_model"], case["warmup_steps"]))


def check_adam(fn: Fn, case: Case) -> None:
    args = (case["param"], case["grad"], case["m"], case["v"], case["step"], case["lr"])
    for name, got, want in zip(("param", "m", "v"), fn(*args), naive.adam(*args)):
        assert_agrees(f"Adam {name} at step {case['step']}", got, want)
