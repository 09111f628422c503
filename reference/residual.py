"""Layer normalisation and the residual sub-layer connection, §3.1."""
from __future__ import annotations

from typing import Callable, Mapping

import numpy as np

from transformer_spec.reference.config import LayerNormForm, NormPosition
from transformer_spec.reference.errors import SpecUsageError
from transformer_spec.reference.regularization import dropout


def layer_norm(x: np.ndarray, scale: np.ndarray, bias: np.ndarray, eps: float,
               form: LayerNormForm = "paper") -> np.ndarray:
    r"""LayerNorm(x) = scale * (x - mean) / \sqrt{var + eps} + bias over the feature axis.

    Paper: §3.1 (cites Ba et al., 2016).
    Shapes: x (..., d_model), scale and bias (d_model,) -> (..., d_model).
    Notes: the variance is the biased one (divide by d_model), as in Ba et al.
    Variant ``form="annotated"`` (a declared ``layer_norm_form``, not the paper): scale * (x - mean) /
    (std + eps) + bias with the unbiased std (divide by d_model - 1), the Annotated Transformer's LayerNorm.
    """
    x = np.asarray(x, dtype=np.float64)
    mean = x.mean(axis=-1, keepdims=True)
    if form == "annotated":
        if x.shape[-1] < 2:
            raise SpecUsageError("x.shape[-1] (d_model)", x.shape[-1], "must be at least 2 for the unbiased std")
        return scale * (x - mean) / (x.std(axis=-1, ddof=1, keepdims=True) + eps) + bias
    if form != "paper":
        raise SpecUsageError("form", form, "must be 'paper' or 'annotated'")
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return scale * (x - mean) / np.sqrt(var + eps) + bias


def sublayer_connection(
    x: np.ndarray, sublayer: Callable[[np.ndarray], np.ndarray], norm: Mapping[str, np.ndarray], eps: float,
    norm_position: NormPosition = "post", keep: np.ndarray | None = None, p_drop: float = 0.0,
    norm_form: LayerNormForm = "paper",
) -> np.ndarray:
    """LayerNorm(x + Dropout(Sublayer(x))), the paper's post-norm residual.

    Paper: §3.1; dropout placement §5.4.
    Shapes: x (batch, seq, d_model) -> (batch, seq, d_model).
    Notes: ``norm_position="pre"`` is the named variant x + Dropout(Sublayer(LayerNorm(x)))
    (not the paper).  ``keep`` is an explicit dropout keep-mask; None means no dropout.
    ``norm_form`` is the LayerNorm's form (:func:`layer_norm`).
    """
    normed = lambda h: layer_norm(h, norm["scale"], norm["bias"], eps, norm_form)
    if norm_position == "post":
        return normed(x + dropout(sublayer(x), keep, p_drop))
    if norm_position == "pre":
        return x + dropout(sublayer(normed(x)), keep, p_drop)
    raise SpecUsageError("norm_position", norm_position, "must be 'post' or 'pre'")
