"""Implicit differentiation: solutions of equations as differentiable functions.

An implicit layer returns the solution y*(x) of an equation in y with
parameters x (any pytree):

* `fixed_point(g, x, y0)`: y* = g(x, y*) (a deep equilibrium layer);
* `root(f, x, y0)`: f(x, y*) = 0;
* `argmin(F, x, y0)`: ∇_y F(x, y*) = 0 (an optimisation layer, e.g. ridge
  regression's weights as a function of its regularisation strength).

All three are one residual equation r(x, y*) = 0, with r(x, y) = y - g(x, y),
f(x, y), or ∇_y F(x, y) (S.riesz of it in a space S). The implicit function
theorem gives y*'s derivative without differentiating the solver: with
A = ∂_y r(x, y*) invertible, differentiating r(x, y*(x)) = 0 gives
∂_x r[ẋ] + A ẏ = 0, so

    forward   ∂y*(x)[ẋ]  = -A⁻¹ ∂_x r(x, y*)[ẋ]        one linear solve per tangent,
    reverse   ∂y*(x)*[v] = -(∂_x r)ᵀ λ,  Aᵀ λ = v      one adjoint solve per cotangent.

For a fixed point A = I - ∂_y g and -∂_x r = ∂_x g: forward mode solves
(I - ∂_y g) ẏ = ∂_x g[ẋ], reverse mode the adjoint equation λ = (∂_y g)ᵀ λ + v
and returns (∂_x g)ᵀ λ (autograd's `misc/fixed_points.py`; JAX's `custom_root`).

How it is built, and why every order works:

* The solution is a function with both a custom JVP and a custom VJP
  (`riesz.custom_jvp`), so each mode uses its own rule.
* The forward solve runs on concrete arrays (`riesz.solvers`): nothing is
  traced or taped while iterating, so memory does not grow with iterations.
* The rules are written with riesz operations, and the linear solves in them
  are themselves differentiable functions of the same kind: u(p, b) = M(p)⁻¹ b
  with M = A or Aᵀ and p = (x, y*), again with a JVP and a VJP rule that call
  u(p, ·) and its transpose. Differentiating a rule therefore solves more
  linear systems with the same operator instead of unrolling an iteration, and
  Hessians through an implicit layer work in all four compositions of forward
  and reverse mode.
* The linear solves ("backward" methods) are: "fixed_point" (the iteration
  u ← u + (b - M u), i.e. λ ← (∂_y g)ᵀ λ + v for a fixed point), "anderson"
  (the same, accelerated), "gmres", "bicgstab", "cg" or "direct" (riesz.solve);
  "direct" factorises A once per point (x, y*) and solves with A and Aᵀ from the
  same factors, in every derivative taken at that point.
  With `space=S` the solves work in S's geometry: the adjoint equation is
  solved for the Riesz representer, A* τ = S.riesz(v) with A* = W⁻¹ Aᵀ W, and
  λ = S.lower(τ); so "cg" needs A self-adjoint in S (e.g. argmin with the
  stationarity S.riesz(∇_y F) = 0), not symmetric in coordinates.

Under vmap the layer is solved for the whole batch at once: the batch is one
problem whose residual is the vmap of r, so ∂_y r is block diagonal (one block
per example) and the implicit function theorem for the batch is that of every
example. Its solvers work on one row per example, with one convergence test
each (an example that has converged stops changing; the loop ends when all
have), and `info` receives one `Solution` per batched solve, with the
examples' own in `Solution.examples`. This holds forward and in both
derivative modes, for `vmap(grad(...))`, `grad(vmap(...))` and nested vmaps
(consecutive vmaps are folded into one batch of all their examples).

Complex states and parameters (SPEC §13: Cⁿ is a real space with Re vdot) are
solved on the real view R²ⁿ (real parts, then imaginary parts): every forward
solver works, and a derivative's linear solve is the R-linear system it is
(for a non-holomorphic residual A is not C-linear); "direct" materialises its
2n x 2n real matrix. A `space` with a complex y needs backward "fixed_point"
or "anderson".

Non-convergence, forward or in a derivative's linear solve, raises
`riesz.solvers.SolverError` with the residual history, or with
`on_failure="warn"` warns (`SolverWarning`) and goes on with the last iterate.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._core.pytree import tree_flatten, tree_map, tree_unflatten
from ._core.trace import Tracer, strip_derivatives
from ._interpreters.batching import BatchTrace, BatchTracer
from .custom import custom_jvp
from .linear import LinearMap, NotVectorizable
from .linear_solvers import Direct
from .solvers import (
    FIXED_POINT_METHODS,
    ROOT_METHODS,
    Solution,
    SolverError,
    SolverWarning,
    _batched_gmres,
    _Packer,
    anderson,
    fixed_point_iteration,
    solve,
    solve_fixed_point,
    solve_root,
)
from .spaces import Euclidean, Space, space_of
from .transforms import grad, jvp, linearize_parts, vjp, vmap

__all__ = ["LINEAR_METHODS", "argmin", "fixed_point", "root"]

LINEAR_METHODS = ("fixed_point", "anderson", "gmres", "bicgstab", "cg", "direct")


@dataclass(frozen=True)
class _Options:
    who: str
    solver: str
    solver_options: dict[str, Any]
    backward: str
    backward_tol: float
    backward_max_iter: int | None
    space: Space | None
    on_failure: str
    info: dict[str, Any] | None


def _neg(tree: Any) -> Any:
    return tree_map(lambda a: -a, tree)


def _sub(a: Any, b: Any) -> Any:
    return tree_map(lambda s, t: s - t, a, b)


def _is_float(v: Any) -> bool:
    if isinstance(v, (bool, np.bool_)):
        return False
    if isinstance(v, float):
        return True
    if isinstance(v, complex):
        return True
    dtype = getattr(v, "dtype", None)
    return dtype is not None and np.dtype(dtype).kind in "fc"


def _is_complex(tree: Any) -> bool:
    return any(np.result_type(v).kind == "c" for v in tree_flatten(tree, strict=False)[0])


class _FloatLeaves:
    """The floating-point leaves (real or complex) of a pytree, which derivatives
    flow through; the other leaves (integers, flags, ...) are constants. The
    implicit function and its rules take the float leaves as a flat tuple, so
    every argument they see is a float array and cotangents match their
    structure."""

    def __init__(self, tree: Any):
        leaves, self.treedef = tree_flatten(tree, strict=False)
        self.leaves = leaves
        self.idx = [i for i, v in enumerate(leaves) if _is_float(v)]

    def pick(self, tree: Any) -> tuple[Any, ...]:
        leaves = tree_flatten(tree, strict=False)[0]
        return tuple(leaves[i] for i in self.idx)

    def rebuild(self, diff: tuple[Any, ...]) -> Any:
        leaves = list(self.leaves)
        for i, v in zip(self.idx, diff, strict=True):
            leaves[i] = v
        return tree_unflatten(self.treedef, leaves)


def _has_tracer(tree: Any) -> bool:
    return any(isinstance(leaf, Tracer) for leaf in tree_flatten(tree, strict=False)[0])


def _concrete(tree: Any, who: str, what: str) -> Any:
    """`tree` with every derivative-carrying trace level stripped (solvers run on
    plain arrays; a batched value was unbatched before, see `_Batch`)."""
    leaves, treedef = tree_flatten(tree, strict=False)
    out = []
    for leaf in leaves:
        v = strip_derivatives(leaf)
        if isinstance(v, Tracer):
            raise NotVectorizable(f"{who}: {what} is a traced value where a concrete one "
                                  "was expected (a vmap the layer could not unbatch?)")
        out.append(v)
    return tree_unflatten(treedef, out)


def _top_batch_trace(leaves: list[Any]) -> Any:
    """The innermost trace among `leaves` if it is a vmap's (else None)."""
    traces = [v._trace for v in leaves if isinstance(v, Tracer)]
    top = max(traces, key=lambda t: t.level) if traces else None
    return top if isinstance(top, BatchTrace) else None


