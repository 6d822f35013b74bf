"""Fusion of elementwise chains for `riesz.jit` (an optional Numba backend).

`fuse(graph)` groups connected elementwise equations of one output shape (NumPy
ufuncs of float32 / float64 / bool loops, `where`, casts) into one equation
whose implementation is a Numba kernel: one loop over the flattened elements
doing every operation of the group on scalars, forward and backward pass alike
(`jit(value_and_grad(f))` of an elementwise chain is one kernel). Values used
only inside a group never become arrays; a 16-element chain runs at the cost of
its arithmetic instead of one NumPy call (~1 µs) per operation.

Why Numba (measured on a 300-op chain sin / multiply / tanh, one core): a
DAG with several outputs compiles to one kernel (numexpr evaluates one
expression tree per call, so the forward values a backward pass reads force one
call per operation); at n = 16 the kernel runs in the time of the scalar math
(~JAX-jit's time), NumPy's per-call overhead is gone. Numba's compile time grows
faster than linearly in a kernel's length, so groups are capped at
`MAX_GROUP` operations and a graph compiles at most `BUDGET` new operations
(the rest runs unfused, as NumPy calls); kernels are cached by their source, so
a repeated structure (the links of an unrolled chain) compiles once, and their
machine code is kept on disk (`cache_dir()`, Numba's `cache=True`), so a later
process loads it instead of compiling.

Semantics are NumPy's: each operation runs in the loop dtype NumPy would pick
(`ufunc.resolve_dtypes`, Python scalars weak), its result is cast to the
equation's dtype, IEEE division (`error_model="numpy"`), no fast-math. The math
functions are the C library's, so results agree with NumPy's to rounding; no
floating-point warnings are raised inside a kernel. Without Numba, `fuse`
returns the graph unchanged.
"""

from __future__ import annotations

import hashlib
import heapq
import importlib.util
import math
import os
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ._interpreters.staging import Eqn, Graph, Var

__all__ = ["BUDGET", "MAX_GROUP", "available", "cache_dir", "fuse", "tiered"]

MAX_GROUP = 128  # operations per kernel (Numba's compile time is superlinear in it)
BUDGET = 2000  # operations compiled afresh per graph; beyond it groups stay unfused
LANES = 4  # elements computed side by side in a kernel's loop body
_LOCAL = re.compile(r"\b[et]\d+\b")  # a kernel's per-element local names
COMPILE_S_PER_OP = 0.004  # rough Numba compile time per fused operation (for `tiered`)
_TAINT_CAP = 8  # groups tracked exactly per value (older ones are treated as reachable)

# ufuncs whose scalar form Numba compiles with NumPy's semantics (checked against
# NumPy by tests/test_fusion.py over the registry's elementwise primitives)
_UFUNCS = frozenset("""
add subtract multiply divide true_divide power maximum minimum negative exp exp2 expm1 log
log2 log10 log1p sqrt cbrt square reciprocal sin cos tan arcsin arccos arctan sinh cosh tanh
arcsinh arccosh arctanh absolute hypot arctan2 logaddexp logaddexp2 fmod sign floor ceil trunc
rint greater greater_equal less less_equal equal not_equal logical_and logical_or logical_xor
logical_not isnan isinf isfinite signbit
""".split())
_DTYPES = {np.dtype(np.float64): "f8", np.dtype(np.float32): "f4", np.dtype(np.bool_): "b1"}
_F8 = np.dtype(np.float64)
# written as operators and `math` functions: Numba types these several times
# faster than NumPy ufunc calls, and compile time is the cost of fusion
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
    """Whether Numba is installed (fusion is then on by default); it is
    imported only when a graph is fused."""
    try:
        return importlib.util.find_spec("numba") is not None
    except (ImportError, ValueError):  # an import of numba that failed before
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


def _scalar_type(x: Any) -> Any:
    """The dtype NumPy's ufunc resolution sees for input `x` (a Python type if weak)."""
    if type(x) is Var:
        return type(x.aval.dtype.type(0).item()) if x.aval.weak else x.aval.dtype
    if type(x) in (bool, int, float):
        return type(x)
    return np.asarray(x).dtype


