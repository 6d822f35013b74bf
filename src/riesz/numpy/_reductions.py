"""Public reductions and scans (NumPy signatures).

sum, prod, max, min, cumsum, cumprod bind primitives; mean, average, var,
std, ptp, median, logsumexp, nansum, nanmean are composites whose derivatives
come from those primitives (logsumexp subtracts the constant maximum first,
so neither its value nor its derivative overflows).
"""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from .._core.trace import bind
from .._core.trace import strip_derivatives as _raw
from .._primitives._util import (
    NoValue,
    any_set,
    as_array,
    check_out,
    check_unsupported,
    float_dtype,
    normalize_axis,
    one_axis,
)
from .._primitives.elementwise import imag_p, real_p, safe_sqrt
from .._primitives.reductions import (
    all_p,
    any_p,
    argmax_p,
    argmin_p,
    count_nonzero_p,
    cumprod_p,
    cumsum_p,
    max_p,
    min_p,
    prod_p,
    sum_p,
)
from ._elementwise import astype, exp, isnan, log
from ._elementwise import where as _where
from ._indexing import sort
from ._shape import moveaxis, ravel, reshape

AxisArg = int | tuple[int, ...] | None


def _prepare(name: str, a: Any, dtype: Any, out: Any, where_: Any) -> Any:
    check_out(name, out)
    a = as_array(a)
    if where_ is not NoValue and where_ is not True:
        raise NotImplementedError(f"{name}: where= is not supported; mask with riesz.numpy.where")
    if dtype is not None:
        a = astype(a, dtype)
    return a


def _kd(keepdims: Any) -> bool:
    return False if keepdims is NoValue else bool(keepdims)


def _count(shape: tuple[int, ...], axis: Any) -> int:
    axes = range(len(shape)) if axis is None else axis
    return int(np.prod([shape[i] for i in axes], dtype=int))


def sum(
    a: Any, axis: AxisArg = None, dtype: Any = None, out: Any = None,
    keepdims: Any = NoValue, initial: Any = NoValue, where: Any = NoValue,
) -> Any:
    """Σ over `axis` (all axes by default); linear: ∂f(x)[u] = sum(u)."""
    a = _prepare("sum", a, dtype, out, where)
    s = bind(sum_p, a, axis=normalize_axis(axis, a.ndim), keepdims=_kd(keepdims))
    return s if initial is NoValue else s + initial


def prod(
    a: Any, axis: AxisArg = None, dtype: Any = None, out: Any = None,
    keepdims: Any = NoValue, initial: Any = NoValue, where: Any = NoValue,
) -> Any:
    """Π over `axis`; ∂f(x)[u] = Σ_i u_i Π_{j≠i} x_j (exact at zeros)."""
    a = _prepare("prod", a, dtype, out, where)
    p = bind(prod_p, a, axis=normalize_axis(axis, a.ndim), keepdims=_kd(keepdims))
    return p if initial is NoValue else p * initial


def mean(
    a: Any, axis: AxisArg = None, dtype: Any = None, out: Any = None,
    keepdims: Any = NoValue, *, where: Any = NoValue,
) -> Any:
    """Arithmetic mean over `axis` (a composite: sum / count)."""
    a = _prepare("mean", a, dtype, out, where)
    if a.dtype.kind not in "fc" and dtype is None:
        a = astype(a, np.float64)
    axes = normalize_axis(axis, a.ndim)
    return bind(sum_p, a, axis=axes, keepdims=_kd(keepdims)) / _count(a.shape, axes)


def average(
    a: Any, axis: AxisArg = None, weights: Any = None, returned: bool = False, *,
    keepdims: Any = NoValue,
) -> Any:
    """Weighted average Σ w a / Σ w (differentiable in a and in the weights)."""
    a = as_array(a)
    if weights is None:
        avg = mean(a, axis, keepdims=keepdims)
        scale = _count(a.shape, normalize_axis(axis, a.ndim))
        return (avg, np.full(np.shape(_raw(avg)), float(scale), float_dtype(a))) if returned \
            else avg
    w = as_array(weights)
    if w.shape != a.shape:
        if axis is None or w.ndim != 1:
            raise TypeError("average: 1-D weights need an axis; otherwise shapes must match")
        ax = one_axis(axis, a.ndim)
        shape = [1] * a.ndim
        shape[ax] = w.shape[0]
        w = reshape(w, tuple(shape))
    num = sum(a * w, axis, keepdims=keepdims)
    den = sum(w * np.ones(a.shape, float_dtype(a)), axis, keepdims=keepdims)
    return (num / den, den) if returned else num / den