def _shape(v: Any) -> tuple[int, ...]:
    return v.shape if isinstance(v, Tracer) else np.shape(v)


class _Batch:
    """An implicit layer's arguments under vmap, unbatched: the vmaps innermost in
    the trace stack (consecutive ones: nested vmaps) are peeled off and their
    batch axes folded into one leading axis of all their examples. x's float
    leaves get it where any of those vmaps maps them (`x_axes` 0, else None: a
    shared parameter); the other arguments (y0, y*, a tangent) always. The
    batched problem (`_Implicit.batched`) solves every example together; `wrap`
    puts its results back into the vmaps' tracers."""

    def __init__(self, xs: tuple[Any, ...], others: tuple[Any, ...]):
        from .numpy import broadcast_to, moveaxis, reshape

        o_leaves, self.o_defs = [], []
        for o in others:
            leaves, treedef = tree_flatten(o)
            o_leaves.append(leaves)
            self.o_defs.append(treedef)
        values = [*xs, *(v for leaves in o_leaves for v in leaves)]
        mapped = [False] * len(xs) + [True] * (len(values) - len(xs))
        self.traces: list[Any] = []
        sizes: list[int] = []
        while (trace := _top_batch_trace(values)) is not None:
            size = trace.size
            for k, v in enumerate(values):
                if type(v) is BatchTracer and v._trace is trace:
                    v = v._value if v._bdim == 0 else moveaxis(v._value, v._bdim, 0)
                    if not mapped[k] and sizes:  # first mapped here: add the outer axes
                        rest = _shape(v)[1:]
                        v = broadcast_to(reshape(v, (size, *[1] * len(sizes), *rest)),
                                         (size, *sizes[::-1], *rest))
                    mapped[k] = True
                elif mapped[k]:
                    v = broadcast_to(v, (size, *_shape(v)))
                values[k] = v
            self.traces.append(trace)
            sizes.append(size)
        self.lead = tuple(sizes[::-1])  # the peeled axes, outermost vmap first
        self.size = int(np.prod(sizes))
        depth = len(sizes)

        def fold(v: Any) -> Any:
            return v if depth == 1 else reshape(v, (self.size, *_shape(v)[depth:]))

        values = [fold(v) if m else v for v, m in zip(values, mapped, strict=True)]
        self.xs = tuple(values[:len(xs)])
        self.x_axes = tuple(0 if m else None for m in mapped[:len(xs)])
        other_leaves = iter(values[len(xs):])
        self.others = tuple(tree_unflatten(d, [next(other_leaves) for _ in range(d.num_leaves)])
                            for d in self.o_defs)

    def wrap(self, tree: Any) -> Any:
        from .numpy import reshape

        def unfold(v: Any) -> Any:
            if len(self.lead) > 1:
                v = reshape(v, (*self.lead, *_shape(v)[1:]))
            for trace in reversed(self.traces):  # the outermost vmap's axis is the first
                v = BatchTracer(v, trace, 0)
            return v

        return tree_map(unfold, tree)


