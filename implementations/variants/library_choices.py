"""Correct variants that make the choices other libraries make where the paper is silent, each declared.

Built on the independent :class:`~transformer_spec.implementations.variants.functional_stack.FunctionalTransformer`;
each variant changes one thing, as the library named in its docstring does, and declares it
(a ``TransformerConfig`` field), so the suite checks it against that variant of the reference and
reports ``deviates``.  The variant computes with its own choice whatever the configuration says,
as the library would.  Undeclared, the same choices fail: the mutants ``pe-halves``,
``pe-from-position-1``, ``no-output-bias``, ``scale-at-logits``, ``log-prob-output``
(``implementations/mutants/undeclared_choices.py``) and ``unbiased-layer-norm``; learned positions,
undeclared, fail §3.5.
"""
from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from transformer_spec.implementations.protocol import Unsupported
from transformer_spec.implementations.variants.functional_stack import STACK_CLAUSES, FunctionalTransformer
from transformer_spec.reference.config import TransformerConfig

PE_CLAUSES = frozenset({"3.5/positional-encoding", "3.1/encoder-stack", "3.1/decoder-stack", "3/model-forward"})


class LibraryChoices(FunctionalTransformer):
    """The functional Transformer with the choices below as class attributes (the paper's by default)."""

    offers = FunctionalTransformer.offers | {"positional_encoding", "embedding", "output_logits"}
    pe_layout = "interleaved"
    pe_offset = 0
    projection_bias = True
    scale_site = "embedding"
    returns = "logits"

    def embedding(self, tokens: Tensor, weight: Tensor) -> Tensor:
        """E[tokens] * sqrt(d_model), or E[tokens] when the logits carry the scale (§3.4).

        Shapes: tokens (batch, seq), weight (vocab, d_model) -> (batch, seq, d_model).
        """
        return weight[tokens] * (math.sqrt(weight.shape[1]) if self.scale_site == "embedding" else 1.0)

    def embed(self, tokens: Tensor, weight: Tensor, pad_id: int) -> Tensor:
        """The stacks' lookup: :meth:`embedding` (padding rows need nothing special here)."""
        return self.embedding(tokens, weight)

    def output_logits(self, x: Tensor, weight: Tensor) -> Tensor:
        """x E^T, or x E^T * d_model^-0.5 when the logits carry the scale (§3.4).

        Shapes: x (batch, seq, d_model), weight (vocab, d_model) -> (batch, seq, vocab).
        """
        return x @ weight.T * (1.0 if self.scale_site == "embedding" else weight.shape[1] ** -0.5)

    def model(self, src: Tensor, tgt: Tensor, params: Any, config: TransformerConfig, keep: Any = None) -> Tensor:
        """Logits of the shared matrix E (§3.4) over the decoder output, or their log-softmax when ``returns`` says so.

        Shapes: -> (batch, seq_tgt, vocab).
        """
        if keep is not None:
            raise Unsupported("this implementation has no dropout")
        memory = self.encoder(src, params, config)
        logits = self.output_logits(self.decoder(tgt, memory, src, params, config), params["embedding"])
        return torch.log_softmax(logits, dim=-1) if self.returns == "log_probs" else logits

    def positional_encoding(self, seq_len: int, d_model: int) -> Tensor:
        """Sines and cosines of positions pe_offset .. pe_offset + seq_len - 1, laid out as ``pe_layout``, §3.5.

        Shapes: -> (seq_len, d_model); computed in float64 and rounded once to the target dtype.
        """
        device = self.target.torch_device
        pos = torch.arange(self.pe_offset, self.pe_offset + seq_len, dtype=torch.float64, device=device)[:, None]
        rates = 10000.0 ** (-torch.arange(0, d_model, 2, dtype=torch.float64, device=device) / d_model)
        sines, cosines = torch.sin(pos * rates), torch.cos(pos * rates[: d_model // 2])  # (seq_len, ceil|floor(d/2))
        if self.pe_layout == "halves":
            pe = torch.cat([sines, cosines], dim=1)
        else:
            pe = torch.zeros(seq_len, d_model, dtype=torch.float64, device=device)
            pe[:, 0::2], pe[:, 1::2] = sines, cosines
        return pe.to(self.target.torch_dtype)

    def multi_head_attention(self, query: Tensor, key: Tensor, value: Tensor, params: Any,
                             mask: Tensor | None) -> tuple[Tensor, Tensor]:
        """§3.2.2 with biases when ``projection_bias``, else Concat(head_i) W^O, head_i = Attention(Q W_i^Q, ...).

        Shapes: query (batch, seq_q, d_model), key and value (batch, seq_k, d_model) -> (batch, seq_q, d_model).
        """
        if self.projection_bias:
            return super().multi_head_attention(query, key, value, params, mask)
        project = lambda x, role: torch.einsum("bsm,hmd->bhsd", x, params[f"w_{role}"])  # (batch, heads, seq, d)
        heads, weights = self.attention(project(query, "q"), project(key, "k"), project(value, "v"), mask)
        return heads.transpose(1, 2).flatten(2) @ params["w_o"], weights  # (batch, seq_q, heads * d_v) W^O

    def _inputs(self, tokens: Tensor, params: Any, config: TransformerConfig) -> Tensor:
        """Embedding plus this variant's positional encoding (the stacks' inputs, §3.4, §3.5)."""
        if config.final_norm:
            raise Unsupported("this implementation has no LayerNorm after the stacks")
        return self.embed(tokens, params["embedding"], config.pad_id) + self._positions(tokens.shape[1], params)

    def _positions(self, seq_len: int, params: Any) -> Tensor:
        """(seq_len, d_model) added to the embeddings of one stack: this variant's sinusoids."""
        return self.positional_encoding(seq_len, params["embedding"].shape[1]).to(params["embedding"].dtype)


class HalvesPositionalEncoding(LibraryChoices):
    """All sines, then all cosines, as Hugging Face's ``MarianSinusoidalPositionalEmbedding`` (Marian, BART-family)."""

    name = "halves-pe"
    pe_layout = "halves"
    deviations: dict[str, Any] = {"pe_layout": "halves"}
    focus_clauses = PE_CLAUSES


class OffsetPositionalEncoding(LibraryChoices):
    """Positions counted from 2, as fairseq's ``make_positions`` does with its default padding_idx = 1."""

    name = "offset-pe"
    pe_offset = 2
    deviations: dict[str, Any] = {"pe_offset": 2}
    focus_clauses = PE_CLAUSES


class BiasFreeProjections(LibraryChoices):
    """Q, K, V and output projections without biases (tensor2tensor's ``compute_qkv``, Hugging Face's ``T5Attention``).

    It reads no bias leaf of the canonical tree, so it is checked on trees whose attention biases are zero.
    """

    name = "bias-free-projections"
    projection_bias = False
    deviations: dict[str, Any] = {"projection_bias": False}
    focus_clauses = frozenset({"3.2.2/multi-head", "3.2.3/cross-attention", "3.2.3/encoder-self-attention",
                               "3.1/encoder-layer", "3.1/decoder-layer", "3/model-forward"})


class AnnotatedLayerNorm(LibraryChoices):
    """a_2 * (x - mean) / (std + eps) + b_2 with the unbiased std: the Annotated Transformer's (harvardnlp) LayerNorm.

    The mutant ``unbiased-layer-norm`` is this LayerNorm undeclared.
    """

    name = "annotated-layer-norm"
    deviations: dict[str, Any] = {"layer_norm_form": "annotated"}
    focus_clauses = (STACK_CLAUSES - {"3.2.3/causal-mask", "3.2.3/padding-mask"}) | {"3.1/layer-norm",
                                                                                     "3.1/residual-post-norm"}

    def layer_norm(self, x: Tensor, scale: Tensor, bias: Tensor, eps: float) -> Tensor:
        """Shapes: x (batch, seq, d_model), scale and bias (d_model,) -> (batch, seq, d_model)."""
        return scale * (x - x.mean(-1, keepdim=True)) / (x.std(-1, keepdim=True) + eps) + bias


class ScaleAtLogits(LibraryChoices):
    """Unscaled embeddings and logits x E^T * d_model^-0.5: Mesh TensorFlow, Hugging Face's T5 with tied embeddings."""

    name = "scale-at-logits"
    scale_site = "logits"
    deviations: dict[str, Any] = {"embedding_scale_site": "logits"}
    focus_clauses = frozenset({"3.4/embedding-scale", "3.4/output-softmax", "3.1/encoder-stack", "3.1/decoder-stack",
                               "3/model-forward"})


class LogProbOutput(LibraryChoices):
    """The model returns log-probabilities, as the Annotated Transformer's ``Generator`` (log_softmax of the projection)."""

    name = "log-prob-output"
    returns = "log_probs"
    deviations: dict[str, Any] = {"model_output": "log_probs"}
    focus_clauses = frozenset({"3/model-forward", "3.4/output-softmax"})


class LearnedPositions(LibraryChoices):
    """A learned (max_positions, d_model) table per stack, rows from 2 on: Hugging Face's BartLearnedPositionalEmbedding.

    §3.5 reports it works as well as the sinusoids; declared, the PE clause is not applicable and the stacks
    are checked against the reference with the canonical tables ``encoder.positions`` and ``decoder.positions``.
    """

    name = "learned-positions"
    pe_offset = 2
    deviations: dict[str, Any] = {"positional_encoding_kind": "learned", "pe_offset": 2}
    focus_clauses = PE_CLAUSES

    def _positions(self, seq_len: int, params: Any) -> Tensor:
        """Rows pe_offset .. pe_offset + seq_len - 1 of the stack's table (:meth:`encoder` / :meth:`decoder` pick it)."""
        return params["positions"][self.pe_offset:self.pe_offset + seq_len]

    def encoder(self, src: Tensor, params: Any, config: TransformerConfig) -> Tensor:
        """The encoder stack reading ``encoder.positions``.  Shapes: src (batch, seq_src) -> (batch, seq_src, d_model)."""
        return super().encoder(src, {**params, "positions": params["encoder"]["positions"]}, config)

    def decoder(self, tgt: Tensor, memory: Tensor, src: Tensor, params: Any, config: TransformerConfig) -> Tensor:
        """The decoder stack reading ``decoder.positions``.  Shapes: tgt (batch, seq_tgt) -> (batch, seq_tgt, d_model)."""
        return super().decoder(tgt, memory, src, {**params, "positions": params["decoder"]["positions"]}, config)
