"""A deliberately naive second form of the paper's equations, written as its prose reads.

Everything here loops in Python over scalars (``math.exp``, ``math.sin``, explicit
sums), so that it shares no vectorisation trick, no broadcasting and no
transpose with ``reference/``.  It is slow on purpose; use small sizes only.
Arrays come in as NumPy arrays and go out as float64 NumPy arrays built entry
by entry.
"""
from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np

Array = np.ndarray


def softmax_list(scores: Sequence[float]) -> list[float]:
    """softmax over a list: exp(s_j) / sum_l exp(s_l) (§3.2.1), with no shift."""
    exps = [math.exp(s) for s in scores]
    total = sum(exps)
    return [e / total for e in exps]


def softmax(x: Array, axis: int = -1) -> Array:
    """softmax of every 1-d slice along ``axis``, one slice at a time."""
    moved = np.moveaxis(np.asarray(x, dtype=np.float64), axis, -1)
    out = np.empty(moved.shape)
    for index in np.ndindex(*moved.shape[:-1]):
        out[index] = softmax_list([float(s) for s in moved[index]])
    return np.moveaxis(out, -1, axis)


def attention(q: Array, k: Array, v: Array, mask: Array | None = None,
              fully_masked: str = "zeros") -> tuple[Array, Array]:
    """Eq. (1), query by query and key by key: w_ij = softmax_j(q_i . k_j / sqrt(d_k)), out_i = sum_j w_ij v_j.

    Paper: §3.2.1; masked keys get no weight (§3.2.3).  A query with no allowed
    key gets zeros, NaN or uniform weights according to ``fully_masked``.
    """
    lead, (seq_q, d_k), (seq_k, d_v) = q.shape[:-2], q.shape[-2:], v.shape[-2:]
    full = np.ones(lead + (seq_q, seq_k), dtype=bool) if mask is None else np.broadcast_to(mask, lead + (seq_q, seq_k))
    out, weights = np.zeros(lead + (seq_q, d_v)), np.zeros(lead + (seq_q, seq_k))
    for b in np.ndindex(*lead):
        for i in range(seq_q):
            allowed = [j for j in range(seq_k) if full[b + (i, j)]]
            scores = [sum(float(q[b + (i, t)]) * float(k[b + (j, t)]) for t in range(d_k)) / math.sqrt(d_k)
                      for j in allowed]
            if allowed:
                row = dict(zip(allowed, softmax_list(scores)))
                w = [row.get(j, 0.0) for j in range(seq_k)]
            else:
                w = [{"zeros": 0.0, "nan": math.nan, "uniform": 1.0 / seq_k}[fully_masked]] * seq_k
            for j in range(seq_k):
                weights[b + (i, j)] = w[j]
            for c in range(d_v):
                out[b + (i, c)] = sum(w[j] * float(v[b + (j, c)]) for j in range(seq_k))
    return out, weights


def split_heads(x: Array, heads: int) -> Array:
    """Head h of position s is columns [h*d, (h+1)*d) of x[b, s] (§3.2.2)."""
    batch, seq, width = x.shape
    d = width // heads
    out = np.zeros((batch, heads, seq, d))
    for b, h, s, c in np.ndindex(batch, heads, seq, d):
        out[b, h, s, c] = x[b, s, h * d + c]
    return out


def concat_heads(x: Array) -> Array:
    """Concat(head_1, ..., head_h): head h's features land at columns [h*d, (h+1)*d) (§3.2.2)."""
    batch, heads, seq, d = x.shape
    out = np.zeros((batch, seq, heads * d))
    for b, h, s, c in np.ndindex(batch, heads, seq, d):
        out[b, s, h * d + c] = x[b, h, s, c]
    return out


def _linear(row: Sequence[float], w: Array, b: Array | None) -> list[float]:
    """y_o = sum_m row_m w[m, o] (+ b_o) for one position."""
    n_in, n_out = w.shape
    return [sum(float(row[m]) * float(w[m, o]) for m in range(n_in)) + (0.0 if b is None else float(b[o]))
            for o in range(n_out)]


