"""Special-function primitives (the public functions are in `riesz.scipy.special`).

erf, erfc, log_ndtr, gammaln, gamma, polygamma (digamma at n = 0), expit, logit,
xlogy and xlog1py are elementwise primitives: each declares its derivative once;
`elementwise_unary` / `elementwise_binary` derive its JVP, VJP and batching
rule, and `taylor.jet_from_jvp` its Taylor rule (y' = f'(x) x' on the series
one order lower; xlogy and xlog1py get it from the binary family).

SPEC §14 adds erfinv, erfcinv, rgamma and gammasgn (zero derivative); beta, betaln and the
regularized incomplete functions gammainc, gammaincc, betainc (derivative in x: the
density; in the shape parameters: series / continued fractions, written with riesz
operations so that higher orders follow, and run vectorised in NumPy for a first derivative
on concrete arrays, where nothing will differentiate them again); the Bessel
functions jv, yv, iv, ive, kv, yn and SciPy's dedicated j0, j1, y0, y1, i0, i1, i0e, i1e,
whose rules come from the recurrences of their family (`_Bessel`), with a Taylor rule that
integrates the pair (F_v, F_(v+1)) along the input's series.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import scipy.special as _sp

from .._core.primitive import (
    DIFFERENTIABLE,
    JOINT,
    ZERO_DERIVATIVE,
    Primitive,
    elementwise_unary,
)
from .._core.trace import Tracer, bind, raw_value
from .._core.trace import strip_derivatives as _raw
from .._core.zeros import is_foreign
from .._interpreters import taylor
from .._interpreters.staging import ShapedArray
from ._batch_axes import elementwise as batch_elementwise
from ._util import any_set, concrete_max, unbroadcast
from .elementwise import (
    _fit,
    conj_p,
    cos_p,
    elementwise_binary,
    exp_p,
    log1p_p,
    log_p,
    real_p,
    sign_p,
    sin_p,
    where_p,
)

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
    """digamma for n = 0, else SciPy's polygamma formula (-1)^(n+1) n! ζ(n+1, x) evaluated
    directly (scipy.special.polygamma computes digamma too, and discards it)."""
    if n >= 1 and np.dtype(x.dtype if hasattr(x, "dtype") else type(x)).kind == "c":
        raise NotImplementedError(
            f"polygamma({n}, z) on complex z: SciPy computes polygamma of order n >= 1 for "
            "real arguments only. It is the derivative of digamma, so digamma has no "
            "derivative at complex z, and gamma and rgamma have their first derivative there "
            "but not the second or higher ones (hessian, hvp, jet, nested jvp/grad); "
            "differentiate gamma or rgamma of a complex argument once only")
    if n == 0:
        out = _sp.digamma(x)
    else:
        out = ((-1.0) ** (n + 1) * _sp.gamma(n + 1.0)) * _sp.zeta(np.asarray(n + 1), x)
    if is_foreign(x):  # CuPy, Dask: through their ufuncs
        return out.astype(x.dtype if x.dtype.kind == "f" else np.dtype(np.float64))
    dtype = np.result_type(x) if np.result_type(x).kind in "fc" else np.dtype(np.float64)
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


# -- beta and incomplete gamma / beta functions -------------------------------------------
# The shape parameters' derivatives of the incomplete functions have no closed form: they
# are computed by series / continued fractions written with riesz operations
# (`_gammainc_da`, `_betainc_dab`), so that their own derivatives follow.


def _weak(ufunc: Any) -> Any:
    """`ufunc` computing in the dtype of NumPy's promotion of its arguments, Python
    scalars weak: float32 data with a Python-float parameter stays float32 (SciPy's own
    loop order would pick float64 for some ufuncs, e.g. gammainc)."""

    def impl(*args: Any) -> Any:
        if np.result_type(*args) == np.float32:
            return ufunc(*args, dtype=np.float32)
        return ufunc(*args)

    impl.__name__ = ufunc.__name__
    return impl


# -- JOINT primitives -----------------------------------------------------------------------
# Eager reverse and forward mode on large real arrays take F and F' from one compiled pass
# (`special_kernels`, with Numba: the optional `jit` extra) instead of two SciPy calls.
# Below JOINT_MIN_SIZE elements SciPy's two calls are cheap and not worth a first compile.
JOINT_MIN_SIZE = 1 << 15
_kernels: Any = None  # the special_kernels module once imported; False without Numba


def _kernel_module(x: Any) -> Any:
    """The special_kernels module if it applies to `x` (a large NumPy array; Numba
    installed), else None."""
    global _kernels
    if type(x) is not np.ndarray or x.size < JOINT_MIN_SIZE or _kernels is False:
        return None
    if _kernels is None:
        try:
            from . import special_kernels
        except ImportError:  # no Numba: SciPy for the value, the rules for F'
            _kernels = False
            return None
        _kernels = special_kernels
    return _kernels


def _joint_kernel(name: str) -> Any:
    """`forward(x)` for the JOINT primitive `name`: (F(x), F'(x)) from the compiled pair
    kernel, or None where it does not apply."""
    def forward(x: Any) -> Any:
        kernels = _kernel_module(x)
        return None if kernels is None else kernels.joint(name, x)

    forward.__name__ = f"{name}_forward"
    return forward


def _with_residual(prim: Primitive) -> None:
    """Rules of a JOINT elementwise `prim` that use F'(x), when the forward pass computed
    it (`residual`), instead of evaluating it again."""
    assert prim.jvps is not None and prim.vjps is not None
    (jvp0,), (vjp0,) = prim.jvps, prim.vjps

    def jvp(t: Any, ans: Any, x: Any, residual: Any = None) -> Any:
        return jvp0(t, ans, x) if residual is None else t * residual

    def vjp(g: Any, ans: Any, x: Any, residual: Any = None) -> Any:
        return vjp0(g, ans, x) if residual is None else g * residual

    jvp.__name__, vjp.__name__ = jvp0.__name__, vjp0.__name__
    prim.def_jvp(jvp).def_vjp(vjp)


def _with_residual_x(prim: Primitive) -> None:
    """`_with_residual` for F(v, x) with a non-differentiable order: the residual is
    ∂x F(v, x), in the broadcast shape (the cotangent of x is unbroadcast)."""
    assert prim.jvps is not None and prim.vjps is not None
    (jvp_v, jvp_x), (vjp_v, vjp_x) = prim.jvps, prim.vjps

    def jvp_v_(t: Any, ans: Any, v: Any, x: Any, residual: Any = None) -> Any:
        return jvp_v(t, ans, v, x)

    def vjp_v_(g: Any, ans: Any, v: Any, x: Any, residual: Any = None) -> Any:
        return vjp_v(g, ans, v, x)

    def jvp_x_(t: Any, ans: Any, v: Any, x: Any, residual: Any = None) -> Any:
        return jvp_x(t, ans, v, x) if residual is None else _fit(t * residual, ans)

    def vjp_x_(g: Any, ans: Any, v: Any, x: Any, residual: Any = None) -> Any:
        if residual is None:
            return vjp_x(g, ans, v, x)
        return unbroadcast(g * residual, x.shape, x.dtype)

    for new, old in ((jvp_v_, jvp_v), (vjp_v_, vjp_v), (jvp_x_, jvp_x), (vjp_x_, vjp_x)):
        new.__name__ = old.__name__
    prim.def_jvp(jvp_v_, jvp_x_).def_vjp(vjp_v_, vjp_x_)


def _no_derivative(fname: str, what: str) -> Any:
    """A partial-derivative rule that refuses, naming the argument."""

    def partial(*args: Any) -> Any:
        raise NotImplementedError(
            f"{fname}: the derivative with respect to {what} has no closed form and is not "
            f"implemented; pass it as a constant (e.g. riesz.stop_gradient)"
        )

    return partial


def _digamma(x: Any) -> Any:
    return bind(polygamma_p, x, n=0)


def _elementwise_joint(prim: Primitive, partials: Any) -> Primitive:
    """Rules for an elementwise `prim` whose partial derivatives share work:
    `partials(primals, which, ans)` returns ∂f/∂primals[i] where `which[i]` (else None), so
    an argument that is not differentiated costs nothing. ∂f[t] = Σ_i f_i ⊙ t_i and the i-th
    cotangent is unbroadcast(f_i ⊙ g), as `elementwise_nary`. A JOINT `prim`'s forward pass
    may have computed every partial already (`residual`, a tuple)."""

    def jvp(primals: list[Any], tangents: list[Any], ans: Any, residual: Any = None) -> Any:
        ds = residual or partials(primals, [t is not None for t in tangents], ans)
        out = None
        for t, d in zip(tangents, ds, strict=True):
            if t is not None:
                c = _fit(t * d, ans)
                out = c if out is None else out + c
        return out

    def vjp(g: Any, ans: Any, primals: Any, argnums: list[int], residual: Any = None) -> list[Any]:
        ds = residual or partials(primals, [k in argnums for k in range(len(primals))], ans)
        return [unbroadcast(g * ds[k], primals[k].shape, primals[k].dtype) for k in argnums]

    jvp.__name__, vjp.__name__ = f"{prim.name}_jvp", f"{prim.name}_vjp"
    prim.family = "elementwise"
    batch_elementwise(prim)
    return taylor.jet_from_jvp(prim.def_joint_jvp(jvp).def_joint_vjp(vjp))


def _in_place(op: Any, d: Any, other: Any) -> Any:
    """op(d, other), into `d` (a fresh array) when it has the result's shape and dtype."""
    if (isinstance(d, np.ndarray) and d.ndim and d.dtype == np.result_type(d, other)
            and d.shape == np.broadcast_shapes(d.shape, np.shape(other))):
        return op(d, other, out=d)
    return op(d, other)


def _beta_family(prim: Primitive, times_ans: bool) -> Primitive:
    """Joint rules for log B(a, b) (∂a = ψ(a) - ψ(a + b), ∂b = ψ(b) - ψ(a + b)) and, with
    `times_ans`, B(a, b) (the same times B): ψ(a + b) is evaluated once for both partials."""

    def partials(primals: Any, which: list[bool], ans: Any) -> list[Any]:
        a, b = primals
        if _first_order(a, b, ans):  # NumPy, in place where the shapes allow
            common = _sp.digamma(np.add(a, b))
            ds: list[Any] = []
            for arg, w in zip((a, b), which, strict=True):
                d = None
                if w:
                    d = _in_place(np.subtract, _sp.digamma(arg), common)
                    d = _in_place(np.multiply, d, ans) if times_ans else d
                ds.append(d)
            return ds
        common = _digamma(a + b)
        out = []
        for arg, w in zip((a, b), which, strict=True):
            d = (_digamma(arg) - common) if w else None
            out.append(d * ans if w and times_ans else d)
        return out

    def forward(a: Any, b: Any) -> Any:  # JOINT: the three ψ in one compiled pass
        kernels = _kernel_module(a)
        if kernels is None or not kernels.beta_accepts(a, b):
            return None
        ans = prim.impl(a, b)
        return ans, kernels.beta_partials(a, b, ans, times_ans)

    forward.__name__ = f"{prim.name}_forward"
    return _elementwise_joint(prim, partials).def_forward(forward)


betaln_p = _beta_family(
    Primitive("betaln", _weak(_sp.betaln), kind=JOINT,
              notes="log|B(a, b)|; ∂a = ψ(a) - ψ(a + b)"),
    times_ans=False)
beta_p = _beta_family(
    Primitive("beta", _weak(_sp.beta), kind=JOINT,
              notes="B(a, b) = Γ(a)Γ(b)/Γ(a + b); ∂a = B (ψ(a) - ψ(a + b))"),
    times_ans=True)


def _gamma_density(a: Any, x: Any, lgamma_a: Any = None) -> Any:
    """e^-x x^(a-1) / Γ(a), from logs (xlogy: 0 log 0 = 0 at a = 1, x = 0); `lgamma_a`:
    log Γ(a) if already computed."""
    lgamma_a = bind(gammaln_p, a) if lgamma_a is None else lgamma_a
    return bind(exp_p, bind(xlogy_p, a - 1.0, x) - x - lgamma_a)


def _gammainc_da(a: Any, x: Any) -> Any:
    """∂P(a, x)/∂a, written with riesz operations (so its own derivatives, of any order, come
    from differentiating the same expression):

    * x < a + 1: the series P = Σ_k exp((a+k) log x - x - log Γ(a+k+1)), term by term
      ∂a = Σ_k term_k (log x - ψ(a+k+1)); all terms positive, N ≈ 20 + 10 √a of them
      (their ratio x/(a+k+1) decays like exp(-k²/2a) from x ≈ a);
    * x ≥ a + 1: Legendre's continued fraction Q = e^-x x^a / Γ(a) / f_0 with
      f_k = x + 2k + 1 - a - (k+1)(k+1-a)/f_(k+1), evaluated from depth M ≈ 30 + 2√a up,
      with its a-derivative f_k' alongside: ∂a Q = Q (log x - ψ(a) - f_0'/f_0) and
      ∂a P = -∂a Q, accurate relative to the (tiny) tail.

    0 at x = 0 and x = inf; NaN outside the domain (a <= 0, x < 0) as P itself. Checked
    against mpmath in tests/test_scipy_special.py."""
    ar, xr = _raw(a), _raw(x)
    shape = np.broadcast_shapes(np.shape(ar), np.shape(xr))
    valid = (ar > 0) & (xr >= 0)
    ser = valid & (xr > 0) & (xr < ar + 1)
    cf = valid & (xr >= ar + 1) & (xr < np.inf)
    edge = valid & ((xr == 0) | (xr == np.inf))
    big_a = concrete_max(a, "∂gammainc/∂a")
    big_a = min(big_a, 1e5) if big_a == big_a else 1.0  # (NaN a: any depth)
    out: Any = np.full(shape, np.nan, dtype=np.result_type(ar, xr, 1.0))
    if any_set(edge):
        out = bind(where_p, np.broadcast_to(edge, shape), 0.0, out)
    if any_set(cf):
        m = np.broadcast_to(cf, shape)
        xc, ac = bind(where_p, m, x, 2.0), bind(where_p, m, a, 0.5)
        depth = 30 + int(2 * math.sqrt(big_a))
        f, fp = xc + (2 * depth + 1) - ac, -1.0
        for k in range(depth - 1, -1, -1):
            c = (k + 1) * (k + 1 - ac)
            f, fp = xc + (2 * k + 1) - ac - c / f, -1.0 + ((k + 1) * f + c * fp) / (f * f)
        lx = bind(log_p, xc)
        q = bind(exp_p, ac * lx - xc - bind(gammaln_p, ac)) / f
        out = bind(where_p, m, -q * (lx - _digamma(ac) - fp / f), out)
    if any_set(ser):
        m = np.broadcast_to(ser, shape)
        xs, as_ = bind(where_p, m, x, 1.0), bind(where_p, m, a, 1.0)
        lx = bind(log_p, xs)
        acc = None
        for k in range(20 + int(10 * math.sqrt(big_a))):
            term = bind(exp_p, (as_ + k) * lx - xs - bind(gammaln_p, as_ + (k + 1)))
            term = term * (lx - _digamma(as_ + (k + 1)))
            acc = term if acc is None else acc + term
        out = bind(where_p, m, acc, out)
    return out


# -- the shape derivatives at first order: vectorised NumPy ---------------------------------
# The expressions above (`_gammainc_da`, `_betainc_dab`) are riesz operations, so that every
# higher derivative follows from them; on the whole array they cost a special function per
# series term. When the inputs are concrete NumPy arrays (no transformation above will
# differentiate the result: a first derivative), the same series / continued fractions run
# in NumPy instead: in chunks that stay in cache, each chunk iterated until all its
# elements converge (the converged ones set aside as they go), with the a-, b-derivatives of
# each continued fraction carried alongside (Lentz's method, differentiated).

_CHUNK = 1 << 15
_EPS = 2.0 ** -53


def _first_order(*args: Any) -> bool:
    """Whether every argument is a concrete NumPy value (not traced, not another backend)."""
    return not any(isinstance(v, Tracer) or is_foreign(v) for v in args)


def _by_chunks(fn: Any, nout: int, arrays: tuple[Any, ...], like: tuple[Any, ...]) -> list[Any]:
    """`fn` on float64 chunks of the broadcast `arrays` -> `nout` arrays of the broadcast
    shape, in the dtype of `like` (NumPy's promotion, Python scalars weak)."""
    dtype = np.result_type(*like, 1.0)
    full = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in arrays))
    shape = full[0].shape
    flat = [v.reshape(-1) for v in full]
    outs = [np.empty(flat[0].size) for _ in range(nout)]
    for lo in range(0, flat[0].size, _CHUNK):
        for o, r in zip(outs, fn(*(v[lo:lo + _CHUNK] for v in flat)), strict=True):
            o[lo:lo + _CHUNK] = r
    return [o.reshape(shape).astype(dtype, copy=False) for o in outs]


