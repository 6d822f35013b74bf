"""Staged scans as one compiled loop (an optional Numba backend for `riesz.scan`).

Under `jit` a scan is one equation run by a Python loop over its compiled step
(`control_flow._Scan`): each iteration costs the NumPy calls of the body, about
1 µs each however small the arrays (13 µs per step for the forward body of a
32-wide RNN cell, 24 µs for its backward body). Here the whole loop becomes one
Numba function: the body's loop-invariant equations computed once, then a loop
over the steps whose body is the body graph's equations written as Numba array
code (NumPy ufuncs, `matmul` as `np.dot` of contiguous 1-D / 2-D arrays or, for
small ones, explicit loops, `sum`, `reshape`, `transpose`, `broadcast_to`, `where`,
`astype`), each step's outputs stored into preallocated stacked arrays and the
carries rebound, so a step costs no Python call. The forward scan and the
transposed scan that reverse mode produces are each one such loop.

A body with an equation outside that set, or a dtype other than float32 /
float64 / bool, keeps the Python loop; so does any body Numba rejects. As with
`riesz.fusion`: `jit(fuse=True)` compiles at the first call, `fuse=False` never,
the default once the loop's calls have taken about as long as compiling would
(`COMPILE_S`, ski rental); kernels are cached by source, in memory and on disk
(`fusion.cache_dir()`). Semantics are NumPy's dtypes (each ufunc runs in the loop
dtype NumPy resolves, weak Python scalars included); sums add in sequence
(NumPy adds pairwise: rounding may differ). NumPy's floating-point errors are
NumPy's own, as in `riesz.fusion`: the loop ORs together whether a value it
stores, or one read by an operation that can hide an infinity or a NaN
(`fusion.spreads`), is ±inf or NaN, and if so the scan runs again as its
Python loop, which warns or raises as `np.errstate` says (skipped when it
ignores all; its values are returned).
"""

from __future__ import annotations

import hashlib
import importlib.util
import math
import os
import re
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import fusion
from ._interpreters.staging import Eqn, Graph, Var

__all__ = ["COMPILE_S", "SMALL_MATMUL", "LoopKernel", "adopt", "available",
           "loop_source"]

COMPILE_S = 2.0  # Numba compile time of a loop kernel, seconds (measured 1.5-2.5; the rental price)
SMALL_MATMUL = 4096  # multiply-adds up to which a matmul is an explicit loop, not BLAS
# scalar forms, written as operators and `math` functions: Numba types these
# several times faster than NumPy ufunc calls (others: the np.<ufunc> scalar call)
_INFIX = {"add": "({0} + {1})", "subtract": "({0} - {1})", "multiply": "({0} * {1})",
          "divide": "({0} / {1})", "true_divide": "({0} / {1})", "negative": "(-{0})",
          "square": "({0} * {0})", "greater": "({0} > {1})", "greater_equal": "({0} >= {1})",
          "less": "({0} < {1})", "less_equal": "({0} <= {1})", "equal": "({0} == {1})",
          "not_equal": "({0} != {1})",
          # NumPy's sign of ±0 is +0 (Numba's np.sign keeps the zero's sign)
          "sign": "(1.0 if {0} > 0 else (-1.0 if {0} < 0 else {0} * 0.0 + 0.0))"}
_MATH = {"sin": "sin", "cos": "cos", "tan": "tan", "arcsin": "asin", "arccos": "acos",
         "arctan": "atan", "sinh": "sinh", "cosh": "cosh", "tanh": "tanh", "arcsinh": "asinh",
         "arccosh": "acosh", "arctanh": "atanh", "exp": "exp", "expm1": "expm1", "log": "log",
         "log2": "log2", "log10": "log10", "log1p": "log1p", "sqrt": "sqrt", "hypot": "hypot",
         "arctan2": "atan2"}


def available() -> bool:
    """Whether Numba is installed (the `jit` extra); imported only when a loop compiles."""
    try:
        return importlib.util.find_spec("numba") is not None
    except (ImportError, ValueError):  # an import of numba that failed before
        return False


def _literal(x: Any, dtype: Any) -> str:
    """A Python literal of `x` in `dtype` (a weak Python scalar where None)."""
    v = x.item() if isinstance(x, (np.generic, np.ndarray)) else x
    v = float(v) if dtype is not None and np.dtype(dtype).kind == "f" else v
    if isinstance(v, float) and not math.isfinite(v):
        s = "np.nan" if math.isnan(v) else ("np.inf" if v > 0 else "-np.inf")
    else:
        s = repr(v)
    if dtype is None or np.dtype(dtype) == fusion.F8:
        return s
    return f"{_dt(dtype)}({s})"


