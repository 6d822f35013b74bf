"""`riesz.scipy.special`: differentiable special functions.

erf, erfc, log_ndtr, gammaln, gamma, digamma / polygamma, expit, logit, xlogy
and xlog1py bind the elementwise primitives of `riesz._primitives.special`;
logsumexp, softmax and log_softmax are stable composites: the maximum is
subtracted as a constant first, so neither values nor derivatives overflow.
Because SciPy's special functions are NumPy ufuncs, `scipy.special.erf(x)`
on a traced value is routed here by `__array_ufunc__`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.special as _sp

from .._core.trace import bind, raw_value
from .._primitives._util import as_array
from .._primitives.special import (
    erf_p,
    erfc_p,
    expit_p,
    gamma_p,
    gammaln_p,
    log_ndtr_p,
    logit_p,
    polygamma_p,
    xlog1py_p,
    xlogy_p,
)
from ..numpy import _dispatch
from ..numpy._elementwise import _binary, _ufunc_options, _unary, exp
from ..numpy._reductions import logsumexp as _logsumexp

__all__ = [
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


def digamma(x: Any, /, out: Any = None, **kwargs: Any) -> Any:
    """ψ(x) = Γ'(x)/Γ(x); derivative polygamma(1, x)."""
    (x,) = _ufunc_options("digamma", (x,), out, kwargs)
    return polygamma(0, x)


psi = digamma


def polygamma(n: Any, x: Any) -> Any:
    """ψ⁽ⁿ⁾(x) for an integer order n (not differentiable in n)."""
    order = int(np.asarray(raw_value(n)))
    if np.ndim(raw_value(n)) != 0 or order < 0:
        raise NotImplementedError("polygamma: n must be a non-negative integer scalar")
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
    (_sp.xlog1py, xlog1py), (_sp.log_ndtr, log_ndtr),
):
    _dispatch.register_ufunc(_ufunc, _impl)
del _ufunc, _impl