def _until_converged(state: list[Any], scratch: int, step: Any, finish: Any, nout: int,
                     max_steps: int = 100_000) -> list[Any]:
    """Run `step(state, k, check)` (k = 1, 2, ...; it updates `state` in place and, when
    `check`, returns the mask of converged elements) until every element converged;
    `finish(state, sel)` -> `nout` results for the elements `sel`. The last `scratch` arrays
    of `state` are scratch space. Converged elements leave the state once a quarter of them
    did, so the work follows the slow ones only."""
    n = state[0].shape[0]
    outs = [np.empty(n) for _ in range(nout)]
    idx = np.arange(n)
    k = 0
    while True:
        k += 1
        conv = step(state, k, k % 4 == 0 or k >= max_steps)
        if conv is None:
            continue
        last = k >= max_steps or bool(conv.all())
        if not last and 4 * np.count_nonzero(conv) < conv.size:
            continue
        done = slice(None) if last else np.flatnonzero(conv)
        for o, r in zip(outs, finish(state, done), strict=True):
            o[idx[done]] = r
        if last:
            return outs
        keep = np.flatnonzero(~conv)
        idx = idx[keep]
        live = len(state) - scratch
        state = [v.take(keep) for v in state[:live]] + [v[:keep.size] for v in state[live:]]


