"""Fusion of elementwise chains for `riesz.jit` (optional: LLVM through llvmlite).

`fuse(graph)` groups connected elementwise equations of one output shape (NumPy
ufuncs of float32 / float64 / bool loops, `where`, casts) into one equation
whose implementation is a compiled kernel: one loop over the flattened elements
doing every operation of the group on scalars, forward and backward pass alike
(`jit(value_and_grad(f))` of an elementwise chain is one kernel). Values used
only inside a group never become arrays; a 16-element chain runs at the cost of
its arithmetic instead of one NumPy call (~1 µs) per operation.

Kernels are LLVM IR written here and compiled by llvmlite (Numba's code
generator, without Numba's Python front end, which cost ~10 ms per operation:
W1's 901 equations took 9.3 s cold with Numba, 0.2 s now). Where glibc's vector
math library (libmvec) and AVX2 are present, a kernel computes four elements per
step with its vector functions (masked loads and stores in the last step);
elsewhere one element with the C library's. A group is capped at `MAX_GROUP`
operations (LLVM's time per operation grows in longer functions), the new
kernels of a graph compile together in modules of `MODULE_OPS` operations, a
graph compiles at most `BUDGET` new operations (the rest runs unfused), kernels
are cached by their IR (the links of an unrolled chain compile once) and their
object code is kept on disk (`cache_dir()`). A kernel is called through ctypes
with a tuple of the arrays themselves: it reads their data pointers, and checks
their class, layout and dtype (the caller passes copies if it refuses).

Semantics are NumPy's: each operation runs in the loop dtype NumPy would pick
(`ufunc.resolve_dtypes`, Python scalars weak), its result is cast to the
equation's dtype, IEEE arithmetic without fast-math, NumPy's special values
(NaN-propagating maximum, sign of ±0, logaddexp's branches); transcendental
functions are the C library's or libmvec's (within 4 ulp), so values agree
with NumPy's to a few units in the last place.
NumPy's floating-point errors are NumPy's own: a kernel ORs together whether
any value it reads or makes is ±inf or NaN (three instructions per value, no
branch), and if so the group runs again as plain NumPy code, which warns or
raises as `np.errstate` says (an all-finite call pays nothing else; the
kernel's values are returned unless NumPy raised). Underflow, which leaves
finite values, is not seen (NumPy's default `errstate` ignores it). Without
llvmlite, `fuse` returns the graph unchanged.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import heapq
import importlib.util
import math
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ._interpreters.staging import Eqn, Graph, Var

__all__ = ["BUDGET", "MAX_GROUP", "available", "cache_dir", "fuse", "tiered"]

MAX_GROUP = 1024  # operations per kernel (LLVM's time per operation grows beyond)
BUDGET = 20_000  # operations compiled afresh per graph; beyond it groups stay unfused
# rough costs for `tiered` (measured on W1 and W5, one loaded core): LLVM per new
# operation, and grouping plus IR writing per operation (new or cached)
COMPILE_S_PER_OP = 1e-4
GROUP_S_PER_OP = 2.5e-5
_TAINT_CAP = 8  # groups tracked exactly per value (older ones are treated as reachable)

# ufuncs that the IR writer has NumPy's scalar loops for (checked against
# NumPy by tests/test_fusion.py over the registry's elementwise primitives)
UFUNCS = frozenset("""
add subtract multiply divide true_divide power maximum minimum negative exp exp2 expm1 log
log2 log10 log1p sqrt cbrt square reciprocal sin cos tan arcsin arccos arctan sinh cosh tanh
arcsinh arccosh arctanh absolute hypot arctan2 logaddexp logaddexp2 fmod sign floor ceil trunc
rint greater greater_equal less less_equal equal not_equal logical_and logical_or logical_xor
logical_not isnan isinf isfinite signbit
""".split())
DTYPE_CODES = {np.dtype(np.float64): "f8", np.dtype(np.float32): "f4", np.dtype(np.bool_): "b1"}
F8 = np.dtype(np.float64)


def available() -> bool:
    """Whether llvmlite is installed (fusion is then on by default); it is
    imported only when a graph is fused."""
    try:
        return importlib.util.find_spec("llvmlite") is not None
    except (ImportError, ValueError):  # an import of llvmlite that failed before
        return False


class _Kernel:
    """Stands in for a `Primitive` in a fused equation (what code generation reads)."""

    __slots__ = ("name", "impl", "kind", "multiple_results", "source")

    def __init__(self, impl: Callable[..., Any], source: str, n_ops: int):
        self.name = f"fused[{n_ops} ops]"
        self.impl = impl
        self.kind = "fused"
        self.multiple_results = True
        self.source = source

    def __repr__(self) -> str:
        return self.name


# -- which equations fuse -----------------------------------------------------------------


def scalar_type(x: Any) -> Any:
    """The dtype NumPy's ufunc resolution sees for input `x` (a Python type if weak)."""
    if type(x) is Var:
        return type(x.aval.dtype.type(0).item()) if x.aval.weak else x.aval.dtype
    if type(x) in (bool, int, float):
        return type(x)
    return np.asarray(x).dtype


_PLANS: dict[Any, Any] = {}  # _plan's answers by what they depend on


def _plan(e: Eqn) -> tuple[tuple[Any, ...], list[Any]] | None:
    """`(shape, loop dtypes of the inputs)` if `e` can run inside a kernel, else None
    (memoised: a long graph repeats a few kinds of equations)."""
    if len(e.outvars) != 1:
        return None
    try:
        o = e.outvars[0].aval
        key = (e.prim, o.shape, o.dtype, tuple(
            (x.aval.shape, x.aval.dtype, x.aval.weak) if type(x) is Var else
            (type(x), getattr(x, "dtype", None), np.ndim(x)) for x in e.invars),
            tuple(e.params.items()) if e.params else ())
        hit = _PLANS.get(key, _PLANS)
    except TypeError:  # an unhashable parameter
        return _plan_of(e)
    if hit is _PLANS:
        if len(_PLANS) > 10_000:  # bounded: shapes vary without end in a long process
            _PLANS.clear()
        hit = _PLANS[key] = _plan_of(e)
    return hit


def _plan_of(e: Eqn) -> tuple[tuple[Any, ...], list[Any]] | None:
    out = e.outvars[0].aval
    if out.dtype not in DTYPE_CODES:
        return None
    for x in e.invars:
        if type(x) is Var:
            a = x.aval
            if (a.shape != out.shape and a.shape) or a.dtype.kind not in "fbiu" or \
                    a.dtype.itemsize > 8 or a.dtype == np.float16 or not a.dtype.isnative:
                return None
        elif type(x) not in (bool, int, float) and not (
                isinstance(x, (np.generic, np.ndarray)) and np.ndim(x) == 0
                and np.asarray(x).dtype in DTYPE_CODES):
            return None
    f, name = e.prim.impl, e.prim.name
    if isinstance(f, np.ufunc):
        if f.nout != 1 or e.params or f.__name__ not in UFUNCS:
            return None
        try:
            loop = f.resolve_dtypes(tuple(scalar_type(x) for x in e.invars) + (None,))
        except (TypeError, ValueError):
            return None
        if any(d not in DTYPE_CODES for d in loop) or not _supported(f.__name__, list(loop)):
            return None
        return out.shape, list(loop[:-1])
    if name == "where" and not e.params and len(e.invars) == 3:
        return out.shape, [np.dtype(np.bool_), out.dtype, out.dtype]
    if name == "astype" and set(e.params) == {"dtype"} and len(e.invars) == 1:
        return out.shape, [None]
    return None


