"""`riesz.jit` and `riesz.make_graph`: staged functions.

`make_graph(f)(*args)` traces `f` on the shapes and dtypes of `args` into a
`Graph` (see `riesz._interpreters.staging`). `jit(f)` traces once per input
signature (pytree structure, shapes, dtypes, static argument values), runs
four passes over the graph, each one sweep (linear in its size):

* constant folding: an equation whose inputs are all constants is evaluated
  once, at compile time;
* common-subexpression elimination: an equation equal to an earlier one
  (same primitive, inputs and parameters) reuses its outputs;
* dead-code elimination: equations no output depends on are dropped;
* batching of siblings (`batch_siblings`): independent small products and
  reductions differing in one operand become one call on the stacked
  operands and slices of its result (then the three passes again);

and generates straight-line Python source that calls each primitive's NumPy
implementation directly (`v3 = f2(v1, v2, axis=p2_axis)`), compiled once with
`exec`: a later call with the same signature runs it with no tracer, no
`bind` and no per-operation dispatch. A NumPy ufunc writes into the buffer of
an input that dies with it where that is provably safe (`_buffer_reuse`).
With llvmlite installed, elementwise regions run as fused kernels (`riesz.fusion`).

Called on tracers (inside `grad`, `vmap`, `jet`, another `jit`), a jitted
function stays staged (`_Staged`): under an enclosing jit its equations are
inlined into the outer graph; under `jvp`, `vmap` and `jet` it calls the staged
JVP, batched or Taylor form of its graph (each traced once, by the usual
interpreters running over the graph, and cached); under reverse mode it records
one `custom_call` node whose forward part (outputs and residuals) and backward
part are staged graphs split from the staged VJP, as JAX's partial evaluation
splits a linearised jaxpr. So `grad(jit(f))`, `hessian(jit(f))` and
`jet(jit(f))` run compiled code, as `jit(grad(f))` does. Where a rule needs
concrete values (a series whose length depends on a parameter) the graph is
evaluated by binding each equation instead, as the eager call would.

Code generation is linear in the graph's size: values live in local names
reused as registers (no `del` per equation), a long graph becomes functions of
`_CHUNK` equations passing crossing values through a list, and chunks with the
same canonical source share one compiled code object (a long unrolled chain
compiles a few distinct chunks).
"""

from __future__ import annotations

import functools
import gc
import heapq
import re
import time
import types
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from . import fusion, loop_kernels
from ._core import ops
from ._core.primitive import CUSTOM
from ._core.pytree import tree_flatten, tree_unflatten
from ._core.trace import Tracer, bind, new_trace
from ._interpreters.batching import BatchTrace, BatchTracer
from ._interpreters.forward import JVPTrace, JVPTracer
from ._interpreters.reverse import LazyCotangent, VJPTrace, VJPTracer, backward
from ._interpreters.staging import (
    ConcretizationError,
    Eqn,
    Graph,
    GraphTrace,
    GraphTracer,
    ShapedArray,
    Var,
    aval_of,
    eval_graph,
)
from ._interpreters.taylor import JetTrace, JetTracer
from .custom import _flat_def, _OutStructure, custom_call_p

__all__ = ["ConcretizationError", "Graph", "Jitted", "jit", "make_graph"]

_SCALARS = (bool, int, float, complex)


# -- the input signature ----------------------------------------------------------------


class _Signature:
    """The arguments of one call split into a hashable key and the dynamic leaves."""

    __slots__ = ("key", "leaves", "in_def", "args", "kwargs", "static_pos", "static_names")

    def __init__(self, who: str, args: tuple[Any, ...], kwargs: dict[str, Any],
                 static_argnums: tuple[int, ...], static_argnames: tuple[str, ...]):
        n = len(args)
        static_pos = sorted({i + n if i < 0 else i for i in static_argnums if -n <= i < n})
        statics = []
        for i in static_pos:
            statics.append(_static(who, f"argument {i}", args[i]))
        for name in sorted(kwargs):
            if name in static_argnames:
                statics.append((name, _static(who, f"argument {name!r}", kwargs[name])))
        dyn_args = tuple(None if i in static_pos else a for i, a in enumerate(args))
        dyn_kwargs = {k: v for k, v in kwargs.items() if k not in static_argnames}
        leaves, in_def = tree_flatten((dyn_args, dyn_kwargs), strict=False)
        avals = []
        for k, x in enumerate(leaves):
            if isinstance(x, Tracer):
                avals.append((x.shape, np.dtype(x.dtype).str, False))
                continue
            if isinstance(x, _SCALARS) or isinstance(x, (np.ndarray, np.generic)):
                if isinstance(x, np.ndarray) and x.dtype.hasobject:
                    raise TypeError(f"{who}: leaf {k} of the arguments is an object array; "
                                    "pass numeric arrays, or mark the argument static")
                avals.append(aval_of(x).key())
                continue
            raise TypeError(
                f"{who}: leaf {k} of the arguments is a {type(x).__name__}, not an array or "
                "a number; mark its argument static (static_argnums / static_argnames)"
            )
        self.key = (in_def, tuple(avals), tuple(statics))
        self.leaves = leaves
        self.in_def = in_def
        self.args = args
        self.kwargs = kwargs
        self.static_pos = static_pos
        self.static_names = static_argnames

    def avals(self) -> list[ShapedArray]:
        return [ShapedArray(s, d, w) for s, d, w in self.key[1]]

    def rebuild(self, leaves: Sequence[Any]) -> tuple[tuple[Any, ...], dict[str, Any]]:
        dyn_args, dyn_kwargs = tree_unflatten(self.in_def, leaves)
        args = tuple(self.args[i] if i in self.static_pos else a for i, a in enumerate(dyn_args))
        kwargs = {**dyn_kwargs, **{k: v for k, v in self.kwargs.items()
                                   if k in self.static_names}}
        return args, kwargs


def _static(who: str, name: str, x: Any) -> Any:
    try:
        hash(x)
    except TypeError:
        raise TypeError(
            f"{who}: static {name} of type {type(x).__name__} is not hashable; static "
            "arguments key the compilation cache, so pass a hashable value (a tuple "
            "instead of a list, ...) or make the argument dynamic"
        ) from None
    return x


def _trace(fn: Callable[..., Any], sig: _Signature) -> Graph:
    out_def: list[Any] = []

    def flat(*ins: Any) -> list[Any]:
        args, kwargs = sig.rebuild(ins)
        out_leaves, d = tree_flatten(fn(*args, **kwargs))
        out_def.append(d)
        return out_leaves

    graph = _stage(flat, sig.avals())
    graph.in_def, graph.out_def = sig.in_def, out_def[0]
    return graph


