"""`riesz.numpy.linalg`: differentiable `numpy.linalg` (real arrays).

The factorisations and solves are primitives (see `riesz._primitives.linalg` for
their rules and the references); norms, matrix powers, `multi_dot`, `cond`
and `eigvalsh` are composites. Results that NumPy returns as named tuples
(`EighResult`, `SVDResult`, `QRResult`, `SlogdetResult`) are returned as the
same named tuples.
"""

from __future__ import annotations

import builtins
from typing import Any, Literal

import numpy as np
from numpy.linalg import LinAlgError

from .._core.trace import Tracer, bind
from .._core.trace import strip_derivatives as _raw
from .._primitives._util import any_set, as_array, check_out, normalize_axis
from .._primitives.linalg import (
    DegenerateDerivativeWarning,
    cholesky_p,
    det_p,
    eig_p,
    eigh_p,
    inv_p,
    lstsq_p,
    norm2_p,
    pinv_p,
    qr_p,
    slogdet_p,
    solve_p,
    svd_p,
)
from .._primitives.products import _mT
from ._elementwise import abs, astype, power, where
from ._indexing import take_along_axis
from ._products import matmul, outer, tensordot
from ._reductions import any as any_
from ._reductions import count_nonzero, max, min, sum
from ._shape import diagonal as _diagonal
from ._shape import matrix_transpose, moveaxis, reshape, tril
from ._shape import trace as _trace

__all__ = [
    "DegenerateDerivativeWarning", "LinAlgError", "cholesky", "cond", "det", "diagonal", "eig",
    "eigh", "eigvals", "eigvalsh", "inv", "lstsq", "matmul", "matrix_norm", "matrix_power",
    "matrix_rank",
    "matrix_transpose", "multi_dot", "norm", "outer", "pinv", "qr", "slogdet", "solve",
    "svd", "svdvals", "tensordot", "trace", "vecdot", "vector_norm",
]

_x = np.eye(2)
EighResult = type(np.linalg.eigh(_x))
EigResult = type(np.linalg.eig(_x))
SVDResult = type(np.linalg.svd(_x))
QRResult = type(np.linalg.qr(_x))
SlogdetResult = type(np.linalg.slogdet(_x))
del _x


def _square(name: str, a: Any) -> Any:
    a = as_array(a)
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise LinAlgError(f"{name}: last 2 dimensions of the array must be square")
    if a.dtype.kind not in "fc":
        a = astype(a, np.float64)
    return a


def solve(a: Any, b: Any) -> Any:
    """x = a⁻¹ b; ∂x = a⁻¹ (∂b - ∂a x) (b is a vector only when it is 1-D)."""
    a = _square("solve", a)
    b = as_array(b)
    return bind(solve_p, a, b)


def inv(a: Any) -> Any:
    """a⁻¹; ∂(a⁻¹) = -a⁻¹ ∂a a⁻¹."""
    return bind(inv_p, _square("inv", a))


def det(a: Any) -> Any:
    """det a; ∂det = det · tr(a⁻¹ ∂a)."""
    return bind(det_p, _square("det", a))


def slogdet(a: Any) -> Any:
    """(sign, log|det a|); ∂log|det a| = tr(a⁻¹ ∂a), the sign has derivative 0."""
    sign, logdet = bind(slogdet_p, _square("slogdet", a))
    return SlogdetResult(sign, logdet)


def cholesky(a: Any, /, *, upper: bool = False) -> Any:
    """Lower Cholesky factor L (a = L Lᵀ), reading the lower triangle of a
    (the upper one with upper=True, returning Lᵀ)."""
    a = _square("cholesky", a)
    if upper:
        return _mT(bind(cholesky_p, _mT(a)))
    return bind(cholesky_p, a)


def eigh(a: Any, UPLO: str = "L") -> Any:
    """Eigenvalues (ascending) and eigenvectors of a symmetric matrix, reading
    its lower (UPLO='U': upper) triangle. See `DegenerateDerivativeWarning`
    for repeated eigenvalues."""
    a = _square("eigh", a)
    uplo = UPLO.upper()
    if uplo not in ("L", "U"):
        raise ValueError("UPLO argument must be 'L' or 'U'")
    if uplo == "U":
        a = _mT(a)
    w, v = bind(eigh_p, a)
    return EighResult(w, v)


def eig(a: Any) -> Any:
    """Eigenvalues and unit-norm eigenvectors of a general square matrix, complex
    (NumPy's EigResult). Derivatives hold away from repeated eigenvalues; an
    eigenvector's phase is a gauge: differentiate phase-free functions of it
    (|v|, projectors v vᴴ / ‖v‖², or the eigenvalues)."""
    a = _square("eig", a)
    w, v = bind(eig_p, a)
    return EigResult(w, v)


