"""Weighted spaces on Cⁿ (SPEC §13): ⟨x, y⟩_W = Re(xᴴ W y) with W Hermitian
positive definite (dense, real positive diagonal, or a LinearMap). Oracles:
closed forms in plain NumPy and the adjoint identity under Re⟨·,·⟩_W."""

from __future__ import annotations

import numpy as np
import pytest

import riesz
import riesz.numpy as rnp
from riesz.spaces import DenseMetric, Euclidean, Weighted

N = 4
RNG = np.random.default_rng(7)


def _crandn(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape) + 1j * RNG.standard_normal(shape)


B = _crandn(N, N)
W_DENSE = B @ B.conj().T + N * np.eye(N)
W_DIAG = RNG.random(N) + 0.5
A = _crandn(N, N)
A_HERM = A + A.conj().T
Z = _crandn(N)
C = Euclidean(N, np.complex128)


def _spaces() -> dict[str, tuple[Weighted, np.ndarray]]:
    """Each kind of metric with its dense matrix (the NumPy oracle's W)."""
    W_map = riesz.LinearMap.from_matrix(W_DENSE, C, C)
    return {
        "dense": (Weighted(metric=W_DENSE), W_DENSE),
        "diagonal": (Weighted(N, W_DIAG, dtype=np.complex128), np.diag(W_DIAG)),
        "map": (Weighted(metric=W_map), W_DENSE),
    }


KINDS = ["dense", "diagonal", "map"]


def _quadratic(z):
    return rnp.real(rnp.vdot(z, A_HERM @ z))


@pytest.mark.parametrize("kind", KINDS)
def test_inner_and_dim(kind: str) -> None:
    S, W = _spaces()[kind]
    assert S.dtype == np.complex128 and S.dim == 2 * N and S.size == N
    x, y = _crandn(N), _crandn(N)
    np.testing.assert_allclose(float(S.inner(x, y)), np.real(x.conj() @ W @ y), rtol=1e-12)
    np.testing.assert_allclose(float(S.norm(x)) ** 2, np.real(x.conj() @ W @ x), rtol=1e-12)


@pytest.mark.parametrize("kind", KINDS)
def test_grad_is_w_inverse_of_euclidean_representer(kind: str) -> None:
    S, W = _spaces()[kind]
    euclid = 2 * A_HERM @ Z  # ∂f/∂Re z + i ∂f/∂Im z of Re(zᴴ A z), A Hermitian
    np.testing.assert_allclose(riesz.grad(_quadratic)(Z), euclid, rtol=1e-12)
    g = riesz.grad(_quadratic, space=S)(Z)
    assert g.dtype == np.complex128
    np.testing.assert_allclose(g, np.linalg.solve(W, euclid), rtol=1e-10, atol=1e-12)
    # the Riesz identity: ⟨g, u⟩_W = ∂f(z)[u] for random complex u
    u = _crandn(N)
    _, df = riesz.jvp(_quadratic, (Z,), (u,))
    np.testing.assert_allclose(float(S.inner(g, u)), float(df), rtol=1e-10)