# -- grouping -----------------------------------------------------------------------------


def _taint_union(a: tuple[int, frozenset[int]], b: tuple[int, frozenset[int]]
                 ) -> tuple[int, frozenset[int]]:
    """Sets of groups `(floor, ids)`: every group with id < floor, and `ids`."""
    if b is _NO_TAINT or a is b:
        return a
    if a is _NO_TAINT:
        return b
    if a[0] >= b[0] and (b[1] <= a[1] or all(g < a[0] or g in a[1] for g in b[1])):
        return a  # b within a: no new set
    floor = max(a[0], b[0])
    ids = frozenset(g for g in a[1] | b[1] if g >= floor)
    if len(ids) > _TAINT_CAP:
        floor = sorted(ids)[-_TAINT_CAP]
        ids = frozenset(g for g in ids if g >= floor)
    return floor, ids


_NO_TAINT: tuple[int, frozenset[int]] = (0, frozenset())


def _groups(graph: Graph) -> tuple[list[int], list[list[Any]]]:
    """Assign each equation a group (or -1), one forward sweep.

    An equation joins a group of its shape (a producer's, or the latest one)
    unless that would make a cycle: `taint[v]` holds the groups from which a
    path to `v` leaves the group, and an equation reading such a value cannot
    join that group (the group would have to run both before and after it).
    A group runs as one unit after the inputs of all its members, so a value
    made in a group carries the group's taint (`gtaint`, kept up to date as
    members join), not only that of its own inputs."""
    eqns = graph.eqns
    group_of = [-1] * len(eqns)
    producer: dict[int, int] = {}  # var -> equation index
    taint: dict[int, tuple[int, frozenset[int]]] = {}
    sizes: list[int] = []
    plans: list[Any] = [None] * len(eqns)
    latest: dict[tuple[int, ...], int] = {}
    first: list[int] = []  # each group's first equation
    gtaint: list[tuple[int, frozenset[int]]] = []  # per group: the union over its members
    for i, e in enumerate(eqns):
        t_in = _NO_TAINT
        direct: set[int] = set()
        for x in e.invars:
            if type(x) is not Var:
                continue
            p = producer.get(x.n)
            if p is not None and group_of[p] >= 0:  # a group runs after all its inputs
                direct.add(group_of[p])
                t = gtaint[group_of[p]]
            else:
                t = taint.get(x.n, _NO_TAINT)
            if t is not _NO_TAINT:
                t_in = _taint_union(t_in, t)
        plan = _plan(e)
        g = -1
        if plan is not None:
            plans[i] = plan
            shape = plan[0]
            cands = [group_of[producer[x.n]] for x in e.invars
                     if type(x) is Var and x.n in producer and group_of[producer[x.n]] >= 0]
            if shape in latest:
                cands.append(latest[shape])
            for c in cands:
                if (sizes[c] < MAX_GROUP and c >= t_in[0] and c not in t_in[1]
                        and plans[first[c]][0] == shape):
                    g = c
                    break
            if g < 0:
                g = len(sizes)
                sizes.append(0)
                first.append(i)
                gtaint.append(_NO_TAINT)
                latest[shape] = g
            sizes[g] += 1
        group_of[i] = g
        leaving = frozenset(d for d in direct if d != g)
        if leaving:
            t_in = _taint_union(t_in, (0, leaving))
        if g >= 0:
            gtaint[g] = _taint_union(gtaint[g], t_in)
        for v in e.outvars:
            producer[v.n] = i
            if g < 0 and t_in != _NO_TAINT:
                taint[v.n] = t_in
    return group_of, plans


# -- kernels: LLVM IR -------------------------------------------------------------------

_LL = {np.dtype(np.float64): "double", np.dtype(np.float32): "float", np.dtype(np.bool_): "i1"}
_B1 = np.dtype(np.bool_)
# LLVM intrinsics (lowered to instructions or to the C library's function)
_INTRINSIC = {"exp": "exp", "exp2": "exp2", "log": "log", "log2": "log2", "log10": "log10",
              "sqrt": "sqrt", "sin": "sin", "cos": "cos", "absolute": "fabs", "floor": "floor",
              "ceil": "ceil", "trunc": "trunc", "rint": "rint", "power": "pow"}
# the C library's functions (`f` suffix in float32), as NumPy's loops call them
_LIBM = {"expm1": "expm1", "log1p": "log1p", "cbrt": "cbrt", "tan": "tan", "arcsin": "asin",
         "arccos": "acos", "arctan": "atan", "sinh": "sinh", "cosh": "cosh", "tanh": "tanh",
         "arcsinh": "asinh", "arccosh": "acosh", "arctanh": "atanh", "hypot": "hypot",
         "arctan2": "atan2"}
# intrinsics that LLVM would split into scalar calls on vectors: libmvec's instead
_LIBM_TOO = frozenset({"exp", "exp2", "log", "log2", "log10", "sin", "cos", "power"})
_ARITH = {"add": "fadd", "subtract": "fsub", "multiply": "fmul", "divide": "fdiv",
          "true_divide": "fdiv", "fmod": "frem"}
_CMP = {"greater": "ogt", "greater_equal": "oge", "less": "olt", "less_equal": "ole",
        "equal": "oeq", "not_equal": "une"}
_PREDICATES = frozenset(_CMP) | {"logical_and", "logical_or", "logical_xor", "logical_not",
                                 "isnan", "isinf", "isfinite", "signbit"}
# NumPy's boolean loops (`??->?`, `?->?`) as logic on i1
_BOOL = {"add": "or {T} {0}, {1}", "maximum": "or {T} {0}, {1}", "logical_or": "or {T} {0}, {1}",
         "multiply": "and {T} {0}, {1}", "minimum": "and {T} {0}, {1}",
         "logical_and": "and {T} {0}, {1}", "logical_xor": "xor {T} {0}, {1}",
         "not_equal": "xor {T} {0}, {1}",
         "equal": "icmp eq {T} {0}, {1}", "greater": "icmp ugt {T} {0}, {1}",
         "greater_equal": "icmp uge {T} {0}, {1}", "less": "icmp ult {T} {0}, {1}",
         "less_equal": "icmp ule {T} {0}, {1}", "logical_not": "xor {T} {0}, {ONE}",
         "absolute": None, "floor": None, "ceil": None, "trunc": None,
         "isnan": "false", "isinf": "false", "isfinite": "true"}
