"""The clause registry: every checkable statement of the paper, as plain data.

Each clause has a stable id (``<section>/<slug>``), the paper section and the
equation number where the paper numbers one, a one-line statement in our own
words, its kind and the reference function that computes it.

Kinds:
- ``normative``: the paper states it; an implementation must do it.
- ``implementation-defined``: the paper is silent; the implementation's
  declared choice is checked (the reference's default is the paper's code).
- ``recipe``: the training and decoding recipe of §5 and §6.

``governed_by`` names the ``TransformerConfig`` fields whose non-default
value an implementation may declare as a deviation for this clause.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Literal

from transformer_spec.reference.errors import SpecUsageError
from transformer_spec.reference import (attention, decoding, embeddings, feed_forward, layers, masks, optimizer,
                       positional_encoding, regularization, residual, schedule)

Kind = Literal["normative", "implementation-defined", "recipe"]

NORM = ("layer_norm_eps", "layer_norm_form")
"""Declarable fields that change every LayerNorm (§3.1)."""
ATTENTION = ("projection_bias",)
"""Declarable fields that change multi-head attention (§3.2.2)."""
LAYER = ("norm_position", *NORM, *ATTENTION)
"""Declarable fields that change every encoder and decoder layer (§3.1)."""
PE = ("pe_layout", "pe_offset", "positional_encoding_kind", "max_positions")
"""Declarable fields that change the positional encoding (§3.5)."""
SCALE = ("embedding_scale_site",)
"""Declarable fields that change where the shared matrix is rescaled (§3.4)."""
INPUTS = (*PE, *SCALE)
"""Declarable fields that change the stacks' inputs, embedding plus positional encoding (§3.4, §3.5)."""
STACK = (*LAYER, "final_norm", *INPUTS)
"""Declarable fields that change the encoder and decoder stacks."""
MODEL = (*STACK, "model_output")
"""Declarable fields that change what the whole model returns."""


@dataclass(frozen=True)
class Clause:
    id: str
    section: str
    title: str
    statement: str
    kind: Kind
    reference: Callable[..., object]
    equation: str | None = None
    governed_by: tuple[str, ...] = ()


def _c(id: str, title: str, statement: str, kind: Kind, reference: Callable[..., object],
       equation: str | None = None, governed_by: tuple[str, ...] = ()) -> Clause:
    return Clause(id, id.split("/")[0], title, statement, kind, reference, equation, governed_by)


