"""Index tricks (NumPy signatures): `r_` and `c_` concatenate traced values, and the
integer index helpers `ravel_multi_index` / `unravel_index` (no derivative).

NumPy's own `np.r_[x, y]` converts every item with `np.array`, which no NumPy protocol
lets a traced value intercept: with traced values write `rnp.r_[x, y]`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy import ravel_multi_index, unravel_index  # integer helpers (no derivative)

from .._core.trace import Tracer
from .._core.trace import strip_derivatives as _raw
from .._primitives._util import as_array
from ._elementwise import astype
from ._shape import concatenate, reshape, transpose

__all__ = ["c_", "r_", "ravel_multi_index", "unravel_index"]


def _ndmin(x: Any, ndmin: int, trans1d: int) -> Any:
    """`np.array(x, ndmin=ndmin)` (unit axes in front), then NumPy's trans1d move."""
    nd = x.ndim
    if nd >= ndmin:
        return x
    x = reshape(x, (1,) * (ndmin - nd) + x.shape)
    if trans1d != -1:
        k2, k1 = ndmin - nd, trans1d
        if k1 < 0:
            k1 += k2 + 1
        axes = list(range(ndmin))
        x = transpose(x, axes[:k1] + axes[k2:] + axes[k1:k2])
    return x


class _AxisConcatenator:
    """`numpy.lib.index_tricks.AxisConcatenator` on riesz arrays."""

    def __init__(self, axis: int = 0, ndmin: int = 1, trans1d: int = -1,
                 numpy_version: Any = None) -> None:
        self.axis, self.ndmin, self.trans1d = axis, ndmin, trans1d
        self._numpy = numpy_version

    def __getitem__(self, key: Any) -> Any:
        if not isinstance(key, tuple):
            key = (key,)
        flat = [v for v in key if not isinstance(v, (slice, str))]
        if not any(isinstance(v, Tracer) for v in flat):
            return self._numpy[key]
        axis, ndmin, trans1d = self.axis, self.ndmin, self.trans1d
        objs: list[Any] = []
        kinds: list[Any] = []
        for k, item in enumerate(key):
            if isinstance(item, str):
                if k != 0:
                    raise ValueError("special directives must be the first entry.")
                if item in ("r", "c"):
                    raise NotImplementedError("r_/c_: the matrix directives 'r' and 'c' are "
                                              "not supported on traced values")
                try:
                    vec = [int(v) for v in item.split(",")]
                except ValueError as e:
                    raise ValueError(f"unknown special directive {item!r}") from e
                axis = vec[0]
                if len(vec) > 1:
                    ndmin = vec[1]
                if len(vec) > 2:
                    trans1d = vec[2]
                continue
            if isinstance(item, slice):
                obj = as_array(np.r_[item])
                kinds.append(obj.dtype)
            elif type(item) in (int, float, bool, complex) or isinstance(item, np.generic):
                obj = as_array(item)
                kinds.append(item)
            else:
                obj = as_array(item)
                kinds.append(_raw(obj).dtype)
            objs.append(_ndmin(obj, ndmin, trans1d))
        dtype = np.result_type(*kinds)
        objs = [o if o.dtype == dtype else astype(o, dtype) for o in objs]
        return concatenate(objs, axis=axis)

    def __len__(self) -> int:
        return 0


r_ = _AxisConcatenator(0, 1, -1, np.r_)
r_.__doc__ = """`numpy.r_` on traced values: concatenation along the first axis.

Examples
--------
>>> print(riesz.grad(lambda x: (rnp.r_[x, 2.0 * x] ** 2).sum())(1.0))  # d/dx 5x²
10.0
"""
c_ = _AxisConcatenator(-1, 2, 0, np.c_)
c_.__doc__ = """`numpy.c_` on traced values: 1-D items become columns, stacked along the
last axis.

Examples
--------
>>> print(rnp.c_[np.array([1.0, 2.0]), np.array([3.0, 4.0])])
[[1. 3.]
 [2. 4.]]
"""
