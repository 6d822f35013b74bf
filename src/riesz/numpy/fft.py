"""`riesz.numpy.fft`: NumPy's discrete Fourier transforms, differentiable.

Same names, signatures and dtype rules as `numpy.fft` (float32 / complex64 in,
single precision out), with `n` / `s` (zero-padding or cropping), `axis` /
`axes` and the three `norm` modes. Every transform is linear: a primitive of
`riesz._primitives.fft` (complex `fft`, real-to-half-spectrum `rfft`,
half-spectrum-to-real `irfft`) behind `pad` / `getitem` for the resizing, so
its VJP is the adjoint under ⟨x, y⟩ = Re vdot(x, y) (SPEC §13): e.g. the VJP of
`fft(x)` is `ifft(v, norm="forward")` = n·ifft(v), the conjugate transpose of
the DFT matrix applied to v. A real input of a complex transform gets a real
cotangent. `np.fft.*` on traced values dispatches here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._core.trace import Tracer, bind
from .._primitives._util import as_array, check_out, one_axis
from .._primitives.elementwise import astype_p
from .._primitives.fft import NORMS, fft_p, irfft_p, rfft_p
from .._primitives.indexing import getitem_p
from .._primitives.shape import pad_p
from ._shape import roll

__all__ = [
    "fft", "fft2", "fftfreq", "fftn", "fftshift", "hfft", "ifft", "ifft2", "ifftn",
    "ifftshift", "ihfft", "irfft", "irfft2", "irfftn", "rfft", "rfft2", "rfftfreq", "rfftn",
]


# -- argument handling --------------------------------------------------------------


def _norm(norm: str | None) -> str:
    if norm is None:
        return "backward"
    if norm not in NORMS:
        raise ValueError(
            f'Invalid norm value {norm!r}; should be "backward", "ortho" or "forward".'
        )
    return norm


def _complex(a: Any) -> Any:
    """`a` as a complex array (complex64 for single precision, as numpy.fft)."""
    a = as_array(a)
    d = a.dtype
    if d.kind == "c":
        return a
    target = np.result_type(d, np.complex64) if d.kind == "f" else np.dtype(np.complex128)
    return bind(astype_p, a, dtype=target) if isinstance(a, Tracer) else a.astype(target)


def _real(a: Any, name: str) -> Any:
    """`a` as a real floating-point array (integers become float64)."""
    a = as_array(a)
    d = a.dtype
    if d.kind == "c":
        raise TypeError(f"{name}: the input must be real, got dtype {d}")
    if d.kind == "f":
        return a
    return bind(astype_p, a, dtype=np.float64) if isinstance(a, Tracer) else a.astype(float)


def _resize(a: Any, axis: int, n: int) -> Any:
    """`a` zero-padded or cropped to length `n` along `axis` (NumPy's `n`)."""
    have = a.shape[axis]
    if n == have:
        return a
    if n > have:
        widths = tuple((0, n - have) if i == axis else (0, 0) for i in range(a.ndim))
        return bind(pad_p, a, widths=widths)
    index = tuple(slice(0, n) if i == axis else slice(None) for i in range(a.ndim))
    return bind(getitem_p, a, index=index)


def _length(n: Any, default: int | None) -> int:
    """NumPy's `n` (None: `default`) checked to be a positive integer."""
    if n is None and default is not None:
        return default
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"Invalid number of FFT data points ({n}) specified.")
    return int(n)


def _axis(axis: Any, a: Any) -> int:
    if a.ndim == 0:
        raise ValueError("the input of an FFT must be at least 1-dimensional")
    return one_axis(axis, a.ndim)


def _nd_args(
    a: Any, s: Sequence[int] | None, axes: Sequence[int] | None, invreal: bool = False
) -> tuple[list[int], list[int]]:
    """NumPy's `s` and `axes` as lists of lengths and non-negative axes: all axes
    by default, the last len(s) axes when only `s` is given; `s[i] = -1` keeps
    the input's length. With `invreal` and no `s`, the last length is 2(m - 1)."""
    if axes is None:
        axes = list(range(a.ndim)) if s is None else list(range(-len(s), 0))
    axes = [one_axis(ax, a.ndim) for ax in axes]
    lengths = [a.shape[ax] for ax in axes] if s is None else list(s)
    if len(lengths) != len(axes):
        raise ValueError("Shape and axes have different lengths.")
    if invreal and axes and (s is None or lengths[-1] is None):
        lengths[-1] = 2 * (a.shape[axes[-1]] - 1)
    lengths = [_length(a.shape[ax] if n is None or n == -1 else n, None)
               for n, ax in zip(lengths, axes, strict=True)]
    return lengths, axes


