"""Elementwise primitives: arithmetic, transcendental functions, comparisons.

The Jacobian of an elementwise map is diagonal, so ∂f(x)[t] = f'(x) ⊙ t and
∂f(x)*[g] = f'(x) ⊙ g; unary functions declare f' once (`elementwise_unary`),
binary ones declare their two partial derivatives once (`elementwise_binary`).
Binary operations broadcast: a tangent is broadcast up to the output's shape,
and a cotangent is summed back down to its operand's shape (`unbroadcast`).

Derivative formulas use Python floats for constants (never NumPy float64
scalars), so that float32 inputs keep float32 derivatives.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .._core.primitive import (
    NOT_DIFFERENTIABLE,
    ZERO_DERIVATIVE,
    Primitive,
    elementwise_unary,
)
from .._core.trace import Tracer, bind
from .._core.trace import strip_derivatives as _raw
from .._interpreters import taylor
from ._batch_axes import elementwise as batch_elementwise
from ._util import any_set, conj, unbroadcast
from .shape import broadcast_to_p

# -- helpers ------------------------------------------------------------------


def _fit(t: Any, ans: Any) -> Any:
    """A tangent contribution broadcast and cast to the output's shape/dtype."""
    if t.shape != ans.shape:
        t = bind(broadcast_to_p, t, shape=ans.shape)
    if t.dtype != ans.dtype:
        t = bind(astype_p, t, dtype=ans.dtype)
    return t


def _full(primal: Any, series: Any) -> list[Any]:
    """A Taylor series with its primal as the coefficient of order 0."""
    return taylor.full_series(primal, series, len(series))


def elementwise_binary(
    prim: Primitive,
    dx: Callable[[Any, Any, Any], Any] | None,
    dy: Callable[[Any, Any, Any], Any] | None,
) -> Primitive:
    """`prim(x, y)` acts elementwise with broadcasting and partial derivatives
    `dx(x, y, ans)`, `dy(x, y, ans)` (None: the partial is identically 0):
    ∂f[(s, t)] = f_x ⊙ s + f_y ⊙ t, and ∂f*[g] = (unbroadcast(conj(f_x) ⊙ g),
    unbroadcast(conj(f_y) ⊙ g)) (conj: free on real partials)."""
    return elementwise_nary(prim, dx, dy, suffixes=("x", "y"))


def elementwise_nary(
    prim: Primitive, *partials: Callable[..., Any] | None, suffixes: tuple[str, ...] = ()
) -> Primitive:
    """`prim(*args)` acts elementwise with broadcasting; `partials[i](*args, ans)`
    is ∂f/∂args[i] (None: identically 0): ∂f[t] = Σ_i f_i ⊙ t_i, and the i-th
    cotangent is unbroadcast(f_i ⊙ g). Batching by the elementwise family, Taylor
    mode by the general rule."""

    def rules(i: int, d: Callable[..., Any] | None) -> tuple[Any, Any]:
        def jvp(t: Any, ans: Any, *args: Any) -> Any:
            return None if d is None else _fit(t * d(*args, ans), ans)

        def vjp(g: Any, ans: Any, *args: Any) -> Any:
            a = args[i]
            if d is None:
                return None
            return unbroadcast(g * conj(d(*args, ans)), a.shape, a.dtype)

        suffix = suffixes[i] if suffixes else str(i)
        jvp.__name__ = f"{prim.name}_jvp_{suffix}"
        vjp.__name__ = f"{prim.name}_vjp_{suffix}"
        return jvp, vjp

    jvps, vjps = zip(*(rules(i, d) for i, d in enumerate(partials)), strict=True)
    prim.family = prim.family or "elementwise"
    batch_elementwise(prim)
    prim.def_jvp(*jvps).def_vjp(*vjps)
    # Taylor mode: z' = Σ_i f_i x_i' with the partials evaluated on the series
    return taylor.jet_from_jvp(prim)


def _unary(name: str, impl: Any, deriv: Callable[[Any, Any], Any], notes: str = "") -> Primitive:
    # Taylor mode by default: y' = f'(x) x' on the series one order lower (JAX's
    # def_deriv); the cheaper recurrences below replace it for exp, log, sin, ...
    return taylor.jet_from_jvp(elementwise_unary(Primitive(name, impl, notes=notes), deriv))