class _Unsupported(Exception):
    """An equation the loop kernel cannot express (the Python loop runs instead)."""


def _dt(d: Any) -> str:
    try:
        return fusion.DTYPE_CODES[np.dtype(d)]
    except KeyError:
        raise _Unsupported(f"dtype {d}") from None


def _loop(var: str, n: int, depth: int) -> tuple[str, int]:
    """A loop header over range(n) at `depth`, and the depth of its body; for n = 1
    an assignment (a loop costs Numba's front end several times a statement)."""
    pad = "    " * depth
    return (f"{pad}{var} = 0", depth) if n == 1 else \
        (f"{pad}for {var} in range({n}):", depth + 1)


def _nest(shape: Sequence[int], inner: list[str]) -> list[str]:
    """`inner` inside one loop per axis of `shape` (indices j0, j1, ...)."""
    lines, depth = [], 0
    for d, n in enumerate(shape):
        line, depth = _loop(f"j{d}", n, depth)
        lines.append(line)
    return lines + [f"{'    ' * depth}{s}" for s in inner]


def _js(nd: int) -> list[str]:
    return [f"j{d}" for d in range(nd)]


def _broadcast_ix(shape: tuple[int, ...], out: tuple[int, ...]) -> list[str]:
    """The index of an operand of `shape` at output index (j0, j1, ...) (NumPy's
    broadcasting: trailing axes aligned, length-1 axes read at 0)."""
    off = len(out) - len(shape)
    return ["0" if n == 1 and out[off + q] != 1 else f"j{off + q}" for q, n in enumerate(shape)]


def _reshape_ix(shape: tuple[int, ...], out: tuple[int, ...]) -> list[str]:
    """The index into a C-ordered array of `shape` of the element at index
    (j0, j1, ...) of its reshape to `out`."""
    if [n for n in shape if n != 1] == [n for n in out if n != 1]:  # only length-1 axes move
        big = iter(f"j{d}" for d, n in enumerate(out) if n != 1)
        return ["0" if n == 1 else next(big) for n in shape]
    flat = " + ".join(f"j{d} * {math.prod(out[d + 1:])}" for d in range(len(out)))
    return [f"(({flat}) // {math.prod(shape[q + 1:])}) % {n}" for q, n in enumerate(shape)]


def _basic_ix(index: Any, shape: tuple[int, ...], out: tuple[int, ...]) -> list[str]:
    """The index into an array of `shape` of the element at index (j0, j1, ...) of
    `x[index]` (of shape `out`), for a basic index: ints, slices, None, Ellipsis."""
    index = index if isinstance(index, tuple) else (index,)
    if any(not (type(k) in (int, slice) or k is None or k is Ellipsis) for k in index) or \
            sum(k is Ellipsis for k in index) > 1:
        raise _Unsupported("getitem with an array index")
    used = sum(k is not None and k is not Ellipsis for k in index)
    if Ellipsis in index:
        at = index.index(Ellipsis)
        index = index[:at] + (slice(None),) * (len(shape) - used) + index[at + 1:]
    index = index + (slice(None),) * (len(shape) - sum(k is not None for k in index))
    ix, q, d, made = [], 0, 0, []
    for k in index:
        if k is None:
            made.append(1)
            d += 1
        elif isinstance(k, slice):
            start, _, step = k.indices(shape[q])
            made.append(len(range(*k.indices(shape[q]))))
            ix.append(f"{start} + {step} * j{d}" if step != 1 or start else f"j{d}")
            q, d = q + 1, d + 1
        else:
            if not -shape[q] <= k < shape[q]:
                raise _Unsupported("getitem out of bounds")
            ix.append(str(k % shape[q]))
            q += 1
    if tuple(made) != tuple(out):
        raise _Unsupported("getitem")
    return ix


class _Group:
    """Elementwise equations of one output shape computed in one loop nest."""

    def __init__(self, shape: tuple[int, ...]):
        self.shape = shape
        self.members: list[tuple[Var, str]] = []  # (output, scalar expression)
        self.made: set[int] = set()
        self.eqns: set[int] = set()


class _Stream:
    """Lines of the loop-invariant part, or of one step, with its open groups
    (one per shape; a group's loop is emitted when a value it makes is read
    outside it, or at the end)."""

    def __init__(self, step: bool):
        self.step = step  # the per-step stream (else the loop-invariant part)
        self.lines: list[str] = []
        self.groups: dict[tuple[int, ...], _Group] = {}
        self.buffers: set[str] = set()  # buffers written by this stream