_LN2, _LOG2E = 0.693147180559945309417232121458176568, 1.442695040888963407359924681001892137
# PyArrayObject's fields that a kernel reads (NumPy's public struct; checked by `_abi_ok`)
_DATA_AT, _DESCR_AT, _FLAGS_AT = 16, 56, 64
_ITEMS_AT = 24  # PyTupleObject's first item
_BYTEORDER_AT, _TYPE_NUM_AT = 26, 28  # in PyArray_Descr
_SWAPPED = ord(">" if sys.byteorder == "little" else "<")  # a non-native dtype's byteorder
_READY = 0x1 | 0x100  # NPY_ARRAY_C_CONTIGUOUS | NPY_ARRAY_ALIGNED


def weak_dtype(a: Any) -> np.dtype[Any]:
    """The dtype a kernel sees for an input (a weak Python scalar arrives as int64 /
    float64 / bool)."""
    return np.dtype(type(a.dtype.type(0).item())) if a.weak else a.dtype


def _supported(name: str, loop: list[Any]) -> bool:
    """Whether the IR writer has NumPy's loop `name` for these loop dtypes."""
    if loop and loop[0] == _B1:
        return name in _BOOL and all(d == _B1 for d in loop)
    return True


def _const(v: Any, dtype: np.dtype[Any]) -> str:
    """An LLVM constant of `dtype` (exact: floats as the bits of a double)."""
    if dtype == _B1:
        return "true" if bool(v) else "false"
    if dtype.kind in "iu":
        return str(int(v))
    return f"0x{np.float64(np.asarray(v).astype(dtype)).view(np.uint64):016X}"


def _int_ll(dtype: np.dtype[Any]) -> str:
    return "i1" if dtype == _B1 else f"i{8 * dtype.itemsize}"


def _ll(dtype: np.dtype[Any]) -> str:
    return _LL.get(dtype) or _int_ll(dtype)


class _Writer:
    """The body of one kernel: SSA lines, fresh names, the functions it declares;
    values are vectors of `lanes` elements (scalars when `lanes == 1`)."""

    def __init__(self, lanes: int) -> None:
        self.lines: list[str] = []
        self.count = 0
        self.decls: set[str] = set()
        self.lanes = lanes
        self.seen = ""  # the OR of `watch`'s flags in this step so far

    def watch(self, v: str, dtype: np.dtype[Any]) -> None:
        """OR `v is ±inf or NaN` into `seen` (floats only): the kernel's report
        that NumPy's floating-point error checks must run (`_wrapper`)."""
        if dtype.kind == "f":
            m = self.intrinsic("fabs", dtype, v)
            f = self.emit(f"fcmp uge {self.ty(dtype)} {m}, {self.const(np.inf, dtype)}")
            self.seen = self.emit(f"or {self.ty(_B1)} {self.seen}, {f}") if self.seen else f

    def emit(self, rhs: str) -> str:
        r = f"%t{self.count}"
        self.count += 1
        self.lines.append(f"  {r} = {rhs}")
        return r

    def ty(self, dtype: np.dtype[Any], bits: int = 0) -> str:
        """The LLVM type of a value of `dtype` (or of a `bits`-bit integer)."""
        base = f"i{bits}" if bits else _ll(dtype)
        return base if self.lanes == 1 else f"<{self.lanes} x {base}>"

    def const(self, v: Any, dtype: np.dtype[Any]) -> str:
        c = _const(v, dtype)
        if self.lanes == 1:
            return c
        return "<" + ", ".join([f"{_ll(dtype)} {c}"] * self.lanes) + ">"

    def splat(self, v: str, dtype: np.dtype[Any]) -> str:
        """A scalar broadcast to every lane."""
        if self.lanes == 1:
            return v
        one = self.emit(f"insertelement {self.ty(dtype)} poison, {_ll(dtype)} {v}, i64 0")
        return self.emit(f"shufflevector {self.ty(dtype)} {one}, {self.ty(dtype)} poison, "
                         f"<{self.lanes} x i32> zeroinitializer")

    def mask(self) -> list[str]:
        """Lines defining `%mask`: the lanes below n (all of them but in the last step)."""
        if self.lanes == 1:
            return []
        v = f"<{self.lanes} x i64>"
        iota = ", ".join(f"i64 {k}" for k in range(self.lanes))
        return ["  %rem = sub i64 %n, %i",
                f"  %rem1 = insertelement {v} poison, i64 %rem, i64 0",
                f"  %remv = shufflevector {v} %rem1, {v} poison, "
                f"<{self.lanes} x i32> zeroinitializer",
                f"  %mask = icmp ult {v} <{iota}>, %remv"]

    def _masked(self, st: str) -> str:
        return f"v{self.lanes}{'f' if st in ('double', 'float') else 'i'}" \
            f"{ {'double': 64, 'float': 32}.get(st, st[1:])}.p0"

    def load(self, st: str, ptr: str, align: int) -> str:
        """The right-hand side loading a value of storage type `st` (masked vector)."""
        if self.lanes == 1:
            return f"load {st}, ptr {ptr}, align {align}"
        vt, fn = f"<{self.lanes} x {st}>", f"llvm.masked.load.{self._masked(st)}"
        self.decls.add(f"declare {vt} @{fn}(ptr, i32, <{self.lanes} x i1>, {vt})")
        return f"call {vt} @{fn}(ptr {ptr}, i32 {align}, <{self.lanes} x i1> %mask, " \
            f"{vt} zeroinitializer)"

    def store(self, st: str, v: str, ptr: str, align: int) -> str:
        if self.lanes == 1:
            return f"store {st} {v}, ptr {ptr}, align {align}"
        vt, fn = f"<{self.lanes} x {st}>", f"llvm.masked.store.{self._masked(st)}"
        self.decls.add(f"declare void @{fn}({vt}, ptr, i32, <{self.lanes} x i1>)")
        return f"call void @{fn}({vt} {v}, ptr {ptr}, i32 {align}, <{self.lanes} x i1> %mask)"

    def call(self, fn: str, ty: str, *args: str) -> str:
        self.decls.add(f"declare {ty} @{fn}({', '.join([ty] * len(args))})")
        return self.emit(f"call {ty} @{fn}({', '.join(f'{ty} {a}' for a in args)})")

    def intrinsic(self, name: str, dtype: np.dtype[Any], *args: str) -> str:
        vec = f"v{self.lanes}" if self.lanes > 1 else ""
        return self.call(f"llvm.{name}.{vec}f{8 * dtype.itemsize}", self.ty(dtype), *args)

    def libm(self, name: str, dtype: np.dtype[Any], *args: str) -> str:
        """The C library's `name` (glibc's libmvec vector variant on vectors:
        AVX2 for float64, SSE for float32, four lanes each)."""
        f = name if dtype == F8 else name + "f"
        if self.lanes > 1:
            f = f"_ZGV{'d' if dtype == F8 else 'b'}N{self.lanes}{'v' * len(args)}_{f}"
        return self.call(f, self.ty(dtype), *args)

    def cast(self, v: str, src: np.dtype[Any], dst: np.dtype[Any]) -> str:
        """`dst(v)` with NumPy's casting (float -> bool: nonzero, NaN is True)."""
        if src == dst:
            return v
        s, d = self.ty(src), self.ty(dst)
        if dst == _B1:
            return self.emit(f"{'fcmp une' if src.kind == 'f' else 'icmp ne'} {s} {v}, "
                             "zeroinitializer")
        if src.kind == "f":
            return self.emit(f"{'fpext' if src.itemsize < dst.itemsize else 'fptrunc'} "
                             f"{s} {v} to {d}")
        return self.emit(f"{'sitofp' if src.kind == 'i' else 'uitofp'} {s} {v} to {d}")

    def op(self, name: str, a: list[str], dtype: np.dtype[Any]) -> str:
        """NumPy's loop `name` on values of loop dtype `dtype`."""
        t = self.ty(dtype)
        if dtype == _B1:
            form = _BOOL[name]
            if form is None:  # identity
                return a[0]
            if form in ("true", "false"):
                return self.const(form == "true", _B1)
            return self.emit(form.format(*a, T=t, ONE=self.const(True, _B1)))
        zero = "zeroinitializer"
        if name in _ARITH:
            return self.emit(f"{_ARITH[name]} {t} {a[0]}, {a[1]}")
        if name in _CMP:
            return self.emit(f"fcmp {_CMP[name]} {t} {a[0]}, {a[1]}")
        if name in _INTRINSIC and (self.lanes == 1 or name not in _LIBM_TOO):
            return self.intrinsic(_INTRINSIC[name], dtype, *a)
        if name in _LIBM or name in _LIBM_TOO:
            return self.libm(_LIBM.get(name) or _INTRINSIC[name], dtype, *a)
        if name == "negative":
            return self.emit(f"fneg {t} {a[0]}")
        if name == "square":
            return self.emit(f"fmul {t} {a[0]}, {a[0]}")
        if name == "reciprocal":
            return self.emit(f"fdiv {t} {self.const(1.0, dtype)}, {a[0]}")
        b = self.ty(_B1)
        if name in ("maximum", "minimum"):  # NumPy: NaN wins, else `a > b ? a : b`
            gt = self.emit(f"fcmp {'ogt' if name == 'maximum' else 'olt'} {t} {a[0]}, {a[1]}")
            nan = self.emit(f"fcmp uno {t} {a[0]}, {zero}")
            first = self.emit(f"or {b} {gt}, {nan}")
            return self.emit(f"select {b} {first}, {t} {a[0]}, {t} {a[1]}")
        if name == "sign":  # +1, -1, +0 for ±0, NaN for NaN
            gt = self.emit(f"fcmp ogt {t} {a[0]}, {zero}")
            lt = self.emit(f"fcmp olt {t} {a[0]}, {zero}")
            z = self.emit(f"fcmp oeq {t} {a[0]}, {zero}")
            r = self.emit(f"select {b} {z}, {t} {zero}, {t} {a[0]}")
            r = self.emit(f"select {b} {lt}, {t} {self.const(-1.0, dtype)}, {t} {r}")
            return self.emit(f"select {b} {gt}, {t} {self.const(1.0, dtype)}, {t} {r}")
        if name in ("logical_and", "logical_or", "logical_xor"):
            p, q = (self.emit(f"fcmp une {t} {x}, {zero}") for x in a)
            return self.emit(f"{name[8:]} {b} {p}, {q}")
        if name == "logical_not":
            return self.emit(f"fcmp oeq {t} {a[0]}, {zero}")
        if name == "isnan":
            return self.emit(f"fcmp uno {t} {a[0]}, {zero}")
        if name in ("isinf", "isfinite"):
            m = self.intrinsic("fabs", dtype, a[0])
            inf = self.const(np.inf, dtype)
            return self.emit(f"fcmp {'oeq' if name == 'isinf' else 'olt'} {t} {m}, {inf}")
        if name == "signbit":
            i = self.ty(dtype, 8 * dtype.itemsize)
            bits = self.emit(f"bitcast {t} {a[0]} to {i}")
            return self.emit(f"icmp slt {i} {bits}, {zero}")
        if name in ("logaddexp", "logaddexp2"):  # npy_logaddexp(2)
            two = name == "logaddexp2"
            d = self.emit(f"fsub {t} {a[0]}, {a[1]}")
            m = self.emit(f"select {b} {self.emit(f'fcmp ogt {t} {d}, {zero}')}, "
                          f"{t} {a[0]}, {t} {a[1]}")
            nd = self.emit(f"fneg {t} {self.intrinsic('fabs', dtype, d)}")
            lp = self.libm("log1p", dtype, self.op("exp2" if two else "exp", [nd], dtype))
            if two:
                lp = self.emit(f"fmul {t} {lp}, {self.const(_LOG2E, dtype)}")
            r = self.emit(f"fadd {t} {m}, {lp}")
            r = self.emit(f"select {b} {self.emit(f'fcmp uno {t} {d}, {zero}')}, "
                          f"{t} {d}, {t} {r}")
            same = self.emit(f"fadd {t} {a[0]}, {self.const(1.0 if two else _LN2, dtype)}")
            return self.emit(f"select {b} {self.emit(f'fcmp oeq {t} {a[0]}, {a[1]}')}, "
                             f"{t} {same}, {t} {r}")
        raise NotImplementedError(name)  # pragma: no cover - UFUNCS lists what is written


