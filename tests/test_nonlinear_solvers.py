"""riesz.solvers' nonlinear solvers: convergence on problems with independently
known solutions (closed forms, SciPy's brentq / fsolve), pytrees, and failures
that raise (or warn) with the residual history instead of returning a wrong answer."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.optimize

import riesz
import riesz.numpy as rnp
from riesz.solvers import (
    Solution,
    SolverError,
    SolverWarning,
    anderson,
    fixed_point_iteration,
    newton,
    solve_fixed_point,
    solve_root,
)

FIXED_POINT = ["anderson", "fixed_point", "broyden", "newton"]
ROOT = ["newton", "broyden"]


def _contraction(n: int, norm: float, seed: int) -> np.ndarray:
    A = np.random.default_rng(seed).standard_normal((n, n))
    return A * (norm / np.linalg.norm(A, 2))


@pytest.mark.parametrize("method", FIXED_POINT)
def test_linear_fixed_point_matches_closed_form(method: str) -> None:
    """y = A y + b has the solution (I - A)⁻¹ b."""
    A = _contraction(6, 0.8, 0)
    b = np.random.default_rng(1).standard_normal(6)
    sol = solve_fixed_point(lambda y: rnp.matmul(A, y) + b, np.zeros(6), method)
    assert isinstance(sol, Solution) and sol.converged and sol.method
    np.testing.assert_allclose(sol.value, np.linalg.solve(np.eye(6) - A, b), atol=1e-9)
    assert sol.residual == sol.history[-1] <= 1e-10
    assert len(sol.history) >= 1 and sol.iterations >= 1


@pytest.mark.parametrize("method", FIXED_POINT)
def test_cosine_fixed_point_matches_brentq(method: str) -> None:
    """y = cos(c y), entrywise, against SciPy's bracketing root finder."""
    c = np.array([0.5, 1.0, 1.1])
    sol = solve_fixed_point(lambda y: rnp.cos(c * y), np.zeros(3), method)
    want = [scipy.optimize.brentq(lambda t, ci=ci: t - np.cos(ci * t), 0.0, 1.0, xtol=1e-15)
            for ci in c]
    np.testing.assert_allclose(sol.value, want, atol=1e-10)


@pytest.mark.parametrize("method", ROOT)
def test_coupled_root_matches_fsolve(method: str) -> None:
    """A y + y³ = b (monotone, one root), against SciPy's fsolve."""
    rng = np.random.default_rng(2)
    A = np.eye(5) * 3 + 0.4 * rng.standard_normal((5, 5))
    b = rng.standard_normal(5)

    def f(y):
        return rnp.matmul(A, y) + y ** 3 - b

    want = np.zeros(5)  # the oracle: NumPy's Newton with the analytic Jacobian A + 3 diag(y²)
    for _ in range(50):
        want = want - np.linalg.solve(A + 3 * np.diag(want ** 2), A @ want + want ** 3 - b)
    sol = solve_root(f, np.zeros(5), method)
    np.testing.assert_allclose(sol.value, want, atol=1e-10)
    assert np.linalg.norm(A @ sol.value + sol.value ** 3 - b) <= 1e-10


def test_newton_converges_quadratically() -> None:
    """Newton–Krylov needs few steps and its residuals fall faster than linearly."""
    sol = newton(lambda y: y ** 3 - np.array([2.0, 5.0]), np.ones(2))
    np.testing.assert_allclose(sol.value, np.cbrt([2.0, 5.0]), rtol=1e-12)
    h = sol.history
    assert sol.iterations <= 8
    assert h[-1] < 1e-10 and h[-2] < 1e-4


def test_solvers_on_pytrees() -> None:
    """A pytree unknown: y = {"a": A a + 1, "b": (cos b,)}."""
    A = _contraction(3, 0.5, 3)
    y0 = {"a": np.zeros(3), "b": (np.array(0.0),)}

    def g(y):
        return {"a": rnp.matmul(A, y["a"]) + 1.0, "b": (rnp.cos(y["b"][0]),)}

    want_a = np.linalg.solve(np.eye(3) - A, np.ones(3))
    want_b = scipy.optimize.brentq(lambda t: t - np.cos(t), 0.0, 1.0, xtol=1e-15)
    for method in FIXED_POINT:
        y = solve_fixed_point(g, y0, method).value
        assert set(y) == {"a", "b"} and isinstance(y["b"], tuple)
        np.testing.assert_allclose(y["a"], want_a, atol=1e-10)
        np.testing.assert_allclose(y["b"][0], want_b, atol=1e-10)


