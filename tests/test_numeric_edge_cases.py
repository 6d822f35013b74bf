"""Regression tests for derivatives and values at numerical edge cases (issue 8):
power series at x = 0, NaN / inf / empty inputs, and vmap of value-dependent
functions, each against an independent oracle (nested jvp, NumPy's own value,
finite differences, a Python loop)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import riesz
import riesz.numpy as rnp
from finite_differences import fd_grad


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
