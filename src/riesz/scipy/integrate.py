"""Differentiable ODE solvers with SciPy's signatures: `odeint` and `solve_ivp`.

They solve y' = f(y, t, θ), y(t_0) = y0 and return y(t_i) at the output
times t_0, t_1, ..., t_N (increasing or decreasing), differentiable in y0, the
times t and the parameters θ (`args`, any pytree of float arrays). SciPy's
solvers compute every value (LSODA for `odeint`; RK45, RK23, DOP853, Radau,
BDF or LSODA for `solve_ivp`); nothing is taped while they step.

Reverse mode is the **adjoint method**. For cotangents g_i of the outputs
y(t_i), the adjoint state a(t) solves, backwards from t_N to t_0,

    a' = -∂_y f(y, t, θ)*[a],   θ̄' = -∂_θ f(y, t, θ)*[a],   y' = f(y, t, θ),

starting from a(t_N) = g_N, θ̄(t_N) = 0, y(t_N) = y_N, and jumping by g_i at
each t_i (where y restarts from the stored output y_i). Then

    ȳ0 = a(t_0),  θ̄ = θ̄(t_0) = ∫ ∂_θ f*[a] dt,
    t̄_i = ⟨g_i, f(y_i, t_i)⟩ (i ≥ 1),  t̄_0 = -⟨a(t_0⁺), f(y_0, t_0)⟩,

with a(t_0⁺) the adjoint before the jump g_0. The right-hand side uses riesz's
own `vjp` of f; memory is that of the outputs, independent of the number of
solver steps. It is the continuous-time sibling of implicit differentiation:
the adjoint solves the transposed linearised equation, as λ = (∂_y g)*λ + v
does for a fixed point (`riesz.implicit`).

Speed: the right-hand sides of the derived ODEs (a `vjp` or `jvp` of f per
evaluation) are traced once per solve into a graph (`riesz.make_graph`) and run
as compiled NumPy code; a func that cannot be staged (Python control flow on a
value) is evaluated eagerly instead, with the same result. For a small state
(n (1 + n + P) ≤ 1024 numbers, P the differentiated parameters) and an
explicit `adjoint_method`, the backward solves of many intervals run as one:
on [t_{i-1}, t_i] the adjoint map a(t_i) ↦ (a(t_{i-1}), Δθ̄) is linear, so the
adjoint ODE is solved for the n basis vectors on K intervals at once (their
transition maps, in each interval's own time s ∈ [0, 1], to the tolerances
divided by √K so that each interval meets them), then chained from t_N down
with the jumps g_i; K is bounded, so memory stays that of the outputs.

Forward mode solves the **sensitivity equations** for s(t) = ∂y(t)[ẏ0, ṫ, θ̇]
alongside y:

    s' = ∂_y f[s] + ∂_θ f[θ̇],  s(t_0) = ẏ0 - f(y0, t0) ṫ_0,
    ∂y(t_i) = s(t_i) + f(y_i, t_i) ṫ_i,

with ∂f[·] from riesz's `jvp`. Both rules are calls of the same
differentiable ODE solve (a primitive whose rules are written with riesz
operations), so derivatives of any order and every nesting of the two modes
work: the Hessian-vector product of a loss through `odeint` differentiates the
adjoint (or sensitivity) ODE by the same two rules.

Accuracy: a derivative is the solution of another ODE, computed to the
tolerances given (`adjoint_rtol`, `adjoint_atol` for the backward solve; the
forward solve's for the sensitivity equations). Its error is of the order of
those tolerances times the conditioning of the problem (as for y itself); it is
not the derivative of the discrete solver. Because y is solved again backwards
from each stored output, a strongly contracting (stiff) system makes that
backward solve unstable over long intervals between outputs: give output times
dense enough, or an implicit `adjoint_method` ("Radau", "BDF", "LSODA").

Under `vmap` each example is solved on its own (a loop over the batch).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import scipy.integrate as _si
from scipy.optimize import OptimizeResult

from .. import numpy as rnp
from .._core.primitive import Primitive
from .._core.pytree import tree_flatten, tree_unflatten
from .._core.trace import Tracer, strip_derivatives
from .._primitives._util import host_value
from ..derivatives import jacfwd
from ..implicit import _FloatLeaves
from ..staged import _no_gc, compile_graph, make_graph, optimize
from ..transforms import jvp, vjp, vmap

__all__ = ["ODEError", "OdeResult", "odeint", "solve_ivp"]

IVP_METHODS = {"RK45": _si.RK45, "RK23": _si.RK23, "DOP853": _si.DOP853,
               "Radau": _si.Radau, "BDF": _si.BDF, "LSODA": _si.LSODA}
_IMPLICIT = ("Radau", "BDF", "LSODA")

# The right-hand sides of the sensitivity and adjoint ODEs (a `jvp` / `vjp` of func at
# each evaluation) are traced once per solve into a graph and run as compiled NumPy code;
# False runs them eagerly (a trace per evaluation), as a func that cannot be staged does.
STAGE_DERIVATIVES = True


class ODEError(RuntimeError):
    """A solve (forward, sensitivity or adjoint) did not reach the final time.

    Examples
    --------
    >>> print(issubclass(riesz.scipy.integrate.ODEError, RuntimeError))
    True
    """


def _has_tracer(leaves: Sequence[Any]) -> bool:
    return any(isinstance(v, Tracer) for v in leaves)


def _stage(fun: Callable[..., Any], *example: Any) -> Callable[..., list[Any]] | None:
    """fun compiled for the shapes and dtypes of `example` (`make_graph`,
    `optimize`, `compile_graph`): run(*args) -> [outputs]. None where fun cannot
    be staged: Python control flow on a value (`ConcretizationError`, or the
    `TypeError` of `float(t)` on the batched times of `_Problem.transitions`),
    any other failure to trace it on abstract values, or a value it closes over
    that a transformation is following. The caller then evaluates it eagerly:
    the same result, a trace per evaluation (a genuine error of fun is raised
    there, from the code the user wrote)."""
    with _no_gc():  # a graph's many small objects would set off full collections
        try:
            graph = optimize(make_graph(fun)(*example))
        except Exception:  # the eager path is the reference, and reports a real error
            return None
        return None if graph.has_tracer_consts else compile_graph(graph)


def _release(solver: Any) -> None:
    """Free a SciPy OdeSolver now: its `fun` closes over the solver (a reference
    cycle), which would keep its stage arrays alive until the next collection."""
    vars(solver).clear()


def _in_y_and_selected(fun: Callable[..., Any], t: Any, theta: Sequence[Any],
                       diff: tuple[int, ...]) -> Callable[..., Any]:
    """`fun(y, t, *theta)` as a function of y and of the arguments `theta[i]`, i in
    `diff` (the ones being differentiated; the others stay fixed)."""
    def f(y: Any, *sel: Any) -> Any:
        th = list(theta)
        for i, v in zip(diff, sel, strict=True):
            th[i] = v
        return fun(y, t, *th)

    return f


class _Problem:
    """y' = fun(y, t, *θ) on flat float vectors y, with the solver's options.

    `fun` is written with riesz operations (it is differentiated by `jvp` and
    `vjp` in the rules); `method` is "odeint" (SciPy's odeint, LSODA) or a
    `solve_ivp` method. The adjoint and sensitivity problems built from it are
    cached, so a derivative taken twice reuses them."""

    def __init__(self, fun: Callable[..., Any], who: str, method: str, rtol: float,
                 atol: float, options: dict[str, Any], adjoint: tuple[str, float, float],
                 stage: bool = False):
        self.fun = fun
        self.stage = stage  # a derived problem: its concrete RHS runs as a staged graph
        self._staged: dict[Any, Any] = {}
        self.who = who
        self.method = method
        self.rtol, self.atol = rtol, atol
        self.options = options
        self.adjoint_opts = adjoint
        self.stats: dict[str, Any] = {}
        self._derived: dict[Any, Any] = {}  # the derived problems and functions

    # -- concrete numerics -------------------------------------------------------
    def rhs_concrete(self, theta: Sequence[Any], y0: np.ndarray
                     ) -> Callable[[np.ndarray, float], np.ndarray]:
        fun, who = self.fun, self.who
        run = None
        if self.stage and STAGE_DERIVATIVES:
            run = self.staged(np.asarray(y0, np.float64), theta)
        if run is not None:
            def staged_rhs(y: np.ndarray, t: float) -> np.ndarray:
                return np.asarray(run(y, float(t), *theta)[0], dtype=np.float64)

            return staged_rhs

        def rhs(y: np.ndarray, t: float) -> np.ndarray:
            out = fun(y, t, *theta)
            if isinstance(out, Tracer):
                raise TypeError(
                    f"{who}: the function returned a traced value for concrete y, t and "
                    "args: it closes over a value being differentiated. Pass every "
                    "parameter the derivative should see through args")
            return np.asarray(out, dtype=np.float64)

        return rhs

    def staged(self, y: np.ndarray, theta: Sequence[Any], jacobian: bool = False
               ) -> Callable[..., list[Any]] | None:
        """The RHS (or its Jacobian ∂_y f) traced once per shapes of y and θ into a
        graph compiled to straight-line NumPy (`riesz.staged`), or None where fun
        cannot be staged."""
        key = (jacobian, np.shape(y), *((np.shape(v), np.result_type(v).str) for v in theta))
        if key not in self._staged:
            fun = self.fun

            def jac(y: Any, s: Any, *theta: Any) -> Any:
                return jacfwd(lambda y_: fun(y_, s, *theta))(y)

            self._staged[key] = _stage(jac if jacobian else fun, y, 0.0, *theta)
        return self._staged[key]

    def solve(self, y0: np.ndarray, t: np.ndarray, theta: Sequence[Any],
              first_step: float | None = None) -> tuple[np.ndarray, float | None]:
        """The solution at the times t (rows), and the last step size taken."""
        y0 = np.asarray(y0, dtype=np.float64)
        t = np.asarray(t, dtype=np.float64)
        # SciPy steps in float64: float32 parameters would round f to float32 and stall
        # the step-size control at tight tolerances
        theta = [np.asarray(v, dtype=np.float64) for v in theta]
        rhs = self.rhs_concrete(theta, y0)
        if t[-1] == t[0]:  # one time, or repeated times: nothing to integrate
            return np.repeat(y0[None], len(t), axis=0), first_step
        if self.method == "odeint":  # (full_output would keep 11 arrays of len(t))
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", _si.ODEintWarning)
                ys = _si.odeint(rhs, y0, t, rtol=self.rtol, atol=self.atol, **self.options)
            failed = [w for w in caught if issubclass(w.category, _si.ODEintWarning)]
            if failed:
                raise ODEError(f"{self.who}: odeint (LSODA) failed: {failed[0].message} "
                               "(try other rtol/atol, a larger mxstep, or solve_ivp)")
            for w in caught:  # anything else is the user's business
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
            return ys, None
        return self._step(rhs, y0, t, self.method, self.rtol, self.atol, first_step, theta)

    def _step(self, rhs: Callable[..., Any], y0: np.ndarray, t: np.ndarray, method: str,
              rtol: float, atol: float, first_step: float | None, theta: Sequence[Any]
              ) -> tuple[np.ndarray, float | None]:
        """Step a SciPy OdeSolver from t[0] to t[-1], with dense output at each t_i."""
        kw: dict[str, Any] = {k: v for k, v in self.options.items()
                              if k in ("max_step", "first_step")}
        if first_step is not None and np.isfinite(first_step) and first_step > 0:
            kw["first_step"] = min(first_step, abs(t[-1] - t[0]))
        if method in _IMPLICIT:
            kw["jac"] = self.jacobian(theta, y0)
        solver = IVP_METHODS[method](lambda s, y: rhs(y, s), t[0], y0, t[-1],
                                     rtol=rtol, atol=atol, **kw)
        out = np.empty((len(t), len(y0)))
        out[0] = y0
        k, direction = 1, np.sign(t[-1] - t[0])
        while t[k] == t[0]:  # repeated initial times
            out[k] = y0
            k += 1
        while k < len(t):
            message = solver.step()
            if solver.status == "failed":
                raise ODEError(f"{self.who}: {method} failed at t = {solver.t:.6g}: {message} "
                               "(try other tolerances or an implicit method)")
            dense = None
            while k < len(t) and (t[k] - solver.t) * direction <= 0:
                if t[k] == solver.t:
                    out[k] = solver.y
                else:
                    dense = dense or solver.dense_output()
                    out[k] = dense(t[k])
                k += 1
        self.stats = {"nfev": solver.nfev, "njev": solver.njev, "nlu": solver.nlu}
        step = solver.step_size
        _release(solver)
        return out, step

    def jacobian(self, theta: Sequence[Any], y0: np.ndarray
                 ) -> Callable[[float, np.ndarray], np.ndarray]:
        """∂_y f(y, t) by riesz's forward mode, for the implicit methods (staged
        once per solve, as the derived RHS are)."""
        fun = self.fun
        run = self.staged(np.asarray(y0, np.float64), theta, True) if STAGE_DERIVATIVES \
            else None
        if run is not None:
            def staged_jac(s: float, y: np.ndarray) -> np.ndarray:
                return np.asarray(run(y, float(s), *theta)[0], dtype=np.float64)

            return staged_jac

        def jac(s: float, y: np.ndarray) -> np.ndarray:
            return np.asarray(jacfwd(lambda y_: fun(y_, s, *theta))(y), dtype=np.float64)

        return jac

    # -- the derived problems of the rules ---------------------------------------
    def sensitivity(self, n: int, diff: tuple[int, ...]) -> _Problem:
        """z = (y, s): y' = f, s' = ∂_y f[s] + ∂_θ f[θ̇]; args (*θ, *θ̇[diff])."""
        key = ("jvp", n, diff)
        if key not in self._derived:
            fun = self.fun

            def sensitivity_rhs(z: Any, t: Any, *args: Any) -> Any:
                k = len(args) - len(diff)
                theta, dtheta = args[:k], args[k:]

                f = _in_y_and_selected(fun, t, theta, diff)

                fy, fs = jvp(f, (z[:n], *(theta[i] for i in diff)), (z[n:], *dtheta))
                return rnp.concatenate([fy, fs])

            self._derived[key] = _Problem(sensitivity_rhs, self.who, self.method, self.rtol,
                                          self.atol, self.options, self.adjoint_opts, True)
        return self._derived[key]

    def adjoint(self, n: int, diff: tuple[int, ...]) -> _Problem:
        """z = (y, a, θ̄[diff]): y' = f, a' = -∂_y f*[a], θ̄' = -∂_θ f*[a]; args θ."""
        key = ("vjp", n, diff)
        if key not in self._derived:
            fun = self.fun
            method, rtol, atol = self.adjoint_opts

            def adjoint_rhs(z: Any, t: Any, *theta: Any) -> Any:
                f = _in_y_and_selected(fun, t, theta, diff)

                fy, pullback = vjp(f, z[:n], *(theta[i] for i in diff))
                cts = pullback(z[n:2 * n])
                parts = [fy, -cts[0]] + [-rnp.ravel(c) for c in cts[1:]]
                return rnp.concatenate(parts)

            self._derived[key] = _Problem(adjoint_rhs, self.who, method, rtol, atol,
                                          self.options if method == "odeint" else
                                          {k: v for k, v in self.options.items()
                                           if k == "max_step"},
                                          self.adjoint_opts, True)
        return self._derived[key]

    def transitions(self, n: int, diff: tuple[int, ...]) -> Callable[..., Any]:
        """The adjoint ODE of K intervals at once, for the n basis vectors.

        Row k of Z holds y (n), A (n × n) and B (n × P) of the interval from
        t_end[k] back to t_end[k] + h[k], in the time s ∈ [0, 1] of that interval
        (t = t_end + s h): y' = h f, and for each basis vector e_j (row j of A, B)
        a_j' = -h ∂_y f*[a_j], b_j' = -h ∂_θ f*[a_j]. From A = I, B = 0 at s = 0,
        A and B at s = 1 map the adjoint a at t_end to a A at the interval's start
        and to the increment a B of θ̄: the adjoint map is linear in a."""
        key = ("transitions", n, diff)
        if key not in self._derived:
            fun = self.fun

            def transition_rhs(Z: Any, s: Any, t_end: Any, h: Any, *theta: Any) -> Any:
                def one(z: Any, te: Any, hk: Any) -> Any:
                    tau = te + s * hk

                    f = _in_y_and_selected(fun, tau, theta, diff)

                    fy, pullback = vjp(f, z[:n], *(theta[i] for i in diff))
                    cts = vmap(pullback)(rnp.reshape(z[n:n + n * n], (n, n)))
                    return rnp.concatenate([hk * fy] + [-hk * rnp.ravel(c) for c in cts])

                return vmap(one)(Z, t_end, h)

            self._derived[key] = transition_rhs
        return self._derived[key]