def _gammainc_series_step(st: list[Any], k: int, check: bool) -> Any:
    """One term of P = D Σ_k c_k, c_k = Π_(j<=k) x/(a+j): ∂a P = D (L S0 - S1) with
    L = log x - ψ(a+1), S0 = Σ c_k, S1 = Σ c_k H_k, H_k = Σ_(j<=k) 1/(a+j)."""
    x, ak, c, h, s0, s1, _d, lo, t = st
    ak += 1.0
    np.divide(x, ak, out=t)
    c *= t
    np.divide(1.0, ak, out=t)
    h += t
    s0 += c
    np.multiply(c, h, out=t)
    s1 += t
    if not check:
        return None
    ab = np.abs(lo)
    return c * (h + ab + 1.0) <= _EPS * (s1 + ab * s0)


def _gammainc_series_finish(st: list[Any], sel: Any) -> Any:
    s0, s1, d, lo = (v[sel] for v in st[4:8])
    return (d * (lo * s0 - s1),)


def _gammainc_cf_step(st: list[Any], i: int, check: bool) -> Any:
    """One step of Lentz's method on Legendre's fraction Q = e^-x x^a/Γ(a) h,
    h = 1/(x+1-a - 1(1-a)/(x+3-a - 2(2-a)/(...))), with ud = d'/d, uc = c'/c and
    lh = h'/h (' = ∂a) alongside."""
    a, b, d, ud, c, uc, lh, h, _q0, _lo, t1, t2, t3, t4 = st
    np.subtract(a, i, out=t1)
    t1 *= i                                      # a_i = -i (i - a), ∂a a_i = i
    b += 2.0                                     # b_i = x + 2i + 1 - a, ∂a b_i = -1
    np.multiply(t1, d, out=t2)
    np.add(t2, b, out=t3)
    np.divide(1.0, t3, out=t3)                   # d_i = 1/(b_i + a_i d)
    t2 *= ud
    np.multiply(d, i, out=t4)
    t4 += t2
    np.subtract(1.0, t4, out=t4)
    t4 *= t3                                     # d_i'/d_i
    d[...] = t3
    ud[...] = t4
    np.multiply(t1, uc, out=t2)
    np.subtract(i, t2, out=t2)
    t2 /= c
    t2 -= 1.0                                    # c_i' (times c_i)
    np.divide(t1, c, out=t1)
    t1 += b                                      # c_i = b_i + a_i/c
    np.divide(t2, t1, out=uc)
    c[...] = t1
    t4 += uc
    lh += t4
    t1 *= t3
    h *= t1                                      # h *= c_i d_i
    if not check:
        return None
    return (np.abs(t1 - 1.0) <= _EPS) & (np.abs(t4) <= _EPS * (np.abs(lh) + 1.0))


