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
* abstract (under `jit`): `cond` is one equation holding both branches as
  staged graphs, and the compiled code runs only the branch taken (a NaN or inf
  the other branch would compute reaches neither the value nor a derivative);
  its JVP, reverse mode, jet and batching with an unbatched predicate are conds
  again (see `_Cond`); a `fori_loop` with concrete bounds is
  unrolled into the graph; a `scan` is one equation whose body is staged once
  and run by a loop over its compiled step (its loop-invariant part computed
  once), so the graph and the compile time do not grow with the length; its
  JVP, reverse mode (the forward loop stacks the body's residuals, the backward
  loop runs the body's staged VJP in the opposite direction), batching and jet
  are scans again, so `jit(grad(f))`, `grad(jit(f))`, `hessian`, `vmap` and
  `jet` of a scan stay loops; a `while_loop` whose predicate depends on
  a traced value (and a `fori_loop` with traced bounds, a while_loop over the
  index) is one equation of the graph whose predicate and body are staged
  graphs, run by a Python loop over their compiled code (`_While`). Its JVP is
  a while_loop over (carry, tangent carry); its reverse mode, in `jit(grad(f))`
  and `grad(jit(f))` alike, replaces the loop by a forward equation (`_WhileFwd`)
  that gives the carry and, at run time, records the body's residuals of each
  iteration (their number the trip count) in a tape, one opaque `obj[]` value of
  the graph, and adds a backward equation (`_WhileBack`) that runs the body's
  staged VJP backward over the tape: the forward loop runs once for the value
  and the gradient. Both keep static output shapes. Without a tape (on the values
  of a transformation) the backward equation is `_WhileVJP`, which records its
  own; its JVP and VJP use L'(x, ẋ) = (L(x), ∂L(x)[ẋ]), so `hessian` and
  `grad(grad)` of such a loop stay staged under jit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import numpy as rnp
from ._core.pytree import tree_flatten, tree_unflatten
from ._core.trace import Tracer, bind, raw_value, strip_derivatives
from ._interpreters.staging import (
    ConcretizationError,
    Graph,
    ShapedArray,
    Var,
    aval_of,
    eval_graph,
)
from .custom import _BatchedCustom, _CustomFunction

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


def _select(who: str, p: Any, a: Any, b: Any, names: tuple[str, str] = ("true_fn",
                                                                        "false_fn")) -> Any:
    """where(p, a, b) leaf by leaf; `names` say where `a` and `b` come from."""
    a_leaves, a_def = tree_flatten(a)
    b_leaves, b_def = tree_flatten(b)
    if a_def != b_def:
        raise TypeError(f"{who}: {names[0]} and {names[1]} return different structures, "
                        f"{a_def} and {b_def}")
    out = []
    for j, (x, y) in enumerate(zip(a_leaves, b_leaves, strict=True)):
        if np.shape(x) != np.shape(y):
            raise TypeError(f"{who}: output {j}: {names[0]} returns shape {np.shape(x)}, "
                            f"{names[1]} returns shape {np.shape(y)}")
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

    Under `jit` (a traced predicate) it is one graph equation and only the branch
    taken runs, its derivatives are conds of the branches' derivatives; under `vmap`
    with a predicate that differs per example both branches run and each example
    selects its own (as `jax.lax.cond`).

    Math: ∂cond(p, f, g, x)[u] = ∂f(x)[u] if p else ∂g(x)[u] (the predicate has no derivative).

    Raises
    ------
    TypeError
        If the predicate is not a scalar, or (where both branches are traced: jit,
        vmap) the branches return different structures, shapes or dtypes.
    """
    p = _predicate("cond", pred)
    if not isinstance(p, Tracer):
        return true_fn(*operands) if p else false_fn(*operands)
    if _abstract(p) and not _batched(p):  # under jit: one equation, the taken branch runs
        out = _staged_cond(p, true_fn, false_fn, operands)
        if out is not _UNSTAGED:
            return out
    # per example (vmap) or a branch that cannot be staged: both, then select
    return _select("cond", p, true_fn(*operands), false_fn(*operands))


def _batched(p: Any) -> bool:
    """Whether a traced predicate differs per example of a vmap (at any level)."""
    from ._interpreters.batching import BatchTracer

    while isinstance(p, Tracer):
        if isinstance(p, BatchTracer):
            return True
        p = p._value
    return False


_UNSTAGED = object()


def _staged_cond(p: Any, true_fn: Callable[..., Any], false_fn: Callable[..., Any],
                 operands: tuple[Any, ...]) -> Any:
    """A cond under jit as one equation (see `_Cond`): each branch is staged on the
    operands' types, the tracers it closes over made inputs of the equation shared
    by both branches; `_UNSTAGED` where a branch needs concrete values of a
    concrete operand (the caller then selects, as before)."""
    leaves, in_def = tree_flatten(operands)
    try:
        avals = [_aval_of(x) if isinstance(x, Tracer) else aval_of(x) for x in leaves]
    except (AttributeError, TypeError):  # a leaf that is no array or number
        return _UNSTAGED
    out_defs: list[Any] = [None, None]

    def flat(k: int, fn: Callable[..., Any]) -> Callable[..., list[Any]]:
        def run(*xs: Any) -> list[Any]:
            out_leaves, out_defs[k] = tree_flatten(fn(*tree_unflatten(in_def, list(xs))))
            return out_leaves
        return run

    try:
        staged = [_stage_closed(flat(0, false_fn), avals), _stage_closed(flat(1, true_fn), avals)]
    except ConcretizationError:
        if any(_abstract(x) for x in leaves):
            raise
        return _UNSTAGED
    if out_defs[0] != out_defs[1]:
        raise TypeError(f"cond: true_fn and false_fn must return the same structure; true_fn "
                        f"returns {out_defs[1]}, false_fn returns {out_defs[0]}")
    dtypes = []
    for j, (a, b) in enumerate(zip(_out_avals(staged[1][0]), _out_avals(staged[0][0]),
                                   strict=True)):
        if a.shape != b.shape or (a.dtype != b.dtype and a.weak == b.weak):
            raise TypeError(f"cond: true_fn and false_fn must return the same shapes and "
                            f"dtypes; output {j}: true_fn returns {a}, false_fn returns {b}")
        dtypes.append(b.dtype if a.weak else a.dtype)  # a Python number takes the other's
    closed: list[Any] = []
    slot: dict[int, int] = {}
    for _, args in staged:
        for x in args:
            if id(x) not in slot:
                slot[id(x)] = len(closed)
                closed.append(x)
    nc = len(closed)

    def branch(k: int) -> Callable[..., list[Any]]:
        g, args = staged[k]
        picks = [slot[id(x)] for x in args]

        def run(*xs: Any) -> list[Any]:
            outs = eval_graph(g, [*[xs[i] for i in picks], *xs[nc:]])
            return [_as(o, d) for o, d in zip(outs, dtypes, strict=True)]
        return run

    fn = _cond_of([branch(0), branch(1)], [*[_aval_of(x) for x in closed], *avals])
    if p.dtype != np.bool_:
        p = p != 0
    return tree_unflatten(out_defs[0], fn([p, *closed, *leaves]))


def _as(x: Any, dtype: Any) -> Any:
    """`x` as an array of `dtype` (a traced value of that dtype as it is)."""
    if isinstance(x, Tracer) and x.dtype == dtype:
        return x
    return rnp.asarray(x, dtype=dtype)


def _zeros(a: ShapedArray) -> Any:
    return np.zeros(a.shape, a.dtype)


def _out_avals(g: Graph) -> list[ShapedArray]:
    """The types of a staged graph's outputs (of a literal output: its value's)."""
    return [o.aval if type(o) is Var else aval_of(o) for o in g.outvars]


def _stage_closed(flat: Callable[..., Sequence[Any]],
                  avals: list[ShapedArray]) -> tuple[Graph, list[Any]]:
    """The graph of `flat` on inputs of types `avals`, the tracers it closes over
    (values of the traces below, e.g. of the enclosing jit) made its leading
    inputs; returns the graph and those tracers."""
    from .staged import _stage

    g = _stage(flat, avals)
    closed = [k for k, c in enumerate(g.consts) if isinstance(c, Tracer)]
    args = [g.consts[k] for k in closed]
    g.invars = [g.constvars[k] for k in closed] + g.invars
    kept = [k for k in range(len(g.consts)) if k not in closed]
    g.constvars, g.consts = [g.constvars[k] for k in kept], [g.consts[k] for k in kept]
    return g, args


def _cond_of(fns: list[Callable[..., Sequence[Any]]], in_avals: list[ShapedArray],
             zero_slots: tuple[frozenset[int], ...] = (frozenset(), frozenset())) -> _Cond:
    """The `_Cond` choosing between `fns` (false branch, true branch), each staged
    on inputs of types `in_avals` and giving outputs of the same types
    (`zero_slots`: see `_Cond`)."""
    from .staged import _stage, _Staged, optimize

    branches = tuple(_Staged(optimize(_stage(f, in_avals))) for f in fns)
    f_avals, t_avals = (_out_avals(b.graph) for b in branches)
    if [(a.shape, a.dtype) for a in f_avals] != [(a.shape, a.dtype) for a in t_avals]:
        raise TypeError(f"cond: the branches' derived forms give different types, "
                        f"{t_avals} (true_fn) and {f_avals} (false_fn)")
    return _Cond(branches, in_avals, [ShapedArray(a.shape, a.dtype) for a in t_avals],
                 zero_slots)


class _Equation:
    """A staged control-flow function (flat leaves in, flat leaves out, output types
    `out_avals`) as one `custom_call` equation, with the interface of a
    `riesz.custom_vjp` function whose rules are its `*_flat` methods."""

    fwd = bwd = jvp_rule = True  # rules present: the traces call the *_flat methods
    out_avals: list[ShapedArray]

    def __call__(self, leaves: Sequence[Any]) -> list[Any]:
        """Bind the equation where a leaf is traced, else run it."""
        from .custom import _flat_def, _OutStructure, custom_call_p

        if any(isinstance(x, Tracer) for x in leaves):
            return list(bind(custom_call_p, *leaves, fn=self, in_def=_flat_def(len(leaves)),
                             out=_OutStructure(_flat_def(len(self.out_avals)))))
        return list(self.call_flat(leaves, None, None))

    def call_flat(self, leaves: Sequence[Any], in_def: Any, out: Any) -> tuple[Any, ...]:
        raise NotImplementedError


class _Cond(_Equation):
    """A staged cond: one `custom_call` equation whose leaves are the predicate and
    the operands (those the branches close over first), holding the two branches
    as staged graphs of the operands; the compiled code runs only the branch the
    predicate picks. Its rules are conds again, over staged derived branches (so
    higher orders stay conds): the JVP is the cond of the branches' JVPs; reverse
    mode's forward part is the cond of the branches' forward parts, their
    residuals side by side (zeros for the branch not taken), its backward part the
    cond of the branches' backward parts on the saved predicate; jet is the cond of
    the branches' Taylor propagations; vmap with an unbatched predicate is the cond
    of the batched branches, with a batched one both branches and a per-example
    select (as `jax.lax.cond` under vmap)."""

    __name__ = "cond"

    def __init__(self, branches: tuple[Any, ...], in_avals: list[ShapedArray],
                 out_avals: list[ShapedArray],
                 zero_slots: tuple[frozenset[int], ...] = (frozenset(), frozenset())):
        self.branches = branches  # (false branch, true branch): indexed by the predicate
        self.in_avals, self.out_avals = in_avals, out_avals  # operands (no predicate), outputs
        # outputs that branch k leaves zero and nothing reads when it is taken (the
        # other branch's residuals): run on arrays, a read-only zero view, not an array
        self.zero_slots = zero_slots
        self.pruned: list[Any] = [None, None]  # branch k without its zero slots, compiled
        self.derived: dict[Any, Any] = {}
        self.fun = lambda *leaves: self.call_flat(leaves, None, None)

    def __repr__(self) -> str:
        return "<cond>"

    def graph_parts(self) -> tuple[str, dict[str, Any], list[tuple[str, Graph]]]:
        """What printing its equation shows (see `staging._Printer`): both branches."""
        return "cond", {}, [("true_fn", self.branches[1].graph),
                            ("false_fn", self.branches[0].graph)]

    def call_flat(self, leaves: Sequence[Any], in_def: Any, out: Any) -> tuple[Any, ...]:
        pred, ops = leaves[0], list(leaves[1:])
        if not isinstance(pred, Tracer):  # the compiled branch taken
            k = bool(pred)
            zeros = self.zero_slots[k]
            if not zeros:
                return tuple(self.branches[k](ops))
            return self._run_pruned(k, ops, zeros)
        t, f = self.branches[1], self.branches[0]  # values of a transformation: riesz.cond
        return tuple(cond(pred, lambda *a: tuple(t(list(a))), lambda *a: tuple(f(list(a))),
                          *ops))

    def _run_pruned(self, k: int, ops: list[Any], zeros: frozenset[int]) -> tuple[Any, ...]:
        """Branch k on arrays, its outputs in `zeros` zero views (no array written)."""
        from .staged import _Staged, optimize

        st = self.pruned[k]
        if st is None:
            g = self.branches[k].graph
            st = self.pruned[k] = _Staged(optimize(Graph(
                g.invars, g.constvars, g.consts, g.eqns,
                [o for j, o in enumerate(g.outvars) if j not in zeros])))
        kept = iter(st(ops))
        return tuple(np.broadcast_to(np.zeros((), a.dtype), a.shape) if j in zeros
                     else next(kept) for j, a in enumerate(self.out_avals))

    def _derive(self, key: Any, bodies: Callable[[int], Callable[..., Sequence[Any]]],
                in_avals: list[ShapedArray],
                zero_slots: tuple[frozenset[int], ...] = (frozenset(), frozenset())) -> _Cond:
        """The cond of the staged `bodies(0)` (false) and `bodies(1)` (true), cached."""
        d = self.derived.get(key)
        if d is None:
            d = self.derived[key] = _cond_of([bodies(0), bodies(1)], in_avals, zero_slots)
        return d

    # -- forward mode --------------------------------------------------------------
    def jvp_flat(self, primals: Sequence[Any], tangents: Sequence[Any], in_def: Any,
                 out: Any) -> tuple[tuple, list]:
        """∂cond[u] = cond(p, ∂true_fn[u], ∂false_fn[u]): the branches' staged JVPs
        on (operands, nonzero tangents); every floating-point output gets a tangent."""
        from .staged import _jvp_body

        ts = list(tangents[1:])
        mask = tuple(t is not None and _inexact(a) for t, a in zip(ts, self.in_avals,
                                                                    strict=True))
        t_in = [t for t, k in zip(ts, mask, strict=True) if k]
        outs_avals, m = self.out_avals, len(self.out_avals)

        def bodies(k: int) -> Callable[..., list[Any]]:
            body = _jvp_body(self.branches[k].graph, mask)

            def run(*xs: Any) -> list[Any]:
                res = body(*xs)
                return [*res[:m], *[_zeros(a) if t is None else _as(t, a.dtype) for t, a in
                                    zip(res[m:], outs_avals, strict=True) if _inexact(a)]]
            return run

        d = self._derive(("jvp", mask, tuple(_aval_of(t).key() for t in t_in)), bodies,
                         [*self.in_avals, *[_aval_of(t) for t in t_in]])
        res = d([primals[0], *primals[1:], *t_in])
        t_out = iter(res[m:])
        return tuple(res[:m]), [next(t_out) if _inexact(a) else None for a in outs_avals]

    # -- reverse mode --------------------------------------------------------------
    def _vjp_parts(self) -> Any:
        """Each branch's reverse mode split into staged forward and backward parts
        (`staged._vjp_split`, all floating-point operands active), or None."""
        if "vjp" not in self.derived:
            from .staged import _vjp_split

            active = tuple(_inexact(a) for a in self.in_avals)
            zeros = [_zeros(a) for a in self.in_avals]
            parts = [_vjp_split(b, active, zeros) for b in self.branches]
            self.derived["vjp"] = None if None in parts else parts
        return self.derived["vjp"]

    def fwd_flat(self, leaves: Sequence[Any], in_def: Any, out: Any) -> tuple[tuple, Any]:
        """Outputs and residuals: the predicate, then the residuals of the false
        and of the true branch's forward part (zeros for the branch not taken)."""
        parts, m = self._vjp_parts(), len(self.out_avals)
        if parts is None:  # the backward part recomputes the branch's VJP
            return tuple(self(list(leaves))), list(leaves)
        res_avals = [[v.aval for v in fwd.graph.outvars[m:]] for fwd, _, _ in parts]

        def bodies(k: int) -> Callable[..., list[Any]]:
            def run(*xs: Any) -> list[Any]:
                outs = parts[k][0](list(xs))
                return [*outs[:m], *[r for j in (0, 1) for r in (
                    outs[m:] if j == k else [_zeros(a) for a in res_avals[j]])]]
            return run

        n0, n1 = len(res_avals[0]), len(res_avals[1])
        others = (frozenset(range(m + n0, m + n0 + n1)), frozenset(range(m, m + n0)))
        outs = self._derive("fwd", bodies, self.in_avals, others)(list(leaves))
        return tuple(outs[:m]), [leaves[0], *outs[m:]]

    def bwd_flat(self, residuals: Any, cts: Sequence[Any], in_def: Any, out: Any) -> list[Any]:
        """∂cond*[v] = cond(p, ∂true_fn*[v], ∂false_fn*[v]) on the saved predicate."""
        parts = self._vjp_parts()
        cts = [_zeros(a) if c is None else c for c, a in zip(cts, self.out_avals, strict=True)]
        active = [j for j, a in enumerate(self.in_avals) if _inexact(a)]
        if parts is None:
            ops = list(residuals[1:])
            t, f = (self._pullback(k, cts) for k in (1, 0))
            got = iter(cond(residuals[0], t, f, *ops))
        else:
            n_res = [k for _, _, k in parts]

            def bodies(k: int) -> Callable[..., list[Any]]:
                def run(*xs: Any) -> list[Any]:
                    start = 0 if k == 0 else n_res[0]
                    own = list(xs[start:start + n_res[k]])
                    grads = parts[k][1]([*own, *xs[n_res[0] + n_res[1]:]])
                    return [_zeros(self.in_avals[j]) if g is None else g
                            for g, j in zip(grads, active, strict=True)]
                return run

            m = len(self.out_avals)
            res_avals = [v.aval for fwd, _, _ in parts for v in fwd.graph.outvars[m:]]
            d = self._derive("bwd", bodies, [*res_avals, *self.out_avals])
            got = iter(d([residuals[0], *residuals[1:], *cts]))
        return [None, *[next(got) if j in active else None for j in range(len(self.in_avals))]]

    def _pullback(self, k: int, cts: list[Any]) -> Callable[..., tuple[Any, ...]]:
        """ops -> ∂branch_k(ops)*[cts] for the floating-point operands (recomputed)."""
        from .transforms import vjp

        active = [j for j, a in enumerate(self.in_avals) if _inexact(a)]
        out_float = [_inexact(a) for a in self.out_avals]

        def pull(*ops: Any) -> tuple[Any, ...]:
            def f(*d: Any) -> tuple[Any, ...]:
                full = list(ops)
                for j, v in zip(active, d, strict=True):
                    full[j] = v
                outs = self.branches[k](full)
                return tuple(o for o, fl in zip(outs, out_float, strict=True) if fl)

            g = tuple(c for c, fl in zip(cts, out_float, strict=True) if fl)
            return tuple(vjp(f, *[ops[j] for j in active])[1](g))
        return pull

    # -- batching --------------------------------------------------------------------
    def batched(self, params: dict[str, Any], dims: Sequence[int | None],
                size: int) -> dict[str, Any]:
        """vmap over a trace below: with an unbatched predicate the cond of the
        batched branches; with a batched one both batched branches and a select
        per example. Every output has its batch axis at 0."""
        from .custom import _always, _batch_flat, _flat_def, _OutStructure
        from .staged import _stage, _Staged, optimize

        pd, od = dims[0], list(dims[1:])
        in_avals = [a if d is None else ShapedArray((*a.shape[:d], size, *a.shape[d:]),
                                                       a.dtype)
                    for a, d in zip(self.in_avals, od, strict=True)]
        out_avals = [ShapedArray((size, *a.shape), a.dtype) for a in self.out_avals]
        fn: Any
        if pd is None:
            def bodies(k: int) -> Callable[..., list[Any]]:
                br = self.branches[k]
                return lambda *xs: [v for v, _ in _batch_flat(lambda *a: br(list(a)), xs, od,
                                                               size, _always)]

            fn = self._derive(("batch", tuple(od), size), bodies, in_avals)
        else:
            key = ("select", tuple(dims), size)
            fn = self.derived.get(key)
            if fn is None:
                t, f = self.branches[1], self.branches[0]

                def select(p: Any, *ops: Any) -> list[Any]:
                    return [rnp.where(p, a, b) for a, b in zip(t(list(ops)), f(list(ops)),
                                                               strict=True)]

                p_aval = ShapedArray((size,), np.bool_)
                st = _Staged(optimize(_stage(
                    lambda *xs: [v for v, _ in _batch_flat(select, xs, list(dims), size,
                                                           _always)], [p_aval, *in_avals])))

                def cond_select(*xs: Any) -> tuple[Any, ...]:
                    return tuple(st(list(xs)))

                fn = self.derived[key] = _Loop(cond_select, out_avals,
                                               [("both_branches", st.graph)])
        return {"fn": fn, "in_def": _flat_def(len(dims)),
                "out": _OutStructure(_flat_def(len(out_avals)))}

    # -- Taylor mode -----------------------------------------------------------------
    def taylor_flat(self, trace: Any, args: Sequence[Any]) -> tuple[Any, ...]:
        """jet: the cond of the branches' staged Taylor propagations (order K) on
        the operands and their nonzero coefficients; an output's coefficient that
        one branch leaves zero is a zero array in that branch."""
        from .staged import _jet_body, _stage, _Staged, optimize

        K, m = trace.order, len(self.out_avals)
        ops: list[Any] = []
        masks: list[tuple[bool, ...] | None] = []
        coeffs: list[Any] = []
        for x in args[1:]:
            series = trace.series_of(x)
            ops.append(trace.primal_of(x))
            masks.append(None if series is None else tuple(c is not None for c in series))
            coeffs.extend(c for c in series or () if c is not None)
        in_avals = [*self.in_avals, *[_aval_of(c) for c in coeffs]]
        key = ("jet", K, tuple(masks), tuple(a.key() for a in in_avals))
        d = self.derived.get(key)
        if d is None:
            raw = []
            for br in self.branches:
                out_masks: list[Any] = []
                st = _Staged(optimize(_stage(_jet_body(br.graph, K, masks, out_masks),
                                             in_avals)))
                raw.append((st, out_masks))
            union = [None if a is None and b is None else
                     tuple(bool(a and a[i]) or bool(b and b[i]) for i in range(K))
                     for a, b in zip(raw[0][1], raw[1][1], strict=True)]

            def bodies(k: int) -> Callable[..., list[Any]]:
                st, own = raw[k]

                def run(*xs: Any) -> list[Any]:
                    flat = st(list(xs))
                    rest, outs = iter(flat[m:]), list(flat[:m])
                    for a, mk, um in zip(self.out_avals, own, union, strict=True):
                        for i, u in enumerate(um or ()):
                            c = next(rest) if mk is not None and mk[i] else None
                            if u:
                                outs.append(_zeros(a) if c is None else c)
                    return outs
                return run

            d = self.derived[key] = (_cond_of([bodies(0), bodies(1)], in_avals), union)
        fn, union = d
        flat = fn([trace.primal_of(args[0]), *ops, *coeffs])
        rest = iter(flat[m:])
        return tuple(o if um is None else trace._wrap(o, [next(rest) if u else None for u in um])
                     for o, um in zip(flat[:m], union, strict=True))


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
        val = _select("while_loop", p, new, val, ("body_fn", "the carry"))  # done: frozen


