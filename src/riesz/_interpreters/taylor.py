"""Taylor mode (`riesz.jet`): truncated power series pushed through a function.

A value followed by this trace is a path through its space, known up to order K:

    x(t) = x0 + c1 t + c2 t² + ... + cK t^K      (mod t^(K+1)),

held as the primal x0 and the list of *raw* Taylor coefficients [c1, ..., cK]
(c_k = x^(k)(0) / k!; `None` is a symbolic zero, so a path that is a straight
line, [v, None, None, ...], costs no work for its zero terms). A primitive maps
the coefficients of its inputs to those of its output with its Taylor rule
`prim.jet(primals, series, **params) -> (primal_out, series_out)`, where
`series[i]` is the coefficient list of input i, or None for an input that does
not depend on t. The factorial scaling of `jax.experimental.jet`'s convention
(derivatives, not coefficients) is applied at the API boundary only
(`riesz.taylor.jet`).

Raw coefficients make the algebra simple: sums and linear maps act term by
term, a bilinear map is a Cauchy product c_k = Σ_{i+j=k} B(a_i, b_j), and the
other rules are recurrences that cost O(K²) products: K-th order terms cost a
polynomial in K, where K nested JVPs would cost 2^K.

Rule families, declared once per class of primitive (the primitives declare
their rules in the family modules of `riesz._primitives`):

* `linear_jet`: linear (and piecewise-linear, with constant masks: max, abs,
  remainder) primitives, whose JVP rule u ↦ ∂f(x0)[u] is applied to each
  coefficient;
* `multilinear_jet`: bilinear and multilinear maps (multiply, matmul, einsum,
  correlate): Cauchy products;
* `jet_from_jvp`: the general rule. y(t) = f(x(t)) satisfies
  y'(t) = ∂f(x(t))[x'(t)], and the JVP rule computes the right-hand side with
  riesz operations from x, x' and y = f(x). Run on the series of x and x' one
  order lower (K - 1) it gives the series of y' to order K - 1, and so
  y_k = [y']_(k-1) / k for k = 1..K. This is JAX's `def_deriv` for every
  elementwise f (y' = f'(x) x'), extended to any primitive whose JVP rule is
  written with differentiable operations. When the rule reads y itself
  (exp: y' = y x'), y's series to order K - 1 comes from the same rule one
  order lower, a recursion of depth K: still polynomial, O(K) rule
  evaluations. (A rule that re-binds its own primitive *and* reads y would
  branch twice per order; such primitives get a dedicated recurrence.)
* series arithmetic (`cauchy`, `series_exp`, `series_log`, `series_divide`,
  `series_sqrt`, `series_sincos`, `series_riccati`): the classical recurrences
  from y' = y x' (exp), x y' = x' (log), y b = a (divide), y² = x (sqrt), ...,
  used by rules that are cheaper than the general one.

A differentiable primitive without a rule raises NotImplementedError naming it:
terms are never dropped silently. Zero-derivative and non-differentiable
primitives (floor, comparisons) give constants. A function with user rules
(`riesz.custom_jvp` / `custom_vjp`) is expanded with its own JVP rule, as
forward mode does, or by tracing its body when it only declares a VJP.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .._core import ops
from .._core.primitive import CUSTOM, DIFFERENTIABLE, JOINT, Primitive, apply_jvp
from .._core.trace import Trace, Tracer, bind, new_trace, raw_value
from .._core.zeros import zeros_like

__all__ = [
    "JetTrace",
    "JetTracer",
    "cauchy",
    "full_series",
    "jet_flat",
    "jet_from_jvp",
    "linear_jet",
    "multilinear_jet",
    "series_divide",
    "series_order",
    "series_product",
    "series_exp",
    "series_log",
    "series_riccati",
    "series_sincos",
    "series_sqrt",
]

# A coefficient list: [c_1, ..., c_K], None entries are symbolic zeros. A whole
# list of None is the series of a constant (an input that does not depend on t).
Series = list[Any]


class JetTracer(Tracer):
    """A value x0 followed by a JetTrace, with the raw Taylor coefficients
    [c_1, ..., c_K] of its path x(t) = x0 + c_1 t + ... + c_K t^K."""

    __slots__ = ("_coefficients",)

    def __init__(self, value: Any, trace: JetTrace, coefficients: Series):
        self._value = value
        self._trace = trace
        self._coefficients = coefficients


def _nonzero(series: Sequence[Any] | None) -> bool:
    return series is not None and any(c is not None for c in series)


class JetTrace(Trace):
    """Propagates truncated Taylor series of order `order` through primitives."""

    __slots__ = ("order",)

    def __init__(self, level: int):
        super().__init__(level)
        self.order = 0  # K, set by whoever opens the trace (riesz.jet, jet_flat)

    # -- entering and leaving ------------------------------------------------------------
    def new_input(self, value: Any, coefficients: Sequence[Any] | None) -> Any:
        """`value` with the coefficients [c_1..c_K] (None or all-None: a constant)."""
        if coefficients is None or not _nonzero(coefficients):
            return value
        padded = list(coefficients)
        if len(padded) > self.order:
            raise ValueError(f"{len(padded)} coefficients for a series of order {self.order}")
        padded += [None] * (self.order - len(padded))
        return JetTracer(value, self, padded)

    def primal_of(self, x: Any) -> Any:
        return x._value if type(x) is JetTracer and x._trace is self else x

    def series_of(self, x: Any) -> Series | None:
        """The coefficients of an output, or None if it does not depend on t."""
        return x._coefficients if type(x) is JetTracer and x._trace is self else None

    def _wrap(self, value: Any, coefficients: Series | None) -> Any:
        """An output of a rule as a tracer (a plain value if it does not depend on t)."""
        if coefficients is None or not _nonzero(coefficients):
            return value
        if len(coefficients) != self.order:
            raise RuntimeError(f"a Taylor rule returned {len(coefficients)} coefficients "
                               f"for a series of order {self.order}")
        return JetTracer(value, self, [None if c is None else _fit(c, value)
                                       for c in coefficients])

    # -- primitives ---------------------------------------------------------------------
    def process(self, prim: Primitive, args: tuple[Any, ...], params: dict[str, Any]) -> Any:
        if not self.active:
            raise self._dead()
        primals = list(args)
        series: list[Series | None] = [None] * len(args)
        for i, a in enumerate(args):
            if type(a) is JetTracer and a._trace is self:
                primals[i] = a._value
                series[i] = a._coefficients
        if prim.kind is not DIFFERENTIABLE:
            if prim.kind is CUSTOM:
                return self.process_custom(prim, args, params)
            if prim.kind is not JOINT:  # (JOINT: differentiable, by its Taylor rule)
                # zero derivative (floor, sign, stop_gradient) or none (comparisons):
                # the output is a constant of t
                return bind(prim, *primals, **params)
        if prim.jet is None:
            raise NotImplementedError(
                f"riesz.jet: primitive {prim.name!r} has no Taylor-mode rule yet, so its "
                "higher-order terms cannot be propagated (nested riesz.jvp computes them "
                "at a cost exponential in the order)"
            )
        out, out_series = prim.jet(primals, series, **params)
        if prim.multiple_results:
            if out_series is None:
                return tuple(out)
            return tuple(self._wrap(o, s) for o, s in zip(out, out_series, strict=True))
        return self._wrap(out, out_series)

    def process_custom(self, prim: Primitive, args: tuple[Any, ...],
                       params: dict[str, Any]) -> Any:
        """A call of a function with user rules (riesz.custom): with a JVP rule,
        y' = rule(x, x') on the series one order lower (see `jet_from_jvp`);
        with only a VJP rule, the function's body is expanded like any code.

        A JVP rule that closes over a value this trace expands (a tracer of this
        trace) cannot be used: the rule gives ∂_x f only, and the dependence
        through the closed-over value has no series here. That raises a
        ValueError naming the function rather than dropping terms. A staged
        control-flow equation (`riesz.cond`) brings its own rule, `taylor_flat`."""
        fn, in_def, out = params["fn"], params["in_def"], params["out"]
        own = getattr(fn, "taylor_flat", None)
        if own is not None:
            return own(self, args)
        if fn.jvp_rule is None:
            return fn.call_flat(args, in_def, out)
        primals = [self.primal_of(a) for a in args]
        series = [self.series_of(a) for a in args]
        K = self.order
        n = len(primals)
        tangents = [_derivative(p, s) for p, s in zip(primals, series, strict=True)]

        def primal_and_tangent(*vals: Any) -> list[Any]:
            ts = [None if s is None else t for s, t in zip(series, vals[n:], strict=True)]
            outs, t_outs = fn.jvp_flat(list(vals[:n]), ts, in_def, out)
            return [*outs, *t_outs]

        ins = [*primals, *[p for p, _ in tangents]]
        ins_series = [*[_lower(s) for s in series], *[s for _, s in tangents]]
        vals, val_series = jet_flat(primal_and_tangent, ins, ins_series, K - 1)
        self.check_custom_outputs(fn, vals)
        if any(type(v) is JetTracer and v._trace is self for v in vals):
            raise ValueError(
                f"riesz.jet: {fn!r} closes over a value that jet is expanding (its rules "
                "see it as a constant, so the terms through it would be lost); pass that "
                "value to the function as an argument"
            )
        m = len(vals) // 2
        results = []
        for y0, d0, ds in zip(vals[:m], vals[m:], val_series[m:], strict=True):
            results.append(self._wrap(y0, _integrate(d0, ds, K)))
        return tuple(results)


# -- small helpers on coefficients ----------------------------------------------------------


def _fit(c: Any, like: Any) -> Any:
    """A coefficient brought to the shape and dtype of its value (a rule may
    return a broadcastable coefficient, e.g. a Python number)."""
    shape = like.shape if hasattr(like, "shape") else ()
    dtype = getattr(like, "dtype", None)
    if not hasattr(c, "shape"):
        c = np.asarray(c, dtype=dtype)
    if c.shape == shape and (dtype is None or c.dtype == dtype):
        return c
    if c.shape != shape:
        c = bind(ops.broadcast_to_p, c, shape=tuple(shape))
    if dtype is not None and c.dtype != dtype:
        c = bind(ops.astype_p, c, dtype=np.dtype(dtype))
    return c


def add(a: Any, b: Any) -> Any:
    """a + b where None is zero."""
    if a is None:
        return b
    if b is None:
        return a
    return a + b


def scale(s: float, a: Any) -> Any:
    """s a where None is zero (s a Python number, so dtypes are kept)."""
    if a is None:
        return None
    return a if s == 1 else s * a


def _lower(series: Series | None) -> Series | None:
    """The coefficients up to order K - 1 (None: a constant)."""
    if series is None:
        return None
    lowered = series[:-1]
    return lowered if _nonzero(lowered) else None


def _derivative(primal: Any, series: Series | None) -> tuple[Any, Series | None]:
    """x'(t) = Σ_k k c_k t^(k-1), as (primal, coefficients) one order lower:
    (c_1, [2 c_2, 3 c_3, ..., K c_K]). A constant has derivative None."""
    if series is None:
        return None, None
    first = series[0]
    if first is None:
        first = zeros_like(primal)
    rest = [scale(k + 1, c) for k, c in enumerate(series) if k > 0]
    return first, rest if _nonzero(rest) else None


def _integrate(d0: Any, ds: Series | None, K: int) -> Series | None:
    """The coefficients [y_1..y_K] of y from those of y' = d0 + d_1 t + ...:
    y_k = d_(k-1) / k."""
    if d0 is None:
        return None
    ds = [None] * (K - 1) if ds is None else ds
    return [d0, *[scale(1.0 / (k + 2), c) for k, c in enumerate(ds)]]


def full_series(primal: Any, series: Series | None, K: int) -> list[Any]:
    """[x0, c_1, ..., c_K] (a constant gets None terms)."""
    return [primal, *(series if series is not None else [None] * K)]


def series_order(series: Sequence[Series | None]) -> int:
    for s in series:
        if s is not None:
            return len(s)
    raise ValueError("a Taylor rule was called without any input series")


# -- running a function on series (the recursion the general rule needs) --------------------


def jet_flat(fn: Callable[..., Sequence[Any]], primals: Sequence[Any],
             series: Sequence[Series | None], order: int) -> tuple[list[Any], list[Series | None]]:
    """Run `fn(*inputs) -> sequence of outputs` on series of order `order`.

    Returns the outputs' primals and coefficient lists (None for an output that
    does not depend on t). An output may be None (a symbolic zero tangent)."""
    live = [s for s in series if _nonzero(s)]
    if order == 0 or not live:
        outs = list(fn(*primals))
        return outs, [None] * len(outs)
    with new_trace(JetTrace) as trace:
        trace.order = order
        ins = [trace.new_input(p, None if s is None else s[:order])
               for p, s in zip(primals, series, strict=True)]
        outs = list(fn(*ins))
        return [trace.primal_of(o) for o in outs], [trace.series_of(o) for o in outs]


# -- the value y = f(x) while the general rule does not know its series yet -----------------


class _NeedsAnswer(Exception):
    """Raised when a JVP rule reads its output y = f(x); see `jet_from_jvp`."""


class _Unknown:
    """Stands for the output f(x) in a first, optimistic run of a JVP rule on
    series: its shape and dtype are known, any use of its value raises
    `_NeedsAnswer`, and the rule is run again with y's series (one order lower)."""

    __slots__ = ("shape", "dtype")
    __hash__ = object.__hash__

    def __init__(self, like: Any):
        self.shape = like.shape if hasattr(like, "shape") else ()
        self.dtype = getattr(like, "dtype", None)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def _raise(self, *args: Any, **kwargs: Any) -> Any:
        raise _NeedsAnswer

    __array_ufunc__ = __array_function__ = __array__ = _raise
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _raise
    __truediv__ = __rtruediv__ = __pow__ = __rpow__ = __matmul__ = __rmatmul__ = _raise
    __neg__ = __pos__ = __abs__ = __getitem__ = __iter__ = __len__ = __bool__ = _raise
    __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = __float__ = __index__ = _raise
    __floordiv__ = __rfloordiv__ = __mod__ = __rmod__ = _raise

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # protocol probes (hasattr) are not uses of the value
            raise AttributeError(name)
        raise _NeedsAnswer