# -- casting --------------------------------------------------------------------

def _astype(x: Any, dtype: Any) -> Any:
    """`x.astype(dtype)`; complex to real keeps the real part (no ComplexWarning):
    the adjoint of the embedding R ⊂ C under Re⟨·,·⟩, so a cast's VJP is a cast."""
    if x.dtype.kind == "c" and np.dtype(dtype).kind != "c":
        return x.real.astype(dtype)
    return x.astype(dtype)


astype_p = Primitive("astype", _astype, family="linear")


def _astype_jvp(t: Any, ans: Any, x: Any, dtype: Any) -> Any:
    return bind(astype_p, t, dtype=dtype)


def _astype_vjp(g: Any, ans: Any, x: Any, dtype: Any) -> Any:
    return bind(astype_p, g, dtype=x.dtype)


astype_p.def_jvp(_astype_jvp).def_vjp(_astype_vjp)
batch_elementwise(astype_p)
taylor.linear_jet(astype_p)

# -- arithmetic ---------------------------------------------------------------

add_p = Primitive("add", np.add, family="linear")


def _add_jvp(t: Any, ans: Any, x: Any, y: Any) -> Any:
    return _fit(t, ans)


def _add_vjp_x(g: Any, ans: Any, x: Any, y: Any) -> Any:
    return unbroadcast(g, x.shape, x.dtype)


def _add_vjp_y(g: Any, ans: Any, x: Any, y: Any) -> Any:
    return unbroadcast(g, y.shape, y.dtype)


add_p.def_jvp(_add_jvp, _add_jvp).def_vjp(_add_vjp_x, _add_vjp_y)
batch_elementwise(add_p)
taylor.linear_jet(add_p)

subtract_p = Primitive("subtract", np.subtract, family="linear")


def _sub_jvp_y(t: Any, ans: Any, x: Any, y: Any) -> Any:
    return _fit(-t, ans)


def _sub_vjp_y(g: Any, ans: Any, x: Any, y: Any) -> Any:
    return unbroadcast(-g, y.shape, y.dtype)


subtract_p.def_jvp(_add_jvp, _sub_jvp_y).def_vjp(_add_vjp_x, _sub_vjp_y)
batch_elementwise(subtract_p)
taylor.linear_jet(subtract_p)

negative_p = Primitive("negative", np.negative, family="linear")


def _neg_jvp(t: Any, ans: Any, x: Any) -> Any:
    return -t


negative_p.def_jvp(_neg_jvp).def_vjp(_neg_jvp)
batch_elementwise(negative_p)
taylor.linear_jet(negative_p)

multiply_p = Primitive("multiply", np.multiply, family="bilinear")


def _mul_jvp_x(t: Any, ans: Any, x: Any, y: Any) -> Any:
    return _fit(t * y, ans)


def _mul_jvp_y(t: Any, ans: Any, x: Any, y: Any) -> Any:
    return _fit(t * x, ans)  # t first: Python complex * NumPy float64 is a Python complex


def _mul_vjp_x(g: Any, ans: Any, x: Any, y: Any) -> Any:
    return unbroadcast(g * conj(y), x.shape, x.dtype)


def _mul_vjp_y(g: Any, ans: Any, x: Any, y: Any) -> Any:
    return unbroadcast(g * conj(x), y.shape, y.dtype)


multiply_p.def_jvp(_mul_jvp_x, _mul_jvp_y).def_vjp(_mul_vjp_x, _mul_vjp_y)
batch_elementwise(multiply_p)
taylor.multilinear_jet(multiply_p)  # Cauchy products

divide_p = Primitive("divide", np.true_divide)


def _div_jvp_x(t: Any, ans: Any, x: Any, y: Any) -> Any:
    return _fit(t / y, ans)


def _div_jvp_y(t: Any, ans: Any, x: Any, y: Any) -> Any:
    return _fit(-t * ans / y, ans)


def _div_vjp_x(g: Any, ans: Any, x: Any, y: Any) -> Any:
    return unbroadcast(g / conj(y), x.shape, x.dtype)


