"""Public convolutions: `numpy.convolve` / `numpy.correlate` (1-D) and the
N-d `correlate_nd` / `convolve_nd` behind `riesz.scipy.signal`. All are the
valid-mode correlation primitive (which conjugates nothing) applied to a
zero-padded input, then cropped; convolution is correlation with the flipped
kernel, and the public correlations conjugate their second argument first, as
NumPy and SciPy do on complex arrays."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._core.trace import bind
from .._primitives._util import as_array, conj
from .._primitives.convolution import correlate_p
from .._primitives.indexing import getitem_p
from .._primitives.shape import pad_p
from ._elementwise import astype
from ._shape import flip


def _float_pair(x: Any, k: Any) -> tuple[Any, Any]:
    x, k = as_array(x), as_array(k)
    d = np.result_type(x.dtype, k.dtype)
    if d.kind not in "fc":
        d = np.dtype(np.float64)
    return (x if x.dtype == d else astype(x, d)), (k if k.dtype == d else astype(k, d))


def _crop(y: Any, shape: tuple[int, ...]) -> Any:
    """The centred part of y with the given shape (as SciPy's `_centered`)."""
    index = []
    for n_full, n in zip(y.shape, shape, strict=True):
        start = (n_full - n) // 2
        index.append(slice(start, start + n))
    return bind(getitem_p, y, index=tuple(index))


def correlate_nd(in1: Any, in2: Any, mode: str = "full") -> Any:
    """`scipy.signal.correlate(in1, in2, mode)`:
    z[n] = Σ_m in1[n + m] conj(in2[m]) over the overlap, R-bilinear in (in1, in2)."""
    x, k = _float_pair(in1, in2)
    return _correlate_plain(x, conj(k), mode)


def _correlate_plain(x: Any, k: Any, mode: str) -> Any:
    """z[n] = Σ_m x[n + m] k[m] (no conjugation) in SciPy's modes."""
    if x.ndim != k.ndim:
        raise ValueError("in1 and in2 should have the same dimensionality")
    if mode == "valid":
        if all(a >= b for a, b in zip(x.shape, k.shape, strict=True)):
            return bind(correlate_p, x, k)
        if all(b >= a for a, b in zip(x.shape, k.shape, strict=True)):
            return flip(bind(correlate_p, k, x))
        raise ValueError(
            "For 'valid' mode, one must be at least as large as the other in every dimension"
        )
    widths = tuple((n - 1, n - 1) for n in k.shape)
    full = bind(correlate_p, bind(pad_p, x, widths=widths), k)
    if mode == "full":
        return full
    if mode == "same":
        return _crop(full, x.shape)
    raise ValueError("acceptable mode flags are 'valid', 'same', or 'full'")


def convolve_nd(in1: Any, in2: Any, mode: str = "full") -> Any:
    """`scipy.signal.convolve(in1, in2, mode)`: correlation with the flipped kernel."""
    x, k = _float_pair(in1, in2)
    if mode == "valid" and not all(a >= b for a, b in zip(x.shape, k.shape, strict=True)):
        x, k = k, x  # convolution commutes
    return _correlate_plain(x, flip(k), mode)


def convolve(a: Any, v: Any, mode: str = "full") -> Any:
    """`numpy.convolve` of two 1-D arrays (modes full, same, valid)."""
    a, v = _float_pair(a, v)
    if a.ndim != 1 or v.ndim != 1:
        raise ValueError("object too deep for desired array")
    if v.shape[0] > a.shape[0]:
        a, v = v, a
    return _correlate_1d(a, flip(v), mode)


def correlate(a: Any, v: Any, mode: str = "valid") -> Any:
    """`numpy.correlate` of two 1-D arrays: c[k] = Σ_n a[n + k] conj(v[n])."""
    a, v = _float_pair(a, v)
    if a.ndim != 1 or v.ndim != 1:
        raise ValueError("object too deep for desired array")
    v = conj(v)
    if v.shape[0] > a.shape[0]:
        return flip(_correlate_1d(v, a, mode))
    return _correlate_1d(a, v, mode)


def _correlate_1d(a: Any, v: Any, mode: str) -> Any:
    """NumPy's 1-D correlation of a with v (no longer than a; no conjugation); "same" mode
    keeps len(a) entries starting at (len(v) - 1) // 2 of the full result."""
    if mode != "same":
        return _correlate_plain(a, v, mode)
    start = (v.shape[0] - 1) // 2
    full = _correlate_plain(a, v, "full")
    return bind(getitem_p, full, index=(slice(start, start + a.shape[0]),))
