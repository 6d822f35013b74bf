"""`riesz.scipy.stats`: differentiable probability distributions with SciPy's API.

`norm`, `t`, `gamma`, `beta`, `chi2`, `expon`, `laplace`, `logistic`, `cauchy`
(continuous, with `loc` / `scale`), `poisson` (discrete, with `loc`),
`multivariate_normal` and `dirichlet`: SciPy's names, signatures (shape
parameters, then `loc`, `scale`, positionally or by keyword) and frozen forms
(`norm(loc, scale).logpdf(x)`). Every method is a composition of riesz's
differentiable operations, so derivatives of every order in the data and in the
parameters follow, under `grad`, `jvp`, `vmap` and `jet` alike.

Values are SciPy's: NaN for invalid parameters (`scale <= 0`, a shape outside
its range) or NaN data, 0 / -inf outside the support, the same stable formulas
in the tails (`norm.logcdf(-40)` via `log_ndtr`; `laplace`'s and `logistic`'s
log-probabilities without underflow, where SciPy's `log(pdf)` would give -inf).
Entries SciPy masks out are computed at a safe point and discarded, so their
derivative is exactly 0, never NaN.

Where SciPy's own result is off, riesz is right (and the tests check against closed
forms or mpmath there): `t.cdf` near 0 (SciPy's `stdtr(1, 1e-9)` rounds to 1/2),
`gamma` / `chi2` `logpdf` at x = +inf (-inf, not NaN), `poisson.entropy` for
mu > 1e4 (a series instead of a failing sum).

Differences from SciPy:
- the result's dtype is NumPy's promotion of the arguments (float32 data with
  Python-scalar parameters stays float32, as in JAX); SciPy always returns float64.
- the cdfs of `gamma`, `chi2`, `beta`, `t` and `poisson` go through `gammainc` /
  `gammaincc` / `betainc` / `betaincc`, whose derivatives in their shape parameters have no
  closed form: riesz.scipy.special computes them by series / continued fractions, so
  `gamma.cdf` in `a` or `t.cdf` in `df` differentiate too.
- `poisson`'s data `k` (and its `loc`) are integers: their derivative is 0.
- `ppf` exists where it is a closed form (`norm` through `erfcinv`, `expon`,
  `laplace`, `logistic`, `cauchy`); elsewhere it raises NotImplementedError.

SciPy's own `scipy.stats.norm.logpdf(x)` cannot be differentiated: SciPy
converts its arguments with `np.asarray`, which a traced value refuses. Call
`riesz.scipy.stats` instead (the same signatures).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import numpy as rnp
from .._core.trace import Tracer, raw_value
from .._core.trace import strip_derivatives as _c
from .._primitives._util import as_array
from . import linalg as _sla
from . import special as _sp

__all__ = [
    "beta", "cauchy", "chi2", "dirichlet", "expon", "gamma", "laplace", "logistic",
    "multivariate_normal", "norm", "poisson", "rv_continuous", "rv_discrete", "rv_frozen",
    "t",
]

_inf = math.inf
_nan = math.nan
_LOG_2 = math.log(2.0)
_LOG_PI = math.log(math.pi)
_LOG_2PI = math.log(2.0 * math.pi)
_LOG_SQRT_2PI = 0.5 * _LOG_2PI
_SQRT_2 = math.sqrt(2.0)


# -- helpers -----------------------------------------------------------------------------


def _arg(v: Any) -> Any:
    """A float argument: Python scalars stay (weakly typed) scalars, lists and NumPy
    values become arrays, integer and boolean arrays become float64."""
    if type(v) is float:
        return v
    if type(v) is int or type(v) is bool:
        return float(v)
    v = as_array(v)
    if v.dtype.kind == "c":
        raise TypeError("riesz.scipy.stats: complex arguments are not supported")
    return v if v.dtype.kind == "f" else rnp.astype(v, np.float64)


def _and(*masks: Any) -> Any:
    return functools.reduce(rnp.logical_and, masks)


def _dtype(*vals: Any) -> Any:
    """NumPy's promotion of the arguments, Python floats weak (float64 when all are)."""
    return np.result_type(*(v.dtype if isinstance(v, Tracer) else v for v in vals))


def _finish(inside: Any, val: Any, bad: Any, fill: Any, dtype: Any) -> Any:
    """`val` where `inside`, else NaN where `bad` and the constant `fill` elsewhere; in
    `dtype` (NumPy's promotion of the arguments: SciPy's own scalars are float64)."""
    return rnp.astype(rnp.where(inside, val, rnp.where(bad, _nan, fill)), dtype)


def _log(v: Any) -> Any:
    """log, keeping a Python float a Python float (weakly typed)."""
    return math.log(v) if type(v) is float else rnp.log(v)


def _any(mask: Any) -> bool:
    """Whether any entry of a constant mask is set (under vmap: of any example)."""
    return bool(np.any(raw_value(mask)))


def _out(v: Any) -> Any:
    """SciPy returns a NumPy scalar for a 0-d result."""
    return v[()] if type(v) is np.ndarray and v.ndim == 0 else v


def _quiet(f: Callable[..., Any]) -> Callable[..., Any]:
    """Evaluate with floating-point warnings off: the masked-out entries and the
    edges of the support (log 0) are expected, as in SciPy."""

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with np.errstate(all="ignore"):
            return _out(f(*args, **kwargs))

    return wrapper


def _select(cond: Any, arg: Any, f_true: Callable[[Any], Any], safe_true: Any,
            f_false: Callable[[Any], Any], safe_false: Any) -> Any:
    """where(cond, f_true(arg), f_false(arg)), each branch evaluated at a safe point
    where the other is selected, so the discarded branch's derivative is 0, not NaN."""
    return rnp.where(cond, f_true(rnp.where(cond, arg, safe_true)),
                     f_false(rnp.where(cond, safe_false, arg)))


def _log_tail(p: Any, q: Any) -> Any:
    """log p for complementary probabilities p + q = 1: log p below 1/2, log1p(-q)
    above (SciPy's split at the median), each branch fed a safe 1/2 where unused."""
    small = rnp.less(_c(p), 0.5)
    return rnp.where(small, rnp.log(rnp.where(small, p, 0.5)),
                     rnp.log1p(-rnp.where(small, 0.5, q)))


