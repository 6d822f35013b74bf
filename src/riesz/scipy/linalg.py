"""`riesz.scipy.linalg`: triangular and Cholesky solves, and the matrix exponential.

`solve_triangular` is a primitive (rules in `riesz._primitives.linalg`);
`cho_factor` / `cho_solve` / `cholesky` are composites. `expm` is a primitive
whose derivative is the Fréchet derivative L(A, E), computed as the
top-right block of expm([[A, E], [0, A]]) (Higham, "Functions of Matrices",
2008, §3.2; Mathias 1996): a formula built from expm itself, so the rule is
differentiable again and derivatives of every order follow. Its adjoint is
L(A, E)* = L(Aᵀ, E) (the same block formula at Aᵀ).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.linalg as _sl

from .._core.primitive import Primitive
from .._core.trace import bind
from .._primitives import _batch_axes
from .._primitives._util import as_array
from .._primitives.indexing import getitem_p
from .._primitives.linalg import triangular_solve_p
from .._primitives.products import _mT
from .._primitives.shape import broadcast_to_p, concatenate_p, reshape_p
from ..numpy import linalg as _rla
from ..numpy._elementwise import astype

__all__ = ["cho_factor", "cho_solve", "cholesky", "det", "expm", "inv", "solve_triangular"]

det = _rla.det
inv = _rla.inv


def _float(a: Any) -> Any:
    a = as_array(a)
    return a if a.dtype.kind == "f" else astype(a, np.float64)


def solve_triangular(
    a: Any, b: Any, trans: Any = 0, lower: bool = False, unit_diagonal: bool = False,
    overwrite_b: bool = False, check_finite: bool = True,
) -> Any:
    """x with op(T) x = b for the triangle T of `a` (op = identity, or transpose
    for trans = 1 / 'T' / 'C'); ∂x = op(T)⁻¹ (∂b - op(∂T) x)."""
    a, b = _float(a), _float(b)
    t = {0: 0, 1: 1, 2: 1, "N": 0, "T": 1, "C": 1}[trans]
    if b.ndim == 1:
        x = bind(triangular_solve_p, a, bind(reshape_p, b, shape=(b.shape[0], 1)),
                 lower=bool(lower), trans=t, unit_diagonal=bool(unit_diagonal))
        return bind(reshape_p, x, shape=x.shape[:-1])
    return bind(triangular_solve_p, a, b, lower=bool(lower), trans=t,
                unit_diagonal=bool(unit_diagonal))


def cholesky(a: Any, lower: bool = False, overwrite_a: bool = False,
             check_finite: bool = True) -> Any:
    """Cholesky factor of `a`: upper U (a = Uᵀ U, reading the upper triangle) by
    default, lower L (a = L Lᵀ, reading the lower triangle) with lower=True."""
    return _rla.cholesky(a, upper=not lower)


def cho_factor(a: Any, lower: bool = False, overwrite_a: bool = False,
               check_finite: bool = True) -> tuple[Any, bool]:
    """(c, lower) for `cho_solve`; unlike SciPy, the unused triangle of c is 0."""
    return cholesky(a, lower=lower), lower


def cho_solve(c_and_lower: tuple[Any, bool], b: Any, overwrite_b: bool = False,
              check_finite: bool = True) -> Any:
    """x with A x = b, where A = c cᵀ (lower) or cᵀ c (upper): two triangular solves."""
    c, lower = c_and_lower
    if lower:
        y = solve_triangular(c, b, trans=0, lower=True)
        return solve_triangular(c, y, trans=1, lower=True)
    y = solve_triangular(c, b, trans=1, lower=False)
    return solve_triangular(c, y, trans=0, lower=False)


# -- matrix exponential ---------------------------------------------------------------

expm_p = Primitive(
    "expm", _sl.expm,
    notes="derivative: the Fréchet derivative, top-right block of expm([[A, E], [0, A]])",
)


def _frechet(a: Any, e: Any) -> Any:
    """L(A, E) = [expm([[A, E], [0, A]])]_{12}, with riesz operations."""
    n = a.shape[-1]
    zero = np.zeros(a.shape, np.result_type(np.zeros((), a.dtype), np.zeros((), e.dtype)))
    top = bind(concatenate_p, a, e, axis=a.ndim - 1)
    bottom = bind(concatenate_p, zero, a, axis=a.ndim - 1)
    block = bind(concatenate_p, top, bottom, axis=a.ndim - 2)
    big = bind(expm_p, block)
    return bind(getitem_p, big, index=(Ellipsis, slice(0, n), slice(n, 2 * n)))


def _expm_jvp(t: Any, ans: Any, a: Any) -> Any:
    if t.shape != a.shape:
        t = bind(broadcast_to_p, t, shape=a.shape)
    return _frechet(a, t)


def _expm_vjp(g: Any, ans: Any, a: Any) -> Any:
    return _frechet(_mT(a), g)


expm_p.def_jvp(_expm_jvp).def_vjp(_expm_vjp)


def expm(A: Any) -> Any:
    """Matrix exponential e^A (batched over leading axes)."""
    a = _float(A)
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ValueError("expected a square matrix (or a stack of them)")
    return bind(expm_p, a)


# -- vmap: scipy's expm maps over leading axes ------------------------------------------
_batch_axes.leading_batch(expm_p)

# -- Taylor mode (riesz.jet) --------------------------------------------------------------------
# Truncated series in t form an algebra that block upper-triangular Toeplitz matrices
# represent: A(t) = Σ_k A_k t^k (mod t^(K+1)) ↦ M(A) = Σ_k N^k ⊗ A_k, N the shift, so that
# M(A) M(B) = M(A B) and hence expm(M(A)) = M(expm(A(t))). Its first block row is
# [Y_0, Y_1, ..., Y_K]: every coefficient from one expm of a (K+1)n × (K+1)n matrix
# (the K = 1 case is the Fréchet-derivative block trick of the JVP rule).


def _expm_jet(primals: list[Any], series: list[Any]) -> tuple[Any, Any]:
    (a,), (sa,) = primals, series
    K, n = len(sa), a.shape[-1]
    zero = np.zeros(a.shape, a.dtype)
    terms = [a, *[zero if c is None else c for c in sa]]
    rows = []
    for r in range(K + 1):
        blocks = [zero] * r + terms[: K + 1 - r]
        rows.append(bind(concatenate_p, *blocks, axis=a.ndim - 1))
    big = bind(concatenate_p, *rows, axis=a.ndim - 2)
    top = bind(getitem_p, bind(expm_p, big), index=(Ellipsis, slice(0, n), slice(None)))
    pieces = [bind(getitem_p, top, index=(Ellipsis, slice(k * n, (k + 1) * n)))
              for k in range(K + 1)]
    return pieces[0], pieces[1:]


expm_p.def_jet(_expm_jet)
