"""riesz on CuPy arrays (SPEC §16): the registry sweep on the GPU. Marked `gpu`; skips
with the reason where CuPy or a CUDA device is absent (run: pytest -m gpu)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from backend_sweep import check_case, sweep_params


def _cupy() -> Any:
    try:
        import cupy
    except ImportError:
        pytest.skip("CuPy is not installed (pip install -e '.[gpu]')")
    try:
        if cupy.cuda.runtime.getDeviceCount() < 1:
            pytest.skip("CuPy is installed but no CUDA device is present")
    except cupy.cuda.runtime.CUDARuntimeError as e:
        pytest.skip(f"CuPy is installed but CUDA is unavailable: {e}")
    return cupy


pytestmark = pytest.mark.gpu

# Primitives CuPy does not implement for these arguments (filled from a GPU run;
# a case listed here that works, or one that fails and is not listed, fails the sweep).
CUPY_UNSUPPORTED = {
    # SciPy functions: CuPy refuses the implicit host copy
    "expm", "triangular_solve", "correlate_valid", "logm", "sqrtm", "lu_factor",
    "solve_banded", "solve_sylvester",
    "cholesky",  # its derivative solves triangular systems with SciPy
}


@pytest.mark.parametrize("case", sweep_params())
def test_primitive_on_cupy(case) -> None:
    cp = _cupy()
    check_case(case, cp.asarray, cp.asnumpy, lambda a: isinstance(a, cp.ndarray), "cupy",
               CUPY_UNSUPPORTED, rtol=1e-7)


def test_grad_stays_on_device() -> None:
    cp = _cupy()
    import riesz
    import riesz.numpy as rnp

    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((64, 8)), rng.standard_normal(8)
    y = (rng.random(64) > 0.5).astype(float)

    def loss(w, x, y):
        z = x @ w
        return rnp.mean(rnp.maximum(z, 0.0) - z * y + rnp.log1p(rnp.exp(-rnp.abs(z))))

    g = riesz.grad(loss)(cp.asarray(w), cp.asarray(x), cp.asarray(y))
    assert isinstance(g, cp.ndarray)
    s = 1 / (1 + np.exp(-(x @ w)))  # closed form: Xᵀ (σ(z) - y) / n
    np.testing.assert_allclose(cp.asnumpy(g), x.T @ (s - y) / len(y), rtol=1e-10)


def test_mixed_numpy_and_cupy_raise() -> None:
    cp = _cupy()
    import riesz
    import riesz.numpy as rnp
    from riesz._core.trace import BackendError

    # CuPy's own TypeError, re-raised by riesz naming both types: no silent host copy
    with pytest.raises((TypeError, BackendError), match="cupy|numpy"):
        riesz.grad(lambda w, x: rnp.sum(x @ w))(np.ones(3), cp.ones((2, 3)))


def test_hessian_jacobian_and_hvp_stay_on_device() -> None:
    """Materialised derivatives build their basis on the device (a CuPy function
    cannot take NumPy tangents); hvp in every mode stays there too."""
    cp = _cupy()
    import riesz
    import riesz.numpy as rnp

    xh = np.linspace(0.1, 1.0, 6)
    x = cp.asarray(xh)

    def f(x):
        return rnp.sum(rnp.sin(x) ** 2 * x)

    want = np.diag(2 * np.sin(2 * xh) + 2 * xh * np.cos(2 * xh))  # f'' of Σ x sin²x
    H = riesz.hessian(f)(x)
    assert isinstance(H, cp.ndarray)
    np.testing.assert_allclose(cp.asnumpy(H), want, rtol=1e-12, atol=1e-14)
    J = riesz.jacrev(lambda x: rnp.sin(x) * x[::-1])(x)
    assert isinstance(J, cp.ndarray)
    np.testing.assert_allclose(
        cp.asnumpy(J), np.diag(np.cos(xh) * xh[::-1]) + np.sin(xh)[:, None] * np.eye(6)[::-1],
        rtol=1e-12, atol=1e-14)
    u = np.arange(6.0)
    for mode in ("fwd-rev", "rev-rev", "rev-fwd", "fwd-fwd"):
        (hv,) = riesz.hvp(f, (x,), (cp.asarray(u),), mode=mode)[:1]
        assert isinstance(hv, cp.ndarray), mode
        np.testing.assert_allclose(cp.asnumpy(hv), want @ u, rtol=1e-12, err_msg=mode)
