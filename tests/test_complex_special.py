"""SciPy functions on complex arguments (SPEC §13): ive and lu_factor / lu_solve
(exact rules, also in the registry sweep), and gamma / rgamma / digamma, whose
derivatives need polygamma of order >= 1, which SciPy computes for real arguments
only: first derivatives of gamma and rgamma work, higher ones raise naming them.
Oracles: SciPy's values and finite differences along real and imaginary directions."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import scipy.special as sp

import riesz
import riesz.numpy as rnp
import riesz.scipy.linalg as rsl
import riesz.scipy.special as rsp
from finite_differences import fd_real_jacobian

Z = np.array([0.7 + 0.5j, -1.2 + 0.3j, 0.4 - 1.1j, -0.3 - 2.0j])
HVP_MODES = ["fwd-rev", "rev-fwd", "rev-rev", "fwd-fwd"]


def _representer(f, z):
    """∂f/∂Re z + i ∂f/∂Im z of a real scalar f, by finite differences."""
    J = fd_real_jacobian(lambda z: np.atleast_1d(f(z)), z)[0]
    return (J[:z.size] + 1j * J[z.size:]).reshape(z.shape)


@pytest.mark.parametrize("v", [0.0, 1.0, 2.5])
def test_ive_on_complex_values_and_gradient(v: float) -> None:
    np.testing.assert_allclose(rsp.ive(v, Z), sp.ive(v, Z), rtol=1e-14)

    def loss(z):
        return rnp.sum(rnp.abs(rsp.ive(v, z)) ** 2)

    np.testing.assert_allclose(riesz.grad(loss)(Z), _representer(loss, Z), rtol=1e-7)
    # the scaling e^-|Re z| is not holomorphic: ive's JVP is not multiplication by a number
    u = np.ones(4, complex)
    t1 = riesz.jvp(lambda z: rsp.ive(v, z), (Z,), (u,))[1]
    ti = riesz.jvp(lambda z: rsp.ive(v, z), (Z,), (1j * u,))[1]
    assert not np.allclose(ti, 1j * t1)
    np.testing.assert_allclose(ti, (sp.ive(v, Z + 1e-6j) - sp.ive(v, Z - 1e-6j)) / 2e-6,
                               rtol=1e-7)


def test_ive_refuses_jet_on_complex_values() -> None:
    with pytest.raises(NotImplementedError, match="'ive' is not holomorphic"):
        riesz.jet(lambda z: rsp.ive(1.0, z), (Z,), ((np.ones(4, complex),),))
    # real values keep their Taylor rule
    riesz.jet(lambda x: rsp.ive(1.0, x), (Z.real,), ((np.ones(4),),))


@pytest.mark.parametrize("trans", [0, 1, 2])
def test_lu_solve_on_complex_values(trans: int) -> None:
    rng = np.random.default_rng(5)
    A = rng.standard_normal((3, 3)) + 1j * rng.standard_normal((3, 3)) + 2 * np.eye(3)
    b = rng.standard_normal(3) + 1j * rng.standard_normal(3)
    lu, piv = rsl.lu_factor(A)
    want_lu, want_piv = scipy.linalg.lu_factor(A)
    np.testing.assert_allclose(lu, want_lu, rtol=1e-14)
    np.testing.assert_array_equal(piv, want_piv)
    x = rsl.lu_solve((lu, piv), b, trans=trans)
    np.testing.assert_allclose(x, scipy.linalg.lu_solve((want_lu, want_piv), b, trans=trans),
                               rtol=1e-13)

    def loss(a_re, a_im, b):
        a = a_re + 1j * a_im
        return rnp.sum(rnp.abs(rsl.lu_solve(rsl.lu_factor(a), b, trans=trans)) ** 2)

    g_re, g_im, g_b = riesz.grad(loss, argnums=(0, 1, 2))(A.real, A.imag, b)
    ops = {0: A, 1: A.T, 2: A.conj().T}
    op = ops[trans]
    xs = np.linalg.solve(op, b)
    # ∇_b ‖op⁻¹ b‖² = 2 op⁻ᴴ x; ∇_A: through op = A, Aᵀ or Aᴴ
    np.testing.assert_allclose(g_b, 2 * np.linalg.solve(op.conj().T, xs), rtol=1e-10)
    gA = riesz.grad(lambda a: rnp.sum(rnp.abs(rsl.lu_solve(rsl.lu_factor(a), b,
                                                               trans=trans)) ** 2))(A)
    np.testing.assert_allclose(gA.real, g_re, rtol=1e-10)
    np.testing.assert_allclose(gA.imag, g_im, rtol=1e-10)
    np.testing.assert_allclose(
        gA, _representer(lambda a: np.sum(np.abs(scipy.linalg.lu_solve(
            scipy.linalg.lu_factor(a), b, trans=trans)) ** 2), A), rtol=1e-6)


@pytest.mark.parametrize("name", ["gamma", "rgamma"])
def test_gamma_first_derivative_on_complex_values(name: str) -> None:
    f, ref = getattr(rsp, name), getattr(sp, name)
    z = np.array([0.7 + 0.3j, 1.5 - 0.2j, -0.4 + 0.8j])

    def loss(z):
        return rnp.sum(rnp.abs(f(z)) ** 2)

    np.testing.assert_allclose(riesz.grad(loss)(z), _representer(
        lambda z: np.sum(np.abs(ref(z)) ** 2), z), rtol=1e-7)
    # holomorphic: f'(z) from the complex difference quotient
    d = riesz.grad(lambda z: rnp.sum(f(z)), holomorphic=True)(z)
    np.testing.assert_allclose(d, (ref(z + 1e-7) - ref(z - 1e-7)) / 2e-7, rtol=1e-6)


@pytest.mark.parametrize("name", ["gamma", "rgamma"])
def test_gamma_second_derivative_on_complex_values_raises_naming_it(name: str) -> None:
    f = getattr(rsp, name)
    z = np.array([0.7 + 0.3j, 1.5 - 0.2j])

    def loss(z):
        return rnp.sum(rnp.abs(f(z)) ** 2)

    match = rf"polygamma\(1, z\) on complex z.*{name}.*second"
    for mode in HVP_MODES:
        with pytest.raises(NotImplementedError, match=match):
            riesz.hvp(loss, (z,), (z,), mode=mode)
    with pytest.raises(NotImplementedError, match=match):
        riesz.hessian(loss)(z)
    with pytest.raises(NotImplementedError, match=match):
        riesz.jet(f, (z,), ((np.ones(2, complex), np.zeros(2, complex)),))
    # real arguments are unaffected
    x = np.array([0.7, 1.5])
    riesz.hessian(lambda x: rnp.sum(f(x)))(x)


def test_digamma_derivative_on_complex_values_raises() -> None:
    z = np.array([0.7 + 0.3j])
    np.testing.assert_allclose(rsp.digamma(z), sp.digamma(z), rtol=1e-14)
    with pytest.raises(NotImplementedError, match="digamma has no derivative at complex z"):
        riesz.grad(lambda z: rnp.sum(rnp.abs(rsp.digamma(z)) ** 2))(z)
    with pytest.raises(NotImplementedError, match=r"polygamma\(2, z\)"):
        rsp.polygamma(2, z)