def _stage(fn: Callable[..., Sequence[Any]], avals: Sequence[ShapedArray]) -> Graph:
    """The graph of `fn` (flat inputs of types `avals`, a flat sequence of outputs;
    an output that is None or a Python number stays a literal of the graph)."""
    with new_trace(GraphTrace) as trace:
        ins = [trace.new_input(a) for a in avals]
        outvars: list[Any] = []
        for o in fn(*ins):
            if isinstance(o, GraphTracer) and o._trace is trace:
                outvars.append(o._var)
            elif isinstance(o, Tracer) or (isinstance(o, np.ndarray) and o.ndim):
                outvars.append(trace.const(o))
            else:
                outvars.append(o)
    return Graph([t._var for t in ins], trace.constvars, trace.consts, trace.eqns, outvars)


def make_graph(f: Callable[..., Any], static_argnums: int | Sequence[int] = (),
               static_argnames: str | Sequence[str] = ()) -> Callable[..., Graph]:
    """`make_graph(f)(*args)`: the `Graph` of `f` traced on the shapes and dtypes
    of `args` (before optimisation; `jit(f).graph(*args)` shows it after).

    Examples
    --------
    >>> print(riesz.make_graph(lambda x: rnp.sin(x) * 2.0)(np.zeros(3)))
    { lambda a:f64[3]. let
        b:f64[3] = sin a
        c:f64[3] = multiply b 2.0
      in (c) }

    Raises
    ------
    riesz.ConcretizationError
        If f needs a concrete value from a traced one (Python control flow on it).
    TypeError
        If an argument is neither an array nor a number (mark it static), or a static
        argument is not hashable.
    """
    nums, names = _statics(static_argnums, static_argnames)

    @functools.wraps(f)
    def graph_of(*args: Any, **kwargs: Any) -> Graph:
        return _trace(f, _Signature("make_graph", args, kwargs, nums, names))

    return graph_of


def _statics(nums: int | Sequence[int], names: str | Sequence[str]) -> tuple[tuple[int, ...],
                                                                               tuple[str, ...]]:
    nums = (nums,) if isinstance(nums, int) else tuple(nums)
    names = (names,) if isinstance(names, str) else tuple(names)
    for i in nums:
        if not isinstance(i, int):
            raise TypeError(f"jit: static_argnums must be ints, got {i!r}")
    for k in names:
        if not isinstance(k, str):
            raise TypeError(f"jit: static_argnames must be strings, got {k!r}")
    return nums, names


# -- passes ----------------------------------------------------------------------------


def _literal_key(x: Any) -> Any:
    if type(x) is Var:
        return x.n
    try:
        hash(x)
        return (type(x), x)
    except TypeError:
        return ("id", id(x))


def optimize(graph: Graph) -> Graph:
    """Constant folding, common-subexpression elimination and dead-code
    elimination, in one forward and one backward sweep; then independent small
    sibling equations batched (`batch_siblings`), and the first sweeps again on
    the batches (two batches may stack the same operands)."""
    graph = _simplify(graph)
    batched = batch_siblings(graph)
    return graph if batched is graph else _simplify(batched)


def _simplify(graph: Graph) -> Graph:
    """Constant folding, common-subexpression elimination and dead-code
    elimination, in one forward and one backward sweep. Constants that are the
    same view of the same memory (`A.T` taken twice) are one constant, and a
    reshape of a reshape reads the first one's input (batching rules and stacks
    reshape what was just reshaped)."""
    known: dict[int, Any] = {v.n: c for v, c in zip(graph.constvars, graph.consts, strict=True)
                             if not isinstance(c, Tracer)}
    constvars, consts = list(graph.constvars), list(graph.consts)
    subst: dict[int, Any] = {}
    views: dict[Any, Var] = {}
    for v, c in zip(graph.constvars, graph.consts, strict=True):
        if type(c) is np.ndarray:
            view = (c.__array_interface__["data"][0], c.shape, c.strides, c.dtype.str)
            subst[v.n] = views.setdefault(view, v)
    seen: dict[Any, list[Var]] = {}
    eqns: list[Eqn] = []
    reshaped: dict[int, Var] = {}  # the output of a reshape -> the array it reshapes

    def read(x: Any) -> Any:
        return subst.get(x.n, x) if type(x) is Var else x

    for e in graph.eqns:
        ins = [read(x) for x in e.invars]
        if e.prim is ops.reshape_p and type(ins[0]) is Var:
            ins[0] = reshaped.get(ins[0].n, ins[0])
            reshaped[e.outvars[0].n] = ins[0]
        if e.prim.kind is not CUSTOM and all(type(x) is not Var or x.n in known for x in ins):
            out = e.prim.impl(*[known[x.n] if type(x) is Var else x for x in ins], **e.params)
            outs = out if e.prim.multiple_results else (out,)
            for v, o in zip(e.outvars, outs, strict=True):
                known[v.n] = o
                constvars.append(v)
                consts.append(o)
            continue
        try:
            key: Any = (e.prim, tuple(_literal_key(x) for x in ins), tuple(e.params.items()))
            hash(key)
        except TypeError:
            key = None
        if key is not None:
            prev = seen.get(key)
            if prev is not None:
                for v, p in zip(e.outvars, prev, strict=True):
                    subst[v.n] = p
                continue
            seen[key] = e.outvars
        eqns.append(Eqn(e.prim, ins, e.outvars, e.params))
    outvars = [read(o) for o in graph.outvars]
    # dead code: one backward sweep from the outputs
    live = {o.n for o in outvars if type(o) is Var}
    kept: list[Eqn] = []
    for e in reversed(eqns):
        if any(v.n in live for v in e.outvars):
            kept.append(e)
            live.update(x.n for x in e.invars if type(x) is Var)
    kept.reverse()
    pairs = [(v, c) for v, c in zip(constvars, consts, strict=True) if v.n in live]
    return Graph(graph.invars, [v for v, _ in pairs], [c for _, c in pairs], kept, outvars,
                 graph.in_def, graph.out_def)


# -- batching sibling equations ---------------------------------------------------------

# primitives whose call on a small array costs more than stacking its operand and
# slicing the result (NumPy's per-call overhead, ~1 µs), with batching rules that stay
# one call: products and reductions
_SIBLINGS = frozenset({"matmul", "einsum", "sum", "prod", "max", "min"})
_SIBLING_MIN = 4  # equations per batch: fewer do not repay the stack and the slices
_SIBLING_SIZE = 1024  # entries of the stacked operand of one equation, at most
_SIBLING_CAP = 4096  # candidate equations per graph (their dependencies are bitsets)


