"""riesz.implicit: derivatives of fixed points, roots and minimisers by the implicit
function theorem, checked against independent expectations only: closed forms in
NumPy, and finite differences of a high-precision solve that riesz takes no part in."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

import riesz
import riesz.numpy as rnp
from finite_differences import fd_grad
from riesz import implicit
from riesz._core.trace import Tracer
from riesz.solvers import SolverError, SolverWarning
from riesz.spaces import Weighted

MODES = ("fwd-rev", "rev-fwd", "rev-rev", "fwd-fwd")
RNG = np.random.default_rng(0)
N, D = 5, 3
W = RNG.standard_normal((N, N))
W *= 0.6 / np.linalg.norm(W, 2)
U = RNG.standard_normal((N, D))
X0 = RNG.standard_normal(D)
V0 = RNG.standard_normal(D)


# -- the DEQ y = tanh(W y + U x) and its independent oracle ------------------------------


def deq(p):
    """g(p, y) for the parameters p = {"W", "U", "x"}."""
    def g(p, y):
        return rnp.tanh(rnp.matmul(p["W"], y) + rnp.matmul(p["U"], p["x"]))
    return g


def deq_np(Wm: np.ndarray, Um: np.ndarray, x: np.ndarray) -> np.ndarray:
    """y* by plain NumPy: fixed-point iterations, then Newton with the analytic
    Jacobian I - diag(1 - tanh²) W, to machine precision."""
    y = np.zeros(N)
    for _ in range(50):
        y = np.tanh(Wm @ y + Um @ x)
    for _ in range(6):
        s = 1 - np.tanh(Wm @ y + Um @ x) ** 2
        y = y - np.linalg.solve(np.eye(N) - s[:, None] * Wm, y - np.tanh(Wm @ y + Um @ x))
    return y


def loss_np(x: np.ndarray, Wm: np.ndarray = W, Um: np.ndarray = U) -> float:
    return float(np.sum(np.sin(deq_np(Wm, Um, x))))


def loss(x, **kwargs):
    y = implicit.fixed_point(deq(None), {"W": W, "U": U, "x": x}, np.zeros(N), **kwargs)
    return rnp.sum(rnp.sin(y))


def fd_hvp(f, x: np.ndarray, v: np.ndarray, h: float = 1e-4) -> np.ndarray:
    """(H v)_i by the mixed central difference of f along e_i and v."""
    out = np.zeros_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = h
        out[i] = (f(x + e + h * v) - f(x + e - h * v) - f(x - e + h * v)
                  + f(x - e - h * v)) / (4 * h * h)
    return out


def test_solution_is_the_fixed_point() -> None:
    y = implicit.fixed_point(deq(None), {"W": W, "U": U, "x": X0}, np.zeros(N))
    np.testing.assert_allclose(y, deq_np(W, U, X0), atol=1e-10)
    assert type(y) is np.ndarray


@pytest.mark.parametrize("solver", ["anderson", "fixed_point", "broyden", "newton"])
@pytest.mark.parametrize("backward", ["fixed_point", "anderson", "gmres", "bicgstab", "direct"])
def test_gradient_matches_finite_differences(solver: str, backward: str) -> None:
    g = riesz.grad(lambda x: loss(x, solver=solver, backward=backward))(X0)
    np.testing.assert_allclose(g, fd_grad(loss_np, X0), atol=1e-8)


@pytest.mark.parametrize("backward", ["fixed_point", "gmres", "direct"])
def test_forward_mode_matches_finite_differences(backward: str) -> None:
    value, tangent = riesz.jvp(lambda x: loss(x, backward=backward), (X0,), (V0,))
    want = (loss_np(X0 + 1e-6 * V0) - loss_np(X0 - 1e-6 * V0)) / 2e-6
    np.testing.assert_allclose(value, loss_np(X0), atol=1e-10)
    np.testing.assert_allclose(tangent, want, atol=1e-8)


def test_jacobians_in_both_modes() -> None:
    def solution(x):
        return implicit.fixed_point(deq(None), {"W": W, "U": U, "x": x}, np.zeros(N))

    want = np.stack([(deq_np(W, U, X0 + 1e-6 * e) - deq_np(W, U, X0 - 1e-6 * e)) / 2e-6
                     for e in np.eye(D)], axis=1)
    np.testing.assert_allclose(riesz.jacfwd(solution)(X0), want, atol=1e-8)
    np.testing.assert_allclose(riesz.jacrev(solution)(X0), want, atol=1e-8)


@pytest.mark.parametrize("mode", MODES)
def test_hessian_through_the_deq_in_four_modes(mode: str) -> None:
    (hv,) = riesz.hvp(loss, (X0,), (V0,), mode=mode)
    np.testing.assert_allclose(hv, fd_hvp(loss_np, X0, V0), atol=2e-6)
    (ref,) = riesz.hvp(loss, (X0,), (V0,), mode="fwd-rev")
    np.testing.assert_allclose(hv, ref, atol=1e-9)  # the four agree far below FD accuracy


def test_pytree_parameters() -> None:
    """The gradient with respect to every leaf of {"W", "U", "x"}."""
    p = {"W": W, "U": U, "x": X0}

    def f(p):
        return rnp.sum(rnp.sin(implicit.fixed_point(deq(None), p, np.zeros(N))))

    g = riesz.grad(f)(p)
    assert set(g) == {"W", "U", "x"}
    np.testing.assert_allclose(g["W"], fd_grad(lambda Wm: loss_np(X0, Wm, U), W), atol=1e-8)
    np.testing.assert_allclose(g["U"], fd_grad(lambda Um: loss_np(X0, W, Um), U), atol=1e-8)
    np.testing.assert_allclose(g["x"], fd_grad(loss_np, X0), atol=1e-8)


def test_pytree_unknowns() -> None:
    """y = (a, b) with a = 0.5 a + x, b = tanh(b + x): closed form a = 2x, b by FD."""
    x = np.array([0.3, -0.2])

    def g(x, y):
        a, b = y
        return (0.5 * a + x, 0.5 * rnp.tanh(b) + x)

    def f(x):
        a, b = implicit.fixed_point(g, x, (np.zeros(2), np.zeros(2)))
        return rnp.sum(a ** 2) + rnp.sum(b ** 3)

    def b_np(x):
        b = np.zeros(2)
        for _ in range(200):
            b = 0.5 * np.tanh(b) + x
        return b

    want = 8 * x + fd_grad(lambda x: float(np.sum(b_np(x) ** 3)), x)
    np.testing.assert_allclose(riesz.grad(f)(x), want, atol=1e-8)


def test_parameters_that_are_not_floats_are_constants() -> None:
    """x may hold integers, flags and Python floats: only float leaves are
    differentiated. y = a tanh(y) + b k with a the argument: dy/da by FD."""
    def solution(a):
        x = {"a": a, "b": 0.3, "k": np.array(2), "name": "a flag"}
        return implicit.fixed_point(lambda x, y: x["a"] * rnp.tanh(y) + x["b"] * x["k"], x,
                                    np.zeros(2))

    def y_np(a):
        y = np.zeros(2)
        for _ in range(400):
            y = a * np.tanh(y) + 0.6
        return y

    a = np.array([0.5, 0.2])
    want = np.diag(fd_grad(lambda a: float(np.sum(y_np(a))), a))
    np.testing.assert_allclose(riesz.jacrev(solution)(a), want, atol=1e-8)
    np.testing.assert_allclose(riesz.jacfwd(solution)(a), want, atol=1e-8)


def test_check_grads_to_second_order() -> None:
    """riesz's own checker (finite differences and the adjoint identity, both modes)."""
    riesz.check_grads(lambda x: rnp.sin(implicit.fixed_point(
        deq(None), {"W": W, "U": U, "x": x}, np.zeros(N), tol=1e-12, backward_tol=1e-12)),
        (X0,), order=2)


