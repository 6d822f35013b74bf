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


def real_coordinates(z: np.ndarray) -> np.ndarray:
    """A real or complex array as a flat real vector: its entries, or for a complex
    array its real parts then its imaginary parts (the order of
    `Euclidean(shape, complex).basis()`)."""
    z = np.asarray(z)
    if np.iscomplexobj(z):
        return np.concatenate([z.real.ravel(), z.imag.ravel()])
    return z.ravel().astype(float)


def from_real_coordinates(w: np.ndarray, like: np.ndarray) -> np.ndarray:
    """The inverse of `real_coordinates`, shaped and typed like `like`."""
    if np.iscomplexobj(like):
        n = like.size
        return (w[:n] + 1j * w[n:]).reshape(like.shape)
    return w.reshape(np.shape(like))


def fd_real_jacobian(f: Callable[[np.ndarray], np.ndarray], z: np.ndarray,
                     eps: float = 1e-6) -> np.ndarray:
    """The matrix of the R-linear map ∂f(z) in real coordinates (`real_coordinates`
    of input and output), by central differences along each real basis vector
    (for a complex z: each e_k, then each i·e_k)."""
    w0 = real_coordinates(z)

    def g(w: np.ndarray) -> np.ndarray:
        return real_coordinates(f(from_real_coordinates(w, z)))

    cols = [(g(w0 + eps * e) - g(w0 - eps * e)) / (2 * eps) for e in np.eye(w0.size)]
    return np.stack(cols, axis=1)
