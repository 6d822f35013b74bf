"""riesz on Dask arrays (SPEC §16): derivatives of chunked, lazy arrays stay lazy
Dask arrays; nothing is computed until the user asks."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

da = pytest.importorskip("dask.array", reason="the `dask` extra is not installed")
dask = pytest.importorskip("dask")

import riesz  # noqa: E402
import riesz.numpy as rnp  # noqa: E402
from backend_sweep import check_case, sweep_params  # noqa: E402

# Primitives whose NumPy function Dask does not implement (or not for these arguments):
# they raise riesz's BackendError naming the primitive and Dask.
DASK_UNSUPPORTED = {
    # NumPy / SciPy functions Dask does not implement (Dask would warn and compute on host)
    "det", "slogdet", "eigh", "eig", "pinv", "expm", "triangular_solve", "correlate_valid",
    "logm", "sqrtm", "lstsq", "lu_factor", "solve_banded", "solve_sylvester",
    "cholesky",  # its derivative solves triangular systems
    "getitem-sort", "getitem-median", "getitem-take_along_axis",  # argsort
    # Dask's linear algebra: 2-d only, svd of arrays chunked in one dimension, qr without mode
    "svd", "qr", "inv-batched", "solve-batched-vector", "solve-broadcast-b",
    "solve-complex-broadcast-b",
    # Dask's indexing: no ufunc.at (scatter-add with repeated positions), no nd fancy
    # indexing, no list indices, no mask positions known before computing
    "scatter_add-3x2,3x2", "scatter_add-at-add", "getitem-advanced-repeat", "gather-repeat",
    "getitem-repeat-array", "scatter_add_indexed-repeat", "scatter_add-diag-embed",
    "getitem-diag-k", "getitem-trace", "getitem-take", "getitem-pad-edge",
    "getitem-pad-reflect", "getitem-pad-wrap", "scatter_set-at-max-mask",
    # ... the same on the complex twins of those cases (primitive_cases' _STRUCTURAL)
    "scatter_add-complex-auto", "scatter_add-complex-at-add", "getitem-complex-advanced-repeat",
    "gather-complex-repeat", "getitem-complex-repeat-array", "scatter_add_indexed-complex-repeat",
    "scatter_add-complex-diag-embed", "getitem-complex-diag-k", "getitem-complex-trace",
    "getitem-complex-take", "getitem-complex-pad-edge", "getitem-complex-pad-reflect",
    "getitem-complex-pad-wrap",
    # decisions taken on the host from the values: series depths of the incomplete gamma
    # and beta functions' derivatives in a, b; the ODE solvers (SciPy's integrators)
    "gammainc-in-a-and-x", "gammainc-in-a-tail", "gammaincc-in-a-and-x", "betainc-in-a-b-x",
    "betainc-in-a-b-swapped", "betaincc-in-a-b-x", "odeint-odeint", "odeint-solve_ivp-backwards",
    # Dask's FFTs need the transformed axes in one chunk (the sweep chunks every axis)
    "rfft-pad-odd", "rfft-ihfft-crop", "irfft-hfft-axis0", "irfft-2d", "fft-1d",
    "fft-2d-ifft", "fft-complex", "fft-complex-ifft2", "fft-real-in", "rfft-complex-out",
    "rfft-ihfft-out", "irfft-complex", "irfft-hfft-complex", "irfft-irfft2-complex",
    # Dask's reshape splits or merges axes evenly only (here 2x3 -> 3x2 in 1x1 chunks)
    "reshape-2x3", "reshape-complex-auto",  # (the complex twin of reshape-2x3)
}


def _no_compute(dsk: Any, keys: Any, **kwargs: Any) -> Any:
    raise AssertionError("riesz computed a Dask array: results must stay lazy")


@pytest.fixture
def lazy():
    """Any computation (`.compute()`, `np.asarray`, `float(...)`) raises inside."""
    with dask.config.set(scheduler=_no_compute):
        yield


def _chunked(a: np.ndarray) -> Any:
    chunks = tuple(max(1, n // 2) for n in a.shape)  # several chunks where an axis has > 1
    return da.from_array(a, chunks=chunks)


def _host(x: Any) -> np.ndarray:
    with dask.config.set(scheduler="sync"):
        return np.asarray(x.compute())


def _is_dask(x: Any) -> bool:
    return isinstance(x, da.Array)


@pytest.mark.parametrize("case", sweep_params())
def test_primitive_on_dask(case, lazy) -> None:
    check_case(case, _chunked, _host, _is_dask, "dask", DASK_UNSUPPORTED)


# -- transformations on Dask arrays --------------------------------------------------


def _logistic_loss(w: Any, x: Any, y: Any) -> Any:
    """The issue's loss: maximum and log1p(exp(.)) (it failed inside riesz's scatter)."""
    z = x @ w[1:] + w[0]
    return rnp.mean(rnp.maximum(z, 0.0) - z * y + rnp.log1p(rnp.exp(-rnp.abs(z))))


@pytest.fixture
def data():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((40, 3))
    y = (rng.random(40) > 0.5).astype(float)
    w = rng.standard_normal(4) * 0.3
    return w, x, y, da.from_array(x, chunks=(10, 3)), da.from_array(y, chunks=10)


def test_grad_of_issue_loss_is_lazy_and_matches_numpy(data, lazy) -> None:
    w, x, y, xd, yd = data
    g = riesz.grad(_logistic_loss, argnums=(0, 1, 2))(w, xd, yd)
    assert all(isinstance(a, da.Array) for a in g)
    want = riesz.grad(_logistic_loss, argnums=(0, 1, 2))(w, x, y)
    for a, b in zip(g, want, strict=True):
        np.testing.assert_allclose(_host(a), b, rtol=1e-12)
    # independent oracle: the closed-form gradient of the mean logistic loss in w
    z = x @ w[1:] + w[0]
    r = (1 / (1 + np.exp(-z)) - y) / len(y)
    np.testing.assert_allclose(_host(g[0]), np.concatenate([[r.sum()], x.T @ r]), rtol=1e-10)


@pytest.mark.parametrize("axis", [None, 0, 1])
def test_sum_cotangent_is_chunked_like_x(axis, lazy) -> None:
    """sum's VJP broadcasts the cotangent back chunked like x (several chunks, not one
    chunk the size of x), and the values match the closed form."""
    x = np.random.default_rng(6).standard_normal((40, 6))
    xd = da.from_array(x, chunks=(10, 3))
    g = riesz.grad(lambda x: rnp.sum(rnp.sum(rnp.sin(x), axis=axis) ** 2))(xd)
    assert isinstance(g, da.Array) and g.chunks == xd.chunks
    s = np.sum(np.sin(x), axis=axis, keepdims=True)
    np.testing.assert_allclose(_host(g), 2 * s * np.cos(x), rtol=1e-12)


def test_maximum_tie_weights_on_dask(lazy) -> None:
    """maximum's derivative on Dask: 1 for the winner, 1/2 at ties, 0 at NaN, float32 kept."""
    x = np.array([1.0, 2.0, 3.0, np.inf, np.nan, 0.0], np.float32)
    y = np.array([2.0, 2.0, 1.0, np.inf, 1.0, np.nan], np.float32)
    gx, gy = riesz.grad(lambda x, y: rnp.sum(rnp.maximum(x, y)), argnums=(0, 1))(
        da.from_array(x, chunks=3), da.from_array(y, chunks=3))
    assert isinstance(gx, da.Array) and gx.dtype == np.float32
    np.testing.assert_array_equal(_host(gx), [0.0, 0.5, 1.0, 0.5, 0.0, 0.0])
    np.testing.assert_array_equal(_host(gy), [1.0, 0.5, 0.0, 0.5, 0.0, 0.0])


