"""Linear solves and structured maps on complex spaces (SPEC §13: Cⁿ is the real
space R²ⁿ under Re vdot). Solvers iterate on real coordinates, so R-linear maps
that are not C-linear solve correctly; C-linear matrices and diagonals factorise
in complex arithmetic. Oracles: dense NumPy solves (complex, or of the 2n x 2n
real matrix), the adjoint identity under Re⟨·,·⟩, finite differences along real
and imaginary directions."""

from __future__ import annotations

import numpy as np
import pytest

import riesz
import riesz.numpy as rnp
from finite_differences import fd_real_jacobian, real_coordinates
from riesz.linear import DiagonalMap, LinearMap
from riesz.linear_solvers import CG, GMRES, BiCGSTAB, Direct
from riesz.spaces import Euclidean, Product, Weighted

N = 4
RNG = np.random.default_rng(23)
C = Euclidean(N, dtype=np.complex128)
G = RNG.standard_normal((N, N)) + 1j * RNG.standard_normal((N, N))
K = G + 4 * np.eye(N)  # general complex, well conditioned
H = G @ G.conj().T + N * np.eye(N)  # Hermitian positive definite
Nsym = 0.3 * (G + G.T) / np.linalg.norm(G + G.T, 2)  # complex symmetric, small
B = RNG.standard_normal(N) + 1j * RNG.standard_normal(N)
D = np.array([1.0 + 2.0j, -0.5j, 3.0, 2.0 - 1.0j])
METHODS = ["cg", "gmres", "bicgstab", "direct"]
SOLVERS = [CG(), GMRES(restart=2 * N), BiCGSTAB(), Direct()]


def _re(u, v) -> float:
    return float(np.real(np.vdot(u, v)))


def _real_matrix(f, n: int) -> np.ndarray:
    """The 2n x 2n real matrix of the R-linear f on Cⁿ (columns: f(e_k), then f(i e_k))."""
    return np.stack([real_coordinates(f(e)) for e in
                     [*np.eye(n, dtype=complex), *(1j * np.eye(n))]], axis=1)


def _r_linear(u):  # not C-linear: self-adjoint and positive under Re vdot
    return H @ u + Nsym @ np.conj(u)


def _r_linear_riesz(u):
    return rnp.matmul(H, u) + rnp.matmul(Nsym, rnp.conj(u))


@pytest.mark.parametrize("method", METHODS)
def test_complex_matrix_solves(method: str) -> None:
    M = H if method == "cg" else K  # CG: Hermitian positive definite
    x = riesz.solve(LinearMap.from_matrix(M, C, C), B, method)
    assert x.dtype == np.complex128
    np.testing.assert_allclose(x, np.linalg.solve(M, B), rtol=1e-9)
    # the same map given as a function
    x = riesz.solve(lambda u: rnp.matmul(M, u), B, method)
    np.testing.assert_allclose(x, np.linalg.solve(M, B), rtol=1e-9)


@pytest.mark.parametrize("method", METHODS)
def test_r_linear_map_is_solved_as_a_real_system(method: str) -> None:
    """A(u) = H u + N conj(u): a complex Krylov method or LU assuming C-linearity
    would solve the wrong system."""
    A = LinearMap(_r_linear_riesz, C, C)
    x = riesz.solve(A, B, method)
    np.testing.assert_allclose(_r_linear(x), B, rtol=1e-9, atol=1e-10)
    want = np.linalg.solve(_real_matrix(_r_linear, N), real_coordinates(B))
    np.testing.assert_allclose(real_coordinates(x), want, rtol=1e-9)


@pytest.mark.parametrize("method", ["gmres", "bicgstab", "direct"])
def test_derivative_of_non_holomorphic_map_solves(method: str) -> None:
    def f(z):
        return rnp.exp(z) * rnp.conj(z) + 3 * z

    z0 = RNG.standard_normal(N) + 1j * RNG.standard_normal(N)
    J = riesz.derivative(f)(z0)
    x = riesz.solve(J, B, method)
    np.testing.assert_allclose(J(x), B, rtol=1e-9, atol=1e-10)
    Jr = fd_real_jacobian(lambda z: np.exp(z) * np.conj(z) + 3 * z, z0)
    np.testing.assert_allclose(real_coordinates(x), np.linalg.solve(Jr, real_coordinates(B)),
                               rtol=1e-6)


