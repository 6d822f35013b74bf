"""Tour section: Taylor mode (`riesz.jet`), K-th order terms at polynomial cost."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

import riesz
import riesz.numpy as rnp

if TYPE_CHECKING:
    from . import Tour


def zigzag_numbers(n: int) -> list[int]:
    """A_0..A_n, the numbers of alternating permutations, by the boustrophedon
    (Seidel-Entringer) triangle: each row runs a cumulative sum over the previous
    row read backwards. They are the Taylor coefficients of tan + sec:
    tan t + sec t = Σ A_k t^k / k! (André, 1879). Integer arithmetic only."""
    row, out = [1], [1]
    for m in range(1, n + 1):
        new = [0]
        for k in range(m):
            new.append(new[-1] + row[m - 1 - k])
        row = new
        out.append(row[-1])
    return out


def _line(v: Any, K: int) -> list[Any]:
    """The derivative series [v, 0, ..., 0] of the straight line x0 + v t."""
    return [v] + [np.zeros_like(v)] * (K - 1)


def _nested_jvp(g: Callable[[Any], Any], K: int) -> list[Any]:
    """g'(0), ..., g^(K)(0) for a function of the scalar t, by K nested JVPs."""
    derivs = [g]
    for _ in range(K):
        def derivative(t: Any, prev: Callable[[Any], Any] = derivs[-1]) -> Any:
            return riesz.jvp(prev, (t,), (np.ones_like(t),))[1]

        derivs.append(derivative)
    t0 = np.array(0.0)
    return [derivs[k](t0) for k in range(1, K + 1)]


def _best_of(f: Callable[[], Any], repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - t0)
    return best


def taylor_mode(t: Tour) -> None:
    t.section(
        "Taylor mode: K-th order terms at polynomial cost",
        """A path x(t) = x0 + c1 t + c2 t² + ... through the inputs is pushed through f
        as a truncated power series: linear maps act on each coefficient, bilinear ones
        are Cauchy products, and exp, log, sin, tanh, ... are recurrences from the ODE
        they solve (y' = y x' for exp). riesz.jet(f, primals, series) takes and returns
        derivatives (series[k-1] = x^(k)(0), JAX's convention). K nested JVPs give the
        same numbers, but each level differentiates the one below: their cost doubles
        per order, jet's grows like K² to K³.""",
        code="""
        line = [1.0] + [0.0] * (K - 1)             # x(t) = 0 + t: derivatives 1, 0, 0, ...
        _, ys = riesz.jet(lambda s: rnp.tan(s) + 1 / rnp.cos(s), (0.0,), (line,))
        z0, zs = riesz.jet(rnp.square, (1.0,), (derivs,))   # one more term of y' = y²
        """,
    )
    K = 14

    def zigzag() -> tuple[str, bool]:
        _, ys = riesz.jet(lambda s: rnp.tan(s) + 1 / rnp.cos(s), (0.0,), (_line(1.0, K),))
        want = zigzag_numbers(K)[1:]
        err = max(abs(float(y) - a) / a for y, a in zip(ys, want, strict=True))
        last = ", ".join(str(round(float(y))) for y in ys[-3:])
        return (f"(tan + sec)^(k)(0), k = 1..{K}: ..., {last}; max rel. error {err:.1e}",
                err < 1e-13)

    t.check(f"jet to order {K}", "zigzag numbers (Seidel)", zigzag)

    rng = np.random.default_rng(5)
    W = rng.standard_normal((6, 4)) / 2
    x0, v = rng.standard_normal(4), rng.standard_normal(4)

    def f(x):
        return rnp.sum(rnp.logaddexp(0.0, W @ x) * rnp.sin(x @ W.T))

    def against_nested() -> tuple[str, bool]:
        k = 5
        _, ys = riesz.jet(f, (x0,), (_line(v, k),))
        want = _nested_jvp(lambda s: f(x0 + s * v), k)
        err = max(abs(float(y - w)) / (1 + abs(float(w))) for y, w in zip(ys, want, strict=True))
        return f"d^k/dt^k f(x0 + t v), k = 1..{k}: max rel. error {err:.1e}", err < 1e-11

    t.check("directional derivatives of a network", "nested jvp", against_nested)

    orders = [1, 2, 4, 6, 8]
    costs: dict[str, list[float]] = {"jet": [], "nested jvp": []}

    def cost() -> tuple[str, bool]:
        for k in orders:
            def by_jet(k: int = k) -> Any:
                return riesz.jet(f, (x0,), (_line(v, k),))

            def by_nesting(k: int = k) -> Any:
                return _nested_jvp(lambda s: f(x0 + s * v), k)

            costs["jet"].append(_best_of(by_jet))
            costs["nested jvp"].append(_best_of(by_nesting, repeat=1))
        jet_ms = costs["jet"][-1] * 1e3
        nested_ms = costs["nested jvp"][-1] * 1e3
        growth = costs["nested jvp"][-1] / costs["nested jvp"][2]
        jet_growth = costs["jet"][-1] / costs["jet"][2]
        return (f"K = 8: jet {jet_ms:.1f} ms, nested jvp {nested_ms:.0f} ms; from K = 4 to 8 "
                f"jet ×{jet_growth:.1f}, nested ×{growth:.0f} (2⁴ = 16)",
                nested_ms > 3 * jet_ms and growth > 4 * jet_growth)

    t.check("cost as the order grows", "nested jvp doubles", cost)

    def ode() -> tuple[str, bool]:
        # y' = y², y(0) = 1 has y = 1/(1 - t) = Σ t^k: every Taylor coefficient is 1.
        # (f∘y)^(k)(0) = y^(k+1)(0), so each jet call of order k gives one more term.
        n = 16
        derivs: list[Any] = []
        for k in range(n):
            z0, zs = riesz.jet(rnp.square, (1.0,), (derivs,))
            derivs.append(z0 if k == 0 else zs[k - 1])
        coefficients = [float(d) / math.factorial(k + 1) for k, d in enumerate(derivs)]
        err = max(abs(c - 1) for c in coefficients)
        return (f"{n} Taylor coefficients of the solution of y' = y², y(0) = 1: "
                f"max |c_k - 1| = {err:.1e}", err < 1e-12)

    t.check("Taylor series of an ODE solution", "1/(1 - t)", ode)

    plt = t.pyplot()
    if plt is not None and costs["jet"]:
        fig, ax = plt.subplots(figsize=(5, 3.5))
        for label, seconds in costs.items():
            ax.semilogy(orders, np.array(seconds) * 1e3, marker="o", label=label)
        ax.set_xlabel("order K")
        ax.set_ylabel("time (ms)")
        ax.set_title("K-th order directional derivatives")
        ax.legend()
        t.save(fig, "taylor_cost.png")


SECTIONS = [taylor_mode]
