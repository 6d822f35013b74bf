"""Python operators and ndarray-style methods for traced values.

The tracing core defines tracers without any arithmetic; this module gives
them NumPy's operators by binding the primitives directly (the operators are
the hottest path in tracing, so they skip the public wrappers and the NumPy
protocol machinery), and the ndarray methods (`x.sum()`, `x.reshape()`,
`x.T`, `x.at[i].set(v)`, ...) through the public functions.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._core.pytree import register_leaf_type
from .._core.trace import Tracer, bind
from .._primitives._util import asarray
from .._primitives.elementwise import (
    abs_p,
    add_p,
    divide_p,
    equal_p,
    floor_divide_p,
    greater_equal_p,
    greater_p,
    less_equal_p,
    less_p,
    logical_and_p,
    logical_not_p,
    logical_or_p,
    logical_xor_p,
    multiply_p,
    negative_p,
    not_equal_p,
    power_p,
    remainder_p,
    subtract_p,
)
from .._primitives.products import matmul_p


def _arg(x: Any) -> Any:
    return asarray(x) if isinstance(x, (list, tuple)) else x  # lists may hold tracers


def _binary_methods(prim: Any, name: str) -> tuple[Any, Any]:
    def op(self: Tracer, other: Any) -> Any:
        return bind(prim, self, _arg(other))

    def rop(self: Tracer, other: Any) -> Any:
        return bind(prim, _arg(other), self)

    op.__name__, rop.__name__ = f"__{name}__", f"__r{name}__"
    return op, rop


def _setitem(self: Tracer, index: Any, value: Any) -> None:
    raise TypeError(
        "traced values are immutable: `x[index] = v` would lose the derivative of the "
        "overwritten entries. Use a functional update, which returns a new array: "
        "x = x.at[index].set(v) (also .add, .multiply, .divide, .power, .min, .max), "
        "or riesz.numpy.index_update(x, index, v)"
    )


def _array(self: Tracer, dtype: Any = None, copy: Any = None) -> Any:
    raise TypeError(
        f"a traced value (shape {self.shape}, dtype {self.dtype}) cannot be converted to a "
        "plain numpy.ndarray: its derivative would be lost. This happens in np.asarray(x), "
        "np.array(x), float(x), and in NumPy functions that do not dispatch on the elements "
        "of a list (np.array([x, y]), np.sum([x, y])). Use np.stack([x, y]) or "
        "riesz.numpy.array([x, y]) for lists of traced values, the riesz.numpy function, "
        "or riesz.stop_gradient(x) to drop the derivative on purpose"
    )


def _iter(self: Tracer) -> Any:
    if self.ndim == 0:
        raise TypeError("iteration over a 0-d array")
    from ._indexing import getitem

    for i in range(self.shape[0]):
        yield getitem(self, i)


def _no_inplace(what: str) -> Any:
    def method(self: Tracer, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(
            f"x.{what}() modifies the array in place, which traced values do not support; "
            f"use the function form (e.g. riesz.numpy.{what}(x) / np.{what}(x)) instead"
        )

    method.__name__ = what
    return method


def _logical_methods(prim: Any, name: str) -> tuple[Any, Any]:
    """&, |, ^ on boolean masks (bitwise operations on integers are not supported)."""

    def check(*xs: Any) -> None:
        for x in xs:
            if np.result_type(getattr(x, "dtype", type(x))) != np.bool_:
                raise TypeError(f"{name} on traced values needs boolean arrays, got {x!r:.60}")

    def op(self: Tracer, other: Any) -> Any:
        check(self, other)
        return bind(prim, self, other)

    def rop(self: Tracer, other: Any) -> Any:
        check(self, other)
        return bind(prim, other, self)

    op.__name__, rop.__name__ = f"__{name}__", f"__r{name}__"
    return op, rop


def _invert(self: Tracer) -> Any:
    if self.dtype != np.bool_:
        raise TypeError(f"~ on a traced value needs a boolean array, got dtype {self.dtype}")
    return bind(logical_not_p, self)


def install() -> None:
    """Attach operators and methods to `Tracer` (idempotent)."""
    from . import _elementwise as E
    from . import _indexing as Ix
    from . import _products as Pr
    from . import _reductions as R
    from . import _shape as S

    for prim, name in (
        (add_p, "add"), (subtract_p, "sub"), (multiply_p, "mul"),
        (divide_p, "truediv"), (power_p, "pow"), (matmul_p, "matmul"),
        (floor_divide_p, "floordiv"), (remainder_p, "mod"),
    ):
        op, rop = _binary_methods(prim, name)
        setattr(Tracer, op.__name__, op)
        setattr(Tracer, rop.__name__, rop)
    for prim, name in (
        (less_p, "lt"), (less_equal_p, "le"), (greater_p, "gt"),
        (greater_equal_p, "ge"), (equal_p, "eq"), (not_equal_p, "ne"),
    ):
        op, _ = _binary_methods(prim, name)
        setattr(Tracer, op.__name__, op)
    # boolean masks (under vmap a mask can be traced): &, |, ^, ~ are logical ops
    for prim, name in ((logical_and_p, "and"), (logical_or_p, "or"), (logical_xor_p, "xor")):
        for method in _logical_methods(prim, name):
            setattr(Tracer, method.__name__, method)
    Tracer.__invert__ = _invert
    Tracer.__hash__ = object.__hash__  # restored after defining __eq__
    Tracer.__neg__ = lambda self: bind(negative_p, self)
    Tracer.__pos__ = lambda self: self
    Tracer.__abs__ = lambda self: bind(abs_p, self)
    Tracer.__getitem__ = Ix.getitem
    Tracer.__setitem__ = _setitem
    Tracer.__iter__ = _iter
    Tracer.__array__ = _array
    Tracer.T = property(lambda self: S.transpose(self))
    Tracer.mT = property(lambda self: S.swapaxes(self, -1, -2))
    Tracer.at = property(lambda self: Ix.IndexUpdateHelper(self))
    Tracer.real = property(lambda self: self)
    Tracer.imag = property(lambda self: E.imag(self))

    def _reshape(self: Tracer, *shape: Any, order: str = "C", copy: Any = None) -> Any:
        return S.reshape(self, shape[0] if len(shape) == 1 else shape, order)

    def _transpose(self: Tracer, *axes: Any) -> Any:
        if len(axes) == 1 and not isinstance(axes[0], (int, np.integer)):
            axes = axes[0]
        return S.transpose(self, axes or None)

    Tracer.reshape = _reshape
    Tracer.transpose = _transpose
    methods = {
        "sum": R.sum, "prod": R.prod, "mean": R.mean, "var": R.var, "std": R.std,
        "max": R.max, "min": R.min, "argmax": R.argmax, "argmin": R.argmin,
        "cumsum": R.cumsum, "cumprod": R.cumprod, "any": R.any, "all": R.all,
        "astype": E.astype, "clip": E.clip, "round": E.round,
        "conj": E.conjugate, "conjugate": E.conjugate,
        "ravel": S.ravel, "flatten": S.ravel, "squeeze": S.squeeze, "swapaxes": S.swapaxes,
        "repeat": S.repeat, "diagonal": S.diagonal, "trace": S.trace, "copy": S.copy,
        "argsort": S.argsort, "take": Ix.take, "nonzero": Ix.nonzero, "dot": Pr.dot,
    }
    for name, fn in methods.items():
        setattr(Tracer, name, fn)
    for name in ("sort", "fill", "resize", "put", "itemset", "partition"):
        setattr(Tracer, name, _no_inplace(name))
    register_leaf_type(Tracer)
