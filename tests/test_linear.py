"""LinearMap: the adjoint identity for every kind of map (property tests),
the transpose identity, materialisation, algebra, errors, and solvers."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import riesz
import riesz.numpy as rnp
from matrices import random_spd
from riesz import LinearMap, SolverError, identity, rank1, solve
from riesz.spaces import (
    L2,
    Euclidean,
    Polynomials,
    Product,
    PyTreeSpace,
    Space,
    Symmetric,
    Weighted,
)

SETTINGS = settings(max_examples=12, deadline=None, derandomize=True)


def _spd(n: int, seed: int, cond: float = 20.0) -> np.ndarray:
    return random_spd(n, seed, cond)


W3, W4 = _spd(3, 1), _spd(4, 2)
Win, Wout = Weighted(metric=W4), Weighted(metric=W3)
M34 = np.random.default_rng(3).standard_normal((3, 4))
C = np.random.default_rng(4).standard_normal((3, 3))


def _poly_derivative() -> LinearMap:
    """d/dt on Polynomials(3) on (0, 1): (c0, c1, c2, c3) ↦ (c1, 2 c2, 3 c3, 0)."""
    P = Polynomials(3, (0.0, 1.0))
    D = np.diag([1.0, 2.0, 3.0], k=1)
    return LinearMap(lambda c: rnp.matmul(D, c), P, P, name="d/dt")


def _sampling() -> LinearMap:
    """Polynomials(2) -> L2: evaluate at the quadrature nodes."""
    P = Polynomials(2, (-1.0, 1.0))
    L = L2.gauss_legendre(4)
    return LinearMap(lambda c: P.evaluate(c, L.points), P, L, name="sample")


def _derivative_map() -> LinearMap:
    x = np.random.default_rng(5).standard_normal(4)
    return riesz.derivative(lambda x: rnp.tanh(rnp.matmul(M34, x)) * x[0],
                            domain=Win, codomain=Wout)(x)


def _symmetric_map() -> LinearMap:
    """X ↦ C X Cᵀ on symmetric matrices."""
    S = Symmetric(3)
    return LinearMap(lambda X: C @ X @ C.T, S, S, name="congruence")


def _product_map() -> LinearMap:
    """(x, y) ↦ (M x + y[0], x[:3] * y) between product spaces."""
    dom = Product(Win, Weighted(3, np.array([1.0, 2.0, 3.0])))
    cod = Product(Wout, Euclidean(3))

    def fn(u):
        x, y = u
        return (rnp.matmul(M34, x) + y[0], x[:3] * np.array([1.0, -1.0, 2.0]) + y)

    return LinearMap(fn, dom, cod, name="block")


def _map_metric_map() -> LinearMap:
    """A map out of a space whose metric is itself a LinearMap (Riesz map by CG)."""
    dom = Weighted(metric=LinearMap(lambda u: rnp.matmul(W4, u), Euclidean(4), Euclidean(4)))
    return LinearMap(lambda u: rnp.matmul(M34, u), dom, Wout, name="from-map-metric")


def _pytree_map() -> LinearMap:
    """{"a": 2-vector in a weighted space, "b": 2x2 matrix} -> R^3 (weighted)."""
    example = {"a": np.zeros(2), "b": np.zeros((2, 2))}
    dom = PyTreeSpace(example, spaces={"a": Weighted(2, np.array([2.0, 0.5])),
                                       "b": Euclidean((2, 2))})

    def fn(p):
        return rnp.matmul(M34[:, :2], p["a"]) + rnp.matmul(M34[:, 2:], p["b"][0]) - p["b"][1, 0]

    return LinearMap(fn, dom, Wout, name="pytree")


MAPS: dict[str, Callable[[], LinearMap]] = {
    "matrix-weighted": lambda: LinearMap.from_matrix(M34, Win, Wout),
    "function-weighted": lambda: LinearMap(lambda u: rnp.matmul(M34, u) * 2.0, Win, Wout),
    "derivative": _derivative_map,
    "polynomial-derivative": _poly_derivative,
    "sampling": _sampling,
    "symmetric": _symmetric_map,
    "product": _product_map,
    "pytree": _pytree_map,
    "map-metric": _map_metric_map,
    "rank1": lambda: rank1(np.array([1.0, -2.0, 0.5]), np.arange(4.0), Win, Wout),
    "identity": lambda: identity(Win),
    "sum": lambda: LinearMap.from_matrix(M34, Win, Wout) + _derivative_map(),
    "difference": lambda: _derivative_map() - 2.5 * LinearMap.from_matrix(M34, Win, Wout),
    "negated": lambda: -_derivative_map(),
    "composition": lambda: LinearMap.from_matrix(M34, Win, Wout) @ LinearMap(
        lambda u: u[::-1] * 3.0, Win, Win),
    "composition-poly": lambda: _sampling() @ LinearMap(
        lambda c: c[:3] + c[3], Polynomials(3, (-1.0, 1.0)), Polynomials(2, (-1.0, 1.0))),
    "adjoint": lambda: _derivative_map().adjoint,
    "adjoint-of-composition": lambda: (_poly_derivative() @ _poly_derivative()).adjoint,
    "transpose": lambda: _derivative_map().T,
}
NAMES = sorted(MAPS)


def _inner(S: Space, a, b) -> float:
    return float(S.inner(a, b))


@pytest.mark.parametrize("name", NAMES)
@SETTINGS
@given(seed=st.integers(0, 2**31 - 1))
def test_adjoint_identity(name: str, seed: int) -> None:
    """⟨A u, v⟩_Y = ⟨u, A* v⟩_X under the spaces' own inner products."""
    A = MAPS[name]()
    rng = np.random.default_rng(seed)
    u, v = A.domain.random(rng), A.codomain.random(rng)
    lhs = _inner(A.codomain, A(u), v)
    Av = A.adjoint(v)
    assert A.domain.contains(Av)
    rhs = _inner(A.domain, u, Av)
    scale = float(A.codomain.norm(A(u)) * A.codomain.norm(v) + A.domain.norm(u) *
                  A.domain.norm(Av))
    assert lhs == pytest.approx(rhs, rel=1e-9, abs=1e-9 * scale)


