"""``--impl transformer-spec``: the project's own PyTorch model (implementations/pytorch) behind the protocol.

Components run through the real modules with ``torch.func.functional_call``
(``toolkit.run_with``): the canonical tree is converted to the modules'
parameter names with differentiable operations, so gradients flow back to the
parameters the suite passes in, and every module parameter must receive a
weight of its own shape (a scalar LayerNorm gain is an error, not a broadcast).
Decoding and training load the tree into a cached module.
"""
from __future__ import annotations

from typing import Any, Callable

import torch
from torch import Tensor, nn

from transformer_spec.implementations.adapters.toolkit import dims_of, run_with
from transformer_spec.implementations.protocol import Unsupported
from transformer_spec.implementations.pytorch import (Transformer, beam_search, export_canonical, greedy_decode, label_smoothed_loss,
                                     load_canonical, make_optimizer, noam_scheduler, train_step)
from transformer_spec.implementations.pytorch import functional as fn
from transformer_spec.implementations.pytorch.canonical import to_module_names
from transformer_spec.implementations.pytorch.model import DecoderLayer, EncoderLayer
from transformer_spec.implementations.pytorch.modules import LayerNorm, MultiHeadAttention
from transformer_spec.reference.config import TransformerConfig
from transformer_spec.reference.params import flatten
from transformer_spec.harness.target import Target


def _module_params(params: Any, prefix: str = "") -> dict[str, Tensor]:
    """Canonical (sub)tree -> the module's parameter names (under ``prefix``), by differentiable re-arrangement."""
    flat = {f"root.{k}": v for k, v in flatten(params).items()}
    return {prefix + k[len("root."):]: v for k, v in to_module_names(flat).items()}


class _Method(nn.Module):
    """Calls one method of a module, so ``functional_call`` can reach methods other than ``forward``."""

    def __init__(self, model: nn.Module, method: str) -> None:
        super().__init__()
        self.model, self.method = model, method

    def forward(self, *args: Any) -> Any:
        return getattr(self.model, self.method)(*args)