def _gammainc_cf_finish(st: list[Any], sel: Any) -> Any:
    lh, h, q0, lo = (v[sel] for v in st[6:10])
    return (-(q0 * h) * (lo + lh),)


def _gammainc_da_chunk(a: Any, x: Any, lgamma_a: Any) -> tuple[Any]:
    """∂P(a, x)/∂a on float64 arrays: the series for x < a + 1, the continued fraction for
    Q = 1 - P otherwise (accurate relative to whichever of P, Q is small), as
    `_gammainc_da`; 0 at x = 0 and x = inf, NaN outside the domain."""
    out = np.full(a.shape, np.nan)
    valid = (a > 0) & (x >= 0)
    out[valid & ((x == 0) | (x == np.inf))] = 0.0
    ser = valid & (x > 0) & (x < a + 1)
    cf = valid & (x >= a + 1) & (x < np.inf)
    for mask, series in ((ser, True), (cf, False)):
        if not mask.any():
            continue
        am, xm, g = a[mask], x[mask], lgamma_a[mask]
        lx, psi = np.log(xm), _sp.digamma(am)
        z = np.zeros_like(am)
        if series:
            d = np.exp(am * lx - xm - g - np.log(am))
            state = [xm, am.copy(), z + 1.0, z.copy(), z + 1.0, z.copy(), d,
                     lx - psi - 1.0 / am, z.copy()]
            (out[mask],) = _until_converged(state, 1, _gammainc_series_step,
                                            _gammainc_series_finish, 1)
        else:
            b = xm + 1.0 - am
            d = 1.0 / b
            state = [am, b, d, d.copy(), z + 1e300, z.copy(), d.copy(), d.copy(),
                     np.exp(am * lx - xm - g), lx - psi, *(np.empty_like(am) for _ in range(4))]
            (out[mask],) = _until_converged(state, 4, _gammainc_cf_step, _gammainc_cf_finish, 1)
    return (out,)


def _betainc_coefficient(p: Any, q: Any, y: Any, m: int, odd: bool, t: list[Any]) -> None:
    """The m-th even (d_2m = m(q-m) y/((p+2m-1)(p+2m))) or odd (d_(2m+1) =
    -(p+m)(p+q+m) y/((p+2m)(p+2m+1))) coefficient of `_betainc_cf`'s fraction into t[3],
    its p-derivative into t[4], its q-derivative into t[2]."""
    t1, t2, t3, t4, t5, t6 = t
    if not odd:
        np.add(p, 2 * m - 1, out=t1)
        np.add(p, 2 * m, out=t2)
        np.multiply(t1, t2, out=t3)
        np.divide(m, t3, out=t3)
        t3 *= y                                  # ∂q d = m y/((p+2m-1)(p+2m))
        np.subtract(q, m, out=t4)
        t4 *= t3                                 # d
        np.divide(1.0, t1, out=t1)
        np.divide(1.0, t2, out=t2)
        t1 += t2
        np.multiply(t1, t4, out=t5)
        np.negative(t5, out=t5)                  # ∂p d = -d (1/(p+2m-1) + 1/(p+2m))
        return
    np.add(p, m, out=t1)
    np.add(q, m, out=t6)
    t6 += p
    np.add(p, 2 * m, out=t2)
    np.add(p, 2 * m + 1, out=t3)
    np.multiply(t1, t6, out=t4)
    t4 *= y
    t4 /= t2
    t4 /= t3
    np.negative(t4, out=t4)                      # d
    np.divide(1.0, t1, out=t1)
    np.divide(1.0, t6, out=t6)
    np.divide(1.0, t2, out=t2)
    np.divide(1.0, t3, out=t3)
    t1 += t6
    t1 -= t2
    t1 -= t3
    np.multiply(t4, t1, out=t5)                  # ∂p d = d (1/(p+m) + 1/(p+q+m) - ...)
    np.multiply(t4, t6, out=t3)                  # ∂q d = d/(p+q+m)


def _betainc_cf_step(st: list[Any], m: int, check: bool) -> Any:
    """The coefficients d_2m, d_(2m+1) of t = 1 + d_1/(1 + d_2/(1 + ...)) by Lentz's method
    (C_k = 1 + d_k/C, D_k = 1/(1 + d_k D), t *= C_k D_k), with uC = ∂C/C, uD = ∂D/D and
    the accumulated ∂ log t, for ∂ = ∂p and ∂q."""
    p, q, y, c, d, t, ucp, udp, ucq, udq, lp, lq = st[:12]
    tmp = st[12:]
    t1, t2, t3, t4, t5, t6, delta = tmp
    ok = None
    for odd in (False, True):
        _betainc_coefficient(p, q, y, m, odd, tmp[:6])
        np.multiply(t4, d, out=t1)
        t1 += 1.0
        np.divide(1.0, t1, out=t1)               # D_k
        np.multiply(d, t1, out=t2)               # D D_k
        np.divide(t4, c, out=t6)
        t6 += 1.0                                # C_k
        c *= t6
        np.divide(1.0, c, out=c)                 # 1/(C C_k)
        for dd, uc, ud, acc in ((t5, ucp, udp, lp), (t3, ucq, udq, lq)):
            ud *= t4
            ud += dd
            ud *= t2
            np.negative(ud, out=ud)              # ∂D_k/D_k = -D D_k (∂d + d ∂D/D)
            uc *= t4
            np.subtract(dd, uc, out=uc)
            uc *= c                              # ∂C_k/C_k = (∂d - d ∂C/C)/(C C_k)
            acc += ud
            acc += uc
            if check and odd:
                inc = np.abs(ud + uc) <= _EPS * (np.abs(acc) + 1.0)
                ok = inc if ok is None else ok & inc
        c[...] = t6
        d[...] = t1
        np.multiply(t6, t1, out=delta)
        t *= delta
    if not check:
        return None
    return ok & (np.abs(delta - 1.0) <= _EPS)


def _betainc_dab_chunk(a: Any, b: Any, x: Any, lbeta: Any) -> tuple[Any, Any]:
    """(∂a, ∂b) I_x(a, b) on float64 arrays, as `_betainc_dab`: the fraction of
    `_betainc_cf` for x < (a+1)/(a+b+2), else by I_x(a, b) = 1 - I_(1-x)(b, a)."""
    da = np.full(a.shape, np.nan)
    db = da.copy()
    valid = (a > 0) & (b > 0) & (x >= 0) & (x <= 1)
    edge = valid & ((x == 0) | (x == 1))
    da[edge] = db[edge] = 0.0
    inner = valid & (x > 0) & (x < 1)
    direct = inner & (x < (a + 1) / (a + b + 2))
    for mask, swap in ((direct, False), (inner & ~direct, True)):
        if not mask.any():
            continue
        p, q, y = (b[mask], a[mask], 1.0 - x[mask]) if swap else (a[mask], b[mask], x[mask])
        z = np.zeros_like(p)
        pq = p + q
        d1 = -pq * y / (p + 1.0)                 # d_1, then Lentz from C = 1 + d_1, D = 1
        c = 1.0 + d1
        ucp = d1 * (1.0 / pq - 1.0 / (p + 1.0)) / c
        ucq = d1 / pq / c
        state = [p, q, y, c, z + 1.0, c.copy(), ucp, z.copy(), ucq, z.copy(), ucp.copy(),
                 ucq.copy(), *(np.empty_like(p) for _ in range(7))]
        t, lt_p, lt_q = _until_converged(state, 7, _betainc_cf_step,
                                         lambda st, sel: (st[5][sel], st[10][sel], st[11][sel]), 3)
        ly, l1y, common = np.log(y), np.log1p(-y), _sp.digamma(pq)
        value = np.exp(p * ly + q * l1y - np.log(p) - lbeta[mask]) / t
        gp = value * (ly - 1.0 / p - (_sp.digamma(p) - common) - lt_p)
        gq = value * (l1y - (_sp.digamma(q) - common) - lt_q)
        if swap:
            da[mask], db[mask] = -gq, -gp
        else:
            da[mask], db[mask] = gp, gq
    return da, db


