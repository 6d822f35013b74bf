"""Nonlinear solvers on arrays and pytrees (and, re-exported, the linear ones).

The linear solvers live in `riesz.linear_solvers` (solver objects) and
`riesz.linear` (`solve(A, b)`, `cg`, `gmres`, `bicgstab`, `direct`); they are
re-exported here, where SPEC §6 lists them.

Nonlinear (on concrete arrays and pytrees; they are not differentiated through
- `riesz.implicit` differentiates their solutions by the implicit function
theorem instead):

* `fixed_point_iteration(g, y0)`: y ← (1 - β) y + β g(y);
* `anderson(g, y0)`: Anderson acceleration of the same iteration;
* `broyden(f, y0)`: a root of f by Broyden's "good" quasi-Newton method;
* `newton(f, y0)`: Newton–Krylov, each step solving ∂f(y)[δ] = -f(y) by GMRES
  with JVPs of f (∂f(y)[u], one recorded linearisation per step, replayed).

Each returns a `Solution` (value, iterations, residual history). A solver that
does not converge raises `SolverError` with the residual history, or, with
`on_failure="warn"`, warns (`SolverWarning`) and returns its last iterate
marked `converged=False`.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse.linalg as spla

from ._core.pytree import tree_flatten, tree_unflatten
from .linear import bicgstab, cg, direct, gmres, solve
from .linear_solvers import SolverError, _Packer

__all__ = [
    "Solution",
    "SolverError",
    "SolverWarning",
    "anderson",
    "bicgstab",
    "broyden",
    "cg",
    "direct",
    "fixed_point_iteration",
    "gmres",
    "newton",
    "solve",
    "solve_fixed_point",
    "solve_root",
]

# -- nonlinear solvers ------------------------------------------------------------------
#
# They iterate on one flat float64 vector (a `_Packer` maps pytrees to it and back),
# call the user's function on concrete arrays only, and keep nothing from one
# iteration to the next but the few vectors the method needs: no tape is recorded,
# so memory does not grow with the number of iterations.


class SolverWarning(RuntimeWarning):
    """A solver did not converge; with `on_failure="warn"` it returned its last iterate.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as w:
    ...     warnings.simplefilter("always")
    ...     sol = riesz.fixed_point_iteration(lambda y: 2.0 * y + 1.0, 0.0, max_iter=3,
    ...                                       on_failure="warn")
    >>> print(sol.converged, w[0].category.__name__)
    False SolverWarning
    """


@dataclass(frozen=True)
class Solution:
    """What a nonlinear solver found.

    `value` is the last iterate (a pytree like `y0`), `iterations` the number of
    updates made, `history` the residual norm of every iterate visited
    (`history[-1]` is that of `value`: ‖g(y) - y‖ for fixed points, ‖f(y)‖ for
    roots), `converged` whether it met the tolerance, `method` the solver.
    A batched solve (`batched=True`) holds one Solution per example in
    `examples`; then `value` is the whole batch, `iterations` the most any
    example took, `history` the largest residual over the examples, and
    `converged` whether all converged.

    Examples
    --------
    >>> sol = riesz.newton(lambda y: y**2 - 2.0, 1.0)
    >>> print(round(float(sol.value), 6), sol.converged, sol.method)
    1.414214 True newton
    """

    value: Any
    iterations: int
    history: list[float] = field(repr=False)
    converged: bool
    method: str
    examples: tuple[Solution, ...] = field(default=(), repr=False)

    @property
    def residual(self) -> float:
        """The residual norm of `value`."""
        return self.history[-1] if self.history else float("nan")


_ON_FAILURE = ("raise", "warn")


def _check_options(who: str, max_iter: int, on_failure: str) -> None:
    if on_failure not in _ON_FAILURE:
        raise ValueError(f"{who}: on_failure must be one of {_ON_FAILURE}, got {on_failure!r}")
    if not isinstance(max_iter, (int, np.integer)) or max_iter < 0:
        raise ValueError(f"{who}: max_iter must be a non-negative integer, got {max_iter!r}")


def _finish(method: str, packer: _Packer, y: np.ndarray, history: list[float], iterations: int,
            converged: bool, on_failure: str, target: float, why: str = "") -> Solution:
    """The Solution, or SolverError / SolverWarning when the solve failed."""
    value = packer.unpack(y)
    if not converged:
        last = ", ".join(f"{r:.2e}" for r in history[-5:])
        if not why:
            why = "raise max_iter, loosen tol, or try another solver or damping"
        msg = (f"{method} did not converge after {iterations} iterations: residual "
               f"{history[-1]:.3g}, asked <= {target:.3g} (last residuals: {last}); {why}")
        if on_failure == "raise":
            raise SolverError(msg, method=method, residual=history[-1], iterations=iterations,
                              history=list(history), x=value)
        warnings.warn(msg, SolverWarning, stacklevel=4)
    return Solution(value, iterations, history, converged, method)


def _finish_rows(method: str, packer: _Packer, Y: np.ndarray, histories: list[list[float]],
                 iterations: np.ndarray, converged: np.ndarray, on_failure: str,
                 target: np.ndarray, why: str = "") -> Solution:
    """`_finish` for a solve packed as rows: unbatched (one row) it is `_finish`;
    batched, one Solution per example, and a failure names the examples."""
    if packer.batch is None:
        return _finish(method, packer, Y[0], histories[0], int(iterations[0]),
                       bool(converged[0]), on_failure, float(target[0]), why)
    examples = tuple(Solution(packer.example(Y, b), int(iterations[b]), h, bool(converged[b]),
                              method) for b, h in enumerate(histories))
    longest = max(len(h) for h in histories)
    history = [max(h[min(k, len(h) - 1)] for h in histories) for k in range(longest)]
    value = packer.unpack_rows(Y)
    failed = np.flatnonzero(~converged)
    if failed.size:
        worst = ", ".join(f"{b}: {histories[b][-1]:.3g} after {iterations[b]}"
                          for b in failed[:5])
        msg = (f"{method} did not converge for {failed.size} of {len(Y)} examples (example: "
               f"residual after iterations; {worst}), asked <= {float(np.max(target)):.3g}; "
               f"{why or 'raise max_iter, loosen tol, or try another solver or damping'}")
        if on_failure == "raise":
            raise SolverError(msg, method=method, residual=history[-1],
                              iterations=int(iterations.max()), history=history, x=value)
        warnings.warn(msg, SolverWarning, stacklevel=4)
    return Solution(value, int(iterations.max()), history, bool(converged.all()), method,
                    examples)


def _norm(v: np.ndarray) -> float:
    """‖v‖, inf (not an overflow warning) for iterates that have blown up."""
    with np.errstate(over="ignore", invalid="ignore"):
        return float(np.linalg.norm(v))


def _overflow_quiet(solver: Callable[..., Solution]) -> Callable[..., Solution]:
    """Run `solver` with NumPy's overflow / invalid warnings off: iterates that blow
    up are reported by SolverError (a non-finite residual), not by stray warnings."""
    @functools.wraps(solver)
    def quiet_solver(*args: Any, **kwargs: Any) -> Solution:
        with np.errstate(over="ignore", invalid="ignore"):
            return solver(*args, **kwargs)

    return quiet_solver


def _row_norms(V: np.ndarray) -> np.ndarray:
    """‖v_b‖ for each row (inf, not an overflow warning, for rows that blew up)."""
    with np.errstate(over="ignore", invalid="ignore"):
        return np.sqrt(np.einsum("bn,bn->b", V, V))


def _accept_rows(step: np.ndarray, k: int, old: tuple[np.ndarray, ...],
                 new: tuple[np.ndarray, ...], iterations: np.ndarray,
                 histories: list[list[float]]) -> tuple[np.ndarray, ...]:
    """Take the new iterate, residual rows and residual norm (Y, F, r) of the rows that
    stepped at iteration k, keep the others; log their iteration count and residual."""
    Y, F, r = (np.where(step[:, None] if a.ndim == 2 else step, a_new, a)
               for a, a_new in zip(old, new, strict=True))
    iterations[step] = k + 1
    for b in np.flatnonzero(step):
        histories[b].append(float(r[b]))
    return Y, F, r


def _diverged(r: float) -> str:
    return "" if np.isfinite(r) else "the iterates diverged (non-finite residual)"


@_overflow_quiet
def fixed_point_iteration(g: Callable[[Any], Any], y0: Any, *, tol: float = 1e-10,
                          rtol: float = 0.0, max_iter: int = 1000, damping: float = 1.0,
                          on_failure: str = "raise", batched: bool = False) -> Solution:
    """Solve y = g(y) by the damped iteration y ← y + β (g(y) - y).

    Converges when g is a contraction (‖∂g‖ < 1 near the fixed point; with
    damping β when the eigenvalues of I - β (I - ∂g) lie inside the unit disc).
    Stops at the first iterate with ‖g(y) - y‖ <= max(tol, rtol ‖g(y0) - y0‖);
    raises `SolverError` (or warns, `on_failure="warn"`) after `max_iter` updates.
    With `batched`, the leaves of y0 have a leading batch axis, g maps a batch to
    a batch, and each example is tested (and frozen once converged) on its own.

    Examples
    --------
    >>> sol = riesz.fixed_point_iteration(lambda y: 0.5 * y + 1.0, 0.0)  # y = 2
    >>> print(round(float(sol.value), 6), sol.iterations > 0)
    2.0 True

    Raises
    ------
    riesz.SolverError
        If it does not converge within `max_iter` (with `on_failure="raise"`).
    ValueError
        For a bad `on_failure` or `max_iter`.
    """
    return _mixing("fixed_point_iteration", g, y0, 0, damping, tol, rtol, max_iter, 0.0,
                   on_failure, batched)


@_overflow_quiet
def anderson(g: Callable[[Any], Any], y0: Any, *, m: int = 5, damping: float = 1.0,
             tol: float = 1e-10, rtol: float = 0.0, max_iter: int = 1000,
             regularization: float = 1e-10, on_failure: str = "raise",
             batched: bool = False) -> Solution:
    """Solve y = g(y) by Anderson acceleration (type II, memory `m`, mixing β = `damping`).

    With residuals f_i = g(y_i) - y_i of the last m + 1 iterates, the next
    iterate mixes them, y+ = Σ α_i (y_i + β f_i), with weights Σ α_i = 1 that
    minimise ‖Σ α_i f_i‖ (the residual of a linearised g). In difference form,
    ΔY and ΔF holding consecutive differences of iterates and residuals,
        γ = argmin ‖f_k - ΔF γ‖² + λ ‖γ‖²,   y+ = y_k + β f_k - (ΔY + β ΔF) γ,
    with a small Tikhonov term λ = regularization · tr(ΔFᵀ ΔF) against
    ill-conditioning. m = 0 is the damped fixed-point iteration. Stopping and
    failure, and `batched`, as in `fixed_point_iteration`.

    Examples
    --------
    >>> sol = riesz.anderson(np.cos, np.array([1.0]))  # y = cos y
    >>> print(np.round(sol.value, 6), sol.converged)
    [0.739085] True

    Raises
    ------
    riesz.SolverError
        If it does not converge within `max_iter` (with `on_failure="raise"`).
    ValueError
        For a negative memory `m`, a bad `on_failure` or `max_iter`.
    TypeError
        If `y0` is a traced value (differentiate through solves with `riesz.implicit`).
    """
    if m < 0:
        raise ValueError(f"anderson: the memory m must be >= 0, got {m}")
    return _mixing("anderson", g, y0, m, damping, tol, rtol, max_iter, regularization,
                   on_failure, batched)


def _mixing(name: str, g: Callable[[Any], Any], y0: Any, m: int, damping: float, tol: float,
            rtol: float, max_iter: int, regularization: float, on_failure: str,
            batched: bool = False) -> Solution:
    """Anderson mixing of the last m + 1 iterates (m = 0: the damped iteration).

    Works on rows: one row unbatched, one per example batched (`g` maps a batch
    to a batch). Each example has its own convergence test and mixing weights;
    an example that has converged (or failed) stops changing, and the loop ends
    when every example has."""
    _check_options(name, max_iter, on_failure)
    P = _Packer(y0, f"{name}: y0", batched)
    Y = P.pack_rows(y0, "y0")
    B = len(Y)
    ys: list[np.ndarray] = []
    fs: list[np.ndarray] = []
    histories: list[list[float]] = [[] for _ in range(B)]
    iterations = np.zeros(B, dtype=int)
    target = np.full(B, float(tol))
    done = np.zeros(B, dtype=bool)  # converged or failed: frozen
    converged = np.zeros(B, dtype=bool)
    why = ""
    for k in range(max_iter + 1):
        F = P.pack_rows(g(P.unpack_rows(Y)), "g(y)") - Y
        r = _row_norms(F)
        active = np.flatnonzero(~done)
        for b in active:
            histories[b].append(float(r[b]))
        if k == 0:
            target = np.maximum(tol, rtol * r)
        iterations[active] = k
        newly = ~done & (r <= target)
        converged |= newly
        failed = ~done & ~newly & (~np.isfinite(r) | (k == max_iter))
        if failed.any() and not np.isfinite(r[failed]).all():
            why = _diverged(float("inf"))
        done |= newly | failed
        if done.all():
            return _finish_rows(name, P, Y, histories, iterations, converged, on_failure,
                                target, why)
        ys.append(Y)
        fs.append(F)
        if len(ys) > m + 1:
            ys.pop(0)
            fs.pop(0)
        step = damping * F
        if len(ys) > 1:
            dY = np.stack([b - a for a, b in zip(ys[:-1], ys[1:], strict=True)], axis=2)
            dF = np.stack([b - a for a, b in zip(fs[:-1], fs[1:], strict=True)], axis=2)
            for b in np.flatnonzero(~done):
                gram = dF[b].T @ dF[b]
                lam = regularization * max(float(np.trace(gram)), np.finfo(float).tiny)
                gamma = np.linalg.lstsq(gram + lam * np.eye(len(gram)), dF[b].T @ F[b],
                                        rcond=None)[0]
                step[b] = step[b] - (dY[b] + damping * dF[b]) @ gamma
        Y = np.where(done[:, None], Y, Y + step)
    raise AssertionError("unreachable")


def _initial_jacobian_scale(f: Callable[[Any], Any], P: _Packer, y: np.ndarray,
                            fy: np.ndarray) -> float:
    """s with ∂f(y) ≈ s I: the Rayleigh quotient ⟨f, J f⟩ / ⟨f, f⟩ from one JVP
    (or ‖J f‖ / ‖f‖ when J f is nearly orthogonal to f, e.g. a rotation)."""
    from .transforms import jvp

    try:
        Jf = P.pack(jvp(f, (P.unpack(y),), (P.unpack(fy),))[1], "∂f(y)[f(y)]")
    except Exception as e:  # f leaves riesz's operations: the user must give the scale
        raise TypeError("broyden: estimating the initial Jacobian ∂f(y0) ≈ s I needs a JVP of "
                        f"f, which failed ({type(e).__name__}: {e}); pass jacobian0=s") from e
    ff = float(fy @ fy)
    s = float(fy @ Jf) / ff
    size = float(np.linalg.norm(Jf)) / np.sqrt(ff)
    if not np.isfinite(s) or size == 0.0:
        return 1.0
    if abs(s) < 1e-3 * size:
        return size
    return s


@_overflow_quiet
def broyden(f: Callable[[Any], Any], y0: Any, *, tol: float = 1e-10, rtol: float = 0.0,
            max_iter: int = 200, jacobian0: float | None = None, memory: int = 50,
            line_search: bool = True, on_failure: str = "raise",
            batched: bool = False) -> Solution:
    """Find a root f(y) = 0 by Broyden's "good" method.

    H ≈ ∂f(y)⁻¹ starts as I / s and takes the rank-one update that makes it
    map the last change of f to the last step, Δy = H+ Δf (Sherman–Morrison):
        H+ = H + (Δy - H Δf) (Δyᵀ H) / (Δyᵀ H Δf),
    stored as a sum of outer products (limited to `memory`, then restarted).
    s is `jacobian0`, or by default the Rayleigh quotient of ∂f(y0) from one
    JVP (so f must be written with operations riesz can trace). Each step is
    y ← y - t H f(y), t halved up to four times while ‖f‖ does not decrease.
    Stops when ‖f(y)‖ <= max(tol, rtol ‖f(y0)‖); raises `SolverError` (or
    warns) after `max_iter` steps. With `batched` (f maps a batch to a batch,
    examples independent), every example has its own H, step length and
    convergence test, and converged examples stop changing.

    Examples
    --------
    >>> sol = riesz.broyden(lambda y: y**3 - 8.0, np.array([1.5]))
    >>> print(np.round(sol.value, 6))
    [2.]

    Raises
    ------
    riesz.SolverError
        If it does not converge within `max_iter` (with `on_failure="raise"`).
    TypeError
        If `y0` is a traced value.
    """
    _check_options("broyden", max_iter, on_failure)
    if batched:
        return _broyden_rows(f, y0, tol, rtol, max_iter, jacobian0, memory, line_search,
                             on_failure)
    P = _Packer(y0, "broyden: y0")
    y = P.pack(y0, "y0")

    def F(v: np.ndarray) -> np.ndarray:
        return P.pack(f(P.unpack(v)), "f(y)")

    fy = F(y)
    r = _norm(fy)
    history = [r]
    target = max(tol, rtol * r)
    us: list[np.ndarray] = []
    vs: list[np.ndarray] = []
    s = 1.0

    def H(z: np.ndarray) -> np.ndarray:
        out = z / s
        for u, v in zip(us, vs, strict=True):
            out = out + u * float(v @ z)
        return out

    def HT(z: np.ndarray) -> np.ndarray:
        out = z / s
        for u, v in zip(us, vs, strict=True):
            out = out + v * float(u @ z)
        return out

    for k in range(max_iter + 1):
        if r <= target:
            return _finish("broyden", P, y, history, k, True, on_failure, target)
        if not np.isfinite(r) or k == max_iter:
            return _finish("broyden", P, y, history, k, False, on_failure, target, _diverged(r))
        if k == 0:
            s = float(jacobian0) if jacobian0 is not None else _initial_jacobian_scale(f, P, y, fy)
        dy = -H(fy)
        t = 1.0
        y_new = y + dy
        f_new = F(y_new)
        r_new = _norm(f_new)
        for _ in range(4 if line_search else 0):
            if r_new <= (1 - 1e-4 * t) * r:
                break
            t /= 2
            y_new = y + t * dy
            f_new = F(y_new)
            r_new = _norm(f_new)
        step, df = y_new - y, f_new - fy
        Hdf = H(df)
        denom = float(step @ Hdf)
        if abs(denom) > 1e-14 * float(np.linalg.norm(step) * np.linalg.norm(Hdf)) and denom:
            if len(us) >= memory:
                us.clear()
                vs.clear()
            v = HT(step)
            us.append((step - Hdf) / denom)
            vs.append(v)
        y, fy, r = y_new, f_new, r_new
        history.append(r)
    raise AssertionError("unreachable")


def _broyden_rows(f: Callable[[Any], Any], y0: Any, tol: float, rtol: float, max_iter: int,
                  jacobian0: float | None, memory: int, line_search: bool,
                  on_failure: str) -> Solution:
    """Batched Broyden (see `broyden`): the examples are rows of one matrix, each
    with its own inverse-Jacobian estimate H_b = I / s_b + Σ u_b v_bᵀ (an example
    that skips an update gets a zero term)."""
    from .transforms import jvp

    P = _Packer(y0, "broyden: y0", batched=True)
    Y = P.pack_rows(y0, "y0")

    def F(V: np.ndarray) -> np.ndarray:
        return P.pack_rows(f(P.unpack_rows(V)), "f(y)")

    def dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.einsum("bn,bn->b", a, b)

    FY = F(Y)
    r = _row_norms(FY)
    histories = [[float(v)] for v in r]
    target = np.maximum(tol, rtol * r)
    iterations = np.zeros(len(Y), dtype=int)
    converged = r <= target
    done = converged | ~np.isfinite(r)
    us: list[np.ndarray] = []
    vs: list[np.ndarray] = []
    if jacobian0 is not None:
        s = np.full(len(Y), float(jacobian0))
    else:  # the Rayleigh quotient of ∂f(y0) per example, as `_initial_jacobian_scale`
        try:
            JF = P.pack_rows(jvp(f, (P.unpack_rows(Y),), (P.unpack_rows(FY),))[1], "∂f(y)[f]")
        except Exception as e:
            raise TypeError("broyden: estimating the initial Jacobian ∂f(y0) ≈ s I needs a "
                            f"JVP of f, which failed ({type(e).__name__}: {e}); pass "
                            "jacobian0=s") from e
        with np.errstate(divide="ignore", invalid="ignore"):
            ff = dot(FY, FY)
            s = dot(FY, JF) / ff
            size = _row_norms(JF) / np.sqrt(ff)
            s = np.where(np.abs(s) < 1e-3 * size, size, s)
            s = np.where(~np.isfinite(s) | (size == 0.0) | ~np.isfinite(size), 1.0, s)

    def H(Z: np.ndarray) -> np.ndarray:
        out = Z / s[:, None]
        for u, v in zip(us, vs, strict=True):
            out = out + u * dot(v, Z)[:, None]
        return out

    def HT(Z: np.ndarray) -> np.ndarray:
        out = Z / s[:, None]
        for u, v in zip(us, vs, strict=True):
            out = out + v * dot(u, Z)[:, None]
        return out

    for k in range(max_iter):
        if done.all():
            break
        dY = np.where(done[:, None], 0.0, -H(FY))
        t = np.ones(len(Y))
        Y_new = Y + dY
        F_new = F(Y_new)
        r_new = _row_norms(F_new)
        for _ in range(4 if line_search else 0):
            shrink = ~done & ~(r_new <= (1 - 1e-4 * t) * r)
            if not shrink.any():
                break
            t[shrink] /= 2
            Y_new = Y + t[:, None] * dY
            F_new = F(Y_new)
            r_new = _row_norms(F_new)
        step = ~done
        dy, df = Y_new - Y, F_new - FY
        Hdf = H(df)
        denom = dot(dy, Hdf)
        update = step & (np.abs(denom) > 1e-14 * _row_norms(dy) * _row_norms(Hdf)) & \
            (denom != 0)
        if update.any():
            if len(us) >= memory:
                us.clear()
                vs.clear()
            safe = np.where(update, denom, 1.0)
            v = np.where(update[:, None], HT(dy), 0.0)
            us.append(np.where(update[:, None], (dy - Hdf) / safe[:, None], 0.0))
            vs.append(v)
        Y, FY, r = _accept_rows(step, k, (Y, FY, r), (Y_new, F_new, r_new), iterations,
                                histories)
        converged |= step & (r <= target)
        done |= converged | (step & ~np.isfinite(r))
    why = _diverged(float("inf")) if (~converged & ~np.isfinite(r)).any() else ""
    return _finish_rows("broyden", P, Y, histories, iterations, converged, on_failure, target,
                        why)


_KRYLOV = {"gmres": spla.gmres, "bicgstab": spla.bicgstab, "cg": spla.cg}


@_overflow_quiet
def newton(f: Callable[[Any], Any], y0: Any, *, tol: float = 1e-10, rtol: float = 0.0,
           max_iter: int = 50, linear_solver: str = "gmres", linear_rtol: float | None = None,
           linear_max_iter: int | None = None, line_search: bool = True,
           on_failure: str = "raise", batched: bool = False) -> Solution:
    """Find a root f(y) = 0 by Newton–Krylov.

    Each step records f once at y (`linearize`) and solves the Newton equation
        ∂f(y)[δ] = -f(y)
    matrix-free by `linear_solver` ("gmres", "bicgstab", or "cg" when ∂f(y)
    is symmetric positive definite, e.g. f a gradient near a minimum), each
    Krylov iteration one replayed JVP ∂f(y)[u]. The inexact solve stops at the
    relative residual η = `linear_rtol`, by default min(0.1, ‖f(y)‖) (so the
    convergence becomes quadratic near the root). A backtracking line search
    halves the step until ‖f‖ decreases by the Armijo factor (1 - 10⁻⁴ t).
    `f` must be written with operations riesz can trace. Stops when
    ‖f(y)‖ <= max(tol, rtol ‖f(y0)‖); raises `SolverError` (or warns).
    With `batched` (f maps a batch to a batch, examples independent), every
    example takes its own Newton steps, line search and convergence test; the
    Newton equations are solved together by a batched GMRES (whatever
    `linear_solver`), and converged examples stop changing.

    Math: solves ∂f(y)[δ] = -f(y) by Krylov iterations on JVPs, y ← y + δ.

    Examples
    --------
    >>> sol = riesz.newton(lambda y: rnp.stack([y[0] ** 2 - 4.0, y[1] - y[0]]), np.ones(2))
    >>> print(np.round(sol.value, 6))
    [2. 2.]

    Raises
    ------
    riesz.SolverError
        If it does not converge within `max_iter` (with `on_failure="raise"`).
    ValueError
        For an unknown `linear_solver`.
    """
    from .transforms import linearize_parts

    _check_options("newton", max_iter, on_failure)
    if linear_solver not in _KRYLOV:
        raise ValueError(f"newton: linear_solver must be one of {tuple(_KRYLOV)}, "
                         f"got {linear_solver!r}")
    if batched:
        return _newton_rows(f, y0, tol, rtol, max_iter, linear_rtol, linear_max_iter,
                            line_search, on_failure)
    P = _Packer(y0, "newton: y0")
    y = P.pack(y0, "y0")

    def F(v: np.ndarray) -> np.ndarray:
        return P.pack(f(P.unpack(v)), "f(y)")

    fy = F(y)
    r = _norm(fy)
    history = [r]
    target = max(tol, rtol * r)
    n = P.size
    for k in range(max_iter + 1):
        if r <= target:
            return _finish("newton", P, y, history, k, True, on_failure, target)
        if not np.isfinite(r) or k == max_iter:
            return _finish("newton", P, y, history, k, False, on_failure, target, _diverged(r))
        _, jvp_fn, _ = linearize_parts(f, P.unpack(y))

        def matvec(u: np.ndarray, jvp_fn: Callable[..., Any] = jvp_fn) -> np.ndarray:
            return P.pack(jvp_fn(P.unpack(u)), "∂f(y)[u]")

        J = spla.LinearOperator((n, n), matvec=matvec, dtype=np.float64)
        eta = linear_rtol if linear_rtol is not None else min(0.1, max(r, 1e-12))
        dy, _ = _KRYLOV[linear_solver](J, -fy, rtol=eta, atol=0.0, maxiter=linear_max_iter)
        if not np.all(np.isfinite(dy)):
            return _finish("newton", P, y, history, k, False, on_failure, target,
                           "the Newton equation's solve gave a non-finite step (is ∂f(y) "
                           "singular?)")
        t = 1.0
        y_new = y + dy
        f_new = F(y_new)
        r_new = _norm(f_new)
        while line_search and not r_new <= (1 - 1e-4 * t) * r and t > 2.0 ** -12:
            t /= 2
            y_new = y + t * dy
            f_new = F(y_new)
            r_new = _norm(f_new)
        if line_search and not r_new <= (1 - 1e-4 * t) * r:
            return _finish("newton", P, y, history, k, False, on_failure, target,
                           "the line search found no decrease of ‖f‖ along the Newton "
                           "direction (a local minimum of ‖f‖ that is not a root, or a "
                           "singular ∂f(y)); try another y0")
        y, fy, r = y_new, f_new, r_new
        history.append(r)
    raise AssertionError("unreachable")


def _newton_rows(f: Callable[[Any], Any], y0: Any, tol: float, rtol: float, max_iter: int,
                 linear_rtol: float | None, linear_max_iter: int | None, line_search: bool,
                 on_failure: str) -> Solution:
    """Batched Newton–Krylov (see `newton`): the examples are rows of one matrix."""
    from .transforms import linearize_parts

    P = _Packer(y0, "newton: y0", batched=True)
    Y = P.pack_rows(y0, "y0")

    def F(V: np.ndarray) -> np.ndarray:
        return P.pack_rows(f(P.unpack_rows(V)), "f(y)")

    FY = F(Y)
    r = _row_norms(FY)
    histories = [[float(v)] for v in r]
    target = np.maximum(tol, rtol * r)
    iterations = np.zeros(len(Y), dtype=int)
    converged = r <= target
    done = converged | ~np.isfinite(r)
    why = ""
    for k in range(max_iter):
        if done.all():
            break
        _, jvp_fn, _ = linearize_parts(f, P.unpack_rows(Y))

        def matvec(U: np.ndarray, jvp_fn: Callable[..., Any] = jvp_fn) -> np.ndarray:
            return P.pack_rows(jvp_fn(P.unpack_rows(U)), "∂f(y)[u]")

        eta = np.full(len(Y), linear_rtol) if linear_rtol is not None else \
            np.minimum(0.1, np.maximum(r, 1e-12))
        rhs = np.where(done[:, None], 0.0, -FY)
        dY = _batched_gmres(matvec, rhs, eta, linear_max_iter)[0]
        bad_step = ~done & ~np.isfinite(dY).all(axis=1)
        if bad_step.any():
            why = ("the Newton equation's solve gave a non-finite step (is ∂f(y) singular?)")
            done |= bad_step
            dY[bad_step] = 0.0
        t = np.ones(len(Y))
        Y_new = Y + dY
        F_new = F(Y_new)
        r_new = _row_norms(F_new)
        shrink = ~done & ~(r_new <= (1 - 1e-4 * t) * r) & (t > 2.0 ** -12)
        while line_search and shrink.any():
            t[shrink] /= 2
            Y_new = Y + t[:, None] * dY
            F_new = F(Y_new)
            r_new = _row_norms(F_new)
            shrink = ~done & ~(r_new <= (1 - 1e-4 * t) * r) & (t > 2.0 ** -12)
        stuck = ~done & ~(r_new <= (1 - 1e-4 * t) * r) if line_search else np.zeros_like(done)
        if stuck.any():
            why = ("the line search found no decrease of ‖f‖ along the Newton direction (a "
                   "local minimum of ‖f‖ that is not a root, or a singular ∂f(y)); try "
                   "another y0")
            done |= stuck
        step = ~done
        Y, FY, r = _accept_rows(step, k, (Y, FY, r), (Y_new, F_new, r_new), iterations,
                                histories)
        converged |= step & (r <= target)
        done |= converged | (step & ~np.isfinite(r))
    if (~converged & ~np.isfinite(r)).any() and not why:
        why = _diverged(float("inf"))
    return _finish_rows("newton", P, Y, histories, iterations, converged, on_failure, target,
                        why)


def _batched_gmres(matvec: Callable[[np.ndarray], np.ndarray], b: np.ndarray,
                   rtol: np.ndarray, maxiter: int | None = None, restart: int = 30
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Solve B independent systems A_i u_i = b_i (the rows of `b`; `matvec` applies
    every A_i to the rows of a B x n matrix at once) by restarted GMRES with
    Givens rotations, vectorised over the rows. Row i stops (its later Krylov
    directions are ignored) once ‖b_i - A_i u_i‖ <= rtol_i ‖b_i‖. Returns u and
    whether each row met its tolerance within `maxiter` (default 10 n) steps."""
    B, n = b.shape
    maxiter = 10 * n if maxiter is None else maxiter
    m = max(1, min(restart, n))
    u = np.zeros_like(b)
    goal = rtol * _row_norms(b)
    R = b.copy()
    res = _row_norms(R)
    active = res > goal
    steps_done = 0
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        while active.any() and steps_done < maxiter:
            beta = np.where(active, res, 0.0)
            V = np.zeros((m + 1, B, n))
            V[0] = np.where(active[:, None], R / np.where(beta > 0, beta, 1.0)[:, None], 0.0)
            H = np.zeros((B, m + 1, m))
            cs, sn = np.zeros((B, m)), np.zeros((B, m))
            g = np.zeros((B, m + 1))
            g[:, 0] = beta
            used = np.zeros(B, dtype=int)
            live = active.copy()
            for j in range(min(m, maxiter - steps_done)):
                w = matvec(V[j])
                w[~live] = 0.0
                for i in range(j + 1):
                    h = np.einsum("bn,bn->b", w, V[i])
                    H[:, i, j] = h
                    w -= h[:, None] * V[i]
                hn = _row_norms(w)
                H[:, j + 1, j] = hn
                V[j + 1] = np.where((live & (hn > 0))[:, None], w / hn[:, None], 0.0)
                for i in range(j):
                    hij = cs[:, i] * H[:, i, j] + sn[:, i] * H[:, i + 1, j]
                    H[:, i + 1, j] = -sn[:, i] * H[:, i, j] + cs[:, i] * H[:, i + 1, j]
                    H[:, i, j] = hij
                den = np.hypot(H[:, j, j], H[:, j + 1, j])
                ok = den > 0
                cs[:, j] = np.where(ok, H[:, j, j] / den, 1.0)
                sn[:, j] = np.where(ok, H[:, j + 1, j] / den, 0.0)
                H[:, j, j] = np.where(ok, den, H[:, j, j])
                H[:, j + 1, j] = 0.0
                g[:, j + 1] = -sn[:, j] * g[:, j]
                g[:, j] = cs[:, j] * g[:, j]
                used[live] = j + 1
                steps_done_row = np.abs(g[:, j + 1])
                live &= ~(steps_done_row <= goal) & ok
                if not live.any():
                    break
            steps_done += int(used.max())
            for row in np.flatnonzero(used):
                k = used[row]
                z = np.linalg.lstsq(np.triu(H[row, :k, :k]), g[row, :k], rcond=None)[0]
                u[row] += z @ V[:k, row]
            R = b - matvec(u)
            res = _row_norms(R)
            active = res > goal
    return u, ~active


