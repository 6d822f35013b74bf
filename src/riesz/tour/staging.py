"""Tour section: staging with jit, graphs and control flow."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np

import riesz
import riesz.numpy as rnp

if TYPE_CHECKING:
    from . import Tour


def staging(t: Tour) -> None:
    t.section(
        "Staging: jit, graphs and control flow",
        """jit(f) traces f once per input signature on shapes and dtypes into a graph,
        removes dead code and common subexpressions, folds constants, and runs later
        calls as straight-line NumPy code: no tracer, no per-operation dispatch.
        Control flow that depends on values goes through riesz.cond / while_loop /
        fori_loop / scan; reverse mode through a while_loop records its iterations.""",
        code="""
        staged = riesz.jit(riesz.grad(f))          # traced once per shape and dtype
        staged.graph(x)                            # the graph after DCE, CSE, folding
        g = staged(x)                              # later calls: straight-line NumPy
        grow = lambda x: riesz.while_loop(lambda v: v < 10.0, lambda v: 1.5 * v + rnp.sin(v), x)
        riesz.grad(grow)(0.7)
        riesz.jit(riesz.grad(grow)).graph(0.7)     # the loop's VJP: one equation, body nested
        """,
    )

    def f(x):
        a = rnp.sin(x) * x
        b = rnp.sin(x) * x  # the same again: CSE keeps one
        rnp.exp(x)  # unused: DCE drops it
        return rnp.sum(a + b)

    x = np.linspace(-1.0, 1.0, 4)
    before = riesz.make_graph(f)(x)
    after = riesz.jit(riesz.grad(f)).graph(x)
    t.out("   make_graph(f)(x):")
    for line in repr(before).splitlines():
        t.out(f"     {line}")
    t.out("   jit(grad(f)).graph(x), after the passes:")
    for line in repr(after).splitlines():
        t.out(f"     {line}")

    def passes() -> tuple[str, bool]:
        g = riesz.jit(riesz.grad(f))(x)
        expected = 2 * (np.cos(x) * x + np.sin(x))
        err = float(np.max(np.abs(g - expected)))
        return (f"{len(before)} equations traced for f; grad staged in {len(after)}; "
                f"error {err:.1e}", err < 1e-14)

    def chain(x):
        for _ in range(100):
            x = rnp.tanh(rnp.sin(x) * 1.01)
        return rnp.sum(x)

    x16 = np.linspace(-1.0, 1.0, 16)
    eager = riesz.value_and_grad(chain)
    staged = riesz.jit(eager)

    def timing() -> tuple[str, bool]:
        ve, ge = eager(x16)
        vj, gj = staged(x16)  # compiles
        best = {}
        for name, fn in (("eager", eager), ("jit", staged)):
            runs = []
            for _ in range(7):
                t0 = time.perf_counter()
                fn(x16)
                runs.append(time.perf_counter() - t0)
            best[name] = min(runs)
        err = max(abs(float(ve - vj)), float(np.max(np.abs(ge - gj))))
        return (f"300-op chain value_and_grad: eager {best['eager'] * 1e3:.2f} ms, jit "
                f"{best['jit'] * 1e3:.2f} ms ({best['eager'] / best['jit']:.1f}x); "
                f"difference {err:.0e}", err == 0.0)

    def grow(x):  # x <- 1.5 x + sin x until x > 10: the trip count depends on x
        return riesz.while_loop(lambda v: v < 10.0, lambda v: 1.5 * v + rnp.sin(v), x)

    def grow_np(x):
        while x < 10.0:
            x = 1.5 * x + np.sin(x)
        return x

    t.out("   jit(grad(grow)).graph(0.7), the loop's VJP with the predicate and body it runs:")
    for line in repr(riesz.jit(riesz.grad(grow)).graph(0.7)).splitlines():
        t.out(f"     {line}")

    def while_grad() -> tuple[str, bool]:
        g = riesz.grad(grow)(0.7)
        fd = (grow_np(0.7 + 1e-6) - grow_np(0.7 - 1e-6)) / 2e-6
        return f"d/dx = {g:.6f}, finite differences {fd:.6f}", abs(g - fd) < 1e-5 * abs(fd)

    t.check("jit(grad(f)) after DCE + CSE", "closed form", passes)
    t.check("jit vs eager", "same values", timing)
    t.check("grad through while_loop", "finite differences", while_grad)


SECTIONS = [staging]