class _Loop(_CustomFunction):
    """A function without rules whose output types are declared, so jit never runs
    it on placeholder values (a vmapped cond's per-example select)."""

    def __init__(self, loop: Callable[..., Any], out_avals: list[ShapedArray],
                 parts: list[tuple[str, Graph]] | None = None):
        super().__init__(loop)
        self.out_avals = out_avals
        self.parts = parts or []  # the staged graphs it runs, for printing

    def graph_parts(self) -> tuple[str, dict[str, Any], list[tuple[str, Graph]]]:
        return getattr(self.fun, "__name__", "loop"), {}, self.parts

    def batched(self, params: dict[str, Any], dims: Any, size: int) -> dict[str, Any]:
        return _batched_declared(self, params, dims, size)


def _batched_declared(fn: Any, params: dict[str, Any], dims: Any, size: int) -> dict[str, Any]:
    """A custom function's mapped form (see `_CustomFunction.batched`), with its
    output types declared (each output's batch axis first), mapped so again."""
    from .custom import _flat_def, _OutStructure

    return {"fn": _BatchedDeclared(fn, params, dims, size), "in_def": _flat_def(len(dims)),
            "out": _OutStructure()}


class _BatchedDeclared(_BatchedCustom):
    """`fn` mapped over a batch (see `_BatchedCustom`), its output types declared."""

    def __init__(self, fn: Any, params: dict[str, Any], dims: Any, size: int):
        super().__init__(fn, params["in_def"], params["out"], list(dims), size)
        self.out_avals = [ShapedArray((size, *a.shape), a.dtype) for a in fn.out_avals]

    def batched(self, params: dict[str, Any], dims: Any, size: int) -> dict[str, Any]:
        return _batched_declared(self, params, dims, size)


