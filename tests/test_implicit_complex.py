"""Implicit layers with complex states (SPEC §6, §13): Cⁿ is a real inner-product
space with Re vdot, the solvers iterate on its real view R²ⁿ, and the derivative
rules solve R-linear systems (non-holomorphic residuals included). Oracles:
central finite differences along real and imaginary directions, the closed-form
solution of a linear non-holomorphic fixed point, and the adjoint identity."""

import numpy as onp
import pytest

import riesz
import riesz.numpy as np
from riesz.implicit import fixed_point, root

RNG = onp.random.default_rng(0)
N = 3
A = 0.6 * onp.exp(1j * RNG.uniform(0, 2 * onp.pi, N))  # |a| < 1: a contraction
THETA = RNG.standard_normal(N) + 1j * RNG.standard_normal(N)
Z0 = onp.zeros(N, complex)


def g_conj(theta, z):  # z = a conj(z)/2 + θ: R-linear, not C-linear
    return A * np.conj(z) / 2 + theta


def g_tanh(theta, z):  # holomorphic in z and θ
    return 0.5 * np.tanh(z) + theta


def closed_form_conj(theta):  # z = c conj(z) + θ ⇒ z = (θ + c conj θ) / (1 - |c|²)
    c = A / 2
    return (theta + c * onp.conj(theta)) / (1 - abs(c) ** 2)


def directions():
    for k in range(N):
        e = onp.zeros(N, complex)
        e[k] = 1.0
        yield e
        yield 1j * e


def fd(f, theta, u, h=1e-6):
    return (onp.asarray(f(theta + h * u)) - onp.asarray(f(theta - h * u))) / (2 * h)


SOLVERS = {"fixed_point": ["fixed_point", "anderson"], "root": ["anderson", "broyden", "newton"]}
BACKWARDS = ["fixed_point", "anderson", "gmres", "direct"]


def layer(g, kind, solver, backward):
    if kind == "fixed_point":
        return lambda th: fixed_point(g, th, Z0, solver=solver, backward=backward, tol=1e-13,
                                      backward_tol=1e-12)
    return lambda th: root(lambda t, z: z - g(t, z), th, Z0, solver=solver, backward=backward,
                           tol=1e-13, backward_tol=1e-12)


CASES = [(kind, solver, backward) for kind in SOLVERS for solver in SOLVERS[kind]
         for backward in BACKWARDS]


@pytest.mark.parametrize("kind,solver,backward", CASES)
def test_forward_solution_keeps_complex_dtype(kind, solver, backward):
    z = layer(g_conj, kind, solver, backward)(THETA)
    assert onp.asarray(z).dtype == onp.complex128
    onp.testing.assert_allclose(z, closed_form_conj(THETA), atol=1e-10)
    z = onp.asarray(layer(g_tanh, kind, solver, backward)(THETA))
    onp.testing.assert_allclose(z, 0.5 * onp.tanh(z) + THETA, atol=1e-10)


