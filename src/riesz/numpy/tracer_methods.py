"""Python operators and ndarray-style methods for traced values.

The tracing core defines tracers without any arithmetic; this module gives
them NumPy's operators by binding the primitives directly (the operators are
the hottest path in tracing, so they skip the public wrappers).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._core.pytree import register_leaf_type
from .._core.trace import Tracer, bind
from .elementwise import (
    abs_p,
    add_p,
    divide_p,
    equal_p,
    greater_equal_p,
    greater_p,
    less_equal_p,
    less_p,
    multiply_p,
    negative_p,
    not_equal_p,
    power_p,
    subtract_p,
)
from .linalg import matmul_p


def _arg(x: Any) -> Any:
    return np.asarray(x) if isinstance(x, (list, tuple)) else x


def _binary_methods(prim: Any, name: str) -> tuple[Any, Any]:
    def op(self: Tracer, other: Any) -> Any:
        return bind(prim, self, _arg(other))

    def rop(self: Tracer, other: Any) -> Any:
        return bind(prim, _arg(other), self)

    op.__name__, rop.__name__ = f"__{name}__", f"__r{name}__"
    return op, rop


def _setitem(self: Tracer, index: Any, value: Any) -> None:
    raise TypeError(
        "traced values are immutable: `x[index] = v` would lose the derivative "
        "of the overwritten entries. Use a functional update instead, "
        "e.g. riesz.numpy.where(mask, v, x) or concatenate the pieces"
    )


def install() -> None:
    """Attach operators and methods to `Tracer` (idempotent)."""
    from . import amax, amin, astype, getitem, mean, reshape, sum, transpose

    for prim, name in (
        (add_p, "add"), (subtract_p, "sub"), (multiply_p, "mul"),
        (divide_p, "truediv"), (power_p, "pow"), (matmul_p, "matmul"),
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
    Tracer.__hash__ = object.__hash__  # restored after defining __eq__
    Tracer.__neg__ = lambda self: bind(negative_p, self)
    Tracer.__pos__ = lambda self: self
    Tracer.__abs__ = lambda self: bind(abs_p, self)
    Tracer.__getitem__ = getitem
    Tracer.__setitem__ = _setitem
    Tracer.T = property(lambda self: transpose(self))
    Tracer.sum = lambda self, axis=None, keepdims=False: sum(self, axis, keepdims)
    Tracer.mean = lambda self, axis=None, keepdims=False: mean(self, axis, keepdims)
    Tracer.max = lambda self, axis=None, keepdims=False: amax(self, axis, keepdims)
    Tracer.min = lambda self, axis=None, keepdims=False: amin(self, axis, keepdims)
    Tracer.astype = astype

    def _reshape(self: Tracer, *shape: Any) -> Any:
        return reshape(self, shape[0] if len(shape) == 1 else shape)

    def _transpose(self: Tracer, *axes: Any) -> Any:
        if len(axes) == 1 and not isinstance(axes[0], int):
            axes = axes[0]
        return transpose(self, axes or None)

    Tracer.reshape = _reshape
    Tracer.transpose = _transpose
    register_leaf_type(Tracer)