def batch_siblings(graph: Graph) -> Graph:
    """Independent equations applying one primitive with the same parameters and
    the same other operands to small arrays of one shape (a linear map of the K
    Taylor coefficients, a reduction of each, a layer applied to several inputs)
    become one call on the stacked operands, batched by the primitive's batching
    rule, and slices of its result: K NumPy calls become about four. Linear in the
    graph's size (dependencies between candidates are tracked as bitsets, at most
    `_SIBLING_CAP` of them)."""
    eqns = graph.eqns
    buckets: dict[Any, list[int]] = {}
    for i, e in enumerate(eqns):
        if e.prim.name not in _SIBLINGS or e.prim.multiple_results or e.prim.batch is None:
            continue
        try:
            params = tuple(e.params.items())
            hash(params)
        except TypeError:
            continue
        keys = [_literal_key(x) for x in e.invars]
        for p, x in enumerate(e.invars):
            if type(x) is Var and 1 <= x.aval.ndim and x.aval.size <= _SIBLING_SIZE:
                key = (e.prim, params, p, x.aval.key(), tuple(keys[:p]), tuple(keys[p + 1:]))
                buckets.setdefault(key, []).append(i)
    chosen: dict[int, Any] = {}  # equation -> its bucket (the largest one it is in)
    for key, members in sorted(buckets.items(), key=lambda kv: -len(kv[1])):
        free = [i for i in members if i not in chosen]
        if len(free) >= _SIBLING_MIN and len(chosen) + len(free) <= _SIBLING_CAP:
            chosen.update((i, key) for i in free)
    if not chosen:
        return graph
    # the candidates each equation depends on, as a bitset
    bit = {i: 1 << k for k, i in enumerate(chosen)}
    anc: dict[int, int] = {}
    deps: dict[int, int] = {}
    for i, e in enumerate(eqns[min(chosen):], min(chosen)):
        a = 0
        for x in e.invars:
            if type(x) is Var:
                a |= anc.get(x.n, 0)
        if i in chosen:
            deps[i] = a
            a |= bit[i]
        if a:
            for v in e.outvars:
                anc[v.n] = a
    # each bucket in groups of mutually independent equations (in graph order, so a
    # later equation can only depend on an earlier one)
    groups: dict[Any, list[tuple[int, list[int]]]] = {}
    for i, key in sorted(chosen.items()):
        subs = groups.setdefault(key, [])
        for k, (mask, members) in enumerate(subs):
            if not deps[i] & mask:
                members.append(i)
                subs[k] = (mask | bit[i], members)
                break
        else:
            subs.append((bit[i], [i]))
    count = 1 + max([v.n for v in graph.invars] + [v.n for v in graph.constvars]
                    + [v.n for e in eqns for v in e.outvars])
    constvars, consts = list(graph.constvars), list(graph.consts)
    built: list[tuple[list[int], list[Eqn]]] = []
    for key, subs in groups.items():
        for _, members in subs:
            if len(members) >= _SIBLING_MIN:
                try:
                    made = _batched(eqns, members, key[2], count)
                except Exception:  # noqa: BLE001 - a batching rule that declines: kept apart
                    made = None
                if made is not None:
                    new, new_constvars, new_consts, count = made
                    constvars += new_constvars
                    consts += new_consts
                    built.append((members, new))
    if not built:
        return graph
    return Graph(graph.invars, constvars, consts, _schedule(graph, built), graph.outvars,
                 graph.in_def, graph.out_def)


def _batched(eqns: list[Eqn], members: list[int], p: int, count: int) -> Any:
    """The equations computing `members` (one primitive, operand `p` varying) as one
    batched call: stack the operands, the primitive's batching rule, one slice per
    member (writing the member's own output variable). Returns (equations, new
    constant variables, constants, next variable number), or None where the rule
    does not give one call with the members' output types."""
    first = eqns[members[0]]
    prim, params = first.prim, first.params
    K = len(members)
    with new_trace(GraphTrace) as gt:
        gt.count = count

        def tracer(x: Any) -> Any:
            return GraphTracer(x.aval, gt, x) if type(x) is Var else x

        xs = [tracer(eqns[i].invars[p]) for i in members]
        shape = eqns[members[0]].invars[p].aval.shape
        stacked = bind(ops.reshape_p, bind(ops.concatenate_p, *xs, axis=0),
                       shape=(K, *shape))
        with new_trace(BatchTrace) as bt:
            bt.size = K
            args = [bt.new_input(stacked, 0) if k == p else tracer(x)
                    for k, x in enumerate(first.invars)]
            out = bind(prim, *args, **params)
            if type(out) is not BatchTracer or out._trace is not bt or out._bdim != 0:
                return None  # (slices along another axis would be strided views)
            value = out._value
        for k, i in enumerate(members):
            bind(ops.getitem_p, value, index=(k,))
            want, got = eqns[i].outvars[0], gt.eqns[-1].outvars[0]
            if got.aval.key() != want.aval.key():
                return None
            gt.eqns[-1].outvars = [want]
        if sum(e.prim is prim for e in gt.eqns) != 1:  # the rule mapped slice by slice
            return None
        return gt.eqns, gt.constvars, gt.consts, gt.count


def _schedule(graph: Graph, built: list[tuple[list[int], list[Eqn]]]) -> list[Eqn]:
    """The equations with each batch in place of its members, in an order that
    respects every dependency (Kahn's algorithm, the graph's order where it is
    free; a batch goes at its last member's place). Two batches may depend on each
    other through different members; then the later one is dropped and the order
    computed again."""
    eqns = graph.eqns
    while True:
        member_of = {i: g for g, (members, _) in enumerate(built) for i in members}
        nodes: list[tuple[int, list[Eqn]]] = []  # (position, its equations)
        for i, e in enumerate(eqns):
            if i not in member_of:
                nodes.append((i, [e]))
        for members, new in built:
            nodes.append((members[-1], new))
        producer: dict[int, int] = {}
        for k, (_, es) in enumerate(nodes):
            for e in es:
                for v in e.outvars:
                    producer[v.n] = k
        waiting = [0] * len(nodes)
        users: list[list[int]] = [[] for _ in nodes]
        for k, (_, es) in enumerate(nodes):
            before = {producer[x.n] for e in es for x in e.invars
                      if type(x) is Var and x.n in producer and producer[x.n] != k}
            waiting[k] = len(before)
            for b in before:
                users[b].append(k)
        ready = [(pos, k) for k, (pos, _) in enumerate(nodes) if not waiting[k]]
        heapq.heapify(ready)
        order: list[Eqn] = []
        done = 0
        while ready:
            _, k = heapq.heappop(ready)
            order.extend(nodes[k][1])
            done += 1
            for u in users[k]:
                waiting[u] -= 1
                if not waiting[u]:
                    heapq.heappush(ready, (nodes[u][0], u))
        if done == len(nodes):
            return order
        built = built[:-1]  # a cycle through two batches


# -- code generation --------------------------------------------------------------------