@pytest.mark.parametrize("g", [g_conj, g_tanh], ids=["conj", "tanh"])
@pytest.mark.parametrize("kind,solver,backward", CASES)
def test_grad_of_real_loss_matches_finite_differences(g, kind, solver, backward):
    f = layer(g, kind, solver, backward)

    def loss(th):
        return np.sum(np.abs(f(th)) ** 2)

    gr = onp.asarray(riesz.grad(loss)(THETA))
    # SPEC §13: grad is the Riesz representer, Re⟨grad, u⟩ = ∂loss[u] for every direction u
    for u in directions():
        expected = fd(lambda t: onp.sum(onp.abs(onp.asarray(f(t))) ** 2), THETA, u)
        onp.testing.assert_allclose(onp.real(onp.vdot(gr, u)), expected, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("g", [g_conj, g_tanh], ids=["conj", "tanh"])
@pytest.mark.parametrize("kind,solver,backward", CASES)
def test_jvp_and_adjoint_identity(g, kind, solver, backward):
    f = layer(g, kind, solver, backward)
    rng = onp.random.default_rng(1)
    v = rng.standard_normal(N) + 1j * rng.standard_normal(N)
    _, vjp_fn = riesz.vjp(f, THETA)
    (ct,) = vjp_fn(v)
    for u in directions():
        _, tangent = riesz.jvp(f, (THETA,), (u,))
        onp.testing.assert_allclose(tangent, fd(f, THETA, u), rtol=1e-6, atol=1e-7)
        # Re⟨J u, v⟩ = Re⟨u, J* v⟩
        onp.testing.assert_allclose(onp.real(onp.vdot(tangent, v)), onp.real(onp.vdot(u, ct)),
                                    rtol=1e-9, atol=1e-10)


def test_non_holomorphic_jvp_closed_form():
    # the solution is R-linear in θ: its JVP along u is closed_form_conj(u) exactly
    f = layer(g_conj, "fixed_point", "anderson", "direct")
    for u in directions():
        _, tangent = riesz.jvp(f, (THETA,), (u,))
        onp.testing.assert_allclose(tangent, closed_form_conj(u), atol=1e-10)


@pytest.mark.parametrize("backward", ["gmres", "direct", "fixed_point"])
def test_vmap_over_complex_parameters(backward):
    thetas = onp.stack([THETA, 2 * THETA, -THETA])
    f = layer(g_conj, "fixed_point", "anderson", backward)
    z = onp.asarray(riesz.vmap(f)(thetas))
    onp.testing.assert_allclose(z, onp.stack([closed_form_conj(t) for t in thetas]), atol=1e-10)

    def loss(th):
        return np.sum(np.abs(f(th)) ** 2)

    grads = onp.asarray(riesz.vmap(riesz.grad(loss))(thetas))
    for th, gr in zip(thetas, grads, strict=True):
        onp.testing.assert_allclose(gr, riesz.grad(loss)(th), rtol=1e-8, atol=1e-10)


def test_complex_output_for_real_state_is_an_error():
    with pytest.raises(Exception, match="complex"):
        fixed_point(lambda t, z: 0.5 * z + 1j * t, onp.ones(N), onp.zeros(N),
                    solver="fixed_point")


@pytest.mark.parametrize("backward", ["cg", "gmres", "direct"])
def test_argmin_of_real_objective_of_complex_state(backward):
    from riesz.implicit import argmin

    def objective(theta, z):  # strictly convex in (Re z, Im z), real-valued
        return (np.sum(np.abs(z - theta) ** 2) + 0.1 * np.sum(np.abs(z) ** 4)
                + 0.2 * np.sum(np.real(A * z * z)))

    def f(th):
        return argmin(objective, th, Z0, backward=backward, tol=1e-13, backward_tol=1e-12,
                      backward_max_iter=2000)

    z = onp.asarray(f(THETA))
    assert z.dtype == onp.complex128
    onp.testing.assert_allclose(riesz.grad(objective, argnums=1)(THETA, z), 0, atol=1e-9)

    def loss(th):
        return np.sum(np.abs(f(th)) ** 2)

    gr = onp.asarray(riesz.grad(loss)(THETA))
    for u in directions():
        expected = fd(lambda t: onp.sum(onp.abs(onp.asarray(f(t))) ** 2), THETA, u)
        onp.testing.assert_allclose(onp.real(onp.vdot(gr, u)), expected, rtol=1e-6, atol=1e-7)


def test_krylov_with_a_space_on_complex_state_is_a_clear_error():
    from riesz.spaces import Euclidean

    def loss(th):
        z = fixed_point(g_conj, th, Z0, backward="gmres", space=Euclidean((N,), complex))
        return np.sum(np.abs(z) ** 2)

    with pytest.raises(NotImplementedError, match="gmres.*space.*complex"):
        riesz.grad(loss)(THETA)