# -- rule families ---------------------------------------------------------------------------


def linear_jet(prim: Primitive) -> Primitive:
    """The rule of a primitive that is linear in its differentiable arguments, or
    piecewise linear with masks that are constant near x0 (max, abs, where,
    remainder): y_k = ∂f(x0)[c_k], its JVP rule applied to each coefficient."""

    def rule(primals: list[Any], series: list[Series | None], **params: Any) -> Any:
        K = series_order(series)
        ans = bind(prim, *primals, **params)
        per_order = []
        for k in range(K):
            tangents = [None if s is None else s[k] for s in series]
            per_order.append(None if all(t is None for t in tangents)
                             else apply_jvp(prim, primals, tangents, ans, params))
        if not prim.multiple_results:
            return ans, per_order
        outs = [[None if p is None else p[j] for p in per_order] for j in range(len(ans))]
        return ans, outs

    rule.__name__ = f"{prim.name}_jet"
    return prim.def_jet(rule)


def _compositions(k: int, lists: Sequence[list[Any]]) -> Any:
    """Index tuples (j_1, ..., j_n) with Σ j = k and lists[i][j_i] not None."""
    if len(lists) == 1:
        if k < len(lists[0]) and lists[0][k] is not None:
            yield (k,)
        return
    first = lists[0]
    for j in range(min(k, len(first) - 1) + 1):
        if first[j] is not None:
            for rest in _compositions(k - j, lists[1:]):
                yield (j, *rest)


