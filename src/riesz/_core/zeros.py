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

from typing import Any

import numpy as np

from .trace import Tracer

__all__ = ["Zero", "instantiate", "is_zero", "zeros_like"]


class Zero:
    """The zero vector of the space of arrays of `shape` and `dtype`."""

    __slots__ = ("shape", "dtype")

    def __init__(self, shape: tuple[int, ...], dtype: Any):
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)

    @classmethod
    def like(cls, x: Any) -> Zero:
        """The zero tangent of the value `x` (an array, a tracer or a Python number)."""
        dtype = getattr(x, "dtype", None)
        if dtype is None:  # Python numbers and lists: a float (or complex) tangent
            x = np.asarray(x)
            return cls(x.shape, np.result_type(x.dtype, np.float64))
        return cls(x.shape, dtype)

    def instantiate(self) -> np.ndarray:
        return np.zeros(self.shape, self.dtype)

    def __repr__(self) -> str:
        return f"Zero({self.shape}, {self.dtype})"


def is_zero(t: Any) -> bool:
    """True for a symbolic zero: `None` (inside the interpreters) or a `Zero`."""
    return t is None or type(t) is Zero


def zeros_like(x: Any) -> Any:
    """Materialised zeros with the shape and dtype of `x`; array types that
    implement NumPy's protocols (CuPy, Dask) keep their own kind."""
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
