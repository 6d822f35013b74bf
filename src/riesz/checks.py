"""`check_grads`: derivatives checked against finite differences and adjoints.

For a function f and random directions u (input) and v (output):

* JVP: ∂f(x)[u] against the central difference (f(x + εu) - f(x - εu)) / 2ε;
* VJP: the adjoint identity ⟨v, ∂f(x)[u]⟩ = ⟨∂f(x)*[v], u⟩, with ∂f(x)[u] taken
  from finite differences (and, when forward mode is checked too, also from the
  JVP, to tight tolerance: this is the dot-product test of the two rules);
* complex inputs (Cⁿ a real space under ⟨x, y⟩ = Re vdot(x, y)): each check is
  run once along a real direction and once along an imaginary one, and the
  adjoint identity holds under Re⟨·,·⟩;
* order k > 1: the same checks applied to the functions (x, u) ↦ ∂f(x)[u] and
  (x, v) ↦ ∂f(x)*[v], recursively, so "JVP of VJP of f" is exercised.

A failure raises `GradientCheckError` naming the composition that failed and
the worst offending entry.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ._core.pytree import tree_flatten, tree_map, tree_unflatten
from .transforms import jvp, vjp

__all__ = ["GradientCheckError", "check_grads"]


class GradientCheckError(AssertionError):
    """A derivative disagreed with its finite-difference or adjoint reference.

    Examples
    --------
    >>> bad = riesz.custom_jvp(lambda x: x**2)
    >>> _ = bad.defjvp(lambda p, t: (p[0] ** 2, 3.0 * t[0]))  # wrong: should be 2 x u
    >>> try:
    ...     riesz.check_grads(bad, (1.0,), order=1)
    ... except riesz.GradientCheckError:
    ...     print("JVP disagrees with finite differences")
    JVP disagrees with finite differences
    """


def _float_leaves(tree: Any) -> list[np.ndarray]:
    return [np.asarray(x) for x in tree_flatten(tree)[0]]


def _random_like(tree: Any, rng: np.random.Generator, part: str = "both") -> Any:
    """Random leaves like `tree`'s; complex leaves get random real and imaginary
    parts (`part="both"`), or a real (`"real"`) or imaginary (`"imag"`) direction."""
    leaves, treedef = tree_flatten(tree)
    out = []
    for x in leaves:
        d = np.result_type(x)
        r = rng.standard_normal(np.shape(x))
        if d.kind == "c":
            if part == "imag":
                r = 1j * r
            elif part == "both":
                r = r + 1j * rng.standard_normal(np.shape(x))
        out.append(r.astype(d))
    return tree_unflatten(treedef, out)


def _has_complex(tree: Any) -> bool:
    return any(np.result_type(x).kind == "c" for x in tree_flatten(tree)[0])


def _axpy(a: float, x: Any, y: Any) -> Any:
    """y + a x, leafwise (also on traced leaves: optimiser steps use it)."""
    return tree_map(lambda xi, yi: yi + a * xi, x, y)


def _wide(a: np.ndarray) -> np.ndarray:
    """`a` in float64, or complex128 if it is complex."""
    return a.astype(np.complex128 if a.dtype.kind == "c" else np.float64)


def _inner(x: Any, y: Any) -> float:
    """⟨x, y⟩ = Re Σ vdot(x_k, y_k) over the leaves (a real number on complex leaves)."""
    return float(sum(np.vdot(_wide(a), _wide(b)).real
                     for a, b in zip(_float_leaves(x), _float_leaves(y), strict=False)))


def _defaults(args: Any) -> tuple[float, float, float]:
    dtypes = [np.result_type(x) for x in tree_flatten(args)[0]]
    if any(d == np.float32 or d == np.complex64 for d in dtypes):
        return 1e-2, 2e-2, 2e-2
    return 1e-6, 1e-5, 1e-6


def _unit_roundoff(tree: Any) -> float:
    dtypes = [np.result_type(x) for x in tree_flatten(tree)[0]]
    return max((float(np.finfo(d).eps) for d in dtypes if d.kind in "fc"), default=0.0)


def _compare(label: str, got: Any, want: Any, rtol: float, atol: float) -> None:
    for k, (g, w) in enumerate(zip(_float_leaves(got), _float_leaves(want), strict=True)):
        if g.shape != w.shape:
            raise GradientCheckError(
                f"{label}: output leaf {k} has shape {g.shape}, expected {w.shape}"
            )
        if g.size == 0:
            continue
        g64, w64 = _wide(g), _wide(w)
        err = np.abs(g64 - w64) - (atol + rtol * np.abs(w64))
        worst = np.unravel_index(np.argmax(err), err.shape) if err.ndim else ()
        if not np.all(np.isfinite(g64)) or err[worst] > 0:
            where = f" at index {tuple(int(i) for i in worst)}" if worst else ""
            raise GradientCheckError(
                f"{label}: leaf {k}{where}: got {g64[worst]!r}, expected {w64[worst]!r} "
                f"(|diff| {abs(g64[worst] - w64[worst]):.3g}, rtol {rtol}, atol {atol})"
            )


def check_grads(
    f: Callable[..., Any],
    args: Sequence[Any],
    order: int = 2,
    modes: Sequence[str] = ("fwd", "rev"),
    *,
    eps: float | None = None,
    rtol: float | None = None,
    atol: float | None = None,
    seed: int = 0,
    spaces: Sequence[Any] | None = None,
) -> None:
    """Check the derivatives of `f` at `args` (a tuple of arguments) up to
    `order`, in the given `modes` ("fwd", "rev"); raise `GradientCheckError`.

    `spaces` (one `riesz.spaces.Space` per argument, None for Euclidean, and
    optionally one more for the output) adds the adjoint test under those
    inner products, ⟨v, ∂f(x)[u]⟩_out = ⟨∂f(x)*[v], u⟩_in with the
    metric-aware adjoint ∂f(x)* = riesz_in ∘ VJP ∘ lower_out, for directions
    u, v drawn from the spaces.

    Math: ∂f(x)[u] ≈ (f(x + εu) - f(x - εu)) / 2ε and ⟨v, ∂f(x)[u]⟩ = ⟨∂f(x)*[v], u⟩.

    Examples
    --------
    >>> riesz.check_grads(lambda x: rnp.sin(x) * x, (np.array([0.5, 1.0]),), order=2)

    Raises
    ------
    riesz.GradientCheckError
        If a derivative disagrees with its reference (naming the composition and entry).
    TypeError
        If `args` is not a tuple or list of arguments.
    ValueError
        If `modes` is not a non-empty subset of ("fwd", "rev").
    """
    if not isinstance(args, (tuple, list)):
        raise TypeError("check_grads: args must be a tuple of arguments, e.g. (x,)")
    bad = set(modes) - {"fwd", "rev"}
    if bad or not modes:
        raise ValueError(f"check_grads: modes must be a subset of ('fwd', 'rev'), got {modes!r}")
    d_eps, d_rtol, d_atol = _defaults(args)
    _check(f, tuple(args), order, tuple(modes), "f", np.random.default_rng(seed),
           eps or d_eps, rtol or d_rtol, atol or d_atol)
    if spaces is not None:
        _check_in_spaces(f, tuple(args), spaces, tuple(modes), np.random.default_rng(seed + 1),
                         eps or d_eps, rtol or d_rtol, atol or d_atol)


def _check(f: Callable[..., Any], args: tuple[Any, ...], order: int, modes: tuple[str, ...],
           label: str, rng: np.random.Generator, eps: float, rtol: float, atol: float) -> None:
    parts = ("real", "imag") if _has_complex(args) else ("both",)
    for part in parts:
        where = "" if part == "both" else f" (along {part} directions)"
        u = _check_first(f, args, modes, label + where, rng, eps, rtol, atol, part)
    if len(parts) > 1:  # the nested checks along a generic complex direction
        u = _random_like(args, rng)
    if order > 1:
        n = len(args)
        if "fwd" in modes:
            def jvp_of_f(*xs: Any) -> Any:
                return jvp(f, xs[:n], xs[n:])[1]

            _check(jvp_of_f, args + u, order - 1, modes, f"JVP of {label}", rng, eps, rtol, atol)
        if "rev" in modes:
            out = f(*args)
            v = _random_like(out, rng)

            def vjp_of_f(*xs: Any) -> Any:
                return vjp(f, *xs[:n])[1](xs[n])

            _check(vjp_of_f, args + (v,), order - 1, modes, f"VJP of {label}", rng, eps, rtol, atol)


def _check_first(f: Callable[..., Any], args: tuple[Any, ...], modes: tuple[str, ...],
                 label: str, rng: np.random.Generator, eps: float, rtol: float, atol: float,
                 part: str) -> Any:
    """The first-order checks along one random direction u (`part` of complex leaves)."""
    u = _random_like(args, rng, part)
    fd = _axpy(-1.0, f(*_axpy(-eps, u, args)), f(*_axpy(eps, u, args)))
    fd = tree_unflatten(tree_flatten(fd)[1], [x / (2 * eps) for x in _float_leaves(fd)])
    tangent_out = None
    if "fwd" in modes:
        _, tangent_out = jvp(f, args, u)
        _compare(f"JVP of {label}", tangent_out, fd, rtol, atol)
    if "rev" in modes:
        out, vjp_fn = vjp(f, *args)
        v = _random_like(out, rng)
        ct = vjp_fn(v)
        lhs, rhs = _inner(v, fd), _inner(ct, u)
        scale = np.sqrt(_inner(v, v) * _inner(fd, fd)) + np.sqrt(_inner(ct, ct) * _inner(u, u))
        if abs(lhs - rhs) > atol + rtol * scale:
            raise GradientCheckError(
                f"VJP of {label}: adjoint identity fails against finite differences: "
                f"<v, J u> = {lhs!r} but <J* v, u> = {rhs!r}"
            )
        if tangent_out is not None:
            lhs = _inner(v, tangent_out)
            unit = max(_unit_roundoff(args), _unit_roundoff(out))
            if abs(lhs - rhs) > 1e3 * unit * (scale + 1):
                raise GradientCheckError(
                    f"VJP of {label}: adjoint identity <v, JVP(u)> = {lhs!r} differs from "
                    f"<VJP(v), u> = {rhs!r}"
                )
    return u


def _check_in_spaces(f: Callable[..., Any], args: tuple[Any, ...], spaces: Sequence[Any],
                     modes: tuple[str, ...], rng: np.random.Generator, eps: float, rtol: float,
                     atol: float) -> None:
    """First-order checks with directions in the given spaces and the adjoint
    identity under their inner products (see `check_grads`)."""
    from .spaces import Space, space_of

    n = len(args)
    given = list(spaces)
    if len(given) not in (n, n + 1):
        raise ValueError(f"check_grads: spaces must have one entry per argument ({n}), plus "
                         f"optionally one for the output; got {len(given)}")
    out_space = given.pop() if len(given) == n + 1 else None
    ins = [space_of(a) if s is None else s for s, a in zip(given, args, strict=True)]
    for k, (s, a) in enumerate(zip(ins, args, strict=True)):
        if not isinstance(s, Space):
            raise TypeError(f"check_grads: spaces[{k}] is a {type(s).__name__}, not a Space")
        s.check(a, f"check_grads: argument {k}")
    out = f(*args)
    out_space = space_of(out) if out_space is None else out_space
    out_space.check(out, "check_grads: the output of f")
    u = tuple(s.random(rng) for s in ins)
    v = out_space.random(rng)

    def at(t: float) -> Any:
        return f(*(s.add(a, s.scale(t, ui)) for s, a, ui in zip(ins, args, u, strict=True)))

    fd = out_space.scale(1.0 / (2 * eps), out_space.sub(at(eps), at(-eps)))
    tangent = None
    if "fwd" in modes:
        _, tangent = jvp(f, args, u)
        _compare("JVP of f (directions in the given spaces)", tangent, fd, rtol, atol)
    if "rev" not in modes:
        return
    _, vjp_fn = vjp(f, *args)
    cts = vjp_fn(out_space.lower(v))
    adj = [s.riesz(c) for s, c in zip(ins, cts, strict=True)]
    rhs = float(sum(float(s.inner(a, ui)) for s, a, ui in zip(ins, adj, u, strict=True)))
    norm_adj = np.sqrt(sum(float(s.inner(a, a)) for s, a in zip(ins, adj, strict=True)))
    norm_u = np.sqrt(sum(float(s.inner(ui, ui)) for s, ui in zip(ins, u, strict=True)))
    norm_v = float(out_space.norm(v))
    for what, Ju, tol in (("finite differences", fd, None), ("the JVP", tangent, 1e3)):
        if Ju is None:
            continue
        lhs = float(out_space.inner(v, Ju))
        scale = norm_v * float(out_space.norm(Ju)) + norm_adj * norm_u
        bound = (atol + rtol * scale if tol is None
                 else tol * max(_unit_roundoff(args), _unit_roundoff(out)) * (scale + 1))
        if abs(lhs - rhs) > bound:
            raise GradientCheckError(
                f"adjoint of f under {ins!r} -> {out_space!r}: ⟨v, J u⟩_out = {lhs!r} (J u by "
                f"{what}) but ⟨J* v, u⟩_in = {rhs!r}")
