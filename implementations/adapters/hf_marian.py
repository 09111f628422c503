"""``--impl hf-marian``: Hugging Face ``transformers`` Marian (``transformers/models/marian/modeling_marian.py``), §3.

BART's layers are the same code (Marian's are "Copied from ... modeling_bart"), with learned positions instead.
Weightless models are built from a ``MarianConfig`` sized from the suite's configuration (never
``from_pretrained``) and run on the canonical weights (``toolkit.run_canonical``; gradients reach the caller's
tensors); see ``_hf_marian_modules``.  The options closest to the paper, and why:

- ``activation_function="relu"``: Eq. (2) (Marian's default is gelu);
- ``scale_embedding=True``: E[tokens] * sqrt(d_model), §3.4 (default off);
- ``share_encoder_decoder_embeddings``, ``tie_word_embeddings``: one matrix (``model.shared``) for both
  embeddings and ``lm_head``, §3.4;
- ``dropout = config.dropout``: HF drops out where §5.4 does (embeddings + positions, each sub-layer output
  before the residual add); ``attention_dropout=0``, ``activation_dropout=0``: the paper has no dropout of the
  attention weights or inside the FFN;
- ``attn_implementation="eager"``: ``eager_attention_forward`` returns the attention weights.

Components: ``attention`` (``eager_attention_forward``), ``multi_head_attention`` (``MarianAttention``; keys
and values must be one tensor, its ``key_value_states``), ``encoder_layer``, ``decoder_layer`` (4-D additive
masks, 0 / ``finfo(dtype).min`` as ``masking_utils.eager_mask`` builds them), ``encoder``, ``decoder``, ``model``
(``MarianEncoder``, ``MarianDecoder``, ``MarianMTModel`` logits; (batch, seq) ``attention_mask`` 1 = keep from
``config.pad_id``, the decoder's passed explicitly since ``MarianDecoder.forward`` defaults it to all ones),
``positional_encoding`` (``MarianSinusoidalPositionalEmbedding``), ``embedding`` and ``output_logits`` (the
embedding modules and scale of ``MarianEncoder.forward`` and ``MarianMTModel.forward``).
Not offered: ``heads``, ``ffn``, ``layer_norm``, ``sublayer_connection`` are inline code of the layers'
``forward``, not callable parts; ``model(..., keep=...)`` raises Unsupported: the dropouts are
``nn.functional.dropout`` calls (``MarianEncoder.forward``, ``Marian{Encoder,Decoder}Layer.forward``), which
``toolkit.keep_masks_into`` cannot reach.
"""
from __future__ import annotations

from types import ModuleType
from typing import TYPE_CHECKING, Any, Mapping

import torch
import transformers
from torch import Tensor

from transformer_spec.harness.target import Target
from transformer_spec.implementations.adapters.toolkit import (additive, dims_of, require_fused_shape, run_canonical,
                                                               run_with)
from transformer_spec.implementations.protocol import Shapes, Unsupported
from transformer_spec.reference.config import TransformerConfig

if TYPE_CHECKING:
    from transformers.models.marian.modeling_marian import MarianMTModel

_FIXED = {"norm_position": "post", "final_norm": False, "layer_norm_form": "paper", "layer_norm_eps": 1e-5,
          "positional_encoding_kind": "sinusoidal", "pe_offset": 0, "embedding_scale_site": "embedding",
          "model_output": "logits"}
"""What Marian has, with no option to change it (``nn.LayerNorm(embed_dim)``: eps 1e-5)."""


_FLOAT32_PE = ("transformers builds the sinusoids through torch.FloatTensor (MarianSinusoidalPositionalEmbedding."
               "create_weight), so a float64 model has float32 positions: a precision finding at float64 only.")


def _hf() -> ModuleType:
    """``_hf_marian_modules``, imported on first use: the run's controller process loads the adapter only to read
    its declarations, and the Marian modeling code takes seconds to import."""
    from transformer_spec.implementations.adapters import _hf_marian_modules
    return _hf_marian_modules


