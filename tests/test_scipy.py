"""riesz.scipy: values against SciPy, and the numerically delicate points of
the special functions (expectations: SciPy's values, finite differences and
closed forms computed with plain NumPy)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.linalg
import scipy.signal
import scipy.special
import scipy.stats

import riesz
import riesz.scipy.linalg as rsl
import riesz.scipy.signal as rss
import riesz.scipy.special as rsp
from finite_differences import fd_grad

X = np.array([0.3, 1.7, 2.5])


@pytest.mark.parametrize("name, x", [
    ("erf", X - 1), ("erfc", X - 1), ("expit", X - 1), ("logit", X / 3), ("gammaln", X),
    ("gamma", X), ("digamma", X), ("psi", X), ("log_ndtr", X - 1),
])
def test_special_unary_values_and_gradients(name: str, x: np.ndarray) -> None:
    ours, ref = getattr(rsp, name), getattr(scipy.special, name)
    np.testing.assert_allclose(ours(x), ref(x), rtol=1e-14)
    g = riesz.grad(lambda x: np.sum(ours(x)))(x)
    eps = 1e-6
    np.testing.assert_allclose(g, (ref(x + eps) - ref(x - eps)) / (2 * eps), rtol=1e-6)


def test_log_ndtr_derivatives_are_finite_and_right_in_the_tails() -> None:
    # d/dx log Φ(x) = φ(x)/Φ(x), the inverse Mills ratio: for x → -∞ its asymptotic series
    # -x / (1 - x⁻² + 3x⁻⁴ - 15x⁻⁶ + 105x⁻⁸) (error ~ 945 x⁻¹⁰), where φ and Φ underflow;
    # for moderate x, φ/Φ from SciPy's normal density and CDF
    x = np.array([-1e3, -200.0, -40.0])
    u = 1 / (x * x)
    mills = -x / (1 - u + 3 * u**2 - 15 * u**3 + 105 * u**4)
    g = riesz.grad(lambda x: np.sum(rsp.log_ndtr(x)))(x)
    # (exp(-x²/2 - log Φ(x)) cancels two terms of size x²/2: about x² ε relative error)
    np.testing.assert_allclose(g, mills, rtol=1e-10)
    # second derivative: d/dx (φ/Φ) = -(φ/Φ)(x + φ/Φ); x + φ/Φ ~ -1/x cancels further, so
    # the relative error grows like x⁴ ε (3e-5 at x = -1000): checked up to x = -200
    x, mills = x[1:], mills[1:]
    h = riesz.grad(lambda x: np.sum(riesz.grad(lambda x: np.sum(rsp.log_ndtr(x)))(x)))(x)
    np.testing.assert_allclose(h, -mills * (x + mills), rtol=1e-6)
    x = np.array([-20.0, -3.0, 0.0, 3.0, 30.0])
    ratio = np.exp(scipy.stats.norm.logpdf(x) - scipy.stats.norm.logcdf(x))
    g = riesz.grad(lambda x: np.sum(scipy.special.log_ndtr(x)))(x)  # routed by __array_ufunc__
    np.testing.assert_allclose(g, ratio, rtol=1e-12, atol=1e-300)
    assert rsp.log_ndtr(np.float32(-3.0)).dtype == np.float32


def test_polygamma_matches_scipy_at_every_order() -> None:
    for n in range(4):
        np.testing.assert_allclose(rsp.polygamma(n, X), scipy.special.polygamma(n, X),
                                   rtol=1e-13)
        g = riesz.grad(lambda x, n=n: np.sum(rsp.polygamma(n, x)))(X)
        np.testing.assert_allclose(g, scipy.special.polygamma(n + 1, X), rtol=1e-13)
    assert rsp.polygamma(1, np.float32(2.0)).dtype == np.float32


def test_xlogy_at_zero_has_finite_gradients() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no divide-by-zero or invalid-value warnings
        gx, gy = riesz.grad(lambda x, y: np.sum(rsp.xlogy(x, y)), argnums=(0, 1))(
            np.array([0.0, 0.0, 2.0]), np.array([0.0, 3.0, 3.0]))
    np.testing.assert_array_equal(gx, [0.0, np.log(3.0), np.log(3.0)])
    np.testing.assert_array_equal(gy, [0.0, 0.0, 2.0 / 3.0])
    # the entropy -Σ p log p: finite at p = 0 (the derivative there is taken as 0)
    p = np.array([0.0, 0.25, 0.75])
    g = riesz.grad(lambda p: -np.sum(rsp.xlogy(p, p)))(p)
    np.testing.assert_allclose(g, [0.0, -np.log(0.25) - 1, -np.log(0.75) - 1])
    gx, gy = riesz.grad(lambda x, y: np.sum(rsp.xlog1py(x, y)), argnums=(0, 1))(
        np.array([0.0, 1.0]), np.array([-1.0, 1.0]))
    np.testing.assert_allclose(gx, [0.0, np.log(2.0)])
    np.testing.assert_allclose(gy, [0.0, 0.5])


def test_logsumexp_softmax_are_stable_for_huge_inputs() -> None:
    x = np.array([1000.0, 999.0, -1000.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value, g = riesz.value_and_grad(rsp.logsumexp)(x)
        s = rsp.softmax(x)
        ls = rsp.log_softmax(x)
        gs = riesz.grad(lambda x: rsp.log_softmax(x)[1])(x)
    assert value == pytest.approx(scipy.special.logsumexp(x), rel=1e-15)
    np.testing.assert_allclose(g, scipy.special.softmax(x), rtol=1e-12)
    np.testing.assert_allclose(s, scipy.special.softmax(x), rtol=1e-12)
    np.testing.assert_allclose(ls, scipy.special.log_softmax(x), rtol=1e-12)
    np.testing.assert_allclose(gs, np.array([0.0, 1.0, 0.0]) - scipy.special.softmax(x),
                               atol=1e-15)
    # all -inf: SciPy's value, no NaN derivative leaking into the other entries
    value = rsp.logsumexp(np.array([[-np.inf, -np.inf], [0.0, 1.0]]), axis=1)
    np.testing.assert_array_equal(value, scipy.special.logsumexp(
        np.array([[-np.inf, -np.inf], [0.0, 1.0]]), axis=1))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        g = riesz.grad(lambda x: rsp.logsumexp(x, axis=1)[1])(
            np.array([[-np.inf, -np.inf], [0.0, 1.0]]))
    np.testing.assert_allclose(g, [[0.0, 0.0], scipy.special.softmax([0.0, 1.0])])


def test_logsumexp_return_sign() -> None:
    a, b = np.array([1.0, 2.0]), np.array([1.0, -2.0])
    ours = rsp.logsumexp(a, b=b, return_sign=True)
    ref = scipy.special.logsumexp(a, b=b, return_sign=True)
    np.testing.assert_allclose(ours[0], ref[0])
    np.testing.assert_array_equal(ours[1], ref[1])
    riesz.check_grads(lambda a: rsp.logsumexp(a, b=b, return_sign=True)[0], (a,), order=2)


def test_softmax_second_order_and_axis() -> None:
    x = np.random.default_rng(0).standard_normal((2, 3))
    riesz.check_grads(lambda x: rsp.softmax(x, axis=0), (x,), order=2)
    np.testing.assert_allclose(np.sum(rsp.softmax(x, axis=0), axis=0), 1.0)


def test_solve_triangular_batched_matches_scipy() -> None:
    rng = np.random.default_rng(1)
    a = np.tril(rng.standard_normal((2, 3, 3))) + 3 * np.eye(3)
    b = rng.standard_normal((2, 3, 2))
    np.testing.assert_allclose(rsl.solve_triangular(a, b, lower=True),
                               scipy.linalg.solve_triangular(a, b, lower=True), rtol=1e-13)
    riesz.check_grads(lambda a, b: rsl.solve_triangular(a, b, lower=True, trans="T"), (a, b),
                      order=2)


def test_scipy_functions_on_traced_values_raise_clearly() -> None:
    # scipy.linalg / scipy.signal are not NumPy ufuncs: they convert their inputs, which
    # raises instead of silently dropping the derivative; riesz.scipy has the same names.
    with pytest.raises(TypeError, match="cannot be converted"):
        riesz.grad(lambda a: np.sum(scipy.linalg.expm(a)))(np.eye(2))
    with pytest.raises(TypeError, match="cannot be converted"):
        riesz.grad(lambda a: np.sum(scipy.signal.correlate(a, a)))(np.ones(3))
    with pytest.raises(TypeError, match="cannot be converted"):
        riesz.grad(lambda a: scipy.special.logsumexp(a))(np.ones(3))


def test_signal_mode_errors() -> None:
    with pytest.raises(ValueError, match="at least as large"):
        rss.correlate(np.ones((2, 4)), np.ones((3, 2)), mode="valid")
    with pytest.raises(NotImplementedError, match="boundary"):
        rss.convolve2d(np.ones((3, 3)), np.ones((2, 2)), boundary="wrap")


def test_small_cnn_layer_gradient() -> None:
    rng = np.random.default_rng(2)
    image, kernel = rng.standard_normal((6, 6)), rng.standard_normal((3, 3))

    def loss(k):
        h = np.maximum(rss.correlate2d(image, k, mode="valid"), 0.0)
        return np.sum(h ** 2)

    np.testing.assert_allclose(riesz.grad(loss)(kernel), fd_grad(loss, kernel), rtol=1e-6)