def multi_head_attention(query: Array, key: Array, value: Array, params: Mapping[str, Array],
                         mask: Array | None = None, fully_masked: str = "zeros") -> tuple[Array, Array]:
    """MultiHead = Concat(head_1..head_h) W^O, head_i = Attention(Q W_i^Q, K W_i^K, V W_i^V), head by head.

    Paper: §3.2.2.
    """
    heads = params["w_q"].shape[0]
    batch, seq_q, _ = query.shape
    outputs, weights = [], []
    for h in range(heads):
        def project(x: Array, name: str) -> Array:
            bias = params.get("b_" + name)
            rows = [[_linear(x[b, s], params["w_" + name][h], None if bias is None else bias[h])
                     for s in range(x.shape[1])] for b in range(batch)]
            return np.array(rows, dtype=np.float64).reshape(batch, x.shape[1], params["w_" + name].shape[2])
        head_mask = None if mask is None else np.broadcast_to(mask, (batch, heads, seq_q, key.shape[1]))[:, h]
        out, w = attention(project(query, "q"), project(key, "k"), project(value, "v"), head_mask, fully_masked)
        outputs.append(out)
        weights.append(w)
    result = np.zeros((batch, seq_q, params["w_o"].shape[1]))
    for b, s in np.ndindex(batch, seq_q):
        concatenated: list[float] = []
        for h in range(heads):
            concatenated.extend(float(t) for t in outputs[h][b, s])
        result[b, s] = _linear(concatenated, params["w_o"], params.get("b_o"))
    return result, np.stack(weights, axis=1)


def feed_forward(x: Array, params: Mapping[str, Array]) -> Array:
    """Eq. (2) position by position: max(0, x W_1 + b_1) W_2 + b_2 (§3.3)."""
    out = np.zeros(x.shape[:-1] + (params["w_2"].shape[1],))
    for index in np.ndindex(*x.shape[:-1]):
        hidden = [max(0.0, h) for h in _linear(x[index], params["w_1"], params["b_1"])]
        out[index] = _linear(hidden, params["w_2"], params["b_2"])
    return out


def positional_encoding(seq_len: int, d_model: int, layout: str = "interleaved", offset: int = 0) -> Array:
    """PE(pos, 2i) = sin(pos / 10000^(2i/d_model)), PE(pos, 2i+1) = cos(same), entry by entry (§3.5).

    ``layout="halves"``: column c < ceil(d_model / 2) is the sine of frequency i = c, the rest the cosine
    of i = c - ceil(d_model / 2).  Positions are counted from ``offset``.
    """
    pe = np.zeros((seq_len, d_model))
    sines = (d_model + 1) // 2
    for pos in range(seq_len):
        for col in range(d_model):
            if layout == "interleaved":
                i, is_sine = col // 2, col % 2 == 0
            else:
                i, is_sine = (col, True) if col < sines else (col - sines, False)
            angle = (pos + offset) / 10000.0 ** (2 * i / d_model)
            pe[pos, col] = math.sin(angle) if is_sine else math.cos(angle)
    return pe


def layer_norm(x: Array, scale: Array, bias: Array, eps: float, form: str = "paper") -> Array:
    """LayerNorm position by position: mean and biased variance over the features (§3.1, Ba et al.).

    ``form="annotated"``: divide by the unbiased standard deviation (sum over d_model - 1) plus eps.
    """
    out = np.zeros(x.shape)
    n = x.shape[-1]
    for index in np.ndindex(*x.shape[:-1]):
        row = [float(t) for t in x[index]]
        mean = sum(row) / n
        squares = sum((t - mean) ** 2 for t in row)
        denominator = math.sqrt(squares / n + eps) if form == "paper" else math.sqrt(squares / (n - 1)) + eps
        out[index] = [float(scale[j]) * (row[j] - mean) / denominator + float(bias[j]) for j in range(n)]
    return out


