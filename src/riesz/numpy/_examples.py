"""Docstring examples of the NumPy / SciPy mirror namespaces, generated once at import.

`riesz.numpy`, `.linalg`, `.fft` and `riesz.scipy.special`, `.linalg`, `.signal`,
`.stats` hold a few hundred wrappers with NumPy's or SciPy's names. Each one gets,
appended to its own docstring, a link to the reference documentation of the function it
mirrors and an ``Examples`` section built from one template: the call, made once
through riesz and once through NumPy / SciPy, gives the same value, and
`riesz.check_grads` checks its JVP ∂f(x)[u] and VJP ∂f(x)*[v] against finite
differences. `tests/test_docstrings.py` runs every example with `doctest`, so each is a
real check of riesz against NumPy / SciPy, and no expected output is computed here.

A spec is ``(setup, call, diff, compare)``:

- ``setup``: a key of `_INPUTS` (or several, comma separated), or ``"name = expr"``
  lines separated by ``;``;
- ``call``: the expression with ``{f}`` for the function (``rnp.sin`` / ``np.sin``)
  and ``{m}`` for its module (``rnp.linalg`` / ``np.linalg``);
- ``diff``: the variables to differentiate in (comma separated; "" for none:
  boolean / integer results or constants);
- ``compare``: ``"close"`` (`np.allclose`), ``"equal"`` (`np.array_equal`) or
  ``"tuple"`` (`np.allclose` item by item, for results of ragged shapes).

The examples assume ``import numpy as np``, ``import riesz``, ``import riesz.numpy as
rnp`` and ``import scipy`` (with its submodules), as NumPy's own examples assume
``import numpy as np``.
"""

from __future__ import annotations

import inspect
from types import ModuleType
from typing import Any

# inputs shared by the templates: small, well inside every domain, away from kinks
_INPUTS: dict[str, str] = {
    "x": "x = np.array([0.25, 0.5])",
    "y": "y = np.array([1.5, 2.0])",
    "z": "z = np.array([1.0 + 2.0j, -0.5 + 0.25j])",
    "r": "r = np.array([-1.25, 0.75])",
    "a": "a = np.array([[2.0, 1.0], [1.0, 3.0]])",
    "b": "b = np.array([0.5, -1.0])",
    "c": "c = np.array([[2.0, 1.0], [0.5, 3.0]])",
    "m": "m = np.array([[0.5, 1.0, 2.0], [4.0, 3.0, 1.5]])",
    "v": "v = np.array([1.0, 2.0, 0.5])",
    "n": "n = np.array([[0.5, np.nan, 2.0], [4.0, 3.0, 1.5]])",
    "s": "s = np.array([1.0, 2.0, 0.5, -1.0])",
}

Spec = tuple[str, str, str, str]

_UNARY: Spec = ("x", "{f}(x)", "x", "close")
_BINARY: Spec = ("x, y", "{f}(x, y)", "x, y", "close")
_PREDICATE: Spec = ("r", "{f}(r)", "", "equal")
_COMPARE: Spec = ("x, y", "{f}(x, y)", "", "equal")
_STEP: Spec = ("r", "{f}(r)", "r", "close")
_REDUCE: Spec = ("m", "{f}(m, axis=0)", "m", "close")
_NANREDUCE: Spec = ("n", "{f}(n, axis=0)", "n", "close")
_ARGREDUCE: Spec = ("m", "{f}(m, axis=0)", "", "equal")
_MATRIX: Spec = ("a", "{f}(a)", "a", "close")
_SHAPE: Spec = ("m", "{f}(m)", "m", "close")
_FFT: Spec = ("s", "{f}(s)", "s", "close")
_FFT2: Spec = ("m", "{f}(m)", "m", "close")


def _family(names: str, spec: Spec) -> dict[str, Spec]:
    return dict.fromkeys(names.split(), spec)