# ufuncs whose result is ±inf or NaN whenever an operand is (a value read only by
# these need not be watched: the result is); exp, divide, power, tanh, ... can hide one
_SPREADING = frozenset("""
add subtract multiply negative absolute square sqrt cbrt log log2 log10 log1p sin cos tan
arcsin arccos arctanh sinh cosh arcsinh arccosh floor ceil trunc rint hypot
""".split())


def spreads(e: Eqn) -> bool:
    """Whether `e`'s result is non-finite whenever one of its float inputs is."""
    if isinstance(e.prim.impl, np.ufunc):
        return e.prim.impl.__name__ in _SPREADING and e.outvars[0].aval.dtype.kind == "f"
    return e.prim.name == "astype" and e.outvars[0].aval.dtype.kind == "f"


def _kernel_ir(eqns: list[Eqn], plans: list[Any], ins: list[Var], outs: list[Var],
               lanes: int) -> tuple[str, set[str], str]:
    """A group's kernel as an LLVM function `@KERNEL` (its text, the functions it
    declares, and its argument kinds: `a` an array, `f` a float or bool scalar
    passed as a double, `i` / `u` an integer scalar passed as int64 / uint64,
    `o` an output buffer).

    `i32 KERNEL(ptr ndarray_type, i64 n, inputs..., one (k, n) buffer per output
    dtype)`: one loop over the n elements, `lanes` at a time (masked loads and
    stores in the last, partial step); arrays arrive as the
    `PyArrayObject*` whose data it reads, and it returns 1 (writing nothing)
    unless each is a C-contiguous aligned native ndarray of its dtype (the
    caller then passes copies)."""
    w = _Writer(lanes)
    params = ["ptr %ty", "i64 %n", "ptr %objs"]
    slots = 0  # arrays and output buffers: items of the tuple `objs`
    kinds: list[str] = []
    entry: list[str] = []
    nums: list[str] = []  # the array inputs' NumPy type numbers
    lazy: dict[int, list[str]] = {}  # an input array's load, emitted before its first use
    val: dict[int, tuple[str, np.dtype[Any]]] = {}
    for k, v in enumerate(ins):
        dt = weak_dtype(v.aval)
        if v.aval.shape:
            kinds.append("a")
            item = f"getelementptr i8, ptr %objs, i64 {_ITEMS_AT + 8 * slots}"
            slots += 1
            nums.append(str(dt.num))
            st = "i8" if dt == _B1 else _ll(dt)
            # loaded where first used, and the data pointer read again there: values
            # and pointers kept in registers across the loop body's calls cost LLVM's
            # register allocation much time (loads at the top: ~2x the compile time)
            raw = f"%e{k}r" if dt == _B1 else f"%e{k}"
            lazy[v.n] = [f"  %e{k}o = {item}", f"  %e{k}b = load ptr, ptr %e{k}o",
                         f"  %e{k}d = getelementptr i8, ptr %e{k}b, i64 {_DATA_AT}",
                         f"  %e{k}a = load ptr, ptr %e{k}d",
                         f"  %e{k}p = getelementptr {st}, ptr %e{k}a, i64 %i",
                         f"  {raw} = {w.load(st, f'%e{k}p', dt.itemsize)}"]
            if dt == _B1:
                lazy[v.n].append(f"  %e{k} = icmp ne {w.ty(dt, 8)} {raw}, zeroinitializer")
            val[v.n] = (f"%e{k}", dt)
        elif dt.kind in "fb":
            kinds.append("f")
            params.append(f"double %x{k}")
            w.lanes, s = 1, w.cast(f"%x{k}", F8, dt)
            w.lanes = lanes
            val[v.n] = (w.splat(s, dt), dt)
        else:
            kinds.append(dt.kind)
            params.append(f"i64 %x{k}")
            dt = np.dtype(np.int64 if dt.kind == "i" else np.uint64)
            val[v.n] = (w.splat(f"%x{k}", dt), dt)
    hoisted, w.lines = w.lines, []
    # the values watched: those stored, and those read by an operation that can hide
    # an infinity or a NaN (exp(-inf) = 0); any other value's reaches one of them
    need = {o.n for o in outs} | {
        x.n for e in eqns if not spreads(e) for x in e.invars if type(x) is Var}
    for v in ins:  # scalar inputs (re-checked each step: a few instructions)
        if not v.aval.shape and v.n in need:
            w.watch(*val[v.n])
    # each output is stored as soon as it is made (short live ranges: LLVM's register
    # allocation slows down sharply with many values live across the libm calls)
    rows: dict[Any, int] = {}
    store_at: dict[int, int] = {}
    for q, o in enumerate(outs):
        store_at[o.n] = q
    counts: dict[Any, int] = {}
    last: dict[int, int] = {}  # per buffer: the output stored last

    def store(q: int, o: Var) -> None:
        d = o.aval.dtype
        j = rows.setdefault(d, len(rows))
        r = counts.get(d, 0)
        counts[d] = r + 1
        st = "i8" if d == _B1 else _ll(d)
        s, _ = val[o.n]
        if d == _B1:
            w.lines.append(f"  %z{q} = zext {w.ty(_B1)} {s} to {w.ty(d, 8)}")
            s = f"%z{q}"
        # row r's address is the previous row's plus n (not a loop invariant r * n that
        # LLVM would hoist and keep in a register per output)
        prev = f"%o{j}" if r == 0 else f"%q{last[j]}p"
        w.lines.extend([f"  %q{q}p = getelementptr {st}, ptr {prev}, i64 "
                        f"{'%i' if r == 0 else '%n'}",
                        f"  {w.store(st, s, f'%q{q}p', d.itemsize)}"])
        last[j] = q

    for e, (_, loop) in zip(eqns, plans, strict=True):
        args = []
        for x, d in zip(e.invars, loop, strict=True):
            if type(x) is Var:
                if x.n in lazy:
                    w.lines.extend(lazy.pop(x.n))
                    if x.n in need:
                        w.watch(*val[x.n])
                s, src = val[x.n]
                args.append(s if d is None or d == src else w.cast(s, src, d))
                if d is not None and d != src:
                    w.watch(args[-1], d)
            else:
                args.append(w.const(x, d if d is not None else np.asarray(x).dtype))
        o = e.outvars[0]
        out = o.aval.dtype
        name = e.prim.impl.__name__ if isinstance(e.prim.impl, np.ufunc) else e.prim.name
        if name == "where":
            r, rd = w.emit(f"select {w.ty(_B1)} {args[0]}, {w.ty(loop[1])} {args[1]}, "
                           f"{w.ty(loop[1])} {args[2]}"), loop[1]
        elif name == "astype":
            x = e.invars[0]
            r, rd = args[0], val[x.n][1] if type(x) is Var else np.asarray(x).dtype
        else:
            r = w.op(name, args, loop[0])
            rd = _B1 if name in _PREDICATES else loop[0]
        if rd != out and out.kind != "f":
            w.watch(r, rd)
        val[o.n] = (w.cast(r, rd, out), out)
        if o.n in need:
            w.watch(*val[o.n])
        if o.n in store_at:
            store(store_at[o.n], o)
    t1 = w.ty(_B1)
    seen = w.seen or w.const(False, _B1)  # nothing watched: booleans only
    if lanes > 1:
        seen = w.emit(f"and {t1} {seen}, %mask")  # the lanes < n only
    step = w.emit(f"or {t1} %nf, {seen}")  # and the earlier steps'
    body, w.lines = w.lines, []
    any_nf = ["  %nfany = bitcast i1 %nfd to i1"] if lanes == 1 else [
        f"  %nfany = call i1 @llvm.vector.reduce.or.v{lanes}i1({t1} %nfd)"]
    if lanes > 1:
        w.decls.add(f"declare i1 @llvm.vector.reduce.or.v{lanes}i1({t1})")
    for j in rows.values():
        kinds.append("o")
        entry += [f"  %o{j}b = getelementptr i8, ptr %objs, i64 {_ITEMS_AT + 8 * (slots + j)}",
                  f"  %o{j}p = load ptr, ptr %o{j}b",
                  f"  %o{j}d = getelementptr i8, ptr %o{j}p, i64 {_DATA_AT}",
                  f"  %o{j} = load ptr, ptr %o{j}d"]
    # the checks of the array inputs: a loop over them (straight-line checks of
    # hundreds of inputs cost LLVM more than the loop body)
    nt = f"[{len(nums)} x i32]"
    check = [] if not nums else [
        "  br label %chk", "chk:", "  %c = phi i64 [0, %entry], [%cnext, %chkok]",
        f"  %cend = icmp eq i64 %c, {len(nums)}", "  br i1 %cend, label %start, label %chkty",
        "chkty:", f"  %cop = getelementptr ptr, ptr %objs, i64 {_ITEMS_AT // 8}",
        "  %coi = getelementptr ptr, ptr %cop, i64 %c", "  %co = load ptr, ptr %coi",
        "  %ctyp = getelementptr i8, ptr %co, i64 8", "  %cty = load ptr, ptr %ctyp",
        "  %okt = icmp eq ptr %cty, %ty", "  br i1 %okt, label %chkf, label %bad", "chkf:",
        f"  %cfp = getelementptr i8, ptr %co, i64 {_FLAGS_AT}", "  %cf = load i32, ptr %cfp",
        f"  %cfr = and i32 %cf, {_READY}", f"  %okf = icmp eq i32 %cfr, {_READY}",
        f"  %csp = getelementptr i8, ptr %co, i64 {_DESCR_AT}", "  %cs = load ptr, ptr %csp",
        f"  %cnp = getelementptr i8, ptr %cs, i64 {_TYPE_NUM_AT}", "  %cn = load i32, ptr %cnp",
        f"  %cwp = getelementptr {nt}, ptr @KERNEL.nums, i64 0, i64 %c",
        "  %cw = load i32, ptr %cwp", "  %okn = icmp eq i32 %cn, %cw",
        f"  %cbp = getelementptr i8, ptr %cs, i64 {_BYTEORDER_AT}", "  %cb = load i8, ptr %cbp",
        f"  %okb = icmp ne i8 %cb, {_SWAPPED}", "  %ok1 = and i1 %okf, %okn",
        "  %ok = and i1 %ok1, %okb", "  br i1 %ok, label %chkok, label %bad", "chkok:",
        "  %cnext = add i64 %c, 1", "  br label %chk"]
    lines = ([f"@KERNEL.nums = private constant {nt} [{', '.join('i32 ' + x for x in nums)}]"]
             if nums else []) + [
             f"define i32 @KERNEL({', '.join(params)}) {{", "entry:", *entry,
             *(check or ["  br label %start"]), "bad:", "  ret i32 1", "start:",
             *hoisted, "  %empty = icmp sle i64 %n, 0",
             "  br i1 %empty, label %done, label %loop", "loop:",
             "  %i = phi i64 [0, %start], [%inext, %loop]",
             f"  %nf = phi {t1} [zeroinitializer, %start], [{step}, %loop]", *w.mask(), *body,
             f"  %inext = add nuw nsw i64 %i, {lanes}", "  %end = icmp sge i64 %inext, %n",
             "  br i1 %end, label %done, label %loop", "done:",
             f"  %nfd = phi {t1} [zeroinitializer, %start], [{step}, %loop]", *any_nf,
             "  %rc = select i1 %nfany, i32 2, i32 0", "  ret i32 %rc", "}"]
    return "\n".join(lines), w.decls, "".join(kinds)


