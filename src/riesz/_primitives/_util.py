"""Helpers shared by the rule families: argument coercion, axis normalisation,
un-broadcasting, stacking, and NumPy-signature checks.

The primitives these helpers bind (sum, astype, reshape, concatenate) are
declared by families that themselves use the helpers, so they are looked up in
`riesz._core.ops`, registered by `riesz._primitives` once every family
is imported."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, overload

import numpy as np

from .._core import ops
from .._core.trace import BackendError, Tracer, bind, raw_value
from .._core.trace import strip_derivatives as _raw
from .._core.zeros import is_foreign
from .._interpreters.staging import FIXES, ConcretizationError, ShapedArray

Axis = tuple[int, ...] | None


class _NoValue:
    """Stand-in for NumPy's `<no value>` default (an argument not given)."""

    def __repr__(self) -> str:
        return "<no value>"


NoValue: Any = _NoValue()


@overload
def normalize_axis(axis: None, ndim: int, name: str = "axis") -> None: ...
@overload
def normalize_axis(axis: int | np.integer[Any] | Iterable[int], ndim: int,
                   name: str = "axis") -> tuple[int, ...]: ...
def normalize_axis(axis: int | np.integer[Any] | Iterable[int] | None, ndim: int,
                   name: str = "axis") -> Axis:
    """`axis` as a sorted tuple of non-negative ints (None stays None)."""
    if axis is None:
        return None
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for a in axes:
        if not isinstance(a, (int, np.integer)):
            raise TypeError(f"{name} must be an int or a tuple of ints, got {axis!r}")
        if not -ndim <= a < ndim:
            raise np.exceptions.AxisError(int(a), ndim)
        out.append(int(a) % ndim if ndim else 0)
    if len(set(out)) != len(out):
        raise ValueError(f"repeated {name} in {axis!r}")
    return tuple(sorted(out))


def one_axis(axis: object, ndim: int) -> int:
    """A single axis as a non-negative int."""
    if not isinstance(axis, (int, np.integer)):
        raise TypeError(f"axis must be an int, got {axis!r}")
    if not -ndim <= axis < ndim:
        raise np.exceptions.AxisError(int(axis), ndim)
    return int(axis) % ndim


def kept_shape(shape: tuple[int, ...], axis: Axis) -> tuple[int, ...]:
    """The shape of a reduction over `axis` with keepdims=True."""
    if axis is None:
        return (1,) * len(shape)
    return tuple(1 if i in axis else n for i, n in enumerate(shape))


def tri_mask(shape: tuple[int, ...], k: int, lower: bool) -> np.ndarray:
    """Constant boolean mask of the lower (upper) triangle of the last two
    axes of `shape`, from diagonal k on."""
    n, m = shape[-2:]
    return np.tri(n, m, k, dtype=bool) if lower else ~np.tri(n, m, k - 1, dtype=bool)


def is_complex(x: Any) -> bool:
    """Whether `x` (an array, tracer, NumPy or Python scalar) has a complex dtype."""
    if x.__class__ is complex:
        return True
    d = getattr(x, "dtype", None)
    return d is not None and d.kind == "c"


def conj(x: Any) -> Any:
    """conj(x), free on real values (a dtype check, no copy): under
    ⟨x, y⟩ = Re vdot(x, y) the adjoint of multiplication by a is
    multiplication by conj(a)."""
    c = x.__class__
    if c is float or c is int:
        return x
    if c is complex:
        return x.conjugate()
    d = getattr(x, "dtype", None)
    if d is not None and d.kind == "c":
        return bind(ops.conj_p, x)
    return x


def real_like(c: Any, x: Any) -> Any:
    """The cotangent `c` for a primal `x`: its real part when `x` is real and `c`
    complex (the adjoint of the embedding R ⊂ C is Re), else `c` unchanged."""
    if c.dtype.kind == "c" and not is_complex(x):
        return bind(ops.astype_p, c, dtype=np.result_type(_raw(x)))
    return c


def unbroadcast(g: Any, shape: tuple[int, ...], dtype: Any) -> Any:
    """Sum the cotangent `g` over the axes along which an operand of `shape`
    was broadcast, and cast it to the operand's `dtype` (complex to real: the
    real part, the adjoint of the embedding R ⊂ C)."""
    gshape = g.shape
    if gshape != shape:
        lead = len(gshape) - len(shape)
        if lead:
            g = bind(ops.sum_p, g, axis=tuple(range(lead)), keepdims=False)
        ones = tuple(i for i, n in enumerate(shape) if n == 1 and gshape[lead + i] != 1)
        if ones:
            g = bind(ops.sum_p, g, axis=ones, keepdims=True)
    gd = g.dtype
    if gd is not dtype and gd != dtype:
        g = bind(ops.astype_p, g, dtype=np.dtype(dtype))
    return g


# -- argument coercion ---------------------------------------------------------------


def asarray(x: Any) -> Any:
    """An array argument: tracers and arrays pass, NumPy and Python scalars pass
    (Python scalars stay weakly typed), lists/tuples become arrays (stacked when
    they hold traced values)."""
    if isinstance(x, (list, tuple)):
        if _holds_tracer(x):
            return stack_leading([asarray(v) for v in x])
        return np.asarray(x)
    return x


def as_array(x: Any) -> Any:
    """Like `asarray`, but Python and NumPy scalars become 0-d arrays too."""
    x = asarray(x)
    if isinstance(x, Tracer) or type(x) is np.ndarray or is_foreign(x):
        return x  # arrays of other backends (CuPy, Dask) stay where they are
    return np.asarray(x)


