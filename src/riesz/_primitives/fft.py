"""Discrete Fourier transforms: three linear primitives behind `riesz.numpy.fft`.

* `fft`: the complex transform over `axes`, forward (exponent -2πi jk/n) or
  `inverse` (+2πi jk/n), with NumPy's `norm` scale;
* `rfft`: a real signal of length n along `axis` to its half spectrum of
  m = n//2 + 1 bins (`hermitian=True`: `ihfft`, the conjugate exponent);
* `irfft`: a half spectrum (m bins) to the real signal of length `n`
  (`hermitian=True`: `hfft`).

Padding and cropping to NumPy's `n` / `s` are `pad` and `getitem` in front of
them (`riesz.numpy.fft`), so each primitive maps its whole input.

Adjoints, under ⟨x, y⟩ = Re vdot(x, y) on Cⁿ (SPEC §13). With F the DFT
matrix, norm scales F by c = 1, 1/√n, 1/n ("backward", "ortho", "forward")
and its inverse F^H by 1/n, 1/√n, 1 — so swapping backward ↔ forward turns
one scale into the other, and

* fft(·, norm)*      = ifft(·, swap(norm))   (F^H is the conjugate transpose);
* rfft(·, norm)*[v]  = irfft(v / w, n, swap(norm)), where w = 2 on the
  interior bins and 1 on DC and (n even) Nyquist: irfft rebuilds the full
  Hermitian spectrum, so it counts each interior bin twice, while the adjoint
  Re Σ_k v_k e^{+2πi jk/n} counts it once; irfft also drops Im v_0 and
  Im v_{n/2}, which Re drops too;
* irfft(·, n, norm)*[r] = w ⊙ rfft(r, swap(norm)) (zero imaginary part on DC
  and Nyquist, the directions irfft ignores);
* ihfft ↔ hfft the same way (they are rfft / irfft with the exponent's sign
  flipped: ihfft(x) = conj(rfft(x)), hfft(a) = irfft(conj(a))).

All are linear, so the JVP applies the primitive to the tangent, vmap shifts
the axis parameters past the batch axis, and jet transforms each coefficient.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from .._core.primitive import Primitive, linear_unary
from .._core.trace import bind
from .._interpreters import taylor
from ._batch_axes import axis_params

Norm = Literal["backward", "ortho", "forward"]  # (riesz.numpy.fft checks the argument)
NORMS = ("backward", "ortho", "forward")
SWAP = {"backward": "forward", "ortho": "ortho", "forward": "backward"}


def _fft_impl(x: Any, axes: tuple[int, ...], norm: Norm, inverse: bool) -> Any:
    return (np.fft.ifftn if inverse else np.fft.fftn)(x, axes=axes, norm=norm)


fft_p = Primitive(
    "fft", _fft_impl, family="linear",
    notes="complex DFT over `axes` (inverse: ifft); adjoint ifft with backward ↔ forward norm",
)


def _fft_transpose(g: Any, x: Any, axes: tuple[int, ...], norm: Norm, inverse: bool) -> Any:
    return bind(fft_p, g, axes=axes, norm=SWAP[norm], inverse=not inverse)


linear_unary(fft_p, _fft_transpose)
axis_params(fft_p, "axes")
taylor.linear_jet(fft_p)


def _rfft_impl(x: Any, axis: int, norm: Norm, hermitian: bool) -> Any:
    return (np.fft.ihfft if hermitian else np.fft.rfft)(x, axis=axis, norm=norm)


rfft_p = Primitive(
    "rfft", _rfft_impl, family="linear",
    notes="real signal to half spectrum along `axis` (hermitian: ihfft); adjoint irfft of "
          "the cotangent with its interior bins halved",
)


def _irfft_impl(y: Any, axis: int, n: int, norm: Norm, hermitian: bool) -> Any:
    return (np.fft.hfft if hermitian else np.fft.irfft)(y, n=n, axis=axis, norm=norm)


irfft_p = Primitive(
    "irfft", _irfft_impl, family="linear",
    notes="half spectrum (n//2 + 1 bins) to a real signal of length n (hermitian: hfft); "
          "adjoint rfft with its interior bins doubled",
)


def bin_weights(n: int, axis: int, ndim: int, dtype: Any) -> np.ndarray:
    """w: how often irfft counts each of the n//2 + 1 bins of a real length-n
    signal's spectrum (1 for DC and, n even, Nyquist; 2 for the others), shaped
    to broadcast along `axis` of an `ndim`-d array (and leading batch axes)."""
    w = np.full(n // 2 + 1, 2.0, dtype=np.finfo(dtype).dtype)
    w[0] = 1.0
    if n % 2 == 0:
        w[-1] = 1.0
    return w.reshape((-1,) + (1,) * (ndim - 1 - axis))


def _rfft_transpose(g: Any, x: Any, axis: int, norm: Norm, hermitian: bool) -> Any:
    n = x.shape[axis]
    half = g * (1.0 / bin_weights(n, axis, x.ndim, g.dtype))
    return bind(irfft_p, half, axis=axis, n=n, norm=SWAP[norm], hermitian=hermitian)


def _irfft_transpose(g: Any, y: Any, axis: int, n: int, norm: Norm, hermitian: bool) -> Any:
    spec = bind(rfft_p, g, axis=axis, norm=SWAP[norm], hermitian=hermitian)
    return spec * bin_weights(n, axis, y.ndim, g.dtype)


linear_unary(rfft_p, _rfft_transpose)
linear_unary(irfft_p, _irfft_transpose)
for _p in (rfft_p, irfft_p):
    axis_params(_p, "axis")
    taylor.linear_jet(_p)