def _div_vjp_y(g: Any, ans: Any, x: Any, y: Any) -> Any:
    return unbroadcast(-g * conj(ans / y), y.shape, y.dtype)


divide_p.def_jvp(_div_jvp_x, _div_jvp_y).def_vjp(_div_vjp_x, _div_vjp_y)
batch_elementwise(divide_p)


def _divide_jet(primals: list[Any], series: list[Any]) -> tuple[Any, Any]:
    """q = a / b: q b = a gives q_k = (a_k - Σ_{j=1}^k b_j q_(k-j)) / b0."""
    (a, b), (sa, sb) = primals, series
    K = taylor.series_order(series)
    q0 = bind(divide_p, a, b)
    if sb is None:  # linear in a
        return q0, [None if c is None else c / b for c in sa]
    return q0, taylor.series_divide(taylor.full_series(a, sa, K), _full(b, sb), q0, K)


divide_p.def_jet(_divide_jet)

power_p = Primitive(
    "power", np.power,
    notes="∂/∂x is exactly 0 where the exponent is 0; ∂/∂y = log(x) x^y is taken as 0 at x = 0",
)


def _pow_dx(x: Any, y: Any) -> Any:
    """∂(x^y)/∂x = y x^(y-1), exactly 0 where y == 0 (no 0 * inf at x = 0)."""
    if isinstance(y, (int, float)):
        if y == 0:
            return None
        if y == 1:
            return 1.0
        if y == 2:
            return 2 * x
        return y * x ** (y - 1)
    # 0 * inf at x = y = 0 (where x^y = 1 for all x): use x = 1 there
    both = np.logical_and(_raw(y) == 0, _raw(x) == 0)  # not `&`: a NumPy bool & a batch tracer
    if not any_set(both):
        return y * x ** (y - 1)
    return y * bind(where_p, both, 1, x) ** (y - 1)


def _pow_dy(x: Any, ans: Any) -> Any:
    """∂(x^y)/∂y = log(x) x^y, taken as 0 at x == 0 (its limit for y > 0)."""
    zero = _raw(x) == 0
    if not any_set(zero):
        return bind(log_p, x) * ans
    return bind(log_p, bind(where_p, zero, 1, x)) * ans


def _pow_jvp_x(t: Any, ans: Any, x: Any, y: Any) -> Any:
    d = _pow_dx(x, y)
    return None if d is None else _fit(t * d, ans)


def _pow_jvp_y(t: Any, ans: Any, x: Any, y: Any) -> Any:
    return _fit(t * _pow_dy(x, ans), ans)


def _pow_vjp_x(g: Any, ans: Any, x: Any, y: Any) -> Any:
    d = _pow_dx(x, y)
    return None if d is None else unbroadcast(g * conj(d), x.shape, x.dtype)


def _pow_vjp_y(g: Any, ans: Any, x: Any, y: Any) -> Any:
    return unbroadcast(g * conj(_pow_dy(x, ans)), y.shape, y.dtype)


power_p.def_jvp(_pow_jvp_x, _pow_jvp_y).def_vjp(_pow_vjp_x, _pow_vjp_y)
batch_elementwise(power_p)


def _integer_power(x: list[Any], n: int, K: int) -> list[Any]:
    """The full series of x^n (n ≥ 1) by repeated squaring of Cauchy products:
    exact at x0 = 0, where the recurrence below divides by x0."""
    result = None
    base = x
    while True:
        if n & 1:
            result = base if result is None else taylor.series_product(result, base, K)
        n >>= 1
        if not n:
            assert result is not None  # (n >= 1: its highest bit set it)
            return result
        base = taylor.series_product(base, base, K)