# -- compiling: one LLVM module per batch of new kernels, machine code cached on disk ------

_CACHE: dict[str, Callable[..., Any] | None] = {}  # kernel IR -> ctypes function (None: failed)
_NOGIL: dict[str, Callable[..., Any]] = {}  # the same kernels, called without the GIL
NOGIL_SIZE = 1 << 14  # elements from which a kernel releases the GIL
_ENGINES: list[Any] = []  # the execution engines, alive as long as their kernels
_LOCK = threading.Lock()
_STATS = {"compiled": 0, "loaded": 0}  # modules compiled / read from the disk cache
MODULE_OPS = 4096  # operations per LLVM module (one engine, one object file)
_LLVM: dict[str, Any] = {}


def _target() -> Any:
    """The host's target machine (initialised once): codegen at -O2 from IR that
    is already simplified (the graph passes ran CSE, DCE and folding)."""
    if "tm" not in _LLVM:
        import llvmlite.binding as llvm

        llvm.initialize_native_target()
        llvm.initialize_native_asmprinter()
        cpu, features = llvm.get_host_cpu_name(), llvm.get_host_cpu_features().flatten()
        _LLVM["tm"] = llvm.Target.from_default_triple().create_target_machine(
            cpu=cpu, features=features, opt=2, jit=True)
        _LLVM["lanes"] = 1
        mvec = ctypes.util.find_library("mvec") if sys.platform == "linux" else None
        if mvec and "+avx2" in features.split(",") and os.environ.get("RIESZ_LANES") != "1":
            try:
                llvm.load_library_permanently(mvec)
                _LLVM["lanes"] = 4  # glibc's vector math (AVX2 / SSE variants)
            except RuntimeError:
                pass
        _LLVM["llvm"] = llvm
        _LLVM["key"] = f"{llvm.llvm_version_info}|{cpu}|{features}|{sys.platform}"
    return _LLVM["tm"]


