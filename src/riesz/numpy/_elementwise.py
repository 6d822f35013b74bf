"""Public elementwise functions (NumPy ufunc names and signatures).

Each binds one primitive of `elementwise.py`; composites (clip, deg2rad,
float_power, fmax, nan_to_num, ...) are built from them. The wrappers are
kept thin: they are on the hot path of every traced computation.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from .._core.primitive import DIFFERENTIABLE, JOINT, Primitive
from .._core.trace import Tracer, bind
from .._core.trace import raw_value as _raw_value
from .._core.trace import strip_derivatives as _raw
from .._primitives._util import as_array, asarray, check_out
from .._primitives.elementwise import (
    abs_p,
    add_p,
    arccos_p,
    arccosh_p,
    arcsin_p,
    arcsinh_p,
    arctan2_p,
    arctan_p,
    arctanh_p,
    astype_p,
    cbrt_p,
    ceil_p,
    conj_p,
    cos_p,
    cosh_p,
    divide_p,
    equal_p,
    exp2_p,
    exp_p,
    expm1_p,
    floor_divide_p,
    floor_p,
    fmod_p,
    greater_equal_p,
    greater_p,
    hypot_p,
    imag_p,
    isfinite_p,
    isinf_p,
    isnan_p,
    less_equal_p,
    less_p,
    log1p_p,
    log2_p,
    log10_p,
    log_p,
    logaddexp2_p,
    logaddexp_p,
    logical_and_p,
    logical_not_p,
    logical_or_p,
    logical_xor_p,
    maximum_p,
    minimum_p,
    multiply_p,
    negative_p,
    not_equal_p,
    power_p,
    real_p,
    reciprocal_p,
    remainder_p,
    rint_p,
    round_p,
    safe_reciprocal,
    sign_p,
    signbit_p,
    sin_p,
    sinh_p,
    sqrt_p,
    square_p,
    stop_gradient_p,
    subtract_p,
    tan_p,
    tanh_p,
    trunc_p,
    where_p,
)
from .._primitives.indexing import nonzero
from .._primitives.reductions import all_p


def _ufunc_options(name: str, args: tuple[Any, ...], out: Any, kwargs: dict[str, Any]) -> Any:
    """Apply NumPy's ufunc keywords: out=None only, where=True only, dtype casts
    the inputs (NumPy computes in that dtype; dtype=bool, the output type of
    comparisons and logical functions, leaves them); anything else is refused."""
    check_out(name, out)
    dtype = kwargs.pop("dtype", None)
    where = kwargs.pop("where", True)
    if where is not True:
        raise NotImplementedError(f"{name}: where= masks are not supported; use riesz.numpy.where")
    if kwargs.pop("signature", None) is not None:
        raise NotImplementedError(f"{name}: signature= is not supported; use dtype=")
    for key in ("casting", "order", "subok"):  # layout and casting checks: no effect on values
        kwargs.pop(key, None)
    if kwargs:
        raise TypeError(f"{name}: keyword arguments {sorted(kwargs)} are not supported")
    args = tuple(asarray(a) for a in args)
    if dtype is not None and np.dtype(dtype) != np.bool_:
        args = tuple(astype(a, dtype) for a in args)
    return args


def _caller_module() -> str:
    """The module that called the factory (`_unary` / `_binary`), where the function is
    public: `riesz.scipy.special.erf` belongs there, for `help`, `pickle` and the docs."""
    return str(sys._getframe(2).f_globals["__name__"])


def _mirrored(f: Any) -> str:
    """The NumPy / SciPy namespace that `f`'s public module mirrors."""
    return "scipy.special" if f.__module__.startswith("riesz.scipy") else "numpy"


def _unary(prim: Primitive, name: str) -> Any:
    def f(x: Any, /, out: Any = None, **kwargs: Any) -> Any:
        if out is not None or kwargs:
            (x,) = _ufunc_options(name, (x,), out, kwargs)
        elif type(x) is list or type(x) is tuple:
            x = asarray(x)
        return bind(prim, x)

    f.__name__ = f.__qualname__ = name
    f.__module__ = _caller_module()
    kind = DIFFERENTIABLE if prim.kind is JOINT else prim.kind  # (how is internal)
    rule = {"differentiable": "; ∂f(x)[u] = f'(x) ⊙ u", "zero derivative": ": ∂f(x)[u] = 0",
            "not differentiable": ": a boolean array"}[kind]
    f.__doc__ = f"Elementwise `{_mirrored(f)}.{name}` ({kind}){rule}."
    return f


