"""riesz.scipy.integrate: odeint and solve_ivp against independent oracles.

Oracles: SciPy's own solvers (values; central finite differences of them at
tight tolerances for derivatives), closed forms of the linear ODE y' = A y
(y(t) = expm(tA) y0, its derivatives by riesz.scipy.linalg.expm's rules, an
independent mechanism), the adjoint identity <v, JVP(u)> = <VJP(v), u>, finite
differences of the gradient for Hessian-vector products, and loops for vmap.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import scipy.integrate as si
import scipy.linalg as sl

import riesz
import riesz.numpy as rnp
import riesz.scipy.integrate as rsi
import riesz.scipy.linalg as rsl
from riesz._interpreters.reverse import recorded_primitives
from riesz.scipy.integrate import ODEError, odeint, solve_ivp
from riesz.transforms import _Recorded

TIGHT = {"rtol": 1e-11, "atol": 1e-11, "adjoint_rtol": 1e-11, "adjoint_atol": 1e-11}
A = np.array([[-0.5, 1.0], [-1.0, -0.3]])
Y0 = np.array([1.0, 0.5])
T = np.array([0.0, 0.3, 1.0, 1.7, 2.5])
W = np.random.default_rng(0).standard_normal((len(T), 2))
THETA = np.array([1.5, 1.0, 1.0, 3.0])


def linear(y: Any, t: Any, A: Any) -> Any:
    return A @ y


def lotka_volterra(y: Any, t: Any, a: Any, b: Any, c: Any, d: Any) -> Any:
    return rnp.stack([a * y[0] - b * y[0] * y[1], c * y[0] * y[1] - d * y[1]])


def lv_numpy(y: np.ndarray, t: float, a: float, b: float, c: float, d: float) -> np.ndarray:
    return np.array([a * y[0] - b * y[0] * y[1], c * y[0] * y[1] - d * y[1]])


def closed_form_loss(y0: Any, t: Any, A: Any) -> Any:
    """Σ_i ⟨W_i, expm((t_i - t_0) A) y0⟩, by riesz.scipy.linalg.expm (its own rules)."""
    return sum(rnp.sum(W[i] * (rsl.expm((t[i] - t[0]) * A) @ y0)) for i in range(len(T)))


def ode_loss(y0: Any, t: Any, A: Any, **kw: Any) -> Any:
    return rnp.sum(W * odeint(linear, y0, t, args=(A,), **{**TIGHT, **kw}))


def lv_loss(theta: Any, t: np.ndarray = T, **kw: Any) -> Any:
    ys = odeint(lotka_volterra, Y0, t, args=tuple(theta[i] for i in range(4)), **{**TIGHT, **kw})
    return rnp.sum(W[: len(t)] * ys) + rnp.sum(ys ** 2)


def scipy_solve(f: Any, y0: np.ndarray, t: np.ndarray) -> np.ndarray:
    """SciPy's DOP853 at its tightest tolerance: rows y(t_i) (the finite differences' oracle)."""
    r = si.solve_ivp(lambda s, y: f(y, s), (t[0], t[-1]), y0, "DOP853", t_eval=t,
                     rtol=2.3e-14, atol=1e-14)
    return r.y.T


def scipy_lv_loss(theta: np.ndarray, y0: np.ndarray = Y0, t: np.ndarray = T) -> float:
    ys = scipy_solve(lambda y, s: lv_numpy(y, s, *theta), y0, t)
    return float(np.sum(W[: len(t)] * ys) + np.sum(ys ** 2))


def central(f: Any, x: np.ndarray, eps: float = 1e-3) -> np.ndarray:
    """Fourth-order central differences (truncation ~eps⁴, solver noise ~1e-14 / eps)."""
    out = np.zeros(x.shape)
    for i in np.ndindex(x.shape):
        e = np.zeros(x.shape)
        e[i] = eps
        out[i] = (-f(x + 2 * e) + 8 * f(x + e) - 8 * f(x - e) + f(x - 2 * e)) / (12 * eps)
    return out


# -- values equal SciPy's ---------------------------------------------------------------


def test_odeint_values_are_scipys() -> None:
    ys = odeint(lotka_volterra, Y0, T, args=tuple(THETA))
    np.testing.assert_allclose(ys, si.odeint(lv_numpy, Y0, T, args=tuple(THETA)), rtol=1e-12)


@pytest.mark.parametrize("method", ["RK45", "RK23", "DOP853", "Radau", "BDF", "LSODA"])
def test_solve_ivp_values_are_scipys(method: str) -> None:
    def fun(t: Any, y: Any, *p: Any) -> Any:
        return lotka_volterra(y, t, *p)

    ours = solve_ivp(fun, (0.0, 2.5), Y0, method, t_eval=T[1:], args=tuple(THETA), rtol=1e-8,
                     atol=1e-8)
    ref = si.solve_ivp(lambda t, y: lv_numpy(y, t, *THETA), (0.0, 2.5), Y0, method,
                       t_eval=T[1:], rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(ours.t, ref.t)
    np.testing.assert_allclose(ours.y, ref.y, rtol=1e-6, atol=1e-8)
    assert ours.success and ours.y.shape == (2, len(T) - 1)


def test_solve_ivp_without_t_eval_returns_the_solvers_steps() -> None:
    ours = solve_ivp(lambda t, y: -y, (0.0, 2.0), np.array([1.0, 2.0]))
    ref = si.solve_ivp(lambda t, y: -y, (0.0, 2.0), np.array([1.0, 2.0]))
    np.testing.assert_allclose(ours.t, ref.t)
    np.testing.assert_allclose(ours.y, ref.y)


def test_linear_ode_matches_expm() -> None:
    ys = odeint(linear, Y0, T, args=(A,), rtol=1e-11, atol=1e-11)
    np.testing.assert_allclose(ys, [sl.expm(t * A) @ Y0 for t in T], atol=1e-9)


# -- first derivatives against closed forms and finite differences -------------------------


def test_gradient_of_linear_ode_matches_expm_closed_form() -> None:
    got = riesz.grad(ode_loss, argnums=(0, 1, 2))(Y0, T, A)
    want = riesz.grad(closed_form_loss, argnums=(0, 1, 2))(Y0, T, A)
    for g, w, name in zip(got, want, ("y0", "t", "A"), strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-7, atol=1e-8, err_msg=name)


def test_jvp_of_linear_ode_matches_expm_closed_form() -> None:
    rng = np.random.default_rng(1)
    u = (rng.standard_normal(2), 0.1 * rng.standard_normal(len(T)), rng.standard_normal((2, 2)))
    _, got = riesz.jvp(ode_loss, (Y0, T, A), u)
    _, want = riesz.jvp(closed_form_loss, (Y0, T, A), u)
    np.testing.assert_allclose(got, want, rtol=1e-7)


def test_gradient_matches_finite_differences_of_scipy() -> None:
    g = riesz.grad(lv_loss)(THETA)
    np.testing.assert_allclose(g, central(scipy_lv_loss, THETA), rtol=1e-8)
    gy0 = riesz.grad(lambda y0: rnp.sum(odeint(lotka_volterra, y0, T, args=tuple(THETA),
                                                **TIGHT) ** 2))(Y0)
    fd = central(lambda y0: float(np.sum(scipy_solve(lambda y, s: lv_numpy(y, s, *THETA), y0,
                                                      T) ** 2)), Y0)
    np.testing.assert_allclose(gy0, fd, rtol=1e-8)


def test_gradient_in_the_times_matches_finite_differences() -> None:
    """t̄_i = ⟨g_i, f(y_i, t_i)⟩ and t̄_0 = -⟨a(t_0⁺), f(y_0, t_0)⟩ (non-autonomous f)."""
    def f(y: Any, t: Any, k: Any) -> Any:
        return -k * y + rnp.sin(3 * t)

    def loss(t: Any) -> Any:
        return rnp.sum(W * odeint(f, Y0, t, args=(0.7,), **TIGHT) ** 2)

    def ref(t: np.ndarray) -> float:
        return float(np.sum(W * scipy_solve(lambda y, s: -0.7 * y + np.sin(3 * s), Y0, t) ** 2))

    fd = central(ref, T)
    np.testing.assert_allclose(riesz.grad(loss)(T), fd, rtol=1e-8, atol=1e-9)
    _, tangent = riesz.jvp(loss, (T,), (np.ones(len(T)),))
    np.testing.assert_allclose(tangent, np.sum(fd), rtol=1e-8)


def test_adjoint_identity_between_modes() -> None:
    rng = np.random.default_rng(2)
    args = (Y0, T, THETA)

    def f(y0: Any, t: Any, th: Any) -> Any:
        return odeint(lotka_volterra, y0, t, args=tuple(th[i] for i in range(4)), **TIGHT)

    u = (rng.standard_normal(2), 0.05 * rng.standard_normal(len(T)), rng.standard_normal(4))
    out, tangent = riesz.jvp(f, args, u)
    v = rng.standard_normal(out.shape)
    cts = riesz.vjp(f, *args)[1](v)
    lhs, rhs = np.sum(v * tangent), sum(np.sum(c * x) for c, x in zip(cts, u, strict=True))
    assert abs(lhs - rhs) < 1e-7 * abs(lhs)


@pytest.mark.parametrize("method", ["RK45", "DOP853", "Radau", "BDF"])
def test_solve_ivp_gradients_per_method(method: str) -> None:
    def loss(theta: Any) -> Any:
        r = solve_ivp(lambda t, y, *p: lotka_volterra(y, t, *p), (0.0, 2.5), Y0, method,
                      t_eval=T, args=tuple(theta[i] for i in range(4)), rtol=1e-9, atol=1e-9)
        return rnp.sum(W * r.y.T) + rnp.sum(r.y ** 2)

    g = riesz.grad(loss)(THETA)
    np.testing.assert_allclose(g, central(scipy_lv_loss, THETA), rtol=1e-5)


def test_solve_ivp_without_t_eval_differentiates_in_y0_and_the_end_time() -> None:
    def end(y0: Any, t1: Any) -> Any:
        r = solve_ivp(lambda t, y: -0.5 * y, (0.0, t1), y0, rtol=1e-10, atol=1e-10)
        return r.y[:, -1]

    J = riesz.jacrev(end, argnums=(0, 1))(np.array([1.0, 2.0]), 1.3)
    np.testing.assert_allclose(J[0], np.exp(-0.65) * np.eye(2), rtol=1e-8)
    np.testing.assert_allclose(J[1], -0.5 * np.exp(-0.65) * np.array([1.0, 2.0]), rtol=1e-7)


@pytest.mark.parametrize("method", ["BDF"])
def test_stiff_problem_with_implicit_methods_forward_and_backward(method: str) -> None:
    """y' = S y with eigenvalues -1 and -200, implicit forward and backward, against expm.
    y is solved again backwards from each output, where the fast mode grows like
    exp(200 Δt): the outputs are dense enough (Δt = 0.02) to keep that bounded."""
    S = np.array([[-1.0, 0.0], [199.0, -200.0]])
    t = np.linspace(0.0, 0.4, 21)
    w = np.random.default_rng(5).standard_normal((len(t), 2))

    def loss(y0: Any, S: Any) -> Any:
        r = solve_ivp(lambda s, y, S: S @ y, (0.0, 0.4), y0, method, t_eval=t, args=(S,),
                      rtol=1e-9, atol=1e-12)
        return rnp.sum(w * r.y.T)

    def closed(y0: Any, S: Any) -> Any:
        return sum(rnp.sum(w[i] * (rsl.expm(t[i] * S) @ y0)) for i in range(len(t)))

    y0 = np.array([1.0, 2.0])
    np.testing.assert_allclose(loss(y0, S), closed(y0, S), rtol=1e-7)
    got = riesz.grad(loss, argnums=(0, 1))(y0, S)
    want = riesz.grad(closed, argnums=(0, 1))(y0, S)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-7)


def test_gradient_error_follows_the_adjoint_tolerance() -> None:
    """The backward solve's tolerances are the user's: the gradient's error shrinks with them."""
    want = riesz.grad(closed_form_loss, argnums=2)(Y0, T, A)
    errs = []
    for tol in (1e-3, 1e-6, 1e-10):
        g = riesz.grad(ode_loss, argnums=2)(Y0, T, A, adjoint_rtol=tol, adjoint_atol=tol)
        errs.append(float(np.max(np.abs(g - want))))
    assert errs[0] > errs[1] > errs[2] and errs[2] < 1e-8, errs


