"""Test matrices with known properties, built in plain NumPy."""

from __future__ import annotations

import numpy as np


def random_spd(n: int, seed: int, cond: float = 10.0) -> np.ndarray:
    """A symmetric positive definite n x n matrix with condition number `cond`."""
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    return Q @ np.diag(np.geomspace(1.0, cond, n)) @ Q.T
