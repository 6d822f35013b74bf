"""Control flow with `jax.lax` signatures: `cond`, `while_loop`, `fori_loop`, `scan`.

They run as Python control flow over riesz operations, so every
transformation sees the operations of the branch taken or of each iteration:
`grad`, `jvp`, `jet` differentiate through them, and reverse mode through a
`while_loop` simply records the iterations that ran (the trip count and the
carries), which JAX's `while_loop` cannot differentiate.

Where the predicate is not a concrete value:

* batched (`vmap` with a predicate that differs per example): `cond` computes
  both branches and selects per example (`where`); `while_loop` runs until
  every example is done, a finished example's carry frozen by `where`;
  `fori_loop` with batched bounds becomes such a `while_loop`.
* abstract (under `jit`): `cond` computes both branches and selects, as under
  vmap (a NaN or inf in the branch not taken does not reach the value, but can
  reach a derivative, as with `where`); a `fori_loop` with concrete bounds is
  unrolled into the graph; a `scan` is one equation whose body is staged once
  and run by a loop over its compiled step (its loop-invariant part computed
  once), so the graph and the compile time do not grow with the length; its
  JVP, reverse mode (the forward loop stacks the body's residuals, the backward
  loop runs the body's staged VJP in the opposite direction), batching and jet
  are scans again, so `jit(grad(f))`, `grad(jit(f))`, `hessian`, `vmap` and
  `jet` of a scan stay loops; a `while_loop` whose predicate depends on
  a traced value (and a `fori_loop` with traced bounds, a while_loop over the
  index) is one equation of the graph whose predicate and body are staged
  graphs, run by a Python loop over their compiled code. A transformation of
  the jitted function (`grad(jit(f))`, `vmap`, `jvp`, `jet`, `hessian`) runs that
  loop on its tracers, each iteration a staged call, so reverse mode records the
  trip count and the carries; a transformation applied inside jit
  (`jit(grad(f))`) cannot stage the loop's derivative (its trip count is
  unknown when the graph is built) and raises `ConcretizationError`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import numpy as rnp
from ._core.pytree import tree_flatten, tree_unflatten
from ._core.trace import Tracer, bind, raw_value, strip_derivatives
from ._interpreters.staging import FIXES, ConcretizationError, Graph, ShapedArray, Var
from .custom import _CustomFunction

__all__ = ["cond", "fori_loop", "scan", "while_loop"]


def _predicate(who: str, pred: Any) -> Any:
    """A concrete Python bool, or the traced predicate (batched or abstract)."""
    p = strip_derivatives(pred)
    if np.shape(p) != ():
        raise TypeError(f"{who}: the predicate must be a scalar, got shape {np.shape(p)}")
    if isinstance(p, Tracer):
        return p
    return bool(p)


def _abstract(p: Any) -> bool:
    return isinstance(raw_value(p), ShapedArray)


def _select(who: str, p: Any, a: Any, b: Any) -> Any:
    a_leaves, a_def = tree_flatten(a)
    b_leaves, b_def = tree_flatten(b)
    if a_def != b_def:
        raise TypeError(f"{who}: the two branches return different structures, {a_def} "
                        f"and {b_def}")
    out = []
    for x, y in zip(a_leaves, b_leaves, strict=True):
        if np.shape(x) != np.shape(y):
            raise TypeError(f"{who}: the branches return shapes {np.shape(x)} and "
                            f"{np.shape(y)} for the same output")
        out.append(rnp.where(p, x, y))
    return tree_unflatten(a_def, out)


def cond(pred: Any, true_fn: Callable[..., Any], false_fn: Callable[..., Any],
         *operands: Any) -> Any:
    """`true_fn(*operands)` if `pred` else `false_fn(*operands)` (`jax.lax.cond`).

    Examples
    --------
    >>> import riesz
    >>> riesz.cond(3.0 > 0, lambda x: 2 * x, lambda x: -x, 1.5)
    3.0

    Math: ∂cond(p, f, g, x)[u] = ∂f(x)[u] if p else ∂g(x)[u] (the predicate has no derivative).

    Raises
    ------
    TypeError
        If the predicate is not a scalar, or the branches return different structures,
        shapes or dtypes.
    """
    p = _predicate("cond", pred)
    if isinstance(p, Tracer):  # per example (vmap) or unknown (jit): both, then select
        return _select("cond", p, true_fn(*operands), false_fn(*operands))
    return true_fn(*operands) if p else false_fn(*operands)


def while_loop(cond_fn: Callable[[Any], Any], body_fn: Callable[[Any], Any],
               init_val: Any) -> Any:
    """`while cond_fn(val): val = body_fn(val)`; returns `val` (`jax.lax.while_loop`).
    Differentiable in both modes: reverse mode records the iterations that ran.

    Examples
    --------
    >>> import riesz
    >>> riesz.while_loop(lambda v: v < 10, lambda v: 2 * v, 1)
    16

    Raises
    ------
    riesz.ConcretizationError
        Under `jit`, if the predicate depends on a traced value (the trip count is
        unknown when the graph is built: use `fori_loop` / `scan` with a bound).
    """
    val = init_val
    while True:
        p = _predicate("while_loop", cond_fn(val))
        if not isinstance(p, Tracer):
            if not p:
                return val
            val = body_fn(val)
            continue
        if _abstract(p):  # under jit: one equation whose body is a graph
            return _staged_while(cond_fn, body_fn, val)
        if not np.any(raw_value(p)):  # every example is done
            return val
        new = body_fn(val)
        val = _select("while_loop", p, new, val)  # finished examples stay frozen


class _Loop(_CustomFunction):
    """A staged while_loop as a function without rules (see `_staged_while`); its
    output types are declared, so jit never runs it on placeholder values."""

    def __init__(self, loop: Callable[..., Any], out_avals: list[ShapedArray]):
        super().__init__(loop)
        self.out_avals = out_avals

    def batched(self, params: dict[str, Any], dims: Any, size: int) -> dict[str, Any]:
        batched = super().batched(params, dims, size)
        batched["fn"].out_avals = [ShapedArray((size, *a.shape), a.dtype)
                                   for a in self.out_avals]
        return batched


def _staged_while(cond_fn: Callable[[Any], Any], body_fn: Callable[[Any], Any],
                  val: Any) -> Any:
    """A while_loop under jit whose trip count depends on traced values: the
    predicate and the body are staged into graphs (values they close over become
    arguments) and the loop is one `custom_call` equation of the enclosing graph,
    with no rules of its own. The compiled code runs it as a Python loop over the
    compiled graphs; a transformation of the jitted function (grad, jvp, vmap, jet)
    runs the loop eagerly on its tracers, each iteration a staged call, so reverse
    mode records the iterations that ran (the trip count and the carries)."""
    from ._interpreters.staging import GraphTrace
    from .custom import _flat_def, _OutStructure, custom_call_p
    from .staged import _stage, _Staged, optimize

    leaves, carry_def = tree_flatten(val)
    leaves = [x if isinstance(x, Tracer) else np.asarray(x) for x in leaves]
    avals = [ShapedArray(np.shape(x), x.dtype) for x in leaves]

    def lift(fn: Callable[..., Any], what: str) -> tuple[Any, list[Any]]:
        """`fn`'s graph on the carry, the tracers it closes over made leading inputs."""
        def flat(*xs: Any) -> list[Any]:
            return tree_flatten(fn(tree_unflatten(carry_def, list(xs))))[0]

        g = _stage(flat, avals)
        closed = [k for k, c in enumerate(g.consts) if isinstance(c, Tracer)]
        if what == "body_fn":
            outs = [ShapedArray(o.aval.shape, o.aval.dtype) if hasattr(o, "aval") else
                    ShapedArray(np.shape(o), np.result_type(o)) for o in g.outvars]
            if [(a.shape, a.dtype) for a in outs] != [(a.shape, a.dtype) for a in avals]:
                raise TypeError(f"while_loop: body_fn must return a carry of the input's "
                                f"shapes and dtypes {avals}, got {outs}")
        g.invars = [g.constvars[k] for k in closed] + g.invars
        kept = [k for k in range(len(g.consts)) if k not in closed]
        args = [g.consts[k] for k in closed]
        g.constvars, g.consts = [g.constvars[k] for k in kept], [g.consts[k] for k in kept]
        return _Staged(optimize(g)), args

    cond_g, cond_args = lift(cond_fn, "cond_fn")
    body_g, body_args = lift(body_fn, "body_fn")
    args = [*cond_args, *body_args, *leaves]
    top = max((x._trace for x in args if isinstance(x, Tracer)), key=lambda t: t.level)
    if not isinstance(top, GraphTrace):
        raise ConcretizationError(
            "while_loop with a predicate that depends on a traced value, under a "
            f"{type(top).__name__} inside jit: only jit's own computation stages such a "
            "loop. Apply the transformation outside jit (grad(jit(f)), vmap(jit(f)), ...: "
            f"it runs the loop on the values), or use fori_loop / scan with a bound. {FIXES}")
    nc, nb = len(cond_args), len(body_args)

    def loop(*xs: Any) -> tuple[Any, ...]:
        kc, kb = list(xs[:nc]), list(xs[nc:nc + nb])
        return tuple(while_loop(lambda c: cond_g([*kc, *c])[0],
                                lambda c: tuple(body_g([*kb, *c])), tuple(xs[nc + nb:])))

    loop.__name__ = "while_loop"
    fn = _Loop(loop, avals)
    outs = bind(custom_call_p, *args, fn=fn, in_def=_flat_def(len(args)),
                out=_OutStructure(_flat_def(len(leaves))))
    return tree_unflatten(carry_def, list(outs))