class _Codegen:
    """Turns a scan body into the source of one Numba function (see `loop_source`).

    A scalar (shape ()) is a local; an array is an argument, a slice of one
    (`xs[i]`, read as `xs[i, j0, ...]`) or a buffer the caller allocates.
    Elementwise equations (ufuncs, `where`, `astype`, `broadcast_to`,
    `transpose`, `reshape`) of one shape share a loop nest in which the values
    only they read stay scalars; `matmul` and `sum` write into their buffers.
    Only loops and scalar arithmetic: Numba compiles them several times faster
    than its NumPy array functions, and nothing is allocated inside the loop."""

    def __init__(self, graph: Graph, nk: int):
        self.name: dict[int, str] = {}
        self.lead: dict[int, list[str]] = {}  # leading indices (["i"] for a slice of xs)
        self.aval: dict[int, Any] = {}
        self.extra: list[Any] = []  # array constants, passed as arguments
        self.buffers: list[Any] = []  # (shape, dtype) of each buffer, allocated by the caller
        self.users: dict[int, set[int]] = {}
        for i, e in enumerate(graph.eqns):
            for x in e.invars:
                if type(x) is Var:
                    self.users.setdefault(x.n, set()).add(i)
        self.carried = {o.n for o in graph.outvars[:nk] if type(o) is Var}
        self.ys: dict[int, list[int]] = {}  # variable -> the y outputs it is
        for k, o in enumerate(graph.outvars[nk:]):
            if type(o) is Var:
                self.ys.setdefault(o.n, []).append(k)
        self.stored: set[int] = set()  # y outputs stored where they are computed
        # the values watched for ±inf / NaN (as `riesz.fusion` does): carries, y
        # outputs, and those read by an operation that can hide one (exp, where, ...)
        self.need = self.carried | set(self.ys) | {
            x.n for e in graph.eqns if not fusion.spreads(e) for x in e.invars
            if type(x) is Var}

    def watch(self, v: Var, expr: str) -> list[str]:
        """The statement flagging `expr` (the value of `v`) if it is ±inf or NaN
        (x - x is 0 for a finite x, NaN otherwise; an OR, no branch)."""
        if v.n not in self.need or v.aval.dtype.kind != "f":
            return []
        return [f"nf_ |= {expr} - {expr} != 0.0"]

    def watch_buffer(self, v: Var, o: str) -> list[str]:
        """`watch` of each element of the buffer `o` holding `v`."""
        ix = ", ".join(_js(len(v.aval.shape)))
        check = self.watch(v, f"{o}[{ix}]")
        return _nest(v.aval.shape, check) if check else []

    # -- values ------------------------------------------------------------------------
    def define(self, v: Var, name: str, lead: list[str] | None = None) -> None:
        _dt(v.aval.dtype)
        self.name[v.n], self.aval[v.n], self.lead[v.n] = name, v.aval, lead or []

    def buffer(self, shape: tuple[int, ...], dtype: Any, st: _Stream | None = None) -> str:
        self.buffers.append((shape, np.dtype(dtype)))
        name = f"w{len(self.buffers) - 1}"
        if st is not None:
            st.buffers.add(name)
        return name

    def shape(self, x: Any) -> tuple[int, ...]:
        return self.aval[x.n].shape if type(x) is Var else np.shape(x)

    def dtype(self, x: Any) -> np.dtype[Any]:
        return fusion.weak_dtype(self.aval[x.n]) if type(x) is Var else np.asarray(x).dtype

    def ref(self, x: Any, ix: Sequence[str] = (), group: _Group | None = None,
            cast: Any = None) -> str:
        """`x` read at index `ix` (a literal, a scalar, an array element, a value
        of the open group), cast to `cast` where its dtype differs."""
        lead: list[str]
        if type(x) is not Var:
            if not np.ndim(x):
                return _literal(x, cast)
            self.extra.append(np.ascontiguousarray(x))
            s, lead = f"g{len(self.extra) - 1}", []
        elif group is not None and x.n in group.made:
            s, lead, ix = f"e{x.n}", [], ()
        else:
            s, lead = self.name[x.n], self.lead[x.n]
        if lead or ix:
            s += f"[{', '.join([*lead, *ix])}]"
        if cast is not None and np.dtype(cast) != self.dtype(x):
            return f"{_dt(cast)}({s})"
        return s

    def array(self, x: Any) -> str:
        """`x` as a whole array (for np.dot)."""
        s = self.ref(x)
        return s if type(x) is not Var or not self.lead[x.n] else \
            f"{self.name[x.n]}[{', '.join(self.lead[x.n])}]"

    # -- equations ---------------------------------------------------------------------
    def elementwise(self, e: Eqn) -> tuple[list[tuple[Any, list[str] | None, Any]], Any] | None:
        """For an elementwise equation: its operands, each with the index it is read
        at (None: broadcast to the output's index) and its loop dtype (None: as it
        is), and a function of the operands' expressions giving the scalar
        expression; else None."""
        f, name = e.prim.impl, e.prim.name
        if len(e.outvars) != 1:
            return None
        out = e.outvars[0].aval.shape
        if name == "matmul" and not e.params and len(out) == 2 and all(
                type(x) is Var and len(self.shape(x)) == 2 and
                self.dtype(x) == e.outvars[0].aval.dtype for x in e.invars) and \
                self.shape(e.invars[0])[1] == 1:  # an outer product: elementwise
            return ([(e.invars[0], ["j0", "0"], None), (e.invars[1], ["0", "j1"], None)],
                    "({0} * {1})".format)
        if isinstance(f, np.ufunc) and name != "matmul":
            if f.nout != 1 or e.params or f.__name__ not in fusion.UFUNCS:
                raise _Unsupported(name)
            try:
                loop = f.resolve_dtypes(tuple(fusion.scalar_type(x) for x in e.invars)
                                        + (None,))
            except (TypeError, ValueError):
                raise _Unsupported(name) from None
            uname = f.__name__
            if uname in _INFIX:
                fmt = _INFIX[uname].format
            else:
                call = f"_m_{_MATH[uname]}" if uname in _MATH else f"_u_{uname}"
                fmt = lambda *a: f"{call}({', '.join(a)})"  # noqa: E731
            return [(x, None, d) for x, d in zip(e.invars, loop[:-1], strict=True)], fmt
        same = lambda a: a  # noqa: E731
        if name == "where" and not e.params and len(e.invars) == 3:
            d = e.outvars[0].aval.dtype
            return ([(x, None, t) for x, t in zip(e.invars, (np.bool_, d, d), strict=True)],
                    lambda c, a, b: f"({a} if {c} else {b})")
        if name == "astype" and set(e.params) == {"dtype"}:
            return [(e.invars[0], None, None)], same
        if name == "broadcast_to" and set(e.params) == {"shape"}:
            return [(e.invars[0], None, None)], same
        (x,) = e.invars if len(e.invars) == 1 else (None,)
        if type(x) is not Var:
            return None
        shape = self.shape(x)
        if name == "transpose" and set(e.params) <= {"axes"}:
            axes = e.params.get("axes")
            perm = list(reversed(range(len(shape)))) if axes is None else \
                [a % len(shape) for a in axes]
            ix = [""] * len(shape)
            for d, p in enumerate(perm):
                ix[p] = f"j{d}"
            return [(x, None if perm == sorted(perm) else ix, None)], same
        if name == "reshape" and set(e.params) <= {"shape", "order"} and \
                e.params.get("order", "C") == "C":
            return [(x, None if shape == out else _reshape_ix(shape, out), None)], same
        if name == "getitem" and set(e.params) == {"index"}:
            return [(x, _basic_ix(e.params["index"], shape, out), None)], same
        return None

    def scalar_expr(self, e: Eqn, ops: list[Any], fmt: Any, group: _Group | None) -> str:
        out = e.outvars[0].aval
        args = [self.ref(x, (_broadcast_ix(self.shape(x), out.shape) if self.shape(x) else [])
                         if ix is None else ix, group, d) for x, ix, d in ops]
        expr = fmt(*args)
        exact = out.dtype == fusion.F8 and e.prim.name != "astype" and all(
            (self.dtype(x) if d is None else np.dtype(d)) == fusion.F8
            for x, _, d in ops[e.prim.name == "where":])
        return expr if exact else f"{_dt(out.dtype)}({expr})"

    def reading(self, st: _Stream, xs: Sequence[Any]) -> None:
        """Close the open groups of `st` that make one of `xs`."""
        for g in list(st.groups.values()):
            if any(type(x) is Var and x.n in g.made for x in xs):
                self.close(st, g)

    def close(self, st: _Stream, g: _Group | None = None) -> None:
        """Emit an open group of `st` (all of them if `g` is None): one loop nest,
        storing the values read outside it into buffers."""
        if g is None:
            for h in list(st.groups.values()):
                self.close(st, h)
            return
        del st.groups[g.shape]
        inner = []
        ix = ", ".join(_js(len(g.shape)))
        for v, expr in g.members:
            inner.append(f"e{v.n} = {expr}")
            inner.extend(self.watch(v, f"e{v.n}"))
            ys = self.ys.get(v.n, []) if st.step else []
            for k in ys:  # a y slice: stored here, not copied at the end of the step
                inner.append(f"y{k}[i, {ix}] = e{v.n}")
                self.stored.add(k)
            if v.n in self.carried or self.users.get(v.n, set()) - g.eqns or \
                    (v.n in self.ys and not ys):
                self.define(v, self.buffer(v.aval.shape, v.aval.dtype, st))
                inner.append(f"{self.name[v.n]}[{ix}] = e{v.n}")
        st.lines.extend(_nest(g.shape, inner))

    def equation(self, st: _Stream, i: int, e: Eqn) -> None:
        ew = self.elementwise(e)
        if ew is None:
            self.reading(st, e.invars)
            if len(e.outvars) != 1 or e.prim.name not in ("matmul", "sum", "scatter_add"):
                raise _Unsupported(e.prim.name)
            st.lines.extend(getattr(self, e.prim.name)(st, e))
            return
        ops, fmt = ew
        v = e.outvars[0]
        _dt(v.aval.dtype)
        for x, _, d in ops:
            _dt(self.dtype(x) if d is None else d)
        shape = v.aval.shape
        if not shape:  # a scalar: a statement
            st.lines.append(f"v{v.n} = {self.scalar_expr(e, ops, fmt, None)}")
            st.lines.extend(self.watch(v, f"v{v.n}"))
            self.define(v, f"v{v.n}")
            return
        self.reading(st, [x for x, ix, _ in ops if ix is not None or self.shape(x) != shape])
        g = st.groups.get(shape)
        if g is not None and len(g.members) >= _MAX_GROUP:
            self.close(st, g)
            g = None
        if g is None:
            g = st.groups[shape] = _Group(shape)
        g.members.append((v, self.scalar_expr(e, ops, fmt, g)))
        g.made.add(v.n)
        g.eqns.add(i)
        self.aval[v.n] = v.aval

    def matmul(self, st: _Stream, e: Eqn) -> list[str]:
        a, b = e.invars
        v = e.outvars[0]
        sa, sb, out = self.shape(a), self.shape(b), v.aval
        if e.params or not (1 <= len(sa) <= 2 and 1 <= len(sb) <= 2) or \
                self.dtype(a) != out.dtype or self.dtype(b) != out.dtype or out.dtype.kind != "f":
            raise _Unsupported("matmul")
        m, k = (1, sa[0]) if len(sa) == 1 else sa
        n = 1 if len(sb) == 1 else sb[1]
        dt = _dt(out.dtype)
        x = lambda *ix: self.ref(a, ix[-len(sa):])  # noqa: E731
        y = lambda *ix: self.ref(b, ix[:len(sb)])  # noqa: E731
        if not out.shape:
            self.define(v, f"v{v.n}")
            return [f"v{v.n} = {dt}(0.0)", f"for p_ in range({k}):",
                    f"    v{v.n} += {x('p_')} * {y('p_')}", *self.watch(v, f"v{v.n}")]
        o = self.buffer(out.shape, out.dtype, st)
        self.define(v, o)
        if len(sa) == len(sb) == 2 and m * k * n > SMALL_MATMUL:
            return [f"np.dot({self.array(a)}, {self.array(b)}, {o})", *self.watch_buffer(v, o)]
        # explicit loops: a BLAS call's overhead dominates for small operands
        oi = "[i_, j_]" if len(out.shape) == 2 else ("[j_]" if len(sb) == 2 else "[i_]")
        rows, d1 = _loop("i_", m, 0)
        zero, d2 = _loop("j_", n, d1)
        over, d3 = _loop("p_", k, d1)
        cols, d4 = _loop("j_", n, d3)
        return [rows, zero, f"{'    ' * d2}{o}{oi} = {dt}(0.0)",
                over, f"{'    ' * d3}a_ = {x('i_', 'p_')}",
                cols, f"{'    ' * d4}{o}{oi} += a_ * {y('p_', 'j_')}", *self.watch_buffer(v, o)]

    def scatter_add(self, st: _Stream, e: Eqn) -> list[str]:
        """`x` with `v` added at a basic index (no index repeats)."""
        x, u = e.invars
        v = e.outvars[0]
        out = v.aval
        if set(e.params) != {"index"} or not out.shape or self.dtype(x) != out.dtype or \
                self.dtype(u) != out.dtype or self.shape(x) != out.shape:
            raise _Unsupported("scatter_add")
        region = np.empty(out.shape, np.bool_)[e.params["index"]].shape
        if len(self.shape(u)) > len(region):
            raise _Unsupported("scatter_add")
        ix = _basic_ix(e.params["index"], out.shape, region)
        o = self.buffer(out.shape, out.dtype, st)
        js = _js(len(out.shape))
        add = self.ref(u, _broadcast_ix(self.shape(u), region)) if self.shape(u) else self.ref(u)
        lines = [*_nest(out.shape, [f"{o}[{', '.join(js)}] = {self.ref(x, js)}"]),
                 *_nest(region, [f"{o}[{', '.join(ix)}] += {add}"]), *self.watch_buffer(v, o)]
        self.define(v, o)
        return lines

    def sum(self, st: _Stream, e: Eqn) -> list[str]:
        (a,) = e.invars
        v = e.outvars[0]
        out = v.aval
        if set(e.params) - {"axis", "keepdims"} or type(a) is not Var or \
                self.dtype(a) != out.dtype or out.dtype.kind != "f":
            raise _Unsupported("sum")
        shape, dt = self.shape(a), _dt(out.dtype)
        x = self.ref(a, _js(len(shape)))
        if not shape:
            self.define(v, x)
            return self.watch(v, x)
        axis = e.params.get("axis")
        axes = set(range(len(shape))) if axis is None else {
            ax % len(shape) for ax in ((axis,) if isinstance(axis, int) else axis)}
        if not out.shape:
            self.define(v, f"v{v.n}")
            return [f"v{v.n} = {dt}(0.0)", *_nest(shape, [f"v{v.n} += {x}"]),
                    *self.watch(v, f"v{v.n}")]
        o = self.buffer(out.shape, out.dtype, st)
        self.define(v, o)
        oix = [("0" if d in axes else f"j{d}") for d in range(len(shape))] \
            if e.params.get("keepdims") else [f"j{d}" for d in range(len(shape)) if d not in axes]
        return [*_nest(out.shape, [f"{o}[{', '.join(_js(len(out.shape)))}] = {dt}(0.0)"]),
                *_nest(shape, [f"{o}[{', '.join(oix)}] += {x}"]), *self.watch_buffer(v, o)]


