"""Primitives by family, each with its impl, JVP, VJP, batching and Taylor rules.

Importing the package imports every family and registers, with
`riesz._core.ops`, what the layers below call without importing this
one: the primitives behind `Tracer`'s operators, the structural primitives of
the shared rule helpers, and the interpreters' batch-axis helpers.
"""

from __future__ import annotations

from .._core import ops
from . import (
    convolution,
    elementwise,
    fft,
    indexing,
    linalg,
    products,
    reductions,
    shape,
    special,
)
from ._batch_axes import broadcast_batch, move_axis
from ._util import asarray, stack_leading

__all__ = [
    "convolution", "elementwise", "fft", "indexing", "linalg", "products", "reductions", "shape",
    "special",
]

ops.register(
    # Tracer's operators
    add_p=elementwise.add_p, subtract_p=elementwise.subtract_p,
    multiply_p=elementwise.multiply_p, divide_p=elementwise.divide_p,
    power_p=elementwise.power_p, floor_divide_p=elementwise.floor_divide_p,
    remainder_p=elementwise.remainder_p, negative_p=elementwise.negative_p,
    abs_p=elementwise.abs_p, matmul_p=products.matmul_p,
    conj_p=elementwise.conj_p, real_p=elementwise.real_p, imag_p=elementwise.imag_p,
    less_p=elementwise.less_p, less_equal_p=elementwise.less_equal_p,
    greater_p=elementwise.greater_p, greater_equal_p=elementwise.greater_equal_p,
    equal_p=elementwise.equal_p, not_equal_p=elementwise.not_equal_p,
    logical_and_p=elementwise.logical_and_p, logical_or_p=elementwise.logical_or_p,
    logical_xor_p=elementwise.logical_xor_p, logical_not_p=elementwise.logical_not_p,
    asarray=asarray,
    # the structural primitives of the shared helpers (_util, _batch_axes) and interpreters
    sum_p=reductions.sum_p, astype_p=elementwise.astype_p, reshape_p=shape.reshape_p,
    transpose_p=shape.transpose_p, broadcast_to_p=shape.broadcast_to_p,
    concatenate_p=shape.concatenate_p, getitem_p=indexing.getitem_p,
    # the batching interpreter's helpers
    broadcast_batch=broadcast_batch, move_axis=move_axis, stack_leading=stack_leading,
)
