"""Public shape functions (NumPy signatures): all linear maps that move,
copy or select entries. Each is one shape primitive or a composite of shape
primitives and indexing, so its derivative is itself (∂f(x)[u] = f(u)) and
its VJP the transpose."""

from __future__ import annotations

import builtins
from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np

from .._core.trace import Tracer, bind
from .._core.trace import strip_derivatives as _raw
from .._primitives._util import as_array, check_out, normalize_axis, one_axis, tri_mask
from .._primitives.indexing import getitem_p, scatter_add_p
from .._primitives.products import matmul_p
from .._primitives.reductions import argsort_p, sum_p
from .._primitives.shape import (
    broadcast_to_p,
    concatenate_p,
    flip_p,
    pad_p,
    reshape_p,
    roll_p,
    split_p,
    transpose_p,
)
from ._elementwise import astype, where

Shape = int | Sequence[int]
Order = Literal["K", "A", "C", "F"]
PadMode = Literal["constant", "edge", "linear_ramp", "maximum", "mean", "median", "minimum",
                  "reflect", "symmetric", "wrap", "empty"]


def _shape_tuple(shape: Shape) -> tuple[int, ...]:
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    return tuple(int(n) for n in shape)


# -- constructors and queries ----------------------------------------------------------


def array(object: Any, dtype: Any = None, *, copy: bool = True, ndmin: int = 0,
          **kwargs: Any) -> Any:
    """`numpy.array`, also for (nested) lists of traced values (they are stacked)."""
    a = as_array(object)
    if isinstance(a, Tracer):
        if dtype is not None:
            a = astype(a, dtype)
        while a.ndim < ndmin:
            a = expand_dims(a, 0)
        return a
    return np.array(a, dtype=dtype, copy=copy, ndmin=ndmin, **kwargs)


def asarray(a: Any, dtype: Any = None, order: Any = None, **kwargs: Any) -> Any:
    """`numpy.asarray`; a traced value is returned as is (no conversion)."""
    x = as_array(a)
    if isinstance(x, Tracer):
        return x if dtype is None else astype(x, dtype)
    return np.asarray(x, dtype=dtype, order=order, **kwargs)


asanyarray = ascontiguousarray = asarray


def copy(a: Any, order: Order = "K", subok: bool = False) -> Any:
    """A copy: the identity on traced values (they are immutable)."""
    a = as_array(a)
    return a if isinstance(a, Tracer) else np.array(a, copy=True, order=order, subok=subok)


def shape(a: Any) -> tuple[int, ...]:
    """The shape (plain ints)."""
    return as_array(a).shape


def ndim(a: Any) -> int:
    """The number of axes."""
    return as_array(a).ndim


def size(a: Any, axis: int | None = None) -> int:
    """The number of entries (along `axis`)."""
    s = as_array(a).shape
    return int(np.prod(s, dtype=int)) if axis is None else s[axis]


def _like(a: Any, dtype: Any, shape_: Any) -> tuple[Any, tuple[int, ...]]:
    a = as_array(a)
    return (a.dtype if dtype is None else np.dtype(dtype)), (
        a.shape if shape_ is None else _shape_tuple(shape_))


def zeros_like(a: Any, dtype: Any = None, order: str = "K", subok: bool = True,
               shape: Any = None, *, device: Any = None) -> Any:
    """Zeros shaped like `a` (a constant)."""
    d, s = _like(a, dtype, shape)
    return np.zeros(s, d)


def ones_like(a: Any, dtype: Any = None, order: str = "K", subok: bool = True,
              shape: Any = None, *, device: Any = None) -> Any:
    """Ones shaped like `a` (a constant)."""
    d, s = _like(a, dtype, shape)
    return np.ones(s, d)


empty_like = zeros_like


def full_like(a: Any, fill_value: Any, dtype: Any = None, order: str = "K", subok: bool = True,
              shape: Any = None, *, device: Any = None) -> Any:
    """`fill_value` broadcast to `a`'s shape (differentiable in fill_value)."""
    d, s = _like(a, dtype, shape)
    if isinstance(fill_value, Tracer):
        return broadcast_to(astype(fill_value, d), s)
    return np.full(s, fill_value, d)


