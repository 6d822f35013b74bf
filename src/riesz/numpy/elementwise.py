"""Elementwise primitives: arithmetic, transcendental functions, comparisons.

The Jacobian of an elementwise map is diagonal, so ∂f(x)[t] = f'(x) ⊙ t and
∂f(x)*[g] = f'(x) ⊙ g; unary functions declare f' once (`elementwise_unary`).
Binary operations broadcast: a tangent is broadcast up to the output's shape,
and a cotangent is summed back down to its operand's shape (`unbroadcast`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._core.primitive import (
    NOT_DIFFERENTIABLE,
    ZERO_DERIVATIVE,
    Primitive,
    elementwise_unary,
)
from .._core.trace import bind
from .._core.trace import raw_value as _raw
from ._util import unbroadcast

# -- helpers ------------------------------------------------------------------


def _fit(t: Any, ans: Any) -> Any:
    """A tangent contribution broadcast and cast to the output's shape/dtype."""
    if t.shape != ans.shape:
        t = bind(broadcast_to_p, t, shape=ans.shape)
    if t.dtype != ans.dtype:
        t = bind(astype_p, t, dtype=ans.dtype)
    return t


# -- casting --------------------------------------------------------------------

astype_p = Primitive("astype", lambda x, dtype: x.astype(dtype), family="linear")


def _astype_jvp(t: Any, ans: Any, x: Any, dtype: Any) -> Any:
    return bind(astype_p, t, dtype=dtype)


def _astype_vjp(g: Any, ans: Any, x: Any, dtype: Any) -> Any:
    return bind(astype_p, g, dtype=x.dtype)


astype_p.def_jvp(_astype_jvp).def_vjp(_astype_vjp)

# broadcast_to lives with the shape operations but _fit needs it here
from .shape import broadcast_to_p  # noqa: E402

# -- arithmetic ---------------------------------------------------------------

add_p = Primitive("add", np.add, family="linear")


def _add_jvp(t: Any, ans: Any, x: Any, y: Any) -> Any:
    return _fit(t, ans)


def _add_vjp_x(g: Any, ans: Any, x: Any, y: Any) -> Any:
    return unbroadcast(g, x.shape, x.dtype)


def _add_vjp_y(g: Any, ans: Any, x: Any, y: Any) -> Any:
    return unbroadcast(g, y.shape, y.dtype)


add_p.def_jvp(_add_jvp, _add_jvp).def_vjp(_add_vjp_x, _add_vjp_y)

subtract_p = Primitive("subtract", np.subtract, family="linear")


def _sub_jvp_y(t: Any, ans: Any, x: Any, y: Any) -> Any:
    return _fit(-t, ans)


def _sub_vjp_y(g: Any, ans: Any, x: Any, y: Any) -> Any:
    return unbroadcast(-g, y.shape, y.dtype)


subtract_p.def_jvp(_add_jvp, _sub_jvp_y).def_vjp(_add_vjp_x, _sub_vjp_y)

negative_p = Primitive("negative", np.negative, family="linear")


def _neg_jvp(t: Any, ans: Any, x: Any) -> Any:
    return -t


negative_p.def_jvp(_neg_jvp).def_vjp(_neg_jvp)

multiply_p = Primitive("multiply", np.multiply, family="bilinear")


def _mul_jvp_x(t: Any, ans: Any, x: Any, y: Any) -> Any:
    return _fit(t * y, ans)


def _mul_jvp_y(t: Any, ans: Any, x: Any, y: Any) -> Any:
    return _fit(x * t, ans)


def _mul_vjp_x(g: Any, ans: Any, x: Any, y: Any) -> Any:
    return unbroadcast(g * y, x.shape, x.dtype)


def _mul_vjp_y(g: Any, ans: Any, x: Any, y: Any) -> Any:
    return unbroadcast(x * g, y.shape, y.dtype)


multiply_p.def_jvp(_mul_jvp_x, _mul_jvp_y).def_vjp(_mul_vjp_x, _mul_vjp_y)

divide_p = Primitive("divide", np.true_divide)


def _div_jvp_x(t: Any, ans: Any, x: Any, y: Any) -> Any:
    return _fit(t / y, ans)


def _div_jvp_y(t: Any, ans: Any, x: Any, y: Any) -> Any:
    return _fit(-t * ans / y, ans)


def _div_vjp_x(g: Any, ans: Any, x: Any, y: Any) -> Any:
    return unbroadcast(g / y, x.shape, x.dtype)


def _div_vjp_y(g: Any, ans: Any, x: Any, y: Any) -> Any:
    return unbroadcast(-g * ans / y, y.shape, y.dtype)


divide_p.def_jvp(_div_jvp_x, _div_jvp_y).def_vjp(_div_vjp_x, _div_vjp_y)

power_p = Primitive("power", np.power)


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
    safe_y = bind(where_p, y == 0, 1, y)
    return bind(where_p, y == 0, 0, y * x ** (safe_y - 1))