class _Implicit:
    """The solution map x ↦ y*(x) of r(x, y) = 0, with its rules (module docstring)."""

    def __init__(self, kind: str, fn: Callable[[Any, Any], Any], residual: Callable[..., Any],
                 opts: _Options, x: Any, batch: int | None = None):
        self.kind = kind  # "fixed_point": fn is g; "root": fn is the residual f
        self.opts = opts
        self.batch = batch  # batched: y's leaves have a leading axis of this many examples
        self._direct = Direct(rtol=opts.backward_tol)
        self._at_point: tuple[list[Any], list[Any]] | None = None  # see _jacobian
        self.leaves = leaves = _FloatLeaves(x)
        # below, "x" is the tuple of x's float leaves; the other leaves are constants

        def fn_of_leaves(xs: tuple[Any, ...], y: Any) -> Any:
            return fn(leaves.rebuild(xs), y)

        def residual_of_leaves(xs: tuple[Any, ...], y: Any) -> Any:
            return residual(leaves.rebuild(xs), y)

        self.fn = fn_of_leaves
        self.residual = residual_of_leaves

        def implicit_solution(x: Any, y0: Any) -> Any:
            if _top_batch_trace(tree_flatten((x, y0), strict=False)[0]) is not None:
                b = _Batch(x, (y0,))  # under vmap: solve every example together
                return b.wrap(self.batched(b.x_axes, b.size).solution(b.xs, *b.others))
            return self._solve_concrete(x, y0)

        def implicit_solution_jvp(primals: tuple[Any, Any], tangents: tuple[Any, Any]
                                  ) -> tuple[Any, Any]:
            # A ẏ = -∂_x r(x, y*)[ẋ]  (y0 is only a starting guess: no tangent)
            x, y0 = primals
            dx = tangents[0]
            y = self.solution(x, y0)
            dr = jvp(lambda x_: self.residual(x_, y), (x,), (dx,))[1]
            return y, self.tangent_solve((x, y), _neg(dr))

        def implicit_solution_fwd(x: Any, y0: Any) -> tuple[Any, Any]:
            y = self.solution(x, y0)
            return y, (x, y)

        def implicit_solution_bwd(res: tuple[Any, Any], v: Any) -> tuple[Any, None]:
            # Aᵀ λ = v, then x̄ = -(∂_x r(x, y*))ᵀ λ
            x, y = res
            lam = self.adjoint_solve((x, y), v)
            x_bar = vjp(lambda x_: self.residual(x_, y), x)[1](lam)[0]
            return _neg(x_bar), None

        self.solution = custom_jvp(implicit_solution)
        self.solution.defjvp(implicit_solution_jvp)
        self.solution.defvjp(implicit_solution_fwd, implicit_solution_bwd)
        self.tangent_solve = _LinearSolve(self, transposed=False)
        self.adjoint_solve = _LinearSolve(self, transposed=True)
        self.tangent_solve.other = self.adjoint_solve
        self.adjoint_solve.other = self.tangent_solve

    def __call__(self, x: Any, y0: Any) -> Any:
        """y*(x), differentiable in the float leaves of x."""
        return self.solution(self.leaves.pick(x), tree_map(strip_derivatives, y0))

    def batched(self, x_axes: tuple[int | None, ...], size: int) -> _Implicit:
        """The problem of a whole batch: x's float leaves with a leading batch axis
        where `x_axes` says 0 (shared where None), y with one on every leaf. Its
        residual is the vmap of this one's, so ∂_y r is block diagonal: the
        solvers keep one convergence test per example, and the derivative rules
        (the implicit function theorem for the batch) are those of every example."""
        fn, residual = self.fn, self.residual
        axes = (x_axes, 0)

        def batched_fn(xs: tuple[Any, ...], y: Any) -> Any:
            return vmap(fn, in_axes=axes)(xs, y)

        def batched_residual(xs: tuple[Any, ...], y: Any) -> Any:
            return vmap(residual, in_axes=axes)(xs, y)

        template = tuple(np.zeros(()) for _ in x_axes)  # every leaf a float
        return _Implicit(self.kind, batched_fn, batched_residual, self.opts, template, size)

    # -- A = ∂_y r(x, y) and its transpose, with riesz operations (differentiable) ------
    def tangent_map(self, p: tuple[Any, Any], u: Any) -> Any:
        """A(p) u = ∂_y r(x, y)[u] for p = (x, y)."""
        x, y = p
        return jvp(lambda y_: self.residual(x, y_), (y,), (u,))[1]

    def cotangent_map(self, p: tuple[Any, Any], c: Any) -> Any:
        """A(p)ᵀ c = ∂_y r(x, y)*[c] (metric-free) for p = (x, y)."""
        x, y = p
        return vjp(lambda y_: self.residual(x, y_), y)[1](c)[0]

    # -- numerics on concrete arrays -------------------------------------------------
    def _record(self, key: str, sol: Solution) -> None:
        if self.opts.info is not None:
            self.opts.info.setdefault(key, []).append(sol)

    def _failed(self, e: SolverError, what: str) -> SolverError:
        return SolverError(f"{self.opts.who}: {what} failed: {e}", method=e.method,
                           residual=e.residual, iterations=e.iterations, history=e.history,
                           x=e.x)

    def _partial(self, e: SolverError, what: str) -> Any:
        """The last iterate of a linear solve that did not converge, with a warning
        (on_failure="warn"); raises where asked to or where there is no iterate."""
        if self.opts.on_failure == "raise" or e.x is None:
            raise self._failed(e, what) from e
        warnings.warn(f"{self.opts.who}: {what} did not converge: {e}", SolverWarning,
                      stacklevel=3)
        return e.x

    def _record_linear(self, u: Any, b: Any, A: Any, space: Space, iterations: int,
                       converged: bool, method: str) -> None:
        """With `info`, record a linear solve A u = b: residual norms at u = 0 and at u."""
        if self.opts.info is None:
            return

        def norm(v: Any) -> float:
            return float(np.linalg.norm(np.asarray(space.flatten(v))))

        self._record("linear", Solution(u, iterations, [norm(b), norm(space.sub(b, A(u)))],
                                        converged, method))

    def _solve_concrete(self, x: Any, y0: Any) -> Any:
        """y* for concrete x by the forward solver: no tape, nothing differentiated."""
        who = self.opts.who
        x = _concrete(x, who, "x")
        y0 = _concrete(y0, who, "y0")
        fn = self.fn

        def at_x(y: Any) -> Any:
            out = fn(x, y)
            if _has_tracer(out) and not _has_tracer(y):  # (a solver's own JVPs trace y)
                raise TypeError(
                    f"{who}: the function returned a traced value for concrete x and y: it "
                    "closes over a value being differentiated. Pass every parameter the "
                    "derivative should see through x (any pytree)")
            return out

        run = solve_fixed_point if self.kind == "fixed_point" else solve_root
        try:
            sol = run(at_x, y0, self.opts.solver, batched=self.batch is not None,
                      **self.opts.solver_options)
        except SolverError as e:
            raise self._failed(e, f"the forward solve ({self.opts.solver})") from e
        self._record("forward", sol)
        return sol.value

    def linear_solve_concrete(self, p: tuple[Any, Any], b: Any, transposed: bool) -> Any:
        """u with A u = b (or Aᵀ u = b) at concrete p = (x, y), by the backward method."""
        x, y = p
        opts = self.opts
        if self.batch is not None:
            return self._batched_linear_solve(x, y, b, transposed)
        if opts.backward not in ("fixed_point", "anderson") and _is_complex(y):
            return self._complex_linear_solve(p, b, transposed)
        S = opts.space if opts.space is not None else space_of(y)
        if opts.backward == "direct":
            return self._direct_solve(p, b, S, transposed)
        A = self._jacobian(p, S)[0]
        if transposed:  # Aᵀ λ = b for a covector b: A* τ = S.riesz(b) in S, λ = S.lower(τ)
            M, rhs = A.adjoint, S.riesz(b)
        else:
            M, rhs = A, b
        what = ("the adjoint solve Aᵀ λ = v" if transposed else "the tangent solve A ẏ = b") + \
            f" ({opts.backward})"
        u = self._run_linear(M, rhs, S, what)
        return S.lower(u) if transposed else u

    def _complex_linear_solve(self, p: tuple[Any, Any], b: Any, transposed: bool) -> Any:
        """A u = b or A* λ = b for a complex y, as a real system on R²ⁿ (`_Packer`'s
        view: real parts, then imaginary parts). A is R-linear, not C-linear, for a
        non-holomorphic residual, and riesz's VJP is its adjoint under Re vdot,
        which is R²ⁿ's dot product: so the real matrix of A* is that of A
        transposed, and "direct" materialises the 2n x 2n real matrix."""
        x, y = p
        opts = self.opts
        if opts.space is not None:
            raise NotImplementedError(
                f"{opts.who}: backward={opts.backward!r} with a space for a complex y is not "
                "supported; leave space=None (Cⁿ with Re vdot) or use backward='fixed_point'")
        _, jvp_fn, vjp_fn = linearize_parts(lambda y_: self.residual(x, y_), y)
        P = _Packer(y, f"{opts.who}: y*")
        M = (lambda u: vjp_fn(u)[0]) if transposed else jvp_fn
        what = ("the adjoint solve Aᵀ λ = v" if transposed else "the tangent solve A ẏ = b") + \
            f" ({opts.backward}, complex y as a real system)"
        rhs = P.pack(b, "the right-hand side")

        def matvec(v: np.ndarray) -> np.ndarray:
            return P.pack(M(P.unpack(v)), "A u")

        if opts.backward == "direct":
            A = np.stack([matvec(e) for e in np.eye(P.size)], axis=1)
            try:
                u = np.linalg.solve(A, rhs)
            except np.linalg.LinAlgError as e:
                raise SolverError(f"{opts.who}: {what} failed: the matrix is singular ({e})",
                                  method="direct", residual=float("nan"), iterations=0,
                                  history=[], x=None) from None
            norms = [float(np.linalg.norm(rhs)), float(np.linalg.norm(rhs - A @ u))]
            self._record("linear", Solution(P.unpack(u), 1, norms, True, "direct"))
            return P.unpack(u)
        R = Euclidean((P.size,))
        op = LinearMap(matvec, R, R, transpose=None, name="∂_y r (real view)")
        return P.unpack(self._run_linear(op, rhs, R, what))

    def _jacobian(self, p: tuple[Any, Any], S: Space) -> list[Any]:
        """[A, direct state] at concrete p = (x, y): A = ∂_y r(x, y) recorded once per
        point (the last point is kept), its transpose by VJP; the direct solver's
        state is filled in when first needed. So every solve at p — tangent and
        adjoint solves, those of higher derivatives, one per basis vector of a
        Jacobian — reuses one recording and one factorisation (Aᵀ from the same
        factors)."""
        leaves = tree_flatten(p, strict=False)[0]
        cached = self._at_point
        if cached is not None and len(cached[0]) == len(leaves) and all(
                np.shape(a) == np.shape(b) and np.array_equal(a, b)
                for a, b in zip(cached[0], leaves, strict=True)):
            return cached[1]
        x, y = p
        _, jvp_fn, vjp_fn = linearize_parts(lambda y_: self.residual(x, y_), y)

        def A_transpose(c: Any) -> Any:
            return vjp_fn(c)[0]

        entry = [LinearMap(jvp_fn, S, S, transpose=A_transpose, name="∂_y r"), None]
        self._at_point = ([np.array(v, copy=True) for v in leaves], entry)
        return entry

    def _factorization(self, p: tuple[Any, Any], S: Space) -> Any:
        """The direct solver's state for A at p, factorised once per point."""
        entry = self._jacobian(p, S)
        if entry[1] is None:
            entry[1] = self._direct.init(entry[0])
        return entry[1]

    def _direct_solve(self, p: tuple[Any, Any], b: Any, S: Space, transposed: bool) -> Any:
        """A u = b, or Aᵀ λ = b for a covector b (then no Riesz maps are needed: the
        same factors solve with Aᵀ), by the direct method."""
        what = ("the adjoint solve Aᵀ λ = v" if transposed else "the tangent solve A ẏ = b") + \
            " (direct)"
        try:
            state = self._factorization(p, S)
            if transposed:
                state = self._direct.transpose(state)
            u, converged = self._direct.compute(state, b), True
        except SolverError as e:
            u, converged = self._partial(e, what), False
        self._record_linear(u, b, state.A, state.A.domain, 1, converged, "direct")
        return u

    def _run_linear(self, M: LinearMap, rhs: Any, S: Space, what: str) -> Any:
        opts = self.opts
        if opts.backward in ("fixed_point", "anderson"):
            def richardson(u: Any) -> Any:  # u ← u + (b - M u): for M = I - ∂_y g, ∂_y g u + b
                return S.add(u, S.sub(rhs, M(u)))

            iterate = fixed_point_iteration if opts.backward == "fixed_point" else anderson
            max_iter = 1000 if opts.backward_max_iter is None else opts.backward_max_iter
            try:
                sol = iterate(richardson, S.zeros(), tol=0.0, rtol=opts.backward_tol,
                              max_iter=max_iter, on_failure=opts.on_failure)
            except SolverError as e:
                raise self._failed(e, what) from e
            self._record("linear", sol)
            return sol.value
        count = [0]

        def counted(u: Any) -> Any:
            count[0] += 1
            return M(u)

        op = LinearMap(counted, M.domain, M.codomain, name=M.name)
        converged = True
        try:
            u = solve(op, rhs, opts.backward, rtol=opts.backward_tol,
                      maxiter=opts.backward_max_iter)
        except SolverError as e:
            u, converged = self._partial(e, what), False
        self._record_linear(u, rhs, M, S, count[0], converged, opts.backward)
        return u


    def _batched_linear_solve(self, x: Any, y: Any, b: Any, transposed: bool) -> Any:
        """`linear_solve_concrete` for a batch: A is block diagonal (one block per
        example), and each example has its own convergence test. "fixed_point" and
        "anderson" iterate as unbatched; "gmres", "bicgstab" and "cg" all run a
        batched GMRES; "direct" factorises each example's block."""
        opts = self.opts
        _, jvp_fn, vjp_fn = linearize_parts(lambda y_: self.residual(x, y_), y)
        P = _Packer(y, f"{opts.who}: y*", batched=True)
        S = opts.space
        if transposed:  # as unbatched: A* τ = S.riesz(b), λ = S.lower(τ), per example
            def M(u: Any) -> Any:
                if S is None:
                    return vjp_fn(u)[0]
                return vmap(S.riesz)(vjp_fn(vmap(S.lower)(u))[0])

            rhs = b if S is None else vmap(S.riesz)(b)
        else:
            M, rhs = jvp_fn, b
        what = ("the adjoint solve Aᵀ λ = v" if transposed else "the tangent solve A ẏ = b") + \
            f" ({opts.backward}, batched)"

        def matvec(U: np.ndarray) -> np.ndarray:
            return P.pack_rows(M(P.unpack_rows(U)), "A u")

        R = P.pack_rows(rhs, "the right-hand side")
        if opts.backward in ("fixed_point", "anderson"):
            def richardson(u: Any) -> Any:  # u ← u + (b - M u), per example
                return P.unpack_rows(P.pack_rows(u, "u") + R - matvec(P.pack_rows(u, "u")))

            iterate = fixed_point_iteration if opts.backward == "fixed_point" else anderson
            max_iter = 1000 if opts.backward_max_iter is None else opts.backward_max_iter
            try:
                sol = iterate(richardson, P.unpack_rows(np.zeros_like(R)), tol=0.0,
                              rtol=opts.backward_tol, max_iter=max_iter,
                              on_failure=opts.on_failure, batched=True)
            except SolverError as e:
                raise self._failed(e, what) from e
            self._record("linear", sol)
            U = P.pack_rows(sol.value, "u")
        elif opts.backward == "direct":
            n = R.shape[1]
            cols = [matvec(np.broadcast_to(e, R.shape).copy()) for e in np.eye(n)]
            try:
                U = np.linalg.solve(np.stack(cols, axis=2), R[:, :, None])[:, :, 0]
            except np.linalg.LinAlgError as e:
                raise SolverError(f"{opts.who}: {what} failed: a block is singular ({e})",
                                  method="direct", residual=float("nan"), iterations=0,
                                  history=[], x=None) from None
            self._record("linear", Solution(P.unpack_rows(U), 1, [], True, "direct"))
        else:
            U, ok = _batched_gmres(matvec, R, np.full(len(R), opts.backward_tol),
                                   opts.backward_max_iter)
            norms = np.linalg.norm(R - matvec(U), axis=1) / np.maximum(
                np.linalg.norm(R, axis=1), np.finfo(float).tiny)
            if not ok.all():
                msg = (f"{opts.who}: {what} did not converge for examples "
                       f"{np.flatnonzero(~ok)[:5].tolist()}: relative residuals "
                       f"{', '.join(f'{r:.3g}' for r in norms[~ok][:5])}, asked "
                       f"{opts.backward_tol:g}")
                if opts.on_failure == "raise":
                    raise SolverError(msg, method=opts.backward, residual=float(norms.max()),
                                      iterations=0, history=[float(norms.max())],
                                      x=P.unpack_rows(U))
                warnings.warn(msg, SolverWarning, stacklevel=2)
            self._record("linear", Solution(P.unpack_rows(U), 0, [float(norms.max())],
                                            bool(ok.all()), opts.backward))
        u = P.unpack_rows(U)
        if transposed and S is not None:
            u = vmap(S.lower)(u)
        return u