def _log1mexp(x: Any) -> Any:
    """log(1 - exp(x)) for x <= 0, accurate at both ends (Mächler 2012)."""
    return _select(_c(x) > -_LOG_2, x, lambda x: rnp.log(-rnp.expm1(x)), -1.0,
                   lambda x: rnp.log1p(-rnp.exp(x)), -1.0)


# -- frozen distributions ---------------------------------------------------------------


class rv_frozen:
    """A distribution with its parameters fixed: `norm(loc, scale).logpdf(x)`.

    Examples
    --------
    >>> d = riesz.scipy.stats.norm(1.0, 2.0)
    >>> x = np.array([0.0, 1.0])
    >>> np.allclose(d.logpdf(x), scipy.stats.norm(1.0, 2.0).logpdf(x))
    True

    Raises
    ------
    AttributeError
        For a method the distribution does not have.
    """

    def __init__(self, dist: Any, *args: Any, **kwds: Any) -> None:
        dist._parse(args, kwds)  # reject bad arguments now, as SciPy does
        self.dist, self.args, self.kwds = dist, args, kwds

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name not in type(self.dist)._frozen_methods:
            raise AttributeError(name)
        method = getattr(self.dist, name)
        if name in ("entropy", "mean", "var"):
            return lambda: method(*self.args, **self.kwds)
        return lambda x: method(x, *self.args, **self.kwds)

    def __repr__(self) -> str:
        return f"<riesz.scipy.stats frozen {self.dist.name}>"


class _Distribution:
    """What rv_continuous and rv_discrete share: SciPy's argument parsing and the
    guard on the shape parameters."""

    name: str
    shapes: tuple[str, ...]
    _frozen_methods: frozenset[str]

    def __call__(self, *args: Any, **kwds: Any) -> rv_frozen:
        return rv_frozen(self, *args, **kwds)

    def __repr__(self) -> str:
        return f"<riesz.scipy.stats.{self.name}>"

    # SciPy's argument parsing: shapes, then loc and scale, positional or by keyword
    def _parse(self, args: tuple[Any, ...], kwds: dict[str, Any]) -> Any:
        names = (*self.shapes, "loc", "scale")
        if len(args) > len(names):
            raise TypeError(f"{self.name}: too many positional arguments ({len(args)})")
        vals: dict[str, Any] = dict(zip(names, args, strict=False))
        for key, v in kwds.items():
            if key not in names:
                raise TypeError(f"{self.name}: unexpected keyword argument {key!r}")
            if key in vals:
                raise TypeError(f"{self.name}: got multiple values for argument {key!r}")
            vals[key] = v
        missing = [s for s in self.shapes if s not in vals]
        if missing:
            raise TypeError(f"{self.name}: missing required shape parameter {missing[0]!r}")
        return (tuple(_arg(vals[s]) for s in self.shapes), _arg(vals.get("loc", 0.0)),
                _arg(vals.get("scale", 1.0)))

    def _shape_ok(self, s: Any) -> Any:
        """Where a shape parameter is valid (a constant): > 0 by default."""
        return rnp.greater(s, 0)

    def _guard(self, args: Any, scale: Any = None) -> Any:
        """(ok, args with invalid entries replaced by 1, scale likewise): valid
        parameters keep their value and type (a Python float stays weakly typed)."""
        checks = [self._shape_ok] * len(args)
        if scale is not None:
            args, checks = (*args, scale), [*checks, lambda s: rnp.greater(s, 0)]
        oks = [check(_c(v)) for check, v in zip(checks, args, strict=True)]
        out = tuple(v if type(v) is float and good else
                    1.0 if type(v) is float else rnp.where(good, v, 1.0)
                    for v, good in zip(args, oks, strict=True))
        return _and(np.True_, *oks), out


# -- continuous distributions -----------------------------------------------------------