def fori_loop(lower: Any, upper: Any, body_fn: Callable[[Any, Any], Any], init_val: Any) -> Any:
    """`for i in range(lower, upper): val = body_fn(i, val)` (`jax.lax.fori_loop`).
    Under jit the bounds must be concrete (the loop is unrolled into the graph).

    Examples
    --------
    >>> import riesz
    >>> riesz.fori_loop(0, 4, lambda i, v: v + i, 0)
    6

    Raises
    ------
    riesz.ConcretizationError
        For traced bounds under `jit`.
    """
    lo, hi = strip_derivatives(lower), strip_derivatives(upper)
    if isinstance(lo, Tracer) or isinstance(hi, Tracer):
        # bounds known only at run time (jit) or per example (vmap): a while_loop over
        # (i, val), run until every example ends
        _, val = while_loop(lambda c: c[0] < hi, lambda c: (c[0] + 1, body_fn(c[0], c[1])),
                            (lo, init_val))
        return val
    val = init_val
    for i in range(int(lo), int(hi)):
        val = body_fn(i, val)
    return val


def scan(f: Callable[[Any, Any], tuple[Any, Any]], init: Any, xs: Any = None,
         length: int | None = None, reverse: bool = False,
         unroll: int | bool = 1) -> tuple[Any, Any]:
    """`jax.lax.scan`: `carry, y = f(carry, x)` for each leading slice `x` of `xs`;
    returns the final carry and the `y`s stacked along a new leading axis.

    Under `jit` the body is staged once and the scan is one graph equation run as a
    loop (compile time independent of the length). `unroll=True` (or an int at least
    the length) instead unrolls the whole loop into the graph: longer compiles, but no
    per-iteration loop overhead, which pays for short scans of small arrays. Partial
    unrolling (1 < unroll < length) is not implemented and runs the loop.

    Examples
    --------
    >>> import numpy as np, riesz
    >>> riesz.scan(lambda c, x: (c + x, 2 * c), 0.0, np.arange(3.0))
    (np.float64(3.0), array([0., 0., 2.]))

    Raises
    ------
    ValueError
        If a leaf of `xs` has no leading axis, the leaves and `length` disagree, or the
        length is 0.
    TypeError
        If f does not return a pair `(carry, y)` or changes the carry's structure.
    """
    x_leaves, x_def = tree_flatten(xs)
    if any(np.ndim(x) == 0 for x in x_leaves):
        raise ValueError("scan: every leaf of xs needs a leading axis to scan over")
    lengths = {np.shape(x)[0] for x in x_leaves}
    if length is not None:
        lengths.add(int(length))
    if len(lengths) != 1:
        raise ValueError(f"scan: xs leaves and length disagree on the length: {sorted(lengths)}"
                         if lengths else "scan: give xs or length")
    n = lengths.pop()
    if n == 0:
        raise ValueError("scan: length 0 is not supported (the stacked outputs' shapes are "
                         "known only from f's outputs)")
    counted = not isinstance(unroll, bool)
    if counted and (not isinstance(unroll, (int, np.integer)) or unroll < 1):
        raise TypeError(f"scan: unroll must be a bool or a positive int, got {unroll!r}")
    if not (unroll is True or (counted and unroll >= n)):
        staged = _staged_scan(f, init, x_leaves, x_def, n, reverse)
        if staged is not None:
            return staged
    carry = init
    ys = []
    for i in (range(n - 1, -1, -1) if reverse else range(n)):
        x = tree_unflatten(x_def, [leaf[i] for leaf in x_leaves])
        out = f(carry, x)
        if not (isinstance(out, (tuple, list)) and len(out) == 2):
            raise TypeError("scan: f must return a pair (carry, y)")
        new_carry, y = out
        if tree_flatten(new_carry)[1] != tree_flatten(carry)[1]:
            raise TypeError("scan: f changed the structure of the carry")
        carry = new_carry
        ys.append(y)
    if reverse:
        ys.reverse()
    y_leaves = [tree_flatten(y)[0] for y in ys]
    y_def = tree_flatten(ys[0])[1]
    stacked = [rnp.stack([leaves[k] for leaves in y_leaves]) for k in range(len(y_leaves[0]))]
    return carry, tree_unflatten(y_def, stacked)