FIXED_POINT_METHODS = ("anderson", "fixed_point", "broyden", "newton")
ROOT_METHODS = ("newton", "broyden", "anderson", "fixed_point")


def _sub_trees(a: Any, b: Any) -> Any:
    a_leaves, a_def = tree_flatten(a)
    b_leaves, b_def = tree_flatten(b)
    if a_def != b_def:
        raise ValueError(f"g(y) has structure {a_def}, y has {b_def}")
    return tree_unflatten(a_def, [x - y for x, y in zip(a_leaves, b_leaves, strict=True)])


def solve_fixed_point(g: Callable[[Any], Any], y0: Any, method: str = "anderson",
                      **options: Any) -> Solution:
    """y = g(y) by `method`: "anderson", "fixed_point" (damped iteration), or a
    root solver ("broyden", "newton") applied to f(y) = g(y) - y. `options` go
    to the solver; its residual is ‖g(y) - y‖ in every case.

    Examples
    --------
    >>> sol = riesz.solvers.solve_fixed_point(lambda y: 0.5 * y + 1.0, 0.0)
    >>> print(round(float(sol.value), 6), sol.method)
    2.0 anderson

    Raises
    ------
    ValueError
        For an unknown method.
    riesz.SolverError
        If the solver does not converge.
    """
    if method == "anderson":
        return anderson(g, y0, **options)
    if method == "fixed_point":
        return fixed_point_iteration(g, y0, **options)
    if method not in FIXED_POINT_METHODS:
        raise ValueError(f"solve_fixed_point: method must be one of {FIXED_POINT_METHODS}, "
                         f"got {method!r}")

    def fixed_point_residual(y: Any) -> Any:  # f(y) = g(y) - y
        return _sub_trees(g(y), y)

    return (newton if method == "newton" else broyden)(fixed_point_residual, y0, **options)


def solve_root(f: Callable[[Any], Any], y0: Any, method: str = "newton",
               **options: Any) -> Solution:
    """f(y) = 0 by `method`: "newton", "broyden", or a fixed-point solver
    ("anderson", "fixed_point") applied to g(y) = y - f(y), which converges when
    I - ∂f is a contraction (scale f, or pass damping=β, otherwise).

    Examples
    --------
    >>> sol = riesz.solvers.solve_root(lambda y: y**2 - 9.0, 2.0, method="broyden")
    >>> print(round(float(sol.value), 6))
    3.0

    Raises
    ------
    ValueError
        For an unknown method.
    riesz.SolverError
        If the solver does not converge.
    """
    if method == "newton":
        return newton(f, y0, **options)
    if method == "broyden":
        return broyden(f, y0, **options)
    if method not in ROOT_METHODS:
        raise ValueError(f"solve_root: method must be one of {ROOT_METHODS}, got {method!r}")

    def root_as_fixed_point(y: Any) -> Any:  # g(y) = y - f(y)
        return _sub_trees(y, f(y))

    solver = anderson if method == "anderson" else fixed_point_iteration
    return solver(root_as_fixed_point, y0, **options)
