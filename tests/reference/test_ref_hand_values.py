"""The reference reproduces values worked out by hand (§3, §5, §6.1)."""
from __future__ import annotations

from typing import Callable

import pytest

import verify_hand as vh
import verify_recipe as vr
from transformer_spec.reference import attention, clauses, decoding, embeddings, feed_forward, masks, optimizer, params, \
    positional_encoding, regularization, residual, schedule

HAND: list[tuple[Callable, Callable]] = [
    (vh.hand_softmax, attention.softmax),
    (vh.hand_attention, attention.scaled_dot_product_attention),
    (vh.hand_fully_masked, attention.scaled_dot_product_attention),
    (vh.hand_split_heads, attention.split_heads),
    (vh.hand_concat_heads, attention.concat_heads),
    (vh.hand_multi_head_attention, attention.multi_head_attention),
    (vh.hand_ffn, feed_forward.position_wise_ffn),
    (vh.hand_positional_encoding, positional_encoding.sinusoidal_encoding),
    (vh.hand_layer_norm, residual.layer_norm),
    (vh.hand_sublayer_connection, residual.sublayer_connection),
    (vh.hand_dropout, regularization.dropout),
    (vh.hand_embed, embeddings.embed),
    (vh.hand_output_logits, embeddings.output_logits),
    (vh.hand_output_probabilities, embeddings.output_probabilities),
    (vh.hand_causal_mask, masks.causal_mask),
    (vh.hand_padding_mask, masks.padding_mask),
    (vh.hand_decoder_self_mask, masks.decoder_self_mask),
    (vr.hand_learning_rate, schedule.learning_rate),
    (vr.hand_smoothed_targets, regularization.smoothed_targets),
    (vr.hand_label_smoothing, regularization.label_smoothed_cross_entropy),
    (vr.hand_adam, optimizer.adam_update),
    (vr.hand_length_penalty, decoding.length_penalty),
    (vr.hand_next_token_log_probs, decoding.next_token_log_probs),
    (vr.hand_greedy, decoding.greedy_decode),
    (vr.hand_beam, decoding.beam_search),
    (vr.hand_dropout_sites, regularization.dropout_sites),
    (vr.hand_param_shapes, params.param_shapes),
    (vr.hand_init_params, params.init_params),
    (vr.hand_flatten, params.flatten),
    (vr.hand_unflatten, params.unflatten),
    (vr.hand_map_tree, params.map_tree),
    (vr.hand_clause, clauses.clause),
]


@pytest.mark.parametrize("check, fn", HAND, ids=[h[0].__name__ for h in HAND])
def test_hand_value(check: Callable, fn: Callable) -> None:
    check(fn)
