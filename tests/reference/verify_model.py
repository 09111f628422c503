"""Checks that the layers, stacks and decoding (§3.1, §3.4, §6.1) agree with the naive form.

Each check takes the function under test and a model case from
``ref_cases.model_case`` (canonical params of a config whose axes all differ,
tokens with padding, optionally the non-paper options and dropout keep-masks).
"""
from __future__ import annotations

from typing import Any, Callable

import naive_model
from agreement import assert_agrees, assert_equal
from ref_cases import Case
from transformer_spec.reference.masks import decoder_self_mask, padding_mask

Fn = Callable[..., Any]


def _label(case: Case) -> str:
    c = case["config"]
    return (f"{c.norm_position}-norm ({c.layer_norm_form} form), final_norm={c.final_norm}, "
            f"{c.positional_encoding_kind} PE {c.pe_layout} from position {c.pe_offset}, "
            f"scale at the {c.embedding_scale_site}, {c.model_output}, "
            f"dropout={'on' if case['keep'] else 'off'}")


def check_encoder_layer(fn: Fn, case: Case) -> None:
    c, layer = case["config"], case["params"]["encoder"]["layers"][-1]
    mask, site = padding_mask(case["src"], c.pad_id), f"encoder.layers.{c.layers - 1}"
    want = naive_model.encoder_layer(case["x"], layer, mask, c, case["keep"], site)
    assert_agrees(f"encoder layer ({_label(case)})", fn(case["x"], layer, mask, c, case["keep"], site), want)


def check_decoder_layer(fn: Fn, case: Case) -> None:
    c, layer = case["config"], case["params"]["decoder"]["layers"][-1]
    y = case["y"]
    src_mask, tgt_mask = padding_mask(case["src"], c.pad_id), decoder_self_mask(case["tgt"], c.pad_id)
    site = f"decoder.layers.{c.layers - 1}"
    args = (y, case["memory"], layer, src_mask, tgt_mask, c, case["keep"], site)
    assert_agrees(f"decoder layer ({_label(case)})", fn(*args), naive_model.decoder_layer(*args))


def check_encode(fn: Fn, case: Case) -> None:
    args = (case["src"], case["params"], case["config"], case["keep"])
    assert_agrees(f"encoder stack ({_label(case)})", fn(*args), naive_model.encode(*args))


def check_decode(fn: Fn, case: Case) -> None:
    args = (case["tgt"], case["memory"], case["src"], case["params"], case["config"], case["keep"])
    assert_agrees(f"decoder stack ({_label(case)})", fn(*args), naive_model.decode(*args))


def check_forward(fn: Fn, case: Case) -> None:
    args = (case["src"], case["tgt"], case["params"], case["config"], case["keep"])
    assert_agrees(f"full forward pass ({_label(case)})", fn(*args), naive_model.transformer_forward(*args))


def check_next_token_log_probs(fn: Fn, case: Case) -> None:
    args = (case["tgt"], case["memory"], case["src"], case["params"], case["config"])
    assert_agrees("next-token log-probabilities", fn(*args), naive_model.next_token_log_probs(*args))


def check_greedy_decode(fn: Fn, case: Case) -> None:
    """§6.1 greedy search with BOS = 1 and EOS = 2 for at most 4 tokens, per source row."""
    args = (case["src"], case["params"], case["config"], 1, 2, 4)
    assert_equal("greedy decoding", fn(*args), naive_model.greedy_decode(*args))


def check_dropout_sites(fn: Fn, case: Case) -> None:
    batch, seq_src = case["src"].shape
    args = (case["config"], batch, seq_src, case["tgt"].shape[1])
    got, want = fn(*args), naive_model.dropout_sites(*args)
    assert_equal("dropout site names", sorted(got), sorted(want))
    assert_equal("dropout keep-mask shapes", [got[k] for k in sorted(got)], [want[k] for k in sorted(want)])


def check_length_penalty(fn: Fn, case: Case) -> None:
    for length in range(0, 9):
        for alpha in (0.0, 0.6, 1.0, 2.5):
            assert_agrees(f"length penalty lp({length}) at alpha {alpha}", fn(length, alpha),
                          naive_model.length_penalty(length, alpha))