def _pow_dy(x: Any, ans: Any) -> Any:
    """∂(x^y)/∂y = log(x) x^y, taken as 0 at x == 0 (its limit for y > 0)."""
    return bind(log_p, bind(where_p, x == 0, 1, x)) * ans


def _pow_jvp_x(t: Any, ans: Any, x: Any, y: Any) -> Any:
    d = _pow_dx(x, y)
    return None if d is None else _fit(t * d, ans)


def _pow_jvp_y(t: Any, ans: Any, x: Any, y: Any) -> Any:
    return _fit(t * _pow_dy(x, ans), ans)


def _pow_vjp_x(g: Any, ans: Any, x: Any, y: Any) -> Any:
    d = _pow_dx(x, y)
    return None if d is None else unbroadcast(g * d, x.shape, x.dtype)


def _pow_vjp_y(g: Any, ans: Any, x: Any, y: Any) -> Any:
    return unbroadcast(g * _pow_dy(x, ans), y.shape, y.dtype)


power_p.def_jvp(_pow_jvp_x, _pow_jvp_y).def_vjp(_pow_vjp_x, _pow_vjp_y)


# -- maximum / minimum: ties split the derivative evenly ----------------------


def _tie_weights(x: Any, y: Any, ans: Any, pick_x: bool) -> Any:
    """1 where the operand is the strict winner, 1/2 at ties, 0 elsewhere
    (a constant mask, so higher derivatives see it as such)."""
    xr, yr = _raw(x), _raw(y)
    win = (xr > yr) if pick_x else (yr > xr)
    w = np.where(win, 1.0, np.where(xr == yr, 0.5, 0.0))
    return w.astype(_raw(ans).dtype, copy=False)


def _minmax(name: str, impl: Any, larger: bool) -> Primitive:
    prim = Primitive(name, impl, family="elementwise")

    def jvp_x(t: Any, ans: Any, x: Any, y: Any) -> Any:
        return _fit(t * _tie_weights(x, y, ans, larger), ans)

    def jvp_y(t: Any, ans: Any, x: Any, y: Any) -> Any:
        return _fit(t * _tie_weights(x, y, ans, not larger), ans)

    def vjp_x(g: Any, ans: Any, x: Any, y: Any) -> Any:
        return unbroadcast(g * _tie_weights(x, y, ans, larger), x.shape, x.dtype)

    def vjp_y(g: Any, ans: Any, x: Any, y: Any) -> Any:
        return unbroadcast(g * _tie_weights(x, y, ans, not larger), y.shape, y.dtype)

    for f, kind in ((jvp_x, "jvp_x"), (jvp_y, "jvp_y"), (vjp_x, "vjp_x"), (vjp_y, "vjp_y")):
        f.__name__ = f"{name}_{kind}"
    return prim.def_jvp(jvp_x, jvp_y).def_vjp(vjp_x, vjp_y)


maximum_p = _minmax("maximum", np.maximum, True)
minimum_p = _minmax("minimum", np.minimum, False)

# -- where: the condition is a (non-differentiable) boolean mask ---------------

where_p = Primitive("where", np.where, family="linear")


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

# -- unary functions with a known derivative ----------------------------------

exp_p = elementwise_unary(Primitive("exp", np.exp), lambda x, ans: ans)
log_p = elementwise_unary(Primitive("log", np.log), lambda x, ans: 1 / x)
sin_p = elementwise_unary(Primitive("sin", np.sin), lambda x, ans: bind(cos_p, x))
cos_p = elementwise_unary(Primitive("cos", np.cos), lambda x, ans: -bind(sin_p, x))
tanh_p = elementwise_unary(Primitive("tanh", np.tanh), lambda x, ans: 1 - ans * ans)
sqrt_p = elementwise_unary(Primitive("sqrt", np.sqrt), lambda x, ans: 0.5 / ans)
abs_p = elementwise_unary(
    Primitive("abs", np.abs, notes="derivative sign(x); 0 at x = 0"),
    lambda x, ans: bind(sign_p, x),
)

# -- zero derivative: defined everywhere it is finite, and equal to 0 ----------

sign_p = Primitive("sign", np.sign, kind=ZERO_DERIVATIVE)
floor_p = Primitive("floor", np.floor, kind=ZERO_DERIVATIVE)
stop_gradient_p = Primitive(
    "stop_gradient", lambda x: x, kind=ZERO_DERIVATIVE,
    notes="identity whose derivative is 0 at every level of nesting",
)

# -- not differentiable: boolean outputs ---------------------------------------

greater_p = Primitive("greater", np.greater, kind=NOT_DIFFERENTIABLE)
greater_equal_p = Primitive("greater_equal", np.greater_equal, kind=NOT_DIFFERENTIABLE)
less_p = Primitive("less", np.less, kind=NOT_DIFFERENTIABLE)
less_equal_p = Primitive("less_equal", np.less_equal, kind=NOT_DIFFERENTIABLE)
equal_p = Primitive("equal", np.equal, kind=NOT_DIFFERENTIABLE)
not_equal_p = Primitive("not_equal", np.not_equal, kind=NOT_DIFFERENTIABLE)
