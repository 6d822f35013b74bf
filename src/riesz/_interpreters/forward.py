"""Forward mode: tangents travel with values (∂f(x)[u] in one pass).

A `JVPTracer` pairs a value with its tangent. A value that does not depend on
the transformation's input is not a tracer at all, and a rule that yields no
contribution returns `None`: such symbolic zeros cost no array work (see
`riesz._core.zeros`; the per-argument rules are applied by `apply_jvp`).
"""

from __future__ import annotations

from typing import Any

from .._core.primitive import CUSTOM, DIFFERENTIABLE, JOINT, Primitive, apply_jvp
from .._core.trace import BACKEND_ERRORS, Trace, Tracer, bind, raise_backend_error
from .._core.zeros import Zero

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
                    # `a._trace is self`: a JVPTracer (a cast would cost a call per operand)
                    tangents[i] = a._tangent  # type: ignore[attr-defined]
                else:
                    lower = True
        if prim.kind is not DIFFERENTIABLE:
            if prim.kind is CUSTOM:
                return self.process_custom(prim, args, params)
            if prim.kind is not JOINT:
                return bind(prim, *primals, **params)
            if not lower:  # concrete values: the value and its rules' factor in one pass
                # (a JOINT primitive has a forward)
                joint = prim.forward(*primals, **params)  # type: ignore[misc]
                if joint is not None:
                    t_out = apply_jvp(prim, primals, tangents, joint[0],
                                      {**params, "residual": joint[1]})
                    return joint[0] if t_out is None else JVPTracer(joint[0], self, t_out)
        if lower:
            ans = bind(prim, *primals, **params)
        else:
            try:
                ans = prim.impl(*primals, **params)
            except BACKEND_ERRORS:
                raise_backend_error(prim, primals)
        t_out = apply_jvp(prim, primals, tangents, ans, params)
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

    def process_custom(self, prim: Primitive, args: tuple[Any, ...],
                       params: dict[str, Any]) -> Any:
        """A call of a function with user rules (see riesz.custom): its JVP rule
        if it has one, otherwise its body is traced like any other code (so
        forward mode works on a function that only declares a VJP).

        A rule may close over a value this trace follows (`a` in
        `rule = lambda p, t: (f(p[0]), a * t[0])`): then its outputs come back
        as tracers of this trace, whose own tangent is the dependence through
        the closed-over value, ∂_a f(x; a)[ȧ], computed by differentiating the
        rule's primal output. It is added to the rule's tangent ∂_x f(x; a)[ẋ]."""
        fn = params["fn"]
        if fn.jvp_rule is None:
            return fn.call_flat(args, params["in_def"], params["out"])
        primals = [self.primal_of(a) for a in args]
        tangents = [a._tangent if type(a) is JVPTracer and a._trace is self else None
                    for a in args]
        outs, t_outs = fn.jvp_flat(primals, tangents, params["in_def"], params["out"])
        self.check_custom_outputs(fn, (*outs, *t_outs))
        results = []
        for o, t in zip(outs, t_outs, strict=True):
            if type(t) is JVPTracer and t._trace is self:  # the rule closed over a tracer
                t = t._value
            if type(o) is JVPTracer and o._trace is self:
                t = o._tangent if t is None else t + o._tangent
                o = o._value
            results.append(o if t is None else JVPTracer(o, self, t))
        return tuple(results)

    def new_input(self, value: Any, tangent: Any) -> JVPTracer:
        return JVPTracer(value, self, tangent)

    def tangent_of(self, x: Any) -> Any:
        """The tangent of an output (a typed `Zero` if it does not depend on the input)."""
        if type(x) is JVPTracer and x._trace is self:
            return x._tangent
        return Zero.like(x)