def var(
    a: Any, axis: AxisArg = None, dtype: Any = None, out: Any = None, ddof: float = 0,
    keepdims: Any = NoValue, *, where: Any = NoValue, mean: Any = NoValue,
    correction: Any = NoValue,
) -> Any:
    """Variance Σ |a - ā|² / (N - ddof) (a composite; real on complex a, as NumPy)."""
    check_unsupported("var", mean=mean)
    if correction is not NoValue:
        ddof = correction
    a = _prepare("var", a, dtype, out, where)
    if a.dtype.kind not in "fc":
        a = astype(a, np.float64)
    axes = normalize_axis(axis, a.ndim)
    n = _count(a.shape, axes)
    centred = a - bind(sum_p, a, axis=axes, keepdims=True) / n
    if a.dtype.kind == "c":
        squares = bind(real_p, centred) ** 2 + bind(imag_p, centred) ** 2
    else:
        squares = centred * centred
    return bind(sum_p, squares, axis=axes, keepdims=_kd(keepdims)) / builtins.max(
        n - ddof, 0
    )


def std(
    a: Any, axis: AxisArg = None, dtype: Any = None, out: Any = None, ddof: float = 0,
    keepdims: Any = NoValue, *, where: Any = NoValue, mean: Any = NoValue,
    correction: Any = NoValue,
) -> Any:
    """Standard deviation sqrt(var); its derivative is taken as 0 where the
    variance is 0 (constant data, where std is not differentiable)."""
    v = var(a, axis, dtype, out, ddof, keepdims, where=where, mean=mean, correction=correction)
    return safe_sqrt(v)


def _extreme(prim: Any, name: str, a: Any, axis: Any, out: Any, keepdims: Any,
             initial: Any, where_: Any) -> Any:
    a = _prepare(name, a, None, out, where_)
    check_unsupported(name, initial=initial)
    return bind(prim, a, axis=normalize_axis(axis, a.ndim), keepdims=_kd(keepdims))


def max(
    a: Any, axis: AxisArg = None, out: Any = None, keepdims: Any = NoValue,
    initial: Any = NoValue, where: Any = NoValue,
) -> Any:
    """Maximum over `axis`; the derivative is shared evenly among ties."""
    return _extreme(max_p, "max", a, axis, out, keepdims, initial, where)


def min(
    a: Any, axis: AxisArg = None, out: Any = None, keepdims: Any = NoValue,
    initial: Any = NoValue, where: Any = NoValue,
) -> Any:
    """Minimum over `axis`; the derivative is shared evenly among ties."""
    return _extreme(min_p, "min", a, axis, out, keepdims, initial, where)


amax, amin = max, min


def ptp(a: Any, axis: AxisArg = None, out: Any = None, keepdims: Any = NoValue) -> Any:
    """Peak to peak: max - min."""
    return max(a, axis, out, keepdims) - min(a, axis, out, keepdims)


def _arg(prim: Any, name: str, a: Any, axis: Any, out: Any, keepdims: Any) -> Any:
    check_out(name, out)
    a = as_array(a)
    if axis is not None:
        axis = one_axis(axis, a.ndim)
    return bind(prim, a, axis=axis, keepdims=_kd(keepdims))


def argmax(a: Any, axis: int | None = None, out: Any = None, *, keepdims: Any = NoValue) -> Any:
    """Index of the maximum (an integer array: not differentiable)."""
    return _arg(argmax_p, "argmax", a, axis, out, keepdims)


def argmin(a: Any, axis: int | None = None, out: Any = None, *, keepdims: Any = NoValue) -> Any:
    """Index of the minimum (an integer array: not differentiable)."""
    return _arg(argmin_p, "argmin", a, axis, out, keepdims)