def _gammainc_partials(sign: float) -> Any:
    """The joint partials of `sign` P(a, x) (P for gammainc, -P = Q - 1 for gammaincc):
    ∂a by `_gammainc_da` (vectorised NumPy on concrete inputs, see `_first_order`), ∂x the
    density; log Γ(a) shared between them."""

    def partials(primals: Any, which: list[bool], ans: Any) -> list[Any]:
        a, x = primals
        da = dx = None
        if which[0] and _first_order(a, x):
            lg = _sp.gammaln(np.asarray(a, dtype=np.float64))
            (da,) = _by_chunks(_gammainc_da_chunk, 1, (a, x, lg), (a, x))
            if which[1]:
                dx = _gamma_density(a, x, lg.astype(da.dtype, copy=False))
        else:
            da = _gammainc_da(a, x) if which[0] else None
            dx = _gamma_density(a, x) if which[1] else None
        return [d if d is None or sign > 0 else -d for d in (da, dx)]

    return partials


def _gammainc_forward(name: str, upper: bool) -> Any:
    """JOINT: the value and both partials from one compiled pass."""

    def forward(a: Any, x: Any) -> Any:
        kernels = _kernel_module(a)
        return None if kernels is None else kernels.gammainc(a, x, upper)

    forward.__name__ = f"{name}_forward"
    return forward


gammainc_p = _elementwise_joint(
    Primitive("gammainc", _weak(_sp.gammainc), kind=JOINT,
              notes="P(a, x); ∂x = e^-x x^(a-1)/Γ(a); ∂a by a series / continued fraction"),
    _gammainc_partials(1.0))
gammaincc_p = _elementwise_joint(
    Primitive("gammaincc", _weak(_sp.gammaincc), kind=JOINT,
              notes="Q(a, x) = 1 - P(a, x); ∂x = -e^-x x^(a-1)/Γ(a); ∂a = -∂a P"),
    _gammainc_partials(-1.0))
gammainc_p.def_forward(_gammainc_forward("gammainc", False))
gammaincc_p.def_forward(_gammainc_forward("gammaincc", True))


def _beta_density(a: Any, b: Any, x: Any, lbeta: Any = None) -> Any:
    """x^(a-1) (1-x)^(b-1) / B(a, b), from logs; `lbeta`: log B(a, b) if already computed."""
    lbeta = bind(betaln_p, a, b) if lbeta is None else lbeta
    return bind(exp_p, bind(xlogy_p, a - 1.0, x) + bind(xlog1py_p, b - 1.0, -x) - lbeta)


def _betainc_cf(p: Any, q: Any, y: Any, depth: int) -> tuple[Any, Any]:
    """(∂p I_y(p, q), ∂q I_y(p, q)) for y < (p + 1)/(p + q + 2), where the continued
    fraction I = y^p (1-y)^q / (p B(p, q)) / (1 + d_1/(1 + d_2/(1 + ...))) converges fast
    (d_(2m+1) = -(p+m)(p+q+m) y / ((p+2m)(p+2m+1)), d_(2m) = m(q-m) y / ((p+2m-1)(p+2m))),
    evaluated from `depth` up with the partial derivatives of each tail alongside."""
    t, tp, tq = 1.0, 0.0, 0.0
    for k in range(depth, 0, -1):
        m = k // 2
        if k % 2:
            d = -(p + m) * (p + q + m) * y / ((p + 2 * m) * (p + (2 * m + 1)))
            dp = d * (1.0 / (p + q + m) - 1.0 / (p + (2 * m + 1))
                      + (1.0 / (p + m) - 1.0 / (p + 2 * m) if m else 0.0))
            dq = d / (p + q + m)
        else:
            den = (p + (2 * m - 1)) * (p + 2 * m)
            d = m * (q - m) * y / den
            dp = -d * (1.0 / (p + (2 * m - 1)) + 1.0 / (p + 2 * m))
            dq = m * y / den
        # t_new = 1 + d / t: its partials from d's and t's
        tp = dp / t - d * tp / (t * t)
        tq = dq / t - d * tq / (t * t)
        t = 1.0 + d / t
    common = _digamma(p + q)
    value = bind(exp_p, bind(xlogy_p, p, y) + bind(xlog1py_p, q, -y) - bind(log_p, p)
                 - bind(betaln_p, p, q)) / t
    lp = bind(log_p, y) - 1.0 / p - (_digamma(p) - common) - tp / t
    lq = bind(log1p_p, -y) - (_digamma(q) - common) - tq / t
    return value * lp, value * lq


def _betainc_dab(a: Any, b: Any, x: Any, which: int) -> Any:
    """∂I_x(a, b)/∂a (which = 0) or ∂b (which = 1), written with riesz operations: the
    continued fraction for x < (a+1)/(a+b+2), else I_x(a, b) = 1 - I_(1-x)(b, a) (so the
    derivative is accurate relative to whichever of I, 1 - I is small). 0 at x = 0, 1;
    NaN outside the domain, as I itself."""
    ar, br, xr = _raw(a), _raw(b), _raw(x)
    shape = np.broadcast_shapes(np.shape(ar), np.shape(br), np.shape(xr))
    valid = (ar > 0) & (br > 0) & (xr >= 0) & (xr <= 1)
    inner = valid & (xr > 0) & (xr < 1)
    direct = inner & (xr < (ar + 1) / (ar + br + 2))
    swapped = inner & ~direct
    edge = valid & ((xr == 0) | (xr == 1))
    big = sum(concrete_max(v, "∂betainc/∂(a, b)") for v in (a, b))
    depth = 60 + 2 * int(3 * math.sqrt(min(big, 1e6) if big == big else 1.0))
    out: Any = np.full(shape, np.nan, dtype=np.result_type(ar, br, xr, 1.0))
    if any_set(edge):
        out = bind(where_p, np.broadcast_to(edge, shape), 0.0, out)
    for mask, swap in ((direct, False), (swapped, True)):
        if not any_set(mask):
            continue
        m = np.broadcast_to(mask, shape)
        pa, pb, px = bind(where_p, m, a, 1.0), bind(where_p, m, b, 1.0), bind(where_p, m, x, 0.25)
        if swap:
            db, da = _betainc_cf(pb, pa, 1.0 - px, depth)
            d = -(da if which == 0 else db)
        else:
            d = _betainc_cf(pa, pb, px, depth)[which]
        out = bind(where_p, m, d, out)
    return out


