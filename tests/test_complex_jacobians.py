"""Materialised derivatives with complex values (SPEC §13): jacfwd / jacrev /
jacobian (holomorphic=True: f'(z); real outputs of complex inputs: the Riesz
representers; complex outputs of real inputs: the complex tangents) and the
Hessian of a real function of complex inputs as the real Hessian in (Re z, Im z).
Oracles: finite differences over R²ⁿ, closed forms, grad and hvp."""

from __future__ import annotations

import numpy as np
import pytest

import riesz
import riesz.numpy as rnp
from finite_differences import fd_real_jacobian, real_coordinates

rng = np.random.default_rng(11)
Z = rng.standard_normal(3) + 1j * rng.standard_normal(3)
X = rng.standard_normal(3)
A = rng.standard_normal((2, 3)) + 1j * rng.standard_normal((2, 3))
B = rng.standard_normal((3, 3)) + 1j * rng.standard_normal((3, 3))
b = np.array([1.0, 0.5j])
JACOBIANS = [riesz.jacfwd, riesz.jacrev, riesz.jacobian]
HVP_MODES = ["fwd-rev", "rev-fwd", "rev-rev", "fwd-fwd"]


def holo(z):  # C³ -> C², holomorphic
    return rnp.exp(A @ z) * z[0] + rnp.sin(z[1:]) ** 2


def real_of_complex(z):  # C³ -> R², not holomorphic
    return rnp.abs(A @ z - b) ** 2 + rnp.real(z[:2]) ** 3


def complex_of_real(x):  # R³ -> C²
    return rnp.exp(1j * (A.real @ x)) * x[0] + A @ (x ** 2)


def loss(z):  # the non-holomorphic loss, plus a term coupling Re and Im
    return (rnp.sum(rnp.abs(B @ z - 1.0) ** 2) + rnp.sum(rnp.real(z) ** 3)
            + rnp.sum(rnp.imag(z) ** 2 * rnp.real(z)))


def _holomorphic_fd(f, z, eps=1e-6):
    """f'(z) column by column: (f(z + ε e_k) - f(z - ε e_k)) / 2ε (holomorphic f)."""
    return np.stack([(np.asarray(f(z + eps * e)) - np.asarray(f(z - eps * e))) / (2 * eps)
                     for e in np.eye(z.size)], axis=-1)


def _representers(J_real: np.ndarray, n: int) -> np.ndarray:
    """Rows ∂f/∂Re z + i ∂f/∂Im z from the real Jacobian of a real f of z ∈ Cⁿ."""
    return J_real[:, :n] + 1j * J_real[:, n:]


@pytest.mark.parametrize("jac", JACOBIANS)
def test_holomorphic_jacobian_is_the_complex_derivative(jac) -> None:
    J = jac(holo, holomorphic=True)(Z)
    assert J.shape == (2, 3) and J.dtype == np.complex128
    np.testing.assert_allclose(J, _holomorphic_fd(holo, Z), rtol=1e-8, atol=1e-8)
    # holomorphic: ∂f(z)[i e_k] = i f'(z) e_k, so the real Jacobian is [[Re J, -Im J], [Im J, Re J]]
    Jr = fd_real_jacobian(holo, Z)
    np.testing.assert_allclose(np.block([[J.real, -J.imag], [J.imag, J.real]]), Jr,
                               rtol=1e-7, atol=1e-7)


@pytest.mark.parametrize("jac", JACOBIANS)
def test_holomorphic_jacobian_of_a_scalar_is_grad(jac) -> None:
    def s(z):
        return rnp.sum(rnp.exp(B @ z) * z)

    want = riesz.grad(s, holomorphic=True)(Z)
    np.testing.assert_allclose(jac(s, holomorphic=True)(Z), want, rtol=1e-13)
    np.testing.assert_allclose(want, _holomorphic_fd(s, Z), rtol=1e-8)


@pytest.mark.parametrize("jac", JACOBIANS)
def test_real_output_of_complex_input_rows_are_representers(jac) -> None:
    J = jac(real_of_complex)(Z)
    assert J.shape == (2, 3) and J.dtype == np.complex128
    want = _representers(fd_real_jacobian(real_of_complex, Z), 3)
    np.testing.assert_allclose(J, want, rtol=1e-7, atol=1e-7)
    # each row is grad of that output entry
    for i in range(2):
        g = riesz.grad(lambda z, i=i: real_of_complex(z)[i])(Z)
        np.testing.assert_allclose(J[i], g, rtol=1e-13)


