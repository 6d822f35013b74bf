"""riesz.scipy.special additions of SPEC §14: values against SciPy (NaN outside the domain
as SciPy), derivatives against closed forms and finite differences in float64, SciPy's
own ufuncs routed here by `__array_ufunc__`, and the errors for arguments without a
derivative (shape parameters, Bessel orders, integer orders). The registry sweep
(tests/primitive_cases.py) covers JVP, VJP, second order, vmap, jet and float32."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.special as sp

import riesz
import riesz.scipy.special as rsp


def _grad(f, x):
    return riesz.grad(lambda x: np.sum(f(x)))(x)


def _fd(f, x, eps=1e-6):
    return (f(x + eps) - f(x - eps)) / (2 * eps)


# -- incomplete gamma and beta, beta -----------------------------------------------------------

def test_incomplete_gamma_and_beta_values_match_scipy_with_nan_outside_the_domain() -> None:
    a = np.array([0.5, 1.0, 2.5, 40.0, 0.5, -1.0])
    x = np.array([0.0, 0.3, 2.0, 45.0, -1.0, 1.0])
    for name in ("gammainc", "gammaincc"):
        np.testing.assert_array_equal(getattr(rsp, name)(a, x), getattr(sp, name)(a, x))
    xb = np.array([0.0, 0.3, 0.9, 1.0, 1.5, -0.1])
    np.testing.assert_array_equal(rsp.betainc(a[:, None], 2.0, xb), sp.betainc(a[:, None], 2.0, xb))
    b = np.array([0.5, 1.0, 3.0, 1e3, 2e3, -0.5])
    for name in ("beta", "betaln"):
        np.testing.assert_array_equal(getattr(rsp, name)(a, b), getattr(sp, name)(a, b))


def test_incomplete_gamma_and_beta_derivatives_are_the_densities() -> None:
    x = np.array([1e-3, 0.4, 3.0, 30.0])
    for a in (0.5, 1.0, 4.0):
        dens = np.exp(-x) * x ** (a - 1) / sp.gamma(a)
        np.testing.assert_allclose(_grad(lambda x, a=a: rsp.gammainc(a, x), x), dens, rtol=1e-13)
        np.testing.assert_allclose(_grad(lambda x, a=a: rsp.gammaincc(a, x), x), -dens, rtol=1e-13)
        np.testing.assert_allclose(_grad(lambda x, a=a: rsp.gammainc(a, x), x[1:3]),
                                   _fd(lambda x, a=a: sp.gammainc(a, x), x[1:3]), rtol=1e-7)
    xb = np.array([1e-4, 0.3, 0.7, 1 - 1e-4])
    for a, b in ((0.5, 0.5), (2.0, 3.0), (30.0, 0.7)):
        dens = xb ** (a - 1) * (1 - xb) ** (b - 1) / sp.beta(a, b)
        g = _grad(lambda x, a=a, b=b: rsp.betainc(a, b, x), xb)
        np.testing.assert_allclose(g, dens, rtol=1e-12)
    # the far tail: the density from logs, where Γ(a) and x^(a-1) overflow separately
    g = _grad(lambda x: rsp.gammaincc(200.0, x), np.array([400.0]))
    want = -np.exp(-400.0 + 199 * np.log(400.0) - sp.gammaln(200.0))
    np.testing.assert_allclose(g, want, rtol=1e-12)
    # at the boundary x = 0: density 1 for a = 1
    assert _grad(lambda x: rsp.gammainc(1.0, x), np.array([0.0]))[0] == 1.0


def test_beta_and_betaln_derivatives_are_digamma_differences() -> None:
    a, b = np.array([0.7, 3.0, 1e3]), np.array([1.2, 0.4, 2e3])
    ga, gb = riesz.grad(lambda a, b: np.sum(rsp.betaln(a, b)), argnums=(0, 1))(a, b)
    np.testing.assert_allclose(ga, sp.digamma(a) - sp.digamma(a + b), rtol=1e-12)
    np.testing.assert_allclose(gb, sp.digamma(b) - sp.digamma(a + b), rtol=1e-12)
    ga, gb = riesz.grad(lambda a, b: np.sum(rsp.beta(a, b)), argnums=(0, 1))(a[:2], b[:2])
    np.testing.assert_allclose(ga, _fd(lambda a: sp.beta(a, b[:2]), a[:2]), rtol=1e-7)
    np.testing.assert_allclose(gb, _fd(lambda b: sp.beta(a[:2], b), b[:2]), rtol=1e-7)


def test_scipy_ufuncs_on_traced_values_route_here() -> None:
    x = np.array([0.2, 0.6])
    for f, df in (
        (lambda x: sp.gammainc(1.5, x), lambda x: np.exp(-x) * x**0.5 / sp.gamma(1.5)),
        (lambda x: sp.gammaincc(1.5, x), lambda x: -np.exp(-x) * x**0.5 / sp.gamma(1.5)),
        (lambda x: sp.betainc(2.0, 3.0, x), lambda x: x * (1 - x) ** 2 / sp.beta(2.0, 3.0)),
        (lambda x: sp.betaln(x, 2.0), lambda x: sp.digamma(x) - sp.digamma(x + 2)),
        (lambda x: sp.beta(x, 2.0),
         lambda x: sp.beta(x, 2.0) * (sp.digamma(x) - sp.digamma(x + 2))),
    ):
        np.testing.assert_allclose(_grad(f, x), df(x), rtol=1e-12)


def test_betainc_shape_derivatives_against_scipy_differences_to_second_order() -> None:
    a = np.array([0.4, 2.0, 7.5, 40.0, 3.0])
    b = np.array([1.5, 0.6, 30.0, 9.0, 3.0])
    x = np.array([0.3, 0.95, 0.1, 0.85, 0.5])
    ga, gb = riesz.grad(lambda a, b: np.sum(rsp.betainc(a, b, x)), argnums=(0, 1))(a, b)
    np.testing.assert_allclose(ga, _fd(lambda a: sp.betainc(a, b, x), a), rtol=1e-6)
    np.testing.assert_allclose(gb, _fd(lambda b: sp.betainc(a, b, x), b), rtol=1e-6)
    h = riesz.grad(lambda b: np.sum(riesz.grad(lambda a: np.sum(sp.betainc(a, b, x)))(a)))(b)
    np.testing.assert_allclose(
        h, _fd(lambda b: riesz.grad(lambda a: np.sum(rsp.betainc(a, b, x)))(a), b, 1e-4),
        rtol=1e-6, atol=1e-9)  # (0 at the symmetric point a = b, x = 1/2)
    # ∂²/∂x∂a = density (log x - ψ(a) + ψ(a + b))
    m = riesz.grad(lambda x: np.sum(riesz.grad(lambda a: np.sum(rsp.betainc(a, b, x)))(a)))(x)
    dens = x ** (a - 1) * (1 - x) ** (b - 1) / sp.beta(a, b)
    np.testing.assert_allclose(m, dens * (np.log(x) - sp.psi(a) + sp.psi(a + b)), rtol=1e-10)
    g = riesz.grad(lambda a: np.sum(rsp.betainc(a, 2.0, np.array([0.0, 1.0, 1.5]))))(
        np.array([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(g, [0.0, 0.0, np.nan])


def test_betainc_shape_derivatives_match_mpmath_relative_to_the_tails(request) -> None:
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 150  # (its numerical differentiation needs the digits down to the tails)
    request.addfinalizer(lambda: setattr(mp.mp, "dps", 15))
    for a, b, x in ((0.3, 40.0, 0.999), (1.0, 500.0, 0.5), (300.0, 40.0, 0.999),
                    (2.0, 3.0, 0.4), (30.0, 0.7, 0.2), (0.5, 0.5, 0.9)):
        lower = sp.betainc(a, b, x) < 0.5  # the small one of I, 1 - I

        def f(s, t, lower=lower, x=x):
            if lower:
                return mp.betainc(s, t, 0, x, regularized=True)
            return -mp.betainc(s, t, x, 1, regularized=True)

        ga, gb = riesz.grad(lambda a, b, x=x: rsp.betainc(a, b, x), argnums=(0, 1))(a, b)
        np.testing.assert_allclose(ga, float(mp.diff(lambda s, b=b: f(s, b), a)), rtol=1e-11)
        np.testing.assert_allclose(gb, float(mp.diff(lambda t, a=a: f(a, t), b)), rtol=1e-11)


_A_GRID = np.array([0.3, 1.0, 3.0, 30.0, 300.0, 1000.0])[:, None]
_X_GRID = np.array([0.01, 1.0, 3.0, 10.0, 30.0, 100.0, 301.0, 1001.0, 1200.0])


def test_gammainc_shape_derivative_matches_mpmath_relative_to_the_tails(request) -> None:
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 40
    request.addfinalizer(lambda: setattr(mp.mp, "dps", 15))
    a, x = (np.array(v) for v in np.broadcast_arrays(_A_GRID, _X_GRID))
    gp = riesz.grad(lambda a: np.sum(rsp.gammainc(a, x)))(a.copy())
    gq = riesz.grad(lambda a: np.sum(rsp.gammaincc(a, x)))(a.copy())
    for (ai, xi), p, q in zip(zip(a.ravel(), x.ravel(), strict=True), gp.ravel(), gq.ravel(),
                              strict=True):
        # the small one of P, Q is the one whose derivative must be accurate relatively
        lower = xi < ai + 1
        want = float(mp.diff(lambda s, lower=lower, xi=xi: mp.gammainc(
            s, 0 if lower else xi, xi if lower else mp.inf, regularized=True), ai))
        got = p if lower else q
        np.testing.assert_allclose(got, want, rtol=2e-12, atol=1e-300, err_msg=f"{ai}, {xi}")
        np.testing.assert_allclose(p, -q, rtol=1e-15, atol=0)


def test_gammainc_shape_derivatives_against_scipy_differences_to_second_order() -> None:
    a = np.array([0.4, 2.0, 7.5, 40.0])
    x = np.array([0.3, 2.5, 12.0, 35.0])
    g = riesz.grad(lambda a: np.sum(rsp.gammainc(a, x)))(a)
    np.testing.assert_allclose(g, _fd(lambda a: sp.gammainc(a, x), a), rtol=1e-6)
    g = riesz.grad(lambda a: np.sum(sp.gammaincc(a, x)))(a)  # SciPy's ufunc, routed
    np.testing.assert_allclose(g, _fd(lambda a: sp.gammaincc(a, x), a), rtol=1e-6)
    # ∂²/∂a² by differences of our first derivative, ∂²/∂x∂a = density (log x - ψ(a))
    h = riesz.grad(lambda a: np.sum(riesz.grad(lambda a: np.sum(rsp.gammainc(a, x)))(a)))(a)
    np.testing.assert_allclose(
        h, _fd(lambda a: riesz.grad(lambda a: np.sum(rsp.gammainc(a, x)))(a), a, 1e-4),
        rtol=1e-6)
    m = riesz.grad(lambda x: np.sum(riesz.grad(lambda a: np.sum(rsp.gammainc(a, x)))(a)))(x)
    dens = np.exp(-x) * x ** (a - 1) / sp.gamma(a)
    np.testing.assert_allclose(m, dens * (np.log(x) - sp.psi(a)), rtol=1e-10)
    # edges: 0 at x = 0 and x = inf, NaN outside the domain (as the value)
    g = riesz.grad(lambda a: np.sum(rsp.gammainc(a, np.array([0.0, np.inf, -1.0]))))(
        np.array([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(g, [0.0, 0.0, np.nan])


def test_shape_derivatives_first_order_path_agrees_with_the_traced_expressions() -> None:
    # A first derivative on concrete arrays runs the series / continued fractions in NumPy
    # (chunked, elements leaving as they converge); under vmap (and at higher orders) the
    # same functions are riesz expressions. Both must agree everywhere, edges and NaN
    # outside the domain included, across several chunks.
    rng = np.random.default_rng(7)
    n = 70_000
    a, b = rng.uniform(0.05, 60.0, n), rng.uniform(0.05, 60.0, n)
    x, xg = rng.uniform(0.0, 1.0, n), rng.uniform(0.0, 90.0, n)
    a[:4], b[:4], x[:4], xg[:4] = [1.0, -1.0, 2.0, 3.0], [2.0, 1.0, -0.5, 1.0], \
        [0.0, 0.5, 0.5, 1.0], [0.0, 1.0, np.inf, -1.0]
    m = 700  # the expressions under vmap cost a special function per term: a sample
    for f in (rsp.betainc, rsp.betaincc):
        got = riesz.grad(lambda a, b, f=f: np.sum(f(a, b, x)), argnums=(0, 1))(a, b)
        want = riesz.vmap(riesz.grad(lambda a, b, x, f=f: f(a, b, x), argnums=(0, 1)))(
            a[:m], b[:m], x[:m])
        for g, w in zip(got, want, strict=True):
            np.testing.assert_allclose(g[:m], w, rtol=1e-12, atol=1e-300)
            assert np.all(np.isfinite(g[4:]))
    for f in (rsp.gammainc, rsp.gammaincc):
        got = riesz.grad(lambda a, f=f: np.sum(f(a, xg)))(a)
        want = riesz.vmap(riesz.grad(lambda a, x, f=f: f(a, x)))(a[:m], xg[:m])
        np.testing.assert_allclose(got[:m], want, rtol=1e-12, atol=1e-300)
        assert np.all(np.isfinite(got[4:]))
    # jointly with x (the density shares log Γ(a) / log B(a, b)), float32 stays float32
    ga, gx = riesz.grad(lambda a, x: np.sum(rsp.gammainc(a, x)), argnums=(0, 1))(a[4:9], xg[4:9])
    np.testing.assert_allclose(gx, np.exp(-xg[4:9]) * xg[4:9] ** (a[4:9] - 1) / sp.gamma(a[4:9]),
                               rtol=1e-12)
    g32 = riesz.grad(lambda a: np.sum(rsp.betainc(a, 2.0, np.float32(0.3))))(
        a[4:9].astype(np.float32))
    assert g32.dtype == np.float32


# -- inverse error functions, rgamma, gammasgn, multigammaln, polygamma -------------------

def test_inverse_error_functions_rgamma_and_gammasgn_match_scipy() -> None:
    x = np.array([-1.5, -1.0, -0.999999, -0.3, 0.0, 0.5, 1.0, 1.2])
    np.testing.assert_array_equal(rsp.erfinv(x), sp.erfinv(x))
    np.testing.assert_array_equal(rsp.erfcinv(x + 1), sp.erfcinv(x + 1))
    z = np.array([-3.0, -2.5, -1.0, -0.2, 0.0, 0.7, 5.0, 200.0])
    np.testing.assert_array_equal(rsp.rgamma(z), sp.rgamma(z))
    np.testing.assert_array_equal(rsp.gammasgn(z), sp.gammasgn(z))
    # derivatives: closed forms
    y = x[2:-2]
    np.testing.assert_allclose(_grad(rsp.erfinv, y),
                               np.sqrt(np.pi) / 2 * np.exp(sp.erfinv(y) ** 2), rtol=1e-13)
    np.testing.assert_allclose(_grad(sp.erfcinv, y + 1),  # SciPy's ufunc, routed here
                               -np.sqrt(np.pi) / 2 * np.exp(sp.erfcinv(y + 1) ** 2), rtol=1e-13)
    # (1/Γ)' = -ψ/Γ, and (-1)^n n! at the zeros -n of 1/Γ, second derivative by differences
    w = np.array([-2.5, -0.2, 0.7, 5.0, 200.0])
    np.testing.assert_allclose(_grad(rsp.rgamma, w), -sp.psi(w) * sp.rgamma(w),
                               rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(_grad(rsp.rgamma, np.array([-3.0, -1.0, 0.0])), [-6.0, -1.0, 1.0],
                               rtol=1e-13)
    zz = np.array([-3.0, -1.0, 0.0, 0.3])
    h = riesz.grad(lambda z: np.sum(riesz.grad(lambda z: np.sum(rsp.rgamma(z)))(z)))(zz)
    np.testing.assert_allclose(h, _fd(lambda z: _grad(rsp.rgamma, z), zz), rtol=1e-7)
    g = riesz.grad(lambda z: np.sum(rsp.gammasgn(z) * z))(z[:-1])
    np.testing.assert_array_equal(g, sp.gammasgn(z[:-1]))


def test_rgamma_derivative_matches_mpmath_up_to_its_zeros(request) -> None:
    # -ψ(x)/Γ(x) with SciPy's ψ loses ~ε/δ at a distance δ from a zero -n of 1/Γ; the rule
    # must stay accurate up to the zeros (and be (-1)^n n! on them), in any shape
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 40
    request.addfinalizer(lambda: setattr(mp.mp, "dps", 15))
    d = np.array([0.0, 1e-15, 1e-12, 1e-9, 1e-6, 1e-3, 0.049, 0.051, 0.3, 0.5, -1e-12, -1e-6,
                  -0.1, -0.4])
    x = np.concatenate([(-n + d) for n in (0, 1, 2, 3, 10, 30)] + [[0.3, 2.5, 30.0, 150.0]])
    g = riesz.grad(lambda x: np.sum(rsp.rgamma(x)))(x.reshape(-1, 2)).ravel()
    want = np.array([float(mp.diff(mp.rgamma, mp.mpf(float(v)))) for v in x])
    np.testing.assert_allclose(g, want, rtol=1e-13)


def test_polygamma_values_equal_scipys() -> None:
    # evaluated as SciPy's formula (-1)^(n+1) n! ζ(n+1, x) without its discarded digamma
    x = np.array([-2.0, -1.5, 0.0, 1e-300, 0.3, 2.0, 25.5, np.inf, np.nan])
    for n in (0, 1, 2, 3, 7):
        np.testing.assert_array_equal(rsp.polygamma(n, x), sp.polygamma(n, x))
        x32 = x.astype(np.float32)
        want = sp.polygamma(n, x32).astype(np.float32)
        np.testing.assert_array_equal(rsp.polygamma(n, x32), want)


def test_multigammaln_matches_scipy_and_its_derivative_is_a_digamma_sum() -> None:
    a = np.array([1.6, 3.0, 12.5])
    for d in (1, 2, 3, 7):
        np.testing.assert_array_equal(rsp.multigammaln(a + d / 2, d), sp.multigammaln(a + d / 2, d))
        g = _grad(lambda a, d=d: rsp.multigammaln(a, d), a + d / 2)
        want = sum(sp.psi(a + d / 2 - (j - 1) / 2) for j in range(1, d + 1))
        np.testing.assert_allclose(g, want, rtol=1e-13)
    with pytest.raises(ValueError, match="a > 0.5"):
        rsp.multigammaln(np.array([0.9]), 3)
    with pytest.raises(ValueError, match="dimension `d` must be an integer"):
        rsp.multigammaln(a, 2.5)
    with pytest.raises(TypeError, match="multigammaln: the dimension `d` .* traced"):
        riesz.grad(lambda d: rsp.multigammaln(5.0, d))(3.0)


def test_integer_orders_refuse_traced_values_and_non_integers() -> None:
    x = np.array([0.5, 2.0])
    for f, name in ((rsp.jn, "jn"), (rsp.yn, "yn"), (rsp.polygamma, "polygamma")):
        with pytest.raises(TypeError, match=f"{name}: the order `n` .* traced"):
            riesz.grad(lambda n, f=f: np.sum(f(n, x)))(2.0)
        with pytest.raises(ValueError, match=f"{name}: the order `n` must be an integer"):
            f(1.5, x)
    # integer arrays of orders broadcast like SciPy's, also under vmap
    n = np.arange(4)[:, None]
    np.testing.assert_array_equal(rsp.jn(n, x), sp.jn(n, x))
    np.testing.assert_array_equal(rsp.yn(n, x), sp.yn(n, x))
    np.testing.assert_array_equal(riesz.vmap(lambda n: rsp.yn(n, x))(np.arange(4)), sp.yn(n, x))


# -- Bessel functions ----------------------------------------------------------------------

_BESSEL_V = ["jv", "yv", "iv", "ive", "kv"]
_BESSEL_FIXED = [("j0", "jv", 0), ("j1", "jv", 1), ("y0", "yv", 0), ("y1", "yv", 1),
                 ("i0", "iv", 0), ("i1", "iv", 1), ("i0e", "ive", 0), ("i1e", "ive", 1)]


@pytest.mark.parametrize("name", _BESSEL_V)
def test_bessel_values_match_scipy_with_nan_outside_the_domain(name: str) -> None:
    v = np.array([0.0, 0.5, 1.0, 2.5, 7.0, -1.5])[:, None]
    x = np.array([-2.0, -0.5, 0.0, 1e-3, 0.7, 3.0, 40.0])
    np.testing.assert_array_equal(getattr(rsp, name)(v, x), getattr(sp, name)(v, x))


@pytest.mark.parametrize("name, family, order", _BESSEL_FIXED)
def test_fixed_order_bessel_values_and_derivatives(name: str, family: str, order: int) -> None:
    x = np.array([-3.0, -0.4, 0.0, 1e-3, 0.7, 3.0, 40.0])
    if name[0] == "y":
        x = x[3:]
    f, fv = getattr(sp, name), getattr(sp, family)
    np.testing.assert_array_equal(getattr(rsp, name)(x), f(x))
    # the derivative against the symmetric recurrence (F_(v-1) ± F_(v+1))/2 (- sign F_v)
    p, q = {"jv": (-1, 1), "yv": (-1, 1), "iv": (1, 1), "ive": (1, 1)}[family]
    want = (q * fv(order - 1, x) + p * fv(order + 1, x)) / 2
    if family == "ive":
        want = want - np.sign(x) * fv(order, x)
    g = _grad(getattr(rsp, name), x)
    np.testing.assert_allclose(g, want, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(_grad(f, x[x != 0]), want[x != 0], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", _BESSEL_V)
def test_bessel_derivatives_against_the_symmetric_recurrence(name: str) -> None:
    v = np.array([0.0, 0.5, 1.0, 2.5, 7.0])[:, None]
    x = np.array([1e-3, 0.7, 3.0, 40.0])
    f = getattr(sp, name)
    p, q = {"jv": (-1, 1), "yv": (-1, 1), "iv": (1, 1), "ive": (1, 1), "kv": (-1, -1)}[name]
    want = (q * f(v - 1, x) + p * f(v + 1, x)) / 2
    if name == "ive":
        want = want - np.sign(x) * f(v, x)
    g = riesz.grad(lambda x: np.sum(f(v, x)))(np.broadcast_to(x, (5, 4)).copy())
    np.testing.assert_allclose(g, want, rtol=1e-11)
    with pytest.raises(NotImplementedError, match=f"{name}: .* the order `v`"):
        riesz.grad(lambda v: np.sum(getattr(rsp, name)(v, x)))(1.5)


def test_ive_derivative_outside_the_range_of_cephes_iv() -> None:
    # the rule takes ive_(v-1) as iv e^-|x| only where iv neither over- nor underflows
    for v, x in ((0.5, [800.0, 3.0]), (1.5, [1e-10, 2.0]), (30.0, [5.0, 60.0]),
                 (2.0, [-3.0, 1000.0])):
        x = np.array(x)
        g = riesz.grad(lambda x, v=v: np.sum(rsp.ive(v, x)))(x)
        want = (sp.ive(v - 1, x) + sp.ive(v + 1, x)) / 2 - np.sign(x) * sp.ive(v, x)
        np.testing.assert_allclose(g, want, rtol=1e-11)


def test_bessel_derivatives_at_zero_are_finite_and_right() -> None:
    # J_v'(0) = 1/2 (v = 1), 0 (v = 0 or v >= 2); I likewise; J_1''(0) = 0, J_2''(0) = 1/4
    x = np.zeros(4)
    v = np.array([0.0, 1.0, 2.0, 3.0])
    for f in (rsp.jv, rsp.iv, rsp.ive):
        np.testing.assert_allclose(_grad(lambda x, f=f: f(v, x), x), [0, 0.5, 0, 0], atol=1e-15)
    h = riesz.grad(lambda x: np.sum(riesz.grad(lambda x: np.sum(rsp.jv(v, x)))(x)))(x)
    np.testing.assert_allclose(h, [-0.5, 0.0, 0.25, 0.0], atol=1e-15)
    # Taylor mode at x = 0 (1/x has no series there: the rule falls back to the general one)
    # (derivatives of t ↦ J_2(t) = t²/8 - t⁴/96 + ... at 0: 0, 1/4, 0, -1/4)
    line = [np.array(1.0)] + [np.array(0.0)] * 3
    ys = riesz.jet(lambda x: rsp.jv(2.0, x), (np.array(0.0),), (line,))[1]
    np.testing.assert_allclose([np.asarray(y) for y in ys], [0.0, 0.25, 0.0, -0.25], atol=1e-14)


def test_bessel_jets_are_the_derivatives_of_the_composition() -> None:
    # y(t) = J_v(x0 + t): the k-th derivative by the symmetric recurrence applied k times,
    # F^(k) = 2^-k Σ_j (-1)^j C(k, j) J_(v-k+2j)
    from math import comb

    x0, v = np.array([0.8, 3.3]), 1.5
    ys = riesz.jet(lambda x: rsp.jv(v, x), (x0,), ([np.ones(2)] + [np.zeros(2)] * 4,))[1]
    for k in range(1, 6):
        want = sum((-1) ** j * comb(k, j) * sp.jv(v - k + 2 * j, x0) for j in range(k + 1))
        np.testing.assert_allclose(ys[k - 1], want / 2**k, rtol=1e-10)


def test_vmap_over_bessel_orders_and_rgamma_zeros_with_gradients() -> None:
    # the order is a batched operand (a traced integer array under vmap), x includes 0
    x, v = np.array([0.0, 1.0, 4.5]), np.array([0.0, 1.0, 2.0, 3.5])
    for name in ("jv", "iv", "ive"):
        f = getattr(rsp, name)
        got = riesz.vmap(lambda v, f=f: riesz.grad(lambda x: np.sum(f(v, x)))(x))(v)
        want = np.stack([riesz.grad(lambda x, w=w, f=f: np.sum(f(w, x)))(x) for w in v])
        np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-15)
    z = np.array([[-1.0, 0.5], [2.0, -0.3]])
    got = riesz.vmap(riesz.grad(lambda z: np.sum(rsp.rgamma(z))))(z)
    np.testing.assert_allclose(got, [[-1.0, -sp.psi(0.5) * sp.rgamma(0.5)],
                                     [-sp.psi(2.0) * sp.rgamma(2.0), _fd(sp.rgamma, -0.3)]],
                               rtol=1e-8)
