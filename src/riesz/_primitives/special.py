"""Special-function primitives (the public functions are in `riesz.scipy.special`).

erf, erfc, log_ndtr, gammaln, gamma, polygamma (digamma at n = 0), expit, logit,
xlogy and xlog1py are elementwise primitives: each declares its derivative once;
`elementwise_unary` / `elementwise_binary` derive its JVP, VJP and batching
rule, and `taylor.jet_from_jvp` its Taylor rule (y' = f'(x) x' on the series
one order lower; xlogy and xlog1py get it from the binary family).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import scipy.special as _sp

from .._core.primitive import Primitive, elementwise_unary
from .._core.trace import bind
from .._core.trace import strip_derivatives as _raw
from .._interpreters import taylor
from ._batch_axes import elementwise as batch_elementwise
from ._util import any_set
from .elementwise import elementwise_binary, exp_p, log1p_p, log_p, where_p

_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)

erf_p = taylor.jet_from_jvp(elementwise_unary(
    Primitive("erf", _sp.erf), lambda x, ans: _TWO_OVER_SQRT_PI * bind(exp_p, -(x * x))
))
erfc_p = taylor.jet_from_jvp(elementwise_unary(
    Primitive("erfc", _sp.erfc), lambda x, ans: -_TWO_OVER_SQRT_PI * bind(exp_p, -(x * x))
))
expit_p = taylor.jet_from_jvp(elementwise_unary(
    Primitive("expit", _sp.expit), lambda x, ans: ans * (1 - ans)
))
logit_p = taylor.jet_from_jvp(elementwise_unary(
    Primitive("logit", _sp.logit, notes="derivative 1/(x(1-x)): inf at 0 and 1"),
    lambda x, ans: 1 / (x * (1 - x)),
))

# log Φ(x), Φ the standard normal CDF. f'(x) = φ(x)/Φ(x) = exp(-x²/2 - log Φ(x)) / √(2π):
# written with the answer, it stays finite in both tails (≈ -x as x → -∞, → 0 as x → ∞),
# where φ and Φ separately underflow.
log_ndtr_p = taylor.jet_from_jvp(elementwise_unary(
    Primitive("log_ndtr", _sp.log_ndtr, notes="log Φ(x); derivative φ(x)/Φ(x), finite in tails"),
    lambda x, ans: _INV_SQRT_2PI * bind(exp_p, -0.5 * (x * x) - ans),
))


def _polygamma_impl(x: Any, n: int) -> Any:
    x = np.asarray(x)
    dtype = x.dtype if x.dtype.kind in "fc" else np.dtype(np.float64)
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
batch_elementwise(polygamma_p)
# the general jet rule: the chain ψ⁽ⁿ⁾ → ψ⁽ⁿ⁺¹⁾ → ... ends after K steps, so its cost
# stays polynomial in K
taylor.jet_from_jvp(polygamma_p)

gammaln_p = taylor.jet_from_jvp(elementwise_unary(
    Primitive("gammaln", _sp.gammaln, notes="log|Γ(x)|; derivative digamma(x)"),
    lambda x, ans: bind(polygamma_p, x, n=0),
))
gamma_p = taylor.jet_from_jvp(elementwise_unary(
    Primitive("gamma", _sp.gamma), lambda x, ans: ans * bind(polygamma_p, x, n=0)
))


# xlogy(x, y) = x log y and xlog1py(x, y) = x log(1 + y), 0 where x = 0: with
# f = log or log1p, ∂/∂x = f(y), ∂/∂y = x f'(y). At the one singular point
# (x = 0 and f(y) = -inf; the function is 0 along x = 0 and -inf along that y)
# both are taken as 0, by evaluating the formulas at f(y) = 0 there: no NaN, no inf.


def _x_f_partials(f_p: Primitive, pole: float) -> tuple[Any, Any]:
    """∂/∂x and ∂/∂y of x f(y), where f has a log singularity at y = pole
    (f = log: pole 0; f = log1p: pole -1) and f(pole + 1) = 0."""

    def safe_y(x: Any, y: Any) -> Any:
        xr, yr = _raw(x), _raw(y)
        singular = (xr == 0) & (yr == pole)
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