def test_grad_wrt_dask_parameters(data, lazy) -> None:
    w, x, y, xd, yd = data
    g = riesz.grad(_logistic_loss)(da.from_array(w, chunks=2), xd, yd)
    assert isinstance(g, da.Array)
    np.testing.assert_allclose(_host(g), riesz.grad(_logistic_loss)(w, x, y), rtol=1e-12)


def test_jvp_vjp_adjoint_on_dask(data, lazy) -> None:
    w, x, y, xd, yd = data
    f = lambda xx: rnp.tanh(xx @ w[1:] + w[0]) ** 2 * yd  # noqa: E731
    u = da.from_array(np.random.default_rng(4).standard_normal(x.shape), chunks=(10, 3))
    v = da.from_array(np.random.default_rng(5).standard_normal(len(y)), chunks=10)
    out, ju = riesz.jvp(f, (xd,), (u,))
    out2, pull = riesz.vjp(f, xd)
    (jtv,) = pull(v)
    assert all(isinstance(a, da.Array) for a in (out, ju, out2, jtv))
    lhs, rhs = float(_host((ju * v).sum())), float(_host((u * jtv).sum()))
    assert lhs == pytest.approx(rhs, rel=1e-12)  # <J u, v> = <u, J* v>
    eps = 1e-6  # and J u against a central difference on the host
    xh, uh, yh = x, _host(u), y
    fh = lambda xx: np.tanh(xx @ w[1:] + w[0]) ** 2 * yh  # noqa: E731
    np.testing.assert_allclose(_host(ju), (fh(xh + eps * uh) - fh(xh - eps * uh)) / (2 * eps),
                               rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("mode", ["fwd-rev", "rev-rev", "rev-fwd", "fwd-fwd"])
def test_hvp_on_dask(data, lazy, mode) -> None:
    w, x, y, xd, yd = data
    t = np.random.default_rng(6).standard_normal(4)
    if mode == "fwd-fwd":  # O(size) passes: differentiate in w only (on Dask too)
        (hv,) = riesz.hvp(lambda w: _logistic_loss(w, xd, yd), (_chunked(w),), (t,),
                          mode=mode)
    else:
        (hv,) = riesz.hvp(_logistic_loss, (w, xd, yd),
                          (t, np.zeros(x.shape), np.zeros(y.shape)), mode=mode)[:1]
    assert isinstance(hv, da.Array)
    z = x @ w[1:] + w[0]  # closed form: H = X1ᵀ diag(σ(1-σ)) X1 / n, X1 = [1, x]
    s = 1 / (1 + np.exp(-z))
    x1 = np.hstack([np.ones((len(y), 1)), x])
    np.testing.assert_allclose(_host(hv), x1.T @ (s * (1 - s) * (x1 @ t)) / len(y), rtol=1e-10)


@pytest.mark.parametrize("which", ["jacfwd", "jacrev", "hessian"])
def test_jacobians_and_hessian_on_dask_stay_lazy(which, lazy) -> None:
    """Materialised derivatives build their basis on the input's backend: the
    matrix is a lazy Dask array, equal to the closed form."""
    xh = np.linspace(0.1, 1.0, 6)
    xd = _chunked(xh)
    if which == "hessian":
        got = riesz.hessian(lambda x: rnp.sum(rnp.sin(x) ** 2 * x))(xd)
        # f = Σ x sin²x: diagonal, f'' = 2 sin 2x + 2x cos 2x
        want = np.diag(2 * np.sin(2 * xh) + 2 * xh * np.cos(2 * xh))
    else:
        got = getattr(riesz, which)(lambda x: rnp.sin(x) * x[::-1])(xd)
        want = np.diag(np.cos(xh) * xh[::-1]) + np.sin(xh)[:, None] * np.eye(6)[::-1]
    assert _is_dask(got)
    np.testing.assert_allclose(_host(got), want, rtol=1e-12, atol=1e-14)


def test_vmap_on_dask(data, lazy) -> None:
    w, x, y, xd, yd = data
    per_example = riesz.vmap(riesz.grad(lambda w, xi, yi: _logistic_loss(w, xi[None], yi[None])),
                             in_axes=(None, 0, 0))
    g = per_example(w, xd, yd)
    assert isinstance(g, da.Array)
    want = np.stack([riesz.grad(lambda w, xi, yi: _logistic_loss(w, xi[None], yi[None]))(
        w, x[i], y[i]) for i in range(len(y))])
    np.testing.assert_allclose(_host(g), want, rtol=1e-12)


def test_dask_inputs_are_not_guarded_and_stay_unchanged(data) -> None:
    """The reverse-mode mutation guard applies to NumPy arrays only: a Dask input is
    neither fingerprinted nor made read-only (Dask arrays are immutable)."""
    w, x, y, xd, yd = data
    name = xd.name
    riesz.grad(_logistic_loss, argnums=1)(w, xd, yd)
    assert xd.name == name and isinstance(xd, da.Array)


def test_unsupported_primitive_names_primitive_and_backend(lazy) -> None:
    xd = da.from_array(np.eye(3) + 0.1, chunks=2)
    with pytest.raises(riesz.BackendError, match=r"'det'.*dask"):
        rnp.linalg.det(xd)


def test_mixed_numpy_and_dask_stay_lazy(data, lazy) -> None:
    """NumPy parameters with Dask data: Dask wraps the NumPy array (no host copy of the
    Dask array); the gradient is a lazy Dask array."""
    w, x, y, xd, yd = data
    g = riesz.grad(_logistic_loss)(w, xd, y)
    assert isinstance(g, da.Array)
    np.testing.assert_allclose(_host(g), riesz.grad(_logistic_loss)(w, x, y), rtol=1e-12)


def test_local_cluster_computes_the_gradient(data) -> None:
    distributed = pytest.importorskip("distributed")
    w, x, y, xd, yd = data
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as client:
        g = riesz.grad(_logistic_loss)(w, xd, yd)
        got = client.compute(g).result()
    np.testing.assert_allclose(got, riesz.grad(_logistic_loss)(w, x, y), rtol=1e-12)