NUMPY: dict[str, Spec] = {
    **_family("abs absolute fabs arccos acos arcsin asin arctan atan arctanh atanh sinh cosh "
              "tanh arcsinh asinh cbrt cos sin tan deg2rad degrees rad2deg radians exp exp2 "
              "expm1 log log10 log1p log2 negative positive reciprocal sqrt square", _UNARY),
    **_family("arccosh acosh", ("y", "{f}(y)", "y", "close")),
    **_family("real imag angle conj conjugate", ("z", "{f}(z)", "z", "close")),
    **_family("ceil floor fix trunc rint round around sign", _STEP),
    **_family("isnan isinf isfinite signbit logical_not", _PREDICATE),
    **_family("add subtract multiply divide true_divide power pow remainder mod fmod "
              "floor_divide maximum minimum hypot arctan2 atan2 logaddexp logaddexp2 "
              "float_power fmax fmin", _BINARY),
    **_family("greater greater_equal less less_equal equal not_equal isclose", _COMPARE),
    **_family("logical_and logical_or logical_xor", ("x, y", "{f}(x > 0.3, y > 1.8)", "",
                                                     "equal")),
    "allclose": ("x", "{f}(x, x + 1e-9)", "", "equal"),
    "iscomplexobj": ("z", "{f}(z)", "", "equal"),
    "isrealobj": ("z", "{f}(z)", "", "equal"),
    "clip": ("x", "{f}(x, 0.3, 1.0)", "x", "close"),
    "where": ("x, y", "{f}(x > 0.3, x, y)", "x, y", "close"),
    "nan_to_num": ("n", "{f}(n)", "", "close"),
    "astype": ("x", "{f}(x, np.complex128)", "x", "close"),
    # reductions
    **_family("amax amin max min ptp sum prod mean std var median average cumsum cumprod",
              _REDUCE),
    **_family("nanmax nanmin nanmean nansum nanprod nanstd nanvar nancumsum nancumprod",
              _NANREDUCE),
    **_family("argmax argmin argsort count_nonzero", _ARGREDUCE),
    **_family("nanargmax nanargmin", ("n", "{f}(n, axis=0)", "", "equal")),
    **_family("all any", ("m", "{f}(m > 1.0, axis=0)", "", "equal")),
    # shapes
    **_family("asanyarray asarray ascontiguousarray atleast_1d atleast_2d atleast_3d copy "
              "diagonal diff flip fliplr flipud matrix_transpose ravel rot90 trace transpose "
              "tril triu", _SHAPE),
    **_family("concat concatenate", ("m", "{f}([m, m], axis=0)", "m", "close")),
    **_family("stack hstack vstack dstack row_stack", ("m", "{f}([m, m])", "m", "close")),
    **_family("ndim shape size", ("m", "{f}(m)", "", "equal")),
    **_family("empty_like ones_like zeros_like", ("m", "{f}(m).shape", "", "equal")),
    "append": ("m, v", "{f}(m, v)", "m, v", "close"),
    "array": ("v", "{f}([v, 2 * v])", "v", "close"),
    "array_split": ("m", "{f}(m, 3, axis=1)", "m", "close"),
    "split": ("m", "{f}(m, 3, axis=1)", "m", "close"),
    "hsplit": ("m", "{f}(m, 3)", "m", "close"),
    "vsplit": ("m", "{f}(m, 2)", "m", "close"),
    "dsplit": ("m", "{f}(m.reshape(1, 2, 3), 3)", "m", "close"),
    "broadcast_arrays": ("m, v", "{f}(m, v)", "m, v", "close"),
    "broadcast_to": ("v", "{f}(v, (2, 3))", "v", "close"),
    "column_stack": ("v", "{f}([v, 2 * v])", "v", "close"),
    "diag": ("v", "{f}(v)", "v", "close"),
    "diagflat": ("v", "{f}(v)", "v", "close"),
    "expand_dims": ("m", "{f}(m, 0)", "m", "close"),
    "full_like": ("m", "{f}(m, 7.0)", "", "equal"),
    "moveaxis": ("m", "{f}(m, 0, 1)", "m", "close"),
    "pad": ("m", "{f}(m, 1)", "m", "close"),
    "permute_dims": ("m", "{f}(m, (1, 0))", "m", "close"),
    "repeat": ("m", "{f}(m, 2, axis=0)", "m", "close"),
    "reshape": ("m", "{f}(m, (3, 2))", "m", "close"),
    "roll": ("m", "{f}(m, 1)", "m", "close"),
    "squeeze": ("m", "{f}(m[None])", "m", "close"),
    "swapaxes": ("m", "{f}(m, 0, 1)", "m", "close"),
    "tile": ("m", "{f}(m, 2)", "m", "close"),
    # indexing
    "argwhere": ("m", "{f}(m > 1.0)", "", "equal"),
    "flatnonzero": ("m", "{f}(m > 1.0)", "", "equal"),
    "nonzero": ("m", "{f}(m > 1.0)", "", "equal"),
    "sort": ("m", "{f}(m, axis=1)", "m", "close"),
    "take": ("m", "{f}(m, [2, 0], axis=1)", "m", "close"),
    "take_along_axis": ("m", "{f}(m, np.argsort(m, axis=1), axis=1)", "m", "close"),
    "unique": ("m", "{f}(m)", "m", "close"),
    # products, convolution
    **_family("dot matmul", ("m, v", "{f}(m, v)", "m, v", "close")),
    **_family("inner vdot", ("v", "{f}(v, 2 * v + 1)", "v", "close")),
    **_family("kron outer", ("x, y", "{f}(x, y)", "x, y", "close")),
    **_family("convolve correlate", ("v, x", "{f}(v, x)", "v, x", "close")),
    "einsum": ("m, v", "{f}('ij,j->i', m, v)", "m, v", "close"),
    "tensordot": ("m", "{f}(m, m, axes=([1], [1]))", "m", "close"),
    # numerical
    "linspace": ("lo = 1.0; hi = 8.0", "{f}(lo, hi, 4)", "lo, hi", "close"),
    "geomspace": ("lo = 1.0; hi = 8.0", "{f}(lo, hi, 4)", "lo, hi", "close"),
    "logspace": ("lo = 0.0; hi = 1.0", "{f}(lo, hi, 3)", "lo, hi", "close"),
    "gradient": ("v", "{f}(v)", "v", "close"),
    "interp": ("v; t = np.array([1.5, 2.5])", "{f}(t, np.array([1.0, 2.0, 3.0]), v)",
               "t, v", "close"),
    "polyfit": ("v", "{f}(np.array([0.0, 1.0, 2.0]), v, 1)", "v", "close"),
    "polyval": ("x, v", "{f}(v, x)", "v, x", "close"),
    "trapezoid": ("v", "{f}(v)", "v", "close"),
}

