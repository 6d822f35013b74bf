"""`riesz.scipy.special`: differentiable special functions.

erf, erfc, gammaln, gamma, digamma / polygamma, expit, logit, xlogy and
xlog1py are elementwise primitives (each declares its derivative once);
logsumexp, softmax and log_softmax are stable composites: the maximum is
subtracted as a constant first, so neither values nor derivatives overflow.
Because SciPy's special functions are NumPy ufuncs, `scipy.special.erf(x)`
on a traced value is routed here by `__array_ufunc__`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import scipy.special as _sp

from .._core.primitive import Primitive, elementwise_unary
from .._core.trace import bind, raw_value
from .._core.trace import strip_derivatives as _raw
from .._interpreters import taylor
from .._primitives._batch_axes import elementwise as batch_elementwise
from .._primitives._util import any_set, as_array
from .._primitives.elementwise import elementwise_binary, exp_p, log1p_p, log_p, where_p
from ..numpy import _dispatch
from ..numpy._elementwise import _binary, _ufunc_options, _unary, exp
from ..numpy._reductions import logsumexp as _logsumexp

__all__ = [
    "digamma", "erf", "erfc", "expit", "gamma", "gammaln", "log_softmax", "logit",
    "logsumexp", "polygamma", "psi", "softmax", "xlog1py", "xlogy",
]

_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)

erf_p = elementwise_unary(
    Primitive("erf", _sp.erf), lambda x, ans: _TWO_OVER_SQRT_PI * bind(exp_p, -(x * x))
)
erfc_p = elementwise_unary(
    Primitive("erfc", _sp.erfc), lambda x, ans: -_TWO_OVER_SQRT_PI * bind(exp_p, -(x * x))
)
expit_p = elementwise_unary(Primitive("expit", _sp.expit), lambda x, ans: ans * (1 - ans))
logit_p = elementwise_unary(
    Primitive("logit", _sp.logit, notes="derivative 1/(x(1-x)): inf at 0 and 1"),
    lambda x, ans: 1 / (x * (1 - x)),
)


def _polygamma_impl(x: Any, n: int) -> Any:
    x = np.asarray(x)
    dtype = x.dtype if x.dtype.kind == "f" else np.dtype(np.float64)
    out = _sp.digamma(x) if n == 0 else _sp.polygamma(n, x)
    return np.asarray(out).astype(dtype, copy=False)[()]


polygamma_p = Primitive(
    "polygamma", _polygamma_impl, family="elementwise",
    notes="ψ⁽ⁿ⁾(x) (n = 0: digamma); derivative ψ⁽ⁿ⁺¹⁾(x)",
)


def _polygamma_diagonal(t: Any, ans: Any, x: Any, n: int) -> Any:
    """ψ⁽ⁿ⁺¹⁾(x) ⊙ t: the JVP, and (the Jacobian being diagonal) the VJP."""
    return t * bind(polygamma_p, x, n=n + 1)


polygamma_p.def_jvp(_polygamma_diagonal).def_vjp(_polygamma_diagonal)

gammaln_p = elementwise_unary(
    Primitive("gammaln", _sp.gammaln, notes="log|Γ(x)|; derivative digamma(x)"),
    lambda x, ans: bind(polygamma_p, x, n=0),
)
gamma_p = elementwise_unary(
    Primitive("gamma", _sp.gamma), lambda x, ans: ans * bind(polygamma_p, x, n=0)
)


# xlogy(x, y) = x log y and xlog1py(x, y) = x log(1 + y), 0 where x = 0: with
# f = log or log1p, ∂/∂x = f(y), ∂/∂y = x f'(y). At the one singular point
# (x = 0 and f(y) = -inf; the function is 0 along x = 0 and -inf along that y)
# both are taken as 0, by evaluating the formulas at f(y) = 0 there: no NaN, no inf.


def _x_f_partials(f_p: Primitive, pole: float) -> tuple[Any, Any]:
    """∂/∂x and ∂/∂y of x f(y), where f has a log singularity at y = pole
    (f = log: pole 0; f = log1p: pole -1) and f(pole + 1) = 0."""

    def safe_y(x: Any, y: Any) -> Any:
        xr, yr = _raw(x), _raw(y)
        singular = np.logical_and(xr == 0, yr == pole)  # not `&`: xr may be a NumPy bool
        if not any_set(singular):
            return y
        shape = np.broadcast_shapes(np.shape(xr), np.shape(yr))
        return bind(where_p, np.broadcast_to(singular, shape), pole + 1, y)

    def dx(x: Any, y: Any, ans: Any) -> Any:
        return bind(f_p, safe_y(x, y))

    def dy(x: Any, y: Any, ans: Any) -> Any:
        y = safe_y(x, y)
        return x / (y - pole if pole else y)

    return dx, dy


xlogy_p = elementwise_binary(
    Primitive(
        "xlogy", _sp.xlogy,
        notes="x log y with xlogy(0, y) = 0; both partial derivatives taken as 0 at (0, 0)",
    ),
    *_x_f_partials(log_p, 0.0),
)
xlog1py_p = elementwise_binary(
    Primitive(
        "xlog1py", _sp.xlog1py,
        notes="x log(1 + y), 0 where x = 0; both partial derivatives taken as 0 at (0, -1)",
    ),
    *_x_f_partials(log1p_p, -1.0),
)

# -- vmap: polygamma acts entrywise (the other functions get it from their family) --
batch_elementwise(polygamma_p)

# -- Taylor mode (riesz.jet): y' = f'(x) x' on the series one order lower (the general
# rule; xlogy and xlog1py get it from the binary family). polygamma's chain
# ψ⁽ⁿ⁾ → ψ⁽ⁿ⁺¹⁾ → ... ends after K steps, so its cost stays polynomial in K.
for _prim in (erf_p, erfc_p, expit_p, logit_p, gammaln_p, gamma_p, polygamma_p):
    taylor.jet_from_jvp(_prim)

# -- public functions ------------------------------------------------------------------

erf = _unary(erf_p, "erf")
erfc = _unary(erfc_p, "erfc")
expit = _unary(expit_p, "expit")
logit = _unary(logit_p, "logit")
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
    (_sp.xlog1py, xlog1py),
):
    _dispatch.register_ufunc(_ufunc, _impl)
del _ufunc, _impl

