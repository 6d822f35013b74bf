"""Riesz gradients: grad(f, space=S) = S.riesz(∂f(x)*[1]), checked against
closed forms computed with plain NumPy (never against riesz's own formulas)."""

from __future__ import annotations

import numpy as np
import pytest

import riesz
import riesz.numpy as rnp
from riesz.spaces import Euclidean, Polynomials, Product, PyTreeSpace, Symmetric, Weighted

rng = np.random.default_rng(42)
N = 4
A = rng.standard_normal((N, N))
W = (lambda B: B @ B.T + N * np.eye(N))(rng.standard_normal((N, N)))
x0 = rng.standard_normal(N)


def quad(x):
    return x @ A @ x


def test_weighted_dense_gradient_is_W_inverse_times_A_plus_At_x() -> None:
    g = riesz.grad(quad, space=Weighted(metric=W))(x0)
    np.testing.assert_allclose(g, np.linalg.solve(W, (A + A.T) @ x0), rtol=1e-12)


def test_weighted_diagonal_gradient() -> None:
    w = np.array([0.5, 1.0, 2.0, 4.0])
    g = riesz.grad(quad, space=Weighted(N, w))(x0)
    np.testing.assert_allclose(g, (A + A.T) @ x0 / w, rtol=1e-12)


def test_weighted_linear_map_metric_is_solved_matrix_free() -> None:
    calls = []

    def apply_W(u):
        calls.append(1)
        return rnp.matmul(W, u)

    S = Weighted(metric=riesz.LinearMap(apply_W, Euclidean(N), Euclidean(N)))
    calls.clear()
    g = riesz.grad(quad, space=S)(x0)
    np.testing.assert_allclose(g, np.linalg.solve(W, (A + A.T) @ x0), rtol=1e-9)
    assert 0 < len(calls) <= 3 * N  # CG, a handful of applications, no materialisation


def test_a_metric_map_that_cg_cannot_solve_says_how_to_fix_it() -> None:
    H = np.diag(np.geomspace(1.0, 1e8, 40))
    S = Weighted(metric=riesz.LinearMap.from_matrix(H), maxiter=3)
    with pytest.raises(riesz.SolverError, match="pass rtol= or maxiter= to Weighted") as info:
        riesz.grad(lambda x: rnp.sum(x**2), space=S)(np.ones(40))
    assert info.value.iterations == 3 and info.value.residual > 1e-6


def test_euclidean_space_gives_the_plain_gradient() -> None:
    np.testing.assert_allclose(riesz.grad(quad, space=Euclidean(N))(x0), (A + A.T) @ x0,
                               rtol=1e-12)


def test_value_and_grad_with_space_and_aux() -> None:
    def f(x):
        return quad(x), x[0]

    (value, aux), g = riesz.value_and_grad(f, has_aux=True, space=Weighted(metric=W))(x0)
    assert value == pytest.approx(x0 @ A @ x0) and aux == x0[0]
    np.testing.assert_allclose(g, np.linalg.solve(W, (A + A.T) @ x0), rtol=1e-12)
    g2, aux2 = riesz.grad(f, has_aux=True, space=Weighted(metric=W))(x0)
    np.testing.assert_allclose(g2, g)


def test_one_space_per_argnum() -> None:
    B = rng.standard_normal((N, 3))
    y0 = rng.standard_normal(3)
    w = np.array([1.0, 3.0, 9.0])

    def f(x, y):
        return x @ B @ y + rnp.sum(y**3)

    gx, gy = riesz.grad(f, argnums=(0, 1), space=(Weighted(metric=W), Weighted(3, w)))(x0, y0)
    np.testing.assert_allclose(gx, np.linalg.solve(W, B @ y0), rtol=1e-12)
    np.testing.assert_allclose(gy, (B.T @ x0 + 3 * y0**2) / w, rtol=1e-12)
    gx, gy = riesz.grad(f, argnums=(0, 1), space=(None, Weighted(3, w)))(x0, y0)
    np.testing.assert_allclose(gx, B @ y0, rtol=1e-12)


def test_product_and_pytree_spaces() -> None:
    w = np.array([2.0, 4.0])
    params = {"a": np.array([1.0, -2.0]), "b": np.array(0.5)}

    def f(p):
        return rnp.sum(p["a"] ** 2) * p["b"]

    S = PyTreeSpace(params, spaces={"a": Weighted(2, w), "b": Euclidean(())})
    g = riesz.grad(f, space=S)(params)
    np.testing.assert_allclose(g["a"], 2 * params["a"] * 0.5 / w)
    np.testing.assert_allclose(g["b"], np.sum(params["a"] ** 2))
    P = Product(Weighted(2, w), Euclidean(()))
    g = riesz.grad(lambda t: f({"a": t[0], "b": t[1]}), space=P)((params["a"], params["b"]))
    np.testing.assert_allclose(g[0], 2 * params["a"] * 0.5 / w)