_RANGE = re.compile(r"range\((\d+)\)")
_MAX_GROUP = 64  # equations per loop nest (Numba's compile time grows with a function)


def loop_source(graph: Graph, nc: int, nk: int, reverse: bool
                ) -> tuple[str, list[Any], list[Any], np.ndarray] | None:
    """Source of `kernel(n, consts, carry, xs, ys, buffers, array constants)`, a
    Numba function running the scan of `graph` ((consts, carry, x slices) ->
    (carry, y slices)) over `n` steps: each step's y slices are written into the
    ys; it returns whether a watched value was ±inf or NaN (`_Codegen.watch`)
    and the carries (arrays updated in place). Also the array
    constants to pass, the (shape, dtype) of the buffers to allocate and the
    array of loop trip counts (`sizes`). None if
    an equation or dtype is outside the supported set."""
    gen = _Codegen(graph, nk)
    ins = graph.invars
    ny = len(graph.outvars) - nk
    pre, step = _Stream(False), _Stream(True)
    try:
        for k, v in enumerate(ins[:nc + nk]):
            gen.define(v, f"a{k}")
        for v, c in zip(graph.constvars, graph.consts, strict=True):
            if np.ndim(c):  # an array constant: an argument
                gen.define(v, gen.ref(np.asarray(c)))
            else:  # a scalar: a typed local
                pre.lines.append(f"v{v.n} = {_literal(c, np.asarray(c).dtype)}")
                gen.define(v, f"v{v.n}")
        invariant = {v.n for v in ins[:nc]} | {v.n for v in graph.constvars}
        for k, v in enumerate(ins[nc + nk:], nc + nk):
            gen.define(v, f"a{k}", ["i"])
        for i, e in enumerate(graph.eqns):
            if all(type(x) is not Var or x.n in invariant for x in e.invars):
                gen.equation(pre, i, e)
                invariant.update(v.n for v in e.outvars)
                continue
            gen.reading(pre, e.invars)
            gen.equation(step, i, e)
        gen.close(pre)
        gen.close(step)
        ends = []
        for k, o in enumerate(graph.outvars[nk:]):
            if k in gen.stored:
                continue
            nd = len(gen.shape(o))
            ends.extend(_nest(gen.shape(o), [f"y{k}[{', '.join(['i', *_js(nd)])}] = "
                                             f"{gen.ref(o, _js(nd))}"]))
        carries = {v.n: f"a{k}" for k, v in enumerate(ins[nc:nc + nk], nc)}
        copies, scalars, swaps = [], [], []
        for o, v in zip(graph.outvars[:nk], ins[nc:nc + nk], strict=True):
            shape = v.aval.shape
            if gen.shape(o) != shape or gen.dtype(o) != v.aval.dtype:
                raise _Unsupported("the carry changes type")
            if type(o) is Var and o.n == v.n:
                continue
            if not shape:
                scalars.append((carries[v.n], gen.ref(o)))
                continue
            ix = _js(len(shape))
            s = gen.ref(o, ix)
            if type(o) is Var and gen.name[o.n] in step.buffers:
                # a buffer this step wrote: it becomes the carry, the carry's
                # buffer the next step's scratch (no copy; same array type)
                step.buffers.discard(gen.name[o.n])
                swaps.append((carries[v.n], gen.name[o.n]))
                continue
            if type(o) is Var and o.n in carries:  # another carry: read before they change
                w = gen.buffer(shape, v.aval.dtype)
                ends.extend(_nest(shape, [f"{w}[{', '.join(ix)}] = {s}"]))
                s = f"{w}[{', '.join(ix)}]"
            copies.extend(_nest(shape, [f"{carries[v.n]}[{', '.join(ix)}] = {s}"]))
        ends.extend(copies)
        ends.extend(f"{c}, {w} = {w}, {c}" for c, w in swaps)
        if scalars:
            ends.append(f"{', '.join(c for c, _ in scalars)}, = "
                        f"{', '.join(s for _, s in scalars)},")
    except _Unsupported:
        return None
    params = ["n", "sizes", *[f"a{k}" for k in range(len(ins))],
              *[f"y{k}" for k in range(ny)], *[f"w{k}" for k in range(len(gen.buffers))],
              *[f"g{k}" for k in range(len(gen.extra))]]
    body = "\n".join(["    nf_ = False", *(f"    {s}" for s in pre.lines),
                      "    for it in range(n):",
                      f"        i = {'n - 1 - it' if reverse else 'it'}",
                      *(f"        {s}" for s in step.lines + ends),
                      f"    return (nf_, {''.join(f'a{k}, ' for k in range(nc, nc + nk))})"])
    # trip counts read from an argument: LLVM fully unrolls loops of a constant
    # count into scalar code before its loop vectorizer could see them (measured:
    # a 1x32 @ 32x32 product per step runs 7x faster with the count unknown)
    # (numbered in order of appearance: bodies of one structure share a kernel)
    sizes = list(dict.fromkeys(int(m) for m in _RANGE.findall(body) if m != "1"))
    body = _RANGE.sub(lambda m: m.group(0) if m.group(1) == "1" else
                      f"range(d{sizes.index(int(m.group(1)))})", body)
    head = [f"def kernel({', '.join(params)}):",
            *(f"    d{k} = sizes[{k}]" for k in range(len(sizes)))]
    return "\n".join([*head, body]), gen.extra, gen.buffers, np.array(sizes, np.int64)


