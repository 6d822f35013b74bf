"""`riesz.scipy.special`: differentiable special functions.

erf, erfc, erfinv, erfcinv, log_ndtr, gammaln, gamma, rgamma, gammasgn, digamma /
polygamma, beta, betaln, betainc, betaincc, gammainc, gammaincc, expit, logit, xlogy, xlog1py and
the Bessel functions (jv, yv, iv, ive, kv, j0, j1, y0, y1, i0, i1, i0e, i1e, jn, yn) bind
the elementwise primitives of `riesz._primitives.special`; multigammaln is a sum of
gammaln. gammainc / gammaincc and betainc are differentiable in their shape parameters
too (series / continued fractions); the Bessel order v has no derivative implemented and
raises an error naming it; integer orders (jn, yn, polygamma's
n, multigammaln's d) refuse traced values. logsumexp, softmax and log_softmax are stable
composites: the maximum is subtracted as a constant first, so neither values nor
derivatives overflow.
Because SciPy's special functions are NumPy ufuncs, `scipy.special.erf(x)`
on a traced value is routed here by `__array_ufunc__`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.special as _sp

from .._core.trace import Tracer, bind, raw_value
from .._primitives._util import as_array
from .._primitives.special import (
    beta_p,
    betainc_p,
    betaincc_p,
    betaln_p,
    erf_p,
    erfc_p,
    erfcinv_p,
    erfinv_p,
    expit_p,
    gamma_p,
    gammainc_p,
    gammaincc_p,
    gammaln_p,
    gammasgn_p,
    i0_p,
    i0e_p,
    i1_p,
    i1e_p,
    iv_p,
    ive_p,
    j0_p,
    j1_p,
    jv_p,
    kv_p,
    log_ndtr_p,
    logit_p,
    polygamma_p,
    rgamma_p,
    xlog1py_p,
    xlogy_p,
    y0_p,
    y1_p,
    yn_p,
    yv_p,
)
from ..numpy import _dispatch
from ..numpy._elementwise import _binary, _ufunc_options, _unary, exp
from ..numpy._reductions import logsumexp as _logsumexp
from ..numpy._reductions import sum as _sum
from ..numpy._shape import stack as _stack

__all__ = [
    "beta", "betainc", "betaincc", "betaln", "erfcinv", "erfinv", "gammainc", "gammaincc",
    "gammasgn", "i0", "i0e", "i1", "i1e", "iv", "ive", "j0", "j1", "jn", "jv", "kv", "multigammaln",
    "rgamma", "y0", "y1", "yn", "yv",
    "digamma", "erf", "erfc", "expit", "gamma", "gammaln", "log_ndtr", "log_softmax", "logit",
    "logsumexp", "polygamma", "psi", "softmax", "xlog1py", "xlogy",
]

# -- public functions ------------------------------------------------------------------

erf = _unary(erf_p, "erf")
erfc = _unary(erfc_p, "erfc")
expit = _unary(expit_p, "expit")
logit = _unary(logit_p, "logit")
log_ndtr = _unary(log_ndtr_p, "log_ndtr")
gammaln = _unary(gammaln_p, "gammaln")
gamma = _unary(gamma_p, "gamma")
xlogy = _binary(xlogy_p, "xlogy")
xlog1py = _binary(xlog1py_p, "xlog1py")
beta = _binary(beta_p, "beta")
betaln = _binary(betaln_p, "betaln")
gammainc = _binary(gammainc_p, "gammainc")
gammaincc = _binary(gammaincc_p, "gammaincc")
erfinv = _unary(erfinv_p, "erfinv")
erfcinv = _unary(erfcinv_p, "erfcinv")
rgamma = _unary(rgamma_p, "rgamma")
gammasgn = _unary(gammasgn_p, "gammasgn")
jv = _binary(jv_p, "jv")
yv = _binary(yv_p, "yv")
iv = _binary(iv_p, "iv")
ive = _binary(ive_p, "ive")
kv = _binary(kv_p, "kv")
j0 = _unary(j0_p, "j0")
j1 = _unary(j1_p, "j1")
y0 = _unary(y0_p, "y0")
y1 = _unary(y1_p, "y1")
i0 = _unary(i0_p, "i0")
i1 = _unary(i1_p, "i1")
i0e = _unary(i0e_p, "i0e")
i1e = _unary(i1e_p, "i1e")


def _integer_order(name: str, arg: str, n: Any, what: str = "order") -> Any:
    """An integer order (jn, yn, multigammaln): a plain integer (array); a traced float or a
    non-integer value raises, naming the argument (an order has no derivative)."""
    if isinstance(n, Tracer) and np.result_type(raw_value(n)).kind not in "iub":
        raise TypeError(f"{name}: the {what} `{arg}` is an integer and has no derivative; "
                        "got a traced value (pass a plain integer or integer array)")
    r = np.asarray(raw_value(n))
    if r.dtype.kind not in "iub" and not (r.dtype.kind == "f" and np.all(r == np.round(r))):
        raise ValueError(f"{name}: the {what} `{arg}` must be an integer, got {r!r}")
    return n


def jn(n: Any, x: Any, /, out: Any = None, **kwargs: Any) -> Any:
    """J_n(x) for an integer order n (SciPy's jn is jv); ∂x = (n/x) J_n - J_(n+1)."""
    return jv(_integer_order("jn", "n", n), x, out=out, **kwargs)


def yn(n: Any, x: Any, /, out: Any = None, **kwargs: Any) -> Any:
    """Y_n(x) for an integer order n; ∂x = (n/x) Y_n - Y_(n+1)."""
    n = _integer_order("yn", "n", n)
    if out is not None or kwargs:
        n, x = _ufunc_options("yn", (n, x), out, kwargs)
    return bind(yn_p, _coerce(n), _coerce(x))


def multigammaln(a: Any, d: int) -> Any:
    """log Γ_d(a) = d(d-1)/4 log π + Σ_(j=1..d) log Γ(a - (j-1)/2), SciPy's sum of
    gammaln; ∂a = Σ_j ψ(a - (j-1)/2). The dimension d is an integer (no derivative)."""
    d = _integer_order("multigammaln", "d", d, "dimension")
    if np.ndim(d) != 0 or int(d) < 1:
        raise ValueError("multigammaln: d should be a positive integer (dimension)")
    d = int(d)
    a = as_array(a)
    if np.any(raw_value(a) <= 0.5 * (d - 1)):
        raise ValueError(f"multigammaln: condition a > 0.5 * (d-1) ({0.5 * (d - 1)}) not met")
    res = (d * (d - 1) * 0.25) * np.log(np.pi)
    return res + _sum(gammaln(_stack([a - (j - 1.0) / 2 for j in range(1, d + 1)])), axis=0)


def betainc(a: Any, b: Any, x: Any, /, out: Any = None, **kwargs: Any) -> Any:
    """The regularized incomplete beta function I_x(a, b); ∂x = x^(a-1)(1-x)^(b-1)/B(a, b);
    ∂a, ∂b (no closed form) by a continued fraction, accurate relative to the tails."""
    if out is not None or kwargs:
        a, b, x = _ufunc_options("betainc", (a, b, x), out, kwargs)
    return bind(betainc_p, *(_coerce(v) for v in (a, b, x)))


def betaincc(a: Any, b: Any, x: Any, /, out: Any = None, **kwargs: Any) -> Any:
    """The complement 1 - I_x(a, b), accurate where I_x(a, b) is near 1 (SciPy's
    betaincc); ∂x = -x^(a-1)(1-x)^(b-1)/B(a, b); the shape derivatives raise."""
    if out is not None or kwargs:
        a, b, x = _ufunc_options("betaincc", (a, b, x), out, kwargs)
    return bind(betaincc_p, *(_coerce(v) for v in (a, b, x)))


def _coerce(x: Any) -> Any:
    """Lists and tuples become arrays; Python scalars stay weakly typed (as in SciPy)."""
    return as_array(x) if type(x) is list or type(x) is tuple else x


def digamma(x: Any, /, out: Any = None, **kwargs: Any) -> Any:
    """ψ(x) = Γ'(x)/Γ(x); derivative polygamma(1, x)."""
    (x,) = _ufunc_options("digamma", (x,), out, kwargs)
    return polygamma(0, x)


psi = digamma


def polygamma(n: Any, x: Any) -> Any:
    """ψ⁽ⁿ⁾(x) for an integer order n (not differentiable in n)."""
    n = _integer_order("polygamma", "n", n)
    if isinstance(n, Tracer) or np.ndim(n) != 0 or int(n) < 0:
        raise NotImplementedError("polygamma: n must be a non-negative integer scalar")
    order = int(n)
    return bind(polygamma_p, as_array(x), n=order)


logsumexp = _logsumexp


def softmax(x: Any, axis: Any = None) -> Any:
    """exp(x - logsumexp(x)) along `axis` (all axes by default); stable."""
    x = as_array(x)
    return exp(x - _logsumexp(x, axis=axis, keepdims=True))


def log_softmax(x: Any, axis: Any = None) -> Any:
    """x - logsumexp(x) along `axis`; stable."""
    x = as_array(x)
    return x - _logsumexp(x, axis=axis, keepdims=True)


for _ufunc, _impl in (
    (_sp.erf, erf), (_sp.erfc, erfc), (_sp.expit, expit), (_sp.logit, logit),
    (_sp.gammaln, gammaln), (_sp.gamma, gamma), (_sp.psi, digamma), (_sp.xlogy, xlogy),
    (_sp.xlog1py, xlog1py), (_sp.log_ndtr, log_ndtr), (_sp.beta, beta), (_sp.betaln, betaln),
    (_sp.betainc, betainc), (_sp.betaincc, betaincc), (_sp.gammainc, gammainc),
    (_sp.gammaincc, gammaincc),
    (_sp.erfinv, erfinv), (_sp.erfcinv, erfcinv), (_sp.rgamma, rgamma),
    (_sp.gammasgn, gammasgn), (_sp.jv, jv), (_sp.yv, yv), (_sp.iv, iv), (_sp.ive, ive),
    (_sp.kv, kv), (_sp.yn, yn), (_sp.j0, j0), (_sp.j1, j1), (_sp.y0, y0), (_sp.y1, y1),
    (_sp.i0, i0), (_sp.i1, i1), (_sp.i0e, i0e), (_sp.i1e, i1e),
):
    _dispatch.register_ufunc(_ufunc, _impl)
del _ufunc, _impl

