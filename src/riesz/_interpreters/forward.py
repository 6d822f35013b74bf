"""Forward mode: tangents travel with values (∂f(x)[u] in one pass).

A `JVPTracer` pairs a value with its tangent. A value that does not depend on
the transformation's input is not a tracer at all, and a rule that yields no
contribution returns `None`: such symbolic zeros cost no array work.
"""

from __future__ import annotations

from typing import Any

from .._core.primitive import CUSTOM, DIFFERENTIABLE, Primitive
from .._core.trace import Trace, Tracer, bind

__all__ = ["JVPTrace", "JVPTracer"]


class JVPTracer(Tracer):
    __slots__ = ("_tangent",)

    def __init__(self, value: Any, trace: JVPTrace, tangent: Any):
        self._value = value
        self._trace = trace
        self._tangent = tangent


class JVPTrace(Trace):
    __slots__ = ()

    def process(self, prim: Primitive, args: tuple[Any, ...], params: dict[str, Any]) -> Any:
        if not self.active:
            raise self._dead()
        primals = list(args)
        tangents: list[Any] = [None] * len(args)
        lower = self.level > 1  # below level 1 no trace is active
        for i, a in enumerate(args):
            if isinstance(a, Tracer):
                if a._trace is self:
                    primals[i] = a._value
                    tangents[i] = a._tangent
                else:
                    lower = True
        if prim.kind is not DIFFERENTIABLE:
            if prim.kind is CUSTOM:
                return self._process_custom(args, primals, tangents, params)
            return bind(prim, *primals, **params) if lower else prim.impl(*primals, **params)
        ans = bind(prim, *primals, **params) if lower else prim.impl(*primals, **params)
        rules = prim.jvps
        if rules is None or prim.multiple_results:
            if prim.jvp is None:
                raise NotImplementedError(f"primitive {prim.name!r} has no JVP rule")
            t_out = prim.jvp(primals, tangents, ans, **params)
        else:
            t_out = None
            for i, t in enumerate(tangents):
                if t is None:
                    continue
                c = rules[i](t, ans, *primals, **params)
                if c is not None:
                    t_out = c if t_out is None else t_out + c
        if prim.multiple_results:
            if t_out is None:
                return ans
            return tuple(
                a if t is None else JVPTracer(a, self, t)
                for a, t in zip(ans, t_out, strict=True)
            )
        if t_out is None:
            return ans
        return JVPTracer(ans, self, t_out)

    def _process_custom(self, args: tuple[Any, ...], primals: list[Any], tangents: list[Any],
                        params: dict[str, Any]) -> Any:
        """A call of a function with user rules (see riesz.custom): its JVP rule
        if it has one, otherwise its body is traced like any other code (so
        forward mode works on a function that only declares a VJP)."""
        fn = params["fn"]
        if fn.jvp_rule is None:
            return fn.call_flat(args, params["in_def"], params["out"])
        outs, t_outs = fn.jvp_flat(primals, tangents, params["in_def"], params["out"])
        return tuple(o if t is None else JVPTracer(o, self, t)
                     for o, t in zip(outs, t_outs, strict=True))

    def new_input(self, value: Any, tangent: Any) -> JVPTracer:
        return JVPTracer(value, self, tangent)

    def tangent_of(self, x: Any) -> Any:
        """The tangent of an output, or None if it does not depend on the input."""
        if type(x) is JVPTracer and x._trace is self:
            return x._tangent
        return None

    def primal_of(self, x: Any) -> Any:
        if type(x) is JVPTracer and x._trace is self:
            return x._value
        return x
