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


Z = np.array([1.0 + 2.0j, -0.5 + 0.3j, 0.2 - 1.0j])
A = np.array([[1.0, 2.0j, 0.5], [0.3 - 1.0j, -1.0, 1.0j], [0.0, 0.7, 2.0 + 1.0j]])


def _loss(z):
    return rnp.sum(rnp.abs(A @ z - 1.0) ** 2)


def test_loss_gradient_matches_closed_form_and_vmap() -> None:
    want = 2 * A.conj().T @ (A @ Z - 1.0)  # ∇ ‖Az - 1‖² = 2 Aᴴ (Az - 1)
    np.testing.assert_allclose(riesz.grad(_loss)(Z), want, rtol=1e-12)
    batch = np.stack([Z, 2 * Z])
    got = riesz.vmap(riesz.grad(_loss))(batch)
    np.testing.assert_allclose(got[1], 2 * A.conj().T @ (A @ (2 * Z) - 1.0), rtol=1e-12)


def test_hvp_of_real_function_of_complex_input() -> None:
    u = np.array([0.3 - 1.0j, 1.0j, 2.0])
    # ∇ = 2 Aᴴ (Az - 1) is R-linear in z: its derivative along u is 2 Aᴴ A u
    for mode in ("fwd-rev", "rev-fwd", "rev-rev", "fwd-fwd"):
        (hv,) = riesz.hvp(_loss, (Z,), (u,), mode=mode)
        np.testing.assert_allclose(hv, 2 * A.conj().T @ A @ u, rtol=1e-12, err_msg=mode)


def test_linearize_and_linear_transpose_are_adjoint() -> None:
    out, f_jvp = riesz.linearize(lambda z: rnp.exp(z) * rnp.conj(z), Z)
    u = np.array([1.0 - 1.0j, 0.5j, 2.0])
    np.testing.assert_allclose(f_jvp(u), np.exp(Z) * u * np.conj(Z) + np.exp(Z) * np.conj(u))
    (t,) = riesz.linear_transpose(lambda u: A @ u, Z)(u)
    np.testing.assert_allclose(t, A.conj().T @ u, rtol=1e-14)


def test_jacobians_of_complex_need_holomorphic() -> None:
    want = np.diag(np.exp(Z))
    np.testing.assert_allclose(riesz.jacfwd(rnp.exp, holomorphic=True)(Z), want)
    np.testing.assert_allclose(riesz.jacrev(rnp.exp, holomorphic=True)(Z), want)
    with pytest.raises(TypeError, match=r"holomorphic=True.*riesz\.derivative"):
        riesz.jacfwd(rnp.conj)(Z)  # complex to complex, not holomorphic
    # a real loss of complex inputs has a real Hessian in (Re z, Im z): 2 Aᴴ A as R-linear map
    H = riesz.hessian(_loss)(Z).reshape(6, 6)
    G = 2 * A.conj().T @ A
    np.testing.assert_allclose(H, np.block([[G.real, -G.imag], [G.imag, G.real]]), atol=1e-12)


def test_check_grads_catches_a_transpose_instead_of_an_adjoint() -> None:
    @riesz.custom_vjp
    def wrong(z):
        return rnp.sin(z)

    wrong.defvjp(lambda z: (wrong(z), z), lambda z, v: (v * rnp.cos(z),))  # JAX's transpose
    with pytest.raises(riesz.GradientCheckError):
        riesz.check_grads(wrong, (Z,), order=1, modes=("rev",))

    @riesz.custom_vjp
    def right(z):
        return rnp.sin(z)

    right.defvjp(lambda z: (right(z), z), lambda z, v: (v * rnp.conj(rnp.cos(z)),))
    riesz.check_grads(right, (Z,), order=1, modes=("rev",))


def test_custom_jvp_and_checkpoint_on_complex() -> None:
    @riesz.custom_jvp
    def h(z):
        return rnp.sin(z)

    h.defjvp(lambda p, t: (h(p[0]), t[0] * rnp.cos(p[0])))
    want = 2 * np.conj(np.cos(Z)) * np.sin(Z)  # ∇ Σ|sin z|² = 2 conj(cos z) sin z
    np.testing.assert_allclose(riesz.grad(lambda z: rnp.sum(rnp.abs(h(z)) ** 2))(Z), want)
    np.testing.assert_allclose(
        riesz.grad(lambda z: rnp.sum(rnp.abs(riesz.checkpoint(rnp.sin)(z)) ** 2))(Z), want)


