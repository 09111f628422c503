"""Which checks guard which reference function: "module.function" -> checks taking the function under test.

The naive-agreement checks run here on the fixed ``ref_cases.SIZES`` with two
seeds; the hand-value and argument checks need no case.
"""
from __future__ import annotations

import importlib
import inspect
from functools import partial
from typing import Any, Callable

import ref_cases as rc
import verify_hand as vh
import verify_model as vm
import verify_naive as vn
import verify_recipe as vr
import verify_usage as vu

Check = Callable[[Callable[..., Any]], None]
MODULES = ("attention", "checks", "clauses", "config", "decoding", "embeddings", "errors", "feed_forward", "layers",
           "masks", "optimizer", "params", "positional_encoding", "regularization", "residual", "schedule")


def _naive(check: Callable, kind: str, **extra: Any) -> list[Check]:
    return [partial(_run, check, kind, seed, tuple(extra.items())) for seed in (1, 2)]


def _run(check: Callable, kind: str, seed: int, extra: tuple, fn: Callable) -> None:
    check(fn, rc.fixed(kind, seed, **dict(extra)))


def _model(check: Callable) -> list[Check]:
    return _naive(check, "model") + _naive(check, "model", variant=True)


CHECKS: dict[str, list[Check]] = {
    "attention.softmax": _naive(vn.check_softmax, "softmax") + [vh.hand_softmax],
    "attention.scaled_dot_product_attention": _naive(vn.check_attention, "attention")
    + [vh.hand_attention, vh.hand_fully_masked],
    "attention.split_heads": _naive(vn.check_split_heads, "heads") + [vh.hand_split_heads],
    "attention.concat_heads": _naive(vn.check_concat_heads, "heads") + [vh.hand_concat_heads],
    "attention.multi_head_attention": _naive(vn.check_multi_head_attention, "mha") + [vh.hand_multi_head_attention],
    "feed_forward.position_wise_ffn": _naive(vn.check_ffn, "ffn") + [vh.hand_ffn],
    "positional_encoding.sinusoidal_encoding": _naive(vn.check_positional_encoding, "pe") + [vh.hand_positional_encoding],
    "residual.layer_norm": _naive(vn.check_layer_norm, "norm") + [vh.hand_layer_norm],
    "residual.sublayer_connection": _naive(vn.check_sublayer_connection, "norm") + [vh.hand_sublayer_connection],
    "regularization.dropout": _naive(vn.check_dropout, "norm") + [vh.hand_dropout],
    "embeddings.embed": _naive(vn.check_embed, "tokens") + [vh.hand_embed],
    "embeddings.output_logits": _naive(vn.check_output_logits, "tokens") + [vh.hand_output_logits],
    "embeddings.output_probabilities": _naive(vn.check_output_probabilities, "tokens") + [vh.hand_output_probabilities],
    "embeddings.model_output": _naive(vn.check_model_output, "smoothing") + [vh.hand_model_output],
    "masks.causal_mask": _naive(vn.check_causal_mask, "tokens") + [vh.hand_causal_mask],
    "masks.padding_mask": _naive(vn.check_padding_mask, "tokens") + [vh.hand_padding_mask],
    "masks.decoder_self_mask": _naive(vn.check_decoder_self_mask, "tokens") + [vh.hand_decoder_self_mask],
    "regularization.smoothed_targets": _naive(vn.check_smoothed_targets, "smoothing") + [vr.hand_smoothed_targets],
    "regularization.label_smoothed_cross_entropy": _naive(vn.check_label_smoothing, "smoothing")
    + [vr.hand_label_smoothing],
    "regularization.dropout_sites": _model(vm.check_dropout_sites) + [vr.hand_dropout_sites],
    "schedule.learning_rate": [partial(lambda s, fn: vn.check_learning_rate(fn, rc.schedule_case(s)), s) for s in (1, 2)]
    + [vr.hand_learning_rate],
    "optimizer.adam_update": _naive(vn.check_adam, "adam") + [vr.hand_adam],
    "layers.encoder_layer": _model(vm.check_encoder_layer),
    "layers.decoder_layer": _model(vm.check_decoder_layer),
    "layers.encode": _model(vm.check_encode),
    "layers.decode": _model(vm.check_decode),
    "layers.transformer_forward": _model(vm.check_forward),
    "decoding.next_token_log_probs": _model(vm.check_next_token_log_probs) + [vr.hand_next_token_log_probs],
    "decoding.greedy_decode": _model(vm.check_greedy_decode) + [vr.hand_greedy],
    "decoding.beam_search": [vr.hand_beam],
    "decoding.length_penalty": [lambda fn: vm.check_length_penalty(fn, {}), vr.hand_length_penalty],
    "params.param_shapes": [vr.hand_param_shapes],
    "params.init_params": [vr.hand_init_params],
    "params.flatten": [vr.hand_flatten],
    "params.unflatten": [vr.hand_unflatten],
    "params.map_tree": [vr.hand_map_tree],
    "clauses.clause": [vr.hand_clause],
    "checks.require_ndim": [vu.usage_require_ndim],
    "checks.require_equal": [vu.usage_require_equal],
    "checks.require_broadcastable": [vu.usage_require_broadcastable],
    "checks.require_tokens": [vu.usage_require_tokens],
}


def real(name: str) -> Callable[..., Any]:
    """The reference function "module.function"."""
    module, function = name.split(".")
    return getattr(importlib.import_module(f"transformer_spec.reference.{module}"), function)


def public_functions() -> list[str]:
    """Every public function defined (not imported) in a reference module, as "module.function"."""
    names = []
    for module in MODULES:
        mod = importlib.import_module(f"transformer_spec.reference.{module}")
        names += [f"{module}.{n}" for n, obj in vars(mod).items()
                  if inspect.isfunction(obj) and not n.startswith("_") and obj.__module__ == mod.__name__]
    return sorted(names)