def compile_graph(graph: Graph, fuse: bool | None = False) -> Callable[..., list[Any]]:
    """Straight-line Python source calling each primitive's implementation
    directly, compiled once; returns `run(*flat_args) -> flat outputs`.
    Implementations, literals, parameters and constants are module globals of
    the source (one name per distinct object). Values live in local names
    allocated as registers: a name is reused as soon as its value is dead, which
    frees the value as the eager call would (large dead values are deleted at
    once), without a `del` per equation. A long graph becomes a sequence of
    functions of `_CHUNK` equations (Python's compiler slows down on one huge
    function) passing the values that cross them through a list `R`.
    `fuse=True`: elementwise regions first become LLVM kernels (`riesz.fusion`);
    `None`: that once the calls have taken as long as compiling them would,
    kept if it measures faster than the plain code (`_faster`). The graph's staged
    scans get the same policy for their whole loops (`riesz.loop_kernels`)."""
    if fuse is None:
        loop_kernels.adopt(graph, None)
        plain = compile_graph(graph)
        shown: list[Any] = []  # tiered's function, whose `source` follows the choice
        tiered = fusion.tiered(graph, plain,
                               lambda: _faster(plain, compile_graph(graph, True), shown))
        shown.append(tiered)
        return tiered
    if fuse:
        loop_kernels.adopt(graph, True)
        graph = fusion.fuse(graph)
    namespace: dict[str, Any] = {"_copy": np.copy}
    names: dict[int, str] = {}
    consts: dict[int, str] = {}
    for v, c in zip(graph.constvars, graph.consts, strict=True):
        consts[v.n] = f"c{v.n}"
        namespace[f"c{v.n}"] = c

    def glob(x: Any, prefix: str) -> str:
        s = names.get(id(x))
        if s is None:
            s = names[id(x)] = f"{prefix}{len(names)}"
            namespace[s] = x
        return s

    eqns = graph.eqns
    chunked = len(eqns) > _CHUNK
    size = _CHUNK if chunked else max(len(eqns), 1)
    outs = {o.n for o in graph.outvars if type(o) is Var}
    # where each variable is defined (-1: an input) and last used, by function
    home = {v.n: -1 for v in graph.invars}
    last: dict[int, int] = {}
    last_here: dict[tuple[int, int], int] = {}
    cross: dict[int, int] = {}  # variables read by another function than their own: R slots
    for i, e in enumerate(eqns):
        c = i // size
        for x in e.invars:
            if type(x) is Var and x.n not in consts:
                last[x.n] = i
                last_here[x.n, c] = i
                if chunked and home[x.n] != c:
                    cross.setdefault(x.n, len(cross))
        for v in e.outvars:
            home[v.n] = c
    if chunked:
        for o in graph.outvars:
            if type(o) is Var and o.n not in consts:
                cross.setdefault(o.n, len(cross))
    dying: dict[int, set[int]] = {}
    for (n, _), i in last_here.items():
        if chunked or n not in outs:
            dying.setdefault(i, set()).add(n)
    none: set[int] = set()
    reuse = _buffer_reuse(graph)
    reg: dict[int, str] = {}  # variable -> its local name now
    free: list[str] = []
    count = [0]

    def alloc(n: int) -> str:
        if free:
            r = reg[n] = free.pop()
            return r
        r = reg[n] = f"r{count[0]}"
        count[0] += 1
        return r

    def name(x: Any) -> str:
        if type(x) is not Var:
            return glob(x, "k")
        return consts.get(x.n) or reg[x.n]

    params = [alloc(v.n) for v in graph.invars]
    functions: list[list[str]] = []
    lines: list[str] = []
    for i, e in enumerate(eqns):
        if chunked and i % size == 0:  # a new function: its registers start afresh
            reg.clear()
            free.clear()
            count[0] = 0
            lines = [f"def chunk{i // size}(R):"]
            functions.append(lines)
        for x in e.invars:  # a value of another function: read from R before its first use
            if type(x) is Var and x.n not in reg and x.n not in consts:
                lines.append(f"    {alloc(x.n)} = R[{cross[x.n]}]")
        args = [name(x) for x in e.invars]
        if i in reuse:
            args.append(f"out={reg[reuse[i]]}")
        call = _expression(e, args, glob) if i not in reuse else None
        if call is None:
            args.extend(f"{k}={glob(p, 'p')}" for k, p in e.params.items())
            call = f"{glob(_impl(e, i in reuse), 'f')}({', '.join(args)})"
        ending = dying.get(i, none)
        dead = {x.n: x for x in e.invars if type(x) is Var and x.n in ending and x.n in reg}
        big = [reg[n] for n, x in dead.items() if x.aval.size >= _LARGE]
        for n in dead:
            free.append(reg.pop(n))
        targets = [alloc(v.n) for v in e.outvars]
        lines.append(f"    {targets[0]} = {call}" if not e.prim.multiple_results else
                     f"    {''.join(t + ', ' for t in targets)}= {call}")
        if chunked:
            lines.extend(f"    R[{cross[v.n]}] = {t}"
                         for v, t in zip(e.outvars, targets, strict=True) if v.n in cross)
            lines.extend(f"    R[{cross[n]}] = None" for n in dead
                         if last[n] == i and n not in outs and n in cross)
        for v in e.outvars:  # an output nothing reads
            if v.n not in last and (chunked or v.n not in outs):
                if v.aval.size >= _LARGE:
                    big.append(reg[v.n])
                free.append(reg.pop(v.n))
        big = [r for r in big if r not in targets]  # (a reused name holds the new value)
        if big:  # a large dead value is deleted now, not when its name is reused
            lines.append(f"    del {', '.join(big)}")
    results = []
    for o in graph.outvars:
        if type(o) is not Var:
            s = glob(o, "k")
        elif o.n in consts:
            s = consts[o.n]
        else:
            s = f"R[{cross[o.n]}]" if chunked else reg[o.n]
        # an array constant returned to the caller is copied, as eager calls give fresh arrays
        if (type(o) is Var and o.n in consts) or isinstance(o, np.ndarray):
            s = f"_copy({s})"
        results.append(s)
    head = f"def run({', '.join(params)}):"
    if chunked:
        run_lines = [head, f"    R = [None] * {len(cross)}"]
        run_lines += [f"    R[{cross[v.n]}] = {p}"
                      for v, p in zip(graph.invars, params, strict=True) if v.n in cross]
        run_lines += [f"    chunk{c}(R)" for c in range(len(functions))]
        run_lines.append(f"    return [{', '.join(results)}]")
        for c, f in enumerate(functions):
            namespace[f"chunk{c}"] = _chunk_function(f, namespace)
        src = "\n".join(["\n".join(f) for f in functions] + ["\n".join(run_lines)])
        code = "\n".join(run_lines)
    else:
        src = code = "\n".join([head, *lines, f"    return [{', '.join(results)}]"])
    exec(compile(code, "<riesz.jit>", "exec"), namespace)  # noqa: S102 - generated above
    run = namespace["run"]
    run.source = src
    return run


