"""The optimiser, §5.3: Adam with beta_1 = 0.9, beta_2 = 0.98, epsilon = 1e-9."""
from __future__ import annotations

import numpy as np

from transformer_spec.reference.errors import SpecUsageError


def adam_update(
    param: np.ndarray, grad: np.ndarray, m: np.ndarray, v: np.ndarray, step: int, lr: float,
    beta1: float = 0.9, beta2: float = 0.98, eps: float = 1e-9,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""One Adam update (Kingma & Ba, 2015) with the paper's hyper-parameters.

    Paper: §5.3.
    m <- beta1 m + (1 - beta1) g;  v <- beta2 v + (1 - beta2) g^2;
    param <- param - lr * \hat m / (\sqrt{\hat v} + eps), with \hat m = m / (1 - beta1^step),
    \hat v = v / (1 - beta2^step).  Shapes: all arrays alike.
    Notes: eps is added after the square root of the bias-corrected v (the
    form of Kingma & Ba's Algorithm 1 and of ``torch.optim.Adam``).
    """
    if step < 1:
        raise SpecUsageError("step", step, "Adam steps count from 1")
    m = beta1 * np.asarray(m, dtype=np.float64) + (1.0 - beta1) * grad
    v = beta2 * np.asarray(v, dtype=np.float64) + (1.0 - beta2) * np.square(grad)
    m_hat = m / (1.0 - beta1 ** step)
    v_hat = v / (1.0 - beta2 ** step)
    return param - lr * m_hat / (np.sqrt(v_hat) + eps), m, v
