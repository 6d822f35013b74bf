"""N-dimensional cross-correlation in "valid" mode, the one primitive behind
`riesz.numpy.convolve` / `correlate` and `riesz.scipy.signal`.

out[n] = Σ_m x[n + m] k[m] (x at least as large as k along every axis) is
bilinear, and conjugates neither operand (unlike NumPy's / SciPy's correlate,
whose public wrappers conjugate k first). Its adjoints under Re⟨·,·⟩ are again
valid correlations:

* x̄ = correlate_valid(pad(ḡ, K - 1), flip(conj(k)))   (a full convolution of ḡ with k̄),
* k̄ = correlate_valid(conj(x), ḡ),

so derivatives of every order stay within this primitive, `pad` and `flip`.
"full" and "same" modes are valid correlations of a zero-padded input.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.signal

from .._core.primitive import Primitive, bilinear
from .._core.trace import bind
from .._interpreters import taylor
from ._util import conj, host_only, unbroadcast
from .shape import flip_p, pad_p


def _correlate_impl(x: Any, k: Any) -> Any:
    out = scipy.signal.correlate(x, np.conj(k), mode="valid", method="auto")  # SciPy conjugates k
    return out.astype(np.result_type(x, k), copy=False)


correlate_p = Primitive(
    "correlate_valid", host_only(_correlate_impl, "scipy.signal.correlate"),
    notes="N-d cross-correlation, no conjugation, valid mode (x no smaller than k on any axis)",
)


def _correlate_vjp_x(g: Any, ans: Any, x: Any, k: Any) -> Any:
    widths = tuple((n - 1, n - 1) for n in k.shape)
    flipped = bind(flip_p, conj(k), axes=tuple(range(k.ndim)))
    return unbroadcast(bind(correlate_p, bind(pad_p, g, widths=widths), flipped), x.shape, x.dtype)


def _correlate_vjp_k(g: Any, ans: Any, x: Any, k: Any) -> Any:
    return unbroadcast(bind(correlate_p, conj(x), g), k.shape, k.dtype)


bilinear(correlate_p, _correlate_vjp_x, _correlate_vjp_k)

# -- Taylor mode (riesz.jet): bilinear, so the terms are Cauchy products ----------------
taylor.multilinear_jet(correlate_p)
