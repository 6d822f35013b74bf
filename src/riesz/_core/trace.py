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

The core knows nothing about NumPy: array layers give tracers their operators
and register their array types (see `riesz.numpy`).
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from .primitive import Primitive

__all__ = [
    "EscapedTracerError", "Trace", "Tracer", "bind", "new_trace", "raw_value", "strip_derivatives",
]

_depth: contextvars.ContextVar[int] = contextvars.ContextVar("riesz_depth", default=0)


class EscapedTracerError(RuntimeError):
    """A tracer was used after the transformation that made it had returned."""


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


class Tracer:
    """A value followed by a trace. `_value` is the value one level down."""

    __slots__ = ("_value", "_trace")
    # NumPy must not turn tracers into object arrays: binary operators with an
    # ndarray defer to the tracer's reflected method. Array layers may replace
    # this with a real dispatcher.
    __array_ufunc__ = None

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

    __hash__ = object.__hash__

    def _concrete_error(self, what: str) -> TypeError:
        return TypeError(
            f"{what} of a traced value (shape {self.shape}, dtype {self.dtype}) inside "
            f"a {type(self._trace).__name__}: the result would lose its derivative. "
            "Keep computing with arrays, or use riesz.stop_gradient(x) explicitly"
        )

    def __float__(self) -> float:
        raise self._concrete_error("float()")

    def __int__(self) -> int:
        raise self._concrete_error("int()")

    def __complex__(self) -> complex:
        raise self._concrete_error("complex()")

    def __bool__(self) -> bool:
        raise self._concrete_error(
            "bool() (e.g. `if x:`); compare first (`x > 0` gives a plain array) or use"
            " where(); bool()"
        )

    def __index__(self) -> int:
        raise self._concrete_error("using as an index")

    def __array__(self, dtype: Any = None, copy: Any = None) -> Any:
        raise self._concrete_error("conversion to a NumPy array (np.asarray)")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(level={self._trace.level}, {raw_value(self)!r})"


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
    finally:
        trace.active = False
        _depth.reset(token)


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
        return prim.impl(*args, **params)
    return top.process(prim, args, params)