class rv_continuous(_Distribution):
    """A continuous distribution in SciPy's location-scale form: the density of
    `x` is f((x - loc) / scale; shapes) / scale for the standard density f.

    Math: logpdf(x; shapes, loc, scale) = log f((x - loc) / scale; shapes) - log scale.

    Examples
    --------
    >>> norm = riesz.scipy.stats.norm
    >>> print(isinstance(norm, riesz.scipy.stats.rv_continuous))
    True
    >>> g = riesz.grad(lambda mu: norm.logpdf(2.0, mu, 1.0))(0.0)  # (x - μ) / σ²
    >>> print(round(float(g), 6))
    2.0

    Raises
    ------
    NotImplementedError
        For `ppf` where it has no closed form.
    """

    name: str = ""
    shapes: tuple[str, ...] = ()
    a: float = -_inf  # support of the standard distribution
    b: float = _inf
    _safe: float = 0.5  # a point inside the standard support, where everything is finite
    _frozen_methods = frozenset(
        {"pdf", "logpdf", "cdf", "logcdf", "sf", "logsf", "ppf", "entropy"})

    def _standardize(self, x: Any, args: Any, kwds: Any, closed: bool) -> Any:
        shapes, loc, scale = self._parse(args, kwds)
        x = _arg(x)
        dt = _dtype(x, loc, scale, *shapes)
        ok, (*shapes, scale) = self._guard(shapes, scale)
        zc = (_c(x) - _c(loc)) / _c(scale)
        if closed:  # every density here is 0 at ±inf: a constant there (derivative 0)
            inside = _and(ok, rnp.less_equal(self.a, zc), rnp.less_equal(zc, self.b),
                          rnp.isfinite(zc))
        else:
            inside = _and(ok, rnp.less(self.a, zc), rnp.less(zc, self.b))
        bad = rnp.logical_or(rnp.logical_not(ok), rnp.isnan(zc))
        # x - loc replaced before the division: the quotient's derivative in scale
        # reads it, and a discarded NaN or inf there would turn 0 into NaN
        z = rnp.where(inside, rnp.where(inside, x - loc, 0.0) / scale, self._safe)
        return z, shapes, scale, inside, bad, zc, dt

    @_quiet
    def logpdf(self, x: Any, *args: Any, **kwds: Any) -> Any:
        """log of the probability density at x; -inf outside the support."""
        z, shapes, scale, inside, bad, _, dt = self._standardize(x, args, kwds, True)
        return _finish(inside, self._logpdf(z, *shapes) - _log(scale), bad, -_inf, dt)

    @_quiet
    def pdf(self, x: Any, *args: Any, **kwds: Any) -> Any:
        """The probability density at x; 0 outside the support."""
        z, shapes, scale, inside, bad, _, dt = self._standardize(x, args, kwds, True)
        return _finish(inside, self._pdf(z, *shapes) / scale, bad, 0.0, dt)

    def _tails(self, method: Callable[..., Any], x: Any, args: Any, kwds: Any,
               at_a: float, at_b: float) -> Any:
        """A distribution function: `method` inside the open support, the constants
        `at_a` / `at_b` at and beyond its lower / upper end, NaN where invalid."""
        z, shapes, _, inside, bad, zc, dt = self._standardize(x, args, kwds, False)
        edge = rnp.where(rnp.less_equal(zc, self.a), at_a, at_b)
        return _finish(inside, method(z, *shapes), bad, edge, dt)

    def cdf(self, x: Any, *args: Any, **kwds: Any) -> Any:
        """P(X <= x)."""
        return _quiet(self._tails)(self._cdf, x, args, kwds, 0.0, 1.0)

    def logcdf(self, x: Any, *args: Any, **kwds: Any) -> Any:
        """log P(X <= x), accurate in the lower tail."""
        return _quiet(self._tails)(self._logcdf, x, args, kwds, -_inf, 0.0)

    def sf(self, x: Any, *args: Any, **kwds: Any) -> Any:
        """The survival function P(X > x) = 1 - cdf, accurate in the upper tail."""
        return _quiet(self._tails)(self._sf, x, args, kwds, 1.0, 0.0)

    def logsf(self, x: Any, *args: Any, **kwds: Any) -> Any:
        """log P(X > x), accurate in the upper tail."""
        return _quiet(self._tails)(self._logsf, x, args, kwds, 0.0, -_inf)

    @_quiet
    def ppf(self, q: Any, *args: Any, **kwds: Any) -> Any:
        """The quantile function, the inverse of cdf; the support's ends at q = 0, 1."""
        shapes, loc, scale = self._parse(args, kwds)
        q = _arg(q)
        qc = _c(q)
        dt = _dtype(q, loc, scale, *shapes)
        ok, (*shapes, scale) = self._guard(shapes, scale)
        ok = _and(ok, rnp.equal(_c(loc), _c(loc)))
        inside = _and(ok, rnp.less(0, qc), rnp.less(qc, 1))
        val = self._ppf(rnp.where(inside, q, 0.5), *shapes) * scale + loc
        ends = [loc + end * scale if math.isfinite(end) else loc * 0.0 + end
                for end in (self.a, self.b)]
        val = rnp.where(inside, val, rnp.where(rnp.equal(qc, 0), ends[0], ends[1]))
        good = rnp.logical_or(inside, _and(ok, rnp.logical_or(rnp.equal(qc, 0),
                                                             rnp.equal(qc, 1))))
        return _finish(good, val, True, 0.0, dt)

    @_quiet
    def entropy(self, *args: Any, **kwds: Any) -> Any:
        """The differential entropy (in nats) of the distribution."""
        shapes, loc, scale = self._parse(args, kwds)
        dt = _dtype(loc, scale, *shapes)
        ok, (*shapes, scale) = self._guard(shapes, scale)
        ok = _and(ok, rnp.equal(_c(loc), _c(loc)))
        return _finish(ok, self._entropy(*shapes) + _log(scale), True, 0.0, dt)

    # the standard distribution (loc 0, scale 1), called at valid points only
    def _logpdf(self, z: Any, *s: Any) -> Any:
        raise NotImplementedError

    def _pdf(self, z: Any, *s: Any) -> Any:
        return rnp.exp(self._logpdf(z, *s))

    def _cdf(self, z: Any, *s: Any) -> Any:
        raise NotImplementedError(f"{self.name}.cdf is not implemented")

    def _sf(self, z: Any, *s: Any) -> Any:
        raise NotImplementedError(f"{self.name}.sf is not implemented")

    def _logcdf(self, z: Any, *s: Any) -> Any:
        return _log_tail(self._cdf(z, *s), self._sf(z, *s))

    def _logsf(self, z: Any, *s: Any) -> Any:
        return _log_tail(self._sf(z, *s), self._cdf(z, *s))

    def _ppf(self, q: Any, *s: Any) -> Any:
        raise NotImplementedError(
            f"riesz.scipy.stats.{self.name}.ppf is not implemented (no closed form)")

    def _entropy(self, *s: Any) -> Any:
        raise NotImplementedError(f"{self.name}.entropy is not implemented")


class norm_gen(rv_continuous):
    """The normal distribution N(loc, scale²)."""

    name = "norm"
    _safe = 0.0

    def _logpdf(self, z: Any) -> Any:
        return -0.5 * (z * z) - _LOG_SQRT_2PI

    def _cdf(self, z: Any) -> Any:
        return 0.5 * _sp.erfc(-z / _SQRT_2)

    def _sf(self, z: Any) -> Any:
        return 0.5 * _sp.erfc(z / _SQRT_2)

    def _logcdf(self, z: Any) -> Any:
        return _sp.log_ndtr(z)

    def _logsf(self, z: Any) -> Any:
        return _sp.log_ndtr(-z)

    def _ppf(self, q: Any) -> Any:
        return -_SQRT_2 * _sp.erfcinv(2.0 * q)

    def _entropy(self) -> Any:
        return 0.5 * (_LOG_2PI + 1.0)


class expon_gen(rv_continuous):
    """The exponential distribution, density e^(-z) on z >= 0."""

    name = "expon"
    a = 0.0
    _safe = 1.0

    def _logpdf(self, z: Any) -> Any:
        return -z

    def _cdf(self, z: Any) -> Any:
        return -rnp.expm1(-z)

    def _sf(self, z: Any) -> Any:
        return rnp.exp(-z)

    def _logcdf(self, z: Any) -> Any:
        return _log1mexp(-z)

    def _logsf(self, z: Any) -> Any:
        return -z

    def _ppf(self, q: Any) -> Any:
        return -rnp.log1p(-q)

    def _entropy(self) -> Any:
        return 1.0