def _bool_reduce(prim: Any, name: str, a: Any, axis: Any, out: Any, keepdims: Any) -> Any:
    check_out(name, out)
    a = as_array(a)
    return bind(prim, a, axis=normalize_axis(axis, a.ndim), keepdims=_kd(keepdims))


def any(a: Any, axis: AxisArg = None, out: Any = None, keepdims: Any = NoValue, *,
        where: Any = NoValue) -> Any:
    """Whether any entry is true (boolean: not differentiable)."""
    check_unsupported("any", where=where)
    return _bool_reduce(any_p, "any", a, axis, out, keepdims)


def all(a: Any, axis: AxisArg = None, out: Any = None, keepdims: Any = NoValue, *,
        where: Any = NoValue) -> Any:
    """Whether all entries are true (boolean: not differentiable)."""
    check_unsupported("all", where=where)
    return _bool_reduce(all_p, "all", a, axis, out, keepdims)


def count_nonzero(a: Any, axis: AxisArg = None, *, keepdims: bool = False) -> Any:
    """Number of non-zero entries (integer: not differentiable)."""
    return _bool_reduce(count_nonzero_p, "count_nonzero", a, axis, None, keepdims)


def _scan_input(name: str, a: Any, axis: Any, dtype: Any, out: Any) -> tuple[Any, int]:
    check_out(name, out)
    a = as_array(a)
    if dtype is not None:
        a = astype(a, dtype)
    if axis is None:
        return ravel(a), 0
    return a, one_axis(axis, a.ndim)


def cumsum(a: Any, axis: int | None = None, dtype: Any = None, out: Any = None) -> Any:
    """Cumulative sum (linear; flattened when axis is None)."""
    a, ax = _scan_input("cumsum", a, axis, dtype, out)
    return bind(cumsum_p, a, axis=ax, reverse=False)


def cumprod(a: Any, axis: int | None = None, dtype: Any = None, out: Any = None) -> Any:
    """Cumulative product (exact derivative at zeros too)."""
    a, ax = _scan_input("cumprod", a, axis, dtype, out)
    return bind(cumprod_p, a, axis=ax)


def logsumexp(
    a: Any, axis: AxisArg = None, b: Any = None, keepdims: bool = False,
    return_sign: bool = False,
) -> Any:
    """log Σ b e^a over `axis`, computed as m + log Σ b e^(a - m) with the
    constant m = max a, so neither the value nor the derivative (a softmax)
    overflows; -inf with derivative 0 where the sum is 0. With `return_sign`,
    also the sign of Σ b e^a (for negative b). On complex a (or b) it is the
    principal log of the sum, holomorphic in a, with m = max Re a (as SciPy)."""
    a = as_array(a)
    if return_sign and (a.dtype.kind == "c" or np.iscomplexobj(_raw(b))):
        raise NotImplementedError("logsumexp: return_sign=True is not supported on complex "
                                  "values; use the complex result (its log is principal)")
    if a.dtype.kind not in "fc":
        a = astype(a, np.float64)
    axes = normalize_axis(axis, a.ndim)
    if a.size == 0:  # empty sums: -inf as in SciPy (max has no value to offer)
        m = np.zeros(np.shape(np.sum(_raw(a), axis=axes, keepdims=True)), a.dtype)
    else:  # a real shift: log(Σ e^(a - m)) + m stays the principal log on complex a
        m = np.max(np.real(_raw(a)), axis=axes, keepdims=True)
        m = np.where(np.isfinite(m), m, 0).astype(a.dtype)
    e = exp(a - m)
    if b is not None:
        e = e * as_array(b)
    s = bind(sum_p, e, axis=axes, keepdims=True)
    sgn = None
    if return_sign:
        sgn = np.sign(_raw(s))
        s = s * sgn
    # an empty sum (an all -inf slice, or weights b cancelling): log 0 = -inf as in
    # SciPy, with derivative 0 there rather than 0 · inf = NaN in the other slices
    empty = _raw(s) == 0
    if any_set(empty):
        out = _where(empty, -np.inf, log(_where(empty, 1, s))) + m
    else:
        out = log(s) + m
    if not keepdims:
        out = reshape(out, tuple(n for i, n in enumerate(a.shape)
                                 if axes is not None and i not in axes))
        if sgn is not None:
            sgn = np.reshape(sgn, np.shape(_raw(out)))
    return (out, sgn) if return_sign else out


