"""Regression tests for derivatives and values at numerical edge cases (issue 8):
power series at x = 0, NaN / inf / empty inputs, and vmap of value-dependent
functions, each against an independent oracle (nested jvp, NumPy's own value,
finite differences, a Python loop)."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

import riesz
import riesz.numpy as rnp
from finite_differences import fd_grad
from riesz.numpy.linalg import DegenerateDerivativeWarning


def _nested_jvp(f: Any, x: np.ndarray, v: np.ndarray, K: int) -> list[np.ndarray]:
    """The derivatives 1..K of t ↦ f(x + t v) at 0 by nested jvp (the oracle)."""
    out = []
    g = f
    for _ in range(K):
        g = (lambda h: lambda y: riesz.jvp(h, (y,), (v,))[1])(g)
        out.append(np.asarray(g(x)))
    return out


def _assert_series_match(series: list[Any], want: list[np.ndarray]) -> None:
    """Equal where the oracle is finite; non-finite where it is not (an infinite
    derivative may come out as NaN: inf · 0 inside a Cauchy product)."""
    for got, ref in zip(series, want, strict=True):
        got = np.asarray(got)
        finite = np.isfinite(ref)
        np.testing.assert_allclose(got[finite], ref[finite], rtol=1e-12, atol=1e-12)
        assert not np.isfinite(got[~finite]).any()


# -- jet of x ** p where x = 0 -----------------------------------------------------


@pytest.mark.parametrize("p", [2.5, 0.5, 3.0, -1.5, 1.0 / 3, "array"])
def test_jet_of_power_at_zero_matches_nested_jvp(p: Any) -> None:
    x = np.array([0.0, 0.7, 0.0, 1.3])
    v = np.array([1.0, -0.4, -2.0, 0.5])
    expo = np.array([2.5, 3.0, 1.5, 0.5]) if p == "array" else p
    f = lambda y: y ** expo  # noqa: E731
    with np.errstate(all="ignore"):
        _, series = riesz.jet(f, (x,), ([v, np.zeros(4), np.zeros(4)],))
        want = _nested_jvp(f, x, v, 3)
    _assert_series_match(series, want)


def test_jet_of_power_at_zero_closed_form() -> None:
    # x(t) = t: y = t^2.5 has y' = y'' = 0 at t = 0; t^3 has third derivative 6
    with np.errstate(divide="ignore", invalid="ignore"):
        _, s = riesz.jet(lambda y: y ** np.array([2.5, 3.0]), (np.zeros(2),),
                         ([np.ones(2), np.zeros(2), np.zeros(2)],))
    np.testing.assert_array_equal(s[0], [0.0, 0.0])
    np.testing.assert_array_equal(s[1], [0.0, 0.0])
    assert s[2][1] == 6.0
    assert not np.isnan(s[2][0])  # t^2.5: y''' = 2.5 · 1.5 · 0.5 t^-0.5 → inf, never NaN


def test_jet_of_power_with_varying_exponent_at_zero() -> None:
    x = np.array([0.0, 0.8])
    f = lambda y: y ** (2.5 + y)  # noqa: E731
    v = np.array([1.0, 0.3])
    with np.errstate(all="ignore"):
        _, series = riesz.jet(f, (x,), ([v, np.zeros(2)],))
        want = _nested_jvp(f, x, v, 2)
    _assert_series_match(series, want)


# -- NaN / inf where NumPy defines the result ----------------------------------------


@pytest.mark.parametrize("shape,axis", [((5,), None), ((4,), None), ((3, 4), 1), ((3, 4), 0),
                                        ((2, 3, 4), (0, 2))])
def test_median_with_nan_is_nan_as_numpy(shape: tuple[int, ...], axis: Any) -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape)
    x.flat[1] = np.nan
    want = np.median(x, axis=axis)
    np.testing.assert_array_equal(np.isnan(rnp.median(x, axis=axis)), np.isnan(want))
    np.testing.assert_allclose(rnp.median(x, axis=axis), want)
    # vmap over the first axis against a loop
    if x.ndim > 1 and axis is not None:
        inner = axis - 1 if isinstance(axis, int) else tuple(a - 1 for a in axis)
        if (np.ndim(inner) == 0 and inner >= 0) or (np.ndim(inner) and min(inner) >= 0):
            got = riesz.vmap(lambda r: rnp.median(r, axis=inner))(x)
            np.testing.assert_allclose(got, np.stack([np.median(r, axis=inner) for r in x]))


def test_median_gradient_with_and_without_nan() -> None:
    x = np.array([3.0, np.nan, 1.0, 2.0])
    g = riesz.grad(lambda y: rnp.median(y))(x)
    np.testing.assert_array_equal(g, [0.0, 1.0, 0.0, 0.0])  # the NaN passes through
    y = np.array([3.0, 0.5, 1.0, 2.0])  # no NaN: finite differences
    np.testing.assert_allclose(riesz.grad(lambda z: rnp.median(z))(y),
                               fd_grad(lambda z: np.median(z), y), atol=1e-8)
    rows = np.array([[3.0, np.nan, 1.0], [3.0, 0.5, 1.0]])
    got = riesz.vmap(riesz.grad(lambda r: rnp.median(r)))(rows)
    np.testing.assert_array_equal(got, [[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])


@pytest.mark.parametrize("axis", [None, 0, 1])
def test_norm_with_inf_is_inf_as_numpy(axis: Any) -> None:
    x = np.array([[1.0, np.inf, 2.0], [3.0, 4.0, -np.inf], [1.0, 2.0, 2.0]])
    np.testing.assert_allclose(rnp.linalg.norm(x, axis=axis), np.linalg.norm(x, axis=axis))
    x[2, 0] = np.nan
    np.testing.assert_allclose(rnp.linalg.norm(x, axis=axis), np.linalg.norm(x, axis=axis))
    got = riesz.vmap(rnp.linalg.norm)(x)
    np.testing.assert_array_equal(got, [np.linalg.norm(r) for r in x])


def test_norm_gradient_with_inf() -> None:
    # ∂‖x‖ = x / ‖x‖: 0 for the finite entries, undefined (NaN) for the infinite one
    with np.errstate(invalid="ignore"):
        g = riesz.grad(rnp.linalg.norm)(np.array([1.0, np.inf, -2.0]))
    np.testing.assert_array_equal(g, [0.0, np.nan, 0.0])
    y = np.array([1.0, 3.0, -2.0])
    np.testing.assert_allclose(riesz.grad(rnp.linalg.norm)(y), fd_grad(np.linalg.norm, y),
                               atol=1e-8)


# -- empty inputs -----------------------------------------------------------------------


@pytest.mark.parametrize("shape,axis", [((2, 0), 1), ((2, 0), 0), ((0,), None), ((0, 3), 0),
                                        ((2, 0), None)])
def test_logsumexp_of_an_empty_axis_is_minus_inf(shape: tuple[int, ...], axis: Any) -> None:
    import riesz.scipy.special as rsp

    x = np.zeros(shape)
    with np.errstate(divide="ignore"):  # the definition, log Σ e^x = log 0
        want = np.log(np.sum(np.exp(x), axis=axis))
    got = rsp.logsumexp(x, axis=axis)
    assert np.shape(got) == np.shape(want)
    np.testing.assert_array_equal(got, want)
    # nothing to differentiate: the gradient is an empty array of x's shape
    out, pullback = riesz.vjp(lambda y: rsp.logsumexp(y, axis=axis), x)
    (g,) = pullback(np.ones(np.shape(out)))
    assert g.shape == shape


@pytest.mark.parametrize("index", [[], ([], 1), [[]]])
def test_empty_integer_index_under_grad(index: Any) -> None:
    x = np.arange(6.0).reshape(3, 2)
    want = x[index]
    np.testing.assert_array_equal(rnp.asarray(x)[index], want)
    g = riesz.grad(lambda y: rnp.sum(y[index]) + rnp.sum(y ** 2))(x)
    np.testing.assert_allclose(g, 2 * x)  # the empty selection contributes nothing
    if index == []:
        assert riesz.vmap(lambda r: r[index])(x).shape == (3, 0)


# -- vmap of value-dependent functions (a Python loop is the oracle) --------------------


def test_nan_to_num_under_vmap() -> None:
    x = np.array([[1.0, np.nan, np.inf, -np.inf], [2.0, 3.0, -np.inf, np.nan]])
    for kw in ({}, {"nan": 1.0, "posinf": 2.0, "neginf": -3.0}):
        got = riesz.vmap(lambda r, kw=kw: rnp.nan_to_num(r, **kw))(x)
        np.testing.assert_array_equal(got, np.stack([np.nan_to_num(r, **kw) for r in x]))
    g = riesz.vmap(riesz.grad(lambda r: rnp.sum(rnp.nan_to_num(r, posinf=1.0, neginf=2.0)
                                                * 3.0)))(x)
    np.testing.assert_array_equal(g, np.where(np.isfinite(x), 3.0, 0.0))


def test_matrix_rank_under_vmap() -> None:
    rng = np.random.default_rng(2)
    A = rng.standard_normal((4, 3, 5))
    A[1] = np.outer(rng.standard_normal(3), rng.standard_normal(5))
    A[2] = 0.0
    S = A @ np.swapaxes(A, -1, -2)
    cases = [(A, {}), (A, {"tol": 0.5}), (A, {"rtol": 0.3}), (S, {"hermitian": True}),
             (A[:, 0], {})]
    for B, kw in cases:
        got = riesz.vmap(lambda b, kw=kw: rnp.linalg.matrix_rank(b, **kw))(B)
        np.testing.assert_array_equal(got, [np.linalg.matrix_rank(b, **kw) for b in B])


@pytest.mark.parametrize("fn", [rnp.unique, rnp.argwhere, rnp.flatnonzero,
                                lambda r: rnp.unique(r, return_counts=True)])
def test_value_dependent_shapes_under_vmap_raise_a_clear_error(fn: Any) -> None:
    x = np.array([[1.0, 1.0, 0.0], [1.0, 2.0, 3.0]])
    with pytest.raises(TypeError, match="output shape depends on the values"):
        riesz.vmap(fn)(x)
    fn(x[0])  # outside vmap: fine


def test_nonzero_under_vmap_with_different_counts_raises_a_clear_error() -> None:
    with pytest.raises(TypeError, match="output shape depends on the values"):
        riesz.vmap(rnp.nonzero)(np.array([[1.0, 0.0], [1.0, 1.0]]))
    (got,) = riesz.vmap(rnp.nonzero)(np.array([[1.0, 0.0], [0.0, 1.0]]))
    np.testing.assert_array_equal(got, [[0], [1]])


@pytest.mark.parametrize("op", ["set", "add", "subtract", "multiply", "divide", "power",
                                "min", "max"])
def test_at_update_at_per_example_indices_under_vmap(op: str) -> None:
    rng = np.random.default_rng(3)
    x = rng.uniform(0.5, 2.0, (3, 4))
    v = rng.uniform(0.5, 2.0, (3, 2))
    idx = np.array([[0, 1], [3, 2], [1, 3]])

    def f(xr: Any, ir: Any, vr: Any) -> Any:
        return getattr(rnp.at(xr)[ir], op)(vr)

    def loop(xs: np.ndarray, vs: np.ndarray) -> np.ndarray:
        return np.stack([np.asarray(f(a, i, b)) for a, i, b in zip(xs, idx, vs, strict=True)])

    np.testing.assert_allclose(riesz.vmap(f)(x, idx, v), loop(x, v), rtol=1e-14)
    # derivatives in x and in the values, against finite differences of the loop
    w = rng.standard_normal((3, 4))
    gx, gv = riesz.grad(lambda a, b: rnp.sum(riesz.vmap(f)(a, idx, b) * w), argnums=(0, 1))(x, v)
    np.testing.assert_allclose(gx, fd_grad(lambda a: np.sum(loop(a, v) * w), x), atol=1e-7)
    np.testing.assert_allclose(gv, fd_grad(lambda b: np.sum(loop(x, b) * w), v), atol=1e-7)
    # a gradient per example
    g = riesz.vmap(riesz.grad(lambda a, i: rnp.sum(getattr(rnp.at(a)[i], op)(a[0] * 2.0) ** 2)))(
        x, idx)
    want = np.stack([fd_grad(lambda a, i=i: float(np.sum(np.asarray(
        getattr(rnp.at(a)[i], op)(a[0] * 2.0)) ** 2)), xr) for xr, i in zip(x, idx, strict=True)])
    np.testing.assert_allclose(g, want, rtol=1e-6, atol=1e-6)


def test_at_update_under_vmap_with_a_repeated_target_raises() -> None:
    with pytest.raises(NotImplementedError, match="repeats a target"):
        riesz.vmap(lambda r, i: rnp.at(r)[i].set(0.0))(np.ones((2, 3)), np.array([[0, 0], [1, 2]]))
    # .add accumulates, as NumPy's np.add.at
    got = riesz.vmap(lambda r, i: rnp.at(r)[i].add(1.0))(np.ones((2, 3)),
                                                          np.array([[0, 0], [1, 2]]))
    np.testing.assert_array_equal(got, [[3.0, 1.0, 1.0], [1.0, 2.0, 2.0]])


# -- eigh / svd at exactly repeated eigenvalues / singular values -----------------------
# Oracle: finite differences in float64 of NumPy/SciPy functions (A ↦ A, expm, traces,
# projectors) along symmetric directions. Through (w, U) the first derivative is exact
# for traces and projectors; U f(w) Uᵀ cannot be (its derivative needs f'(λ) inside the
# eigenspace, which eigh's rules never see), so it must warn, never be silently wrong.


def _sym_random(n: int, seed: int) -> np.ndarray:
    b = np.random.default_rng(seed).standard_normal((n, n))
    return b + b.T


_Q = np.linalg.qr(np.random.default_rng(5).standard_normal((3, 3)))[0]
A_DEG = _Q @ np.diag([1.0, 1.0, 2.0]) @ _Q.T


def _fd_dir(f: Any, a: np.ndarray, t: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    return (np.asarray(f(a + eps * t)) - np.asarray(f(a - eps * t))) / (2 * eps)


def _lower_read(g: np.ndarray) -> np.ndarray:
    """The gradient of A ↦ f(sym_lower(A)) from the symmetric gradient g of f."""
    return np.tril(g) + np.tril(g.T, -1)


def _trace_exp(a: Any) -> Any:
    return rnp.sum(rnp.exp(rnp.linalg.eigvalsh(a)))


def _projector(a: Any) -> Any:  # onto the whole repeated eigenspace
    _, u = rnp.linalg.eigh(a)
    return u[:, :2] @ u[:, :2].T


def _np_projector(a: np.ndarray) -> np.ndarray:
    u = np.linalg.eigh(a)[1]
    return u[:, :2] @ u[:, :2].T


@pytest.mark.parametrize("A", [A_DEG, np.diag([1.0, 1.0, 2.0])], ids=["rotated", "diagonal"])
@pytest.mark.parametrize("f,ref", [(_trace_exp, lambda a: np.sum(np.exp(np.linalg.eigvalsh(a)))),
                                   (_projector, _np_projector)], ids=["trace", "projector"])
def test_eigh_traces_and_projectors_are_exact_at_a_repeated_eigenvalue(A, f, ref) -> None:
    T, G = _sym_random(3, 6), _sym_random(3, 7)
    want = _fd_dir(ref, A, T)
    with warnings.catch_warnings():  # forward mode may warn (it cannot see the use)
        warnings.simplefilter("ignore", DegenerateDerivativeWarning)
        _, jt = riesz.jvp(f, (A,), (T,))
    np.testing.assert_allclose(jt, want, atol=1e-7)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # reverse mode: exact, so no warning
        out, pullback = riesz.vjp(f, A)
        (ga,) = pullback(np.ones_like(np.asarray(out)) if np.ndim(out) == 0 else G)
    cot = 1.0 if np.ndim(out) == 0 else G
    # the adjoint identity <J T, G> = <T, Jᵀ G>, both sides against finite differences
    np.testing.assert_allclose(np.sum(ga * T), np.sum(want * cot), atol=1e-7)
    np.testing.assert_allclose(np.sum(jt * cot), np.sum(ga * T), atol=1e-7)


def _reconstruct(a: Any) -> Any:
    w, u = rnp.linalg.eigh(a)
    return (u * w) @ u.T


def _eig_expm(a: Any) -> Any:
    w, u = rnp.linalg.eigh(a)
    return (u * rnp.exp(w)) @ u.T


@pytest.mark.parametrize("f", [_reconstruct, _eig_expm], ids=["U w Ut", "U exp(w) Ut"])
def test_eigh_u_f_w_ut_at_a_repeated_eigenvalue_warns_in_reverse_mode(f) -> None:
    # at a diagonal matrix with the all-ones cotangent, the cotangent of w is even in the
    # repeated block: before issue 8 this gradient was wrong without any warning
    A = np.diag([1.0, 1.0, 2.0])
    ones = np.ones((3, 3))
    with pytest.warns(DegenerateDerivativeWarning, match="combines"):
        riesz.grad(lambda a: rnp.sum(f(a) * ones))(A)
    with pytest.warns(DegenerateDerivativeWarning):
        riesz.grad(lambda a: rnp.sum(f(a) * _sym_random(3, 8)))(A_DEG)
    with pytest.warns(DegenerateDerivativeWarning, match="splits"):
        riesz.jvp(f, (A_DEG,), (_sym_random(3, 9),))


def test_eigh_u_f_w_ut_is_exact_where_the_eigenvalues_are_distinct() -> None:
    A = _Q @ np.diag([1.0, 1.5, 2.0]) @ _Q.T
    T = _sym_random(3, 10)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, jt = riesz.jvp(_eig_expm, (A,), (T,))
        g = riesz.grad(lambda a: rnp.sum(_eig_expm(a) * T))(A)
    want = _fd_dir(scipy_expm, A, T)
    np.testing.assert_allclose(jt, want, atol=1e-7)
    np.testing.assert_allclose(g, _lower_read(_fd_expm_adjoint(A, T)), atol=1e-6)


def scipy_expm(a: np.ndarray) -> np.ndarray:
    import scipy.linalg

    return scipy.linalg.expm(a)


def _fd_expm_adjoint(a: np.ndarray, g: np.ndarray) -> np.ndarray:
    """The gradient of <g, expm(A)> over symmetric A, entry by entry (symmetric perturbations)."""
    out = np.zeros_like(a)
    for i, j in np.ndindex(a.shape):
        e = np.zeros_like(a)
        e[i, j] = e[j, i] = 1.0
        out[i, j] = np.sum(g * _fd_dir(scipy_expm, a, e)) / (1.0 if i == j else 2.0)
    return out


def test_expm_is_exact_at_a_repeated_eigenvalue_to_second_order() -> None:
    import riesz.scipy.linalg as rsl

    T, G = _sym_random(3, 11), _sym_random(3, 12)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, jt = riesz.jvp(rsl.expm, (A_DEG,), (T,))
        g = riesz.grad(lambda a: rnp.sum(rsl.expm(a) * G))(A_DEG)
        h = riesz.jvp(riesz.grad(lambda a: rnp.sum(rsl.expm(a) * G)), (A_DEG,), (T,))[1]
    np.testing.assert_allclose(jt, _fd_dir(scipy_expm, A_DEG, T), atol=1e-7)
    np.testing.assert_allclose(np.sum(g * T), np.sum(jt * G), rtol=1e-12)
    fd_g = lambda a: np.asarray(riesz.grad(lambda b: rnp.sum(rsl.expm(b) * G))(a))  # noqa: E731
    np.testing.assert_allclose(h, _fd_dir(fd_g, A_DEG, T), atol=1e-6)


_U3 = np.linalg.qr(np.random.default_rng(13).standard_normal((3, 3)))[0]
_V2 = np.linalg.qr(np.random.default_rng(14).standard_normal((2, 2)))[0]
M_DEG = _U3[:, :2] @ np.diag([2.0, 2.0]) @ _V2.T  # 3x2, singular value 2 twice


def test_svd_polar_factor_and_singular_value_sums_are_exact_at_repeated_values() -> None:
    T = np.random.default_rng(15).standard_normal((3, 2))

    def polar(m: Any) -> Any:
        u, _, vh = rnp.linalg.svd(m, full_matrices=False)
        return u @ vh

    def np_polar(m: np.ndarray) -> np.ndarray:
        u, _, vh = np.linalg.svd(m, full_matrices=False)
        return u @ vh

    G = np.random.default_rng(16).standard_normal((3, 2))
    for f, ref, cot in [(polar, np_polar, G),
                        (lambda m: rnp.sum(rnp.linalg.svd(m, compute_uv=False) ** 3),
                         lambda m: np.sum(np.linalg.svd(m, compute_uv=False) ** 3), 1.0)]:
        want = _fd_dir(ref, M_DEG, T)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DegenerateDerivativeWarning)
            _, jt = riesz.jvp(f, (M_DEG,), (T,))
        np.testing.assert_allclose(jt, want, atol=1e-7)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            g = riesz.grad(lambda m, f=f, cot=cot: rnp.sum(f(m) * cot))(M_DEG)
        np.testing.assert_allclose(np.sum(g * T), np.sum(want * cot), atol=1e-7)


def test_svd_u_s_vt_at_repeated_singular_values_warns_in_reverse_mode() -> None:
    # U diag(s) Vᵀ is M itself; with a cotangent whose U-V block has an even diagonal
    # the gradient was wrong without a warning before issue 8
    u, _, vh = np.linalg.svd(M_DEG, full_matrices=False)  # the basis riesz's svd sees too
    G = u @ np.ones((2, 2)) @ vh

    def recon(m: Any) -> Any:
        u, s, vh = rnp.linalg.svd(m, full_matrices=False)
        return (u * s) @ vh

    with pytest.warns(DegenerateDerivativeWarning, match="combines"):
        riesz.grad(lambda m: rnp.sum(recon(m) * G))(M_DEG)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # distinct singular values: exact, no warning
        M = _U3[:, :2] @ np.diag([2.0, 1.0]) @ _V2.T
        np.testing.assert_allclose(riesz.grad(lambda m: rnp.sum(recon(m) * G))(M), G,
                                   atol=1e-12)


# -- the batching rule of gather / scatter_add_indexed (per-example index arrays) -------

_GATHER_CASES = {
    "x[i]": lambda x, i, j: rnp.at(x)[i].get(),
    "x[:, j]": lambda x, i, j: rnp.at(x)[:, j].get(),
    "x[i, j]": lambda x, i, j: rnp.at(x)[i, j].get(),
    "x[i, :, 1]": lambda x, i, j: rnp.at(x)[i, :, 1].get(),
    "x[..., k]": lambda x, i, j: rnp.at(x)[..., i[:1] % 3].get(),
    "x[1, j]": lambda x, i, j: rnp.at(x)[1, j].get(),
    "x[:, j, 0]": lambda x, i, j: rnp.at(x)[:, j, 0].get(),
    "x[None, i]": lambda x, i, j: rnp.at(x)[None, i].get(),
    "x[i[:, None], j]": lambda x, i, j: rnp.at(x)[i[:, None], j].get(),
    "x[static, :, k]": lambda x, i, j: rnp.at(x)[np.array([0, 1]), :, i % 3].get(),
}


@pytest.mark.parametrize("name", list(_GATHER_CASES))
def test_gather_and_its_transpose_batch_without_a_loop(name: str, monkeypatch) -> None:
    import riesz._interpreters.batching as batching

    def no_fallback(self, prim, vals, dims, params):  # the rule must not decline here
        raise AssertionError(f"{prim.name} mapped slice by slice")

    monkeypatch.setattr(batching.BatchTrace, "_map_slices", no_fallback)
    f = _GATHER_CASES[name]
    rng = np.random.default_rng(17)
    x = rng.standard_normal((4, 5, 6, 3))
    i, j = rng.integers(0, 5, (4, 2)), rng.integers(0, 6, (4, 2))
    want = np.stack([np.asarray(f(x[b], i[b], j[b])) for b in range(4)])
    np.testing.assert_array_equal(riesz.vmap(f)(x, i, j), want)
    np.testing.assert_array_equal(riesz.vmap(f, in_axes=(None, 0, 0))(x[0], i, j),
                                  np.stack([np.asarray(f(x[0], i[b], j[b])) for b in range(4)]))
    # the transpose (scatter_add_indexed), batched: vmap of grad against a loop of grads
    w = rng.standard_normal(want.shape)
    loop = np.stack([riesz.grad(lambda z, b=b: rnp.sum(f(z, i[b], j[b]) * w[b]))(x[b])
                     for b in range(4)])
    got = riesz.vmap(lambda z, ib, jb, wb: riesz.grad(lambda y: rnp.sum(f(y, ib, jb) * wb))(z))(
        x, i, j, w)
    np.testing.assert_allclose(got, loop, rtol=1e-14)
    g = riesz.grad(lambda z: rnp.sum(riesz.vmap(f)(z, i, j) * w))(x)
    np.testing.assert_allclose(g, loop, rtol=1e-14)


# -- maximum / minimum: ties get half, NaN gets 0, the dtype is kept --------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["maximum", "minimum"])
def test_maximum_minimum_tie_weights(name: str, dtype: Any) -> None:
    """∂/∂x and ∂/∂y of sum(maximum(x, y)) against the closed form in NumPy: 1 for the
    strict winner, 1/2 each at ties (infinite ties included), 0 for the loser and
    wherever an operand is NaN; float32 operands keep float32 gradients."""
    inf, nan = np.inf, np.nan
    x = np.array([1.0, 2.0, 3.0, inf, -inf, nan, 1.0, nan, -0.0], dtype)
    y = np.array([2.0, 2.0, 1.0, inf, -inf, 1.0, nan, nan, 0.0], dtype)
    f = getattr(rnp, name)
    gx, gy = riesz.grad(lambda x, y: rnp.sum(f(x, y)), argnums=(0, 1))(x, y)
    wins = (x > y) if name == "maximum" else (x < y)
    loses = (x < y) if name == "maximum" else (x > y)
    want_x = np.where(wins, 1.0, np.where(x == y, 0.5, 0.0))
    want_y = np.where(loses, 1.0, np.where(x == y, 0.5, 0.0))
    assert gx.dtype == dtype and gy.dtype == dtype
    np.testing.assert_array_equal(gx, want_x)
    np.testing.assert_array_equal(gy, want_y)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["max", "min"])
def test_max_min_reduction_tie_weights_in_the_input_dtype(name: str, dtype: Any) -> None:
    """grad of sum(w * max(x, axis)) against the closed form in NumPy: w / (number of
    extremal entries) at each extremal entry, 0 elsewhere, eager and under jit; the
    staged gradient of a float32 input computes no float64 value (the weights were
    a float64 quotient cast back: twice the memory traffic)."""
    x = np.array([[3.0, 1.0, 3.0, 3.0, 0.0], [2.0, 5.0, -1.0, 4.0, 5.0],
                  [7.0, 7.0, 7.0, 7.0, 7.0]], dtype)
    w = np.array([2.0, -1.0, 3.0], dtype)
    red = getattr(np, name)
    hit = x == red(x, axis=1, keepdims=True)
    want = hit * (w[:, None].astype(float) / hit.sum(axis=1, keepdims=True))

    def f(x):
        return rnp.sum(w * getattr(rnp, name)(x, axis=1))

    for g in (riesz.grad(f)(x), riesz.jit(riesz.grad(f))(x)):
        assert g.dtype == dtype
        np.testing.assert_allclose(g, want, rtol=2 * np.finfo(dtype).eps, atol=0)
    _, t = riesz.jvp(lambda x: getattr(rnp, name)(x, axis=1), (x,), (np.ones_like(x),))
    np.testing.assert_array_equal(t, np.ones(3, dtype))  # the weights of each row sum to 1
    graph = riesz.jit(riesz.grad(f)).graph(x)
    assert all(v.aval.dtype != np.float64 or dtype == np.float64
               for e in graph.eqns for v in e.outvars)