@pytest.mark.parametrize("name", NAMES)
@SETTINGS
@given(seed=st.integers(0, 2**31 - 1))
def test_transpose_identity_and_linearity(name: str, seed: int) -> None:
    """pair(Aᵀ c, u) = pair(c, A u) for any covector c; A(a u + w) = a A u + A w."""
    A = MAPS[name]()
    rng = np.random.default_rng(seed)
    u, w = A.domain.random(rng), A.domain.random(rng)
    c = A.codomain.ambient().random(rng)
    lhs = float(np.sum(np.asarray(A.domain.flatten(A.T(c))) * np.asarray(A.domain.flatten(u))))
    rhs = float(np.sum(np.asarray(A.codomain.flatten(c)) * np.asarray(A.codomain.flatten(A(u)))))
    assert lhs == pytest.approx(rhs, rel=1e-9, abs=1e-9)
    a = float(rng.standard_normal())
    cod = A.codomain
    np.testing.assert_allclose(
        np.asarray(cod.flatten(A(A.domain.add(A.domain.scale(a, u), w)))),
        np.asarray(cod.flatten(cod.add(cod.scale(a, A(u)), A(w)))), rtol=1e-9, atol=1e-9)


def test_adjoint_matrix_is_W_in_inverse_At_W_out() -> None:
    A = LinearMap.from_matrix(M34, Win, Wout)
    want = np.linalg.solve(W4, M34.T @ W3)
    np.testing.assert_allclose(A.adjoint.materialize(), want, rtol=1e-10)
    # derived from any map, not written per map: a function-defined map agrees
    B = LinearMap(lambda u: rnp.matmul(M34, u), Win, Wout)
    np.testing.assert_allclose(B.adjoint.materialize(), want, rtol=1e-10)
    np.testing.assert_allclose(A.T.materialize(), M34.T, rtol=1e-12)
    np.testing.assert_allclose(A.adjoint.adjoint.materialize(), M34, rtol=1e-10)


def test_euclidean_adjoint_of_derivative_is_the_vjp() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal(4)

    def f(x):
        return rnp.sin(rnp.matmul(M34, x)) * x[1]

    D = riesz.derivative(f)(x)
    v = rng.standard_normal(3)
    np.testing.assert_allclose(D.adjoint(v), riesz.vjp(f, x)[1](v)[0], rtol=1e-12)
    np.testing.assert_allclose(D.T(v), riesz.vjp(f, x)[1](v)[0], rtol=1e-12)


def test_materialize_by_calling_on_basis_vectors() -> None:
    """Figure E1.2: ∂f(X) for f(X) = X X is an order-4 array T with
    Σ_kl T[i,j,k,l] U[k,l] = (X U + U X)[i,j]."""
    rng = np.random.default_rng(1)
    X, U = rng.standard_normal((3, 3)), rng.standard_normal((3, 3))
    T = riesz.derivative(lambda X: X @ X)(X).materialize()
    assert T.shape == (3, 3, 3, 3)
    np.testing.assert_allclose(np.tensordot(T, U, axes=2), X @ U + U @ X, rtol=1e-12)
    np.testing.assert_allclose(LinearMap.from_matrix(M34).materialize(), M34)
    np.testing.assert_allclose(identity(Euclidean((2, 2))).materialize().reshape(4, 4), np.eye(4))


