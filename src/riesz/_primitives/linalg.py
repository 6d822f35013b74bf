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
from .._interpreters import taylor
from ._batch_axes import batch_size, broadcast_batch, leading_batch, shape_of
from ._util import any_set, conj, is_complex, kept_shape, tri_mask, unbroadcast
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
    primitive such as riesz.scipy.linalg.expm). See riesz._primitives.linalg."""


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
    "triangular_solve", _triangular_solve_impl,
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
    "det", np.linalg.det,
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
    if np.all(raw_value(ans) != 0):
        return ans * _trace_inv_times(a, t)
    return bind(sum_p, _cofactors(a) * t, axis=(a.ndim - 2, a.ndim - 1), keepdims=False)


def _det_vjp(g: Any, ans: Any, a: Any) -> Any:
    if np.all(raw_value(ans) != 0):
        return _scaled_inv_t(g * conj(ans), a)
    return bind(reshape_p, g, shape=(*g.shape, 1, 1)) * conj(_cofactors(a))


det_p.def_jvp(_det_jvp).def_vjp(_det_vjp)
leading_batch(det_p)
taylor.jet_from_jvp(det_p)  # the general rule


def _slogdet_impl(a: Any) -> tuple[Any, Any]:
    sign, logabsdet = np.linalg.slogdet(a)
    return sign, logabsdet


slogdet_p = Primitive(
    "slogdet", _slogdet_impl, multiple_results=True,
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
    "eigh", _eigh_impl, multiple_results=True,
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
    gy = np.zeros(y.shape, a.dtype) if gv is None else _mm(q, gv)
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
    "pinv", _pinv_impl,
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
    x = np.asarray(x)
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
    "expm", scipy.linalg.expm,
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
    return _frechet(_mH(a), g)  # the adjoint of L(A, ·) under Re⟨·,·⟩ is L(Aᴴ, ·)


expm_p.def_jvp(_expm_jvp).def_vjp(_expm_vjp)
leading_batch(expm_p)  # scipy's expm maps over leading axes

# Taylor mode:
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