# -- reshaping --------------------------------------------------------------------------


def reshape(a: Any, /, shape: Shape | None = None, order: str = "C", *,
            newshape: Any = None, copy: Any = None) -> Any:
    """`numpy.reshape` (C order)."""
    if order != "C":
        raise NotImplementedError("reshape: only order='C' is supported")
    a = as_array(a)
    shape = newshape if shape is None else shape
    target = _shape_tuple(shape)
    if -1 in target:
        target = np.empty(a.shape, dtype=bool).reshape(target).shape
    elif int(np.prod(target, dtype=int)) != int(np.prod(a.shape, dtype=int)):
        raise ValueError(f"cannot reshape array of shape {a.shape} into shape {target}")
    if target == a.shape:
        return a
    return bind(reshape_p, a, shape=target)


def ravel(a: Any, order: str = "C") -> Any:
    """Flatten to 1-D."""
    return reshape(a, (-1,), order)


def transpose(a: Any, axes: Sequence[int] | None = None) -> Any:
    """Permute the axes (reverse them by default)."""
    a = as_array(a)
    n = a.ndim
    axes = tuple(reversed(range(n))) if axes is None else tuple(one_axis(i, n) for i in axes)
    if sorted(axes) != list(range(n)):
        raise ValueError(f"axes {axes} is not a permutation of the {n} axes")
    if axes == tuple(range(n)):
        return a
    return bind(transpose_p, a, axes=axes)


permute_dims = transpose


def matrix_transpose(x: Any, /) -> Any:
    """Swap the last two axes."""
    return swapaxes(x, -1, -2)


def moveaxis(a: Any, source: Any, destination: Any) -> Any:
    """Move axes to new positions."""
    a = as_array(a)
    n = a.ndim
    src = [one_axis(i, n) for i in np.atleast_1d(source)]
    dst = [one_axis(i, n) for i in np.atleast_1d(destination)]
    if len(src) != len(dst):
        raise ValueError("moveaxis: source and destination need the same number of elements")
    order = [i for i in range(n) if i not in src]
    for d, s in sorted(zip(dst, src, strict=True)):
        order.insert(d, s)
    return transpose(a, order)


def swapaxes(a: Any, axis1: int, axis2: int) -> Any:
    """Exchange two axes."""
    a = as_array(a)
    axes = list(range(a.ndim))
    i, j = one_axis(axis1, a.ndim), one_axis(axis2, a.ndim)
    axes[i], axes[j] = axes[j], axes[i]
    return transpose(a, axes)


def expand_dims(a: Any, axis: Any) -> Any:
    """Insert size-1 axes."""
    a = as_array(a)
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    n = a.ndim + len(axes)
    pos = normalize_axis(axes, n)
    it = iter(a.shape)
    return reshape(a, tuple(1 if i in pos else next(it) for i in range(n)))


def squeeze(a: Any, axis: Any = None) -> Any:
    """Remove size-1 axes."""
    a = as_array(a)
    if axis is None:
        return reshape(a, tuple(n for n in a.shape if n != 1))
    axes = normalize_axis(axis, a.ndim)
    for i in axes:
        if a.shape[i] != 1:
            raise ValueError("cannot select an axis to squeeze out which has size not equal to one")
    return reshape(a, tuple(n for i, n in enumerate(a.shape) if i not in axes))


def broadcast_to(array: Any, shape: Shape, subok: bool = False) -> Any:
    """Broadcast to `shape` (linear; the transpose sums over broadcast axes)."""
    a = as_array(array)
    shape = _shape_tuple(shape)
    np.broadcast_shapes(a.shape, shape)  # raises NumPy's error if impossible
    if a.shape == shape:
        return a
    return bind(broadcast_to_p, a, shape=shape)


def broadcast_arrays(*args: Any, subok: bool = False) -> tuple[Any, ...]:
    """The arguments broadcast to their common shape."""
    arrays = [as_array(a) for a in args]
    target = np.broadcast_shapes(*[a.shape for a in arrays])
    return tuple(broadcast_to(a, target) for a in arrays)