class TransformerSpec:
    """The default implementation under test."""

    name = "transformer-spec"
    version = "0.1.0"
    differentiable = True
    offers = frozenset({"attention", "heads", "multi_head_attention", "ffn", "embedding", "output_logits",
                        "positional_encoding", "layer_norm", "sublayer_connection", "encoder_layer", "decoder_layer",
                        "encoder", "decoder", "model", "loss", "learning_rate", "adam_step", "train_steps",
                        "greedy_decode", "beam_search", "translation"})
    deviations: dict[str, Any] = {}

    def __init__(self, target: Target) -> None:
        self.target = target
        self._modules: dict[tuple[str, TransformerConfig], nn.Module] = {}

    def _module(self, kind: Callable[..., nn.Module], config: TransformerConfig, *args: Any) -> nn.Module:
        """One cached module per kind and configuration, in evaluation mode; its own weights are never used."""
        key = (kind.__name__, config)
        if key not in self._modules:
            factory = {"device": self.target.device, "dtype": self.target.torch_dtype}
            built = kind(config, **factory) if kind is Transformer else kind(config, *args, factory)
            self._modules[key] = built.eval()
        return self._modules[key]

    # §3.2 attention ---------------------------------------------------------------
    def attention(self, q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None) -> tuple[Tensor, Tensor | None]:
        return fn.scaled_dot_product_attention(q, k, v, mask, need_weights=True)

    def split_heads(self, x: Tensor, heads: int) -> Tensor:
        return fn.split_heads(x, heads)

    def concat_heads(self, x: Tensor) -> Tensor:
        return fn.concat_heads(x)

    def multi_head_attention(self, query: Tensor, key: Tensor, value: Tensor, params: Any,
                             mask: Tensor | None) -> tuple[Tensor, Tensor | None]:
        if key is not value and not torch.equal(key, value):
            raise Unsupported("MultiHeadAttention takes keys and values from one source (as every use in §3.2.3 does)")
        heads, d_model, d_k = params["w_q"].shape
        config = TransformerConfig(d_model=d_model, heads=heads, d_k=d_k, d_v=params["w_v"].shape[2])
        mha = self._module(MultiHeadAttention, config)
        names = {k[len("self_attn."):]: v for k, v in _module_params({"self_attn": params}).items()}
        return run_with(mha, names, dims_of(config), query, key, mask, True)

    # §3.3, §3.4, §3.5, §3.1 -----------------------------------------------------------
    def ffn(self, x: Tensor, params: Any) -> Tensor:
        return fn.position_wise_ffn(x, params["w_1"].T, params["b_1"], params["w_2"].T, params["b_2"])

    def embedding(self, tokens: Tensor, weight: Tensor) -> Tensor:
        return fn.embed(tokens, weight)

    def output_logits(self, x: Tensor, weight: Tensor) -> Tensor:
        return fn.output_logits(x, weight)

    def positional_encoding(self, seq_len: int, d_model: int) -> Tensor:
        return fn.sinusoidal_encoding(seq_len, d_model, self.target.torch_device, self.target.torch_dtype)

    def layer_norm(self, x: Tensor, scale: Tensor, bias: Tensor, eps: float) -> Tensor:
        config = TransformerConfig(d_model=x.shape[-1], layer_norm_eps=eps)
        return run_with(self._module(LayerNorm, config), {"scale": scale, "bias": bias}, dims_of(config), x)

    def sublayer_connection(self, x: Tensor, sublayer: Callable[[Tensor], Tensor], norm: Any, eps: float) -> Tensor:
        return fn.sublayer_connection(x, sublayer, norm["scale"], norm["bias"], eps)

    def encoder_layer(self, x: Tensor, params: Any, src_mask: Tensor | None, config: TransformerConfig) -> Tensor:
        layer = self._module(EncoderLayer, config, "encoder.layers.0")
        return run_with(layer, _module_params(params), dims_of(config), x, src_mask)

    def decoder_layer(self, y: Tensor, memory: Tensor, params: Any, src_mask: Tensor | None, tgt_mask: Tensor | None,
                      config: TransformerConfig) -> Tensor:
        layer = self._module(DecoderLayer, config, "decoder.layers.0")
        return run_with(layer, _module_params(params), dims_of(config), y, memory, src_mask, tgt_mask)

    def encoder(self, src: Tensor, params: Any, config: TransformerConfig) -> Tensor:
        return self._call(config, params, "encode", src)

    def decoder(self, tgt: Tensor, memory: Tensor, src: Tensor, params: Any, config: TransformerConfig) -> Tensor:
        return self._call(config, params, "decode", tgt, memory, src)

    def model(self, src: Tensor, tgt: Tensor, params: Any, config: TransformerConfig, keep: Any = None) -> Tensor:
        return self._call(config, params, "forward", src, tgt, keep)

    def _call(self, config: TransformerConfig, params: Any, method: str, *args: Any) -> Tensor:
        """``Transformer.<method>(*args)`` computed with ``params``."""
        module = _Method(self._module(Transformer, config), method)
        return run_with(module, _module_params(params, "model."), dims_of(config), *args)

    # §5.3, §5.4 training -----------------------------------------------------------------
    def loss(self, logits: Tensor, targets: Tensor, epsilon: float, pad_id: int) -> Tensor:
        return label_smoothed_loss(logits, targets, epsilon, pad_id)

    def learning_rates(self, steps: int, d_model: int, warmup_steps: int) -> list[float]:
        optimizer = make_optimizer([nn.Parameter(torch.zeros(1))])
        scheduler, rates = noam_scheduler(optimizer, d_model, warmup_steps), []
        for _ in range(steps):
            rates.append(optimizer.param_groups[0]["lr"])
            optimizer.step()
            scheduler.step()
        return rates

    def adam_step(self, param: Tensor, grad: Tensor, m: Tensor, v: Tensor, step: int, lr: float) -> tuple[Tensor, ...]:
        p = nn.Parameter(param.clone())
        optimizer = make_optimizer([p], lr=lr)
        optimizer.state[p] = {"step": torch.tensor(float(step - 1)), "exp_avg": m.clone(), "exp_avg_sq": v.clone()}
        p.grad = grad.clone()
        optimizer.step()
        state = optimizer.state[p]
        return p.detach(), state["exp_avg"], state["exp_avg_sq"]

    def train_steps(self, params: Any, config: TransformerConfig, batches: list[tuple[Tensor, Tensor, Tensor]]) -> Any:
        model = load_canonical(Transformer(config, self.target.device, self.target.torch_dtype), params).train()
        optimizer = make_optimizer(model.parameters())
        scheduler = noam_scheduler(optimizer, config.d_model, config.warmup_steps)
        for src, tgt_in, tgt_out in batches:
            train_step(model, optimizer, scheduler, src, tgt_in, tgt_out, config)
        return export_canonical(model)

    # §6.1 decoding ---------------------------------------------------------------------
    def greedy_decode(self, src: Tensor, params: Any, config: TransformerConfig, bos_id: int, eos_id: int,
                      max_len: int) -> list[tuple[int, ...]]:
        return greedy_decode(self._loaded(config, params), src, bos_id, eos_id, max_len)

    def beam_search(self, src: Tensor, params: Any, config: TransformerConfig, bos_id: int, eos_id: int, max_len: int,
                    beam: int, alpha: float) -> list[tuple[tuple[int, ...], float]]:
        return beam_search(self._loaded(config, params), src, bos_id, eos_id, max_len, beam, alpha)

    # §5-§6 end to end ------------------------------------------------------------------
    def translation_model(self, config: TransformerConfig) -> Transformer:
        return Transformer(config, self.target.device, torch.float32)

    def _loaded(self, config: TransformerConfig, params: Any) -> Transformer:
        return load_canonical(self._module(Transformer, config), params)  # type: ignore[return-value]