class _BatchedWhile(_BatchedDeclared):
    """A `_While` mapped over a batch: run, it moves each carry's batch axis to 0
    and runs the staged while_loop of the batched body (`_While._batched_loop`,
    `loop`); its rules are the loop's rules mapped (see `_BatchedCustom`)."""

    __name__ = "while_loop"

    def __init__(self, fn: _While, params: dict[str, Any], dims: Any, size: int):
        super().__init__(fn, params, dims, size)
        self.loop, self.carry_dims = fn._batched_loop(tuple(dims), size)
        self.nc, self.n = fn.nc, fn.nc + fn.nb  # the cond's values, all closed-over values

    def graph_parts(self) -> tuple[str, dict[str, Any], list[tuple[str, Graph]]]:
        """The batched loop's predicate and body (see `_While.graph_parts`)."""
        name, params, parts = self.loop.graph_parts()
        return f"vmap({name}, in_axes={tuple(self.dims)}, size={self.size})", params, parts

    def call_flat(self, leaves: Sequence[Any], in_def: Any, out: Any) -> tuple[Any, ...]:
        n, size, kd = self.n, self.size, self.carry_dims
        carry = [x if d == k else rnp.broadcast_to(x, (size, *np.shape(x))) if d is None
                 else rnp.moveaxis(x, d, 0)
                 for x, d, k in zip(leaves[n:], self.dims[n:], kd, strict=True)]
        outs = self.loop([*leaves[:n], *leaves[:self.nc], *carry])
        return tuple(o if k == 0 else rnp.broadcast_to(o, (size, *np.shape(o)))
                     for o, k in zip(outs, kd, strict=True))