def _binary(prim: Primitive, name: str) -> Any:
    def f(x1: Any, x2: Any, /, out: Any = None, **kwargs: Any) -> Any:
        if out is not None or kwargs:
            x1, x2 = _ufunc_options(name, (x1, x2), out, kwargs)
        else:
            if type(x1) is list or type(x1) is tuple:
                x1 = asarray(x1)
            if type(x2) is list or type(x2) is tuple:
                x2 = asarray(x2)
        return bind(prim, x1, x2)

    f.__name__ = f.__qualname__ = name
    f.__module__ = _caller_module()
    kind = DIFFERENTIABLE if prim.kind is JOINT else prim.kind
    rule = {"differentiable": "; ∂f[(u, v)] = ∂₁f ⊙ u + ∂₂f ⊙ v",
            "zero derivative": ": ∂f = 0", "not differentiable": ": a boolean array"}[kind]
    f.__doc__ = f"Elementwise `{_mirrored(f)}.{name}` with broadcasting ({kind}){rule}."
    return f


# -- arithmetic -------------------------------------------------------------------

add = _binary(add_p, "add")
subtract = _binary(subtract_p, "subtract")
multiply = _binary(multiply_p, "multiply")
divide = true_divide = _binary(divide_p, "divide")
power = pow = _binary(power_p, "power")
mod = remainder = _binary(remainder_p, "remainder")
fmod = _binary(fmod_p, "fmod")
floor_divide = _binary(floor_divide_p, "floor_divide")
maximum = _binary(maximum_p, "maximum")
minimum = _binary(minimum_p, "minimum")
hypot = _binary(hypot_p, "hypot")
arctan2 = atan2 = _binary(arctan2_p, "arctan2")
logaddexp = _binary(logaddexp_p, "logaddexp")
logaddexp2 = _binary(logaddexp2_p, "logaddexp2")

negative = _unary(negative_p, "negative")
exp = _unary(exp_p, "exp")
exp2 = _unary(exp2_p, "exp2")
expm1 = _unary(expm1_p, "expm1")
log = _unary(log_p, "log")
log2 = _unary(log2_p, "log2")
log10 = _unary(log10_p, "log10")
log1p = _unary(log1p_p, "log1p")
sqrt = _unary(sqrt_p, "sqrt")
cbrt = _unary(cbrt_p, "cbrt")
square = _unary(square_p, "square")
reciprocal = _unary(reciprocal_p, "reciprocal")
sin = _unary(sin_p, "sin")
cos = _unary(cos_p, "cos")
tan = _unary(tan_p, "tan")
arcsin = asin = _unary(arcsin_p, "arcsin")
arccos = acos = _unary(arccos_p, "arccos")
arctan = atan = _unary(arctan_p, "arctan")
sinh = _unary(sinh_p, "sinh")
cosh = _unary(cosh_p, "cosh")
tanh = _unary(tanh_p, "tanh")
arcsinh = asinh = _unary(arcsinh_p, "arcsinh")
arccosh = acosh = _unary(arccosh_p, "arccosh")
arctanh = atanh = _unary(arctanh_p, "arctanh")
abs = absolute = fabs = _unary(abs_p, "absolute")

# -- zero derivative ----------------------------------------------------------------

_sign = _unary(sign_p, "sign")


def sign(x: Any, /, out: Any = None, **kwargs: Any) -> Any:
    """Elementwise `numpy.sign`: derivative 0 on real values; on complex ones
    NumPy's z/|z| (0 at 0), which is differentiable away from 0."""
    if isinstance(x, Tracer) and x.dtype.kind == "c" and out is None and not kwargs:
        return x * safe_reciprocal(bind(abs_p, x))
    return _sign(x, out, **kwargs)

floor = _unary(floor_p, "floor")
ceil = _unary(ceil_p, "ceil")
trunc = fix = _unary(trunc_p, "trunc")
rint = _unary(rint_p, "rint")

# -- not differentiable: boolean outputs ----------------------------------------------

greater = _binary(greater_p, "greater")
greater_equal = _binary(greater_equal_p, "greater_equal")
less = _binary(less_p, "less")
less_equal = _binary(less_equal_p, "less_equal")
equal = _binary(equal_p, "equal")
not_equal = _binary(not_equal_p, "not_equal")
logical_and = _binary(logical_and_p, "logical_and")
logical_or = _binary(logical_or_p, "logical_or")
logical_xor = _binary(logical_xor_p, "logical_xor")
logical_not = _unary(logical_not_p, "logical_not")
isnan = _unary(isnan_p, "isnan")
isinf = _unary(isinf_p, "isinf")
isfinite = _unary(isfinite_p, "isfinite")
signbit = _unary(signbit_p, "signbit")