def _abi_ok() -> bool:
    """Whether this NumPy lays out arrays and dtypes as the kernels read them."""
    if "abi" not in _LLVM:
        if sys.implementation.name != "cpython" or sys.maxsize < 2**32:
            _LLVM["abi"] = False  # id() is an address, objects as laid out here: 64-bit CPython
            return False
        a = np.arange(6.0)
        b = a[::2].astype(">f4")[::-1]
        ok = True
        for x in (a, b, a.reshape(2, 3).T):
            base = id(x)
            d = id(x.dtype)
            ok &= ctypes.c_void_p.from_address(base + _DATA_AT).value == x.ctypes.data
            ok &= ctypes.c_void_p.from_address(base + _DESCR_AT).value == d
            ok &= ctypes.c_int32.from_address(base + _FLAGS_AT).value == x.flags.num
            ok &= ctypes.c_int32.from_address(d + _TYPE_NUM_AT).value == x.dtype.num
            ok &= chr(ctypes.c_char.from_address(d + _BYTEORDER_AT).value[0]) == \
                x.dtype.byteorder
        t = (a, b)
        ok &= ctypes.c_void_p.from_address(id(t) + _ITEMS_AT + 8).value == id(b)
        _LLVM["abi"] = bool(ok)
    return bool(_LLVM["abi"])


def cache_dir() -> Path | None:
    """Where compiled kernels persist across processes: `$RIESZ_CACHE_DIR`, else
    `~/.cache/riesz`; None (compile in memory only) if it cannot be written or
    `RIESZ_CACHE_DIR` is empty. Object files are named by the hash of their
    module's IR, LLVM's version and the host CPU (never rewritten)."""
    env = os.environ.get("RIESZ_CACHE_DIR")
    if env == "":
        return None
    root = Path(env) if env else Path.home() / ".cache" / "riesz"
    path = root / "fusion"
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return path if os.access(path, os.W_OK) else None


_CTYPES = {"f": ctypes.c_double, "i": ctypes.c_int64,
           "u": ctypes.c_uint64}
_MAX_ARGS = 200  # scalar arguments of a kernel (ctypes takes 1024; arrays come in a tuple)