class laplace_gen(rv_continuous):
    """The Laplace distribution, density e^(-|z|) / 2."""

    name = "laplace"
    _safe = 0.0

    def _logpdf(self, z: Any) -> Any:
        return -rnp.abs(z) - _LOG_2

    def _cdf(self, z: Any) -> Any:
        return _select(_c(z) > 0, z, lambda z: 1.0 - 0.5 * rnp.exp(-z), 1.0,
                       lambda z: 0.5 * rnp.exp(z), -1.0)

    def _sf(self, z: Any) -> Any:
        return self._cdf(-z)

    def _logcdf(self, z: Any) -> Any:
        return _select(_c(z) > 0, z, lambda z: rnp.log1p(-0.5 * rnp.exp(-z)), 1.0,
                       lambda z: z - _LOG_2, -1.0)

    def _logsf(self, z: Any) -> Any:
        return self._logcdf(-z)

    def _ppf(self, q: Any) -> Any:
        return _select(_c(q) > 0.5, q, lambda q: -rnp.log(2.0 * (1.0 - q)), 0.75,
                       lambda q: rnp.log(2.0 * q), 0.25)

    def _entropy(self) -> Any:
        return _LOG_2 + 1.0


class logistic_gen(rv_continuous):
    """The logistic distribution, cdf expit(z)."""

    name = "logistic"
    _safe = 0.0

    def _logpdf(self, z: Any) -> Any:
        y = -rnp.abs(z)
        return y - 2.0 * rnp.log1p(rnp.exp(y))

    def _cdf(self, z: Any) -> Any:
        return _sp.expit(z)

    def _sf(self, z: Any) -> Any:
        return _sp.expit(-z)

    def _logcdf(self, z: Any) -> Any:
        return -rnp.logaddexp(0.0, -z)  # log expit(z)

    def _logsf(self, z: Any) -> Any:
        return -rnp.logaddexp(0.0, z)

    def _ppf(self, q: Any) -> Any:
        return _sp.logit(q)

    def _entropy(self) -> Any:
        return 2.0


class cauchy_gen(rv_continuous):
    """The Cauchy distribution, density 1 / (π (1 + z²))."""

    name = "cauchy"
    _safe = 0.0

    def _logpdf(self, z: Any) -> Any:
        # for |z| >= 1 without squaring z (no overflow at |z| > 1e154)
        return _select(rnp.abs(_c(z)) < 1, z, lambda z: -_LOG_PI - rnp.log1p(z * z), 0.0,
                       lambda z: -_LOG_PI - (2.0 * rnp.log(rnp.abs(z))
                                             + rnp.log1p((1.0 / z) ** 2)), 2.0)

    def _pdf(self, z: Any) -> Any:
        return 1.0 / math.pi / (1.0 + z * z)

    def _cdf(self, z: Any) -> Any:
        return rnp.arctan2(1.0, -z) / math.pi

    def _sf(self, z: Any) -> Any:
        return rnp.arctan2(1.0, z) / math.pi

    def _ppf(self, q: Any) -> Any:
        # tan(π (q - 1/2)) in the middle (q - 1/2 exact), -cot(π q) near the ends,
        # so that small q and 1 - q stay accurate
        qc = _c(q)

        def ends(q: Any) -> Any:
            return _select(rnp.less(_c(q), 0.5), q, lambda q: -1.0 / rnp.tan(math.pi * q),
                           0.1, lambda q: 1.0 / rnp.tan(math.pi * (1.0 - q)), 0.9)

        return _select(rnp.less(rnp.abs(qc - 0.5), 0.25), q,
                       lambda q: rnp.tan(math.pi * (q - 0.5)), 0.5, ends, 0.1)

    def _entropy(self) -> Any:
        return math.log(4.0 * math.pi)


def _log_poch_half(h: Any) -> Any:
    """log Γ(h + 1/2) - log Γ(h), without cancellation for large h (an asymptotic
    series there, error below 1e-16 for h > 100)."""

    def series(h: Any) -> Any:
        r = 1.0 / h
        r2 = r * r
        return 0.5 * rnp.log(h) + r * (-1.0 / 8 + r2 * (1.0 / 192 - r2 / 640))

    return _select(_c(h) > 100, h, series, 200.0,
                   lambda h: _sp.gammaln(h + 0.5) - _sp.gammaln(h), 1.0)


class t_gen(rv_continuous):
    """Student's t distribution with `df` degrees of freedom (the normal at df = inf)."""

    name = "t"
    shapes = ("df",)
    _safe = 0.0

    def _logpdf(self, z: Any, df: Any) -> Any:
        def finite(df: Any) -> Any:
            return (_log_poch_half(0.5 * df) - 0.5 * (rnp.log(df) + _LOG_PI)
                    - 0.5 * (df + 1.0) * rnp.log1p(z * z / df))

        return _select(rnp.isinf(_c(df)), df, lambda df: norm._logpdf(z) + rnp.zeros_like(df), 1.0,
                       finite, 1.0)

    def _lower_tail(self, z: Any, df: Any) -> Any:
        """P(T < -|z|) for finite df, as Boost (SciPy's stdtr) computes it:
        I_w(df/2, 1/2) / 2 with w = df / (df + z²) where z² >= df/2, else the
        complement 1 - I_(1-w)(1/2, df/2) / 2 from betaincc; written with the ratios
        r = df / z² and s = z² / df so that nothing overflows. At |z| < 1e-8 the linear
        term 1/2 - f(0) |z| (I's derivative is infinite at 0; the error is O(|z|³))."""
        absz = rnp.abs(z)

        def far(absz: Any) -> Any:
            r = df / (absz * absz)
            return 0.5 * _sp.betainc(0.5 * df, 0.5, r / (1.0 + r))

        def near(absz: Any) -> Any:
            s = absz * absz / df
            return 0.5 * _sp.betaincc(0.5, 0.5 * df, s / (1.0 + s))

        def tiny(absz: Any) -> Any:
            return 0.5 - rnp.exp(self._logpdf(absz * 0.0, df)) * absz

        zc = rnp.abs(_c(z))
        half = 0.5 * _c(df)
        return _select(zc < 1e-8, absz, tiny, 0.0,
                       lambda a: _select(rnp.less(_c(a) * _c(a), half), a, near,
                                         rnp.sqrt(0.5 * half), far, rnp.sqrt(4.0 * half)),
                       rnp.sqrt(half))

    def _tail(self, z: Any, df: Any, upper: bool) -> Any:
        """cdf (upper=False) or sf (upper=True)."""
        sign = -1.0 if upper else 1.0

        def finite(df: Any) -> Any:
            low = self._lower_tail(z, df)
            return rnp.where(rnp.less(sign * _c(z), 0), low, 1.0 - low)

        return _select(rnp.isinf(_c(df)), df,
                       lambda df: 0.5 * _sp.erfc(-sign * z / _SQRT_2) + rnp.zeros_like(df), 1.0,
                       finite, 1.0)

    def _cdf(self, z: Any, df: Any) -> Any:
        return self._tail(z, df, False)

    def _sf(self, z: Any, df: Any) -> Any:
        return self._tail(z, df, True)

    def _entropy(self, df: Any) -> Any:
        h_norm = norm._entropy()

        def regular(df: Any) -> Any:
            half = 0.5 * df
            half1 = 0.5 * (df + 1.0)
            return (half1 * (_sp.digamma(half1) - _sp.digamma(half))
                    + 0.5 * rnp.log(df) + _sp.betaln(half, 0.5))

        def asymptotic(df: Any) -> Any:
            r = 1.0 / df
            return h_norm + r * (1.0 + r * (0.25 + r * (-1.0 / 6 + r * (
                -1.0 / 8 + r * (0.3 + r * 0.25)))))

        dfc = _c(df)
        return _select(rnp.isinf(dfc), df, lambda df: h_norm + rnp.zeros_like(df), 1.0,
                       lambda df: _select(_c(df) >= 100, df, asymptotic, 200.0,
                                          regular, 1.0), 1.0)


