"""Derivatives as objects: derivative, linearize (without re-running f),
linear_transpose, jacfwd / jacrev / jacobian / hessian, second derivatives,
and check_grads(spaces=)."""

from __future__ import annotations

import numpy as np
import pytest

import riesz
import riesz.numpy as rnp
from riesz import GradientCheckError
from riesz.spaces import Euclidean, Product, Symmetric, Weighted

rng = np.random.default_rng(7)
A = rng.standard_normal((3, 4))
x0 = rng.standard_normal(4)


def f(x):
    return rnp.tanh(rnp.matmul(A, x))


def J_closed(x):
    return (1 - np.tanh(A @ x) ** 2)[:, None] * A


def test_derivative_applies_J_and_its_adjoint_applies_Jt() -> None:
    D = riesz.derivative(f)(x0)
    assert D.domain == Euclidean(4) and D.codomain == Euclidean(3)
    u, v = rng.standard_normal(4), rng.standard_normal(3)
    np.testing.assert_allclose(D(u), J_closed(x0) @ u, rtol=1e-12)
    np.testing.assert_allclose(D.adjoint(v), J_closed(x0).T @ v, rtol=1e-12)
    np.testing.assert_allclose(D.T(v), J_closed(x0).T @ v, rtol=1e-12)
    np.testing.assert_allclose(D.materialize(), J_closed(x0), rtol=1e-12)


def test_derivative_with_argnums_and_kwargs() -> None:
    def g(x, y, scale=1.0):
        return scale * rnp.sum(x * y**2)

    x, y = rng.standard_normal(3), rng.standard_normal(3)
    Dy = riesz.derivative(g, argnums=1)(x, y, scale=2.0)
    u = rng.standard_normal(3)
    assert float(Dy(u)) == pytest.approx(2.0 * np.sum(x * 2 * y * u))
    Dxy = riesz.derivative(g, argnums=(0, 1))(x, y)
    assert isinstance(Dxy.domain, Product)
    assert float(Dxy((u, u))) == pytest.approx(np.sum(u * y**2) + np.sum(x * 2 * y * u))
    gx, gy = Dxy.T(1.0)
    np.testing.assert_allclose(gx, y**2)
    np.testing.assert_allclose(gy, 2 * x * y)
    with pytest.raises(ValueError, match="argnums"):
        riesz.derivative(g, argnums=3)(x, y)


def test_linearize_evaluates_f_once() -> None:
    calls = []

    def counted(x):
        calls.append(1)
        return rnp.sin(x) * rnp.sum(x**2)

    out, L = riesz.linearize(counted, x0)
    assert len(calls) == 1
    np.testing.assert_allclose(out, np.sin(x0) * np.sum(x0**2))
    # J = diag(cos x) Σx² + 2 sin(x) xᵀ, by hand
    J = np.diag(np.cos(x0)) * np.sum(x0**2) + 2 * np.outer(np.sin(x0), x0)
    for _ in range(5):
        u, v = rng.standard_normal(4), rng.standard_normal(4)
        np.testing.assert_allclose(L(u), J @ u, rtol=1e-12)
        np.testing.assert_allclose(L.T(v), J.T @ v, rtol=1e-12)
        np.testing.assert_allclose(L.adjoint(v), J.T @ v, rtol=1e-12)
    np.testing.assert_allclose(L.materialize(), J, rtol=1e-12)
    assert len(calls) == 1  # applying, transposing and materialising never re-ran f


def test_linearize_several_primals_and_geometry() -> None:
    def g(x, y):
        return x * y

    x, y = rng.standard_normal(3), rng.standard_normal(3)
    out, L = riesz.linearize(g, x, y)
    u, w = rng.standard_normal(3), rng.standard_normal(3)
    np.testing.assert_allclose(L((u, w)), u * y + x * w)
    S = Weighted(3, np.array([1.0, 2.0, 4.0]))
    _, Lw = riesz.linearize(lambda x: x**2, x, domain=S, codomain=S)
    v = rng.standard_normal(3)
    np.testing.assert_allclose(Lw.adjoint(v), 2 * x * v)  # diagonal metrics commute with diag J
    with pytest.raises(TypeError, match="primal"):
        riesz.linearize(g)


def test_linear_transpose() -> None:
    t = riesz.linear_transpose(lambda x: rnp.matmul(A, x), np.zeros(4))
    v = rng.standard_normal(3)
    (ct,) = t(v)
    np.testing.assert_allclose(ct, A.T @ v)

    def h(p):
        return p["a"] * 2.0 + rnp.sum(p["b"])

    th = riesz.linear_transpose(h, {"a": np.zeros(2), "b": np.zeros(3)})
    (ct,) = th(np.array([1.0, -1.0]))
    np.testing.assert_allclose(ct["a"], [2.0, -2.0])
    np.testing.assert_allclose(ct["b"], [0.0, 0.0, 0.0])