def _plan(e: Eqn) -> tuple[tuple[Any, ...], list[Any]] | None:
    """`(shape, loop dtypes of the inputs)` if `e` can run inside a kernel, else None."""
    if len(e.outvars) != 1:
        return None
    out = e.outvars[0].aval
    if out.dtype not in _DTYPES:
        return None
    for x in e.invars:
        if type(x) is Var:
            a = x.aval
            if (a.shape != out.shape and a.shape) or a.dtype.kind not in "fbiu" or \
                    a.dtype.itemsize > 8 or a.dtype == np.float16:
                return None
        elif type(x) not in (bool, int, float) and not (
                isinstance(x, (np.generic, np.ndarray)) and np.ndim(x) == 0
                and np.asarray(x).dtype in _DTYPES):
            return None
    f, name = e.prim.impl, e.prim.name
    if isinstance(f, np.ufunc):
        if f.nout != 1 or e.params or f.__name__ not in _UFUNCS:
            return None
        try:
            loop = f.resolve_dtypes(tuple(_scalar_type(x) for x in e.invars) + (None,))
        except (TypeError, ValueError):
            return None
        if any(d not in _DTYPES for d in loop):
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


# -- kernels ------------------------------------------------------------------------------

_CACHE: dict[str, Callable[..., Any] | None] = {}  # kernel source -> compiled (None: failed)


def _weak_dtype(a: Any) -> np.dtype[Any]:
    """The dtype a kernel sees for an input (a weak Python scalar arrives as int64 /
    float64 / bool)."""
    return np.dtype(type(a.dtype.type(0).item())) if a.weak else a.dtype


def _literal(x: Any, dtype: Any) -> str:
    v = x.item() if isinstance(x, (np.generic, np.ndarray)) else x
    v = float(v) if dtype is not None and np.dtype(dtype).kind == "f" else v
    if isinstance(v, float) and not math.isfinite(v):
        s = "np.nan" if math.isnan(v) else ("np.inf" if v > 0 else "-np.inf")
    else:
        s = repr(v)
    if dtype is None or np.dtype(dtype) == _F8:
        return s
    return f"{_DTYPES[np.dtype(dtype)]}({s})"


def _kernel_source(eqns: list[Eqn], plans: list[Any], ins: list[Any], outs: list[Var],
                   shape: tuple[int, ...]) -> tuple[str, list[Any]]:
    """Source of the kernel for a group and the Numba types of its arguments."""
    from numba import types
    from numba.np.numpy_support import from_dtype

    scalar = not shape
    local: dict[int, str] = {}
    argtypes: list[Any] = [] if scalar else [types.intp]
    params: list[str] = [] if scalar else ["n"]
    loads: list[str] = []
    for k, v in enumerate(ins):
        a = v.aval
        if a.weak:
            nt = {bool: types.boolean, int: types.int64, float: types.float64}[
                type(a.dtype.type(0).item())]
        else:
            nt = from_dtype(a.dtype)
        if a.shape:
            argtypes.append(types.Array(nt, 1, "C"))
            params.append(f"a{k}")
            loads.append(f"e{k} = a{k}[i]")
            local[v.n] = f"e{k}"
            continue
        else:
            argtypes.append(nt)
            params.append(f"x{k}")
        local[v.n] = f"x{k}"
    dtype_of = {v.n: _weak_dtype(v.aval) for v in ins}
    body: list[str] = []
    for j, e in enumerate(eqns):
        _, loop = plans[j]
        args = []
        for x, d in zip(e.invars, loop, strict=True):
            if type(x) is Var:
                s = local[x.n]
                args.append(f"{_DTYPES[d]}({s})" if d is not None and dtype_of[x.n] != d else s)
            else:
                args.append(_literal(x, d))
        o = e.outvars[0]
        name = e.prim.impl.__name__ if isinstance(e.prim.impl, np.ufunc) else e.prim.name
        if name == "where":
            expr = f"({args[1]} if {args[0]} else {args[2]})"
        elif name == "astype":
            expr = args[0]
        elif name in _INFIX:
            expr = _INFIX[name].format(*args)
        elif name in _MATH:
            expr = f"_m_{_MATH[name]}({', '.join(args)})"
        else:
            expr = f"_u_{name}({', '.join(args)})"
        exact = o.aval.dtype == _F8 and name != "astype" and all(
            d is None or d == _F8 for d in loop[name == "where":])
        local[o.n] = f"t{j}"
        dtype_of[o.n] = o.aval.dtype
        body.append(f"t{j} = {expr}" if exact else f"t{j} = {_DTYPES[o.aval.dtype]}({expr})")
    if scalar:
        lines = [f"def kernel({', '.join(params)}):"]
        lines += [f"    {s}" for s in body]
        lines.append(f"    return ({''.join(local[o.n] + ', ' for o in outs)})")
        return "\n".join(lines), argtypes
    # outputs: one 2-D buffer (outputs, elements) per dtype, filled row by row
    rows: dict[Any, int] = {}
    stores = []
    for o in outs:
        d = o.aval.dtype
        stores.append(f"{_DTYPES[d]}_out[{rows.get(d, 0)}, i] = {local[o.n]}")
        rows[d] = rows.get(d, 0) + 1
    for d in rows:
        argtypes.append(types.Array(from_dtype(d), 2, "C"))
        params.append(f"{_DTYPES[d]}_out")
    # independent elements interleaved in the loop body (LANES of them), so that
    # the latency of a chain of libm calls overlaps across elements (arithmetic
    # alone gains little from it and would pay LANES times the compile time)
    size = math.prod(shape)
    calls = sum(1 for s in body if "_m_" in s or "_u_" in s)
    lanes = next(b for b in (LANES, 2, 1) if size % b == 0) if calls * 10 >= len(body) else 1
    lines = [f"def kernel({', '.join(params)}):", f"    for i in range(0, n, {lanes}):"]
    for s in loads + body + stores:
        if lanes == 1:
            lines.append(f"        {s}")
            continue
        for b in range(lanes):
            lane = _LOCAL.sub(rf"\g<0>_{b}", s)
            lane = lane.replace(", i]", f", i + {b}]").replace("[i]", f"[i + {b}]")
            lines.append(f"        {lane}")
    return "\n".join(lines), argtypes