# -- a linear fixed point with a closed form ------------------------------------------


A_LIN = RNG.standard_normal((4, 4))
A_LIN *= 0.5 / np.linalg.norm(A_LIN, 2)
C_LIN = RNG.standard_normal((4, 3))
M_INV = np.linalg.inv(np.eye(4) - A_LIN)


def cubic_of_linear_fixed_point(x, **kwargs):
    """Σ y³ for y = A y + C x, i.e. y = (I - A)⁻¹ C x."""
    y = implicit.fixed_point(lambda x, y: rnp.matmul(A_LIN, y) + rnp.matmul(C_LIN, x), x,
                             np.zeros(4), **kwargs)
    return rnp.sum(y ** 3)


@pytest.mark.parametrize("backward", ["fixed_point", "anderson", "gmres", "bicgstab", "direct"])
def test_linear_fixed_point_closed_form(backward: str) -> None:
    y = M_INV @ C_LIN @ X0
    g = riesz.grad(lambda x: cubic_of_linear_fixed_point(x, backward=backward))(X0)
    np.testing.assert_allclose(g, C_LIN.T @ M_INV.T @ (3 * y ** 2), rtol=1e-9)
    _, t = riesz.jvp(lambda x: cubic_of_linear_fixed_point(x, backward=backward), (X0,), (V0,))
    np.testing.assert_allclose(t, (3 * y ** 2) @ (M_INV @ C_LIN @ V0), rtol=1e-9)


