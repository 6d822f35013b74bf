"""Primitives: named operations that carry their implementation and rules.

A primitive declares, in one place, its NumPy implementation `impl`, its JVP
rule (∂f(x)[u]) and its VJP rule (∂f(x)*[v]). Rules are written with riesz's
own differentiable operations, so the traces active while a rule runs record
it too, and derivatives of any order come for free.

Rules come in two forms:

* per argument (most primitives): `jvps[i](t, ans, *args, **params)` is the
  contribution of argument i's tangent `t` to the output tangent, and
  `vjps[i](g, ans, *args, **params)` the cotangent of argument i for the output
  cotangent `g`. Only arguments that carry a derivative are visited, so e.g. the
  data input of a layer never costs a matmul.
* joint: `jvp(primals, tangents, ans, **params)` with `None` for symbolic-zero
  tangents, and `vjp(g, ans, primals, argnums, **params)` returning one
  cotangent per entry of `argnums`.

A rule may return `None` for a symbolically zero result. A primitive with
`multiple_results=True` returns a plain tuple, declares joint rules, and gets
(and returns) one cotangent or tangent per output, `None` for a zero.

Three kinds keep "zero derivative" and "no derivative" apart:
``DIFFERENTIABLE``; ``ZERO_DERIVATIVE`` (floor, sign, stop_gradient: the
derivative exists and is 0, outputs are floats); ``NOT_DIFFERENTIABLE``
(comparisons, argmax: integer or boolean outputs that have no tangent space).
Neither of the last two records anything on a trace. A fourth, ``CUSTOM``,
marks the call of a function with user-declared rules (`riesz.custom_jvp`,
`riesz.custom_vjp`): each trace asks the function itself how to proceed
(`Trace.process_custom`). A fifth, ``JOINT``, is ``DIFFERENTIABLE`` with a
`forward(*args, **params)` that may return ``(ans, residual)``, the value and the
factor its rules need, from one pass (e.g. a compiled kernel evaluating j0 and
j1 together): eager reverse and forward mode call it on concrete values and hand
``residual=`` to the rules; where it returns None, and under every other
transformation, the primitive is bound as a differentiable one and its rules get
no residual (they compute the factor themselves, differentiably). The kind keeps
the extra branch out of the hot path of ordinary primitives.

`apply_jvp` is the one place where per-argument JVP rules are applied and
their contributions summed; forward mode, the replay of a recorded tape and
Taylor mode all call it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import ops
from .trace import bind

__all__ = [
    "CUSTOM",
    "DIFFERENTIABLE",
    "JOINT",
    "NOT_DIFFERENTIABLE",
    "ZERO_DERIVATIVE",
    "Primitive",
    "apply_jvp",
    "registry",
]

DIFFERENTIABLE = "differentiable"
ZERO_DERIVATIVE = "zero derivative"
NOT_DIFFERENTIABLE = "not differentiable"
CUSTOM = "custom rules"
JOINT = "differentiable, one-pass derivative"

_REGISTRY: dict[str, Primitive] = {}
# Primitives by index: tapes store the index, an int, so that a recorded node
# holds no garbage-collected object and the cyclic GC can skip it.
BY_INDEX: list[Primitive] = []


class Primitive:
    """A named operation with an implementation and differentiation rules.

    Each primitive carries its impl, its JVP ∂f(x)[u] and VJP ∂f(x)*[v] rules, its batching
    rule and its Taylor rule; constructing one registers it (docs/architecture.md, "Adding a
    primitive").

    Examples
    --------
    >>> p = riesz.registry()["sin"]
    >>> print(p.name, p.kind, p.impl is np.sin)
    sin differentiable True
    """

    __slots__ = (
        "name", "impl", "kind", "multiple_results", "jvps", "vjps", "jvp", "vjp",
        "family", "notes", "index", "batch", "jet", "forward",
    )

    def __init__(
        self,
        name: str,
        impl: Callable[..., Any],
        *,
        kind: str = DIFFERENTIABLE,
        multiple_results: bool = False,
        family: str = "",
        notes: str = "",
    ):
        if name in _REGISTRY:
            raise ValueError(f"a primitive named {name!r} is already registered")
        if kind not in (DIFFERENTIABLE, ZERO_DERIVATIVE, NOT_DIFFERENTIABLE, CUSTOM, JOINT):
            raise ValueError(f"unknown primitive kind {kind!r}")
        if kind is JOINT and multiple_results:
            raise ValueError("a JOINT primitive has one result (its residual rides along)")
        self.name = name
        self.impl = impl
        self.kind = kind
        self.multiple_results = multiple_results
        self.family = family
        self.notes = notes
        self.jvps: tuple[Callable[..., Any], ...] | None = None
        self.vjps: tuple[Callable[..., Any], ...] | None = None
        self.jvp: Callable[..., Any] | None = None
        self.vjp: Callable[..., Any] | None = None
        # batching rule for vmap: batch(vals, dims, **params) -> (out, out_dim);
        # without one, vmap maps the primitive over the batch one slice at a time
        self.batch: Callable[..., Any] | None = None
        # Taylor-mode rule (riesz.jet); see riesz/_interpreters/taylor.py
        self.jet: Callable[..., Any] | None = None
        # kind JOINT: (ans, residual) from one pass, or None (see the module docstring)
        self.forward: Callable[..., Any] | None = None
        _REGISTRY[name] = self
        self.index = len(BY_INDEX)
        BY_INDEX.append(self)

    def __call__(self, *args: Any, **params: Any) -> Any:
        return bind(self, *args, **params)

    def __repr__(self) -> str:
        return f"Primitive({self.name!r}, {self.kind})"

    # -- declaring rules ----------------------------------------------------
    def def_jvp(self, *rules: Callable[..., Any]) -> Primitive:
        """Per-argument JVP rules, one per positional argument."""
        self.jvps = rules
        return self

    def def_vjp(self, *rules: Callable[..., Any]) -> Primitive:
        """Per-argument VJP rules, one per positional argument."""
        self.vjps = rules
        return self

    def def_joint_jvp(self, rule: Callable[..., Any]) -> Primitive:
        self.jvp = rule
        return self

    def def_joint_vjp(self, rule: Callable[..., Any]) -> Primitive:
        self.vjp = rule
        return self

    def def_jet(self, rule: Callable[..., Any]) -> Primitive:
        """The Taylor-mode rule used by riesz.jet (see riesz/_interpreters/taylor.py)."""
        self.jet = rule
        return self

    def def_forward(self, forward: Callable[..., Any]) -> Primitive:
        """For kind JOINT: `forward(*args, **params) -> (ans, residual) | None`."""
        self.forward = forward
        return self

    def def_batch(self, rule: Callable[..., Any]) -> Primitive:
        """The vmap rule: `rule(vals, dims, **params) -> (out, out_dim)`, where
        `dims[i]` is the batch axis of `vals[i]` (None: not batched)."""
        self.batch = rule
        return self

    @property
    def has_rules(self) -> bool:
        if self.kind not in (DIFFERENTIABLE, CUSTOM, JOINT):
            return True
        return (self.jvps is not None or self.jvp is not None) and (
            self.vjps is not None or self.vjp is not None
        )


def apply_jvp(prim: Primitive, primals: Any, tangents: Any, ans: Any,
              params: dict[str, Any]) -> Any:
    """∂prim(primals)[tangents] by the primitive's JVP rules: the sum of the
    per-argument contributions, or the joint rule. A `None` tangent is a
    symbolic zero and is skipped; the result is `None` when every contribution
    is zero (for a multiple-results primitive: a tuple with `None` entries, or
    `None`)."""
    rules = prim.jvps
    if rules is None or prim.multiple_results:
        if prim.jvp is None:
            raise NotImplementedError(f"primitive {prim.name!r} has no JVP rule")
        return prim.jvp(primals, tangents, ans, **params)
    out = None
    i = 0
    for t in tangents:
        if t is not None:
            c = rules[i](t, ans, *primals, **params)
            if c is not None:
                out = c if out is None else out + c
        i += 1
    return out


def registry() -> dict[str, Primitive]:
    """All registered primitives by name (a copy).

    Examples
    --------
    >>> prims = riesz.registry()
    >>> print("exp" in prims, prims["argmax"].kind)
    True not differentiable
    """
    return dict(_REGISTRY)


# -- rule families ------------------------------------------------------------
# Most of NumPy is linear, bilinear, or elementwise with a known derivative;
# these declare both rules of such a primitive from one description.


def linear_unary(prim: Primitive, transpose: Callable[..., Any]) -> Primitive:
    """`prim` is linear in its one array argument: ∂f(x)[t] = f(t), and
    ∂f(x)*[g] = transpose(g, x, **params)."""

    def linear_jvp(t: Any, ans: Any, x: Any, **params: Any) -> Any:
        return bind(prim, t, **params)

    def linear_vjp(g: Any, ans: Any, x: Any, **params: Any) -> Any:
        return transpose(g, x, **params)

    linear_jvp.__name__ = f"{prim.name}_jvp"
    linear_vjp.__name__ = f"{prim.name}_vjp"
    prim.family = prim.family or "linear"
    return prim.def_jvp(linear_jvp).def_vjp(linear_vjp)


def bilinear(
    prim: Primitive, vjp_lhs: Callable[..., Any], vjp_rhs: Callable[..., Any]
) -> Primitive:
    """`prim(x, y)` is bilinear: ∂f[(s, t)] = f(s, y) + f(x, t)."""

    def lhs_jvp(t: Any, ans: Any, x: Any, y: Any, **params: Any) -> Any:
        return bind(prim, t, y, **params)

    def rhs_jvp(t: Any, ans: Any, x: Any, y: Any, **params: Any) -> Any:
        return bind(prim, x, t, **params)

    lhs_jvp.__name__ = f"{prim.name}_jvp_lhs"
    rhs_jvp.__name__ = f"{prim.name}_jvp_rhs"
    prim.family = prim.family or "bilinear"
    return prim.def_jvp(lhs_jvp, rhs_jvp).def_vjp(vjp_lhs, vjp_rhs)


def elementwise_unary(prim: Primitive, deriv: Callable[[Any, Any], Any]) -> Primitive:
    """`prim` acts elementwise with derivative `deriv(x, ans)`:
    ∂f(x)[t] = f'(x) ⊙ t and ∂f(x)*[g] = conj(f'(x)) ⊙ g (the Jacobian is
    diagonal; on complex x, f is holomorphic and its adjoint under
    Re⟨·,·⟩ multiplies by the conjugate)."""

    def elementwise_jvp(t: Any, ans: Any, x: Any) -> Any:
        return t * deriv(x, ans)

    def elementwise_vjp(g: Any, ans: Any, x: Any) -> Any:
        if x.dtype.kind == "c":
            return g * bind(ops.conj_p, deriv(x, ans))
        return g * deriv(x, ans)

    def elementwise_batch(vals: list[Any], dims: list[int | None]) -> tuple[Any, Any]:
        return bind(prim, vals[0]), dims[0]  # acts entrywise: the batch axis stays put

    elementwise_jvp.__name__ = f"{prim.name}_jvp"
    elementwise_vjp.__name__ = f"{prim.name}_vjp"
    elementwise_batch.__name__ = f"{prim.name}_batch"
    prim.batch = elementwise_batch
    prim.family = prim.family or "elementwise"
    return prim.def_jvp(elementwise_jvp).def_vjp(elementwise_vjp)
