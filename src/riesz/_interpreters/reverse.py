"""Reverse mode: record a tape while evaluating, then pull cotangents back.

Every primitive applied to a value that depends on the input appends one node
to the trace's tape: `(primitive index, parent ids, argnums, ans, args, params)`,
a tuple of ints, tuples and arrays that Python's cyclic garbage collector stops
tracking, so long tapes do not slow every collection down. Tape order
is creation order, which is already a topological order of the DAG, so the
backward pass is one iterative sweep from the last node to the first
(∂f(x)*[v]): no recursion, no separate toposort, and a graph of 10^6 nodes is
fine. Cotangents of a value used several times are summed in its slot before
its node is visited; each slot, and with ``release=True`` each node with the
values it saved, is dropped as soon as it has been consumed.

Saved NumPy arrays the user could mutate in place (inputs, constants the
function closed over, and outputs where they reach the user before a pullback)
are guarded so that an in-place change raises instead of silently producing a
wrong gradient, in one of two ways:

- where the backward pass runs inside the call (`grad`, `jacrev`, `hvp`, ...),
  the trace's `held` list is set and each saved array, with the array that owns
  its memory, is made read-only when first saved (O(1)); `release` restores the
  flags at the end of the call. Holds are counted per array across traces and
  threads, so nested and concurrent calls sharing a constant restore it only
  when the last one ends; arrays that were read-only already are left alone.
- where the pullback outlives the call (`vjp`, `linearize`), or an array's
  memory belongs to a foreign buffer (mmap, bytes) or to a read-only owner
  that its writeable view cannot be restored under, the array is
  fingerprinted when saved (O(size)) and `check_saved` compares before each
  sweep, raising `SavedValueModifiedError`.

Flags cannot catch a write through a writeable view that already existed when
the array was saved (NumPy keeps a view's flag independent of its base's);
fingerprints can.
"""

from __future__ import annotations

import threading
from math import isqrt
from typing import Any

import numpy as np

from .._core.primitive import BY_INDEX, CUSTOM, DIFFERENTIABLE, JOINT, Primitive, apply_jvp
from .._core.pytree import tree_flatten, tree_unflatten
from .._core.trace import BACKEND_ERRORS, Trace, Tracer, bind, raise_backend_error

__all__ = [
    "LazyCotangent", "SavedValueModifiedError", "VJPTrace", "VJPTracer", "backward",
    "forward_sweep", "release",
]

_ndarray = np.ndarray


class SavedValueModifiedError(RuntimeError, ValueError):
    """An array saved for the backward pass was modified in place.

    A ValueError too: inside a call the write itself fails, as NumPy's writes to
    read-only arrays do.

    Examples
    --------
    >>> x = np.array([1.0, 2.0])
    >>> y, vjp_fn = riesz.vjp(lambda x: x * x, x)
    >>> x[0] = 5.0  # the VJP 2 x ⊙ v needs the old x
    >>> try:
    ...     vjp_fn(np.ones(2))
    ... except riesz.SavedValueModifiedError:
    ...     print("copy x before modifying it")
    copy x before modifying it
    """


class LazyCotangent:
    """A cotangent kept in a cheaper form (e.g. sparse) until it is consumed.

    Subclasses implement `__add__`/`__radd__` for accumulation and `materialize`.
    """

    __slots__ = ()
    __array_ufunc__ = None  # make ndarray + lazy defer to __radd__

    def materialize(self) -> Any:
        raise NotImplementedError


class VJPTracer(Tracer):
    __slots__ = ("_idx",)

    def __init__(self, value: Any, trace: VJPTrace, idx: int):
        self._value = value
        self._trace = trace
        self._idx = idx


# Tape entries for multi-output primitives: one node for the primitive and one
# selector node per output (primitive index _SELECT), whose cotangents are
# gathered into a list.
_SELECT = -1


def _fingerprint(a: np.ndarray) -> Any:
    """A cheap summary of `a`'s bytes that changes under any in-place write.

    Small arrays are copied. Larger ones are read as machine words, laid out
    as a k x m matrix (k, m ~ sqrt(n)), and summarised by its row sums and
    column sums (wrapping integer arithmetic): one pass each, at memory speed.
    Any single write changes a row sum; swapping two distinct entries changes
    a row sum or a column sum, so in-place sorts and shuffles are caught too.
    """
    if a.nbytes <= 4096:
        return a.tobytes()
    if not a.flags.c_contiguous:
        a = np.ascontiguousarray(a)
    raw = a.reshape(-1).view(np.uint8)
    words = next(raw.view(t) for t in _WORDS if raw.size % np.dtype(t).itemsize == 0)
    n = words.size
    m = isqrt(n)
    k = n // m
    block = words[: k * m].reshape(k, m)
    return (block.sum(axis=1).tobytes(), block.sum(axis=0).tobytes(), words[k * m:].tobytes())