@pytest.mark.parametrize("mode", MODES)
def test_linear_fixed_point_hessian_closed_form(mode: str) -> None:
    """H = Cᵀ (I - A)⁻ᵀ diag(6 y) (I - A)⁻¹ C."""
    y = M_INV @ C_LIN @ X0
    H = C_LIN.T @ M_INV.T @ np.diag(6 * y) @ M_INV @ C_LIN
    (hv,) = riesz.hvp(cubic_of_linear_fixed_point, (X0,), (V0,), mode=mode)
    np.testing.assert_allclose(hv, H @ V0, rtol=1e-8)


def test_third_derivative_closed_form() -> None:
    """d³/dt³ Σ y(x + t v)³ = 6 Σ (M C v)³: the rules differentiate to any order."""
    def along(t):
        return cubic_of_linear_fixed_point(X0 + t * V0)

    d1 = riesz.grad(along)
    d2 = riesz.grad(lambda t: riesz.jvp(d1, (t,), (np.array(1.0),))[1])
    d3 = d2(np.array(0.0))
    np.testing.assert_allclose(d3, 6 * np.sum((M_INV @ C_LIN @ V0) ** 3), rtol=1e-8)


# -- root and argmin ---------------------------------------------------------------------


def test_root_matches_a_bracketing_solve() -> None:
    """y³ + x y = 1, entrywise (one real root for x > 0)."""
    import scipy.optimize

    def y_np(x):
        return np.array([scipy.optimize.brentq(lambda t, c=c: t ** 3 + c * t - 1, 0, 1,
                                               xtol=1e-15) for c in x])

    x = np.array([1.0, 2.0, 3.0])

    def solution(x, **kw):
        return implicit.root(lambda x, y: y ** 3 + x * y - 1.0, x, np.ones(3), **kw)

    np.testing.assert_allclose(solution(x), y_np(x), atol=1e-12)
    want = np.diag(fd_grad(lambda x: float(np.sum(y_np(x))), x))
    for kw in ({}, {"solver": "broyden"}, {"backward": "direct"}):
        np.testing.assert_allclose(riesz.jacrev(lambda x, kw=kw: solution(x, **kw))(x),
                                   want, atol=1e-8)
        np.testing.assert_allclose(riesz.jacfwd(lambda x, kw=kw: solution(x, **kw))(x),
                                   want, atol=1e-8)


