"""The model's hyper-parameters and the choices the paper leaves open.

Paper: Table 3 (base model), §5.3 (warm-up), §5.4 (dropout, label smoothing).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal, get_args

from transformer_spec.reference.errors import SpecUsageError

NormPosition = Literal["post", "pre"]
SmoothingConvention = Literal["others", "uniform"]
SmoothingPadClass = Literal["included", "excluded"]
FullyMasked = Literal["zeros", "nan", "uniform"]
PeLayout = Literal["interleaved", "halves"]
PositionalKind = Literal["sinusoidal", "learned"]
LayerNormForm = Literal["paper", "annotated"]
ScaleSite = Literal["embedding", "logits"]
ModelOutput = Literal["logits", "log_probs"]


@dataclass(frozen=True)
class TransformerConfig:
    """Hyper-parameters of the encoder-decoder Transformer.

    The defaults are the paper's base model (Table 3).  The last group of
    fields are implementation-defined choices: the paper's own behaviour is the
    default and every other value is a named variant that an implementation
    must declare as a deviation.
    """

    layers: int = 6  # N: identical layers in the encoder and in the decoder
    d_model: int = 512  # width of every sub-layer output and embedding
    d_ff: int = 2048  # inner width of the position-wise FFN, Eq. (2)
    heads: int = 8  # h: parallel attention heads
    d_k: int = 64  # query/key width per head (d_model / h in the paper)
    d_v: int = 64  # value width per head (d_model / h in the paper)
    dropout: float = 0.1  # P_drop, §5.4
    label_smoothing: float = 0.1  # epsilon_ls, §5.4
    warmup_steps: int = 4000  # Eq. (3)
    vocab: int = 37000  # shared source-target BPE vocabulary (§5.1, EN-DE)
    pad_id: int = 0  # token id of padding: masked as a key, ignored by the loss
    # Implementation-defined choices (paper's behaviour first).
    layer_norm_eps: float = 1e-5  # LayerNorm epsilon; the paper gives none
    # "paper": (x - mean) / sqrt(biased variance + eps) (Ba et al., 2016; torch.nn.LayerNorm); "annotated":
    # (x - mean) / (unbiased std + eps), the Annotated Transformer's (harvardnlp) a_2 * (x - mean) / (std + eps) + b_2.
    layer_norm_form: LayerNormForm = "paper"
    norm_position: NormPosition = "post"  # §3.1: LayerNorm(x + Sublayer(x))
    final_norm: bool = False  # an extra LayerNorm after each stack (not in the paper)
    # How epsilon_ls is spread: "others" = eps/(K-1) to every class but the target (tensor2tensor's
    # smoothing_cross_entropy, the paper's code; also fairseq); "uniform" = (1 - eps) onehot + eps/K
    # (Szegedy et al., 2016; torch's F.cross_entropy(label_smoothing=eps)).
    smoothing_convention: SmoothingConvention = "others"
    # Whether the padding class counts among the K classes that share eps: "included" in tensor2tensor and
    # in F.cross_entropy(ignore_index=pad); "excluded" in the Annotated Transformer and OpenNMT-py
    # (eps/(V-2) each).  Padding *positions* never count in the loss either way.
    smoothing_pad_class: SmoothingPadClass = "included"
    fully_masked: FullyMasked = "zeros"  # what a query that sees no key yields
    # Where the sines and cosines of §3.5 sit: "interleaved" (sin in column 2i, cos in 2i+1, the paper) or
    # "halves" (all sines, then all cosines, same frequencies: Hugging Face's MarianSinusoidalPositionalEmbedding).
    pe_layout: PeLayout = "interleaved"
    # The position of the first token: 0 in the paper; fairseq counts from padding_idx + 1 (make_positions).
    pe_offset: int = 0
    # §3.5 also tried learned positional embeddings (Gehring et al., 2017), with nearly identical results: "learned"
    # is a (max_positions, d_model) table per stack, row pe_offset + pos added (fairseq's LearnedPositionalEmbedding,
    # Hugging Face's BartLearnedPositionalEmbedding with its offset 2); §3.5's sinusoids are then not used.
    positional_encoding_kind: PositionalKind = "sinusoidal"
    max_positions: int = 64  # rows of a learned position table (only under positional_encoding_kind="learned")
    # Whether the attention projections Q W_i^Q, K W_i^K, V W_i^V and Concat W^O add biases.  The paper's equations
    # write none and its code has none (tensor2tensor's compute_qkv: use_bias=False; also Hugging Face's T5Attention);
    # most PyTorch code keeps them (nn.MultiheadAttention, fairseq).  False: the canonical biases are drawn as zeros.
    projection_bias: bool = True
    # Where the shared matrix is rescaled: "embedding" (E[tokens] * sqrt(d_model), §3.4) or "logits" (unscaled
    # embeddings, logits x E^T * d_model^-0.5: Mesh TensorFlow and Hugging Face's T5 with tied embeddings).
    embedding_scale_site: ScaleSite = "embedding"
    # What the whole model returns: the logits of §3.4's pre-softmax linear map, or their log-softmax
    # (the Annotated Transformer's Generator; OpenNMT-py's generator ends in nn.LogSoftmax).
    model_output: ModelOutput = "logits"

    def __post_init__(self) -> None:
        for name in ("layers", "d_model", "d_ff", "heads", "d_k", "d_v", "vocab", "warmup_steps", "max_positions"):
            if getattr(self, name) < 1:
                raise SpecUsageError(name, getattr(self, name), "must be a positive integer")
        if not 0.0 <= self.dropout < 1.0:
            raise SpecUsageError("dropout", self.dropout, "must lie in [0, 1)")
        if not 0.0 <= self.label_smoothing < 1.0:
            raise SpecUsageError("label_smoothing", self.label_smoothing, "must lie in [0, 1)")
        if not 0 <= self.pad_id < self.vocab:
            raise SpecUsageError("pad_id", self.pad_id, f"must be a token id below vocab={self.vocab}")
        if not self.layer_norm_eps >= 0.0:
            raise SpecUsageError("layer_norm_eps", self.layer_norm_eps, "must be a non-negative number")
        if not (isinstance(self.pe_offset, int) and self.pe_offset >= 0):
            raise SpecUsageError("pe_offset", self.pe_offset, "must be a non-negative integer")
        if not isinstance(self.projection_bias, bool):
            raise SpecUsageError("projection_bias", self.projection_bias, "must be True or False")
        for name, allowed in (("norm_position", NormPosition), ("smoothing_convention", SmoothingConvention),
                              ("smoothing_pad_class", SmoothingPadClass), ("fully_masked", FullyMasked),
                              ("pe_layout", PeLayout), ("layer_norm_form", LayerNormForm),
                              ("embedding_scale_site", ScaleSite), ("model_output", ModelOutput),
                              ("positional_encoding_kind", PositionalKind)):
            if getattr(self, name) not in get_args(allowed):
                raise SpecUsageError(name, getattr(self, name), f"must be one of {get_args(allowed)}")

    @classmethod
    def small(cls, **overrides: object) -> "TransformerConfig":
        """A tiny configuration with d_k = d_model / heads, for tests and examples."""
        base = dict(layers=2, d_model=16, d_ff=24, heads=2, d_k=8, d_v=8, vocab=11, warmup_steps=10)
        base.update(overrides)
        return cls(**base)  # type: ignore[arg-type]

    def replace(self, **changes: object) -> "TransformerConfig":
        """A copy with some fields changed (the config is frozen)."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]