def test_symmetric_gradient_is_the_projected_frobenius_gradient() -> None:
    n = 3
    B, C = rng.standard_normal((n, n)), rng.standard_normal((n, n))
    X = rng.standard_normal((n, n))
    X = X + X.T

    def f(X):
        return rnp.sum(C * X) + rnp.sum(rnp.transpose(X @ B @ X) * np.eye(n))  # Σ C⊙X + tr(XBX)

    frob = C + X.T @ B.T + B.T @ X.T  # d/dX tr(XBX) = (BX)ᵀ + (XB)ᵀ
    np.testing.assert_allclose(riesz.grad(f)(X), frob, rtol=1e-12)
    g = riesz.grad(f, space=Symmetric(n))(X)
    np.testing.assert_allclose(g, (frob + frob.T) / 2, rtol=1e-12)
    assert Symmetric(n).contains(g)
    # it represents the derivative on the subspace: ⟨g, U⟩ = ∂f(X)[U] for symmetric U
    U = rng.standard_normal((n, n))
    U = U + U.T
    _, dfU = riesz.jvp(f, (X,), (U,))
    assert np.sum(g * U) == pytest.approx(float(dfU), rel=1e-12)


def test_symmetric_rejects_a_non_symmetric_point() -> None:
    with pytest.raises(ValueError, match="not symmetric"):
        riesz.grad(lambda X: rnp.sum(X), space=Symmetric(2))(np.array([[0.0, 1.0], [0.0, 0.0]]))


def test_polynomial_l2_gradient_against_the_legendre_projection() -> None:
    """F(p) = ∫_{-1}^{1} (p - h)² dt has L2 gradient 2 (p - Π h), with Π h the
    L2 projection of h, computed here with Legendre polynomials (not the Gram
    matrix); the coefficient gradient is G · (that), a different vector."""
    d = 4
    P = Polynomials(d)
    t, w = np.polynomial.legendre.leggauss(30)
    h = np.exp(t) * np.sin(2 * t)
    c = rng.standard_normal(d + 1)

    def F(c):
        p = P.evaluate(c, t)
        return rnp.sum(w * (p - h) ** 2)

    leg = [(2 * k + 1) / 2 * np.sum(w * h * np.polynomial.legendre.Legendre.basis(k)(t))
           for k in range(d + 1)]
    proj = np.polynomial.legendre.leg2poly(leg)
    np.testing.assert_allclose(riesz.grad(F, space=P)(c), 2 * (c - proj), rtol=1e-9, atol=1e-11)
    # the Gram-matrix formula: coefficient gradient = G (Riesz gradient)
    moments = np.array([[(1 - (-1) ** (i + j + 1)) / (i + j + 1) for j in range(d + 1)]
                        for i in range(d + 1)])
    np.testing.assert_allclose(riesz.grad(F)(c), moments @ (2 * (c - proj)), rtol=1e-9,
                               atol=1e-11)


def test_polynomials_on_another_interval() -> None:
    a, b = 0.0, 3.0
    P = Polynomials(2, (a, b))
    # F(p) = ∫_a^b p(t) dt: its L2 gradient is the constant polynomial 1
    t, w = np.polynomial.legendre.leggauss(10)
    t, w = (b - a) / 2 * t + (a + b) / 2, (b - a) / 2 * w
    g = riesz.grad(lambda c: rnp.sum(w * P.evaluate(c, t)), space=P)(rng.standard_normal(3))
    np.testing.assert_allclose(g, [1.0, 0.0, 0.0], atol=1e-10)


def test_riesz_gradient_is_differentiable() -> None:
    """The Jacobian of x ↦ W⁻¹ (A + Aᵀ) x is W⁻¹ (A + Aᵀ), by both modes and for
    dense and matrix-free metrics."""
    want = np.linalg.solve(W, A + A.T)
    for S in (Weighted(metric=W),
              Weighted(metric=riesz.LinearMap.from_matrix(W))):
        g = riesz.grad(quad, space=S)
        np.testing.assert_allclose(riesz.jacfwd(g)(x0), want, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(riesz.jacrev(g)(x0), want, rtol=1e-9, atol=1e-12)
    # and nested reverse mode: grad of a Riesz-gradient norm
    S = Weighted(metric=W)
    h = riesz.grad(lambda x: rnp.sum(riesz.grad(quad, space=S)(x) ** 2))(x0)
    np.testing.assert_allclose(h, 2 * want.T @ (want @ x0), rtol=1e-10)


def test_grad_space_errors() -> None:
    with pytest.raises(ValueError, match="shape"):
        riesz.grad(quad, space=Weighted(metric=np.eye(3)))(x0)
    with pytest.raises(TypeError, match="Space"):
        riesz.grad(quad, space="W")(x0)
    with pytest.raises(TypeError, match="Space"):
        riesz.grad(lambda x, y: x @ y, argnums=(0, 1), space=(Euclidean(N), 3))(x0, x0)


def test_derivative_is_a_covector_and_its_riesz_representer_is_the_gradient() -> None:
    S = Weighted(metric=W)
    D = riesz.derivative(quad, domain=S)(x0)
    assert D.codomain == Euclidean(()) and D.domain == S
    u = rng.standard_normal(N)
    assert float(D(u)) == pytest.approx(x0 @ (A + A.T) @ u)
    np.testing.assert_allclose(D.T(1.0), (A + A.T) @ x0, rtol=1e-12)  # the covector
    np.testing.assert_allclose(D.riesz(), np.linalg.solve(W, (A + A.T) @ x0), rtol=1e-12)
    np.testing.assert_allclose(D.adjoint(1.0), D.riesz(), rtol=1e-12)