def _staged_while(cond_fn: Callable[[Any], Any], body_fn: Callable[[Any], Any],
                  val: Any) -> Any:
    """A while_loop under jit whose trip count depends on traced values: the
    predicate and the body are staged into graphs (values they close over become
    arguments) and the loop is one equation of the enclosing graph (`_While`)."""
    from .staged import _Staged, optimize

    leaves, carry_def = tree_flatten(val)
    leaves = [x if isinstance(x, Tracer) else np.asarray(x) for x in leaves]
    avals = [ShapedArray(np.shape(x), x.dtype) for x in leaves]

    def lift(fn: Callable[..., Any], what: str) -> tuple[Any, list[Any]]:
        """`fn`'s graph on the carry, the tracers it closes over made leading inputs."""
        def flat(*xs: Any) -> list[Any]:
            return tree_flatten(fn(tree_unflatten(carry_def, list(xs))))[0]

        g, args = _stage_closed(flat, avals)
        if what == "body_fn":
            outs = _out_avals(g)
            if [(a.shape, a.dtype) for a in outs] != [(a.shape, a.dtype) for a in avals]:
                raise TypeError(f"while_loop: body_fn must return a carry of the input's "
                                f"shapes and dtypes {avals}, got {outs}")
        return _Staged(optimize(g)), args

    cond_g, cond_args = lift(cond_fn, "cond_fn")
    body_g, body_args = lift(body_fn, "body_fn")
    args = [*cond_args, *body_args, *leaves]
    fn = _While(cond_g, body_g, len(cond_args), len(body_args), [_aval_of(x) for x in args])
    return tree_unflatten(carry_def, fn(args))


