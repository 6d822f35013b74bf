"""A Taylor-series ODE solver built on `riesz.jet`.

For y' = f(y), the derivatives of the solution at the start of a step follow from
those of f along the solution itself: (f∘y)^(k)(0) = y^(k+1)(0). A jet call of order k
on the series known so far [y', ..., y^(k)] returns (f∘y)^(k), the next term; K calls
give the Taylor polynomial of degree K, and a step of size h evaluates it,
y(h) ≈ Σ_k y^(k)(0) h^k / k!, with a local error O(h^(K+1)). Nested JVPs would need
2^k derivative passes for the k-th term; jet's rules make each term polynomial in k.

Three problems, each checked against an independent reference:

* y' = y², y(0) = 1: the solution 1/(1 - t) has every Taylor coefficient equal to 1;
* the Kepler problem (q'' = -q/|q|³, eccentricity 0.5): after one period 2π the orbit
  closes, so the state must return to its start (closed form), and the energy is
  conserved;
* the Van der Pol oscillator (μ = 2) on [0, 10], against SciPy's DOP853 run at
  rtol = atol = 1e-13.

It prints the errors, the convergence order of the Kepler step for several K (error
∝ h^K), and writes a PNG of that study (needs matplotlib, the `plot` extra).

    python examples/taylor_ode.py [--out DIR] [--no-plot]

The PNG goes into the folder given by --out (default figures/, created).
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import scipy.integrate

import riesz
import riesz.numpy as rnp


def solution_derivatives(f: Callable[[Any], Any], y0: np.ndarray, K: int) -> list[np.ndarray]:
    """[y'(0), ..., y^(K)(0)] for y' = f(y), y(0) = y0, by K jet calls of order 0..K-1."""
    derivs: list[np.ndarray] = []
    for k in range(K):
        f0, fs = riesz.jet(f, (y0,), (derivs,))
        derivs.append(f0 if k == 0 else fs[k - 1])  # (f∘y)^(k)(0) = y^(k+1)(0)
    return derivs


def taylor_step(f: Callable[[Any], Any], y: np.ndarray, h: float, K: int) -> np.ndarray:
    """y(h) from the degree-K Taylor polynomial at 0, summed by Horner's rule."""
    derivs = solution_derivatives(f, y, K)
    out = derivs[-1] / math.factorial(K)
    for k in range(K - 1, 0, -1):
        out = out * h + derivs[k - 1] / math.factorial(k)
    return y + h * out


def integrate(f: Callable[[Any], Any], y0: np.ndarray, t_end: float, steps: int,
              K: int) -> np.ndarray:
    """The state at t_end after `steps` equal Taylor steps of order K."""
    y, h = np.asarray(y0, float), t_end / steps
    for _ in range(steps):
        y = taylor_step(f, y, h, K)
    return y


# -- the problems ---------------------------------------------------------------------------


def riccati(y: Any) -> Any:
    return y * y


def kepler(y: Any) -> Any:
    """State (q1, q2, p1, p2): q' = p, p' = -q / |q|³."""
    q, p = y[:2], y[2:]
    r3 = rnp.sum(q * q) ** 1.5
    return rnp.concatenate([p, -q / r3])


def kepler_start(e: float) -> np.ndarray:
    """At perihelion of an orbit with semi-major axis 1: period 2π, energy -1/2."""
    return np.array([1 - e, 0.0, 0.0, math.sqrt((1 + e) / (1 - e))])


def kepler_energy(y: np.ndarray) -> float:
    return float(0.5 * y[2:] @ y[2:] - 1 / np.linalg.norm(y[:2]))


MU = 2.0


def van_der_pol(y: Any) -> Any:
    x, v = y[0:1], y[1:2]
    return rnp.concatenate([v, MU * (1 - x * x) * v - x])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="figures",
                        help="folder for the PNG, created if needed (default: figures)")
    parser.add_argument("--no-plot", action="store_true", help="skip the figure")
    args = parser.parse_args()

    # 1. y' = y²: every Taylor coefficient of 1/(1 - t) is 1
    K = 20
    derivs = solution_derivatives(riccati, np.array(1.0), K)
    coefficients = np.array([float(d) / math.factorial(k + 1) for k, d in enumerate(derivs)])
    print(f"y' = y², y(0) = 1: {K} Taylor coefficients, max |c_k - 1| = "
          f"{np.max(np.abs(coefficients - 1)):.1e}")
    y_half = integrate(riccati, np.array(1.0), 0.5, 10, 12)
    print(f"  10 steps of order 12 to t = 0.5: |y - 1/(1 - t)| = {abs(float(y_half) - 2.0):.1e}")

    # 2. Kepler: one period closes the orbit
    e = 0.5
    y0 = kepler_start(e)
    t0 = time.perf_counter()
    y_end = integrate(kepler, y0, 2 * np.pi, 100, 12)
    seconds = time.perf_counter() - t0
    print(f"Kepler orbit (e = {e}), one period, 100 steps of order 12 ({seconds:.2f} s):")
    print(f"  |y(2π) - y(0)| = {np.max(np.abs(y_end - y0)):.1e}   "
          f"energy drift {abs(kepler_energy(y_end) - kepler_energy(y0)):.1e}")

    # convergence: the error of a step of order K falls like h^K
    orders, step_counts = (4, 8, 12), (50, 100, 200)
    errors = {K: [float(np.max(np.abs(integrate(kepler, y0, 2 * np.pi, n, K) - y0)))
                  for n in step_counts] for K in orders}
    for K, errs in errors.items():
        rate = math.log(errs[-2] / errs[-1]) / math.log(2)
        print(f"  order {K:2d}: errors {', '.join(f'{x:.1e}' for x in errs)} for "
              f"{step_counts} steps; observed order {rate:.1f}")

    # 3. Van der Pol against SciPy's DOP853
    yv0 = np.array([2.0, 0.0])
    ref = scipy.integrate.solve_ivp(lambda t, y: [y[1], MU * (1 - y[0] ** 2) * y[1] - y[0]],
                                    (0, 10), yv0, method="DOP853", rtol=1e-13, atol=1e-13)
    yv = integrate(van_der_pol, yv0, 10.0, 400, 12)
    print(f"Van der Pol (μ = {MU}) to t = 10, 400 steps of order 12: max |y - DOP853| = "
          f"{np.max(np.abs(yv - ref.y[:, -1])):.1e}")

    if args.no_plot:
        return
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed (pip install 'riesz[plot]'); skipping the figure")
        return
    fig, ax = plt.subplots(figsize=(5, 3.5))
    h = 2 * np.pi / np.array(step_counts)
    for K, errs in errors.items():
        ax.loglog(h, errs, marker="o", label=f"order K = {K}")
        ax.loglog(h, errs[-1] * (h / h[-1]) ** K, "k:", linewidth=0.8)
    ax.set_xlabel("step h")
    ax.set_ylabel("|y(2π) - y(0)|")
    ax.set_title("Kepler orbit by Taylor steps (dotted: h^K)")
    ax.legend()
    path = Path(args.out) / "taylor_ode.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
