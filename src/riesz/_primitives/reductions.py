"""Reductions and scans.

`sum` and `cumsum` are linear (their transposes broadcast the cotangent back
and run the scan backwards); `max`/`min` route the derivative to the extremal
entries, split evenly at ties; `prod` and `cumprod` have zero-safe rules (their
VJPs multiply by the conjugate partial products on complex arrays).
mean, var, std, logsumexp, ... are composites (see `riesz.numpy`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._core.primitive import NOT_DIFFERENTIABLE, Primitive, linear_unary
from .._core.trace import bind, raw_value
from .._core.trace import strip_derivatives as _raw
from .._core.zeros import full, is_foreign
from .._interpreters import taylor
from ._batch_axes import axis_params, int_axis
from ._util import Axis, conj, host_only, kept_shape, no_zeros
from .elementwise import where_p
from .indexing import getitem_p
from .shape import broadcast_to_p, concatenate_p, flip_p, reshape_p, transpose_p

sum_p = Primitive("sum", np.sum)


def _sum_transpose(g: Any, x: Any, axis: Axis, keepdims: bool) -> Any:
    if not keepdims:
        g = bind(reshape_p, g, shape=kept_shape(x.shape, axis))
    if is_foreign(raw_value(x)):  # Dask: chunked like x (a broadcast is one chunk)
        return g * full(x.shape, 1, g.dtype, x)
    return bind(broadcast_to_p, g, shape=x.shape)


linear_unary(sum_p, _sum_transpose)
axis_params(sum_p, "axis", none_means_all=True)
taylor.linear_jet(sum_p)


def _extremum(name: str, impl: Any) -> Primitive:
    prim = Primitive(name, impl, family="reduction", notes="ties share the derivative evenly")

    def weights(x: Any, ans: Any, axis: Axis, keepdims: bool) -> Any:
        """Constant mask: 1/(number of ties) at the extremal entries, else 0."""
        xr = _raw(x)
        a = _raw(ans)
        if not keepdims:
            a = np.reshape(a, kept_shape(xr.shape, axis))
        hit = xr == a
        if np.dtype(xr.dtype).char in "fd":  # counted in x's dtype (exact below 2**24 ties):
            hit = hit.astype(xr.dtype)  # no float64 temporaries, 2x faster on float32
            return hit / np.sum(hit, axis=axis, keepdims=True)
        return (hit / np.sum(hit, axis=axis, keepdims=True)).astype(xr.dtype, copy=False)

    def jvp(t: Any, ans: Any, x: Any, axis: Axis, keepdims: bool) -> Any:
        return bind(sum_p, t * weights(x, ans, axis, keepdims), axis=axis, keepdims=keepdims)

    def vjp(g: Any, ans: Any, x: Any, axis: Axis, keepdims: bool) -> Any:
        return _sum_transpose(g, x, axis, keepdims) * weights(x, ans, axis, keepdims)

    jvp.__name__, vjp.__name__ = f"{name}_jvp", f"{name}_vjp"
    return prim.def_jvp(jvp).def_vjp(vjp)


max_p = _extremum("max", np.max)
min_p = _extremum("min", np.min)
# vmap: axes move up by one past the batch axis. jet: the extremal entries' series
# (a constant mask, ties shared as in the JVP) act on each coefficient
for _prim in (max_p, min_p):
    axis_params(_prim, "axis", none_means_all=True)
    taylor.linear_jet(_prim)

# -- cumulative sum: linear, its transpose is the reversed cumulative sum ----------


def _cumsum_impl(x: Any, axis: int, reverse: bool) -> Any:
    if reverse:
        return np.flip(np.cumsum(np.flip(x, axis), axis=axis), axis)
    return np.cumsum(x, axis=axis)


cumsum_p = Primitive(
    "cumsum", _cumsum_impl, notes="reverse=True sums from the end (the transpose of cumsum)"
)


def _cumsum_transpose(g: Any, x: Any, axis: int, reverse: bool) -> Any:
    return bind(cumsum_p, g, axis=axis, reverse=not reverse)


linear_unary(cumsum_p, _cumsum_transpose)
int_axis(cumsum_p)
taylor.linear_jet(cumsum_p)

# -- helpers: the reduced axes moved last and merged into one ------------------------


def _to_last(x: Any, axes: tuple[int, ...]) -> tuple[Any, tuple[int, ...], tuple[int, ...]]:
    """x with `axes` moved to the end and merged: shape (..., K). Returns the
    moved array, the permutation and the permuted shape (to undo it)."""
    keep = tuple(i for i in range(x.ndim) if i not in axes)
    perm = keep + tuple(axes)
    moved = bind(transpose_p, x, axes=perm) if perm != tuple(range(x.ndim)) else x
    mshape = moved.shape
    k = int(np.prod([x.shape[i] for i in axes], dtype=int))
    flat = bind(reshape_p, moved, shape=(*mshape[: len(keep)], k))
    return flat, perm, mshape


def _from_last(y: Any, perm: tuple[int, ...], mshape: tuple[int, ...]) -> Any:
    y = bind(reshape_p, y, shape=mshape)
    if perm != tuple(range(len(perm))):
        y = bind(transpose_p, y, axes=tuple(np.argsort(perm).tolist()))
    return y


def _exclusive_cumprod(y: Any, reverse: bool) -> Any:
    """prod_{j<i} y_j (prod_{j>i} y_j if reverse) along the last axis."""
    n = y.shape[-1]
    ones = full((*y.shape[:-1], 1), 1, y.dtype, y)
    if n == 1:
        return bind(broadcast_to_p, ones, shape=y.shape)
    if reverse:
        y = bind(flip_p, y, axes=(y.ndim - 1,))
    head = bind(getitem_p, y, index=(Ellipsis, slice(0, n - 1)))
    out = bind(concatenate_p, ones, bind(cumprod_p, head, axis=y.ndim - 1), axis=y.ndim - 1)
    if reverse:
        out = bind(flip_p, out, axes=(y.ndim - 1,))
    return out


# -- product: ∂prod/∂x_i = prod_{j≠i} x_j ------------------------------------------


def _prod_others(x: Any, ans: Any, axis: Axis) -> Any:
    """prod_{j≠i} x_j over the reduced axes, shaped like x. Where x has no
    zeros this is prod / x; otherwise it is built from exclusive cumulative
    products from both ends (no division by 0)."""
    axes = tuple(range(x.ndim)) if axis is None else axis
    if no_zeros(x):
        kept = kept_shape(x.shape, axes)
        if ans.shape != kept:
            ans = bind(reshape_p, ans, shape=kept)
        return ans / x
    y, perm, mshape = _to_last(x, axes)
    others = _exclusive_cumprod(y, False) * _exclusive_cumprod(y, True)
    return _from_last(others, perm, mshape)


def _prod_impl(x: Any, axis: Axis, keepdims: bool) -> Any:
    return np.prod(x, axis=axis, keepdims=keepdims)


prod_p = Primitive(
    "prod", _prod_impl, notes="exact at zeros (products of the other entries, no division)"
)


def _prod_jvp(t: Any, ans: Any, x: Any, axis: Axis, keepdims: bool) -> Any:
    return bind(sum_p, t * _prod_others(x, ans, axis), axis=axis, keepdims=keepdims)


def _prod_vjp(g: Any, ans: Any, x: Any, axis: Axis, keepdims: bool) -> Any:
    return _sum_transpose(g, x, axis, keepdims) * conj(_prod_others(x, ans, axis))


prod_p.def_jvp(_prod_jvp).def_vjp(_prod_vjp)
axis_params(prod_p, "axis", none_means_all=True)


def _pad_last(c: Any, n: int, fill: float, front: bool) -> Any:
    """c with n entries `fill` added at the end (front=False) or front of the last axis."""
    block = full((*c.shape[:-1], n), fill, c.dtype, c)
    parts = (block, c) if front else (c, block)
    return bind(concatenate_p, *parts, axis=c.ndim - 1)


def _take_last(c: Any, index: slice) -> Any:
    return None if c is None else bind(getitem_p, c, index=(Ellipsis, index))


def _prod_jet(primals: list[Any], series: list[Any], axis: Axis,
              keepdims: bool) -> tuple[Any, Any]:
    """The product of n series as a balanced tree of log2(n) Cauchy products of
    half-size arrays: O(K² log n) array operations, and exact at zeros (no
    division, unlike the JVP's prod / x)."""
    (x,), (sx,) = primals, series
    K = len(sx)
    ans = bind(prod_p, x, axis=axis, keepdims=keepdims)
    axes = tuple(range(x.ndim)) if axis is None else axis
    if not axes:  # nothing reduced: the identity
        return ans, list(sx)
    if any(x.shape[a] == 0 for a in axes):  # the empty product, 1
        return ans, None
    full: list[Any] = [None if c is None else _to_last(c, axes)[0] for c in [x, *sx]]
    while full[0].shape[-1] > 1:
        if full[0].shape[-1] % 2:  # pad with the series of the constant 1
            full = [None if c is None else _pad_last(c, 1, 1.0 if k == 0 else 0.0, False)
                    for k, c in enumerate(full)]
        even = [_take_last(c, slice(0, None, 2)) for c in full]
        odd = [_take_last(c, slice(1, None, 2)) for c in full]
        full = taylor.series_product(even, odd, K)
    shape = np.shape(ans)
    return ans, [None if c is None else bind(reshape_p, c, shape=shape) for c in full[1:]]


prod_p.def_jet(_prod_jet)

# -- cumulative product ------------------------------------------------------------
# y_k = prod_{j<=k} x_j, ∂y_k/∂x_i = [i <= k] prod_{j<=k, j≠i} x_j.
# Without zeros: ∂y[t] = y ⊙ cumsum(t / x) and ∂y*[g] = rcumsum(g ⊙ y) / x.
# With zeros: ∂y_k/∂x_i = L_i P_ik with L_i = prod_{j<i} x_j and
# P_ik = prod_{i<j<=k} x_j, the cumulative product of the (n, n) matrix
# M_ij = x_j (j > i), 1 (j <= i), which costs O(n²) but never divides.


def _cumprod_impl(x: Any, axis: int) -> Any:
    return np.cumprod(x, axis=axis)


cumprod_p = Primitive(
    "cumprod", _cumprod_impl,
    notes="exact at zeros (an O(n²) formula along the axis is used when x has zeros)",
)


def _cumprod_parts(x: Any, axis: int) -> tuple[Any, Any, Any, tuple[int, ...]]:
    """L (n-vector per row), P (n×n per row), and the permutation to undo."""
    last = x.ndim - 1
    perm = tuple(i for i in range(x.ndim) if i != axis) + (axis,)
    y = bind(transpose_p, x, axes=perm) if axis != last else x
    n = y.shape[-1]
    left = _exclusive_cumprod(y, False)
    upper = np.arange(n)[None, :] > np.arange(n)[:, None]  # j > i
    rows = bind(reshape_p, y, shape=(*y.shape[:-1], 1, n))
    rows = bind(broadcast_to_p, rows, shape=(*y.shape[:-1], n, n))
    m = bind(where_p, upper, rows, 1)  # M_ij = x_j for j > i, else 1
    p = bind(cumprod_p, m, axis=m.ndim - 1)
    return left, p * np.tri(n, dtype=x.dtype).T, perm, y.shape


def _undo(y: Any, perm: tuple[int, ...]) -> Any:
    if perm == tuple(range(len(perm))):
        return y
    return bind(transpose_p, y, axes=tuple(np.argsort(perm).tolist()))


def _cumprod_jvp(t: Any, ans: Any, x: Any, axis: int) -> Any:
    if no_zeros(x):
        return ans * bind(cumsum_p, t / x, axis=axis, reverse=False)
    left, p, perm, shape = _cumprod_parts(x, axis)
    last = x.ndim - 1
    tt = bind(transpose_p, t, axes=perm) if axis != last else t
    col = bind(reshape_p, left * tt, shape=(*shape, 1))  # index i on axis -2
    out = bind(sum_p, col * p, axis=(len(shape) - 1,), keepdims=False)
    return _undo(out, perm)


def _cumprod_vjp(g: Any, ans: Any, x: Any, axis: int) -> Any:
    if no_zeros(x):
        return bind(cumsum_p, g * conj(ans), axis=axis, reverse=True) / conj(x)
    left, p, perm, shape = _cumprod_parts(x, axis)
    left, p = conj(left), conj(p)
    last = x.ndim - 1
    gg = bind(transpose_p, g, axes=perm) if axis != last else g
    row = bind(reshape_p, gg, shape=(*shape[:-1], 1, shape[-1]))  # index k on axis -1
    out = left * bind(sum_p, p * row, axis=(len(shape),), keepdims=False)
    return _undo(out, perm)


cumprod_p.def_jvp(_cumprod_jvp).def_vjp(_cumprod_vjp)
int_axis(cumprod_p)


def _cumprod_jet(primals: list[Any], series: list[Any], axis: int) -> tuple[Any, Any]:
    """Prefix products of series by the doubling scan (Hillis-Steele): after the
    step with shift s, entry i holds the product of entries i-2s+1..i, so
    ceil(log2 n) Cauchy products give them all; exact at zeros."""
    (x,), (sx,) = primals, series
    K = len(sx)
    ans = bind(cumprod_p, x, axis=axis)
    last = x.ndim - 1
    perm = tuple(i for i in range(x.ndim) if i != axis) + (axis,)

    def to_last(c: Any) -> Any:
        return c if c is None or axis == last else bind(transpose_p, c, axes=perm)

    full = [to_last(c) for c in [x, *sx]]
    n = x.shape[axis]
    shift = 1
    while shift < n:
        shifted = [None if c is None else
                   _pad_last(_take_last(c, slice(0, n - shift)), shift, 1.0 if k == 0 else 0.0,
                             True)
                   for k, c in enumerate(full)]
        full = taylor.series_product(full, shifted, K)
        shift *= 2
    return ans, [None if c is None else _undo(c, perm) for c in full[1:]]


cumprod_p.def_jet(_cumprod_jet)

# -- not differentiable: integer outputs -------------------------------------------


def _argext(impl: Any) -> Any:
    def f(x: Any, axis: Any, keepdims: bool) -> Any:
        return impl(x, axis=axis, keepdims=keepdims)

    return f


argmax_p = Primitive("argmax", _argext(np.argmax), kind=NOT_DIFFERENTIABLE)
argmin_p = Primitive("argmin", _argext(np.argmin), kind=NOT_DIFFERENTIABLE)
argsort_p = Primitive(
    "argsort", host_only(lambda x, axis, stable: np.argsort(x, axis=axis, stable=stable),
                         "numpy.argsort"),
    kind=NOT_DIFFERENTIABLE,
)
any_p = Primitive(
    "any", lambda x, axis, keepdims: np.any(x, axis=axis, keepdims=keepdims),
    kind=NOT_DIFFERENTIABLE,
)
all_p = Primitive(
    "all", lambda x, axis, keepdims: np.all(x, axis=axis, keepdims=keepdims),
    kind=NOT_DIFFERENTIABLE,
)
count_nonzero_p = Primitive(
    "count_nonzero",
    lambda x, axis, keepdims: np.count_nonzero(x, axis=axis, keepdims=keepdims),
    kind=NOT_DIFFERENTIABLE,
)

# vmap: axes move up by one past the batch axis (no jet rule: no derivative)
for _prim in (any_p, all_p, count_nonzero_p):
    axis_params(_prim, "axis", none_means_all=True)
for _prim in (argmax_p, argmin_p, argsort_p):
    int_axis(_prim)