def _inexact(x: Any) -> bool:
    return np.dtype(x.dtype).kind in "fc"


class _Scan:
    """A staged scan: one `custom_call` equation whose body is a staged graph
    (consts, carry, x) -> (carry, y), compiled once and run by a Python loop over
    the iterations. It has the interface of a `riesz.custom_vjp` function, and its
    rules are scans again, over staged derived bodies (so higher orders stay loops):
    the JVP scans the body's JVP over (carry, tangent carry); reverse mode's forward
    part saves the carry of each iteration, its backward part scans the body's VJP
    in the opposite direction, accumulating the cotangents of the consts."""

    fwd = bwd = jvp_rule = True  # rules present: the traces call the *_flat methods

    def __init__(self, body: Any, nc: int, nk: int, length: int, reverse: bool,
                 in_avals: list[ShapedArray], out_avals: list[ShapedArray]):
        self.body, self.nc, self.nk, self.length, self.reverse = body, nc, nk, length, reverse
        self.in_avals, self.out_avals = in_avals, out_avals  # flat leaves, as called
        self.derived: dict[str, _Scan] = {}
        self.compiled: Any = None  # (invariant part, step), compiled at the first run
        self.loop_kernel: Any = None  # the whole loop compiled (riesz.loop_kernels.adopt)
        self.fun = lambda *leaves: self.call_flat(leaves, None, None)

    def __repr__(self) -> str:
        return f"<scan of length {self.length}{', reverse' if self.reverse else ''}>"

    def __call__(self, leaves: Sequence[Any]) -> list[Any]:
        """Bind the equation where a leaf is traced, else run the loop."""
        from .custom import _flat_def, _OutStructure, custom_call_p

        if any(isinstance(x, Tracer) for x in leaves):
            return list(bind(custom_call_p, *leaves, fn=self, in_def=_flat_def(len(leaves)),
                             out=_OutStructure(_flat_def(len(self.out_avals)))))
        return list(self.call_flat(leaves, None, None))

    def call_flat(self, leaves: Sequence[Any], in_def: Any, out: Any) -> tuple[Any, ...]:
        if self.loop_kernel is not None and not any(isinstance(x, Tracer) for x in leaves):
            return self.loop_kernel(leaves, self._loop)
        return self._loop(leaves)

    def _loop(self, leaves: Sequence[Any]) -> tuple[Any, ...]:
        nc, nk, n, body = self.nc, self.nk, self.length, self.body
        consts, carry, xs = list(leaves[:nc]), list(leaves[nc:nc + nk]), leaves[nc + nk:]
        concrete = not any(isinstance(x, Tracer) for x in leaves)
        if concrete:  # the compiled loop, its invariant part computed once
            if self.compiled is None:
                self.compiled = _hoisted(body, nc)
            pre, step = self.compiled
            consts = pre(*consts)
            body = lambda a: step(*a)  # noqa: E731 - the compiled step, no dispatch
        ys: list[Any] = [np.empty(a.shape, a.dtype) for a in self.out_avals[nk:]] \
            if concrete else []
        rows = []
        for i in (range(n - 1, -1, -1) if self.reverse else range(n)):
            outs = body([*consts, *carry, *[x[i] for x in xs]])
            carry = outs[:nk]
            if concrete:
                for y, o in zip(ys, outs[nk:], strict=True):
                    y[i] = o
            else:
                rows.append(outs[nk:])
        if not concrete:
            if self.reverse:
                rows.reverse()
            ys = [rnp.stack([r[k] for r in rows]) for k in range(len(self.out_avals) - nk)]
        return (*carry, *ys)

    def batched(self, params: dict[str, Any], dims: Sequence[int | None],
                size: int) -> dict[str, Any]:
        """vmap over a trace below (vmap inside jit, or of a derivative): the loop
        and its rules mapped as a custom function's are (each iteration a call of
        the body's staged batched form)."""
        # a _Scan has the interface of a custom function (duck-typed, as staged._VJPCall)
        return _CustomFunction.batched(self, params, dims, size)  # type: ignore[arg-type]

    def _derive(self, kind: str, fn: Callable[..., list[Any]], nc: int, nk: int,
                in_avals: list[ShapedArray], reverse: bool) -> _Scan:
        """The scan of the staged `fn` (consts, carry, x slices) over this length."""
        d = self.derived.get(kind)
        if d is None:
            d = self.derived[kind] = _scan_of(fn, nc, nk, in_avals, self.length, reverse)
        return d

    def _split(self) -> Any:
        """The body's reverse mode split into staged parts (see `staged._vjp_split`):
        (forward part, backward part, number of outputs, loop-invariant residual
        positions, the invariant residuals' staged function of the consts, the
        other residuals' positions), or None where the body cannot be split."""
        if "split" in self.derived:
            return self.derived["split"]
        from .staged import _Staged, _vjp_split, optimize

        nc, body = self.nc, self.body
        b_avals = [a for a in body.graph.invars]
        active = tuple(_inexact(v.aval) for v in b_avals)
        parts = _vjp_split(body, active, [np.zeros(v.aval.shape, v.aval.dtype)
                                          for v in b_avals])
        d: Any = None
        if parts is not None:
            fwd, bwd, k = parts
            g = fwd.graph
            m = len(g.outvars) - k
            invariant = {v.n for v in g.invars[:nc]} | {v.n for v in g.constvars}
            pre = []
            for e in g.eqns:
                if all(type(x) is not Var or x.n in invariant for x in e.invars):
                    pre.append(e)
                    invariant.update(v.n for v in e.outvars)
            res = g.outvars[m:]
            inv = [j for j, r in enumerate(res) if type(r) is Var and r.n in invariant]
            var = [j for j in range(k) if j not in inv]
            pre_st = _Staged(optimize(Graph(g.invars[:nc], g.constvars, g.consts, pre,
                                            [res[j] for j in inv])), body.fuse)
            d = (fwd, bwd, m, inv, pre_st, var)
        self.derived["split"] = d
        return d

    # -- reverse mode ------------------------------------------------------------
    def fwd_flat(self, leaves: Sequence[Any], in_def: Any, out: Any) -> tuple[tuple, Any]:
        """Outputs and residuals: where the body splits, its loop-invariant
        residuals (computed once) and the others of each iteration, stacked;
        else the inputs and each iteration's carry."""
        nc, nk, body = self.nc, self.nk, self.body
        m = len(self.out_avals)
        split = self._split()
        if split is not None:
            fwd, _, _, inv, pre, var = split

            def forward(*a: Any) -> list[Any]:
                outs = fwd(list(a))
                return [*outs[:m], *[outs[m + j] for j in var]]

            scan_fn = self._derive("fwd", forward, nc, nk, self.in_avals, self.reverse)
            outs = scan_fn(list(leaves))
            return tuple(outs[:m]), [pre(list(leaves[:nc])), outs[m:]]

        def with_carry(*a: Any) -> list[Any]:
            outs = body(list(a))
            return [*outs, *a[nc:nc + nk]]

        fwd_c = self._derive("fwd", with_carry, nc, nk, self.in_avals, self.reverse)
        outs = fwd_c(list(leaves))
        return tuple(outs[:m]), list(leaves) + outs[m:]

    def _bwd_split(self, residuals: Any, cts: list[Any]) -> list[Any]:
        """∂scan*[v] from the body's split reverse mode: the backward part scanned
        in the opposite direction; consts = the invariant residuals, carry =
        (carry cotangent, accumulated consts cotangents), slices = (the other
        residuals, y cotangent)."""
        _, bwd, m, inv, _, var = self._split()
        nc, nk, avals = self.nc, self.nk, self.in_avals
        inv_vals, stacked = residuals
        active = [k for k, a in enumerate(avals) if _inexact(a)]
        dconsts = [k for k in active if k < nc]
        ni, nv, na = len(inv), len(var), len(dconsts)
        k_res = ni + nv

        def back(*a: Any) -> list[Any]:
            iv, ct_c, acc = a[:ni], a[ni:ni + nk], a[ni + nk:ni + nk + na]
            vr, ct_y = a[ni + nk + na:ni + nk + na + nv], a[ni + nk + na + nv:]
            res: list[Any] = [None] * k_res
            for j, v in zip(inv, iv, strict=True):
                res[j] = v
            for j, v in zip(var, vr, strict=True):
                res[j] = v
            got = dict(zip(active, bwd([*res, *ct_c, *ct_y]), strict=True))

            def ct(k: int, like: Any) -> Any:
                c = got.get(k)
                return rnp.zeros_like(like) if c is None else c

            return [*[ct(nc + j, ct_c[j]) for j in range(nk)],
                    *[acc[i] + ct(k, acc[i]) for i, k in enumerate(dconsts)],
                    *[ct(k, rnp.zeros(avals[k].shape[1:], avals[k].dtype))
                      for k in range(nc + nk, len(avals))]]

        inv_avals = [_aval_of(v) for v in inv_vals]
        b_avals = [*inv_avals, *self.out_avals[:nk], *[avals[k] for k in dconsts],
                   *[_aval_of(v) for v in stacked], *self.out_avals[nk:]]
        bwd_fn = self._derive("bwd", back, ni, nk + na, b_avals, not self.reverse)
        zeros = [np.zeros(avals[k].shape, avals[k].dtype) for k in dconsts]
        outs = bwd_fn([*inv_vals, *cts[:nk], *zeros, *stacked, *cts[nk:m]])
        result: list[Any] = [None] * len(avals)
        for i, k in enumerate(dconsts):
            result[k] = outs[nk + i]
        for k in active:
            if k >= nc:
                result[k] = outs[k - nc] if k < nc + nk else outs[nk + na + k - nc - nk]
        return result

    def bwd_flat(self, residuals: Any, cts: Sequence[Any], in_def: Any, out: Any) -> list[Any]:
        """∂scan*[v]: the body's VJP scanned in the opposite direction; carry =
        (carry cotangent, accumulated consts cotangents), slices = (saved carry, x,
        y cotangent)."""
        from .transforms import vjp

        nc, nk, body, avals = self.nc, self.nk, self.body, self.in_avals
        m = len(self.out_avals)
        cts = [np.zeros(a.shape, a.dtype) if c is None else c
               for c, a in zip(cts, self.out_avals, strict=True)]
        if self._split() is not None:
            return self._bwd_split(residuals, cts)
        leaves, saved = residuals[:len(avals)], residuals[len(avals):]
        nx = len(avals) - nc - nk
        diff = [k for k, a in enumerate(avals) if _inexact(a)]
        dconsts = [k for k in diff if k < nc]
        out_float = [_inexact(a) for a in self.out_avals]

        def back(*a: Any) -> list[Any]:
            consts, ct_c, acc = a[:nc], a[nc:nc + nk], a[nc + nk:nc + nk + len(dconsts)]
            rest = a[nc + nk + len(dconsts):]
            c_in, x, ct_y = rest[:nk], rest[nk:nk + nx], rest[nk + nx:]
            primal = [*consts, *c_in, *x]

            def f(*d: Any) -> tuple[Any, ...]:
                full = list(primal)
                for k, v in zip(diff, d, strict=True):
                    full[k] = v
                outs = body(full)
                return tuple(o for o, fl in zip(outs, out_float, strict=True) if fl)

            pull = vjp(f, *[primal[k] for k in diff])[1]
            g = [c for c, fl in zip([*ct_c, *ct_y], out_float, strict=True) if fl]
            got = dict(zip(diff, pull(tuple(g)), strict=True))
            new_ct_c = [got.get(nc + j, rnp.zeros_like(ct_c[j])) for j in range(nk)]
            new_acc = [acc[i] + got[k] for i, k in enumerate(dconsts)]
            ct_x = [got.get(nc + nk + j, rnp.zeros_like(x[j])) for j in range(nx)]
            return [*new_ct_c, *new_acc, *ct_x]

        b_avals = [*avals[:nc], *self.out_avals[:nk], *[avals[k] for k in dconsts],
                   *[ShapedArray((self.length, *a.shape), a.dtype) for a in self.out_avals[:nk]],
                   *avals[nc + nk:], *self.out_avals[nk:]]
        bwd = self._derive("bwd", back, nc, nk + len(dconsts), b_avals, not self.reverse)
        zeros = [np.zeros(avals[k].shape, avals[k].dtype) for k in dconsts]
        outs = bwd([*leaves[:nc], *cts[:nk], *zeros, *saved, *leaves[nc + nk:], *cts[nk:m]])
        result: list[Any] = [None] * len(avals)
        for i, k in enumerate(dconsts):
            result[k] = outs[nk + i]
        for j in range(nk):
            if _inexact(avals[nc + j]):
                result[nc + j] = outs[j]
        for j in range(nx):
            if _inexact(avals[nc + nk + j]):
                result[nc + nk + j] = outs[nk + len(dconsts) + j]
        return result

    # -- forward mode --------------------------------------------------------------
    def jvp_flat(self, primals: Sequence[Any], tangents: Sequence[Any], in_def: Any,
                 out: Any) -> tuple[tuple, list]:
        """∂scan[u]: the body's JVP scanned, carry = (carry, tangent carry); every
        floating-point input gets a tangent (zero where none is given)."""
        from .transforms import jvp

        nc, nk, body, avals = self.nc, self.nk, self.body, self.in_avals
        diff = [k for k, a in enumerate(avals) if _inexact(a)]
        out_float = [k for k, a in enumerate(self.out_avals) if _inexact(a)]
        dc = [k for k in diff if k < nc]
        dk = [k for k in diff if nc <= k < nc + nk]
        dx = [k for k in diff if k >= nc + nk]
        n_in = len(avals)

        def tangent_body(*a: Any) -> list[Any]:
            primal, ts = list(a[:n_in]), a[n_in:]
            t_of = dict(zip(dc + dk + dx, ts, strict=True))

            def f(*d: Any) -> tuple[Any, ...]:
                full = list(primal)
                for k, v in zip(diff, d, strict=True):
                    full[k] = v
                return tuple(body(full))

            outs, t_outs = jvp(f, tuple(primal[k] for k in diff),
                               tuple(t_of[k] for k in diff))
            outs = list(outs)
            return [*outs[:nk], *[t_outs[k] for k in out_float if k < nk], *outs[nk:],
                    *[t_outs[k] for k in out_float if k >= nk]]

        # inputs reordered (consts, tangent consts, carry, tangent carry, x, tangent x)
        order = [*range(nc), *[n_in + i for i in range(len(dc))],
                 *range(nc, nc + nk), *[n_in + len(dc) + i for i in range(len(dk))],
                 *range(nc + nk, n_in), *[n_in + len(dc) + len(dk) + i for i in range(len(dx))]]
        t_avals = [avals[k] for k in dc + dk + dx]
        all_avals = [*avals, *t_avals]

        def reordered(*a: Any) -> list[Any]:
            full: list[Any] = [None] * len(a)
            for pos, k in enumerate(order):
                full[k] = a[pos]
            return tangent_body(*full)

        d = self._derive("jvp", reordered, nc + len(dc), nk + len(dk),
                         [all_avals[k] for k in order], self.reverse)
        t_in = {k: (np.zeros(avals[k].shape, avals[k].dtype) if tangents[k] is None
                    else tangents[k]) for k in diff}
        full_in = [*primals, *[t_in[k] for k in dc + dk + dx]]
        outs = d([full_in[k] for k in order])
        nkt = len([k for k in out_float if k < nk])
        carry, t_carry = outs[:nk], outs[nk:nk + nkt]
        rest = outs[nk + nkt:]
        ny = len(self.out_avals) - nk
        ys, t_ys = rest[:ny], rest[ny:]
        t_iter = iter([*t_carry, *t_ys])
        t_out = [next(t_iter) if k in out_float else None
                 for k in range(len(self.out_avals))]
        return (*carry, *ys), t_out