@pytest.mark.parametrize("jac", JACOBIANS)
def test_scalar_real_function_of_complex_input_is_grad(jac) -> None:
    np.testing.assert_allclose(jac(loss)(Z), riesz.grad(loss)(Z), rtol=1e-13)


@pytest.mark.parametrize("jac", JACOBIANS)
def test_complex_output_of_real_input_columns_are_tangents(jac) -> None:
    J = jac(complex_of_real)(X)
    assert J.shape == (2, 3) and J.dtype == np.complex128
    Jr = fd_real_jacobian(complex_of_real, X)  # rows: real parts, then imaginary parts
    np.testing.assert_allclose(J, Jr[:2] + 1j * Jr[2:], rtol=1e-7, atol=1e-7)
    u = rng.standard_normal(3)
    np.testing.assert_allclose(J @ u, riesz.jvp(complex_of_real, (X,), (u,))[1], rtol=1e-12)


@pytest.mark.parametrize("jac", JACOBIANS)
def test_mixed_real_and_complex_arguments(jac) -> None:
    def g(x, z):
        return rnp.sum(rnp.abs(z * x) ** 2) + rnp.sum(x ** 3) + rnp.real(rnp.sum(z ** 2))

    Jx, Jz = jac(g, argnums=(0, 1))(X, Z)
    assert Jx.dtype == np.float64 and Jz.dtype == np.complex128
    gx, gz = riesz.grad(g, argnums=(0, 1))(X, Z)
    np.testing.assert_allclose(Jx, gx, rtol=1e-13)
    np.testing.assert_allclose(Jz, gz, rtol=1e-13)
    np.testing.assert_allclose(Jz, _representers(
        fd_real_jacobian(lambda z: np.atleast_1d(g(X, z)), Z), 3)[0], rtol=1e-7)


@pytest.mark.parametrize("jac", JACOBIANS)
def test_non_holomorphic_complex_map_raises_naming_the_options(jac) -> None:
    with pytest.raises(TypeError, match=r"holomorphic=True.*riesz\.derivative.*jvp"):
        jac(lambda z: rnp.conj(z) * z[0])(Z)
    with pytest.raises(TypeError, match="requires complex inputs"):
        jac(rnp.exp, holomorphic=True)(X)
    with pytest.raises(TypeError, match="requires complex outputs"):
        jac(real_of_complex, holomorphic=True)(Z)


def test_derivative_named_by_the_error_gives_the_real_matrix() -> None:
    def f(z):
        return rnp.conj(z) * z[0]

    M = riesz.derivative(f)(Z).materialize("orthonormal")
    np.testing.assert_allclose(M, fd_real_jacobian(f, Z), rtol=1e-7, atol=1e-8)


def _fd_hessian(f, z, eps=1e-4):
    """The Hessian of the real f over R²ⁿ ∋ (Re z, Im z), second central differences."""
    n = z.size
    w0 = real_coordinates(z)

    def fr(w):
        return float(f(w[:n] + 1j * w[n:]))

    E = np.eye(2 * n) * eps
    return np.array([[(fr(w0 + E[i] + E[j]) - fr(w0 + E[i] - E[j]) - fr(w0 - E[i] + E[j])
                       + fr(w0 - E[i] - E[j])) / (4 * eps * eps) for j in range(2 * n)]
                     for i in range(2 * n)])


def test_hessian_of_real_function_of_complex_input() -> None:
    H = riesz.hessian(loss)(Z)
    assert H.shape == (2, 3, 2, 3) and H.dtype == np.float64
    H = H.reshape(6, 6)
    np.testing.assert_allclose(H, H.T, atol=1e-12)
    np.testing.assert_allclose(H, _fd_hessian(loss, Z), rtol=1e-6, atol=1e-5)
    # in the basis of the complex space (all e_k, then all i·e_k)
    basis = list(riesz.spaces.Euclidean(3, dtype=complex).basis())
    np.testing.assert_array_equal(np.array([real_coordinates(e) for e in basis]), np.eye(6))