_WORDS = (np.uint64, np.uint32, np.uint16, np.uint8)


# Arrays made read-only by in-call traces: id -> [array, holds, views waiting for it]
_FROZEN: dict[int, list[Any]] = {}
_FROZEN_LOCK = threading.Lock()


def _hold(x: np.ndarray, held: list[np.ndarray]) -> bool:
    """Count one more hold on `x`, making it read-only if it is not yet.
    False when `x` was read-only already (and not by riesz): nothing to restore."""
    e = _FROZEN.get(id(x))
    if e is None:
        if not x.flags.writeable:
            return False
        _FROZEN[id(x)] = e = [x, 0, None]
        held.append(x)  # before the flag flips: an interrupt leaves nothing unrestored
        e[1] = 1
        x.setflags(write=False)
        return True
    e[1] += 1
    held.append(x)
    return True


def _owner(a: np.ndarray) -> Any:
    """The object owning `a`'s memory: `a`, the ndarray at the end of its base
    chain, or a foreign buffer (mmap, bytes, ...)."""
    owner = a
    while isinstance(owner.base, _ndarray):
        owner = owner.base
    return owner if owner.base is None else owner.base


def _freeze(a: np.ndarray, held: list[np.ndarray]) -> bool:
    """Make `a` and the array owning its memory read-only for the call; False when
    flags cannot protect it and it must be fingerprinted instead."""
    if a.base is None:  # the common case: `a` owns its memory
        with _FROZEN_LOCK:
            _hold(a, held)
        return True
    owner = _owner(a)
    if not isinstance(owner, _ndarray):
        return False
    with _FROZEN_LOCK:
        if not _hold(owner, held) and a.flags.writeable and id(a) not in _FROZEN:
            return False  # a writeable view of a read-only owner: its flag cannot come back
        _hold(a, held)
    return True


def _restore(x: np.ndarray, entry: list[Any]) -> None:
    if x.base is not None:
        waiting_for = _FROZEN.get(id(_owner(x)))
        if waiting_for is not None and waiting_for[1]:  # its owner is still held elsewhere
            if waiting_for[2] is None:
                waiting_for[2] = []
            waiting_for[2].append(x)
            return
    del _FROZEN[id(x)]
    try:
        x.setflags(write=True)
    except ValueError:  # its owner was made read-only meanwhile (not by riesz)
        pass
    if entry[2]:
        for v in entry[2]:
            ve = _FROZEN.get(id(v))
            if ve is not None and not ve[1]:
                _restore(v, ve)


def release(held: list[np.ndarray]) -> None:
    """Drop the holds in `held` (see `VJPTrace.held`); an array becomes writeable
    again when its last hold is gone."""
    if not held:
        return
    with _FROZEN_LOCK:
        for x in held:  # an owner precedes its views, so it is restored first
            e = _FROZEN[id(x)]
            e[1] -= 1
            if not e[1]:
                _restore(x, e)
        held.clear()


