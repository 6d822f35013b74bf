"""Optimisers: steps against NumPy formulas, convergence counts against
independent NumPy simulations, and the fit loop."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.optimize

import riesz.numpy as rnp
from riesz import optim
from riesz.spaces import Weighted


def _quadratic(n: int = 6, cond: float = 1e3, seed: int = 0):
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    H = Q @ np.diag(np.geomspace(1.0, cond, n)) @ Q.T
    b = rng.standard_normal(n)
    x_star = np.linalg.solve(H, b)
    f_star = -0.5 * b @ x_star

    def loss(x):
        return 0.5 * x @ H @ x - b @ x

    return H, b, f_star, loss


def _steps_to(simulate, f, f_target: float, limit: int) -> int:
    """Plain NumPy: the number of steps of `simulate` until f <= f_target."""
    x = np.zeros_like(simulate.x0)
    for k in range(limit):
        if f(x) <= f_target:
            return k
        x = simulate(x)
    return limit


def test_gradient_descent_count_matches_a_numpy_simulation() -> None:
    H, b, f_star, loss = _quadratic()
    L = np.linalg.eigvalsh(H)[-1]
    lr = 1.0 / L

    def simulate(x):
        return x - lr * (H @ x - b)

    simulate.x0 = np.zeros(6)
    f_np = lambda x: 0.5 * x @ H @ x - b @ x  # noqa: E731
    target = f_star + 1e-6
    want = _steps_to(simulate, f_np, target, 100_000)
    res = optim.fit(loss, np.zeros(6), optim.gradient_descent(lr), steps=100_000, target=target,
                    progress=False)
    assert res.converged and res.iterations == want
    assert want > 1000  # the ill-conditioning is real


def test_preconditioned_descent_in_the_hessian_geometry_takes_one_step() -> None:
    H, b, f_star, loss = _quadratic()
    res = optim.fit(loss, np.zeros(6), optim.preconditioned(Weighted(metric=H)), steps=10,
                    target=f_star + 1e-10, progress=False)
    assert res.converged and res.iterations == 1
    np.testing.assert_allclose(res.params, np.linalg.solve(H, b), rtol=1e-8)


def test_jacobi_preconditioning_count_matches_a_numpy_simulation() -> None:
    rng = np.random.default_rng(1)
    d = np.geomspace(1.0, 1e4, 6)
    C = np.eye(6) + 0.1 * rng.standard_normal((6, 6))
    C = (C + C.T) / 2
    H = np.sqrt(d)[:, None] * C * np.sqrt(d)[None, :]  # badly scaled, well conditioned after D⁻¹
    b = rng.standard_normal(6)
    f_np = lambda x: 0.5 * x @ H @ x - b @ x  # noqa: E731
    f_star = f_np(np.linalg.solve(H, b))
    lr = 0.8

    def simulate(x):
        return x - lr * (H @ x - b) / np.diag(H)

    simulate.x0 = np.zeros(6)
    target = f_star + 1e-8
    want = _steps_to(simulate, f_np, target, 10_000)
    res = optim.fit(lambda x: 0.5 * x @ H @ x - b @ x, np.zeros(6),
                    optim.preconditioned(Weighted(6, np.diag(H)), lr=lr), steps=10_000,
                    target=target, progress=False)
    assert res.iterations == want and want < 200


def _logistic(n: int = 80, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 3)) * np.array([1.0, 3.0, 0.3])  # badly scaled features
    y = (X @ np.array([1.0, 0.2, 2.0]) + rng.standard_normal(n) > 0).astype(float)

    def model(w):
        return rnp.matmul(X, w)

    def nll(z):  # mean binary cross-entropy on logits: log(1 + e^z) - y z
        return rnp.mean(rnp.log(1.0 + rnp.exp(z)) - y * z)

    return X, y, model, nll


def test_gauss_newton_metric_is_Xt_S_X_over_n() -> None:
    X, y, model, nll = _logistic()
    w = np.array([0.3, -0.1, 0.2])
    G = optim.gauss_newton_metric(model, nll, w, damping=0.5)
    p = 1 / (1 + np.exp(-X @ w))
    want = X.T @ (p * (1 - p) * X.T).T / len(y) + 0.5 * np.eye(3)
    np.testing.assert_allclose(G.materialize(), want, rtol=1e-10)


def test_natural_gradient_step_and_convergence() -> None:
    X, y, model, nll = _logistic()

    def loss(w):
        return nll(model(w))

    w = np.array([0.3, -0.1, 0.2])
    ng = optim.natural_gradient(model, nll, lr=1.0, damping=1e-3)
    w1, _, value = ng.step(loss, w, ng.init(w))
    p = 1 / (1 + np.exp(-X @ w))
    g = X.T @ (p - y) / len(y)
    F = X.T @ (p * (1 - p) * X.T).T / len(y) + 1e-3 * np.eye(3)
    np.testing.assert_allclose(w1, w - np.linalg.solve(F, g), rtol=1e-6)
    assert value == pytest.approx(np.mean(np.log1p(np.exp(X @ w)) - y * (X @ w)))
    # iterations to a target near the optimum (found by SciPy on the NumPy loss):
    # natural gradient needs a handful, GD hundreds
    optimum = scipy.optimize.minimize(
        lambda v: np.mean(np.logaddexp(0.0, X @ v) - y * (X @ v)), np.zeros(3),
        jac=lambda v: X.T @ (1 / (1 + np.exp(-X @ v)) - y) / len(y), method="BFGS",
        options={"gtol": 1e-10})
    target = float(optimum.fun) + 1e-4
    nat = optim.fit(loss, np.zeros(3), optim.natural_gradient(model, nll), steps=100,
                    target=target, progress=False)
    lr = 1.0 / np.linalg.eigvalsh(X.T @ X / len(y) / 4)[-1]  # 1/L for the logistic loss
    gd = optim.fit(loss, np.zeros(3), optim.gradient_descent(lr), steps=20_000, target=target,
                   progress=False)
    assert nat.converged and gd.converged
    assert nat.iterations <= 10 and gd.iterations > 50 * nat.iterations


def test_natural_gradient_step_evaluates_model_and_loss_once() -> None:
    """The metric is applied by replaying one recorded evaluation, however many
    CG iterations the solve takes."""
    X, y, model, nll = _logistic()
    calls = {"model": 0, "nll": 0}

    def counted_model(w):
        calls["model"] += 1
        return model(w)

    def counted_nll(z):
        calls["nll"] += 1
        return nll(z)

    ng = optim.natural_gradient(counted_model, counted_nll, damping=1e-3)
    w = np.array([0.3, -0.1, 0.2])
    ng.step(lambda w: counted_nll(counted_model(w)), w, ng.init(w))
    assert calls == {"model": 1, "nll": 1}


def test_adam_first_step_and_convergence() -> None:
    H, b, f_star, loss = _quadratic(cond=10.0)
    opt = optim.adam(lr=0.1)
    x1, state, _ = opt.step(loss, np.zeros(6), opt.init(np.zeros(6)))
    np.testing.assert_allclose(x1, 0.1 * np.sign(b), rtol=1e-6)  # first step: -lr g/|g|
    assert state.t == 1
    res = optim.fit(loss, np.zeros(6), optim.adam(lr=0.05), steps=5000, target=f_star + 1e-6,
                    progress=False)
    assert res.converged


def test_adam_and_descent_on_pytrees() -> None:
    params = {"a": np.array([3.0, -2.0]), "b": np.array(1.0)}

    def loss(p):
        return rnp.sum(p["a"] ** 2) + (p["b"] - 2.0) ** 2

    for opt in (optim.adam(0.1), optim.gradient_descent(0.4)):
        res = optim.fit(loss, params, opt, steps=2000, target=1e-8, progress=False)
        assert res.converged
        np.testing.assert_allclose(res.params["b"], 2.0, atol=1e-3)


def test_fit_history_target_callback_and_silence(capsys) -> None:
    seen = []
    res = optim.fit(lambda x: rnp.sum(x**2), np.array([1.0]), optim.gradient_descent(0.25),
                    steps=3, progress=False, callback=lambda k, p, v: seen.append((k, v)))
    np.testing.assert_allclose(res.history, [1.0, 0.25, 0.0625, 0.015625])
    assert res.iterations == 3 and not res.converged and len(seen) == 3
    assert capsys.readouterr().err == ""
    res = optim.fit(lambda x: rnp.sum(x**2), np.array([1.0]), optim.gradient_descent(0.25),
                    steps=100, target=0.1, progress=False)
    assert res.converged and res.history[-1] <= 0.1 and res.iterations == 2


def test_fit_errors() -> None:
    with np.errstate(over="ignore", invalid="ignore"), \
            pytest.raises(FloatingPointError, match="diverged"):
        optim.fit(lambda x: rnp.sum(x**4), np.array([10.0]), optim.gradient_descent(10.0),
                  steps=50, progress=False)
    with pytest.raises(TypeError, match="Optimizer"):
        optim.fit(lambda x: x, np.ones(1), "sgd")
    with pytest.raises(TypeError, match="Space"):
        optim.preconditioned(np.eye(2))
    with pytest.raises(ValueError, match="damping"):
        optim.natural_gradient(lambda w: w, lambda z: z, damping=-1.0)