def test_anderson_needs_fewer_iterations_than_plain_iteration() -> None:
    """A slow contraction (spectral radius 0.97): Anderson's few-term extrapolation
    converges in a fraction of the iterations."""
    Q = np.linalg.qr(np.random.default_rng(4).standard_normal((20, 20)))[0]
    A = Q @ np.diag(np.linspace(0.0, 0.97, 20)) @ Q.T
    b = np.ones(20)

    def g(y):
        return np.tanh(A @ y + 0.1 * b)

    plain = fixed_point_iteration(g, np.zeros(20))
    accelerated = anderson(g, np.zeros(20))
    np.testing.assert_allclose(accelerated.value, plain.value, atol=1e-9)
    assert accelerated.iterations < plain.iterations / 3


def test_damping_makes_an_oscillating_iteration_converge() -> None:
    """g(y) = -1.5 y + 5 is not a contraction (fixed point 2), but y ← y + β(g(y) - y)
    with β = 0.5 contracts by |1 - 2.5 β| = 0.25."""
    with pytest.raises(SolverError):
        fixed_point_iteration(lambda y: -1.5 * y + 5.0, np.zeros(1), max_iter=100)
    sol = fixed_point_iteration(lambda y: -1.5 * y + 5.0, np.zeros(1), damping=0.5)
    np.testing.assert_allclose(sol.value, [2.0], atol=1e-10)


@pytest.mark.parametrize("method", FIXED_POINT)
def test_no_fixed_point_raises_with_history(method: str) -> None:
    """y = y + 1 has no solution: every solver must say so, with its residuals."""
    with pytest.raises(SolverError) as info:
        solve_fixed_point(lambda y: y + 1.0, np.zeros(2), method, max_iter=15)
    e = info.value
    assert "did not converge" in str(e)
    assert e.method == method or e.method in str(e)
    assert e.history and e.residual == e.history[-1] >= 1.0
    assert e.iterations <= 15 and e.x.shape == (2,)


@pytest.mark.parametrize("method", ROOT)
def test_no_root_raises_with_history(method: str) -> None:
    """y² + 1 has no real root."""
    with pytest.raises(SolverError) as info:
        solve_root(lambda y: y ** 2 + 1.0, np.array([0.5]), method, max_iter=30)
    assert info.value.history and min(info.value.history) >= 1.0 - 1e-12


def test_divergence_is_reported_not_warned() -> None:
    """An exploding iteration stops at a non-finite residual, raising SolverError
    (the test suite turns any NumPy overflow warning into an error)."""
    with pytest.raises(SolverError, match="diverged"):
        fixed_point_iteration(lambda y: 10.0 * y + 1.0, np.ones(3), max_iter=10_000)


def test_on_failure_warn_returns_the_last_iterate() -> None:
    with pytest.warns(SolverWarning, match="did not converge"):
        sol = anderson(lambda y: y + 1.0, np.zeros(2), max_iter=5, on_failure="warn")
    assert not sol.converged and sol.iterations == 5 and len(sol.history) == 6


def test_tolerances() -> None:
    """tol is absolute, rtol relative to the first residual; max_iter=0 only checks y0."""
    g = lambda y: 0.5 * y  # noqa: E731  (fixed point 0; residual halves each step)
    sol = fixed_point_iteration(g, np.array([1.0]), tol=0.0, rtol=1e-3)
    assert sol.history[-1] <= 1e-3 * sol.history[0] < sol.history[-2]
    loose = fixed_point_iteration(g, np.array([1.0]), tol=0.1)
    assert loose.history[-1] <= 0.1 and loose.iterations == 3
    done = fixed_point_iteration(g, np.array([0.0]), max_iter=0)
    assert done.converged and done.iterations == 0


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="on_failure"):
        anderson(lambda y: y, np.zeros(1), on_failure="ignore")
    with pytest.raises(ValueError, match="method"):
        solve_fixed_point(lambda y: y, np.zeros(1), "secant")
    with pytest.raises(ValueError, match="shape"):
        fixed_point_iteration(lambda y: np.zeros(3), np.zeros(2))
    with pytest.raises(ValueError, match="linear_solver"):
        newton(lambda y: y, np.ones(1), linear_solver="lu")


def test_traced_values_are_refused_with_a_pointer_to_implicit() -> None:
    def f(c):
        return anderson(lambda y: 0.5 * y + c, np.zeros(2)).value.sum()

    with pytest.raises(TypeError, match="riesz.implicit"):
        riesz.grad(f)(np.ones(2))