def _aval_of(x: Any) -> ShapedArray:
    return ShapedArray(np.shape(x), x.dtype)


def _hoisted(body: Any, nc: int) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """The body's graph split into the compiled code of its loop-invariant part
    (consts -> the values of equations that depend on the consts only, e.g. a
    transposed weight of the backward body) and of the step (those values, carry,
    x -> carry, y): the loop runs only the step."""
    from .staged import compile_graph, optimize

    g = body.graph
    invariant = {v.n for v in g.invars[:nc]} | {v.n for v in g.constvars}
    pre, step = [], []
    for e in g.eqns:
        if all(type(x) is not Var or x.n in invariant for x in e.invars):
            pre.append(e)
            invariant.update(v.n for v in e.outvars)
        else:
            step.append(e)
    used = {x.n for e in step for x in e.invars if type(x) is Var} | {
        x.n for x in g.outvars if type(x) is Var}
    const_ns = {v.n for v in g.constvars}
    hoisted = [v for e in pre for v in e.outvars if v.n in used]
    kept = [v for v in g.invars[:nc] if v.n in used]
    ins = kept + hoisted
    assert not any(v.n in const_ns for v in ins)
    pre_g = Graph(g.invars[:nc], g.constvars, g.consts, pre, list(ins))
    step_g = Graph(ins + g.invars[nc:], g.constvars, g.consts, step, g.outvars)
    run_pre = compile_graph(optimize(pre_g), body.fuse)
    return (lambda *c: run_pre(*c)), compile_graph(optimize(step_g), body.fuse)


