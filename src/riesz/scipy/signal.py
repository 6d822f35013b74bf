"""`riesz.scipy.signal`: differentiable N-d convolution and correlation of real or complex
arrays (the valid-mode correlation primitive of `riesz._primitives.convolution`,
applied to zero-padded inputs). `method` is accepted for compatibility; SciPy
picks direct or FFT evaluation for the values."""

from __future__ import annotations

from typing import Any

from .._primitives._util import as_array, conj
from ..numpy._convolution import convolve_nd, correlate_nd
from ..numpy._indexing import getitem

__all__ = ["convolve", "convolve2d", "correlate", "correlate2d", "fftconvolve"]


def correlate(in1: Any, in2: Any, mode: str = "full", method: str = "auto") -> Any:
    """z[n] = Σ_m in1[n + m] in2[m] (modes full, valid, same); bilinear."""
    return correlate_nd(in1, in2, mode)


def convolve(in1: Any, in2: Any, mode: str = "full", method: str = "auto") -> Any:
    """z[n] = Σ_m in1[m] in2[n - m] (modes full, valid, same); bilinear."""
    return convolve_nd(in1, in2, mode)


def fftconvolve(in1: Any, in2: Any, mode: str = "full", axes: Any = None) -> Any:
    """`convolve` (over all axes; `axes` is not supported)."""
    if axes is not None:
        raise NotImplementedError("fftconvolve: axes= is not supported")
    return convolve_nd(in1, in2, mode)


def _check_2d(name: str, boundary: str, fillvalue: Any) -> None:
    if boundary != "fill" or fillvalue != 0:
        raise NotImplementedError(f"{name}: only boundary='fill' with fillvalue=0 is supported")


def correlate2d(in1: Any, in2: Any, mode: str = "full", boundary: str = "fill",
                fillvalue: Any = 0) -> Any:
    """2-D `correlate` (zero boundary). In mode 'same' SciPy centres this one
    differently from `correlate` for even kernel sizes (start K // 2, not
    (K - 1) // 2); riesz follows it."""
    _check_2d("correlate2d", boundary, fillvalue)
    if mode == "valid" and not all(
            a >= b for a, b in zip(as_array(in1).shape, as_array(in2).shape, strict=True)):
        return conj(correlate_nd(in1, in2, mode))  # SciPy swaps the operands: conj moves to in1
    if mode != "same":
        return correlate_nd(in1, in2, mode)
    full = correlate_nd(in1, in2, "full")
    shapes = zip(as_array(in1).shape, as_array(in2).shape, strict=True)
    index = tuple(slice(k // 2, k // 2 + n) for n, k in shapes)
    return getitem(full, index)


def convolve2d(in1: Any, in2: Any, mode: str = "full", boundary: str = "fill",
               fillvalue: Any = 0) -> Any:
    """2-D `convolve` (zero boundary)."""
    _check_2d("convolve2d", boundary, fillvalue)
    return convolve_nd(in1, in2, mode)
