"""hvp: the four compositions of forward and reverse mode agree with an
independent reference (finite differences of a hand-written NumPy gradient)."""

from __future__ import annotations

import numpy as np
import pytest

import riesz
import riesz.numpy as rnp

MODES = ["fwd-rev", "rev-fwd", "rev-rev", "fwd-fwd"]
rng = np.random.default_rng(0)
A = rng.standard_normal((4, 3))


def f(x, w):
    return rnp.sum(rnp.tanh(A @ x) ** 2) * rnp.sum(w**3)


def grad_np(x, w):
    y = np.tanh(A @ x)
    s, c = np.sum(y**2), np.sum(w**3)
    return A.T @ (2 * y * (1 - y**2)) * c, s * 3 * w**2


@pytest.mark.parametrize("mode", MODES)
def test_hvp_matches_finite_differences(mode: str) -> None:
    x, w = rng.standard_normal(3), rng.standard_normal(2)
    v, vw = rng.standard_normal(3), rng.standard_normal(2)
    hx, hw = riesz.hvp(f, (x, w), (v, vw), mode=mode)
    h = 1e-6
    plus, minus = grad_np(x + h * v, w + h * vw), grad_np(x - h * v, w - h * vw)
    np.testing.assert_allclose(hx, (plus[0] - minus[0]) / (2 * h), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(hw, (plus[1] - minus[1]) / (2 * h), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("mode", MODES)
def test_hvp_is_differentiable(mode: str) -> None:
    # d/dx <v, H(x) v> for f = sum(x^4): H = diag(12 x^2), so the result is 24 x v^2
    x, v = np.array([0.5, -1.0]), np.array([1.0, 2.0])
    def quartic(z):
        return rnp.sum(z**4)

    g = riesz.grad(lambda x: rnp.sum(riesz.hvp(quartic, (x,), (v,), mode)[0] * v))(x)
    np.testing.assert_allclose(g, 24 * x * v**2, rtol=1e-12)


def test_hvp_bad_arguments() -> None:
    with pytest.raises(ValueError, match="mode"):
        riesz.hvp(f, (np.ones(3), np.ones(2)), (np.ones(3), np.ones(2)), mode="sideways")
    with pytest.raises(TypeError, match="tuples"):
        riesz.hvp(f, np.ones(3), np.ones(3))