class gamma_gen(rv_continuous):
    """The gamma distribution with shape `a`, density z^(a-1) e^(-z) / Γ(a)."""

    name = "gamma"
    shapes = ("a",)
    a = 0.0
    _safe = 1.0

    def _logpdf(self, z: Any, a: Any) -> Any:
        return _sp.xlogy(a - 1.0, z) - z - _sp.gammaln(a)

    def _cdf(self, z: Any, a: Any) -> Any:
        return _sp.gammainc(a, z)

    def _sf(self, z: Any, a: Any) -> Any:
        return _sp.gammaincc(a, z)

    def _entropy(self, a: Any) -> Any:
        def regular(a: Any) -> Any:
            return _sp.digamma(a) * (1.0 - a) + a + _sp.gammaln(a)

        def asymptotic(a: Any) -> Any:
            r = 1.0 / a
            return (0.5 * (1.0 + _LOG_2PI + rnp.log(a))
                    - r * (1.0 / 3 + r * (1.0 / 12 + r * (1.0 / 90 - r / 120))))

        return _select(_c(a) < 250, a, regular, 1.0, asymptotic, 500.0)


class chi2_gen(rv_continuous):
    """The chi-squared distribution with `df` degrees of freedom."""

    name = "chi2"
    shapes = ("df",)
    a = 0.0
    _safe = 1.0

    def _logpdf(self, z: Any, df: Any) -> Any:
        h = 0.5 * df
        return _sp.xlogy(h - 1.0, z) - 0.5 * z - _sp.gammaln(h) - _LOG_2 * h

    def _cdf(self, z: Any, df: Any) -> Any:
        return _sp.gammainc(0.5 * df, 0.5 * z)

    def _sf(self, z: Any, df: Any) -> Any:
        return _sp.gammaincc(0.5 * df, 0.5 * z)

    def _entropy(self, df: Any) -> Any:
        def regular(h: Any) -> Any:
            return h + _LOG_2 + _sp.gammaln(h) + (1.0 - h) * _sp.digamma(h)

        def asymptotic(h: Any) -> Any:
            c = _LOG_2 + 0.5 * (1.0 + _LOG_2PI)
            r = 0.5 / h
            return (r * (-2.0 / 3 + r * (-1.0 / 3 + r * (-4.0 / 45 + r / 7.5)))
                    + 0.5 * rnp.log(h) + c)

        h = 0.5 * df
        return _select(_c(h) < 125, h, regular, 1.0, asymptotic, 250.0)


class beta_gen(rv_continuous):
    """The beta distribution on [0, 1], density z^(a-1) (1-z)^(b-1) / B(a, b)."""

    name = "beta"
    shapes = ("a", "b")
    a = 0.0
    b = 1.0
    _safe = 0.5

    def _logpdf(self, z: Any, a: Any, b: Any) -> Any:
        return _sp.xlog1py(b - 1.0, -z) + _sp.xlogy(a - 1.0, z) - _sp.betaln(a, b)

    def _cdf(self, z: Any, a: Any, b: Any) -> Any:
        return _sp.betainc(a, b, z)

    def _sf(self, z: Any, a: Any, b: Any) -> Any:
        return _sp.betaincc(a, b, z)

    def _entropy(self, a: Any, b: Any) -> Any:
        return _beta_entropy(a, b)


def _beta_entropy(a: Any, b: Any) -> Any:
    """SciPy's regimes: the digamma formula, asymptotic series for large a, b."""

    def regular(a: Any, b: Any) -> Any:
        return (_sp.betaln(a, b) - (a - 1.0) * _sp.digamma(a) - (b - 1.0) * _sp.digamma(b)
                + (a + b - 2.0) * _sp.digamma(a + b))

    def ab_large(a: Any, b: Any) -> Any:
        s = a + b
        log_term = 0.5 * (_LOG_2PI + rnp.log(a) + rnp.log(b) - 3.0 * rnp.log(s) + 1.0)
        t1 = 110.0 / s + 20.0 * s ** -2.0 + s ** -3.0 - 2.0 * s ** -4.0
        t2 = -50.0 / a - 10.0 * a ** -2.0 - a ** -3.0 + a ** -4.0
        t3 = -50.0 / b - 10.0 * b ** -2.0 - b ** -3.0 + b ** -4.0
        return log_term + (t1 + t2 + t3) / 120.0

    def b_large(a: Any, b: Any) -> Any:
        s = a + b
        t1 = _sp.gammaln(a) - (a - 1.0) * _sp.digamma(a)
        t2 = (-1.0 / (2 * b) + 1.0 / (12 * b) - b ** -2.0 / 12 - b ** -3.0 / 120
              + b ** -4.0 / 120 + b ** -5.0 / 252 - b ** -6.0 / 252 + 1.0 / s
              - 1.0 / (12 * s) + s ** -2.0 / 6 + s ** -3.0 / 120 - s ** -4.0 / 60
              - s ** -5.0 / 252 + s ** -6.0 / 126)
        return t1 + t2 + s * rnp.log1p(a / b) + rnp.log(b) - 2.0 * rnp.log(s)

    def threshold(v: Any) -> Any:  # when one parameter counts as large (a constant)
        j = rnp.floor(rnp.log10(v))
        d = rnp.floor(v / 10.0 ** j) + 2
        return rnp.where(rnp.not_equal(v, 1.0), d * 10.0 ** (7 + j), 1000.0)

    ar, br = _c(a), _c(b)
    ta, tb = threshold(ar), threshold(br)
    big = 4.96e6
    cases = (
        (_and(rnp.greater_equal(ar, big), rnp.greater_equal(br, big)), ab_large, 1e7, 1e7),
        (_and(rnp.less_equal(ar, 4.9e6), rnp.greater_equal(br - ar, 1e6),
              rnp.greater_equal(br, ta)), b_large, 1.0, 1e8),
        (_and(rnp.less_equal(br, 4.9e6), rnp.greater_equal(ar - br, 1e6),
              rnp.greater_equal(ar, tb)), lambda a, b: b_large(b, a), 1e8, 1.0),
    )
    out = regular(*(rnp.where(_and(rnp.less(ar, 4.9e6), rnp.less(br, 4.9e6)), v, 1.0)
                    for v in (a, b)))
    for cond, f, sa, sb in cases:
        out = rnp.where(cond, f(rnp.where(cond, a, sa), rnp.where(cond, b, sb)), out)
    return out


