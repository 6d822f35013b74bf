"""`riesz.scipy.linalg`: solves, factorisations and matrix functions (real arrays; also
complex ones for `solve_triangular`, `expm`, `lu_factor` and `lu_solve`).

`solve_triangular`, `expm`, `sqrtm`, `logm`, `solve_sylvester`, `solve_banded`,
`lu_factor` and `lstsq` bind primitives of `riesz._primitives.linalg`, whose rules come
from the defining equations (a Sylvester equation for `sqrtm`, the block-matrix Fréchet
derivative for `logm` and `expm`, A X + X B = Q itself for `solve_sylvester`);
`cho_factor` / `cho_solve` / `cholesky`, `lu_solve`, `expm_frechet`,
`solve_continuous_lyapunov` and `polar` are composites of them. `expm`'s derivative
is the Fréchet derivative L(A, E), computed as the top-right block of
expm([[A, E], [0, A]]) (Higham, "Functions of Matrices", 2008, §3.2; Mathias
1996): a formula built from expm itself, so the rule is differentiable again
and derivatives of every order follow. Its adjoint is L(A, E)* = L(Aᵀ, E)
(the same block formula at Aᵀ).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._core.trace import Tracer, bind
from .._core.trace import strip_derivatives as _raw
from .._primitives._util import as_array, conj
from .._primitives.linalg import (
    _pivots_to_permutation,
    expm_p,
    frechet_expm,
    logm_p,
    lu_factor_p,
    solve_banded_p,
    solve_sylvester_p,
    sqrtm_p,
    triangular_solve_p,
)
from .._primitives.products import _mT
from .._primitives.shape import reshape_p
from ..numpy import linalg as _rla
from ..numpy._elementwise import astype
from ..numpy._indexing import argsort, getitem
from ..numpy._shape import matrix_transpose

__all__ = [
    "LUFactor", "cho_factor", "cho_solve", "cholesky", "det", "expm", "expm_frechet", "inv",
    "logm", "lstsq", "lu_factor", "lu_solve", "polar", "solve_banded",
    "solve_continuous_lyapunov", "solve_sylvester", "solve_triangular", "sqrtm",
]

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


def _square(name: str, arg: str, a: Any) -> Any:
    a = _float(a)
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ValueError(f"{name}: {arg} must be a square matrix (or a stack of them), "
                         f"got shape {a.shape}")
    return a


def expm(A: Any) -> Any:
    """Matrix exponential e^A (batched over leading axes)."""
    return bind(expm_p, _square("expm", "A", A))


def expm_frechet(A: Any, E: Any, method: Any = None, compute_expm: bool = True,
                 check_finite: bool = True) -> Any:
    """(expm(A), L(A, E)), or L(A, E) alone with compute_expm=False: the Fréchet
    derivative of expm, the top-right block of expm([[A, E], [0, A]]). Differentiable
    in A and E (L is linear in E)."""
    a, e = _square("expm_frechet", "A", A), _square("expm_frechet", "E", E)
    if a.shape != e.shape:
        raise ValueError(f"expm_frechet: A and E must have the same shape, got {a.shape} "
                         f"and {e.shape}")
    frechet = frechet_expm(a, e)
    return (bind(expm_p, a), frechet) if compute_expm else frechet


def _relative_error(resid: Any, a: Any, ord: Any) -> float:
    a = np.asarray(_raw(a))
    return float(np.linalg.norm(np.asarray(_raw(resid)), ord) / np.linalg.norm(a, ord))


def sqrtm(A: Any, disp: bool = True, blocksize: int = 64) -> Any:
    """The principal square root X (X @ X = A) of a real matrix with no eigenvalue on
    (-∞, 0]; ∂X solves X ∂X + ∂X X = ∂A (a Sylvester equation). With disp=False,
    returns (X, errest) with errest = ‖X² - A‖_F / ‖A‖_F, as SciPy."""
    a = _square("sqrtm", "A", A)
    x = bind(sqrtm_p, a)
    if disp:
        return x
    return x, _relative_error(x @ x - a, a, "fro")


def logm(A: Any, disp: bool = True) -> Any:
    """The principal logarithm L (expm(L) = A) of a real matrix with no eigenvalue on
    (-∞, 0]; ∂L[E] is the top-right block of logm([[A, E], [0, A]]). With disp=False,
    returns (L, errest) with errest = ‖expm(L) - A‖₁ / ‖A‖₁, as SciPy."""
    a = _square("logm", "A", A)
    x = bind(logm_p, a)
    if disp:
        return x
    return x, _relative_error(bind(expm_p, x) - a, a, 1)


def solve_sylvester(a: Any, b: Any, q: Any) -> Any:
    """X with a X + X b = q; differentiable in a, b and q (∂X solves the same
    equation with right-hand side ∂q - ∂a X - X ∂b)."""
    a, b = _square("solve_sylvester", "a", a), _square("solve_sylvester", "b", b)
    q = _float(q)
    if q.shape[-2:] != (a.shape[-1], b.shape[-1]):
        raise ValueError(f"solve_sylvester: q must have shape {(a.shape[-1], b.shape[-1])} "
                         f"in its last two axes, got {q.shape}")
    return bind(solve_sylvester_p, a, b, q)


def solve_continuous_lyapunov(a: Any, q: Any) -> Any:
    """X with a X + X aᴴ = q: `solve_sylvester(a, aᴴ, q)` (aᴴ = aᵀ on real a)."""
    a = _square("solve_continuous_lyapunov", "a", a)
    return solve_sylvester(a, conj(matrix_transpose(a)), q)


def solve_banded(l_and_u: tuple[int, int], ab: Any, b: Any, overwrite_ab: bool = False,
                 overwrite_b: bool = False, check_finite: bool = True) -> Any:
    """x with A x = b for A in band storage ab[u + i - j, j] = A[i, j] (l sub- and u
    super-diagonals); differentiable in ab and b."""
    lower, upper = (int(v) for v in l_and_u)
    ab, b = _float(ab), _float(b)
    if ab.ndim != 2 or ab.shape[0] != lower + upper + 1:
        raise ValueError(f"solve_banded: ab must have shape (l + u + 1, n) = "
                         f"({lower + upper + 1}, n), got {ab.shape}")
    if b.ndim not in (1, 2) or b.shape[0] != ab.shape[1]:
        raise ValueError(f"solve_banded: b must have shape ({ab.shape[1]},) or "
                         f"({ab.shape[1]}, k), got {b.shape}")
    return bind(solve_banded_p, ab, b, lower=lower, upper=upper, trans=0)


class LUFactor(tuple):
    """(lu, piv) as SciPy's `lu_factor` returns them, plus `perm`, the row order with
    A[perm] = L U, which `lu_solve` uses (it stays traced under vmap).

    Examples
    --------
    >>> a = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> lu = riesz.scipy.linalg.lu_factor(a)
    >>> print(lu.perm, riesz.scipy.linalg.lu_solve(lu, np.array([5.0, 11.0])))
    [1 0] [1. 2.]
    """

    perm: Any

    def __new__(cls, lu: Any, piv: Any, perm: Any) -> LUFactor:
        out = super().__new__(cls, (lu, piv))
        out.perm = perm
        return out


def lu_factor(a: Any, overwrite_a: bool = False, check_finite: bool = True) -> LUFactor:
    """(lu, piv) with P A = L U, L unit lower and U upper stored together in lu, as
    SciPy. lu is differentiable in a (∂lu = L tril(F, -1) + triu(F) U, F = L⁻¹ P ∂A U⁻¹),
    so `lu_solve` on the result is differentiable in a and b."""
    a = _square("lu_factor", "a", a)
    lu, piv, perm = bind(lu_factor_p, a)
    return LUFactor(lu, piv, perm)


def lu_solve(lu_and_piv: tuple[Any, Any], b: Any, trans: int = 0, overwrite_b: bool = False,
             check_finite: bool = True) -> Any:
    """x with A x = b (trans=0), Aᵀ x = b (trans=1) or Aᴴ x = b (trans=2) from
    `lu_factor`'s result: a permutation and two triangular solves, differentiable in lu
    and b (real or complex)."""
    lu, piv = lu_and_piv
    perm = getattr(lu_and_piv, "perm", None)
    if perm is None:
        piv = _raw(piv)
        if isinstance(piv, Tracer):
            raise ValueError("lu_solve: under vmap, pass the object that lu_factor returned "
                             "(its pivots are traced)")
        perm = _pivots_to_permutation(np.asarray(piv))
    b = _float(b)
    if trans not in (0, 1, 2, "N", "T", "C"):
        raise ValueError(f"lu_solve: trans must be 0, 1 or 2, got {trans!r}")
    if trans in (0, "N"):
        y = solve_triangular(lu, getitem(b, perm), lower=True, unit_diagonal=True)
        return solve_triangular(lu, y, lower=False)
    # Aᵀ x = b, or Aᴴ x = b (trans=2: the same on real lu)
    t = 2 if trans in (2, "C") and np.result_type(_raw(lu)).kind == "c" else 1
    y = solve_triangular(lu, b, trans=t, lower=False)
    y = solve_triangular(lu, y, trans=t, lower=True, unit_diagonal=True)
    return getitem(y, argsort(perm))


def polar(a: Any, side: str = "right") -> tuple[Any, Any]:
    """(u, p) with a = u p (side='right') or a = p u (side='left'), u with orthonormal
    columns (rows) and p symmetric positive semidefinite, from the SVD a = W S Vᵀ as
    SciPy: u = W Vᵀ, p = V S Vᵀ (W S Wᵀ). Its derivative is the SVD's, exact for these
    basis-independent products."""
    if side not in ("right", "left"):
        raise ValueError(f"polar: side must be 'right' or 'left', got {side!r}")
    a = _float(a)
    if a.ndim != 2:
        raise ValueError(f"polar: a must be a 2-D array, got shape {a.shape}")
    w, s, vh = _rla.svd(a, full_matrices=False)
    u = w @ vh
    if side == "right":
        return u, (_mT(vh) * s) @ vh
    return u, (w * s) @ _mT(w)


def lstsq(a: Any, b: Any, cond: float | None = None, overwrite_a: bool = False,
          overwrite_b: bool = False, check_finite: bool = True,
          lapack_driver: str | None = None) -> tuple[Any, Any, Any, Any]:
    """(x, residues, rank, s) as SciPy: x = a⁺ b, the minimum-norm least-squares
    solution (singular values ≤ cond · s_max count as zero). x's derivative is the
    Golub-Pereyra formula, exact where the rank of a is locally constant (full rank in
    particular); at a rank-deficient a it is the derivative along perturbations that
    keep the rank. residues = ‖b - a x‖² per column when m > n = rank, else empty."""
    x, residues, rank, s = _rla._lstsq("lstsq", a, b, cond, cond)
    if residues.ndim == 1 and residues.shape[0] == 1 and np.ndim(b) == 1:
        residues = residues[0]
    return x, residues, rank, s
