"""Tour sections: second derivatives in four compositions, and vmap."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

import riesz
import riesz.numpy as rnp

if TYPE_CHECKING:
    from . import Tour


def hessian_vector_products(t: Tour) -> None:
    t.section(
        "Hessian-vector products in four compositions",
        """∂²f(x)[v, ·] composes forward and reverse mode in any order: JVP of the
        gradient (fwd-rev), gradient of the JVP (rev-fwd), gradient of ⟨∇f, v⟩
        (rev-rev), or n second-order JVPs (fwd-fwd). All four must agree.""",
        code="""
        f = lambda x: rnp.sum(rnp.log(1 + rnp.exp(A @ x)))    # softplus loss
        for mode in ("fwd-rev", "rev-fwd", "rev-rev", "fwd-fwd"):
            (hv,) = riesz.hvp(f, (x,), (v,), mode=mode)
        """,
    )
    rng = np.random.default_rng(3)
    A = rng.standard_normal((5, 4))
    x, v = rng.standard_normal(4), rng.standard_normal(4)

    def f(x):
        return rnp.sum(rnp.log(1 + rnp.exp(A @ x)))  # softplus loss: H = Aᵀ diag(σ(1-σ)) A

    s = 1 / (1 + np.exp(-(A @ x)))
    expected = A.T @ (s * (1 - s) * (A @ v))
    for mode in ("fwd-rev", "rev-fwd", "rev-rev", "fwd-fwd"):
        def check(mode: str = mode) -> tuple[str, bool]:
            (hv,) = riesz.hvp(f, (x,), (v,), mode=mode)
            err = float(np.max(np.abs(hv - expected)))
            return f"max |Hv - Aᵀ diag(σ(1-σ)) A v| = {err:.1e}", err < 1e-12

        t.check(f"hvp, {mode}", "closed form", check)


def vectorising_map(t: Tour) -> None:
    t.section(
        "vmap: one call for a whole batch",
        """vmap(f) runs f, written for one example, on a batch at once; composed
        with grad it gives per-example gradients, and mapped over a basis it
        materialises a derivative in one call instead of one per basis vector.""",
        code="""
        loss = lambda w, x, target: (rnp.dot(x, w) - target) ** 2
        g = riesz.vmap(riesz.grad(loss), in_axes=(None, 0, 0))(w, X, y)   # (6, 3)
        J = riesz.jacrev(lambda x: rnp.tanh(X @ x))(w)    # f is called once
        """,
    )
    rng = np.random.default_rng(4)
    w, X, y = rng.standard_normal(3), rng.standard_normal((6, 3)), rng.standard_normal(6)

    def loss(w, x, target):
        return (rnp.dot(x, w) - target) ** 2

    def per_example() -> tuple[str, bool]:
        g = riesz.vmap(riesz.grad(loss), in_axes=(None, 0, 0))(w, X, y)
        err = float(np.max(np.abs(g - 2 * (X @ w - y)[:, None] * X)))
        return f"shape {g.shape}; max |g - 2(Xw - y)ᵢ xᵢ| = {err:.1e}", err < 1e-12

    calls = []

    def f(x):
        calls.append(1)
        return rnp.tanh(X @ x)

    def jacobian_in_one_call() -> tuple[str, bool]:
        J = riesz.jacrev(f)(w)
        err = float(np.max(np.abs(J - (1 - np.tanh(X @ w) ** 2)[:, None] * X)))
        return f"{J.shape} Jacobian, f called {len(calls)}x, error {err:.1e}", (
            err < 1e-12 and len(calls) == 1)

    t.check("per-example gradients", "closed form", per_example)
    t.check("jacrev by a batched pullback", "closed form", jacobian_in_one_call)


SECTIONS = [hessian_vector_products, vectorising_map]