class VJPTrace(Trace):
    __slots__ = ("tape", "saved", "held", "prints")

    def __init__(self, level: int):
        super().__init__(level)
        self.tape: list[Any] = []
        # id -> array, for user-visible arrays the tape references (each guarded once)
        self.saved: dict[int, np.ndarray] = {}
        # None: fingerprint what is saved; a list (set by a caller whose backward pass
        # runs before it returns): hold saved arrays read-only, released by `release`
        self.held: list[np.ndarray] | None = None
        self.prints: list[tuple[np.ndarray, Any]] = []

    def guard(self, a: Any) -> None:
        if type(a) is _ndarray and id(a) not in self.saved and a.size and not a.dtype.hasobject:
            self.saved[id(a)] = a
            held = self.held
            if held is None or not _freeze(a, held):
                self.prints.append((a, _fingerprint(a)))

    def new_input(self, value: Any, guard: bool = True) -> VJPTracer:
        if guard:
            self.guard(value)
        tape = self.tape
        tape.append(None)  # a leaf: no rule, its cotangent is kept
        return VJPTracer(value, self, len(tape) - 1)

    def process(self, prim: Primitive, args: tuple[Any, ...], params: dict[str, Any]) -> Any:
        if not self.active:
            raise self._dead()
        # Unwrap this trace's tracers (the hot path: kept free of helper calls).
        vals = []
        parents = []
        argnums = []
        lower = self.level > 1  # below level 1 no trace is active: values are concrete
        i = 0
        for a in args:
            if a.__class__ is VJPTracer and a._trace is self:
                vals.append(a._value)
                parents.append(a._idx)
                argnums.append(i)
            else:
                if isinstance(a, Tracer):
                    lower = True
                elif a.__class__ is _ndarray and id(a) not in self.saved:
                    self.guard(a)
                vals.append(a)
            i += 1
        if prim.kind is not DIFFERENTIABLE:
            if prim.kind is CUSTOM:
                return self.process_custom(prim, args, params)
            if prim.kind is not JOINT:
                return bind(prim, *vals, **params)
            if not lower:  # concrete values: the value and its rules' factor in one pass
                # (a JOINT primitive has a forward)
                joint = prim.forward(*vals, **params)  # type: ignore[misc]
                if joint is not None:
                    tape = self.tape
                    tape.append((prim.index, tuple(parents), tuple(argnums), joint[0],
                                 tuple(vals), {**params, "residual": joint[1]}))
                    return VJPTracer(joint[0], self, len(tape) - 1)
        if lower:
            ans = bind(prim, *vals, **params)
        else:
            try:
                ans = prim.impl(*vals, **params)
            except BACKEND_ERRORS:
                raise_backend_error(prim, vals)
        tape = self.tape
        # an empty params dict would keep the node tracked by the GC: store None
        tape.append((prim.index, tuple(parents), tuple(argnums), ans, tuple(vals), params or None))
        if prim.multiple_results:
            return self._outputs(ans)
        return VJPTracer(ans, self, len(tape) - 1)

    def _outputs(self, ans: tuple[Any, ...]) -> tuple[VJPTracer, ...]:
        """Tracers for the outputs of the last node, one selector node each."""
        tape = self.tape
        node = len(tape) - 1
        outs = []
        for k, a in enumerate(ans):
            tape.append((_SELECT, node, k, len(ans), None, None))
            outs.append(VJPTracer(a, self, len(tape) - 1))
        return tuple(outs)

    def process_custom(self, prim: Primitive, args: tuple[Any, ...],
                       params: dict[str, Any]) -> Any:
        """A call of a function with user rules (see riesz.custom). With a VJP
        rule, its forward part runs now and the residuals are kept for the
        backward pass; with only a JVP rule, its linear map u ↦ ∂f(x)[u] is
        recorded now and transposed by the backward pass; with neither, the
        function's body is traced like any other code.

        The forward part runs on this trace's values, so an output that still
        is a tracer of this trace depends on a value the function closes over
        (`a` in `def f(x): return a * x`). That dependence, ∂_a f(x; a), is
        recorded on the tape as the function computed it; the output's node
        lists the closure's tracer as one more parent, whose cotangent is the
        output's (see `riesz.custom`)."""
        fn = params["fn"]
        if fn.fwd is None and fn.jvp_rule is None:
            return fn.call_flat(args, params["in_def"], params["out"])
        vals = []
        parents = []
        argnums = []
        for i, a in enumerate(args):
            if a.__class__ is VJPTracer and a._trace is self:
                vals.append(a._value)
                parents.append(a._idx)
                argnums.append(i)
            else:
                vals.append(a)
        if fn.fwd is not None:
            outs, residuals = fn.fwd_flat(vals, params["in_def"], params["out"])
            r_leaves = tree_flatten(residuals, strict=False)[0]
            if any(isinstance(x, Tracer) for x in r_leaves):
                self.check_custom_outputs(fn, r_leaves)
                residuals = self._strip(residuals)
            params = {**params, "residuals": residuals}
        else:
            outs = fn.call_flat(vals, params["in_def"], params["out"])
        self.check_custom_outputs(fn, outs)
        closure = [k for k, o in enumerate(outs) if o.__class__ is VJPTracer and o._trace is self]
        if fn.fwd is None:
            # u ↦ ∂f(x)[u] recorded now, while values its rule may close over are alive;
            # if the rule used one, this tape grew, and the record must drop this level
            n_tape = len(self.tape)
            stripped = [o._value if k in closure else o for k, o in enumerate(outs)]
            linear = fn.linearized(vals, argnums, stripped, params, self.held)
            if len(self.tape) != n_tape:
                linear.strip(self._strip)
            params = {**params, "linear": linear}
        if closure:
            n = len(vals)
            for k in closure:
                vals.append(outs[k]._value)
                parents.append(outs[k]._idx)
                argnums.append(n + k)
            outs = tuple(o._value if k in closure else o for k, o in enumerate(outs))
        self.tape.append((prim.index, tuple(parents), tuple(argnums), outs, tuple(vals), params))
        return self._outputs(outs)

    def _strip(self, tree: Any) -> Any:
        """`tree` with this trace's tracers replaced by their values."""
        leaves, treedef = tree_flatten(tree, strict=False)
        if not any(x.__class__ is VJPTracer and x._trace is self for x in leaves):
            return tree
        return tree_unflatten(treedef, [x._value if x.__class__ is VJPTracer and x._trace is self
                                        else x for x in leaves])

    def check_saved(self) -> None:
        for a, fp in self.prints:
            if _fingerprint(a) != fp:
                raise SavedValueModifiedError(
                    f"an array of shape {a.shape} and dtype {a.dtype} that was saved for "
                    "the backward pass has been modified in place since it was used "
                    "(e.g. `x[0] = 5` between vjp and calling vjp_fn); the gradient "
                    "would be wrong. Pass a copy to the function, or recompute the "
                    "forward pass after modifying the array"
                )