def _power_jet(primals: list[Any], series: list[Any]) -> tuple[Any, Any]:
    """y = x^p. A constant exponent: x y' = p y x' gives, term by term,
    y_k = (1/(k x0)) Σ_{j=1}^k (p j - (k - j)) x_j y_(k-j) (for a whole
    p ≥ 0, repeated Cauchy products instead, exact at x0 = 0). A varying
    exponent: y = exp(p log x), so z = p log x by a Cauchy product and y' = y z'.
    Both divide by x0, so where some x0 == 0 the general rule (repeated JVPs)
    gives what nested jvp gives, 0 · x^(p-k) limits and log x = 0 included."""
    (x, p), (sx, sp) = primals, series
    K = taylor.series_order(series)
    if sp is None and not isinstance(p, Tracer) and np.ndim(p) == 0 and float(p) >= 0 \
            and float(p) == int(p):
        n = int(p)
        ans = bind(power_p, x, p)
        return ans, (None if n == 0 else _integer_power(_full(x, sx), n, K)[1:])
    if any_set(_raw(x) == 0):
        return _power_general_jet(primals, series)
    ans = bind(power_p, x, p)
    if sp is None:
        xf = _full(x, sx)
        y = [ans]
        for k in range(1, K + 1):
            acc = None
            for j in range(1, k + 1):
                if xf[j] is None:
                    continue
                term = xf[j] * y[k - j]
                w = p * j - (k - j)
                acc = taylor.add(acc, term * w)
            y.append(None if acc is None else acc / (k * x))
        return ans, y[1:]
    if sx is None:
        log_x = [bind(log_p, x)] + [None] * K
    else:
        log_x = [bind(log_p, x), *taylor.series_log(_full(x, sx), K)]
    z = taylor.series_product(_full(p, sp), log_x, K)
    return ans, taylor.series_exp(ans, z, K)


_power_general_jet = taylor.general_jet_rule(power_p)
power_p.def_jet(_power_jet)


# -- maximum / minimum: ties split the derivative evenly ----------------------


def _tie_weights(x: Any, y: Any, ans: Any, pick_x: bool) -> Any:
    """1 where the operand is the strict winner, 1/2 at ties, 0 elsewhere
    (a constant mask, so higher derivatives see it as such)."""
    xr, yr = _raw(x), _raw(y)
    win = (xr > yr) if pick_x else (yr > xr)
    dtype = _raw(ans).dtype
    if dtype.kind == "f":  # three passes: the half in ans's dtype makes where's result dtype
        return np.where(xr == yr, dtype.type(0.5), win)
    w = np.where(win, 1.0, np.where(xr == yr, 0.5, 0.0))
    return w.astype(dtype, copy=False)


def _minmax(name: str, impl: Any, larger: bool) -> Primitive:
    prim = Primitive(name, impl, notes="at ties each operand gets half of the derivative")
    return elementwise_binary(
        prim,
        lambda x, y, ans: _tie_weights(x, y, ans, larger),
        lambda x, y, ans: _tie_weights(x, y, ans, not larger),
    )


maximum_p = _minmax("maximum", np.maximum, True)
minimum_p = _minmax("minimum", np.minimum, False)
batch_elementwise(maximum_p)
batch_elementwise(minimum_p)

# -- where: the condition is a (non-differentiable) boolean mask ---------------

where_p = Primitive(
    "where", np.where, family="linear",
    notes="differentiable in x and y; the condition is a constant mask",
)


def _where_jvp_c(t: Any, ans: Any, c: Any, x: Any, y: Any) -> None:
    return None


def _where_jvp_x(t: Any, ans: Any, c: Any, x: Any, y: Any) -> Any:
    return _fit(bind(where_p, _raw(c), t, 0), ans)


def _where_jvp_y(t: Any, ans: Any, c: Any, x: Any, y: Any) -> Any:
    return _fit(bind(where_p, _raw(c), 0, t), ans)


def _where_vjp_x(g: Any, ans: Any, c: Any, x: Any, y: Any) -> Any:
    return unbroadcast(bind(where_p, _raw(c), g, 0), x.shape, x.dtype)


def _where_vjp_y(g: Any, ans: Any, c: Any, x: Any, y: Any) -> Any:
    return unbroadcast(bind(where_p, _raw(c), 0, g), y.shape, y.dtype)


where_p.def_jvp(_where_jvp_c, _where_jvp_x, _where_jvp_y)
where_p.def_vjp(_where_jvp_c, _where_vjp_x, _where_vjp_y)
batch_elementwise(where_p)
taylor.linear_jet(where_p)

# -- unary functions with a known derivative ----------------------------------
# Each declares f'(x) (given x and ans = f(x)) once; the family derives both rules.

_LN2 = math.log(2.0)
_LN10 = math.log(10.0)

