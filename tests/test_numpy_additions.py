"""NumPy additions of SPEC §14 (`riesz.numpy`, and unmodified `np.<name>` on traced
values): values against NumPy itself, derivatives against finite differences and closed
forms in plain NumPy."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import riesz
import riesz.numpy as rnp
from finite_differences import fd_grad

rng = np.random.default_rng(3)


def traced(f, *args):
    """f's value computed on traced inputs (inside riesz.vjp)."""
    return riesz.vjp(f, *args)[0]


# -- nan-reductions ------------------------------------------------------------------------

NAN_X = rng.standard_normal((3, 4))
NAN_X[0, 1] = NAN_X[1, 3] = np.nan
MASK = np.isnan(NAN_X)
NAN_NAMES = "nansum nanmean nanmax nanmin nanprod nanvar nanstd nancumsum nancumprod".split()


NAN_CASES = [(name, kw) for name in NAN_NAMES + ["nanargmax", "nanargmin"]
             for kw in ({}, {"axis": 0}, {"axis": 1, "keepdims": True}, {"ddof": 1})
             if ("ddof" not in kw or name in ("nanvar", "nanstd"))
             and not ("keepdims" in kw and name.startswith("nancum"))]


@pytest.mark.parametrize("name, kw", NAN_CASES, ids=lambda v: v if isinstance(v, str) else
                         "-".join(map(str, v)) or "all")
def test_nan_reductions_equal_numpy(name: str, kw: dict) -> None:
    ref = getattr(np, name)(NAN_X, **kw)
    np.testing.assert_allclose(getattr(rnp, name)(NAN_X, **kw), ref, rtol=1e-14)
    np.testing.assert_allclose(traced(lambda x: getattr(np, name)(x, **kw), NAN_X), ref,
                               rtol=1e-14)


@pytest.mark.parametrize("name", NAN_NAMES)
def test_nan_reductions_differentiate_the_non_nan_entries(name: str) -> None:
    def f(x):
        y = getattr(np, name)(np.where(MASK, np.nan, x), axis=1)
        return np.sum(np.sin(y))

    x = np.where(MASK, 0.0, NAN_X)
    g = riesz.grad(f)(x)
    want = fd_grad(lambda v: np.sum(np.sin(getattr(np, name)(np.where(MASK, np.nan, v),
                                                              axis=1))), x)
    np.testing.assert_allclose(g, want, rtol=1e-6, atol=1e-8)
    assert np.all(g[MASK] == 0)


