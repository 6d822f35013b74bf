"""The one-pass value-and-derivative kernels of the fixed-order Bessel functions
(riesz/_primitives/special_kernels.py, kind JOINT): values and derivatives against SciPy's
own functions on dense grids (branch boundaries, tiny and huge x, negative x, NaN/inf,
float32), gradients against central finite differences with and without the kernel path,
and the rules of nested transformations, which never see a residual."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.special as sp

import riesz
import riesz.scipy.special as rsp
from riesz._primitives import special

NAMES = ("j0", "j1", "y0", "y1", "i0", "i1", "i0e", "i1e")


def _derivative_from_scipy(name: str, x: np.ndarray) -> np.ndarray:
    """F'(x) from the recurrences, in NumPy on SciPy's values (the oracle)."""
    with np.errstate(all="ignore"):
        s = np.sign(x)
        return {
            "j0": lambda: -sp.j1(x), "j1": lambda: sp.j0(x) - sp.j1(x) / x,
            "y0": lambda: -sp.y1(x), "y1": lambda: sp.y0(x) - sp.y1(x) / x,
            "i0": lambda: sp.i1(x), "i1": lambda: sp.i0(x) - sp.i1(x) / x,
            "i0e": lambda: sp.i1e(x) - s * sp.i0e(x),
            "i1e": lambda: sp.i0e(x) - sp.i1e(x) / x - s * sp.i1e(x),
        }[name]()


def _grid() -> np.ndarray:
    edges = np.array([5.0, 8.0, 10.0, 1e-5, 1.490116119384765625e-8])
    near = np.concatenate([np.nextafter(edges, 0), edges, np.nextafter(edges, 20)])
    return np.concatenate([
        np.linspace(-30.0, 30.0, 60001), near, -near, np.geomspace(1e-300, 1e-3, 300),
        -np.geomspace(1e-300, 1e-3, 300), np.geomspace(30.0, 1e3, 400),
        [0.0, -0.0, 700.0, 709.0, 709.9, 713.9, 720.0, -713.9, np.nan, np.inf, -np.inf],
    ])


def _assert_close(got: np.ndarray, ref: np.ndarray, rtol: float, atol: float) -> None:
    finite = np.isfinite(ref)
    np.testing.assert_array_equal(got[~finite], ref[~finite])  # same NaN / inf positions
    err = np.abs(got[finite] - ref[finite])
    bad = err > atol + rtol * np.abs(ref[finite])
    assert not bad.any(), (got[finite][bad][:5], ref[finite][bad][:5])


@pytest.mark.parametrize("name", NAMES)
def test_kernel_values_and_derivatives_match_scipy_float64(name: str) -> None:
    kernels = pytest.importorskip("riesz._primitives.special_kernels")
    x = _grid()
    f, d = kernels.joint(name, x)
    assert f.dtype == d.dtype == np.float64
    # the oscillating J, Y: absolute accuracy (Cephes' own peak error is ~4e-16 absolute)
    _assert_close(f, getattr(sp, name)(x), rtol=2e-15, atol=2e-15)
    ref_d = _derivative_from_scipy(name, x)
    if name in ("j1", "i1", "i1e"):  # 0/0 at x = 0: the limit 1/2
        ref_d[x == 0] = 0.5
    if name == "y1":  # -inf - (-inf / ±0): undefined at either zero, as the rules say
        ref_d[x == 0] = np.nan
    _assert_close(d, ref_d, rtol=4e-15, atol=4e-15)


@pytest.mark.parametrize("name", NAMES)
def test_kernel_float32_rounds_the_float64_values(name: str) -> None:
    kernels = pytest.importorskip("riesz._primitives.special_kernels")
    x = _grid()
    x = x[np.abs(x) < 80].astype(np.float32)  # (I overflows float32 beyond)
    f, d = kernels.joint(name, x)
    assert f.dtype == d.dtype == np.float32
    _assert_close(f, getattr(sp, name)(x), rtol=2.4e-7, atol=1e-7)
    ref_d = _derivative_from_scipy(name, x.astype(np.float64))
    if name in ("j1", "i1", "i1e"):
        ref_d[x == 0] = 0.5
    if name == "y1":
        ref_d[x == 0] = np.nan
    with np.errstate(over="ignore"):  # (Y's derivative beyond float32 near 0: inf)
        ref_d = ref_d.astype(np.float32)
    _assert_close(d, ref_d, rtol=2.4e-7, atol=1e-6)


@pytest.mark.parametrize("name", NAMES)
def test_kernel_float32_is_the_float64_result_rounded_once(name: str) -> None:
    """float32 input is widened and computed in float64, as SciPy's float32 loops do:
    the result is the float64 kernel's, rounded once (not float32 arithmetic, which
    loses digits near the zeros of J and Y)."""
    kernels = pytest.importorskip("riesz._primitives.special_kernels")
    x = _grid()
    x = x[np.abs(x) < 80].astype(np.float32)
    f32, d32 = kernels.joint(name, x)
    f64, d64 = kernels.joint(name, x.astype(np.float64))
    with np.errstate(over="ignore"):
        np.testing.assert_array_equal(f32, f64.astype(np.float32))
        np.testing.assert_array_equal(d32, d64.astype(np.float32))


def test_kernel_declines_what_it_does_not_compute() -> None:
    kernels = pytest.importorskip("riesz._primitives.special_kernels")
    assert kernels.joint("j0", np.arange(4)) is None  # integers
    assert kernels.joint("j0", np.ones(3, complex)) is None
    assert kernels.joint("j0", [1.0, 2.0]) is None
    x = np.linspace(0.5, 9.0, 24).reshape(2, 3, 4)[:, ::2]  # strided: copied, shape kept
    f, _ = kernels.joint("j1", x)
    np.testing.assert_array_equal(f, sp.j1(x))


@pytest.fixture(params=["kernel", "scipy"])
def path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Eager mode with the compiled kernel on every array (kernel), or without it (as
    without Numba)."""
    if request.param == "kernel":
        kernels = pytest.importorskip("riesz._primitives.special_kernels")
        monkeypatch.setattr(special, "JOINT_MIN_SIZE", 0)
        calls: list[str] = []
        joint, beta, rgamma = kernels.joint, kernels.beta_partials, kernels.rgamma_derivative
        rgamma_joint = kernels.rgamma
        monkeypatch.setattr(kernels, "rgamma",
                            lambda x: calls.append("rgamma") or rgamma_joint(x))
        monkeypatch.setattr(kernels, "joint", lambda n, x: calls.append(n) or joint(n, x))
        monkeypatch.setattr(kernels, "beta_partials",
                            lambda *a: calls.append("beta_partials") or beta(*a))
        monkeypatch.setattr(kernels, "rgamma_derivative",
                            lambda *a: calls.append("rgamma_derivative") or rgamma(*a))
        gammainc, betainc, ikv = kernels.gammainc, kernels.betainc, kernels.ikv
        monkeypatch.setattr(kernels, "ikv", lambda n, *a: calls.append(n) or ikv(n, *a))
        monkeypatch.setattr(kernels, "gammainc",
                            lambda *a: calls.append("gammainc") or gammainc(*a))
        monkeypatch.setattr(kernels, "betainc",
                            lambda *a: calls.append("betainc") or betainc(*a))
        request.node.kernel_calls = calls
    else:
        monkeypatch.setattr(special, "_kernels", False)
    return request.param