RIDGE = np.random.default_rng(5)
XT, TT = RIDGE.standard_normal((20, 4)), RIDGE.standard_normal(20)
XV, TV = RIDGE.standard_normal((10, 4)), RIDGE.standard_normal(10)


def ridge_np(lam: float) -> np.ndarray:
    return np.linalg.solve(XT.T @ XT + lam * np.eye(4), XT.T @ TT)


def validation_np(lam: float) -> float:
    return float(np.sum((XV @ ridge_np(lam) - TV) ** 2))


def validation(lam, **kwargs):
    def objective(lam, w):
        return rnp.sum((rnp.matmul(XT, w) - TT) ** 2) + lam * rnp.sum(w ** 2)

    w = implicit.argmin(objective, lam, np.zeros(4), **kwargs)
    return rnp.sum((rnp.matmul(XV, w) - TV) ** 2)


@pytest.mark.parametrize("kwargs", [
    {}, {"backward": "gmres"}, {"solver": "broyden"}, {"backward": "direct"},
    {"space": Weighted(4, metric=np.array([1.0, 2.0, 5.0, 0.5]))},
    {"space": Weighted(4, metric=np.diag([1.0, 2.0, 5.0, 0.5]) + 0.3), "backward": "gmres"},
], ids=["cg", "gmres", "broyden", "direct", "cg-in-weighted-space", "gmres-dense-metric"])
def test_argmin_ridge_hypergradient(kwargs: dict) -> None:
    lam = np.array(0.7)
    np.testing.assert_allclose(validation(lam, **kwargs), validation_np(0.7), rtol=1e-10)
    want = (validation_np(0.7 + 1e-6) - validation_np(0.7 - 1e-6)) / 2e-6
    np.testing.assert_allclose(riesz.grad(lambda lam: validation(lam, **kwargs))(lam), want,
                               rtol=1e-7)
    np.testing.assert_allclose(
        riesz.jvp(lambda lam: validation(lam, **kwargs), (lam,), (np.array(1.0),))[1], want,
        rtol=1e-7)


@pytest.mark.parametrize("mode", MODES)
def test_argmin_second_derivative_in_four_modes(mode: str) -> None:
    h = 1e-4
    want = (validation_np(0.7 + h) - 2 * validation_np(0.7) + validation_np(0.7 - h)) / h ** 2
    (d2,) = riesz.hvp(validation, (np.array(0.7),), (np.array(1.0),), mode=mode)
    np.testing.assert_allclose(d2, want, rtol=1e-5)


def test_cg_works_in_the_spaces_geometry() -> None:
    """For r(x, y) = K y - x with K = Ω⁻¹ H (H SPD), K is not symmetric, but it
    is self-adjoint in ⟨u, v⟩_Ω: with space=Weighted(Ω), CG solves the tangent and
    adjoint equations; the derivative of y = K⁻¹ x is K⁻¹."""
    rng = np.random.default_rng(7)
    B = rng.standard_normal((4, 4))
    H = B @ B.T + 4 * np.eye(4)
    omega = np.array([1.0, 3.0, 0.2, 7.0])
    K = H / omega[:, None]
    assert not np.allclose(K, K.T)

    def solution(x):
        return implicit.root(lambda x, y: rnp.matmul(K, y) - x, x, np.zeros(4),
                             backward="cg", space=Weighted(4, metric=omega))

    x = rng.standard_normal(4)
    np.testing.assert_allclose(riesz.jacrev(solution)(x), np.linalg.inv(K), rtol=1e-8)
    np.testing.assert_allclose(riesz.jacfwd(solution)(x), np.linalg.inv(K), rtol=1e-8)


# -- memory: the forward solve is never taped --------------------------------------------