def test_all_nan_slice_warns_as_numpy() -> None:
    x = np.array([[np.nan, np.nan], [1.0, 2.0]])
    with pytest.warns(RuntimeWarning, match="All-NaN slice"):
        got = rnp.nanmax(x, axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        np.testing.assert_array_equal(got, np.nanmax(x, axis=1))
    with pytest.raises(ValueError, match="All-NaN slice"):
        rnp.nanargmin(x, axis=1)


# -- closeness and type predicates ------------------------------------------------------------


def test_isclose_allclose_and_type_predicates_on_traced_values() -> None:
    a = np.array([1.0, np.inf, np.nan, 1e-9, -np.inf])
    b = np.array([1.0 + 1e-6, np.inf, np.nan, 0.0, np.inf])
    for kw in ({}, {"equal_nan": True}, {"rtol": 0.0, "atol": 1e-7}):
        np.testing.assert_array_equal(traced(lambda x, kw=kw: np.isclose(x, b, **kw), a),
                                      np.isclose(a, b, **kw))
        assert traced(lambda x, kw=kw: np.allclose(x, b, **kw), a) == np.allclose(a, b, **kw)
    assert rnp.allclose(a[:2], b[:2]) is True
    x = rng.standard_normal(3)
    seen = []

    def f(v):
        seen.extend([np.allclose(v, v + 1e-12), np.isrealobj(v), np.iscomplexobj(v)])
        return v

    riesz.vjp(f, x)
    assert seen[0] is True and seen[1] is True and seen[2] is False
    assert rnp.iscomplexobj(np.ones(2, complex)) and not rnp.isrealobj(np.ones(2, complex))
    batched = riesz.vmap(lambda v: rnp.isclose(v, 1.0))(np.array([[1.0, 2.0], [1.0, 1.0]]))
    np.testing.assert_array_equal(batched, [[True, False], [True, True]])


def test_angle_of_real_values() -> None:
    x = np.array([-2.0, -0.0, 0.0, 3.0])
    np.testing.assert_array_equal(traced(np.angle, x), np.angle(x))
    np.testing.assert_array_equal(traced(lambda v: np.angle(v, deg=True), x),
                                  np.angle(x, deg=True))
    np.testing.assert_array_equal(riesz.grad(lambda v: np.sum(np.angle(v)))(x), 0.0)
    np.testing.assert_array_equal(rnp.angle(np.array([1j, -1.0])), np.angle([1j, -1.0]))


# -- evenly spaced ranges with traced endpoints -------------------------------------------


@pytest.mark.parametrize("kw", [{}, {"endpoint": False}, {"num": 1}, {"num": 0}],
                         ids=["default", "no-endpoint", "one", "empty"])
def test_linspace_with_traced_endpoints(kw: dict) -> None:
    num = kw.pop("num", 7)
    f = lambda a, b: np.linspace(a, b, num, **kw)  # noqa: E731
    for a, b in [(1.0, 2.5), (np.array([0.0, 1.0]), np.array([[2.0, -1.0], [3.0, 4.0]]))]:
        np.testing.assert_array_equal(traced(f, a, b), f(a, b))
    if num > 1:
        t = np.arange(num) / ((num - 1) if kw.get("endpoint", True) else num)
        ga, gb = riesz.grad(lambda a, b: np.sum(f(a, b) * np.arange(num)), argnums=(0, 1))(
            1.0, 2.5)
        np.testing.assert_allclose(ga, np.sum((1 - t) * np.arange(num)), rtol=1e-14)
        np.testing.assert_allclose(gb, np.sum(t * np.arange(num)), rtol=1e-14)


def test_linspace_axis_retstep_logspace_geomspace() -> None:
    a, b = np.array([1.0, 2.0]), np.array([3.0, -1.0])
    for axis in (0, 1, -1):
        got = traced(lambda x, y, ax=axis: np.linspace(x, y, 5, axis=ax), a, b)
        np.testing.assert_array_equal(got, np.linspace(a, b, 5, axis=axis))
    y, step = traced(lambda x: np.linspace(x, 3.0, 4, retstep=True), 1.0)
    assert step == np.linspace(1.0, 3.0, 4, retstep=True)[1]
    np.testing.assert_allclose(traced(lambda x, y: np.logspace(x, y, 5), 0.5, 2.0),
                               np.logspace(0.5, 2.0, 5), rtol=1e-14)
    np.testing.assert_allclose(traced(lambda x: np.logspace(1.0, 2.0, 4, base=x), 2.0),
                               np.logspace(1.0, 2.0, 4, base=2.0), rtol=1e-14)
    for s, e in [(1.0, 1000.0), (-2.0, -50.0)]:
        got = traced(lambda x, y: np.geomspace(x, y, 6), s, e)
        np.testing.assert_allclose(got, np.geomspace(s, e, 6), rtol=1e-14)
        assert got[0] == s and got[-1] == e
    riesz.check_grads(lambda x, y: np.logspace(x, y, 4), (0.5, 1.5), order=2)
    riesz.check_grads(lambda x, y: np.geomspace(x, y, 5, endpoint=False), (2.0, 9.0), order=2)
    # d/da of the interior points a (b/a)^t = (1 - t) a^(-t) b^t
    t = np.arange(5) / 4
    g = riesz.jvp(lambda x: np.geomspace(x, 9.0, 5), (2.0,), (1.0,))[1]
    np.testing.assert_allclose(g, (1 - t) * (9.0 / 2.0) ** t, rtol=1e-12)
    with pytest.raises(ValueError, match="cannot include zero"):
        traced(lambda x: np.geomspace(x, 0.0, 3), 1.0)


# -- gradient, trapezoid, diff ----------------------------------------------------------------

F = rng.standard_normal((6, 5))
XS = np.array([0.0, 0.5, 1.7, 2.0, 3.1, 4.0])


@pytest.mark.parametrize("args, kw", [
    ((), {}), ((0.3,), {}), ((XS, 2.0), {}), ((), {"edge_order": 2}),
    ((XS,), {"axis": 0, "edge_order": 2}), ((0.5,), {"axis": -1}),
    ((np.arange(6.0),), {"axis": 0}),
], ids=["unit", "scalar", "coords", "edge2", "coords-edge2", "last-axis", "even-coords"])
def test_gradient_equals_numpy_and_is_linear(args, kw) -> None:
    got = traced(lambda f: np.gradient(f, *args, **kw), F)
    want = np.gradient(F, *args, **kw)
    for g, w in zip(got if isinstance(got, tuple) else (got,),
                    want if isinstance(want, tuple) else (want,), strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-13, atol=1e-14)
    riesz.check_grads(lambda f: np.gradient(f, *args, **kw), (F,), order=1)


def test_gradient_in_the_coordinates() -> None:
    f = np.sin(XS)
    riesz.check_grads(lambda x: np.gradient(f, x, edge_order=2), (XS,), order=2)
    # exact for quadratics with edge_order=2
    np.testing.assert_allclose(rnp.gradient(XS ** 2, XS, edge_order=2), 2 * XS, rtol=1e-12,
                               atol=1e-14)


def test_trapezoid_and_diff() -> None:
    y = np.sin(XS)
    np.testing.assert_allclose(traced(lambda v: np.trapezoid(v, XS), y), np.trapezoid(y, XS),
                               rtol=1e-14)
    np.testing.assert_allclose(traced(lambda v: np.trapezoid(v, dx=0.2, axis=0), F),
                               np.trapezoid(F, dx=0.2, axis=0), rtol=1e-14)
    np.testing.assert_allclose(traced(lambda v: np.trapezoid(F, v, axis=0), XS),
                               np.trapezoid(F, XS, axis=0), rtol=1e-14)
    # ∂/∂y_i of the trapezoid rule: the weights (Δx_(i-1) + Δx_i) / 2
    d = np.diff(XS)
    w = np.concatenate([[d[0] / 2], (d[:-1] + d[1:]) / 2, [d[-1] / 2]])
    np.testing.assert_allclose(riesz.grad(lambda v: np.trapezoid(v, XS))(y), w, rtol=1e-14)
    riesz.check_grads(lambda v, x: np.trapezoid(v, x), (y, XS), order=2)
    np.testing.assert_array_equal(traced(lambda v: np.diff(v, n=2, axis=0), F),
                                  np.diff(F, n=2, axis=0))


# -- interp -----------------------------------------------------------------------------------

XP = np.array([0.0, 1.0, 2.5, 4.0])
FP = np.array([1.0, -1.0, 2.0, 0.5])
XQ = np.array([-1.0, 0.0, 0.5, 1.0, 2.5, 3.0, 4.0, 5.0])


@pytest.mark.parametrize("kw", [{}, {"left": -7.0, "right": 9.0}, {"period": 3.0}],
                         ids=["default", "left-right", "period"])
def test_interp_equals_numpy(kw: dict) -> None:
    np.testing.assert_allclose(traced(lambda x: np.interp(x, XP, FP, **kw), XQ),
                               np.interp(XQ, XP, FP, **kw), rtol=1e-14)
    np.testing.assert_allclose(traced(lambda f: np.interp(XQ, XP, f, **kw), FP),
                               np.interp(XQ, XP, FP, **kw), rtol=1e-14)
    np.testing.assert_allclose(riesz.vmap(lambda x: rnp.interp(x, XP, FP, **kw))(XQ),
                               np.interp(XQ, XP, FP, **kw), rtol=1e-14)


def test_interp_derivatives() -> None:
    x = np.array([-0.5, 0.3, 1.7, 3.9, 4.5])  # away from the knots
    riesz.check_grads(lambda x, f, xp: np.interp(x, xp, f), (x, FP, XP), order=2)
    slope = np.diff(FP) / np.diff(XP)
    want = np.array([0.0, slope[0], slope[1], slope[2], 0.0])
    np.testing.assert_allclose(riesz.grad(lambda v: np.sum(np.interp(v, XP, FP)))(x), want,
                               rtol=1e-14)
    # linear in fp: the Jacobian is the matrix of hat-function weights
    jac = riesz.jacobian(lambda f: np.interp(x, XP, f))(FP)
    np.testing.assert_allclose(jac, np.stack([np.interp(x, XP, e) for e in np.eye(4)], 1),
                               rtol=1e-14)


# -- polynomials --------------------------------------------------------------------------------


def test_polyval_and_polyfit() -> None:
    p = np.array([0.5, -2.0, 3.0, 1.0])
    np.testing.assert_allclose(traced(lambda q: np.polyval(q, XQ), p), np.polyval(p, XQ),
                               rtol=1e-14)
    np.testing.assert_allclose(riesz.grad(lambda x: np.sum(np.polyval(p, x)))(XQ),
                               np.polyval(np.polyder(p), XQ), rtol=1e-13)
    riesz.check_grads(lambda q, x: np.polyval(q, x), (p, XQ), order=2)
    y = np.cos(XQ)
    for kw in ({}, {"w": np.linspace(1, 2, XQ.size)}):
        np.testing.assert_allclose(traced(lambda v, kw=kw: np.polyfit(XQ, v, 3, **kw), y),
                                   np.polyfit(XQ, y, 3, **kw), rtol=1e-12)
    # linear in y: the Jacobian is the pseudo-inverse of the Vandermonde matrix
    jac = riesz.jacobian(lambda v: np.polyfit(XQ, v, 2))(y)
    np.testing.assert_allclose(jac, np.linalg.pinv(np.vander(XQ, 3)), rtol=1e-10, atol=1e-12)
    riesz.check_grads(lambda x, v: np.polyfit(x, v, 2), (XQ, y), order=1)
    full = traced(lambda v: np.polyfit(XQ, v, 2, full=True), y)
    for g, w in zip(full, np.polyfit(XQ, y, 2, full=True), strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-12)


# -- einsum operand/sublist form, r_, c_, integer helpers ----------------------------------


def test_einsum_sublist_form() -> None:
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((3, 4))
    c = rng.standard_normal((5, 2, 3))
    cases = [((a, [0, 1], b, [1, 2]), (a, b)), ((a, [0, 1], b, [1, 2], [2, 0]), (a, b)),
             ((c, [Ellipsis, 0, 1], a, [0, 1], [Ellipsis]), (c, a)), ((a, [0, 0 + 1]), (a,))]
    for args, _ in cases:
        np.testing.assert_allclose(rnp.einsum(*args), np.einsum(*args), rtol=1e-14)
    np.testing.assert_allclose(traced(lambda x: np.einsum(x, [0, 1], b, [1, 2]), a), a @ b,
                               rtol=1e-14)
    riesz.check_grads(lambda x, y: rnp.einsum(x, [0, 1], y, [1, 2], [2, 0]), (a, b), order=2)


def test_r_and_c_concatenate_traced_values() -> None:
    a, b = rng.standard_normal(3), rng.standard_normal((2, 3))
    pairs = [(rnp.r_[a, 1.0, 0:2], np.r_[a, 1.0, 0:2]), (rnp.c_[a, a], np.c_[a, a]),
             (rnp.r_["0,2", a, a], np.r_["0,2", a, a]), (rnp.r_["1,2,0", a, a],
                                                          np.r_["1,2,0", a, a]),
             (rnp.c_[a, 1.0:4.0:3j], np.c_[a, 1.0:4.0:3j]), (rnp.r_[b, b], np.r_[b, b])]
    for got, want in pairs:
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(traced(lambda x: rnp.r_["0,2", x, 2 * x], a),
                                  np.r_["0,2", a, 2 * a])
    np.testing.assert_array_equal(traced(lambda x: rnp.c_[x, 1.0:4.0:3j], a),
                                  np.c_[a, 1.0:4.0:3j])
    g = riesz.grad(lambda x: rnp.sum(rnp.c_[x, 3 * x] ** 2))(a)
    np.testing.assert_allclose(g, 2 * a + 18 * a, rtol=1e-14)
    with pytest.raises(TypeError, match="cannot be converted"):
        riesz.grad(lambda x: np.sum(np.r_[x, x]))(a)


def test_integer_index_helpers_pass_through() -> None:
    assert rnp.ravel_multi_index is np.ravel_multi_index
    assert rnp.unravel_index is np.unravel_index
    x = rng.standard_normal((3, 4))
    i, j = traced(lambda v: np.unravel_index(np.argmax(v), v.shape), x)
    assert (i, j) == np.unravel_index(np.argmax(x), x.shape)
    flat = traced(lambda v: np.ravel_multi_index((np.array([1, 2]), np.array([0, 3])), v.shape),
                  x)
    np.testing.assert_array_equal(flat, [4, 11])