def _while_of(cond_fn: Callable[..., Sequence[Any]], body_fn: Callable[..., Sequence[Any]],
              c_avals: list[ShapedArray], b_avals: list[ShapedArray],
              k_avals: list[ShapedArray]) -> _While:
    """The `_While` of `cond_fn` ((cond's values, carry) -> [predicate]) and
    `body_fn` ((body's values, carry) -> carry), staged on these types."""
    from .staged import _stage, _Staged, optimize

    cond_g = _Staged(optimize(_stage(cond_fn, [*c_avals, *k_avals])))
    body_g = _Staged(optimize(_stage(body_fn, [*b_avals, *k_avals])))
    return _While(cond_g, body_g, len(c_avals), len(b_avals), [*c_avals, *b_avals, *k_avals])


class _While(_Equation):
    """A staged while_loop: one `custom_call` equation on the leaves (the values
    the predicate closes over, those the body closes over, the carry), holding the
    predicate and the body as staged graphs; the compiled code runs a Python loop
    over their compiled code. Its JVP is a while_loop again, over (carry, tangent
    carry). Reverse mode's forward part is one `_WhileFwd` equation that runs the
    loop recording what the backward part needs of each iteration (the body's
    residuals, their number the trip count) in a tape; its backward part one
    `_WhileBack` equation that runs the body's staged VJP over the tape in a
    backward loop: the graph's values keep static shapes while the trip count is
    known only at run time."""

    __name__ = "while_loop"

    def __init__(self, cond_g: Any, body_g: Any, nc: int, nb: int, in_avals: list[ShapedArray]):
        self.cond_g, self.body_g, self.nc, self.nb = cond_g, body_g, nc, nb
        self.in_avals, self.out_avals = in_avals, in_avals[nc + nb:]
        self.derived: dict[Any, Any] = {}
        self.fun = lambda *leaves: self.call_flat(leaves, None, None)

    def __repr__(self) -> str:
        return "<while_loop>"

    def graph_parts(self) -> tuple[str, dict[str, Any], list[tuple[str, Graph]]]:
        """What printing its equation shows (see `staging._Printer`): the predicate
        and the body; the equation's inputs are (cond's values, body's values, carry)."""
        return (self.__name__, {"cond_nconsts": self.nc, "body_nconsts": self.nb},
                [("cond_fn", self.cond_g.graph), ("body_fn", self.body_g.graph)])

    def call_flat(self, leaves: Sequence[Any], in_def: Any, out: Any) -> tuple[Any, ...]:
        nc, nb, cond_g, body_g = self.nc, self.nb, self.cond_g, self.body_g
        kc, kb, carry = list(leaves[:nc]), list(leaves[nc:nc + nb]), list(leaves[nc + nb:])
        if not any(isinstance(x, Tracer) for x in leaves):  # the compiled loop
            while cond_g([*kc, *carry])[0]:
                carry = body_g([*kb, *carry])
            return tuple(carry)
        # values of a transformation (vmap, or one with no staged rule): riesz.while_loop
        return tuple(while_loop(lambda c: cond_g([*kc, *c])[0],
                                lambda c: tuple(body_g([*kb, *c])), tuple(carry)))

    def batched(self, params: dict[str, Any], dims: Any, size: int) -> dict[str, Any]:
        """vmap over a trace below: one equation that runs a staged while_loop of
        the batched body (`_batched_loop`); its rules are the loop's rules mapped
        as a custom function's are."""
        from .custom import _flat_def, _OutStructure

        return {"fn": _BatchedWhile(self, params, dims, size), "in_def": _flat_def(len(dims)),
                "out": _OutStructure()}

    def _batched_loop(self, dims: tuple[int | None, ...],
                      size: int) -> tuple[_While, list[int | None]]:
        """The while_loop of the batched body on (cond's values, body's values,
        cond's values again, carry), as jax.lax.while_loop under vmap, and the
        carry's batch axes (0, or None for a leaf no example changes apart): with an
        unbatched predicate the loop of the batched body; with a batched one it runs
        while any example's predicate holds, each step keeping the carry of the
        examples whose predicate is false (a select), every carry leaf batched."""
        key = ("batch", dims, size)
        d = self.derived.get(key)
        if d is not None:
            return d
        from .custom import _batch_flat, _never
        from .staged import _stage

        nc, nb = self.nc, self.nb
        c_dims, b_dims = list(dims[:nc]), list(dims[nc:nc + nb])

        def bat(a: ShapedArray, d: int | None) -> ShapedArray:
            return a if d is None else ShapedArray((*a.shape[:d], size, *a.shape[d:]), a.dtype)

        c_avals = [bat(a, d) for a, d in zip(self.in_avals[:nc], c_dims, strict=True)]
        b_avals = [bat(a, d) for a, d in zip(self.in_avals[nc:nc + nb], b_dims, strict=True)]

        def batch_axes(g: Any, d0: list[Any], avals: list[ShapedArray],
                       k_dims: list[int | None]) -> list[int | None]:
            """The batch axes of `g`'s outputs on batched (values, carry)."""
            got: list[int | None] = []

            def probe(*xs: Any) -> list[Any]:
                res = _batch_flat(lambda *a: g(list(a)), xs, [*d0, *k_dims], size, _never)
                got.extend(d for _, d in res)
                return [v for v, _ in res]

            _stage(probe, [*avals, *[bat(a, d) for a, d in zip(self.out_avals, k_dims,
                                                              strict=True)]])
            return got

        # the carry leaves batched: those batched on entry or made so by the body
        # (a fixed point); all of them where the predicate is batched (the select)
        k_dims: list[int | None] = [None if d is None else 0 for d in dims[nc + nb:]]
        while True:
            outs = batch_axes(self.body_g, b_dims, b_avals, k_dims)
            new = [0 if d == 0 or o is not None else None for d, o in zip(k_dims, outs,
                                                                           strict=True)]
            if new == k_dims:
                break
            k_dims = new
        per_example = [batch_axes(self.cond_g, c_dims, c_avals, k_dims)[0] is not None]
        if per_example[0]:
            k_dims = [0] * len(k_dims)
        k_avals = [bat(a, d) for a, d in zip(self.out_avals, k_dims, strict=True)]

        def cond_fn(*xs: Any) -> list[Any]:
            ((p, pd),) = _batch_flat(lambda *a: self.cond_g(list(a)), xs, [*c_dims, *k_dims],
                                     size, _never)
            return [rnp.any(p) if per_example[0] else p]

        def step(*xs: Any) -> list[Any]:  # one example: (body's values, cond's values, carry)
            carry = list(xs[nb + nc:])
            new = self.body_g([*xs[:nb], *carry])
            if not per_example[0]:
                return new
            p = self.cond_g([*xs[nb:nb + nc], *carry])[0]
            return [rnp.where(p, a, b) for a, b in zip(new, carry, strict=True)]

        def body_fn(*xs: Any) -> list[Any]:
            return [v for v, _ in _batch_flat(step, xs, [*b_dims, *c_dims, *k_dims], size,
                                              lambda k: k_dims[k] == 0)]

        d = self.derived[key] = (_while_of(cond_fn, body_fn, c_avals, [*b_avals, *c_avals],
                                           k_avals), k_dims)
        return d

    def jvp_flat(self, primals: Sequence[Any], tangents: Sequence[Any], in_def: Any,
                 out: Any) -> tuple[tuple, list]:
        """∂while[u]: the while_loop over (carry, tangent carry) whose body is the
        body's staged JVP (`_jvp_while`); every floating-point carry gets a tangent."""
        nc, nb, k_avals = self.nc, self.nb, self.out_avals
        nk = len(k_avals)
        b_avals = self.in_avals[nc:nc + nb]
        b_mask = tuple(t is not None and _inexact(a) for t, a in zip(tangents[nc:nc + nb],
                                                                     b_avals, strict=True))
        t_b = [t for t, k in zip(tangents[nc:nc + nb], b_mask, strict=True) if k]
        t_k = [_zeros(a) if t is None else t for t, a in zip(tangents[nc + nb:], k_avals,
                                                              strict=True) if _inexact(a)]
        d = self._jvp_while(b_mask, [_aval_of(t) for t in t_b])
        outs = d([*primals[:nc + nb], *t_b, *primals[nc + nb:], *t_k])
        t_out = iter(outs[nk:])
        return tuple(outs[:nk]), [next(t_out) if _inexact(a) else None for a in k_avals]

    def _jvp_while(self, b_mask: tuple[bool, ...], t_avals: list[ShapedArray]) -> _While:
        """The while_loop of (x, u) ↦ (loop(x), ∂loop(x)[u]), on the leaves (cond's
        values, body's values, the tangents of those in `b_mask`, carry, tangent of
        each floating-point carry)."""
        key = ("jvp", b_mask, tuple(a.key() for a in t_avals))
        d = self.derived.get(key)
        if d is None:
            from .staged import _jvp_body

            nc, nb, k_avals = self.nc, self.nb, self.out_avals
            nk, ntb = len(k_avals), len(t_avals)
            floats = [j for j, a in enumerate(k_avals) if _inexact(a)]
            body = _jvp_body(self.body_g.graph, (*b_mask, *[_inexact(a) for a in k_avals]))

            def jvp_body(*xs: Any) -> list[Any]:  # (body's values, their tangents, carry, ...)
                res = body(*xs[:nb], *xs[nb + ntb:nb + ntb + nk], *xs[nb:nb + ntb],
                           *xs[nb + ntb + nk:])
                return [*res[:nk], *[_zeros(k_avals[j]) if res[nk + j] is None else
                                     _as(res[nk + j], k_avals[j].dtype) for j in floats]]

            d = self.derived[key] = _while_of(
                lambda *xs: self.cond_g(list(xs[:nc + nk])), jvp_body, self.in_avals[:nc],
                [*self.in_avals[nc:nc + nb], *t_avals], [*k_avals, *[k_avals[j] for j in floats]])
        return d

    def _tangent_while(self) -> _While:
        """`_jvp_while` with a tangent for every floating-point value of the body."""
        b_avals = self.in_avals[self.nc:self.nc + self.nb]
        return self._jvp_while(tuple(_inexact(a) for a in b_avals),
                               [a for a in b_avals if _inexact(a)])

    def _vjp_eq(self) -> _WhileVJP:
        return self._derived_eq("vjp", _WhileVJP)

    def _derived_eq(self, key: str, cls: type) -> Any:
        d = self.derived.get(key)
        if d is None:
            d = self.derived[key] = cls(self)
        return d

    def fwd_flat(self, leaves: Sequence[Any], in_def: Any, out: Any) -> tuple[tuple, Any]:
        """The loop's outputs from one `_WhileFwd` equation, which also records the
        body's residuals (the tape); the residuals are the tape and the inputs."""
        outs = self._derived_eq("fwd", _WhileFwd)(list(leaves))
        return tuple(outs[:-1]), [outs[-1], *leaves]

    def bwd_flat(self, residuals: Any, cts: Sequence[Any], in_def: Any, out: Any) -> list[Any]:
        """∂while*[v] for the body's values and the carry: one `_WhileBack` equation
        on the recorded tape (its own rules are those of `_WhileVJP`)."""
        cts = [_zeros(a) if c is None else c for c, a in zip(cts, self.out_avals, strict=True)]
        got = iter(self._derived_eq("back", _WhileBack)([*residuals, *cts]))
        return [next(got) if j >= self.nc and _inexact(a) else None
                for j, a in enumerate(self.in_avals)]


