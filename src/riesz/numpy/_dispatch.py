"""NumPy's protocols on traced values: unmodified NumPy code differentiates.

NumPy hands a call to a traced value's class when that value takes part in
it: `np.sin(x)` calls `Tracer.__array_ufunc__(np.sin, "__call__", x)`, and
`np.sum(x)`, `np.dot(A, x)`, `np.concatenate([x, y])` call
`Tracer.__array_function__(np.sum, ...)` (for list arguments NumPy looks at
the elements). Both look the NumPy function up in a table of riesz
implementations with the same signature; a function that is not in the
table raises a TypeError naming it, rather than converting the traced value
to a plain array and silently dropping its derivative.

Functions whose result cannot carry a derivative (shapes, dtypes, integer
and boolean results, constants like `zeros_like`) run on the primal values.

NumPy never consults the protocols for the elements of a list passed to
`np.array`/`np.asarray` or to a reduction such as `np.sum([x, y])`; those
raise the TypeError of `Tracer.__array__` (use `np.stack`).

The Python operators of traced values (`x * y`, `x @ A`) do not come through
here: they bind primitives directly, which keeps tracing fast. Only an
`ndarray` on the left of an operator (`A @ x`) reaches `__array_ufunc__`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._core.pytree import tree_flatten
from .._core.trace import Tracer, raw_value
from .._core.trace import strip_derivatives as _raw

# filled by `install`: numpy callable -> riesz implementation
UFUNCS: dict[Any, Any] = {}
FUNCTIONS: dict[Any, Any] = {}
# numpy functions run on primal values (results carry no derivative)
PRIMAL_ONLY: set[Any] = set()
_REDUCE: dict[Any, Any] = {}
_ACCUMULATE: dict[Any, Any] = {}


def _name(func: Any) -> str:
    if isinstance(func, np.ufunc):
        name = func.__name__
        if getattr(np, name, None) is func:
            return f"numpy.{name}"
        if _is_scipy_ufunc(func):
            return f"scipy.special.{name}"
        return f"the ufunc {name!r}"
    module = getattr(func, "__module__", "numpy") or "numpy"
    if module.startswith("numpy.") and module.count(".") > 1:
        module = module.rsplit(".", 1)[0]
    module = module.replace("numpy._core", "numpy").replace("numpy.linalg._linalg", "numpy.linalg")
    return f"{module}.{getattr(func, '__name__', repr(func))}"


def _is_scipy_ufunc(func: Any) -> bool:
    import sys

    special = sys.modules.get("scipy.special")
    return special is not None and getattr(special, func.__name__, None) is func


def _unsupported(what: str) -> TypeError:
    return TypeError(
        f"{what} is not supported by riesz on traced values: there is no derivative rule "
        "for it, and converting the traced value to a plain array would silently drop its "
        "derivative. See docs/numpy.md for the supported functions, or pass "
        "riesz.stop_gradient(x) to it where no derivative is needed"
    )


def _strip(x: Any, strip: Any = _raw) -> Any:
    if isinstance(x, Tracer):
        return strip(x)
    if isinstance(x, (list, tuple)):
        return type(x)(_strip(v, strip) for v in x) if type(x) in (list, tuple) else x
    if isinstance(x, dict):
        return {k: _strip(v, strip) for k, v in x.items()}
    return x


def array_ufunc(self: Tracer, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
    """`Tracer.__array_ufunc__`: route NumPy (and SciPy) ufuncs to riesz."""
    if method == "__call__":
        impl = UFUNCS.get(ufunc)
        if impl is None:
            raise _unsupported(_name(ufunc))
        return impl(*inputs, **kwargs)
    if method == "reduce":
        impl = _REDUCE.get(ufunc)
        if impl is not None:
            kwargs.setdefault("axis", 0)
            return impl(*inputs, **kwargs)
    elif method == "accumulate":
        impl = _ACCUMULATE.get(ufunc)
        if impl is not None:
            kwargs.setdefault("axis", 0)
            return impl(*inputs, **kwargs)
    elif method == "outer":
        impl = UFUNCS.get(ufunc)
        if impl is not None and len(inputs) == 2 and not kwargs:
            from .._primitives._util import as_array
            from ._shape import reshape

            a, b = as_array(inputs[0]), as_array(inputs[1])
            return impl(reshape(a, a.shape + (1,) * b.ndim), b)
    elif method == "at":
        raise TypeError(
            f"{_name(ufunc)}.at modifies an array in place, which traced values do not "
            "support; use x.at[index].add(v) / riesz.numpy.index_add(x, index, v)"
        )
    raise _unsupported(f"{_name(ufunc)}.{method}")


def array_function(self: Tracer, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
    """`Tracer.__array_function__`: route NumPy functions to riesz."""
    impl = FUNCTIONS.get(func)
    if impl is not None:
        return impl(*args, **kwargs)
    if func in PRIMAL_ONLY:
        if func in _TYPE_ONLY:  # depends on dtypes and layout only: any level will do
            return func(*_strip(args, raw_value), **_strip(kwargs, raw_value))
        args, kwargs = _strip(args), _strip(kwargs)
        if any(isinstance(v, Tracer) for v in tree_flatten((args, kwargs), strict=False)[0]):
            raise _unsupported(f"{_name(func)} under vmap (its result differs per example)")
        return func(*args, **kwargs)
    raise _unsupported(_name(func))


# -- tables ------------------------------------------------------------------------------

_UFUNC_NAMES = (
    "add subtract multiply divide power float_power remainder fmod floor_divide maximum "
    "minimum fmax fmin hypot arctan2 logaddexp logaddexp2 negative positive exp exp2 expm1 "
    "log log2 log10 log1p sqrt cbrt square reciprocal sin cos tan arcsin arccos arctan sinh "
    "cosh tanh arcsinh arccosh arctanh absolute fabs sign floor ceil trunc rint deg2rad "
    "rad2deg degrees radians conjugate greater greater_equal less less_equal equal not_equal "
    "logical_and logical_or logical_xor logical_not isnan isinf isfinite signbit matmul"
)

# numpy.<name> -> riesz.numpy.<name>
_FUNCTION_NAMES = (
    "sum prod mean average var std max min amax amin ptp argmax argmin any all count_nonzero "
    "cumsum cumprod median nansum nanmean nanmax nanmin nanprod nanvar nanstd nancumsum "
    "nancumprod nanargmax nanargmin isclose allclose angle linspace logspace geomspace "
    "gradient interp polyval polyfit trapezoid "
    "reshape ravel transpose permute_dims matrix_transpose moveaxis swapaxes expand_dims "
    "squeeze broadcast_to broadcast_arrays atleast_1d atleast_2d atleast_3d concatenate "
    "concat stack vstack hstack dstack column_stack append split array_split hsplit vsplit "
    "dsplit tile repeat pad flip fliplr flipud roll rot90 diagonal diag diagflat tril triu "
    "trace diff argsort sort copy zeros_like ones_like empty_like full_like shape ndim size "
    "take take_along_axis nonzero where clip round around nan_to_num real imag "
    "dot vdot inner outer tensordot einsum kron convolve correlate unique flatnonzero argwhere "
    "astype fix"
)
_LINALG_NAMES = (
    "solve inv det slogdet cholesky eig eigvals eigh eigvalsh svd svdvals qr pinv lstsq "
    "matrix_power "
    "multi_dot matrix_rank norm vector_norm matrix_norm cond vecdot outer matmul tensordot "
    "trace diagonal matrix_transpose"
)
_FFT_NAMES = (
    "fft ifft fft2 ifft2 fftn ifftn rfft irfft rfft2 irfft2 rfftn irfftn hfft ihfft fftshift "
    "ifftshift"
)
_TYPE_ONLY_NAMES = (
    "result_type iscomplexobj isrealobj may_share_memory shares_memory array_repr array_str "
    "array2string min_scalar_type common_type"
)
_TYPE_ONLY = {getattr(np, n) for n in _TYPE_ONLY_NAMES.split()}
_PRIMAL_ONLY_NAMES = (
    "result_type iscomplexobj isrealobj iscomplex isreal isclose allclose array_equal "
    "array_equiv may_share_memory shares_memory searchsorted digitize lexsort argpartition "
    "ravel_multi_index unravel_index "
    "array_repr array_str array2string min_scalar_type common_type"
)


def register_ufunc(ufunc: Any, impl: Any) -> None:
    """Route `ufunc(traced, ...)` to `impl` (used by riesz.scipy.special)."""
    UFUNCS[ufunc] = impl


def _on_booleans_only(name: str, logical: Any) -> Any:
    def op(*args: Any, **kwargs: Any) -> Any:
        if all(np.result_type(getattr(a, "dtype", a)) == np.bool_ for a in args):
            return logical(*args, **kwargs)
        raise _unsupported(f"numpy.{name} (on non-boolean values)")

    op.__name__ = name
    return op


def install() -> None:
    """Fill the tables (riesz.numpy registers the protocols for `Tracer`)."""
    from . import (
        _convolution,
        _elementwise,
        _indexing,
        _numerical,
        _products,
        _reductions,
        _shape,
    )
    from . import fft as rfft
    from . import linalg as rlinalg

    ns: dict[str, Any] = {}
    for mod in (_elementwise, _reductions, _shape, _indexing, _products,
                _convolution, _numerical):
        ns.update({k: v for k, v in vars(mod).items() if not k.startswith("_")})
    for name in _UFUNC_NAMES.split():
        UFUNCS[getattr(np, name)] = ns[name]
    # bitwise ufuncs on booleans are the logical ones (`mask & traced_mask` under vmap);
    # on integers they have no riesz rule
    for name, logical in (("bitwise_and", "logical_and"), ("bitwise_or", "logical_or"),
                          ("bitwise_xor", "logical_xor"), ("invert", "logical_not")):
        UFUNCS[getattr(np, name)] = _on_booleans_only(name, ns[logical])
    for name in _FUNCTION_NAMES.split():
        func = getattr(np, name, None)
        if func is not None:
            FUNCTIONS[func] = ns[name]
    for name in _LINALG_NAMES.split():
        func = getattr(np.linalg, name, None)
        if func is not None:
            FUNCTIONS[func] = getattr(rlinalg, name)
    for name in _FFT_NAMES.split():
        FUNCTIONS[getattr(np.fft, name)] = getattr(rfft, name)
    for name in _PRIMAL_ONLY_NAMES.split():
        func = getattr(np, name, None)
        if func is not None and func not in FUNCTIONS:
            PRIMAL_ONLY.add(func)
    PRIMAL_ONLY.add(np.linalg.matrix_rank)
    _REDUCE.update({
        np.add: ns["sum"], np.multiply: ns["prod"], np.maximum: ns["max"],
        np.minimum: ns["min"], np.logical_and: ns["all"], np.logical_or: ns["any"],
    })
    _ACCUMULATE.update({np.add: ns["cumsum"], np.multiply: ns["cumprod"]})