_PRELUDE = "\n".join([
    "import math", "import numpy as np", "from numba import njit",
    "f8, f4, b1 = np.float64, np.float32, np.bool_",
    *(f"_m_{f} = math.{f}" for f in sorted(set(_MATH.values()))),
    *(f"_u_{f} = np.{f}" for f in sorted(_UFUNCS)),
    "",
    "",
    '@njit(error_model="numpy", nogil=True, cache={cache})',
])


def cache_dir() -> Path | None:
    """Where compiled kernels persist across processes: `$RIESZ_CACHE_DIR`, else
    `~/.cache/riesz`; None (compile in memory only) if it cannot be written or
    `RIESZ_CACHE_DIR` is empty. Files are named by the hash of their source
    (never rewritten), and Numba's cache index checks the CPU and Numba version."""
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


def _load(src: str) -> Any:
    """The kernel's function: from a module file in `cache_dir()` (so that Numba
    caches its machine code on disk), or executed in memory."""
    folder = cache_dir()
    text = _PRELUDE.format(cache=folder is not None) + "\n" + src + "\n"
    if folder is None:
        namespace: dict[str, Any] = {}
        exec(compile(text, "<riesz.fusion>", "exec"), namespace)  # noqa: S102 - generated
        return namespace["kernel"]
    name = "riesz_kernel_" + hashlib.sha256(text.encode()).hexdigest()[:24]
    file = folder / f"{name}.py"
    if not file.exists():
        tmp = folder / f".{name}.{os.getpid()}.tmp"
        tmp.write_text(text)
        os.replace(tmp, file)  # atomic: a concurrent process sees all of it or nothing
    spec = importlib.util.spec_from_file_location(name, file)
    assert spec is not None and spec.loader is not None
    module = sys.modules.get(name)
    if module is None:
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules[name] = module  # Numba's cache reloads the function by module name
    return module.kernel


def _compile(src: str, argtypes: list[Any]) -> Callable[..., Any] | None:
    key = src + repr(argtypes)
    if key in _CACHE:
        return _CACHE[key]
    try:
        kern = _load(src)
        kern.compile(tuple(argtypes))
    except Exception:  # noqa: BLE001 - a construct Numba rejects: this group runs unfused
        kern = None
    _CACHE[key] = kern
    return kern