@pytest.mark.parametrize("solver", SOLVERS, ids=METHODS)
def test_transposed_solve_is_the_adjoint_of_the_solve(solver) -> None:
    """pair(A⁻ᵀ c, b) = pair(c, A⁻¹ b) under Re Σ conj(c) x, for C-linear and R-linear A."""
    c = RNG.standard_normal(N) + 1j * RNG.standard_normal(N)
    maps = [LinearMap(_r_linear_riesz, C, C)]
    if not isinstance(solver, CG):
        maps += [LinearMap.from_matrix(K, C, C), LinearMap(lambda u: rnp.matmul(K, u), C, C)]
    else:
        maps += [LinearMap.from_matrix(H, C, C)]
    for A in maps:
        state = solver.init(A)
        x = solver.compute(state, B)
        y = solver.compute(solver.transpose(state), c)
        assert abs(_re(y, B) - _re(c, x)) < 1e-9 * np.linalg.norm(B) * np.linalg.norm(c)
    # the complex LU's transpose is Aᴴ (not Aᵀ)
    state = Direct().init(LinearMap.from_matrix(K, C, C))
    np.testing.assert_allclose(Direct().compute(Direct().transpose(state), c),
                               np.linalg.solve(K.conj().T, c), rtol=1e-10)


def test_cg_in_a_weighted_complex_space() -> None:
    """A = W⁻¹ P with P Hermitian positive is self-adjoint and positive in ⟨x, y⟩ = Re xᴴ W y."""
    Wm = H / np.linalg.norm(H, 2) + np.eye(N)
    S = Weighted(metric=Wm)
    P = (G.T @ G.conj()) + N * np.eye(N)  # another Hermitian positive definite matrix
    Amat = np.linalg.solve(Wm, P)
    A = LinearMap(lambda u: rnp.matmul(Amat, u), S, S)
    for method in ("cg", "gmres", "direct"):
        np.testing.assert_allclose(riesz.solve(A, B, method), np.linalg.solve(Amat, B),
                                   rtol=1e-8, err_msg=method)


def test_cg_refuses_a_non_hermitian_complex_system() -> None:
    # K is not Hermitian; CG must not return a silently wrong answer
    A = LinearMap.from_matrix(K - 10j * np.eye(N), C, C)
    try:
        x = riesz.solve(A, B, "cg", maxiter=50)
    except riesz.linear_solvers.SolverError:
        return
    np.testing.assert_allclose((K - 10j * np.eye(N)) @ x, B, rtol=1e-8)


def test_solve_on_a_product_of_real_and_complex_spaces() -> None:
    R = Euclidean(2)
    P = Product(R, C)
    M1 = np.array([[2.0, 0.5], [0.1, 3.0]])
    V = RNG.standard_normal((N, 2))

    def A(u):
        x, z = u
        return (rnp.matmul(M1, x) + rnp.real(z[:2]), rnp.matmul(K, z) + rnp.matmul(V, x))

    b = (np.array([1.0, -2.0]), B)
    for method in ("gmres", "bicgstab", "direct"):
        x, z = riesz.solve(LinearMap(A, P, P), b, method)
        assert x.dtype == np.float64 and z.dtype == np.complex128
        rx, rz = A((x, z))
        np.testing.assert_allclose(rx, b[0], atol=1e-9, err_msg=method)
        np.testing.assert_allclose(rz, b[1], atol=1e-9, err_msg=method)