def test_forward_iterations_run_on_plain_arrays() -> None:
    """Under grad, every iteration of the forward solve calls g on plain arrays;
    g sees traced values only a fixed number of times (the rules), however many
    iterations the solve takes."""
    traced_counts = []
    for tol in (1e-4, 1e-12):
        calls = {"plain": 0, "traced": 0}

        def g(x, y, calls=calls):
            traced = isinstance(x, Tracer) or isinstance(y, Tracer)
            calls["traced" if traced else "plain"] += 1
            return 0.95 * y + x

        info: dict = {}
        riesz.grad(lambda x, info=info, tol=tol: rnp.sum(implicit.fixed_point(
            g, x, np.zeros(3), solver="fixed_point", tol=tol, info=info)))(np.ones(3))
        (forward,) = info["forward"]
        assert calls["plain"] >= forward.iterations >= 100
        traced_counts.append(calls["traced"])
    assert traced_counts[0] == traced_counts[1] <= 3


def test_memory_does_not_grow_with_iterations() -> None:
    """Peak memory of grad through the layer: the same for 40 and 400 iterations,
    while grad through the unrolled iteration grows with them."""
    n = 4000
    x = np.full(n, 0.1)

    def g(x, y):  # contracts by 0.995: 400 iterations do not reach the fixed point
        return 0.995 * y + x

    def peak(f) -> tuple[int, float]:
        tracemalloc.start()
        try:
            f()
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    def implicit_grad(iters: int) -> None:
        riesz.grad(lambda x: rnp.sum(implicit.fixed_point(
            g, x, np.zeros(n), solver="fixed_point", max_iter=iters, tol=0.0,
            on_failure="warn")))(x)

    def unrolled_grad(iters: int) -> None:
        def f(x):
            y = np.zeros(n)
            for _ in range(iters):
                y = g(x, y)
            return rnp.sum(y)

        riesz.grad(f)(x)

    with pytest.warns(SolverWarning):
        small = peak(lambda: implicit_grad(40))
    with pytest.warns(SolverWarning):
        large = peak(lambda: implicit_grad(400))
    unrolled = peak(lambda: unrolled_grad(400))
    assert large < 1.5 * small
    assert unrolled > 10 * large


# -- failures ---------------------------------------------------------------------------


def test_forward_non_convergence_raises_with_history() -> None:
    with pytest.raises(SolverError, match="forward solve") as info:
        implicit.fixed_point(lambda x, y: rnp.tanh(y) + x, np.ones(2), np.zeros(2),
                             solver="fixed_point", max_iter=5)
    assert len(info.value.history) == 6


def test_backward_non_convergence_raises_or_warns() -> None:
    """r(x, y) = 3 y - x: A = 3 I, so the iteration λ ← λ + (v - 3 λ) diverges
    although the forward (Newton) solve is fine."""
    def f(x, **kw):
        return rnp.sum(implicit.root(lambda x, y: 3.0 * y - x, x, np.zeros(2),
                                     backward="fixed_point", backward_max_iter=30, **kw))

    x = np.ones(2)
    with pytest.raises(SolverError, match="adjoint solve") as info:
        riesz.grad(f)(x)
    assert len(info.value.history) > 1 and info.value.history[-1] > info.value.history[0]
    with pytest.raises(SolverError, match="tangent solve"):
        riesz.jvp(f, (x,), (np.ones(2),))
    np.testing.assert_allclose(riesz.grad(lambda x: rnp.sum(implicit.root(
        lambda x, y: 3.0 * y - x, x, np.zeros(2), backward="gmres")))(x), [1 / 3, 1 / 3])
    with pytest.warns(SolverWarning):
        riesz.grad(lambda x: f(x, on_failure="warn"))(x)


