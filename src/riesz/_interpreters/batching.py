"""Batching (vmap): run a function written for one example on a whole batch.

A `BatchTracer` holds a value with one extra axis, its batch axis `bdim`, and
shows the function only the per-example shape. A primitive applied to batched
values uses its batching rule `prim.batch(vals, dims, **params) -> (out,
out_dim)`, which mostly moves the batch axis to the front and shifts axis
parameters by one; a primitive without a rule (or whose rule declines a case
by returning NotImplemented) is mapped over the batch one slice at a time:
correct, but a Python loop. Values that do not depend on the
mapped inputs stay unbatched, so constants never get copied per example.

The few array operations the trace itself needs (moving the batch axis,
stacking slices) are the ones the array layer registered in
`riesz._core.ops`, so this module stays independent of the array library.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._core import ops
from .._core.primitive import CUSTOM, Primitive
from .._core.trace import Trace, Tracer, bind

__all__ = ["BatchTrace", "BatchTracer"]


class BatchTracer(Tracer):
    __slots__ = ("_bdim",)

    def __init__(self, value: Any, trace: BatchTrace, bdim: int):
        self._value = value
        self._trace = trace
        self._bdim = bdim

    @property
    def shape(self) -> tuple[int, ...]:
        s = self._value.shape
        return s[: self._bdim] + s[self._bdim + 1:]

    @property
    def ndim(self) -> int:
        return self._value.ndim - 1

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a 0-d array")
        return self.shape[0]


class BatchTrace(Trace):
    __slots__ = ("size",)
    carries_derivatives = False

    def __init__(self, level: int):
        super().__init__(level)
        self.size = 0  # the batch size, set by vmap

    def new_input(self, value: Any, bdim: int) -> BatchTracer:
        return BatchTracer(value, self, bdim)

    def unbatched(self, x: Any, out_dim: int | None) -> Any:
        """An output with its batch axis at `out_dim` (None: must be unbatched)."""
        if type(x) is BatchTracer and x._trace is self:
            if out_dim is None:
                raise ValueError("vmap: out_axes is None for an output that depends on the "
                                 "mapped inputs")
            value, dim = x._value, x._bdim
        else:
            if out_dim is None:
                return x
            value, dim = x, None
        value = ops.broadcast_batch(value, dim, self.size)
        return value if out_dim == 0 else ops.move_axis(value, 0, out_dim)

    def process(self, prim: Primitive, args: tuple[Any, ...], params: dict[str, Any]) -> Any:
        if not self.active:
            raise self._dead()
        vals = []
        dims: list[int | None] = []
        for a in args:
            if type(a) is BatchTracer and a._trace is self:
                vals.append(a._value)
                dims.append(a._bdim)
            else:
                vals.append(a)
                dims.append(None)
        if all(d is None for d in dims):
            return bind(prim, *vals, **params)
        if prim.kind is CUSTOM:
            return self.process_custom(prim, args, params)
        # a rule may decline a case (NotImplemented) and leave it to the fallback
        res = NotImplemented if prim.batch is None else prim.batch(vals, dims, **params)
        out, out_dim = self._map_slices(prim, vals, dims, params) if res is NotImplemented else res
        if prim.multiple_results:
            return tuple(o if d is None else BatchTracer(o, self, d)
                         for o, d in zip(out, out_dim, strict=True))
        return out if out_dim is None else BatchTracer(out, self, out_dim)

    def process_custom(self, prim: Primitive, args: tuple[Any, ...],
                       params: dict[str, Any]) -> Any:
        """A call of a function with user rules, batched as JAX batches
        custom_jvp / custom_vjp: bind, one level down, a custom function whose
        body and rules are the function's body and rules mapped over the batch
        (`fn.batched`), so that a derivative trace below this one (grad or jvp
        of a vmap) still applies the user's rules rather than differentiating
        the body. Every output has its batch axis at 0. Without a trace below
        this one, the rules play no part: the body is mapped, as for any code."""
        vals = []
        dims: list[int | None] = []
        below = False
        for a in args:
            if type(a) is BatchTracer and a._trace is self:
                vals.append(a._value)
                dims.append(a._bdim)
                below = below or isinstance(a._value, Tracer)
            else:
                vals.append(a)
                dims.append(None)
                below = below or isinstance(a, Tracer)
        if not below:
            return params["fn"].call_flat(args, params["in_def"], params["out"])
        outs = bind(prim, *vals, **params["fn"].batched(params, dims, self.size))
        return tuple(BatchTracer(o, self, 0) for o in outs)

    def _map_slices(self, prim: Primitive, vals: list[Any], dims: list[int | None],
                    params: dict[str, Any]) -> tuple[Any, Any]:
        """The fallback: apply `prim` to each example and stack the results."""
        getitem_p, stack = ops.getitem_p, ops.stack_leading
        rows = []
        for b in range(self.size):
            example = [v if d is None else bind(getitem_p, v, index=(slice(None),) * d + (b,))
                       for v, d in zip(vals, dims, strict=True)]
            rows.append(bind(prim, *example, **params))
        if prim.multiple_results:
            outs = tuple(stack([r[k] for r in rows]) for k in range(len(rows[0])))
            return outs, (0,) * len(outs)
        return stack(rows), 0