NUMPY_LINALG: dict[str, Spec] = {
    **_family("cond det inv matrix_norm norm pinv slogdet svdvals diagonal trace", _MATRIX),
    **_family("cholesky eigvalsh", ("a", "{f}(a + a.T)", "a", "close")),
    "eigh": ("a", "{f}(a + a.T)", "a", "tuple"),
    "eig": ("c", "{f}(c)", "c", "tuple"),
    "eigvals": ("c", "{f}(c)", "c", "close"),
    "matrix_rank": ("a", "{f}(a)", "", "equal"),
    "matrix_power": ("a", "{f}(a, 3)", "a", "close"),
    "multi_dot": ("a", "{f}([a, a, a])", "a", "close"),
    "solve": ("a, b", "{f}(a, b)", "a, b", "close"),
    "lstsq": ("a, b", "{f}(a, b)[0]", "a, b", "close"),
    "qr": ("a", "{f}(a)", "a", "close"),
    "svd": ("c", "{f}(c)", "c", "tuple"),
    "vecdot": ("b", "{f}(b, b + 1)", "b", "close"),
    "vector_norm": ("b", "{f}(b)", "b", "close"),
}

NUMPY_FFT: dict[str, Spec] = {
    **_family("fft ifft rfft irfft hfft ihfft fftshift ifftshift", _FFT),
    **_family("fftn ifftn rfftn irfftn fft2 ifft2 rfft2 irfft2", _FFT2),
    **_family("fftfreq rfftfreq", ("", "{f}(4, 0.5)", "", "close")),
}

SCIPY_SPECIAL: dict[str, Spec] = {
    **_family("erf erfc erfinv erfcinv log_ndtr gammaln gamma rgamma digamma psi expit logit "
              "i0 i0e i1 i1e j0 j1 y0 y1 softmax log_softmax logsumexp", _UNARY),
    "gammasgn": _STEP,
    **_family("beta betaln xlogy xlog1py gammainc gammaincc", _BINARY),
    **_family("jv yv iv kv ive", ("x", "{f}(1.5, x)", "x", "close")),
    **_family("jn yn polygamma", ("x", "{f}(1, x)", "x", "close")),
    **_family("betainc betaincc", ("x, y", "{f}(y, y + 1, x)", "x, y", "close")),
    "multigammaln": ("y", "{f}(y + 1, 2)", "y", "close"),
}