def _betainc_partials(sign: float) -> Any:
    """The joint partials of `sign` I_x(a, b) (betainc; betaincc = 1 - I: sign -1): ∂a, ∂b
    by one continued fraction (vectorised NumPy on concrete inputs, see `_first_order`),
    ∂x the density; log B(a, b) shared between them."""

    def partials(primals: Any, which: list[bool], ans: Any) -> list[Any]:
        a, b, x = primals
        out: list[Any] = [None, None, None]
        if (which[0] or which[1]) and _first_order(a, b, x):
            lb = _sp.betaln(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64))
            out[0], out[1] = _by_chunks(_betainc_dab_chunk, 2, (a, b, x, lb), (a, b, x))
            if which[2]:
                out[2] = _beta_density(a, b, x, lb.astype(out[0].dtype, copy=False))
        else:
            out = [_betainc_dab(a, b, x, 0) if which[0] else None,
                   _betainc_dab(a, b, x, 1) if which[1] else None,
                   _beta_density(a, b, x) if which[2] else None]
        return [None if d is None or not w else (d if sign > 0 else -d)
                for d, w in zip(out, which, strict=True)]

    return partials


def _betainc_forward(name: str, upper: bool) -> Any:
    """JOINT: the value and the three partials from one compiled pass."""

    def forward(a: Any, b: Any, x: Any) -> Any:
        kernels = _kernel_module(a)
        return None if kernels is None else kernels.betainc(a, b, x, upper)

    forward.__name__ = f"{name}_forward"
    return forward


betainc_p = _elementwise_joint(
    Primitive("betainc", _weak(_sp.betainc), kind=JOINT,
              notes="I_x(a, b); ∂x = x^(a-1)(1-x)^(b-1)/B(a, b); ∂a, ∂b: continued fraction"),
    _betainc_partials(1.0))
betaincc_p = _elementwise_joint(
    Primitive("betaincc", _weak(_sp.betaincc), kind=JOINT,
              notes="1 - I_x(a, b), accurate where I_x is near 1; "
                    "∂x = -x^(a-1)(1-x)^(b-1)/B(a, b); ∂a, ∂b = -betainc's"),
    _betainc_partials(-1.0))
betainc_p.def_forward(_betainc_forward("betainc", False))
betaincc_p.def_forward(_betainc_forward("betaincc", True))


# -- inverse error functions, 1/Γ, the sign of Γ ------------------------------------------
_SQRT_PI_OVER_2 = math.sqrt(math.pi) / 2.0

erfinv_p = taylor.jet_from_jvp(elementwise_unary(
    Primitive("erfinv", _weak(_sp.erfinv), notes="derivative (√π/2) exp(erfinv(x)²)"),
    lambda x, ans: _SQRT_PI_OVER_2 * bind(exp_p, ans * ans),
))
erfcinv_p = taylor.jet_from_jvp(elementwise_unary(
    Primitive("erfcinv", _weak(_sp.erfcinv), notes="derivative -(√π/2) exp(erfcinv(x)²)"),
    lambda x, ans: -_SQRT_PI_OVER_2 * bind(exp_p, ans * ans),
))


def _rgamma_derivative_np(x: Any, ans: Any) -> Any:
    """(1/Γ)'(x) = -ψ(x)/Γ(x) on concrete arrays, the answer 1/Γ(x) reused; for x <= 0 with
    ψ(x) = ψ(1-x) - π/tan(π r), r = x - rint(x) exact (SciPy's ψ is slow for x < 0, and
    -ψ/Γ inaccurate near its zeros: this form is accurate to ~1e-14 up to them), and
    (-1)^n n! at the zeros -n themselves. In place on one fresh array."""
    neg = x <= 0
    if not neg.any():
        d = np.asarray(_sp.digamma(x))
        np.negative(d, out=d)
        d *= ans
        return d
    d = np.array(x, dtype=np.result_type(ans), copy=True)
    flat, neg = d.reshape(-1), np.flatnonzero(neg)  # (d is fresh: a view)
    xn = flat[neg]
    flat[neg] = 1.0 - xn
    _sp.digamma(d, out=d)                        # ψ(x) for x > 0, ψ(1 - x) for x <= 0
    r = xn - np.rint(xn)
    with np.errstate(divide="ignore"):  # the zeros of 1/Γ, replaced below
        flat[neg] -= np.pi / np.tan(np.pi * r)
    np.negative(d, out=d)
    with np.errstate(invalid="ignore"):
        d *= ans
    zero = r == 0
    if zero.any():
        n = -xn[zero]
        flat[neg[zero]] = np.where(n % 2 == 1, -1.0, 1.0) * _sp.gamma(n + 1.0)
    return d


def _rgamma_derivative(x: Any, ans: Any) -> Any:
    """(1/Γ)'(x) = -ψ(x)/Γ(x) for x > 0; for x <= 0 by the reflection 1/Γ(x) = sin(πx)
    Γ(1-x)/π: (1/Γ)'(x) = Γ(1-x) (cos(πx) - sin(πx) ψ(1-x)/π), smooth through the zeros 0,
    -1, -2, ... of 1/Γ (where -ψ/Γ is 0 · ∞, and inaccurate nearby: relative error ~ε/δ at a
    distance δ). Higher derivatives are right at the zeros too. A first derivative on
    concrete arrays: `_rgamma_derivative_np`."""
    if _first_order(x, ans) and np.result_type(x).kind == "f":
        return _rgamma_derivative_np(np.asarray(x), ans)
    xr = _raw(x)
    neg = xr <= 0
    if not any_set(neg):
        return -ans * _digamma(x)
    neg = np.broadcast_to(neg, np.shape(xr))
    both = any_set(~neg)
    xn = bind(where_p, neg, x, -0.5) if both else x  # each branch sees safe inputs only
    pxn = math.pi * xn
    reflected = bind(gamma_p, 1.0 - xn) * (
        bind(cos_p, pxn) - bind(sin_p, pxn) * _digamma(1.0 - xn) * (1.0 / math.pi))
    if not both:
        return reflected
    regular = -ans * _digamma(bind(where_p, neg, 0.5, x))
    return bind(where_p, neg, reflected, regular)


rgamma_p = taylor.jet_from_jvp(elementwise_unary(
    Primitive("rgamma", _weak(_sp.rgamma), kind=JOINT,
              notes="1/Γ(x), entire; derivative -ψ(x)/Γ(x), by reflection for x < 0"),
    _rgamma_derivative,
))


def _rgamma_forward(x: Any) -> Any:
    """JOINT: 1/Γ(x) and its derivative from one compiled pass (Cephes' rgamma, ψ
    from the same recurrences); below -170 or with NaN, SciPy's value and the kernel's ψ."""
    kernels = _kernel_module(x)
    if kernels is None or x.dtype not in (np.float64, np.float32):
        return None
    joint = kernels.rgamma(x)
    if joint is not None:
        return joint
    ans = rgamma_p.impl(x)
    return ans, kernels.rgamma_derivative(x, ans)


