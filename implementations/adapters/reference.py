"""The NumPy reference itself behind the protocol, so the harness can test itself.

Every method converts its tensors to float64 NumPy arrays and calls the
reference function of the same equation.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
import torch

from transformer_spec.reference import attention, decoding, embeddings, feed_forward, layers, optimizer, residual, schedule
from transformer_spec.reference.config import TransformerConfig
from transformer_spec.reference.params import map_tree
from transformer_spec.reference.positional_encoding import sinusoidal_encoding
from transformer_spec.reference.regularization import label_smoothed_cross_entropy
from transformer_spec.harness.target import Target


def _np(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu()
        return (value.double() if value.is_floating_point() else value).numpy()
    return value


class Reference:
    """``--impl reference``: the oracle, offered for every component but the training trajectory."""

    name = "reference"
    version = "transformer-spec reference"
    offers = frozenset({"attention", "heads", "multi_head_attention", "ffn", "embedding", "output_logits",
                        "positional_encoding", "layer_norm", "sublayer_connection", "encoder_layer", "decoder_layer",
                        "encoder", "decoder", "model", "loss", "learning_rate", "adam_step", "greedy_decode",
                        "beam_search"})
    deviations: dict[str, Any] = {}

    def __init__(self, target: Target) -> None:
        self.target = target

    def attention(self, q: Any, k: Any, v: Any, mask: Any) -> tuple[np.ndarray, np.ndarray]:
        return attention.scaled_dot_product_attention(_np(q), _np(k), _np(v), _np(mask))

    def split_heads(self, x: Any, heads: int) -> np.ndarray:
        return attention.split_heads(_np(x), heads)

    def concat_heads(self, x: Any) -> np.ndarray:
        return attention.concat_heads(_np(x))

    def multi_head_attention(self, query: Any, key: Any, value: Any, params: Any, mask: Any) -> tuple[np.ndarray, np.ndarray]:
        return attention.multi_head_attention(_np(query), _np(key), _np(value), map_tree(_np, params), _np(mask))

    def ffn(self, x: Any, params: Any) -> np.ndarray:
        return feed_forward.position_wise_ffn(_np(x), map_tree(_np, params))

    def embedding(self, tokens: Any, weight: Any) -> np.ndarray:
        return embeddings.embed(_np(tokens), _np(weight))

    def output_logits(self, x: Any, weight: Any) -> np.ndarray:
        return embeddings.output_logits(_np(x), _np(weight))

    def positional_encoding(self, seq_len: int, d_model: int) -> np.ndarray:
        return sinusoidal_encoding(seq_len, d_model)

    def layer_norm(self, x: Any, scale: Any, bias: Any, eps: float) -> np.ndarray:
        return residual.layer_norm(_np(x), _np(scale), _np(bias), eps)

    def sublayer_connection(self, x: Any, sublayer: Callable[[torch.Tensor], Any], norm: Any, eps: float) -> np.ndarray:
        as_tensor = lambda a: torch.as_tensor(a, dtype=self.target.torch_dtype, device=self.target.device)
        return residual.sublayer_connection(_np(x), lambda a: _np(sublayer(as_tensor(a))), map_tree(_np, norm), eps)

    def encoder_layer(self, x: Any, params: Any, src_mask: Any, config: TransformerConfig) -> np.ndarray:
        return layers.encoder_layer(_np(x), map_tree(_np, params), _np(src_mask), config)

    def decoder_layer(self, y: Any, memory: Any, params: Any, src_mask: Any, tgt_mask: Any,
                      config: TransformerConfig) -> np.ndarray:
        return layers.decoder_layer(_np(y), _np(memory), map_tree(_np, params), _np(src_mask), _np(tgt_mask), config)

    def encoder(self, src: Any, params: Any, config: TransformerConfig) -> np.ndarray:
        return layers.encode(_np(src), map_tree(_np, params), config)

    def decoder(self, tgt: Any, memory: Any, src: Any, params: Any, config: TransformerConfig) -> np.ndarray:
        return layers.decode(_np(tgt), _np(memory), _np(src), map_tree(_np, params), config)

    def model(self, src: Any, tgt: Any, params: Any, config: TransformerConfig, keep: Any = None) -> np.ndarray:
        keep = None if keep is None else {k: _np(v) for k, v in keep.items()}
        return layers.transformer_forward(_np(src), _np(tgt), map_tree(_np, params), config, keep)

    def loss(self, logits: Any, targets: Any, epsilon: float, pad_id: int) -> float:
        return label_smoothed_cross_entropy(_np(logits), _np(targets), epsilon, pad_id)

    def learning_rates(self, steps: int, d_model: int, warmup_steps: int) -> list[float]:
        return [schedule.learning_rate(s, d_model, warmup_steps) for s in range(1, steps + 1)]

    def adam_step(self, param: Any, grad: Any, m: Any, v: Any, step: int, lr: float) -> tuple[np.ndarray, ...]:
        return optimizer.adam_update(_np(param), _np(grad), _np(m), _np(v), step, lr)

    def greedy_decode(self, src: Any, params: Any, config: TransformerConfig, bos_id: int, eos_id: int,
                      max_len: int) -> list[tuple[int, ...]]:
        return decoding.greedy_decode(_np(src), map_tree(_np, params), config, bos_id, eos_id, max_len)

    def beam_search(self, src: Any, params: Any, config: TransformerConfig, bos_id: int, eos_id: int, max_len: int,
                    beam: int, alpha: float) -> list[tuple[tuple[int, ...], float]]:
        tree = map_tree(_np, params)
        return [decoding.beam_search(row, tree, config, bos_id, eos_id, max_len, beam, alpha) for row in _np(src)]
