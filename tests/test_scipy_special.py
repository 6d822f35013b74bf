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


@pytest.mark.parametrize("mode", ["rev", "fwd"])
def test_shape_parameter_derivatives_raise_naming_the_argument(mode: str) -> None:
    x = np.array([0.3, 0.5])

    def d(f, p):
        if mode == "rev":
            return riesz.grad(lambda p: np.sum(f(p)))(p)
        return riesz.jvp(f, (p,), (np.ones_like(p),))[1]

    for f, name in (
        (lambda a: rsp.gammainc(a, x), "gammainc: .* shape parameter `a`"),
        (lambda a: rsp.gammaincc(a, x), "gammaincc: .* shape parameter `a`"),
        (lambda a: rsp.betainc(a, 2.0, x), "betainc: .* shape parameter `a`"),
        (lambda b: rsp.betainc(2.0, b, x), "betainc: .* shape parameter `b`"),
    ):
        with pytest.raises(NotImplementedError, match=name):
            d(f, np.array([1.5, 2.0]))
    # a constant shape parameter next to a traced one of another function is fine
    g = riesz.grad(lambda x: np.sum(rsp.gammainc(riesz.stop_gradient(x), x)))(x)
    np.testing.assert_allclose(g, np.exp(-x) * x ** (x - 1) / sp.gamma(x), rtol=1e-12)