class _WhileVJP(_Equation):
    """∂while(x)*[v] as one equation on (the loop's inputs, the carry's
    cotangents) -> the cotangents of the body's floating-point values and of the
    floating-point carry. Run on arrays, a forward loop runs the staged forward
    part of the body's reverse mode (`staged._vjp_split`), keeping each
    iteration's residuals (a list as long as the trip count, known only now),
    then a backward loop runs the staged backward part on them in the opposite
    order, accumulating the body's values' cotangents. On the values of a
    transformation it is riesz.vjp of the loop (the loop on those values)."""

    __name__ = "while_loop_vjp"

    def __init__(self, loop: _While):
        self.loop = loop
        nc = loop.nc
        self.in_avals = [*loop.in_avals, *loop.out_avals]
        self.out_avals = [a for j, a in enumerate(loop.in_avals) if j >= nc and _inexact(a)]
        self.steps: Any = None
        self.fun = lambda *leaves: self.call_flat(leaves, None, None)

    def __repr__(self) -> str:
        return "<while_loop_vjp>"

    def graph_parts(self) -> tuple[str, dict[str, Any], list[tuple[str, Graph]]]:
        """What printing its equation shows: the differentiated loop's predicate and
        body (its inputs: the loop's, then the carry's cotangents)."""
        _, params, parts = self.loop.graph_parts()
        return self.__name__, params, parts

    def batched(self, params: dict[str, Any], dims: Any, size: int) -> dict[str, Any]:
        return _batched_declared(self, params, dims, size)

    def call_flat(self, leaves: Sequence[Any], in_def: Any, out: Any) -> tuple[Any, ...]:
        n = len(self.loop.in_avals)
        x, cts = list(leaves[:n]), list(leaves[n:])
        if any(isinstance(v, Tracer) for v in leaves):
            return self._traced(x, cts)
        return self._back(self._record(x)[1], cts)

    def _record(self, x: list[Any]) -> tuple[list[Any], list[Any]]:
        """The forward loop on arrays `x` (the loop's inputs): the final carry and
        the tape, each iteration's residuals in order (its length the trip count)."""
        w = self.loop
        nc, nb = w.nc, w.nb
        kc, kb, carry = x[:nc], x[nc:nc + nb], x[nc + nb:]
        if self.steps is None:
            self.steps = self._steps()
        step = self.steps[0]
        tape = []
        while w.cond_g([*kc, *carry])[0]:
            carry, res = step(kb, carry)
            tape.append(res)
        return carry, tape

    def _back(self, tape: list[Any], cts: list[Any]) -> tuple[Any, ...]:
        """The backward loop over a recorded tape: the outputs of `call_flat`."""
        w = self.loop
        nc, nb = w.nc, w.nb
        if self.steps is None:
            self.steps = self._steps()
        back = self.steps[1]
        acc: list[Any] = [None] * nb
        for res in reversed(tape):
            g_b, cts = back(res, cts)
            acc = [g if a is None else a if g is None else a + g
                   for a, g in zip(acc, g_b, strict=True)]
        b_avals = w.in_avals[nc:nc + nb]
        return (*[_zeros(a) if g is None else g for g, a in zip(acc, b_avals, strict=True)
                  if _inexact(a)],
                *[c for c, a in zip(cts, w.out_avals, strict=True) if _inexact(a)])

    def _layout(self, leaves: Sequence[Any]) -> tuple[list[Any], list[Any], list[Any],
                                                      list[Any], list[Any]]:
        """The leaves split: cond's values, body's values, carry, carry cotangents; and
        the positions of the floating-point body values and carries."""
        w = self.loop
        nc, nb, n = w.nc, w.nb, len(w.in_avals)
        return (list(leaves[:nc]), list(leaves[nc:nc + nb]), list(leaves[nc + nb:n]),
                list(leaves[n:]), [j for j, a in enumerate(w.in_avals[nc:nc + nb])
                                   if _inexact(a)])

    def _second_order(self, leaves: Sequence[Any], ts: list[Any], cts: list[Any]) -> list[Any]:
        """The cotangents of the inputs of `L' = loop._tangent_while()` at
        (x, tangents `ts` of the floating-point body values then carries) for the
        cotangents `cts` of its outputs (carry, tangent carry): [body values,
        their tangents, carry, tangent carry], floating-point entries only. With
        L'(x, ẋ) = (L(x), ∂L(x)[ẋ]) they hold ∂L(x)*[b] (for the tangents) and
        ∂L(x)*[a] + ∂²L(x)[ẋ, ·]*[b] (for x), where cts = (a, b)."""
        kc, kb, carry, _, fb = self._layout(leaves)
        nfb = len(fb)
        return self.loop._tangent_while()._vjp_eq()(
            [*kc, *kb, *ts[:nfb], *carry, *ts[nfb:], *cts])

    def jvp_flat(self, primals: Sequence[Any], tangents: Sequence[Any], in_def: Any,
                 out: Any) -> tuple[tuple, list]:
        """∂g(x, v)[u, w] for g(x, v) = ∂L(x)*[v]: ∂L(x)*[w] + ∂²L(x)[u, ·]*[v] (the
        second derivative is symmetric), with g itself, from one `_second_order`
        at ẋ = u, (a, b) = (w, v)."""
        w = self.loop
        kc, kb, carry, v, fb = self._layout(primals)
        n, nb = len(w.in_avals), w.nb
        floats = [_inexact(a) for a in w.out_avals]
        t_in = [_zeros(a) if t is None else t for t, a in zip(tangents[:n], w.in_avals,
                                                             strict=True)]
        u = [t_in[w.nc + j] for j in fb] + [t for t, fl in zip(t_in[w.nc + nb:], floats,
                                                               strict=True) if fl]
        ws = [_zeros(a) if t is None else t for t, a in zip(tangents[n:], w.out_avals,
                                                            strict=True)]
        got = self._second_order(primals, u, [*ws, *[c for c, fl in zip(v, floats, strict=True)
                                                     if fl]])
        nfb, nfk = len(fb), sum(floats)
        # got: body values (nfb), their tangents (nfb), carry (nfk), tangent carry (nfk)
        return ((*got[nfb:2 * nfb], *got[2 * nfb + nfk:]),
                [*got[:nfb], *got[2 * nfb:2 * nfb + nfk]])

    def fwd_flat(self, leaves: Sequence[Any], in_def: Any, out: Any) -> tuple[tuple, Any]:
        return tuple(self(list(leaves))), list(leaves)

    def bwd_flat(self, residuals: Any, cts: Sequence[Any], in_def: Any, out: Any) -> list[Any]:
        """∂g(x, v)*[c] = (∂²L(x)[c, ·]*[v], ∂L(x)[c]): `_second_order` at ẋ = c,
        (a, b) = (0, v), and the tangent of L'(x, c)."""
        w = self.loop
        kc, kb, carry, v, fb = self._layout(residuals)
        floats = [_inexact(a) for a in w.out_avals]
        c = [_zeros(a) if g is None else g for g, a in zip(cts, self.out_avals, strict=True)]
        nfb, nfk = len(fb), sum(floats)
        lp = w._tangent_while()
        t_out = lp([*kc, *kb, *c[:nfb], *carry, *c[nfb:]])[len(w.out_avals):]
        got = self._second_order(residuals, c, [*[_zeros(a) for a in w.out_avals],
                                                *[x for x, fl in zip(v, floats, strict=True)
                                                  if fl]])
        g_b, g_k = iter(got[:nfb]), iter(got[2 * nfb:2 * nfb + nfk])
        t_k = iter(t_out)
        nc, nb = w.nc, w.nb
        return [*[None] * nc,
                *[next(g_b) if j in fb else None for j in range(nb)],
                *[next(g_k) if fl else None for fl in floats],
                *[next(t_k) if fl else None for fl in floats]]

    def _steps(self) -> tuple[Callable[..., Any], Callable[..., Any]]:
        """(body's values, carry) -> (new carry, residuals) and (residuals, carry
        cotangents) -> (body's values' cotangents, None: zero; carry cotangents)."""
        from .staged import _vjp_split

        w = self.loop
        nb = w.nb
        k_avals = w.out_avals
        nk = len(k_avals)
        avals = [*w.in_avals[w.nc:w.nc + nb], *k_avals]  # the body's inputs
        active = [j for j, a in enumerate(avals) if _inexact(a)]
        parts = _vjp_split(w.body_g, tuple(_inexact(a) for a in avals),
                           [_zeros(a) for a in avals])

        def split(grads: Sequence[Any]) -> tuple[list[Any], list[Any]]:
            got = dict(zip(active, grads, strict=True))
            return ([got.get(j) for j in range(nb)],
                    [_zeros(a) if got.get(nb + j) is None else got[nb + j]
                     for j, a in enumerate(k_avals)])

        if parts is not None:
            fwd, bwd, _ = parts

            def step(kb: list[Any], carry: list[Any]) -> tuple[list[Any], list[Any]]:
                outs = fwd([*kb, *carry])
                return outs[:nk], outs[nk:]

            def back(res: list[Any], cts: list[Any]) -> tuple[list[Any], list[Any]]:
                return split(bwd([*res, *cts]))

            return step, back
        from .transforms import vjp  # a body whose VJP cannot be staged: riesz.vjp

        def step_(kb: list[Any], carry: list[Any]) -> tuple[list[Any], list[Any]]:
            return w.body_g([*kb, *carry]), [*kb, *carry]

        def back_(res: list[Any], cts: list[Any]) -> tuple[list[Any], list[Any]]:
            def f(*d: Any) -> tuple[Any, ...]:
                full = list(res)
                for j, v in zip(active, d, strict=True):
                    full[j] = v
                return tuple(w.body_g(full))

            return split(vjp(f, *[res[j] for j in active])[1](tuple(cts)))

        return step_, back_

    def _traced(self, x: list[Any], cts: list[Any]) -> tuple[Any, ...]:
        """riesz.vjp of the loop on values of a transformation (vmap: a batched
        predicate runs until every example is done)."""
        from .transforms import vjp

        w = self.loop
        active = [j for j, a in enumerate(w.in_avals) if j >= w.nc and _inexact(a)]
        floats = [_inexact(a) for a in w.out_avals]

        def f(*d: Any) -> tuple[Any, ...]:
            full = list(x)
            for j, v in zip(active, d, strict=True):
                full[j] = v
            return tuple(o for o, fl in zip(w.call_flat(full, None, None), floats, strict=True)
                         if fl)

        g = tuple(c for c, fl in zip(cts, floats, strict=True) if fl)
        return tuple(vjp(f, *[x[j] for j in active])[1](g))