class _LinearSolve:
    """u(p, b) = M(p)⁻¹ b, M = A or Aᵀ at p = (x, y): a differentiable linear solve.

    Differentiating M(p) u = b:
        M du + ∂_p(M(p) u)[dp] = db   ⇒   du = M⁻¹ (db - ∂_p(M(p) u)[dp])          (JVP)
    and pairing du with a cotangent w, λ = M⁻ᵀ w:
        ⟨w, du⟩ = ⟨λ, db⟩ - ⟨λ, ∂_p(M(p) u)[dp]⟩
        ⇒  b̄ = λ,  p̄ = -(∂_p(M(p) u))ᵀ λ                                          (VJP)
    Both rules call a solve with M or Mᵀ again (`other`), so they are
    differentiable to any order; the numbers come from the concrete solve."""

    other: _LinearSolve

    def __init__(self, problem: _Implicit, transposed: bool):
        self.problem = problem
        self.transposed = transposed
        who = problem.opts.who

        def implicit_linear_solve(p: tuple[Any, Any], b: Any) -> Any:
            if _top_batch_trace(tree_flatten((p, b), strict=False)[0]) is not None:
                if _top_batch_trace(tree_flatten(p, strict=False)[0]) is None:
                    # only the right-hand sides are batched (a Jacobian's basis vectors):
                    # one operator, solved for each in turn (its factorisation reused)
                    from .numpy import stack

                    bt = _Batch((), (b,))
                    (bs,) = bt.others
                    rows = [self.fn(p, tree_map(lambda v, i=i: v[i], bs))
                            for i in range(bt.size)]
                    return bt.wrap(tree_map(lambda *vs: stack(vs), *rows))
                x, y = p  # under vmap: the batched problem's solve
                bt = _Batch(x, (y, b))
                batched = problem.batched(bt.x_axes, bt.size)
                solve = batched.adjoint_solve if transposed else batched.tangent_solve
                y_b, b_b = bt.others
                return bt.wrap(solve((bt.xs, y_b), b_b))
            return problem.linear_solve_concrete(_concrete(p, who, "x"),
                                                 _concrete(b, who, "a tangent"), transposed)

        def implicit_linear_solve_jvp(primals: tuple[Any, Any], tangents: tuple[Any, Any]
                                      ) -> tuple[Any, Any]:
            p, b = primals
            dp, db = tangents
            u = self.fn(p, b)
            dM_u = jvp(lambda p_: self.apply(p_, u), (p,), (dp,))[1]
            return u, self.fn(p, _sub(db, dM_u))

        def implicit_linear_solve_fwd(p: tuple[Any, Any], b: Any) -> tuple[Any, Any]:
            u = self.fn(p, b)
            return u, (p, u)

        def implicit_linear_solve_bwd(res: tuple[Any, Any], w: Any) -> tuple[Any, Any]:
            p, u = res
            lam = self.other.fn(p, w)
            p_bar = vjp(lambda p_: self.apply(p_, u), p)[1](lam)[0]
            return _neg(p_bar), lam

        self.fn = custom_jvp(implicit_linear_solve)
        self.fn.defjvp(implicit_linear_solve_jvp)
        self.fn.defvjp(implicit_linear_solve_fwd, implicit_linear_solve_bwd)

    def apply(self, p: tuple[Any, Any], u: Any) -> Any:
        """M(p) u."""
        if self.transposed:
            return self.problem.cotangent_map(p, u)
        return self.problem.tangent_map(p, u)

    def __call__(self, p: tuple[Any, Any], b: Any) -> Any:
        return self.fn(p, b)