def eigvals(a: Any) -> Any:
    """Eigenvalues of a general square matrix (complex), as `eig(a).eigenvalues`."""
    return eig(a).eigenvalues


def eigvalsh(a: Any, UPLO: str = "L") -> Any:
    """Eigenvalues of a symmetric matrix (well defined at repeated eigenvalues
    for symmetric functions of them, e.g. their sum)."""
    return eigh(a, UPLO).eigenvalues


def svd(a: Any, full_matrices: bool = True, compute_uv: bool = True,
        hermitian: bool = False) -> Any:
    """Singular value decomposition a = U diag(S) Vh. Differentiable for the
    thin factorisation (full_matrices=False, or square a); see
    `DegenerateDerivativeWarning` for repeated singular values. With
    hermitian=True, NumPy's construction from `eigh` (lower triangle of a)."""
    a = as_array(a)
    if not isinstance(a, Tracer):
        # NumPy's overloads take compute_uv as a literal True or False only
        return np.linalg.svd(a, full_matrices, compute_uv, hermitian)  # type: ignore[call-overload]
    if a.ndim < 2:
        raise LinAlgError("svd: the array must be at least two-dimensional")
    if hermitian:
        return _svd_hermitian(a, compute_uv)
    u, s, vh = bind(svd_p, a)
    if not compute_uv:
        return s
    m, n = a.shape[-2:]
    if full_matrices and m != n:
        raise NotImplementedError(
            "svd: the derivative of the full U (or V) of a non-square matrix is not defined "
            "(its extra columns are an arbitrary basis); use full_matrices=False"
        )
    return SVDResult(u, s, vh)


def _svd_hermitian(a: Any, compute_uv: bool) -> Any:
    """As NumPy: a = V diag(w) Vᵀ gives S = |w| (descending), U = V and
    Vh = (V sign(w))ᵀ, with the columns in the order of S."""
    w, v = eigh(a)
    s = abs(w)
    order = np.flip(np.argsort(_raw(s), axis=-1), axis=-1)
    s = take_along_axis(s, order, -1)
    if not compute_uv:
        return s
    u = take_along_axis(v, order[..., None, :], -1)
    sign = np.take_along_axis(np.sign(_raw(w)), order, -1)
    return SVDResult(u, s, matrix_transpose(u * sign[..., None, :]))


def svdvals(x: Any, /) -> Any:
    """Singular values."""
    return svd(x, compute_uv=False)


def qr(a: Any, mode: Literal["reduced", "complete", "r", "raw"] = "reduced") -> Any:
    """Reduced QR factorisation a = Q R (mode 'reduced', 'r', or 'complete' when
    m <= n, where it is the same)."""
    a = as_array(a)
    if not isinstance(a, Tracer):
        return np.linalg.qr(a, mode=mode)
    m, n = a.shape[-2:]
    if mode == "complete" and m > n:
        raise NotImplementedError(
            "qr: mode='complete' for a tall matrix has an arbitrary basis in its extra "
            "columns, which has no derivative; use mode='reduced'"
        )
    if mode not in ("reduced", "complete", "r"):
        raise NotImplementedError(f"qr: mode={mode!r} is not supported on traced values")
    q, r = bind(qr_p, a)
    return r if mode == "r" else QRResult(q, r)


def pinv(a: Any, rcond: Any = None, hermitian: bool = False, *, rtol: Any = None) -> Any:
    """Moore-Penrose pseudo-inverse (differentiable where the rank is locally
    constant). With hermitian=True, that of the symmetric matrix read from the
    lower triangle of a, as NumPy."""
    a = as_array(a)
    if hermitian:
        a = tril(a) + matrix_transpose(tril(a, -1))
    cut = rtol if rcond is None else rcond
    return bind(pinv_p, a, rcond=cut)


def matrix_power(a: Any, n: int) -> Any:
    """aⁿ by repeated squaring (n < 0: powers of a⁻¹)."""
    a = _square("matrix_power", a)
    n = int(n)
    if n == 0:
        eye = np.broadcast_to(np.eye(a.shape[-1], dtype=a.dtype), a.shape)
        return np.array(eye)
    if n < 0:
        a, n = inv(a), -n
    result = None
    base = a
    while n:
        if n & 1:
            result = base if result is None else matmul(result, base)
        n >>= 1
        if n:
            base = matmul(base, base)
    return result


def multi_dot(arrays: Any, *, out: Any = None) -> Any:
    """Chained matrix product (1-D ends are treated as vectors)."""
    check_out("multi_dot", out)
    arrays = [as_array(a) for a in arrays]
    if len(arrays) < 2:
        raise ValueError("Expecting at least two arrays.")
    result = arrays[0]
    for b in arrays[1:]:
        result = matmul(result, b)
    return result


