"""Helpers shared by the rule families: axis normalisation and un-broadcasting."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._core.primitive import Primitive
from .._core.trace import bind

Axis = tuple[int, ...] | None


def normalize_axis(axis: int | tuple[int, ...] | None, ndim: int, name: str = "axis") -> Axis:
    """`axis` as a sorted tuple of non-negative ints (None stays None)."""
    if axis is None:
        return None
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for a in axes:
        if not isinstance(a, (int, np.integer)):
            raise TypeError(f"{name} must be an int or a tuple of ints, got {axis!r}")
        if not -ndim <= a < ndim:
            raise np.exceptions.AxisError(int(a), ndim)
        out.append(int(a) % ndim if ndim else 0)
    if len(set(out)) != len(out):
        raise ValueError(f"repeated {name} in {axis!r}")
    return tuple(sorted(out))


def kept_shape(shape: tuple[int, ...], axis: Axis) -> tuple[int, ...]:
    """The shape of a reduction over `axis` with keepdims=True."""
    if axis is None:
        return (1,) * len(shape)
    return tuple(1 if i in axis else n for i, n in enumerate(shape))


# set by riesz.numpy once the primitives exist (avoids an import cycle)
sum_p: Primitive
astype_p: Primitive


def unbroadcast(g: Any, shape: tuple[int, ...], dtype: Any) -> Any:
    """Sum the cotangent `g` over the axes along which an operand of `shape`
    was broadcast, and cast it to the operand's `dtype`."""
    gshape = g.shape
    if gshape != shape:
        lead = len(gshape) - len(shape)
        if lead:
            g = bind(sum_p, g, axis=tuple(range(lead)), keepdims=False)
        ones = tuple(i for i, n in enumerate(shape) if n == 1 and gshape[lead + i] != 1)
        if ones:
            g = bind(sum_p, g, axis=ones, keepdims=True)
    gd = g.dtype
    if gd is not dtype and gd != dtype:
        g = bind(astype_p, g, dtype=np.dtype(dtype))
    return g
