"""Linear algebra primitives.

`matmul` is bilinear; its VJP follows the standard results (M. Giles, "An
extended collection of matrix derivative results for forward and reverse mode
AD", 2008): for C = A B, Ā = C̄ Bᵀ and B̄ = Aᵀ C̄, with 1-D operands promoted to
matrices as NumPy does and batch dimensions summed back (un-broadcast).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._core.primitive import Primitive, bilinear
from .._core.trace import bind
from ._util import unbroadcast
from .shape import reshape_p, transpose_p


def _mT(x: Any) -> Any:
    """Swap the last two axes."""
    n = x.ndim
    return bind(transpose_p, x, axes=(*range(n - 2), n - 1, n - 2))


def _expand(x: Any, axis: int) -> Any:
    shape = list(x.shape)
    shape.insert(axis % (len(shape) + 1), 1)
    return bind(reshape_p, x, shape=tuple(shape))


matmul_p = Primitive("matmul", np.matmul)


def _promote(a: Any, b: Any, g: Any) -> tuple[Any, Any, Any]:
    """1-D operands as matrices, with the cotangent reshaped to match."""
    if a.ndim == 1:
        a = bind(reshape_p, a, shape=(1, a.shape[0]))
        g = _expand(g, -2 if b.ndim > 1 else -1)
    if b.ndim == 1:
        b = bind(reshape_p, b, shape=(b.shape[0], 1))
        g = _expand(g, -1)
    return a, b, g


def _matmul_vjp_a(g: Any, ans: Any, a: Any, b: Any) -> Any:
    a2, b2, g2 = _promote(a, b, g)
    ct = bind(matmul_p, g2, _mT(b2))
    if a.ndim == 1:
        ct = bind(reshape_p, unbroadcast(ct, (1, a.shape[0]), a.dtype), shape=a.shape)
    return unbroadcast(ct, a.shape, a.dtype)


def _matmul_vjp_b(g: Any, ans: Any, a: Any, b: Any) -> Any:
    a2, b2, g2 = _promote(a, b, g)
    ct = bind(matmul_p, _mT(a2), g2)
    if b.ndim == 1:
        ct = bind(reshape_p, unbroadcast(ct, (b.shape[0], 1), b.dtype), shape=b.shape)
    return unbroadcast(ct, b.shape, b.dtype)


bilinear(matmul_p, _matmul_vjp_a, _matmul_vjp_b)