_with_residual(rgamma_p)
rgamma_p.def_forward(_rgamma_forward)
gammasgn_p = Primitive("gammasgn", _weak(_sp.gammasgn), kind=ZERO_DERIVATIVE,
                       notes="the sign of Γ(x); derivative 0")
batch_elementwise(gammasgn_p)


# -- Bessel functions -------------------------------------------------------------------------
# Each family F satisfies, with s = sign(x) for the e^-|x|-scaled ive (0 otherwise),
#     F_v'(x)     = (v/x - s) F_v(x) + p F_(v+1)(x)
#     F_(v+1)'(x) = q F_v(x) - ((v+1)/x + s) F_(v+1)(x)
# (J, Y: p = -1, q = 1; I, ive: p = q = 1; K: p = q = -1), or the lower recurrence
# F_v' = q F_(v-1) - (v/x + s) F_v when v >= 1: the JVP costs one more evaluation,
# F_(v-1) or F_(v+1). At x = 0, where v/x is 0 · ∞, the symmetric recurrence
# F_v' = (q F_(v-1) + p F_(v+1))/2 (- s F_v) takes over (J, I, ive are finite there).
# Taylor mode integrates the pair (F_v, F_(v+1)) along x(t) with the same two equations, so
# its cost is O(K²) (the general rule would branch into F_(v±1), F_(v±2), ... per order).
# The derivative in the order v has no closed form: it raises, naming v.


class _Bessel:
    """One Bessel family: `value(v, x)` evaluates F_v (a primitive of this family, so that
    its own rules apply); p, q, s as above; `regular` if F_v is finite at x = 0."""

    def __init__(self, value: Any, p: float, q: float, scaled: bool, regular: bool):
        self.value, self.p, self.q, self.scaled, self.regular = value, p, q, scaled, regular

    def derivative(self, v: Any, x: Any, ans: Any, scaling: bool = True) -> Any:
        """F_v'(x), written with riesz operations: from F_(v-1) when every v >= 1 (lower
        orders are the cheaper ones to evaluate, and j1, y1, i1, i1e then use SciPy's
        dedicated order-0 routine), from F_(v+1) otherwise. Without `scaling`, a scaled
        family's derivative leaves out the term -sign(x) F_v of its factor e^-|x|."""
        if (_first_order(v, x, ans) and np.result_type(x).kind == "f"
                and not np.any(np.asarray(x) == 0)):
            return self._derivative_np(v, np.asarray(x), ans, scaling)
        vr = _raw(v)
        rv = raw_value(v)  # (any choice is exact; abstract under jit: the upper one)
        lower = (not isinstance(rv, ShapedArray) and not is_foreign(rv)
                 and bool(np.all(np.asarray(rv) >= 1)))
        if lower:
            prev = self.value(v - 1, x)
            d = prev if self.q == 1 else -prev
        else:
            nxt = self.value(v + 1, x)
            d = nxt if self.p == 1 else -nxt
        if not (isinstance(vr, (int, float)) and vr == 0):
            xr = _raw(x)
            zero = any_set(xr == 0)
            if zero:
                mask = np.broadcast_to(xr == 0, np.shape(xr))
                xs = bind(where_p, mask, 1.0, x)
            else:
                xs = x
            term = (v / xs) * ans
            d = d - term if lower else d + term
            if zero and self.regular:  # the symmetric recurrence (q F_(v-1) + p F_(v+1))/2
                if lower:
                    q_prev, p_next = d + term, self.p * self.value(v + 1, x)
                else:
                    q_prev, p_next = self.q * self.value(v - 1, x), d - term
                sym = 0.5 * (q_prev + p_next)
                d = bind(where_p, np.broadcast_to(mask, np.shape(sym)), sym, d)
        if self.scaled and scaling:
            d = d - bind(sign_p, x) * ans
        return d

    def _derivative_np(self, v: Any, x: Any, ans: Any, scaling: bool) -> Any:
        """`derivative` on concrete real arrays with no x = 0, in place on the fresh
        F_(v±1)."""
        lower = bool(np.all(np.asarray(v) >= 1))
        d = np.asarray(self.value(v - 1, x) if lower else self.value(v + 1, x))
        negate = (self.q if lower else self.p) < 0
        if not (np.ndim(v) == 0 and v == 0):
            term = np.divide(v, x)
            term *= ans
            if negate:  # d = -F -+ term
                d = _in_place(np.add if lower else np.subtract, d, term)
            else:
                d = _in_place(np.subtract if lower else np.add, d, term)
        if negate:
            d = np.negative(d, out=d) if d.ndim else -d
        if self.scaled and scaling:
            d = _in_place(np.subtract, d, np.sign(x) * ans)
        return d

    def jet(self, v: Any, x: Any, sx: list[Any], y0: Any) -> list[Any]:
        """The Taylor coefficients [y_1..y_K] of F_v(x(t)), from those of x."""
        K = len(sx)
        xs = taylor.full_series(x, sx, K)
        inv0 = 1.0 / x
        r = [inv0, *taylor.series_divide([1.0, *[None] * K], xs, inv0, K)]
        dx = [taylor.scale(k + 1, xs[k + 1]) for k in range(K)]  # the series of x'(t)
        sgn = bind(sign_p, x) if self.scaled else None
        a = [None if c is None else v * c for c in r]
        b = [None if c is None else -(v + 1) * c for c in r]
        if sgn is not None:
            a[0], b[0] = a[0] - sgn, b[0] - sgn
        ys, ws = [y0], [self.value(v + 1, x)]
        us: list[Any] = []
        zs: list[Any] = []
        for k in range(K):
            us.append(taylor.add(taylor.cauchy(a, ys, k), taylor.scale(self.p, ws[k])))
            zs.append(taylor.add(taylor.scale(self.q, ys[k]), taylor.cauchy(b, ws, k)))
            ys.append(taylor.scale(1.0 / (k + 1), taylor.cauchy(us, dx, k)))
            ws.append(taylor.scale(1.0 / (k + 1), taylor.cauchy(zs, dx, k)))
        return ys[1:]


def _bessel_v(name: str, ufunc: Any, p: float, q: float, *, scaled: bool = False,
              regular: bool = True, notes: str = "",
              joint: bool = False) -> tuple[Primitive, _Bessel]:
    """F(v, x) with the order v an operand (not differentiable). With `joint`, kind JOINT:
    F_v and ∂x F_v from one compiled pass where `special_kernels.ikv` applies."""
    prim = Primitive(name, _weak(ufunc), kind=JOINT if joint else DIFFERENTIABLE,
                     notes=notes)
    family = _Bessel(lambda v, x: bind(prim, v, x), p, q, scaled, regular)
    elementwise_binary(prim, _no_derivative(name, "the order `v`"),
                       lambda v, x, ans: family.derivative(v, x, ans))
    if joint:
        _with_residual_x(prim)

        def forward(v: Any, x: Any) -> Any:
            kernels = _kernel_module(x)
            return None if kernels is None else kernels.ikv(name, v, x)

        forward.__name__ = f"{name}_forward"
        prim.def_forward(forward)

    general = prim.jet  # the rule from the JVP: at x = 0, where 1/x(t) has no series
    assert general is not None  # (elementwise_binary registered it)

    def jet(primals: list[Any], series: list[Any]) -> tuple[Any, Any]:
        (v, x), (sv, sx) = primals, series
        if sv is not None:
            raise NotImplementedError(f"{name}: Taylor series in the order `v` are not "
                                      "implemented (no closed-form derivative in v)")
        if any_set(_raw(x) == 0):
            return general(primals, series)
        ans = bind(prim, v, x)
        return ans, family.jet(v, x, sx, ans)

    jet.__name__ = f"{name}_jet"
    prim.def_jet(jet)
    return prim, family