def test_reverse_mode_records_one_node_whatever_the_number_of_steps() -> None:
    """No tape of the solver: one odeint node, however many steps the tolerance needs."""
    lengths = []
    for tol in (1e-3, 1e-11):
        rec = _Recorded(lambda th, tol=tol: lv_loss(th, rtol=tol, atol=tol), (THETA,), "t",
                        False, lv_loss)
        assert "odeint" in recorded_primitives(rec.trace.tape)
        lengths.append(len(rec.trace.tape))
    assert lengths[0] == lengths[1]


# -- the staged and batched backward solves ---------------------------------------------------


def _spy(monkeypatch: pytest.MonkeyPatch, name: str) -> list[Any]:
    """Record what riesz.scipy.integrate.<name> returns."""
    seen: list[Any] = []
    orig = getattr(rsi, name)

    def spy(*a: Any) -> Any:
        seen.append(orig(*a))
        return seen[-1]

    monkeypatch.setattr(rsi, name, spy)
    return seen


def test_staged_adjoint_equals_the_eager_adjoint(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two intervals: one backward solve per interval, its RHS (a vjp of f) staged once
    per solve gives the eager vjp's gradient to rounding; so does the sensitivity RHS."""
    t = np.array([0.0, 0.7, 1.5])
    grad = riesz.grad(lambda y0, t, th: rnp.sum(W[:3] * odeint(
        lotka_volterra, y0, t, args=tuple(th[i] for i in range(4)), **TIGHT) ** 2),
        argnums=(0, 1, 2))
    staged = _spy(monkeypatch, "_stage")
    got = grad(Y0, t, THETA)
    assert staged and all(r is not None for r in staged)
    fwd = riesz.jacfwd(lambda th: lv_loss(th, t))(THETA)
    monkeypatch.setattr(rsi, "STAGE_DERIVATIVES", False)
    n_staged = len(staged)
    want = grad(Y0, t, THETA)
    assert len(staged) == n_staged  # nothing staged: the eager path
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(fwd, riesz.jacfwd(lambda th: lv_loss(th, t))(THETA),
                               rtol=1e-12)


def test_staged_jacobian_of_implicit_methods_equals_the_eager_one(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Radau and BDF get ∂_y f from a jacfwd staged once per solve (forward and adjoint)."""
    def loss(theta: Any) -> Any:
        r = solve_ivp(lambda t, y, *p: lotka_volterra(y, t, *p), (0.0, 2.5), Y0, "Radau",
                      t_eval=T, args=tuple(theta[i] for i in range(4)), rtol=1e-9, atol=1e-9,
                      adjoint_method="BDF")
        return rnp.sum(W * r.y.T) + rnp.sum(r.y ** 2)

    staged = _spy(monkeypatch, "_stage")
    got = riesz.value_and_grad(loss)(THETA)
    assert len(staged) >= 3 and all(r is not None for r in staged)  # f's jac, adjoint + jac
    monkeypatch.setattr(rsi, "STAGE_DERIVATIVES", False)
    want = riesz.value_and_grad(loss)(THETA)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-13)
    np.testing.assert_allclose(got[1], want[1], rtol=1e-11)


def test_batched_backward_matches_per_interval_solves(monkeypatch: pytest.MonkeyPatch) -> None:
    """Many output times (decreasing, with a repeated time): the intervals' transition maps
    solved K at a time, in chunks padded with empty intervals, give the gradient of one
    backward solve per interval (eager) in y0, the times and two parameters of different
    shapes, to the tolerance."""
    def f(y: Any, t: Any, M: Any, b: Any) -> Any:
        return M @ y + b * rnp.sin(t) + 0.1 * y ** 3  # stable backwards in time

    t = np.concatenate([np.linspace(3.0, 1.0, 9), [1.0], np.linspace(0.9, 0.0, 8)])
    M = np.array([[0.2, -1.0, -0.1], [1.0, 0.3, 0.0], [-0.2, 0.0, 0.5]])
    b = np.array([0.5, -0.2, 0.3])
    y0 = np.array([1.0, 0.5, -0.4])
    w = np.random.default_rng(5).standard_normal((len(t), 3))

    def loss(y0: Any, t: Any, M: Any, b: Any) -> Any:
        return rnp.sum(w * odeint(f, y0, t, args=(M, b), **TIGHT))

    grad = riesz.grad(loss, argnums=(0, 1, 2, 3))
    # K = 3 intervals of width n (1 + n + P) = 3 (1 + 3 + 12) a solve: 17 in 6 chunks
    monkeypatch.setattr(rsi, "_BATCH_FLOATS", 3 * 48)
    batched = _spy(monkeypatch, "_adjoint_by_transitions")
    got = grad(y0, t, M, b)
    assert batched and batched[-1] is not None
    monkeypatch.setattr(rsi, "STAGE_DERIVATIVES", False)
    want = grad(y0, t, M, b)
    assert batched[-1] is None
    for g, v in zip(got, want, strict=True):
        np.testing.assert_allclose(g, v, rtol=1e-8, atol=1e-9)


def test_a_function_that_cannot_be_staged_runs_eagerly(monkeypatch: pytest.MonkeyPatch) -> None:
    """Python control flow on a value raises ConcretizationError under staging: the
    backward solves then evaluate the vjp eagerly, with the same result."""
    def f(y: Any, t: Any, k: Any) -> Any:
        if float(t) < 1.0:  # needs the value of t
            return -k * y
        return -k * y + 0.5

    def loss(k: Any) -> Any:
        return rnp.sum(odeint(f, Y0, T, args=(k,), **TIGHT) ** 2)

    staged = _spy(monkeypatch, "_stage")
    got = riesz.grad(loss)(0.7)
    assert staged and all(r is None for r in staged)

    def ref(k: np.ndarray) -> float:
        return float(np.sum(scipy_solve(lambda y, s: -k[0] * y + (0.5 if s >= 1.0 else 0.0),
                                        Y0, T) ** 2))

    np.testing.assert_allclose(got, central(ref, np.array([0.7]))[0], rtol=1e-6)
    monkeypatch.setattr(rsi, "STAGE_DERIVATIVES", False)
    assert riesz.grad(loss)(0.7) == got


def test_forward_solve_calls_func_on_plain_arrays() -> None:
    seen = set()

    def f(y: Any, t: Any, k: Any) -> Any:
        seen.add((type(y), type(k)))
        return -k * y

    riesz.grad(lambda k: rnp.sum(odeint(f, Y0, T, args=(k,))))(np.array(0.7))
    calls = set()

    def g(y: Any, t: Any, k: Any) -> Any:
        calls.add(1)
        return -k * y

    odeint(g, Y0, T, args=(np.array(0.7),))
    assert (np.ndarray, np.ndarray) in seen and calls


def test_gradient_peak_memory_does_not_grow_with_the_output_times() -> None:
    """The backward solves keep no per-interval state: peak memory of the gradient at
    1,000 output times within 1.2x of that at 10 (SciPy's solvers are freed as they
    finish, not left to the cycle collector)."""
    import gc
    import tracemalloc

    def grad(t: np.ndarray) -> Any:
        return riesz.grad(lambda th: rnp.sum(odeint(lotka_volterra, Y0, t, args=tuple(
            th[i] for i in range(4))) ** 2))(THETA)

    grad(np.linspace(0.0, 10.0, 1000))
    peaks = []
    tracemalloc.start()
    try:
        for n in (10, 1000):
            gc.collect()
            tracemalloc.reset_peak()
            base = tracemalloc.get_traced_memory()[0]
            grad(np.linspace(0.0, 10.0, n))
            peaks.append(tracemalloc.get_traced_memory()[1] - base)
    finally:
        tracemalloc.stop()
    assert peaks[1] <= 1.2 * peaks[0], peaks


# -- second order -------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["fwd-rev", "rev-fwd", "rev-rev", "fwd-fwd"])
def test_hvp_matches_finite_differences_of_the_gradient(mode: str) -> None:
    t = T[:3]
    v = np.array([0.3, -0.2, 0.5, 0.1])
    grad = riesz.grad(lambda th: lv_loss(th, t))
    eps = 1e-5
    fd = (grad(THETA + eps * v) - grad(THETA - eps * v)) / (2 * eps)
    (hv,) = riesz.hvp(lambda th: lv_loss(th, t), (THETA,), (v,), mode=mode)
    np.testing.assert_allclose(hv, fd, rtol=1e-5, atol=1e-6)


def test_hessian_of_linear_ode_in_y0_and_times_matches_closed_form() -> None:
    def ode(y0: Any, t: Any) -> Any:
        return ode_loss(y0, t, A) ** 2

    def closed(y0: Any, t: Any) -> Any:
        return closed_form_loss(y0, t, A) ** 2

    rng = np.random.default_rng(3)
    u = (rng.standard_normal(2), 0.1 * rng.standard_normal(len(T)))
    got = riesz.hvp(ode, (Y0, T), u)
    want = riesz.hvp(closed, (Y0, T), u)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-6, atol=1e-7)


# -- vmap ---------------------------------------------------------------------------------


def test_vmap_matches_a_loop() -> None:
    Y0s = np.array([[1.0, 0.5], [0.8, 0.7], [1.2, 0.3]])
    thetas = np.array([THETA, THETA * 1.1, THETA * 0.9])

    def sol(y0: Any, th: Any) -> Any:
        return odeint(lotka_volterra, y0, T[:3], args=tuple(th[i] for i in range(4)),
                      rtol=1e-8, atol=1e-8)

    np.testing.assert_allclose(riesz.vmap(sol)(Y0s, thetas),
                               np.stack([sol(y, th) for y, th in zip(Y0s, thetas, strict=True)]))
    loss = riesz.grad(lambda y0, th: rnp.sum(sol(y0, th) ** 2), argnums=(0, 1))
    batched = riesz.vmap(loss, in_axes=(0, None))(Y0s, THETA)
    for k, y in enumerate(Y0s):
        for b, w in zip(batched, loss(y, THETA), strict=True):
            np.testing.assert_allclose(b[k], w, rtol=1e-9)
    J = riesz.jacfwd(lambda y0: sol(y0, THETA)[-1])(Y0)  # vmap of the sensitivity solve
    np.testing.assert_allclose(J, riesz.jacrev(lambda y0: sol(y0, THETA)[-1])(Y0), rtol=1e-6)


# -- structures, dtypes and SciPy's conventions ---------------------------------------------


def test_pytree_state_and_args_with_integer_constants() -> None:
    def f(y: Any, t: Any, p: Any) -> Any:
        return {"x": -p["k"] * y["x"] * p["n"], "v": y["x"][:1] - y["v"]}

    y0 = {"x": np.array([1.0, 2.0]), "v": np.array([0.5])}
    out = odeint(f, y0, T, args=({"k": 0.3, "n": 2},), rtol=1e-11, atol=1e-11)
    assert out["x"].shape == (len(T), 2) and out["v"].shape == (len(T), 1)
    np.testing.assert_allclose(out["x"], np.exp(-0.6 * T)[:, None] * [1.0, 2.0], rtol=1e-8)
    g = riesz.grad(lambda k: rnp.sum(odeint(f, y0, T, args=({"k": k, "n": 2},), **TIGHT)["x"]))(
        0.3)
    want = float(np.sum(-2 * T[:, None] * np.exp(-0.6 * T)[:, None] * [1.0, 2.0]))
    np.testing.assert_allclose(g, want, rtol=1e-7)


def test_scipy_style_list_state_and_list_output() -> None:
    def f(y: Any, t: Any) -> Any:
        return [y[1], -y[0]]

    ys = odeint(f, [1.0, 0.0], T, rtol=1e-11, atol=1e-11)
    np.testing.assert_allclose(ys[:, 0], np.cos(T), atol=1e-9)
    g = riesz.grad(lambda y0: odeint(f, y0, T, **TIGHT)[-1, 0])(np.array([1.0, 0.0]))
    np.testing.assert_allclose(g, [np.cos(T[-1]), np.sin(T[-1])], atol=1e-9)


def test_repeated_times_as_scipy() -> None:
    """Repeated output times (SciPy allows them) give repeated rows, and a zero-length
    interval in the adjoint's backward sweep is skipped."""
    t = np.array([0.0, 0.0, 0.7, 0.7, 1.5])
    ys = odeint(lotka_volterra, Y0, t, args=tuple(THETA), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(ys, si.odeint(lv_numpy, Y0, t, args=tuple(THETA), rtol=1e-10,
                                             atol=1e-10), rtol=1e-7)
    unique, rows = np.unique(t, return_inverse=True)

    def ref(th: np.ndarray) -> float:
        ys = scipy_solve(lambda y, s: lv_numpy(y, s, *th), Y0, unique)[rows]
        return float(np.sum(W * ys) + np.sum(ys ** 2))

    np.testing.assert_allclose(riesz.grad(lambda th: lv_loss(th, t))(THETA), central(ref, THETA),
                               rtol=1e-8)


def test_decreasing_times() -> None:
    t = T[::-1]
    ys = odeint(lotka_volterra, Y0, t, args=tuple(THETA), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(ys, si.odeint(lv_numpy, Y0, t, args=tuple(THETA), rtol=1e-10,
                                             atol=1e-10), rtol=1e-7)
    g = riesz.grad(lambda th: lv_loss(th, t))(THETA)
    np.testing.assert_allclose(g, central(lambda th: scipy_lv_loss(th, Y0, t), THETA), rtol=1e-8)


def test_float32_in_float32_out() -> None:
    y0, th = Y0.astype(np.float32), THETA.astype(np.float32)
    loss = riesz.value_and_grad(lambda th: rnp.sum(odeint(
        lotka_volterra, y0, T.astype(np.float32), args=tuple(th[i] for i in range(4))) ** 2))
    val, g = loss(th)
    assert np.result_type(val) == np.float32 and g.dtype == np.float32
    np.testing.assert_allclose(g, central(lambda th: float(np.sum(si.odeint(
        lv_numpy, Y0, T, args=tuple(th)) ** 2)), THETA), rtol=1e-3)
    # Python scalars in args do not upcast (as everywhere in riesz)
    out = odeint(linear, y0, T.astype(np.float32), args=(0.5 * np.eye(2, dtype=np.float32),))
    assert out.dtype == np.float32
    assert odeint(lambda y, t, k: -k * y, y0, T.astype(np.float32), args=(0.5,)).dtype == \
        np.float32


# -- errors name their argument -------------------------------------------------------------


def test_bad_input_raises_clear_errors() -> None:
    with pytest.raises(ValueError, match="t must be increasing or decreasing"):
        odeint(linear, Y0, np.array([0.0, 1.0, 0.5]), args=(A,))
    with pytest.raises(ValueError, match="t must be a 1-D array"):
        odeint(linear, Y0, np.zeros((2, 2)), args=(A,))
    with pytest.raises(TypeError, match="y0 must be real"):
        odeint(linear, Y0 + 0j, T, args=(A,))
    with pytest.raises(NotImplementedError, match="Dfun"):
        odeint(linear, Y0, T, args=(A,), Dfun=lambda y, t, A: A)
    with pytest.raises(ValueError, match="method must be one of"):
        solve_ivp(lambda t, y: -y, (0.0, 1.0), Y0, method="Euler")
    with pytest.raises(ValueError, match="adjoint_method must be one of"):
        odeint(linear, Y0, T, args=(A,), adjoint_method="Euler")
    with pytest.raises(NotImplementedError, match="events"):
        solve_ivp(lambda t, y: -y, (0.0, 1.0), Y0, events=lambda t, y: y[0])
    with pytest.raises(ValueError, match="returned shape"):
        odeint(lambda y, t: y[:1], Y0, T)
    with pytest.raises(ValueError, match="rtol must be a positive number"):
        odeint(linear, Y0, T, args=(A,), rtol=-1.0)


def test_a_function_closing_over_a_traced_value_raises() -> None:
    def loss(k: Any) -> Any:
        return rnp.sum(odeint(lambda y, t: -k * y, Y0, T))  # k should be passed in args

    with pytest.raises(TypeError, match="closes over a value being differentiated"):
        riesz.grad(loss)(0.5)


def test_solver_failure_raises() -> None:
    """y' = y² blows up at t = 1: SciPy's failure becomes an error, not a warning."""
    with pytest.raises(ODEError, match="failed"):
        solve_ivp(lambda t, y: y ** 2, (0.0, 2.0), np.array([1.0]), t_eval=np.array([2.0]))
    with pytest.raises(ODEError, match="odeint .LSODA. failed"):
        odeint(lambda y, t: y ** 2, np.array([1.0]), np.array([0.0, 2.0]))