def matrix_rank(A: Any, tol: Any = None, hermitian: bool = False, *, rtol: Any = None) -> Any:
    """Rank (an integer: not differentiable). Under vmap A still varies per
    example after dropping derivatives, so NumPy's recipe (count the singular
    values above the tolerance) runs on riesz operations there."""
    a = _raw(as_array(A))
    if not isinstance(a, Tracer):
        return np.linalg.matrix_rank(a, tol, hermitian, rtol=rtol)
    if rtol is not None and tol is not None:
        raise ValueError("matrix_rank: `tol` and `rtol` can't be both set")
    if a.ndim < 2:
        return astype(any_(a != 0), np.int64)
    s = abs(eigvalsh(a)) if hermitian else svdvals(a)
    if tol is None:
        rel = np.max(a.shape[-2:]) * np.finfo(s.dtype).eps if rtol is None \
            else reshape(as_array(rtol), (*np.shape(rtol), 1))
        largest = max(s, axis=-1, keepdims=True) if s.shape[-1] else np.zeros((*s.shape[:-1], 1))
        limit = largest * rel
    else:
        limit = reshape(as_array(tol), (*np.shape(tol), 1))
    return count_nonzero(s > limit, axis=-1)


def diagonal(x: Any, /, *, offset: int = 0) -> Any:
    """The diagonals of the last two axes (unlike `numpy.diagonal`: the first two)."""
    return _diagonal(x, offset, -2, -1)


def trace(x: Any, /, *, offset: int = 0, dtype: Any = None) -> Any:
    """Σ of the diagonals of the last two axes (unlike `numpy.trace`: the first two)."""
    return _trace(x, offset, -2, -1, dtype)


def vecdot(x1: Any, x2: Any, /, *, axis: int = -1) -> Any:
    """Σ x1 x2 along `axis` (with broadcasting)."""
    return sum(as_array(x1) * as_array(x2), axis=axis)


# -- norms ---------------------------------------------------------------------------


def _vector_norm(x: Any, ord: Any, axis: tuple[int, ...] | None, keepdims: bool) -> Any:
    if isinstance(ord, str):
        raise ValueError(f"Invalid norm order {ord!r} for vectors")
    if ord is None or ord == 2:
        return bind(norm2_p, x, axis=axis, keepdims=keepdims)
    if ord == np.inf:
        return max(abs(x), axis=axis, keepdims=keepdims)
    if ord == -np.inf:
        return min(abs(x), axis=axis, keepdims=keepdims)
    if ord == 0:
        count = sum(astype(_raw(x) != 0, x.dtype), axis=axis, keepdims=keepdims)
        return count
    if ord == 1:
        return sum(abs(x), axis=axis, keepdims=keepdims)
    p = float(ord)
    s = sum(power(abs(x), p), axis=axis, keepdims=keepdims)
    zero = _raw(s) == 0
    if not any_set(zero):
        return power(s, 1 / p)
    # the norm is not differentiable at 0: derivative taken as 0 there
    return where(zero, 0, power(where(zero, 1, s), 1 / p))


def _matrix_norm(x: Any, ord: Any, axes: tuple[int, int], keepdims: bool) -> Any:
    r, c = axes
    if ord in (None, "fro", "f"):
        out = bind(norm2_p, x, axis=tuple(sorted(axes)), keepdims=keepdims)
        return out
    if ord in ("nuc", 2, -2):
        moved = moveaxis(x, (r, c), (-2, -1))
        s = svd(moved, compute_uv=False)
        if ord == "nuc":
            out = sum(s, axis=-1)
        elif ord == 2:
            out = max(s, axis=-1)
        else:
            out = min(s, axis=-1)
    elif ord in (1, -1):
        col = sum(abs(x), axis=r, keepdims=True)
        out = (max if ord == 1 else min)(col, axis=c, keepdims=True)
        out = reshape(out, tuple(n for i, n in enumerate(out.shape) if i not in axes))
    elif ord in (np.inf, -np.inf):
        row = sum(abs(x), axis=c, keepdims=True)
        out = (max if ord == np.inf else min)(row, axis=r, keepdims=True)
        out = reshape(out, tuple(n for i, n in enumerate(out.shape) if i not in axes))
    else:
        raise ValueError(f"Invalid norm order {ord!r} for matrices.")
    if keepdims:
        shape = list(x.shape)
        shape[r] = shape[c] = 1
        out = reshape(out, tuple(shape))
    return out