exp_p = _unary("exp", np.exp, lambda x, ans: ans)
exp2_p = _unary("exp2", np.exp2, lambda x, ans: ans * _LN2)
expm1_p = _unary("expm1", np.expm1, lambda x, ans: ans + 1)


def _unary_quotient(name: str, impl: Any, denom: Callable[[Any], Any]) -> Primitive:
    """A unary function with f'(x) = 1 / denom(x): its rules divide, ∂f(x)[t] = t / d
    and ∂f(x)*[g] = g / conj(d), one pass per rule where t * (1 / d) takes two."""
    prim = _unary(name, impl, lambda x, ans: 1 / denom(x))

    def jvp(t: Any, ans: Any, x: Any) -> Any:
        return t / denom(x)

    def vjp(g: Any, ans: Any, x: Any) -> Any:
        return g / conj(denom(x))

    jvp.__name__, vjp.__name__ = f"{name}_jvp", f"{name}_vjp"
    return prim.def_jvp(jvp).def_vjp(vjp)


log_p = _unary_quotient("log", np.log, lambda x: x)
log2_p = _unary_quotient("log2", np.log2, lambda x: x * _LN2)
log10_p = _unary_quotient("log10", np.log10, lambda x: x * _LN10)
log1p_p = _unary_quotient("log1p", np.log1p, lambda x: x + 1)
sqrt_p = _unary("sqrt", np.sqrt, lambda x, ans: 0.5 / ans, notes="derivative inf at x = 0")
cbrt_p = _unary(
    "cbrt", np.cbrt, lambda x, ans: 1 / (3 * ans * ans), notes="derivative inf at x = 0"
)
square_p = _unary("square", np.square, lambda x, ans: 2 * x)
reciprocal_p = _unary("reciprocal", np.reciprocal, lambda x, ans: -(ans * ans))
sin_p = _unary("sin", np.sin, lambda x, ans: bind(cos_p, x))
cos_p: Primitive = _unary("cos", np.cos, lambda x, ans: -bind(sin_p, x))
tan_p = _unary("tan", np.tan, lambda x, ans: 1 + ans * ans)
arcsin_p = _unary(
    "arcsin", np.arcsin, lambda x, ans: 1 / bind(sqrt_p, 1 - x * x), notes="inf at |x| = 1"
)
arccos_p = _unary(
    "arccos", np.arccos, lambda x, ans: -1 / bind(sqrt_p, 1 - x * x), notes="inf at |x| = 1"
)
arctan_p = _unary("arctan", np.arctan, lambda x, ans: 1 / (1 + x * x))
sinh_p = _unary("sinh", np.sinh, lambda x, ans: bind(cosh_p, x))
cosh_p: Primitive = _unary("cosh", np.cosh, lambda x, ans: bind(sinh_p, x))
tanh_p = _unary("tanh", np.tanh, lambda x, ans: 1 - ans * ans)
arcsinh_p = _unary("arcsinh", np.arcsinh, lambda x, ans: 1 / bind(sqrt_p, x * x + 1))
arccosh_p = _unary(
    "arccosh", np.arccosh,
    # complex z: 1/(sqrt(z - 1) sqrt(z + 1)), NumPy's branch (sqrt(z² - 1) flips sign for Re z < 0)
    lambda x, ans: 1 / (bind(sqrt_p, x - 1) * bind(sqrt_p, x + 1) if x.dtype.kind == "c"
                        else bind(sqrt_p, x * x - 1)),
    notes="inf at x = 1",
)
arctanh_p = _unary("arctanh", np.arctanh, lambda x, ans: 1 / (1 - x * x))
abs_p = Primitive(
    "abs", np.abs, family="elementwise",
    notes="derivative sign(x), taken as 0 at x = 0; on complex z, ∂|z|[t] = Re(conj(z) t)/|z|",
)


def _abs_jvp(t: Any, ans: Any, x: Any) -> Any:
    if x.dtype.kind == "c":
        return bind(real_p, bind(conj_p, x) * t) * safe_reciprocal(ans)
    return t * bind(sign_p, x)