def multilinear_jet(prim: Primitive) -> Primitive:
    """The rule of a map linear in each argument (multiply, matmul, einsum,
    correlate): the Cauchy product y_k = Σ_{j_1+...+j_n=k} f(a_{j_1}, ..., a_{j_n})
    over the full series a = [x0, c_1, ..., c_K] of each argument."""

    def rule(primals: list[Any], series: list[Series | None], **params: Any) -> Any:
        K = series_order(series)
        full = [full_series(p, s, K) for p, s in zip(primals, series, strict=True)]
        ans = bind(prim, *primals, **params)
        out = []
        for k in range(1, K + 1):
            c = None
            for idx in _compositions(k, full):
                c = add(c, bind(prim, *[f[j] for f, j in zip(full, idx, strict=True)],
                                **params))
            out.append(c)
        return ans, out

    rule.__name__ = f"{prim.name}_jet"
    return prim.def_jet(rule)


def not_holomorphic(prim: Primitive, real_rule: Callable[..., Any] | None = None) -> Primitive:
    """The Taylor rule of a non-holomorphic primitive (conj, real, imag, abs,
    angle on complex values): `real_rule` on real inputs, a clear error on
    complex ones (riesz.jet propagates holomorphic functions only)."""

    def rule(primals: list[Any], series: list[Series | None], **params: Any) -> Any:
        if real_rule is None or any(np.iscomplexobj(raw_value(p)) for p in primals):
            raise NotImplementedError(
                f"riesz.jet: {prim.name!r} is not holomorphic on complex values, and jet "
                "propagates holomorphic functions only; use nested riesz.jvp (exact for "
                "any R-differentiable function), or write the function in terms of z only"
            )
        return real_rule(primals, series, **params)

    rule.__name__ = f"{prim.name}_jet"
    return prim.def_jet(rule)