# -- composites -----------------------------------------------------------------------


def positive(x: Any, /, out: Any = None, **kwargs: Any) -> Any:
    """`numpy.positive`: the identity."""
    (x,) = _ufunc_options("positive", (x,), out, kwargs)
    return x


def conjugate(x: Any, /, out: Any = None, **kwargs: Any) -> Any:
    """`numpy.conjugate`: R-linear and its own adjoint; the identity on real values
    (at no cost)."""
    (x,) = _ufunc_options("conjugate", (x,), out, kwargs)
    if not isinstance(x, Tracer):
        return np.conjugate(x)
    return bind(conj_p, x) if x.dtype.kind == "c" else x


conj = conjugate


def real(val: Any) -> Any:
    """`numpy.real`: Re z (its adjoint embeds R in C); the identity on real values."""
    val = asarray(val)
    if not isinstance(val, Tracer):
        return np.real(val)
    return bind(real_p, val) if val.dtype.kind == "c" else val


def imag(val: Any) -> Any:
    """`numpy.imag`: Im z (its adjoint is r ↦ i r); zeros (a constant) on real values."""
    val = asarray(val)
    if not isinstance(val, Tracer):
        return np.imag(val)
    if val.dtype.kind == "c":
        return bind(imag_p, val)
    return np.zeros(val.shape, val.dtype)


def deg2rad(x: Any, /, out: Any = None, **kwargs: Any) -> Any:
    """Degrees to radians: x π/180 (linear)."""
    (x,) = _ufunc_options("deg2rad", (x,), out, kwargs)
    return multiply(x, np.pi / 180)


def rad2deg(x: Any, /, out: Any = None, **kwargs: Any) -> Any:
    """Radians to degrees: x 180/π (linear)."""
    (x,) = _ufunc_options("rad2deg", (x,), out, kwargs)
    return multiply(x, 180 / np.pi)


radians, degrees = deg2rad, rad2deg


def float_power(x1: Any, x2: Any, /, out: Any = None, **kwargs: Any) -> Any:
    """`numpy.float_power`: power computed in float64."""
    x1, x2 = _ufunc_options("float_power", (x1, x2), out, kwargs)
    return power(astype(x1, np.float64), astype(x2, np.float64))


def fmax(x1: Any, x2: Any, /, out: Any = None, **kwargs: Any) -> Any:
    """`numpy.fmax`: maximum ignoring NaNs (the derivative follows the value returned)."""
    x1, x2 = _ufunc_options("fmax", (x1, x2), out, kwargs)
    return where(isnan(x2), x1, where(isnan(x1), x2, maximum(x1, x2)))


def fmin(x1: Any, x2: Any, /, out: Any = None, **kwargs: Any) -> Any:
    """`numpy.fmin`: minimum ignoring NaNs."""
    x1, x2 = _ufunc_options("fmin", (x1, x2), out, kwargs)
    return where(isnan(x2), x1, where(isnan(x1), x2, minimum(x1, x2)))


def round(a: Any, decimals: int = 0, out: Any = None) -> Any:
    """`numpy.round` (zero derivative)."""
    check_out("round", out)
    return bind(round_p, asarray(a), decimals=int(decimals))


around = round


def clip(
    a: Any, a_min: Any = None, a_max: Any = None, out: Any = None, *,
    min: Any = None, max: Any = None, **kwargs: Any,
) -> Any:
    """`numpy.clip` = minimum(maximum(a, a_min), a_max): derivative 1 inside the
    interval, 0 outside, 1/2 on its ends; differentiable in the bounds too."""
    check_out("clip", out)
    (out_,) = _ufunc_options("clip", (a,), None, kwargs) if kwargs else (asarray(a),)
    lo = a_min if min is None else min
    hi = a_max if max is None else max
    if lo is not None:
        out_ = maximum(out_, lo)
    if hi is not None:
        out_ = minimum(out_, hi)
    return out_


def where(condition: Any, x: Any = None, y: Any = None, /) -> Any:
    """`numpy.where(condition, x, y)`: differentiable in x and y, not in the
    mask. With the condition only, `nonzero(condition)` (integer arrays)."""
    if x is None and y is None:
        return nonzero(condition)
    if x is None or y is None:
        raise ValueError("either both or neither of x and y should be given")
    return bind(where_p, asarray(condition), asarray(x), asarray(y))