def _scan_of(fn: Callable[..., list[Any]], nc: int, nk: int, in_avals: list[ShapedArray],
             length: int, reverse: bool) -> _Scan:
    """A `_Scan` of `fn` (flat (consts, carry, x slices) -> (carry, y slices)) on the
    leaves of types `in_avals` (xs with their leading axis)."""
    from .staged import _stage, _Staged, optimize

    body_avals = [*in_avals[:nc + nk], *[ShapedArray(a.shape[1:], a.dtype)
                                         for a in in_avals[nc + nk:]]]
    g = _stage(lambda *a: [rnp.asarray(o) for o in fn(*a)], body_avals)
    outs = [ShapedArray(o.aval.shape, o.aval.dtype) if hasattr(o, "aval") else
            ShapedArray(np.shape(o), np.result_type(o)) for o in g.outvars]
    out_avals = [*outs[:nk], *[ShapedArray((length, *a.shape), a.dtype) for a in outs[nk:]]]
    return _Scan(_Staged(optimize(g)), nc, nk, length, reverse, in_avals, out_avals)


def _staged_scan(f: Callable[[Any, Any], tuple[Any, Any]], init: Any, x_leaves: list[Any],
                 x_def: Any, n: int, reverse: bool) -> tuple[Any, Any] | None:
    """A scan under jit as one equation (see `_Scan`), or None where it runs as a
    Python loop: no value involved is abstract (no jit), or the body cannot be
    staged on its own (it changes the carry's type, or needs concrete values)."""
    from ._core.trace import _depth
    from .staged import _stage, _Staged, optimize

    if _depth.get() == 0:  # nothing traced: the eager loop
        return None
    c_leaves, c_def = tree_flatten(init)
    c_leaves = [x if isinstance(x, Tracer) else np.asarray(x) for x in c_leaves]
    x_leaves = [x if isinstance(x, Tracer) else np.asarray(x) for x in x_leaves]
    nk = len(c_leaves)
    c_avals = [ShapedArray(np.shape(x), x.dtype) for x in c_leaves]
    body_avals = c_avals + [ShapedArray(np.shape(x)[1:], x.dtype) for x in x_leaves]
    y_def: list[Any] = []

    def flat(*a: Any) -> list[Any]:
        out = f(tree_unflatten(c_def, list(a[:nk])), tree_unflatten(x_def, list(a[nk:])))
        if not (isinstance(out, (tuple, list)) and len(out) == 2):
            raise TypeError("scan: f must return a pair (carry, y)")
        k_leaves, k_def = tree_flatten(out[0])
        if k_def != c_def:
            raise TypeError("scan: f changed the structure of the carry")
        y_leaves, d = tree_flatten(out[1])
        y_def.append(d)
        return [*[rnp.asarray(v) for v in k_leaves], *[rnp.asarray(v) for v in y_leaves]]

    try:
        g = _stage(flat, body_avals)
    except ConcretizationError:
        if any(_abstract(x) for x in [*c_leaves, *x_leaves]):
            raise
        return None  # value-dependent Python in the body, outside jit: the eager loop
    closed = [k for k, c in enumerate(g.consts) if isinstance(c, Tracer)]
    args = [g.consts[k] for k in closed]
    if not any(_abstract(x) for x in [*args, *c_leaves, *x_leaves]):
        return None
    outs = [ShapedArray(o.aval.shape, o.aval.dtype) if hasattr(o, "aval") else
            ShapedArray(np.shape(o), np.result_type(o)) for o in g.outvars]
    if [(a.shape, a.dtype) for a in outs[:nk]] != [(a.shape, a.dtype) for a in c_avals]:
        return None  # the carry changes type (e.g. an int init, a float body): unrolled
    g.invars = [g.constvars[k] for k in closed] + g.invars
    kept = [k for k in range(len(g.consts)) if k not in closed]
    g.constvars, g.consts = [g.constvars[k] for k in kept], [g.consts[k] for k in kept]
    leaves = [*args, *c_leaves, *x_leaves]
    in_avals = [ShapedArray(np.shape(x), x.dtype) for x in leaves]
    out_avals = [*outs[:nk], *[ShapedArray((n, *a.shape), a.dtype) for a in outs[nk:]]]
    scan_fn = _Scan(_Staged(optimize(g)), len(args), nk, n, reverse, in_avals, out_avals)
    res = scan_fn(leaves)
    return tree_unflatten(c_def, res[:nk]), tree_unflatten(y_def[0], res[nk:])