norm = norm_gen()
expon = expon_gen()
laplace = laplace_gen()
logistic = logistic_gen()
cauchy = cauchy_gen()
t = t_gen()
gamma = gamma_gen()
chi2 = chi2_gen()
beta = beta_gen()


# -- discrete distributions -------------------------------------------------------------


class rv_discrete(_Distribution):
    """A discrete distribution on the integers, shifted by `loc`. The data `k` and
    `loc` are integers: their derivative is 0; the shape parameters are differentiable.

    Examples
    --------
    >>> poisson = riesz.scipy.stats.poisson
    >>> print(isinstance(poisson, riesz.scipy.stats.rv_discrete))
    True
    >>> g = riesz.grad(lambda mu: poisson.logpmf(3, mu))(2.0)  # k / μ - 1
    >>> print(round(float(g), 6))
    0.5
    """

    name: str = ""
    shapes: tuple[str, ...] = ()
    a: float = 0.0  # support of the standard distribution
    b: float = _inf
    _frozen_methods = frozenset(
        {"pmf", "logpmf", "cdf", "logcdf", "sf", "logsf", "entropy"})

    def _parse(self, args: tuple[Any, ...], kwds: dict[str, Any]) -> Any:
        if "scale" in kwds:
            raise TypeError(f"{self.name}: unexpected keyword argument 'scale'")
        shapes, loc, _ = super()._parse(args[: len(self.shapes) + 1], kwds)
        if len(args) > len(self.shapes) + 1:
            raise TypeError(f"{self.name}: too many positional arguments ({len(args)})")
        return shapes, loc

    def _prepare(self, k: Any, args: Any, kwds: Any) -> Any:
        shapes, loc = self._parse(args, kwds)
        k = _arg(k)
        dt = _dtype(k, loc, *shapes)
        ok, shapes = self._guard(shapes)
        k = _c(k) - _c(loc)
        bad = rnp.logical_or(rnp.logical_not(ok), rnp.isnan(k))
        return k, shapes, ok, bad, dt

    @_quiet
    def logpmf(self, k: Any, *args: Any, **kwds: Any) -> Any:
        """log P(X = k); -inf off the support (and at non-integer k)."""
        k, shapes, ok, bad, dt = self._prepare(k, args, kwds)
        inside = _and(ok, rnp.less_equal(self.a, k), rnp.less_equal(k, self.b),
                      rnp.equal(k, rnp.floor(k)))
        val = self._logpmf(rnp.where(inside, k, self.a), *shapes)
        return _finish(inside, val, bad, -_inf, dt)

    @_quiet
    def pmf(self, k: Any, *args: Any, **kwds: Any) -> Any:
        """P(X = k); 0 off the support."""
        k, shapes, ok, bad, dt = self._prepare(k, args, kwds)
        inside = _and(ok, rnp.less_equal(self.a, k), rnp.less_equal(k, self.b),
                      rnp.equal(k, rnp.floor(k)))
        val = rnp.exp(self._logpmf(rnp.where(inside, k, self.a), *shapes))
        return _finish(inside, val, bad, 0.0, dt)

    def _tails(self, method: Callable[..., Any], k: Any, args: Any, kwds: Any,
               below: float, above: float, above_wins: bool = False) -> Any:
        k, shapes, ok, bad, dt = self._prepare(k, args, kwds)
        if above_wins:
            bad = _and(bad, rnp.logical_not(rnp.greater_equal(k, self.b)))
        inside = _and(ok, rnp.less_equal(self.a, k), rnp.less(k, self.b))
        val = method(rnp.floor(rnp.where(inside, k, self.a)), *shapes)
        edge = rnp.where(rnp.less(k, self.a), below, above)
        return _finish(inside, val, bad, edge, dt)

    def cdf(self, k: Any, *args: Any, **kwds: Any) -> Any:
        """P(X <= k)."""
        return _quiet(self._tails)(self._cdf, k, args, kwds, 0.0, 1.0)

    def logcdf(self, k: Any, *args: Any, **kwds: Any) -> Any:
        """log P(X <= k) (0 beyond the support's upper end even for invalid shape
        parameters, as in SciPy)."""
        return _quiet(self._tails)(lambda k, *s: rnp.log(self._cdf(k, *s)), k, args, kwds,
                                   -_inf, 0.0, True)

    def sf(self, k: Any, *args: Any, **kwds: Any) -> Any:
        """P(X > k), accurate in the upper tail."""
        return _quiet(self._tails)(self._sf, k, args, kwds, 1.0, 0.0)

    def logsf(self, k: Any, *args: Any, **kwds: Any) -> Any:
        """log P(X > k)."""
        return _quiet(self._tails)(lambda k, *s: rnp.log(self._sf(k, *s)), k, args, kwds,
                                   0.0, -_inf)

    def ppf(self, q: Any, *args: Any, **kwds: Any) -> Any:
        raise NotImplementedError(
            f"riesz.scipy.stats.{self.name}.ppf is not implemented (integer-valued)")

    @_quiet
    def entropy(self, *args: Any, **kwds: Any) -> Any:
        """The entropy (in nats) of the distribution."""
        shapes, loc = self._parse(args, kwds)
        dt = _dtype(loc, *shapes)
        ok, shapes = self._guard(shapes)
        ok = _and(ok, rnp.equal(_c(loc), _c(loc)))
        return _finish(ok, self._entropy(*shapes), True, 0.0, dt)

    # the standard distribution (loc 0), called at valid points only
    def _logpmf(self, k: Any, *s: Any) -> Any:
        raise NotImplementedError

    def _cdf(self, k: Any, *s: Any) -> Any:
        raise NotImplementedError(f"{self.name}.cdf is not implemented")

    def _sf(self, k: Any, *s: Any) -> Any:
        raise NotImplementedError(f"{self.name}.sf is not implemented")

    def _entropy(self, *s: Any) -> Any:
        raise NotImplementedError(f"{self.name}.entropy is not implemented")


