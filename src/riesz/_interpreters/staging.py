"""Staging: trace a function on shapes and dtypes into a graph of equations.

A `GraphTrace` follows *abstract* values (`ShapedArray`: a shape and a dtype,
no entries). Each primitive applied to one of its tracers becomes an equation
`outs = prim(ins, **params)` of a `Graph`, as a jaxpr records them; values the
function closes over become the graph's constants. The other interpreters
need no change: a derivative or batching trace above this one binds the
primitives of its rules on graph tracers, so `jit(grad(f))` stages the whole
derivative computation, and a staged graph evaluated by `bind` (`eval_graph`)
is seen by the traces above as the primitives it is made of.

Abstract evaluation (the output's shape and dtype of each equation) runs the
primitive's own `impl` on placeholder arrays of the inputs' shapes and dtypes
(zeros; if the implementation rejects zeros, e.g. a factorisation of a
singular matrix, identity matrices; then generic random entries), with
warnings silenced, and caches the
answer per (primitive, input types, parameters). It is exact wherever the
output's shape and dtype depend only on the inputs' shapes and dtypes, which
holds for every primitive except those whose output shape depends on the
values (`nonzero`, boolean-mask indexing): these raise `ConcretizationError`.
It costs one evaluation of the operation per distinct signature at trace time.

Reading a value of an abstract array (`bool(x)`, `float(x)`, `int(x)`,
`np.asarray(x)`, indexing with it) raises `ConcretizationError`, a
`TypeError` that names the operation and the fixes.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from .._core.primitive import CUSTOM, Primitive
from .._core.trace import Trace, Tracer, bind

__all__ = [
    "FIXES", "ConcretizationError", "Eqn", "Graph", "GraphTrace", "GraphTracer", "ShapedArray",
    "Var", "eval_graph",
]

FIXES = (
    "Under riesz.jit (and make_graph) values are abstract: only shapes and dtypes are "
    "known while the function is traced. Mark the argument static "
    "(jit(f, static_argnums=...) / static_argnames=...) if it selects the computation, "
    "or use riesz.cond / riesz.while_loop / riesz.fori_loop / riesz.scan (or "
    "riesz.numpy.where) for control flow that depends on the value"
)


class ConcretizationError(TypeError):
    """A concrete value was needed from a value that is only traced abstractly (under jit).

    Examples
    --------
    >>> try:
    ...     riesz.jit(lambda x: x if x > 0 else -x)(1.0)
    ... except riesz.ConcretizationError:
    ...     print("use riesz.cond or a static argument")
    use riesz.cond or a static argument
    """


def concretization_error(what: str, shape: Any = None, dtype: Any = None) -> ConcretizationError:
    of = "" if shape is None else f" (shape {tuple(shape)}, dtype {dtype})"
    return ConcretizationError(f"{what} needs the value of a traced array{of}. {FIXES}")


class ShapedArray:
    """An abstract array: a shape and a dtype. `weak` marks a Python scalar
    (it keeps NumPy's promotion of Python numbers, `float32 * 2.0 -> float32`)."""

    __slots__ = ("shape", "dtype", "weak")

    def __init__(self, shape: tuple[int, ...], dtype: Any, weak: bool = False):
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)
        self.weak = weak

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a 0-d array")
        return self.shape[0]

    def key(self) -> tuple[Any, ...]:
        return (self.shape, self.dtype.str, self.weak)

    def placeholder(self, fill: str = "zeros") -> Any:
        """A concrete value of this type, for abstract evaluation."""
        if self.weak:
            return self.dtype.type(0).item()
        if fill == "eye" and self.ndim >= 2 and self.dtype.kind in "fc":
            return np.broadcast_to(np.eye(*self.shape[-2:], dtype=self.dtype), self.shape).copy()
        if fill == "eye" and self.dtype.kind in "fc":
            return np.ones(self.shape, self.dtype)
        if fill == "random" and self.dtype.kind in "fc":  # generic: nonsingular almost surely
            return np.random.default_rng(0).uniform(0.5, 1.5, self.shape).astype(self.dtype)
        return np.zeros(self.shape, self.dtype)

    def __repr__(self) -> str:
        name = {"f": "f", "c": "c", "i": "i", "u": "u", "b": "bool",
                "O": "obj"}.get(self.dtype.kind, "?")
        bits = "" if name in ("bool", "obj") else str(self.dtype.itemsize * 8)
        return f"{name}{bits}[{','.join(map(str, self.shape))}]" + ("~" if self.weak else "")

    # reading the value of an abstract array
    def __array__(self, dtype: Any = None, copy: Any = None) -> Any:
        raise concretization_error("converting to a NumPy array (np.asarray, np.array, a NumPy "
                                   "function without riesz support)", self.shape, self.dtype)

    def __bool__(self) -> bool:
        raise concretization_error("bool() (e.g. `if x:` or `while x:`)", self.shape, self.dtype)

    def __float__(self) -> float:
        raise concretization_error("float()", self.shape, self.dtype)

    def __int__(self) -> int:
        raise concretization_error("int()", self.shape, self.dtype)

    def __complex__(self) -> complex:
        raise concretization_error("complex()", self.shape, self.dtype)

    def __index__(self) -> int:
        raise concretization_error("using it as an index or size", self.shape, self.dtype)

    def _compare(self, *other: Any) -> Any:
        raise concretization_error("computing with the value outside riesz's operations",
                                   self.shape, self.dtype)

    __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = _compare
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _compare
    __truediv__ = __rtruediv__ = __neg__ = __abs__ = _compare
    __hash__ = object.__hash__


