"""Shape primitives. All are linear: ∂f(x)[t] = f(t), and the VJP is the
transpose (reshape back, inverse permutation, sum over broadcast axes, split)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._core.primitive import Primitive, linear_unary
from .._core.trace import bind
from ._util import unbroadcast

reshape_p = Primitive("reshape", np.reshape)


def _reshape_transpose(g: Any, x: Any, shape: tuple[int, ...]) -> Any:
    return bind(reshape_p, g, shape=x.shape)


linear_unary(reshape_p, _reshape_transpose)

transpose_p = Primitive("transpose", np.transpose)


def _transpose_transpose(g: Any, x: Any, axes: tuple[int, ...]) -> Any:
    return bind(transpose_p, g, axes=tuple(np.argsort(axes).tolist()))


linear_unary(transpose_p, _transpose_transpose)

broadcast_to_p = Primitive("broadcast_to", np.broadcast_to)


def _broadcast_to_transpose(g: Any, x: Any, shape: tuple[int, ...]) -> Any:
    return unbroadcast(g, x.shape, x.dtype)


linear_unary(broadcast_to_p, _broadcast_to_transpose)


def _concatenate_impl(*xs: Any, axis: int) -> Any:
    return np.concatenate(xs, axis=axis)


concatenate_p = Primitive("concatenate", _concatenate_impl, family="linear")


def _concatenate_jvp(primals: list[Any], tangents: list[Any], ans: Any, axis: int) -> Any:
    if all(t is None for t in tangents):
        return None
    parts = [
        np.zeros(x.shape, ans.dtype) if t is None else t
        for x, t in zip(primals, tangents, strict=True)
    ]
    return bind(concatenate_p, *parts, axis=axis)


def _concatenate_vjp(g: Any, ans: Any, primals: list[Any], argnums: list[int], axis: int) -> list[Any]:
    from .indexing import getitem_p

    ends = np.cumsum([x.shape[axis] for x in primals])
    out = []
    for k in argnums:
        index = (slice(None),) * axis + (slice(int(ends[k] - primals[k].shape[axis]), int(ends[k])),)
        out.append(unbroadcast(bind(getitem_p, g, index=index), primals[k].shape, primals[k].dtype))
    return out


concatenate_p.def_joint_jvp(_concatenate_jvp).def_joint_vjp(_concatenate_vjp)