def jet_from_jvp(prim: Primitive) -> Primitive:
    """Register the general rule (`general_jet_rule`) as `prim`'s Taylor rule."""
    return prim.def_jet(general_jet_rule(prim))


def general_jet_rule(prim: Primitive) -> Callable[..., Any]:
    """The general rule, from the primitive's JVP rule (see the module
    docstring): y' = ∂f(x)[x'] evaluated on series one order lower, then
    y_k = [y']_(k-1) / k. The rule is first run with y = f(x) unknown; if it
    reads y, y's series to order K - 1 comes from `prim`'s registered Taylor
    rule (this one, or one that falls back to it), recursively. A specialised
    rule calls it where its own recurrence does not apply."""
    reads_output: dict[tuple[bool, ...], bool] = {}

    def rule(primals: list[Any], series: list[Series | None], **params: Any) -> Any:
        K = series_order(series)
        ans = bind(prim, *primals, **params)
        n = len(primals)
        lowered = [_lower(s) for s in series]
        tangents = [_derivative(p, s) for p, s in zip(primals, series, strict=True)]
        which = tuple(s is not None for s in series)
        outs = list(ans) if prim.multiple_results else [ans]

        def tangent(*vals: Any) -> list[Any]:
            xs, ts, ys = vals[:n], vals[n:2 * n], vals[2 * n:]
            y = tuple(ys) if prim.multiple_results else ys[0]
            live = [t if w else None for t, w in zip(ts, which, strict=True)]
            t_out = apply_jvp(prim, list(xs), live, y, params)
            if prim.multiple_results:
                return [None] * len(outs) if t_out is None else list(t_out)
            return [t_out]

        ins = [*primals, *[t for t, _ in tangents]]
        ins_series = [*lowered, *[s for _, s in tangents]]
        result = None
        if not reads_output.get(which):
            try:
                result = jet_flat(tangent, [*ins, *[_Unknown(o) for o in outs]],
                                  [*ins_series, *[None] * len(outs)], K - 1)
            except _NeedsAnswer:
                reads_output[which] = True
        if result is None:
            if K > 1 and any(s is not None for s in lowered):
                assert prim.jet is not None  # registered: this rule, or one falling back to it
                _, y_series = prim.jet(primals, lowered, **params)
                y_series = y_series if prim.multiple_results else [y_series]
            else:
                y_series = [None] * len(outs)
            result = jet_flat(tangent, [*ins, *outs], [*ins_series, *y_series], K - 1)
        d0s, dss = result
        out_series = [_integrate(d0, ds, K) for d0, ds in zip(d0s, dss, strict=True)]
        return ans, (out_series if prim.multiple_results else out_series[0])

    rule.__name__ = f"{prim.name}_jet"
    return rule