def _faster(plain: Callable[..., Any], fused: Callable[..., Any], shown: list[Any]
            ) -> Callable[..., Any]:
    """The fused code on trial against the plain code (`fusion.Trial`); the one
    kept runs alone and is the `source` of the functions in `shown`."""
    trial = fusion.Trial()
    codes = (plain, fused)
    chosen: list[Any] = [None]
    clock = time.perf_counter

    def run(*args: Any) -> Any:
        pick = chosen[0]
        if pick is not None:
            return pick(*args)
        i = trial.next()
        t = clock()
        out = codes[i](*args)
        won = trial.record(i, clock() - t)
        if won is not None:
            pick = chosen[0] = fused if won else plain
            for f in (run, *shown):
                # a function attribute (mypy has no type for it), as compile_graph sets
                f.source = pick.source  # type: ignore[attr-defined]
        return out

    # a function attribute (mypy has no type for it), as compile_graph sets
    run.source = fused.source  # type: ignore[attr-defined]
    return run


_GLOBAL = re.compile(r"\b[fkpc]\d+\b(?!=)|R\[\d+\]")
_CODE: dict[str, Any] = {}  # canonical source of a chunk -> its compiled code


def _chunk_function(lines: list[str], namespace: dict[str, Any]) -> Callable[..., Any]:
    """One function of a long graph. Its source is made canonical (the globals it
    reads and the slots of R it uses renamed in order of appearance, g0, g1, ...
    and R[s0], ...), compiled once per distinct canonical source (a long chain
    repeats a few shapes of chunk), and bound to its own globals."""
    names: dict[str, str] = {}
    env: dict[str, Any] = {}

    def canonical(m: re.Match[str]) -> str:
        tok = m.group(0)
        new = names.get(tok)
        if new is None:
            if tok[0] == "R":
                new = names[tok] = f"R[s{len(names)}]"
                env[f"s{len(names) - 1}"] = int(tok[2:-1])
            else:
                new = names[tok] = f"g{len(names)}"
                env[new] = namespace[tok]
        return new

    text = _GLOBAL.sub(canonical, "\n".join(["def chunk(R):", *lines[1:]]))
    code = _CODE.get(text)
    if code is None:
        scratch: dict[str, Any] = {}
        exec(compile(text, "<riesz.jit>", "exec"), scratch)  # noqa: S102 - generated above
        code = scratch["chunk"].__code__
        if len(_CODE) >= 1024:
            _CODE.clear()
        _CODE[text] = code
    return types.FunctionType(code, env)


def _expression(e: Eqn, args: list[str], glob: Callable[[Any, str], str]) -> str | None:
    """The Python expression for a basic index or a reshape of an array (what
    batches of sibling equations and batching rules are made of): `x[i]` and
    `x.reshape(s)` cost a tenth of a call of the primitive's implementation."""
    x = e.invars[0] if e.invars else None
    if type(x) is not Var or x.aval.weak:  # a Python number has no .reshape
        return None
    if e.prim is ops.getitem_p and _basic(e.params["index"]):
        return f"{args[0]}[{glob(e.params['index'], 'p')}]"
    if e.prim is ops.reshape_p and len(e.params) == 1 and "shape" in e.params:
        return f"{args[0]}.reshape({glob(e.params['shape'], 'p')})"
    return None


def _basic(index: Any) -> bool:
    """Whether `index` is a tuple of ints and slices (a view, the same with any
    indexing call)."""
    return type(index) is tuple and all(type(i) is int or type(i) is slice for i in index)


def _impl(e: Eqn, out: bool) -> Any:
    """The function the code calls for `e`: its primitive's implementation, or
    one that computes the same values with less overhead: for a matrix times a
    stack of column vectors (what vmap makes of a matrix-vector product), one
    matrix product over the stack flattened (one GEMM instead of a loop of
    GEMVs: 2x faster for a Hessian's 400 columns of length 400), and likewise
    for a stack of rows times a matrix; for a product
    of vectors and matrices, `np.dot` (matmul's ufunc machinery costs ~0.3 µs
    more per call, the BLAS call is the same); for `np.sum` / `np.max` /
    `np.min`, the ufunc reduction they end in (their Python wrappers cost
    ~1 µs per call, more than the work on a small array)."""
    impl = e.prim.impl
    if impl is np.matmul and not out and not e.params:
        a, b = (x.aval if type(x) is Var else None for x in e.invars)
        if a is not None and b is not None:
            if a.ndim == 2 and b.ndim >= 3 and b.shape[-1] == 1:
                return _matrix_times_columns
            if b.ndim == 2 and a.ndim >= 3 and a.shape[-2] == 1:
                return _rows_times_matrix
            if 1 <= a.ndim <= 2 and 1 <= b.ndim <= 2:
                return np.dot
    if not out:
        for f, direct in _REDUCTIONS:
            if impl is f:
                return direct
    return impl


# NumPy reductions and the ufunc method each calls for arrays and NumPy scalars
# (same parameters axis / keepdims, same dtypes and values)
_REDUCTIONS = ((np.sum, np.add.reduce), (np.max, np.maximum.reduce), (np.min, np.minimum.reduce))


def _matrix_times_columns(a: Any, b: Any) -> Any:
    """np.matmul(a, b) for a 2-D `a` and a stack `b` of columns (shape (..., n, 1))."""
    return (b.reshape(-1, b.shape[-2]) @ a.T).reshape(*b.shape[:-2], a.shape[0], 1)


def _rows_times_matrix(a: Any, b: Any) -> Any:
    """np.matmul(a, b) for a stack `a` of rows (shape (..., 1, n)) and a 2-D `b`
    (what vmap makes of a vector-matrix product): one matrix product."""
    return (a.reshape(-1, a.shape[-1]) @ b).reshape(*a.shape[:-1], b.shape[1])


# equations per generated function: Python's compiler takes superlinear time in the
# size of one function, so long graphs become a sequence of functions of this size
_CHUNK = 500
# values of at least this many entries are deleted at their last use (smaller ones
# when their name is reused): a del per equation would slow compilation down
_LARGE = 4096