def test_materialize_in_a_weighted_orthonormal_basis() -> None:
    A = LinearMap.from_matrix(M34, Win, Wout)
    Ao = A.materialize("orthonormal")
    # by hand: W = L Lᵀ, orthonormal coordinates are Lᵀ x, so the matrix is L_outᵀ M L_in⁻ᵀ
    L3, L4 = np.linalg.cholesky(W3), np.linalg.cholesky(W4)
    np.testing.assert_allclose(Ao, L3.T @ M34 @ np.linalg.inv(L4).T, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(A.adjoint.materialize("orthonormal"), Ao.T, rtol=1e-9, atol=1e-12)
    # an explicit basis: the columns of an invertible matrix
    E = np.random.default_rng(12).standard_normal((4, 4))
    Bsq = LinearMap.from_matrix(W4, Euclidean(4), Euclidean(4))
    basis = [E[:, j] for j in range(4)]
    np.testing.assert_allclose(Bsq.materialize(basis), np.linalg.solve(E, W4 @ E), rtol=1e-9,
                               atol=1e-12)


def test_rank1_and_identity() -> None:
    y, v = np.array([1.0, -2.0, 0.5]), np.arange(4.0)
    R = rank1(y, v, Win, Wout)
    np.testing.assert_allclose(R.materialize(), np.outer(y, W4 @ v), rtol=1e-12)
    np.testing.assert_allclose(rank1(y, v).materialize(), np.outer(y, v))
    assert LinearMap.rank1(y, v).domain == Euclidean(4)
    x = np.ones(4)
    np.testing.assert_array_equal(LinearMap.identity(Win)(x), x)
    np.testing.assert_allclose(identity(Win).adjoint(x), x)


def test_algebra_matches_matrices() -> None:
    rng = np.random.default_rng(3)
    P, Q = rng.standard_normal((4, 4)), rng.standard_normal((4, 4))
    Pm, Qm = LinearMap.from_matrix(P), LinearMap.from_matrix(Q)
    np.testing.assert_allclose((Pm @ Qm).materialize(), P @ Q)
    np.testing.assert_allclose((Pm + Qm).materialize(), P + Q)
    np.testing.assert_allclose((Pm - 2 * Qm).materialize(), P - 2 * Q)
    np.testing.assert_allclose((Qm * 0.5 / 2).materialize(), Q / 4)
    np.testing.assert_allclose((-Pm).T.materialize(), -P.T)
    np.testing.assert_allclose((Pm @ Qm).T.materialize(), Q.T @ P.T)
    np.testing.assert_allclose(Pm @ np.ones(4), P @ np.ones(4))


def test_errors_name_the_mismatch() -> None:
    A = LinearMap.from_matrix(M34, Win, Wout)
    with pytest.raises(ValueError, match="cannot compose"):
        A @ A
    with pytest.raises(ValueError, match="cannot compute"):
        A + LinearMap.from_matrix(M34)
    with pytest.raises(TypeError, match="scalars"):
        A * np.ones(3)
    with pytest.raises(ValueError, match="shape"):
        A(np.ones(3))
    with pytest.raises(TypeError, match="Space"):
        LinearMap(lambda u: u, (3,), Euclidean(3))
    with pytest.raises(ValueError, match="functional"):
        A.riesz()
    # reinterpreting the geometry is explicit
    E = A.with_spaces(Euclidean(4), Euclidean(3))
    np.testing.assert_allclose(E.adjoint.materialize(), M34.T)
    with pytest.raises(ValueError, match="same arrays"):
        A.with_spaces(Euclidean(5))


# -- solvers --------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["cg", "gmres", "bicgstab", "direct"])
def test_solve_spd(method: str) -> None:
    b = np.arange(1.0, 5.0)
    x = solve(LinearMap.from_matrix(W4), b, method=method)
    np.testing.assert_allclose(x, np.linalg.solve(W4, b), rtol=1e-8)


@pytest.mark.parametrize("method", ["gmres", "bicgstab", "direct"])
def test_solve_nonsymmetric_function(method: str) -> None:
    K = np.eye(4) * 4 + np.random.default_rng(6).standard_normal((4, 4))
    b = np.ones(4)
    x = solve(lambda u: rnp.matmul(K, u), b, method=method)
    np.testing.assert_allclose(x, np.linalg.solve(K, b), rtol=1e-8)


def test_solve_on_pytrees() -> None:
    S = Product(Euclidean(2), Euclidean(()))

    def fn(u):
        x, s = u
        return (2.0 * x + s, s * 3.0 + x[0])

    A = LinearMap(fn, S, S)
    b = (np.array([1.0, 2.0]), np.array(3.0))
    for method in ("gmres", "direct"):
        x, s = solve(A, b, method=method)
        K = np.array([[2.0, 0, 1], [0, 2, 1], [1, 0, 3]])
        want = np.linalg.solve(K, [1.0, 2.0, 3.0])
        np.testing.assert_allclose(np.r_[x, s], want, rtol=1e-8, atol=1e-12)


def test_cg_in_a_weighted_geometry() -> None:
    """A = W⁻¹ H is not symmetric as a matrix but is self-adjoint in ⟨·,·⟩_W:
    CG in the space's geometry solves it."""
    H = _spd(4, 9)
    S = Weighted(metric=W4)
    A = LinearMap(lambda u: rnp.matmul(np.linalg.solve(W4, H), u), S, S)
    b = np.ones(4)
    np.testing.assert_allclose(solve(A, b, "cg"), np.linalg.solve(np.linalg.solve(W4, H), b),
                               rtol=1e-8)


@pytest.mark.parametrize("metric", ["euclidean", "weighted"])
def test_cg_with_an_exact_preconditioner_converges_in_one_step(metric: str) -> None:
    """M = A⁻¹ (self-adjoint in the space's geometry) leaves CG one iteration."""
    H = _spd(6, 9, cond=1e4)
    W = np.eye(6) if metric == "euclidean" else _spd(6, 10, cond=50.0)
    S = Euclidean(6) if metric == "euclidean" else Weighted(metric=W)
    K = np.linalg.solve(W, H)  # self-adjoint and positive in ⟨·,·⟩_W
    A = LinearMap(lambda u: rnp.matmul(K, u), S, S)
    M = LinearMap(lambda u: rnp.matmul(np.linalg.inv(K), u), S, S)
    b = np.arange(1.0, 7.0)
    x = solve(A, b, "cg", M=M, maxiter=1)
    np.testing.assert_allclose(x, np.linalg.solve(K, b), rtol=1e-8)
    with pytest.raises(SolverError):  # without it, one iteration is far from enough
        solve(A, b, "cg", maxiter=1)


def test_solver_non_convergence_raises_with_the_residual() -> None:
    H = _spd(30, 3, cond=1e6)
    with pytest.raises(SolverError, match="did not converge") as info:
        solve(LinearMap.from_matrix(H), np.ones(30), "cg", maxiter=3)
    err = info.value
    assert err.iterations == 3 and err.method == "cg"
    want = np.linalg.norm(np.ones(30) - H @ err.x) / np.linalg.norm(np.ones(30))
    assert err.residual == pytest.approx(want) and err.residual > 1e-3
    with pytest.raises(SolverError, match="residual") as info:
        solve(LinearMap.from_matrix(H + H[::-1]), np.ones(30), "gmres", maxiter=1, restart=2)
    assert len(info.value.history) >= 1
    with pytest.raises(SolverError, match="singular"):
        solve(LinearMap.from_matrix(np.ones((3, 3))), np.ones(3), "direct")
    with pytest.raises(ValueError, match="method"):
        solve(LinearMap.from_matrix(H), np.ones(30), "lu")
    with pytest.raises(ValueError, match="square"):
        solve(LinearMap.from_matrix(M34), np.ones(3))


def test_space_of_linear_maps() -> None:
    """The codomain of a second derivative: maps with the Hilbert–Schmidt product."""
    from riesz.linear import LinearMaps

    X, Y = Weighted(3, np.array([1.0, 2.0, 4.0])), Euclidean(2)
    S = LinearMaps(X, Y)
    rng = np.random.default_rng(0)
    A, B = S.random(rng), S.random(rng)
    MA, MB = A.materialize(), B.materialize()
    # Σ_j ⟨A e_j, B e_j⟩ over the X-orthonormal e_j = unit vectors / √w_j
    assert float(S.inner(A, B)) == pytest.approx(np.sum(MA * MB / np.array([1.0, 2.0, 4.0])))
    basis = list(S.basis())
    assert len(basis) == S.dim == 6
    assert np.linalg.matrix_rank(np.stack([S.flatten(b) for b in basis])) == 6
    np.testing.assert_allclose(S.add(A, S.scale(-1.0, A)).materialize(), np.zeros((2, 3)))
    assert S.contains(A) and not S.contains(np.zeros((2, 3)))
    np.testing.assert_allclose(S.unflatten(S.flatten(A)).materialize(), MA)
    with pytest.raises(NotImplementedError):
        S.riesz(A)