def aval_of(x: Any) -> ShapedArray:
    """The abstract value of a concrete value or tracer."""
    if type(x) in (bool, int, float, complex):
        return ShapedArray((), np.result_type(type(x)), weak=True)
    return ShapedArray(np.shape(x), x.dtype)


class Var:
    """A variable of a graph: an input, a constant or the output of an equation."""

    __slots__ = ("n", "aval")

    def __init__(self, n: int, aval: ShapedArray):
        self.n = n
        self.aval = aval

    def __repr__(self) -> str:
        return _name(self.n)


def _name(n: int) -> str:
    s = ""
    n += 1
    while n:
        n, r = divmod(n - 1, 26)
        s = chr(97 + r) + s
    return s


class Eqn:
    """`outvars = prim(*invars, **params)`; an input is a `Var` or a literal."""

    __slots__ = ("prim", "invars", "outvars", "params")

    def __init__(self, prim: Primitive, invars: list[Any], outvars: list[Var],
                 params: dict[str, Any]):
        self.prim = prim
        self.invars = invars
        self.outvars = outvars
        self.params = params

    def __repr__(self) -> str:
        outs = " ".join(f"{v}:{v.aval}" for v in self.outvars)
        ins = " ".join(_show(x) for x in self.invars)
        params = ", ".join(f"{k}={_short(v)}" for k, v in self.params.items())
        return f"{outs} = {self.prim.name}[{params}] {ins}" if params else \
            f"{outs} = {self.prim.name} {ins}"


def _show(x: Any) -> str:
    return repr(x) if isinstance(x, Var) else _short(x)


def _short(x: Any) -> str:
    if isinstance(x, np.ndarray):
        return f"array{aval_of(x)}" if x.size > 4 else repr(x.tolist())
    r = repr(x) if not callable(x) else getattr(x, "__name__", type(x).__name__)
    if " object at 0x" in r:  # a default repr: its address would differ between runs
        r = type(x).__name__
    return r if len(r) <= 40 else r[:37] + "..."


class Graph:
    """A staged function: inputs, constants, equations and outputs (flat lists;
    `in_def` / `out_def` hold the pytree structures). Printed, it reads as a jaxpr;
    the graphs a staged cond or loop holds (branches, predicate, body) are printed
    nested under its equation.

    Examples
    --------
    >>> g = riesz.make_graph(lambda x: x * x + 1.0)(np.ones(2))
    >>> print(len(g.invars), [e.prim.name for e in g.eqns])
    1 ['multiply', 'add']
    """

    __slots__ = ("invars", "constvars", "consts", "eqns", "outvars", "in_def", "out_def")

    def __init__(self, invars: list[Var], constvars: list[Var], consts: list[Any],
                 eqns: list[Eqn], outvars: list[Any], in_def: Any = None, out_def: Any = None):
        self.invars = invars
        self.constvars = constvars
        self.consts = consts
        self.eqns = eqns
        self.outvars = outvars
        self.in_def = in_def
        self.out_def = out_def

    @property
    def has_tracer_consts(self) -> bool:
        """Whether it closes over values of transformations active while it was traced."""
        return any(isinstance(c, Tracer) for c in self.consts)

    def __len__(self) -> int:
        return len(self.eqns)

    def __repr__(self) -> str:
        top = [*self.constvars, *self.invars, *(v for e in self.eqns for v in e.outvars)]
        printer = _Printer(1 + max((v.n for v in top), default=-1))
        return "\n".join(printer.graph(self, "", None))