# Reverse mode runs the backward solves of K ≥ 2 output intervals as one vectorised solve
# (`_adjoint_by_transitions`) when the state is small: n (1 + n + P) numbers per interval,
# at most _BATCH_FLOATS per solve (its memory, whatever the number of output times), and
# an explicit adjoint_method.
_BATCH_FLOATS = 2048
_EXPLICIT = ("RK45", "RK23", "DOP853")


def _adjoint_by_transitions(problem: _Problem, g: np.ndarray, ys: np.ndarray, t: np.ndarray,
                            theta: Sequence[Any], diff: tuple[int, ...], sizes: Sequence[int]
                            ) -> tuple[np.ndarray, np.ndarray] | None:
    """a(t_0) (after the jump g_0) and θ̄(t_0) of the adjoint method, the backward
    solves of the intervals [t_{i-1}, t_i] run K at a time for their transition
    maps (`_Problem.transitions`), then chained from t_N down with the jumps g_i.
    None where that does not pay (a large state, an implicit adjoint method,
    few intervals, tolerances too tight to share) or fun cannot be staged."""
    method, rtol, atol = problem.adjoint_opts
    N, n = ys.shape
    P = sum(sizes)
    m = n * (1 + n + P)
    intervals = N - 1
    eps100 = 100 * np.finfo(np.float64).eps
    k_tol = int((min(rtol / eps100, 1e6)) ** 2)  # the shared solve tightens tol by sqrt(K)
    k_max = min(_BATCH_FLOATS // m, k_tol, intervals)
    if method not in _EXPLICIT or intervals < 3 or k_max < 2 or not STAGE_DERIVATIVES:
        return None
    chunks = -(-intervals // k_max)
    K = -(-intervals // chunks)  # equal chunks; the last is padded with empty intervals
    theta = [np.asarray(v, dtype=np.float64) for v in theta]
    fn = problem.transitions(n, diff)
    Z0 = np.zeros((K, m))
    Z0[:, n:n + n * n] = np.eye(n).ravel()
    run = _stage(fn, Z0, 0.0, Z0[:, 0], Z0[:, 0], *theta)
    if run is None:
        return None
    scale = float(np.sqrt(K))
    kw: dict[str, Any] = {}
    max_step = problem.options.get("max_step", np.inf)
    a = np.asarray(g[N - 1], dtype=np.float64)
    theta_bar = np.zeros(P)
    eye = np.eye(n).ravel()
    for c in range(chunks):
        hi = N - 1 - c * K  # rows r = 0..K-1: the intervals i = hi - r (while i >= 1)
        rows = min(K, hi)
        i = np.arange(hi, hi - rows, -1)
        t_end = np.zeros(K)
        h = np.zeros(K)
        t_end[:rows] = t[i]
        h[:rows] = t[i - 1] - t[i]
        Z = np.zeros((K, m))
        Z[:rows, :n] = ys[i]
        Z[:, n:n + n * n] = eye
        span = float(np.max(np.abs(h)))
        if span == 0.0:  # only repeated times: every map is the identity
            A, B = Z[:, n:n + n * n], Z[:, n + n * n:]
        else:
            if np.isfinite(max_step):
                kw["max_step"] = max_step / span

            def rhs(s: float, z: np.ndarray, t_end: np.ndarray = t_end,
                    h: np.ndarray = h) -> np.ndarray:
                return run(z.reshape(K, m), float(s), t_end, h, *theta)[0].ravel()

            solver = IVP_METHODS[method](rhs, 0.0, Z.ravel(), 1.0, rtol=rtol / scale,
                                         atol=atol / scale, **kw)
            while solver.status == "running":
                message = solver.step()
                if solver.status == "failed":
                    raise ODEError(f"{problem.who}: the adjoint solve ({method}) failed on "
                                   f"[{t[i[-1] - 1]:.6g}, {t[i[0]]:.6g}]: {message} (try other "
                                   "adjoint tolerances or an implicit adjoint_method)")
            Zf = solver.y.reshape(K, m)
            _release(solver)
            A, B = Zf[:, n:n + n * n], Zf[:, n + n * n:]
        A = A.reshape(K, n, n)
        if P:  # per parameter, (n × size) blocks: side by side as (n × P)
            B = np.concatenate([b.reshape(K, n, sz) for b, sz in zip(
                np.split(B, np.cumsum([n * sz for sz in sizes])[:-1], axis=1), sizes,
                strict=True)], axis=2)
        a_in = np.empty((rows, n))
        for r in range(rows):
            a_in[r] = a
            a = a @ A[r] + g[i[r] - 1]
        if P:
            theta_bar += np.einsum("rj,rjp->p", a_in, B[:rows])
    return a, theta_bar


# -- the primitive: its impl, the sensitivity (JVP) and adjoint (VJP) rules ----------------


def _odeint_impl(y0: Any, t: Any, *theta: Any, problem: _Problem) -> np.ndarray:
    arrays = [v for v in (y0, t, *theta) if not isinstance(v, (int, float))]  # scalars: weak
    dtype = np.result_type(*(np.asarray(v).dtype for v in arrays), np.float32)
    return problem.solve(y0, t, theta)[0].astype(dtype, copy=False)


def _rhs_at_outputs(problem: _Problem, ys: Any, t: Any, theta: Sequence[Any]) -> Any:
    """f(y_i, t_i, θ) for every output row, as one batched call."""
    return vmap(lambda y, s: problem.fun(y, s, *theta), in_axes=(0, 0))(ys, t)


def _odeint_jvp(primals: Sequence[Any], tangents: Sequence[Any], ans: Any, *,
                problem: _Problem) -> Any:
    y0, t, *theta = primals
    dy0, dt, *dtheta = tangents
    n = y0.shape[0]
    diff = tuple(i for i, d in enumerate(dtheta) if d is not None)
    s0 = rnp.zeros_like(y0) if dy0 is None else dy0
    if dt is not None:  # moving t_0 moves the whole solution: s(t_0) = ẏ0 - f(y0, t0) ṫ_0
        s0 = s0 - problem.fun(y0, t[0], *theta) * dt[0]
    if dy0 is None and dt is None and not diff:
        return None
    sens = problem.sensitivity(n, diff)
    zs = odeint_p(rnp.concatenate([y0, s0]), t, *theta, *(dtheta[i] for i in diff),
                  problem=sens)
    out = zs[:, n:]
    if dt is not None:  # moving t_i moves the output along the trajectory
        out = out + _rhs_at_outputs(problem, ans, t, theta) * rnp.reshape(dt, (-1, 1))
    return out


def _cast(x: Any, like: Any) -> Any:
    """x in the dtype of the primal `like` (SciPy computes in float64)."""
    if isinstance(x, np.ndarray) and x.dtype != np.result_type(like):
        return x.astype(np.result_type(like))
    return x


def _odeint_vjp(g: Any, ans: Any, primals: Sequence[Any], argnums: Sequence[int], *,
                problem: _Problem) -> list[Any]:
    y0, t, *theta = primals
    ys = ans
    n, N = y0.shape[0], t.shape[0]
    diff = tuple(k - 2 for k in argnums if k >= 2)
    shapes = [np.shape(theta[i]) for i in diff]
    sizes = [int(np.prod(s)) for s in shapes]
    adj = problem.adjoint(n, diff)
    traced = _has_tracer([g, ys, t, *theta])
    a = g[N - 1]
    theta_bar: Any = rnp.zeros(sum(sizes), dtype=np.float64) if diff else None  # traced later
    step = None
    done = None if traced else _adjoint_by_transitions(
        problem, np.asarray(g, np.float64), np.asarray(ys, np.float64),
        np.asarray(t, np.float64), theta, diff, sizes)
    if done is not None:
        a, theta_bar = done
    for i in range(N - 1, 0, -1) if done is None else ():
        if traced:  # a differentiable solve: higher derivatives differentiate it again
            z = rnp.concatenate([ys[i], a] + ([theta_bar] if diff else []))
            z = odeint_p(z, rnp.stack([t[i], t[i - 1]]), *theta, problem=adj)[-1]
        elif t[i] != t[i - 1]:  # concrete: carry the step size over the jump
            z = np.concatenate([ys[i], a] + ([theta_bar] if diff else []))
            zs, step = adj.solve(z, np.array([t[i], t[i - 1]]), theta, first_step=step)
            z = zs[-1]
        else:  # a repeated time: no interval to integrate over
            z = np.concatenate([ys[i], a] + ([theta_bar] if diff else []))
        a = z[n:2 * n] + g[i - 1]
        if diff:
            theta_bar = z[2 * n:]
    out: list[Any] = []
    for k in argnums:
        if k == 0:
            out.append(_cast(a, y0))
        elif k == 1:
            fs = _rhs_at_outputs(problem, ys, t, theta)
            t_bar = rnp.sum(g * fs, axis=1)
            a0 = a - g[0]  # the adjoint before the jump at t_0
            t_bar = rnp.concatenate([rnp.reshape(-rnp.sum(a0 * fs[0]), (1,)), t_bar[1:]])
            out.append(_cast(t_bar, t))
        else:
            j = diff.index(k - 2)
            start = sum(sizes[:j])
            out.append(_cast(rnp.reshape(theta_bar[start:start + sizes[j]], shapes[j]),
                             theta[k - 2]))
    return out


odeint_p = Primitive(
    "odeint", _odeint_impl, family="integrate",
    notes="y(t_i) of y' = f(y, t, θ): SciPy solves; sensitivity equations (JVP), adjoint "
          "method (VJP); vmap loops over the batch",
)
odeint_p.def_joint_jvp(_odeint_jvp).def_joint_vjp(_odeint_vjp)


# -- the public functions ----------------------------------------------------------------


class _State:
    """y0 as a flat float vector, and the map back to y0's structure (one array,
    or any pytree of arrays; a list of numbers is one 1-D array, as in SciPy)."""

    def __init__(self, y0: Any, who: str):
        if isinstance(y0, (list, tuple)) and y0 and all(
                not isinstance(v, (list, tuple, dict)) and np.ndim(v) == 0 for v in y0):
            y0 = rnp.stack([rnp.asarray(v) for v in y0]) if _has_tracer(y0) else np.asarray(y0)
        leaves, self.treedef = tree_flatten(y0)
        if not leaves:
            raise ValueError(f"{who}: y0 is empty")
        self.leaves = []
        for v in leaves:
            dtype = v.dtype if isinstance(v, Tracer) else np.result_type(v)
            if np.dtype(dtype).kind not in "biuf":
                raise TypeError(f"{who}: y0 must be real (float) arrays, got dtype {dtype}")
            if not isinstance(v, Tracer):
                v = np.asarray(v, np.result_type(dtype, np.float32))
            self.leaves.append(v)
        self.shapes = [tuple(v.shape) for v in self.leaves]
        self.sizes = [int(np.prod(s)) for s in self.shapes]
        self.single = self.treedef == tree_flatten(0.0)[1]  # y0 is one array
        self.simple = self.single and len(self.shapes[0]) == 1

    def flat(self) -> Any:
        if self.simple:
            return self.leaves[0]
        return rnp.concatenate([rnp.ravel(v) for v in self.leaves])

    def unflatten(self, y: Any) -> Any:
        """y (flat, or rows of flat vectors) in y0's structure."""
        if self.simple:
            return y
        lead = tuple(np.shape(y)[:-1]) if not isinstance(y, Tracer) else tuple(y.shape[:-1])
        out, start = [], 0
        for shape, size in zip(self.shapes, self.sizes, strict=True):
            piece = y[..., start:start + size]
            out.append(piece.reshape(lead + shape) if type(piece) is np.ndarray
                       else rnp.reshape(piece, lead + shape))
            start += size
        return tree_unflatten(self.treedef, out)

    def ravel_output(self, out: Any, who: str) -> Any:
        if self.single:
            if isinstance(out, (list, tuple)):  # SciPy accepts a list: [dx, dy]
                out = (rnp.stack([rnp.asarray(v) for v in out]) if _has_tracer(out)
                       else np.asarray(out, np.float64))
            shape = tuple(out.shape) if isinstance(out, Tracer) else np.shape(out)
            if shape != self.shapes[0]:
                raise ValueError(f"{who}: the function returned shape {shape}, y0 has shape "
                                 f"{self.shapes[0]}")
            return out if self.simple else rnp.reshape(out, (-1,))
        leaves, treedef = tree_flatten(out)
        if treedef != self.treedef:
            raise ValueError(f"{who}: the function returned structure {treedef}, y0 has "
                             f"{self.treedef}")
        return rnp.concatenate([rnp.ravel(v) for v in leaves])


def _concrete_or_none(v: Any) -> Any:
    """v without derivative levels, or None when vmap batches it."""
    v = strip_derivatives(v)
    return None if isinstance(v, Tracer) else host_value(v, "ODE solver")


def _check_times(t: Any, who: str, name: str) -> Any:
    tc = _concrete_or_none(t)
    if tc is not None:
        if tc.ndim != 1 or tc.shape[0] < 1:
            raise ValueError(f"{who}: {name} must be a 1-D array of times, got shape {tc.shape}")
        if not np.all(np.isfinite(tc)):
            raise ValueError(f"{who}: {name} must be finite")
        d = np.diff(tc)
        if len(d) and not (np.all(d >= 0) or np.all(d <= 0)):
            raise ValueError(f"{who}: {name} must be increasing or decreasing (monotonic)")
    if not isinstance(t, Tracer):
        t = np.asarray(t, dtype=np.result_type(np.asarray(t).dtype, np.float32))
    return t


def _build(who: str, func: Callable[..., Any], state: _State, args: Any, method: str,
           rtol: float, atol: float, options: dict[str, Any],
           adjoint: tuple[str | None, float | None, float | None],
           t_first: bool) -> tuple[_Problem, list[Any]]:
    """The flat problem and its float parameter leaves (the primitive's operands)."""
    if not isinstance(args, tuple):
        args = (args,)
    params = _FloatLeaves(args)

    def flat_fun(y: Any, t: Any, *theta: Any) -> Any:
        full = params.rebuild(theta)
        yy = state.unflatten(y)
        out = func(t, yy, *full) if t_first else func(yy, t, *full)
        return state.ravel_output(out, who)

    a_method, a_rtol, a_atol = adjoint
    a_method = a_method or ("RK45" if method == "odeint" else method)
    if a_method not in IVP_METHODS:
        raise ValueError(f"{who}: adjoint_method must be one of {sorted(IVP_METHODS)}, "
                         f"got {a_method!r}")
    for name, v in (("rtol", rtol), ("atol", atol), ("adjoint_rtol", a_rtol),
                    ("adjoint_atol", a_atol)):
        if v is not None and not (np.ndim(v) == 0 and float(v) > 0):
            raise ValueError(f"{who}: {name} must be a positive number, got {v!r}")
    problem = _Problem(flat_fun, who, method, float(rtol), float(atol), options,
                       (a_method, float(a_rtol or rtol), float(a_atol or atol)))
    return problem, [params.leaves[i] for i in params.idx]


def odeint(func: Callable[..., Any], y0: Any, t: Any, args: Any = (), Dfun: Any = None,
           col_deriv: int = 0, full_output: int = 0, ml: Any = None, mu: Any = None,
           rtol: float | None = None, atol: float | None = None, tcrit: Any = None,
           h0: float = 0.0, hmax: float = 0.0, hmin: float = 0.0, ixpr: int = 0,
           mxstep: int = 0, mxhnil: int = 0, mxordn: int = 12, mxords: int = 5,
           printmessg: int = 0, tfirst: bool = False, *, adjoint_method: str | None = None,
           adjoint_rtol: float | None = None, adjoint_atol: float | None = None) -> Any:
    """y(t_i) for y' = func(y, t, *args), y(t[0]) = y0 (SciPy's odeint, LSODA),
    differentiable in y0, t and args by the sensitivity equations (forward
    mode) and the adjoint method (reverse mode); see the module docstring.

    y0 may be any pytree of float arrays (the output then has its structure,
    with a leading time axis); args a tuple (its float leaves are
    differentiated, other leaves are constants). The backward solve of the
    adjoint method uses `adjoint_method` (a solve_ivp method, default "RK45";
    an implicit one for stiff problems) to `adjoint_rtol` / `adjoint_atol`
    (default: rtol / atol). SciPy's `Dfun`, `full_output` and banded options
    are not supported (riesz computes the Jacobian itself).

    Math: y(t) for y' = f(y, t); ∂y(t)[δy0] by sensitivities, ∂y(t)*[v] by the adjoint ODE.

    Examples
    --------
    >>> t = np.array([0.0, 1.0])
    >>> f = lambda y, t, k: -k * y  # parameters go through args, not a closure
    >>> decay = lambda k: riesz.scipy.integrate.odeint(f, 1.0, t, args=(k,))[-1]
    >>> print(round(float(decay(0.5)), 5), round(float(riesz.grad(decay)(0.5)), 5))  # e^-k, -e^-k
    0.60653 -0.60653

    Raises
    ------
    TypeError
        If `func` closes over a value being differentiated (pass it through `args`).
    NotImplementedError
        For SciPy's `Dfun`, `full_output` and banded options.
    riesz.scipy.integrate.ODEError
        If the forward, sensitivity or adjoint solve fails to reach the final time.
    """
    who = "odeint"
    for name, v in (("Dfun", Dfun), ("full_output", full_output), ("ml", ml), ("mu", mu),
                    ("tcrit", tcrit), ("col_deriv", col_deriv), ("ixpr", ixpr),
                    ("printmessg", printmessg)):
        if v:
            raise NotImplementedError(f"odeint: {name} is not supported by riesz's odeint")
    rtol = 1.49012e-8 if rtol is None else rtol
    atol = 1.49012e-8 if atol is None else atol
    state = _State(y0, who)
    t = _check_times(t, who, "t")
    options = {"h0": h0, "hmax": hmax, "hmin": hmin, "mxstep": mxstep, "mxhnil": mxhnil,
               "mxordn": mxordn, "mxords": mxords}
    problem, theta = _build(who, func, state, args, "odeint", rtol, atol, options,
                            (adjoint_method, adjoint_rtol, adjoint_atol), tfirst)
    ys = odeint_p(state.flat(), t, *theta, problem=problem)
    return state.unflatten(ys)


class OdeResult(OptimizeResult):
    """What `solve_ivp` returns: t, y (shape (n, len(t))), status, message,
    success, nfev, njev, nlu (as SciPy's OdeResult).

    Examples
    --------
    >>> r = riesz.scipy.integrate.solve_ivp(lambda t, y: -y, (0.0, 1.0), np.array([1.0]))
    >>> print(type(r).__name__, r.success, r.y.shape[0])
    OdeResult True 1
    """


def solve_ivp(fun: Callable[..., Any], t_span: Sequence[Any], y0: Any, method: str = "RK45",
              t_eval: Any = None, dense_output: bool = False, events: Any = None,
              vectorized: bool = False, args: Any = None, *, rtol: float = 1e-3,
              atol: float = 1e-6, max_step: float = np.inf, first_step: float | None = None,
              adjoint_method: str | None = None, adjoint_rtol: float | None = None,
              adjoint_atol: float | None = None) -> OdeResult:
    """Solve y' = fun(t, y, *args) on t_span from y0 (SciPy's solve_ivp),
    differentiable in y0, t_span, t_eval and args: `result.y` carries the
    derivatives (sensitivity equations forward, the adjoint method in reverse;
    see the module docstring). Methods: "RK45", "RK23", "DOP853", and the
    implicit "Radau", "BDF", "LSODA" for stiff problems (their Jacobian comes
    from riesz's forward mode). Without t_eval the outputs are at the solver's
    own steps (constants, except t_span's ends). The adjoint's backward solve uses
    `adjoint_method` (default: `method`) to `adjoint_rtol` / `adjoint_atol`.

    Examples
    --------
    >>> def final(k):
    ...     sol = riesz.scipy.integrate.solve_ivp(lambda t, y, k: -k * y, (0.0, 1.0),
    ...                                           np.array([1.0]), t_eval=[1.0], args=(k,),
    ...                                           rtol=1e-10, atol=1e-12)
    ...     return sol.y[0, -1]
    >>> print(round(float(final(0.5)), 6), round(float(riesz.grad(final)(0.5)), 6))
    0.606531 -0.606531

    Raises
    ------
    ValueError
        For an unknown `method`.
    NotImplementedError
        For `dense_output` and `events`.
    riesz.scipy.integrate.ODEError
        If a solve fails to reach the final time.
    """
    who = "solve_ivp"
    if method not in IVP_METHODS:
        raise ValueError(f"solve_ivp: method must be one of {sorted(IVP_METHODS)}, got {method!r}")
    for name, v in (("dense_output", dense_output), ("events", events)):
        if v:
            raise NotImplementedError(f"solve_ivp: {name} is not supported by riesz's solve_ivp")
    if vectorized:
        raise NotImplementedError("solve_ivp: vectorized is not supported (and not needed: "
                                  "riesz computes the Jacobian itself)")
    if len(t_span) != 2:
        raise ValueError(f"solve_ivp: t_span must be (t0, t_end), got {t_span!r}")
    if not isinstance(y0, Tracer) and np.ndim(y0) != 1:
        raise ValueError(f"solve_ivp: y0 must be 1-D, got shape {np.shape(y0)}")
    if isinstance(y0, Tracer) and y0.ndim != 1:
        raise ValueError(f"solve_ivp: y0 must be 1-D, got shape {y0.shape}")
    state = _State(y0, who)
    t0, t1 = t_span
    options = {"max_step": max_step}
    if first_step is not None:
        options["first_step"] = first_step
    problem, theta = _build(who, fun, state, () if args is None else args, method, rtol, atol,
                            options, (adjoint_method, adjoint_rtol, adjoint_atol), True)
    t0c, t1c = (_concrete_or_none(v) for v in (t0, t1))
    if t_eval is None:
        if t0c is None or t1c is None:
            raise NotImplementedError("solve_ivp: t_span batched by vmap needs t_eval")
        if t0c == t1c:
            raise ValueError("solve_ivp: t_span must have t0 != t_end")
        y0c = _concrete_or_none(state.flat())
        theta_c = [_concrete_or_none(v) for v in theta]
        if y0c is None or any(v is None for v in theta_c):
            raise NotImplementedError("solve_ivp: arguments batched by vmap need t_eval")
        steps, ys = _step_times(problem, y0c, float(t0c), float(t1c), theta_c)
        if not _has_tracer([*state.leaves, *theta, t0, t1]):  # nothing to differentiate
            return _result(steps, ys.T.astype(state.leaves[0].dtype, copy=False), problem)
        times = rnp.concatenate([rnp.reshape(rnp.asarray(t0), (1,)), steps[1:-1],
                                 rnp.reshape(rnp.asarray(t1), (1,))])
        drop_first = False
    else:
        t_eval = _check_times(t_eval, who, "t_eval")
        te = np.asarray(strip_derivatives(t_eval)) if not isinstance(
            strip_derivatives(t_eval), Tracer) else None
        if te is not None and t0c is not None and t1c is not None:
            lo, hi = min(t0c, t1c), max(t0c, t1c)
            if np.any(te < lo) or np.any(te > hi):
                raise ValueError("solve_ivp: t_eval values must lie within t_span")
        drop_first = te is None or t0c is None or te[0] != t0c
        times = rnp.concatenate([rnp.reshape(rnp.asarray(t0), (1,)), t_eval]) if drop_first \
            else t_eval
    ys = odeint_p(state.flat(), times, *theta, problem=problem)
    if drop_first:
        ys, times = ys[1:], times[1:]
    return _result(times, rnp.transpose(ys), problem)


def _result(t: Any, y: Any, problem: _Problem) -> OdeResult:
    return OdeResult(t=t, y=y, sol=None, t_events=None, y_events=None, status=0,
                     message="The solver successfully reached the end of the integration "
                     "interval.", success=True,
                     **{k: problem.stats.get(k, 0) for k in ("nfev", "njev", "nlu")})


def _step_times(problem: _Problem, y0: np.ndarray, t0: float, t1: float,
                theta: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
    """The solver's own step times on [t0, t1] and y there (solve_ivp without t_eval)."""
    rhs = problem.rhs_concrete(theta, y0)
    kw: dict[str, Any] = dict(problem.options)
    if problem.method in _IMPLICIT:
        kw["jac"] = problem.jacobian(theta, y0)
    solver = IVP_METHODS[problem.method](lambda s, y: rhs(y, s), t0, y0, t1,
                                         rtol=problem.rtol, atol=problem.atol, **kw)
    ts, ys = [t0], [np.asarray(y0, np.float64)]
    while solver.status == "running":
        message = solver.step()
        if solver.status == "failed":
            raise ODEError(f"solve_ivp: {problem.method} failed at t = {solver.t:.6g}: {message}")
        ts.append(solver.t)
        ys.append(solver.y.copy())
    problem.stats = {"nfev": solver.nfev, "njev": solver.njev, "nlu": solver.nlu}
    _release(solver)
    return np.array(ts), np.array(ys)
