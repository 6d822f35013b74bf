"""Differentiable NumPy: `import riesz.numpy as rnp`.

Functions mirror NumPy's names and signatures. Outside any transformation
they return plain NumPy values; inside one they return traced values. Each
function binds a primitive declared, with its rules, in one of the family
modules (elementwise, reductions, shape, indexing, linalg).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as _np
from numpy import (  # noqa: F401  (constants and constructors pass through)
    arange,
    e,
    eye,
    float32,
    float64,
    inf,
    linspace,
    nan,
    newaxis,
    ones,
    pi,
    zeros,
)

from .._core.trace import Tracer, bind
from . import _util
from . import tracer_methods as _tracer_methods
from .elementwise import (
    abs_p,
    add_p,
    astype_p,
    cos_p,
    divide_p,
    equal_p,
    exp_p,
    floor_p,
    greater_equal_p,
    greater_p,
    less_equal_p,
    less_p,
    log_p,
    maximum_p,
    minimum_p,
    multiply_p,
    negative_p,
    not_equal_p,
    power_p,
    sign_p,
    sin_p,
    sqrt_p,
    stop_gradient_p,
    subtract_p,
    tanh_p,
    where_p,
)
from .indexing import getitem_p, normalize_index
from .linalg import matmul_p
from .reductions import max_p, min_p, sum_p
from .shape import broadcast_to_p, concatenate_p, reshape_p, transpose_p

_util.sum_p = sum_p
_util.astype_p = astype_p


def _arr(x: Any) -> Any:
    """Lists and tuples of numbers become arrays; arrays and tracers pass."""
    if isinstance(x, (list, tuple)):
        if any(isinstance(v, Tracer) for v in x):
            return stack(x)
        return _np.asarray(x)
    return x


def _unary(prim: Any, name: str) -> Any:
    def f(x: Any) -> Any:
        return bind(prim, _arr(x))

    f.__name__ = f.__qualname__ = name
    f.__doc__ = f"Elementwise `numpy.{name}` ({prim.kind})."
    return f


def _binary(prim: Any, name: str) -> Any:
    def f(x: Any, y: Any) -> Any:
        return bind(prim, _arr(x), _arr(y))

    f.__name__ = f.__qualname__ = name
    f.__doc__ = f"Elementwise `numpy.{name}` with broadcasting ({prim.kind})."
    return f


negative = _unary(negative_p, "negative")
exp = _unary(exp_p, "exp")
log = _unary(log_p, "log")
sin = _unary(sin_p, "sin")
cos = _unary(cos_p, "cos")
tanh = _unary(tanh_p, "tanh")
sqrt = _unary(sqrt_p, "sqrt")
abs = absolute = _unary(abs_p, "abs")
sign = _unary(sign_p, "sign")
floor = _unary(floor_p, "floor")

add = _binary(add_p, "add")
subtract = _binary(subtract_p, "subtract")
multiply = _binary(multiply_p, "multiply")
divide = true_divide = _binary(divide_p, "divide")
power = _binary(power_p, "power")
maximum = _binary(maximum_p, "maximum")
minimum = _binary(minimum_p, "minimum")
greater = _binary(greater_p, "greater")
greater_equal = _binary(greater_equal_p, "greater_equal")
less = _binary(less_p, "less")
less_equal = _binary(less_equal_p, "less_equal")
equal = _binary(equal_p, "equal")
not_equal = _binary(not_equal_p, "not_equal")


def stop_gradient(x: Any) -> Any:
    """The identity, with derivative 0 at every level of nesting."""
    return bind(stop_gradient_p, x)


def where(condition: Any, x: Any, y: Any) -> Any:
    """`numpy.where(condition, x, y)`; differentiable in x and y, not in the mask."""
    return bind(where_p, _arr(condition), _arr(x), _arr(y))


def astype(x: Any, dtype: Any) -> Any:
    dtype = _np.dtype(dtype)
    if x.dtype == dtype:
        return x
    return bind(astype_p, x, dtype=dtype)


# -- reductions ------------------------------------------------------------------


def _reduce(prim: Any, x: Any, axis: Any, keepdims: bool) -> Any:
    x = _arr(x)
    return bind(prim, x, axis=_util.normalize_axis(axis, _np.ndim(x) if not isinstance(x, Tracer) else x.ndim),
                keepdims=bool(keepdims))


def sum(a: Any, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Any:
    """Sum over `axis` (all axes by default)."""
    return _reduce(sum_p, a, axis, keepdims)


def mean(a: Any, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Any:
    """Arithmetic mean over `axis`."""
    a = _arr(a)
    shape = a.shape
    axes = _util.normalize_axis(axis, len(shape))
    count = _np.prod([shape[i] for i in (range(len(shape)) if axes is None else axes)])
    return sum(a, axis, keepdims) / int(count)


def max(a: Any, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Any:
    """Maximum over `axis`; the derivative is shared evenly among ties."""
    return _reduce(max_p, a, axis, keepdims)


def min(a: Any, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Any:
    """Minimum over `axis`; the derivative is shared evenly among ties."""
    return _reduce(min_p, a, axis, keepdims)


amax, amin = max, min

# -- shape -------------------------------------------------------------------------


def reshape(a: Any, shape: int | Sequence[int]) -> Any:
    a = _arr(a)
    shape = (shape,) if isinstance(shape, (int, _np.integer)) else tuple(shape)
    if -1 in shape:
        shape = _np.empty(a.shape, dtype=bool).reshape(shape).shape
    elif _np.prod(shape, dtype=int) != _np.prod(a.shape, dtype=int):
        raise ValueError(f"cannot reshape array of shape {a.shape} into shape {shape}")
    return bind(reshape_p, a, shape=shape)


def transpose(a: Any, axes: Sequence[int] | None = None) -> Any:
    a = _arr(a)
    n = a.ndim
    axes = tuple(reversed(range(n))) if axes is None else tuple(int(i) % n for i in axes)
    if sorted(axes) != list(range(n)):
        raise ValueError(f"axes {axes} is not a permutation of the {n} axes")
    return bind(transpose_p, a, axes=axes)


def broadcast_to(a: Any, shape: int | Sequence[int]) -> Any:
    a = _arr(a)
    shape = (shape,) if isinstance(shape, (int, _np.integer)) else tuple(shape)
    _np.broadcast_shapes(a.shape, shape)  # raises a NumPy error if impossible
    return bind(broadcast_to_p, a, shape=shape)


def expand_dims(a: Any, axis: int) -> Any:
    a = _arr(a)
    shape = list(a.shape)
    shape.insert(axis if axis >= 0 else len(shape) + 1 + axis, 1)
    return bind(reshape_p, a, shape=tuple(shape))


def concatenate(arrays: Sequence[Any], axis: int = 0) -> Any:
    arrays = [_arr(x) for x in arrays]
    if not arrays:
        raise ValueError("need at least one array to concatenate")
    ndim = arrays[0].ndim
    return bind(concatenate_p, *arrays, axis=_util.normalize_axis(axis, ndim)[0])


def stack(arrays: Sequence[Any], axis: int = 0) -> Any:
    arrays = [_np.asarray(x) if not isinstance(x, Tracer) else x for x in arrays]
    if not arrays:
        raise ValueError("need at least one array to stack")
    shapes = {x.shape for x in arrays}
    if len(shapes) != 1:
        raise ValueError(f"all input arrays must have the same shape, got {sorted(shapes)}")
    ax = _util.normalize_axis(axis, arrays[0].ndim + 1)[0]
    return concatenate([expand_dims(x, ax) for x in arrays], axis=ax)


# -- indexing, products -----------------------------------------------------------------


def getitem(a: Any, index: Any) -> Any:
    """`a[index]` for every NumPy index kind."""
    return bind(getitem_p, a, index=normalize_index(index))


def matmul(a: Any, b: Any) -> Any:
    """`a @ b` with NumPy's rules for 1-D and batched operands."""
    return bind(matmul_p, _arr(a), _arr(b))


def dot(a: Any, b: Any) -> Any:
    """`numpy.dot` for operands of at most two dimensions (scalars multiply)."""
    a, b = _arr(a), _arr(b)
    if _np.ndim(a) == 0 or _np.ndim(b) == 0:
        return multiply(a, b)
    if a.ndim > 2 or b.ndim > 2:
        raise NotImplementedError(
            "riesz.numpy.dot supports operands of at most 2 dimensions; "
            "use matmul or tensordot for stacked arrays"
        )
    return matmul(a, b)


_tracer_methods.install()