def _c2c(a: Any, lengths: list[int], axes: list[int], norm: str, inverse: bool) -> Any:
    """The complex transform over `axes` after resizing each to `lengths`
    (repeated axes apply the 1-d transform once per mention, as NumPy does)."""
    if not axes:
        return a
    if len(set(axes)) != len(axes):
        for n, ax in reversed(list(zip(lengths, axes, strict=True))):
            a = _c2c(a, [n], [ax], norm, inverse)
        return a
    for n, ax in zip(lengths, axes, strict=True):
        a = _resize(a, ax, n)
    return bind(fft_p, a, axes=tuple(axes), norm=norm, inverse=inverse)


# -- complex transforms -----------------------------------------------------------------


def fft(a: Any, n: int | None = None, axis: int = -1, norm: str | None = None,
        out: Any = None) -> Any:
    """1-d discrete Fourier transform X_k = Σ_j a_j e^{-2πi jk/n} (scaled by `norm`)."""
    check_out("fft", out)
    a = _complex(a)
    ax = _axis(axis, a)
    return _c2c(a, [_length(n, a.shape[ax])], [ax], _norm(norm), False)


def ifft(a: Any, n: int | None = None, axis: int = -1, norm: str | None = None,
         out: Any = None) -> Any:
    """1-d inverse DFT a_j = (1/n) Σ_k X_k e^{+2πi jk/n} (scaled by `norm`)."""
    check_out("ifft", out)
    a = _complex(a)
    ax = _axis(axis, a)
    return _c2c(a, [_length(n, a.shape[ax])], [ax], _norm(norm), True)


def fftn(a: Any, s: Sequence[int] | None = None, axes: Sequence[int] | None = None,
         norm: str | None = None, out: Any = None) -> Any:
    """N-d DFT over `axes` (all by default), each resized to `s`."""
    check_out("fftn", out)
    a = _complex(a)
    lengths, axes_ = _nd_args(a, s, axes)
    return _c2c(a, lengths, axes_, _norm(norm), False)


def ifftn(a: Any, s: Sequence[int] | None = None, axes: Sequence[int] | None = None,
          norm: str | None = None, out: Any = None) -> Any:
    """N-d inverse DFT over `axes` (all by default), each resized to `s`."""
    check_out("ifftn", out)
    a = _complex(a)
    lengths, axes_ = _nd_args(a, s, axes)
    return _c2c(a, lengths, axes_, _norm(norm), True)


def fft2(a: Any, s: Sequence[int] | None = None, axes: Sequence[int] = (-2, -1),
         norm: str | None = None, out: Any = None) -> Any:
    """2-d DFT over the last two axes."""
    return fftn(a, s, axes, norm, out)


def ifft2(a: Any, s: Sequence[int] | None = None, axes: Sequence[int] = (-2, -1),
          norm: str | None = None, out: Any = None) -> Any:
    """2-d inverse DFT over the last two axes."""
    return ifftn(a, s, axes, norm, out)


# -- real transforms --------------------------------------------------------------------


def _half(a: Any, n: Any, axis: int, norm: Any, hermitian: bool) -> Any:
    """rfft (ihfft) of real `a` resized to n along `axis`."""
    ax = _axis(axis, a)
    a = _resize(a, ax, _length(n, a.shape[ax]))
    return bind(rfft_p, a, axis=ax, norm=_norm(norm), hermitian=hermitian)