@contextmanager
def _no_gc() -> Iterator[None]:
    """The cyclic GC paused while a graph is built: its many small objects would
    otherwise trigger repeated full collections (superlinear compile times)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _is_ufunc(e: Eqn) -> bool:
    f = e.prim.impl
    return isinstance(f, np.ufunc) and f.nout == 1 and not e.params


def _buffer_reuse(graph: Graph) -> dict[int, int]:
    """Equations that may write their result into an input's buffer (`out=`):
    a NumPy ufunc whose input, of the output's shape and dtype, is dead after it
    and was itself made by a ufunc of this graph (a fresh array no view, input,
    constant or output shares) and used only by ufuncs (which make no views).
    Returns equation index -> the variable whose buffer it reuses."""
    eqns = graph.eqns
    fresh: set[int] = set()
    shared: set[int] = {o.n for o in graph.outvars if type(o) is Var}
    last: dict[int, int] = {}
    ufuncs = []
    for i, e in enumerate(eqns):
        uf = _is_ufunc(e)
        for x in e.invars:
            if type(x) is Var:
                last[x.n] = i
                if not uf:
                    shared.add(x.n)
        if uf and e.outvars[0].aval.shape:
            fresh.add(e.outvars[0].n)
            ufuncs.append(i)
    plan: dict[int, int] = {}
    for i in ufuncs:
        e = eqns[i]
        out = e.outvars[0].aval
        for x in e.invars:
            if (type(x) is Var and x.n in fresh and x.n not in shared and last[x.n] == i
                    and x.aval.shape == out.shape and x.aval.dtype == out.dtype):
                plan[i] = x.n
                break
    return plan


# -- staged functions and their transformations ----------------------------------------


def _avals_key(xs: Sequence[Any]) -> tuple[Any, ...]:
    return tuple(aval_of(x).key() if not isinstance(x, Tracer) else
                 (x.shape, np.dtype(x.dtype).str, False) for x in xs)


class _Staged:
    """A staged flat function (leaves in, leaves out): an optimised graph, its
    code (compiled at the first concrete call) and the staged functions derived
    from it, each staged once per key: its JVP, its VJP split into a forward part
    (outputs and residuals) and a backward part, its batched and its Taylor form.

    Called on tracers, the top trace decides (`_RULES`): a graph trace inlines
    the equations (an enclosing jit optimises them with its own); JVP, batching
    and Taylor traces call the derived staged function on the values one level
    down (a staged call again, so nested transformations stay staged); reverse
    mode records one `custom_call` node whose forward and backward parts are
    staged. `grad(jit(f))` thus runs compiled code, as `jit(grad(f))` does."""

    __slots__ = ("graph", "run", "derived", "fuse")

    def __init__(self, graph: Graph, fuse: bool | None = False):
        self.graph = graph
        self.run: Callable[..., list[Any]] | None = None
        self.derived: dict[Any, Any] = {}
        self.fuse = fuse  # compile_graph's `fuse`, inherited by the derived functions

    def __call__(self, leaves: Sequence[Any]) -> list[Any]:
        top = None
        for x in leaves:
            if isinstance(x, Tracer) and (top is None or x._trace.level > top.level):
                top = x._trace
        if top is None:
            run = self.run
            if run is None:
                with _no_gc():
                    run = self.run = compile_graph(self.graph, self.fuse)
            return run(*leaves)
        if not top.active:
            raise top._dead()
        rule = _RULES.get(type(top))
        return _by_bind(self.graph, list(leaves)) if rule is None else \
            rule(self, top, list(leaves))

    def derive(self, key: Any, body: Callable[..., Sequence[Any]],
               avals: Sequence[ShapedArray]) -> Any:
        """The staged `body` cached under `key` (None where `body` cannot be
        staged, e.g. a rule that needs concrete values: the caller then
        evaluates this graph by `bind`, as the eager call would)."""
        try:
            return self.derived[key]
        except KeyError:
            pass
        try:
            with _no_gc():
                staged: Any = _Staged(optimize(_stage(body, avals)), self.fuse)
        except Exception:  # noqa: BLE001 - evaluated by bind instead, which raises the real error
            staged = None
        self.derived[key] = staged
        return staged


def _by_bind(graph: Graph, leaves: list[Any]) -> list[Any]:
    """The graph evaluated by binding each equation (the traces active now apply
    their rules one primitive at a time): where a transformation of it could not
    be staged (a rule that needs concrete values)."""
    return eval_graph(graph, leaves)


def _aval(x: Any) -> ShapedArray:
    return ShapedArray(x.shape, x.dtype) if isinstance(x, Tracer) else aval_of(x)


def _of_trace(leaves: list[Any], tracer: type[Any], trace: Any, attr: str
              ) -> tuple[list[Any], list[Any]]:
    """The leaves with `trace`'s tracers (of class `tracer`) replaced by their
    values, and per leaf that tracer's `attr` (None for any other leaf)."""
    vals, extras = [], []
    for x in leaves:
        mine = type(x) is tracer and x._trace is trace
        vals.append(x._value if mine else x)
        extras.append(getattr(x, attr) if mine else None)
    return vals, extras


def _inline(st: _Staged, trace: Any, leaves: list[Any]) -> list[Any]:
    return eval_graph(st.graph, leaves)


def _jvp_rule(st: _Staged, trace: JVPTrace, leaves: list[Any]) -> list[Any]:
    """∂f(x)[u]: the staged JVP of the graph, on the primals and nonzero tangents."""
    primals, tangents = _of_trace(leaves, JVPTracer, trace, "_tangent")
    outs = _staged_jvp(st, primals, tangents)
    if outs is None:
        return _by_bind(st.graph, leaves)
    m = len(st.graph.outvars)
    return [o if t is None else JVPTracer(o, trace, t) for o, t in zip(outs[:m], outs[m:],
                                                                       strict=True)]


def _staged_jvp(st: _Staged, primals: list[Any], tangents: list[Any]) -> list[Any] | None:
    """Outputs and output tangents (None: zero) of the staged JVP (None where it
    cannot be staged)."""
    mask = tuple(t is not None for t in tangents)
    ins = primals + [t for t in tangents if t is not None]
    key = ("jvp", mask, _avals_key(ins))
    d = st.derived.get(key, False)
    if d is False:
        d = st.derive(key, _jvp_body(st.graph, mask), [_aval(x) for x in ins])
    return None if d is None else d(ins)


def _jvp_body(graph: Graph, mask: tuple[bool, ...]) -> Callable[..., list[Any]]:
    """(primals, nonzero tangents) -> outputs + output tangents (None: zero)."""
    n = len(mask)

    def jvp_body(*xs: Any) -> list[Any]:
        ts = iter(xs[n:])
        with new_trace(JVPTrace) as t:
            args = [t.new_input(p, next(ts)) if k else p for p, k in zip(xs[:n], mask,
                                                                          strict=True)]
            outs = eval_graph(graph, args)
            return [t.primal_of(o) for o in outs] + [
                o._tangent if type(o) is JVPTracer and o._trace is t else None for o in outs]

    return jvp_body