CLAUSES: tuple[Clause, ...] = (
    _c("3.1/layer-norm", "Layer normalisation",
       "LayerNorm normalises each position over the feature axis with the biased variance, then applies gain and bias "
       "(a declared layer_norm_eps or layer_norm_form is checked instead of the defaults).",
       "normative", residual.layer_norm, governed_by=NORM),
    _c("3.1/residual-post-norm", "Residual sub-layer connection",
       "Each sub-layer's output is LayerNorm(x + Sublayer(x)): residual add first, normalisation after.",
       "normative", residual.sublayer_connection, governed_by=("norm_position", *NORM)),
    _c("3.1/encoder-layer", "Encoder layer",
       "An encoder layer is self-attention then the position-wise FFN, each wrapped in the residual connection.",
       "normative", layers.encoder_layer, governed_by=LAYER),
    _c("3.1/decoder-layer", "Decoder layer",
       "A decoder layer is masked self-attention, encoder-decoder attention, then the FFN, each wrapped in the residual connection.",
       "normative", layers.decoder_layer, governed_by=LAYER),
    _c("3.1/encoder-stack", "Encoder stack",
       "The encoder is N identical layers over the embedded, position-encoded source; its output is the last layer's output.",
       "normative", layers.encode, governed_by=STACK),
    _c("3.1/decoder-stack", "Decoder stack",
       "The decoder is N identical layers over the embedded, position-encoded, shifted target, attending to the encoder output.",
       "normative", layers.decode, governed_by=STACK),
    _c("3/model-forward", "Full encoder-decoder forward pass",
       "Source and target tokens map to next-token logits through encoder, decoder and the tied output projection (Figure 1); "
       "log-probabilities under a declared model_output='log_probs'.",
       "normative", layers.transformer_forward, governed_by=MODEL),
    _c("3.2.1/softmax", "Attention weights are a softmax over keys",
       "Every query's attention weights are non-negative and sum to 1 over the keys it may attend to.",
       "normative", attention.softmax),
    _c("3.2.1/scaled-dot-product", "Scaled dot-product attention",
       "Attention(Q, K, V) = softmax(Q K^T / sqrt(d_k)) V.",
       "normative", attention.scaled_dot_product_attention, equation="1"),
    _c("3.2.1/scaling", "Scores are scaled by 1/sqrt(d_k)",
       "The dot products are divided by sqrt(d_k), the query/key width per head, not by d_k or sqrt(d_model).",
       "normative", attention.scaled_dot_product_attention, equation="1"),
    _c("3.2.2/head-split-concat", "Head split and concatenation",
       "Head i works on its own slice of the projections; Concat stacks the heads' outputs in order along the features.",
       "normative", attention.concat_heads),
    _c("3.2.2/multi-head", "Multi-head attention",
       "MultiHead(Q, K, V) = Concat(head_1, ..., head_h) W^O with head_i = Attention(Q W_i^Q, K W_i^K, V W_i^V) "
       "(each projection with a bias, zero under a declared projection_bias=False).",
       "normative", attention.multi_head_attention, governed_by=ATTENTION),
    _c("3.2.3/encoder-self-attention", "Encoder self-attention",
       "In encoder self-attention queries, keys and values all come from the previous encoder layer.",
       "normative", attention.multi_head_attention, governed_by=LAYER),
    _c("3.2.3/causal-mask", "Decoder self-attention is causal",
       "A decoder position attends only to positions up to and including itself; later target tokens cannot influence it.",
       "normative", masks.causal_mask),
    _c("3.2.3/padding-mask", "Padding is masked as keys",
       "Padding tokens are masked as keys (never as queries), so real positions do not depend on the padding in a batch.",
       "normative", masks.padding_mask),
    _c("3.2.3/fully-masked-row", "A query that may attend to no key",
       "What a query with every key masked yields is implementation-defined (zeros, NaN or uniform weights) and must match the declaration.",
       "implementation-defined", attention.scaled_dot_product_attention, governed_by=("fully_masked",)),
    _c("3.2.3/cross-attention", "Encoder-decoder attention",
       "In encoder-decoder attention the queries come from the decoder and the keys and values from the encoder output.",
       "normative", layers.decoder_layer, governed_by=LAYER),
    _c("3.3/ffn", "Position-wise feed-forward network",
       "FFN(x) = max(0, x W_1 + b_1) W_2 + b_2, the same at every position.",
       "normative", feed_forward.position_wise_ffn, equation="2"),
    _c("3.4/embedding-scale", "Embeddings are scaled by sqrt(d_model)",
       "The embedding of a token is its row of the embedding matrix multiplied by sqrt(d_model) (under a declared "
       "embedding_scale_site='logits', unscaled, and the logits multiplied by d_model^-0.5 instead).",
       "normative", embeddings.embed, governed_by=SCALE),
    _c("3.4/tied-weights", "One weight matrix for both embeddings and the output projection",
       "Source embedding, target embedding and the pre-softmax linear map share one matrix, before and after training steps.",
       "normative", embeddings.output_logits),
    _c("3.4/output-softmax", "Output softmax",
       "Next-token probabilities are the softmax of the decoder output times the shared embedding matrix transposed.",
       "normative", embeddings.output_probabilities, governed_by=MODEL),
    _c("3.5/positional-encoding", "Sinusoidal positional encoding",
       "PE(pos, 2i) = sin(pos / 10000^(2i/d_model)) and PE(pos, 2i+1) = cos(pos / 10000^(2i/d_model)), interleaved, "
       "positions counted from 0 (a declared pe_layout or pe_offset is checked instead; not applicable under a "
       "declared positional_encoding_kind='learned', §3.5's alternative).",
       "normative", positional_encoding.sinusoidal_encoding, governed_by=PE),
    _c("5.3/learning-rate", "Learning-rate schedule",
       "lrate = d_model^-0.5 * min(step^-0.5, step * warmup_steps^-1.5), steps counted from 1.",
       "recipe", schedule.learning_rate, equation="3"),
    _c("5.3/adam", "Adam optimiser",
       "Updates are Adam with beta_1 = 0.9, beta_2 = 0.98, epsilon = 1e-9 and bias correction.",
       "recipe", optimizer.adam_update),
    _c("5.4/dropout", "Residual dropout placement",
       "Dropout acts on each sub-layer output before the residual add and on the embedding + PE sums, nowhere else, and not in evaluation.",
       "recipe", regularization.dropout, governed_by=MODEL),
    _c("5.4/label-smoothing", "Label smoothing",
       "Training targets are smoothed with epsilon_ls = 0.1 (the target keeps 1 - epsilon, up to its share of the "
       "spread) and padding positions do not count in the loss.",
       "recipe", regularization.label_smoothed_cross_entropy,
       governed_by=("smoothing_convention", "smoothing_pad_class")),
    _c("5.4/smoothing-denominator", "How label smoothing spreads its mass",
       "How the mass epsilon is spread is implementation-defined: epsilon/(K-1) to every other class (tensor2tensor) "
       "or epsilon/K to all K (PyTorch), with or without the padding class among the K.",
       "implementation-defined", regularization.smoothed_targets,
       governed_by=("smoothing_convention", "smoothing_pad_class")),
    _c("6.1/greedy-decoding", "Greedy decoding",
       "Greedy decoding emits the most probable next token until the end token or the length limit.",
       "recipe", decoding.greedy_decode),
    _c("6/end-to-end-translation", "The recipe trains a model that translates",
       "Trained with §5's recipe on the synthetic task, the model translates held-out sentences (exact match >= 0.95, "
       "BLEU >= 95 with beam search) and its decoded output agrees with teacher forcing (no future-token leak).",
       "recipe", decoding.beam_search),
    _c("6.1/beam-search", "Beam search with length penalty",
       "Beam search keeps `beam` hypotheses (4 in the paper), stops a hypothesis at the end token and ranks finished "
       "ones by log P / ((5+|Y|)/6)^alpha, alpha = 0.6; as wide as the search space it finds the best sequence.",
       "recipe", decoding.beam_search),
)

CLAUSE_IDS: frozenset[str] = frozenset(c.id for c in CLAUSES)


def clause(clause_id: str) -> Clause:
    """The clause with id ``clause_id``."""
    for c in CLAUSES:
        if c.id == clause_id:
            return c
    raise SpecUsageError("clause", clause_id, "no such clause (see `transformer-spec clauses`)")