# -- series arithmetic -------------------------------------------------------------------------
# Full lists a = [a_0, a_1, ..., a_K] (a_0 the primal, None entries zero).


def cauchy(a: list[Any], b: list[Any], k: int, mul: Callable[[Any, Any], Any] = operator.mul,
           lo: int = 0, hi: int | None = None) -> Any:
    """Σ_{j=lo}^{hi} mul(a_j, b_(k-j)), the k-th coefficient of a product
    (lo = 0, hi = k: the whole Cauchy product); None if every term is zero."""
    hi = k if hi is None else hi
    out = None
    for j in range(lo, hi + 1):
        if a[j] is not None and b[k - j] is not None:
            out = add(out, mul(a[j], b[k - j]))
    return out


def series_product(a: list[Any], b: list[Any], K: int,
                   mul: Callable[[Any, Any], Any] = operator.mul) -> list[Any]:
    """The full series [p_0, ..., p_K] of the product of two full series."""
    return [cauchy(a, b, k, mul) for k in range(K + 1)]


def _derivative_terms(x: list[Any]) -> list[Any]:
    """[None, 1 x_1, 2 x_2, ..., K x_K]: x' = Σ_j j x_j t^(j-1), the scaled terms
    computed once for the K products of a recurrence (not once per product)."""
    return [None, *[scale(j, c) for j, c in enumerate(x) if j > 0]]