# -- the public functions ---------------------------------------------------------------


def _options(who: str, solver: str, methods: tuple[str, ...], tol: float, max_iter: int | None,
             backward: str, backward_tol: float, backward_max_iter: int | None,
             space: Space | None, on_failure: str, solver_options: dict[str, Any] | None,
             info: dict[str, Any] | None, y0: Any) -> _Options:
    if solver not in methods:
        raise ValueError(f"{who}: solver must be one of {methods}, got {solver!r}")
    if backward not in LINEAR_METHODS:
        raise ValueError(f"{who}: backward must be one of {LINEAR_METHODS}, got {backward!r}")
    if on_failure not in ("raise", "warn"):
        raise ValueError(f"{who}: on_failure must be 'raise' or 'warn', got {on_failure!r}")
    if space is not None:
        if not isinstance(space, Space):
            raise TypeError(f"{who}: space must be a riesz.spaces.Space (the space of y), got "
                            f"{type(space).__name__}")
        if not _has_tracer(y0):  # (a y0 batched by vmap is checked per example later)
            space.check(y0, f"{who}: y0")
    if info is not None and not isinstance(info, dict):
        raise TypeError(f"{who}: info must be a dict to fill in, got {type(info).__name__}")
    kwargs = {"tol": tol, "on_failure": on_failure, **(solver_options or {})}
    if max_iter is not None:
        kwargs["max_iter"] = max_iter
    return _Options(who, solver, kwargs, backward, backward_tol, backward_max_iter, space,
                    on_failure, info)


