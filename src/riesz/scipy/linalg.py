"""`riesz.scipy.linalg`: triangular and Cholesky solves, and the matrix exponential.

`solve_triangular` and `expm` bind primitives of `riesz._primitives.linalg`;
`cho_factor` / `cho_solve` / `cholesky` are composites. `expm`'s derivative
is the Fréchet derivative L(A, E), computed as the top-right block of
expm([[A, E], [0, A]]) (Higham, "Functions of Matrices", 2008, §3.2; Mathias
1996): a formula built from expm itself, so the rule is differentiable again
and derivatives of every order follow. Its adjoint is L(A, E)* = L(Aᵀ, E)
(the same block formula at Aᵀ).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._core.trace import bind
from .._primitives._util import as_array
from .._primitives.linalg import expm_p, triangular_solve_p
from .._primitives.shape import reshape_p
from ..numpy import linalg as _rla
from ..numpy._elementwise import astype

__all__ = ["cho_factor", "cho_solve", "cholesky", "det", "expm", "inv", "solve_triangular"]

det = _rla.det
inv = _rla.inv


def _float(a: Any) -> Any:
    a = as_array(a)
    return a if a.dtype.kind in "fc" else astype(a, np.float64)


def solve_triangular(
    a: Any, b: Any, trans: Any = 0, lower: bool = False, unit_diagonal: bool = False,
    overwrite_b: bool = False, check_finite: bool = True,
) -> Any:
    """x with op(T) x = b for the triangle T of `a` (op = identity, or transpose
    for trans = 1 / "T", conjugate transpose for 2 / "C"); ∂x = op(T)⁻¹ (∂b - op(∂T) x)."""
    a, b = _float(a), _float(b)
    t = {0: 0, 1: 1, 2: 2, "N": 0, "T": 1, "C": 2}[trans]
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


def expm(A: Any) -> Any:
    """Matrix exponential e^A (batched over leading axes)."""
    a = _float(A)
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ValueError("expected a square matrix (or a stack of them)")
    return bind(expm_p, a)