def nan_to_num(
    x: Any, copy: bool = True, nan: float = 0.0, posinf: float | None = None,
    neginf: float | None = None,
) -> Any:
    """`numpy.nan_to_num`: the replaced entries get derivative 0."""
    x = asarray(x)
    if not isinstance(x, Tracer):
        return np.nan_to_num(x, copy=copy, nan=nan, posinf=posinf, neginf=neginf)
    info = np.finfo(x.dtype)
    hi = info.max if posinf is None else posinf
    lo = info.min if neginf is None else neginf
    xr = _raw(x)  # riesz ops on it: it still varies per example under vmap
    inf = isinf(xr)
    neg = signbit(xr)
    out = where(isnan(xr), nan, x)
    out = where(inf & ~neg, hi, out)
    return where(inf & neg, lo, out)


def stop_gradient(x: Any) -> Any:
    """The identity, with derivative 0 at every level of nesting.

    Math: ∂f(x)[u] = 0, ∂f(x)*[v] = 0.

    Examples
    --------
    >>> print(riesz.grad(lambda x: x * rnp.stop_gradient(x))(3.0))  # d/dx of x·c at c = x
    3.0
    """
    return bind(stop_gradient_p, x)


def astype(x: Any, dtype: Any, /, *, copy: bool = True) -> Any:
    """`numpy.astype` / `x.astype(dtype)`: linear for float and complex dtypes;
    complex to real float keeps the real part (the adjoint of the embedding
    R ⊂ C), traced or not, without NumPy's ComplexWarning."""
    dtype = np.dtype(dtype)
    x = asarray(x)
    if not isinstance(x, Tracer):
        x = np.asarray(x)
        if x.dtype.kind == "c" and dtype.kind == "f":
            x = x.real
        return x.astype(dtype, copy=copy)
    if x.dtype == dtype:
        return x
    if dtype.kind in "biu":  # integer / boolean casts carry no derivative
        xr = _raw(x)  # still traced under vmap: cast with the primitive
        return bind(astype_p, xr, dtype=dtype) if isinstance(xr, Tracer) else xr.astype(dtype)
    if dtype.kind not in "fc":
        raise TypeError(
            f"astype: a traced value cannot be cast to {dtype} (riesz differentiates "
            "floating-point arrays, real or complex)"
        )
    return bind(astype_p, x, dtype=dtype)


# -- comparisons of closeness and type predicates (results carry no derivative) ----------


def isclose(a: Any, b: Any, rtol: float = 1e-05, atol: float = 1e-08,
            equal_nan: bool = False) -> Any:
    """|a - b| <= atol + rtol |b| elementwise, with NumPy's handling of infinities
    (equal infinities are close) and NaNs (close to each other only with equal_nan)."""
    a, b = as_array(a), as_array(b)
    if not isinstance(a, Tracer) and not isinstance(b, Tracer):
        return np.isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)
    a, b = _raw(a), _raw(b)  # a boolean result: no derivative
    with np.errstate(invalid="ignore", over="ignore"):
        close = logical_and(less_equal(abs(a - b), atol + rtol * abs(b)), isfinite(b))
    close = logical_or(close, equal(a, b))
    if equal_nan:
        close = logical_or(close, logical_and(isnan(a), isnan(b)))
    return close


def allclose(a: Any, b: Any, rtol: float = 1e-05, atol: float = 1e-08,
             equal_nan: bool = False) -> Any:
    """Whether every pair is `isclose` (a Python bool, traced only under vmap)."""
    close = as_array(isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan))
    if not isinstance(close, Tracer):
        return bool(np.all(close))
    return bind(all_p, close, axis=None, keepdims=False)


def iscomplexobj(x: Any) -> bool:
    """Whether x has a complex dtype (from its dtype only)."""
    return np.iscomplexobj(_raw_value(x))


def isrealobj(x: Any) -> bool:
    """Whether x does not have a complex dtype (from its dtype only)."""
    return not iscomplexobj(x)


def angle(z: Any, deg: bool = False) -> Any:
    """The argument of z: arctan2(Im z, Re z) on complex z (derivative taken as 0 at
    z = 0); for real z, arctan2(0, z): 0 for z ≥ +0 and π for z ≤ -0, with derivative 0."""
    z = as_array(z)
    if not isinstance(z, Tracer):
        return np.angle(z, deg=deg)
    if z.dtype.kind == "c":
        out = bind(arctan2_p, bind(imag_p, z), bind(real_p, z))
    else:
        out = arctan2(np.zeros((), z.dtype), z)
    return out * (180.0 / np.pi) if deg else out