def norm(x: Any, ord: Any = None, axis: Any = None, keepdims: bool = False) -> Any:
    """`numpy.linalg.norm`: vector norms (2 by default; 1, inf, -inf, 0, any p)
    and matrix norms ('fro', 'nuc', 1, -1, 2, -2, inf, -inf). The 2-norm is
    computed without overflow and its derivative x/‖x‖ is taken as 0 at x = 0."""
    x = as_array(x)
    if x.dtype.kind not in "fc":
        x = astype(x, np.float64)
    if axis is None:
        if ord is None:
            return bind(norm2_p, x, axis=None, keepdims=keepdims)
        if x.ndim == 1:
            return _vector_norm(x, ord, (0,), keepdims)
        if x.ndim == 2:
            return _matrix_norm(x, ord, (0, 1), keepdims)
        raise ValueError("Improper number of dimensions to norm.")
    if isinstance(axis, (int, np.integer)) or len(axis) == 1:
        return _vector_norm(x, ord, normalize_axis(axis, x.ndim), keepdims)
    if len(axis) == 2:
        r, c = (int(i) % x.ndim for i in axis)
        if r == c:
            raise ValueError("Duplicate axes given.")
        return _matrix_norm(x, ord, (r, c), keepdims)
    raise ValueError("Improper number of dimensions to norm.")


def vector_norm(x: Any, /, *, axis: Any = None, keepdims: bool = False, ord: Any = 2) -> Any:
    """`numpy.linalg.vector_norm` (over all entries by default)."""
    x = as_array(x)
    if axis is None:
        nd = x.ndim
        out = _vector_norm(reshape(x, (-1,)), ord, (0,), False)
        return reshape(out, (1,) * nd) if keepdims else out
    return _vector_norm(x, ord, normalize_axis(axis, x.ndim), keepdims)


def matrix_norm(x: Any, /, *, keepdims: bool = False, ord: Any = "fro") -> Any:
    """`numpy.linalg.matrix_norm` over the last two axes."""
    x = as_array(x)
    return _matrix_norm(x, ord, (x.ndim - 2, x.ndim - 1), keepdims)


def cond(x: Any, p: Any = None) -> Any:
    """Condition number (2-norm by default: s_max / s_min)."""
    x = as_array(x)
    if p is None or p in (2, -2):
        s = svdvals(x)
        r = max(s, axis=-1) / min(s, axis=-1)
        return r if p in (None, 2) else 1 / r
    return norm(x, p, axis=(-2, -1)) * norm(inv(x), p, axis=(-2, -1))



def _lstsq(name: str, a: Any, b: Any, cond: Any, tol: Any) -> tuple[Any, Any, Any, Any]:
    """x = a⁺ b by the `lstsq` primitive (singular values ≤ cond · s_max count as zero),
    the residues ‖b - a x‖² per column (when m > n = rank, else empty), the rank (from
    the singular values ≤ tol · s_max) and the singular values."""
    a, b = as_array(a), as_array(b)
    if a.dtype.kind != "f":
        a = astype(a, np.float64)
    if b.dtype.kind != "f":
        b = astype(b, np.float64)
    if a.ndim != 2:
        raise LinAlgError(f"{name}: a must be a 2-D array, got shape {a.shape}")
    if b.ndim not in (1, 2) or b.shape[0] != a.shape[0]:
        raise LinAlgError(f"{name}: b must have shape ({a.shape[0]},) or ({a.shape[0]}, k), "
                          f"got {b.shape}")
    m, n = a.shape
    x = bind(lstsq_p, a, b, cond=None if cond is None else float(cond))
    s = svd(a, compute_uv=False)
    dtype = np.result_type(a.dtype, b.dtype)
    if tol is None:
        tol = np.finfo(dtype).eps
    rank = sum(s > float(tol) * max(s, axis=-1)) if m and n else np.int64(0)
    rank_raw = _raw(rank)
    if m > n and (isinstance(rank_raw, Tracer) or int(rank_raw) == n):
        r = b - matmul(a, x)
        residues = reshape(sum(r * r, axis=0), (-1,))
    else:
        residues = np.empty((0,), dtype)
    return x, residues, rank, s


_builtin_max = builtins.max  # `max` here is riesz.numpy.max


def lstsq(a: Any, b: Any, rcond: Any = None) -> tuple[Any, Any, Any, Any]:
    """(x, residuals, rank, s) as NumPy: x = a⁺ b, the minimum-norm least-squares
    solution (singular values < rcond · s_max count as zero; rcond defaults to
    eps · max(m, n)). x is differentiable by the Golub-Pereyra formula, exact where the
    rank of a is locally constant (full rank in particular; at a rank-deficient a, along
    perturbations that keep the rank). Under vmap the residuals are always returned."""
    a_ = as_array(a)
    if rcond is None:
        dt = a_.dtype if a_.dtype.kind == "f" else np.dtype(np.float64)
        rcond = np.finfo(dt).eps * _builtin_max(a_.shape[-2:], default=1)
    return _lstsq("lstsq", a, b, rcond, rcond)
