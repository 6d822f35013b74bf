"""Matrix-free linear solves on LinearMaps and pytrees.

`solve(A, b)` finds x with A(x) = b using only applications of A (and, for
"direct", a materialisation). The Krylov methods are SciPy's, reached through
a `scipy.sparse.linalg.LinearOperator` over the maps' flattened coordinates,
so any LinearMap (arrays, pytrees, polynomials, ...) can be solved.

CG works in the domain's geometry: for A self-adjoint and positive under
⟨x, y⟩ = xᵀ W y, W A is symmetric positive definite in coordinates, so CG is
run on (W A) x = W b (W = I for Euclidean spaces). Non-convergence raises
`SolverError` with the residual, never returns a silently wrong answer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse.linalg as spla

from ._core.pytree import tree_flatten
from ._core.trace import Tracer
from .linear import LinearMap
from .spaces import space_of

__all__ = ["SolverError", "bicgstab", "cg", "direct", "gmres", "solve"]

METHODS = ("cg", "gmres", "bicgstab", "direct")


class SolverError(RuntimeError):
    """A linear solve did not converge (or broke down).

    `residual` is the final relative residual ‖b - A x‖ / ‖b‖, `iterations`
    the iterations taken, `history` the residual norms where the method reports
    them, and `x` the last iterate."""

    def __init__(self, message: str, *, method: str, residual: float, iterations: int,
                 history: list[float], x: Any):
        super().__init__(message)
        self.method = method
        self.residual = residual
        self.iterations = iterations
        self.history = history
        self.x = x


def _as_map(A: Any, b: Any) -> LinearMap:
    if isinstance(A, LinearMap):
        return A
    if callable(A):
        s = space_of(b)
        return LinearMap(A, s, s, name=getattr(A, "__name__", "A"))
    raise TypeError(f"solve: A must be a LinearMap or a linear function, got {type(A).__name__}")


def _concrete(b: Any, who: str) -> None:
    if any(isinstance(x, Tracer) for x in tree_flatten(b)[0]):
        raise TypeError(f"{who}: the right-hand side is a traced value; riesz.solve runs on "
                        "concrete arrays and is not differentiable itself (implicit "
                        "differentiation of solves belongs to riesz.implicit)")


def solve(A: LinearMap | Callable[[Any], Any], b: Any, method: str = "cg", *,
          rtol: float = 1e-10, atol: float = 0.0, maxiter: int | None = None,
          x0: Any = None, restart: int | None = None, M: LinearMap | None = None) -> Any:
    """Solve A(x) = b matrix-free; `b` is an element of A.codomain (any pytree).

    `method`: "cg" (A self-adjoint and positive in its domain's inner product),
    "gmres", "bicgstab" (general square A) or "direct" (materialise and
    factorise). Stops when the residual r of the system iterated on satisfies
    ‖r‖ <= max(rtol ‖r0‖, atol) with r0 its right-hand side: r = b - A x, or
    r = W (b - A x) for CG in a domain with metric W. `M` is an optional
    preconditioner approximating A⁻¹ (for CG: self-adjoint and positive in the
    domain's geometry). Raises `SolverError` on non-convergence, reporting
    ‖b - A x‖ / ‖b‖."""
    if method not in METHODS:
        raise ValueError(f"solve: method must be one of {METHODS}, got {method!r}")
    A = _as_map(A, b)
    _concrete(b, "solve")
    dom, cod = A.domain, A.codomain
    if dom.size != cod.size:
        raise ValueError(f"solve: A maps {dom!r} -> {cod!r}; a square map is required")
    cod.check(b, "solve: b")

    def flat_dom(x: Any) -> np.ndarray:
        return np.asarray(dom.flatten(x), dtype=np.float64)

    def apply(v: np.ndarray) -> np.ndarray:
        return np.asarray(cod.flatten(A.fn(dom.unflatten(v))), dtype=np.float64)

    b_flat = np.asarray(cod.flatten(b), dtype=np.float64)
    b_norm = float(np.linalg.norm(b_flat))
    if b_norm == 0.0:
        return dom.zeros()

    def relres(x_flat: np.ndarray) -> float:
        return float(np.linalg.norm(b_flat - apply(x_flat))) / b_norm

    if method == "direct":
        J = np.asarray(A.materialize(), dtype=np.float64).reshape(cod.size, dom.size)
        try:
            x_flat = np.linalg.solve(J, b_flat)
        except np.linalg.LinAlgError as e:
            raise SolverError(f"solve(direct): the materialised {cod.size}x{dom.size} matrix is "
                              f"singular ({e})", method=method, residual=float("nan"),
                              iterations=0, history=[], x=None) from None
        r = relres(x_flat)
        if not np.isfinite(r) or r > max(1e-6, rtol * 1e3):
            raise SolverError(f"solve(direct): residual {r:.3g} (the matrix is numerically "
                              "singular)", method=method, residual=r, iterations=1, history=[r],
                              x=dom.unflatten(x_flat))
        return dom.unflatten(x_flat)

    n = dom.size
    in_geometry = method == "cg" and cod == dom
    if in_geometry:
        # CG in the domain's geometry: (W A) x = W b, symmetric if A is self-adjoint.
        # Its residuals W (b - A x) are covectors, so a preconditioner M ≈ A⁻¹ of
        # this system is M W⁻¹ = M ∘ riesz ≈ (W A)⁻¹ (symmetric if M is self-adjoint).
        def op(v: np.ndarray) -> np.ndarray:
            return np.asarray(dom.flatten(dom.lower(A.fn(dom.unflatten(v)))), dtype=np.float64)

        rhs = np.asarray(dom.flatten(dom.lower(b)), dtype=np.float64)
    else:
        op, rhs = apply, b_flat
    lin = spla.LinearOperator((n, n), matvec=op, dtype=np.float64)
    prec = None
    if M is not None:
        def prec_op(v: np.ndarray) -> np.ndarray:
            r = cod.unflatten(v)
            if in_geometry:
                r = dom.riesz(r)
            return np.asarray(dom.flatten(M.fn(r)), dtype=np.float64)

        prec = spla.LinearOperator((n, n), matvec=prec_op, dtype=np.float64)
    x_init = None if x0 is None else flat_dom(x0)
    history: list[float] = []
    count = [0]

    def count_iter(_: Any) -> None:
        count[0] += 1

    def record(res: float) -> None:
        count[0] += 1
        history.append(float(res))

    rhs_norm = float(np.linalg.norm(rhs))
    tol_abs = max(rtol * rhs_norm, atol)
    kwargs: dict[str, Any] = {"rtol": 0.0, "atol": tol_abs, "maxiter": maxiter, "M": prec}
    if method == "cg":
        x_flat, info = spla.cg(lin, rhs, x0=x_init, callback=count_iter, **kwargs)
    elif method == "bicgstab":
        x_flat, info = spla.bicgstab(lin, rhs, x0=x_init, callback=count_iter, **kwargs)
    else:
        x_flat, info = spla.gmres(lin, rhs, x0=x_init, restart=restart, callback=record,
                                  callback_type="pr_norm", **kwargs)
    # SciPy tests convergence at the top of an iteration, so a last iterate that
    # meets the tolerance is still reported as info > 0: check it here
    if info > 0 and float(np.linalg.norm(rhs - op(x_flat))) <= tol_abs:
        info = 0
    if info != 0:
        r = relres(x_flat)
        what = "did not converge" if info > 0 else "broke down"
        raise SolverError(
            f"solve({method}) {what} after {count[0]} iterations: relative residual "
            f"‖b - A x‖/‖b‖ = {r:.3g} (asked rtol {rtol:g}, atol {atol:g}); raise maxiter, "
            "precondition, or check that A suits the method (CG needs A self-adjoint and "
            "positive)", method=method, residual=r, iterations=count[0], history=history,
            x=dom.unflatten(x_flat))
    return dom.unflatten(x_flat)


def cg(A: LinearMap | Callable[[Any], Any], b: Any, **kwargs: Any) -> Any:
    """Conjugate gradients (A self-adjoint and positive); see `solve`."""
    return solve(A, b, "cg", **kwargs)


def gmres(A: LinearMap | Callable[[Any], Any], b: Any, **kwargs: Any) -> Any:
    """Restarted GMRES for a general square A; see `solve`."""
    return solve(A, b, "gmres", **kwargs)


def bicgstab(A: LinearMap | Callable[[Any], Any], b: Any, **kwargs: Any) -> Any:
    """BiCGSTAB for a general square A; see `solve`."""
    return solve(A, b, "bicgstab", **kwargs)


def direct(A: LinearMap | Callable[[Any], Any], b: Any, **kwargs: Any) -> Any:
    """Materialise A and solve densely (small problems, or as a reference); see `solve`."""
    return solve(A, b, "direct", **kwargs)