@pytest.mark.parametrize("mode", HVP_MODES)
def test_hessian_applied_to_real_coordinates_is_hvp(mode: str) -> None:
    H = riesz.hessian(loss)(Z).reshape(6, 6)
    for u in (rng.standard_normal(3) + 1j * rng.standard_normal(3), 1j * np.eye(3)[1]):
        (hv,) = riesz.hvp(loss, (Z,), (u,), mode=mode)
        np.testing.assert_allclose(H @ real_coordinates(u), real_coordinates(hv),
                                   rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("mode", HVP_MODES)
def test_hvp_on_complex_input_matches_finite_differences(mode: str) -> None:
    Hfd = _fd_hessian(loss, Z)
    for u in (rng.standard_normal(3) + 1j * rng.standard_normal(3), np.eye(3, dtype=complex)[0],
              1j * np.eye(3)[2]):
        (hv,) = riesz.hvp(loss, (Z,), (u,), mode=mode)
        assert hv.dtype == np.complex128
        np.testing.assert_allclose(real_coordinates(hv), Hfd @ real_coordinates(u),
                                   rtol=1e-6, atol=1e-5)


@pytest.mark.parametrize("mode", HVP_MODES)
def test_hvp_with_real_and_complex_arguments(mode: str) -> None:
    def g(x, z):
        return rnp.sum(rnp.abs(z) ** 2 * x ** 2) + rnp.sum(rnp.imag(z) * x)

    v = (rng.standard_normal(3), rng.standard_normal(3) + 1j * rng.standard_normal(3))
    hx, hz = riesz.hvp(g, (X, Z), v, mode=mode)
    assert hx.dtype == np.float64 and hz.dtype == np.complex128
    Hxx, Hxz = riesz.hessian(g, argnums=(0, 1))(X, Z)[0]
    Hzx, Hzz = riesz.hessian(g, argnums=(0, 1))(X, Z)[1]
    assert Hxz.shape == (3, 2, 3) and Hzx.shape == (2, 3, 3) and Hzz.shape == (2, 3, 2, 3)
    np.testing.assert_allclose(hx, Hxx @ v[0] + Hxz.reshape(3, 6) @ real_coordinates(v[1]),
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(real_coordinates(hz), Hzx.reshape(6, 3) @ v[0]
                               + Hzz.reshape(6, 6) @ real_coordinates(v[1]),
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(Hxz.reshape(3, 6), Hzx.reshape(6, 3).T, atol=1e-12)
    # finite differences of the gradient in (x, Re z, Im z)
    def grad_real(w):
        gx, gz = riesz.grad(g, argnums=(0, 1))(w[:3], w[3:6] + 1j * w[6:])
        return np.concatenate([gx, gz.real, gz.imag])

    w0 = np.concatenate([X, real_coordinates(Z)])
    wv = np.concatenate([v[0], real_coordinates(v[1])])
    fd = (grad_real(w0 + 1e-6 * wv) - grad_real(w0 - 1e-6 * wv)) / 2e-6
    np.testing.assert_allclose(np.concatenate([hx, real_coordinates(hz)]), fd, rtol=1e-6,
                               atol=1e-6)


def test_hessian_holomorphic_is_the_second_derivative() -> None:
    z = 0.3 + 0.4j
    np.testing.assert_allclose(riesz.hessian(rnp.sin, holomorphic=True)(z), -np.sin(z))
    H = riesz.hessian(lambda z: rnp.sum(rnp.exp(B @ z)), holomorphic=True)(Z)
    np.testing.assert_allclose(H, (B.T * np.exp(B @ Z)) @ B, rtol=1e-12)


def test_hessian_of_complex_valued_function_raises() -> None:
    with pytest.raises(TypeError, match=r"hessian: f maps complex.*hessian\(f, holomorphic=True\)"):
        riesz.hessian(lambda z: rnp.sum(rnp.conj(z) * z ** 2))(Z)


def test_jacobians_and_hessian_under_vmap_and_jit() -> None:
    Zb = rng.standard_normal((3, 3)) + 1j * rng.standard_normal((3, 3))
    for jac in (riesz.jacfwd(real_of_complex), riesz.jacrev(real_of_complex),
                riesz.jacrev(holo, holomorphic=True), riesz.hessian(loss)):
        want = np.stack([jac(z) for z in Zb])
        np.testing.assert_allclose(riesz.vmap(jac)(Zb), want, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(riesz.jit(jac)(Zb[0]), want[0], rtol=1e-12, atol=1e-12)
