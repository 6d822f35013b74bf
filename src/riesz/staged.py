"""`riesz.jit` and `riesz.make_graph`: staged functions.

`make_graph(f)(*args)` traces `f` on the shapes and dtypes of `args` into a
`Graph` (see `riesz._interpreters.staging`). `jit(f)` traces once per input
signature (pytree structure, shapes, dtypes, static argument values), runs
three passes over the graph, each one sweep (linear in its size):

* constant folding: an equation whose inputs are all constants is evaluated
  once, at compile time;
* common-subexpression elimination: an equation equal to an earlier one
  (same primitive, inputs and parameters) reuses its outputs;
* dead-code elimination: equations no output depends on are dropped;

and generates straight-line Python source that calls each primitive's NumPy
implementation directly (`v3 = f2(v1, v2, axis=p2_axis)`), compiled once with
`exec`: a later call with the same signature runs it with no tracer, no
`bind` and no per-operation dispatch. A NumPy ufunc writes into the buffer of
an input that dies with it where that is provably safe (`_buffer_reuse`).
Elementwise chains are not fused into one kernel (no numexpr / Numba path).

Called on tracers (inside `grad`, `vmap`, `jet`, another `jit`), a jitted
function evaluates its graph by binding each equation's primitive, so the
active transformations see the primitives it is made of and apply their
usual rules: `grad(jit(f))` is the gradient of `f`. `jit(grad(f))` stages the
whole derivative computation: grad's backward pass runs on graph tracers and
its operations become equations.
"""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from ._core.primitive import CUSTOM
from ._core.pytree import tree_flatten, tree_unflatten
from ._core.trace import Tracer, new_trace
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
    with new_trace(GraphTrace) as trace:
        ins = [trace.new_input(a) for a in sig.avals()]
        args, kwargs = sig.rebuild(ins)
        out = fn(*args, **kwargs)
        out_leaves, out_def = tree_flatten(out)
        outvars: list[Any] = []
        for o in out_leaves:
            if isinstance(o, GraphTracer) and o._trace is trace:
                outvars.append(o._var)
            elif isinstance(o, Tracer) or (isinstance(o, np.ndarray) and o.ndim):
                outvars.append(trace.const(o))
            else:
                outvars.append(o)
    return Graph([t._var for t in ins], trace.constvars, trace.consts, trace.eqns, outvars,
                 sig.in_def, out_def)


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
    elimination, in one forward and one backward sweep."""
    known: dict[int, Any] = {v.n: c for v, c in zip(graph.constvars, graph.consts, strict=True)
                             if not isinstance(c, Tracer)}
    constvars, consts = list(graph.constvars), list(graph.consts)
    subst: dict[int, Any] = {}
    seen: dict[Any, list[Var]] = {}
    eqns: list[Eqn] = []

    def read(x: Any) -> Any:
        return subst.get(x.n, x) if type(x) is Var else x

    for e in graph.eqns:
        ins = [read(x) for x in e.invars]
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


# -- code generation --------------------------------------------------------------------


def compile_graph(graph: Graph) -> Callable[..., list[Any]]:
    """Straight-line Python source calling each primitive's implementation
    directly, compiled once; returns `run(*flat_args) -> flat outputs`.
    Implementations, literals and parameters are module globals of the source
    (one name per distinct object); a value is deleted after its last use, so
    memory is freed as the eager call frees it."""
    namespace: dict[str, Any] = {"_copy": np.copy}
    names: dict[int, str] = {}
    for v, c in zip(graph.constvars, graph.consts, strict=True):
        namespace[f"v{v.n}"] = c

    def glob(x: Any, prefix: str) -> str:
        s = names.get(id(x))
        if s is None:
            s = names[id(x)] = f"{prefix}{len(names)}"
            namespace[s] = x
        return s

    def name(x: Any) -> str:
        return f"v{x.n}" if type(x) is Var else glob(x, "k")

    consts = {v.n for v in graph.constvars}
    keep = consts | {o.n for o in graph.outvars if type(o) is Var}
    last: dict[int, int] = {}
    for i, e in enumerate(graph.eqns):
        for x in e.invars:
            if type(x) is Var:
                last[x.n] = i
    dies: dict[int, list[int]] = {}
    for n, i in last.items():
        if n not in keep:
            dies.setdefault(i, []).append(n)
    reuse = _buffer_reuse(graph)
    lines = [f"def run({', '.join(f'v{v.n}' for v in graph.invars)}):"]
    for i, e in enumerate(graph.eqns):
        args = [name(x) for x in e.invars]
        if i in reuse:
            args.append(f"out=v{reuse[i]}")
        args.extend(f"{k}={glob(p, 'p')}" for k, p in e.params.items())
        call = f"{glob(e.prim.impl, 'f')}({', '.join(args)})"
        if e.prim.multiple_results:
            lines.append(f"    {''.join(f'v{v.n}, ' for v in e.outvars)}= {call}")
        else:
            lines.append(f"    v{e.outvars[0].n} = {call}")
        dead = dies.get(i, []) + [v.n for v in e.outvars if v.n not in last and v.n not in keep]
        if dead:
            lines.append(f"    del {', '.join(f'v{n}' for n in dead)}")
    outs = []
    for o in graph.outvars:
        s = name(o)
        # an array constant returned to the caller is copied, as eager calls give fresh arrays
        if (type(o) is Var and o.n in consts) or isinstance(o, np.ndarray):
            s = f"_copy({s})"
        outs.append(s)
    lines.append(f"    return [{', '.join(outs)}]")
    src = "\n".join(lines)
    exec(compile(src, "<riesz.jit>", "exec"), namespace)  # noqa: S102 - generated above
    run = namespace["run"]
    run.source = src
    return run


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
    for i, e in enumerate(eqns):
        uf = _is_ufunc(e)
        for x in e.invars:
            if type(x) is Var:
                last[x.n] = i
                if not uf:
                    shared.add(x.n)
        if uf and e.outvars[0].aval.ndim:
            fresh.add(e.outvars[0].n)
    plan: dict[int, int] = {}
    for i, e in enumerate(eqns):
        if not _is_ufunc(e):
            continue
        out = e.outvars[0].aval
        if not out.ndim:
            continue
        for x in e.invars:
            if (type(x) is Var and x.n in fresh and x.n not in shared and last[x.n] == i
                    and x.aval.shape == out.shape and x.aval.dtype == out.dtype):
                plan[i] = x.n
                break
    return plan


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
                 static_argnames: tuple[str, ...]):
        self.fn = fn
        self.static_argnums = static_argnums
        self.static_argnames = static_argnames
        self.compiles = 0  # how many signatures were traced and compiled
        self._cache: dict[Any, list[Any]] = {}
        functools.update_wrapper(self, fn)

    def _entry(self, sig: _Signature) -> list[Any]:
        entry = self._cache.get(sig.key)
        if entry is None:
            with _no_gc():
                graph = optimize(_trace(self.fn, sig))
            entry = [graph, None]
            self.compiles += 1
            if graph.has_tracer_consts:  # closes over values of transformations active now
                return entry
            self._cache[sig.key] = entry
        return entry

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        sig = _Signature("jit", args, kwargs, self.static_argnums, self.static_argnames)
        entry = self._entry(sig)
        graph = entry[0]
        if graph.has_tracer_consts or any(isinstance(x, Tracer) for x in sig.leaves):
            outs = eval_graph(graph, sig.leaves)
        else:
            run = entry[1]
            if run is None:
                with _no_gc():
                    run = entry[1] = compile_graph(graph)
            outs = run(*sig.leaves)
        return tree_unflatten(graph.out_def, outs)

    def graph(self, *args: Any, **kwargs: Any) -> Graph:
        """The graph compiled for these arguments' signature (after the passes)."""
        return self._entry(_Signature("jit", args, kwargs, self.static_argnums,
                                      self.static_argnames))[0]

    def source(self, *args: Any, **kwargs: Any) -> str:
        """The generated Python source for these arguments' signature."""
        entry = self._entry(_Signature("jit", args, kwargs, self.static_argnums,
                                       self.static_argnames))
        if entry[1] is None:
            with _no_gc():
                entry[1] = compile_graph(entry[0])
        return entry[1].source

    def __repr__(self) -> str:
        return f"jit({getattr(self.fn, '__name__', self.fn)!r})"


def jit(f: Callable[..., Any], static_argnums: int | Sequence[int] = (),
        static_argnames: str | Sequence[str] = ()) -> Jitted:
    """`f` compiled per input signature: traced once on shapes and dtypes,
    optimised, and run later as straight-line NumPy code. Python control flow
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
    """
    nums, names = _statics(static_argnums, static_argnames)
    return Jitted(f, nums, names)