# -- compiling and loading --------------------------------------------------------------

_PRELUDE = "\n".join([
    "import math", "import numpy as np", "from numba import njit",
    "f8, f4, b1 = np.float64, np.float32, np.bool_",
    *(f"_m_{f} = math.{f}" for f in sorted(set(_MATH.values()))),
    *(f"_u_{f} = np.{f}" for f in sorted(fusion.UFUNCS)),
    "",
    "",
    '@njit(error_model="numpy", nogil=True, cache={cache})',
])
_KERNELS: dict[str, Any] = {}  # source -> its Numba dispatcher


def _load(source: str) -> Any:
    """The kernel's Numba dispatcher (compiled at its first call): from a module
    file in `fusion.cache_dir()` (so that Numba keeps its machine code on disk;
    files named by the hash of their source, never rewritten), or from memory."""
    kern = _KERNELS.get(source)
    if kern is not None:
        return kern
    folder = fusion.cache_dir()
    text = _PRELUDE.format(cache=folder is not None) + "\n" + source + "\n"
    if folder is None:
        namespace: dict[str, Any] = {}
        exec(compile(text, "<riesz.loop_kernels>", "exec"), namespace)  # noqa: S102
        kern = namespace["kernel"]
    else:
        name = "riesz_loop_" + hashlib.sha256(text.encode()).hexdigest()[:24]
        file = folder / f"{name}.py"
        if not file.exists():
            tmp = folder / f".{name}.{os.getpid()}.tmp"
            tmp.write_text(text)
            os.replace(tmp, file)  # atomic: a concurrent process sees all of it or nothing
        module = sys.modules.get(name)
        if module is None:
            spec = importlib.util.spec_from_file_location(name, file)
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            sys.modules[name] = module  # Numba's cache reloads the function by module name
        kern = module.kernel
    _KERNELS[source] = kern
    return kern


