"""Recover the parameters of a Lotka–Volterra system from noisy observations, by
gradient descent through `riesz.scipy.integrate.odeint`.

Prey x and predators p follow

    x' = α x - β x p,    p' = δ x p - γ p,

with true (α, β, δ, γ) = (1.0, 0.5, 0.4, 0.8), from (x, p) = (2, 1), observed at 40
times on [0, 12] with Gaussian noise (σ = 0.05). Starting from a guess 30-50 % off, the
script fits log-parameters (so they stay positive) by Adam on the mean squared error.

Before fitting it compares three gradients of the loss at the starting guess:

* reverse mode, the adjoint method (`riesz.grad`): one backward ODE solve for the
  adjoint state, whatever the number of parameters;
* forward mode, the sensitivity equations (`riesz.jacfwd`): one solve per parameter;
* central finite differences of the loss (8 more solves at rtol 1e-12, h = 1e-4:
  truncation error ~h²).

What to expect: the three gradients agree to about 1e-6 relative (the solves'
tolerance, rtol 1e-7); the loss falls from ~10 to the noise level σ² ≈ 0.0025 within
a few hundred Adam steps (about a second each on one core), and the recovered
parameters are within a few percent of the truth. It writes
`lotka_volterra_fit.png` (observations, initial guess and fitted trajectories, and the
loss curve) into the folder given by --out (default figures/, created; the figure needs
matplotlib).

    python examples/ode_parameter_fit.py [--out DIR] [--steps N] [--no-plot]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np

import riesz
import riesz.numpy as rnp
from riesz.optim import adam, fit
from riesz.scipy.integrate import odeint

TRUE = np.array([1.0, 0.5, 0.4, 0.8])  # α, β, δ, γ
GUESS = np.array([0.6, 0.7, 0.25, 1.2])
Y0 = np.array([2.0, 1.0])
TIMES = np.linspace(0.0, 12.0, 40)
SIGMA = 0.05
TOL = {"rtol": 1e-7, "atol": 1e-9, "adjoint_rtol": 1e-7, "adjoint_atol": 1e-9}
TIGHT = {"rtol": 1e-12, "atol": 1e-12}  # for finite differences: solver noise / h stays small


def lotka_volterra(y: Any, t: Any, alpha: Any, beta: Any, delta: Any, gamma: Any) -> Any:
    x, p = y[0], y[1]
    return rnp.stack([alpha * x - beta * x * p, delta * x * p - gamma * p])


def trajectory(params: np.ndarray, tol: dict[str, float] = TOL) -> Any:
    return odeint(lotka_volterra, Y0, TIMES, args=tuple(params[i] for i in range(4)), **tol)


def make_loss(data: np.ndarray, tol: dict[str, float] = TOL) -> Any:
    def loss(log_params: Any) -> Any:
        return rnp.mean((trajectory(rnp.exp(log_params), tol) - data) ** 2)

    return loss


def compare_gradients(loss: Any, tight_loss: Any, x: np.ndarray) -> None:
    t0 = time.perf_counter()
    g_adjoint = riesz.grad(loss)(x)
    t1 = time.perf_counter()
    g_forward = riesz.jacfwd(loss)(x)
    t2 = time.perf_counter()
    h = 1e-4
    g_fd = np.array([(float(tight_loss(x + h * e)) - float(tight_loss(x - h * e))) / (2 * h)
                     for e in np.eye(len(x))])
    t3 = time.perf_counter()
    print("gradient of the loss at the initial guess (w.r.t. log α, log β, log δ, log γ):")
    for name, g, dt in (("adjoint (reverse)", g_adjoint, t1 - t0),
                        ("sensitivities (forward)", g_forward, t2 - t1),
                        ("finite differences", g_fd, t3 - t2)):
        rel = np.max(np.abs(g - g_adjoint)) / np.max(np.abs(g_adjoint))
        print(f"  {name:<24} {np.array2string(g, precision=7)}  "
              f"max rel. diff to adjoint {rel:.1e}  ({dt:.2f} s)")


def plot(data: np.ndarray, start: np.ndarray, fitted: np.ndarray, history: list[float],
         out: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed (pip install 'riesz[plot]'); no figure")
        return
    fine = np.linspace(TIMES[0], TIMES[-1], 400)
    fig, (ax, ax_loss) = plt.subplots(1, 2, figsize=(11, 4))
    for k, (name, color) in enumerate((("prey", "tab:blue"), ("predators", "tab:red"))):
        ax.plot(TIMES, data[:, k], "o", ms=3, color=color, label=f"{name}, observed")
        for params, style, what in ((start, ":", "initial guess"), (fitted, "-", "fit")):
            ys = odeint(lotka_volterra, Y0, fine, args=tuple(params))
            ax.plot(fine, ys[:, k], style, color=color, label=f"{name}, {what}")
    ax.set_xlabel("t")
    ax.set_title("Lotka–Volterra: observations and fit")
    ax.legend(fontsize=7)
    ax_loss.semilogy(history)
    ax_loss.axhline(SIGMA ** 2, color="gray", ls="--", label="noise level σ²")
    ax_loss.set_xlabel("Adam step")
    ax_loss.set_ylabel("mean squared error")
    ax_loss.legend()
    out.mkdir(parents=True, exist_ok=True)
    path = out / "lotka_volterra_fit.png"
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    print(f"wrote {path}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default="figures", help="folder for the figure (created)")
    p.add_argument("--steps", type=int, default=300, help="Adam steps")
    p.add_argument("--no-plot", action="store_true", help="do not write the figure")
    args = p.parse_args()

    rng = np.random.default_rng(0)
    data = np.asarray(trajectory(TRUE)) + SIGMA * rng.standard_normal((len(TIMES), 2))
    loss = make_loss(data)
    x0 = np.log(GUESS)
    compare_gradients(loss, make_loss(data, TIGHT), x0)

    t0 = time.perf_counter()
    result = fit(loss, x0, adam(lr=0.05), steps=args.steps, progress=False)
    fitted = np.exp(result.params)
    print(f"\nAdam, {result.iterations} steps ({time.perf_counter() - t0:.1f} s): loss "
          f"{result.history[0]:.4f} -> {result.history[-1]:.5f} (noise level σ² = "
          f"{SIGMA ** 2:.4f})")
    for name, true, start, got in zip(("α", "β", "δ", "γ"), TRUE, GUESS, fitted, strict=True):
        print(f"  {name}: true {true:.3f}  start {start:.3f}  fitted {got:.4f}  "
              f"(error {abs(got - true) / true:.1%})")
    if not args.no_plot:
        plot(data, GUESS, fitted, result.history, Path(args.out))


if __name__ == "__main__":
    main()