def atleast_1d(*arys: Any) -> Any:
    """Scalars as 1-D arrays."""
    out = [reshape(a, (1,)) if as_array(a).ndim == 0 else as_array(a) for a in arys]
    return out[0] if len(out) == 1 else tuple(out)


def atleast_2d(*arys: Any) -> Any:
    """Arrays with at least two axes (1-D arrays become rows)."""
    out = []
    for a in arys:
        a = as_array(a)
        out.append(reshape(a, (1, 1) if a.ndim == 0 else (1, a.shape[0])) if a.ndim < 2 else a)
    return out[0] if len(out) == 1 else tuple(out)


def atleast_3d(*arys: Any) -> Any:
    """Arrays with at least three axes, as NumPy adds them."""
    out = []
    for a in arys:
        a = as_array(a)
        if a.ndim == 0:
            a = reshape(a, (1, 1, 1))
        elif a.ndim == 1:
            a = reshape(a, (1, a.shape[0], 1))
        elif a.ndim == 2:
            a = reshape(a, (*a.shape, 1))
        out.append(a)
    return out[0] if len(out) == 1 else tuple(out)


# -- joining and splitting --------------------------------------------------------------


def _result_dtype(arrays: Sequence[Any], dtype: Any) -> np.dtype:
    if dtype is not None:
        return np.dtype(dtype)
    return np.result_type(*[_raw(a) for a in arrays])


def concatenate(arrays: Sequence[Any], /, axis: int | None = 0, out: Any = None, *,
                dtype: Any = None, casting: str = "same_kind") -> Any:
    """Join arrays along an existing axis (linear; the transpose splits)."""
    check_out("concatenate", out)
    arrays = [as_array(x) for x in arrays]
    if not arrays:
        raise ValueError("need at least one array to concatenate")
    if axis is None:
        arrays = [ravel(a) for a in arrays]
        axis = 0
    d = _result_dtype(arrays, dtype)
    arrays = [a if a.dtype == d else astype(a, d) for a in arrays]
    if not builtins.any(isinstance(a, Tracer) for a in arrays):
        return np.concatenate(arrays, axis=axis)
    if arrays[0].ndim == 0:
        raise ValueError("zero-dimensional arrays cannot be concatenated")
    if len(arrays) == 1:
        return arrays[0]
    return bind(concatenate_p, *arrays, axis=one_axis(axis, arrays[0].ndim))


concat = concatenate


def stack(arrays: Sequence[Any], axis: int = 0, out: Any = None, *, dtype: Any = None,
          casting: str = "same_kind") -> Any:
    """Join arrays along a new axis."""
    check_out("stack", out)
    arrays = [as_array(x) for x in arrays]
    if not arrays:
        raise ValueError("need at least one array to stack")
    shapes = {x.shape for x in arrays}
    if len(shapes) != 1:
        raise ValueError(f"all input arrays must have the same shape, got {sorted(shapes)}")
    ax = one_axis(axis, arrays[0].ndim + 1)
    return concatenate([expand_dims(x, ax) for x in arrays], axis=ax, dtype=dtype)


def vstack(tup: Sequence[Any], *, dtype: Any = None, casting: str = "same_kind") -> Any:
    """Stack along the first axis (1-D arrays as rows)."""
    return concatenate(list(atleast_2d(*tup)) if len(tup) > 1 else [atleast_2d(*tup)], 0,
                       dtype=dtype)


row_stack = vstack


def hstack(tup: Sequence[Any], *, dtype: Any = None, casting: str = "same_kind") -> Any:
    """Stack along the second axis (the first for 1-D arrays)."""
    arrs = [atleast_1d(a) for a in tup]
    return concatenate(arrs, 0 if arrs and arrs[0].ndim == 1 else 1, dtype=dtype)


def dstack(tup: Sequence[Any]) -> Any:
    """Stack along the third axis."""
    arrs = [atleast_3d(a) for a in tup]
    return concatenate(arrs, 2)