_COMMON = """
    `x` is any pytree of float arrays: every parameter the derivative should
    see must be passed through it (a value the function closes over is a
    constant). `y0` is the starting guess (not differentiated). `tol` and
    `max_iter` go to the forward solver (`solver_options` for the rest, e.g.
    `{"m": 10}` for Anderson, `{"damping": 0.5}`); `backward` chooses the linear
    solve used by both derivative modes ("fixed_point", "anderson", "gmres",
    "bicgstab", "cg", "direct"), to relative residual `backward_tol`. With
    `space` (a riesz.spaces.Space holding y) the derivative solves work in its
    inner product. `on_failure="warn"` turns a non-convergence error into a
    SolverWarning. `info`, a dict, collects the `Solution` of every forward
    solve under "forward" and of every derivative solve under "linear"."""


def fixed_point(g: Callable[[Any, Any], Any], x: Any, y0: Any, *, solver: str = "anderson",
                tol: float = 1e-10, max_iter: int | None = None, backward: str = "fixed_point",
                backward_tol: float = 1e-10, backward_max_iter: int | None = None,
                space: Space | None = None, on_failure: str = "raise",
                solver_options: dict[str, Any] | None = None,
                info: dict[str, Any] | None = None) -> Any:
    """y* = g(x, y*), differentiable in x by the implicit function theorem.

    forward mode: (I - ∂_y g) ẏ = ∂_x g[ẋ];
    reverse mode: λ = (∂_y g)* λ + v, then x̄ = (∂_x g)* λ.
    `solver`: "anderson", "fixed_point" (plain iteration), "broyden" or
    "newton" (on g(x, y) - y). The default backward method iterates the
    adjoint equation like the forward iteration (it converges when g is a
    contraction in y).

    Examples
    --------
    >>> y = lambda x: riesz.implicit.fixed_point(lambda x, y: 0.5 * y + x, x, 0.0)  # y* = 2x
    >>> print(round(float(y(1.0)), 6), round(float(riesz.grad(y)(1.0)), 6))
    2.0 2.0

    Raises
    ------
    ValueError
        For an unknown `solver`, `backward` or `on_failure`.
    riesz.SolverError
        If the forward or the backward (adjoint) solve does not converge.
    """
    opts = _options("fixed_point", solver, FIXED_POINT_METHODS, tol, max_iter, backward,
                    backward_tol, backward_max_iter, space, on_failure, solver_options, info, y0)

    def fixed_point_residual(x_: Any, y: Any) -> Any:  # r(x, y) = y - g(x, y)
        return _sub(y, g(x_, y))

    return _Implicit("fixed_point", g, fixed_point_residual, opts, x)(x, y0)