class poisson_gen(rv_discrete):
    """The Poisson distribution with mean `mu` >= 0: P(k) = e^(-mu) mu^k / k!."""

    name = "poisson"
    shapes = ("mu",)

    def _shape_ok(self, mu: Any) -> Any:
        return rnp.greater_equal(mu, 0)

    def _logpmf(self, k: Any, mu: Any) -> Any:
        return _sp.xlogy(k, mu) - _sp.gammaln(k + 1.0) - mu

    def _cdf(self, k: Any, mu: Any) -> Any:
        return _sp.gammaincc(k + 1.0, mu)

    def _sf(self, k: Any, mu: Any) -> Any:
        return _sp.gammainc(k + 1.0, mu)

    def _entropy(self, mu: Any) -> Any:
        """-Σ_k p_k log p_k over k within mu ± (12 √mu + 40) (the rest is below
        e^-70) for mu <= 1000, the asymptotic series ½ log(2πe mu) - 1/(12 mu) -
        1/(24 mu²) - 19/(360 mu³) above (relative error < 1e-13 either way; SciPy's
        own sum is wrong above mu ~ 1e4). At mu = 0 the entropy is 0."""
        muc = _c(mu)
        big = rnp.greater(muc, 1e3)
        pos = _and(rnp.greater(muc, 0), rnp.logical_not(big))
        top = float(np.max(raw_value(rnp.where(pos, muc, 0.0)), initial=0.0))
        half = int(math.ceil(12.0 * math.sqrt(top) + 40.0))
        small = rnp.where(pos, mu, 1.0)
        start = rnp.maximum(rnp.floor(rnp.where(pos, muc, 0.0)) - half, 0.0)
        ks = rnp.expand_dims(start, -1) + np.arange(2 * half + 1, dtype=np.float64)
        logp = self._logpmf(ks, rnp.expand_dims(small, -1))
        h_sum = -rnp.sum(rnp.exp(logp) * logp, axis=-1)
        large = rnp.where(big, mu, 1e4)
        r = 1.0 / large
        h_big = 0.5 * (1.0 + _LOG_2PI + rnp.log(large)) - r * (
            1.0 / 12 + r * (1.0 / 24 + r * 19.0 / 360))
        return rnp.where(big, h_big, rnp.where(pos, h_sum, 0.0))


poisson = poisson_gen()


# -- multivariate distributions ---------------------------------------------------------


def _squeeze(v: Any) -> Any:
    """SciPy's `_squeeze_output`: drop length-1 axes, a scalar for 0-d."""
    return _out(rnp.squeeze(v))


class _multivariate:
    """logpdf and pdf of a multivariate distribution from its `_logpdf(x, args, kwds)`."""

    @_quiet
    def logpdf(self, x: Any, *args: Any, **kwds: Any) -> Any:
        """log density at x."""
        return _squeeze(self._logpdf(x, args, kwds))

    @_quiet
    def pdf(self, x: Any, *args: Any, **kwds: Any) -> Any:
        """The density at x."""
        return _squeeze(rnp.exp(self._logpdf(x, args, kwds)))

    def _logpdf(self, x: Any, args: tuple[Any, ...], kwds: dict[str, Any]) -> Any:
        raise NotImplementedError  # (each distribution's own)


class multivariate_normal_gen(_multivariate):
    """The multivariate normal N(mean, cov), through the Cholesky factor of `cov`
    (a scalar, a vector (the diagonal) or a matrix, as in SciPy; its lower triangle
    is read). Differentiable in x, mean and cov. A covariance that is not positive
    definite raises (SciPy's `allow_singular=True` pseudo-inverse is not offered)."""

    name = "multivariate_normal"
    _frozen_methods = frozenset({"pdf", "logpdf", "entropy"})

    def __call__(self, mean: Any = None, cov: Any = 1, allow_singular: bool = False) -> Any:
        return rv_frozen(self, mean, cov, allow_singular)

    def __repr__(self) -> str:
        return "<riesz.scipy.stats.multivariate_normal>"

    def _parse(self, args: tuple[Any, ...], kwds: dict[str, Any]) -> Any:
        names = ("mean", "cov", "allow_singular")
        vals = dict(zip(names, args, strict=False))
        for key, v in kwds.items():
            if key not in names or key in vals:
                raise TypeError(f"multivariate_normal: unexpected argument {key!r}")
            vals[key] = v
        return self._process(vals.get("mean"), vals.get("cov", 1),
                             vals.get("allow_singular", False))

    def _process(self, mean: Any, cov: Any, allow_singular: bool) -> Any:
        """(dim, mean, Cholesky factor L (None: diagonal), variances (diagonal case))."""
        cov = as_array(_arg(cov))
        if mean is None:
            dim = 1 if cov.ndim == 0 else cov.shape[0]
        else:
            mean = as_array(_arg(mean))
            if mean.ndim == 0:
                mean = rnp.reshape(mean, (1,))
            if mean.ndim != 1:
                raise ValueError("multivariate_normal: 'mean' must be a vector (1-d)")
            dim = mean.shape[0]
        if mean is None:
            mean = np.zeros(dim)
        if cov.ndim == 0:
            cov = rnp.broadcast_to(cov, (dim,))
        if cov.ndim == 1:
            if cov.shape[0] != dim:
                raise ValueError(f"multivariate_normal: 'cov' must have {dim} entries, "
                                 f"got shape {cov.shape}")
            if _any(rnp.less_equal(_c(cov), 0)):
                raise np.linalg.LinAlgError(
                    "multivariate_normal: 'cov' must be positive definite")
            return dim, mean, None, cov
        if cov.ndim != 2 or cov.shape != (dim, dim):
            raise ValueError(f"multivariate_normal: 'cov' must be a scalar, a vector or a "
                             f"{dim}x{dim} matrix, got shape {cov.shape}")
        try:
            chol = rnp.linalg.cholesky(cov)
        except np.linalg.LinAlgError as err:
            raise np.linalg.LinAlgError(
                "multivariate_normal: 'cov' must be positive definite (its Cholesky "
                "factorisation failed); singular covariances are not supported") from err
        return dim, mean, chol, None

    @staticmethod
    def _quantiles(x: Any, dim: int) -> Any:
        x = as_array(_arg(x))
        if x.ndim == 0:
            x = rnp.reshape(x, (1,))
        if x.ndim == 1:
            x = rnp.reshape(x, (-1, 1) if dim == 1 else (1, -1))
        if x.shape[-1] != dim:
            raise ValueError(f"multivariate_normal: x's last axis must have length {dim}, "
                             f"got shape {x.shape}")
        return x

    def _logpdf(self, x: Any, args: Any, kwds: Any) -> Any:
        dim, mean, chol, var = self._parse(args, kwds)
        d = self._quantiles(x, dim) - mean
        if chol is None:
            maha = rnp.sum(d * d / var, axis=-1)
            logdet = rnp.sum(rnp.log(var))
        else:
            flat = rnp.reshape(d, (-1, dim))
            z = _sla.solve_triangular(chol, rnp.transpose(flat), lower=True)
            maha = rnp.reshape(rnp.sum(z * z, axis=0), d.shape[:-1])
            logdet = 2.0 * rnp.sum(rnp.log(rnp.diagonal(chol)))
        return -0.5 * (dim * _LOG_2PI + logdet + maha)

    @_quiet
    def entropy(self, *args: Any, **kwds: Any) -> Any:
        """½ (dim (1 + log 2π) + log det cov)."""
        dim, _, chol, var = self._parse(args, kwds)
        logdet = (rnp.sum(rnp.log(var)) if chol is None
                  else 2.0 * rnp.sum(rnp.log(rnp.diagonal(chol))))
        return 0.5 * (dim * (1.0 + _LOG_2PI) + logdet)