@pytest.mark.parametrize("jac", [riesz.jacfwd, riesz.jacrev, riesz.jacobian])
def test_jacobians(jac) -> None:
    np.testing.assert_allclose(jac(f)(x0), J_closed(x0), rtol=1e-12)
    X = rng.standard_normal((2, 2))
    T = jac(lambda X: X @ X)(X)
    assert T.shape == (2, 2, 2, 2)
    U = rng.standard_normal((2, 2))
    np.testing.assert_allclose(np.tensordot(T, U, axes=2), X @ U + U @ X, rtol=1e-12)
    # scalar output: the gradient's shape
    g = jac(lambda x: rnp.sum(x**3))(x0)
    np.testing.assert_allclose(g, 3 * x0**2)


def test_jacobian_pytrees_and_tuple_argnums() -> None:
    def g(x, y):
        return {"s": rnp.sum(x) * y, "p": x * 2.0}

    x, y = rng.standard_normal(3), np.array(1.5)
    for jac in (riesz.jacfwd, riesz.jacrev):
        Jx, Jy = jac(g, argnums=(0, 1))(x, y)["s"]
        np.testing.assert_allclose(Jx, np.full(3, 1.5))
        np.testing.assert_allclose(Jy, np.sum(x))
        Jp = jac(g)(x, y)["p"]
        np.testing.assert_allclose(Jp, 2 * np.eye(3))


def test_hessian_and_second_derivative() -> None:
    B = rng.standard_normal((4, 4))

    def h(x):
        return x @ B @ x + rnp.sum(rnp.sin(x))

    H_closed = B + B.T - np.diag(np.sin(x0))
    np.testing.assert_allclose(riesz.hessian(h)(x0), H_closed, rtol=1e-12, atol=1e-14)
    Bmap = riesz.derivative(riesz.derivative(h))(x0)
    u, v = rng.standard_normal(4), rng.standard_normal(4)
    inner = Bmap(u)
    assert isinstance(inner, riesz.LinearMap)
    assert float(inner(v)) == pytest.approx(u @ H_closed @ v)
    assert float(Bmap(u, v)) == pytest.approx(u @ H_closed @ v)
    np.testing.assert_allclose(Bmap.materialize(), H_closed, rtol=1e-12, atol=1e-14)
    # for vector f, an order-3 tensor: T[i, j, k] = ∂²f_i / ∂x_k ∂x_j
    T = riesz.derivative(riesz.derivative(f))(x0).materialize()
    assert T.shape == (3, 4, 4)
    y = np.tanh(A @ x0)
    want = np.einsum("i,ij,ik->ijk", -2 * y * (1 - y**2), A, A)
    np.testing.assert_allclose(T, want, rtol=1e-10, atol=1e-14)


def test_mixed_second_derivative() -> None:
    def g(x, y):
        return rnp.sum(x * y**2)

    x, y = rng.standard_normal(3), rng.standard_normal(3)
    u, v = rng.standard_normal(3), rng.standard_normal(3)
    B = riesz.derivative(riesz.derivative(g, argnums=1), argnums=0)(x, y)
    assert float(B(u, v)) == pytest.approx(np.sum(u * 2 * y * v))  # ∂_x ∂_y g [u, v]
    Bt = riesz.derivative(riesz.derivative(g, argnums=1), argnums=(0,))(x, y)
    assert isinstance(Bt.domain, Product)
    assert float(Bt((u,), v)) == pytest.approx(np.sum(u * 2 * y * v))
    with pytest.raises(NotImplementedError, match="third"):
        riesz.derivative(riesz.derivative(riesz.derivative(g)))(x, y)


def test_check_grads_in_spaces() -> None:
    W = (lambda M: M @ M.T + np.eye(4))(rng.standard_normal((4, 4)))
    riesz.check_grads(f, (x0,), order=1, spaces=[Weighted(metric=W), Weighted(3, np.ones(3) * 2)])
    X = rng.standard_normal((3, 3))
    riesz.check_grads(lambda X: X @ X, (X + X.T,), order=1, spaces=[Symmetric(3), Symmetric(3)])


def test_check_grads_in_spaces_catches_an_inconsistent_riesz_map() -> None:
    """A space whose riesz map does not represent its inner product fails the adjoint test."""
    W = np.diag([1.0, 2.0, 3.0, 4.0])
    S = Weighted(metric=W)
    S.riesz = lambda c: c  # wrong: ignores the metric
    with pytest.raises(GradientCheckError, match="adjoint"):
        riesz.check_grads(f, (x0,), order=1, modes=("rev",), spaces=[S])
    with pytest.raises(ValueError, match="one entry per argument"):
        riesz.check_grads(f, (x0,), spaces=[None, None, None])
    with pytest.raises(ValueError, match="not an element"):
        riesz.check_grads(f, (x0,), spaces=[Euclidean(5)])