def _abs_vjp(g: Any, ans: Any, x: Any) -> Any:
    if x.dtype.kind == "c":  # the adjoint of t ↦ Re(conj(z) t)/|z|: g ↦ g z/|z|
        return g * safe_reciprocal(ans) * x
    return g * bind(sign_p, x)


abs_p.def_jvp(_abs_jvp).def_vjp(_abs_vjp)
batch_elementwise(abs_p)
taylor.not_holomorphic(abs_p, taylor.general_jet_rule(abs_p))

# -- complex parts: R-linear, not holomorphic (no Taylor mode on complex values) -------

conj_p = Primitive("conj", np.conjugate, family="linear",
                   notes="R-linear, not holomorphic; its own adjoint")


def _conj_jvp(t: Any, ans: Any, x: Any) -> Any:
    return bind(conj_p, t)


conj_p.def_jvp(_conj_jvp).def_vjp(_conj_jvp)
batch_elementwise(conj_p)
taylor.not_holomorphic(conj_p)

real_p = Primitive("real", np.real, family="linear",
                   notes="Re: C -> R; its adjoint embeds R in C")
imag_p = Primitive("imag", np.imag, family="linear",
                   notes="Im: C -> R; its adjoint is r -> i r")


def _real_jvp(t: Any, ans: Any, x: Any) -> Any:
    return bind(real_p, t)


def _real_vjp(g: Any, ans: Any, x: Any) -> Any:
    return bind(astype_p, g, dtype=x.dtype)


def _imag_jvp(t: Any, ans: Any, x: Any) -> Any:
    return bind(imag_p, t)


def _imag_vjp(g: Any, ans: Any, x: Any) -> Any:
    return bind(astype_p, g * 1j, dtype=x.dtype)


real_p.def_jvp(_real_jvp).def_vjp(_real_vjp)
imag_p.def_jvp(_imag_jvp).def_vjp(_imag_vjp)
batch_elementwise(real_p)
batch_elementwise(imag_p)
taylor.not_holomorphic(real_p)
taylor.not_holomorphic(imag_p)

# Taylor mode: the general rule of `_unary` (y' = f'(x) x' one order lower) is replaced
# where a function satisfies a simple ODE by its classical recurrence, O(K²) products
# (raw coefficients, see riesz/_interpreters/taylor.py).


def _exp_family_jet(prim: Primitive, rate: float, offset: float) -> None:
    """exp (rate 1), exp2 (rate ln 2), expm1 (exp minus 1): e = y + offset
    solves e' = rate e x', so e_k = (rate/k) Σ j x_j e_(k-j)."""

    def rule(primals: list[Any], series: list[Any]) -> tuple[Any, Any]:
        (x,), (sx,) = primals, series
        y0 = bind(prim, x)
        z = [None, *[taylor.scale(rate, c) for c in sx]]
        return y0, taylor.series_exp(y0 + offset if offset else y0, z, len(sx))

    rule.__name__ = f"{prim.name}_jet"
    prim.def_jet(rule)


_exp_family_jet(exp_p, 1.0, 0.0)
_exp_family_jet(exp2_p, _LN2, 0.0)
_exp_family_jet(expm1_p, 1.0, 1.0)


def _log_family_jet(prim: Primitive, scale: float, shift: float) -> None:
    """log (x0 y' = x'), log2 and log10 (scaled), log1p (the log of 1 + x)."""

    def rule(primals: list[Any], series: list[Any]) -> tuple[Any, Any]:
        (x,), (sx,) = primals, series
        base = [x + shift if shift else x, *sx]
        return bind(prim, x), [taylor.scale(scale, c)
                               for c in taylor.series_log(base, len(sx))]

    rule.__name__ = f"{prim.name}_jet"
    prim.def_jet(rule)


_log_family_jet(log_p, 1.0, 0.0)
_log_family_jet(log2_p, 1 / _LN2, 0.0)
_log_family_jet(log10_p, 1 / _LN10, 0.0)
_log_family_jet(log1p_p, 1.0, 1.0)


def _sqrt_jet(primals: list[Any], series: list[Any]) -> tuple[Any, Any]:
    """y² = x: y_k = (x_k - Σ_{j=1}^{k-1} y_j y_(k-j)) / (2 y0)."""
    (x,), (sx,) = primals, series
    y0 = bind(sqrt_p, x)
    return y0, taylor.series_sqrt(_full(x, sx), y0, len(sx))