SCIPY_LINALG: dict[str, Spec] = {
    **_family("cholesky expm logm sqrtm polar", _MATRIX),
    "cho_factor": ("a", "np.tril({f}(a, lower=True)[0])", "a", "close"),
    "cho_solve": ("a, b", "{m}.cho_solve({m}.cho_factor(a), b)", "a, b", "close"),
    "lu_factor": ("a", "{f}(a)[0]", "a", "close"),
    "lu_solve": ("a, b", "{m}.lu_solve({m}.lu_factor(a), b)", "a, b", "close"),
    "expm_frechet": ("a", "{f}(a, np.eye(2))", "a", "close"),
    "lstsq": ("a, b", "{f}(a, b)[0]", "a, b", "close"),
    "solve_banded": ("b; band = np.array([[0.0, 1.0], [2.0, 3.0], [1.0, 0.0]])",
                     "{f}((1, 1), band, b)", "b", "close"),
    "solve_continuous_lyapunov": ("a", "{f}(-a, np.eye(2))", "a", "close"),
    "solve_sylvester": ("a", "{f}(a, a, np.eye(2))", "a", "close"),
    "solve_triangular": ("a, b", "{f}(a, b, lower=True)", "b", "close"),
}

SCIPY_SIGNAL: dict[str, Spec] = {
    **_family("convolve correlate fftconvolve", ("v, x", "{f}(v, x)", "v, x", "close")),
    **_family("convolve2d correlate2d", ("m, a", "{f}(m, a)", "m, a", "close")),
}

SCIPY_STATS: dict[str, Spec] = {
    **_family("norm laplace logistic cauchy", ("x", "{f}.logpdf(x, 0.5, 2.0)", "x", "close")),
    "t": ("x", "{f}.logpdf(x, 3.0)", "x", "close"),
    "gamma": ("y", "{f}.logpdf(y, 2.0)", "y", "close"),
    "chi2": ("y", "{f}.logpdf(y, 3.0)", "y", "close"),
    "expon": ("y", "{f}.cdf(y)", "y", "close"),
    "beta": ("x", "{f}.logpdf(x, 2.0, 3.0)", "x", "close"),
    "poisson": ("mu = 2.5", "{f}.logpmf(np.array([1, 3]), mu)", "mu", "close"),
    "multivariate_normal": ("b, a", "{f}.logpdf(b, np.zeros(2), a)", "b, a", "close"),
    "dirichlet": ("v", "{f}.logpdf(np.array([0.2, 0.3, 0.5]), v)", "v", "close"),
}

# the wrappers riesz defines with no NumPy / SciPy counterpart get hand-written examples
_NOT_MIRRORED = frozenset({"at", "getitem", "index_add", "index_max", "index_min",
                           "index_multiply", "index_update", "IndexUpdateHelper",
                           "stop_gradient", "r_", "c_", "DegenerateDerivativeWarning",
                           "LUFactor", "rv_continuous", "rv_discrete", "rv_frozen"})


def _setup_lines(setup: str) -> list[str]:
    lines = []
    for part in setup.split(";"):
        part = part.strip()
        if not part:
            continue
        if "=" in part:
            lines.append(part)
        else:
            lines += [_INPUTS[k.strip()] for k in part.split(",")]
    return lines


def example(ns: str, ref: str, name: str, spec: Spec) -> str:
    """The ``Examples`` section of `ns.name` (e.g. ``rnp.linalg.det``) against
    `ref.name` (``np.linalg.det``), from `spec`."""
    setup, call, diff, compare = spec
    ours = call.format(f=f"{ns}.{name}", m=ns)
    theirs = call.format(f=f"{ref}.{name}", m=ref)
    lines = [f">>> {line}" for line in _setup_lines(setup)]
    if compare == "tuple":
        check = f"all(np.allclose(p, q) for p, q in zip({ours}, {theirs}))"
    else:
        check = f"np.{'allclose' if compare == 'close' else 'array_equal'}({ours}, {theirs})"
    lines += [f">>> {check}", "True"]
    if diff:
        args = ", ".join(v.strip() for v in diff.split(","))
        lines.append(f">>> riesz.check_grads(lambda {args}: {ours}, ({args},), order=1)")
    intro = "The value is " + ref.split(".")[0].replace("np", "NumPy").replace(
        "scipy", "SciPy") + "'s"
    intro += (", and the JVP and VJP match finite differences (`riesz.check_grads`):"
              if diff else " (no derivative: a boolean, integer or constant result):")
    return "Examples\n--------\n" + intro + "\n\n" + "\n".join(lines) + "\n"