def _module(batch: list[tuple[str, set[str], str]]) -> None:
    """Compile `batch` (kernel IR, declarations, argument kinds) as one LLVM
    module into `_CACHE`; its object code is read from / written to `cache_dir()`,
    named by the hash of the module's text and the host CPU."""
    llvm = _LLVM["llvm"]
    names = ["k" + hashlib.sha256(ir.encode()).hexdigest()[:24] for ir, _, _ in batch]
    decls = sorted(set().union(*(d for _, d, _ in batch)))
    text = "\n".join(decls + [ir.replace("@KERNEL", f"@{name}")
                              for (ir, _, _), name in zip(batch, names, strict=True)])
    digest = hashlib.sha256((_LLVM["key"] + "\n" + text).encode()).hexdigest()[:32]
    folder = cache_dir()
    engine = llvm.create_mcjit_compiler(llvm.parse_assembly(text), _target())
    if folder is not None:
        file = folder / f"riesz_kernels_{digest}.o"
        found = [False]

        def getbuffer(_: Any) -> bytes | None:
            try:
                data = file.read_bytes()
            except OSError:
                return None
            found[0] = True
            return data

        def notify(_: Any, buffer: bytes) -> None:
            tmp = folder / f".{file.name}.{os.getpid()}.tmp"
            try:
                tmp.write_bytes(buffer)
                os.replace(tmp, file)  # atomic: a concurrent process sees all or nothing
            except OSError:
                pass

        engine.set_object_cache(notify, getbuffer)
    engine.finalize_object()
    _STATS["loaded" if folder is not None and found[0] else "compiled"] += 1
    _ENGINES.append(engine)
    for (ir, _, kinds), name in zip(batch, names, strict=True):
        argtypes: tuple[Any, ...] = (ctypes.py_object, ctypes.c_int64, ctypes.py_object,
                                     *(_CTYPES[k] for k in kinds if k in "fiu"))
        address = engine.get_function_address(name)
        # two entry points: holding the GIL (cheaper for small arrays), releasing it
        _CACHE[ir] = ctypes.PYFUNCTYPE(ctypes.c_int, *argtypes)(address)
        _NOGIL[ir] = ctypes.CFUNCTYPE(ctypes.c_int, *argtypes)(address)


def _compile(pending: list[tuple[str, set[str], str, int]]) -> None:
    """Compile the new kernels in modules of about `MODULE_OPS` operations (LLVM's
    time per operation grows with a function's and a module's length); a kernel
    that fails to compile is retried alone, and stays unfused (None) if it fails."""
    batches: list[list[tuple[str, set[str], str]]] = [[]]
    ops = 0
    for ir, decls, kinds, n in pending:
        if ops + n > MODULE_OPS and batches[-1]:
            batches.append([])
            ops = 0
        batches[-1].append((ir, decls, kinds))
        ops += n
    for batch in batches:
        if not batch:
            continue
        try:
            _module(batch)
        except Exception:  # noqa: BLE001 - retried one by one below
            for one in batch:
                try:
                    _module([one])
                except Exception:  # noqa: BLE001 - this group runs unfused
                    _CACHE[one[0]] = None


QUIET = {"divide": "ignore", "over": "ignore", "under": "ignore", "invalid": "ignore"}


def _numpy(eqns: list[Eqn], ins: list[Var]) -> Callable[..., Any]:
    """The group's equations run by NumPy, unfused, for their floating-point
    errors only: what a kernel that met an infinity or a NaN calls, so that NumPy
    itself warns or raises as `np.errstate` says (nothing to do if it ignores all)."""

    def run(*args: Any) -> None:
        if np.geterr() == QUIET:
            return
        env = {v.n: a for v, a in zip(ins, args, strict=True)}
        for e in eqns:
            env[e.outvars[0].n] = e.prim.impl(
                *(env[x.n] if type(x) is Var else x for x in e.invars), **e.params)

    return run


def _wrapper(kern: Callable[..., Any], kinds: str, ins: list[Var], outs: list[Var],
             shape: tuple[int, ...], source: str, returned: set[int],
             numpy: Callable[..., Any]) -> Callable[..., Any]:
    """A Python function taking the group's inputs and returning its outputs as
    the equations would: rows of one (k, *shape) buffer per output dtype (those
    the graph returns are copied, so that a caller's array does not hold the
    whole buffer). An input the kernel refuses (strided, another dtype or
    class) is passed again as a C-contiguous copy. A kernel that met an infinity
    or a NaN (in an input, an intermediate or an output) returns 2: the group
    then runs again as NumPy code (`numpy`) for NumPy's warnings and errors; if
    it does not raise, the kernel's values are returned (the same under any
    `np.errstate`)."""
    n = math.prod(shape)
    namespace: dict[str, Any] = {"_k": kern, "_numpy": numpy, "_T": np.ndarray, "_shape": shape,
                                 "_empty": np.empty, "_c": _contiguous}
    params = [f"a{k}" for k in range(len(ins))]
    arrays, retry, scalars = [], [], []
    for k, (v, kind) in enumerate(zip(ins, kinds, strict=False)):
        if kind == "a":
            namespace[f"_i{k}"] = v.aval.dtype
            arrays.append(f"a{k}")
            retry.append(f"_c(a{k}, _i{k})")
        else:
            scalars.append(f", a{k}")
    rows: dict[Any, int] = {}
    counts: list[int] = []
    rets = []
    for o in outs:
        d = o.aval.dtype
        if d not in rows:
            rows[d] = len(rows)
            counts.append(0)
            namespace[f"_d{rows[d]}"] = d
        j = rows[d]
        row = f"b{j}[{counts[j]}]"
        counts[j] += 1
        rets.append(f"{row}.copy()" if o.n in returned and shape else row)
    bufs = [f"b{j}" for j in range(len(rows))]
    body = [f"    b{j} = _empty(({c}, *_shape), _d{j})" for j, c in enumerate(counts)]
    rest = "".join(scalars)
    first = "".join(a + ", " for a in arrays + bufs)
    again = "".join(a + ", " for a in retry + bufs)
    body += [f"    r = _k(_T, {n}, ({first}){rest})",
             "    if r:",
             f"        if r == 1:\n            r = _k(_T, {n}, ({again}){rest})",
             "        if r == 1:",
             "            raise AssertionError('riesz.fusion: a kernel refused its inputs')",
             f"        if r == 2:\n            _numpy({', '.join(params)})"]
    body.append(f"    return ({''.join(r + ', ' for r in rets)})")
    src = "\n".join([f"def fused({', '.join(params)}):", *body])
    exec(compile(src, "<riesz.fusion>", "exec"), namespace)  # noqa: S102 - generated above
    fn = namespace["fused"]
    fn.source = source
    return fn


def _contiguous(a: Any, dtype: np.dtype[Any]) -> np.ndarray[Any, Any]:
    """A C-contiguous, aligned, native ndarray copy of `a` in `dtype`."""
    return np.array(a, dtype=dtype, order="C")


# -- the pass -----------------------------------------------------------------------------