_TAPE = ShapedArray((), object)  # the type of a recorded tape: a 0-d object array


def _no_tape() -> Any:
    """The tape of a forward loop that recorded nothing (it ran on the values of a
    transformation): the backward equation then recomputes the forward loop."""
    return np.empty((), object)


class _WhileFwd(_Equation):
    """Reverse mode's forward part of a `_While`: the loop's outputs and, run on
    arrays, the tape (`_WhileVJP._record`: each iteration's residuals, as many as
    the trip count) as one more output, a 0-d object array that `_WhileBack`
    consumes, so the body runs once per iteration for the value and the gradient
    together. On the values of a transformation (and in its rules) it is the loop
    with an empty tape; the tape has no derivative."""

    __name__ = "while_loop_fwd"

    def __init__(self, loop: _While):
        self.loop = loop
        self.in_avals, self.out_avals = loop.in_avals, [*loop.out_avals, _TAPE]
        self.fun = lambda *leaves: self.call_flat(leaves, None, None)

    def __repr__(self) -> str:
        return "<while_loop_fwd>"

    def graph_parts(self) -> tuple[str, dict[str, Any], list[tuple[str, Graph]]]:
        _, params, parts = self.loop.graph_parts()
        return self.__name__, params, parts

    def call_flat(self, leaves: Sequence[Any], in_def: Any, out: Any) -> tuple[Any, ...]:
        if any(isinstance(v, Tracer) for v in leaves):
            return (*self.loop.call_flat(leaves, None, None), _no_tape())
        carry, tape = self.loop._vjp_eq()._record(list(leaves))
        box = _no_tape()
        box[()] = tape
        return (*carry, box)

    def batched(self, params: dict[str, Any], dims: Any, size: int) -> dict[str, Any]:
        return _batched_declared(self, params, dims, size)

    def jvp_flat(self, primals: Sequence[Any], tangents: Sequence[Any], in_def: Any,
                 out: Any) -> tuple[tuple, list]:
        outs, t_out = self.loop.jvp_flat(primals, tangents, in_def, out)
        return (*outs, _no_tape()), [*t_out, None]

    def fwd_flat(self, leaves: Sequence[Any], in_def: Any, out: Any) -> tuple[tuple, Any]:
        return (*self.loop(list(leaves)), _no_tape()), list(leaves)

    def bwd_flat(self, residuals: Any, cts: Sequence[Any], in_def: Any, out: Any) -> list[Any]:
        return self.loop.bwd_flat([_no_tape(), *residuals], cts[:-1], in_def, out)