class HFMarian:
    """Marian's attention, layers, stacks, model, sinusoids, embedding and output projection.

    Deviations (in ``transformers/models/marian/modeling_marian.py`` and ``transformers/masking_utils.py``):

    - ``pe_layout="halves"``: ``MarianSinusoidalPositionalEmbedding.create_weight`` puts all sines first, then
      all cosines ("features are not interleaved").
    - ``fully_masked="uniform"``: ``masking_utils.eager_mask`` masks with ``finfo(dtype).min``, not -inf, so
      ``eager_attention_forward`` gives a query with no key left uniform weights.

    Checked, not deviations: LayerNorm eps is ``nn.LayerNorm``'s default 1e-5 (``MarianEncoderLayer.__init__``),
    the suite's; ``final_logits_bias`` (``MarianMTModel.__init__``) is a zero buffer and gets zeros;
    ``padding_idx`` on the embeddings (``MarianModel.__init__``) changes no value, it only stops the lookup
    gradient into E[pad], which no real position depends on.  ``MarianAttention.__init__`` has
    ``head_dim = d_model // heads``: ``Shapes(heads_divide_d_model=True)``.  ``create_weight`` goes through
    ``torch.FloatTensor``: the sinusoids have float32 precision in a float64 model too (a precision finding).
    """

    name, version = "hf-marian", transformers.__version__
    offers = frozenset({"attention", "multi_head_attention", "encoder_layer", "decoder_layer", "encoder", "decoder",
                        "model", "positional_encoding", "embedding", "output_logits"})
    deviations: dict[str, Any] = {"pe_layout": "halves", "fully_masked": "uniform"}
    differentiable = True
    shapes = Shapes(heads_divide_d_model=True)
    notes = {"3.5/positional-encoding": _FLOAT32_PE,
             **dict.fromkeys(("3.1/encoder-stack", "3.1/decoder-stack", "3/model-forward", "3.4/output-softmax",
                              "5.4/dropout"), "the positions are float32 in a float64 model (3.5/positional-encoding).")}

    def __init__(self, target: Target) -> None:
        self.dtype, self.device = target.torch_dtype, target.torch_device

    def attention(self, q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None) -> tuple[Tensor, Tensor]:
        """Shapes: q (batch, heads, seq_q, d_k), k (batch, heads, seq_k, d_k), v (batch, heads, seq_k, d_v)
        -> out (batch, heads, seq_q, d_v), weights (batch, heads, seq_q, seq_k)."""
        out, weights = _hf().eager_attention(q, k, v, additive(mask, q.dtype, "min"))
        return out.transpose(1, 2), weights  # (batch, seq_q, heads, d_v) -> (batch, heads, seq_q, d_v)

    def multi_head_attention(self, query: Tensor, key: Tensor, value: Tensor, params: Mapping[str, Tensor],
                             mask: Tensor | None) -> tuple[Tensor, Tensor]:
        """Shapes: query (batch, seq_q, d_model), key = value (batch, seq_k, d_model)
        -> out (batch, seq_q, d_model), weights (batch, heads, seq_q, seq_k)."""
        heads, d_model, d_k = params["w_q"].shape
        require_fused_shape(heads, d_model, d_k, params["w_v"].shape[2], "MarianAttention")
        if key is not value and not torch.equal(key, value):
            raise Unsupported("MarianAttention takes one key_value_states for both keys and values")
        hf = _hf()
        return run_with(hf.attention(d_model, heads), hf.attention_state(params), {"heads": heads, "d_model": d_model},
                        query, key_value_states=key, attention_mask=additive(mask, query.dtype, "min"))

    def encoder_layer(self, x: Tensor, params: Mapping[str, Any], src_mask: Tensor | None,
                      c: TransformerConfig) -> Tensor:
        """Shapes: x (batch, seq_src, d_model) -> (batch, seq_src, d_model)."""
        return run_canonical(self._model(c).model.encoder.layers[0], _hf().ENCODER_LAYER_RULES, params, dims_of(c), x,
                             attention_mask=additive(src_mask, x.dtype, "min"))

    def decoder_layer(self, y: Tensor, memory: Tensor, params: Mapping[str, Any], src_mask: Tensor | None,
                      tgt_mask: Tensor | None, c: TransformerConfig) -> Tensor:
        """Shapes: y (batch, seq_tgt, d_model), memory (batch, seq_src, d_model) -> (batch, seq_tgt, d_model)."""
        return run_canonical(self._model(c).model.decoder.layers[0], _hf().DECODER_LAYER_RULES, params, dims_of(c), y,
                             attention_mask=additive(tgt_mask, y.dtype, "min"), encoder_hidden_states=memory,
                             encoder_attention_mask=additive(src_mask, y.dtype, "min"), use_cache=False)

    def encoder(self, src: Tensor, params: Mapping[str, Any], c: TransformerConfig) -> Tensor:
        """Shapes: src (batch, seq_src) -> (batch, seq_src, d_model)."""
        hf = _hf()
        rules = hf.with_embedding(hf.ENCODER, "embed_tokens.weight", {"embed_positions.weight": self._sinusoids(c)})
        return run_canonical(self._model(c).model.encoder, rules, params, dims_of(c), input_ids=src,
                             attention_mask=src != c.pad_id).last_hidden_state

    def decoder(self, tgt: Tensor, memory: Tensor, src: Tensor, params: Mapping[str, Any],
                c: TransformerConfig) -> Tensor:
        """Shapes: tgt (batch, seq_tgt), memory (batch, seq_src, d_model), src (batch, seq_src)
        -> (batch, seq_tgt, d_model)."""
        hf = _hf()
        rules = hf.with_embedding(hf.DECODER, "embed_tokens.weight", {"embed_positions.weight": self._sinusoids(c)})
        return run_canonical(self._model(c).model.decoder, rules, params, dims_of(c), input_ids=tgt,
                             attention_mask=tgt != c.pad_id, encoder_hidden_states=memory,
                             encoder_attention_mask=src != c.pad_id, use_cache=False).last_hidden_state

    def model(self, src: Tensor, tgt: Tensor, params: Mapping[str, Any], c: TransformerConfig,
              keep: Mapping[str, Tensor] | None = None) -> Tensor:
        """Shapes: src (batch, seq_src), tgt (batch, seq_tgt) -> logits (batch, seq_tgt, vocab)."""
        if keep is not None:
            raise Unsupported("Marian drops out with nn.functional.dropout calls, which cannot take given keep-masks")
        hf = _hf()
        tables = {f"model.{stack}.embed_positions.weight": self._sinusoids(c) for stack in ("encoder", "decoder")}
        rules = hf.with_embedding(hf.MODEL, "model.shared.weight", tables)  # tied: both embed_tokens and lm_head
        return run_canonical(self._model(c), rules, params, dims_of(c), input_ids=src, attention_mask=src != c.pad_id,
                             decoder_input_ids=tgt, decoder_attention_mask=tgt != c.pad_id, use_cache=False).logits

    def positional_encoding(self, seq_len: int, d_model: int) -> Tensor:
        """The library's table run as its own module. Shapes: -> (seq_len, d_model)."""
        return _hf().positions(seq_len, d_model, self.dtype, self.device)(torch.Size((1, seq_len)))

    def embedding(self, tokens: Tensor, weight: Tensor) -> Tensor:
        """``embed_tokens(input_ids) * embed_scale`` as in MarianEncoder.forward.
        Shapes: tokens (batch, seq), weight (vocab, d_model) -> (batch, seq, d_model)."""
        encoder = self._model_of(weight).model.encoder
        return run_with(encoder.embed_tokens, {"weight": weight}, _dims(weight), tokens) * encoder.embed_scale

    def output_logits(self, x: Tensor, weight: Tensor) -> Tensor:
        """``lm_head(x) + final_logits_bias`` as in MarianMTModel.forward.
        Shapes: x (batch, seq, d_model), weight (vocab, d_model) -> (batch, seq, vocab)."""
        net = self._model_of(weight)
        return run_with(net.lm_head, {"weight": weight}, _dims(weight), x) + net.final_logits_bias

    def _model(self, c: TransformerConfig) -> MarianMTModel:
        """The cached MarianMTModel of ``c``'s sizes; Unsupported for what Marian cannot express."""
        require_fused_shape(c.heads, c.d_model, c.d_k, c.d_v, "MarianAttention")
        if other := {field: getattr(c, field) for field, fixed in _FIXED.items() if getattr(c, field) != fixed}:
            raise Unsupported(f"Marian has {_FIXED} with no option to change it; this configuration asks for {other}")
        return _hf().mt_model(c.vocab, c.d_model, c.d_ff, c.heads, c.layers, c.pad_id, c.dropout, self.dtype,
                              self.device)

    def _model_of(self, weight: Tensor) -> MarianMTModel:
        """A one-layer, one-head MarianMTModel whose embedding modules fit a (vocab, d_model) matrix."""
        return _hf().mt_model(*weight.shape, 1, 1, 1, 0, 0.0, self.dtype, self.device)

    def _sinusoids(self, c: TransformerConfig) -> Tensor:
        """The library's sinusoid table of the stacks, on the target. Shapes: (MAX_POSITIONS, d_model)."""
        hf = _hf()
        return hf.positions(hf.MAX_POSITIONS, c.d_model, self.dtype, self.device).weight


def _dims(weight: Tensor) -> dict[str, int]:
    """The named dimensions of an embedding matrix (vocab, d_model), for ParameterMismatch messages."""
    return {"vocab": weight.shape[0], "d_model": weight.shape[1]}
