"""The mutant zoo: the project's own implementation with one realistic bug each.

A mutant is plain data: the clause its bug breaks, a one-line description,
and how the bug is made: ``patches`` replace one attribute of the real code
(a function in ``transformer_spec.implementations.pytorch.functional``, a method of a module
class, a helper the adapter calls) for the duration of each protocol call,
and ``overrides`` replace one protocol method.  ``transformer-spec selftest``
runs the suite against every mutant; each must be killed by its clause.
"""
from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import torch
from torch import nn

from transformer_spec.implementations.adapters import ours
from transformer_spec.implementations.mutants import broken, broken_numerics, broken_params, broken_recipe, undeclared_choices, wiring
from transformer_spec.implementations.pytorch import decoding, modules
from transformer_spec.implementations.pytorch import functional as fn
from transformer_spec.implementations.pytorch.model import DecoderLayer, EncoderLayer
from transformer_spec.implementations.pytorch.modules import MultiHeadAttention
from transformer_spec.harness.target import Target

Patch = tuple[Any, str, Any]  # (module or class, attribute, replacement)


@dataclass(frozen=True)
class Mutant:
    name: str
    clause: str
    bug: str
    patches: tuple[Patch, ...] = ()
    overrides: dict[str, Callable[..., Any]] = field(default_factory=dict)
    deviations: dict[str, Any] = field(default_factory=dict)  # what the mutant declares (its bug then breaks it)

    def __call__(self, target: Target) -> "MutantImplementation":
        return MutantImplementation(self, target)


@contextlib.contextmanager
def applied(patches: tuple[Patch, ...]) -> Iterator[None]:
    """Install the patches, and restore the originals afterwards whatever happens."""
    saved = [(owner, attr, owner.__dict__[attr]) for owner, attr, _ in patches]
    try:
        for owner, attr, replacement in patches:
            setattr(owner, attr, replacement)
        yield
    finally:
        for owner, attr, original in reversed(saved):
            setattr(owner, attr, original)


class MutantImplementation:
    """The project's implementation with one mutant's bug in every protocol call."""

    differentiable = True
    deviations: dict[str, Any] = {}

    def __init__(self, mutant: Mutant, target: Target) -> None:
        self.mutant, self.target = mutant, target
        self._base = ours.TransformerSpec(target)
        self.name, self.version = f"mutant:{mutant.name}", ours.TransformerSpec.version
        self.offers = self._base.offers
        self.focus_clauses = frozenset({mutant.clause})
        self.deviations = dict(mutant.deviations)

    def __getattr__(self, attr: str) -> Any:
        override = self.mutant.overrides.get(attr)
        method = (lambda *a, **k: override(self._base, *a, **k)) if override else getattr(self._base, attr)

        def call(*args: Any, **kwargs: Any) -> Any:
            with applied(self.mutant.patches):
                out = method(*args, **kwargs)
            return patched_module(out, self.mutant.patches) if isinstance(out, nn.Module) else out

        return call


MODEL_METHODS = ("forward", "encode", "decode", "generator", "start_cache", "decode_step")


def patched_module(module: nn.Module, patches: tuple[Patch, ...]) -> nn.Module:
    """A model handed out (for end-to-end training) keeps the bug: its methods run under the patches."""
    for name in MODEL_METHODS:
        method = getattr(module, name)

        def under_patches(*args: Any, _method: Callable[..., Any] = method, **kwargs: Any) -> Any:
            with applied(patches):
                return _method(*args, **kwargs)

        setattr(module, name, under_patches)
    return module


def _scaled(factor: Callable[[Any], float]) -> Callable[..., Any]:
    return broken.attention_with(score_scale=factor)


