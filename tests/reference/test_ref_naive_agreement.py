"""The vectorised reference agrees with the naive, loop-by-loop form of each equation to 1e-12.

Sizes are drawn per axis and all different, so a transposed or swapped axis
changes a shape or a value.  ``python tests/reference/measure_errors.py``
prints the largest differences observed.
"""
from __future__ import annotations

from typing import Callable

import pytest
from hypothesis import given, settings, strategies as st

import ref_cases as rc
import verify_model as vm
import verify_naive as vn
from transformer_spec.reference import attention, embeddings, feed_forward, layers, masks, optimizer, positional_encoding, \
    regularization, residual, schedule, decoding

FAST = settings(max_examples=15, deadline=None)
SLOW = settings(max_examples=4, deadline=None)

EQUATIONS: list[tuple[str, Callable, Callable, str]] = [
    ("softmax", vn.check_softmax, attention.softmax, "softmax"),
    ("attention", vn.check_attention, attention.scaled_dot_product_attention, "attention"),
    ("split_heads", vn.check_split_heads, attention.split_heads, "heads"),
    ("concat_heads", vn.check_concat_heads, attention.concat_heads, "heads"),
    ("multi_head_attention", vn.check_multi_head_attention, attention.multi_head_attention, "mha"),
    ("ffn", vn.check_ffn, feed_forward.position_wise_ffn, "ffn"),
    ("positional_encoding", vn.check_positional_encoding, positional_encoding.sinusoidal_encoding, "pe"),
    ("layer_norm", vn.check_layer_norm, residual.layer_norm, "norm"),
    ("sublayer_connection", vn.check_sublayer_connection, residual.sublayer_connection, "norm"),
    ("dropout", vn.check_dropout, regularization.dropout, "norm"),
    ("embed", vn.check_embed, embeddings.embed, "tokens"),
    ("output_logits", vn.check_output_logits, embeddings.output_logits, "tokens"),
    ("output_probabilities", vn.check_output_probabilities, embeddings.output_probabilities, "tokens"),
    ("causal_mask", vn.check_causal_mask, masks.causal_mask, "tokens"),
    ("padding_mask", vn.check_padding_mask, masks.padding_mask, "tokens"),
    ("decoder_self_mask", vn.check_decoder_self_mask, masks.decoder_self_mask, "tokens"),
    ("smoothed_targets", vn.check_smoothed_targets, regularization.smoothed_targets, "smoothing"),
    ("label_smoothed_cross_entropy", vn.check_label_smoothing, regularization.label_smoothed_cross_entropy, "smoothing"),
    ("adam_update", vn.check_adam, optimizer.adam_update, "adam"),
]

MODEL: list[tuple[str, Callable, Callable]] = [
    ("encoder_layer", vm.check_encoder_layer, layers.encoder_layer),
    ("decoder_layer", vm.check_decoder_layer, layers.decoder_layer),
    ("encode", vm.check_encode, layers.encode),
    ("decode", vm.check_decode, layers.decode),
    ("transformer_forward", vm.check_forward, layers.transformer_forward),
    ("next_token_log_probs", vm.check_next_token_log_probs, decoding.next_token_log_probs),
    ("greedy_decode", vm.check_greedy_decode, decoding.greedy_decode),
    ("dropout_sites", vm.check_dropout_sites, regularization.dropout_sites),
]


@pytest.mark.parametrize("check, fn, kind", [e[1:] for e in EQUATIONS], ids=[e[0] for e in EQUATIONS])
@FAST
@given(data=st.data())
def test_equation_agrees_with_naive_form(check: Callable, fn: Callable, kind: str, data: st.DataObject) -> None:
    check(fn, rc.BUILDERS[kind](rc.draw_seed(data), **rc.draw_sizes(data, kind)))


@FAST
@given(seed=st.integers(0, 2 ** 32 - 1))
def test_learning_rate_agrees_with_prose(seed: int) -> None:
    vn.check_learning_rate(schedule.learning_rate, rc.schedule_case(seed))


@pytest.mark.parametrize("variant", [False, True], ids=["paper", "declared-variants+dropout"])
@pytest.mark.parametrize("check, fn", [m[1:] for m in MODEL], ids=[m[0] for m in MODEL])
@SLOW
@given(data=st.data())
def test_model_agrees_with_naive_form(check: Callable, fn: Callable, variant: bool, data: st.DataObject) -> None:
    check(fn, rc.model_case(rc.draw_seed(data), **rc.draw_model_sizes(data), variant=variant))


def test_length_penalty_agrees_with_gnmt() -> None:
    vm.check_length_penalty(decoding.length_penalty, {})
