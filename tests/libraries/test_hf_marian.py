"""The hf-marian adapter on fixed shapes: every offered component against the reference, and each declaration.

The stacks add Marian's own sinusoid table, which ``MarianSinusoidalPositionalEmbedding.create_weight``
builds through ``torch.FloatTensor``: float32 values even in a float64 model.  They are compared with the
reference using that same table (rounded to float32), so everything else is held to float64 precision.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

transformers = pytest.importorskip("transformers")

from transformer_spec.harness.loading import load  # noqa: E402  (after the importorskip)
from transformer_spec.harness.target import Target  # noqa: E402
from transformer_spec.implementations.protocol import Shapes, Unsupported  # noqa: E402
from transformer_spec.reference import layers  # noqa: E402
from transformer_spec.reference.attention import multi_head_attention, scaled_dot_product_attention  # noqa: E402
from transformer_spec.reference.config import TransformerConfig  # noqa: E402
from transformer_spec.reference.embeddings import embed, output_logits  # noqa: E402
from transformer_spec.reference.masks import decoder_self_mask, padding_mask  # noqa: E402
from transformer_spec.reference.params import init_params, map_tree  # noqa: E402
from transformer_spec.reference.positional_encoding import sinusoidal_encoding  # noqa: E402
from transformer_spec.reference.regularization import dropout_sites  # noqa: E402

from .support import TIGHT  # noqa: E402

CONFIGS = [TransformerConfig.small(vocab=13),
           TransformerConfig.small(layers=1, d_model=12, heads=4, d_k=3, d_v=3, d_ff=7)]


@pytest.fixture(scope="module")
def impl() -> Any:
    return load("hf-marian", Target())


def _declared(impl: Any, c: TransformerConfig) -> TransformerConfig:
    return c.replace(**impl.deviations)


def _tensors(tree: Any) -> Any:
    return map_tree(torch.tensor, tree) if isinstance(tree, dict) else torch.tensor(tree)


def _tokens(c: TransformerConfig, rng: np.random.Generator, batch: int, seq: int) -> np.ndarray:
    """Ids with ragged right padding; every row keeps at least its first token."""
    tokens = rng.integers(1, c.vocab, size=(batch, seq))
    tokens[np.arange(seq)[None, :] >= rng.integers(1, seq + 1, size=(batch, 1))] = c.pad_id
    return tokens


def _float32_table(seq: int, d_model: int, layout: str = "interleaved", offset: int = 0) -> np.ndarray:
    """The reference's sinusoids rounded to float32, as Marian's create_weight holds them."""
    return sinusoidal_encoding(seq, d_model, layout, offset).astype(np.float32).astype(np.float64)


def _close(actual: torch.Tensor, expected: np.ndarray, where: np.ndarray | None = None) -> None:
    out = actual.detach().numpy()
    np.testing.assert_allclose(out if where is None else out[where], expected if where is None else expected[where],
                               **TIGHT)


def test_attention_matches_reference_and_gives_uniform_weights_to_a_fully_masked_query(impl: Any) -> None:
    """Declared fully_masked="uniform": masking_utils.eager_mask fills with finfo.min, not -inf."""
    rng = np.random.default_rng(0)
    q, k, v = rng.normal(size=(2, 3, 4, 5)), rng.normal(size=(2, 3, 6, 5)), rng.normal(size=(2, 3, 6, 7))
    mask = rng.random((2, 1, 4, 6)) < 0.6
    mask[..., 0] = True
    mask[0, 0, 0] = False  # the first query of the first example may attend to nothing
    out, weights = impl.attention(*map(torch.tensor, (q, k, v, mask)))
    ref_out, ref_weights = scaled_dot_product_attention(q, k, v, mask, "uniform")
    _close(out, ref_out)
    _close(weights, ref_weights)
    np.testing.assert_allclose(weights[0, :, 0].numpy(), 1 / 6, **TIGHT)


@pytest.mark.parametrize("c", CONFIGS, ids=["small", "four-heads"])
def test_multi_head_attention_matches_reference(impl: Any, c: TransformerConfig) -> None:
    rng = np.random.default_rng(1)
    params = init_params(c, 1)["decoder"]["layers"][0]["cross_attn"]
    query, memory = rng.normal(size=(3, 4, c.d_model)), rng.normal(size=(3, 5, c.d_model))
    mask = padding_mask(_tokens(c, rng, 3, 5), c.pad_id)
    out, weights = impl.multi_head_attention(*map(torch.tensor, (query, memory, memory)), _tensors(params),
                                             torch.tensor(mask))
    ref_out, ref_weights = multi_head_attention(query, memory, memory, params, mask)
    _close(out, ref_out)
    _close(weights, ref_weights)


@pytest.mark.parametrize("c", CONFIGS, ids=["small", "four-heads"])
def test_layers_stacks_and_model_match_reference(impl: Any, c: TransformerConfig,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(layers, "sinusoidal_encoding", _float32_table)
    c, rng = _declared(impl, c), np.random.default_rng(2)
    p = init_params(c, 2)
    src, tgt = _tokens(c, rng, 3, 6), _tokens(c, rng, 3, 5)
    x, y = rng.normal(size=(3, 6, c.d_model)), rng.normal(size=(3, 5, c.d_model))
    sm, tm, memory = padding_mask(src, c.pad_id), decoder_self_mask(tgt, c.pad_id), layers.encode(src, p, c)
    t, enc, dec = _tensors, p["encoder"]["layers"][0], p["decoder"]["layers"][0]
    real_src, real_tgt = src != c.pad_id, tgt != c.pad_id
    _close(impl.encoder_layer(t(x), t(enc), t(sm), c), layers.encoder_layer(x, enc, sm, c))
    _close(impl.decoder_layer(t(y), t(x), t(dec), t(sm), t(tm), c), layers.decoder_layer(y, x, dec, sm, tm, c))
    _close(impl.encoder(t(src), t(p), c), memory, real_src)
    _close(impl.decoder(t(tgt), t(memory), t(src), t(p), c), layers.decode(tgt, memory, src, p, c), real_tgt)
    _close(impl.model(t(src), t(tgt), t(p), c), layers.transformer_forward(src, tgt, p, c), real_tgt)


def test_model_runs_in_float32() -> None:
    """The library's constants (sinusoids, final_logits_bias) follow the target dtype."""
    impl, c, rng = load("hf-marian", Target(dtype="float32")), CONFIGS[0], np.random.default_rng(3)
    c, p = _declared(impl, c), init_params(c, 3)
    src, tgt = _tokens(c, rng, 2, 4), _tokens(c, rng, 2, 3)
    f32 = lambda a: torch.tensor(a, dtype=torch.float32)
    out = impl.model(torch.tensor(src), torch.tensor(tgt), map_tree(f32, p), c)
    assert out.dtype == torch.float32
    expected = layers.transformer_forward(src, tgt, p, c)
    np.testing.assert_allclose(out.detach().numpy()[tgt != c.pad_id], expected[tgt != c.pad_id], rtol=2e-5, atol=2e-5)