def _batch_rule(st: _Staged, trace: BatchTrace, leaves: list[Any]) -> list[Any]:
    """vmap: the staged batched graph on the values with their batch axes."""
    vals, dims = _of_trace(leaves, BatchTracer, trace, "_bdim")
    key = ("batch", tuple(dims), trace.size, _avals_key(vals))
    d = st.derived.get(key, False)
    if d is False:
        graph, size = st.graph, trace.size
        out_dims: list[Any] = []

        def batch_body(*xs: Any) -> list[Any]:
            with new_trace(BatchTrace) as t:
                t.size = size
                args = [x if k is None else t.new_input(x, k) for x, k in zip(xs, dims,
                                                                               strict=True)]
                outs = []
                for o in eval_graph(graph, args):
                    batched = type(o) is BatchTracer and o._trace is t
                    out_dims.append(o._bdim if batched else None)
                    outs.append(o._value if batched else o)
                return outs

        staged = st.derive(key, batch_body, [_aval(x) for x in vals])
        d = st.derived[key] = None if staged is None else (staged, tuple(out_dims))
    if d is None:
        return _by_bind(st.graph, leaves)
    staged, out_dims = d
    return [o if k is None else BatchTracer(o, trace, k)
            for o, k in zip(staged(vals), out_dims, strict=True)]


def _jet_rule(st: _Staged, trace: JetTrace, leaves: list[Any]) -> list[Any]:
    """jet: the staged Taylor propagation of the graph (order K), on the primals
    and the nonzero input coefficients."""
    K = trace.order
    primals, series = _of_trace(leaves, JetTracer, trace, "_coefficients")
    masks = [None if cs is None else tuple(c is not None for c in cs) for cs in series]
    ins = primals + [c for cs in series if cs is not None for c in cs if c is not None]
    key = ("jet", K, tuple(masks), _avals_key(ins))
    d = st.derived.get(key, False)
    if d is False:
        out_masks: list[Any] = []
        staged = st.derive(key, _jet_body(st.graph, K, masks, out_masks),
                           [_aval(x) for x in ins])
        d = st.derived[key] = None if staged is None else (staged, tuple(out_masks))
    if d is None:
        return _by_bind(st.graph, leaves)
    staged, out_masks = d
    flat = staged(ins)
    m = len(st.graph.outvars)
    rest = iter(flat[m:])
    return [o if mk is None else trace._wrap(o, [next(rest) if k else None for k in mk])
            for o, mk in zip(flat[:m], out_masks, strict=True)]


def _jet_body(graph: Graph, K: int, masks: Sequence[tuple[bool, ...] | None],
              out_masks: list[Any]) -> Callable[..., list[Any]]:
    """(primals, the nonzero input coefficients, `masks` saying which) -> outputs
    and their nonzero coefficients, whose masks (None: a constant of t) the
    staging appends to `out_masks`."""
    n = len(masks)

    def jet_body(*xs: Any) -> list[Any]:
        cs = iter(xs[n:])
        with new_trace(JetTrace) as t:
            t.order = K
            args = [p if mk is None else
                    t.new_input(p, [next(cs) if k else None for k in mk])
                    for p, mk in zip(xs[:n], masks, strict=True)]
            outs = eval_graph(graph, args)
            flat = [t.primal_of(o) for o in outs]
            for o in outs:
                series = t.series_of(o)
                out_masks.append(None if series is None else
                                 tuple(c is not None for c in series))
                flat.extend(c for c in series or () if c is not None)
            return flat

    return jet_body


def _vjp_rule(st: _Staged, trace: VJPTrace, leaves: list[Any]) -> list[Any]:
    """Reverse mode: one `custom_call` node on the tape, whose forward part
    (outputs and residuals) and backward part are staged graphs split from
    the staged VJP of the graph."""
    active = tuple(type(x) is VJPTracer and x._trace is trace for x in leaves)
    parts = _vjp_split(st, active, [x._value if a else x for x, a in zip(leaves, active,
                                                                           strict=True)])
    if parts is None:
        return _by_bind(st.graph, leaves)
    m = len(st.graph.outvars)
    return list(bind(custom_call_p, *leaves, fn=_VJPCall(st, active, parts),
                     in_def=_flat_def(len(leaves)), out=_OutStructure(_flat_def(m))))


def _vjp_split(st: _Staged, active: tuple[bool, ...], vals: list[Any]) -> Any:
    """(forward, backward, number of residuals) for the inputs `active`, or None."""
    key = ("vjp", active, _avals_key(vals))
    d = st.derived.get(key, False)
    if d is not False:
        return d
    graph, n, m = st.graph, len(vals), len(st.graph.outvars)

    def joint(*xs: Any) -> list[Any]:
        with new_trace(VJPTrace) as t:
            args = [t.new_input(x, guard=False) if a else x for x, a in zip(xs[:n], active,
                                                                              strict=True)]
            outs = eval_graph(graph, args)
            seeds: dict[int, Any] = {}
            for o, c in zip(outs, xs[n:], strict=True):
                if type(o) is VJPTracer and o._trace is t:
                    seeds[o._idx] = seeds[o._idx] + c if o._idx in seeds else c
            cts = backward(t.tape, seeds, True) if seeds else [None] * len(t.tape)
            grads = []
            for x in args:
                if type(x) is VJPTracer:
                    c = cts[x._idx]
                    grads.append(c.materialize() if isinstance(c, LazyCotangent) else c)
            return [t.primal_of(o) for o in outs] + grads

    outs_like = [ShapedArray(v.aval.shape, v.aval.dtype) if type(v) is Var else
                 ShapedArray((), np.float64) if v is None else aval_of(v) for v in graph.outvars]
    try:
        with _no_gc():
            # not batched before the split: a batch of forward and backward siblings
            # would move forward values into the backward part
            joint_graph = _simplify(_stage(joint, [_aval(x) for x in vals] + outs_like))
            d = _split(joint_graph, n, m, st.fuse)
    except Exception:  # noqa: BLE001 - evaluated by bind instead, which raises the real error
        d = None
    st.derived[key] = d
    return d


def _split(graph: Graph, n: int, m: int, fuse: bool | None = False
           ) -> tuple[_Staged, _Staged, int]:
    """Split the joint graph (primals, output cotangents) -> (outputs, input
    cotangents) into a forward graph, primals -> (outputs, residuals), and a
    backward graph, (residuals, output cotangents) -> input cotangents: an
    equation goes backward iff it depends on a cotangent (one sweep)."""
    tainted = {v.n for v in graph.invars[n:]}
    fwd, bwd = [], []
    for e in graph.eqns:
        if any(type(x) is Var and x.n in tainted for x in e.invars):
            bwd.append(e)
            tainted.update(v.n for v in e.outvars)
        else:
            fwd.append(e)
    consts = {v.n for v in graph.constvars}
    residuals: dict[int, Var] = {}
    for x in [x for e in bwd for x in e.invars] + graph.outvars[m:]:
        if type(x) is Var and x.n not in tainted and x.n not in consts:
            residuals.setdefault(x.n, x)
    res = list(residuals.values())
    forward = Graph(graph.invars[:n], graph.constvars, graph.consts, fwd,
                    graph.outvars[:m] + res)
    backward_ = Graph(res + graph.invars[n:], graph.constvars, graph.consts, bwd,
                      graph.outvars[m:])
    return _Staged(optimize(forward), fuse), _Staged(optimize(backward_), fuse), len(res)