def test_linear_solvers_still_work() -> None:
    K = np.array([[4.0, 1.0], [1.0, 3.0]])
    for method in ("cg", "gmres", "bicgstab", "direct"):
        np.testing.assert_allclose(riesz.solve(riesz.LinearMap.from_matrix(K), np.ones(2),
                                               method), np.linalg.solve(K, np.ones(2)))


# -- batched solves (what an implicit layer under vmap runs) ------------------------------

def _batch_problem(B: int = 4, n: int = 5):
    rng = np.random.default_rng(7)
    A = rng.standard_normal((B, n, n))
    A *= 0.7 / np.linalg.norm(A, 2, axis=(1, 2))[:, None, None]
    c = rng.standard_normal((B, n)) * np.array([0.01, 1.0, 10.0, 100.0])[:B, None]
    return A, c


@pytest.mark.parametrize("method", ["anderson", "fixed_point", "newton", "broyden"])
def test_batched_solve_is_each_example_solved_alone(method: str) -> None:
    """y_b = tanh(A_b y_b) + c_b: a batch solved together takes, per example, the
    iterations and gives the values of that example solved alone."""
    A, c = _batch_problem()
    batch = solve_fixed_point(lambda Y: rnp.tanh(rnp.einsum("bij,bj->bi", A, Y)) + c,
                              np.zeros(c.shape), method, batched=True)
    alone = [solve_fixed_point(lambda y, b=b: rnp.tanh(rnp.matmul(A[b], y)) + c[b],
                               np.zeros(c.shape[1]), method) for b in range(len(c))]
    assert batch.converged and len(batch.examples) == len(c)
    assert [e.iterations for e in batch.examples] == [s.iterations for s in alone]
    for e, s in zip(batch.examples, alone, strict=True):
        np.testing.assert_allclose(e.history, s.history, rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(batch.value, np.stack([s.value for s in alone]), atol=1e-12)
    # the oracle: the residual of every example is below the tolerance
    res = batch.value - np.tanh(np.einsum("bij,bj->bi", A, batch.value)) - c
    assert np.abs(res).max() <= 1e-10


@pytest.mark.parametrize("method", ["anderson", "fixed_point"])
def test_converged_examples_stop_changing(method: str) -> None:
    A, c = _batch_problem()
    seen = []

    def g(Y):
        seen.append(np.array(Y))
        return np.tanh(np.einsum("bij,bj->bi", A, Y)) + c

    sol = solve_fixed_point(g, np.zeros(c.shape), method, batched=True)
    its = [e.iterations for e in sol.examples]
    assert len(set(its)) > 1 and len(seen) == max(its) + 1  # ends when the last converged
    for b, k in enumerate(its):
        for later in seen[k + 1:]:
            np.testing.assert_array_equal(later[b], seen[k][b])


def test_batched_failure_names_the_examples_and_warns() -> None:
    c = np.array([[0.0], [1.0], [0.0]])

    def g(Y):  # y = 1.5 y + c diverges unless c = 0 (then y = 0 at once)
        return 1.5 * Y + c

    with pytest.raises(SolverError, match=r"did not converge for 1 of 3 examples.*1: "):
        fixed_point_iteration(g, np.zeros((3, 1)), max_iter=10, batched=True)
    with pytest.warns(SolverWarning, match="1 of 3"):
        sol = fixed_point_iteration(g, np.zeros((3, 1)), max_iter=10, batched=True,
                                    on_failure="warn")
    assert [e.converged for e in sol.examples] == [True, False, True]
    with pytest.raises(ValueError, match="leading batch axis"):
        anderson(lambda y: y, (np.zeros((3, 1)), np.zeros((2, 1))), batched=True)


def test_batched_gmres_matches_dense_solves() -> None:
    from riesz.solvers import _batched_gmres

    rng = np.random.default_rng(3)
    M = rng.standard_normal((5, 9, 9)) + 4 * np.eye(9)
    b = rng.standard_normal((5, 9))
    b[2] = 0.0  # a zero right-hand side: u = 0 at once
    u, ok = _batched_gmres(lambda U: np.einsum("bij,bj->bi", M, U), b, np.full(5, 1e-12),
                           restart=4)
    assert ok.all()
    np.testing.assert_allclose(u, np.linalg.solve(M, b[..., None])[..., 0], atol=1e-10)
    assert not u[2].any()
