"""The implementation protocol: what an implementation under test offers, in the paper's layout.

An implementation is an object with

- ``name`` (str) and ``version`` (str);
- ``offers``: a frozenset of component names from :data:`COMPONENTS`;
- ``deviations``: a mapping ``{TransformerConfig field: value}`` of declared
  departures from the paper (e.g. ``{"final_norm": True}``); each is checked
  against the reference's variant and reported ``deviates``, never silently
  passed;
- one method per offered component, with the signature documented below.

It is made by a factory (usually its class) called with a
:class:`~transformer_spec.harness.target.Target` (device and dtype).  Every
tensor argument arrives as a ``torch.Tensor`` on that device in that dtype
(token ids as int64, masks as bool with True = may attend), batch first;
parameters arrive as the canonical tree of ``reference.params`` with tensor
leaves.  Results may be torch tensors or NumPy arrays; implementations that
set ``differentiable = True`` return tensors connected to the autograd graph
of their inputs and parameters.  All layout conversion lives in the adapter.

Component signatures (shapes in the named dimensions of docs/conventions.md):

=====================  ================================================================  =====================================
component              method                                                            returns
=====================  ================================================================  =====================================
attention              attention(q, k, v, mask)                                          (out, weights or None)
heads                  split_heads(x, heads), concat_heads(x)                            (batch, heads, seq, d) / (batch, seq, heads*d)
multi_head_attention   multi_head_attention(query, key, value, params, mask)             (out, weights or None)
ffn                    ffn(x, params)                                                    (batch, seq, d_model)
embedding              embedding(tokens, weight)                                         (batch, seq, d_model)
output_logits          output_logits(x, weight)                                          (batch, seq, vocab)
positional_encoding    positional_encoding(seq_len, d_model)                             (seq_len, d_model)
layer_norm             layer_norm(x, scale, bias, eps)                                   (batch, seq, d_model)
sublayer_connection    sublayer_connection(x, sublayer, norm, eps)                       (batch, seq, d_model)
encoder_layer          encoder_layer(x, params, src_mask, config)                        (batch, seq_src, d_model)
decoder_layer          decoder_layer(y, memory, params, src_mask, tgt_mask, config)      (batch, seq_tgt, d_model)
encoder                encoder(src, params, config)                                      (batch, seq_src, d_model)
decoder                decoder(tgt, memory, src, params, config)                         (batch, seq_tgt, d_model)
model                  model(src, tgt, params, config, keep=None)                        logits (batch, seq_tgt, vocab)
loss                   loss(logits, targets, epsilon, pad_id)                            scalar
learning_rate          learning_rates(steps, d_model, warmup_steps)                      rates of steps 1 .. steps
adam_step              adam_step(param, grad, m, v, step, lr)                            (param, m, v)
train_steps            train_steps(params, config, batches)                              params tree after len(batches) steps
greedy_decode          greedy_decode(src, params, config, bos_id, eos_id, max_len)       list of token tuples
beam_search            beam_search(src, params, config, bos_id, eos_id, max_len, beam,   list of (token tuple, score)
                       alpha)
translation            translation_model(config)                                         a trainable nn.Module (below)
=====================  ================================================================  =====================================

``sublayer`` is a callable on tensors supplied by the suite; ``keep`` maps the
dropout sites of ``reference.regularization.dropout_sites`` to keep-masks and
asks for training-mode dropout with exactly those masks (None = evaluation).
``translation_model`` returns a freshly initialised module with the interface of
``transformer_spec.implementations.pytorch.Transformer`` (``forward(src, tgt, keep=None)``, ``encode``,
``decode``, ``generator``, ``start_cache``, ``decode_step``) on the target device in
float32; the suite trains it end to end with its own recipe and decoders (§5, §6.1).
``train_steps`` takes batches ``(src, tgt_in, tgt_out)`` and applies the paper's
recipe (Eq. (3) schedule from step 1, Adam, label smoothing ``config.label_smoothing``,
dropout ``config.dropout``).  A component an implementation does not offer
is reported ``not-applicable``; so is a call that raises :class:`Unsupported`
(an offered component that cannot express these particular arguments, e.g.
``torch.nn.MultiheadAttention`` with d_k != d_model / heads).

Optional declarations:

- ``shapes``: a :class:`Shapes` saying up front which configurations the
  implementation can express (default :data:`ANY_SHAPE`).  The suite's
  strategies then draw only those, instead of drawing shapes the implementation
  rejects as :class:`Unsupported` (checked when the implementation is loaded,
  :func:`check_declarations`).
- ``differentiable`` (bool) and ``focus_clauses`` (frozenset of clause ids, mutants and variants).
- ``notes``: a mapping ``{clause id: one line}`` explaining a finding or a departure the adapter's author
  knows of, with its source in the library; reports show it beside the clause (:func:`declared_notes`).

Adapters that run a module on canonical weights must check them first: every
module parameter gets a weight of exactly its shape, and none is left to the
module's own initial value (``transformer_spec.implementations.adapters.toolkit.run_with``);
a mismatch raises :class:`ParameterMismatch`.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Protocol, runtime_checkable

from transformer_spec.reference.errors import SpecUsageError

COMPONENTS: dict[str, tuple[str, ...]] = {
    "attention": ("attention",),
    "heads": ("split_heads", "concat_heads"),
    "multi_head_attention": ("multi_head_attention",),
    "ffn": ("ffn",),
    "embedding": ("embedding",),
    "output_logits": ("output_logits",),
    "positional_encoding": ("positional_encoding",),
    "layer_norm": ("layer_norm",),
    "sublayer_connection": ("sublayer_connection",),
    "encoder_layer": ("encoder_layer",),
    "decoder_layer": ("decoder_layer",),
    "encoder": ("encoder",),
    "decoder": ("decoder",),
    "model": ("model",),
    "loss": ("loss",),
    "learning_rate": ("learning_rates",),
    "adam_step": ("adam_step",),
    "train_steps": ("train_steps",),
    "greedy_decode": ("greedy_decode",),
    "beam_search": ("beam_search",),
    "translation": ("translation_model",),
}
"""Component name -> the methods an implementation offering it must have."""


@runtime_checkable
class Implementation(Protocol):
    """The attributes every implementation has; component methods are optional."""

    name: str
    version: str
    offers: frozenset[str]
    deviations: Mapping[str, Any]


Factory = Callable[..., Implementation]


class Unsupported(Exception):
    """Raised by a component method for arguments it cannot express; the test is reported ``not-applicable``.

    The message says what is missing, e.g. ``"nn.MultiheadAttention needs d_k = d_v = d_model / heads"``.
    """


class ParameterMismatch(Exception):
    """The canonical weights do not fit the module's parameters (a missing, extra or differently shaped one).

    The message names the parameter, e.g. ``"norm1.scale has shape (), but the canonical tree
    has (d_model,)=(8,)"``: the module cannot hold the paper's parameters (§3).
    """


@dataclass(frozen=True)
class Shapes:
    """The configurations an implementation can express, declared up front as its ``shapes`` attribute.

    Paper: §3.2.2 has h heads of width d_k = d_v = d_model / h, but any d_k, d_v is well defined.
    ``heads_divide_d_model=True`` declares that only d_k = d_v = d_model / heads is expressible
    (fused attention such as ``torch.nn.MultiheadAttention``); the strategies then draw only those.
    """

    heads_divide_d_model: bool = False


ANY_SHAPE = Shapes()
"""The default declaration: every positive d_model, d_ff, heads, d_k, d_v."""


def declared_shapes(impl: object) -> Shapes:
    """The ``shapes`` an implementation declares (:data:`ANY_SHAPE` when it declares none).

    Read statically, so a wrapper whose ``__getattr__`` forwards methods is not mistaken for a declaration.
    """
    return inspect.getattr_static(impl, "shapes", ANY_SHAPE)


def declared_notes(impl: object) -> Mapping[str, str]:
    """The ``notes`` an implementation declares (none when it declares none); read statically like ``shapes``."""
    return inspect.getattr_static(impl, "notes", {})


def check_declarations(impl: object, spec: str) -> None:
    """Raise a usage error (``--impl spec``) unless the optional declarations have their documented types."""
    from transformer_spec.reference.clauses import CLAUSES  # here: --help imports this module and needs no NumPy
    notes, known = declared_notes(impl), {c.id for c in CLAUSES}
    if not isinstance(notes, Mapping) or any(k not in known or not isinstance(v, str) for k, v in notes.items()):
        raise SpecUsageError("--impl", spec, f"declares notes = {notes!r}; they must map clause ids "
                                             "(transformer-spec clauses) to one line of text")
    shapes = declared_shapes(impl)
    if not isinstance(shapes, Shapes):
        raise SpecUsageError("--impl", spec, f"declares shapes = {shapes!r}, which is not an "
                                             "transformer_spec.implementations.protocol.Shapes")