def fuse(graph: Graph) -> Graph:
    """`graph` with its elementwise regions replaced by fused equations (one
    kernel each), in an order that respects every dependency; unchanged when
    llvmlite is absent or nothing fuses."""
    if not available() or not _abi_ok():
        return graph
    try:
        _target()
    except Exception:  # noqa: BLE001 - llvmlite found but broken: NumPy code, as without it
        return graph
    eqns = graph.eqns
    group_of, plans = _groups(graph)
    members: dict[int, list[int]] = {}
    for i, g in enumerate(group_of):
        if g >= 0:
            members.setdefault(g, []).append(i)
    members = {g: m for g, m in members.items() if len(m) > 1}
    if not members:
        return graph
    for i, g in enumerate(group_of):
        if g >= 0 and g not in members:
            group_of[i] = -1
    # where each variable is read: by which node (group id, or -1 - equation index)
    node = [g if g >= 0 else -1 - i for i, g in enumerate(group_of)]
    readers: dict[int, set[int]] = {}
    for i, e in enumerate(eqns):
        for x in e.invars:
            if type(x) is Var:
                readers.setdefault(x.n, set()).add(node[i])
    graph_outs = {o.n for o in graph.outvars if type(o) is Var}
    budget = BUDGET
    kernels = []
    pending: dict[str, tuple[str, set[str], str, int]] = {}
    for g, idx in members.items():
        group = [eqns[i] for i in idx]
        made = {v.n for e in group for v in e.outvars}
        ins: list[Var] = []
        seen: set[int] = set()
        for e in group:
            for x in e.invars:
                if type(x) is Var and x.n not in made and x.n not in seen:
                    seen.add(x.n)
                    ins.append(x)
        outs = [v for e in group for v in e.outvars
                if v.n in graph_outs or readers.get(v.n, set()) - {g}]
        if sum(1 for v in ins if not v.aval.shape) > _MAX_ARGS:
            continue
        ir, decls, kinds = _kernel_ir(group, [plans[i] for i in idx], ins, outs,
                                      _LLVM["lanes"])
        if ir not in _CACHE and ir not in pending:
            if budget < len(idx):
                continue
            budget -= len(idx)
            pending[ir] = (ir, decls, kinds, len(idx))
        kernels.append((g, idx, ins, outs, ir, kinds))
    if pending:
        with _LOCK:
            _compile([p for p in pending.values() if p[0] not in _CACHE])
    fused: dict[int, Eqn] = {}
    for g, idx, ins, outs, ir, kinds in kernels:
        kern = _CACHE.get(ir)
        if kern is None:
            continue
        if math.prod(plans[idx[0]][0]) >= NOGIL_SIZE:  # other threads run meanwhile
            kern = _NOGIL[ir]
        fn = _wrapper(kern, kinds, ins, outs, plans[idx[0]][0], ir, graph_outs,
                      _numpy([eqns[i] for i in idx], ins))
        # a _Kernel stands in for a Primitive (code generation reads the same fields)
        fused[g] = Eqn(_Kernel(fn, ir, len(idx)), list(ins), outs, {})  # type: ignore[arg-type]
    if not fused:
        return graph
    for i, g in enumerate(group_of):
        if g >= 0 and g not in fused:
            node[i] = -1 - i
    return Graph(graph.invars, graph.constvars, graph.consts, _schedule(eqns, node, fused),
                 graph.outvars, graph.in_def, graph.out_def)


def _schedule(eqns: list[Eqn], node: list[int], fused: dict[int, Eqn]) -> list[Eqn]:
    """The nodes (fused groups and single equations) in a dependency order,
    each as early as its inputs allow (Kahn's algorithm, ties by first equation)."""
    producer: dict[int, int] = {}
    first: dict[int, int] = {}
    for i, e in enumerate(eqns):
        first.setdefault(node[i], i)
        for v in e.outvars:
            producer[v.n] = node[i]
    deps: dict[int, set[int]] = {n: set() for n in first}
    for i, e in enumerate(eqns):
        for x in e.invars:
            if type(x) is Var and x.n in producer and producer[x.n] != node[i]:
                deps[node[i]].add(producer[x.n])
    users: dict[int, list[int]] = {n: [] for n in first}
    waiting = {n: len(d) for n, d in deps.items()}
    for n, d in deps.items():
        for p in d:
            users[p].append(n)
    ready = [(first[n], n) for n, k in waiting.items() if k == 0]
    heapq.heapify(ready)
    out: list[Eqn] = []
    while ready:
        _, n = heapq.heappop(ready)
        out.append(fused[n] if n >= 0 else eqns[-1 - n])
        for u in users[n]:
            waiting[u] -= 1
            if not waiting[u]:
                heapq.heappush(ready, (first[u], u))
    if len(out) != len(first):  # a cycle: the grouping has a bug; never run a wrong order
        raise AssertionError("riesz.fusion: fused groups form a cycle")
    return out


# timed calls each of the incumbent and the candidate code get before a Trial decides
TRIALS = 3


class Trial:
    """Calls alternating between an incumbent code (0) and a candidate (1), the
    candidate first, until each has run `TRIALS` times; the candidate wins only
    if its fastest call beats the incumbent's. Compiled code is not always
    faster: a kernel calls libm's scalar tanh or exp where NumPy's loops are SIMD
    (an MLP's fused tanh regions: 2.3 ms against 0.08 ms unfused), which only a
    measurement on the machine can tell (`staged`'s fused code, `loop_kernels`)."""

    __slots__ = ("times",)

    def __init__(self) -> None:
        self.times: tuple[list[float], list[float]] = ([], [])

    def next(self) -> int:
        """Which code runs next: 1 (the candidate) or 0."""
        return int(len(self.times[1]) <= len(self.times[0]))

    def record(self, i: int, seconds: float) -> bool | None:
        """Record a call of code `i`; once decided, whether the candidate won."""
        times = self.times
        times[i].append(seconds)
        if len(times[0]) < TRIALS or len(times[1]) < TRIALS:
            return None
        return min(times[1]) < min(times[0])


def tiered(graph: Graph, plain: Callable[..., Any], make_fused: Callable[[], Callable[..., Any]]
           ) -> Callable[..., Any]:
    """`plain` (the unfused code) until the calls have taken about as long as
    compiling the fused code would (ski rental: never more than twice the
    better choice's cost), then `make_fused()`. A function called a few times
    never pays the compile time; a hot one gets its kernels."""
    # an estimate, cheap on a 10^5-equation graph: the ufuncs and selects
    ops = sum(1 for e in graph.eqns if isinstance(e.prim.impl, np.ufunc) or e.prim.name == "where")
    if ops < 2 or not available():
        return plain
    state: list[Any] = [plain, min(ops, BUDGET) * COMPILE_S_PER_OP + ops * GROUP_S_PER_OP]
    clock = time.perf_counter

    def run(*args: Any) -> Any:
        fn = state[0]
        if state[1] is None:
            return fn(*args)
        t = clock()
        out = fn(*args)
        state[1] -= clock() - t
        if state[1] <= 0:
            state[0], state[1] = make_fused(), None
            # a function attribute (mypy has no type for it), as compile_graph sets
            run.source = state[0].source  # type: ignore[attr-defined]
        return out

    # a function attribute (mypy has no type for it): Jitted.source reads it
    run.source = plain.source  # type: ignore[attr-defined]
    return run
