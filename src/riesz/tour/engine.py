"""Tour sections for the core engine: JVPs, VJPs, forward vs reverse, DAGs."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np

import riesz
import riesz.numpy as rnp

from ._util import _maxerr

if TYPE_CHECKING:
    from . import Tour


def jvp_of_square(t: Tour) -> None:
    t.section(
        "The derivative is a linear map: f(X) = X X",
        """For matrices, ∂f(X)[U] = X U + U X: a linear map of U, not a 'matrix of
        partials'. riesz's forward mode applies it without ever building it.""",
        code="""
        def square(X):
            return X @ X

        fX, dfXU = riesz.jvp(square, (X,), (U,))   # dfXU == X @ U + U @ X
        """,
    )
    rng = np.random.default_rng(0)
    X, U = rng.standard_normal((4, 4)), rng.standard_normal((4, 4))

    def square(X):
        return X @ X

    def vs_closed_form() -> tuple[str, bool]:
        _, jvp_out = riesz.jvp(square, (X,), (U,))
        err = _maxerr(jvp_out, X @ U + U @ X)
        return f"max |JVP - (XU + UX)| = {err:.1e}", err < 1e-12

    def vs_finite_differences() -> tuple[str, bool]:
        _, jvp_out = riesz.jvp(square, (X,), (U,))
        h = 1e-6
        fd = (square(X + h * U) - square(X - h * U)) / (2 * h)
        err = _maxerr(jvp_out, fd)
        return f"max |JVP - central FD| = {err:.1e}", err < 1e-7

    t.check("∂f(X)[U] = XU + UX", "closed form", vs_closed_form)
    t.check("∂f(X)[U] = XU + UX", "finite differences", vs_finite_differences)


def elementwise_mask(t: Tour) -> None:
    t.section(
        "Elementwise maps have diagonal derivatives",
        """For f(x) = max(x, 0) applied entrywise, ∂f(x)[u] = 1[x > 0] ⊙ u: the
        JVP is a mask, and the Jacobian (materialised column by column) is diagonal.""",
        code="""
        relu = lambda x: rnp.maximum(x, 0.0)
        _, du = riesz.jvp(relu, (x,), (u,))                          # (x > 0) * u
        J = np.stack([riesz.jvp(relu, (x,), (e,))[1] for e in np.eye(6)], axis=1)
        """,
    )
    rng = np.random.default_rng(1)
    x, u = rng.standard_normal(6), rng.standard_normal(6)

    def relu(x):
        return rnp.maximum(x, 0.0)

    def mask() -> tuple[str, bool]:
        _, t_out = riesz.jvp(relu, (x,), (u,))
        err = _maxerr(t_out, (x > 0) * u)
        return f"max |JVP - 1[x>0]⊙u| = {err:.1e}", err == 0.0

    def diagonal() -> tuple[str, bool]:
        J = np.stack([riesz.jvp(relu, (x,), (e,))[1] for e in np.eye(6)], axis=1)
        off = _maxerr(J - np.diag(np.diag(J)), 0)
        return f"off-diagonal max {off:.1e}, diagonal {np.diag(J).astype(int)}", off == 0.0

    t.check("∂relu(x)[u] = mask ⊙ u", "closed form", mask)
    t.check("Jacobian of relu", "diagonal", diagonal)


def forward_vs_reverse(t: Tour) -> None:
    t.section(
        "Forward and reverse mode compute the same derivative",
        """f: R^n → R. Forward mode needs n JVPs ∂f(x)[e_i]; reverse mode one VJP
        ∂f(x)*[1]. Same numbers, very different costs as n grows.""",
        code="""
        f = lambda x: rnp.sum(rnp.tanh(A @ x) ** 2)
        g_fwd = np.array([riesz.jvp(f, (x,), (e,))[1] for e in np.eye(n)])   # n JVPs
        g_rev = riesz.grad(f)(x)                                             # one VJP
        """,
    )
    n = 200
    rng = np.random.default_rng(2)
    x = rng.standard_normal(n)
    A = rng.standard_normal((n, n)) / np.sqrt(n)

    def f(x):
        return rnp.sum(rnp.tanh(A @ x) ** 2)

    def agree() -> tuple[str, bool]:
        t0 = time.perf_counter()
        g_fwd = np.array([riesz.jvp(f, (x,), (e,))[1] for e in np.eye(n)])
        t_fwd = time.perf_counter() - t0
        t0 = time.perf_counter()
        g_rev = riesz.grad(f)(x)
        t_rev = time.perf_counter() - t0
        err = _maxerr(g_fwd, g_rev)
        return (f"max diff {err:.1e}; {n} JVPs {t_fwd * 1e3:.1f} ms vs 1 VJP "
                f"{t_rev * 1e3:.2f} ms"), err < 1e-12

    def closed_form() -> tuple[str, bool]:
        y = np.tanh(A @ x)
        err = _maxerr(riesz.grad(f)(x), A.T @ (2 * y * (1 - y**2)))
        return f"max |grad - Aᵀ(2y(1-y²))| = {err:.1e}", err < 1e-12

    t.check("∇f by n JVPs = ∇f by 1 VJP", "agree", agree)
    t.check("∇f(x)", "closed form", closed_form)


def dag_accumulation(t: Tour) -> None:
    t.section(
        "Reverse mode on a DAG: shared nodes accumulate adjoints",
        """In f(x) = y·y + sin(y) with y = exp(x), the node y feeds two branches.
        Its adjoint is the sum of both: ȳ = 2y + cos(y), and x̄ = ȳ·y.""",
        code="""
        def f(x):
            y = rnp.exp(x)
            return rnp.sum(y * y + rnp.sin(y))

        xbar = riesz.grad(f)(x)                     # == (2 * y + np.cos(y)) * y
        """,
    )
    x = np.linspace(-1.0, 1.0, 5)

    def f(x):
        y = rnp.exp(x)
        return rnp.sum(y * y + rnp.sin(y))

    def accumulate() -> tuple[str, bool]:
        g = riesz.grad(f)(x)
        y = np.exp(x)
        err = _maxerr(g, (2 * y + np.cos(y)) * y)
        return f"max |grad - (2y + cos y) y| = {err:.1e}", err < 1e-12

    def nesting() -> tuple[str, bool]:
        def d_fwd(f):
            return lambda x: riesz.jvp(f, (x,), (np.ones(np.shape(x)),))[1]

        vals = {}
        for outer in ("fwd", "rev"):
            for inner in ("fwd", "rev"):
                D_out = d_fwd if outer == "fwd" else riesz.grad
                D_in = d_fwd if inner == "fwd" else riesz.grad
                x0 = np.array(2.0)
                vals[f"{outer}/{inner}"] = float(
                    D_out(lambda x, D_in=D_in, x0=x0: x * D_in(lambda y: x + y)(x0))(x0))
        return ", ".join(f"{k}: {v:g}" for k, v in vals.items()), all(
            v == 1.0 for v in vals.values())

    t.check("x̄ = (2y + cos y) y", "closed form", accumulate)
    t.check("d/dx[x · d/dy(x + y)] = 1", "4 nestings", nesting)


SECTIONS = [jvp_of_square, elementwise_mask, forward_vs_reverse, dag_accumulation]
