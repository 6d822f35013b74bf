"""`custom_jvp` and `custom_vjp`: functions that bring their own derivative rules.

    @riesz.custom_vjp
    def softplus(x):
        return rnp.log1p(rnp.exp(x))

    def softplus_fwd(x):
        return softplus(x), x                    # (output, residuals)

    def softplus_bwd(x, g):
        return (g * riesz.scipy.special.expit(x),)   # one cotangent per argument

    softplus.defvjp(softplus_fwd, softplus_bwd)

A function may carry both rules, and then each mode uses its own: forward mode
the JVP rule `rule(primals, tangents) -> (primal_out, tangent_out)`, reverse mode
the VJP rule. A missing rule is derived: reverse mode transposes the JVP rule
(it is linear in the tangents), and forward mode differentiates the function's
body, so forward mode keeps working on a function that only declares a VJP.
Rules written with riesz operations are differentiable themselves, so every
order and nesting works. Arguments and outputs may be pytrees; a cotangent or
tangent of `None` stands for zero.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ._core.primitive import CUSTOM, Primitive
from ._core.pytree import PyTreeDef, tree_flatten, tree_unflatten
from ._core.trace import Tracer, bind

__all__ = ["checkpoint", "custom_jvp", "custom_vjp"]


class _OutStructure:
    """The output structure of one call, learned when the function runs."""

    __slots__ = ("treedef",)

    def __init__(self) -> None:
        self.treedef: PyTreeDef | None = None

    def flatten(self, out: Any, what: str) -> tuple[Any, ...]:
        leaves, treedef = tree_flatten(out)
        if self.treedef is None:
            self.treedef = treedef
        elif treedef != self.treedef:
            raise TypeError(f"{what} has structure {treedef}, the function returns {self.treedef}")
        return tuple(leaves)


def _zero_tangent(x: Any) -> Any:
    if isinstance(x, Tracer):
        return np.zeros(x.shape, x.dtype)
    if hasattr(x, "dtype"):
        return np.zeros_like(x)
    if isinstance(x, (int, float, complex)):
        return np.zeros((), np.result_type(x))
    return None  # a non-numeric argument has no tangent


def _pair(res: Any, who: str) -> tuple[Any, Any]:
    if not (isinstance(res, tuple) and len(res) == 2):
        raise TypeError(f"{who} must return a pair, got {type(res).__name__}")
    return res


class _CustomFunction:
    """A function with user-declared derivative rules (see the module docstring)."""

    def __init__(self, fun: Callable[..., Any]):
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.jvp_rule: Callable[..., Any] | None = None
        self.fwd: Callable[..., Any] | None = None
        self.bwd: Callable[..., Any] | None = None

    def defjvp(self, rule: Callable[..., Any]) -> Callable[..., Any]:
        """Declare ∂f(x)[u]: `rule(primals, tangents) -> (f(*primals), tangent_out)`,
        with `primals` and `tangents` tuples holding one entry per argument."""
        self.jvp_rule = rule
        return rule

    def defvjp(self, fwd: Callable[..., Any], bwd: Callable[..., Any]) -> _CustomFunction:
        """Declare ∂f(x)*[v]: `fwd(*args) -> (out, residuals)` and
        `bwd(residuals, ct) -> tuple` with one cotangent per argument (None: zero)."""
        self.fwd, self.bwd = fwd, bwd
        return self

    def __call__(self, *args: Any) -> Any:
        leaves, in_def = tree_flatten(args, strict=False)
        if not any(isinstance(x, Tracer) for x in leaves):
            return self.fun(*args)
        out = _OutStructure()
        outs = bind(custom_call_p, *leaves, fn=self, in_def=in_def, out=out)
        return tree_unflatten(out.treedef, outs)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {getattr(self.fun, '__qualname__', self.fun)!r}>"

    # -- the flat interface the traces use (leaves in, leaves out) -------------------
    def call_flat(self, leaves: Sequence[Any], in_def: PyTreeDef, out: _OutStructure) -> tuple:
        return out.flatten(self.fun(*tree_unflatten(in_def, leaves)), "the function's output")

    def fwd_flat(self, leaves: Sequence[Any], in_def: PyTreeDef,
                 out: _OutStructure) -> tuple[tuple, Any]:
        primal, residuals = _pair(self.fwd(*tree_unflatten(in_def, leaves)), "the fwd rule")
        return out.flatten(primal, "fwd's output"), residuals

    def jvp_flat(self, primals: Sequence[Any], tangents: Sequence[Any], in_def: PyTreeDef,
                 out: _OutStructure) -> tuple[tuple, list]:
        tangents = [_zero_tangent(p) if t is None else t
                    for p, t in zip(primals, tangents, strict=True)]
        primal, tangent = _pair(
            self.jvp_rule(tuple(tree_unflatten(in_def, primals)),
                          tuple(tree_unflatten(in_def, tangents))),
            "the JVP rule",
        )
        outs = out.flatten(primal, "the JVP rule's primal output")
        t_leaves, t_def = tree_flatten(tangent, strict=False)
        if t_def != out.treedef:
            raise TypeError(f"the JVP rule's tangent has structure {t_def}, "
                            f"the output has {out.treedef}")
        return outs, t_leaves

    def bwd_flat(self, residuals: Any, cts: Sequence[Any], in_def: PyTreeDef,
                 out: _OutStructure) -> list[Any]:
        res = self.bwd(residuals, tree_unflatten(out.treedef, cts))
        arg_defs = in_def.children
        if not isinstance(res, tuple) or len(res) != len(arg_defs):
            raise TypeError(f"the bwd rule must return a tuple with one cotangent per "
                            f"argument ({len(arg_defs)}), got {res!r:.80}")
        leaves: list[Any] = []
        for k, (ct, arg_def) in enumerate(zip(res, arg_defs, strict=True)):
            if ct is None:
                leaves.extend([None] * arg_def.num_leaves)
                continue
            ct_leaves, ct_def = tree_flatten(ct, strict=False)
            if ct_def != arg_def:
                raise TypeError(f"the bwd rule's cotangent {k} has structure {ct_def}, "
                                f"argument {k} has {arg_def}")
            leaves.extend(ct_leaves)
        return leaves


class custom_jvp(_CustomFunction):
    """Decorate a function whose JVP is given by `f.defjvp(rule)`."""


class custom_vjp(_CustomFunction):
    """Decorate a function whose VJP is given by `f.defvjp(fwd, bwd)`."""


# -- the primitive a call binds, with the rules for replaying a recorded call ---------


def _custom_call_impl(*leaves: Any, fn: _CustomFunction, in_def: PyTreeDef,
                      out: _OutStructure) -> tuple:
    return fn.call_flat(leaves, in_def, out)


def _custom_call_jvp(primals: list[Any], tangents: list[Any], ans: tuple, *,
                     fn: _CustomFunction, in_def: PyTreeDef, out: _OutStructure,
                     residuals: Any = None) -> tuple:
    """∂f(x)[u] of a recorded call (used when a linearised tape is applied)."""
    if fn.jvp_rule is not None:
        return tuple(fn.jvp_flat(primals, tangents, in_def, out)[1])
    from .transforms import jvp

    tangents = [_zero_tangent(p) if t is None else t for p, t in zip(primals, tangents,
                                                                        strict=True)]
    return jvp(lambda *xs: fn.call_flat(xs, in_def, out), tuple(primals), tuple(tangents))[1]


def _custom_call_vjp(g: list[Any], ans: tuple, primals: tuple, argnums: Sequence[int], *,
                     fn: _CustomFunction, in_def: PyTreeDef, out: _OutStructure,
                     residuals: Any = None) -> list[Any]:
    """∂f(x)*[v]: the user's bwd rule, or else the transpose of the JVP rule."""
    g = [_zero_tangent(a) if c is None else c for c, a in zip(g, ans, strict=True)]
    if fn.bwd is not None:
        cts = fn.bwd_flat(residuals, g, in_def, out)
        return [cts[k] for k in argnums]
    from .transforms import vjp

    def tangent_map(*ts: Any) -> tuple:  # linear in ts: u ↦ ∂f(x)[u]
        tangents: list[Any] = [None] * len(primals)
        for k, t in zip(argnums, ts, strict=True):
            tangents[k] = t
        return tuple(fn.jvp_flat(primals, tangents, in_def, out)[1])

    zeros = [_zero_tangent(primals[k]) for k in argnums]
    _, pullback = vjp(tangent_map, *zeros)
    return list(pullback(tuple(g)))


custom_call_p = Primitive(
    "custom_call", _custom_call_impl, kind=CUSTOM, multiple_results=True,
    notes="a call of a riesz.custom_jvp / custom_vjp function: its own rules",
)
custom_call_p.def_joint_jvp(_custom_call_jvp).def_joint_vjp(_custom_call_vjp)


def checkpoint(f: Callable[..., Any]) -> _CustomFunction:
    """`f`, whose intermediates reverse mode recomputes in the backward pass
    instead of storing them: the tape keeps only f's inputs, and ∂f(x)*[v] runs
    f again under a fresh VJP. Checkpointing the segments of a long chain trades
    one extra forward pass for memory proportional to one segment. Forward mode
    and higher orders see f's body as usual."""
    from .transforms import vjp

    def fwd(*args: Any) -> tuple[Any, Any]:
        return f(*args), args

    def bwd(args: Any, ct: Any) -> tuple[Any, ...]:
        return vjp(f, *args)[1](ct)

    checkpointed = custom_vjp(f)
    checkpointed.defvjp(fwd, bwd)
    return checkpointed
