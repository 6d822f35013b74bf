"""Tour section: the adjoint method, implicit differentiation in continuous time."""

from __future__ import annotations

import gc
import tracemalloc
from typing import TYPE_CHECKING, Any

import numpy as np

import riesz
import riesz.numpy as rnp
import riesz.scipy.linalg as rsl
from riesz.scipy.integrate import odeint

if TYPE_CHECKING:
    from . import Tour


def adjoint_method(t: Tour) -> None:
    t.section(
        "The adjoint method: implicit differentiation in continuous time",
        """An ODE solve y(t) of y' = f(y, t, θ) is defined implicitly, like a DEQ's fixed
        point: by an equation, not by the solver's steps. Its reverse mode is the
        continuous sibling of the DEQ's adjoint equation λ = (∂_y g)ᵀ λ + v: the adjoint
        state solves the transposed linearised ODE backwards, a' = -(∂_y f)ᵀ a, jumping
        by the output cotangent g_i at each t_i, and θ̄ = ∫ (∂_θ f)ᵀ a dt. Forward mode
        solves the sensitivity equations s' = ∂_y f[s] + ∂_θ f[θ̇]. Neither tapes the
        solver: memory is that of the outputs, the accuracy that of the ODE solves.""",
        code="""
        from riesz.scipy.integrate import odeint

        loss = lambda y0, A: rnp.sum(w * odeint(lambda y, t, A: A @ y, y0, times, args=(A,)))
        g_y0, g_A = riesz.grad(loss, argnums=(0, 1))(y0, A)   # adjoint ODE, solved backwards
        """,
    )
    rng = np.random.default_rng(15)
    A = np.array([[-0.4, 1.0], [-1.0, -0.2]])
    y0 = np.array([1.0, 0.5])
    times = np.array([0.0, 0.5, 1.2, 2.0])
    w = rng.standard_normal((len(times), 2))
    tight = {"rtol": 1e-11, "atol": 1e-11, "adjoint_rtol": 1e-11, "adjoint_atol": 1e-11}

    def linear(y: Any, s: Any, A: Any) -> Any:
        return A @ y

    def loss(y0: Any, A: Any, **kw: Any) -> Any:
        return rnp.sum(w * odeint(linear, y0, times, args=(A,), **{**tight, **kw}))

    def closed(y0: Any, A: Any) -> Any:  # y(t) = expm(t A) y0, differentiated through expm
        return sum(rnp.sum(w[i] * (rsl.expm(s * A) @ y0)) for i, s in enumerate(times))

    def adjoint_is_transposed_flow() -> tuple[str, bool]:
        g_y0, g_A = riesz.grad(loss, argnums=(0, 1))(y0, A)
        a0 = sum(rsl.expm(s * A).T @ w[i] for i, s in enumerate(times))  # Σ Φ(t_i)ᵀ g_i
        r_y0, r_A = riesz.grad(closed, argnums=(0, 1))(y0, A)
        e0, eA = float(np.max(np.abs(g_y0 - a0))), float(np.max(np.abs(g_A - r_A)))
        e1 = float(np.max(np.abs(r_y0 - a0)))
        return (f"ȳ0 = a(t_0) vs Σ expm(t_i A)ᵀ g_i: {e0:.1e}; Ā vs expm's rules: {eA:.1e}",
                max(e0, eA, e1) < 1e-8)

    calls = [0]

    def lotka_volterra(y: Any, s: Any, a: Any, b: Any, c: Any, d: Any) -> Any:
        calls[0] += 1
        return rnp.stack([a * y[0] - b * y[0] * y[1], c * y[0] * y[1] - d * y[1]])

    theta = np.array([1.5, 1.0, 1.0, 3.0])

    def lv_loss(th: Any, tol: float = 1e-10, n: int = 6) -> Any:
        ys = odeint(lotka_volterra, y0, np.linspace(0.0, 3.0, n),
                    args=tuple(th[i] for i in range(4)), rtol=tol, atol=tol,
                    adjoint_rtol=tol, adjoint_atol=tol)
        return rnp.sum(ys ** 2)

    def memory_does_not_follow_steps() -> tuple[str, bool]:
        peaks, evals = {}, {}
        for tol in (1e-4, 1e-8):
            def grad_at(tol: float = tol) -> Any:
                return riesz.grad(lambda th: lv_loss(th, tol, 3))(theta)

            grad_at()  # warm-up: one-time allocations (caches, imports) are not per step
            calls[0] = 0
            gc.collect()  # earlier sections' cyclic garbage is not this solve's memory
            tracemalloc.start()
            try:
                grad_at()
                peaks[tol] = tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()
            evals[tol] = calls[0]
        ratio = peaks[1e-8] / peaks[1e-4]
        return (f"f evaluated {evals[1e-4]}x (rtol 1e-4) vs {evals[1e-8]}x (rtol 1e-8); "
                f"peak memory {peaks[1e-4] / 1024:.0f} vs {peaks[1e-8] / 1024:.0f} KiB",
                # a taped solver's memory would grow with the evaluations (~2.8x here; the
                # backward solve runs f staged, so only the forward solve's calls count)
                evals[1e-8] > 2 * evals[1e-4] and ratio < 0.5 * evals[1e-8] / evals[1e-4])

    def modes_agree() -> tuple[str, bool]:
        u = rng.standard_normal(4)
        _, tangent = riesz.jvp(lambda th: lv_loss(th, 1e-10, 3), (theta,), (u,))
        g = riesz.grad(lambda th: lv_loss(th, 1e-10, 3))(theta)
        err = abs(float(tangent) - float(g @ u)) / abs(float(tangent))
        return (f"∂L[u] (sensitivities) = {float(tangent):.8f}, ⟨∇L, u⟩ (adjoint) "
                f"off by {err:.1e} relative", err < 1e-7)

    def tolerance_controls_the_error() -> tuple[str, bool]:
        ref = riesz.grad(closed, argnums=1)(y0, A)
        errs = []
        for tol in (1e-4, 1e-7, 1e-10):
            g = riesz.grad(lambda A_, tol=tol: loss(y0, A_, adjoint_rtol=tol,
                                                    adjoint_atol=tol))(A)
            errs.append(float(np.max(np.abs(g - ref))))
        return ("adjoint_rtol 1e-4, 1e-7, 1e-10: |Ā - exact| = "
                + ", ".join(f"{e:.0e}" for e in errs), errs[0] > errs[1] > errs[2])

    def second_order() -> tuple[str, bool]:
        V = rng.standard_normal((2, 2))

        def square(A_: Any) -> Any:
            return loss(y0, A_) ** 2

        (hv,) = riesz.hvp(square, (A,), (V,), mode="fwd-rev")
        (ref,) = riesz.hvp(lambda A_: closed(y0, A_) ** 2, (A,), (V,), mode="fwd-rev")
        err = float(np.max(np.abs(hv - ref)) / np.max(np.abs(ref)))
        return (f"∂²(L²)[V] (sensitivities of the adjoint ODE) vs expm's rules: {err:.1e} "
                "relative", err < 1e-7)

    t.check("adjoint state a(t_0)", "closed form (expm)", adjoint_is_transposed_flow)
    t.check("memory", "flat in solver steps", memory_does_not_follow_steps)
    t.check("forward vs reverse", "⟨∇L, u⟩ = ∂L[u]", modes_agree)
    t.check("gradient error", "follows adjoint_rtol", tolerance_controls_the_error)
    t.check("Hessian-vector product", "closed form (expm)", second_order)


SECTIONS = [adjoint_method]
