"""Reductions. `sum` is linear (its transpose broadcasts the cotangent back);
`max`/`min` route the derivative to the extremal entries, split evenly at ties."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._core.primitive import Primitive, linear_unary
from .._core.trace import bind
from .._core.trace import raw_value as _raw
from ._util import Axis, kept_shape
from .shape import broadcast_to_p, reshape_p

sum_p = Primitive("sum", np.sum)


def _sum_transpose(g: Any, x: Any, axis: Axis, keepdims: bool) -> Any:
    if not keepdims:
        g = bind(reshape_p, g, shape=kept_shape(x.shape, axis))
    return bind(broadcast_to_p, g, shape=x.shape)


linear_unary(sum_p, _sum_transpose)


def _extremum(name: str, impl: Any) -> Primitive:
    prim = Primitive(name, impl, family="reduction", notes="ties share the derivative evenly")

    def weights(x: Any, ans: Any, axis: Axis, keepdims: bool) -> Any:
        """Constant mask: 1/(number of ties) at the extremal entries, else 0."""
        xr = _raw(x)
        a = _raw(ans)
        if not keepdims:
            a = np.reshape(a, kept_shape(xr.shape, axis))
        hit = xr == a
        return (hit / np.sum(hit, axis=axis, keepdims=True)).astype(xr.dtype, copy=False)

    def jvp(t: Any, ans: Any, x: Any, axis: Axis, keepdims: bool) -> Any:
        return bind(sum_p, t * weights(x, ans, axis, keepdims), axis=axis, keepdims=keepdims)

    def vjp(g: Any, ans: Any, x: Any, axis: Axis, keepdims: bool) -> Any:
        return _sum_transpose(g, x, axis, keepdims) * weights(x, ans, axis, keepdims)

    jvp.__name__, vjp.__name__ = f"{name}_jvp", f"{name}_vjp"
    return prim.def_jvp(jvp).def_vjp(vjp)


max_p = _extremum("max", np.max)
min_p = _extremum("min", np.min)
