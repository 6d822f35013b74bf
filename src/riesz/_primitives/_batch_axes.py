"""Batching-rule families for vmap (`Primitive.def_batch`).

Each rule receives the values one level down with their batch axes `dims`
(None: unbatched), moves the batch axis to the front, and re-binds the
primitive with axis parameters shifted past it; the output's batch axis is 0.
A primitive without a rule is mapped over the batch slice by slice.

The structural primitives these helpers bind (transpose, reshape,
broadcast_to) are declared in `shape.py`, whose rules use the helpers; they are
looked up in `riesz._core.ops`, registered by `riesz._primitives`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .._core import ops
from .._core.primitive import Primitive
from .._core.trace import bind

Rule = Callable[..., tuple[Any, Any]]


def shape_of(x: Any) -> tuple[int, ...]:
    """The shape of an array, tracer or Python scalar."""
    return tuple(getattr(x, "shape", np.shape(x)))


def front(x: Any, dim: int | None) -> Any:
    """`x` with its batch axis `dim` moved to the front (unbatched `x` unchanged)."""
    if dim is None or dim == 0:
        return x

    n = len(shape_of(x))
    axes = (dim, *(i for i in range(n) if i != dim))
    return bind(ops.transpose_p, x, axes=axes)


def move_axis(x: Any, source: int, destination: int) -> Any:
    """`x` with axis `source` moved to position `destination` (negative counts from the end)."""
    n = len(shape_of(x))
    for a in (source, destination):
        if not -n <= a < n:
            raise np.exceptions.AxisError(int(a), n)
    source, destination = source % n, destination % n
    if source == destination:
        return x
    order = [i for i in range(n) if i != source]
    order.insert(destination, source)
    return bind(ops.transpose_p, x, axes=tuple(order))


def batch_size(vals: list[Any], dims: list[int | None]) -> int:
    """The size of the batch axis of the batched operands."""
    return next(shape_of(v)[d] for v, d in zip(vals, dims, strict=True) if d is not None)


def broadcast_batch(x: Any, dim: int | None, size: int) -> Any:
    """`x` batched at the front; an unbatched `x` is broadcast to the batch."""
    if dim is not None:
        return front(x, dim)

    return bind(ops.broadcast_to_p, x, shape=(size, *shape_of(x)))


def elementwise(prim: Primitive) -> Primitive:
    """Elementwise with broadcasting: batched operands get the batch axis in
    front and unit axes up to the per-example output rank; unbatched operands
    broadcast against the trailing axes as they would for one example."""

    def rule(vals: list[Any], dims: list[int | None], **params: Any) -> tuple[Any, int]:

        rank = max(len(shape_of(v)) - (d is not None) for v, d in zip(vals, dims, strict=True))
        moved = []
        for v, d in zip(vals, dims, strict=True):
            if d is not None:
                v = front(v, d)
                s = shape_of(v)
                if len(s) - 1 < rank:
                    v = bind(ops.reshape_p, v, shape=(s[0], *(1,) * (rank - len(s) + 1), *s[1:]))
            moved.append(v)
        return bind(prim, *moved, **params), 0

    rule.__name__ = f"{prim.name}_batch"
    return prim.def_batch(rule)


def shift_axes(axis: Any) -> Any:
    """Axis parameters moved past a batch axis in front."""
    if axis is None:
        return None
    if isinstance(axis, tuple):
        return tuple(a + 1 for a in axis)
    return axis + 1


def axis_params(prim: Primitive, *names: str, none_means_all: bool = False) -> Primitive:
    """One batched operand (the first); the integer or tuple parameters `names`
    count axes and move up by one. With `none_means_all`, an axis of None
    (all axes) becomes every per-example axis."""

    def rule(vals: list[Any], dims: list[int | None], **params: Any) -> Any:
        if any(d is not None for d in dims[1:]):
            return NotImplemented  # batched secondary operands: slice by slice
        x = front(vals[0], dims[0])
        for name in names:
            if params.get(name) is None and none_means_all:
                params[name] = tuple(range(1, len(shape_of(x))))
            else:
                params[name] = shift_axes(params[name])
        out = bind(prim, x, *vals[1:], **params)
        return out, (0,) * len(out) if prim.multiple_results else 0

    rule.__name__ = f"{prim.name}_batch"
    return prim.def_batch(rule)


def leading_batch(prim: Primitive) -> Primitive:
    """Operations that already map over leading axes (NumPy's linalg stacks):
    every operand gets the batch in front, broadcast where it had none."""

    def rule(vals: list[Any], dims: list[int | None], **params: Any) -> tuple[Any, Any]:
        size = batch_size(vals, dims)
        moved = [broadcast_batch(v, d, size) for v, d in zip(vals, dims, strict=True)]
        out = bind(prim, *moved, **params)
        return out, (0,) * len(out) if prim.multiple_results else 0

    rule.__name__ = f"{prim.name}_batch"
    return prim.def_batch(rule)


def _rule(prim: Primitive, fn: Callable[..., Any]) -> Primitive:
    fn.__name__ = f"{prim.name}_batch"
    return prim.def_batch(fn)


def int_axis(prim: Primitive) -> Primitive:
    """A single integer `axis` parameter where None means "flattened": batched
    only for an integer axis (None is left to the fallback)."""

    def rule(vals: list[Any], dims: list[int | None], **params: Any) -> Any:
        if params["axis"] is None or any(d is not None for d in dims[1:]):
            return NotImplemented
        params["axis"] = shift_axes(params["axis"])
        return bind(prim, front(vals[0], dims[0]), *vals[1:], **params), 0

    return _rule(prim, rule)