def test_positional_encoding_is_the_halves_layout_in_float32_precision(impl: Any) -> None:
    """Declared pe_layout="halves": MarianSinusoidalPositionalEmbedding.create_weight puts the cosines second."""
    for seq, d_model in ((7, 1), (9, 5), (50, 16)):
        pe = impl.positional_encoding(seq, d_model).numpy()
        np.testing.assert_allclose(pe, _float32_table(seq, d_model, "halves"), rtol=0, atol=1e-12)
    assert not np.allclose(impl.positional_encoding(9, 6).numpy(), sinusoidal_encoding(9, 6), atol=1e-3)


def test_embedding_and_tied_output_projection(impl: Any) -> None:
    """E[tokens] * sqrt(d_model); x E^T with final_logits_bias, Marian's zero buffer, adding exactly nothing."""
    c, rng = CONFIGS[1], np.random.default_rng(4)
    weight, tokens, x = init_params(c, 4)["embedding"], _tokens(c, rng, 2, 5), rng.normal(size=(2, 3, c.d_model))
    _close(impl.embedding(torch.tensor(tokens), torch.tensor(weight)), embed(tokens, weight))
    _close(impl.output_logits(torch.tensor(x), torch.tensor(weight)), output_logits(x, weight))


def test_declarations() -> None:
    from transformer_spec.implementations.adapters.hf_marian import HFMarian
    assert HFMarian.deviations == {"pe_layout": "halves", "fully_masked": "uniform"}
    assert HFMarian.shapes == Shapes(heads_divide_d_model=True) and HFMarian.version == transformers.__version__


def _unsupported_calls(impl: Any) -> dict[str, Any]:
    c = _declared(impl, CONFIGS[0])
    p, src = _tensors(init_params(c)), torch.tensor([[1, 2, 0]])
    block, x = p["encoder"]["layers"][0]["self_attn"], torch.zeros(1, 3, c.d_model, dtype=torch.float64)
    keep = {site: torch.ones(shape, dtype=torch.bool) for site, shape in dropout_sites(c, 1, 3, 3).items()}
    narrow = TransformerConfig.small(d_k=3, d_v=5)
    return {
        "keep-masks": lambda: impl.model(src, src, p, c, keep),
        "keys differ from values": lambda: impl.multi_head_attention(x, x, x + 1, block, None),
        "d_k != d_model / heads": lambda: impl.encoder_layer(x, _tensors(init_params(narrow))["encoder"]["layers"][0],
                                                             None, narrow),
        "pre-norm": lambda: impl.encoder_layer(x, p["encoder"]["layers"][0], None, c.replace(norm_position="pre")),
        "another LayerNorm eps": lambda: impl.encoder(src, p, c.replace(layer_norm_eps=1e-6)),
    }


@pytest.mark.parametrize("what", ["keep-masks", "keys differ from values", "d_k != d_model / heads", "pre-norm",
                                  "another LayerNorm eps"])
def test_what_marian_cannot_express_is_unsupported(impl: Any, what: str) -> None:
    with pytest.raises(Unsupported):
        _unsupported_calls(impl)[what]()
