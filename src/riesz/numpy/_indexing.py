"""Public indexing: `x[index]`, take, take_along_axis, nonzero, and functional
updates `x.at[index].set(v)` / `index_update(x, index, v)`.

Traced values are immutable (`x[i] = v` would lose the derivative of the
overwritten entries); the functional updates return a new array instead:

* `add` is the scatter-add primitive (repeated indices accumulate, as
  `numpy.add.at` does);
* `set`, `multiply`, `divide`, `power`, `min`, `max` replace the selected
  entries with op(x[index], v) through the scatter-set primitive, which is
  linear in x (zero derivative at the overwritten entries) and in the new
  values. Repeated indices are applied in rounds of distinct targets, in
  order, so `set` keeps the last value (as NumPy's `x[index] = v`) and
  `multiply` accumulates (as `numpy.multiply.at`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._core.trace import BackendError, Tracer, bind, raw_value
from .._core.trace import strip_derivatives as _raw
from .._core.zeros import is_foreign
from .._primitives._util import as_array, check_out, one_axis
from .._primitives.indexing import (
    constant_index,
    gather_p,
    getitem_p,
    ragged_error,
    scatter_add_indexed_p,
    scatter_add_p,
    scatter_set_p,
    split_index,
)
from .._primitives.indexing import nonzero as nonzero  # public (where(cond) needs it too)
from ._elementwise import astype, maximum, minimum, where
from ._shape import argsort, broadcast_to, ravel, reshape


def getitem(a: Any, index: Any) -> Any:
    """`a[index]` for every NumPy index kind (linear; the VJP is a sparse
    scatter-add). Under vmap, integer index arrays may vary per example.

    Math: ∂f(a)[u] = u[index]; ∂f(a)*[v] = zeros with v added at index.

    Examples
    --------
    >>> x = np.array([1.0, 2.0, 3.0])
    >>> print(rnp.getitem(x, [0, 2]), riesz.grad(lambda x: rnp.getitem(x, [0, 0]).sum())(x))
    [1. 3.] [2. 0. 0.]

    Raises
    ------
    IndexError
        For an index out of bounds (as NumPy).
    """
    template, traced = split_index(index)
    if traced:
        return bind(gather_p, a, *traced, template=template)
    return bind(getitem_p, a, index=template)


def _index_array(indices: Any) -> Any:
    """Integer indices as an array (a traced one when they vary per example)."""
    idx = constant_index(indices)
    return idx if isinstance(idx, Tracer) else np.asarray(idx)


def take(a: Any, indices: Any, axis: int | None = None, out: Any = None,
         mode: str = "raise") -> Any:
    """Entries at integer `indices` along `axis` (the flattened array by default)."""
    check_out("take", out)
    a = as_array(a)
    if axis is None:
        a, axis = ravel(a), 0
    ax = one_axis(axis, a.ndim)
    idx = _index_array(indices)
    n = a.shape[ax]
    if mode == "wrap":
        idx = np.mod(idx, n)
    elif mode == "clip":
        idx = np.clip(idx, 0, n - 1)
    elif mode != "raise":
        raise ValueError(f"take: unknown mode {mode!r}")
    return getitem(a, (slice(None),) * ax + (idx,))


def take_along_axis(arr: Any, indices: Any, axis: int | None = -1) -> Any:
    """`arr` indexed by `indices` along `axis`, the other axes matched up."""
    a = as_array(arr)
    idx = _index_array(indices)
    if axis is None:
        a, axis = ravel(a), 0
    ax = one_axis(axis, a.ndim)
    if idx.ndim != a.ndim:
        raise ValueError("`indices` and `arr` must have the same number of dimensions")
    index = []
    for i in range(a.ndim):
        if i == ax:
            index.append(idx)
        else:
            shape = [1] * a.ndim
            shape[i] = a.shape[i]
            index.append(np.arange(a.shape[i]).reshape(shape))
    return getitem(a, tuple(index))


def sort(a: Any, axis: int | None = -1, kind: Any = None, order: Any = None, *,
         stable: Any = None) -> Any:
    """Sorted copy: a permutation of the entries (ties keep their order)."""
    a = as_array(a)
    if axis is None:
        a, axis = ravel(a), 0
    idx = argsort(a, axis, stable=True)
    return take_along_axis(a, idx, axis)


def _values_fix_the_shape(name: str, a: Any) -> Any:
    """`a` without derivatives, for a function whose output shape depends on the
    values; under vmap (where `a` still varies per example) that shape would
    differ between examples, which no batch can hold."""
    a = _raw(as_array(a))
    if isinstance(a, Tracer):
        raise ragged_error(name)
    return a


def flatnonzero(a: Any) -> Any:
    """Indices of the non-zero entries of the flattened array (not differentiable)."""
    return np.flatnonzero(_values_fix_the_shape("flatnonzero", a))


def argwhere(a: Any) -> Any:
    """Indices of the non-zero entries, one row each (not differentiable)."""
    return np.argwhere(_values_fix_the_shape("argwhere", a))


def unique(ar: Any, return_index: bool = False, return_inverse: bool = False,
           return_counts: bool = False, axis: int | None = None, *,
           equal_nan: bool = True) -> Any:
    """Sorted unique values (each is an entry of `ar`, so it is differentiable
    as a selection); the index/inverse/count outputs are integer arrays."""
    if axis is not None:
        raise NotImplementedError("unique: axis is not supported on traced values")
    a = as_array(ar)
    _, first, inverse, counts = np.unique(  # inverse: shaped like `ar`, as NumPy's
        _values_fix_the_shape("unique", a), return_index=True, return_inverse=True,
        return_counts=True, equal_nan=equal_nan,
    )
    out = [getitem(ravel(a), (first,))]
    if return_index:
        out.append(first)
    if return_inverse:
        out.append(inverse)
    if return_counts:
        out.append(counts)
    return out[0] if len(out) == 1 else tuple(out)


# -- functional updates ----------------------------------------------------------------


def _ops() -> dict[str, Any]:
    return {
        "multiply": lambda a, b: a * b,
        "divide": lambda a, b: a / b,
        "power": lambda a, b: a ** b,
        "min": minimum,
        "max": maximum,
    }


def _update_traced(x: Any, v: Any, template: tuple[Any, ...], arrays: list[Any],
                   op: str) -> Any:
    """`_update` at integer index arrays that vary per example (vmap): a
    scatter-add of the new values and a mask of the targets, so x keeps
    derivative 0 where it is overwritten and the values their own."""
    if op == "add":
        return bind(scatter_add_indexed_p, x, v, *arrays, template=template)
    ones = bind(gather_p, np.ones(x.shape, x.dtype), *arrays, template=template)
    hits = bind(scatter_add_indexed_p, np.zeros(x.shape, x.dtype), ones, *arrays,
                template=template)
    if np.any(raw_value(hits) > 1):
        raise NotImplementedError(
            f"x.at[index].{op}(...) under vmap with an index that repeats a target within one "
            "example: the order of the repeated updates is not defined per example; use "
            ".at[index].add, or indices without repeats"
        )
    new = v if op == "set" else _ops()[op](bind(gather_p, x, *arrays, template=template), v)
    if new.dtype != x.dtype:
        new = astype(new, x.dtype)
    new = broadcast_to(new, ones.shape)
    placed = bind(scatter_add_indexed_p, np.zeros(x.shape, x.dtype), new, *arrays,
                  template=template)
    return where(hits > 0, placed, x)


def _update(x: Any, index: Any, values: Any, op: str) -> Any:
    x = as_array(x)
    template, traced = split_index(index)
    v = as_array(values)
    if v.dtype != x.dtype:
        v = astype(v, x.dtype)
    if traced:
        return _update_traced(x, v, template, traced, op)
    index = template
    if op == "add":
        return bind(scatter_add_p, x, v, index=index)
    if any(is_foreign(i) for i in index):
        kind = next(type(i) for i in index if is_foreign(i))
        raise BackendError(
            f"x.at[index].{op}: the index is a {kind.__module__}.{kind.__qualname__} array; "
            "this update needs its positions on the host (to find repeated ones): compute "
            "the index first (e.g. index.compute() on Dask)")
    ids = np.arange(int(np.prod(x.shape, dtype=int))).reshape(x.shape)[index]
    flat = np.ravel(ids)
    combine = None if op == "set" else _ops()[op]
    if np.unique(flat).size == flat.size:
        new = v if combine is None else combine(getitem(x, index), v)
        if isinstance(new, Tracer) and new.dtype != x.dtype:
            new = astype(new, x.dtype)
        return bind(scatter_set_p, x, new, index=index)
    # repeated targets: apply in rounds of distinct targets, in order
    order = np.argsort(flat, kind="stable")
    sorted_ids = flat[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_ids)) + 1]
    group_start = np.repeat(starts, np.diff(np.r_[starts, flat.size]))
    rank = np.empty(flat.size, dtype=int)
    rank[order] = np.arange(flat.size) - group_start
    xf = ravel(x)
    vf = ravel(broadcast_to(v, ids.shape))
    for r in range(int(rank.max()) + 1):
        pos = np.flatnonzero(rank == r)
        targets = flat[pos]
        vals = getitem(vf, (pos,))
        new = vals if combine is None else combine(getitem(xf, (targets,)), vals)
        xf = bind(scatter_set_p, xf, new, index=(targets,))
    return reshape(xf, x.shape)


def index_update(x: Any, index: Any, values: Any) -> Any:
    """x with x[index] replaced by `values` (NumPy's `x[index] = values`, as a
    new array): ∂f[(u, w)] = u with u[index] := w.

    Examples
    --------
    >>> x = np.array([1.0, 2.0, 3.0])
    >>> print(rnp.index_update(x, 1, 10.0), x)  # a new array; x is unchanged
    [ 1. 10.  3.] [1. 2. 3.]
    >>> print(riesz.grad(lambda v: rnp.index_update(x, 1, v).sum())(10.0))
    1.0
    """
    return _update(x, index, values, "set")


def index_add(x: Any, index: Any, values: Any) -> Any:
    """x with `values` added at `index` (repeated indices accumulate).

    Examples
    --------
    >>> print(rnp.index_add(np.zeros(3), np.array([0, 0, 2]), 1.0))  # repeats accumulate
    [2. 0. 1.]
    """
    return _update(x, index, values, "add")


def index_multiply(x: Any, index: Any, values: Any) -> Any:
    """x with x[index] multiplied by `values` (repeated indices accumulate).

    Examples
    --------
    >>> print(rnp.index_multiply(np.ones(3), np.array([1, 1]), 3.0))
    [1. 9. 1.]
    """
    return _update(x, index, values, "multiply")


def index_min(x: Any, index: Any, values: Any) -> Any:
    """x with x[index] replaced by minimum(x[index], values).

    Examples
    --------
    >>> print(rnp.index_min(np.array([1.0, 5.0]), 1, 2.0))
    [1. 2.]
    """
    return _update(x, index, values, "min")


def index_max(x: Any, index: Any, values: Any) -> Any:
    """x with x[index] replaced by maximum(x[index], values).

    Examples
    --------
    >>> print(rnp.index_max(np.array([1.0, 5.0]), 0, 2.0))
    [2. 5.]
    """
    return _update(x, index, values, "max")


class _IndexUpdateRef:
    """`x.at[index]`: the functional counterpart of `x[index] op= v`."""

    __slots__ = ("x", "index")

    def __init__(self, x: Any, index: Any):
        self.x = x
        self.index = index

    def get(self) -> Any:
        return getitem(self.x, self.index)

    def set(self, values: Any) -> Any:
        return _update(self.x, self.index, values, "set")

    def add(self, values: Any) -> Any:
        return _update(self.x, self.index, values, "add")

    def subtract(self, values: Any) -> Any:
        return _update(self.x, self.index, -as_array(values), "add")

    def multiply(self, values: Any) -> Any:
        return _update(self.x, self.index, values, "multiply")

    def divide(self, values: Any) -> Any:
        return _update(self.x, self.index, values, "divide")

    def power(self, values: Any) -> Any:
        return _update(self.x, self.index, values, "power")

    def min(self, values: Any) -> Any:
        return _update(self.x, self.index, values, "min")

    def max(self, values: Any) -> Any:
        return _update(self.x, self.index, values, "max")


class IndexUpdateHelper:
    """The object behind `x.at`: `x.at[index].set(v)`, `.add(v)`, `.multiply(v)`,
    `.divide(v)`, `.power(v)`, `.min(v)`, `.max(v)`, `.get()`. Also usable on
    plain arrays as `riesz.numpy.at(x)[index].set(v)`.

    Examples
    --------
    >>> f = lambda x: x.at[0].set(x[1] ** 2)  # y[0] = x[0] is refused on traced x
    >>> print(riesz.jacobian(f)(np.array([1.0, 3.0])))
    [[0. 6.]
     [0. 1.]]
    """

    __slots__ = ("x",)

    def __init__(self, x: Any):
        self.x = x

    def __getitem__(self, index: Any) -> _IndexUpdateRef:
        return _IndexUpdateRef(self.x, index)


def at(x: Any) -> IndexUpdateHelper:
    """`riesz.numpy.at(x)[index].set(v)`: functional updates for any array.

    Examples
    --------
    >>> x = np.array([1.0, 2.0, 3.0])
    >>> print(rnp.at(x)[1:].add(10.0), rnp.at(x)[0].get())
    [ 1. 12. 13.] 1.0
    """
    return IndexUpdateHelper(x)
