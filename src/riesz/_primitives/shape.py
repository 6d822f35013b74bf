"""Shape primitives. All are linear: ∂f(x)[t] = f(t), and the VJP is the
transpose (reshape back, inverse permutation, sum over broadcast axes, split
↔ concatenate, pad ↔ crop, flip and roll backwards). Under vmap the batch axis
moves to the front and the parameters shift past it; under jet each Taylor
coefficient moves like the value (`taylor.linear_jet`).

Everything else that only moves entries around (squeeze, moveaxis, tile,
repeat, take, diag, triu, ...) is a composite of these and of indexing.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._core.primitive import Primitive, linear_unary
from .._core.trace import bind
from .._core.zeros import is_foreign, zeros
from .._interpreters import taylor
from ._batch_axes import axis_params, batch_size, broadcast_batch, front, int_axis, shape_of
from ._util import unbroadcast

reshape_p = Primitive("reshape", np.reshape)


def _reshape_transpose(g: Any, x: Any, shape: tuple[int, ...]) -> Any:
    return bind(reshape_p, g, shape=x.shape)


linear_unary(reshape_p, _reshape_transpose)


def _reshape_batch(vals: list[Any], dims: list[int | None], shape: tuple[int, ...]) -> Any:
    x = front(vals[0], dims[0])
    return bind(reshape_p, x, shape=(shape_of(x)[0], *shape)), 0


reshape_p.def_batch(_reshape_batch)
taylor.linear_jet(reshape_p)

transpose_p = Primitive("transpose", np.transpose)


def _transpose_transpose(g: Any, x: Any, axes: tuple[int, ...]) -> Any:
    return bind(transpose_p, g, axes=tuple(np.argsort(axes).tolist()))


linear_unary(transpose_p, _transpose_transpose)


def _transpose_batch(vals: list[Any], dims: list[int | None], axes: tuple[int, ...]) -> Any:
    return bind(transpose_p, front(vals[0], dims[0]), axes=(0, *(a + 1 for a in axes))), 0


transpose_p.def_batch(_transpose_batch)
taylor.linear_jet(transpose_p)

broadcast_to_p = Primitive("broadcast_to", np.broadcast_to)


def _broadcast_to_transpose(g: Any, x: Any, shape: tuple[int, ...]) -> Any:
    return unbroadcast(g, x.shape, x.dtype)


linear_unary(broadcast_to_p, _broadcast_to_transpose)


def _broadcast_to_batch(vals: list[Any], dims: list[int | None], shape: tuple[int, ...]) -> Any:
    x = front(vals[0], dims[0])
    s = shape_of(x)
    x = bind(reshape_p, x, shape=(s[0], *(1,) * (len(shape) - len(s) + 1), *s[1:]))
    return bind(broadcast_to_p, x, shape=(s[0], *shape)), 0


broadcast_to_p.def_batch(_broadcast_to_batch)
taylor.linear_jet(broadcast_to_p)


def _concatenate_impl(*xs: Any, axis: int) -> Any:
    return np.concatenate(xs, axis=axis)


concatenate_p = Primitive("concatenate", _concatenate_impl, family="linear")


def _concatenate_jvp(primals: list[Any], tangents: list[Any], ans: Any, axis: int) -> Any:
    if all(t is None for t in tangents):
        return None
    parts = [
        zeros(x.shape, ans.dtype, ans) if t is None else t
        for x, t in zip(primals, tangents, strict=True)
    ]
    return bind(concatenate_p, *parts, axis=axis)


def _concatenate_vjp(
    g: Any, ans: Any, primals: list[Any], argnums: list[int], axis: int
) -> list[Any]:
    from .indexing import getitem_p

    ends = np.cumsum([x.shape[axis] for x in primals])
    out = []
    for k in argnums:
        start = int(ends[k] - primals[k].shape[axis])
        index = (slice(None),) * axis + (slice(start, int(ends[k])),)
        part = bind(getitem_p, g, index=index)
        out.append(unbroadcast(part, primals[k].shape, primals[k].dtype))
    return out


concatenate_p.def_joint_jvp(_concatenate_jvp).def_joint_vjp(_concatenate_vjp)


def _concatenate_batch(vals: list[Any], dims: list[int | None], axis: int) -> Any:
    size = batch_size(vals, dims)
    moved = [broadcast_batch(v, d, size) for v, d in zip(vals, dims, strict=True)]
    return bind(concatenate_p, *moved, axis=axis + 1), 0


concatenate_p.def_batch(_concatenate_batch)
taylor.linear_jet(concatenate_p)

# -- split: the transpose of concatenate (several outputs) ----------------------


def _split_impl(x: Any, bounds: tuple[int, ...], axis: int) -> tuple[Any, ...]:
    if is_foreign(x):  # Dask has no split: slices (lazy views on every backend)
        edges = (0, *bounds, x.shape[axis])
        lead = (slice(None),) * (axis % x.ndim)
        return tuple(x[lead + (slice(a, b),)] for a, b in zip(edges, edges[1:], strict=False))
    return tuple(np.split(x, list(bounds), axis=axis))


split_p = Primitive(
    "split", _split_impl, multiple_results=True, family="linear",
    notes="several outputs; the transpose concatenates the cotangents (zeros for unused parts)",
)


def _split_jvp(primals: Any, tangents: Any, ans: Any, bounds: Any, axis: int) -> Any:
    (t,) = tangents
    if t is None:
        return None
    return tuple(bind(split_p, t, bounds=bounds, axis=axis))


def _split_vjp(g: list[Any], ans: Any, primals: Any, argnums: Any, bounds: Any, axis: int) -> Any:
    (x,) = primals
    parts = [
        zeros(a.shape, x.dtype, a) if c is None else c for c, a in zip(g, ans, strict=True)
    ]
    return [unbroadcast(bind(concatenate_p, *parts, axis=axis), x.shape, x.dtype)]


split_p.def_joint_jvp(_split_jvp).def_joint_vjp(_split_vjp)
axis_params(split_p, "axis")
taylor.linear_jet(split_p)

# -- pad with zeros (other modes are composites) ---------------------------------


def _pad_impl(x: Any, widths: tuple[tuple[int, int], ...]) -> Any:
    return np.pad(x, widths)


pad_p = Primitive("pad", _pad_impl, notes="zero padding; the transpose crops")


def _pad_transpose(g: Any, x: Any, widths: tuple[tuple[int, int], ...]) -> Any:
    from .indexing import getitem_p

    index = tuple(slice(lo, lo + n) for (lo, _), n in zip(widths, x.shape, strict=True))
    return bind(getitem_p, g, index=index)


linear_unary(pad_p, _pad_transpose)


def _pad_batch(vals: list[Any], dims: list[int | None], **params: Any) -> Any:
    params["widths"] = ((0, 0), *params["widths"])
    return bind(pad_p, front(vals[0], dims[0]), **params), 0


pad_p.def_batch(_pad_batch)
taylor.linear_jet(pad_p)

# -- flip and roll: permutations whose transposes are their inverses ------------

flip_p = Primitive("flip", lambda x, axes: np.flip(x, axis=axes))


def _flip_transpose(g: Any, x: Any, axes: tuple[int, ...]) -> Any:
    return bind(flip_p, g, axes=axes)


linear_unary(flip_p, _flip_transpose)
axis_params(flip_p, "axes", none_means_all=True)
taylor.linear_jet(flip_p)

roll_p = Primitive("roll", lambda x, shift, axis: np.roll(x, shift, axis=axis))


def _roll_transpose(g: Any, x: Any, shift: Any, axis: Any) -> Any:
    back = tuple(-s for s in shift) if isinstance(shift, tuple) else -shift
    return bind(roll_p, g, shift=back, axis=axis)


linear_unary(roll_p, _roll_transpose)
int_axis(roll_p)
taylor.linear_jet(roll_p)
