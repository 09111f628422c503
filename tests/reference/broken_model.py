"""Broken versions of the layers, training recipe, decoding, parameter tree and argument checks (§3.1, §5, §6.1)."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from transformer_spec.reference import decoding as D, layers as L, params as P, regularization as R
from transformer_spec.reference.attention import multi_head_attention
from transformer_spec.reference.config import TransformerConfig
from transformer_spec.reference.embeddings import output_logits
from transformer_spec.reference.feed_forward import position_wise_ffn
from transformer_spec.reference.masks import padding_mask


def encoder_layer_ffn_first(x, params, src_mask, config, keep=None, site="encoder.layers.0"):
    ffn_first = {"self_attn": params["self_attn"], "norm1": params["norm2"], "ffn": params["ffn"], "norm2": params["norm1"]}
    y = L._residual(x, lambda h: position_wise_ffn(h, params["ffn"]), ffn_first["norm1"], config, keep, f"{site}.ffn")
    attend = lambda h: multi_head_attention(h, h, h, params["self_attn"], src_mask, config.fully_masked)[0]
    return L._residual(y, attend, ffn_first["norm2"], config, keep, f"{site}.self_attn")


def decoder_layer_cross_on_itself(y, memory, params, src_mask, tgt_mask, config, keep=None, site="decoder.layers.0"):
    """Encoder-decoder attention whose keys and values come from the decoder (memory ignored)."""
    return L.decoder_layer(y, y, params, None, tgt_mask, config, keep, site)


def encode_without_padding_mask(src, params, config, keep=None):
    x = L._embed_input(src, params, config, keep, "encoder")
    for i, layer in enumerate(params["encoder"]["layers"]):
        x = L.encoder_layer(x, layer, None, config, keep, f"encoder.layers.{i}")
    return L._final_norm(x, params["encoder"], config)


def encode_last_layer_skipped(src, params, config, keep=None):
    short = {**params, "encoder": {**params["encoder"], "layers": params["encoder"]["layers"][:-1]}}
    return L.encode(src, short, config, keep)


def decode_not_causal(tgt, memory, src, params, config, keep=None):
    y = L._embed_input(tgt, params, config, keep, "decoder")
    src_mask, tgt_mask = padding_mask(src, config.pad_id), padding_mask(tgt, config.pad_id)
    for i, layer in enumerate(params["decoder"]["layers"]):
        y = L.decoder_layer(y, memory, layer, src_mask, tgt_mask, config, keep, f"decoder.layers.{i}")
    return L._final_norm(y, params["decoder"], config)


def forward_probabilities(src, tgt, params, config, keep=None):
    """Returns softmax probabilities where logits are due."""
    from transformer_spec.reference.attention import softmax
    return softmax(L.transformer_forward(src, tgt, params, config, keep))


def forward_untied_scale(src, tgt, params, config, keep=None):
    return L.transformer_forward(src, tgt, params, config, keep) / math.sqrt(config.d_model)


def log_probs_first_position(prefixes, memory, src, params, config):
    logits = output_logits(L.decode(prefixes, memory, src, params, config), params["embedding"])[:, 0]
    return logits - np.log(np.exp(logits).sum(-1, keepdims=True))


def greedy_argmin(src, params, config, bos_id, eos_id, max_len):
    out = []
    for row in np.asarray(src):
        row, seq = row[None], [bos_id]
        memory = L.encode(row, params, config)
        while len(seq) <= max_len and (len(seq) == 1 or seq[-1] != eos_id):
            seq.append(int(np.argmin(D.next_token_log_probs(np.array([seq]), memory, row, params, config)[0])))
        out.append(tuple(seq[1:]))
    return out


def greedy_ignores_eos(src, params, config, bos_id, eos_id, max_len):
    return D.greedy_decode(src, params, config, bos_id, -1, max_len)


def beam_no_length_penalty(src, params, config, bos_id, eos_id, max_len, beam=4, alpha=0.6):
    return D.beam_search(src, params, config, bos_id, eos_id, max_len, beam, 0.0)


def beam_width_one(src, params, config, bos_id, eos_id, max_len, beam=4, alpha=0.6):
    return D.beam_search(src, params, config, bos_id, eos_id, max_len, 1, alpha)


def length_penalty_over_five(length: int, alpha: float) -> float:
    return ((5.0 + length) / 5.0) ** alpha


def dropout_no_rescale(x, keep, p_drop):
    return np.asarray(x, dtype=np.float64) if keep is None else np.asarray(x) * keep


def dropout_sites_no_cross(config, batch, seq_src, seq_tgt):
    sites = R.dropout_sites(config, batch, seq_src, seq_tgt)
    return {k: v for k, v in sites.items() if not k.endswith("cross_attn")}


def smoothing_pad_class_flipped(targets, vocab, epsilon, pad_id=None, convention="others", pad_class="included"):
    flipped = "excluded" if pad_class == "included" else "included"
    return R.smoothed_targets(targets, vocab, epsilon, pad_id, convention, flipped)


def smoothing_swapped_conventions(targets, vocab, epsilon, pad_id=None, convention="others", pad_class="included"):
    swapped = "uniform" if convention == "others" else "others"
    return R.smoothed_targets(targets, vocab, epsilon, pad_id, swapped, pad_class)


def loss_counts_pad_positions(logits, targets, epsilon, pad_id=None, convention="others", pad_class="included"):
    per = [R.label_smoothed_cross_entropy(logits[b:b + 1, t:t + 1], targets[b:b + 1, t:t + 1], epsilon, None, convention,
                                          pad_class)
           if targets[b, t] != pad_id else 0.0 for b in range(targets.shape[0]) for t in range(targets.shape[1])]
    return float(np.mean(per))


def loss_without_smoothing(logits, targets, epsilon, pad_id=None, convention="others", pad_class="included"):
    return R.label_smoothed_cross_entropy(logits, targets, 0.0, pad_id, convention, pad_class)


def lr_off_by_one(step, d_model, warmup_steps):
    from transformer_spec.reference.schedule import learning_rate
    return learning_rate(step + 1, d_model, warmup_steps)


def lr_without_d_model(step, d_model, warmup_steps):
    return min(step ** -0.5, step * warmup_steps ** -1.5)


def adam_no_bias_correction(param, grad, m, v, step, lr, beta1=0.9, beta2=0.98, eps=1e-9):
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad ** 2
    return param - lr * m / (np.sqrt(v) + eps), m, v


def adam_betas_of_pytorch(param, grad, m, v, step, lr, beta1=0.9, beta2=0.98, eps=1e-9):
    from transformer_spec.reference.optimizer import adam_update
    return adam_update(param, grad, m, v, step, lr, 0.9, 0.999, 1e-8)


def param_shapes_shared_positions(config: TransformerConfig) -> dict:
    """One learned position table shared by both stacks instead of one each."""
    shapes = {k: s for k, s in P.param_shapes(config).items() if not k.endswith(".positions")}
    return shapes | ({"positions": (config.max_positions, config.d_model)}
                     if config.positional_encoding_kind == "learned" else {})


def param_shapes_w_o_transposed(config: TransformerConfig) -> dict:
    return {k: (s[::-1] if k.endswith("w_o") else s) for k, s in P.param_shapes(config).items()}


def init_params_unseeded(config: TransformerConfig, seed: int = 0) -> dict:
    return P.init_params(config, 0)


def init_params_keeping_biases(config: TransformerConfig, seed: int = 0) -> dict:
    return P.init_params(config.replace(projection_bias=True), seed)


def flatten_slash(tree, prefix=""):
    return {k.replace(".", "/"): v for k, v in P.flatten(tree, prefix).items()}


def unflatten_no_lists(flat):
    root: dict[str, Any] = {}
    for name, leaf in flat.items():
        node = root
        for part in name.split(".")[:-1]:
            node = node.setdefault(part, {})
        node[name.split(".")[-1]] = leaf
    return root


def map_tree_keys_only(fn, tree):
    return P.unflatten(dict(P.flatten(tree)))


def clause_first(clause_id: str):
    from transformer_spec.reference.clauses import CLAUSES
    return CLAUSES[0]


def never_raises(*args: Any, **kwargs: Any) -> None:
    return None


def require_tokens_upper_inclusive(name, tokens, vocab):
    from transformer_spec.reference.checks import require_tokens
    return require_tokens(name, tokens, vocab + 1)


BROKEN_MODEL = {
    "layers.encoder_layer": [("FFN before self-attention", encoder_layer_ffn_first)],
    "layers.decoder_layer": [("cross attention on the decoder itself", decoder_layer_cross_on_itself)],
    "layers.encode": [("source padding not masked", encode_without_padding_mask),
                      ("last layer skipped", encode_last_layer_skipped)],
    "layers.decode": [("decoder self-attention not causal", decode_not_causal)],
    "layers.transformer_forward": [("probabilities instead of logits", forward_probabilities),
                                   ("logits divided by sqrt(d_model)", forward_untied_scale)],
    "decoding.next_token_log_probs": [("first position instead of last", log_probs_first_position)],
    "decoding.greedy_decode": [("argmin", greedy_argmin), ("never stops at EOS", greedy_ignores_eos)],
    "decoding.beam_search": [("no length penalty", beam_no_length_penalty), ("beam of one", beam_width_one)],
    "decoding.length_penalty": [("(5 + |Y|) / 5", length_penalty_over_five)],
    "regularization.dropout": [("no 1 / (1 - p)", dropout_no_rescale)],
    "regularization.dropout_sites": [("cross-attention sites missing", dropout_sites_no_cross)],
    "regularization.smoothed_targets": [("padding class rule flipped", smoothing_pad_class_flipped),
                                        ("conventions swapped", smoothing_swapped_conventions)],
    "regularization.label_smoothed_cross_entropy": [("pad positions counted in the mean", loss_counts_pad_positions),
                                                    ("smoothing ignored", loss_without_smoothing)],
    "schedule.learning_rate": [("off by one step", lr_off_by_one), ("d_model^-0.5 forgotten", lr_without_d_model)],
    "optimizer.adam_update": [("no bias correction", adam_no_bias_correction),
                              ("PyTorch's default betas", adam_betas_of_pytorch)],
    "params.param_shapes": [("w_o transposed", param_shapes_w_o_transposed),
                            ("one learned position table for both stacks", param_shapes_shared_positions)],
    "params.init_params": [("seed ignored", init_params_unseeded),
                           ("projection_bias=False ignored", init_params_keeping_biases)],
    "params.flatten": [("'/' separator", flatten_slash)],
    "params.unflatten": [("list indices kept as dict keys", unflatten_no_lists)],
    "params.map_tree": [("fn never applied", map_tree_keys_only)],
    "clauses.clause": [("always the first clause", clause_first)],
    "checks.require_ndim": [("never raises", never_raises)],
    "checks.require_equal": [("never raises", never_raises)],
    "checks.require_broadcastable": [("never raises", never_raises)],
    "checks.require_tokens": [("never raises", never_raises), ("id = vocab allowed", require_tokens_upper_inclusive)],
}
