"""The user-facing transformations: jvp, vjp, grad, value_and_grad.

Each flattens its pytree arguments at the boundary, opens a trace one level
above the current one, runs the function on tracers, and unwraps the result.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, cast

import numpy as np

from ._core.pytree import tree_flatten, tree_map, tree_unflatten
from ._core.trace import Tracer, new_trace, raw_value
from ._core.zeros import full, instantiate, is_foreign
from ._interpreters.forward import JVPTrace
from ._interpreters.reverse import (
    LazyCotangent,
    SavedValueModifiedError,
    VJPTrace,
    VJPTracer,
    _owner,
    backward,
    forward_sweep,
    release,
)

__all__ = ["elementwise_grad", "grad", "hvp", "jvp", "value_and_grad", "vjp", "vmap"]


# -- argument checking ---------------------------------------------------------------


def _arg_name(f: Callable[..., Any], i: int) -> str:
    try:
        params = list(inspect.signature(f).parameters.values())
    except (TypeError, ValueError):
        return f"argument {i}"
    if i < len(params) and params[i].kind in (
        inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD
    ):
        return f"argument {i} ({params[i].name!r})"
    return f"argument {i}"


def _leaf_paths(args: Sequence[Any], f: Callable[..., Any], positions: Sequence[int]) -> list[str]:
    """Human names for the leaves of `args` (at `positions` in f's signature)."""
    names = []
    for i, a in zip(positions, args, strict=False):
        n = len(tree_flatten(a)[0])
        base = _arg_name(f, i)
        names.extend([base] if n == 1 and not isinstance(a, (list, tuple, dict)) else
                     [f"{base}, leaf {j}" for j in range(n)])
    return names


def _as_input(x: Any) -> Any:
    """A differentiable input as an array (Python floats become float64 arrays)."""
    if isinstance(x, Tracer):
        return x
    if isinstance(x, (bool, np.bool_)) or not hasattr(x, "dtype"):
        return np.asarray(x)
    return x


def _check_inputs(who: str, f: Callable[..., Any], args: Sequence[Any], leaves: list[Any],
                  positions: Sequence[int] | None = None) -> None:
    for k, x in enumerate(leaves):
        kind = np.dtype(x.dtype).kind
        if kind != "f" and kind != "c":
            name = _leaf_paths(args, f, positions or range(len(args)))[k]
            what = {"i": "integer", "u": "integer", "b": "boolean"}.get(kind, "a non-float")
            raise TypeError(
                f"{who}: {name} has {what} dtype {x.dtype}; riesz differentiates "
                "with respect to floating-point (real or complex) inputs only. Pass a "
                "float array (e.g. x.astype(float)), or close over the argument if it "
                "is not meant to be differentiated"
            )


def _as_cotangent(c: Any, like: Any, what: str) -> Any:
    """Check a user-supplied tangent or cotangent against the value it goes with."""
    if isinstance(c, LazyCotangent):
        c = c.materialize()
    if not hasattr(c, "shape"):  # Python numbers and lists
        c = np.asarray(c, dtype=like.dtype)
    if c.shape != like.shape:
        raise ValueError(f"{what} has shape {c.shape}, expected {like.shape}")
    if c.dtype != like.dtype and not isinstance(c, Tracer):
        kind, like_kind = np.dtype(c.dtype).kind, np.dtype(like.dtype).kind
        if kind == "c" and like_kind != "c":
            if what != "cotangent":  # a user's complex (co)tangent for a real value
                raise TypeError(f"{what} has complex dtype {c.dtype}, but the value it goes "
                                f"with is real ({like.dtype}); pass a real one")
            c = c.real  # the adjoint of the embedding R ⊂ C: a real input's cotangent
        elif kind not in "fiubc":
            raise TypeError(f"{what} has dtype {c.dtype}, expected {like.dtype}")
        c = c.astype(like.dtype)
    return c


def _unaliased(results: list[Any], user: Sequence[Any]) -> list[Any]:
    """`results` with each NumPy array copied that is, or views, one of the `user`
    arrays (a caller's cotangent or tangent, an input), or that shares memory with
    an earlier result where either could be written. Rules pass a cotangent
    through unchanged or as a view (identity, reshape, add), so without this an
    in-place write by the caller would change a derivative already returned.
    One pass over the leaves at the boundary instead of a copy in every rule."""
    users = {id(_owner(a)) for a in user if type(a) is np.ndarray}
    seen: dict[int, bool] = {}  # owner -> whether a result viewing it is writeable
    out = []
    for r in results:
        if type(r) is np.ndarray:
            o, w = id(_owner(r)), r.flags.writeable
            if o in users or (o in seen and (w or seen[o])):
                r = r.copy()
                o, w = id(r), True
            seen[o] = seen.get(o, False) or w
        out.append(r)
    return out


# -- forward mode -------------------------------------------------------------------


def jvp(f: Callable[..., Any], primals: Sequence[Any], tangents: Sequence[Any]) -> tuple[Any, Any]:
    """Forward mode: `(f(*primals), ∂f(primals)[tangents])`.

    `primals` and `tangents` are tuples (or lists) with one entry per argument
    of `f`, pytrees of the same structure and shapes.

    Math: ∂f(x)[u], one forward sweep (cost a small multiple of f's).

    Examples
    --------
    >>> y, dy = riesz.jvp(lambda x: x**2, (3.0,), (1.0,))  # ∂f(3)[1] = 2·3
    >>> print(y, dy)
    9.0 6.0

    Raises
    ------
    TypeError
        If `primals` / `tangents` are not tuples or lists, or a tangent's dtype does not
        match its primal's (a real tangent for a complex primal is refused too).
    ValueError
        If the tangents' pytree structure or shapes differ from the primals'.
    """
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError(
            "jvp: primals and tangents must be tuples (or lists) of arguments, got "
            f"{type(primals).__name__} and {type(tangents).__name__}; write jvp(f, (x,), (u,))"
        )
    leaves, in_def = tree_flatten(tuple(primals))
    t_leaves, t_def = tree_flatten(tuple(tangents))
    if t_def != in_def:
        raise ValueError(f"jvp: tangents have structure {t_def}, primals have {in_def}")
    leaves = [_as_input(x) for x in leaves]
    _check_inputs("jvp", f, primals, leaves)
    t_leaves = [
        _as_cotangent(t, x, f"jvp: tangent {k}")
        for k, (t, x) in enumerate(zip(t_leaves, leaves, strict=True))
    ]
    with new_trace(JVPTrace) as trace:
        ins = [trace.new_input(x, t) for x, t in zip(leaves, t_leaves, strict=False)]
        out = f(*tree_unflatten(in_def, ins))
        out_leaves, out_def = tree_flatten(out)
        primal_out = [trace.primal_of(o) for o in out_leaves]
        tangent_out = [trace.tangent_of(o) for o in out_leaves]
    tangent_out = _unaliased([
        instantiate(t, p) for p, t in zip(primal_out, tangent_out, strict=True)
    ], [*t_leaves, *leaves])
    return tree_unflatten(out_def, primal_out), tree_unflatten(out_def, tangent_out)


# -- reverse mode ---------------------------------------------------------------------


def _split_aux(out: Any, who: str) -> tuple[Any, Any]:
    if not (isinstance(out, (tuple, list)) and len(out) == 2):
        raise TypeError(f"{who} with has_aux=True expects f to return a pair (output, aux)")
    return out[0], out[1]


def _strip(x: Any, trace: VJPTrace) -> Any:
    return x._value if type(x) is VJPTracer and x._trace is trace else x


class _InCall:
    """`with _InCall() as held:` around a recording whose backward pass runs
    before the call returns. `held` goes to `_Recorded`: the saved arrays are
    read-only for the call instead of fingerprinted, and their flags come back
    on the way out (also on errors and KeyboardInterrupt). NumPy's error for a
    write to one of them becomes a SavedValueModifiedError (a ValueError too)."""

    __slots__ = ("held",)

    def __enter__(self) -> list[Any]:
        self.held: list[Any] = []
        return self.held

    def __exit__(self, kind: Any, e: Any, tb: Any) -> None:
        held = self.held
        frozen = bool(held)
        release(held)
        if kind is not None and issubclass(kind, ValueError) and frozen \
                and "read-only" in str(e) and not isinstance(e, SavedValueModifiedError):
            raise SavedValueModifiedError(
                f"{e}: while riesz differentiates a function, the arrays saved for its "
                "backward pass (its inputs and the constants it closes over) are "
                "read-only, because modifying one in place would make the derivative "
                "wrong. Write into a copy instead (`a = a.copy()`), also for a routine "
                "that insists on a writeable buffer"
            ) from e


class _Recorded:
    """The outcome of running `f` under a VJP trace."""

    __slots__ = ("trace", "in_def", "in_leaves", "in_ids", "out", "out_def", "out_leaves",
                 "out_ids", "aux", "closed")

    def __init__(self, f: Callable[..., Any], args: Sequence[Any], who: str, has_aux: bool,
                 user_f: Callable[..., Any], positions: Sequence[int] | None = None,
                 held: list[Any] | None = None):
        # held: from `_InCall`, when the pullback runs before the call returns
        leaves, self.in_def = tree_flatten(tuple(args))
        leaves = [_as_input(x) for x in leaves]
        _check_inputs(who, user_f, args, leaves, positions)
        self.in_leaves = leaves
        self.closed = False
        with new_trace(VJPTrace) as trace:
            trace.held = held
            ins = [trace.new_input(x) for x in leaves]
            out = f(*tree_unflatten(self.in_def, ins))
            aux = None
            if has_aux:
                out, aux = _split_aux(out, who)
            out_leaves, self.out_def = tree_flatten(out)
        self.trace = trace
        self.in_ids = [t._idx for t in ins]
        self.out_ids = [o._idx if type(o) is VJPTracer and o._trace is trace else None
                        for o in out_leaves]
        # a Python number is a constant output: a 0-d array, whose cotangent is dropped
        self.out_leaves = [np.asarray(o) if isinstance(o, (int, float, complex)) else
                           _strip(o, trace) for o in out_leaves]
        if held is None:  # outputs and aux reach the user before a pullback outliving the call
            for o in self.out_leaves:
                trace.guard(o)
        self.out = tree_unflatten(self.out_def, self.out_leaves)
        if has_aux:
            aux_leaves, aux_def = tree_flatten(aux, strict=False)
            aux_leaves = [_strip(a, trace) for a in aux_leaves]
            if held is None:
                for a in aux_leaves:
                    trace.guard(a)
            aux = tree_unflatten(aux_def, aux_leaves)
        self.aux = aux

    def _check(self) -> None:
        if self.closed:
            raise RuntimeError("a linearization from linearize_in_call was used after its "
                               "`with` block: its saved arrays are no longer guarded")
        self.trace.check_saved()

    def pullback(self, ct_leaves: list[Any], release: bool, user_ct: bool = True
                 ) -> list[Any]:
        """∂f(x)*[ct] as a list of input cotangent leaves, none aliasing an input
        or (`user_ct`: the caller's) `ct`."""
        self._check()
        seeds: dict[int, Any] = {}
        for i, c in zip(self.out_ids, ct_leaves, strict=False):
            if i is not None:
                seeds[i] = seeds[i] + c if i in seeds else c
        cts = backward(self.trace.tape, seeds, release) if seeds else None
        result = []
        for i, x in zip(self.in_ids, self.in_leaves, strict=False):
            c = None if cts is None else cts[i]
            result.append(instantiate(c, x) if c is None else _as_cotangent(c, x, "cotangent"))
        return _unaliased(result, [*ct_leaves, *self.in_leaves] if user_ct else self.in_leaves)

    def pushforward(self, t_leaves: list[Any]) -> list[Any]:
        """∂f(x)[t] as a list of output tangent leaves, from the recorded tape."""
        self._check()
        tans = forward_sweep(self.trace.tape, dict(zip(self.in_ids, t_leaves, strict=False)))
        return _unaliased([
            instantiate(None if i is None else tans[i], o)
            for i, o in zip(self.out_ids, self.out_leaves, strict=False)
        ], [*t_leaves, *self.in_leaves])


def linearize_parts(
    f: Callable[..., Any], *primals: Any
) -> tuple[Any, Callable[..., Any], Callable[..., Any]]:
    """Evaluate `f` once; return `(out, jvp_fn, vjp_fn)` where
    `jvp_fn(*tangents)` is ∂f(primals)[tangents] (one tangent per primal) and
    `vjp_fn(ct)` is ∂f(primals)*[ct] (a tuple, one cotangent per primal).
    Both replay the recorded tape; neither re-runs `f`."""
    return _parts(_Recorded(f, primals, "linearize", False, f))


@contextmanager
def linearize_in_call(
    f: Callable[..., Any], *primals: Any
) -> Iterator[tuple[Any, Callable[..., Any], Callable[..., Any]]]:
    """`linearize_parts` for maps used only inside the `with` block (Jacobians,
    optimiser steps): the saved arrays are read-only until the block ends instead
    of being fingerprinted, O(1) instead of O(size) per array and per sweep.
    Calling the maps after the block raises."""
    with _InCall() as held:
        rec = _Recorded(f, primals, "linearize", False, f, held=held)
        try:
            yield _parts(rec)
        finally:
            rec.closed = True  # a later sweep would be unguarded: refuse it


def _parts(rec: _Recorded) -> tuple[Any, Callable[..., Any], Callable[..., Any]]:
    def jvp_fn(*tangents: Any) -> Any:
        t_leaves, t_def = tree_flatten(tuple(tangents))
        if t_def != rec.in_def:
            raise ValueError(
                f"linearized map: tangent has structure {t_def}, expected {rec.in_def}"
            )
        t_leaves = [_as_cotangent(t, x, f"tangent leaf {k}")
                    for k, (t, x) in enumerate(zip(t_leaves, rec.in_leaves, strict=False))]
        return tree_unflatten(rec.out_def, rec.pushforward(t_leaves))

    def vjp_fn(cotangent: Any) -> tuple[Any, ...]:
        return _pull(rec, cotangent)

    return rec.out, jvp_fn, vjp_fn


def _pull(rec: _Recorded, cotangent: Any) -> Any:
    ct_leaves, ct_def = tree_flatten(cotangent)
    if ct_def != rec.out_def:
        raise ValueError(
            f"vjp_fn: cotangent has structure {ct_def}, the output has {rec.out_def}"
        )
    ct_leaves = [_as_cotangent(c, o, f"vjp_fn: cotangent leaf {k}")
                 for k, (c, o) in enumerate(zip(ct_leaves, rec.out_leaves, strict=False))]
    return tree_unflatten(rec.in_def, rec.pullback(ct_leaves, release=False))


def vjp(f: Callable[..., Any], *primals: Any, has_aux: bool = False) -> tuple[Any, ...]:
    """Reverse mode: `(f(*primals), vjp_fn)` where `vjp_fn(v)` is ∂f(primals)*[v],
    a tuple with one cotangent per primal. With `has_aux`, `f` returns
    `(out, aux)` and vjp returns `(out, vjp_fn, aux)`.

    `vjp_fn` may be called any number of times (it keeps the recorded tape).

    Math: v ↦ ∂f(x)*[v], one reverse sweep per call of `vjp_fn`.

    Examples
    --------
    >>> y, vjp_fn = riesz.vjp(lambda x: x * x, np.array([1.0, 2.0]))
    >>> print(vjp_fn(np.array([1.0, 10.0])))  # (2 x ⊙ v,)
    (array([ 2., 40.]),)

    Raises
    ------
    TypeError
        If `has_aux=True` and f does not return a pair, or the cotangent's dtype does not
        match the output's.
    ValueError
        If the cotangent's shape or structure differs from f's output.
    riesz.SavedValueModifiedError
        If an array that f's derivative depends on was modified in place before
        `vjp_fn` is called.
    """
    rec = _Recorded(f, primals, "vjp", has_aux, f)

    def vjp_fn(cotangent: Any) -> tuple[Any, ...]:
        return _pull(rec, cotangent)

    vjp_fn.__name__ = f"vjp_of_{getattr(f, '__name__', 'f')}"
    if has_aux:
        return rec.out, vjp_fn, rec.aux
    return rec.out, vjp_fn


def _single(argnums: int | Sequence[int]) -> bool:
    """Whether `argnums` names one argument (an int) rather than a sequence of them."""
    return isinstance(argnums, (int, np.integer))


def _argnums_tuple(argnums: int | Sequence[int], nargs: int, who: str) -> tuple[int, ...]:
    """`argnums` (an int, a NumPy integer, or a sequence of them) as a tuple of
    non-negative positions into `nargs` positional arguments, in the order given
    (a repeated position is kept: each occurrence gets its own entry)."""
    nums: Any = (argnums,) if _single(argnums) else argnums
    try:
        nums = tuple(nums)
    except TypeError:
        raise TypeError(f"{who}: argnums must be an int or a sequence of ints, got "
                        f"{argnums!r}") from None
    if not nums:
        raise ValueError(f"{who}: argnums must name at least one argument")
    for a in nums:
        if isinstance(a, (bool, np.bool_)) or not isinstance(a, (int, np.integer)):
            raise TypeError(f"{who}: argnums must be ints, got {a!r} in {argnums!r}")
        if not -nargs <= a < nargs:
            raise ValueError(
                f"{who}: argnums {argnums!r} out of range for {nargs} positional arguments"
            )
    return tuple(int(a) % nargs for a in nums)


def _riesz_gradients(space: Any, grads: tuple[Any, ...], primals: Sequence[Any],
                     argnums: int | Sequence[int], who: str = "grad") -> tuple[Any, ...]:
    """Apply the Riesz map of each argument's space to its covector (grad's `space=`).
    Spaces sit above the transformations: they are used through their protocol."""
    n = len(grads)
    if _is_space(space):
        spaces: list[Any] = [space] * n
    elif isinstance(space, (tuple, list)) and len(space) == n:
        spaces = list(space)
    else:
        raise TypeError(f"{who}: space must be a Space or a sequence of {n} spaces (one per "
                        f"argnum, None for Euclidean), got {space!r}")
    nums = (argnums,) if _single(argnums) else tuple(cast(Sequence[int], argnums))
    out = []
    for k, s, g, x in zip(nums, spaces, grads, primals, strict=True):
        if s is None:
            out.append(g)
            continue
        if not _is_space(s):
            raise TypeError(f"{who}: the space for argument {k} is a {type(s).__name__}, "
                            "not a riesz.spaces.Space")
        s.check(x, f"{who}: argument {k}")
        out.append(s.riesz(g))
    return tuple(out)


def _is_space(s: Any) -> bool:
    """A riesz.spaces.Space, by its protocol."""
    return all(callable(getattr(s, m, None)) for m in ("riesz", "lower", "check", "flatten"))


def value_and_grad(
    f: Callable[..., Any],
    argnums: int | Sequence[int] = 0,
    has_aux: bool = False,
    space: Any = None,
    holomorphic: bool = False,
) -> Callable[..., Any]:
    """Return a function computing `(f(*args), ∇f(*args))` in one pass.

    `f` must return a real scalar. With a tuple `argnums` the gradient is a
    tuple; with `has_aux` the value is `(value, aux)`. With `space` (a
    `riesz.spaces.Space`, or one per argnum, None meaning Euclidean) the
    gradient is the Riesz representer S.riesz(∂f(x)*[1]) under that space's
    inner product, e.g. W⁻¹ ∂f(x)*[1] for ⟨x, y⟩ = xᵀ W y.

    On complex inputs (Cⁿ a real space under Re vdot) the gradient of a real f
    is the Riesz representer ∂f/∂Re z + i ∂f/∂Im z, the steepest-ascent
    direction. With `holomorphic=True`, f returns a complex scalar holomorphic
    in complex inputs and the gradient is f'(z) (conj of ∂f(z)*[1]).

    Math: (f(x), ∂f(x)*[1]), or S.riesz(∂f(x)*[1]) in the geometry of a `space`.

    Examples
    --------
    >>> value, g = riesz.value_and_grad(lambda x: (x**2).sum())(np.array([1.0, 2.0]))
    >>> print(value, g)
    5.0 [2. 4.]

    Raises
    ------
    TypeError
        If f returns a non-scalar, complex (without `holomorphic`) or boolean value, an
        input is an integer array, or `argnums` / `space` are malformed.
    ValueError
        If `argnums` names an argument that was not passed.
    """

    def value_and_grad_f(*args: Any, **kwargs: Any) -> Any:
        nums = _argnums_tuple(argnums, len(args), "grad")
        unique = tuple(dict.fromkeys(nums))  # a repeated argnum gets the same gradient

        def f_of_diff(*diff: Any) -> Any:
            full = list(args)
            for k, v in zip(unique, diff, strict=False):
                full[k] = v
            out = f(*full, **kwargs)
            _reject_boolean(out[0] if has_aux and isinstance(out, (tuple, list)) else out)
            return out

        diff_args = [args[k] for k in unique]
        # The pullback runs before control returns to the caller, so the saved
        # arrays can only change inside the call: they are read-only until it
        # returns instead of being fingerprinted (an in-place write raises at once).
        with _InCall() as held:
            rec = _Recorded(f_of_diff, diff_args, "grad", has_aux, f, unique, held)
            out = rec.out
            kind = np.dtype(getattr(out, "dtype", np.float64)).kind
            if len(rec.out_leaves) != 1 or np.shape(out) != () or kind not in "fc":
                raise TypeError(
                    "grad requires f to return a real floating-point scalar, got "
                    f"{_describe(out)}. For non-scalar outputs use riesz.jacrev or riesz.vjp"
                )
            if holomorphic:
                _check_holomorphic(rec.in_leaves)
            elif kind == "c":
                raise TypeError(
                    f"grad requires f to return a real scalar, got {_describe(out)}. For a "
                    "holomorphic f use grad(f, holomorphic=True) (the complex derivative "
                    "f'(z)); otherwise differentiate a real quantity such as abs(f)**2 or "
                    "f.real, or use riesz.vjp / riesz.jacrev for the full R-linear map"
                )
            ct = full((), 1, getattr(out, "dtype", np.float64), out)  # on out's backend
            g: Any = rec.pullback([ct], release=True, user_ct=False)  # leaves, then a tree
            if holomorphic:  # ∂f(z)*[1] = conj(f'(z))
                g = [np.conj(c) for c in g]
            g = tree_unflatten(rec.in_def, g)
        if unique != nums:  # one entry per argnum; a repeat is a copy, not an alias
            seen: set[int] = set()
            g_full = []
            for k in nums:
                gk = g[unique.index(k)]
                g_full.append(tree_map(_copy, gk) if k in seen else gk)
                seen.add(k)
            g = tuple(g_full)
        if space is not None:
            g = _riesz_gradients(space, g, [args[k] for k in nums], nums)
        g = g[0] if _single(argnums) else g
        return ((out, rec.aux), g) if has_aux else (out, g)

    value_and_grad_f.__name__ = f"value_and_grad_of_{getattr(f, '__name__', 'f')}"
    return value_and_grad_f


def _check_holomorphic(leaves: list[Any]) -> None:
    for x in leaves:
        if np.dtype(x.dtype).kind != "c":
            raise TypeError(
                f"grad(holomorphic=True) requires complex inputs, got dtype {x.dtype}; pass "
                "e.g. x.astype(complex), or drop holomorphic=True for a real-valued f"
            )


def grad(
    f: Callable[..., Any],
    argnums: int | Sequence[int] = 0,
    has_aux: bool = False,
    space: Any = None,
    holomorphic: bool = False,
) -> Callable[..., Any]:
    """Return a function computing the gradient of the scalar function `f`
    with respect to the arguments `argnums` (with `has_aux`: `(grad, aux)`).
    With `space`, the Riesz gradient S.riesz(∂f(x)*[1]) (see value_and_grad).
    Complex inputs: the Riesz representer ∂f/∂Re z + i ∂f/∂Im z of a real f
    (`grad(lambda z: abs(z)**2)(z) == 2*z`); `holomorphic=True`: f'(z) of a
    holomorphic complex scalar f (`grad(np.sin, holomorphic=True)(z) == np.cos(z)`).

    Math: ∇f(x) = ∂f(x)*[1] (the adjoint of the derivative applied to 1).

    Examples
    --------
    >>> df = riesz.grad(lambda x, y: x * y**2, argnums=(0, 1))
    >>> gx, gy = df(3.0, 2.0)  # (y², 2 x y)
    >>> print(gx, gy)
    4.0 12.0

    Raises
    ------
    TypeError
        If f does not return a real floating-point scalar (a vector, a boolean, a complex
        value without `holomorphic=True`), or an input is an integer array.
    ValueError
        If `argnums` names an argument that was not passed.
    """
    vg = value_and_grad(f, argnums, has_aux, space, holomorphic)

    def grad_f(*args: Any, **kwargs: Any) -> Any:
        value, g = vg(*args, **kwargs)
        return (g, value[1]) if has_aux else g

    grad_f.__name__ = f"grad_of_{getattr(f, '__name__', 'f')}"
    return grad_f


def elementwise_grad(f: Callable[..., Any], argnums: int | Sequence[int] = 0) -> Callable[..., Any]:
    """autograd's `elementwise_grad`: the gradient of sum(f(x)), i.e. ∂f(x)*[1] with 1 an
    array of ones shaped like f(x). For f acting entrywise (∂f(x) diagonal) it is that
    diagonal, the derivative of each output entry with respect to its own input entry:
    the same as `vmap(grad(g))(x)` when f applies the scalar function g to every entry.
    For any other f it is the column sums of the Jacobian, not a diagonal.

    Examples
    --------
    >>> x = np.array([0.0, 1.0, 2.0])
    >>> print(riesz.elementwise_grad(lambda x: x**3)(x))  # 3 x²
    [ 0.  3. 12.]

    Raises
    ------
    TypeError
        As `grad`: for an `argnums` that is not an int or a sequence of ints, or integer
        or boolean inputs.
    """

    def summed(*args: Any, **kwargs: Any) -> Any:
        return np.sum(f(*args, **kwargs))

    summed.__name__ = getattr(f, "__name__", "f")
    g = grad(summed, argnums)
    g.__name__ = f"elementwise_grad_of_{summed.__name__}"
    return g


def _copy(a: Any) -> Any:
    return a.copy() if hasattr(a, "copy") else a


def _reject_boolean(out: Any) -> None:
    """grad's output must be a float: name a boolean (a comparison) plainly, before
    it reaches the pytree machinery (NumPy's bool scalar is not an array)."""
    if isinstance(out, (bool, np.bool_)) or (
        hasattr(out, "dtype") and np.dtype(out.dtype).kind == "b"
    ):
        shown = "" if isinstance(out, Tracer) or np.size(out) > 8 else f" ({out})"
        raise TypeError(
            f"grad requires f to return a real floating-point scalar, got {_describe(out)}"
            f"{shown}: a boolean (a comparison or logical value) is not differentiable. "
            "Return the float quantity the condition is computed from"
        )


def _describe(x: Any) -> str:
    if isinstance(x, (tuple, list, dict)):
        return f"a {type(x).__name__}"
    dtype = getattr(x, "dtype", type(x).__name__)
    shape = x.shape if isinstance(x, Tracer) else np.shape(x)
    return f"a value of shape {shape} and dtype {dtype}"


_HVP_MODES = ("fwd-rev", "rev-fwd", "rev-rev", "fwd-fwd")


def hvp(
    f: Callable[..., Any], primals: Sequence[Any], tangents: Sequence[Any], mode: str = "fwd-rev"
) -> tuple[Any, ...]:
    """The Hessian of the scalar `f` at `primals` applied to `tangents`,
    ∂²f(x)[v, ·], as a tuple with one entry per primal.

    All four compositions give the same result: "fwd-rev" (JVP of the
    gradient: the cheapest, a small constant times a gradient), "rev-fwd"
    (gradient of the JVP), "rev-rev" (gradient of ⟨∇f, v⟩), and "fwd-fwd"
    (one second-order JVP ∂²f(x)[e_i, v] per input coordinate: O(n) passes).

    Math: ∂²f(x)[v, ·] = ∂(∇f)(x)[v].

    Examples
    --------
    >>> f = lambda x: (x[0] ** 2) * x[1]  # Hessian [[2 x₁, 2 x₀], [2 x₀, 0]]
    >>> (h,) = riesz.hvp(f, (np.array([1.0, 2.0]),), (np.array([1.0, 0.0]),))
    >>> print(h)
    [4. 2.]

    Raises
    ------
    ValueError
        For an unknown `mode`.
    TypeError
        If `primals` / `tangents` are not tuples, or f is not a real scalar function.
    """
    if mode not in _HVP_MODES:
        raise ValueError(f"hvp: mode must be one of {_HVP_MODES}, got {mode!r}")
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError("hvp: primals and tangents must be tuples of arguments, e.g. (x,), (v,)")
    primals, tangents = tuple(primals), tuple(tangents)
    every = tuple(range(len(primals)))

    def gradient(*xs: Any) -> tuple[Any, ...]:
        return grad(f, argnums=every)(*xs)

    if mode == "fwd-rev":
        return jvp(gradient, primals, tangents)[1]
    if mode == "rev-fwd":
        return grad(lambda *xs: jvp(f, xs, tangents)[1], argnums=every)(*primals)
    if mode == "rev-rev":
        def directional(*xs: Any) -> Any:
            g_leaves = tree_flatten(gradient(*xs))[0]
            v_leaves = tree_flatten(tangents)[0]
            total = 0.0
            for g, v in zip(g_leaves, v_leaves, strict=True):
                total = total + (g.conj() * v).real.sum()  # ⟨g, v⟩ = Re vdot(g, v)
            return total

        return grad(directional, argnums=every)(*primals)
    # fwd-fwd: (H v)_i = ∂²f(x)[e_i, v], one nested JVP per coordinate
    from .numpy import reshape, stack

    leaves, treedef = tree_flatten(primals)
    out = []
    for k, x in enumerate(leaves):
        # complex leaves: the basis e_i and i·e_i of Cⁿ as a real space
        units = (1.0, 1j) if np.result_type(x).kind == "c" else (1.0,)
        parts = []
        for unit in units:
            entries = []
            for i in np.ndindex(np.shape(x)):
                e = [np.zeros(np.shape(y), np.result_type(y)) for y in leaves]
                e[k][i] = unit
                e = [_on_backend_of(y, ej) for y, ej in zip(leaves, e, strict=True)]
                e_tree = tree_unflatten(treedef, e)
                entries.append(jvp(lambda *xs, e_tree=e_tree: jvp(f, xs, e_tree)[1],
                                   primals, tangents)[1])
            parts.append(reshape(stack(entries), np.shape(x)))
        out.append(parts[0] if len(parts) == 1 else parts[0] + 1j * parts[1])
    return tree_unflatten(treedef, out)


def _on_backend_of(x: Any, host: np.ndarray) -> Any:
    """The host array `host` on the backend of `x` (CuPy, Dask: one explicit copy),
    or `host` itself where x is a NumPy array, a scalar or a tracer of one."""
    c = raw_value(x)
    return np.asarray(host, like=c) if is_foreign(c) else host


# -- vectorising map ------------------------------------------------------------------


def _axes_for_leaves(spec: Any, tree: Any, what: str) -> list[int | None]:
    """Expand an axis spec to one entry per leaf of `tree`: `spec` is a pytree
    prefix of `tree` whose leaves are ints or None, each applying to the whole
    subtree it stands for (an int or None alone applies to every leaf; a tuple
    or a list has one entry per argument). None is an axis here, not an empty
    container."""
    treedef = tree_flatten(tree)[1]
    out: list[int | None] = []
    _expand_axes(spec, tree, treedef, out, what)
    return out


def _expand_axes(spec: Any, tree: Any, treedef: Any, out: list[int | None], what: str) -> None:
    if spec is None or isinstance(spec, (int, np.integer)):
        if isinstance(spec, (bool, np.bool_)):
            raise TypeError(f"vmap: {what} entries must be ints or None, got {spec!r}")
        out.extend([None if spec is None else int(spec)] * treedef.num_leaves)
        return
    spec_def = tree_flatten(spec, strict=False)[1]
    same_kind = spec_def.node is treedef.node or (
        spec_def.node in (tuple, list) and isinstance(tree, (tuple, list)))
    if spec_def.node is None or treedef.node is None or not same_kind \
            or len(spec_def.children) != len(treedef.children) \
            or (not isinstance(tree, (tuple, list)) and spec_def.aux != treedef.aux):
        if spec_def.node is None:
            raise TypeError(f"vmap: {what} entries must be ints or None, got {spec!r}")
        raise ValueError(f"vmap: {what} {spec!r} does not match the structure {treedef} "
                         "(it must be an int, None, or a pytree prefix of it)")
    for s, t, d in zip(_children(spec), _children(tree), treedef.children, strict=True):
        _expand_axes(s, t, d, out, what)


def _children(x: Any) -> list[Any]:
    """The children of one pytree node, in flattening order."""
    if isinstance(x, dict):
        return [x[k] for k in sorted(x)]
    if type(x) in (tuple, list):
        return list(x)
    from ._core.pytree import _node_type

    node = _node_type(x)
    assert node is not None  # (x is an inner node of the tree being expanded)
    return list(node.flatten(x)[0])


def _check_axis(ax: Any, ndim: int, what: str, which: str) -> int | None:
    """`ax` as a non-negative axis of an array of rank `ndim` (None stays None)."""
    if ax is None:
        return None
    if not -ndim <= ax < ndim:
        raise ValueError(f"vmap: {what} {ax} is out of range for {which}; valid axes are "
                         f"{-ndim} to {ndim - 1}")
    return ax % ndim


def vmap(f: Callable[..., Any], in_axes: Any = 0, out_axes: Any = 0) -> Callable[..., Any]:
    """Vectorise `f` over a batch axis: `vmap(f)(xs)[i] == f(xs[i])`.

    `in_axes` gives each argument's batch axis (an int, None for an argument
    shared by every example, or a tuple with one entry per argument, each an
    int, None or a pytree prefix of the argument with int / None leaves, e.g.
    `({"w": None, "x": 0},)`); `out_axes` places the batch axis of the outputs
    likewise. Axes may be negative; one out of range for the leaf's rank
    raises. Composes with every other transformation, in any order.

    Math: vmap(f)(X)[i] = f(X[i]); derivatives commute: ∂(vmap f) = vmap(∂f).

    Examples
    --------
    >>> xs = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> print(riesz.vmap(lambda x: x @ x)(xs))  # one x·x per row
    [ 5. 25.]
    >>> print(riesz.vmap(riesz.grad(lambda x: x @ x))(xs))  # per-example gradients
    [[2. 4.]
     [6. 8.]]

    Raises
    ------
    ValueError
        If no input is mapped, mapped inputs have different batch sizes, an axis is out of
        range, or `in_axes` / `out_axes` do not match the arguments' structure.
    TypeError
        If an `in_axes` / `out_axes` entry is not an int or None.
    """
    from ._interpreters.batching import BatchTrace

    def vmapped(*args: Any) -> Any:
        leaves, in_def = tree_flatten(args)
        axes = _axes_for_leaves(in_axes, args, "in_axes")
        sizes = {}
        for k, (x, ax) in enumerate(zip(leaves, axes, strict=True)):
            shape = x.shape if isinstance(x, Tracer) else np.shape(x)
            ax = axes[k] = _check_axis(ax, len(shape), "in_axes",
                                       f"input leaf {k} of shape {shape} (rank {len(shape)})")
            if ax is not None:
                sizes[k] = shape[ax]
        if not sizes:
            raise ValueError("vmap: no input is mapped (every in_axes is None)")
        if len(set(sizes.values())) != 1:
            raise ValueError(f"vmap: mapped inputs have different batch sizes {sizes} "
                             "(input leaf: size)")
        with new_trace(BatchTrace) as trace:
            trace.size = next(iter(sizes.values()))
            ins = [x if ax is None else trace.new_input(x, ax)
                   for x, ax in zip(leaves, axes, strict=True)]
            out = f(*tree_unflatten(in_def, ins))
            out_leaves, out_def = tree_flatten(out)
            o_axes = _axes_for_leaves(out_axes, out, "out_axes")
            res = []
            for k, (o, ax) in enumerate(zip(out_leaves, o_axes, strict=True)):
                shape = o.shape if isinstance(o, Tracer) else np.shape(o)
                ax = _check_axis(ax, len(shape) + 1, "out_axes",
                                 f"output leaf {k} of per-example shape {shape} (the batched "
                                 f"output has rank {len(shape) + 1})")
                res.append(trace.unbatched(o, ax))
        return tree_unflatten(out_def, res)

    vmapped.__name__ = f"vmap_of_{getattr(f, '__name__', 'f')}"
    return vmapped