def column_stack(tup: Sequence[Any]) -> Any:
    """Stack 1-D arrays as columns of a 2-D array."""
    arrs = []
    for a in tup:
        a = as_array(a)
        arrs.append(reshape(a, (a.shape[0], 1)) if a.ndim < 2 else a)
    return concatenate(arrs, 1)


def append(arr: Any, values: Any, axis: int | None = None) -> Any:
    """`values` appended after `arr` (flattened when axis is None)."""
    if axis is None:
        return concatenate([ravel(arr), ravel(values)], 0)
    return concatenate([arr, values], axis)


def _split_bounds(n: int, indices_or_sections: Any, even: bool) -> tuple[int, ...]:
    if isinstance(indices_or_sections, (int, np.integer)):
        sections = int(indices_or_sections)
        if sections <= 0:
            raise ValueError("number sections must be larger than 0.")
        if even and n % sections:
            raise ValueError("array split does not result in an equal division")
        each, extra = divmod(n, sections)
        sizes = [each + 1] * extra + [each] * (sections - extra)
        return tuple(int(b) for b in np.cumsum(sizes)[:-1])
    return tuple(int(i) for i in indices_or_sections)


def split(ary: Any, indices_or_sections: Any, axis: int = 0) -> list[Any]:
    """Split into pieces (one multi-output primitive; the transpose concatenates)."""
    return _split(ary, indices_or_sections, axis, True)


def array_split(ary: Any, indices_or_sections: Any, axis: int = 0) -> list[Any]:
    """Split into nearly equal pieces (sizes may differ by one)."""
    return _split(ary, indices_or_sections, axis, False)


def _split(ary: Any, indices_or_sections: Any, axis: int, even: bool) -> list[Any]:
    a = as_array(ary)
    ax = one_axis(axis, a.ndim)
    bounds = _split_bounds(a.shape[ax], indices_or_sections, even)
    return list(bind(split_p, a, bounds=bounds, axis=ax))


def hsplit(ary: Any, indices_or_sections: Any) -> list[Any]:
    """Split along the second axis (the first for 1-D arrays)."""
    a = as_array(ary)
    return split(a, indices_or_sections, 1 if a.ndim > 1 else 0)


def vsplit(ary: Any, indices_or_sections: Any) -> list[Any]:
    """Split along the first axis."""
    return split(ary, indices_or_sections, 0)


def dsplit(ary: Any, indices_or_sections: Any) -> list[Any]:
    """Split along the third axis."""
    return split(ary, indices_or_sections, 2)


# -- repetition ---------------------------------------------------------------------------


def tile(A: Any, reps: Any) -> Any:
    """Repeat the whole array `reps` times per axis (broadcast then reshape)."""
    a = as_array(A)
    reps = _shape_tuple(reps)
    d = builtins.max(a.ndim, len(reps))
    shape = (1,) * (d - a.ndim) + a.shape
    reps = (1,) * (d - len(reps)) + reps
    # (r0, n0, r1, n1, ...) broadcast from (1, n0, 1, n1, ...)
    inter = tuple(x for n in shape for x in (1, n))
    big = tuple(x for r, n in zip(reps, shape, strict=True) for x in (r, n))
    out = broadcast_to(reshape(a, inter), big)
    return reshape(out, tuple(r * n for r, n in zip(reps, shape, strict=True)))


def repeat(a: Any, repeats: Any, axis: int | None = None) -> Any:
    """Repeat each entry (an index selection: the transpose sums the copies)."""
    a = as_array(a)
    if axis is None:
        a, axis = ravel(a), 0
    ax = one_axis(axis, a.ndim)
    n = a.shape[ax]
    if np.ndim(repeats) == 0:
        r = int(repeats)
        col = expand_dims(a, ax + 1)
        shape = list(col.shape)
        shape[ax + 1] = r
        out = broadcast_to(col, tuple(shape))
        new = list(a.shape)
        new[ax] = n * r
        return reshape(out, tuple(new))
    index = np.repeat(np.arange(n), np.asarray(repeats))
    return bind(getitem_p, a, index=(slice(None),) * ax + (index,))


# -- padding, flipping, rolling -----------------------------------------------------------


