"""Complex numbers (SPEC §13): Cⁿ as a real inner-product space under
⟨x, y⟩ = Re vdot(x, y); the VJP is the adjoint under it and grad is the Riesz
representer ∂f/∂Re z + i ∂f/∂Im z. Oracles: closed forms and finite differences."""

from __future__ import annotations

import numpy as np
import pytest

import riesz
import riesz.numpy as rnp


def _fd_representer(f, z, eps=1e-6):
    """∂f/∂Re z + i ∂f/∂Im z by central differences (f real-valued)."""
    g = np.zeros_like(z)
    for k in np.ndindex(z.shape):
        e = np.zeros_like(z)
        e[k] = 1
        dre = (f(z + eps * e) - f(z - eps * e)) / (2 * eps)
        dim = (f(z + 1j * eps * e) - f(z - 1j * eps * e)) / (2 * eps)
        g[k] = dre + 1j * dim
    return g


def test_complex_constant_in_real_function_regression() -> None:
    # used to return -5.47 with only a ComplexWarning
    g = riesz.grad(lambda t: rnp.abs(rnp.exp((1 + 2j) * t)) ** 2)(0.3)
    np.testing.assert_allclose(g, 2 * np.exp(0.6), rtol=1e-13)


def test_vjp_of_x_plus_iy_regression() -> None:
    # the VJP w.r.t. y used to be -Im v
    _, vjp_fn = riesz.vjp(lambda x, y: x + 1j * y, np.array([0.5, 1.0]), np.array([0.7, -2.0]))
    v = np.array([2.0 + 3.0j, -1.0 - 0.5j])
    cx, cy = vjp_fn(v)
    np.testing.assert_array_equal(cx, v.real)
    np.testing.assert_array_equal(cy, v.imag)
    assert cx.dtype == np.float64 and cy.dtype == np.float64


def test_grad_of_abs_squared_is_2z() -> None:
    z = np.array([1.0 + 2.0j, -0.5 + 0.3j, 0.0 - 1.0j])
    np.testing.assert_allclose(riesz.grad(lambda z: rnp.sum(rnp.abs(z) ** 2))(z), 2 * z)
    np.testing.assert_allclose(
        riesz.grad(lambda z: rnp.sum((z * rnp.conj(z)).real))(z), 2 * z)


def test_grad_is_the_riesz_representer() -> None:
    rng = np.random.default_rng(1)
    z = rng.standard_normal(4) + 1j * rng.standard_normal(4)
    a = rng.standard_normal((4, 4)) + 1j * rng.standard_normal((4, 4))

    def f(z):
        w = rnp.sin(z) * rnp.exp(z / 3) + rnp.log(z * z + 2)
        return rnp.sum(rnp.abs(w) ** 2) + rnp.sum(rnp.angle(z + 3)) + rnp.real(w[0] * w[1])

    np.testing.assert_allclose(riesz.grad(f)(z), _fd_representer(f, z), rtol=1e-7, atol=1e-7)
    del a


def test_holomorphic_grad() -> None:
    z = 0.3 + 0.4j
    np.testing.assert_allclose(riesz.grad(rnp.sin, holomorphic=True)(z), np.cos(z))
    np.testing.assert_allclose(
        riesz.grad(lambda z: z ** 3 / (1 + z), holomorphic=True)(z),
        (3 * z**2 * (1 + z) - z**3) / (1 + z) ** 2)


def test_grad_of_complex_output_names_both_options() -> None:
    with pytest.raises(TypeError, match=r"holomorphic=True.*abs\(f\)\*\*2"):
        riesz.grad(rnp.sin)(0.3 + 0.4j)
    with pytest.raises(TypeError, match="complex inputs"):
        riesz.grad(rnp.sin, holomorphic=True)(0.3)


def test_holomorphic_vjp_is_conjugate_derivative_times_v() -> None:
    z = np.array([0.3 + 0.4j, -1.0 + 0.2j])
    v = np.array([1.0 - 2.0j, 0.5j])
    _, vjp_fn = riesz.vjp(rnp.exp, z)
    np.testing.assert_allclose(vjp_fn(v)[0], np.conj(np.exp(z)) * v)
    _, t = riesz.jvp(rnp.exp, (z,), (v,))
    np.testing.assert_allclose(t, np.exp(z) * v)


def test_real_output_of_complex_function_has_real_tangent() -> None:
    z = np.array([0.3 + 0.4j, -1.0 + 0.2j])
    for f in (rnp.abs, rnp.real, rnp.imag, rnp.angle):
        out, t = riesz.jvp(f, (z,), (np.array([1.0 + 1.0j, 2.0 - 1.0j]),))
        assert out.dtype == np.float64 and t.dtype == np.float64, f


def test_user_complex_cotangent_for_real_output_raises() -> None:
    _, vjp_fn = riesz.vjp(rnp.sin, np.array([0.5]))
    with pytest.raises(TypeError, match="complex"):
        vjp_fn(np.array([1.0 + 1.0j]))


@pytest.mark.parametrize("name", ["conj", "real", "imag", "abs", "angle"])
def test_jet_refuses_non_holomorphic(name: str) -> None:
    z = np.array([0.3 + 0.4j])
    with pytest.raises(NotImplementedError, match="not holomorphic"):
        riesz.jet(getattr(rnp, name), (z,), ((np.ones(1, complex),),))


def test_jet_of_holomorphic_matches_nested_jvp() -> None:
    z = np.array([0.3 + 0.4j, -0.2 + 1.0j])
    u = np.array([1.0 - 0.5j, 0.2j])

    def f(z):
        return rnp.exp(rnp.sin(z)) * z ** 2

    _, (d1, d2) = riesz.jet(f, (z,), ((u, np.zeros_like(u)),))
    first = riesz.jvp(f, (z,), (u,))[1]
    second = riesz.jvp(lambda z: riesz.jvp(f, (z,), (u,))[1], (z,), (u,))[1]
    np.testing.assert_allclose(d1, first, rtol=1e-12)
    np.testing.assert_allclose(d2, second, rtol=1e-12)
