"""Inputs for the reference checks: seeded arrays whose every axis has its own size.

A case is a plain dict built from a seed and a dict of sizes.  Hypothesis draws
the sizes (labelled, all different, so that a transposed axis changes a shape
or a value) and the seed; the broken-variant tests use the fixed ``SIZES``.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from transformer_spec.reference.config import TransformerConfig
from transformer_spec.reference.params import init_params

Case = dict[str, Any]

SIZES: dict[str, dict[str, int]] = {
    "softmax": dict(a=2, b=3, c=5),
    "attention": dict(batch=2, seq_q=3, seq_k=5, d_k=4, d_v=6),
    "heads": dict(batch=2, seq=3, heads=4, d=5),
    "mha": dict(batch=2, seq_q=3, seq_k=4, d_model=7, heads=2, d_k=5, d_v=6),
    "ffn": dict(batch=2, seq=3, d_model=5, d_ff=7),
    "pe": dict(seq_len=6, d_model=7),
    "norm": dict(batch=2, seq=3, d_model=5),
    "tokens": dict(batch=2, seq=3, vocab=7, d_model=5),
    "smoothing": dict(batch=2, seq=5, vocab=7),
    "adam": dict(rows=2, cols=3, step=3),
    "model": dict(batch=2, seq_src=4, seq_tgt=3, d_model=6, d_ff=7, heads=2, d_k=5, d_v=4, vocab=9, layers=2),
}


LOW = {"smoothing": 3}  # 'others' smoothing needs two real classes besides padding


def draw_sizes(data: st.DataObject, kind: str, high: int = 7) -> dict[str, int]:
    """Labelled draws of pairwise different sizes for every axis named in ``SIZES[kind]``."""
    names, low = list(SIZES[kind]), LOW.get(kind, 1)
    values = data.draw(st.lists(st.integers(low, max(high, low + len(names))), min_size=len(names),
                                max_size=len(names), unique=True), label=", ".join(names))
    return dict(zip(names, values))


def draw_model_sizes(data: st.DataObject) -> dict[str, int]:
    """Model sizes, all different: small ones for batch, heads, lengths, layers; larger ones for widths."""
    small = data.draw(st.permutations([1, 2, 3, 4, 5]), label="batch, heads, seq_src, seq_tgt, layers")
    wide = data.draw(st.lists(st.integers(6, 11), min_size=4, max_size=4, unique=True), label="d_model, d_ff, d_k, d_v")
    vocab = data.draw(st.integers(12, 16), label="vocab")
    return dict(zip(("batch", "heads", "seq_src", "seq_tgt", "layers"), small),
                **dict(zip(("d_model", "d_ff", "d_k", "d_v"), wide)), vocab=vocab)


def draw_seed(data: st.DataObject) -> int:
    return data.draw(st.integers(0, 2 ** 32 - 1), label="seed")


def softmax_case(seed: int, a: int, b: int, c: int) -> Case:
    rng = np.random.default_rng(seed)
    return {"x": rng.normal(0.0, 3.0, (a, b, c)), "axis": int(rng.integers(-3, 3))}


def attention_case(seed: int, batch: int, seq_q: int, seq_k: int, d_k: int, d_v: int) -> Case:
    rng = np.random.default_rng(seed)
    mask = rng.random((batch, 1, seq_q, seq_k)) < 0.7
    mask[0, 0, 0, :] = False  # one fully masked row
    mask[-1, 0, -1, :] = True  # one unmasked row
    return {"q": rng.normal(size=(batch, 1, seq_q, d_k)), "k": rng.normal(size=(batch, 1, seq_k, d_k)),
            "v": rng.normal(size=(batch, 1, seq_k, d_v)), "mask": mask,
            "fully_masked": ("zeros", "nan", "uniform")[int(rng.integers(3))]}


def heads_case(seed: int, batch: int, seq: int, heads: int, d: int) -> Case:
    rng = np.random.default_rng(seed)
    return {"x": rng.normal(size=(batch, seq, heads * d)), "heads": heads,
            "y": rng.normal(size=(batch, heads, seq, d))}


def mha_case(seed: int, batch: int, seq_q: int, seq_k: int, d_model: int, heads: int, d_k: int, d_v: int) -> Case:
    rng = np.random.default_rng(seed)
    params = {"w_q": rng.normal(size=(heads, d_model, d_k)), "w_k": rng.normal(size=(heads, d_model, d_k)),
              "w_v": rng.normal(size=(heads, d_model, d_v)), "w_o": rng.normal(size=(heads * d_v, d_model)),
              "b_q": rng.normal(size=(heads, d_k)), "b_k": rng.normal(size=(heads, d_k)),
              "b_v": rng.normal(size=(heads, d_v)), "b_o": rng.normal(size=(d_model,))}
    params = {k: v * 0.5 for k, v in params.items()}
    return {"query": rng.normal(size=(batch, seq_q, d_model)), "key": rng.normal(size=(batch, seq_k, d_model)),
            "value": rng.normal(size=(batch, seq_k, d_model)), "params": params,
            "mask": rng.random((batch, 1, seq_q, seq_k)) < 0.8}


def ffn_case(seed: int, batch: int, seq: int, d_model: int, d_ff: int) -> Case:
    rng = np.random.default_rng(seed)
    params = {"w_1": rng.normal(size=(d_model, d_ff)), "b_1": rng.normal(size=(d_ff,)),
              "w_2": rng.normal(size=(d_ff, d_model)), "b_2": rng.normal(size=(d_model,))}
    return {"x": rng.normal(size=(batch, seq, d_model)), "params": params}


def pe_case(seed: int, seq_len: int, d_model: int) -> Case:
    return {"seq_len": seq_len + 3 * (seed % 7), "d_model": d_model, "offset": 1 + seed % 3}


def norm_case(seed: int, batch: int, seq: int, d_model: int) -> Case:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(batch, seq, d_model)) * rng.uniform(0.1, 10.0) + rng.normal()
    return {"x": x, "scale": rng.normal(1.0, 0.3, d_model), "bias": rng.normal(0.0, 0.3, d_model),
            "eps": float(rng.choice([1e-5, 1e-6, 0.1])), "keep": rng.random(x.shape) < 0.7,
            "p_drop": float(rng.uniform(0.05, 0.6))}


def tokens_case(seed: int, batch: int, seq: int, vocab: int, d_model: int) -> Case:
    rng = np.random.default_rng(seed)
    tokens = rng.integers(0, vocab, (batch, seq))
    tokens[0, -1] = 0  # at least one padding key (pad_id 0)
    return {"tokens": tokens, "embedding": rng.normal(size=(vocab, d_model)), "pad_id": 0,
            "x": rng.normal(size=(batch, seq, d_model)), "seq_len": seq}


def smoothing_case(seed: int, batch: int, seq: int, vocab: int) -> Case:
    rng = np.random.default_rng(seed)
    pad_id = [None, int(rng.integers(vocab))][int(rng.integers(2))]
    targets = rng.integers(0, vocab, (batch, seq))
    if pad_id is not None:
        targets[0, -1] = pad_id
        targets[-1, 0] = (pad_id + 1) % vocab
    return {"logits": rng.normal(0.0, 2.0, (batch, seq, vocab)), "targets": targets, "vocab": vocab,
            "epsilon": float(rng.choice([0.0, 0.1, 0.37])), "pad_id": pad_id,
            "convention": ("others", "uniform")[int(rng.integers(2))],
            "pad_class": ("included", "excluded")[int(rng.integers(2))]}


def adam_case(seed: int, rows: int, cols: int, step: int) -> Case:
    rng = np.random.default_rng(seed)
    shape = (rows, cols)
    return {"param": rng.normal(size=shape), "grad": rng.normal(size=shape), "m": rng.normal(0, 0.1, shape),
            "v": rng.uniform(0.0, 0.1, shape), "step": step, "lr": float(rng.uniform(1e-4, 1e-2))}


def schedule_case(seed: int) -> Case:
    rng = np.random.default_rng(seed)
    warmup = int(rng.integers(1, 50))
    steps = sorted({1, warmup, warmup + 1, int(rng.integers(1, 200)), int(rng.integers(1, 10 ** 6))})
    return {"steps": steps, "d_model": int(rng.integers(1, 1024)), "warmup_steps": warmup}


def model_case(seed: int, batch: int, seq_src: int, seq_tgt: int, d_model: int, d_ff: int, heads: int,
               d_k: int, d_v: int, vocab: int, layers: int, variant: bool = False) -> Case:
    """Config, canonical params, tokens with padding and (for ``variant``) the non-paper options and dropout.

    The variant's positions are learned for odd seeds, sinusoids in halves for even ones.
    """
    rng = np.random.default_rng(seed)
    layers = 1 + layers % 2
    options = dict(norm_position="pre", final_norm=True, fully_masked="uniform", dropout=0.3, pe_layout="halves",
                   pe_offset=2, projection_bias=False, layer_norm_form="annotated",
                   embedding_scale_site="logits", model_output="log_probs",
                   positional_encoding_kind="learned" if seed % 2 else "sinusoidal") if variant else {}
    config = TransformerConfig(layers=layers, d_model=d_model, d_ff=d_ff, heads=heads, d_k=d_k, d_v=d_v,
                               vocab=max(vocab, 3), warmup_steps=4, **options)
    src = rng.integers(1, config.vocab, (batch, seq_src))
    tgt = rng.integers(1, config.vocab, (batch, seq_tgt))
    src[0, -1] = 0
    tgt[-1, -1] = 0
    keep = None
    if variant:
        from transformer_spec.reference.regularization import dropout_sites
        keep = {name: rng.random(shape) < 0.7 for name, shape in dropout_sites(config, batch, seq_src, seq_tgt).items()}
    return {"config": config, "params": init_params(config, seed % 1000), "src": src, "tgt": tgt, "keep": keep,
            "memory": rng.normal(size=(batch, seq_src, d_model)), "x": rng.normal(size=(batch, seq_src, d_model)),
            "y": rng.normal(size=(batch, seq_tgt, d_model))}


BUILDERS = {"softmax": softmax_case, "attention": attention_case, "heads": heads_case, "mha": mha_case,
            "ffn": ffn_case, "pe": pe_case, "norm": norm_case, "tokens": tokens_case,
            "smoothing": smoothing_case, "adam": adam_case, "model": model_case}


def fixed(kind: str, seed: int = 1, **extra: Any) -> Case:
    """The case of ``kind`` at the fixed sizes, for the broken-variant tests."""
    return BUILDERS[kind](seed, **SIZES[kind], **extra)
