"""Tour section: implicit layers, a deep equilibrium (DEQ) layer differentiated by
the implicit function theorem."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

import riesz
import riesz.numpy as rnp
from riesz import implicit
from riesz._core.trace import Tracer
from riesz.solvers import anderson, fixed_point_iteration

from ._util import _maxerr

if TYPE_CHECKING:
    from . import Tour


def _peak_bytes(f: Callable[[], Any]) -> int:
    tracemalloc.start()
    try:
        f()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def deep_equilibrium_layer(t: Tour) -> None:
    t.section(
        "Implicit layers (DEQ)",
        """A deep equilibrium layer outputs the fixed point y* = tanh(W y* + U x). The
        implicit function theorem differentiates it without the solver: with
        A = I - ∂_y g, forward mode solves A ẏ = ∂_x g[ẋ], reverse mode the adjoint
        equation λ = (∂_y g)ᵀ λ + v and returns (∂_x g)ᵀ λ. The forward solve runs on
        plain arrays (no tape), so memory does not depend on the iterations; the
        rules are riesz code whose solves are implicit functions too, so second
        derivatives work in every composition of modes.""",
        code="""
        def g(p, y):                               # p = (params, x)
            w, x = p
            return rnp.tanh(w["W"] @ y + w["U"] @ x)

        loss = lambda w: 0.5 * rnp.sum((implicit.fixed_point(g, (w, x), y0) - target) ** 2)
        riesz.grad(loss)(params)                   # no tape through the solver's iterations
        """,
    )
    rng = np.random.default_rng(13)
    n, d = 8, 3
    W = rng.standard_normal((n, n))
    W *= 0.9 / np.linalg.norm(W, 2)  # ‖W‖₂ = 0.9 < 1: g is a contraction in y
    params = {"W": W, "U": 0.3 * rng.standard_normal((n, d))}
    x, target = rng.standard_normal(d), rng.standard_normal(n)
    traced_calls = [0]

    def g(p, y):  # p = (params, x): every differentiated value goes through it
        w, inp = p
        if isinstance(y, Tracer) or isinstance(w["W"], Tracer):
            traced_calls[0] += 1
        return rnp.tanh(rnp.matmul(w["W"], y) + rnp.matmul(w["U"], inp))

    def layer(w, inp, info=None, **kw):
        return implicit.fixed_point(g, (w, inp), np.zeros(n), tol=1e-12, backward_tol=1e-12,
                                    info=info, **kw)

    def loss(w, inp=x, **kw):
        return 0.5 * rnp.sum((layer(w, inp, **kw) - target) ** 2)

    unroll = 300

    def loss_unrolled(w):
        y = np.zeros(n)
        for _ in range(unroll):
            y = g((w, x), y)
        return 0.5 * rnp.sum((y - target) ** 2)

    def forward_solve() -> tuple[str, bool]:
        def at_x(y):
            return g((params, x), y)

        plain = fixed_point_iteration(at_x, np.zeros(n), tol=1e-12)
        acc = anderson(at_x, np.zeros(n), tol=1e-12)
        # a function attribute (mypy has no type for it), read by the section's plot
        forward_solve.histories = (plain.history, acc.history)  # type: ignore[attr-defined]
        res = float(np.max(np.abs(np.tanh(W @ acc.value + params["U"] @ x) - acc.value)))
        return (f"Anderson {acc.iterations} iterations, plain iteration {plain.iterations}; "
                f"|tanh(W y + U x) - y| = {res:.1e}", res < 1e-10)

    def implicit_vs_unrolled() -> tuple[str, bool]:
        g_imp = riesz.grad(loss)(params)
        g_unr = riesz.grad(loss_unrolled)(params)
        err = _maxerr(g_imp, g_unr)
        return f"∇_W, ∇_U: max |implicit - unrolled ({unroll} steps)| = {err:.1e}", err < 1e-9

    def memory_and_iterations() -> tuple[str, bool]:
        info: dict = {}
        traced_calls[0] = 0
        mem_imp = _peak_bytes(lambda: riesz.grad(lambda w: loss(w, info=info))(params))
        taped_imp = traced_calls[0]
        traced_calls[0] = 0
        mem_unr = _peak_bytes(lambda: riesz.grad(loss_unrolled)(params))
        taped_unr = traced_calls[0]
        fwd, (adj,) = info["forward"][0], info["linear"]
        return (f"g traced {taped_imp}x vs {taped_unr}x unrolled; forward {fwd.iterations} + "
                f"adjoint {adj.iterations} iterations on plain arrays; peak memory "
                f"{mem_imp / 1024:.0f} KiB vs {mem_unr / 1024:.0f} KiB",
                taped_imp <= 3 and taped_unr == unroll and mem_imp < mem_unr / 2)

    def backward_methods() -> tuple[str, bool]:
        ref = riesz.grad(loss)(params)
        errs = {m: _maxerr(riesz.grad(lambda w, m=m: loss(w, backward=m))(params), ref)
                for m in ("anderson", "gmres", "direct")}
        worst = max(errs.values())
        return (", ".join(f"{m} {e:.0e}" for m, e in errs.items())
                + " (vs fixed_point)", worst < 1e-9)

    def forward_mode() -> tuple[str, bool]:
        v = riesz.tree_map(lambda a: rng.standard_normal(a.shape), params)
        _, dl = riesz.jvp(loss, (params,), (v,))
        gr = riesz.grad(loss)(params)
        dot = sum(float(np.sum(a * b)) for a, b in zip(riesz.tree_leaves(gr),
                                                        riesz.tree_leaves(v), strict=True))
        err = abs(float(dl) - dot)
        return f"∂L[v] = {float(dl):.6f} (A ẏ = ∂_x g[ẋ]); ⟨∇L, v⟩ off by {err:.1e}", err < 1e-9

    t.check("forward solve", "residual", forward_solve)
    t.check("implicit gradient", "= unrolled gradient", implicit_vs_unrolled)
    t.check("memory, iterations", "no tape per iteration", memory_and_iterations)
    t.check("backward solves", "agree", backward_methods)
    t.check("forward mode JVP", "= ⟨∇L, v⟩", forward_mode)

    # Hessian-vector products with respect to the input x, in four modes; the
    # reference is a central difference of the (implicit) gradient.
    u = rng.standard_normal(d)

    def loss_x(inp):
        return loss(params, inp)

    h = 1e-5
    grad_x = riesz.grad(loss_x)
    fd = (grad_x(x + h * u) - grad_x(x - h * u)) / (2 * h)
    results: dict[str, np.ndarray] = {}
    for mode in ("fwd-rev", "rev-fwd", "rev-rev", "fwd-fwd"):
        def check(mode: str = mode) -> tuple[str, bool]:
            (hv,) = riesz.hvp(loss_x, (x,), (u,), mode=mode)
            results[mode] = hv
            spread = _maxerr(hv, results["fwd-rev"]) if "fwd-rev" in results else 0.0
            err = _maxerr(hv, fd)
            return (f"max |Hv - FD of ∇| = {err:.1e}; vs fwd-rev {spread:.1e}",
                    err < 1e-7 and spread < 1e-9)

        t.check(f"hvp through DEQ, {mode}", "4 modes agree", check)

    plt = t.pyplot()
    histories = getattr(forward_solve, "histories", None)
    if plt is not None and histories is not None:
        fig, ax = plt.subplots(figsize=(5, 3.5))
        for hist, label in zip(histories, ("fixed-point iteration", "Anderson"), strict=True):
            ax.semilogy(hist, marker=".", label=label)
        ax.set_xlabel("iteration")
        ax.set_ylabel("‖g(y) - y‖")
        ax.set_title("DEQ forward solve")
        ax.legend()
        t.save(fig, "deq_forward_solve.png")


SECTIONS = [deep_equilibrium_layer]