def _wrapper(kern: Callable[..., Any], ins: list[Var], outs: list[Var],
             shape: tuple[int, ...], source: str, returned: set[int]) -> Callable[..., Any]:
    """A Python function taking the group's inputs as arrays and returning its
    outputs in the equations' shapes (a kernel sees flat arrays and scalars).
    Outputs are rows of one buffer per dtype; those the graph returns (`returned`)
    are copied out, so that a caller's array does not hold the whole buffer."""
    args = [] if not shape else [str(math.prod(shape))]
    for k, v in enumerate(ins):
        if v.aval.shape:
            args.append(f"a{k}.ravel()" if len(shape) > 1 else f"a{k}")
        else:
            args.append(f"a{k}" if v.aval.weak else f"a{k}[()]")
    if not shape:
        call = f"_kernel({', '.join(args)})"
        rets = [f"_{_DTYPES[o.aval.dtype]}(r[{k}])" for k, o in enumerate(outs)]
        body = [f"    r = {call}", f"    return ({''.join(r + ', ' for r in rets)})"]
    else:
        counts: dict[Any, int] = {}
        rets = []
        for o in outs:
            d = o.aval.dtype
            row = f"{_DTYPES[d]}_out[{counts.get(d, 0)}]"
            rets.append(f"{row}.copy()" if o.n in returned else row)
            counts[d] = counts.get(d, 0) + 1
        body = [f"    {_DTYPES[d]}_out = _empty(({k}, *_shape), _{_DTYPES[d]})"
                for d, k in counts.items()]
        flat = ", ".join(f"{_DTYPES[d]}_out" if len(shape) == 1 else
                         f"{_DTYPES[d]}_out.reshape({k}, {args[0]})" for d, k in counts.items())
        body.append(f"    _kernel({', '.join(args)}, {flat})")
        body.append(f"    return ({''.join(r + ', ' for r in rets)})")
    src = "\n".join([f"def fused({', '.join(f'a{k}' for k in range(len(ins)))}):", *body])
    namespace: dict[str, Any] = {"_kernel": kern, "_shape": shape, "_empty": np.empty,
                                 "_f8": np.float64,
                                 "_f4": np.float32, "_b1": np.bool_}
    exec(compile(src, "<riesz.fusion>", "exec"), namespace)  # noqa: S102 - generated above
    fn = namespace["fused"]
    fn.source = source
    return fn


# -- the pass -----------------------------------------------------------------------------


def fuse(graph: Graph) -> Graph:
    """`graph` with its elementwise regions replaced by fused equations (one
    kernel each), in an order that respects every dependency; unchanged when
    Numba is absent or nothing fuses."""
    if not available():
        return graph
    try:
        import numba  # noqa: F401
    except ImportError:  # found but broken: NumPy code, as without it
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
    fused: dict[int, Eqn] = {}
    budget = BUDGET
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
        shape = plans[idx[0]][0]
        src, argtypes = _kernel_source(group, [plans[i] for i in idx], ins, outs, shape)
        if src + repr(argtypes) not in _CACHE:
            if budget < len(idx):
                continue
            budget -= len(idx)
        kern = _compile(src, argtypes)
        if kern is None:
            continue
        fn = _wrapper(kern, ins, outs, shape, src, graph_outs)
        # a _Kernel stands in for a Primitive (code generation reads the same fields)
        fused[g] = Eqn(_Kernel(fn, src, len(idx)), list(ins), outs, {})  # type: ignore[arg-type]
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


def tiered(graph: Graph, plain: Callable[..., Any], make_fused: Callable[[], Callable[..., Any]]
           ) -> Callable[..., Any]:
    """`plain` (the unfused code) until the calls have taken about as long as
    compiling the fused code would (ski rental: never more than twice the
    better choice's cost), then `make_fused()`. A function called a few times
    never pays Numba's compile time; a hot one gets its kernels."""
    # an estimate, cheap on a 10^5-equation graph: the ufuncs and selects
    ops = sum(1 for e in graph.eqns if isinstance(e.prim.impl, np.ufunc) or e.prim.name == "where")
    if ops < 2 or not available():
        return plain
    state: list[Any] = [plain, min(ops, BUDGET) * COMPILE_S_PER_OP]
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