class _Residuals:
    """The residuals of a staged forward part, one opaque object: values of the
    traces below (never of the recording trace itself), kept for the backward part."""

    __slots__ = ("values",)

    def __init__(self, values: list[Any]):
        self.values = values


class _VJPCall:
    """What a reverse-mode trace sees of a staged call (the interface of a
    `riesz.custom_vjp` function): `fwd_flat` runs the staged forward part and
    keeps its residuals, `bwd_flat` the staged backward part, `jvp_flat` (a
    recorded call replayed forward, linearize) the staged JVP."""

    __slots__ = ("st", "active", "parts")
    fwd = bwd = jvp_rule = True  # rules present: the traces call the *_flat methods

    def __init__(self, st: _Staged, active: tuple[bool, ...], parts: Any):
        self.st, self.active, self.parts = st, active, parts

    def __repr__(self) -> str:
        return "<a riesz.jit function>"

    def call_flat(self, leaves: Sequence[Any], in_def: Any, out: Any) -> tuple[Any, ...]:
        return tuple(self.st(list(leaves)))

    def fwd_flat(self, leaves: Sequence[Any], in_def: Any, out: Any) -> tuple[tuple, Any]:
        fwd, _, k = self.parts
        outs = fwd(list(leaves))
        m = len(outs) - k
        return tuple(outs[:m]), _Residuals(outs[m:])

    def bwd_flat(self, residuals: Any, cts: Sequence[Any], in_def: Any, out: Any) -> list[Any]:
        grads = iter(self.parts[1]([*residuals.values, *cts]))
        return [next(grads) if a else None for a in self.active]

    def jvp_flat(self, primals: Sequence[Any], tangents: Sequence[Any], in_def: Any,
                 out: Any) -> tuple[tuple, list]:
        primals, tangents = list(primals), list(tangents)
        outs = _staged_jvp(self.st, primals, tangents)
        if outs is None:
            mask = tuple(t is not None for t in tangents)
            outs = _jvp_body(self.st.graph, mask)(*primals, *[t for t in tangents if t is not None])
        m = len(self.st.graph.outvars)
        return tuple(outs[:m]), list(outs[m:])


_RULES: dict[type, Callable[..., list[Any]]] = {
    GraphTrace: _inline, JVPTrace: _jvp_rule, BatchTrace: _batch_rule, JetTrace: _jet_rule,
    VJPTrace: _vjp_rule,
}


# -- jit ------------------------------------------------------------------------------


class Jitted:
    """A function compiled per input signature (see `jit`).

    Examples
    --------
    >>> f = riesz.jit(lambda x: 2.0 * x)
    >>> _ = f(np.ones(2)); _ = f(np.zeros(2)); _ = f(np.ones(3))
    >>> print(type(f).__name__, f.compiles)  # one compilation per shape
    Jitted 2
    """

    def __init__(self, fn: Callable[..., Any], static_argnums: tuple[int, ...],
                 static_argnames: tuple[str, ...], fuse: bool | None = False):
        self.fn = fn
        self.fuse = fuse
        self.static_argnums = static_argnums
        self.static_argnames = static_argnames
        self.compiles = 0  # how many signatures were traced and compiled
        self._cache: dict[Any, _Staged] = {}
        functools.update_wrapper(self, fn)

    def _entry(self, sig: _Signature) -> _Staged:
        entry = self._cache.get(sig.key)
        if entry is None:
            with _no_gc():
                entry = _Staged(optimize(_trace(self.fn, sig)), self.fuse)
            self.compiles += 1
            if entry.graph.has_tracer_consts:  # closes over values of transformations active now
                return entry
            self._cache[sig.key] = entry
        return entry

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        sig = _Signature("jit", args, kwargs, self.static_argnums, self.static_argnames)
        entry = self._entry(sig)
        graph = entry.graph
        if graph.has_tracer_consts:
            outs = eval_graph(graph, sig.leaves)
        else:
            outs = entry(sig.leaves)
        return tree_unflatten(graph.out_def, outs)

    def graph(self, *args: Any, **kwargs: Any) -> Graph:
        """The graph compiled for these arguments' signature (after the passes)."""
        return self._entry(_Signature("jit", args, kwargs, self.static_argnums,
                                      self.static_argnames)).graph

    def source(self, *args: Any, **kwargs: Any) -> str:
        """The generated Python source for these arguments' signature."""
        entry = self._entry(_Signature("jit", args, kwargs, self.static_argnums,
                                       self.static_argnames))
        if entry.run is None:
            with _no_gc():
                entry.run = compile_graph(entry.graph, entry.fuse)
        # the generated function carries its source as an attribute
        return entry.run.source  # type: ignore[attr-defined]

    def __repr__(self) -> str:
        return f"jit({getattr(self.fn, '__name__', self.fn)!r})"


def jit(f: Callable[..., Any], static_argnums: int | Sequence[int] = (),
        static_argnames: str | Sequence[str] = (), fuse: bool | None = None) -> Jitted:
    """`f` compiled per input signature: traced once on shapes and dtypes,
    optimised, and run later as straight-line NumPy code. `fuse=True` runs each
    elementwise region as one compiled kernel (`riesz.fusion`, needs llvmlite: the
    `jit` extra); the default, with llvmlite installed, compiles them once the
    calls have taken about as long as that compile (a function called a few
    times never pays it) and keeps them if they measure faster than the NumPy
    code over the next calls; `fuse=False` never. Python control flow
    on traced values raises `ConcretizationError`: mark such arguments static
    or use `riesz.cond` / `while_loop` / `fori_loop` / `scan`.

    Examples
    --------
    >>> import riesz, riesz.numpy as rnp
    >>> f = riesz.jit(lambda x: rnp.sum(rnp.sin(x) ** 2))
    >>> float(f(rnp.zeros(3)))
    0.0

    Math: jit(f)(x) = f(x); derivatives commute: ∂(jit f) = ∂f, staged too.

    Raises
    ------
    riesz.ConcretizationError
        If f needs a concrete value from a traced one (`if x > 0:`, `float(x)`).
    TypeError
        If an argument is neither an array nor a number, a static argument is not
        hashable, or `static_argnums` / `static_argnames` are not ints / strings.
    ImportError
        If `fuse=True` and llvmlite is not installed.
    """
    nums, names = _statics(static_argnums, static_argnames)
    if fuse is None and not fusion.available():
        fuse = False
    elif fuse and not fusion.available():
        raise ImportError("jit(fuse=True) needs llvmlite: pip install 'riesz[jit]' (or llvmlite)")
    return Jitted(f, nums, names, None if fuse is None else bool(fuse))
