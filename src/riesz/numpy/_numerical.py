"""Public numerical routines (NumPy signatures): evenly spaced ranges with traced
endpoints, finite differences (`gradient`), quadrature (`trapezoid`), interpolation
(`interp`) and polynomials (`polyval`, `polyfit`).

All are composites of riesz primitives, differentiable in their floating-point inputs:
`linspace(a, b)` in a and b, `interp` in the points x and the values fp (and in xp),
`polyfit` in the data (through `riesz.numpy.linalg.lstsq`). Called on plain arrays they
return NumPy's own results.
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from .._core.trace import Tracer
from .._core.trace import strip_derivatives as _raw
from .._primitives._util import as_array, asarray, float_dtype, one_axis
from ._elementwise import abs, astype, clip, log10, power, remainder, sign, sqrt, where
from ._indexing import argsort, getitem, take
from ._reductions import sum
from ._shape import concatenate, diff, moveaxis, reshape, swapaxes, zeros_like
from .linalg import lstsq

__all__ = ["geomspace", "gradient", "interp", "linspace", "logspace", "polyfit", "polyval",
           "trapezoid"]


def _traced(*xs: Any) -> bool:
    return any(isinstance(x, Tracer) for x in xs)


def linspace(start: Any, stop: Any, num: int = 50, endpoint: bool = True,
             retstep: bool = False, dtype: Any = None, axis: int = 0, *,
             device: Any = None) -> Any:
    """`num` evenly spaced values from start to stop (NumPy's arithmetic: arange · step +
    start, the last value set to stop); differentiable in start and stop."""
    start, stop = asarray(start), asarray(stop)
    if not _traced(start, stop):
        # NumPy's overloads take retstep as a literal True or False only
        return np.linspace(start, stop, num, endpoint, retstep, dtype, axis,  # type: ignore[call-overload]
                           device=device)
    num = operator.index(num)
    if num < 0:
        raise ValueError(f"Number of samples, {num}, must be non-negative.")
    if dtype is not None and np.dtype(dtype).kind != "f":
        raise TypeError(f"linspace: dtype={np.dtype(dtype)} of traced endpoints: riesz "
                        "differentiates floating-point arrays only")
    start, stop = as_array(start), as_array(stop)
    dt = np.result_type(float_dtype(start), float_dtype(stop))
    div = (num - 1) if endpoint else num
    delta = stop - start
    y = np.arange(num, dtype=dt).reshape((-1,) + (1,) * delta.ndim)
    step = delta / div if div > 0 else delta * np.nan
    y = y * step if div > 0 else y * delta
    y = y + start
    if endpoint and num > 1:
        last = reshape(stop + zeros_like(delta), (1, *delta.shape))
        y = concatenate([getitem(y, slice(0, num - 1)), astype(last, y.dtype)], axis=0)
    if axis != 0:
        y = moveaxis(y, 0, axis)
    if dtype is not None:
        y = astype(y, dtype)
    return (y, step) if retstep else y


def logspace(start: Any, stop: Any, num: int = 50, endpoint: bool = True, base: Any = 10.0,
             dtype: Any = None, axis: int = 0) -> Any:
    """base ** linspace(start, stop); differentiable in start, stop and base."""
    start, stop, base = asarray(start), asarray(stop), asarray(base)
    if not _traced(start, stop, base):
        return np.logspace(start, stop, num, endpoint, base, dtype, axis)
    y = linspace(start, stop, num=num, endpoint=endpoint, axis=axis)
    base = as_array(base)
    if base.ndim:
        base = reshape(base, base.shape[:axis] + (1,) + base.shape[axis:]) if axis >= 0 else base
    out = power(base, y)
    return out if dtype is None else astype(out, dtype)


def geomspace(start: Any, stop: Any, num: int = 50, endpoint: bool = True, dtype: Any = None,
              axis: int = 0) -> Any:
    """A geometric progression from start to stop (real, of one sign, nonzero), with the
    endpoints exactly start and stop as NumPy; differentiable in start and stop."""
    start, stop = asarray(start), asarray(stop)
    if not _traced(start, stop):
        return np.geomspace(start, stop, num, endpoint, dtype, axis)
    start, stop = as_array(start), as_array(stop)
    for v in (start, stop):
        r = _raw(v)
        if not isinstance(r, Tracer) and np.any(np.asarray(r) == 0):
            raise ValueError("Geometric sequence cannot include zero")
    out_sign = sign(_raw(start))
    y = linspace(log10(start * out_sign), log10(stop * out_sign), num=num,
                 endpoint=endpoint)
    y = power(10.0, y) * out_sign
    shape = np.broadcast_shapes(start.shape, stop.shape)
    first = reshape(start + np.zeros(shape, y.dtype), (1, *shape))
    pieces = [astype(first, y.dtype)]
    if endpoint and num > 1:
        last = reshape(stop + np.zeros(shape, y.dtype), (1, *shape))
        pieces += [getitem(y, slice(1, num - 1)), astype(last, y.dtype)]
    else:
        pieces.append(getitem(y, slice(1, None)))
    y = concatenate(pieces, axis=0) if num > 0 else y
    if axis != 0:
        y = moveaxis(y, 0, axis)
    return y if dtype is None else astype(y, dtype)


def trapezoid(y: Any, x: Any = None, dx: Any = 1.0, axis: int = -1) -> Any:
    """∫ y by the trapezoidal rule, Σ Δx (y_i + y_(i+1)) / 2; differentiable in y, x
    and dx."""
    y = as_array(y)
    ax = one_axis(axis, y.ndim)
    if x is None:
        d = dx
    else:
        x = as_array(x)
        if x.ndim == 1:
            d = diff(x)
            d = reshape(d, (-1,) + (1,) * (y.ndim - 1 - ax))
        else:
            d = diff(x, axis=ax)
    pre = (slice(None),) * ax
    upper = getitem(y, pre + (slice(1, None),))
    lower = getitem(y, pre + (slice(None, -1),))
    return sum(d * (upper + lower) / 2.0, axis=ax)


# -- gradient: second-order central differences inside, one- or second-order one-sided
# differences at the edges (NumPy's formulas, uniform or coordinate spacing) ---------------


def _gradient_axis(f: Any, ax: int, h: Any, edge_order: int) -> Any:
    n = f.shape[ax]
    if n < edge_order + 1:
        raise ValueError("Shape of array too small to calculate a numerical gradient, at "
                         "least (edge_order + 1) elements are required.")
    pre = (slice(None),) * ax

    def part(sl: Any) -> Any:
        return getitem(f, pre + (sl,))

    def col(v: Any) -> Any:  # coefficients along `ax`, broadcast over the later axes
        v = as_array(v)
        return reshape(v, v.shape + (1,) * (f.ndim - 1 - ax)) if v.ndim else v

    uniform = as_array(h).ndim == 0
    if uniform:
        inner = (part(slice(2, None)) - part(slice(None, -2))) / (2.0 * h)
        if edge_order == 1:
            first = (part(slice(1, 2)) - part(slice(0, 1))) / h
            last = (part(slice(-1, None)) - part(slice(-2, -1))) / h
        else:
            first = (-1.5 * part(slice(0, 1)) + 2.0 * part(slice(1, 2))
                     - 0.5 * part(slice(2, 3))) / h
            last = (0.5 * part(slice(-3, -2)) - 2.0 * part(slice(-2, -1))
                    + 1.5 * part(slice(-1, None))) / h
        return concatenate([first, inner, last], axis=ax)
    dx = diff(h)
    dx1, dx2 = getitem(dx, slice(0, -1)), getitem(dx, slice(1, None))
    a = -dx2 / (dx1 * (dx1 + dx2))
    b = (dx2 - dx1) / (dx1 * dx2)
    c = dx1 / (dx2 * (dx1 + dx2))
    inner = (col(a) * part(slice(None, -2)) + col(b) * part(slice(1, -1))
             + col(c) * part(slice(2, None)))
    if edge_order == 1:
        first = (part(slice(1, 2)) - part(slice(0, 1))) / col(getitem(dx, slice(0, 1)))
        last = (part(slice(-1, None)) - part(slice(-2, -1))) / col(getitem(dx, slice(-1, None)))
    else:
        d1, d2 = getitem(dx, slice(0, 1)), getitem(dx, slice(1, 2))
        a0 = -(2.0 * d1 + d2) / (d1 * (d1 + d2))
        b0 = (d1 + d2) / (d1 * d2)
        c0 = -d1 / (d2 * (d1 + d2))
        first = (col(a0) * part(slice(0, 1)) + col(b0) * part(slice(1, 2))
                 + col(c0) * part(slice(2, 3)))
        d1, d2 = getitem(dx, slice(-2, -1)), getitem(dx, slice(-1, None))
        a1 = d2 / (d1 * (d1 + d2))
        b1 = -(d2 + d1) / (d1 * d2)
        c1 = (2.0 * d2 + d1) / (d2 * (d1 + d2))
        last = (col(a1) * part(slice(-3, -2)) + col(b1) * part(slice(-2, -1))
                + col(c1) * part(slice(-1, None)))
    return concatenate([first, inner, last], axis=ax)


def gradient(f: Any, *varargs: Any, axis: Any = None, edge_order: int = 1) -> Any:
    """NumPy's `gradient`: the derivative of sampled values along each axis (a tuple for
    several axes), with uniform spacings (scalars) or coordinates (1-D arrays) per axis;
    linear in f and differentiable in the spacings too."""
    f = as_array(f)
    if f.dtype.kind != "f":
        f = astype(f, np.float64)
    if axis is None:
        axes = tuple(range(f.ndim))
    elif isinstance(axis, (tuple, list)):
        axes = tuple(one_axis(a, f.ndim) for a in axis)
    else:
        axes = (one_axis(axis, f.ndim),)
    if edge_order not in (1, 2):
        raise ValueError("'edge_order' greater than 2 not supported")
    if not varargs:
        spacing: list[Any] = [1.0] * len(axes)
    elif len(varargs) == 1 and as_array(varargs[0]).ndim == 0:
        spacing = [varargs[0]] * len(axes)
    elif len(varargs) == len(axes):
        spacing = list(varargs)
    else:
        raise TypeError("invalid number of arguments")
    out = []
    for ax, h in zip(axes, spacing, strict=True):
        h = as_array(h)
        if h.ndim == 1:
            if h.shape[0] != f.shape[ax]:
                raise ValueError("when 1d, distances must match the length of the "
                                 "corresponding dimension")
            if h.dtype.kind != "f":
                h = astype(h, np.float64)
            raw = _raw(h)
            if not isinstance(raw, Tracer) and np.all(np.diff(raw) == np.diff(raw)[0]):
                h = getitem(diff(h), 0)  # NumPy uses the uniform formula for even spacing
        elif h.ndim != 0:
            raise ValueError("distances must be either scalars or 1d")
        out.append(_gradient_axis(f, ax, h, edge_order))
    return out[0] if len(axes) == 1 else tuple(out)


# -- interpolation ------------------------------------------------------------------------


def _bin(x: Any, xp: Any) -> Any:
    """j with xp[j] <= x < xp[j + 1], clipped to [0, len(xp) - 2] (an integer result)."""
    rx, rxp = _raw(x), _raw(xp)
    n = xp.shape[0]
    if not _traced(rx, rxp):
        return np.clip(np.searchsorted(rxp, rx, side="right") - 1, 0, n - 2)
    # traced per example (vmap): count the interior knots at or below x
    below = rxp[1:-1] <= reshape(rx, rx.shape + (1,))
    return clip(sum(where(below, 1, 0), axis=-1), 0, n - 2)


def interp(x: Any, xp: Any, fp: Any, left: Any = None, right: Any = None,
           period: Any = None) -> Any:
    """Piecewise-linear interpolation of the points (xp, fp) (xp increasing) at x, as
    NumPy: fp[j] + (x - xp[j]) (fp[j+1] - fp[j]) / (xp[j+1] - xp[j]), left / right (by
    default fp[0] / fp[-1]) outside. Differentiable in x (the slope; one-sided at the
    knots), fp and xp."""
    x, xp, fp = as_array(x), as_array(xp), as_array(fp)
    if not _traced(x, xp, fp, left, right, period):
        return np.interp(x, xp, fp, left, right, period)
    if xp.ndim != 1 or fp.ndim != 1 or xp.shape != fp.shape:
        raise ValueError("fp and xp are not of the same length, or not 1-D")
    if xp.shape[0] == 0:
        raise ValueError("array of sample points is empty")
    if x.dtype.kind != "f":
        x = astype(x, np.float64)
    if period is not None:
        if np.all(np.asarray(_raw(period)) == 0):
            raise ValueError("period must be a non-zero value")
        period = abs(period) if not isinstance(period, Tracer) else period
        left = right = None
        x = remainder(x, period)
        xp = remainder(xp, period)
        order = argsort(_raw(xp))
        xp, fp = take(xp, order), take(fp, order)
        xp = concatenate([getitem(xp, slice(-1, None)) - period, xp,
                          getitem(xp, slice(0, 1)) + period])
        fp = concatenate([getitem(fp, slice(-1, None)), fp, getitem(fp, slice(0, 1))])
    if xp.shape[0] == 1:
        y = getitem(fp, 0) + zeros_like(x)
    else:
        j = _bin(x, xp)
        x0, x1 = take(xp, j), take(xp, j + 1)
        f0, f1 = take(fp, j), take(fp, j + 1)
        slope = (f1 - f0) / (x1 - x0)
        y = slope * (x - x0) + f0
    lo = getitem(fp, 0) if left is None else left
    hi = getitem(fp, -1) if right is None else right
    y = where(_raw(x) < _raw(getitem(xp, 0)), lo, y)
    return where(_raw(x) > _raw(getitem(xp, -1)), hi, y)


# -- polynomials ----------------------------------------------------------------------------


def polyval(p: Any, x: Any) -> Any:
    """p[0] x^(N-1) + ... + p[N-1] by Horner's rule; differentiable in p and x."""
    p, x = as_array(p), as_array(x)
    if not _traced(p, x):
        return np.polyval(p, x)
    y = zeros_like(x)
    if y.dtype.kind != "f" and p.dtype.kind == "f":
        y = astype(y, p.dtype)
    for k in range(p.shape[0]):
        y = y * x + getitem(p, k)
    return y