@pytest.mark.parametrize("backward", ["fixed_point", "gmres"])
def test_info_records_the_solves(backward: str) -> None:
    info: dict = {}
    riesz.grad(lambda x: loss(x, info=info, backward=backward))(X0)
    assert [s.converged for s in info["forward"]] == [True]
    (adjoint,) = info["linear"]
    assert adjoint.converged and adjoint.iterations >= 1
    assert adjoint.residual <= 1e-10 * adjoint.history[0]


def test_errors() -> None:
    x = np.ones(2)
    with pytest.raises(ValueError, match="backward"):
        implicit.fixed_point(lambda x, y: y, x, x, backward="lu")
    with pytest.raises(ValueError, match="solver"):
        implicit.fixed_point(lambda x, y: y, x, x, solver="bisection")
    with pytest.raises(ValueError, match="y0"):
        implicit.fixed_point(lambda x, y: y, x, x, space=Weighted(3, metric=np.ones(3)))

    def closes_over(c):  # c is differentiated but not passed through x
        return rnp.sum(implicit.fixed_point(lambda x, y: 0.5 * y + c, x, np.zeros(2)))

    with pytest.raises(TypeError, match="through x"):
        riesz.grad(closes_over)(np.ones(2))


# -- under vmap: batched solves, one convergence test per example ------------------------

# examples of very different difficulty: the DEQ converges in 2 to ~10 iterations
XS = RNG.standard_normal((4, D)) * np.array([0.01, 1.0, 3.0, 10.0])[:, None]


@pytest.mark.parametrize("solver", ["anderson", "fixed_point", "newton", "broyden"])
def test_vmap_of_a_fixed_point_solves_each_example_like_alone(solver: str) -> None:
    def solution(x, info=None):
        return implicit.fixed_point(deq(None), {"W": W, "U": U, "x": x}, np.zeros(N),
                                    solver=solver, info=info)

    info: dict = {}
    ys = riesz.vmap(lambda x: solution(x, info))(XS)
    np.testing.assert_allclose(ys, np.stack([deq_np(W, U, x) for x in XS]), atol=1e-10)
    (batch,) = info["forward"]  # one solve for the whole batch, one test per example
    alone = []
    for x in XS:
        one: dict = {}
        solution(x, one)
        alone.append(one["forward"][0].iterations)
    assert [e.iterations for e in batch.examples] == alone
    assert len(set(alone)) > 1 and batch.iterations == max(alone)
    assert all(e.converged and e.residual <= 1e-10 for e in batch.examples)


def test_examples_of_different_difficulty_under_vmap() -> None:
    """y = 0.5 sin y + x: each example takes as many iterations as alone, and the
    values match a NumPy Newton iteration."""
    def g(x, y):
        return 0.5 * rnp.sin(y) + x

    xs = np.array([[1e-9], [0.3], [2.0]])
    info: dict = {}
    ys = riesz.vmap(lambda x: implicit.fixed_point(g, x, np.zeros(1), solver="fixed_point",
                                                   info=info))(xs)
    alone = []
    for x in xs:
        one: dict = {}
        implicit.fixed_point(g, x, np.zeros(1), solver="fixed_point", info=one)
        alone.append(one["forward"][0].iterations)
    assert [e.iterations for e in info["forward"][0].examples] == alone == [4, 26, 23]
    want = xs.copy()
    for _ in range(50):
        want = want - (want - 0.5 * np.sin(want) - xs) / (1 - 0.5 * np.cos(want))
    np.testing.assert_allclose(ys, want, atol=1e-9)


@pytest.mark.parametrize("backward", ["fixed_point", "anderson", "gmres", "direct"])
@pytest.mark.parametrize("solver", ["anderson", "newton"])
def test_per_example_gradients_vmap_of_grad_and_grad_of_vmap(solver: str, backward: str) -> None:
    want = np.stack([fd_grad(loss_np, x) for x in XS])
    per_example = riesz.vmap(riesz.grad(lambda x: loss(x, solver=solver, backward=backward)))
    np.testing.assert_allclose(per_example(XS), want, atol=1e-8)

    def total(xs):
        return rnp.sum(riesz.vmap(lambda x: loss(x, solver=solver, backward=backward))(xs))

    np.testing.assert_allclose(riesz.grad(total)(XS), want, atol=1e-8)