ZOO: tuple[Mutant, ...] = (
    Mutant("no-scale", "3.2.1/scaling", "scores not divided by sqrt(d_k)",
           ((fn, "scaled_dot_product_attention", _scaled(lambda q: 1.0)),)),
    Mutant("scale-by-dk", "3.2.1/scaling", "scores divided by d_k instead of sqrt(d_k)",
           ((fn, "scaled_dot_product_attention", _scaled(lambda q: 1.0 / q.shape[-1])),)),
    Mutant("scale-by-sqrt-dmodel", "3.2.1/scaling", "scores divided by sqrt(d_model) = sqrt(heads * d_k)",
           ((fn, "scaled_dot_product_attention", _scaled(lambda q: 1.0 / math.sqrt(q.shape[-1] * q.shape[-3]))),)),
    Mutant("softmax-over-queries", "3.2.1/softmax", "softmax taken over the query axis",
           ((fn, "scaled_dot_product_attention", broken.attention_with(softmax_dim=-2)),)),
    Mutant("mask-after-softmax", "3.2.1/softmax", "mask multiplied in after the softmax, rows not renormalised",
           ((fn, "scaled_dot_product_attention", broken.attention_with(mask_after=True)),)),
    Mutant("weak-mask-fill", "3.2.1/softmax", "masked scores filled with -1 instead of -inf",
           ((fn, "scaled_dot_product_attention", broken.attention_with(fill=-1.0)),)),
    Mutant("fully-masked-nan", "3.2.3/fully-masked-row", "a query with every key masked yields NaN, declared zeros",
           ((fn, "scaled_dot_product_attention", broken.attention_with(keep_empty_rows=True)),)),
    Mutant("causal-off-by-one", "3.2.3/causal-mask", "decoder position i also sees position i + 1",
           ((fn, "causal_mask", broken.causal_mask_off_by_one),)),
    Mutant("padding-on-queries", "3.2.3/padding-mask", "padding mask applied to queries instead of keys",
           ((fn, "padding_mask", broken.padding_mask_on_queries),)),
    Mutant("encoder-causal", "3.2.3/encoder-self-attention", "encoder self-attention masked causally",
           ((EncoderLayer, "forward", wiring.encoder_layer_causal),)),
    Mutant("heads-no-transpose", "3.2.2/head-split-concat", "heads split by reshape without the transpose",
           ((fn, "split_heads", broken.split_heads_without_transpose),)),
    Mutant("heads-concat-reversed", "3.2.2/head-split-concat", "heads concatenated in reverse order",
           ((fn, "concat_heads", broken.concat_heads_reversed),)),
    Mutant("cross-kv-swapped", "3.2.3/cross-attention", "cross attention keys through W^V and values through W^K",
           ((MultiHeadAttention, "project_kv", wiring.project_kv_swapped),)),
    Mutant("cross-kv-from-decoder", "3.2.3/cross-attention", "cross attention takes K and V from the decoder",
           ((DecoderLayer, "_cross_attend", wiring.cross_attend_to_decoder),)),
    Mutant("ffn-no-relu", "3.3/ffn", "FFN without the ReLU", ((fn, "position_wise_ffn", broken.ffn_without_relu),)),
    Mutant("no-embedding-scale", "3.4/embedding-scale", "embeddings not multiplied by sqrt(d_model)",
           ((fn, "embed", broken.embed_unscaled),)),
    Mutant("untied-weights", "3.4/tied-weights", "source and target embeddings trained as separate copies",
           overrides={"train_steps": wiring.train_steps_untied}),
    Mutant("pe-i-not-2i", "3.5/positional-encoding", "PE exponent uses i instead of 2i",
           ((fn, "sinusoidal_encoding", broken.sinusoid_with(exponent_uses_i=True)),)),
    Mutant("pe-sin-cos-swapped", "3.5/positional-encoding", "cos in the even columns, sin in the odd",
           ((fn, "sinusoidal_encoding", broken.sinusoid_with(swap=True)),)),
    Mutant("pe-halves", "3.5/positional-encoding", "all sines then all cosines instead of interleaved",
           ((fn, "sinusoidal_encoding", broken.sinusoid_with(halves=True)),)),
    Mutant("pe-positions-bfloat16", "3.5/positional-encoding",
           "positions counted in bfloat16: from 256 on, neighbouring positions share one code",
           ((fn, "sinusoidal_encoding", broken.sinusoid_with(position_dtype=torch.bfloat16)),)),
    Mutant("pre-norm", "3.1/residual-post-norm", "pre-norm residual presented as the paper's post-norm",
           ((fn, "sublayer_connection", broken.sublayer_always_pre_norm),)),
    Mutant("unbiased-layer-norm", "3.1/layer-norm", "LayerNorm with the unbiased std and eps outside the root",
           ((fn, "layer_norm", broken.layer_norm_unbiased),)),
    Mutant("batch-norm", "3.1/layer-norm", "BatchNorm in place of LayerNorm: each feature normalised over the batch",
           ((fn, "layer_norm", broken.layer_norm_over_batch),)),
    Mutant("dropout-in-eval", "5.4/dropout", "dropout active in evaluation and ignoring the given masks",
           ((fn, "dropout", broken.dropout_always_random),)),
    Mutant("smoothing-on-padding", "5.4/label-smoothing",
           "label smoothing spreads mass onto the padding class, although it declares the padding class excluded",
           ((ours, "label_smoothed_loss", broken_recipe.smoothing_on_padding_class),),
           deviations={"smoothing_pad_class": "excluded"}),
    Mutant("loss-counts-padding", "5.4/label-smoothing", "pad id not passed to the loss: padding targets counted",
           ((ours, "label_smoothed_loss", broken.loss_counting_padding),)),
    Mutant("warmup-off-by-one", "5.3/learning-rate", "the schedule runs one step ahead",
           ((ours, "noam_scheduler", broken.schedule_one_step_ahead),)),
    Mutant("adam-beta2-0999", "5.3/adam", "Adam with PyTorch's default beta_2 = 0.999",
           ((ours, "make_optimizer", broken.adam_default_beta2),)),
    Mutant("beam-no-length-penalty", "6.1/beam-search", "beam search ranks by raw log-probability",
           ((decoding, "length_penalty", broken.no_length_penalty),)),
    Mutant("softmax-no-max-subtraction", "3.2.1/softmax", "softmax as exp(s) / sum exp(s): overflows for large scores",
           ((torch, "softmax", broken_numerics.softmax_without_max_subtraction),)),
    Mutant("scalar-layer-norm", "3.1/layer-norm", "LayerNorm gain and bias are scalars, not (d_model,) vectors",
           ((modules, "_norm_parameters", broken_params.scalar_norm_parameters),)),
    Mutant("untied-projection", "3.4/tied-weights",
           "the output projection is a copy of the embedding, so training moves the two apart",
           ((ours, "load_canonical", broken_params.load_canonical_untied),),
           overrides={"translation_model": broken_params.translation_model_untied}),
    Mutant("beam-plain-length-penalty", "6.1/beam-search", "beam search divides log P by |Y|^alpha, not ((5+|Y|)/6)^alpha",
           ((decoding, "length_penalty", broken_recipe.length_penalty_plain_power),)),
    Mutant("beam-extends-finished", "6.1/beam-search", "hypotheses ending in EOS stay in the beam and are extended",
           ((decoding, "_split", broken_recipe.split_keeping_finished_alive),)),
    Mutant("pe-from-position-1", "3.5/positional-encoding", "positions counted from 1, not declared (pe_offset)",
           ((fn, "sinusoidal_encoding", undeclared_choices.sinusoid_from_position_1),)),
    Mutant("no-output-bias", "3.2.2/multi-head", "attention output projection without its bias, not declared "
           "(projection_bias)", ((fn, "multi_head_attention", undeclared_choices.attention_without_output_bias),)),
    Mutant("scale-at-logits", "3.4/embedding-scale", "unscaled embeddings and logits times d_model^-0.5 (T5), not "
           "declared (embedding_scale_site)", ((fn, "embed", undeclared_choices.embed_unscaled),
                                              (fn, "output_logits", undeclared_choices.logits_scaled_down))),
    Mutant("log-prob-output", "3/model-forward", "the model returns log-probabilities, not declared (model_output)",
           overrides={"model": undeclared_choices.model_log_probs}),
)

MUTANTS: dict[str, Mutant] = {m.name: m for m in ZOO}