def polyfit(x: Any, y: Any, deg: int, rcond: Any = None, full: bool = False, w: Any = None,
            cov: Any = False) -> Any:
    """The least-squares polynomial fit of NumPy (column-scaled Vandermonde matrix and
    `lstsq`), differentiable in x, y and w. full=True returns (p, residuals, rank,
    singular values, rcond); cov is not supported."""
    x, y = as_array(x), as_array(y)
    if not _traced(x, y, w):
        # NumPy's overloads take full as a literal True or False only
        return np.polyfit(x, y, deg, rcond, full, w, cov)  # type: ignore[call-overload]
    if cov:
        raise NotImplementedError("polyfit: cov=True is not supported on traced values")
    order = operator.index(deg) + 1
    if deg < 0:
        raise ValueError("expected deg >= 0")
    if x.ndim != 1 or x.shape[0] == 0:
        raise TypeError("expected 1D vector for x" if x.ndim != 1 else "expected non-empty "
                        "vector for x")
    if y.ndim not in (1, 2) or y.shape[0] != x.shape[0]:
        raise TypeError("expected 1D or 2D array for y, with len(x) == len(y)")
    if x.dtype.kind != "f":
        x = astype(x, np.float64)
    if rcond is None:
        rcond = x.shape[0] * np.finfo(x.dtype).eps
    lhs = power(reshape(x, (-1, 1)), np.arange(deg, -1, -1, dtype=x.dtype))
    rhs = y
    if w is not None:
        w = as_array(w)
        if w.ndim != 1 or w.shape[0] != y.shape[0]:
            raise TypeError("expected a 1-d w of the same length as y")
        lhs = lhs * reshape(w, (-1, 1))
        rhs = rhs * (w if rhs.ndim == 1 else reshape(w, (-1, 1)))
    scale = sqrt(sum(lhs * lhs, axis=0))
    lhs = lhs / scale
    c, resids, rank, s = lstsq(lhs, rhs, rcond)
    c = swapaxes(swapaxes(c, 0, -1) / scale, 0, -1) if c.ndim > 1 else c / scale
    rank_raw = _raw(rank)
    if not isinstance(rank_raw, Tracer) and int(rank_raw) != order and not full:
        import warnings

        warnings.warn("Polyfit may be poorly conditioned", np.exceptions.RankWarning,
                      stacklevel=2)
    if full:
        return c, resids, rank, s, rcond
    return c
