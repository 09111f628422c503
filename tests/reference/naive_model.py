"""The naive second form, continued: masks, embeddings, layers, stacks and decoding, §3 and §6.1.

Built only from :mod:`naive` (scalar loops) and plain Python control flow, so
that a mistake in the vectorised reference cannot be repeated here by reuse.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Mapping

import numpy as np

import naive

Array = np.ndarray


def causal_mask(seq_len: int) -> Array:
    """§3.2.3: query i may attend to key j exactly when j <= i; shape (1, 1, seq, seq)."""
    out = np.zeros((1, 1, seq_len, seq_len), dtype=bool)
    for i in range(seq_len):
        for j in range(seq_len):
            out[0, 0, i, j] = j <= i
    return out


def padding_mask(tokens: Array, pad_id: int) -> Array:
    """Key j of example b may be attended to when it is not padding; shape (batch, 1, 1, seq_k)."""
    batch, seq = tokens.shape
    out = np.zeros((batch, 1, 1, seq), dtype=bool)
    for b in range(batch):
        for j in range(seq):
            out[b, 0, 0, j] = int(tokens[b, j]) != pad_id
    return out


def decoder_self_mask(tokens: Array, pad_id: int) -> Array:
    """Causal and key-padding together: (batch, 1, seq, seq), entry by entry."""
    batch, seq = tokens.shape
    out = np.zeros((batch, 1, seq, seq), dtype=bool)
    for b in range(batch):
        for i in range(seq):
            for j in range(seq):
                out[b, 0, i, j] = j <= i and int(tokens[b, j]) != pad_id
    return out


def embed(tokens: Array, embedding: Array, scale_site: str = "embedding") -> Array:
    """§3.4: the token's row of E, every entry multiplied by sqrt(d_model) (by 1 when the logits are scaled)."""
    vocab, d_model = embedding.shape
    factor = math.sqrt(d_model) if scale_site == "embedding" else 1.0
    out = np.zeros(tokens.shape + (d_model,))
    for index in np.ndindex(*tokens.shape):
        for c in range(d_model):
            out[index + (c,)] = float(embedding[int(tokens[index]), c]) * factor
    return out


def output_logits(x: Array, embedding: Array, scale_site: str = "embedding") -> Array:
    """§3.4: logit of token t is the dot product of x with E's row t (tied weights, no bias), over sqrt(d_model)
    when the logits carry the scale."""
    vocab, d_model = embedding.shape
    divisor = math.sqrt(d_model) if scale_site == "logits" else 1.0
    out = np.zeros(x.shape[:-1] + (vocab,))
    for index in np.ndindex(*x.shape[:-1]):
        for t in range(vocab):
            out[index + (t,)] = sum(float(x[index + (c,)]) * float(embedding[t, c]) for c in range(d_model)) / divisor
    return out


def output_probabilities(x: Array, embedding: Array) -> Array:
    """§3.4: softmax over the vocabulary of :func:`output_logits`."""
    return naive.softmax(output_logits(x, embedding))


def _sublayer(x: Array, fn: Callable[[Array], Array], norm: Mapping[str, Array], config: Any,
              keep: Array | None) -> Array:
    """§3.1 LayerNorm(x + Dropout(Sublayer(x))), or the declared pre-norm variant."""
    ln = lambda h: naive.layer_norm(h, norm["scale"], norm["bias"], config.layer_norm_eps, config.layer_norm_form)
    if config.norm_position == "pre":
        return x + naive.dropout(fn(ln(x)), keep, config.dropout)
    return ln(x + naive.dropout(fn(x), keep, config.dropout))


def _site(keep: Mapping[str, Array] | None, name: str) -> Array | None:
    return None if keep is None else keep.get(name)


def encoder_layer(x: Array, params: Mapping[str, Any], src_mask: Array | None, config: Any,
                  keep: Mapping[str, Array] | None = None, site: str = "encoder.layers.0") -> Array:
    """§3.1: self-attention sub-layer, then feed-forward sub-layer."""
    attend = lambda h: naive.multi_head_attention(h, h, h, params["self_attn"], src_mask, config.fully_masked)[0]
    x = _sublayer(x, attend, params["norm1"], config, _site(keep, f"{site}.self_attn"))
    ffn = lambda h: naive.feed_forward(h, params["ffn"])
    return _sublayer(x, ffn, params["norm2"], config, _site(keep, f"{site}.ffn"))


def decoder_layer(y: Array, memory: Array, params: Mapping[str, Any], src_mask: Array | None,
                  tgt_mask: Array | None, config: Any, keep: Mapping[str, Array] | None = None,
                  site: str = "decoder.layers.0") -> Array:
    """§3.1: masked self-attention, attention over the encoder output, then feed-forward."""
    fm = config.fully_masked
    self_attend = lambda h: naive.multi_head_attention(h, h, h, params["self_attn"], tgt_mask, fm)[0]
    cross = lambda h: naive.multi_head_attention(h, memory, memory, params["cross_attn"], src_mask, fm)[0]
    y = _sublayer(y, self_attend, params["norm1"], config, _site(keep, f"{site}.self_attn"))
    y = _sublayer(y, cross, params["norm2"], config, _site(keep, f"{site}.cross_attn"))
    ffn = lambda h: naive.feed_forward(h, params["ffn"])
    return _sublayer(y, ffn, params["norm3"], config, _site(keep, f"{site}.ffn"))