def test_solution_derivative_along_real_and_imaginary_directions() -> None:
    """x(θ) = A(θ)⁻¹ b with A(θ) = K + θ E: ∂x[δ] = -A⁻¹ (δ E) x, checked by finite
    differences of the solves along δ = 1 and δ = i (x is holomorphic in θ)."""
    E = RNG.standard_normal((N, N)) + 1j * RNG.standard_normal((N, N))
    theta = 0.3 - 0.2j

    def x_of(t, method):
        return riesz.solve(LinearMap.from_matrix(K + t * E, C, C), B, method, rtol=1e-13)

    for method in ("gmres", "bicgstab", "direct"):
        x = x_of(theta, method)
        A = LinearMap.from_matrix(K + theta * E, C, C)
        for delta in (1.0, 1j):
            want = -riesz.solve(A, delta * (E @ x), method, rtol=1e-13)
            eps = 1e-6
            fd = (x_of(theta + eps * delta, method) - x_of(theta - eps * delta, method)) / (2 * eps)
            np.testing.assert_allclose(fd, want, rtol=1e-6, err_msg=f"{method} {delta}")


def test_complex_diagonal_map() -> None:
    A = DiagonalMap(D)
    assert A.domain == C
    u = RNG.standard_normal(N) + 1j * RNG.standard_normal(N)
    v = RNG.standard_normal(N) + 1j * RNG.standard_normal(N)
    np.testing.assert_allclose(A(u), D * u)
    np.testing.assert_allclose(A.T(v), np.conj(D) * v)
    assert abs(_re(A(u), v) - _re(u, A.adjoint(v))) < 1e-12  # adjoint identity
    np.testing.assert_allclose(A.materialize(), np.diag(D))
    np.testing.assert_allclose(A.T.materialize(), np.diag(np.conj(D)))
    # the transpose agrees with reverse mode through the map
    _, pull = riesz.vjp(A, u)
    np.testing.assert_allclose(pull(v)[0], A.T(v), rtol=1e-14)
    for method in ("gmres", "bicgstab", "direct"):
        np.testing.assert_allclose(riesz.solve(A, B, method), B / D, rtol=1e-9, err_msg=method)
        np.testing.assert_allclose(riesz.solve(A.T, B, method), B / np.conj(D), rtol=1e-9)
    # CG: a real positive diagonal on Cⁿ is Hermitian positive definite
    d = np.array([1.0, 2.0, 0.5, 4.0])
    np.testing.assert_allclose(riesz.solve(DiagonalMap(d, C), B, "cg"), B / d, rtol=1e-9)
    np.testing.assert_allclose(riesz.solve(DiagonalMap(d, C), B, "direct"), B / d, rtol=1e-14)
    with pytest.raises(ValueError, match="complex.*real"):
        DiagonalMap(D, Euclidean(N))


def test_gradient_through_complex_structured_maps() -> None:
    """A loss through a complex diagonal and a complex matrix map: grad against finite
    differences along real and imaginary directions."""
    A, M = DiagonalMap(D), LinearMap.from_matrix(K, C, C)

    def loss(z):
        return rnp.sum(rnp.abs(A(M(z)) - B) ** 2) + rnp.real(rnp.vdot(z, A(z)))

    z0 = RNG.standard_normal(N) + 1j * RNG.standard_normal(N)
    g = riesz.grad(loss)(z0)
    Jr = fd_real_jacobian(lambda z: np.atleast_1d(loss(z)), z0)
    np.testing.assert_allclose(g, Jr[0, :N] + 1j * Jr[0, N:], rtol=1e-6)
    want = 2 * K.conj().T @ (np.conj(D) * (D * (K @ z0) - B)) + (D + np.conj(D)) * z0
    np.testing.assert_allclose(g, want, rtol=1e-12)


def test_from_matrix_of_a_complex_matrix_is_between_complex_spaces() -> None:
    A = LinearMap.from_matrix(K)
    assert A.domain == C and A.codomain == C
    np.testing.assert_allclose(riesz.solve(A, B, "direct"), np.linalg.solve(K, B), rtol=1e-12)


def test_complex64_spaces_iterate_in_double_precision() -> None:
    """As a float32 space's solve (float64 coordinates), a complex64 one converges to
    rtol 1e-10 and returns complex128."""
    C64 = Euclidean(N, dtype=np.complex64)
    for method in METHODS:
        M = H if method == "cg" else K
        x = riesz.solve(LinearMap.from_matrix(M, C64, C64), B.astype(np.complex64), method)
        assert x.dtype == np.complex128, method
        np.testing.assert_allclose(M @ x, B.astype(np.complex64), rtol=1e-9, err_msg=method)
