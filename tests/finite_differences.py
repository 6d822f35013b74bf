"""Central finite differences: the independent oracle of the NumPy-layer tests."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def fd_grad(f: Callable[[np.ndarray], float], x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """The gradient of the scalar function f at x, entry by entry:
    (f(x + eps e_i) - f(x - eps e_i)) / (2 eps)."""
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = eps
        g[i] = (f(x + e) - f(x - e)) / (2 * eps)
    return g