sqrt_p.def_jet(_sqrt_jet)


def _reciprocal_jet(primals: list[Any], series: list[Any]) -> tuple[Any, Any]:
    """y = 1/x, the quotient recurrence with numerator 1."""
    (x,), (sx,) = primals, series
    y0 = bind(reciprocal_p, x)
    K = len(sx)
    return y0, taylor.series_divide([1.0] + [None] * K, _full(x, sx), y0, K)


reciprocal_p.def_jet(_reciprocal_jet)


def _trig_pair_jet(prim: Primitive, first: Primitive, second: Primitive, sign: float,
                   pick: int) -> None:
    """sin and cos (sign -1), sinh and cosh (+1) come as a pair:
    s' = c x', c' = sign s x'. `pick` is 0 for the first of the pair."""

    def rule(primals: list[Any], series: list[Any]) -> tuple[Any, Any]:
        (x,), (sx,) = primals, series
        s0, c0 = bind(first, x), bind(second, x)
        pair = taylor.series_sincos(_full(x, sx), s0, c0, len(sx), sign)
        return (s0, c0)[pick], pair[pick]

    rule.__name__ = f"{prim.name}_jet"
    prim.def_jet(rule)


_trig_pair_jet(sin_p, sin_p, cos_p, -1.0, 0)
_trig_pair_jet(cos_p, sin_p, cos_p, -1.0, 1)
_trig_pair_jet(sinh_p, sinh_p, cosh_p, 1.0, 0)
_trig_pair_jet(cosh_p, sinh_p, cosh_p, 1.0, 1)


def _riccati_jet(prim: Primitive, a: float, b: float) -> None:
    """tan (y' = (1 + y²) x') and tanh (y' = (1 - y²) x')."""

    def rule(primals: list[Any], series: list[Any]) -> tuple[Any, Any]:
        (x,), (sx,) = primals, series
        y0 = bind(prim, x)
        return y0, taylor.series_riccati(_full(x, sx), y0, len(sx), a, b)

    rule.__name__ = f"{prim.name}_jet"
    prim.def_jet(rule)


_riccati_jet(tan_p, 1.0, 1.0)
_riccati_jet(tanh_p, 1.0, -1.0)

# -- numerically safe pieces of rules -------------------------------------------


def safe_reciprocal(x: Any) -> Any:
    """1/x where x != 0 and 0 where x == 0, with derivatives of the same form
    (the mask is a constant, so no inf * 0 appears at any order)."""
    zero = _raw(x) == 0
    if not any_set(zero):
        return 1 / x
    return bind(where_p, zero, 0, 1 / bind(where_p, zero, 1, x))


def safe_sqrt(x: Any) -> Any:
    """sqrt(x), with derivative 0 (instead of inf) where x == 0."""
    zero = _raw(x) == 0
    if not any_set(zero):
        return bind(sqrt_p, x)
    return bind(where_p, zero, 0, bind(sqrt_p, bind(where_p, zero, 1, x)))


# -- binary functions with known partial derivatives --------------------------


def _hypot_d(x: Any, ans: Any) -> Any:
    return x * safe_reciprocal(ans)


hypot_p = elementwise_binary(
    Primitive("hypot", np.hypot, notes="derivative taken as 0 at x = y = 0"),
    lambda x, y, ans: _hypot_d(x, ans),
    lambda x, y, ans: _hypot_d(y, ans),
)


def _atan2_den(x: Any, y: Any) -> Any:
    return safe_reciprocal(x * x + y * y)