class _Printer:
    """Prints a graph as a jaxpr is printed, the staged sub-graphs of its equations
    (a cond's branches, a loop's body: see `graph_parts`) nested under them.

    An equation's parameter `fn` may have a method `graph_parts()` returning
    `(name, params, parts)`: the name and the parameters to print for it, and its
    sub-graphs as (label, Graph) pairs, printed indented under the equation. A
    sub-graph is closed (it reads only its own inputs and constants); its variables
    are named afresh, after every name used so far, so no name means two things.
    The outermost graph keeps its own names (`Var.n`). Only printing calls this."""

    def __init__(self, fresh: int):
        self.fresh = fresh  # the next unused name

    def graph(self, g: Graph, indent: str, scope: dict[Var, str] | None) -> list[str]:
        """The lines of `g`; `scope` None names by `Var.n`, else a fresh scope."""
        if scope is not None:
            for v in (*g.constvars, *g.invars, *(v for e in g.eqns for v in e.outvars)):
                if v not in scope:
                    scope[v] = _name(self.fresh)
                    self.fresh += 1

        def show(x: Any) -> str:
            if not isinstance(x, Var):
                return _short(x)
            return scope.get(x, repr(x)) if scope is not None else repr(x)

        def typed(vs: list[Var]) -> str:
            return " ".join(f"{show(v)}:{v.aval}" for v in vs)

        consts = typed(g.constvars)
        lines = [f"{{ lambda {consts + ' ; ' if consts else ''}{typed(g.invars)}. let"]
        for e in g.eqns:
            fn = e.params.get("fn")
            parts = getattr(fn, "graph_parts", None)
            outs, ins = typed(e.outvars), " ".join(show(x) for x in e.invars)
            if parts is None:
                params = ", ".join(f"{k}={_short(v)}" for k, v in e.params.items())
                head = f"{e.prim.name}[{params}]" if params else e.prim.name
                lines.append(f"{indent}    {outs} = {head} {ins}")
                continue
            name, shown, subs = parts()
            params = "".join(f", {k}={_short(v)}" for k, v in shown.items())
            if not subs:
                lines.append(f"{indent}    {outs} = {e.prim.name}[fn={name}{params}] {ins}")
                continue
            lines.append(f"{indent}    {outs} = {e.prim.name}[fn={name}{params}")
            for label, sub in subs:
                inner = self.graph(sub, indent + "      ", {})
                lines.append(f"{indent}      {label}={inner[0]}")
                lines.extend(inner[1:])
            lines.append(f"{indent}    ] {ins}")
        lines.append(f"{indent}  in ({', '.join(show(o) for o in g.outvars)}) }}")
        return lines


class GraphTracer(Tracer):
    """A traced value of a `GraphTrace`: `_value` is its `ShapedArray`, `_var` its variable."""

    __slots__ = ("_var",)

    def __init__(self, aval: ShapedArray, trace: GraphTrace, var: Var):
        self._value = aval
        self._trace = trace
        self._var = var

    def _concrete_error(self, what: str) -> TypeError:
        return concretization_error(what.split(";")[0], self.shape, self.dtype)

    def __array__(self, dtype: Any = None, copy: Any = None) -> Any:
        return self._value.__array__()


_AVAL_CACHE: dict[Any, Any] = {}


def _hashable_params(params: dict[str, Any]) -> Any:
    try:
        key = tuple(params.items())
        hash(key)
    except TypeError:
        return None
    return key