def stack_leading(arrays: list[Any]) -> Any:
    """Arrays of one shape stacked along a new leading axis, their dtypes
    promoted as `numpy.stack` does (traced arrays through reshape and concatenate)."""
    arrays = [as_array(x) for x in arrays]
    if not arrays:
        raise ValueError("need at least one array to stack")
    shapes = {x.shape for x in arrays}
    if len(shapes) != 1:
        raise ValueError(f"all input arrays must have the same shape, got {sorted(shapes)}")
    if not any(isinstance(x, Tracer) for x in arrays):
        return np.stack(arrays)
    d = np.result_type(*[_raw(a) for a in arrays])
    rows = [bind(ops.reshape_p, a if a.dtype == d else bind(ops.astype_p, a, dtype=d),
                 shape=(1, *a.shape)) for a in arrays]
    return rows[0] if len(rows) == 1 else bind(ops.concatenate_p, *rows, axis=0)


def _holds_tracer(x: Any) -> bool:
    for v in x:
        if isinstance(v, Tracer):
            return True
        if isinstance(v, (list, tuple)) and _holds_tracer(v):
            return True
    return False


def shape(x: Any) -> tuple[int, ...]:
    return x.shape if isinstance(x, Tracer) else np.shape(x)


def ndim(x: Any) -> int:
    return x.ndim if isinstance(x, Tracer) else np.ndim(x)


def dtype_of(x: Any) -> np.dtype:
    """The dtype NumPy would give `x` (Python floats: float64)."""
    return np.result_type(_raw(x))


def float_dtype(x: Any) -> np.dtype:
    """`x`'s dtype if it is a float or complex type, else float64 (as NumPy's
    float functions promote integers)."""
    d = dtype_of(x)
    return d if d.kind in "fc" else np.dtype(np.float64)


def check_out(name: str, out: Any) -> None:
    """riesz never writes into arrays: only `out=None` is accepted."""
    if out is not None and not (isinstance(out, tuple) and all(o is None for o in out)):
        raise TypeError(
            f"{name}: out= is not supported (differentiable code cannot write into an "
            "existing array); use the return value instead"
        )


def check_unsupported(name: str, **given: Any) -> None:
    """Raise for NumPy keyword arguments riesz does not implement."""
    for key, value in given.items():
        if value is not NoValue:
            raise NotImplementedError(
                f"{name}: the argument {key}={value!r} is not supported by riesz"
            )


# -- array backends (SPEC §16) ------------------------------------------------------


def host_only(impl: Callable[..., Any], what: str) -> Callable[..., Any]:
    """`impl` of a primitive computed by a SciPy function or a NumPy function that Dask
    does not implement (`what`): on a Dask array it raises a TypeError (riesz turns it
    into a `BackendError` naming the primitive) where Dask would warn and silently
    compute the whole array on the host. CuPy implements NumPy's functions or raises
    its own error for SciPy's."""

    def checked(*args: Any, **params: Any) -> Any:
        for a in args:
            if type(a).__module__.startswith("dask."):
                raise TypeError(f"Dask implements no {what} (riesz does not compute "
                                "a Dask array on the host behind your back)")
        return impl(*args, **params)

    checked.__name__ = getattr(impl, "__name__", what)
    return checked


def host_value(x: Any, who: str) -> np.ndarray:
    """The value of `x` (derivative levels stripped) as a NumPy array, for a decision
    taken on the host (a series depth, a step size); on another backend (CuPy, Dask) a
    `BackendError` naming `who` instead of a silent copy or computation."""
    v = raw_value(x)
    if is_foreign(v):
        raise BackendError(
            f"riesz {who} needs its argument's values on the host, and it is a "
            f"{type(v).__module__.split('.')[0]}.{type(v).__qualname__} array: compute it "
            "first (.compute() on Dask, cupy.asnumpy on CuPy)")
    return np.asarray(v)


# -- numerically safe pieces of rules --------------------------------------------


def any_set(mask: Any) -> bool:
    """Whether any entry of a constant mask is set, over the whole batch under
    vmap: a decision between a fast and a safe formula, taken once for all.
    Under staging (jit) the values are unknown, and on another backend (CuPy, Dask)
    deciding would compute or copy to the host: True, the safe formula."""
    m = raw_value(mask)
    return True if isinstance(m, ShapedArray) or is_foreign(m) else bool(np.any(m))


def concrete_max(x: Any, who: str) -> float:
    """The largest value of `x` (over the batch under vmap; at least 1), for a rule
    that sizes its computation (a series' length) by it. Under staging (jit) the
    values are unknown: ConcretizationError."""
    v = raw_value(x)
    if isinstance(v, ShapedArray):
        raise ConcretizationError(
            f"{who}: the number of series terms of this derivative depends on the values of "
            f"the parameter, unknown while jit traces. Differentiate outside jit "
            f"(grad(jit(f)) works), or make the parameter static. {FIXES}")
    return float(np.max(host_value(v, who), initial=1.0))  # BackendError on CuPy, Dask


def no_zeros(x: Any) -> bool:
    """Whether `x` has no zero entry (over the whole batch under vmap): the
    condition of a fast formula that divides by x. False under staging (jit),
    where the values are unknown and the safe formula must be staged, and on another
    backend (CuPy, Dask), where deciding would compute or copy to the host."""
    v = raw_value(x)
    return not isinstance(v, ShapedArray) and not is_foreign(v) and bool(np.all(v != 0))