def _url(ref_module: str, name: str) -> str:
    if ref_module.startswith("numpy"):
        return f"https://numpy.org/doc/stable/reference/generated/{ref_module}.{name}.html"
    return f"https://docs.scipy.org/doc/scipy/reference/generated/{ref_module}.{name}.html"


def _target(obj: Any) -> Any:
    """The object whose ``__doc__`` `help()` shows: the class of a distribution instance."""
    if isinstance(obj, (type, ModuleType)) or callable(obj) and hasattr(obj, "__code__"):
        return obj
    return type(obj) if type(obj).__module__.startswith("riesz.scipy.stats") else obj


def document(module: ModuleType, ns: str, ref: str, ref_module: str,
             specs: dict[str, Spec]) -> None:
    """Append the link and the example to the docstring of each name of `specs` that
    `module` exports and whose docstring has no ``Examples`` section yet (a function
    exported by two namespaces is documented by the first)."""
    for name, spec in specs.items():
        obj = getattr(module, name, None)
        if obj is None or name not in module.__all__:
            continue
        target = _target(obj)
        doc = (target.__doc__ or "").rstrip()
        if "Examples\n" in doc:
            continue
        doc = inspect.cleandoc(doc)  # continuation lines unindented, as the new sections
        math = "" if "∂" in doc else _MATH.get(name, "")
        target.__doc__ = (
            f"{doc}\n\n{math + chr(10) * 2 if math else ''}"
            f"The differentiable counterpart of `{ref_module}.{name}` (same signature and "
            f"values); its documentation:\n{_url(ref_module, name)}\n\n"
            + example(ns, ref, name, spec) + _raises(obj)
        )


def _raises(obj: Any) -> str:
    """The ``Raises`` section for the errors riesz adds to NumPy's: `out=` (riesz
    never writes into an existing array) and the ufunc keywords it does not support."""
    try:
        params = inspect.signature(obj).parameters
    except (TypeError, ValueError):
        return ""
    items = []
    if "out" in params:
        items.append("TypeError\n    For `out=` other than None: use the returned array.")
    if getattr(getattr(obj, "__code__", None), "co_name", "") == "f" and "kwargs" in params:
        items.append("NotImplementedError\n    For `where=` masks (use `riesz.numpy.where`) and "
                     "`signature=`.")
    return "\nRaises\n------\n" + "\n".join(items) + "\n" if items else ""


_LINEAR = (
    "asanyarray asarray ascontiguousarray atleast_1d atleast_2d atleast_3d copy diagonal diff "
    "flip fliplr flipud matrix_transpose ravel rot90 trace transpose tril triu concat "
    "concatenate stack hstack vstack dstack row_stack append array array_split split hsplit "
    "vsplit dsplit broadcast_arrays broadcast_to column_stack diag diagflat expand_dims "
    "moveaxis permute_dims repeat reshape roll squeeze swapaxes tile take take_along_axis "
    "sum mean cumsum nansum nanmean nancumsum average gradient trapezoid real imag conj "
    "conjugate deg2rad degrees rad2deg radians negative positive fft ifft rfft irfft hfft "
    "ihfft fftn ifftn rfftn irfftn fft2 ifft2 rfft2 irfft2 fftshift ifftshift pad"
)
_BILINEAR = ("dot matmul inner vdot kron outer einsum tensordot convolve correlate "
             "fftconvolve convolve2d correlate2d multiply")
_MATH: dict[str, str] = {
    **dict.fromkeys(_LINEAR.split(), "Linear: ∂f(x)[u] = f(u), and ∂f(x)*[v] = fᵀ v."),
    **dict.fromkeys(_BILINEAR.split(), "Bilinear: ∂f(x, y)[(u, w)] = f(u, y) + f(x, w)."),
}