class GraphTrace(Trace):
    """Records every primitive applied to its tracers as an equation."""

    __slots__ = ("eqns", "constvars", "consts", "const_ids", "count")
    # an abstract value is not a derivative to strip: rules computing masks from
    # values (strip_derivatives) stage those computations too
    carries_derivatives = False

    def __init__(self, level: int):
        super().__init__(level)
        self.eqns: list[Eqn] = []
        self.constvars: list[Var] = []
        self.consts: list[Any] = []
        self.const_ids: dict[int, Var] = {}
        self.count = 0

    def new_var(self, aval: ShapedArray) -> Var:
        v = Var(self.count, aval)
        self.count += 1
        return v

    def new_input(self, aval: ShapedArray) -> GraphTracer:
        return GraphTracer(aval, self, self.new_var(aval))

    def const(self, x: Any) -> Var:
        """A graph constant for an array (or a lower-level tracer) the function closes over."""
        v = self.const_ids.get(id(x))
        if v is None:
            v = self.const_ids[id(x)] = self.new_var(aval_of(x))
            self.constvars.append(v)
            self.consts.append(x)
        return v

    def process(self, prim: Primitive, args: tuple[Any, ...], params: dict[str, Any]) -> Any:
        if not self.active:
            raise self._dead()
        invars: list[Any] = []
        examples: list[Any] = []
        key: list[Any] = [prim, _hashable_params(params)]
        cacheable = key[1] is not None
        for a in args:
            if isinstance(a, Tracer):
                if a._trace is self:
                    # `a._trace is self`: a GraphTracer (a cast would cost a call per operand)
                    v = a._var  # type: ignore[attr-defined]
                    examples.append(v.aval)
                else:  # a value of a transformation below this one: a constant here
                    v = self.const(a)
                    examples.append(v.aval)
                invars.append(v)
                key.append(v.aval.key())
            elif isinstance(a, np.ndarray) and a.ndim:
                invars.append(self.const(a))
                examples.append(a)
                cacheable = False
            else:
                invars.append(a)
                examples.append(a)
                try:
                    hash(a)
                    key.append((type(a), a))
                except TypeError:
                    cacheable = False
        if prim.kind is CUSTOM:
            return self._custom(prim, args, invars, params)
        _check_value_shaped(prim, examples)
        k = tuple(key) if cacheable else None
        out = _AVAL_CACHE.get(k) if k is not None else None
        if out is None:
            out = _abstract_eval(prim, examples, params)
            if k is not None and len(_AVAL_CACHE) < 100_000:
                _AVAL_CACHE[k] = out
        if prim.multiple_results:
            outs = [self.new_input(a) for a in out]
            self.eqns.append(Eqn(prim, invars, [t._var for t in outs], params))
            return tuple(outs)
        t = self.new_input(out)
        self.eqns.append(Eqn(prim, invars, [t._var], params))
        return t

    def _custom(self, prim: Primitive, args: tuple[Any, ...], invars: list[Any],
                params: dict[str, Any]) -> Any:
        """A function with user rules stays one equation (traces above the graph's
        evaluation apply its rules); its output types come from tracing its body
        into a scratch list of equations, or, for a body that needs concrete
        values (an implicit layer's solver), from running it on placeholders,
        unless the function declares them (`out_avals`: a loop whose trip count
        depends on the values, which placeholders could make endless)."""
        avals = getattr(params["fn"], "out_avals", None)
        if avals is not None:
            tracers = [self.new_input(a) for a in avals]
            self.eqns.append(Eqn(prim, invars, [t._var for t in tracers], params))
            return tuple(tracers)
        eqns, self.eqns = self.eqns, []
        try:
            outs = params["fn"].call_flat(args, params["in_def"], params["out"])
            avals = [o._value if isinstance(o, GraphTracer) and o._trace is self else aval_of(o)
                     for o in outs]
        except Exception as e:  # noqa: BLE001 - a body that needs concrete values (a solver)
            examples = [a._value if isinstance(a, Tracer) and a._trace is self
                        else aval_of(a) if isinstance(a, Tracer) else a for a in args]
            try:
                avals = list(_abstract_eval(prim, examples, params))
            except Exception:  # noqa: BLE001 - the body's own error is the one to show
                raise e from None
        finally:
            self.eqns = eqns
        tracers = [self.new_input(a) for a in avals]
        self.eqns.append(Eqn(prim, invars, [t._var for t in tracers], params))
        return tuple(tracers)

    def process_custom(self, prim: Primitive, args: tuple[Any, ...],
                       params: dict[str, Any]) -> Any:
        return self.process(prim, args, params)


def _check_value_shaped(prim: Primitive, examples: list[Any]) -> None:
    name = prim.name
    if name == "nonzero" or (name == "gather" and any(
            isinstance(e, ShapedArray) and e.dtype == np.bool_ for e in examples[1:])):
        what = "nonzero / boolean-mask indexing" if name == "nonzero" else \
            "indexing with a traced boolean mask"
        raise ConcretizationError(
            f"{what}: the output's shape depends on the values. {FIXES}; "
            "riesz.numpy.where(mask, x, 0) keeps the shape"
        )


def _abstract_eval(prim: Primitive, examples: list[Any], params: dict[str, Any]) -> Any:
    first: Exception | None = None
    for fill in ("zeros", "eye", "random"):
        vals = [e.placeholder(fill) if isinstance(e, ShapedArray) else e for e in examples]
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                out = prim.impl(*vals, **params)
        except Exception as e:  # noqa: BLE001 - retried with other values, then re-raised
            if first is None:
                first = e
            continue
        if prim.multiple_results:
            return tuple(aval_of(o) for o in out)
        return aval_of(out)
    assert first is not None
    raise first


def eval_graph(graph: Graph, args: list[Any], consts: list[Any] | None = None) -> list[Any]:
    """Evaluate `graph` on flat `args` by binding each equation's primitive, so
    that the traces active now (grad, vmap, jet, an enclosing jit) see them."""
    env: dict[int, Any] = {}
    for v, a in zip(graph.invars, args, strict=True):
        env[v.n] = a
    for v, c in zip(graph.constvars, graph.consts if consts is None else consts, strict=True):
        env[v.n] = c

    def read(x: Any) -> Any:
        return env[x.n] if type(x) is Var else x

    for e in graph.eqns:
        out = bind(e.prim, *[read(x) for x in e.invars], **e.params)
        if e.prim.multiple_results:
            for v, o in zip(e.outvars, out, strict=True):
                env[v.n] = o
        else:
            env[e.outvars[0].n] = out
    return [read(o) for o in graph.outvars]
