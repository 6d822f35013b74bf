"""Nested transformations: every order, every mix of modes, no perturbation confusion."""

from __future__ import annotations

import numpy as np
import pytest

import riesz
import riesz.numpy as rnp


def d_fwd(f):
    return lambda x: riesz.jvp(f, (x,), (np.ones(x.shape),))[1]


def d_rev(f):
    return riesz.grad(f)


MODES = {"fwd": d_fwd, "rev": d_rev}


@pytest.mark.parametrize("outer", MODES)
@pytest.mark.parametrize("inner", MODES)
def test_no_perturbation_confusion(outer: str, inner: str) -> None:
    # d/dx [x * d/dy (x + y)] = d/dx [x * 1] = 1; confusing the two
    # perturbations would give 2.
    x0 = np.array(1.7)
    D_out, D_in = MODES[outer], MODES[inner]
    val = D_out(lambda x: x * D_in(lambda y: x + y)(x0))(x0)
    assert float(val) == 1.0


@pytest.mark.parametrize("outer", MODES)
@pytest.mark.parametrize("inner", MODES)
def test_closure_over_outer_variable(outer: str, inner: str) -> None:
    # d/dx [d/dy (x * y)] at y = 3 is 1 (the inner derivative is x).
    D_out, D_in = MODES[outer], MODES[inner]
    val = D_out(lambda x: D_in(lambda y: x * y * y)(np.array(3.0)))(np.array(2.0))
    assert float(val) == pytest.approx(6.0)  # d/dx [2 x y] at y = 3


def _third_derivative_fd(f, x: float, h: float = 1e-3) -> float:
    return (f(x + 2 * h) - 2 * f(x + h) + 2 * f(x - h) - f(x - 2 * h)) / (2 * h**3)


@pytest.mark.parametrize("modes", ["fff", "ffr", "frf", "frr", "rff", "rfr", "rrf", "rrr"])
def test_third_order_all_nestings(modes: str) -> None:
    def f(x):
        return rnp.sin(x) * rnp.exp(x / 2)

    g = f
    for m in modes:
        g = MODES["fwd" if m == "f" else "rev"](g)
    x0 = 0.3
    expected = _third_derivative_fd(lambda x: float(np.sin(x) * np.exp(x / 2)), x0)
    assert float(g(np.array(x0))) == pytest.approx(expected, rel=1e-5)


def test_hessian_vector_products_agree() -> None:
    rng = np.random.default_rng(0)
    A = rng.standard_normal((4, 4))
    x, v = rng.standard_normal(4), rng.standard_normal(4)

    def f(x):
        return rnp.sum(rnp.tanh(A @ x) ** 2) + rnp.sum(x**4)

    fwd_rev = riesz.jvp(riesz.grad(f), (x,), (v,))[1]
    rev_rev = riesz.grad(lambda x: rnp.sum(riesz.grad(f)(x) * v))(x)
    rev_fwd = riesz.grad(lambda x: riesz.jvp(f, (x,), (v,))[1])(x)
    # independent reference: finite differences of an analytic gradient in NumPy
    def g_np(x):
        y = np.tanh(A @ x)
        return A.T @ (2 * y * (1 - y**2)) + 4 * x**3

    h = 1e-6
    fd = (g_np(x + h * v) - g_np(x - h * v)) / (2 * h)
    for hv in (fwd_rev, rev_rev, rev_fwd):
        np.testing.assert_allclose(hv, fd, rtol=1e-6, atol=1e-8)


def test_gradient_of_function_with_internal_gradient() -> None:
    # f(x) = |∇g(x)|² with g(x) = sum(sin(x)), so f = sum(cos² x) and ∇f = -2 cos x sin x
    def f(x):
        return rnp.sum(riesz.grad(lambda z: rnp.sum(rnp.sin(z)))(x) ** 2)

    x = np.linspace(0, 1, 5)
    np.testing.assert_allclose(riesz.grad(f)(x), -2 * np.cos(x) * np.sin(x), rtol=1e-12)