# arctan2(y, x): ∂/∂y = x / (x² + y²), ∂/∂x = -y / (x² + y²)
arctan2_p = elementwise_binary(
    Primitive("arctan2", np.arctan2, notes="derivative taken as 0 at the origin"),
    lambda y, x, ans: x * _atan2_den(x, y),
    lambda y, x, ans: -y * _atan2_den(x, y),
)
# logaddexp(x, y) = log(e^x + e^y): ∂/∂x = e^(x - ans), stable for large |x|
logaddexp_p = elementwise_binary(
    Primitive("logaddexp", np.logaddexp),
    lambda x, y, ans: bind(exp_p, x - ans),
    lambda x, y, ans: bind(exp_p, y - ans),
)
logaddexp2_p = elementwise_binary(
    Primitive("logaddexp2", np.logaddexp2),
    lambda x, y, ans: bind(exp2_p, x - ans),
    lambda x, y, ans: bind(exp2_p, y - ans),
)
# x mod y = x - floor(x / y) y: ∂/∂x = 1, ∂/∂y = -floor(x / y) (a step function)
remainder_p = elementwise_binary(
    Primitive("remainder", np.remainder, notes="jumps where x / y is an integer"),
    lambda x, y, ans: 1.0,
    lambda x, y, ans: -bind(floor_p, x / y),
)
fmod_p = elementwise_binary(
    Primitive("fmod", np.fmod, notes="jumps where x / y is an integer"),
    lambda x, y, ans: 1.0,
    lambda x, y, ans: -bind(trunc_p, x / y),
)

# -- zero derivative: defined everywhere it is finite, and equal to 0 ----------

sign_p = Primitive("sign", np.sign, kind=ZERO_DERIVATIVE, notes="derivative 0 (not defined at 0)")
floor_p: Primitive = Primitive("floor", np.floor, kind=ZERO_DERIVATIVE)
ceil_p = Primitive("ceil", np.ceil, kind=ZERO_DERIVATIVE)
trunc_p: Primitive = Primitive("trunc", np.trunc, kind=ZERO_DERIVATIVE)
rint_p = Primitive("rint", np.rint, kind=ZERO_DERIVATIVE)
round_p = Primitive(
    "round", lambda x, decimals: np.round(x, decimals), kind=ZERO_DERIVATIVE,
    notes="round to `decimals` places; derivative 0",
)
floor_divide_p = Primitive("floor_divide", np.floor_divide, kind=ZERO_DERIVATIVE)
stop_gradient_p = Primitive(
    "stop_gradient", lambda x: x, kind=ZERO_DERIVATIVE,
    notes="identity whose derivative is 0 at every level of nesting",
)
for _prim in (sign_p, floor_p, ceil_p, trunc_p, rint_p, round_p, floor_divide_p,
              stop_gradient_p):
    batch_elementwise(_prim)  # entrywise; no jet rule (constants)

# -- not differentiable: boolean outputs ---------------------------------------

greater_p = Primitive("greater", np.greater, kind=NOT_DIFFERENTIABLE)
greater_equal_p = Primitive("greater_equal", np.greater_equal, kind=NOT_DIFFERENTIABLE)
less_p = Primitive("less", np.less, kind=NOT_DIFFERENTIABLE)
less_equal_p = Primitive("less_equal", np.less_equal, kind=NOT_DIFFERENTIABLE)
equal_p = Primitive("equal", np.equal, kind=NOT_DIFFERENTIABLE)
not_equal_p = Primitive("not_equal", np.not_equal, kind=NOT_DIFFERENTIABLE)
logical_and_p = Primitive("logical_and", np.logical_and, kind=NOT_DIFFERENTIABLE)
logical_or_p = Primitive("logical_or", np.logical_or, kind=NOT_DIFFERENTIABLE)
logical_xor_p = Primitive("logical_xor", np.logical_xor, kind=NOT_DIFFERENTIABLE)
logical_not_p = Primitive("logical_not", np.logical_not, kind=NOT_DIFFERENTIABLE)
isnan_p = Primitive("isnan", np.isnan, kind=NOT_DIFFERENTIABLE)
isinf_p = Primitive("isinf", np.isinf, kind=NOT_DIFFERENTIABLE)
isfinite_p = Primitive("isfinite", np.isfinite, kind=NOT_DIFFERENTIABLE)
signbit_p = Primitive("signbit", np.signbit, kind=NOT_DIFFERENTIABLE)
for _prim in (greater_p, greater_equal_p, less_p, less_equal_p, equal_p, not_equal_p,
              logical_and_p, logical_or_p, logical_xor_p, logical_not_p, isnan_p, isinf_p,
              isfinite_p, signbit_p):
    batch_elementwise(_prim)  # entrywise; no jet rule (constants)