@pytest.mark.parametrize("backward", ["fixed_point", "gmres"])
def test_forward_mode_under_vmap(backward: str) -> None:
    def tangent(x):
        return riesz.jvp(lambda x: loss(x, backward=backward), (x,), (V0,))[1]

    want = [(loss_np(x + 1e-6 * V0) - loss_np(x - 1e-6 * V0)) / 2e-6 for x in XS]
    np.testing.assert_allclose(riesz.vmap(tangent)(XS), want, atol=1e-8)
    _, t = riesz.jvp(riesz.vmap(lambda x: loss(x, backward=backward)), (XS,),
                     (np.tile(V0, (len(XS), 1)),))
    np.testing.assert_allclose(t, want, atol=1e-8)


def test_vmap_over_some_parameters_and_nested_vmap() -> None:
    """W batched, U shared (in_axes None); then a batch of batches."""
    Ws = np.stack([W, 0.5 * W, -W])

    def f(Wm, x):
        return rnp.sum(rnp.sin(implicit.fixed_point(
            deq(None), {"W": Wm, "U": U, "x": x}, np.zeros(N))))

    gW = riesz.vmap(riesz.grad(f), in_axes=(0, None))(Ws, X0)
    for Wm, got in zip(Ws, gW, strict=True):
        np.testing.assert_allclose(got, fd_grad(lambda Wv, Wm=Wm: loss_np(X0, Wv, U), Wm),
                                   atol=1e-8)
    X2 = XS[:3].reshape(3, 1, D) + np.array([0.0, 0.1])[None, :, None]
    got = riesz.vmap(riesz.vmap(riesz.grad(loss)))(X2)
    np.testing.assert_allclose(got, np.stack([[fd_grad(loss_np, x) for x in row]
                                              for row in X2]), atol=1e-8)
    # nested vmaps are one batch of 3 x 2 examples, each with its own convergence test;
    # W mapped by the outer vmap only, x by the inner one only
    info: dict = {}

    def solve(Wm, x):
        return implicit.fixed_point(deq(None), {"W": Wm, "U": U, "x": x}, np.zeros(N),
                                    info=info)

    ys = riesz.vmap(riesz.vmap(solve, in_axes=(None, 0)), in_axes=(0, None))(Ws, XS[:2])
    np.testing.assert_allclose(ys, np.stack([[deq_np(Wm, U, x) for x in XS[:2]]
                                             for Wm in Ws]), atol=1e-10)
    (batch,) = info["forward"]
    alone = []
    for Wm in Ws:
        for x in XS[:2]:
            one: dict = {}
            implicit.fixed_point(deq(None), {"W": Wm, "U": U, "x": x}, np.zeros(N), info=one)
            alone.append(one["forward"][0].iterations)
    assert [e.iterations for e in batch.examples] == alone


