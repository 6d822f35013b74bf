"""Linear-algebra primitives: solves, inverse, determinants, factorisations.

All act on the last two axes and broadcast over leading (batch) axes. The
rules follow the standard results, cited at each primitive:

* M. Giles, "An extended collection of matrix derivative results for forward
  and reverse mode automatic differentiation" (2008), §2.2-3.1: inverse,
  solve, determinant, symmetric eigendecomposition;
* I. Murray, "Differentiation of the Cholesky decomposition" (2016);
* J. Townsend, "Differentiating the singular value decomposition" (2016) and
  "Differentiating the QR decomposition" (2018); H.-J. Liao et al.,
  "Differentiable programming tensor networks" (2019) for the QR adjoint;
* G. Golub and V. Pereyra, "The differentiation of pseudo-inverses" (1973).

Every rule is written with riesz's own operations (matmul, triangular solves,
masks), so second and higher derivatives come from differentiating the rules.

`cholesky` and `eigh` read only the lower triangle of their input (as NumPy
and LAPACK do); their derivatives are those of the function NumPy computes,
A ↦ f(tril(A) + tril(A, -1)ᵀ). For a symmetric argument (e.g. A = B Bᵀ) this is
the usual derivative; in the subspace of symmetric matrices both agree.

Repeated eigenvalues / singular values (eigh, svd). Inside a repeated
eigenspace the eigenvectors are any orthonormal basis, and their derivative
1/(λ_j - λ_i) is 0/0; the rules set those terms to 0 (and ∂w_i = (Vᵀ ∂A V)_ii).
The result is exact for functions of the eigenvalues that are symmetric in the
repeated ones (traces, Σ f(w_i)) and for functions of the eigenvectors that do
not depend on the basis inside the eigenspace (projectors onto the whole
eigenspace, U Vᵀ). It is NOT exact for a function that combines the repeated
eigenvalues with their eigenvectors, such as U f(w) Uᵀ: its derivative
(Daleckii–Krein) needs the divided difference (f(λ_i) - f(λ_j))/(λ_i - λ_j) → f'(λ)
inside the eigenspace, and no rule of eigh can recover it from the cotangents
(w̄, Ū) or tangents it sees (two functions with equal f(λ) but different f'(λ)
send the same cotangents). Matrix functions are exact through their own
primitives (riesz.scipy.linalg.expm). A `DegenerateDerivativeWarning` is raised
whenever the returned derivative may be wrong: in reverse mode when the
cotangent depends on the basis inside a repeated eigenspace or couples its
eigenvalues with its eigenvectors; in forward mode, which cannot see how the
tangents are used, whenever the tangent splits a repeated eigenvalue.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import scipy.linalg

from .._core.primitive import Primitive
from .._core.trace import bind, raw_value
from .._core.trace import strip_derivatives as _raw
from .._core.zeros import is_foreign, zeros
from .._interpreters import taylor
from ._batch_axes import batch_size, broadcast_batch, leading_batch, shape_of
from ._util import any_set, conj, host_only, is_complex, kept_shape, no_zeros, tri_mask, unbroadcast
from .elementwise import astype_p, conj_p, imag_p, real_p, safe_reciprocal, where_p
from .indexing import getitem_p
from .products import _mH, _mT, matmul_p
from .reductions import sum_p
from .shape import broadcast_to_p, concatenate_p, reshape_p

__all__ = ["DegenerateDerivativeWarning"]


class DegenerateDerivativeWarning(RuntimeWarning):
    """A derivative through eigenvalues and eigenvectors (singular values and
    vectors) at a repeated eigenvalue (singular value) may be wrong: the
    result depends on the basis inside the repeated eigenspace, or combines
    its eigenvalues with its eigenvectors (e.g. U f(w) Uᵀ: use a matrix-function
    primitive such as riesz.scipy.linalg.expm). See riesz._primitives.linalg.

    Examples
    --------
    >>> import warnings
    >>> def expm_sum(a):  # U exp(w) Uᵀ: use riesz.scipy.linalg.expm instead
    ...     w, u = rnp.linalg.eigh(a)
    ...     return (u @ rnp.diag(rnp.exp(w)) @ u.T).sum()
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     _ = riesz.grad(expm_sum)(np.eye(2))  # eigenvalue 1 is repeated
    >>> print(caught[0].category.__name__)
    DegenerateDerivativeWarning
    """


# -- helpers written with differentiable operations -------------------------------
# Under vmap, NumPy's linalg maps over leading axes (`leading_batch`). Under jet:
# Series x(t) = x0 + c_1 t + ... + c_K t^K in raw coefficients (riesz/_interpreters/taylor.py).
# Solves and the inverse follow from matching powers of t in A(t) X(t) = B(t):
#     A0 X_k = B_k - Σ_{j=1}^k A_j X_(k-j),
# one solve with the same A0 per order (O(K²) products). The factorisations use the
# general rule, X' = (their JVP rule)(A, A', X) one order lower, which is polynomial in K
# because none of their JVP rules calls the primitive itself on a new argument.


def _mm(a: Any, b: Any) -> Any:
    return bind(matmul_p, a, b)


def _coef(series: Any, k: int) -> Any:
    return None if series is None else series[k - 1]


def _solve_batching(prim: Primitive) -> Primitive:
    """Solves a x = b. NumPy's solve maps over leading stack axes and reads a 1-D right-hand
    side as one vector (NumPy 2): on the batch, b becomes an (n, 1) matrix when
    it is a vector per example, and both operands get unit stack axes after the
    batch axis so that their stacks line up."""

    def rule(vals: list[Any], dims: list[int | None], **params: Any) -> Any:
        (a, b), (da, db) = vals, dims
        size = batch_size(vals, dims)
        a, b = broadcast_batch(a, da, size), broadcast_batch(b, db, size)
        sa, sb = shape_of(a)[1:], shape_of(b)[1:]
        vector = len(sb) == 1
        if vector:
            sb = (*sb, 1)
        lead = max(len(sa), len(sb)) - 2
        a = bind(reshape_p, a, shape=(size, *(1,) * (lead - len(sa) + 2), *sa))
        b = bind(reshape_p, b, shape=(size, *(1,) * (lead - len(sb) + 2), *sb))
        x = bind(prim, a, b, **params)
        return (bind(reshape_p, x, shape=shape_of(x)[:-1]) if vector else x), 0

    rule.__name__ = f"{prim.name}_batch"
    return prim.def_batch(rule)


def _tril(x: Any, k: int = 0) -> Any:
    return bind(where_p, tri_mask(x.shape, k, True), x, 0)


def _triu(x: Any, k: int = 0) -> Any:
    return bind(where_p, tri_mask(x.shape, k, False), x, 0)


def _eye_like(x: Any, n: int) -> np.ndarray:
    return np.eye(n, dtype=x.dtype)


def _diag_part(x: Any) -> Any:
    """The diagonal of the last two axes."""
    return bind(sum_p, x * _eye_like(x, x.shape[-1]), axis=(x.ndim - 1,), keepdims=False)


def _diag_embed(v: Any) -> Any:
    """A batch of diagonal matrices with diagonal v."""
    n = v.shape[-1]
    col = bind(reshape_p, v, shape=(*v.shape, 1))
    return col * _eye_like(v, n)


def _col(v: Any) -> Any:
    return bind(reshape_p, v, shape=(*v.shape, 1))


def _row(v: Any) -> Any:
    return bind(reshape_p, v, shape=(*v.shape[:-1], 1, v.shape[-1]))


def _sym_lower(t: Any) -> Any:
    """The symmetric (complex: Hermitian) matrix LAPACK sees when it reads the
    lower triangle of t (complex: and the real part of its diagonal)."""
    if is_complex(t):
        low = _tril(t, -1)
        return low + _mH(low) + _diag_embed(bind(real_p, _diag_part(t)))
    return _tril(t) + _mT(_tril(t, -1))


def _sym_lower_adjoint(s: Any) -> Any:
    """The adjoint of `_sym_lower`: ⟨s, sym_lower(t)⟩ = ⟨adjoint(s), t⟩ (Re⟨·,·⟩)."""
    if is_complex(s):
        diag = bind(real_p, _diag_part(s))
        return _tril(s, -1) + _tril(_mH(s), -1) + _diag_embed(diag).astype(s.dtype)
    return _tril(s) + _tril(_mT(s), -1)


def _gaps(w: Any, squared: bool = False) -> tuple[np.ndarray, Any]:
    """For a batch of spectra `w`: the constant mask `degenerate[..., i, j]` of
    pairs i != j with numerically equal values, and the matrix
    F_ij = 1/(w_j - w_i) (1/(w_j² - w_i²) if `squared`), with zeros on the
    diagonal and at degenerate pairs. F is built with riesz operations, so
    higher derivatives see its dependence on w."""
    wr = _raw(w)  # a constant (batched under vmap)
    n = wr.shape[-1]
    scale = np.max(np.abs(wr), axis=-1, keepdims=True)[..., None] if n else 0
    eps = np.finfo(wr.dtype).eps
    tol = 8 * max(n, 1) * eps * np.maximum(scale, np.finfo(wr.dtype).tiny)
    off = ~np.eye(n, dtype=bool)
    degenerate = (np.abs(wr[..., None, :] - wr[..., :, None]) <= tol) & off
    skip = degenerate | ~off
    diff = _row(w) - _col(w)
    if squared:
        diff = diff * (_row(w) + _col(w))
    return degenerate, bind(where_p, skip, 0, 1 / bind(where_p, skip, 1, diff))


def _warn_degenerate(what: str) -> None:
    warnings.warn(
        f"{what} at repeated eigenvalues / singular values; the returned derivative drops "
        "the 0/0 terms inside the repeated eigenspace, which is exact only for functions of "
        "the eigenvalues symmetric in the repeated ones (traces) and for basis-independent "
        "functions of the eigenvectors (projectors onto the whole eigenspace, U Vᵀ). A "
        "function combining both, such as U f(w) Uᵀ, misses the f'(λ) terms: compute it "
        "with a matrix-function primitive (riesz.scipy.linalg.expm)",
        DegenerateDerivativeWarning,
        stacklevel=4,
    )


_SPLITS = "the tangent splits the repeated value"
_COMBINES = ("the cotangent combines the repeated eigenvalues with their eigenvectors "
             "(as U f(w) Uᵀ does)")


# Does a cotangent (tangent) use the undefined terms? Each test below looks at
# the degenerate pairs (i, j) only, relative to the size of the whole array.


def _large_at(d: np.ndarray, scale: np.ndarray, degenerate: np.ndarray) -> bool:
    return any_set(np.abs(d) * degenerate > 1e-6 * (np.max(np.abs(scale)) + 1e-300))


def _asym_in_blocks(x: Any, degenerate: np.ndarray) -> bool:
    """Whether the antisymmetric part of x is non-negligible on degenerate pairs."""
    if not any_set(degenerate):
        return False
    x = _raw(x)
    return _large_at(x - np.swapaxes(x, -1, -2), x, degenerate)


def _offdiag_in_blocks(x: Any, degenerate: np.ndarray) -> bool:
    """Whether x is non-negligible on degenerate pairs."""
    if not any_set(degenerate):
        return False
    x = _raw(x)
    return _large_at(x, x, degenerate)


def _used_in_blocks(v: Any, x: Any, degenerate: np.ndarray) -> bool:
    """Whether the cotangent v of the values is non-negligible at a repeated value,
    or the cotangent x of the vectors (as Vᵀ V̄) couples two vectors of one
    repeated value: a combination of both outputs inside a repeated eigenspace."""
    if not any_set(degenerate):
        return False
    vr, xr = _raw(v), _raw(x)
    repeated = np.any(degenerate, axis=-1)
    return (any_set(np.abs(vr) * repeated > 1e-6 * (np.max(np.abs(vr)) + 1e-300))
            or _large_at(xr, xr, degenerate))


def _uneven_in_blocks(v: Any, degenerate: np.ndarray) -> bool:
    """Whether the vector v differs between the entries of a degenerate pair."""
    if not any_set(degenerate):
        return False
    v = _raw(v)
    return _large_at(v[..., None, :] - v[..., :, None], v, degenerate)


# -- triangular solve (scipy.linalg.solve_triangular) --------------------------------


def _triangular_solve_impl(a: Any, b: Any, lower: bool, trans: int, unit_diagonal: bool) -> Any:
    return scipy.linalg.solve_triangular(
        a, b, trans=trans, lower=lower, unit_diagonal=unit_diagonal, check_finite=False
    )


triangular_solve_p = Primitive(
    "triangular_solve", host_only(_triangular_solve_impl, "scipy.linalg.solve_triangular"),
    notes="x = op(T)⁻¹ b for the lower/upper triangle T of a (op: T or Tᵀ); b is (..., M, K); "
    "the other triangle (and the diagonal if unit_diagonal) is not read, and gets derivative 0",
)


def _tri_part(x: Any, lower: bool, unit_diagonal: bool) -> Any:
    k = (-1 if lower else 1) if unit_diagonal else 0
    return _tril(x, k) if lower else _triu(x, k)


def _trisolve(a: Any, b: Any, lower: bool, trans: int, unit_diagonal: bool) -> Any:
    return bind(triangular_solve_p, a, b, lower=lower, trans=trans, unit_diagonal=unit_diagonal)


def _trs_jvp_a(t: Any, ans: Any, a: Any, b: Any, lower: bool, trans: int,
               unit_diagonal: bool) -> Any:
    # x = op(T)⁻¹ b  ⇒  ∂x = -op(T)⁻¹ op(∂T) x
    dT = _tri_part(t, lower, unit_diagonal)
    if trans:
        dT = _mH(dT) if trans == 2 else _mT(dT)
    return -_trisolve(a, _mm(dT, ans), lower, trans, unit_diagonal)


def _trs_jvp_b(t: Any, ans: Any, a: Any, b: Any, lower: bool, trans: int,
               unit_diagonal: bool) -> Any:
    if t.shape != ans.shape:
        t = bind(broadcast_to_p, t, shape=ans.shape)
    return _trisolve(a, t, lower, trans, unit_diagonal)


def _trs_adjoint_solve(a: Any, g: Any, lower: bool, trans: int, unit_diagonal: bool) -> Any:
    """op(T)⁻ᴴ g: the adjoint of x ↦ op(T)⁻¹ x under Re⟨·,·⟩ (op: T, Tᵀ or Tᴴ)."""
    if not is_complex(a):
        return _trisolve(a, g, lower, 1 - min(trans, 1), unit_diagonal)
    if trans == 1:  # (Tᵀ)ᴴ = conj(T)
        return bind(conj_p, _trisolve(a, conj(g), lower, 0, unit_diagonal))
    return _trisolve(a, g, lower, 2 - trans, unit_diagonal)


def _trs_vjp_b(g: Any, ans: Any, a: Any, b: Any, lower: bool, trans: int,
               unit_diagonal: bool) -> Any:
    gb = _trs_adjoint_solve(a, g, lower, trans, unit_diagonal)
    return unbroadcast(gb, b.shape, b.dtype)


def _trs_vjp_a(g: Any, ans: Any, a: Any, b: Any, lower: bool, trans: int,
               unit_diagonal: bool) -> Any:
    # ⟨g, -op(T)⁻¹ op(∂T) x⟩ = ⟨M, op(∂T)⟩ with M = -b̄ xᴴ, b̄ = op(T)⁻ᴴ g;
    # ∂T gets M, Mᵀ or Mᴴ for op = T, Tᵀ, Tᴴ
    gb = _trs_adjoint_solve(a, g, lower, trans, unit_diagonal)
    if trans == 1:
        ga = -_mm(conj(ans), _mT(gb))
    elif trans == 2:
        ga = -_mm(ans, _mH(gb))
    else:
        ga = -_mm(gb, _mH(ans))
    return unbroadcast(_tri_part(ga, lower, unit_diagonal), a.shape, a.dtype)


triangular_solve_p.def_jvp(_trs_jvp_a, _trs_jvp_b).def_vjp(_trs_vjp_a, _trs_vjp_b)
_solve_batching(triangular_solve_p)


def _triangular_solve_jet(primals: list[Any], series: list[Any], lower: bool, trans: int,
                          unit_diagonal: bool) -> tuple[Any, Any]:
    """op(T0) X_k = B_k - Σ_{j=1}^k op(T_j) X_(k-j), T_j the read triangle of A_j."""
    (a, b), (sa, sb) = primals, series
    K = taylor.series_order(series)
    x0 = _trisolve(a, b, lower, trans, unit_diagonal)
    xs = [x0]
    for k in range(1, K + 1):
        rhs = _coef(sb, k)
        for j in range(1, k + 1):
            if _coef(sa, j) is not None and xs[k - j] is not None:
                dT = _tri_part(_coef(sa, j), lower, unit_diagonal)
                op = (_mH(dT) if trans == 2 else _mT(dT)) if trans else dT
                rhs = taylor.add(rhs, -_mm(op, xs[k - j]))
        if rhs is not None and rhs.shape != x0.shape:
            rhs = bind(broadcast_to_p, rhs, shape=x0.shape)
        xs.append(None if rhs is None else _trisolve(a, rhs, lower, trans, unit_diagonal))
    return x0, xs[1:]


triangular_solve_p.def_jet(_triangular_solve_jet)

# -- solve (Giles 2008, §2.3.1) ------------------------------------------------------
# x = A⁻¹ b: ∂x = A⁻¹ (∂b - ∂A x); b̄ = A⁻ᴴ x̄, Ā = -b̄ xᴴ (ᴴ = ᵀ on real arrays).
# `b` is a vector when b.ndim == 1 (NumPy 2 rule), else a (batch of) matrices.

solve_p = Primitive("solve", np.linalg.solve, notes="undefined (inf/NaN) for singular A")


def _as_matrix(v: Any, vec: bool) -> Any:
    return _col(v) if vec else v


def _from_matrix(m: Any, vec: bool) -> Any:
    return bind(reshape_p, m, shape=m.shape[:-1]) if vec else m


def _solve_jvp_a(t: Any, ans: Any, a: Any, b: Any) -> Any:
    vec = b.ndim == 1
    return -_from_matrix(bind(solve_p, a, _mm(t, _as_matrix(ans, vec))), vec)


def _solve_jvp_b(t: Any, ans: Any, a: Any, b: Any) -> Any:
    if t.ndim > 1 and t.shape != ans.shape:
        t = bind(broadcast_to_p, t, shape=ans.shape)
    return bind(solve_p, a, t)


def _solve_vjp_b(g: Any, ans: Any, a: Any, b: Any) -> Any:
    vec = b.ndim == 1
    gb = _from_matrix(bind(solve_p, _mH(a), _as_matrix(g, vec)), vec)
    return unbroadcast(gb, b.shape, b.dtype)


def _solve_vjp_a(g: Any, ans: Any, a: Any, b: Any) -> Any:
    vec = b.ndim == 1
    gb = bind(solve_p, _mH(a), _as_matrix(g, vec))
    return unbroadcast(-_mm(gb, _mH(_as_matrix(ans, vec))), a.shape, a.dtype)


solve_p.def_jvp(_solve_jvp_a, _solve_jvp_b).def_vjp(_solve_vjp_a, _solve_vjp_b)
_solve_batching(solve_p)


def _solve_jet(primals: list[Any], series: list[Any]) -> tuple[Any, Any]:
    (a, b), (sa, sb) = primals, series
    K = taylor.series_order(series)
    x0 = bind(solve_p, a, b)
    vec = b.ndim == 1
    xs = [_as_matrix(x0, vec)]
    for k in range(1, K + 1):
        rhs = None if _coef(sb, k) is None else _as_matrix(_coef(sb, k), vec)
        for j in range(1, k + 1):
            if _coef(sa, j) is not None and xs[k - j] is not None:
                rhs = taylor.add(rhs, -_mm(_coef(sa, j), xs[k - j]))
        xs.append(None if rhs is None else bind(solve_p, a, rhs))
    return x0, [None if x is None else _from_matrix(x, vec) for x in xs[1:]]


solve_p.def_jet(_solve_jet)

# -- inverse (Giles 2008, §2.2.3): ∂Y = -Y ∂A Y, Ā = -Yᴴ Ȳ Yᴴ ------------------------

inv_p = Primitive("inv", np.linalg.inv, notes="undefined (inf/NaN) for singular A")


def _inv_jvp(t: Any, ans: Any, a: Any) -> Any:
    return -_mm(ans, _mm(t, ans))


def _inv_vjp(g: Any, ans: Any, a: Any) -> Any:
    yt = _mH(ans)
    return -_mm(yt, _mm(g, yt))


inv_p.def_jvp(_inv_jvp).def_vjp(_inv_vjp)
leading_batch(inv_p)


def _inv_jet(primals: list[Any], series: list[Any]) -> tuple[Any, Any]:
    """A Y = I: Y_k = -Y0 Σ_{j=1}^k A_j Y_(k-j)."""
    (a,), (sa,) = primals, series
    y0 = bind(inv_p, a)
    ys = [y0]
    for k in range(1, len(sa) + 1):
        acc = None
        for j in range(1, k + 1):
            if sa[j - 1] is not None and ys[k - j] is not None:
                acc = taylor.add(acc, _mm(sa[j - 1], ys[k - j]))
        ys.append(None if acc is None else -_mm(y0, acc))
    return y0, ys[1:]


inv_p.def_jet(_inv_jet)

# -- determinant (Giles 2008, §2.2.2): ∂det = det tr(A⁻¹ ∂A), Ā = d̄ det A⁻ᵀ ---------
# det A · A⁻ᵀ is the cofactor matrix C, C_ij = (-1)^(i+j) det(A without row i, column j),
# which stays finite where A is singular: there (det exactly 0, where A⁻¹ does not
# exist) the rules use C built from the n² minors, so ∂det = ⟨C, ∂A⟩ and Ā = d̄ C.

det_p = Primitive(
    "det", host_only(np.linalg.det, "numpy.linalg.det"),
    notes="∂det = ⟨cof A, ∂A⟩, via det A · A⁻ᵀ, or the n² minors (O(n⁵)) where det A = 0; "
    "use slogdet for a log-determinant that does not overflow",
)


def _trace_inv_times(a: Any, t: Any) -> Any:
    """tr(A⁻¹ T) = ⟨A⁻ᵀ, T⟩, the derivative of log|det A| in the direction T."""
    return bind(sum_p, _mT(bind(inv_p, a)) * t, axis=(a.ndim - 2, a.ndim - 1), keepdims=False)


def _scaled_inv_t(c: Any, a: Any) -> Any:
    """c A⁻ᴴ (c: one scalar per matrix), the adjoint of `_trace_inv_times`."""
    return bind(reshape_p, c, shape=(*getattr(c, "shape", ()), 1, 1)) * _mH(bind(inv_p, a))


def _cofactors(a: Any) -> Any:
    """The cofactor matrix of each matrix in a, from the determinants of its
    minors (differentiable again through det, singular minors included)."""
    n = a.shape[-1]
    others = np.array([[k for k in range(n) if k != i] for i in range(n)], dtype=int)
    others = others.reshape(n, n - 1)
    # minors[..., i, j, :, :] is A without row i and column j
    minors = bind(getitem_p, a, index=(Ellipsis, others[:, None, :, None],
                                       others[None, :, None, :]))
    sign = np.where(np.add.outer(np.arange(n), np.arange(n)) % 2, -1, 1).astype(a.dtype)
    return bind(det_p, minors) * sign


def _det_jvp(t: Any, ans: Any, a: Any) -> Any:
    if no_zeros(ans):
        return ans * _trace_inv_times(a, t)
    return bind(sum_p, _cofactors(a) * t, axis=(a.ndim - 2, a.ndim - 1), keepdims=False)


def _det_vjp(g: Any, ans: Any, a: Any) -> Any:
    if no_zeros(ans):
        return _scaled_inv_t(g * conj(ans), a)
    return bind(reshape_p, g, shape=(*g.shape, 1, 1)) * conj(_cofactors(a))


det_p.def_jvp(_det_jvp).def_vjp(_det_vjp)
leading_batch(det_p)
taylor.jet_from_jvp(det_p)  # the general rule


def _slogdet_impl(a: Any) -> tuple[Any, Any]:
    sign, logabsdet = np.linalg.slogdet(a)
    return sign, logabsdet


slogdet_p = Primitive(
    "slogdet", host_only(_slogdet_impl, "numpy.linalg.slogdet"), multiple_results=True,
    notes="outputs (sign, log|det A|); sign has derivative 0; ∂log|det| = tr(A⁻¹ ∂A)",
)


def _slogdet_jvp(primals: Any, tangents: Any, ans: Any) -> Any:
    (a,), (t,) = primals, tangents
    if t is None:
        return None
    tau = _trace_inv_times(a, t)  # ∂ log det A
    if not is_complex(tau):
        return None, tau
    # complex A: sign = e^{iθ} moves with Im ∂log det, log|det| with its real part
    return ans[0] * (bind(imag_p, tau) * 1j), bind(real_p, tau)


def _slogdet_vjp(g: Any, ans: Any, primals: Any, argnums: Any) -> list[Any]:
    (a,) = primals
    g_sign, g_log = g
    if not is_complex(a):
        return [None if g_log is None else _scaled_inv_t(g_log, a)]
    # the adjoint of τ ↦ (sign i Im τ, Re τ): τ̄ = g_log + i Im(conj(sign) ḡ_sign)
    tau = None if g_log is None else bind(astype_p, g_log, dtype=a.dtype)
    if g_sign is not None:
        s = bind(imag_p, bind(conj_p, ans[0]) * g_sign) * 1j
        tau = s if tau is None else tau + s
    return [None if tau is None else _scaled_inv_t(tau, a)]


slogdet_p.def_joint_jvp(_slogdet_jvp).def_joint_vjp(_slogdet_vjp)
leading_batch(slogdet_p)
taylor.jet_from_jvp(slogdet_p)  # the general rule

# -- Cholesky (Murray 2016) ----------------------------------------------------------
# A = L Lᵀ: ∂L = L Φ(L⁻¹ ∂A L⁻ᵀ), Φ(X) = lower triangle of X with its diagonal halved;
# Φ is self-adjoint, so Ā = L⁻ᵀ Φ(Lᵀ L̄) L⁻¹ (then the lower-triangle read's adjoint).

cholesky_p = Primitive(
    "cholesky", np.linalg.cholesky,
    notes="reads the lower triangle of A (as NumPy); derivative of A ↦ chol(tril(A) + "
    "tril(A, -1)ᵀ); undefined if A is not positive definite",
)


def _phi(x: Any) -> Any:
    return _tril(x) - 0.5 * (x * _eye_like(x, x.shape[-1]))


def _cholesky_jvp(t: Any, ans: Any, a: Any) -> Any:
    s = _sym_lower(t)
    # X = L⁻¹ S L⁻ᴴ by two triangular solves
    y = _trisolve(ans, s, True, 0, False)
    x = _mH(_trisolve(ans, _mH(y), True, 0, False))
    return _mm(ans, _phi(x))


def _cholesky_vjp(g: Any, ans: Any, a: Any) -> Any:
    p = _phi(_mm(_mH(ans), g))
    # S = L⁻ᴴ P L⁻¹
    trans = 2 if is_complex(ans) else 1
    y = _trisolve(ans, p, True, trans, False)
    s = _mH(_trisolve(ans, _mH(y), True, trans, False))
    return _sym_lower_adjoint(s)


cholesky_p.def_jvp(_cholesky_jvp).def_vjp(_cholesky_vjp)
leading_batch(cholesky_p)
taylor.jet_from_jvp(cholesky_p)  # the general rule

# -- symmetric eigendecomposition (Giles 2008, §3.1) -----------------------------------
# A = V diag(w) Vᵀ: ∂w = diag(Vᵀ ∂A V), ∂V = V (F ∘ (Vᵀ ∂A V)), F_ij = 1/(w_j - w_i);
# Ā = V (diag(w̄) + F ∘ (Vᵀ V̄)) Vᵀ.


def _eigh_impl(a: Any) -> tuple[Any, Any]:
    w, v = np.linalg.eigh(a)
    return w, v


eigh_p = Primitive(
    "eigh", host_only(_eigh_impl, "numpy.linalg.eigh"), multiple_results=True,
    notes="reads the lower triangle of A; at repeated eigenvalues exact for traces and "
    "projectors, not for U f(w) Uᵀ (use expm); a DegenerateDerivativeWarning where it may "
    "be wrong",
)


def _eigh_jvp(primals: Any, tangents: Any, ans: Any) -> Any:
    (t,) = tangents
    if t is None:
        return None
    w, v = ans
    degenerate, F = _gaps(w)
    p = _mm(_mH(v), _mm(_sym_lower(t), v))
    if _offdiag_in_blocks(p, degenerate):
        _warn_degenerate(f"eigh: the eigenvalues and eigenvectors are not differentiable "
                         f"in this direction ({_SPLITS})")
    dw = _diag_part(p)
    if is_complex(dw):  # Hermitian: real eigenvalues; eigenvectors in the gauge diag(Vᴴ ∂V) = 0
        dw = bind(real_p, dw)
    return dw, _mm(v, F * p)


def _eigh_vjp(g: Any, ans: Any, primals: Any, argnums: Any) -> list[Any]:
    gw, gv = g
    w, v = ans
    inner = None
    degenerate, F = _gaps(w)
    if gw is not None:
        inner = _diag_embed(gw)
        if _uneven_in_blocks(gw, degenerate):
            _warn_degenerate("eigh: the cotangent of the eigenvalues differs within a "
                             "repeated eigenvalue")
    if gv is not None:
        vtg = _mm(_mH(v), gv)
        if _asym_in_blocks(vtg, degenerate):
            _warn_degenerate("eigh: the cotangent of the eigenvectors depends on their basis")
        elif gw is not None and _used_in_blocks(gw, vtg, degenerate):
            _warn_degenerate(f"eigh: {_COMBINES}")
        term = F * vtg
        inner = term if inner is None else inner + term
    if inner is None:
        return [None]
    return [_sym_lower_adjoint(_mm(v, _mm(inner, _mH(v))))]


eigh_p.def_joint_jvp(_eigh_jvp).def_joint_vjp(_eigh_vjp)
leading_batch(eigh_p)
taylor.jet_from_jvp(eigh_p)  # the general rule

# -- general eigendecomposition (Giles 2008, §3.1; complex results) --------------------
# A = V diag(w) V⁻¹, each column of V of unit norm (NumPy), its phase a free gauge.
# P = V⁻¹ ∂A V: ∂w = diag(P) (holomorphic in A); ∂V = X - V Re diag(Vᴴ X) with
# X = V (F ∘ P), F_ij = 1/(w_j - w_i) (0 on the diagonal): the norms stay 1, the phases
# move as X says. Its adjoint under Re⟨·,·⟩: X̄ = V̄ - V Re diag(Vᴴ V̄),
# Ā = V⁻ᴴ (diag(w̄) + conj(F) ∘ (Vᴴ X̄)) Vᴴ. Repeated eigenvalues: F is infinite there
# (a DegenerateDerivativeWarning where the derivative uses it); functions of the
# eigenvectors are only defined up to that gauge (use |v|, projectors, or eigenvalues).


def _eig_impl(a: Any) -> tuple[Any, Any]:
    w, v = np.linalg.eig(a)
    dtype = np.result_type(a.dtype, np.complex64)
    return w.astype(dtype, copy=False), v.astype(dtype, copy=False)


eig_p = Primitive(
    "eig", host_only(_eig_impl, "numpy.linalg.eig"), multiple_results=True,
    notes="general A: complex eigenvalues and unit-norm eigenvectors (phase gauge: "
    "Re diag(Vᴴ ∂V) = 0); undefined at repeated eigenvalues",
)


def _eig_gaps(w: Any) -> Any:
    """F_ij = 1/(w_j - w_i), 0 on the diagonal and at (warned) repeated pairs."""
    diff = _row(w) - _col(w)
    bad = _raw(diff) == 0  # the diagonal, and repeated eigenvalues
    every = raw_value(diff) == 0  # over the whole batch under vmap
    if np.any(every & ~np.eye(every.shape[-1], dtype=bool)):
        _warn_degenerate("eig: the eigenvalues and eigenvectors are not differentiable")
    return bind(where_p, bad, 0, 1 / bind(where_p, bad, 1, diff))


def _eig_jvp(primals: Any, tangents: Any, ans: Any) -> Any:
    (t,) = tangents
    if t is None:
        return None
    w, v = ans
    p = _mm(bind(solve_p, v, t), v)
    x = _mm(v, _eig_gaps(w) * p)
    fix = bind(real_p, _diag_part(_mm(_mH(v), x)))
    return _diag_part(p), x - v * _row(fix)


def _eig_vjp(g: Any, ans: Any, primals: Any, argnums: Any) -> list[Any]:
    gw, gv = g
    w, v = ans
    (a,) = primals
    inner = None
    if gv is not None:
        fix = bind(real_p, _diag_part(_mm(_mH(v), gv)))
        gx = gv - v * _row(fix)
        inner = bind(conj_p, _eig_gaps(w)) * _mm(_mH(v), gx)
    if gw is not None:
        d = _diag_embed(gw)
        inner = d if inner is None else inner + d
    if inner is None:
        return [None]
    ga = bind(solve_p, _mH(v), _mm(inner, _mH(v)))  # V⁻ᴴ inner Vᴴ
    return [ga if is_complex(a) else bind(real_p, ga)]


eig_p.def_joint_jvp(_eig_jvp).def_joint_vjp(_eig_vjp)
leading_batch(eig_p)
# no Taylor rule: the eigenvector gauge is not holomorphic (tests/test_jet.py lists it)

# -- singular value decomposition (Townsend 2016) -------------------------------------
# A = U diag(s) Vᵀ (thin), P = Uᵀ ∂A V split into sym(P) = (P + Pᵀ)/2 and
# asym(P) = (P - Pᵀ)/2, E_ij = 1/(s_j - s_i), G_ij = 1/(s_j + s_i) (i != j):
#   ∂s = diag(P),
#   ∂U = U (E ∘ sym(P) + G ∘ asym(P)) + (I - U Uᵀ) ∂A V S⁻¹,
#   ∂V = V (E ∘ sym(P) - G ∘ asym(P)) + (I - V Vᵀ) ∂Aᵀ U S⁻¹.
# This is Townsend's F ∘ (P S + S Pᵀ), F_ij = 1/(s_j² - s_i²), written so that
# only E is singular at a repeated singular value (G stays finite: it carries
# the rotation of U Vᵀ inside the repeated subspace). The adjoint, with
# X = Uᵀ Ū and Y = Vᵀ V̄:
#   Ā = U (sym(E ∘ (X + Y)) + asym(G ∘ (X - Y)) + diag(s̄)) Vᵀ
#       + (I - U Uᵀ) Ū S⁻¹ Vᵀ + U S⁻¹ V̄ᵀ (I - V Vᵀ).


def _svd_impl(a: Any) -> tuple[Any, Any, Any]:
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    return u, s, vh


svd_p = Primitive(
    "svd", _svd_impl, multiple_results=True,
    notes="thin SVD (full_matrices=False, or square A); at repeated singular values exact "
    "for Σ f(s) and U Vᵀ, not for U f(s) Vᵀ; a DegenerateDerivativeWarning where it may be "
    "wrong; S⁻¹ terms are dropped at zero singular values",
)


def _svd_gaps(s: Any) -> tuple[np.ndarray, Any, Any]:
    """The degenerate-pair mask, E (1/(s_j - s_i), 0 at degenerate pairs) and
    G (1/(s_j + s_i), 0 where both are 0)."""
    degenerate, e = _gaps(s)
    sr = _raw(s)
    both_zero = (sr[..., None, :] + sr[..., :, None] == 0) | np.eye(sr.shape[-1], dtype=bool)
    total = _row(s) + _col(s)
    g = bind(where_p, both_zero, 0, 1 / bind(where_p, both_zero, 1, total))
    return degenerate, e, g


def _sym(x: Any) -> Any:
    """The Hermitian part (x + xᴴ)/2 (symmetric on real x)."""
    return 0.5 * (x + _mH(x))


def _asym(x: Any) -> Any:
    """The anti-Hermitian part (x - xᴴ)/2."""
    return 0.5 * (x - _mH(x))


def _imag_diag_over(x: Any, s: Any) -> Any:
    """diag(i Im x_ii / s_i): complex SVD's phase term, in the gauge diag(Vᴴ ∂V) = 0
    (0 where s_i = 0)."""
    return _diag_embed(bind(imag_p, _diag_part(x)) * safe_reciprocal(s)) * 1j


def _svd_jvp(primals: Any, tangents: Any, ans: Any) -> Any:
    (a,), (t,) = primals, tangents
    if t is None:
        return None
    u, s, vh = ans
    v = _mH(vh)
    m, n = a.shape[-2:]
    degenerate, e, g = _svd_gaps(s)
    zero_pairs = degenerate & (_raw(s)[..., None, :] == 0)
    p = _mm(_mH(u), _mm(t, v))
    sym_p, asym_p = _sym(p), _asym(p)
    if _offdiag_in_blocks(sym_p, degenerate):
        _warn_degenerate(f"svd: the singular values and vectors are not differentiable "
                         f"in this direction ({_SPLITS})")
    elif _offdiag_in_blocks(asym_p, zero_pairs):
        _warn_degenerate("svd: the singular vectors of a repeated zero singular value are "
                         "not differentiable in this direction")
    ds = _diag_part(p)
    rot = g * asym_p
    omega_u = e * sym_p + rot
    if is_complex(ds):
        omega_u = omega_u + _imag_diag_over(p, s)
        ds = bind(real_p, ds)
    du = _mm(u, omega_u)
    dv = _mm(v, e * sym_p - rot)
    if m > n:
        tv = _mm(t, v)
        du = du + (tv - _mm(u, _mm(_mH(u), tv))) * _row(safe_reciprocal(s))
    if n > m:
        tu = _mm(_mH(t), u)
        dv = dv + (tu - _mm(v, _mm(vh, tu))) * _row(safe_reciprocal(s))
    return du, ds, _mH(dv)


def _svd_vjp(g: Any, ans: Any, primals: Any, argnums: Any) -> list[Any]:
    gu, gs, gvh = g
    u, s, vh = ans
    v = _mH(vh)
    (a,) = primals
    m, n = a.shape[-2:]
    degenerate, e, gg = _svd_gaps(s)
    zero_pairs = degenerate & (_raw(s)[..., None, :] == 0)
    inner = None
    if gs is not None:
        inner = _diag_embed(gs)
        if _uneven_in_blocks(gs, degenerate):
            _warn_degenerate("svd: the cotangent of the singular values differs within a "
                             "repeated singular value")
    x = y = None
    extra = None
    if gu is not None:
        x = _mm(_mH(u), gu)
        if m > n:
            proj = gu - _mm(u, x)
            extra = _mm(proj * _row(safe_reciprocal(s)), vh)
    if gvh is not None:
        gv = _mH(gvh)
        y = _mm(vh, gv)
        if n > m:
            proj = gv - _mm(v, y)
            ex = _mm(u * _row(safe_reciprocal(s)), _mH(proj))
            extra = ex if extra is None else extra + ex
    if x is not None or y is not None:
        plus = x if y is None else (y if x is None else x + y)
        minus = x if y is None else (-y if x is None else x - y)
        if _asym_in_blocks(plus, degenerate):
            _warn_degenerate("svd: the cotangent of the singular vectors depends on their basis")
        elif gs is not None and _used_in_blocks(gs, plus, degenerate):
            _warn_degenerate("svd: the cotangent combines the repeated singular values with "
                             "their singular vectors (as U f(s) Vᵀ does)")
        elif _offdiag_in_blocks(_asym(minus), zero_pairs):
            _warn_degenerate("svd: the cotangent of the singular vectors of a repeated zero "
                             "singular value")
        term = _sym(e * plus) + _asym(gg * minus)
        if x is not None and is_complex(x):  # the adjoint of the phase term
            term = term + _imag_diag_over(x, s)
        inner = term if inner is None else inner + term
    out = None if inner is None else _mm(u, _mm(inner, vh))
    if extra is not None:
        out = extra if out is None else out + extra
    return [out]


svd_p.def_joint_jvp(_svd_jvp).def_joint_vjp(_svd_vjp)
leading_batch(svd_p)
taylor.jet_from_jvp(svd_p)  # the general rule

# -- QR (Townsend 2018 for ∂; Liao et al. 2019 for the adjoint) -------------------------
# A = Q R (reduced), m >= n: with X = ∂A R⁻¹, C = Qᵀ X, Ω = tril(C, -1) - tril(C, -1)ᵀ:
#   ∂Q = Q (Ω - C) + X,   ∂R = (C - Ω) R;
#   Ā = (Q̄ + Q copyltu(M)) R⁻ᵀ with M = R R̄ᵀ - Q̄ᵀ Q, copyltu(M) = tril(M) + tril(M, -1)ᵀ.
# m < n: A = [X | Y], X = Q U square, R = [U | V] with V = Qᵀ Y: the square rules for X,
#   plus ∂V = ∂Qᵀ Y + Qᵀ ∂Y, Ȳ = Q V̄, and Q̄ += Y V̄ᵀ.


def _qr_impl(a: Any) -> tuple[Any, Any]:
    q, r = np.linalg.qr(a, mode="reduced")
    return q, r


qr_p = Primitive(
    "qr", _qr_impl, multiple_results=True,
    notes="reduced QR; undefined where A (its leading square block if m < n) is rank deficient",
)


def _right_solve_upper(x: Any, r: Any) -> Any:
    """x R⁻¹ for upper-triangular R."""
    return _mT(_trisolve(r, _mT(x), False, 1, False))


def _right_solve_upper_t(x: Any, r: Any) -> Any:
    """x R⁻ᵀ for upper-triangular R."""
    return _mT(_trisolve(r, _mT(x), False, 0, False))


def _right_solve_upper_h(x: Any, r: Any) -> Any:
    """x R⁻ᴴ for upper-triangular R."""
    return _mH(_trisolve(r, _mH(x), False, 0, False))


def _qr_omega(c: Any) -> Any:
    """Qᴴ ∂Q from C = Qᴴ ∂A R⁻¹: anti-Hermitian with C's strictly lower triangle,
    and on complex values i Im diag(C) (LAPACK's R has a real diagonal)."""
    low = _tril(c, -1)
    omega = low - _mH(low)
    if is_complex(c):
        omega = omega + _diag_embed(bind(imag_p, _diag_part(c))) * 1j
    return omega


def _qr_square_jvp(q: Any, r: Any, t: Any) -> tuple[Any, Any]:
    x = _right_solve_upper(t, r)
    c = _mm(_mH(q), x)
    omega = _qr_omega(c)
    return _mm(q, omega - c) + x, _mm(c - omega, r)


def _split_columns(x: Any, m: int) -> tuple[Any, Any]:
    """The first m columns of x and the rest (for a wide A = [X | Y])."""
    left = bind(getitem_p, x, index=(Ellipsis, slice(None), slice(0, m)))
    return left, bind(getitem_p, x, index=(Ellipsis, slice(None), slice(m, None)))


def _qr_jvp(primals: Any, tangents: Any, ans: Any) -> Any:
    (a,), (t,) = primals, tangents
    if t is None:
        return None
    q, r = ans
    m, n = a.shape[-2:]
    if m >= n:
        return _qr_square_jvp(q, r, t)
    u, _ = _split_columns(r, m)
    _, y = _split_columns(a, m)
    tx, ty = _split_columns(t, m)
    dq, du = _qr_square_jvp(q, u, tx)
    dv = _mm(_mH(dq), y) + _mm(_mH(q), ty)
    return dq, bind(concatenate_p, du, dv, axis=r.ndim - 1)


def _qr_square_vjp(q: Any, r: Any, gq: Any, gr: Any) -> Any:
    if is_complex(q):
        # the adjoint of the JVP: with N = Qᴴ Q̄ - R̄ Rᴴ, C̄ = Ω*(N) - N and
        # Ā = (Q̄ + Q C̄) R⁻ᴴ, Ω*(N) = tril(N, -1) - tril(Nᴴ, -1) + i diag(Im N)
        n = None
        if gq is not None:
            n = _mm(_mH(q), gq)
        if gr is not None:
            term = _mm(gr, _mH(r))
            n = -term if n is None else n - term
        omega_adj = _tril(n, -1) - _tril(_mH(n), -1) \
            + _diag_embed(bind(imag_p, _diag_part(n))) * 1j
        lhs = _mm(q, omega_adj - n)
        if gq is not None:
            lhs = lhs + gq
        return _right_solve_upper_h(lhs, r)
    m = None
    if gr is not None:
        m = _mm(r, _mT(gr))
    if gq is not None:
        term = _mm(_mT(gq), q)
        m = -term if m is None else m - term
    b = _tril(m) + _mT(_tril(m, -1))
    lhs = _mm(q, b) if gq is None else gq + _mm(q, b)
    return _right_solve_upper_t(lhs, r)


def _qr_vjp(g: Any, ans: Any, primals: Any, argnums: Any) -> list[Any]:
    gq, gr = g
    q, r = ans
    (a,) = primals
    m, n = a.shape[-2:]
    if gq is None and gr is None:
        return [None]
    if m >= n:
        return [_qr_square_vjp(q, r, gq, gr)]
    u, _ = _split_columns(r, m)
    _, y = _split_columns(a, m)
    gu = gv = None
    if gr is not None:
        gu, gv = _split_columns(gr, m)
        extra = _mm(y, _mH(gv))
        gq = extra if gq is None else gq + extra
    gx = _qr_square_vjp(q, u, gq, gu)
    gy = zeros(y.shape, a.dtype, a) if gv is None else _mm(q, gv)
    return [bind(concatenate_p, gx, gy, axis=a.ndim - 1)]


qr_p.def_joint_jvp(_qr_jvp).def_joint_vjp(_qr_vjp)
leading_batch(qr_p)
taylor.jet_from_jvp(qr_p)  # the general rule

# -- pseudo-inverse (Golub & Pereyra 1973), valid where the rank is locally constant --
# ∂A⁺ = -A⁺ ∂A A⁺ + A⁺ A⁺ᴴ ∂Aᴴ (I - A A⁺) + (I - A⁺ A) ∂Aᴴ A⁺ᴴ A⁺;
# Ā = -A⁺ᴴ Ḡ A⁺ᴴ + (I - A A⁺) Ḡᴴ A⁺ A⁺ᴴ + A⁺ᴴ A⁺ Ḡᴴ (I - A⁺ A) (ᴴ = ᵀ on real A).


def _pinv_impl(a: Any, rcond: Any) -> Any:
    return np.linalg.pinv(a) if rcond is None else np.linalg.pinv(a, rcond=rcond)


pinv_p = Primitive(
    "pinv", host_only(_pinv_impl, "numpy.linalg.pinv"),
    notes="Golub-Pereyra formula: exact where the rank of A is locally constant",
)


def _pinv_jvp(t: Any, ans: Any, a: Any, rcond: Any) -> Any:
    p, pt, tt = ans, _mH(ans), _mH(t)
    m, n = a.shape[-2:]
    left = np.eye(m, dtype=ans.dtype) - _mm(a, p)
    right = np.eye(n, dtype=ans.dtype) - _mm(p, a)
    return -_mm(p, _mm(t, p)) + _mm(_mm(p, pt), _mm(tt, left)) + _mm(right, _mm(tt, _mm(pt, p)))


def _pinv_vjp(g: Any, ans: Any, a: Any, rcond: Any) -> Any:
    p, pt, gt = ans, _mH(ans), _mH(g)
    m, n = a.shape[-2:]
    left = np.eye(m, dtype=ans.dtype) - _mm(a, p)
    right = np.eye(n, dtype=ans.dtype) - _mm(p, a)
    return -_mm(pt, _mm(g, pt)) + _mm(left, _mm(gt, _mm(p, pt))) + _mm(_mm(pt, p), _mm(gt, right))


pinv_p.def_jvp(_pinv_jvp).def_vjp(_pinv_vjp)
leading_batch(pinv_p)
taylor.jet_from_jvp(pinv_p)  # the general rule

# -- 2-norm / Frobenius norm, over one or two axes ----------------------------------------
# ‖x‖ = sqrt(Σ x²), computed as m sqrt(Σ (x/m)²) with m = max|x| (no overflow or
# underflow); ∂‖x‖[t] = ⟨x, t⟩ / ‖x‖ and ∂‖x‖*[g] = g x / ‖x‖, taken as 0 at x = 0.


def _norm2_impl(x: Any, axis: Any, keepdims: bool) -> Any:
    x = x if is_foreign(x) else np.asarray(x)
    if x.size == 0:
        return np.sqrt(np.sum(x * x, axis=axis, keepdims=keepdims))
    m = np.max(np.abs(x), axis=axis, keepdims=True)
    safe = np.where((m == 0) | np.isinf(m), 1, m)
    out = m * np.sqrt(np.sum(np.abs(x / safe) ** 2, axis=axis, keepdims=True))
    # an infinite entry: the norm is inf (scaling by m = inf would give inf/inf = NaN)
    out = np.where(np.isinf(m) & ~np.isnan(out), np.inf, out)
    if not keepdims:
        out = np.squeeze(out, axis=axis) if axis is not None else out.reshape(())
        if axis is None:
            out = out[()]
    real = np.finfo(x.dtype).dtype if x.dtype.kind in "fc" else np.float64
    return out.astype(real, copy=False)


norm2_p = Primitive(
    "norm2", _norm2_impl,
    notes="Euclidean / Frobenius norm, computed without overflow; derivative x/‖x‖, "
    "taken as 0 at x = 0 (where the norm is not differentiable)",
)


def _norm2_kept(v: Any, x: Any, axis: Any, keepdims: bool) -> Any:
    if keepdims:
        return v
    return bind(reshape_p, v, shape=kept_shape(x.shape, axis))


def _norm2_jvp(t: Any, ans: Any, x: Any, axis: Any, keepdims: bool) -> Any:
    if is_complex(x):  # Re⟨x, t⟩ / ‖x‖
        return bind(real_p, bind(sum_p, bind(conj_p, x) * t, axis=axis, keepdims=keepdims)) \
            * safe_reciprocal(ans)
    return bind(sum_p, x * t, axis=axis, keepdims=keepdims) * safe_reciprocal(ans)


def _norm2_vjp(g: Any, ans: Any, x: Any, axis: Any, keepdims: bool) -> Any:
    scale = _norm2_kept(g * safe_reciprocal(ans), x, axis, keepdims)
    return x * scale


norm2_p.def_jvp(_norm2_jvp).def_vjp(_norm2_vjp)
taylor.jet_from_jvp(norm2_p)  # the general rule (batched slice by slice)

# -- matrix exponential (scipy.linalg.expm; Higham 2008, §3.2) ------------------------
# ∂expm(A)[E] = L(A, E), the top-right block of expm([[A, E], [0, A]]), and
# ∂expm(A)*[G] = L(Aᵀ, G): formulas built from expm itself, so they differentiate again.

expm_p = Primitive(
    "expm", host_only(scipy.linalg.expm, "scipy.linalg.expm"),
    notes="derivative: the Fréchet derivative, top-right block of expm([[A, E], [0, A]])",
)


def _frechet(a: Any, e: Any) -> Any:
    """L(A, E) = [expm([[A, E], [0, A]])]_{12}, with riesz operations."""
    n = a.shape[-1]
    zero = zeros(a.shape, np.result_type(np.zeros((), a.dtype), np.zeros((), e.dtype)), a)
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
    return _frechet(_mH(a), g)  # the adjoint of L(A, ·) under Re⟨·,·⟩ is L(Aᴴ, ·)


expm_p.def_jvp(_expm_jvp).def_vjp(_expm_vjp)
leading_batch(expm_p)  # scipy's expm maps over leading axes

# Taylor mode, for every primary matrix function f (expm, logm, sqrtm):
# Truncated series in t form an algebra that block upper-triangular Toeplitz matrices
# represent: A(t) = Σ_k A_k t^k (mod t^(K+1)) ↦ M(A) = Σ_k N^k ⊗ A_k, N the shift, so that
# M(A) M(B) = M(A B) and hence f(M(A)) = M(f(A(t))) (M(A) has the spectrum of A_0, and
# a primary function is a polynomial on it). Its first block row is [Y_0, Y_1, ..., Y_K]:
# every coefficient from one f of a (K+1)n × (K+1)n matrix (the K = 1 case is the
# Fréchet-derivative block trick of the JVP rules).


def _block_toeplitz(a: Any, coefs: list[Any]) -> Any:
    """M(A) = [[A_0, A_1, ..., A_K], [0, A_0, ...], ...] with riesz operations."""
    K = len(coefs)
    zero = zeros(a.shape, a.dtype, a)
    terms = [a, *[zero if c is None else c for c in coefs]]
    rows = []
    for r in range(K + 1):
        blocks = [zero] * r + terms[: K + 1 - r]
        rows.append(bind(concatenate_p, *blocks, axis=a.ndim - 1))
    return bind(concatenate_p, *rows, axis=a.ndim - 2)


def _primary_function_jet(prim: Primitive) -> Primitive:
    """The Taylor rule of a primary matrix function: f(M(A)) = M(f(A(t)))."""

    def rule(primals: list[Any], series: list[Any]) -> tuple[Any, Any]:
        (a,), (sa,) = primals, series
        K, n = len(sa), a.shape[-1]
        sa = [c if c is None or c.shape == a.shape else bind(broadcast_to_p, c, shape=a.shape)
              for c in sa]
        big = _block_toeplitz(a, list(sa))
        top = bind(getitem_p, bind(prim, big), index=(Ellipsis, slice(0, n), slice(None)))
        pieces = [bind(getitem_p, top, index=(Ellipsis, slice(k * n, (k + 1) * n)))
                  for k in range(K + 1)]
        return pieces[0], pieces[1:]

    rule.__name__ = f"{prim.name}_jet"
    return prim.def_jet(rule)


_primary_function_jet(expm_p)


# -- shared helpers of the SciPy matrix functions and solvers ------------------------------


def _over_leading(fn: Any, *arrays: Any) -> Any:
    """fn on the trailing matrices of `arrays`, mapped over their (broadcast) leading
    axes, for SciPy functions that take one matrix at a time; tuples are stacked."""
    mats = [np.asarray(x) for x in arrays]
    lead = np.broadcast_shapes(*[x.shape[:-2] for x in mats])
    if not lead:
        return fn(*mats)
    mats = [np.broadcast_to(x, lead + x.shape[-2:]) for x in mats]
    outs = [fn(*[x[i] for x in mats]) for i in np.ndindex(lead)]
    if isinstance(outs[0], tuple):
        return tuple(np.stack(o).reshape(lead + o[0].shape) for o in zip(*outs, strict=True))
    return np.stack(outs).reshape(lead + outs[0].shape)


def _real_result(name: str, x: np.ndarray, like: Any) -> np.ndarray:
    """SciPy's result, which is complex when no real one exists, as a real array of
    the input's floating dtype; a clear error for the complex case."""
    if np.iscomplexobj(x):
        if np.all(x.imag == 0):
            x = x.real
        else:
            raise ValueError(
                f"{name}: the input has eigenvalues on the closed negative real axis, so the "
                "result is complex; riesz differentiates real matrix functions only"
            )
    return x.astype(np.result_type(like, np.float32) if like.dtype.kind == "f" else np.float64,
                    copy=False)


def _as_double(a: np.ndarray) -> np.ndarray:
    """Single-precision input computed in double (SciPy's accuracy checks of sqrtm and
    logm assume double precision), and returned in the input's dtype."""
    return a.astype(np.float64) if a.dtype.itemsize < 8 else a


# -- Sylvester equation A X + X B = Q (scipy.linalg.solve_sylvester) ---------------------
# Differentiating the equation: A ∂X + ∂X B = ∂Q - ∂A X - X ∂B, another Sylvester solve
# with the same A and B. Its adjoint (under Re⟨·,·⟩) is the conjugate-transposed
# equation: with Aᴴ Y + Y Bᴴ = X̄, Q̄ = Y, Ā = -Y Xᴴ, B̄ = -Xᴴ Y (ᴴ = ᵀ on real arrays).


def _sylvester_impl(a: Any, b: Any, q: Any) -> Any:
    d = np.result_type(a, b, q)  # one dtype: SciPy's solver is wrong on complex a with real b
    a, b, q = (np.asarray(v).astype(d, copy=False) for v in (a, b, q))
    return _over_leading(scipy.linalg.solve_sylvester, a, b, q).astype(d, copy=False)


solve_sylvester_p = Primitive(
    "solve_sylvester", host_only(_sylvester_impl, "scipy.linalg.solve_sylvester"),
    notes="X with A X + X B = Q (Bartels-Stewart); defined when A and -B share no "
    "eigenvalue; ∂X and X̄ are Sylvester solves with (A, B) and (Aᴴ, Bᴴ)",
)


def _sylvester(a: Any, b: Any, q: Any) -> Any:
    return bind(solve_sylvester_p, a, b, q)


def _sylvester_jvp(primals: Any, tangents: Any, ans: Any) -> Any:
    (a, b, _), (ta, tb, tq) = primals, tangents
    rhs = None
    if tq is not None:
        rhs = tq
    if ta is not None:
        rhs = taylor.add(rhs, -_mm(ta, ans))
    if tb is not None:
        rhs = taylor.add(rhs, -_mm(ans, tb))
    if rhs is None:
        return None
    if rhs.shape != ans.shape:
        rhs = bind(broadcast_to_p, rhs, shape=ans.shape)
    return _sylvester(a, b, rhs)


def _sylvester_vjp(g: Any, ans: Any, primals: Any, argnums: Any) -> list[Any]:
    a, b, q = primals
    y = _sylvester(_mH(a), _mH(b), g)
    out: list[Any] = []
    for k in argnums:
        if k == 0:
            out.append(unbroadcast(-_mm(y, _mH(ans)), a.shape, a.dtype))
        elif k == 1:
            out.append(unbroadcast(-_mm(_mH(ans), y), b.shape, b.dtype))
        else:
            out.append(unbroadcast(y, q.shape, q.dtype))
    return out


solve_sylvester_p.def_joint_jvp(_sylvester_jvp).def_joint_vjp(_sylvester_vjp)


def _aligned_leading_batch(prim: Primitive) -> Primitive:
    """Operations on matrices that broadcast leading axes: the batch axis goes in
    front of every operand, followed by unit axes that line the stacks up."""

    def rule(vals: list[Any], dims: list[int | None], **params: Any) -> Any:
        size = batch_size(vals, dims)
        vals = [broadcast_batch(v, d, size) for v, d in zip(vals, dims, strict=True)]
        nd = max(len(shape_of(v)) for v in vals)
        vals = [bind(reshape_p, v, shape=(size, *(1,) * (nd - len(shape_of(v))),
                                          *shape_of(v)[1:])) for v in vals]
        return bind(prim, *vals, **params), 0

    rule.__name__ = f"{prim.name}_batch"
    return prim.def_batch(rule)


_aligned_leading_batch(solve_sylvester_p)


def _sylvester_jet(primals: list[Any], series: list[Any]) -> tuple[Any, Any]:
    """A_0 X_k + X_k B_0 = Q_k - Σ_{j=1}^k (A_j X_(k-j) + X_(k-j) B_j): one solve per order
    with the same A_0, B_0."""
    (a, b, q), (sa, sb, sq) = primals, series
    K = taylor.series_order(series)
    x0 = _sylvester(a, b, q)
    xs = [x0]
    for k in range(1, K + 1):
        rhs = _coef(sq, k)
        for j in range(1, k + 1):
            if xs[k - j] is None:
                continue
            if _coef(sa, j) is not None:
                rhs = taylor.add(rhs, -_mm(_coef(sa, j), xs[k - j]))
            if _coef(sb, j) is not None:
                rhs = taylor.add(rhs, -_mm(xs[k - j], _coef(sb, j)))
        if rhs is not None and rhs.shape != x0.shape:
            rhs = bind(broadcast_to_p, rhs, shape=x0.shape)
        xs.append(None if rhs is None else _sylvester(a, b, rhs))
    return x0, xs[1:]


solve_sylvester_p.def_jet(_sylvester_jet)

# -- principal square root (scipy.linalg.sqrtm; Higham 2008, §6.1) -------------------------
# X² = A: X ∂X + ∂X X = ∂A, a Sylvester equation with A = B = X; its adjoint is the
# same equation at Xᵀ: Xᵀ Ā + Ā Xᵀ = X̄. Both are solve_sylvester, so they differentiate
# again. Defined where A has no eigenvalue on the closed negative real axis.


def _sqrtm_impl(a: Any) -> Any:
    a = np.asarray(a)
    return _real_result("sqrtm", scipy.linalg.sqrtm(_as_double(a)), a)


sqrtm_p = Primitive(
    "sqrtm", host_only(_sqrtm_impl, "scipy.linalg.sqrtm"),
    notes="principal square root (real input with no eigenvalue in (-∞, 0]); ∂X solves the "
    "Sylvester equation X ∂X + ∂X X = ∂A",
)


def _sqrtm_jvp(t: Any, ans: Any, a: Any) -> Any:
    if t.shape != ans.shape:
        t = bind(broadcast_to_p, t, shape=ans.shape)
    return _sylvester(ans, ans, t)


def _sqrtm_vjp(g: Any, ans: Any, a: Any) -> Any:
    xt = _mT(ans)
    return unbroadcast(_sylvester(xt, xt, g), a.shape, a.dtype)


sqrtm_p.def_jvp(_sqrtm_jvp).def_vjp(_sqrtm_vjp)
leading_batch(sqrtm_p)
_primary_function_jet(sqrtm_p)

# -- principal logarithm (scipy.linalg.logm; Higham 2008, §11; Mathias 1996) -------------
# For a primary matrix function f, f([[A, E], [0, A]]) = [[f(A), L_f(A, E)], [0, f(A)]]
# with L_f(A, E) the Fréchet derivative: ∂logm(A)[E] is the top-right block of a logm of
# the 2n × 2n block matrix (equivalently, the solution L of L_exp(logm A, L) = E). The
# adjoint of L_f(A, ·) is L_f(Aᵀ, ·) (f has a real power series on the spectrum).


def _logm_impl(a: Any) -> Any:
    a = np.asarray(a)
    return _real_result("logm", scipy.linalg.logm(_as_double(a)), a)


logm_p = Primitive(
    "logm", host_only(_logm_impl, "scipy.linalg.logm"),
    notes="principal logarithm (real input with no eigenvalue in (-∞, 0]); derivative: the "
    "Fréchet derivative, top-right block of logm([[A, E], [0, A]])",
)


def _block_frechet(prim: Primitive, a: Any, e: Any) -> Any:
    """L_f(A, E) = [f([[A, E], [0, A]])]_{12}, with riesz operations."""
    n = a.shape[-1]
    if e.shape != a.shape:
        e = bind(broadcast_to_p, e, shape=a.shape)
    big = bind(prim, _block_toeplitz(a, [e]))
    return bind(getitem_p, big, index=(Ellipsis, slice(0, n), slice(n, 2 * n)))


def _logm_jvp(t: Any, ans: Any, a: Any) -> Any:
    return _block_frechet(logm_p, a, t)


def _logm_vjp(g: Any, ans: Any, a: Any) -> Any:
    return unbroadcast(_block_frechet(logm_p, _mT(a), g), a.shape, a.dtype)


logm_p.def_jvp(_logm_jvp).def_vjp(_logm_vjp)
leading_batch(logm_p)
_primary_function_jet(logm_p)


def frechet_expm(a: Any, e: Any) -> Any:
    """L_exp(A, E), the Fréchet derivative of expm at A in the direction E."""
    return _frechet(a, e)


# -- LU factorisation (scipy.linalg.lu_factor) --------------------------------------------
# P A = L U (P from the pivots, L unit lower, U upper, stored together in `lu`). With
# F = L⁻¹ P ∂A U⁻¹: ∂L = L tril(F, -1), ∂U = triu(F) U, so ∂lu = ∂L + ∂U. Since
# L⁻¹ P = U A⁻¹, F = U A⁻¹ ∂A U⁻¹ needs no permutation (which keeps the rules free of
# integer data that vmap would batch). Adjoint, with M = tril(Lᴴ L̄, -1) + triu(Ū Uᴴ) for
# L̄ = tril(lū, -1), Ū = triu(lū): Ā = A⁻ᴴ Uᴴ M U⁻ᴴ (ᴴ = ᵀ on real A; on complex A the
# factorisation is holomorphic and the adjoint under Re⟨·,·⟩ conjugates). Defined where A
# is nonsingular (and the pivots do not change, which holds off a set of measure zero).


def _pivots_to_permutation(piv: np.ndarray) -> np.ndarray:
    """The row order `perm` with A[perm] = L U, from LAPACK's row swaps."""
    perm = np.broadcast_to(np.arange(piv.shape[-1], dtype=piv.dtype), piv.shape).copy()
    for idx in np.ndindex(piv.shape[:-1]):
        p, sw = perm[idx], piv[idx]
        for i, j in enumerate(sw):
            p[i], p[j] = p[j], p[i]
    return perm


def _lu_factor_impl(a: Any) -> tuple[Any, Any, Any]:
    lu, piv = _over_leading(lambda m: scipy.linalg.lu_factor(m, check_finite=False), a)
    perm = _pivots_to_permutation(piv)
    return lu, piv, perm


lu_factor_p = Primitive(
    "lu_factor", host_only(_lu_factor_impl, "scipy.linalg.lu_factor"),
    multiple_results=True,
    notes="outputs (lu, piv, perm) with A[perm] = L U; the integer outputs have no "
    "derivative; ∂lu = L tril(F, -1) + triu(F) U with F = U A⁻¹ ∂A U⁻¹",
)


def _lu_parts(lu: Any) -> tuple[Any, Any]:
    n = lu.shape[-1]
    return _tril(lu, -1) + _eye_like(lu, n), _triu(lu)


def _lu_factor_jvp(primals: Any, tangents: Any, ans: Any) -> Any:
    (a,), (t,) = primals, tangents
    if t is None:
        return None
    lu = ans[0]
    low, up = _lu_parts(lu)
    f = _right_solve_upper(_mm(up, bind(solve_p, a, t)), up)
    return _mm(low, _tril(f, -1)) + _mm(_triu(f), up), None, None


def _lu_factor_vjp(g: Any, ans: Any, primals: Any, argnums: Any) -> list[Any]:
    (a,) = primals
    glu = g[0]
    if glu is None:
        return [None]
    low, up = _lu_parts(ans[0])  # complex: every transpose of the real rule becomes ᴴ
    m = _tril(_mm(_mH(low), _tril(glu, -1)), -1) + _triu(_mm(_triu(glu), _mH(up)))
    return [bind(solve_p, _mH(a), _mm(_mH(up), _right_solve_upper_h(m, up)))]


lu_factor_p.def_joint_jvp(_lu_factor_jvp).def_joint_vjp(_lu_factor_vjp)
leading_batch(lu_factor_p)
taylor.jet_from_jvp(lu_factor_p)  # the general rule

# -- banded solve (scipy.linalg.solve_banded) ---------------------------------------------
# ab holds A's diagonals: ab[u + i - j, j] = A[i, j]. x = A⁻¹ b: ∂x = A⁻¹ (∂b - ∂A x),
# b̄ = A⁻ᴴ x̄, ab̄[r, j] = -b̄[j + r - u] · conj(x[j]) (the band of -b̄ xᴴ). A⁻ᵀ is the same
# primitive with `trans`; ∂A x is a banded product of O(n (l + u + 1)) operations.


def _transpose_band(ab: np.ndarray, lower: int, upper: int) -> np.ndarray:
    """The band storage of Aᵀ (lower and upper swap): abT[l + i - j, j] = A[j, i]."""
    n = ab.shape[-1]
    out = np.zeros_like(ab)
    for r in range(lower + upper + 1):
        src = lower + upper - r  # row of ab holding the same diagonal
        shift = r - lower  # abT[r, j] = ab[src, j + shift]
        lo, hi = max(0, -shift), min(n, n - shift)
        out[..., r, lo:hi] = ab[..., src, lo + shift:hi + shift]
    return out


def _solve_banded_impl(ab: Any, b: Any, lower: int, upper: int, trans: int) -> Any:
    ab = np.asarray(ab)
    if trans:
        ab, lower, upper = _transpose_band(ab, lower, upper), upper, lower

    def solve(ab: Any, b: Any) -> Any:
        return scipy.linalg.solve_banded((lower, upper), ab, b, check_finite=False)

    x = solve(ab, b) if np.ndim(b) == 1 else _over_leading(solve, ab, b)
    return x.astype(np.result_type(ab, b), copy=False)


solve_banded_p = Primitive(
    "solve_banded", host_only(_solve_banded_impl, "scipy.linalg.solve_banded"),
    notes="x = A⁻¹ b (A⁻ᵀ b with trans=1) for A in LAPACK band storage ab (lower, upper); "
    "undefined for singular A",
)


def _shift(v: Any, s: int, axis: int) -> Any:
    """w[i] = v[i - s] along `axis` (a negative axis), 0 where i - s is outside."""
    n = v.shape[axis]
    if s == 0:
        return v
    if abs(s) >= n:
        return v * 0
    pad_shape = list(v.shape)
    pad_shape[axis] = abs(s)
    pad = zeros(pad_shape, v.dtype, v)
    rest = (slice(None),) * (-axis - 1)
    if s > 0:
        kept = bind(getitem_p, v, index=(Ellipsis, slice(0, n - s), *rest))
        return bind(concatenate_p, pad, kept, axis=v.ndim + axis)
    kept = bind(getitem_p, v, index=(Ellipsis, slice(-s, n), *rest))
    return bind(concatenate_p, kept, pad, axis=v.ndim + axis)


def _band_row(ab: Any, r: int) -> Any:
    """Row r of the band storage, (..., n)."""
    return bind(getitem_p, ab, index=(Ellipsis, r, slice(None)))


def _stack_rows(rows: list[Any]) -> Any:
    return bind(concatenate_p, *[bind(reshape_p, v, shape=(*v.shape[:-1], 1, v.shape[-1]))
                                 for v in rows], axis=rows[0].ndim - 1)


def _band_matvec(ab: Any, x: Any, lower: int, upper: int) -> Any:
    """A x for A in band storage: (A x)[i] = Σ_r ab[r, i - (r - u)] x[i - (r - u)];
    x is (n,) or (..., n, k)."""
    axis = -1 if x.ndim == 1 else -2
    out = None
    for r in range(lower + upper + 1):
        row = _band_row(ab, r)
        if x.ndim > 1:
            row = _col(row)
        term = _shift(row * x, r - upper, axis)
        out = term if out is None else out + term
    return out


def _band_outer(gb: Any, x: Any, lower: int, upper: int) -> Any:
    """The band of gb xᵀ: out[r, j] = Σ_k gb[j + r - u, k] x[j, k]."""
    axis = -1 if x.ndim == 1 else -2
    rows = []
    for r in range(lower + upper + 1):
        prod = _shift(gb, upper - r, axis) * x
        if x.ndim > 1:
            prod = bind(sum_p, prod, axis=(prod.ndim - 1,), keepdims=False)
        rows.append(prod)
    return _stack_rows(rows)


def _solve_banded_jvp_ab(t: Any, ans: Any, ab: Any, b: Any, lower: int, upper: int,
                         trans: int) -> Any:
    if trans:  # ∂(Aᵀ) x, with ∂Aᵀ in its own band storage (lower and upper swapped)
        rhs = -_band_matvec(_transpose_band_traced(t, lower, upper), ans, upper, lower)
    else:
        rhs = -_band_matvec(t, ans, lower, upper)
    if rhs.shape != ans.shape:
        rhs = bind(broadcast_to_p, rhs, shape=ans.shape)
    return bind(solve_banded_p, ab, rhs, lower=lower, upper=upper, trans=trans)


def _transpose_band_traced(ab: Any, lower: int, upper: int) -> Any:
    """`_transpose_band` with riesz operations (a shift per diagonal)."""
    return _stack_rows([_shift(_band_row(ab, lower + upper - r), lower - r, -1)
                        for r in range(lower + upper + 1)])


def _solve_banded_jvp_b(t: Any, ans: Any, ab: Any, b: Any, lower: int, upper: int,
                        trans: int) -> Any:
    if t.shape != ans.shape:
        t = bind(broadcast_to_p, t, shape=ans.shape)
    return bind(solve_banded_p, ab, t, lower=lower, upper=upper, trans=trans)


def _banded_adjoint_solve(g: Any, ab: Any, lower: int, upper: int, trans: int) -> Any:
    """b̄ = op(A)⁻ᴴ g = conj(op(A)⁻ᵀ conj(g)) (the transposed solve on real arrays)."""
    return conj(bind(solve_banded_p, ab, conj(g), lower=lower, upper=upper, trans=1 - trans))


def _solve_banded_vjp_b(g: Any, ans: Any, ab: Any, b: Any, lower: int, upper: int,
                        trans: int) -> Any:
    return unbroadcast(_banded_adjoint_solve(g, ab, lower, upper, trans), b.shape, b.dtype)


def _solve_banded_vjp_ab(g: Any, ans: Any, ab: Any, b: Any, lower: int, upper: int,
                         trans: int) -> Any:
    gb = _banded_adjoint_solve(g, ab, lower, upper, trans)
    if trans:  # ∂(Aᵀ) x: the band of -conj(x) b̄ᵀ
        gab = -_band_outer(conj(ans), gb, lower, upper)
    else:  # the band of -b̄ xᴴ
        gab = -_band_outer(gb, conj(ans), lower, upper)
    return unbroadcast(gab, ab.shape, ab.dtype)


solve_banded_p.def_jvp(_solve_banded_jvp_ab, _solve_banded_jvp_b)
solve_banded_p.def_vjp(_solve_banded_vjp_ab, _solve_banded_vjp_b)
_solve_batching(solve_banded_p)  # the impl maps over leading axes of ab and b


def _solve_banded_jet(primals: list[Any], series: list[Any], lower: int, upper: int,
                      trans: int) -> tuple[Any, Any]:
    """op(A_0) X_k = B_k - Σ_{j=1}^k op(A_j) X_(k-j), the products banded."""
    (ab, b), (sab, sb) = primals, series
    K = taylor.series_order(series)
    x0 = bind(solve_banded_p, ab, b, lower=lower, upper=upper, trans=trans)
    xs = [x0]
    for k in range(1, K + 1):
        rhs = _coef(sb, k)
        for j in range(1, k + 1):
            t = _coef(sab, j)
            if t is None or xs[k - j] is None:
                continue
            if trans:
                rhs = taylor.add(rhs, -_band_matvec(_transpose_band_traced(t, lower, upper),
                                                    xs[k - j], upper, lower))
            else:
                rhs = taylor.add(rhs, -_band_matvec(t, xs[k - j], lower, upper))
        if rhs is not None and rhs.shape != x0.shape:
            rhs = bind(broadcast_to_p, rhs, shape=x0.shape)
        xs.append(None if rhs is None else
                  bind(solve_banded_p, ab, rhs, lower=lower, upper=upper, trans=trans))
    return x0, xs[1:]


solve_banded_p.def_jet(_solve_banded_jet)

# -- least squares (scipy.linalg.lstsq; Golub & Pereyra 1973) -----------------------------
# x = A⁺ b, the minimum-norm least-squares solution. With r = b - A x and L(A, v) = A⁺ v
# (this primitive again):
#   ∂x = A⁺ (∂b - ∂A x) + (I - A⁺ A) ∂Aᵀ A⁺ᵀ x + A⁺ A⁺ᵀ ∂Aᵀ r,
# exact where the rank of A is locally constant (full rank in particular; then one of the
# last two terms vanishes). Adjoint, with z = A⁺ᵀ x̄, y = A⁺ᵀ x, h = (I - A⁺ A) x̄, w = A⁺ z:
#   b̄ = z,  Ā = -z xᵀ + y hᵀ + r wᵀ.


def _lstsq_impl(a: Any, b: Any, cond: Any) -> Any:
    def solve(a: Any, b: Any) -> Any:
        return scipy.linalg.lstsq(a, b, cond=cond, check_finite=False)[0]

    x = solve(a, b) if np.ndim(b) == 1 else _over_leading(solve, a, b)
    return x.astype(np.result_type(a, b), copy=False)


lstsq_p = Primitive(
    "lstsq", host_only(_lstsq_impl, "numpy.linalg.lstsq"),
    notes="minimum-norm least-squares solution A⁺ b (LAPACK gelsd); derivative by the "
    "Golub-Pereyra formula, exact where the rank of A is locally constant",
)


def _pinv_apply(a: Any, v: Any, cond: Any) -> Any:
    return bind(lstsq_p, a, v, cond=cond)


def _lstsq_jvp(primals: Any, tangents: Any, ans: Any, cond: Any) -> Any:
    (a, b), (ta, tb) = primals, tangents
    if ta is None and tb is None:
        return None
    vec = b.ndim == 1
    x = _as_matrix(ans, vec)
    rhs = None if tb is None else _as_matrix(tb, vec)
    if ta is None:
        return _from_matrix(_pinv_apply(a, rhs, cond), vec)
    rhs = taylor.add(rhs, -_mm(ta, x))
    out = _pinv_apply(a, rhs, cond)
    r = _as_matrix(b, vec) - _mm(a, x)
    tat = _mT(ta)
    w = _mm(tat, _pinv_apply(_mT(a), x, cond))
    out = out + w - _pinv_apply(a, _mm(a, w), cond)
    out = out + _pinv_apply(a, _pinv_apply(_mT(a), _mm(tat, r), cond), cond)
    return _from_matrix(out, vec)


def _lstsq_vjp(g: Any, ans: Any, primals: Any, argnums: Any, cond: Any) -> list[Any]:
    a, b = primals
    vec = b.ndim == 1
    gm, x = _as_matrix(g, vec), _as_matrix(ans, vec)
    z = _pinv_apply(_mT(a), gm, cond)
    out: list[Any] = []
    for k in argnums:
        if k == 1:
            out.append(_from_matrix(z, vec))
            continue
        y = _pinv_apply(_mT(a), x, cond)
        h = gm - _pinv_apply(a, _mm(a, gm), cond)
        w = _pinv_apply(a, z, cond)
        r = _as_matrix(b, vec) - _mm(a, x)
        out.append(-_mm(z, _mT(x)) + _mm(y, _mT(h)) + _mm(r, _mT(w)))
    return out


lstsq_p.def_joint_jvp(_lstsq_jvp).def_joint_vjp(_lstsq_vjp)
_solve_batching(lstsq_p)  # the impl maps over leading axes of a and b


def _lstsq_jet(primals: list[Any], series: list[Any], cond: Any) -> tuple[Any, Any]:
    """Full rank only. m >= n: the normal equations M x = c, M = Aᵀ A, c = Aᵀ b, so
    M_0 x_k = c_k - Σ_{j=1}^k M_j x_(k-j), with M_0⁻¹ v = A_0⁺ A_0⁺ᵀ v (two lstsq solves).
    m < n: x = Aᵀ y with N y = b, N = A Aᵀ, N_0⁻¹ v = A_0⁺ᵀ A_0⁺ v, x_k = Σ_j (Aᵀ)_j y_(k-j).
    One order costs O(k) products and two solves with A_0: polynomial in K."""
    (a, b), (sa, sb) = primals, series
    K = taylor.series_order(series)
    vec = b.ndim == 1
    raw = _raw(a)
    if isinstance(raw, np.ndarray) and np.linalg.matrix_rank(raw) < min(raw.shape[-2:]):
        raise NotImplementedError(
            "jet of lstsq: the Taylor rule needs a full-rank matrix a (at a rank-deficient a "
            "use nested jvp, exact where the rank is locally constant)"
        )
    x0 = bind(lstsq_p, a, b, cond=cond)
    m, n = a.shape[-2:]
    A = [a, *(sa if sa is not None else [None] * K)]
    Bs = [_as_matrix(b, vec),
          *[None if c is None else _as_matrix(c, vec) for c in (sb or [None] * K)]]
    At = [None if c is None else _mT(c) for c in A]

    def mm(u: Any, v: Any) -> Any:
        return _mm(u, v)

    def pinv(u: Any) -> Any:
        return _pinv_apply(a, u, cond)

    def pinv_t(u: Any) -> Any:
        return _pinv_apply(_mT(a), u, cond)

    if m >= n:
        M = [taylor.cauchy(At, A, k, mm) for k in range(K + 1)]
        C = [taylor.cauchy(At, Bs, k, mm) for k in range(K + 1)]
        xs = [_as_matrix(x0, vec)]
        for k in range(1, K + 1):
            rhs = C[k]
            for j in range(1, k + 1):
                if M[j] is not None and xs[k - j] is not None:
                    rhs = taylor.add(rhs, -_mm(M[j], xs[k - j]))
            xs.append(None if rhs is None else pinv(pinv_t(rhs)))
        out = xs[1:]
    else:
        N = [taylor.cauchy(A, At, k, mm) for k in range(K + 1)]
        ys = [pinv_t(_as_matrix(x0, vec))]  # y_0 = N_0⁻¹ b_0 = A_0⁺ᵀ x_0
        for k in range(1, K + 1):
            rhs = Bs[k]
            for j in range(1, k + 1):
                if N[j] is not None and ys[k - j] is not None:
                    rhs = taylor.add(rhs, -_mm(N[j], ys[k - j]))
            ys.append(None if rhs is None else pinv_t(pinv(rhs)))
        out = [taylor.cauchy(At, ys, k, mm) for k in range(1, K + 1)]
    return x0, [None if x is None else _from_matrix(x, vec) for x in out]


lstsq_p.def_jet(_lstsq_jet)
