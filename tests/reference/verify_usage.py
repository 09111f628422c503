"""Misuse must raise SpecUsageError naming the argument and its value (docs/conventions.md, "Errors").

``MISUSES`` lists impossible calls of the reference; the ``usage_*`` checks
take the argument-checking helper of ``reference.checks`` under test.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from transformer_spec.reference import (attention, embeddings, layers, masks, optimizer, positional_encoding, regularization, residual,
                       schedule)
from transformer_spec.reference.clauses import clause
from transformer_spec.reference.config import TransformerConfig
from transformer_spec.reference.errors import SpecUsageError
from transformer_spec.reference.params import init_params

Fn = Callable[..., Any]
Z = np.zeros

LEARNED = TransformerConfig.small(positional_encoding_kind="learned", max_positions=2)  # a 2-row position table


def expect_usage_error(what: str, call: Callable[[], Any], argument: str, value: object) -> None:
    """Assert ``call()`` raises SpecUsageError whose message starts with ``argument=repr(value)``."""
    try:
        call()
    except SpecUsageError as err:
        text = str(err)
        assert err.argument == argument and text.startswith(f"{argument}={value!r}"), \
            f"{what}: message {text!r} should name {argument}={value!r}"
        return
    except Exception as err:  # noqa: BLE001 - any other exception is the finding
        raise AssertionError(f"{what}: raised {type(err).__name__}({err}) instead of SpecUsageError") from err
    raise AssertionError(f"{what}: no error, expected SpecUsageError naming {argument}={value!r}")


MISUSES: list[tuple[str, Callable[[], Any], str, object]] = [
    ("split_heads with heads not dividing d_model", lambda: attention.split_heads(Z((2, 3, 30)), 4), "heads", 4),
    ("split_heads into 0 heads", lambda: attention.split_heads(Z((2, 3, 8)), 0), "heads", 0),
    ("split_heads of a 2-d array", lambda: attention.split_heads(Z((3, 8)), 2), "x.shape", (3, 8)),
    ("key and value of different lengths", lambda: attention.scaled_dot_product_attention(
        Z((1, 2, 4)), Z((1, 3, 4)), Z((1, 5, 6))), "v.shape[-2] (seq_k)", 5),
    ("query and key of different d_k", lambda: attention.scaled_dot_product_attention(
        Z((1, 2, 4)), Z((1, 3, 5)), Z((1, 3, 6))), "k.shape[-1] (d_k)", 5),
    ("mask of the wrong shape", lambda: attention.scaled_dot_product_attention(
        Z((1, 2, 4)), Z((1, 3, 4)), Z((1, 3, 6)), np.ones((1, 3, 2), bool)), "mask.shape", (1, 3, 2)),
    ("mask that would grow the scores", lambda: attention.scaled_dot_product_attention(
        Z((1, 2, 4)), Z((1, 3, 4)), Z((1, 3, 6)), np.ones((5, 2, 3), bool)), "mask.shape", (5, 2, 3)),
    ("unknown fully_masked option", lambda: attention.scaled_dot_product_attention(
        Z((1, 2, 4)), Z((1, 3, 4)), Z((1, 3, 6)), None, "ones"), "fully_masked", "ones"),
    ("multi-head attention with d_model not matching w_q", lambda: attention.multi_head_attention(
        Z((1, 2, 6)), Z((1, 3, 6)), Z((1, 3, 6)), {"w_q": Z((2, 8, 4))}), "query.shape[-1] (d_model)", 6),
    ("multi-head attention with key and value of different lengths", lambda: attention.multi_head_attention(
        Z((1, 2, 8)), Z((1, 3, 8)), Z((1, 4, 8)), {"w_q": Z((2, 8, 4))}), "value.shape[1] (seq_k)", 4),
    ("concat_heads of a 3-d array", lambda: attention.concat_heads(Z((2, 3, 4))), "x.shape", (2, 3, 4)),
    ("token id equal to vocab", lambda: embeddings.embed(np.array([[1, 5]]), Z((5, 4))), "tokens", (1, 5)),
    ("negative token id", lambda: embeddings.embed(np.array([[-1, 2]]), Z((5, 4))), "tokens", (-1, 2)),
    ("float token ids", lambda: embeddings.embed(np.array([[1.0]]), Z((5, 4))), "tokens.dtype", np.dtype("float64")),
    ("target id out of range", lambda: regularization.smoothed_targets(np.array([[7]]), 5, 0.1), "targets", (7, 7)),
    ("all targets padding", lambda: regularization.label_smoothed_cross_entropy(
        Z((1, 2, 5)), np.array([[0, 0]]), 0.1, 0), "targets", "all padding"),
    ("targets of another batch size than the logits", lambda: regularization.label_smoothed_cross_entropy(
        Z((2, 3, 5)), np.array([[1, 2, 3]]), 0.1), "targets.shape", (1, 3)),
    ("unknown smoothing convention", lambda: regularization.smoothed_targets(
        np.array([[1]]), 5, 0.1, None, "spread"), "convention", "spread"),
    ("'others' smoothing with a single real class", lambda: regularization.smoothed_targets(
        np.array([[1]]), 2, 0.1, 0, "others", "excluded"), "vocab", 2),
    ("unknown padding-class rule", lambda: regularization.smoothed_targets(
        np.array([[1]]), 5, 0.1, 0, "others", "some"), "pad_class", "some"),
    ("dropout probability 1", lambda: regularization.dropout(Z(3), np.ones(3), 1.0), "p_drop", 1.0),
    ("step 0 in learning_rate", lambda: schedule.learning_rate(0, 512, 4000), "step", 0),
    ("warmup 0 in learning_rate", lambda: schedule.learning_rate(1, 512, 0), "warmup_steps", 0),
    ("step 0 in adam_update", lambda: optimizer.adam_update(Z(2), Z(2), Z(2), Z(2), 0, 0.1), "step", 0),
    ("causal mask of length 0", lambda: masks.causal_mask(0), "seq_len", 0),
    ("padding mask of 1-d tokens", lambda: masks.padding_mask(np.array([1, 2]), 0), "tokens.shape", (2,)),
    ("positional encoding of width 0", lambda: positional_encoding.sinusoidal_encoding(3, 0), "seq_len, d_model", (3, 0)),
    ("positional encoding from position -1", lambda: positional_encoding.sinusoidal_encoding(3, 4, "interleaved", -1),
     "offset", -1),
    ("unknown positional-encoding layout", lambda: positional_encoding.sinusoidal_encoding(3, 4, "sin-only"),
     "layout", "sin-only"),
    ("unknown norm position", lambda: residual.sublayer_connection(
        Z((1, 1, 2)), lambda h: h, {"scale": Z(2), "bias": Z(2)}, 1e-5, "middle"), "norm_position", "middle"),
    ("unknown clause id", lambda: clause("3.9/nothing"), "clause", "3.9/nothing"),
    ("annotated LayerNorm of width 1", lambda: residual.layer_norm(Z((2, 1)), Z(1), Z(1), 1e-5, "annotated"),
     "x.shape[-1] (d_model)", 1),
    ("unknown embedding scale site", lambda: embeddings.embed(np.array([[1]]), Z((5, 4)), "output"),
     "scale_site", "output"),
    ("positions beyond a learned table of 2", lambda: layers.encode(np.array([[1, 2, 3]]), init_params(LEARNED), LEARNED),
     "seq", 3),
    ("unknown model output", lambda: embeddings.model_output(Z((1, 1, 3)), "probs"), "kind", "probs"),
    ("unknown LayerNorm form", lambda: residual.layer_norm(Z((2, 3)), Z(3), Z(3), 1e-5, "rms"), "form", "rms"),
] + [(f"TransformerConfig({name}={value!r})", (lambda n=name, v=value: TransformerConfig(**{n: v})), name, value)
     for name, value in (("layers", 0), ("d_model", -16), ("heads", 0), ("d_k", 0), ("vocab", 0),
                         ("warmup_steps", 0), ("dropout", 1.0), ("dropout", -0.1), ("label_smoothing", 1.5),
                         ("pad_id", 37000), ("pad_id", -1), ("layer_norm_eps", -1e-5), ("norm_position", "middle"),
                         ("smoothing_convention", "spread"), ("smoothing_pad_class", "none"), ("fully_masked", "ones"),
                         ("pe_layout", "sin-only"), ("pe_offset", -1), ("projection_bias", "no"),
                         ("layer_norm_form", "torch"), ("embedding_scale_site", "output"),
                         ("model_output", "probs"), ("positional_encoding_kind", "rotary"), ("max_positions", 0))]


def usage_require_ndim(fn: Fn) -> None:
    expect_usage_error("require_ndim on a 2-d array wanting 3", lambda: fn("x", Z((2, 3)), 3, "a, b, c"), "x.shape", (2, 3))
    fn("x", Z((2, 3, 4)), 3, "a, b, c")


def usage_require_equal(fn: Fn) -> None:
    expect_usage_error("require_equal(4, 5)", lambda: fn("a", 4, "b", 5), "a", 4)
    fn("a", 4, "b", 4)


def usage_require_broadcastable(fn: Fn) -> None:
    expect_usage_error("require_broadcastable (3, 2) to (2, 3)", lambda: fn("m", (3, 2), (2, 3), "s"), "m.shape", (3, 2))
    expect_usage_error("require_broadcastable growing (2, 3) to (4, 2, 3)",
                       lambda: fn("m", (4, 2, 3), (2, 3), "s"), "m.shape", (4, 2, 3))
    fn("m", (1, 3), (2, 3), "s")


def usage_require_tokens(fn: Fn) -> None:
    expect_usage_error("require_tokens with id = vocab", lambda: fn("t", np.array([0, 4]), 4), "t", (0, 4))
    expect_usage_error("require_tokens with id -1", lambda: fn("t", np.array([-1, 3]), 4), "t", (-1, 3))
    fn("t", np.array([0, 3]), 4)