@pytest.mark.parametrize("kind", KINDS)
def test_grad_in_weighted_space_is_differentiable(kind: str) -> None:
    S, W = _spaces()[kind]
    u = _crandn(N)
    _, dg = riesz.jvp(riesz.grad(_quadratic, space=S), (Z,), (u,))
    np.testing.assert_allclose(dg, np.linalg.solve(W, 2 * A_HERM @ u), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kind", KINDS)
def test_steepest_descent_in_w_geometry_decreases_f(kind: str) -> None:
    S, W = _spaces()[kind]
    f0 = float(_quadratic(Z))
    g = riesz.grad(_quadratic, space=S)(Z)
    for t in (1e-2, 1e-3):
        assert float(_quadratic(Z - t * g)) < f0
    # first order: f(z - t g) ≈ f(z) - t ‖g‖²_W
    t = 1e-6
    np.testing.assert_allclose((float(_quadratic(Z - t * g)) - f0) / t,
                               -np.real(g.conj() @ W @ g), rtol=1e-4)


@pytest.mark.parametrize("kind", KINDS)
def test_adjoint_identity_under_re_inner(kind: str) -> None:
    S, W = _spaces()[kind]
    T = Weighted(N, W_DIAG[::-1].copy(), dtype=np.complex128)
    K = _crandn(N, N)
    for L in (riesz.LinearMap.from_matrix(K, S, T), riesz.LinearMap(lambda x: K @ x, S, T)):
        u, v = _crandn(N), _crandn(N)
        lhs = float(T.inner(L(u), v))
        np.testing.assert_allclose(lhs, float(S.inner(u, L.adjoint(v))), rtol=1e-10)
        # closed form of the adjoint: W_S⁻¹ Kᴴ W_T
        np.testing.assert_allclose(L.adjoint(v),
                                   np.linalg.solve(W, K.conj().T @ (W_DIAG[::-1] * v)),
                                   rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kind", KINDS)
def test_check_grads_in_complex_weighted_spaces(kind: str) -> None:
    S, _ = _spaces()[kind]
    riesz.check_grads(lambda z: rnp.abs(z) ** 2 * z, (Z,), spaces=[S])
    riesz.check_grads(lambda z: rnp.sin(z) * rnp.conj(z), (Z,), spaces=[S, S])


@pytest.mark.parametrize("kind", KINDS)
def test_orthonormal_basis_is_w_orthonormal_over_r(kind: str) -> None:
    S, W = _spaces()[kind]
    b = S.orthonormal_basis()
    assert len(b) == S.dim == len(list(S.basis()))
    G = np.array([[np.real(x.conj() @ W @ y) for y in b] for x in b])
    np.testing.assert_allclose(G, np.eye(2 * N), atol=1e-12)


def test_real_metric_on_complex_vectors_matches_complex_euclidean() -> None:
    S = Weighted(N, np.ones(N), dtype=np.complex128)
    np.testing.assert_allclose(riesz.grad(_quadratic, space=S)(Z),
                               riesz.grad(_quadratic, space=C)(Z), rtol=1e-13)


def test_complex_metric_infers_complex_dtype_and_spaces_differ_by_dtype() -> None:
    assert Weighted(metric=W_DENSE).dtype == np.complex128
    assert Weighted(metric=W_DENSE.real).dtype == np.float64
    assert Weighted(N, W_DIAG) != Weighted(N, W_DIAG, dtype=np.complex128)
    assert "complex128" in repr(Weighted(metric=W_DENSE))


def test_metric_validation_names_the_argument() -> None:
    with pytest.raises(ValueError, match=r"Weighted: metric must be Hermitian"):
        Weighted(metric=W_DENSE + 1j * np.triu(np.ones((N, N)), 1))
    with pytest.raises(ValueError, match=r"Weighted: metric must be positive definite"):
        Weighted(metric=-W_DENSE)
    with pytest.raises(ValueError, match=r"Weighted: metric must be real"):
        Weighted(N, W_DIAG + 1j, dtype=np.complex128)
    with pytest.raises(ValueError, match=r"Weighted: metric must be finite and positive"):
        Weighted(N, -W_DIAG, dtype=np.complex128)
    with pytest.raises(ValueError, match=r"Weighted: metric is complex but the space is real"):
        Weighted(metric=W_DENSE, dtype=np.float64)
    with pytest.raises(ValueError, match=r"Weighted: metric: the map is not Hermitian"):
        Weighted(metric=riesz.LinearMap.from_matrix(A, C, C))
    with pytest.raises(ValueError, match=r"Weighted: metric: the map is not Hermitian.*linear"):
        Weighted(metric=riesz.LinearMap(lambda x: rnp.conj(x), C, C))
    with pytest.raises(ValueError, match=r"Weighted: metric: the map is not positive"):
        Weighted(metric=riesz.LinearMap.from_matrix(-W_DENSE, C, C))
    with pytest.raises(ValueError, match=r"DenseMetric.*must be Hermitian"):
        DenseMetric(W_DENSE + 1j * np.triu(np.ones((N, N)), 1), "DenseMetric")


def test_map_metric_riesz_is_a_matrix_free_solve_on_complex_vectors() -> None:
    calls = []

    def apply(x):
        calls.append(1)
        return W_DENSE @ x

    S = Weighted(metric=riesz.LinearMap(apply, C, C))
    c = _crandn(N)
    calls.clear()
    np.testing.assert_allclose(S.riesz(c), np.linalg.solve(W_DENSE, c), rtol=1e-10)
    assert calls  # by CG through the map, not a stored matrix
    assert S._metric._inverse is None


def test_map_metric_solver_failure_names_the_space_on_complex_vectors() -> None:
    S = Weighted(metric=riesz.LinearMap.from_matrix(W_DENSE, C, C), maxiter=1)
    with pytest.raises(riesz.SolverError, match=r"Weighted.*riesz: solving W g = c"):
        S.riesz(_crandn(N))
