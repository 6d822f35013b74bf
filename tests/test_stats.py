"""riesz.scipy.stats (SPEC §14): values against scipy.stats itself on random, extreme and
invalid inputs (NaN / -inf where SciPy returns them), the tails against closed forms
where SciPy's own formula underflows, derivatives in the data and every differentiable
parameter against float64 finite differences to second order (`riesz.check_grads`),
derivatives exactly 0 (not NaN) at masked-out entries, the error for the shape
parameters of the incomplete gamma / beta functions, vmap over parameters against a
loop, frozen distributions, and the errors for invalid shapes."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.special as sp
import scipy.stats as ss

import riesz
import riesz.numpy as rnp
import riesz.scipy.stats as rs

# name -> (shape parameters, a sample inside the support of the standard distribution)
RNG = np.random.default_rng(0)
CONTINUOUS = {
    "norm": ((), RNG.normal(size=6) * 2),
    "expon": ((), RNG.exponential(size=6) + 0.05),
    "laplace": ((), RNG.laplace(size=6)),
    "logistic": ((), RNG.logistic(size=6)),
    "cauchy": ((), RNG.standard_cauchy(size=6)),
    "t": ((3.5,), RNG.standard_t(3.5, size=6)),
    "gamma": ((2.5,), RNG.gamma(2.5, size=6) + 0.05),
    "chi2": ((3.0,), RNG.chisquare(3.0, size=6) + 0.05),
    "beta": ((2.0, 0.7), np.clip(RNG.beta(2.0, 0.7, size=6), 0.05, 0.9)),
}
METHODS = ("pdf", "logpdf", "cdf", "logcdf", "sf", "logsf")
EXTREME = np.array([0.0, -1e3, 1e3, -40.0, 40.0, np.inf, -np.inf, np.nan, 1e-300, 1e200,
                    0.5, 1.0, 1 - 1e-12, 1e-5, 0.999])
# where riesz is exact and SciPy's log(pdf) / log(cdf) underflows or its formula gives NaN
BETTER = {("laplace", m) for m in ("logpdf", "logcdf", "logsf")} | {
    ("gamma", "logpdf"), ("gamma", "pdf"), ("chi2", "logpdf"), ("chi2", "pdf")}


def _scipy(dist: str, method: str, *args, **kwds):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return getattr(getattr(ss, dist), method)(*args, **kwds)


@pytest.mark.parametrize("name", sorted(CONTINUOUS))
@pytest.mark.parametrize("method", METHODS)
def test_continuous_values_match_scipy(name: str, method: str) -> None:
    shapes, sample = CONTINUOUS[name]
    x = np.concatenate([sample, EXTREME])
    for loc, scale in ((0.0, 1.0), (0.3, 2.0), (-1.0, 0.5), (0.0, -1.0), (0.0, 0.0),
                       (np.nan, 1.0)):
        got = getattr(getattr(rs, name), method)(x, *shapes, loc=loc, scale=scale)
        want = _scipy(name, method, x, *shapes, loc=loc, scale=scale)
        if (name, method) in BETTER:
            keep = np.isfinite(want) | np.isnan(want) & ~np.isinf(x)
            got, want = got[keep], want[keep]
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)
    # invalid shape parameters give NaN everywhere, as in SciPy
    if shapes:
        bad = (-1.0,) + shapes[1:]
        got = getattr(getattr(rs, name), method)(x, *bad)
        np.testing.assert_array_equal(got, _scipy(name, method, x, *bad))
        assert np.all(np.isnan(got))


@pytest.mark.parametrize("name", ["t", "gamma", "chi2", "beta"])
def test_shape_parameters_broadcast_and_match_scipy_at_extremes(name: str) -> None:
    shapes = {"t": ([0.3, 1.0, 7.0, 1e5, 1e12, 1e30, np.inf],),
              "gamma": ([1e-3, 0.5, 1.0, 30.0, 1e4],),
              "chi2": ([1e-2, 1.0, 2.0, 50.0, 1e5],),
              "beta": ([1e-2, 0.5, 1.0, 40.0, 1e4], [0.3, 1.0, 2.0, 1e3, 5.0])}[name]
    shapes = tuple(np.asarray(s)[:, None] for s in shapes)
    x = np.array([-3.0, 1e-2, 1e-3, 0.2, 0.5, 0.9, 2.0, 30.0, 1e4])
    for method in METHODS + ("entropy",):
        args = shapes if method == "entropy" else (x, *shapes)
        got = getattr(getattr(rs, name), method)(*args)
        want = _scipy(name, method, *args)
        np.testing.assert_allclose(got, want, rtol=2e-11, atol=0, err_msg=method)


@pytest.mark.parametrize("name", sorted(CONTINUOUS))
def test_entropy_matches_scipy(name: str) -> None:
    shapes, _ = CONTINUOUS[name]
    for loc, scale in ((0.0, 1.0), (1.0, 3.0), (0.0, np.array([0.5, 2.0, -1.0, 0.0]))):
        np.testing.assert_allclose(getattr(rs, name).entropy(*shapes, loc=loc, scale=scale),
                                   _scipy(name, "entropy", *shapes, loc=loc, scale=scale),
                                   rtol=1e-13)
    np.testing.assert_allclose(rs.beta.entropy([2.0, 1e7, 8e7, 1.0], [5e7, 2e7, 3.0, 1e8]),
                               ss.beta.entropy([2.0, 1e7, 8e7, 1.0], [5e7, 2e7, 3.0, 1e8]),
                               rtol=1e-12)


@pytest.mark.parametrize("name", ["norm", "expon", "laplace", "logistic", "cauchy"])
def test_ppf_matches_scipy_and_inverts_cdf(name: str) -> None:
    q = np.array([0.0, 1e-300, 1e-20, 1e-10, 0.1, 0.25, 0.3, 0.5, 0.7, 0.8, 0.9, 1 - 1e-10,
                  1.0, 1.5, -0.1, np.nan])
    for loc, scale in ((0.0, 1.0), (0.3, 2.0), (0.0, -1.0), (np.nan, 1.0)):
        got = getattr(rs, name).ppf(q, loc=loc, scale=scale)
        np.testing.assert_allclose(got, _scipy(name, "ppf", q, loc=loc, scale=scale),
                                   rtol=1e-13, atol=1e-300)
    mid = q[3:12]
    np.testing.assert_allclose(getattr(rs, name).cdf(getattr(rs, name).ppf(mid)), mid,
                               rtol=1e-9)


@pytest.mark.parametrize("name", ["t", "gamma", "chi2", "beta"])
def test_ppf_without_closed_form_raises(name: str) -> None:
    with pytest.raises(NotImplementedError, match=f"{name}.ppf"):
        getattr(rs, name).ppf(0.5, *CONTINUOUS[name][0])


# -- tails -------------------------------------------------------------------------------

def test_norm_log_tails_are_finite_and_right() -> None:
    x = np.array([-40.0, -200.0, -1e4])
    # log Φ(x) = -x²/2 - log(-x √(2π)) + log(1 - 1/x² + 3/x⁴ - ...)
    r = 1 / x**2
    closed = -x**2 / 2 - np.log(-x * np.sqrt(2 * np.pi)) + np.log1p(
        r * (-1 + r * (3 + r * (-15 + r * (105 - 945 * r)))))
    np.testing.assert_allclose(rs.norm.logcdf(x), closed, rtol=1e-12)
    np.testing.assert_allclose(rs.norm.logsf(-x), closed, rtol=1e-12)
    np.testing.assert_allclose(rs.norm.logcdf(x), ss.norm.logcdf(x), rtol=1e-14)
    # d/dx log Φ(x) = φ(x)/Φ(x) = -x / (1 - 1/x² + 3/x⁴ - ...)
    # (at x = -1e4 the log_ndtr primitive's derivative is good to 5e-9 only: it cancels
    # -x²/2 against log Φ(x) ≈ -5e7)
    x = x[:2]
    series = 1 + r[:2] * (-1 + r[:2] * (3 + r[:2] * (-15 + r[:2] * (105 - 945 * r[:2]))))
    g = riesz.grad(lambda x: rnp.sum(rs.norm.logcdf(x, 0.0, 1.0)))(x)
    np.testing.assert_allclose(g, -x / series, rtol=1e-11)
    g = riesz.grad(lambda s: rs.norm.logcdf(-40.0, 0.0, s))(1.0)
    np.testing.assert_allclose(g, 40.0 * 40.0 / series[0], rtol=1e-11)


def test_laplace_and_logistic_log_tails_do_not_underflow() -> None:
    x = np.array([-1e3, -800.0, 900.0])
    np.testing.assert_allclose(rs.laplace.logpdf(x), -np.abs(x) - np.log(2), rtol=1e-15)
    np.testing.assert_allclose(rs.laplace.logcdf(x[:2]), x[:2] - np.log(2), rtol=1e-15)
    np.testing.assert_allclose(rs.laplace.logsf(-x[:2]), x[:2] - np.log(2), rtol=1e-15)
    np.testing.assert_allclose(rs.logistic.logcdf(x[:2]), x[:2], rtol=1e-15)
    np.testing.assert_allclose(rs.logistic.logpdf(x), -np.abs(x), rtol=1e-15)
    assert np.all(np.isfinite(riesz.grad(lambda x: rnp.sum(rs.laplace.logcdf(x)))(x)))
    # expon.logcdf near 0: log(1 - e^-x) = log x - x/2 + ... without cancellation
    np.testing.assert_allclose(rs.expon.logcdf(1e-20), np.log(1e-20), rtol=1e-15)


def test_upper_tails_use_the_complement_accurately() -> None:
    # log cdf near 1: log1p(-sf), accurate where log(1 - sf) rounds to 0
    np.testing.assert_allclose(rs.t.logcdf(1e3, 3.0), np.log1p(-ss.t.sf(1e3, 3.0)), rtol=1e-12)
    np.testing.assert_allclose(rs.gamma.logcdf(1e3, 2.5), -sp.gammaincc(2.5, 1e3), rtol=1e-12)
    # t's cdf near 0 (SciPy's stdtr(1, 1e-9) rounds to 1/2): the Cauchy cdf
    x = np.array([1e-9, -3e-12, 1e-7])
    np.testing.assert_allclose(rs.t.cdf(x, 1.0), 0.5 + np.arctan(x) / np.pi, rtol=2e-13)
    np.testing.assert_allclose(rs.cauchy.logcdf(1e200), -1 / (np.pi * 1e200), rtol=1e-12)
    np.testing.assert_allclose(rs.beta.logsf(1e-5, 2.0, 0.7),
                               np.log1p(-sp.betainc(2.0, 0.7, 1e-5)), rtol=1e-12)
    np.testing.assert_allclose(rs.beta.logsf(1e-9, 0.01, 0.3), np.log(sp.betaincc(0.01, 0.3, 1e-9)),
                               rtol=1e-13)
    np.testing.assert_allclose(rs.beta.sf(0.1, 1.0, 1000.0), 0.9**1000, rtol=1e-12)
    # t's pdf at huge |x| and df without overflow of x², and its cdf at df = inf
    np.testing.assert_allclose(rs.t.logpdf(1e200, 2.0), _scipy("t", "logpdf", 1e200, 2.0),
                               rtol=1e-14)
    np.testing.assert_allclose(rs.t.cdf([-2.0, 0.3], np.inf), ss.norm.cdf([-2.0, 0.3]),
                               rtol=1e-15)


# -- derivatives -------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(CONTINUOUS))
def test_density_derivatives_in_data_shapes_loc_and_scale(name: str) -> None:
    shapes, sample = CONTINUOUS[name]
    loc, scale = (0.05, 1.1) if name == "beta" else (0.1, 1.3)
    x = loc + scale * sample
    for method in ("logpdf", "pdf"):
        riesz.check_grads(getattr(getattr(rs, name), method), (x, *shapes, loc, scale))
    riesz.check_grads(getattr(rs, name).entropy, (*shapes, loc, scale))


@pytest.mark.parametrize("name", sorted(CONTINUOUS))
def test_distribution_function_derivatives_in_data_loc_and_scale(name: str) -> None:
    shapes, sample = CONTINUOUS[name]
    loc, scale = (0.05, 1.1) if name == "beta" else (0.1, 1.3)
    x = loc + scale * sample
    for method in ("cdf", "logcdf", "sf", "logsf"):
        f = getattr(getattr(rs, name), method)
        riesz.check_grads(lambda x, loc, scale, f=f: f(x, *shapes, loc, scale), (x, loc, scale))
    # the derivative of the cdf is the density
    g = riesz.grad(lambda x: rnp.sum(getattr(rs, name).cdf(x, *shapes, loc, scale)))(x)
    np.testing.assert_allclose(g, ss.__dict__[name].pdf(x, *shapes, loc, scale), rtol=1e-11)


@pytest.mark.parametrize("name", ["norm", "expon", "laplace", "logistic", "cauchy"])
def test_ppf_derivatives(name: str) -> None:
    q = np.array([0.03, 0.2, 0.45, 0.6, 0.97])
    riesz.check_grads(getattr(rs, name).ppf, (q, 0.3, 1.7))
    # dppf/dq = 1 / pdf(ppf(q)), also far in the tails
    q = np.array([1e-12, 1e-6, 0.5, 1 - 1e-6])
    g = riesz.grad(lambda q: rnp.sum(getattr(rs, name).ppf(q)))(q)
    np.testing.assert_allclose(g, 1 / ss.__dict__[name].pdf(ss.__dict__[name].ppf(q)),
                               rtol=1e-6)


def test_shape_parameters_of_continuous_distributions_through_cdf_derivatives() -> None:
    # chi2's and gamma's entropy and densities are differentiable in the shape (above); the
    # cdfs through gammainc / betainc's shape derivatives (series / continued fractions),
    # checked against differences of SciPy's own cdfs, in both modes
    eps = 1e-6
    for f, ref, arg in (
        (lambda a: rs.gamma.cdf(1.0, a), lambda a: ss.gamma.cdf(1.0, a), 2.0),
        (lambda a: rs.gamma.logsf(1.0, a), lambda a: ss.gamma.logsf(1.0, a), 2.0),
        (lambda df: rs.chi2.cdf(1.0, df), lambda df: ss.chi2.cdf(1.0, df), 3.0),
        (lambda df: rs.t.cdf(0.5, df), lambda df: ss.t.cdf(0.5, df), 3.0),
        (lambda b: rs.beta.sf(0.3, 2.0, b), lambda b: ss.beta.sf(0.3, 2.0, b), 2.0),
    ):
        want = (ref(arg + eps) - ref(arg - eps)) / (2 * eps)
        np.testing.assert_allclose(riesz.grad(f)(arg), want, rtol=1e-6)
        np.testing.assert_allclose(riesz.jvp(f, (arg,), (1.0,))[1], want, rtol=1e-6)
    # the same cdfs with a constant shape differentiate in x, loc and scale (tested above)
    assert np.isfinite(riesz.grad(lambda s: rs.gamma.cdf(1.0, 2.0, scale=s))(2.0))


def test_masked_entries_have_zero_not_nan_derivatives() -> None:
    x = np.array([-1.0, 0.5, 1.5, np.nan, np.inf, -np.inf, 7.0])
    scale = np.array([1.0, -1.0, 2.0, 1.0, 1.0, 1.0, 0.0])
    for name in CONTINUOUS:
        shapes = CONTINUOUS[name][0]
        for method in METHODS:
            f = getattr(getattr(rs, name), method)
            gx, gs = riesz.grad(lambda x, s, f=f, sh=shapes: rnp.sum(f(x, *sh, scale=s)),
                                argnums=(0, 1))(x, scale)
            assert np.all(np.isfinite(gx[[1, 3, 4, 5, 6]])), (name, method, gx)
            assert np.all(np.isfinite(gs[[1, 3, 4, 5, 6]])), (name, method, gs)
            assert np.all(gs[[1, 6]] == 0) and np.all(gx[[1, 3, 6]] == 0)
    # an invalid shape parameter: value NaN, derivative 0
    g = riesz.grad(lambda a: rnp.sum(rs.gamma.logpdf(1.0, a)))(np.array([-1.0, 2.0]))
    np.testing.assert_array_equal(g, [0.0, -sp.digamma(2.0)])


def test_second_order_in_parameters_against_closed_forms() -> None:
    # ∂²/∂σ² log N(x; μ, σ) = 1/σ² - 3 (x-μ)²/σ⁴, ∂²/∂μ∂σ = -2 (x-μ)/σ³
    x, mu, s = 1.3, 0.2, 0.7
    hess = riesz.hessian(lambda p: rs.norm.logpdf(x, p[0], p[1]))(np.array([mu, s]))
    np.testing.assert_allclose(hess, [[-1 / s**2, -2 * (x - mu) / s**3],
                                      [-2 * (x - mu) / s**3, 1 / s**2 - 3 * (x - mu)**2 / s**4]],
                               rtol=1e-13)
    # ∂²/∂a² gamma.logpdf = -ψ'(a)
    h = riesz.hessian(lambda a: rs.gamma.logpdf(1.7, a, scale=2.0))(3.0)
    np.testing.assert_allclose(h, -sp.polygamma(1, 3.0), rtol=1e-13)


# -- poisson -----------------------------------------------------------------------------

def test_poisson_values_match_scipy() -> None:
    k = np.array([-1.0, 0.0, 1.0, 2.0, 3.5, 10.0, 50.0, np.inf, -np.inf, np.nan, 1e6])
    for mu in (0.0, 0.5, 3.0, 200.0, -1.0, np.nan):
        for loc in (0, 2):
            for method in ("pmf", "logpmf", "cdf", "logcdf", "sf", "logsf"):
                np.testing.assert_allclose(getattr(rs.poisson, method)(k, mu, loc=loc),
                                           _scipy("poisson", method, k, mu, loc=loc),
                                           rtol=1e-12, atol=0, err_msg=f"{method} {mu} {loc}")
    mu = np.array([0.0, 0.5, 3.0, 200.0, -1.0])
    np.testing.assert_allclose(rs.poisson.entropy(mu), ss.poisson.entropy(mu), rtol=1e-13)


def test_poisson_entropy_for_large_means_against_a_high_precision_sum() -> None:
    # SciPy's own poisson.entropy is wrong here (4.22 at mu = 2e4); mpmath at 30 digits
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 30
    for mu in (900.0, 1500.0, 2e4):
        m = mp.mpf(mu)
        lo, hi = int(max(0.0, mu - 40 * mu**0.5)), int(mu + 40 * mu**0.5) + 40
        logp = [k * mp.log(m) - mp.loggamma(k + 1) - m for k in range(lo, hi)]
        want = float(-mp.fsum(mp.exp(lp) * lp for lp in logp))
        np.testing.assert_allclose(rs.poisson.entropy(mu), want, rtol=1e-12)


def test_poisson_derivatives_in_mu_and_zero_in_k() -> None:
    k = np.array([0.0, 1.0, 3.0, 7.0])
    for method in ("pmf", "logpmf", "cdf", "logcdf", "sf", "logsf"):
        riesz.check_grads(lambda mu, m=method: getattr(rs.poisson, m)(k, mu), (2.3,))
    riesz.check_grads(rs.poisson.entropy, (np.array([0.4, 2.3, 40.0]),))
    np.testing.assert_allclose(riesz.grad(lambda mu: rs.poisson.logpmf(3.0, mu))(2.0),
                               3.0 / 2.0 - 1.0, rtol=1e-15)
    g = riesz.grad(lambda k: rnp.sum(rs.poisson.logpmf(k, 2.0)))(k)
    np.testing.assert_array_equal(g, np.zeros(4))


# -- multivariate ------------------------------------------------------------------------

def _spd(n: int, seed: int = 1) -> np.ndarray:
    a = np.random.default_rng(seed).normal(size=(n, n))
    return a @ a.T + n * np.eye(n)


def test_multivariate_normal_values_match_scipy() -> None:
    rng = np.random.default_rng(2)
    m, x = rng.normal(size=3), rng.normal(size=(4, 5, 3))
    for cov in (_spd(3), np.array([1.0, 2.0, 3.0]), 2.5):
        for method in ("logpdf", "pdf"):
            np.testing.assert_allclose(getattr(rs.multivariate_normal, method)(x, m, cov),
                                       getattr(ss.multivariate_normal, method)(x, m, cov),
                                       rtol=1e-12)
        np.testing.assert_allclose(rs.multivariate_normal.logpdf(x[0, 0], mean=m, cov=cov),
                                   ss.multivariate_normal.logpdf(x[0, 0], mean=m, cov=cov),
                                   rtol=1e-12)
        np.testing.assert_allclose(rs.multivariate_normal(m, cov).entropy(),
                                   ss.multivariate_normal(m, cov).entropy(), rtol=1e-13)
    for args in ((0.3,), ([0.3, 0.2], None, 2.0), ([0.1, 0.4, -0.2],)):
        np.testing.assert_allclose(rs.multivariate_normal.logpdf(*args),
                                   ss.multivariate_normal.logpdf(*args), rtol=1e-13)


def test_multivariate_normal_derivatives_in_x_mean_and_cov() -> None:
    rng = np.random.default_rng(3)
    m, x = rng.normal(size=3), rng.normal(size=(4, 3))
    riesz.check_grads(rs.multivariate_normal.logpdf, (x, m, _spd(3)))
    riesz.check_grads(rs.multivariate_normal.pdf, (x, m, np.array([1.0, 2.0, 0.5])))
    riesz.check_grads(lambda x, m, c: rs.multivariate_normal.logpdf(x, m, c), (x, m, 1.7))
    riesz.check_grads(lambda c: rs.multivariate_normal.entropy(None, c), (_spd(3),))
    # closed form: ∂/∂μ log N = Σ⁻¹ (x - μ)
    cov = _spd(3)
    g = riesz.grad(lambda m: rs.multivariate_normal.logpdf(x[0], m, cov))(m)
    np.testing.assert_allclose(g, np.linalg.solve(cov, x[0] - m), rtol=1e-12)


def test_multivariate_normal_errors() -> None:
    with pytest.raises(ValueError, match="mean"):
        rs.multivariate_normal.logpdf(np.zeros(2), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="cov"):
        rs.multivariate_normal.logpdf(np.zeros(2), np.zeros(2), np.eye(3))
    with pytest.raises(ValueError, match="last axis"):
        rs.multivariate_normal.logpdf(np.zeros((4, 3)), np.zeros(2))
    with pytest.raises(np.linalg.LinAlgError, match="positive definite"):
        rs.multivariate_normal.logpdf(np.zeros(2), np.zeros(2), np.array([[1.0, 2.0], [2.0, 1.0]]))
    with pytest.raises(np.linalg.LinAlgError, match="positive definite"):
        rs.multivariate_normal.logpdf(np.zeros(2), np.zeros(2), np.array([1.0, 0.0]))
    with pytest.raises(TypeError, match="unexpected"):
        rs.multivariate_normal.logpdf(np.zeros(2), covariance=np.eye(2))


def test_dirichlet_values_derivatives_and_errors() -> None:
    alpha = np.array([0.5, 2.0, 3.0])
    x = np.random.default_rng(4).dirichlet(alpha, size=6).T
    for xx in (x, x[:, 0], x[:2], x[:2, 0]):
        for method in ("logpdf", "pdf"):
            np.testing.assert_allclose(getattr(rs.dirichlet, method)(xx, alpha),
                                       getattr(ss.dirichlet, method)(xx, alpha), rtol=1e-12)
    for method in ("entropy", "mean", "var"):
        np.testing.assert_allclose(getattr(rs.dirichlet, method)(alpha),
                                   getattr(ss.dirichlet, method)(alpha), rtol=1e-13)
        np.testing.assert_allclose(getattr(rs.dirichlet(alpha), method)(),
                                   getattr(ss.dirichlet, method)(alpha), rtol=1e-13)
    # the K-1 form keeps finite-difference steps on the simplex
    riesz.check_grads(rs.dirichlet.logpdf, (x[:2], alpha))
    riesz.check_grads(rs.dirichlet.entropy, (alpha,))
    with pytest.raises(ValueError, match="greater than 0"):
        rs.dirichlet.logpdf(x, -alpha)
    with pytest.raises(ValueError, match="one-dimensional"):
        rs.dirichlet.logpdf(x, alpha[None])
    with pytest.raises(ValueError, match="simplex"):
        rs.dirichlet.logpdf(x * 0.9, alpha)
    with pytest.raises(ValueError, match="entries along its first axis"):
        rs.dirichlet.logpdf(np.full(5, 0.2), alpha)


# -- transformations, frozen distributions, arguments -------------------------------------

def test_vmap_over_parameters_matches_a_loop() -> None:
    x = np.array([0.3, 1.2, 2.5])
    scales = np.array([0.5, 1.0, -1.0, 2.0])
    for name in ("norm", "gamma", "t", "beta"):
        shapes = CONTINUOUS[name][0]
        for method in ("logpdf", "cdf", "logsf"):
            f = getattr(getattr(rs, name), method)
            got = riesz.vmap(lambda s, f=f, sh=shapes: f(x * 0.3, *sh, scale=s))(scales)
            want = np.stack([f(x * 0.3, *shapes, scale=s) for s in scales])
            np.testing.assert_allclose(got, want, rtol=1e-14)
    # shape parameters under vmap: the masks and regimes stay per example
    a = np.array([-1.0, 0.5, 3.0, 300.0])
    np.testing.assert_allclose(riesz.vmap(lambda a: rs.gamma.logpdf(x, a))(a),
                               ss.gamma.logpdf(x, a[:, None]), rtol=1e-13)
    np.testing.assert_allclose(riesz.vmap(rs.gamma.entropy)(a), ss.gamma.entropy(a), rtol=1e-13)
    b = np.array([5e7, 2e7, 3.0, 2.0])
    np.testing.assert_allclose(riesz.vmap(rs.beta.entropy)(np.array([2.0, 1e7, 8e7, 3.0]), b),
                               ss.beta.entropy(np.array([2.0, 1e7, 8e7, 3.0]), b), rtol=1e-12)
    mu = np.array([0.0, 0.7, 40.0, 3e4])
    np.testing.assert_allclose(riesz.vmap(rs.poisson.entropy)(mu),
                               [rs.poisson.entropy(m) for m in mu], rtol=1e-13)
    # gradients per example
    g = riesz.vmap(riesz.grad(lambda s: rs.norm.logpdf(1.0, 0.0, s)))(np.array([0.5, 2.0]))
    np.testing.assert_allclose(g, [-1 / 0.5 + 1 / 0.5**3, -1 / 2.0 + 1 / 2.0**3], rtol=1e-14)


def test_frozen_distributions() -> None:
    x = np.array([0.2, 1.5])
    frozen = rs.norm(1.0, scale=2.0)
    for method in METHODS + ("ppf",):
        arg = np.array([0.1, 0.7]) if method == "ppf" else x
        np.testing.assert_allclose(getattr(frozen, method)(arg),
                                   getattr(ss.norm(1.0, scale=2.0), method)(arg), rtol=1e-14)
    np.testing.assert_allclose(rs.gamma(2.5, scale=3.0).entropy(),
                               ss.gamma(2.5, scale=3.0).entropy(), rtol=1e-14)
    np.testing.assert_allclose(rs.poisson(3.0).pmf(2), ss.poisson(3.0).pmf(2), rtol=1e-14)
    g = riesz.grad(lambda m: rs.norm(m, 2.0).logpdf(0.5))(1.0)
    np.testing.assert_allclose(g, (0.5 - 1.0) / 4.0, rtol=1e-15)
    with pytest.raises(AttributeError):
        _ = rs.norm(0.0, 1.0).pmf


def test_signatures_and_dtypes() -> None:
    x = np.linspace(0.1, 2.0, 4)
    np.testing.assert_allclose(rs.gamma.logpdf(x, a=2.0, loc=0.1, scale=3.0),
                               ss.gamma.logpdf(x, 2.0, 0.1, 3.0), rtol=1e-14)
    assert isinstance(rs.norm.logpdf(0.3), np.float64)
    assert rs.norm.logpdf(np.float32(0.3) * np.ones(2, np.float32)).dtype == np.float32
    assert rs.norm.logpdf(np.arange(3)).dtype == np.float64
    with pytest.raises(TypeError, match="missing required shape parameter 'a'"):
        rs.gamma.logpdf(1.0)
    with pytest.raises(TypeError, match="unexpected keyword"):
        rs.norm.logpdf(1.0, mean=0.0)
    with pytest.raises(TypeError, match="too many"):
        rs.norm.logpdf(1.0, 0.0, 1.0, 2.0)
    with pytest.raises(TypeError, match="multiple values"):
        rs.norm.logpdf(1.0, 0.0, loc=1.0)
    with pytest.raises(TypeError, match="scale"):
        rs.poisson.pmf(1.0, 2.0, scale=1.0)


def test_unmodified_scipy_stats_refuses_traced_values() -> None:
    # SciPy's distributions call np.asarray; riesz.scipy.stats is the differentiable route
    with pytest.raises(TypeError, match="cannot be converted to a plain numpy.ndarray"):
        riesz.grad(lambda x: ss.norm.logpdf(x))(0.3)
    assert riesz.grad(lambda x: rs.norm.logpdf(x))(0.3) == -0.3


def test_taylor_mode_through_distributions_matches_nested_derivatives() -> None:
    # third-order directional derivatives of t.logpdf in x and gamma.cdf in scale, by jet,
    # against nested forward derivatives
    x = np.array([0.4, -1.3, 2.2])
    for f, p in ((lambda x: rs.t.logpdf(x, 3.5, 0.1, 1.2), x),
                 (lambda s: rs.gamma.cdf(x + 2.0, 2.5, 0.0, s), np.full(3, 1.7))):
        _, ys = riesz.jet(f, (p,), ([np.ones(3), np.zeros(3), np.zeros(3)],))
        want, g = [], f
        for _ in range(3):
            g = (lambda h: lambda q: riesz.jvp(h, (q,), (np.ones(3),))[1])(g)
            want.append(g(p))
        for got, w in zip(ys, want, strict=True):
            np.testing.assert_allclose(got, w, rtol=1e-10)


def test_betaincc_primitive_values_and_derivatives() -> None:
    import riesz.scipy.special as rsp

    a, b = np.array([0.5, 2.0, 30.0]), np.array([0.5, 1e3, 0.7])
    x = np.array([1e-9, 0.1, 0.99])
    np.testing.assert_array_equal(rsp.betaincc(a, b, x), sp.betaincc(a, b, x))
    g = riesz.grad(lambda x: rnp.sum(rsp.betaincc(a, b, x)))(x)
    np.testing.assert_allclose(g, -ss.beta.pdf(x, a, b), rtol=1e-12)
    # the shape derivatives are betainc's, negated
    gb = riesz.grad(lambda b: rsp.betaincc(2.0, b, 0.3))(1.5)
    np.testing.assert_allclose(gb, (sp.betaincc(2.0, 1.5 + 1e-6, 0.3)
                                    - sp.betaincc(2.0, 1.5 - 1e-6, 0.3)) / 2e-6, rtol=1e-6)


def test_multivariate_distributions_under_vmap_match_a_loop() -> None:
    rng = np.random.default_rng(5)
    a = rng.normal(size=(2, 3, 3))
    covs = a @ a.transpose(0, 2, 1) + np.eye(3)
    means, x = rng.normal(size=(2, 3)), rng.normal(size=(4, 3))
    got = riesz.vmap(lambda m, c: rs.multivariate_normal.logpdf(x, m, c))(means, covs)
    want = [ss.multivariate_normal.logpdf(x, means[i], covs[i]) for i in range(2)]
    np.testing.assert_allclose(got, want, rtol=1e-12)
    frozen = rs.multivariate_normal(means[0], covs[0])
    np.testing.assert_allclose(riesz.vmap(frozen.logpdf)(x), want[0], rtol=1e-12)
    alpha = np.array([[0.5, 2.0, 3.0], [1.5, 1.0, 2.0]])
    xs = rng.dirichlet([1.0, 1.0, 1.0], size=4)
    np.testing.assert_allclose(riesz.vmap(lambda a: rs.dirichlet.logpdf(xs.T, a))(alpha),
                               [ss.dirichlet.logpdf(xs.T, a) for a in alpha], rtol=1e-12)
    np.testing.assert_allclose(riesz.vmap(lambda x: rs.dirichlet.logpdf(x, alpha[0]))(xs),
                               ss.dirichlet.logpdf(xs.T, alpha[0]), rtol=1e-12)
    # the simplex check sees every example
    with pytest.raises(ValueError, match="simplex"):
        off = xs * np.array([[1.0], [0.9], [1.0], [1.0]])
        riesz.vmap(lambda x: rs.dirichlet.logpdf(x, alpha[0]))(off)