def root(f: Callable[[Any, Any], Any], x: Any, y0: Any, *, solver: str = "newton",
         tol: float = 1e-10, max_iter: int | None = None, backward: str = "gmres",
         backward_tol: float = 1e-10, backward_max_iter: int | None = None,
         space: Space | None = None, on_failure: str = "raise",
         solver_options: dict[str, Any] | None = None,
         info: dict[str, Any] | None = None) -> Any:
    """y* with f(x, y*) = 0, differentiable in x by the implicit function theorem.

    forward mode: ∂_y f ẏ = -∂_x f[ẋ]; reverse mode: (∂_y f)ᵀ λ = v, then
    x̄ = -(∂_x f)ᵀ λ. `solver`: "newton" (Newton–Krylov), "broyden", or
    "anderson" / "fixed_point" on y - f(x, y).

    Examples
    --------
    >>> sqrt = lambda x: riesz.implicit.root(lambda x, y: y**2 - x, x, 1.0)  # y* = √x
    >>> print(round(float(sqrt(4.0)), 6), round(float(riesz.grad(sqrt)(4.0)), 6))  # 1/(2√x)
    2.0 0.25

    Raises
    ------
    ValueError
        For an unknown `solver`, `backward` or `on_failure`.
    TypeError
        If `space` is not a Space or `info` not a dict.
    riesz.SolverError
        If the forward or the backward (adjoint) solve does not converge.
    """
    opts = _options("root", solver, ROOT_METHODS, tol, max_iter, backward, backward_tol,
                    backward_max_iter, space, on_failure, solver_options, info, y0)
    return _Implicit("root", f, f, opts, x)(x, y0)