class _WhileBack(_Equation):
    """Reverse mode's backward part of a `_While`: `_WhileVJP` with the tape of a
    `_WhileFwd` as its first input. Run on arrays with a recorded tape it runs only
    the backward loop; otherwise, and for its own derivatives (the tape is not
    differentiated), it is `_WhileVJP` on the other inputs."""

    __name__ = "while_loop_vjp"

    def __init__(self, loop: _While):
        self.loop, vjp_eq = loop, loop._vjp_eq()
        self.in_avals, self.out_avals = [_TAPE, *vjp_eq.in_avals], vjp_eq.out_avals
        self.fun = lambda *leaves: self.call_flat(leaves, None, None)

    def __repr__(self) -> str:
        return "<while_loop_vjp>"

    def graph_parts(self) -> tuple[str, dict[str, Any], list[tuple[str, Graph]]]:
        return self.loop._vjp_eq().graph_parts()

    def call_flat(self, leaves: Sequence[Any], in_def: Any, out: Any) -> tuple[Any, ...]:
        tape, vjp_eq = leaves[0], self.loop._vjp_eq()
        recorded = tape.item() if isinstance(tape, np.ndarray) and not tape.ndim else None
        if not isinstance(recorded, list) or any(isinstance(v, Tracer) for v in leaves[1:]):
            return tuple(vjp_eq.call_flat(leaves[1:], None, None))
        return vjp_eq._back(recorded, list(leaves[1 + len(self.loop.in_avals):]))

    def batched(self, params: dict[str, Any], dims: Any, size: int) -> dict[str, Any]:
        return _batched_declared(self, params, dims, size)

    def jvp_flat(self, primals: Sequence[Any], tangents: Sequence[Any], in_def: Any,
                 out: Any) -> tuple[tuple, list]:
        return self.loop._vjp_eq().jvp_flat(primals[1:], tangents[1:], in_def, out)

    def fwd_flat(self, leaves: Sequence[Any], in_def: Any, out: Any) -> tuple[tuple, Any]:
        return tuple(self(list(leaves))), list(leaves[1:])

    def bwd_flat(self, residuals: Any, cts: Sequence[Any], in_def: Any, out: Any) -> list[Any]:
        return [None, *self.loop._vjp_eq().bwd_flat(residuals, cts, in_def, out)]


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


class _Scan(_Equation):
    """A staged scan: one `custom_call` equation whose body is a staged graph
    (consts, carry, x) -> (carry, y), compiled once and run by a Python loop over
    the iterations. It has the interface of a `riesz.custom_vjp` function, and its
    rules are scans again, over staged derived bodies (so higher orders stay loops):
    the JVP scans the body's JVP over (carry, tangent carry); reverse mode's forward
    part saves the carry of each iteration, its backward part scans the body's VJP
    in the opposite direction, accumulating the cotangents of the consts."""

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

    def graph_parts(self) -> tuple[str, dict[str, Any], list[tuple[str, Graph]]]:
        """What printing its equation shows (see `staging._Printer`): the body
        (consts, carry, x slices) -> (carry, y slices)."""
        return ("scan", {"length": self.length, "reverse": self.reverse, "num_consts": self.nc,
                         "num_carry": self.nk}, [("body", self.body.graph)])

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