def _inputs(tokens: Array, params: Mapping[str, Any], config: Any, keep: Any, stack: str) -> Array:
    """§3.4, §3.5, §5.4: Dropout(embedding * sqrt(d_model) + PE)."""
    x = embed(tokens, params["embedding"], config.embedding_scale_site)
    x = x + _positions(tokens.shape[1], params[stack], config)
    return naive.dropout(x, _site(keep, f"{stack}.embedding"), config.dropout)


def _positions(seq: int, stack_params: Mapping[str, Any], config: Any) -> Array:
    """§3.5's sinusoids, or, learned, row pe_offset + pos of the stack's table for every position pos."""
    if config.positional_encoding_kind == "sinusoidal":
        return naive.positional_encoding(seq, config.d_model, config.pe_layout, config.pe_offset)[None]
    out = np.zeros((1, seq, config.d_model))
    for pos in range(seq):
        for c in range(config.d_model):
            out[0, pos, c] = float(stack_params["positions"][config.pe_offset + pos, c])
    return out


def _final(x: Array, stack_params: Mapping[str, Any], config: Any) -> Array:
    if not config.final_norm:
        return x
    norm = stack_params["norm"]
    return naive.layer_norm(x, norm["scale"], norm["bias"], config.layer_norm_eps, config.layer_norm_form)


def encode(src: Array, params: Mapping[str, Any], config: Any, keep: Any = None) -> Array:
    """§3.1: N encoder layers over the embedded source, source padding masked as keys."""
    x = _inputs(src, params, config, keep, "encoder")
    for i, layer in enumerate(params["encoder"]["layers"]):
        x = encoder_layer(x, layer, padding_mask(src, config.pad_id), config, keep, f"encoder.layers.{i}")
    return _final(x, params["encoder"], config)


def decode(tgt: Array, memory: Array, src: Array, params: Mapping[str, Any], config: Any, keep: Any = None) -> Array:
    """§3.1: N decoder layers over the embedded target, attending causally and to the memory."""
    y = _inputs(tgt, params, config, keep, "decoder")
    for i, layer in enumerate(params["decoder"]["layers"]):
        y = decoder_layer(y, memory, layer, padding_mask(src, config.pad_id), decoder_self_mask(tgt, config.pad_id),
                          config, keep, f"decoder.layers.{i}")
    return _final(y, params["decoder"], config)


def transformer_forward(src: Array, tgt: Array, params: Mapping[str, Any], config: Any, keep: Any = None) -> Array:
    """Figure 1: encode, decode, then the tied output projection."""
    y = decode(tgt, encode(src, params, config, keep), src, params, config, keep)
    return model_output(output_logits(y, params["embedding"], config.embedding_scale_site), config.model_output)


def model_output(logits: Array, kind: str = "logits") -> Array:
    """The logits as they are, or entry by entry log(exp(l_t) / sum_u exp(l_u)) for ``kind="log_probs"``."""
    if kind == "logits":
        return np.array(logits, dtype=np.float64)
    out = np.zeros(logits.shape)
    for index in np.ndindex(*logits.shape[:-1]):
        row = [float(t) for t in logits[index]]
        top = max(row)
        log_z = top + math.log(sum(math.exp(t - top) for t in row))
        out[index] = [t - log_z for t in row]
    return out


def next_token_log_probs(prefixes: Array, memory: Array, src: Array, params: Mapping[str, Any], config: Any) -> Array:
    """log p(next token | prefix) at each prefix's last position, one row at a time."""
    logits = output_logits(decode(prefixes, memory, src, params, config), params["embedding"], config.embedding_scale_site)
    out = np.zeros((prefixes.shape[0], logits.shape[-1]))
    for n in range(prefixes.shape[0]):
        row = [float(t) for t in logits[n, -1]]
        log_z = math.log(sum(math.exp(t) for t in row))
        out[n] = [t - log_z for t in row]
    return out


def greedy_decode(src: Array, params: Mapping[str, Any], config: Any, bos_id: int, eos_id: int,
                  max_len: int) -> list[tuple[int, ...]]:
    """§6.1 without a beam: keep appending the most probable token (lowest id on ties)."""
    results = []
    for b in range(src.shape[0]):
        row = src[b:b + 1]
        memory, generated = encode(row, params, config), []
        while len(generated) < max_len and (not generated or generated[-1] != eos_id):
            log_p = next_token_log_probs(np.array([[bos_id] + generated]), memory, row, params, config)[0]
            generated.append(max(range(len(log_p)), key=lambda t: (log_p[t], -t)))
        results.append(tuple(generated))
    return results


def length_penalty(length: int, alpha: float) -> float:
    """GNMT's lp(Y) = (5 + |Y|)^alpha / (5 + 1)^alpha (Wu et al., 2016, §7)."""
    return (5 + length) ** alpha / 6 ** alpha


def dropout_sites(config: Any, batch: int, seq_src: int, seq_tgt: int) -> dict[str, tuple[int, ...]]:
    """§5.4 read literally: the two embedding sums and every sub-layer output of both stacks."""
    sites = {"encoder.embedding": (batch, seq_src, config.d_model), "decoder.embedding": (batch, seq_tgt, config.d_model)}
    for i in range(config.layers):
        for sub in ("self_attn", "ffn"):
            sites[f"encoder.layers.{i}.{sub}"] = (batch, seq_src, config.d_model)
        for sub in ("self_attn", "cross_attn", "ffn"):
            sites[f"decoder.layers.{i}.{sub}"] = (batch, seq_tgt, config.d_model)
    return sites