def _accumulate(old: Any, c: Any) -> Any:
    if old is None:
        return c
    if isinstance(c, LazyCotangent):  # addition commutes; let the lazy side lead
        return c + old
    return old + c


def backward(tape: list[Any], seeds: dict[int, Any], release: bool) -> list[Any]:
    """Pull the cotangents `seeds` (node id -> cotangent) back along `tape`.

    Returns the list of cotangent slots; a leaf's slot holds its cotangent (or
    None for a symbolic zero). With `release`, consumed nodes are dropped from
    the tape (the tape can then not be swept again).
    """
    cts: list[Any] = [None] * len(tape)
    for i, g in seeds.items():
        cts[i] = _accumulate(cts[i], g)
    start = max(seeds) if seeds else -1
    by_index, lazy = BY_INDEX, LazyCotangent  # locals: this loop is the hot path
    for i in range(start, -1, -1):
        g = cts[i]
        if g is None:
            continue
        node = tape[i]
        if node is None:  # a leaf keeps its cotangent
            continue
        cts[i] = None
        if release:
            tape[i] = None
        pid, parents, argnums, ans, vals, params = node
        if pid == _SELECT:  # gather the k-th output's cotangent into a list
            slot = cts[parents]
            if slot is None:
                slot = cts[parents] = [None] * ans
            slot[argnums] = _accumulate(slot[argnums], g)
            continue
        if isinstance(g, lazy):
            g = g.materialize()
        prim = by_index[pid]
        rules = prim.vjps
        if rules is not None and not prim.multiple_results:
            for p, k in zip(parents, argnums, strict=True):
                c = rules[k](g, ans, *vals) if params is None else rules[k](g, ans, *vals, **params)
                if c is not None:
                    old = cts[p]
                    cts[p] = c if old is None else _accumulate(old, c)
        else:
            if prim.vjp is None:
                raise NotImplementedError(f"primitive {prim.name!r} has no VJP rule")
            if prim.multiple_results:
                g = [c.materialize() if isinstance(c, LazyCotangent) else c for c in g]
            cts_in = prim.vjp(g, ans, vals, argnums, **(params or {}))
            for p, c in zip(parents, cts_in, strict=True):
                if c is not None:
                    cts[p] = _accumulate(cts[p], c)
    return cts


def forward_sweep(tape: list[Any], seeds: dict[int, Any]) -> list[Any]:
    """Push the tangents `seeds` (node id -> tangent) forward along `tape`.

    This applies the linear part ∂f(x)[u] that the tape recorded, using the
    JVP rules on the saved values: no primal operation is evaluated again.
    Returns the tangent of every node (None for symbolic zeros).
    """
    tans: list[Any] = [None] * len(tape)
    for i, t in seeds.items():
        tans[i] = t
    for i, node in enumerate(tape):
        if node is None:
            continue
        pid, parents, argnums, ans, vals, params = node
        if pid == _SELECT:
            t = tans[parents]
            tans[i] = None if t is None else t[argnums]
            continue
        tangents: list[Any] = [None] * len(vals)
        for p, k in zip(parents, argnums, strict=True):
            tangents[k] = tans[p]
        if all(t is None for t in tangents):
            continue
        t_out = apply_jvp(BY_INDEX[pid], vals, tangents, ans, params or {})
        tans[i] = t_out
    return tans


def recorded_primitives(tape: list[Any]) -> set[str]:
    """Names of the primitives recorded on `tape` (for tests and debugging)."""
    return {BY_INDEX[node[0]].name for node in tape if node is not None and node[0] != _SELECT}
