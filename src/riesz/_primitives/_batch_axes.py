"""Batching-rule families for vmap (`Primitive.def_batch`).

Each rule receives the values one level down with their batch axes `dims`
(None: unbatched), moves the batch axis to the front, and re-binds the
primitive with axis parameters shifted past it; the output's batch axis is 0.
A primitive without a rule is mapped over the batch slice by slice.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .._core.primitive import Primitive
from .._core.trace import bind

Rule = Callable[..., tuple[Any, Any]]


def _shape(x: Any) -> tuple[int, ...]:
    return tuple(getattr(x, "shape", np.shape(x)))


def front(x: Any, dim: int | None) -> Any:
    """`x` with its batch axis `dim` moved to the front (unbatched `x` unchanged)."""
    if dim is None or dim == 0:
        return x
    from .shape import transpose_p

    n = len(_shape(x))
    axes = (dim, *(i for i in range(n) if i != dim))
    return bind(transpose_p, x, axes=axes)


def _batch_size(vals: list[Any], dims: list[int | None]) -> int:
    return next(_shape(v)[d] for v, d in zip(vals, dims, strict=True) if d is not None)


def broadcast_batch(x: Any, dim: int | None, size: int) -> Any:
    """`x` batched at the front; an unbatched `x` is broadcast to the batch."""
    if dim is not None:
        return front(x, dim)
    from .shape import broadcast_to_p

    return bind(broadcast_to_p, x, shape=(size, *_shape(x)))


def elementwise(prim: Primitive) -> Primitive:
    """Elementwise with broadcasting: batched operands get the batch axis in
    front and unit axes up to the per-example output rank; unbatched operands
    broadcast against the trailing axes as they would for one example."""

    def rule(vals: list[Any], dims: list[int | None], **params: Any) -> tuple[Any, int]:
        from .shape import reshape_p

        rank = max(len(_shape(v)) - (d is not None) for v, d in zip(vals, dims, strict=True))
        moved = []
        for v, d in zip(vals, dims, strict=True):
            if d is not None:
                v = front(v, d)
                s = _shape(v)
                if len(s) - 1 < rank:
                    v = bind(reshape_p, v, shape=(s[0], *(1,) * (rank - len(s) + 1), *s[1:]))
            moved.append(v)
        return bind(prim, *moved, **params), 0

    rule.__name__ = f"{prim.name}_batch"
    return prim.def_batch(rule)


def _shift(axis: Any) -> Any:
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
                params[name] = tuple(range(1, len(_shape(x))))
            else:
                params[name] = _shift(params[name])
        out = bind(prim, x, *vals[1:], **params)
        return out, (0,) * len(out) if prim.multiple_results else 0

    rule.__name__ = f"{prim.name}_batch"
    return prim.def_batch(rule)


def leading_batch(prim: Primitive) -> Primitive:
    """Operations that already map over leading axes (NumPy's linalg stacks):
    every operand gets the batch in front, broadcast where it had none."""

    def rule(vals: list[Any], dims: list[int | None], **params: Any) -> tuple[Any, Any]:
        size = _batch_size(vals, dims)
        moved = [broadcast_batch(v, d, size) for v, d in zip(vals, dims, strict=True)]
        out = bind(prim, *moved, **params)
        return out, (0,) * len(out) if prim.multiple_results else 0

    rule.__name__ = f"{prim.name}_batch"
    return prim.def_batch(rule)


def _rule(prim: Primitive, fn: Callable[..., Any]) -> Primitive:
    fn.__name__ = f"{prim.name}_batch"
    return prim.def_batch(fn)


def reshape(prim: Primitive) -> Primitive:
    def rule(vals: list[Any], dims: list[int | None], shape: tuple[int, ...]) -> Any:
        x = front(vals[0], dims[0])
        return bind(prim, x, shape=(_shape(x)[0], *shape)), 0

    return _rule(prim, rule)


def transpose(prim: Primitive) -> Primitive:
    def rule(vals: list[Any], dims: list[int | None], axes: tuple[int, ...]) -> Any:
        return bind(prim, front(vals[0], dims[0]), axes=(0, *(a + 1 for a in axes))), 0

    return _rule(prim, rule)


def broadcast_to(prim: Primitive) -> Primitive:
    def rule(vals: list[Any], dims: list[int | None], shape: tuple[int, ...]) -> Any:
        from .shape import reshape_p

        x = front(vals[0], dims[0])
        s = _shape(x)
        x = bind(reshape_p, x, shape=(s[0], *(1,) * (len(shape) - len(s) + 1), *s[1:]))
        return bind(prim, x, shape=(s[0], *shape)), 0

    return _rule(prim, rule)


def concatenate(prim: Primitive) -> Primitive:
    def rule(vals: list[Any], dims: list[int | None], axis: int) -> Any:
        size = _batch_size(vals, dims)
        moved = [broadcast_batch(v, d, size) for v, d in zip(vals, dims, strict=True)]
        return bind(prim, *moved, axis=axis + 1), 0

    return _rule(prim, rule)


def pad(prim: Primitive) -> Primitive:
    def rule(vals: list[Any], dims: list[int | None], **params: Any) -> Any:
        params["widths"] = ((0, 0), *params["widths"])
        return bind(prim, front(vals[0], dims[0]), **params), 0

    return _rule(prim, rule)


def int_axis(prim: Primitive) -> Primitive:
    """A single integer `axis` parameter where None means "flattened": batched
    only for an integer axis (None is left to the fallback)."""

    def rule(vals: list[Any], dims: list[int | None], **params: Any) -> Any:
        if params["axis"] is None or any(d is not None for d in dims[1:]):
            return NotImplemented
        params["axis"] = _shift(params["axis"])
        return bind(prim, front(vals[0], dims[0]), *vals[1:], **params), 0

    return _rule(prim, rule)


def _advanced_positions(index: tuple[Any, ...]) -> list[int]:
    return [k for k, i in enumerate(index) if isinstance(i, np.ndarray)]


def _moves_front(index: tuple[Any, ...]) -> bool:
    """Whether NumPy moves the advanced-index axes of `(slice(None),) + index`
    to the front (they are not one contiguous block)."""
    pos = _advanced_positions(index)
    return bool(pos) and pos != list(range(pos[0], pos[0] + len(pos)))


def getitem(prim: Primitive) -> Primitive:
    """x[index] per example is x[:, *index] on the batch, unless NumPy would move
    the advanced axes to the front (non-adjacent index arrays)."""

    def rule(vals: list[Any], dims: list[int | None], index: tuple[Any, ...]) -> Any:
        if _moves_front(index):
            return NotImplemented
        return bind(prim, front(vals[0], dims[0]), index=(slice(None), *index)), 0

    return _rule(prim, rule)


def scatter(prim: Primitive) -> Primitive:
    """x with v put at index, per example: the same on the batch, with the
    values aligned to the selected block's per-example rank."""

    def rule(vals: list[Any], dims: list[int | None], index: tuple[Any, ...]) -> Any:
        from .shape import reshape_p

        if _moves_front(index):
            return NotImplemented
        (x, v), (dx, dv) = vals, dims
        size = _batch_size(vals, dims)
        x = broadcast_batch(x, dx, size)
        if dv is not None:
            v = front(v, dv)
            block = np.empty(_shape(x)[1:], dtype=bool)[index].ndim  # per-example rank
            s = _shape(v)
            v = bind(reshape_p, v, shape=(s[0], *(1,) * (block - len(s) + 1), *s[1:]))
        return bind(prim, x, v, index=(slice(None), *index)), 0

    return _rule(prim, rule)


def matmul(prim: Primitive) -> Primitive:
    """NumPy's matmul broadcasts over leading axes; a batched 1-D operand is
    promoted to a matrix first and the unit axis dropped afterwards."""

    def rule(vals: list[Any], dims: list[int | None], **params: Any) -> Any:
        from .shape import reshape_p

        (a, b), (da, db) = vals, dims
        sa = _shape(a)[:da] + _shape(a)[da + 1:] if da is not None else _shape(a)
        sb = _shape(b)[:db] + _shape(b)[db + 1:] if db is not None else _shape(b)
        size = _batch_size(vals, dims)
        # per-example stack axes of each operand; batched operands get unit stack
        # axes after the batch axis so that all stack axes line up
        lead = max(len(sa) - 2, len(sb) - 2, 0)
        if da is not None:
            a = front(a, da)
            ea = (1, sa[0]) if len(sa) == 1 else sa
            a = bind(reshape_p, a, shape=(size, *(1,) * (lead - len(ea) + 2), *ea))
        if db is not None:
            b = front(b, db)
            eb = (sb[0], 1) if len(sb) == 1 else sb
            b = bind(reshape_p, b, shape=(size, *(1,) * (lead - len(eb) + 2), *eb))
        if len(sa) == 1 and len(sb) == 1:
            out_shape: tuple[int, ...] = ()
        elif len(sa) == 1:
            out_shape = (*sb[:-2], sb[-1])
        elif len(sb) == 1:
            out_shape = sa[:-1]
        else:
            out_shape = (*np.broadcast_shapes(sa[:-2], sb[:-2]), sa[-2], sb[-1])
        out = bind(prim, a, b)
        return bind(reshape_p, out, shape=(size, *out_shape)), 0

    return _rule(prim, rule)


def einsum(prim: Primitive) -> Primitive:
    """A fresh index letter for the batch axis on batched operands and the output."""

    def rule(vals: list[Any], dims: list[int | None], subscripts: str, optimize: Any) -> Any:
        ins, out = subscripts.split("->")
        if "." in subscripts:
            return NotImplemented
        letter = next(c for c in "zyxwvutsrqponmlkjihgfedcbaZYXWVUTSRQPONMLKJIHGFEDCBA"
                      if c not in subscripts)
        terms = ins.split(",")
        moved = []
        for k, (v, d) in enumerate(zip(vals, dims, strict=True)):
            if d is not None:
                terms[k] = letter + terms[k]
                v = front(v, d)
            moved.append(v)
        new = ",".join(terms) + "->" + letter + out
        return bind(prim, *moved, subscripts=new, optimize=optimize), 0

    return _rule(prim, rule)


def solve(prim: Primitive) -> Primitive:
    """Solves a x = b. NumPy's solve maps over leading stack axes and reads a 1-D right-hand
    side as one vector (NumPy 2): on the batch, b becomes an (n, 1) matrix when
    it is a vector per example, and both operands get unit stack axes after the
    batch axis so that their stacks line up."""

    def rule(vals: list[Any], dims: list[int | None], **params: Any) -> Any:
        from .shape import reshape_p

        (a, b), (da, db) = vals, dims
        size = _batch_size(vals, dims)
        a, b = broadcast_batch(a, da, size), broadcast_batch(b, db, size)
        sa, sb = _shape(a)[1:], _shape(b)[1:]
        vector = len(sb) == 1
        if vector:
            sb = (*sb, 1)
        lead = max(len(sa), len(sb)) - 2
        a = bind(reshape_p, a, shape=(size, *(1,) * (lead - len(sa) + 2), *sa))
        b = bind(reshape_p, b, shape=(size, *(1,) * (lead - len(sb) + 2), *sb))
        x = bind(prim, a, b, **params)
        return (bind(reshape_p, x, shape=_shape(x)[:-1]) if vector else x), 0

    return _rule(prim, rule)