def dropout(x: Array, keep: Array | None, p_drop: float) -> Array:
    """Inverted dropout entry by entry: kept units are divided by 1 - p (§5.4)."""
    if keep is None:
        return np.array(x, dtype=np.float64)
    keep = np.broadcast_to(keep, x.shape)
    out = np.zeros(x.shape)
    for index in np.ndindex(*x.shape):
        out[index] = float(x[index]) / (1.0 - p_drop) if keep[index] else 0.0
    return out


def learning_rate(step: int, d_model: int, warmup_steps: int) -> float:
    """§5.3 in words: rise linearly to the peak d_model^-0.5 warmup^-0.5 at step = warmup, then fall as 1/sqrt(step)."""
    peak = 1.0 / math.sqrt(d_model) / math.sqrt(warmup_steps)
    return peak * step / warmup_steps if step <= warmup_steps else peak * math.sqrt(warmup_steps / step)


def smoothed_target(target: int, vocab: int, epsilon: float, pad_id: int | None, convention: str,
                    pad_class: str = "included") -> list[float]:
    """q for one real (non-pad) target (§5.4): it keeps 1 - eps; eps goes to the other K-1 classes or to all K.

    K counts every class, or every class but padding when ``pad_class`` is "excluded" (padding then gets nothing).
    """
    classes = [v for v in range(vocab) if not (pad_class == "excluded" and v == pad_id)]
    q = []
    for v in range(vocab):
        if v not in classes:
            q.append(0.0)
        elif convention == "others":
            q.append(1.0 - epsilon if v == target else epsilon / (len(classes) - 1))
        else:
            q.append((1.0 - epsilon if v == target else 0.0) + epsilon / len(classes))
    return q


def smoothed_targets(targets: Array, vocab: int, epsilon: float, pad_id: int | None = None,
                     convention: str = "others", pad_class: str = "included") -> Array:
    """:func:`smoothed_target` for every token of a (batch, seq) array (rows of pad targets: all zero)."""
    out = np.zeros(targets.shape + (vocab,))
    for index in np.ndindex(*targets.shape):
        if int(targets[index]) != pad_id:
            out[index] = smoothed_target(int(targets[index]), vocab, epsilon, pad_id, convention, pad_class)
    return out


def label_smoothed_cross_entropy(logits: Array, targets: Array, epsilon: float, pad_id: int | None = None,
                                 convention: str = "others", pad_class: str = "included") -> float:
    """Token by token: -sum_v q_v log p_v, averaged over the non-padding targets (§5.4)."""
    losses = []
    for index in np.ndindex(*targets.shape):
        target = int(targets[index])
        if target == pad_id:
            continue
        row = [float(t) for t in logits[index]]
        log_z = math.log(sum(math.exp(t) for t in row))
        q = smoothed_target(target, len(row), epsilon, pad_id, convention, pad_class)
        losses.append(-sum(q[v] * (row[v] - log_z) for v in range(len(row))))
    return sum(losses) / len(losses)


def adam(param: Array, grad: Array, m: Array, v: Array, step: int, lr: float,
         beta1: float = 0.9, beta2: float = 0.98, eps: float = 1e-9) -> tuple[Array, Array, Array]:
    """Adam (Kingma & Ba, Algorithm 1) element by element, §5.3."""
    new_p, new_m, new_v = np.zeros(param.shape), np.zeros(param.shape), np.zeros(param.shape)
    for index in np.ndindex(*param.shape):
        g = float(grad[index])
        new_m[index] = beta1 * float(m[index]) + (1 - beta1) * g
        new_v[index] = beta2 * float(v[index]) + (1 - beta2) * g * g
        m_hat = new_m[index] / (1 - beta1 ** step)
        v_hat = new_v[index] / (1 - beta2 ** step)
        new_p[index] = float(param[index]) - lr * m_hat / (math.sqrt(v_hat) + eps)
    return new_p, new_m, new_v