class LoopKernel:
    """The compiled loop of one staged scan, with its compile policy: `mode`
    True compiles at the next call; None once the Python loop's calls have
    taken `COMPILE_S`, and keeps it only if it measures faster than the Python
    loop (`fusion.Trial`: a kernel calls libm's scalar tanh where NumPy's loops
    may be SIMD, so for large arrays the Python loop can win); False never.
    Called as `kernel(leaves, python_loop)`."""

    __slots__ = ("scan", "mode", "budget", "trial", "kern", "extra", "buffers", "sizes",
                 "ready", "failed", "nonfinite")

    def __init__(self, scan: Any, mode: bool | None):
        self.scan = scan
        self.mode = mode
        self.budget = COMPILE_S
        # the kernel (candidate) against the Python loop while on trial
        self.trial = fusion.Trial() if mode is None else None
        self.kern: Any = None
        self.extra: list[Any] = []
        self.buffers: list[Any] = []
        self.sizes: Any = None
        self.ready = False  # called once (compiled)
        self.failed = False
        self.nonfinite = False  # the last kernel call met ±inf or NaN

    def __call__(self, leaves: Sequence[Any], python_loop: Callable[[Sequence[Any]], Any]
                 ) -> tuple[Any, ...]:
        if self.failed or self.mode is False:
            return python_loop(leaves)
        if self.kern is None and self.mode is None and self.budget > 0:
            t = time.perf_counter()
            out = python_loop(leaves)
            self.budget -= time.perf_counter() - t
            return out
        if self.kern is None:
            scan = self.scan
            made = loop_source(scan.body.graph, scan.nc, scan.nk, scan.reverse)
            if made is None:
                self.failed = True
                return python_loop(leaves)
            source, self.extra, self.buffers, self.sizes = made
            try:
                self.kern = _load(source)
            except Exception:  # noqa: BLE001 - a Numba that cannot load: the Python loop
                self.failed = True
                return python_loop(leaves)
            out = self._run(leaves)  # compiles: not timed
            return self._checked(out, leaves, python_loop)
        if self.trial is not None:
            return self._try(leaves, python_loop)
        return self._checked(self._run(leaves), leaves, python_loop)

    def _checked(self, out: tuple[Any, ...] | None, leaves: Sequence[Any],
                 python_loop: Callable[[Sequence[Any]], Any]) -> tuple[Any, ...]:
        """The kernel's outputs, or the Python loop's where the kernel failed, or
        met ±inf or NaN (then NumPy warns or raises as `np.errstate` says)."""
        if out is None or (self.nonfinite and np.geterr() != fusion.QUIET):
            return python_loop(leaves)
        return out

    def _try(self, leaves: Sequence[Any], python_loop: Callable[[Sequence[Any]], Any]
             ) -> tuple[Any, ...]:
        """One call on trial: the kernel or the Python loop, whichever ran less."""
        trial = self.trial
        assert trial is not None
        k = trial.next()
        t = time.perf_counter()
        out = self._run(leaves) if k else python_loop(leaves)
        if out is None:  # the kernel failed: the Python loop from now on
            return python_loop(leaves)
        won = trial.record(k, time.perf_counter() - t)
        if won is not None:
            self.trial = None
            if not won:
                self.mode = False
        return self._checked(out, leaves, python_loop) if k else out

    def _run(self, leaves: Sequence[Any]) -> tuple[Any, ...] | None:
        scan = self.scan
        nc, nk = scan.nc, scan.nk
        args: list[Any] = []
        for k, x in enumerate(leaves):
            x = np.asarray(x)
            if not x.ndim:
                args.append(x[()])
            elif nc <= k < nc + nk:  # a carry: updated in place
                args.append(np.array(x, order="C"))
            else:
                args.append(np.ascontiguousarray(x))
        ys = [np.empty(a.shape, a.dtype) for a in scan.out_avals[nk:]]
        work = [np.empty(shape, dtype) for shape, dtype in self.buffers]
        try:
            if self.ready:
                carry = self.kern(scan.length, self.sizes, *args, *ys, *work, *self.extra)
            else:  # the first call compiles
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # Numba's notices while it compiles
                    carry = self.kern(scan.length, self.sizes, *args, *ys, *work, *self.extra)
                self.ready = True
        except Exception:  # noqa: BLE001 - a body Numba rejects: the Python loop from now on
            self.failed = True
            return None
        self.nonfinite = bool(carry[0])
        outs = [c if isinstance(c, np.ndarray) else a.dtype.type(c)
                for c, a in zip(carry[1:], scan.out_avals[:nk], strict=True)]
        return (*outs, *ys)


def adopt(graph: Graph, fuse: bool | None) -> None:
    """Give the staged scans among `graph`'s equations the compile policy `fuse`
    (jit's flag): they then run as compiled loops where Numba is installed."""
    if not available():
        return
    for e in graph.eqns:
        fn: Any = e.params.get("fn")
        if not hasattr(fn, "loop_kernel"):
            continue
        if fn.loop_kernel is None:  # (a loop on trial keeps its own measurements)
            fn.loop_kernel = LoopKernel(fn, fuse)