class dirichlet_gen(_multivariate):
    """The Dirichlet distribution with concentrations `alpha` (a vector of K > 0).
    As in SciPy, x holds the components along its FIRST axis, (K,) or (K, n), and
    may omit the last one (1 - the sum of the others); x off the simplex raises."""

    name = "dirichlet"
    _frozen_methods = frozenset({"pdf", "logpdf", "entropy", "mean", "var"})

    def __call__(self, alpha: Any) -> Any:
        return rv_frozen(self, alpha)

    def __repr__(self) -> str:
        return "<riesz.scipy.stats.dirichlet>"

    def _parse(self, args: tuple[Any, ...], kwds: dict[str, Any]) -> Any:
        if len(args) + len(kwds) != 1 or (kwds and "alpha" not in kwds):
            raise TypeError("dirichlet: expected one argument, alpha")
        alpha = as_array(_arg(args[0] if args else kwds["alpha"]))
        if alpha.ndim != 1:
            raise ValueError(f"dirichlet: 'alpha' must be one-dimensional, got shape "
                             f"{alpha.shape}")
        if _any(rnp.logical_not(rnp.greater(_c(alpha), 0))):
            raise ValueError("dirichlet: all parameters 'alpha' must be greater than 0")
        return alpha

    @staticmethod
    def _check_input(alpha: Any, x: Any) -> Any:
        x = as_array(_arg(x))
        k = alpha.shape[0]
        if x.ndim == 0 or x.ndim > 2 or x.shape[0] not in (k, k - 1):
            raise ValueError(f"dirichlet: 'x' must have {k} (or {k - 1}) entries along its "
                             f"first axis, got shape {x.shape} for alpha of shape ({k},)")
        if x.shape[0] == k - 1:
            last = rnp.expand_dims(1.0 - rnp.sum(x, axis=0), 0)
            x = rnp.concatenate([x, last], axis=0)
        # checked on the values (under vmap: every example's), with riesz ops so that a
        # batch axis does not get in the way
        xc = _c(x)
        ac = rnp.reshape(_c(alpha), (k,) + (1,) * (x.ndim - 1))
        if _any(rnp.less(xc, 0)):
            raise ValueError("dirichlet: each entry of 'x' must be >= 0")
        if _any(rnp.greater(xc, 1)):
            raise ValueError("dirichlet: each entry of 'x' must be <= 1")
        if _any(_and(rnp.equal(xc, 0), rnp.less(ac, 1))):
            raise ValueError("dirichlet: each entry of 'x' must be > 0 where its alpha < 1")
        if _any(rnp.greater(rnp.abs(rnp.sum(xc, axis=0) - 1.0), 10e-10)):
            raise ValueError("dirichlet: 'x' must lie on the simplex (sum to 1 along the "
                             "first axis)")
        return x

    @staticmethod
    def _lnB(alpha: Any) -> Any:
        return rnp.sum(_sp.gammaln(alpha)) - _sp.gammaln(rnp.sum(alpha))

    def _logpdf(self, x: Any, args: Any, kwds: Any) -> Any:
        alpha = self._parse(args, kwds)
        x = self._check_input(alpha, x)
        a = rnp.reshape(alpha, (alpha.shape[0],) + (1,) * (x.ndim - 1))
        return -self._lnB(alpha) + rnp.sum(_sp.xlogy(a - 1.0, x), axis=0)

    @_quiet
    def entropy(self, *args: Any, **kwds: Any) -> Any:
        """log B(α) + (α₀ - K) ψ(α₀) - Σ (αᵢ - 1) ψ(αᵢ), α₀ = Σ αᵢ."""
        alpha = self._parse(args, kwds)
        a0 = rnp.sum(alpha)
        return (self._lnB(alpha) + (a0 - alpha.shape[0]) * _sp.digamma(a0)
                - rnp.sum((alpha - 1.0) * _sp.digamma(alpha)))

    @_quiet
    def mean(self, *args: Any, **kwds: Any) -> Any:
        """α / α₀."""
        alpha = self._parse(args, kwds)
        return alpha / rnp.sum(alpha)

    @_quiet
    def var(self, *args: Any, **kwds: Any) -> Any:
        """α (α₀ - α) / (α₀² (α₀ + 1))."""
        alpha = self._parse(args, kwds)
        a0 = rnp.sum(alpha)
        return alpha * (a0 - alpha) / (a0 * a0 * (a0 + 1.0))


multivariate_normal = multivariate_normal_gen()
dirichlet = dirichlet_gen()