def _weighted(jx: list[Any], d: list[Any], k: int) -> Any:
    """Σ_{j=1}^k (j x_j) d_(k-j): the (k-1)-th coefficient of x' d, from the
    terms `jx` of `_derivative_terms(x)`."""
    out = None
    for j in range(1, k + 1):
        if jx[j] is not None and d[k - j] is not None:
            out = add(out, jx[j] * d[k - j])
    return out


def series_exp(y0: Any, z: list[Any], K: int) -> Series:
    """y = exp(z) with y0 = exp(z0) given: y' = y z', so
    y_k = (1/k) Σ_{j=1}^k j z_j y_(k-j)."""
    y = [y0]
    jz = _derivative_terms(z)
    for k in range(1, K + 1):
        y.append(scale(1.0 / k, _weighted(jz, y, k)))
    return y[1:]


def series_log(x: list[Any], K: int) -> Series:
    """y = log(x): x y' = x', so x0 k y_k = k x_k - Σ_{j=1}^{k-1} (k-j) x_j y_(k-j):
    y_k = (x_k - (1/k) Σ_{j=1}^{k-1} (k-j) x_j y_(k-j)) / x0."""
    y: list[Any] = [None]
    for k in range(1, K + 1):
        acc = None
        for j in range(1, k):
            if x[j] is not None and y[k - j] is not None:
                acc = add(acc, scale(k - j, x[j] * y[k - j]))
        num = add(x[k], scale(-1.0 / k, acc))
        y.append(None if num is None else num / x[0])
    return y[1:]


def series_divide(a: list[Any], b: list[Any], q0: Any, K: int) -> Series:
    """q = a / b with q0 given: q b = a, so q_k = (a_k - Σ_{j=1}^k b_j q_(k-j)) / b0."""
    q = [q0]
    for k in range(1, K + 1):
        num = add(a[k], scale(-1, cauchy(b, q, k, lo=1)))
        q.append(None if num is None else num / b[0])
    return q[1:]


def series_sqrt(x: list[Any], y0: Any, K: int) -> Series:
    """y = sqrt(x) with y0 given: y² = x, so y_k = (x_k - Σ_{j=1}^{k-1} y_j y_(k-j)) / (2 y0)."""
    y = [y0]
    for k in range(1, K + 1):
        num = add(x[k], scale(-1, cauchy(y, y, k, lo=1, hi=k - 1)))
        y.append(None if num is None else num / (2 * y0))
    return y[1:]


def series_sincos(x: list[Any], s0: Any, c0: Any, K: int, sign: float = -1.0) -> tuple[Series,
                                                                                         Series]:
    """(s, c) = (sin x, cos x) (sign -1) or (sinh x, cosh x) (sign +1), together:
    s' = c x' and c' = sign · s x', so s_k = (1/k) Σ j x_j c_(k-j) and
    c_k = (sign/k) Σ j x_j s_(k-j)."""
    s, c = [s0], [c0]
    jx = _derivative_terms(x)
    for k in range(1, K + 1):
        s_k = scale(1.0 / k, _weighted(jx, c, k))
        c_k = scale(sign / k, _weighted(jx, s, k))
        s.append(s_k)
        c.append(c_k)
    return s[1:], c[1:]


def series_riccati(x: list[Any], y0: Any, K: int, a: float, b: float) -> Series:
    """y with y' = (a + b y²) x' (tan: a = b = 1; tanh: a = 1, b = -1): with
    d = a + b y², y_k = (1/k) Σ_{j=1}^k j x_j d_(k-j), and d_k needs only y_0..y_k,
    so both are built together in O(K²) products."""
    y = [y0]
    d = [a + b * (y0 * y0)]
    jx = _derivative_terms(x)
    for k in range(1, K + 1):
        y.append(scale(1.0 / k, _weighted(jx, d, k)))
        d.append(scale(b, cauchy(y, y, k)))
    return y[1:]
