"""Trace levels, tracers and `bind`: how primitives find their interpreter.

A transformation (jvp, vjp, ...) opens a *trace* one level above the innermost
one active in this thread (`contextvars`, so threads and async tasks each have
their own stack). The values it follows are wrapped in tracers pointing to that
trace. `bind(prim, *args)` hands the primitive to the trace of the argument
with the highest level; that trace unwraps its own tracers, re-binds the
primitive on the unwrapped values (so the traces below see it next) and wraps
the result. A value from a lower level is a constant to a higher trace: this
ordering is what keeps nested derivatives free of perturbation confusion, e.g.
`d/dx [x * d/dy (x + y)] = 1` in every nesting of forward and reverse mode.

The core knows nothing about NumPy: `Tracer` declares the operators and
ndarray methods of a traced array, each delegating to the operation that the
array layer registered in `riesz._core.ops` (as JAX's tracers delegate
to their abstract value).
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import numpy as np

from . import ops

if TYPE_CHECKING:
    from .primitive import Primitive

__all__ = [
    "EscapedTracerError", "Trace", "Tracer", "bind", "new_trace", "raw_value", "strip_derivatives",
]

_depth: contextvars.ContextVar[int] = contextvars.ContextVar("riesz_depth", default=0)


class EscapedTracerError(RuntimeError):
    """A tracer was used after the transformation that made it had returned.

    Examples
    --------
    >>> leaked = []
    >>> _ = riesz.grad(lambda x: leaked.append(x) or x * x)(1.0)
    >>> try:
    ...     leaked[0] * 2.0
    ... except riesz.EscapedTracerError:
    ...     print("return values from f instead of storing tracers")
    return values from f instead of storing tracers
    """


class Trace:
    """One active transformation: the interface every interpreter implements.

    `bind` hands a primitive to the trace of its highest-level argument, which
    calls one of the two `process` methods; the transformation that opened the
    trace enters values with `new_input` and reads results with `primal_of`:

    * `process(prim, args, params)`: `prim` applied to `args`, at least one of
      them a tracer of this trace. Unwrap this trace's tracers, re-bind `prim`
      on the values one level down (`bind`, or `prim.impl` at level 1), and
      wrap the result with what this trace follows (a tangent, a tape node, a
      batch axis, a Taylor series).
    * `process_custom(prim, args, params)`: the call of a function with
      user-declared rules (`riesz.custom_jvp` / `custom_vjp`; `prim.kind` is
      CUSTOM and `params["fn"]` is the function). `process` forwards such
      calls here. The trace picks the rule it needs (its own, a derived one,
      or the function's body); under vmap it binds a batched custom function,
      so that derivative traces below still see the rules.
    * `new_input(value, *state)`: a tracer for an input of the transformation
      (`state`: the tangent, the batch axis, the Taylor coefficients, ...).
    * `primal_of(x)`: the value of an output one level down (`x` itself if it
      is not a tracer of this trace).

    Symbolic zeros are `None` inside the per-op loops and `riesz._core.zeros.Zero`
    where a zero leaves them (see that module).
    """

    __slots__ = ("level", "active")
    # False for traces that change what a value is (vmap's batching) rather
    # than attach a derivative to it; see `strip_derivatives`.
    carries_derivatives = True

    def __init__(self, level: int):
        self.level = level
        self.active = True

    def process(self, prim: Primitive, args: tuple[Any, ...], params: dict[str, Any]) -> Any:
        raise NotImplementedError

    def process_custom(self, prim: Primitive, args: tuple[Any, ...],
                       params: dict[str, Any]) -> Any:
        raise NotImplementedError

    def new_input(self, value: Any, *state: Any) -> Any:
        raise NotImplementedError

    def primal_of(self, x: Any) -> Any:
        return x._value if isinstance(x, Tracer) and x._trace is self else x

    def check_custom_outputs(self, fn: Any, leaves: Any) -> None:
        """Raise if the outputs of a custom function's rule, run by this trace,
        hold a tracer of a higher level: the function closes over a value that
        a transformation opened inside this one follows, and this trace, which
        processes the call first, cannot see how the output depends on it."""
        for x in leaves:
            if isinstance(x, Tracer) and x._trace.level > self.level:
                raise ValueError(
                    f"{fn!r} closes over a value traced by a {type(x._trace).__name__} "
                    f"(level {x._trace.level}) that its arguments do not depend on, while "
                    f"a {type(self).__name__} (level {self.level}) differentiates its "
                    "arguments: the rules cannot account for both. Pass the closed-over "
                    "value to the function as an argument"
                )

    def _dead(self) -> EscapedTracerError:
        return EscapedTracerError(
            f"a value traced by a {type(self).__name__} (level {self.level}) was used "
            "after its transformation returned; return it from the function instead "
            "of storing it outside (e.g. in a global or a closure)"
        )


def _arg(x: Any) -> Any:
    return ops.asarray(x) if isinstance(x, (list, tuple)) else x  # lists may hold tracers


def _check_bool(name: str, *xs: Any) -> None:
    """&, |, ^ act on boolean masks (bitwise operations on integers are not supported)."""
    for x in xs:
        if np.result_type(getattr(x, "dtype", type(x))) != np.bool_:
            raise TypeError(f"{name} on traced values needs boolean arrays, got {x!r:.60}")


class Tracer:
    """A value followed by a trace. `_value` is the value one level down.

    The operators bind the registered primitives directly (they are the hot path
    of tracing, so they skip the public wrappers and NumPy's protocols); the
    ndarray methods call the registered public functions of `riesz.numpy`."""

    __slots__ = ("_value", "_trace")
    _value: Any
    _trace: Trace

    @property
    def shape(self) -> tuple[int, ...]:
        return self._value.shape

    @property
    def dtype(self) -> Any:
        return self._value.dtype

    @property
    def ndim(self) -> int:
        return self._value.ndim

    @property
    def size(self) -> int:
        return self._value.size

    def __len__(self) -> int:
        return len(self._value)

    # -- arithmetic (primitives, bound directly) --------------------------------------------
    def __add__(self, other: Any) -> Any:
        return bind(ops.add_p, self, _arg(other))

    def __radd__(self, other: Any) -> Any:
        return bind(ops.add_p, _arg(other), self)

    def __sub__(self, other: Any) -> Any:
        return bind(ops.subtract_p, self, _arg(other))

    def __rsub__(self, other: Any) -> Any:
        return bind(ops.subtract_p, _arg(other), self)

    def __mul__(self, other: Any) -> Any:
        return bind(ops.multiply_p, self, _arg(other))

    def __rmul__(self, other: Any) -> Any:
        return bind(ops.multiply_p, _arg(other), self)

    def __truediv__(self, other: Any) -> Any:
        return bind(ops.divide_p, self, _arg(other))

    def __rtruediv__(self, other: Any) -> Any:
        return bind(ops.divide_p, _arg(other), self)

    def __pow__(self, other: Any) -> Any:
        return bind(ops.power_p, self, _arg(other))

    def __rpow__(self, other: Any) -> Any:
        return bind(ops.power_p, _arg(other), self)

    def __matmul__(self, other: Any) -> Any:
        return bind(ops.matmul_p, self, _arg(other))

    def __rmatmul__(self, other: Any) -> Any:
        return bind(ops.matmul_p, _arg(other), self)

    def __floordiv__(self, other: Any) -> Any:
        return bind(ops.floor_divide_p, self, _arg(other))

    def __rfloordiv__(self, other: Any) -> Any:
        return bind(ops.floor_divide_p, _arg(other), self)

    def __mod__(self, other: Any) -> Any:
        return bind(ops.remainder_p, self, _arg(other))

    def __rmod__(self, other: Any) -> Any:
        return bind(ops.remainder_p, _arg(other), self)

    def __neg__(self) -> Any:
        return bind(ops.negative_p, self)

    def __pos__(self) -> Any:
        return self

    def __abs__(self) -> Any:
        return bind(ops.abs_p, self)

    # -- comparisons (not differentiable; Python reflects them itself) ----------------------
    def __lt__(self, other: Any) -> Any:
        return bind(ops.less_p, self, _arg(other))

    def __le__(self, other: Any) -> Any:
        return bind(ops.less_equal_p, self, _arg(other))

    def __gt__(self, other: Any) -> Any:
        return bind(ops.greater_p, self, _arg(other))

    def __ge__(self, other: Any) -> Any:
        return bind(ops.greater_equal_p, self, _arg(other))

    def __eq__(self, other: Any) -> Any:
        return bind(ops.equal_p, self, _arg(other))

    def __ne__(self, other: Any) -> Any:
        return bind(ops.not_equal_p, self, _arg(other))

    __hash__ = object.__hash__  # (defining __eq__ removes it)

    # -- logical operators on boolean masks (a mask can be traced under vmap) ---------------
    def __and__(self, other: Any) -> Any:
        _check_bool("and", self, other)
        return bind(ops.logical_and_p, self, other)

    def __rand__(self, other: Any) -> Any:
        _check_bool("and", self, other)
        return bind(ops.logical_and_p, other, self)

    def __or__(self, other: Any) -> Any:
        _check_bool("or", self, other)
        return bind(ops.logical_or_p, self, other)

    def __ror__(self, other: Any) -> Any:
        _check_bool("or", self, other)
        return bind(ops.logical_or_p, other, self)

    def __xor__(self, other: Any) -> Any:
        _check_bool("xor", self, other)
        return bind(ops.logical_xor_p, self, other)

    def __rxor__(self, other: Any) -> Any:
        _check_bool("xor", self, other)
        return bind(ops.logical_xor_p, other, self)

    def __invert__(self) -> Any:
        if self.dtype != np.bool_:
            raise TypeError(f"~ on a traced value needs a boolean array, got dtype {self.dtype}")
        return bind(ops.logical_not_p, self)

    # -- indexing ---------------------------------------------------------------------------
    def __getitem__(self, index: Any) -> Any:
        return ops.getitem(self, index)

    def __setitem__(self, index: Any, value: Any) -> None:
        raise TypeError(
            "traced values are immutable: `x[index] = v` would lose the derivative of the "
            "overwritten entries. Use a functional update, which returns a new array: "
            "x = x.at[index].set(v) (also .add, .multiply, .divide, .power, .min, .max), "
            "or riesz.numpy.index_update(x, index, v)"
        )

    def __iter__(self) -> Any:
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        for i in range(self.shape[0]):
            yield ops.getitem(self, i)

    @property
    def at(self) -> Any:
        """`x.at[index].set(v)` (also .add, .multiply, ...): functional updates."""
        return ops.IndexUpdateHelper(self)

    # -- NumPy's protocols (`np.sin(x)`, `np.sum(x)`: see riesz.numpy._dispatch) ------------
    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        return ops.array_ufunc(self, ufunc, method, *inputs, **kwargs)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        return ops.array_function(self, func, types, args, kwargs)

    def __array__(self, dtype: Any = None, copy: Any = None) -> Any:
        raise TypeError(
            f"a traced value (shape {self.shape}, dtype {self.dtype}) cannot be converted to "
            "a plain numpy.ndarray: its derivative would be lost. This happens in "
            "np.asarray(x), np.array(x), float(x), `y[i] = x` into a NumPy array y, "
            "numpy.random with a traced parameter (rng.normal(mu)), and in NumPy functions "
            "that do not dispatch on the elements of a list (np.array([x, y]), "
            "np.sum([x, y])). Use rnp.stack([x, y]) or riesz.numpy.array([x, y]) for lists "
            "of traced values; build y functionally (y = rnp.stack([...]), or "
            "y = rnp.index_update(y, i, x), x.at[i].set(v) on a traced x); reparameterise "
            "random draws (mu + sigma * rng.standard_normal(shape), the noise drawn without "
            "the traced value); use the riesz.numpy function; or riesz.stop_gradient(x) to "
            "drop the derivative on purpose"
        )

    # -- ndarray methods (the public functions of riesz.numpy) ------------------------------
    @property
    def T(self) -> Any:
        return ops.transpose(self)

    @property
    def mT(self) -> Any:
        return ops.swapaxes(self, -1, -2)

    @property
    def real(self) -> Any:
        return ops.real(self)

    @property
    def imag(self) -> Any:
        return ops.imag(self)

    def reshape(self, *shape: Any, order: str = "C", copy: Any = None) -> Any:
        return ops.reshape(self, shape[0] if len(shape) == 1 else shape, order)

    def transpose(self, *axes: Any) -> Any:
        if len(axes) == 1 and not isinstance(axes[0], (int, np.integer)):
            axes = axes[0]
        return ops.transpose(self, axes or None)

    def sum(self, *args: Any, **kwargs: Any) -> Any:
        return ops.sum(self, *args, **kwargs)

    def prod(self, *args: Any, **kwargs: Any) -> Any:
        return ops.prod(self, *args, **kwargs)

    def mean(self, *args: Any, **kwargs: Any) -> Any:
        return ops.mean(self, *args, **kwargs)

    def var(self, *args: Any, **kwargs: Any) -> Any:
        return ops.var(self, *args, **kwargs)

    def std(self, *args: Any, **kwargs: Any) -> Any:
        return ops.std(self, *args, **kwargs)

    def max(self, *args: Any, **kwargs: Any) -> Any:
        return ops.max(self, *args, **kwargs)

    def min(self, *args: Any, **kwargs: Any) -> Any:
        return ops.min(self, *args, **kwargs)

    def argmax(self, *args: Any, **kwargs: Any) -> Any:
        return ops.argmax(self, *args, **kwargs)

    def argmin(self, *args: Any, **kwargs: Any) -> Any:
        return ops.argmin(self, *args, **kwargs)

    def cumsum(self, *args: Any, **kwargs: Any) -> Any:
        return ops.cumsum(self, *args, **kwargs)

    def cumprod(self, *args: Any, **kwargs: Any) -> Any:
        return ops.cumprod(self, *args, **kwargs)

    def any(self, *args: Any, **kwargs: Any) -> Any:
        return ops.any(self, *args, **kwargs)

    def all(self, *args: Any, **kwargs: Any) -> Any:
        return ops.all(self, *args, **kwargs)

    def astype(self, *args: Any, **kwargs: Any) -> Any:
        return ops.astype(self, *args, **kwargs)

    def clip(self, *args: Any, **kwargs: Any) -> Any:
        return ops.clip(self, *args, **kwargs)

    def round(self, *args: Any, **kwargs: Any) -> Any:
        return ops.round(self, *args, **kwargs)

    def conj(self) -> Any:
        return ops.conjugate(self)

    def conjugate(self) -> Any:
        return ops.conjugate(self)

    def ravel(self, *args: Any, **kwargs: Any) -> Any:
        return ops.ravel(self, *args, **kwargs)

    def flatten(self, *args: Any, **kwargs: Any) -> Any:
        return ops.ravel(self, *args, **kwargs)

    def squeeze(self, *args: Any, **kwargs: Any) -> Any:
        return ops.squeeze(self, *args, **kwargs)

    def swapaxes(self, *args: Any, **kwargs: Any) -> Any:
        return ops.swapaxes(self, *args, **kwargs)

    def repeat(self, *args: Any, **kwargs: Any) -> Any:
        return ops.repeat(self, *args, **kwargs)

    def diagonal(self, *args: Any, **kwargs: Any) -> Any:
        return ops.diagonal(self, *args, **kwargs)

    def trace(self, *args: Any, **kwargs: Any) -> Any:
        return ops.trace(self, *args, **kwargs)

    def copy(self, *args: Any, **kwargs: Any) -> Any:
        return ops.copy(self, *args, **kwargs)

    def argsort(self, *args: Any, **kwargs: Any) -> Any:
        return ops.argsort(self, *args, **kwargs)

    def take(self, *args: Any, **kwargs: Any) -> Any:
        return ops.take(self, *args, **kwargs)

    def nonzero(self) -> Any:
        return ops.nonzero(self)

    def dot(self, *args: Any, **kwargs: Any) -> Any:
        return ops.dot(self, *args, **kwargs)

    # in-place methods of ndarray: traced values are immutable
    def _no_inplace(self, what: str) -> TypeError:
        return TypeError(
            f"x.{what}() modifies the array in place, which traced values do not support; "
            f"use the function form (e.g. riesz.numpy.{what}(x) / np.{what}(x)) instead"
        )

    def sort(self, *args: Any, **kwargs: Any) -> None:
        raise self._no_inplace("sort")

    def fill(self, *args: Any, **kwargs: Any) -> None:
        raise self._no_inplace("fill")

    def resize(self, *args: Any, **kwargs: Any) -> None:
        raise self._no_inplace("resize")

    def put(self, *args: Any, **kwargs: Any) -> None:
        raise self._no_inplace("put")

    def itemset(self, *args: Any, **kwargs: Any) -> None:
        raise self._no_inplace("itemset")

    def partition(self, *args: Any, **kwargs: Any) -> None:
        raise self._no_inplace("partition")

    # -- conversions to Python values lose the derivative -----------------------------------
    def _concrete_error(self, what: str) -> TypeError:
        hint = _CONVERSION_HINTS.get(what, "")
        return TypeError(
            f"{what} of a traced value (shape {self.shape}, dtype {self.dtype}) inside "
            f"a {type(self._trace).__name__}: the result would lose its derivative. "
            f"Keep computing with arrays, or use riesz.stop_gradient(x) explicitly{hint}"
        )

    def __float__(self) -> float:
        raise self._concrete_error("float()")

    def __int__(self) -> int:
        raise self._concrete_error("int()")

    def __complex__(self) -> complex:
        raise self._concrete_error("complex()")

    def item(self, *args: Any) -> Any:
        """Raises, like JAX: a Python number cannot carry the derivative (see `__format__`)."""
        raise self._concrete_error("x.item()")

    def tolist(self) -> Any:
        """Raises, like JAX: Python numbers cannot carry the derivative."""
        raise self._concrete_error("x.tolist()")

    def __format__(self, spec: str) -> str:
        """`f"{x:.3f}"` formats the value, for logging: the derivative is dropped by
        design (a string carries none). Under vmap the value differs per example, so a
        batched value raises. `f"{x}"` (an empty spec) is `str(x)`, the tracer's repr."""
        if not spec:
            return str(self)
        value = strip_derivatives(self)
        if isinstance(value, Tracer):
            raise TypeError(
                f"format(x, {spec!r}) of a value batched by {type(value._trace).__name__}: "
                "it differs per example. Return it from the function (with has_aux=True "
                "under grad) and format the batch outside"
            )
        return format(value, spec)

    def __bool__(self) -> bool:
        raise self._concrete_error(
            "bool() (e.g. `if x:`); compare first (`x > 0` gives a plain array) or use"
            " where(); bool()"
        )

    def __index__(self) -> int:
        raise self._concrete_error("using as an index")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(level={self._trace.level}, {raw_value(self)!r})"


# NumPy converts with float() when assigning into an array (`y[i] = x`) and reports
# "setting an array element with a sequence", with the float() message as its cause.
_SETITEM_HINT = (
    ". If this is `y[i] = x` into a NumPy array y, build y functionally instead: "
    "y = rnp.stack([...]) or y = rnp.index_update(y, i, x)"
)
_LOG_HINT = (
    '. To log the value, format it (f"{x:.3f}" formats the value, dropping the '
    "derivative) or return it from the function with has_aux=True"
)
_CONVERSION_HINTS = {"float()": _SETITEM_HINT, "int()": _SETITEM_HINT,
                     "complex()": _SETITEM_HINT, "x.item()": _LOG_HINT,
                     "x.tolist()": _LOG_HINT}


def raw_value(x: Any) -> Any:
    """Strip every level of tracing (the primal value, derivatives dropped)."""
    while isinstance(x, Tracer):
        x = x._value
    return x


def strip_derivatives(x: Any) -> Any:
    """`x` as a constant: the levels that carry derivatives (JVP, VJP) are
    stripped, levels that change the value itself (vmap's batch) are kept.
    Rules use it for masks and other quantities that must not be differentiated;
    computed with NumPy functions, such a mask is still per-example under vmap."""
    while isinstance(x, Tracer) and x._trace.carries_derivatives:
        x = x._value
    return x


T = TypeVar("T", bound=Trace)


@contextmanager
def new_trace(cls: type[T]) -> Iterator[T]:
    """Open a trace of type `cls` one level above the current innermost one."""
    level = _depth.get() + 1
    token = _depth.set(level)
    trace = cls(level)
    try:
        yield trace
    except ValueError as e:
        _explain_numpy_assignment(e)
        raise
    finally:
        trace.active = False
        _depth.reset(token)


def _explain_numpy_assignment(e: ValueError) -> None:
    """`y[i] = x` with y a NumPy array and x traced: NumPy calls float(x), whose
    error (with the fix) becomes the *cause* of its own bare "setting an array
    element with a sequence". Raise that error with the fix in its message."""
    cause = e.__cause__
    if (isinstance(cause, TypeError) and "traced" in str(cause)
            and "setting an array element" in str(e)):
        hint = "" if _SETITEM_HINT in str(cause) else _SETITEM_HINT
        raise ValueError(f"{e} The value is traced: {cause}{hint}") from cause


def bind(prim: Primitive, *args: Any, **params: Any) -> Any:
    """Apply `prim` to `args`, interpreted by the highest trace among them."""
    top = None
    for a in args:
        if isinstance(a, Tracer):
            t = a._trace
            if top is None or t.level > top.level:
                top = t
            elif t is not top and t.level == top.level:
                raise (t if not t.active else top)._dead()
    if top is None:
        try:
            return prim.impl(*args, **params)
        except BACKEND_ERRORS:
            raise_backend_error(prim, args)
    return top.process(prim, args, params)


# What a backend raises for an operation it does not implement (Dask, CuPy): a missing
# `__array_function__` implementation, an unsupported argument, a missing method.
# (A ValueError, e.g. Dask's "array must be chunked in one dimension only", keeps its
# class: `BackendValueError` is both.)
BACKEND_ERRORS = (TypeError, NotImplementedError, AttributeError, ValueError)


class BackendError(NotImplementedError):
    """A primitive that the backend of its arrays (CuPy, Dask) does not implement.

    Raised where NumPy code would work but the arrays' library (CuPy, Dask) lacks the
    operation; catch `NotImplementedError` to fall back to NumPy arrays.

    Examples
    --------
    >>> issubclass(riesz.BackendError, NotImplementedError)
    True
    """


class BackendValueError(BackendError, ValueError):
    """A backend's ValueError for a primitive (its arguments' chunks, shapes, sizes)."""


def raise_backend_error(prim: Any, args: Any) -> NoReturn:
    """Called in an `except BACKEND_ERRORS` block around `prim.impl(*args)`: re-raises
    the error as a `BackendError` naming the primitive and the backend where an
    argument is an array of another library than NumPy, else re-raises it as it is."""
    arrays = [a for a in args if hasattr(a, "__array_function__")
              and not isinstance(a, (np.generic, Tracer))]
    if all(type(a) is np.ndarray for a in arrays):
        raise  # the error being handled, unchanged
    import sys

    e = sys.exc_info()[1]
    kinds = sorted({f"{type(a).__module__.split('.')[0]}.{type(a).__qualname__}"
                    for a in arrays})  # all of them: a mix of backends names both
    cls = BackendValueError if isinstance(e, ValueError) else BackendError
    raise cls(
        f"riesz primitive '{prim.name}' failed on {' and '.join(kinds)} arrays: "
        f"{type(e).__name__}: {e}. The backend does not implement it for these arguments: "
        "use an operation it implements, or compute the argument first (.compute() on "
        "Dask, cupy.asnumpy on CuPy)"
    ) from e