def _points(name: str) -> np.ndarray:
    x = np.array([-12.0, -7.5, -4.0, -0.3, 1e-4, 0.7, 4.999, 5.001, 7.9, 8.1, 9.5, 11.0, 25.0])
    return np.abs(x) if name[0] == "y" else x  # Y is real for x > 0 only


@pytest.mark.parametrize("name", NAMES)
def test_grad_and_jvp_match_finite_differences(name: str, path: str,
                                               request: pytest.FixtureRequest) -> None:
    f_sp, f_r = getattr(sp, name), getattr(rsp, name)
    x = _points(name)
    h = 1e-6 * np.maximum(np.abs(x), 1e-2)  # (relative near Y's singularity at 0)
    fd = (f_sp(x + h) - f_sp(x - h)) / (2 * h)
    g = riesz.grad(lambda a: riesz.numpy.sum(f_r(a)))(x)
    np.testing.assert_allclose(g, fd, rtol=1e-7, atol=1e-7)
    y, t = riesz.jvp(f_r, (x,), (np.ones_like(x),))
    np.testing.assert_allclose(y, f_sp(x), rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(t, fd, rtol=1e-7, atol=1e-7)
    v, vjp_fn = riesz.vjp(f_r, x)
    (c1,), (c2,) = vjp_fn(np.ones_like(x)), vjp_fn(np.ones_like(x))  # the residual is reused
    np.testing.assert_array_equal(c1, c2)
    np.testing.assert_allclose(c1, fd, rtol=1e-7, atol=1e-7)
    if path == "kernel":
        assert request.node.kernel_calls.count(name) == 3  # grad, jvp, vjp


@pytest.mark.parametrize("name", NAMES)
def test_second_order_under_the_kernel_path(name: str, path: str) -> None:
    """grad of grad: the inner trace is nested, so its rules run differentiably (no
    residual), and the outer one sees the first derivative's own rules."""
    f_sp, f_r = getattr(sp, name), getattr(rsp, name)
    x = _points(name)
    x = x[np.abs(x) > 0.1]
    d2 = riesz.grad(lambda a: riesz.numpy.sum(riesz.grad(
        lambda b: riesz.numpy.sum(f_r(b)))(a)))(x)
    h = 1e-4
    fd2 = (f_sp(x + h) - 2 * f_sp(x) + f_sp(x - h)) / h**2
    np.testing.assert_allclose(d2, fd2, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", NAMES)
def test_kernel_and_scipy_paths_agree_at_zero_negative_and_nonfinite(
        name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("riesz._primitives.special_kernels")
    x = np.array([0.0, -0.0, -2.0, 3.0, 1e-300, np.nan, np.inf, -np.inf, 50.0])
    f_r = getattr(rsp, name)

    def value_and_grad() -> tuple[np.ndarray, np.ndarray]:
        with np.errstate(all="ignore"):
            return riesz.value_and_grad(lambda a: riesz.numpy.sum(f_r(a) * np.arange(9.0)))(x)

    monkeypatch.setattr(special, "_kernels", False)
    v0, g0 = value_and_grad()
    monkeypatch.setattr(special, "_kernels", None)
    monkeypatch.setattr(special, "JOINT_MIN_SIZE", 0)
    v1, g1 = value_and_grad()
    np.testing.assert_allclose(g1, g0, rtol=1e-14, atol=1e-300)
    assert np.isnan(v0) == np.isnan(v1)


def test_small_arrays_and_jit_do_not_call_the_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    kernels = pytest.importorskip("riesz._primitives.special_kernels")
    calls: list[str] = []
    joint = kernels.joint
    monkeypatch.setattr(kernels, "joint", lambda n, x: calls.append(n) or joint(n, x))
    x = np.linspace(0.5, 3.0, 7)
    riesz.grad(lambda a: riesz.numpy.sum(rsp.j0(a)))(x)  # below JOINT_MIN_SIZE
    monkeypatch.setattr(special, "JOINT_MIN_SIZE", 0)
    g = riesz.jit(riesz.grad(lambda a: riesz.numpy.sum(rsp.j0(a))))(x)  # staged: abstract
    np.testing.assert_allclose(g, -sp.j1(x), rtol=1e-15)
    assert calls == []


# -- ψ-based kernels: beta, betaln, rgamma ------------------------------------------------------

def _psi_grid() -> np.ndarray:
    return np.concatenate([np.geomspace(1e-300, 1e20, 4001), np.arange(1.0, 13.0),
                           np.linspace(0.01, 30.0, 6001), [1.4616321449683623, np.inf]])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_beta_partials_match_scipy_digamma(dtype: type) -> None:
    kernels = pytest.importorskip("riesz._primitives.special_kernels")
    a = _psi_grid().astype(dtype)
    if dtype is np.float32:  # (B in float32 over- and underflows beyond)
        a = a[(a > 1e-3) & (a < 1e3)]
    b = a[::-1].copy()
    assert kernels.beta_accepts(a, b)
    with np.errstate(all="ignore"):
        ans = sp.beta(a, b)
        ref_a = (sp.digamma(a.astype(float)) - sp.digamma(a.astype(float) + b))
        ref_b = (sp.digamma(b.astype(float)) - sp.digamma(a.astype(float) + b))
        scale = np.abs(sp.digamma(a.astype(float))) + np.abs(sp.digamma(b.astype(float))) + 1
    for times_ans, rtol in ((False, 1e-15), (True, 1e-15)):
        da, db = kernels.beta_partials(a, b, ans, times_ans)
        assert da.dtype == db.dtype == dtype
        for got, ref in ((da, ref_a), (db, ref_b)):
            if times_ans:
                with np.errstate(all="ignore"):
                    ref, sc = ref * ans, scale * np.abs(ans)
            else:
                sc = scale
            if dtype is np.float32:
                rtol = 3e-7
            ok = np.isfinite(ref)
            tiny = 4 * np.finfo(dtype).tiny  # (float32 subnormals)
            np.testing.assert_array_less(np.abs(got[ok] - ref[ok]), 4 * rtol * sc[ok] + tiny)


def test_beta_kernel_declines_nonpositive_and_mismatched_arguments() -> None:
    kernels = pytest.importorskip("riesz._primitives.special_kernels")
    x = np.linspace(0.5, 3.0, 6)
    assert not kernels.beta_accepts(x - 1.0, x)  # a <= 0: SciPy and the rules
    assert not kernels.beta_accepts(x, np.append(x[:-1], np.nan))
    assert not kernels.beta_accepts(x, x[:3])
    assert not kernels.beta_accepts(x, 2.0)
    assert not kernels.beta_accepts(x, x.astype(np.float32))


def test_rgamma_kernel_derivative_against_digamma_and_at_the_zeros() -> None:
    kernels = pytest.importorskip("riesz._primitives.special_kernels")
    x = np.concatenate([np.linspace(-30.0, 30.0, 60011), -np.arange(0.0, 25.0),
                        np.geomspace(1e-300, 1e2, 500), [np.nan, np.inf]])
    ans = sp.rgamma(x)
    d = kernels.rgamma_derivative(x, ans)
    with np.errstate(all="ignore"):
        ref = -sp.digamma(x) * ans  # (inaccurate near the zeros of 1/Γ: compared away from them)
        r = np.abs(x - np.rint(x))
    away = (x > 0) | (r > 1e-3)
    ok = away & np.isfinite(ref)
    np.testing.assert_allclose(d[ok], ref[ok], rtol=1e-11, atol=1e-300)
    zeros = (x <= 0) & (r == 0)
    n = -x[zeros]
    np.testing.assert_allclose(d[zeros], (-1.0) ** n * sp.gamma(n + 1.0), rtol=1e-14)
    assert np.isnan(d[np.isnan(x)]).all() and np.isnan(d[x == np.inf]).all()


@pytest.mark.parametrize("name", ["beta", "betaln"])
def test_beta_gradients_match_finite_differences(name: str, path: str,
                                                 request: pytest.FixtureRequest) -> None:
    f_sp, f_r = getattr(sp, name), getattr(rsp, name)
    a = np.array([0.3, 0.9, 1.0, 2.5, 4.0, 7.5, 12.0, 40.0])
    b = np.array([2.0, 0.4, 3.0, 2.5, 0.7, 9.0, 1.5, 30.0])
    g = riesz.grad(lambda p, q: riesz.numpy.sum(f_r(p, q)), argnums=(0, 1))(a, b)
    h = 1e-6
    fd = ((f_sp(a + h, b) - f_sp(a - h, b)) / (2 * h), (f_sp(a, b + h) - f_sp(a, b - h)) / (2 * h))
    for got, ref in zip(g, fd, strict=True):
        np.testing.assert_allclose(got, ref, rtol=1e-7, atol=1e-9)
    t = riesz.jvp(lambda p, q: f_r(p, q), (a, b), (np.ones_like(a), np.ones_like(b)))[1]
    np.testing.assert_allclose(t, fd[0] + fd[1], rtol=1e-7, atol=1e-9)
    # a negative a: the kernel declines, the rules take over
    g_neg = riesz.grad(lambda p: riesz.numpy.sum(f_r(p, b)))(a - 0.45)
    fd_neg = (f_sp(a - 0.45 + h, b) - f_sp(a - 0.45 - h, b)) / (2 * h)
    np.testing.assert_allclose(g_neg, fd_neg, rtol=1e-6, atol=1e-8)
    if path == "kernel":  # grad and jvp; not the negative a
        assert request.node.kernel_calls == ["beta_partials"] * 2


def test_rgamma_gradient_matches_finite_differences(path: str,
                                                    request: pytest.FixtureRequest) -> None:
    x = np.array([-4.5, -3.0, -2.2, -1.0, -0.6, 0.0, 0.3, 1.0, 1.4616, 2.5, 6.0, 11.0])
    g = riesz.grad(lambda a: riesz.numpy.sum(rsp.rgamma(a)))(x)
    h = 1e-6
    np.testing.assert_allclose(g, (sp.rgamma(x + h) - sp.rgamma(x - h)) / (2 * h),
                               rtol=1e-7, atol=1e-8)
    if path == "kernel":
        assert request.node.kernel_calls == ["rgamma"]
    # NaN or x < -170: SciPy's value, the derivative from the kernel of ψ
    x2 = np.append(x, -170.5)
    g2 = riesz.grad(lambda a: riesz.numpy.sum(rsp.rgamma(a)))(x2)
    np.testing.assert_allclose(g2[:-1], g, rtol=1e-15)
    if path == "kernel":
        assert request.node.kernel_calls == ["rgamma", "rgamma", "rgamma_derivative"]


def _rgamma_grid() -> np.ndarray:
    """Dense on (-10, 10) (the recurrences), wide beyond, the integers and both sides of
    the zeros of 1/Γ at 1e-3, 1e-8, 1e-14, the switches at |x| = 10, ±0, inf, huge x."""
    near = np.concatenate([np.arange(-12.0, 0.0) + d for d in (1e-3, -1e-3, 1e-8, -1e-8,
                                                              1e-14, -1e-14)])
    return np.concatenate([
        np.linspace(-10.0, 10.0, 200001), np.linspace(-170.0, 180.0, 35001),
        np.arange(-30.0, 31.0), near, np.geomspace(1e-300, 1e2, 500),
        -np.geomspace(1e-300, 1e-3, 300), [10.0, np.nextafter(10.0, 11.0), -10.0,
                                           np.nextafter(-10.0, -11.0), -0.0, np.inf, 1e300]])


def test_rgamma_kernel_values_and_derivative() -> None:
    kernels = pytest.importorskip("riesz._primitives.special_kernels")
    x = _rgamma_grid()
    f, d = kernels.rgamma(x)
    ref = sp.rgamma(x)
    _assert_close(f, ref, rtol=4e-15, atol=0.0)
    np.testing.assert_array_equal(np.signbit(f[ref == 0]), np.signbit(ref[ref == 0]))  # -0
    # the derivative against -ψ(x)/Γ(x) by the reflection (riesz's NumPy rule, on SciPy's
    # ψ), relative to the size of its terms: both cancel at the zeros of ψ (x < 0)
    ref_d = special._rgamma_derivative_np(x, ref)
    with np.errstate(all="ignore"):
        scale = np.abs(ref) * (np.abs(sp.digamma(1.0 - x)) + np.abs(np.pi / np.tan(np.pi * x)))
    scale = np.where(x > 0, np.abs(ref_d), scale)
    ok = np.isfinite(ref_d)
    assert ok[np.isfinite(x)].all()
    _assert_close(d[ok], ref_d[ok], rtol=2e-14, atol=2e-14 * scale[ok])
    zeros = (x <= 0) & (x == np.rint(x))
    n = -x[zeros]
    np.testing.assert_allclose(d[zeros], (-1.0) ** n * sp.gamma(n + 1.0), rtol=1e-15)
    np.testing.assert_array_equal(d[x == np.inf], ref_d[x == np.inf])


@pytest.mark.parametrize("x", [1.4616321449683623, 1.46, 0.3, 2.5, 7.7, -0.5040830082644554,
                               -2.0 + 1e-8, -2.0 - 1e-8, -3.0 + 1e-14, -4.5, -9.99, 9.99])
def test_rgamma_kernel_against_mpmath(x: float) -> None:
    kernels = pytest.importorskip("riesz._primitives.special_kernels")
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 40
    f, d = kernels.rgamma(np.array([x]))
    assert abs(f[0] - float(mp.rgamma(x))) <= 4e-15 * abs(float(mp.rgamma(x)))
    dm = mp.diff(mp.rgamma, x)
    # relative to -ψ(x)/Γ(x)'s terms (ψ vanishes at 1.46163 and -0.50408)
    scale = float(abs(mp.rgamma(x)) * (abs(mp.digamma(abs(x) + 1)) + 1 / abs(x)))
    assert abs(d[0] - float(dm)) <= 1e-14 * max(abs(float(dm)), scale)


def test_rgamma_kernel_float32_and_declines() -> None:
    kernels = pytest.importorskip("riesz._primitives.special_kernels")
    x = np.linspace(-9.5, 20.0, 3001).astype(np.float32)
    f, d = kernels.rgamma(x)
    assert f.dtype == d.dtype == np.float32
    x64 = x.astype(np.float64)
    ref = sp.rgamma(x64)
    _assert_close(f, ref.astype(np.float32), rtol=2.4e-7, atol=1e-30)
    ref_d = special._rgamma_derivative_np(x64, ref).astype(np.float32)
    _assert_close(d, ref_d, rtol=1e-6, atol=1e-6 * np.abs(ref_d).max() * 1e-3)
    for bad in (np.array([1.0, np.nan]), np.array([1.0, -170.5]), np.arange(3),
                np.ones(3, complex), [1.0, 2.0]):
        assert kernels.rgamma(bad) is None


# -- gammainc, gammaincc: value and both partials from one pass --------------------------------

def _gamma_grid() -> tuple[np.ndarray, np.ndarray]:
    a, x = np.meshgrid(np.concatenate([np.geomspace(1e-3, 20.0, 80), np.arange(1.0, 21.0)]),
                       np.concatenate([np.geomspace(1e-3, 200.0, 120), np.arange(1.0, 22.0)]))
    return a.ravel(), x.ravel()


@pytest.mark.parametrize("upper", [False, True])
def test_gammainc_kernel_values_and_partials(upper: bool) -> None:
    kernels = pytest.importorskip("riesz._primitives.special_kernels")
    a, x = _gamma_grid()
    f_sp = sp.gammaincc if upper else sp.gammainc
    v, (da, dx) = kernels.gammainc(a, x, upper)
    np.testing.assert_allclose(v, f_sp(a, x), rtol=5e-14, atol=0)
    sign = -1.0 if upper else 1.0
    with np.errstate(under="ignore"):
        density = np.exp((a - 1) * np.log(x) - x - sp.gammaln(a))
    np.testing.assert_allclose(dx, sign * density, rtol=1e-13, atol=0)
    h = 1e-6 * a  # ∂a: central differences of SciPy's own function
    fd = (f_sp(a + h, x) - f_sp(a - h, x)) / (2 * h)
    # (SciPy's own P is smooth in a to ~1e-13 only where it switches expansions: atol)
    np.testing.assert_allclose(da, fd, rtol=2e-6, atol=1e-7)


def test_gammainc_kernel_declines_outside_its_range() -> None:
    kernels = pytest.importorskip("riesz._primitives.special_kernels")
    a, x = np.array([0.5, 2.0]), np.array([1.0, 3.0])
    assert kernels.gammainc(a, x, False) is not None
    for bad_a, bad_x in ((a * 20, x), (a - 1.0, x), (a, x - 1.0), (a, x * np.inf), (a, x[:1])):
        assert kernels.gammainc(bad_a, bad_x, False) is None
    assert kernels.gammainc(a, 2.0, False) is None


@pytest.mark.parametrize("name", ["gammainc", "gammaincc"])
def test_gammainc_gradients_match_finite_differences(name: str, path: str,
                                                     request: pytest.FixtureRequest) -> None:
    f_sp, f_r = getattr(sp, name), getattr(rsp, name)
    a = np.array([0.2, 0.9, 1.0, 2.5, 4.0, 7.5, 12.0, 19.0, 0.7])
    x = np.array([0.05, 0.5, 3.0, 2.5, 9.0, 5.0, 30.0, 17.0, 0.69])
    g = riesz.grad(lambda p, q: riesz.numpy.sum(f_r(p, q)), argnums=(0, 1))(a, x)
    h = 1e-6
    fd = ((f_sp(a + h, x) - f_sp(a - h, x)) / (2 * h), (f_sp(a, x + h) - f_sp(a, x - h)) / (2 * h))
    for got, ref in zip(g, fd, strict=True):
        np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-9)
    v = riesz.value_and_grad(lambda p, q: riesz.numpy.sum(f_r(p, q)))(a, x)[0]
    np.testing.assert_allclose(v, np.sum(f_sp(a, x)), rtol=1e-14)
    if path == "kernel":
        assert request.node.kernel_calls == ["gammainc"] * 2


# -- betainc, betaincc: value and the three partials from one pass -----------------------------

@pytest.mark.parametrize("upper", [False, True])
def test_betainc_kernel_values_and_partials(upper: bool) -> None:
    kernels = pytest.importorskip("riesz._primitives.special_kernels")
    tails = np.geomspace(1e-9, 0.5, 12)
    a, b, x = (v.ravel() for v in np.meshgrid(
        np.geomspace(1e-3, 80.0, 16), np.geomspace(1e-3, 80.0, 16),
        np.concatenate([tails, 1.0 - tails, np.linspace(0.05, 0.95, 7)])))
    f_sp = sp.betaincc if upper else sp.betainc
    v, (da, db, dx) = kernels.betainc(a, b, x, upper)
    ref = f_sp(a, b, x)
    # the prefactor x^a (1-x)^b / B is an exponential: its relative error grows with the
    # size of its exponent, ~1e-13 deep in the tails
    for lo, rtol in ((1e-20, 6e-14), (1e-300, 5e-13)):
        m = ref > lo
        np.testing.assert_allclose(v[m], ref[m], rtol=rtol)
    sign = -1.0 if upper else 1.0
    with np.errstate(under="ignore"):
        density = np.exp((a - 1) * np.log(x) + (b - 1) * np.log1p(-x) - sp.betaln(a, b))
    np.testing.assert_allclose(dx, sign * density, rtol=1e-12, atol=1e-300)
    for got, shift in ((da, (1, 0)), (db, (0, 1))):  # central differences of SciPy's own
        h = 1e-6 * (a if shift[0] else b)
        fd = (f_sp(a + shift[0] * h, b + shift[1] * h, x)
              - f_sp(a - shift[0] * h, b - shift[1] * h, x)) / (2 * h)
        # (atol: SciPy's I_x is not smooth to better than ~1e-13 everywhere, e.g. at
        # a = 0.002, b = 8.4, x = 0.5, where mpmath agrees with the kernel to 1e-15)
        np.testing.assert_allclose(got, fd, rtol=2e-6, atol=2e-7)


def test_betainc_kernel_partials_against_mpmath() -> None:
    kernels = pytest.importorskip("riesz._primitives.special_kernels")
    mpmath = pytest.importorskip("mpmath")
    a = np.array([0.00212262202258059, 0.5, 2.5, 30.0, 7.0, 0.05])
    b = np.array([8.365116420730178, 0.5, 1.5, 40.0, 0.3, 60.0])
    x = np.array([0.5, 0.01, 0.9, 0.45, 0.999, 1e-4])
    _, (da, db, _) = kernels.betainc(a, b, x, False)
    with mpmath.workdps(30):
        for ai, bi, xi, dai, dbi in zip(a, b, x, da, db, strict=True):
            ref_a = mpmath.diff(lambda s, bi=bi, xi=xi: mpmath.betainc(
                s, bi, 0, xi, regularized=True), ai)
            ref_b = mpmath.diff(lambda t, ai=ai, xi=xi: mpmath.betainc(
                ai, t, 0, xi, regularized=True), bi)
            np.testing.assert_allclose([dai, dbi], [float(ref_a), float(ref_b)], rtol=1e-12)


def test_betainc_kernel_declines_outside_its_range() -> None:
    kernels = pytest.importorskip("riesz._primitives.special_kernels")
    a, b, x = np.array([0.5, 2.0]), np.array([3.0, 1.0]), np.array([0.2, 0.9])
    assert kernels.betainc(a, b, x, False) is not None
    for args in ((a * 100, b, x), (a - 1.0, b, x), (a, b, x - 0.2), (a, b, x + 0.1),
                 (a, b, x[:1]), (a, 2.0, x)):
        assert kernels.betainc(*args, False) is None


@pytest.mark.parametrize("name", ["betainc", "betaincc"])
def test_betainc_gradients_match_finite_differences(name: str, path: str,
                                                    request: pytest.FixtureRequest) -> None:
    f_sp, f_r = getattr(sp, name), getattr(rsp, name)
    a = np.array([0.2, 0.9, 1.0, 2.5, 4.0, 7.5, 12.0, 30.0])
    b = np.array([3.0, 0.5, 1.0, 2.5, 0.8, 9.0, 2.0, 25.0])
    x = np.array([0.05, 0.5, 0.3, 0.999, 0.9, 0.4, 0.85, 0.5])
    g = riesz.grad(lambda p, q, r: riesz.numpy.sum(f_r(p, q, r)), argnums=(0, 1, 2))(a, b, x)
    h = 1e-7
    fd = ((f_sp(a + h, b, x) - f_sp(a - h, b, x)) / (2 * h),
          (f_sp(a, b + h, x) - f_sp(a, b - h, x)) / (2 * h),
          (f_sp(a, b, x + h) - f_sp(a, b, x - h)) / (2 * h))
    for got, ref in zip(g, fd, strict=True):
        np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-8)
    v = riesz.value_and_grad(lambda p, q, r: riesz.numpy.sum(f_r(p, q, r)))(a, b, x)[0]
    np.testing.assert_allclose(v, np.sum(f_sp(a, b, x)), rtol=1e-14)
    if path == "kernel":
        assert request.node.kernel_calls == ["betainc"] * 2


def test_gammainc_kernel_partial_in_a_against_mpmath() -> None:
    kernels = pytest.importorskip("riesz._primitives.special_kernels")
    mpmath = pytest.importorskip("mpmath")
    a = np.array([0.01, 0.5, 2.5, 7.0, 19.5, 3.0])
    x = np.array([0.3, 1.4, 2.0, 15.0, 18.0, 1e-3])
    _, (da, _) = kernels.gammainc(a, x, False)
    with mpmath.workdps(30):
        for ai, xi, dai in zip(a, x, da, strict=True):
            ref = mpmath.diff(lambda s, xi=xi: mpmath.gammainc(s, 0, xi, regularized=True), ai)
            np.testing.assert_allclose(dai, float(ref), rtol=1e-12)


# -- I_v, K_v of real order (Temme's method) ------------------------------------------------

_IKV = {"iv": (sp.iv, sp.ivp), "kv": (sp.kv, sp.kvp)}


def _ikv_grid() -> tuple[np.ndarray, np.ndarray]:
    """Orders in [-10, 10] (integers, half-integers, near-integers, the u = ±1/2 switch),
    x from 1e-8 to 690 with the series / continued-fraction switch at x = 2."""
    v = np.concatenate([np.arange(-10.0, 10.01, 0.25), [-9.9, -3.3, 0.1, 7.3, 1e-9, -1e-9,
                                                         0.49999, 0.50001, -2.50001]])
    x = np.concatenate([np.geomspace(1e-8, 690.0, 500), [0.1, 1.0, 20.0, 100.0, 690.0],
                        [np.nextafter(2.0, 0.0), 2.0, np.nextafter(2.0, 3.0)]])
    vv, xx = np.meshgrid(v, x)
    return vv.ravel(), xx.ravel()


@pytest.mark.parametrize("name", ["iv", "kv"])
def test_ikv_kernel_values_and_derivatives_match_scipy(name: str) -> None:
    kernels = pytest.importorskip("riesz._primitives.special_kernels")
    v, x = _ikv_grid()
    f, d = kernels.ikv(name, v, x)
    f_sp, fp_sp = _IKV[name]
    ref, ref_d = f_sp(v, x), fp_sp(v, x)
    assert np.isfinite(ref).all() and np.isfinite(ref_d).all()
    # (SciPy's own Temme series loses ~6e-14 at x = 2; the kernel is checked against
    # mpmath there below)
    _assert_close(f, ref, rtol=1e-13, atol=1e-300)
    # SciPy's ivp / kvp for orders within 1e-3 of an integer lose eps/|u| in its gp - gm
    far = np.abs(v - np.rint(v)) > 1e-3
    # relative to the terms of F_v' = (v/x) F_v ± F_(v±1), which cancel at its zeros
    scale = np.abs(v / x * ref) + np.abs(f_sp(v + 1, x))
    _assert_close(d[far], ref_d[far], rtol=1e-13, atol=1e-13 * scale[far])
    # far from the zeros of I_v (v < 0), central differences of SciPy's values agree too
    h = 1e-6 * x
    fd = (f_sp(v, x + h) - f_sp(v, x - h)) / (2 * h)
    _assert_close(d[far], fd[far], rtol=1e-6, atol=1e-6 * np.abs(f[far]))


@pytest.mark.parametrize(("name", "v", "x"), [
    ("iv", -1e-9, 4.3874620889040506e-05), ("iv", 1e-9, 3.0), ("iv", -2.5, 1.999),
    ("iv", 0.5, 700.0), ("iv", -7.3, 0.02), ("kv", -0.25, 2.0), ("kv", 0.25, 1.999),
    ("kv", 1e-9, 2.0), ("kv", 3.25, 2.0001), ("kv", 10.0, 1e-3), ("kv", 0.5, 650.0)])
def test_ikv_kernel_against_mpmath(name: str, v: float, x: float) -> None:
    kernels = pytest.importorskip("riesz._primitives.special_kernels")
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 40
    fm = mp.besseli if name == "iv" else mp.besselk
    f, d = kernels.ikv(name, v, np.array([x]))
    assert abs(f[0] - float(fm(v, x))) <= 2e-15 * abs(float(fm(v, x)))
    dm = float(mp.diff(lambda t: fm(v, t), x))
    assert abs(d[0] - dm) <= 5e-14 * abs(dm)  # (its two terms cancel at tiny x, v < 0)


@pytest.mark.parametrize("name", ["iv", "kv"])
def test_ikv_kernel_float32_and_broadcast_orders(name: str) -> None:
    kernels = pytest.importorskip("riesz._primitives.special_kernels")
    f_sp, fp_sp = _IKV[name]
    x = np.geomspace(1e-3, 60.0, 300).astype(np.float32).reshape(3, 100)
    v = np.array([[-2.5], [0.0], [3.7]], np.float32)  # one order per row
    f, d = kernels.ikv(name, v, x)
    assert f.dtype == d.dtype == np.float32 and f.shape == x.shape
    x64, v64 = x.astype(np.float64), v.astype(np.float64)
    with np.errstate(over="ignore"):
        ref, ref_d = f_sp(v64, x64).astype(np.float32), fp_sp(v64, x64).astype(np.float32)
    ok = np.isfinite(ref) & np.isfinite(ref_d)
    _assert_close(f[ok], ref[ok], rtol=1e-6, atol=1e-30)
    _assert_close(d[ok], ref_d[ok], rtol=1e-6, atol=1e-30)
    f1, _ = kernels.ikv(name, 1.5, x)  # a Python scalar order keeps float32
    assert f1.dtype == np.float32


def test_ikv_kernel_declines_outside_its_domain() -> None:
    kernels = pytest.importorskip("riesz._primitives.special_kernels")
    x = np.linspace(0.5, 5.0, 8)
    assert kernels.ikv("iv", 1.5, x) is not None
    for bad_x in (x.astype(complex), -x, np.append(x, 0.0), np.append(x, np.nan),
                  np.append(x, np.inf), np.append(x, 701.0), np.arange(1, 5), list(x)):
        assert kernels.ikv("iv", 1.5, bad_x) is None
        assert kernels.ikv("kv", 1.5, bad_x) is None
    assert kernels.ikv("iv", 1.5, np.array([700.0])) is not None
    assert kernels.ikv("kv", 1.5, np.array([695.0])) is None  # (SciPy's kv flushes to 0)
    for bad_v in (50.5, np.nan, np.inf, 1.5j, np.full(8, 1.5, np.float32),
                  np.ones((2, 8)), True):
        assert kernels.ikv("iv", bad_v, x) is None
    assert kernels.ikv("kv", 50.0, np.array([1e-8] * 4)) is None  # K_50 overflows: SciPy


@pytest.mark.parametrize("name", ["iv", "kv"])
def test_ikv_gradients_match_finite_differences(name: str, path: str,
                                                request: pytest.FixtureRequest) -> None:
    f_sp, f_r = getattr(sp, name), getattr(rsp, name)
    x = np.array([[1e-3, 0.3, 1.9, 2.1, 7.5, 25.0, 90.0]] * 3)
    v = np.array([[-2.5], [0.0], [1.5]])
    h = 1e-7 * x
    fd = (f_sp(v, x + h) - f_sp(v, x - h)) / (2 * h)
    dref = _IKV[name][1](v, x)  # SciPy's ivp / kvp (its recurrences on its values)
    g = riesz.grad(lambda a: riesz.numpy.sum(f_r(v, a)))(x)
    np.testing.assert_allclose(g, dref, rtol=1e-13)
    ok = (v != 0) | (x > 0.01)  # (I_0(x) ~ 1 near 0: its differences cancel)
    np.testing.assert_allclose(g[ok], fd[ok], rtol=1e-6)
    y, t = riesz.jvp(lambda a: f_r(1.5, a), (x[0],), (np.ones(7),))
    np.testing.assert_allclose(y, f_sp(1.5, x[0]), rtol=1e-14)
    np.testing.assert_allclose(t, dref[2], rtol=1e-13)
    row = x[:1]  # one row of x against three orders: the cotangent is unbroadcast
    gb = riesz.grad(lambda a: riesz.numpy.sum(f_r(v, a)))(row)
    np.testing.assert_allclose(gb, dref.sum(axis=0, keepdims=True), rtol=1e-13)
    if path == "kernel":
        assert request.node.kernel_calls.count(name) == 3  # grad, jvp, row (which declines)


@pytest.mark.parametrize("name", ["iv", "kv"])
def test_ikv_kernel_and_scipy_paths_agree_at_the_edges(
        name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("riesz._primitives.special_kernels")
    f_r = getattr(rsp, name)
    for x in (np.array([0.5, 2.0, 30.0, 700.0]), np.array([0.0, 1.0, 3.0, 4.0]),
              np.array([np.nan, 1.0, 2.0, np.inf])):
        def value_and_grad(x: np.ndarray = x) -> tuple[np.ndarray, np.ndarray]:
            with np.errstate(all="ignore"):
                return riesz.value_and_grad(
                    lambda a: riesz.numpy.sum(f_r(-1.5, a) * np.arange(4.0)))(x)

        monkeypatch.setattr(special, "_kernels", False)
        v0, g0 = value_and_grad()
        monkeypatch.setattr(special, "_kernels", None)
        monkeypatch.setattr(special, "JOINT_MIN_SIZE", 0)
        v1, g1 = value_and_grad()
        np.testing.assert_allclose(g1, g0, rtol=1e-13, atol=1e-300)
        np.testing.assert_allclose(v1, v0, rtol=1e-13)