def test_complex_euclidean_space() -> None:
    from riesz.spaces import Euclidean

    S = Euclidean(3, dtype=np.complex128)
    assert S.dim == 6
    basis = list(S.basis())
    gram = np.array([[float(S.inner(a, b)) for b in basis] for a in basis])
    np.testing.assert_allclose(gram, np.eye(6))
    np.testing.assert_allclose(riesz.grad(_loss, space=S)(Z), riesz.grad(_loss)(Z))
    riesz.check_grads(lambda z: rnp.abs(z) ** 2 * z, (Z,), spaces=[S])
    D = riesz.derivative(rnp.exp)(Z)
    v = np.array([1.0j, 2.0, -1.0 + 1.0j])
    np.testing.assert_allclose(D(v), np.exp(Z) * v)
    np.testing.assert_allclose(D.adjoint(v), np.conj(np.exp(Z)) * v)


def test_functions_without_complex_rules_refuse_complex() -> None:
    # (lu_factor and ive have complex rules now: tests/test_complex_special.py)
    import riesz.scipy.special as rsp

    a = np.eye(3) * 2 + 0.1j
    for f in (rsp.digamma,
              lambda a: riesz.jvp(rsp.gamma, (a,), (a,))[1]):  # gamma'' needs polygamma(1)
        with pytest.raises(NotImplementedError, match="complex"):
            riesz.jvp(f, (a,), (a,))


def test_eig_matches_numpy_and_perturbation_theory() -> None:
    rng = np.random.default_rng(5)
    a = rng.standard_normal((4, 4))
    w, v = rnp.linalg.eig(a)
    np.testing.assert_allclose(w, np.linalg.eig(a).eigenvalues)
    # ∂λ_k = (u_kᴴ ∂A v_k) / (u_kᴴ v_k), u_k the left eigenvectors (rows of V⁻¹)
    t = rng.standard_normal((4, 4))
    _, dw = riesz.jvp(rnp.linalg.eigvals, (a,), (t,))
    vinv = np.linalg.inv(v)
    np.testing.assert_allclose(dw, np.einsum("ki,ij,jk->k", vinv, t, v), rtol=1e-10)
    # a real matrix gets a real cotangent
    g = riesz.grad(lambda a: rnp.sum(rnp.abs(rnp.linalg.eigvals(a)) ** 2))(a)
    assert g.dtype == np.float64


def test_implicit_layers_differentiate_complex_states() -> None:
    # was a NotImplementedError; now the gradient is the Riesz representer (§13),
    # checked against finite differences along real and imaginary directions
    from riesz import implicit

    def solve(x):
        return implicit.fixed_point(lambda x, y: 0.5 * rnp.sin(y) + x, x, np.zeros(2, complex))

    def loss(x):
        return rnp.sum(rnp.abs(solve(x)) ** 2)

    x = np.array([0.3 + 0.2j, -0.1 + 0.4j])
    g = np.asarray(riesz.grad(loss)(x))
    h = 1e-6
    for u in (np.array([1, 0]), np.array([1j, 0]), np.array([0, 1]), np.array([0, 1j])):
        fd = (float(loss(x + h * u)) - float(loss(x - h * u))) / (2 * h)
        np.testing.assert_allclose(np.real(np.vdot(g, u)), fd, rtol=1e-6, atol=1e-8)


def test_complex_logsumexp_is_scipys_principal_log() -> None:
    import scipy.special

    import riesz.scipy.special as rsp

    a = np.array([[1 + 2j, 3 - 1j, 0.5 + 4j], [700 + 1j, 699 - 2j, -1j]])
    np.testing.assert_allclose(rsp.logsumexp(a, axis=1), scipy.special.logsumexp(a, axis=1))
    # ∂/∂a of the holomorphic log Σ e^a is the softmax; the adjoint conjugates it
    g = riesz.vjp(lambda x: rsp.logsumexp(x, axis=1), a)[1](np.ones(2, complex))[0]
    np.testing.assert_allclose(g, np.conj(scipy.special.softmax(a, axis=1)), rtol=1e-12)
    with pytest.raises(NotImplementedError, match="return_sign"):
        rsp.logsumexp(a, return_sign=True)
