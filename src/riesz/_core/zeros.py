"""Typed symbolic zeros: a tangent or cotangent known to be 0, with its shape and dtype.

Inside the interpreters' per-op loops a zero tangent or cotangent is `None`,
and "is it zero?" is one identity check (`t is None`): the loops run once per
primitive, at ~2.7 µs per op, and a typed object there would cost an
allocation and an attribute read per argument for no gain, since the loop
never needs the shape of a zero, only the fact that it contributes nothing.

Where a zero leaves a loop, its type matters: a transformation's output
(`jvp`'s tangent of an output that does not depend on the input, `vjp`'s
cotangent of an input the output does not depend on, `jet`'s terms of a
constant) and the inputs of a user rule (a `custom_jvp` rule is called with
concrete tangents). There the trace creates a `Zero` from the value it goes
with (`Zero.like(x)`, while the value is at hand) and `instantiate` turns it,
or `None`, into an array of the right shape and dtype. User rules may return
`None` or a `Zero` for a zero result; `is_zero` accepts both.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .trace import Tracer, raw_value

__all__ = [
    "Zero", "full", "instantiate", "is_foreign", "is_zero", "zeros", "zeros_like",
]


# -- array backends (SPEC §16): arrays of other libraries (CuPy, Dask) implement NumPy's
# protocols; riesz creates its zeros on the backend of the value they go with, so a
# tangent or cotangent is never silently a host (NumPy) array.


def is_foreign(x: Any) -> bool:
    """True for an array of another backend (CuPy, Dask): not NumPy's, not a tracer,
    not a scalar, but implementing NumPy's `__array_function__` protocol."""
    return (type(x) is not np.ndarray and hasattr(x, "__array_function__")
            and not isinstance(x, (np.generic, Tracer))
            and not type(x).__module__.startswith("riesz."))  # riesz's own placeholders


def zeros(shape: Sequence[int], dtype: Any, like: Any = None) -> Any:
    """Zeros of `shape` and `dtype` on the backend of `like` (an array or a tracer;
    NumPy for NumPy arrays, scalars and None). Lazy on Dask, on the device on CuPy."""
    if like is not None and type(like) is not np.ndarray:
        c = raw_value(like)
        if is_foreign(c):  # (`like`'s own shape: Dask keeps its chunks)
            if tuple(shape) == c.shape:
                return np.zeros_like(c, dtype=dtype)
            return np.zeros_like(c, dtype=dtype, shape=shape)
    return np.zeros(shape, dtype)


def full(shape: Sequence[int], fill: Any, dtype: Any, like: Any = None) -> Any:
    """`fill` in an array of `shape` and `dtype` on the backend of `like` (as `zeros`)."""
    if like is not None and type(like) is not np.ndarray:
        c = raw_value(like)
        if is_foreign(c):
            if tuple(shape) == c.shape:
                return np.full_like(c, fill, dtype=dtype)
            return np.full_like(c, fill, dtype=dtype, shape=shape)
    return np.full(shape, fill, dtype)


class Zero:
    """The zero vector of the space of arrays of `shape` and `dtype` (on the backend
    of `backend`, an array of another library, or NumPy's where it is None)."""

    __slots__ = ("shape", "dtype", "backend")

    def __init__(self, shape: tuple[int, ...], dtype: Any, backend: Any = None):
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)
        self.backend = backend

    @classmethod
    def like(cls, x: Any) -> Zero:
        """The zero tangent of the value `x` (an array, a tracer or a Python number)."""
        dtype = getattr(x, "dtype", None)
        if dtype is None:  # Python numbers and lists: a float (or complex) tangent
            x = np.asarray(x)
            return cls(x.shape, np.result_type(x.dtype, np.float64))
        c = raw_value(x)
        return cls(x.shape, dtype, c if is_foreign(c) else None)

    def instantiate(self) -> Any:
        return zeros(self.shape, self.dtype, self.backend)

    def __repr__(self) -> str:
        return f"Zero({self.shape}, {self.dtype})"


def is_zero(t: Any) -> bool:
    """True for a symbolic zero: `None` (inside the interpreters) or a `Zero`."""
    return t is None or type(t) is Zero


def zeros_like(x: Any) -> Any:
    """Materialised zeros with the shape and dtype of `x`; array types that
    implement NumPy's protocols (CuPy, Dask) keep their own kind, also under tracers."""
    if hasattr(x, "dtype") and not isinstance(x, Tracer):
        return np.zeros_like(x)
    return Zero.like(x).instantiate()


def instantiate(t: Any, like: Any) -> Any:
    """`t` as an array: a symbolic zero (None or `Zero`) becomes zeros shaped like
    `like` (a `Zero` carries its own shape and dtype)."""
    if t is None:
        return zeros_like(like)
    if type(t) is Zero:
        return t.instantiate()
    return t