def _pad_widths(pad_width: Any, nd: int) -> tuple[tuple[int, int], ...]:
    w = np.broadcast_to(np.asarray(pad_width, dtype=int), (nd, 2))
    if np.any(w < 0):
        raise ValueError("index can't contain negative values")
    return tuple((int(lo), int(hi)) for lo, hi in w)


def pad(array: Any, pad_width: Any, mode: PadMode | Callable[..., Any] = "constant",
        **kwargs: Any) -> Any:
    """`numpy.pad` for modes constant (differentiable in a scalar constant too),
    edge, reflect, symmetric and wrap (index selections; reflect_type='odd' is
    linear too)."""
    a = as_array(array)
    widths = _pad_widths(pad_width, a.ndim)
    if not isinstance(a, Tracer) and not builtins.any(
        isinstance(v, Tracer) for v in kwargs.values()
    ):
        return np.pad(a, pad_width, mode=mode, **kwargs)
    if mode == "constant":
        c = kwargs.pop("constant_values", 0)
        if kwargs:
            raise TypeError(f"pad: unexpected arguments {sorted(kwargs)}")
        out = bind(pad_p, a, widths=widths)
        if isinstance(c, Tracer):
            if c.ndim:
                raise NotImplementedError("pad: traced constant_values must be a scalar")
            mask = np.pad(np.zeros(a.shape, a.dtype), widths, constant_values=1)
            return out + mask * c
        if np.any(np.asarray(c) != 0):
            return out + np.pad(np.zeros(a.shape, a.dtype), widths, constant_values=c)
        return out
    if mode in ("reflect", "symmetric") and kwargs.get("reflect_type") == "odd":
        return _pad_odd(a, widths, mode)
    if mode in ("edge", "reflect", "symmetric", "wrap"):
        ids = np.arange(int(np.prod(a.shape, dtype=int))).reshape(a.shape)
        index = np.pad(ids, widths, mode=mode, **kwargs)
        return bind(getitem_p, ravel(a), index=(index,))
    raise NotImplementedError(
        f"pad: mode={mode!r} is not supported on traced values "
        "(supported: constant, edge, reflect, symmetric, wrap)"
    )


def _pad_odd(a: Any, widths: tuple[tuple[int, int], ...],
             mode: Literal["reflect", "symmetric"]) -> Any:
    """Odd reflection (2 · edge - mirror image) is linear but not a selection:
    along each axis in turn, multiply by the padding matrix M = pad(I), whose
    column j is the padded unit vector e_j (so pad(x) = M x)."""
    for ax, (lo, hi) in enumerate(widths):
        if lo or hi:
            m = np.pad(np.eye(a.shape[ax], dtype=a.dtype), ((lo, hi), (0, 0)), mode=mode,
                       reflect_type="odd")
            a = moveaxis(bind(matmul_p, moveaxis(a, ax, -1), m.T), -1, ax)
    return a


def flip(m: Any, axis: Any = None) -> Any:
    """Reverse the order of entries along `axis` (all axes by default)."""
    a = as_array(m)
    axes = normalize_axis(axis, a.ndim) if axis is not None else tuple(range(a.ndim))
    return bind(flip_p, a, axes=axes)


def fliplr(m: Any) -> Any:
    """Reverse the second axis."""
    return flip(m, 1)


def flipud(m: Any) -> Any:
    """Reverse the first axis."""
    return flip(m, 0)


def roll(a: Any, shift: Any, axis: Any = None) -> Any:
    """Roll entries along `axis` (the flattened array by default)."""
    a = as_array(a)
    if axis is None:
        return bind(roll_p, a, shift=int(shift), axis=None)
    if isinstance(axis, (int, np.integer)):
        return bind(roll_p, a, shift=int(shift), axis=one_axis(axis, a.ndim))
    shifts = np.broadcast_to(np.asarray(shift), (len(axis),))
    return bind(roll_p, a, shift=tuple(int(s) for s in shifts),
                axis=tuple(one_axis(i, a.ndim) for i in axis))