def argmin(objective: Callable[[Any, Any], Any], x: Any, y0: Any, *, solver: str = "newton",
           tol: float = 1e-10, max_iter: int | None = None, backward: str = "cg",
           backward_tol: float = 1e-10, backward_max_iter: int | None = None,
           space: Space | None = None, on_failure: str = "raise",
           solver_options: dict[str, Any] | None = None,
           info: dict[str, Any] | None = None) -> Any:
    """y*(x) = argmin_y objective(x, y), as the stationary point ∇_y objective(x, y*) = 0,
    differentiable in x by the implicit function theorem.

    With H = ∂²_yy objective and B = ∂²_xy objective: ẏ = -H⁻¹ B[ẋ], and
    x̄ = -Bᵀ H⁻¹ v. The default backward method is CG (H is symmetric positive
    definite at a strict minimum). With `space` the stationarity is
    S.riesz(∇_y objective) = 0, whose Jacobian W⁻¹ H is self-adjoint in S, so
    CG works in S's geometry. Only stationarity is solved for: at a saddle
    point or maximum the result is that point (check the objective).

    Examples
    --------
    >>> obj = lambda x, y: ((y - x) ** 2).sum() + (y**2).sum()  # y* = x / 2
    >>> ystar = lambda x: riesz.implicit.argmin(obj, x, np.zeros(2))
    >>> print(np.round(ystar(np.array([2.0, 4.0])), 6))
    [1. 2.]
    >>> print(np.round(riesz.jacobian(ystar)(np.array([2.0, 4.0])), 6))
    [[0.5 0. ]
     [0.  0.5]]

    Raises
    ------
    ValueError
        For an unknown `solver`, `backward` or `on_failure`.
    riesz.SolverError
        If the forward or the backward (CG on the Hessian) solve does not converge.
    """
    opts = _options("argmin", solver, ROOT_METHODS, tol, max_iter, backward, backward_tol,
                    backward_max_iter, space, on_failure, solver_options, info, y0)
    gradient = grad(objective, argnums=1)

    def stationarity(x_: Any, y: Any) -> Any:  # r(x, y) = ∇_y objective (or S.riesz of it)
        g = gradient(x_, y)
        return g if space is None else space.riesz(g)

    return _Implicit("root", stationarity, stationarity, opts, x)(x, y0)


for _f in (fixed_point, root, argmin):
    _f.__doc__ = (_f.__doc__ or "") + "\n" + _COMMON
