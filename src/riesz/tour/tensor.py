"""Tour section: tensors and change of basis."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

import riesz
import riesz.numpy as rnp
from riesz.spaces import Weighted
from riesz.tensor import Tensor, contract

from ._util import _maxerr

if TYPE_CHECKING:
    from . import Tour


def _cob(rng: np.random.Generator, n: int) -> np.ndarray:
    """A change of basis far from orthogonal (C⁻¹ ≠ Cᵀ)."""
    Q1, _ = np.linalg.qr(rng.standard_normal((n, n)))
    Q2, _ = np.linalg.qr(rng.standard_normal((n, n)))
    return Q1 @ np.diag(np.geomspace(0.4, 3.0, n)) @ Q2


def tensors_and_change_of_basis(t: Tour) -> None:
    t.section(
        "Tensors and change of basis",
        """An array becomes a tensor once each index says how it transforms. With new
        basis vectors the columns of E C, a vector's coordinates go by C⁻¹ u
        (contra), a functional's by Cᵀ v (co): forms W' = Cᵀ W C, maps A' = C⁻¹ A C.
        Values, traces and A u do not depend on the basis; the matrices do. A
        derivative ∂f(x) is a covector and its gradient (Riesz representer) a vector,
        so they transform differently unless the basis is orthonormal.""",
        code="""
        T = Tensor.from_linear_map(riesz.derivative(lambda X: X @ X)(X))   # type (2, 2)
        W = Tensor(W_array, ("co", "co"))
        W.change_basis(C)(u.change_basis(C), v.change_basis(C))  # == W(u, v)
        cov = Tensor.from_linear_map(riesz.derivative(f)(x))      # ∂f(x), kinds ("co",)
        cov.raise_index(0, Tensor.from_metric(S))                 # == riesz.grad(f, space=S)(x)
        """,
    )
    rng = np.random.default_rng(14)
    n = 4
    C = _cob(rng, n)
    X, U = rng.standard_normal((3, 3)), rng.standard_normal((3, 3))

    def square(X):
        return X @ X

    def derivative_tensor() -> tuple[str, bool]:
        T = Tensor.from_linear_map(riesz.derivative(square)(X))
        err = _maxerr(T(U).array, X @ U + U @ X)
        return (f"∂f(X) kinds {T.kinds}, type {T.type}; max |T(U) - (XU + UX)| = {err:.1e}",
                T.type == (2, 2) and err < 1e-12)

    W = Tensor(rng.standard_normal((n, n)), ("co", "co"))
    u = Tensor(rng.standard_normal(n), ("contra",))
    v = Tensor(rng.standard_normal(n), ("contra",))

    def bilinear_value() -> tuple[str, bool]:
        before = float(W(u, v))
        W2 = W.change_basis(C)
        after = float(W2(u.change_basis(C), v.change_basis(C)))
        moved = _maxerr(W2.array, W.array)
        return (f"W(u, v) = {before:.6f} before, {after:.6f} after; |W' - W| = {moved:.2f}",
                abs(after - before) < 1e-10 and moved > 1e-2)

    A = Tensor(rng.standard_normal((n, n)), ("contra", "co"))

    def trace_and_image() -> tuple[str, bool]:
        tr, tr2 = float(contract(A, 0, 1)), float(contract(A.change_basis(C), 0, 1))
        img = _maxerr(A(u).change_basis(C).array, A.change_basis(C)(u.change_basis(C)).array)
        return (f"tr A = {tr:.6f}, tr A' = {tr2:.6f}; max |(A u)' - A' u'| = {img:.1e}",
                abs(tr - tr2) < 1e-10 and img < 1e-10)

    c = Tensor(rng.standard_normal(n), ("co",))

    def wrong_rule() -> tuple[str, bool]:
        right = float(c.change_basis(C)(u.change_basis(C)))
        # the mix-up: the covector's coordinates transformed by C⁻¹, like a vector's
        wrong = float(np.linalg.solve(C, c.array) @ u.change_basis(C).array)
        value = float(c(u))
        return (f"c(u) = {value:.4f}; by Cᵀ: {right:.4f}, by C⁻¹ (wrong): {wrong:.4f}",
                abs(right - value) < 1e-10 and abs(wrong - value) > 1e-3)

    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    S = Weighted(metric=Q @ np.diag(np.geomspace(1.0, 20.0, n)) @ Q.T)
    b, x = rng.standard_normal(n), rng.standard_normal(n)

    def f(x):
        return rnp.sum(b * rnp.sin(x))

    cov = Tensor.from_linear_map(riesz.derivative(f)(x))  # ∂f(x): kinds ("co",)
    G = Tensor.from_metric(S)
    g = Tensor(riesz.grad(f, space=S)(x), ("contra",))

    def riesz_map() -> tuple[str, bool]:
        raised = _maxerr(cov.raise_index(0, G).array, g.array)
        c2, g2 = cov.change_basis(C), g.change_basis(C)
        consistent = _maxerr(c2.raise_index(0, G.change_basis(C)).array, g2.array)
        # transformed by one rule, the covector and the gradient drift apart
        drift = _maxerr(g2.array, np.linalg.solve(G.change_basis(C).array,
                                               np.linalg.solve(C, cov.array)))
        return (f"W⁻¹∂f = grad_W ({raised:.1e}); in the new basis W'⁻¹ c' = g' "
                f"({consistent:.1e}); ∂f moved by C⁻¹ instead: off by {drift:.2f}",
                raised < 1e-10 and consistent < 1e-9 and drift > 1e-3)

    def orthonormal_basis() -> tuple[str, bool]:
        E = np.stack(S.orthonormal_basis(), axis=1)  # W-orthonormal: Eᵀ W E = I
        G2 = G.change_basis(E).array
        gap = _maxerr(cov.change_basis(E).array, g.change_basis(E).array)
        return (f"metric in a W-orthonormal basis: max |G' - I| = {_maxerr(G2, np.eye(n)):.1e};"
                f" there covector = gradient coordinates ({gap:.1e})",
                _maxerr(G2, np.eye(n)) < 1e-10 and gap < 1e-10)

    def materialize_in_basis() -> tuple[str, bool]:
        L = riesz.LinearMap.from_matrix(A.array)
        M = L.materialize([C[:, j] for j in range(n)])
        err = _maxerr(M, A.change_basis(C).array)
        return f"max |materialize(basis = columns of C) - C⁻¹ A C| = {err:.1e}", err < 1e-10

    t.check("∂(X X) as an order-4 tensor", "T(U) = XU + UX", derivative_tensor)
    t.check("bilinear form W(u, v)", "basis-independent", bilinear_value)
    t.check("trace of A, image A u", "basis-independent", trace_and_image)
    t.check("covector by C⁻¹ (a mix-up)", "breaks c(u)", wrong_rule)
    t.check("Riesz map g = W⁻¹ ∂f(x)", "g by C⁻¹, ∂f by Cᵀ", riesz_map)
    t.check("orthonormal basis", "metric = I", orthonormal_basis)
    t.check("LinearMap.materialize(basis)", "= change_basis", materialize_in_basis)


SECTIONS = [tensors_and_change_of_basis]