def median(a: Any, axis: AxisArg = None, out: Any = None, overwrite_input: bool = False,
           keepdims: bool = False) -> Any:
    """Median: the middle entry (mean of the two middle entries) of the sorted data;
    NaN where a slice holds a NaN (as NumPy), with derivative 1 for that NaN."""
    check_out("median", out)
    a = as_array(a)
    axes = normalize_axis(axis, a.ndim)
    if axes is None:
        axes = tuple(range(a.ndim))
    keep = [i for i in range(a.ndim) if i not in axes]
    moved = moveaxis(a, axes, tuple(range(-len(axes), 0))) if axes else a
    flat = reshape(moved, (*[a.shape[i] for i in keep], -1))
    s = sort(flat, axis=-1)
    n = flat.shape[-1]
    mid = s[..., n // 2] if n % 2 else (s[..., n // 2 - 1] + s[..., n // 2]) / 2
    if n and a.dtype.kind in "fc":
        last = s[..., -1]  # sort puts NaNs last
        mid = _where(isnan(last), last, mid)
    if keepdims:
        mid = reshape(mid, tuple(1 if i in axes else a.shape[i] for i in range(a.ndim)))
    return mid


def nansum(a: Any, axis: AxisArg = None, dtype: Any = None, out: Any = None,
           keepdims: Any = NoValue, initial: Any = NoValue, where: Any = NoValue) -> Any:
    """Sum treating NaNs as 0 (they get derivative 0)."""
    a = as_array(a)
    return sum(_where(isnan(a), 0, a), axis, dtype, out, keepdims, initial, where)


def nanmean(a: Any, axis: AxisArg = None, dtype: Any = None, out: Any = None,
            keepdims: Any = NoValue, *, where: Any = NoValue) -> Any:
    """Mean over the non-NaN entries."""
    a = as_array(a)
    ok = ~np.isnan(_raw(a))
    count = np.sum(ok, axis=normalize_axis(axis, a.ndim), keepdims=_kd(keepdims))
    return nansum(a, axis, dtype, out, keepdims, where=where) / count.astype(float_dtype(a))


# -- NaN-ignoring reductions (composites: NaN entries are replaced by the operation's
# neutral element, so they get derivative 0) --------------------------------------------


def _all_nan_warning(a: Any, axis: AxisArg) -> Any:
    """The mask of all-NaN slices, warning as NumPy does when there is one."""
    nan = isnan(a)
    empty = all(nan, axis=axis, keepdims=True)
    raw = _raw(empty)
    if isinstance(raw, np.ndarray) and np.any(raw):
        import warnings

        warnings.warn("All-NaN slice encountered", RuntimeWarning, stacklevel=3)
    return nan, empty


def _nan_extreme(fn: Any, fill: float, a: Any, axis: AxisArg, out: Any, keepdims: Any,
                 initial: Any, where: Any) -> Any:
    a = as_array(a)
    if a.dtype.kind != "f":
        return fn(a, axis, out, keepdims, initial, where)
    nan, empty = _all_nan_warning(a, axis)
    res = _where(empty, np.nan, fn(_where(nan, fill, a), axis, out, True, initial, where))
    return res if _kd(keepdims) else _drop_axes(res, a.shape, axis)


def _drop_axes(x: Any, shape: tuple[int, ...], axis: AxisArg) -> Any:
    """A keepdims=True reduction result of an array of `shape`, without the reduced axes."""
    axes = normalize_axis(axis, len(shape))
    if axes is None:
        return reshape(x, ())
    return reshape(x, tuple(n for i, n in enumerate(shape) if i not in axes))


def nanmax(a: Any, axis: AxisArg = None, out: Any = None, keepdims: Any = NoValue,
           initial: Any = NoValue, where: Any = NoValue) -> Any:
    """Maximum ignoring NaNs (NaN, with NumPy's RuntimeWarning, for an all-NaN slice)."""
    return _nan_extreme(max, -np.inf, a, axis, out, keepdims, initial, where)


def nanmin(a: Any, axis: AxisArg = None, out: Any = None, keepdims: Any = NoValue,
           initial: Any = NoValue, where: Any = NoValue) -> Any:
    """Minimum ignoring NaNs (NaN, with NumPy's RuntimeWarning, for an all-NaN slice)."""
    return _nan_extreme(min, np.inf, a, axis, out, keepdims, initial, where)


def nanprod(a: Any, axis: AxisArg = None, dtype: Any = None, out: Any = None,
            keepdims: Any = NoValue, initial: Any = NoValue, where: Any = NoValue) -> Any:
    """Product treating NaNs as 1 (they get derivative 0)."""
    a = as_array(a)
    return prod(_where(isnan(a), 1, a), axis, dtype, out, keepdims, initial, where)


def nanvar(a: Any, axis: AxisArg = None, dtype: Any = None, out: Any = None, ddof: float = 0,
           keepdims: Any = NoValue, *, where: Any = NoValue, mean: Any = NoValue,
           correction: Any = NoValue) -> Any:
    """Variance over the non-NaN entries, Σ (a - ā)² / (N - ddof)."""
    check_unsupported("nanvar", mean=mean, where=where)
    check_out("nanvar", out)
    if correction is not NoValue:
        ddof = correction
    a = as_array(a)
    if dtype is not None:
        a = astype(a, dtype)
    if a.dtype.kind != "f":
        a = astype(a, np.float64)
    nan = isnan(a)
    count = sum(_where(nan, 0, 1), axis=axis, keepdims=True)
    centred = _where(nan, 0, a - nansum(a, axis, keepdims=True) / count)
    dof = astype(count - ddof, a.dtype)
    with np.errstate(divide="ignore", invalid="ignore"):
        res = sum(centred * centred, axis=axis, keepdims=True) / _where(dof > 0, dof, np.nan)
    return res if _kd(keepdims) else _drop_axes(res, a.shape, axis)


def nanstd(a: Any, axis: AxisArg = None, dtype: Any = None, out: Any = None, ddof: float = 0,
           keepdims: Any = NoValue, *, where: Any = NoValue, mean: Any = NoValue,
           correction: Any = NoValue) -> Any:
    """sqrt(nanvar); derivative 0 where the variance is 0."""
    return safe_sqrt(nanvar(a, axis, dtype, out, ddof, keepdims, where=where, mean=mean,
                            correction=correction))


def nancumsum(a: Any, axis: int | None = None, dtype: Any = None, out: Any = None) -> Any:
    """Cumulative sum treating NaNs as 0."""
    a = as_array(a)
    return cumsum(_where(isnan(a), 0, a), axis, dtype, out)


def nancumprod(a: Any, axis: int | None = None, dtype: Any = None, out: Any = None) -> Any:
    """Cumulative product treating NaNs as 1."""
    a = as_array(a)
    return cumprod(_where(isnan(a), 1, a), axis, dtype, out)


def _no_all_nan(a: Any, axis: int | None) -> None:
    raw = _raw(isnan(a))
    if isinstance(raw, np.ndarray) and np.any(np.all(raw, axis=axis)):
        raise ValueError("All-NaN slice encountered")


def nanargmax(a: Any, axis: int | None = None, out: Any = None, *,
              keepdims: Any = NoValue) -> Any:
    """Index of the maximum ignoring NaNs (an integer result)."""
    a = as_array(a)
    _no_all_nan(a, axis)
    return argmax(_where(isnan(a), -np.inf, a), axis, out, keepdims=keepdims)


def nanargmin(a: Any, axis: int | None = None, out: Any = None, *,
              keepdims: Any = NoValue) -> Any:
    """Index of the minimum ignoring NaNs (an integer result)."""
    a = as_array(a)
    _no_all_nan(a, axis)
    return argmin(_where(isnan(a), np.inf, a), axis, out, keepdims=keepdims)