def test_root_and_argmin_under_vmap() -> None:
    """A y + y³ = x per example (oracle: fsolve-free Newton in NumPy); ridge weights
    for a batch of regularisation strengths (closed form)."""
    rng = np.random.default_rng(5)
    A = np.eye(3) * 3 + 0.3 * rng.standard_normal((3, 3))
    xs = rng.standard_normal((4, 3)) * 2

    def y_np(x):
        y = np.zeros(3)
        for _ in range(60):
            y = y - np.linalg.solve(A + np.diag(3 * y**2), A @ y + y**3 - x)
        return y

    def root_loss(x):
        y = implicit.root(lambda x, y: rnp.matmul(A, y) + y**3 - x, x, np.zeros(3))
        return rnp.sum(rnp.cos(y))

    np.testing.assert_allclose(riesz.vmap(riesz.grad(root_loss))(xs), np.stack(
        [fd_grad(lambda v: float(np.sum(np.cos(y_np(v)))), x) for x in xs]), atol=1e-8)
    X = rng.standard_normal((6, 3))
    t = rng.standard_normal(6)

    def ridge(lam):
        return implicit.argmin(lambda lam, w: rnp.sum((rnp.matmul(X, w) - t) ** 2)
                               + lam * rnp.sum(w**2), lam, np.zeros(3))

    lams = np.array([0.01, 1.0, 30.0])
    want = np.stack([np.linalg.solve(X.T @ X + lam * np.eye(3), X.T @ t) for lam in lams])
    np.testing.assert_allclose(riesz.vmap(ridge)(lams), want, atol=1e-10)
    dwant = np.stack([-np.linalg.solve(X.T @ X + lam * np.eye(3), w) for lam, w in
                      zip(lams, want, strict=True)])  # dw/dλ = -(XᵀX + λI)⁻¹ w
    tangent = riesz.vmap(lambda lam: riesz.jvp(ridge, (lam,), (np.ones(()),))[1])(lams)
    np.testing.assert_allclose(tangent, dwant, atol=1e-9)
    c = np.array([1.0, -2.0, 0.5])
    gradient = riesz.vmap(riesz.grad(lambda lam: rnp.sum(ridge(lam) * c)))(lams)
    np.testing.assert_allclose(gradient, dwant @ c, atol=1e-9)
    for jac in (riesz.jacfwd, riesz.jacrev):  # Jacobians (a vmap inside) under vmap
        np.testing.assert_allclose(riesz.vmap(jac(ridge))(lams), dwant, atol=1e-9)


def test_a_failing_example_is_named() -> None:
    """y = 0.5 y + x from y = 0: the residual after k iterations is |x| 2⁻ᵏ, so with
    20 iterations x = 1e-9 converges (tol 1e-10) and x = 50 does not."""
    xs = np.array([[1e-9], [50.0], [-1e-9]])

    def f(x, **kw):
        return implicit.fixed_point(lambda x, y: 0.5 * y + x, x, np.zeros(1),
                                    solver="fixed_point", max_iter=20, **kw)

    with pytest.raises(SolverError, match=r"forward solve.*for 1 of 3 examples.*\(.*1: "):
        riesz.vmap(f)(xs)
    info: dict = {}
    with pytest.warns(SolverWarning, match="1 of 3"):
        ys = riesz.vmap(lambda x: f(x, on_failure="warn", info=info))(xs)
    assert [e.converged for e in info["forward"][0].examples] == [True, False, True]
    np.testing.assert_allclose(ys[[0, 2]], 2 * xs[[0, 2]], atol=2e-10)  # |y* - y| <= 2 tol


@pytest.mark.parametrize("mode", ["fwd-rev", "rev-rev"])
def test_hessian_vector_products_under_vmap(mode: str) -> None:
    got = riesz.vmap(lambda x: riesz.hvp(loss, (x,), (V0,), mode=mode)[0])(XS)
    np.testing.assert_allclose(got, np.stack([fd_hvp(loss_np, x, V0) for x in XS]), atol=2e-6)


def test_a_space_under_vmap() -> None:
    """The derivative solves in a Weighted space, per example: the same gradients."""
    S = Weighted(N, metric=np.linspace(1.0, 3.0, N))

    def f(x, **kw):
        y = implicit.fixed_point(deq(None), {"W": W, "U": U, "x": x}, np.zeros(N), **kw)
        return rnp.sum(rnp.sin(y))

    for backward in ("fixed_point", "gmres"):
        got = riesz.vmap(riesz.grad(lambda x, b=backward: f(x, space=S, backward=b)))(XS)
        np.testing.assert_allclose(got, np.stack([fd_grad(loss_np, x) for x in XS]), atol=1e-8)