def rot90(m: Any, k: int = 1, axes: tuple[int, int] = (0, 1)) -> Any:
    """Rotate by 90 degrees k times in the plane `axes`."""
    a = as_array(m)
    k %= 4
    ax0, ax1 = axes
    if k == 0:
        return a
    if k == 2:
        return flip(flip(a, ax0), ax1)
    perm = list(range(a.ndim))
    perm[ax0], perm[ax1] = perm[ax1], perm[ax0]
    if k == 1:
        return transpose(flip(a, ax1), perm)
    return flip(transpose(a, perm), ax1)


# -- diagonals and triangles ---------------------------------------------------------------


def diagonal(a: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Any:
    """The diagonal (an index selection), as the last axis."""
    a = as_array(a)
    i1, i2 = one_axis(axis1, a.ndim), one_axis(axis2, a.ndim)
    moved = moveaxis(a, (i1, i2), (-2, -1))
    n, m = moved.shape[-2:]
    rows = np.arange(builtins.max(0, -offset), n)
    cols = rows + offset
    keep = (cols >= 0) & (cols < m)
    return bind(getitem_p, moved, index=(Ellipsis, rows[keep], cols[keep]))


def diag(v: Any, k: int = 0) -> Any:
    """The k-th diagonal of a 2-D array, or a 2-D array with v on its k-th diagonal."""
    v = as_array(v)
    if v.ndim == 2:
        return diagonal(v, k)
    if v.ndim != 1:
        raise ValueError("Input must be 1- or 2-d.")
    n = v.shape[0] + builtins.abs(k)
    rows = np.arange(v.shape[0]) + builtins.max(0, -k)
    cols = rows + k
    zeros = np.zeros((n, n), v.dtype)
    return bind(scatter_add_p, zeros, v, index=(rows, cols))


def diagflat(v: Any, k: int = 0) -> Any:
    """A 2-D array with the flattened input on its k-th diagonal."""
    return diag(ravel(v), k)


def tril(m: Any, k: int = 0) -> Any:
    """Lower triangle (entries above the k-th diagonal set to 0)."""
    a = as_array(m)
    return where(tri_mask(a.shape, k, True), a, 0)


def triu(m: Any, k: int = 0) -> Any:
    """Upper triangle (entries below the k-th diagonal set to 0)."""
    a = as_array(m)
    return where(tri_mask(a.shape, k, False), a, 0)


def trace(a: Any, offset: int = 0, axis1: int = 0, axis2: int = 1, dtype: Any = None,
          out: Any = None) -> Any:
    """Sum of the diagonal."""
    check_out("trace", out)
    d = diagonal(a, offset, axis1, axis2)
    if dtype is not None:
        d = astype(d, dtype)
    return bind(sum_p, d, axis=(d.ndim - 1,), keepdims=False)


def diff(a: Any, n: int = 1, axis: int = -1, prepend: Any = None, append: Any = None) -> Any:
    """n-th forward difference along `axis` (linear)."""
    a = as_array(a)
    ax = one_axis(axis, a.ndim)
    parts = [a]
    if prepend is not None:
        parts.insert(0, broadcast_to(prepend, a.shape[:ax] + (1,) + a.shape[ax + 1:])
                     if np.ndim(_raw(prepend)) == 0 else prepend)
    if append is not None:
        parts.append(broadcast_to(append, a.shape[:ax] + (1,) + a.shape[ax + 1:])
                     if np.ndim(_raw(append)) == 0 else append)
    if len(parts) > 1:
        a = concatenate(parts, ax)
    pre = (slice(None),) * ax
    for _ in range(n):
        a = bind(getitem_p, a, index=pre + (slice(1, None),)) - bind(
            getitem_p, a, index=pre + (slice(None, -1),))
    return a


# -- sorting ---------------------------------------------------------------------------------


def argsort(a: Any, axis: int | None = -1, kind: Any = None, order: Any = None, *,
            stable: Any = None) -> Any:
    """Indices that sort `a` (integer: not differentiable)."""
    a = as_array(a)
    if axis is None:
        a, axis = ravel(a), 0
    return bind(argsort_p, a, axis=one_axis(axis, a.ndim),
                stable=True if kind == "stable" else stable)