jv_p, _J = _bessel_v("jv", _sp.jv, -1.0, 1.0, notes="J_v(x); ∂x = (v/x) J_v - J_(v+1)")
yv_p, _Y = _bessel_v("yv", _sp.yv, -1.0, 1.0, regular=False,
                     notes="Y_v(x); ∂x = (v/x) Y_v - Y_(v+1)")
iv_p, _I = _bessel_v("iv", _sp.iv, 1.0, 1.0, notes="I_v(x); ∂x = (v/x) I_v + I_(v+1)",
                     joint=True)
ive_p, _IE = _bessel_v("ive", _sp.ive, 1.0, 1.0, scaled=True,
                       notes="I_v(x) e^-|x|; ∂x = (v/x - sign x) ive_v + ive_(v+1); on "
                       "complex z, I_v(z) e^-|Re z|: ∂z[t] = ive'_v t - sign(Re z) ive_v Re t")

# On complex z, ive = I_v(z) e^-|Re z| is not holomorphic: with D = I_v'(z) e^-|Re z| (the
# family's derivative without the scaling term) and s = sign(Re z),
# ∂ive[t] = D t - s ive Re(t), whose adjoint under Re⟨·,·⟩ is g ↦ conj(D) g - s Re(conj(ive) g).
# On real x, Re t = t and this is the real rule. No Taylor mode on complex z.
assert ive_p.jvps is not None and ive_p.vjps is not None  # set by elementwise_binary
_ive_jvp_v, _ive_vjp_v = ive_p.jvps[0], ive_p.vjps[0]
_ive_jvp_real, _ive_vjp_real = ive_p.jvps[1], ive_p.vjps[1]


def _ive_jvp_z(t: Any, ans: Any, v: Any, z: Any) -> Any:
    if z.dtype.kind != "c":
        return _ive_jvp_real(t, ans, v, z)
    s = bind(sign_p, bind(real_p, z))
    return _fit(t * _IE.derivative(v, z, ans, scaling=False) - s * ans * bind(real_p, t), ans)


def _ive_vjp_z(g: Any, ans: Any, v: Any, z: Any) -> Any:
    if z.dtype.kind != "c":
        return _ive_vjp_real(g, ans, v, z)
    s = bind(sign_p, bind(real_p, z))
    d = _IE.derivative(v, z, ans, scaling=False)
    ct = g * bind(conj_p, d) - s * bind(real_p, bind(conj_p, ans) * g)
    return unbroadcast(ct, z.shape, z.dtype)


ive_p.def_jvp(_ive_jvp_v, _ive_jvp_z).def_vjp(_ive_vjp_v, _ive_vjp_z)
taylor.not_holomorphic(ive_p, ive_p.jet)


def _ive_other_order(v: Any, x: Any) -> Any:
    """ive_v(x) for the orders the rules add (v ± 1): SciPy's iv (Cephes) times e^-|x| costs
    a third of its ive (AMOS) and agrees with it to ~5e-14 for |v| <= 20 and
    1e-8 <= |x| <= 700 (outside, iv under- or overflows): taken when every element is in
    that range (under jit, unknown: ive)."""
    vr, xr = raw_value(v), raw_value(x)
    if not any(isinstance(r, ShapedArray) or is_foreign(r) for r in (vr, xr)) and \
            np.result_type(xr).kind == "f":  # (real x only: on complex z, e^-|Re z|)
        ax = np.abs(xr)
        if np.all(np.abs(vr) <= 20) and np.all((ax >= 1e-8) & (ax <= 700)):
            return bind(iv_p, v, x) * bind(exp_p, -(bind(sign_p, x) * x))
    return bind(ive_p, v, x)


_IE.value = _ive_other_order


kv_p, _K = _bessel_v("kv", _sp.kv, -1.0, -1.0, regular=False,
                     notes="K_v(x); ∂x = (v/x) K_v - K_(v+1)", joint=True)
yn_p, _YN = _bessel_v("yn", _sp.yn, -1.0, 1.0, regular=False,
                      notes="Y_n(x) for integer n; ∂x = (n/x) Y_n - Y_(n+1)")


def _bessel_fixed(name: str, ufunc: Any, order: int, family: _Bessel,
                  table: dict[int, Primitive]) -> Primitive:
    """F_0 or F_1 of SciPy's dedicated routines; the other orders its rules need come from
    `table` (the family's fixed-order primitives, filled below) or from `family`. JOINT:
    its value and derivative come from one compiled pass where `_joint_kernel` applies."""
    prim = Primitive(name, _weak(ufunc), kind=JOINT, notes=f"order {order}")
    table[order] = prim
    fixed = _Bessel(
        lambda v, x: bind(table[v], x) if v in table else family.value(v, x),
        family.p, family.q, family.scaled, family.regular)

    general = taylor.jet_from_jvp(
        elementwise_unary(prim, lambda x, ans: fixed.derivative(order, x, ans))).jet
    assert general is not None
    _with_residual(prim)
    prim.def_forward(_joint_kernel(name))

    def jet(primals: list[Any], series: list[Any]) -> tuple[Any, Any]:
        (x,), (sx,) = primals, series
        if any_set(_raw(x) == 0):
            return general(primals, series)
        ans = bind(prim, x)
        return ans, fixed.jet(order, x, sx, ans)

    jet.__name__ = f"{name}_jet"
    return prim.def_jet(jet)


_J01: dict[int, Primitive] = {}
_Y01: dict[int, Primitive] = {}
_I01: dict[int, Primitive] = {}
_IE01: dict[int, Primitive] = {}
j0_p = _bessel_fixed("j0", _sp.j0, 0, _J, _J01)
j1_p = _bessel_fixed("j1", _sp.j1, 1, _J, _J01)
y0_p = _bessel_fixed("y0", _sp.y0, 0, _Y, _Y01)
y1_p = _bessel_fixed("y1", _sp.y1, 1, _Y, _Y01)
i0_p = _bessel_fixed("i0", _sp.i0, 0, _I, _I01)
i1_p = _bessel_fixed("i1", _sp.i1, 1, _I, _I01)
i0e_p = _bessel_fixed("i0e", _sp.i0e, 0, _IE, _IE01)
i1e_p = _bessel_fixed("i1e", _sp.i1e, 1, _IE, _IE01)
