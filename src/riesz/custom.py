"""`custom_jvp` and `custom_vjp`: functions that bring their own derivative rules.

    @riesz.custom_vjp
    def softplus(x):
        return rnp.log1p(rnp.exp(x))

    def softplus_fwd(x):
        return softplus(x), x                    # (output, residuals)

    def softplus_bwd(x, g):
        return (g * riesz.scipy.special.expit(x),)   # one cotangent per argument

    softplus.defvjp(softplus_fwd, softplus_bwd)

A function may carry both rules, and then each mode uses its own: forward mode
the JVP rule `rule(primals, tangents) -> (primal_out, tangent_out)`, reverse mode
the VJP rule. A missing rule is derived: reverse mode transposes the JVP rule
(it is linear in the tangents), and forward mode differentiates the function's
body, so forward mode keeps working on a function that only declares a VJP.
Rules written with riesz operations are differentiable themselves, so every
order and nesting works. Arguments and outputs may be pytrees; a cotangent or
tangent of `None` (or a `riesz._core.zeros.Zero`) stands for zero. Keyword
arguments are matched to positions, defaults filled in, before the rules see
them (`primals` holds one entry per positional parameter).

Under `vmap`, a call binds a batched custom function whose body and rules are
the mapped body and rules, as JAX batches custom_jvp / custom_vjp, so a `grad`
or `jvp` of the vmap still applies the user's rules.

A rule may close over a value that the transformation differentiating the call
also follows (`a` in `def f(x): return a * x` defined inside the function being
differentiated): the rule gives ∂_x f, and the dependence through the closed-over
value, ∂_a f, comes from differentiating what the function computes (its body,
or the primal output of the JVP rule). Where no rule can account for it (a value
closed over from a transformation opened inside the one differentiating the
arguments, as in grad(jvp(...)) around such a function, a `bwd` rule that reads
the closed-over value instead of a residual, or `jet` expanding it), a clear
error asks for the value as an argument, as JAX's CustomJVPException does.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ._core.primitive import CUSTOM, Primitive
from ._core.pytree import (
    PyTreeDef,
    _node_type_of,
    register_pytree_node,
    tree_flatten,
    tree_unflatten,
)
from ._core.trace import EscapedTracerError, Tracer, bind, new_trace
from ._core.zeros import is_zero, zeros_like

__all__ = ["checkpoint", "custom_jvp", "custom_vjp"]


class _OutStructure:
    """The output structure of one call, learned when the function runs."""

    __slots__ = ("treedef",)

    def __init__(self, treedef: PyTreeDef | None = None) -> None:
        self.treedef = treedef

    def flatten(self, out: Any, what: str) -> tuple[Any, ...]:
        leaves, treedef = tree_flatten(out)
        if self.treedef is None:
            self.treedef = treedef
        elif treedef != self.treedef:
            raise TypeError(f"{what} has structure {treedef}, the function returns {self.treedef}")
        return tuple(leaves)


def _zero_tangent(x: Any) -> Any:
    """The zero tangent a rule is called with (None for a non-numeric argument)."""
    if isinstance(x, (Tracer, np.ndarray, np.generic, int, float, complex)) or hasattr(x, "dtype"):
        return zeros_like(x)
    return None


def _flatten_like(tree: Any, treedef: PyTreeDef, what: str) -> list[Any]:
    """The leaves of a rule's tangent or cotangent `tree`, matched to `treedef`;
    a symbolic zero (None or a `Zero`) in place of a subtree gives None leaves."""
    if is_zero(tree):
        return [None] * treedef.num_leaves
    if treedef.node is None:
        return [tree]
    if type(tree) is not treedef.node:
        raise TypeError(f"{what} has type {type(tree).__name__}, expected "
                        f"{treedef.node.__name__} (structure {treedef})")
    children, aux = _node_type_of(treedef.node).flatten(tree)
    children = list(children)
    if aux != treedef.aux or len(children) != len(treedef.children):
        raise TypeError(f"{what} has structure {tree_flatten(tree, strict=False)[1]}, "
                        f"expected {treedef}")
    leaves: list[Any] = []
    for c, d in zip(children, treedef.children, strict=True):
        leaves.extend(_flatten_like(c, d, what))
    return leaves


def _pair(res: Any, who: str) -> tuple[Any, Any]:
    if not (isinstance(res, tuple) and len(res) == 2):
        raise TypeError(f"{who} must return a pair, got {type(res).__name__}")
    return res


def _signature(fun: Callable[..., Any]) -> Any:
    """`fun`'s signature and its number of positional parameters (fewer
    arguments leave defaults to fill in), or False where Python cannot tell
    it (some builtins)."""
    try:
        sig = inspect.signature(fun)
    except (TypeError, ValueError):
        return False
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return sig, sum(p.kind in positional for p in sig.parameters.values())


def _positional(fun: Callable[..., Any], signature: inspect.Signature, args: tuple[Any, ...],
                kwargs: dict[str, Any]) -> tuple[Any, ...]:
    """`args` and `kwargs` as positional arguments of `fun` (defaults filled in),
    as the rules see them (JAX's custom_jvp does the same)."""
    try:
        bound = signature.bind(*args, **kwargs)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{getattr(fun, '__qualname__', fun)}: {e}") from None
    bound.apply_defaults()
    passed = sorted(k for k in bound.kwargs if k in kwargs)
    if passed:
        raise TypeError(
            f"{getattr(fun, '__qualname__', fun)}: keyword-only arguments {passed} cannot "
            "be passed to a function with custom rules (the rules take the arguments by "
            "position); make them positional-or-keyword"
        )
    return bound.args


class _CustomFunction:
    """A function with user-declared derivative rules (see the module docstring)."""

    def __init__(self, fun: Callable[..., Any]):
        functools.update_wrapper(self, fun)
        self.fun = fun
        self._signature: Any = None
        self.jvp_rule: Callable[..., Any] | None = None
        self.fwd: Callable[..., Any] | None = None
        self.bwd: Callable[..., Any] | None = None

    def defjvp(self, rule: Callable[..., Any]) -> Callable[..., Any]:
        """Declare ∂f(x)[u]: `rule(primals, tangents) -> (f(*primals), tangent_out)`,
        with `primals` and `tangents` tuples holding one entry per argument
        (keyword arguments and defaults in their positions). A tangent of None
        (for the whole output or a part of it) stands for zero."""
        self.jvp_rule = rule
        return rule

    def defvjp(self, fwd: Callable[..., Any], bwd: Callable[..., Any]) -> _CustomFunction:
        """Declare ∂f(x)*[v]: `fwd(*args) -> (out, residuals)` and
        `bwd(residuals, ct) -> tuple` with one cotangent per argument (None: zero)."""
        self.fwd, self.bwd = fwd, bwd
        return self

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        leaves, in_def = tree_flatten((args, kwargs) if kwargs else args, strict=False)
        if not any(isinstance(x, Tracer) for x in leaves):
            return self.fun(*args, **kwargs)
        # the rules take every argument by position, defaults filled in (as in JAX)
        if self._signature is None:
            self._signature = _signature(self.fun)
        sig = self._signature
        if sig is False:
            if kwargs:
                raise TypeError(f"{self!r}: keyword arguments cannot be matched to positions "
                                "(the function's signature is unknown); pass them by position")
        elif kwargs or len(args) < sig[1]:
            args = _positional(self.fun, sig[0], args, kwargs)
            leaves, in_def = tree_flatten(args, strict=False)
        out = _OutStructure()
        outs = bind(custom_call_p, *leaves, fn=self, in_def=in_def, out=out)
        assert out.treedef is not None  # (learned when the function ran)
        return tree_unflatten(out.treedef, outs)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {getattr(self.fun, '__qualname__', self.fun)!r}>"

    # -- the flat interface the traces use (leaves in, leaves out) -------------------
    def call_flat(self, leaves: Sequence[Any], in_def: PyTreeDef, out: _OutStructure) -> tuple:
        return out.flatten(self.fun(*tree_unflatten(in_def, leaves)), "the function's output")

    def fwd_flat(self, leaves: Sequence[Any], in_def: PyTreeDef,
                 out: _OutStructure) -> tuple[tuple, Any]:
        assert self.fwd is not None  # (the traces call it only where defvjp gave it)
        primal, residuals = _pair(self.fwd(*tree_unflatten(in_def, leaves)), "the fwd rule")
        return out.flatten(primal, "fwd's output"), residuals

    def jvp_flat(self, primals: Sequence[Any], tangents: Sequence[Any], in_def: PyTreeDef,
                 out: _OutStructure) -> tuple[tuple, list]:
        """The JVP rule on leaves; `None` tangents (symbolic zeros) are given to the
        rule as zeros, and zero output tangents come back as `None`."""
        assert self.jvp_rule is not None  # (the traces call it only where defjvp gave it)
        tangents = [_zero_tangent(p) if t is None else t
                    for p, t in zip(primals, tangents, strict=True)]
        primal, tangent = _pair(
            self.jvp_rule(tuple(tree_unflatten(in_def, primals)),
                          tuple(tree_unflatten(in_def, tangents))),
            "the JVP rule",
        )
        outs = out.flatten(primal, "the JVP rule's primal output")
        assert out.treedef is not None  # (learned by the flatten above)
        return outs, _flatten_like(tangent, out.treedef, "the JVP rule's tangent")

    def bwd_flat(self, residuals: Any, cts: Sequence[Any], in_def: PyTreeDef,
                 out: _OutStructure) -> list[Any]:
        assert self.bwd is not None and out.treedef is not None  # (after fwd_flat)
        res = self.bwd(residuals, tree_unflatten(out.treedef, cts))
        arg_defs = in_def.children
        if not isinstance(res, tuple) or len(res) != len(arg_defs):
            raise TypeError(f"the bwd rule must return a tuple with one cotangent per "
                            f"argument ({len(arg_defs)}), got {res!r:.80}")
        leaves: list[Any] = []
        for k, (ct, arg_def) in enumerate(zip(res, arg_defs, strict=True)):
            leaves.extend(_flatten_like(ct, arg_def, f"the bwd rule's cotangent {k}"))
        return leaves

    # -- what the traces ask for besides the rules -----------------------------------
    def batched(self, params: dict[str, Any], dims: Sequence[int | None],
                size: int) -> dict[str, Any]:
        """The parameters of a call of this function mapped over a batch (vmap):
        a custom function whose body and rules are the mapped body and rules."""
        fn = _BatchedCustom(self, params["in_def"], params["out"], list(dims), size)
        return {"fn": fn, "in_def": _flat_def(len(dims)), "out": _OutStructure()}

    def linearized(self, primals: Sequence[Any], argnums: Sequence[int], outs: Sequence[Any],
                   params: dict[str, Any], held: list[Any] | None) -> _Linearized:
        """u ↦ ∂f(x)[u] for the arguments `argnums` (`outs`: f's outputs),
        recorded now, while the values the JVP rule may close over are alive
        (VJPTrace asks for it in the forward pass; if the rule used a tracer of
        that trace, it calls `strip` on the result). `held`: the calling trace's
        list of arrays held read-only for the call (None: saved arrays are
        fingerprinted), which the record shares."""
        from .transforms import _Recorded

        in_def, out = params["in_def"], params["out"]

        def tangent_map(*ts: Any) -> tuple:
            tangents: list[Any] = [None] * len(primals)
            for k, t in zip(argnums, ts, strict=True):
                tangents[k] = t
            t_out = self.jvp_flat(primals, tangents, in_def, out)[1]
            return tuple(_zero_tangent(o) if t is None else t
                         for t, o in zip(t_out, outs, strict=True))

        zeros = [zeros_like(primals[k]) for k in argnums]
        rec = _Recorded(tangent_map, zeros, "custom_jvp", False, tangent_map, held=held)
        return _Linearized(rec, list(argnums))


class _Linearized:
    """u ↦ ∂f(x)[u] of a custom function's JVP rule, recorded on a tape (for
    the arguments `argnums`), with its pushforward and pullback."""

    __slots__ = ("rec", "argnums")

    def __init__(self, rec: Any, argnums: list[int]):
        self.rec, self.argnums = rec, argnums

    def strip(self, strip: Callable[[Any], Any]) -> None:
        """Replace the calling trace's tracers on the record by their values
        (`strip` does it to a pytree), so that the pullback and pushforward
        run after that trace has closed. The dropped part, the rule's own
        dependence on a closed-over value, is of second order at that level."""
        tape = self.rec.trace.tape
        for i, node in enumerate(tape):
            if node is not None and node[0] >= 0:
                pid, parents, nums, ans, vals, node_params = node
                tape[i] = (pid, parents, nums, strip(ans), strip(vals), strip(node_params))
        self.rec.out_leaves = strip(self.rec.out_leaves)

    def pushforward(self, tangents: Sequence[Any]) -> list[Any]:
        ts = [zeros_like(x) if tangents[k] is None else tangents[k]
              for k, x in zip(self.argnums, self.rec.in_leaves, strict=True)]
        return self.rec.pushforward(ts)

    def pullback(self, cts: Sequence[Any]) -> list[Any]:
        return self.rec.pullback(list(cts), release=False, user_ct=False)


def _is_float_tree(x: Any) -> bool:
    """True if `x` is a pytree of floating-point (real or complex) arrays or numbers
    (something to differentiate), False for ints, booleans and other constants."""
    leaves = tree_flatten(x, strict=False)[0]
    return bool(leaves) and all(
        (isinstance(v, (float, complex)) or np.dtype(getattr(v, "dtype", object)).kind in "fc")
        and not isinstance(v, bool) for v in leaves)


def _flat_def(n: int) -> PyTreeDef:
    """The structure of a tuple of `n` leaves."""
    return tree_flatten(tuple(range(n)))[1]


def _batch_flat(f: Callable[..., Sequence[Any]], vals: Sequence[Any],
                dims: Sequence[int | None], size: int,
                front: Callable[[int], bool]) -> list[tuple[Any, int | None]]:
    """Run `f` (leaves in, leaves out) on `vals` batched along `dims` under a
    BatchTrace; each output as (value, batch axis). Output k gets its batch
    axis at 0 (broadcast if unbatched) where `front(k)`; None stays None."""
    from ._interpreters.batching import BatchTrace, BatchTracer

    with new_trace(BatchTrace) as trace:
        trace.size = size
        ins = [v if d is None else trace.new_input(v, d) for v, d in zip(vals, dims, strict=True)]
        outs = f(*ins)
        result: list[tuple[Any, int | None]] = []
        for k, o in enumerate(outs):
            if o is not None and front(k):
                result.append((trace.unbatched(o, 0), 0))
            elif type(o) is BatchTracer and o._trace is trace:
                result.append((o._value, o._bdim))
            else:
                result.append((o, None))
        return result


class _BatchedResiduals:
    """The residuals of a batched fwd rule: leaves with their batch axes."""

    __slots__ = ("treedef", "leaves", "dims")

    def __init__(self, treedef: PyTreeDef, leaves: list[Any], dims: list[int | None]):
        self.treedef, self.leaves, self.dims = treedef, leaves, dims


class _BatchedCustom(_CustomFunction):
    """`fn` mapped over a batch, as vmap binds it: the body and every rule are
    the mapped body and rules of `fn` (leaves in, leaves out; every output has
    its batch axis at 0). Derivative traces below the vmap see a custom call
    and use these rules, so the user's rules are kept under grad(vmap(f))."""

    def __init__(self, fn: _CustomFunction, in_def: PyTreeDef, out: _OutStructure,
                 dims: list[int | None], size: int):
        self.fn, self.inner_def, self.inner_out = fn, in_def, out
        self.dims, self.size = dims, size
        self.fun = fn.fun
        self.jvp_rule, self.fwd, self.bwd = fn.jvp_rule, fn.fwd, fn.bwd

    def __repr__(self) -> str:
        return f"<batched {self.fn!r}>"

    def graph_parts(self) -> tuple[str, dict[str, Any], list[tuple[str, Any]]]:
        """What printing its equation shows: `fn`'s name and staged graphs (those of
        one example, see `staging._Printer`), the batch size and axes."""
        inner = getattr(self.fn, "graph_parts", None)
        name, params, parts = inner() if inner is not None else (
            getattr(self.fn, "__name__", type(self.fn).__name__), {}, [])
        return f"vmap({name}, in_axes={tuple(self.dims)}, size={self.size})", params, parts

    def call_flat(self, leaves: Sequence[Any], in_def: PyTreeDef, out: _OutStructure) -> tuple:
        def body(*xs: Any) -> tuple:
            return self.fn.call_flat(xs, self.inner_def, self.inner_out)

        res = _batch_flat(body, leaves, self.dims, self.size, _always)
        return out.flatten(tuple(v for v, _ in res), "the batched function's output")

    def fwd_flat(self, leaves: Sequence[Any], in_def: PyTreeDef,
                 out: _OutStructure) -> tuple[tuple, Any]:
        shape: list[Any] = []

        def fwd(*xs: Any) -> list[Any]:
            outs, residuals = self.fn.fwd_flat(xs, self.inner_def, self.inner_out)
            r_leaves, r_def = tree_flatten(residuals, strict=False)
            shape.extend([len(outs), r_def])
            return [*outs, *r_leaves]

        res = _batch_flat(fwd, leaves, self.dims, self.size, lambda k: k < shape[0])
        m, r_def = shape
        outs = out.flatten(tuple(v for v, _ in res[:m]), "the batched fwd's output")
        return outs, _BatchedResiduals(r_def, [v for v, _ in res[m:]], [d for _, d in res[m:]])

    def jvp_flat(self, primals: Sequence[Any], tangents: Sequence[Any], in_def: PyTreeDef,
                 out: _OutStructure) -> tuple[tuple, list]:
        n = len(primals)
        t_dims = [None if t is None else d for t, d in zip(tangents, self.dims, strict=True)]

        def rule(*xs: Any) -> list[Any]:
            outs, t_outs = self.fn.jvp_flat(xs[:n], xs[n:], self.inner_def, self.inner_out)
            return [*outs, *t_outs]

        res = _batch_flat(rule, [*primals, *tangents], [*self.dims, *t_dims], self.size,
                          _always)
        m = len(res) // 2
        outs = out.flatten(tuple(v for v, _ in res[:m]), "the batched JVP rule's output")
        return outs, [v for v, _ in res[m:]]

    def bwd_flat(self, residuals: Any, cts: Sequence[Any], in_def: PyTreeDef,
                 out: _OutStructure) -> list[Any]:
        from .numpy import moveaxis
        from .numpy import sum as rsum

        r = residuals
        k = len(r.leaves)

        def bwd(*xs: Any) -> list[Any]:
            res = tree_unflatten(r.treedef, xs[:k])
            return self.fn.bwd_flat(res, list(xs[k:]), self.inner_def, self.inner_out)

        res = _batch_flat(bwd, [*r.leaves, *cts], [*r.dims, *[0] * len(cts)], self.size,
                          _never)
        leaves: list[Any] = []
        for (c, c_dim), d in zip(res, self.dims, strict=True):
            if c is None:
                leaves.append(None)
            elif d is None:  # an argument shared by every example: its cotangents add up
                leaves.append(c * float(self.size) if c_dim is None else rsum(c, axis=c_dim))
            elif c_dim is None:  # the same cotangent for every example
                from ._primitives._batch_axes import broadcast_batch

                leaves.append(moveaxis(broadcast_batch(c, None, self.size), 0, d))
            else:
                leaves.append(moveaxis(c, c_dim, d))
        return leaves


register_pytree_node(
    _BatchedResiduals,
    lambda r: (r.leaves, (r.treedef, tuple(r.dims))),
    lambda aux, leaves: _BatchedResiduals(aux[0], list(leaves), list(aux[1])),
)


def _always(k: int) -> bool:
    return True


def _never(k: int) -> bool:
    return False


class custom_jvp(_CustomFunction):
    """Decorate a function whose JVP is given by `f.defjvp(rule)`.

    Math: the rule returns (f(x), ∂f(x)[u]); reverse mode transposes it.

    Examples
    --------
    >>> @riesz.custom_jvp
    ... def cube(x):
    ...     return x**3
    >>> _ = cube.defjvp(lambda primals, tangents: (cube(*primals),
    ...                                            3 * primals[0] ** 2 * tangents[0]))
    >>> print(riesz.grad(cube)(2.0))
    12.0

    Raises
    ------
    TypeError
        If the rule returns something other than a pair with the function's output
        structure, or keyword arguments cannot be matched to positions.
    """


class custom_vjp(_CustomFunction):
    """Decorate a function whose VJP is given by `f.defvjp(fwd, bwd)`.

    Math: fwd returns (f(x), residuals); bwd(residuals, v) returns ∂f(x)*[v] (a tuple).

    Examples
    --------
    >>> @riesz.custom_vjp
    ... def clip_grad(x):
    ...     return x
    >>> _ = clip_grad.defvjp(lambda x: (x, None),
    ...                      lambda res, g: (rnp.clip(g, -1.0, 1.0),))
    >>> print(riesz.grad(lambda x: 5.0 * clip_grad(x))(3.0))  # the cotangent 5 is clipped
    1.0

    Raises
    ------
    TypeError
        If fwd does not return a pair, or bwd does not return one cotangent per argument.
    """


# -- the primitive a call binds, with the rules for replaying a recorded call ---------


def _custom_call_impl(*leaves: Any, fn: _CustomFunction, in_def: PyTreeDef,
                      out: _OutStructure) -> tuple:
    return fn.call_flat(leaves, in_def, out)


def _custom_call_jvp(primals: list[Any], tangents: list[Any], ans: tuple, *,
                     fn: _CustomFunction, in_def: PyTreeDef, out: _OutStructure,
                     residuals: Any = None, linear: Any = None) -> tuple:
    """∂f(x)[u] of a recorded call (used when a linearised tape is applied).
    Entries of `primals` past the function's arguments are outputs' dependences
    on values the function closes over (see VJPTrace.process_custom): their
    tangents add to the outputs'."""
    n = in_def.num_leaves
    closure, primals, tangents = tangents[n:], primals[:n], tangents[:n]
    if linear is not None:
        t_out = linear.pushforward(tangents)
    elif fn.jvp_rule is not None:
        try:
            t_out = fn.jvp_flat(primals, tangents, in_def, out)[1]
        except EscapedTracerError as e:
            raise _rule_closes_over(fn) from e
    else:
        from .transforms import jvp

        tangents = [_zero_tangent(p) if t is None else t for p, t in zip(primals, tangents,
                                                                            strict=True)]
        t_out = list(jvp(lambda *xs: fn.call_flat(xs, in_def, out), tuple(primals),
                         tuple(tangents))[1])
    for k, t in enumerate(closure):
        if t is not None:
            t_out[k] = t if t_out[k] is None else t_out[k] + t
    return tuple(t_out)


def _custom_call_vjp(g: list[Any], ans: tuple, primals: tuple, argnums: Sequence[int], *,
                     fn: _CustomFunction, in_def: PyTreeDef, out: _OutStructure,
                     residuals: Any = None, linear: Any = None) -> list[Any]:
    """∂f(x)*[v]: the user's bwd rule, or else the transpose of the JVP rule's
    linear map, recorded in the forward pass (`linear`).
    An entry of `argnums` past the function's arguments stands for output
    k = entry - n's dependence on a closed-over value: its cotangent is g[k]."""
    g = [_zero_tangent(a) if c is None else c for c, a in zip(g, ans, strict=True)]
    n = in_def.num_leaves
    explicit = [k for k in argnums if k < n]
    passed = [g[k - n] for k in argnums if k >= n]
    if not explicit:
        return passed
    if fn.bwd is not None:
        try:
            cts = fn.bwd_flat(residuals, g, in_def, out)
        except EscapedTracerError as e:
            raise EscapedTracerError(
                f"the bwd rule of {fn!r} uses a value traced by a transformation that has "
                "returned: it closes over a value being differentiated. Return that value "
                "from fwd as a residual, or pass it to the function as an argument"
            ) from e
        return [cts[k] for k in explicit] + passed
    return linear.pullback(g) + passed  # recorded in the forward pass (VJPTrace)


def _rule_closes_over(fn: _CustomFunction) -> EscapedTracerError:
    return EscapedTracerError(
        f"the JVP rule of {fn!r}, replayed after the forward pass (reverse mode, "
        "linearize), uses a value traced by a transformation that has returned: the rule "
        "closes over a value being differentiated that the function's output does not "
        "depend on. Pass that value to the function as an argument"
    )


custom_call_p = Primitive(
    "custom_call", _custom_call_impl, kind=CUSTOM, multiple_results=True,
    notes="a call of a riesz.custom_jvp / custom_vjp function: its own rules",
)
custom_call_p.def_joint_jvp(_custom_call_jvp).def_joint_vjp(_custom_call_vjp)


def checkpoint(f: Callable[..., Any]) -> _CustomFunction:
    """`f`, whose intermediates reverse mode recomputes in the backward pass
    instead of storing them: the tape keeps only f's inputs, and ∂f(x)*[v] runs
    f again under a fresh VJP. Checkpointing the segments of a long chain trades
    one extra forward pass for memory proportional to one segment. Forward mode
    and higher orders see f's body as usual. Arguments that are not floating
    point (e.g. an int count) get no cotangent.

    Math: ∂(checkpoint f)(x)*[v] = ∂f(x)*[v], recomputing f's intermediates.

    Examples
    --------
    >>> f = riesz.checkpoint(lambda x: rnp.sin(x) * x)
    >>> print(riesz.grad(f)(0.0))  # cos(x) x + sin(x) at 0
    0.0
    """
    from .transforms import vjp

    def fwd(*args: Any) -> tuple[Any, Any]:
        return f(*args), args

    def bwd(args: Any, ct: Any) -> tuple[Any, ...]:
        diff = [k for k, a in enumerate(args) if _is_float_tree(a)]

        def f_of_diff(*xs: Any) -> Any:
            full = list(args)
            for k, x in zip(diff, xs, strict=True):
                full[k] = x
            return f(*full)

        cts = iter(vjp(f_of_diff, *[args[k] for k in diff])[1](ct))
        return tuple(next(cts) if k in diff else None for k in range(len(args)))

    checkpointed = custom_vjp(f)
    checkpointed.defvjp(fwd, bwd)
    return checkpointed