def _full(a: Any, n: Any, axis: int, norm: Any, hermitian: bool) -> Any:
    """irfft (hfft) of the half spectrum `a` to a real signal of length n."""
    ax = _axis(axis, a)
    n = _length(n, 2 * (a.shape[ax] - 1))
    a = _resize(a, ax, n // 2 + 1)
    return bind(irfft_p, a, axis=ax, n=n, norm=_norm(norm), hermitian=hermitian)


def rfft(a: Any, n: int | None = None, axis: int = -1, norm: str | None = None,
         out: Any = None) -> Any:
    """DFT of a real signal: the n//2 + 1 non-negative frequency bins."""
    check_out("rfft", out)
    return _half(_real(a, "rfft"), n, axis, norm, False)


def irfft(a: Any, n: int | None = None, axis: int = -1, norm: str | None = None,
          out: Any = None) -> Any:
    """Inverse of `rfft`: the real signal of length n (default 2(m - 1)) whose
    spectrum has the m given non-negative bins (Hermitian symmetry)."""
    check_out("irfft", out)
    return _full(_complex(a), n, axis, norm, False)


def hfft(a: Any, n: int | None = None, axis: int = -1, norm: str | None = None,
         out: Any = None) -> Any:
    """DFT of a signal with Hermitian symmetry given by its first half: a real
    spectrum of length n (default 2(m - 1))."""
    check_out("hfft", out)
    return _full(_complex(a), n, axis, norm, True)


def ihfft(a: Any, n: int | None = None, axis: int = -1, norm: str | None = None,
          out: Any = None) -> Any:
    """Inverse of `hfft`: the n//2 + 1 first bins of the inverse DFT of a real signal."""
    check_out("ihfft", out)
    return _half(_real(a, "ihfft"), n, axis, norm, True)


def rfftn(a: Any, s: Sequence[int] | None = None, axes: Sequence[int] | None = None,
          norm: str | None = None, out: Any = None) -> Any:
    """N-d DFT of a real array: `rfft` over the last of `axes`, then `fft` over the others."""
    check_out("rfftn", out)
    a = _real(a, "rfftn")
    lengths, axes_ = _nd_args(a, s, axes)
    if not axes_:
        raise ValueError("at least 1 axis must be transformed")
    norm = _norm(norm)
    a = _half(a, lengths[-1], axes_[-1], norm, False)
    return _c2c(a, lengths[:-1], axes_[:-1], norm, False)


def irfftn(a: Any, s: Sequence[int] | None = None, axes: Sequence[int] | None = None,
           norm: str | None = None, out: Any = None) -> Any:
    """Inverse of `rfftn`: `ifft` over all but the last of `axes`, then `irfft`
    (to length s[-1], default 2(m - 1)) over the last."""
    check_out("irfftn", out)
    a = _complex(a)
    lengths, axes_ = _nd_args(a, s, axes, invreal=True)
    if not axes_:
        raise ValueError("at least 1 axis must be transformed")
    norm = _norm(norm)
    a = _c2c(a, lengths[:-1], axes_[:-1], norm, True)
    return _full(a, lengths[-1], axes_[-1], norm, False)


def rfft2(a: Any, s: Sequence[int] | None = None, axes: Sequence[int] = (-2, -1),
          norm: str | None = None, out: Any = None) -> Any:
    """2-d DFT of a real array over the last two axes."""
    return rfftn(a, s, axes, norm, out)


def irfft2(a: Any, s: Sequence[int] | None = None, axes: Sequence[int] = (-2, -1),
           norm: str | None = None, out: Any = None) -> Any:
    """Inverse of `rfft2`."""
    return irfftn(a, s, axes, norm, out)


# -- helpers: shifts (rolls) and sample frequencies (constants) -----------------------------


def _shift(x: Any, axes: Any, sign: int) -> Any:
    x = as_array(x)
    if axes is None:
        axes = tuple(range(x.ndim))
    elif isinstance(axes, (int, np.integer)):
        axes = (axes,)
    shifts = tuple(sign * (x.shape[one_axis(ax, x.ndim)] // 2) for ax in axes)
    return roll(x, shifts, axes)


def fftshift(x: Any, axes: int | Sequence[int] | None = None) -> Any:
    """Move the zero-frequency bin to the centre (a roll by n//2 along `axes`)."""
    return _shift(x, axes, 1)


def ifftshift(x: Any, axes: int | Sequence[int] | None = None) -> Any:
    """Inverse of `fftshift` (a roll by -(n//2))."""
    return _shift(x, axes, -1)


def fftfreq(n: int, d: Any = 1.0, device: Any = None) -> Any:
    """Sample frequencies k / (n d) of `fft`'s bins (differentiable in a traced `d`)."""
    freqs = np.fft.fftfreq(n, 1.0, device=device)
    return freqs / d if isinstance(d, Tracer) else np.fft.fftfreq(n, d, device=device)


def rfftfreq(n: int, d: Any = 1.0, device: Any = None) -> Any:
    """Sample frequencies k / (n d) of `rfft`'s n//2 + 1 bins."""
    freqs = np.fft.rfftfreq(n, 1.0, device=device)
    return freqs / d if isinstance(d, Tracer) else np.fft.rfftfreq(n, d, device=device)
