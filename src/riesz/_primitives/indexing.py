"""Indexing `x[index]` and its transpose, the scatter-add.

The cotangent of `x[index]` is sparse: it is kept as a list of
(index, values) pairs and accumulated without touching a dense array, so a
loop `sum(x[i] for i in range(n))` costs one dense allocation in the backward
pass, not n.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .._core import ops
from .._core.primitive import NOT_DIFFERENTIABLE, Primitive
from .._core.trace import Tracer, bind, raw_value
from .._core.trace import strip_derivatives as _raw
from .._core.zeros import is_foreign, zeros
from .._interpreters import taylor
from .._interpreters.reverse import LazyCotangent
from .._interpreters.staging import FIXES, ConcretizationError, ShapedArray
from ._batch_axes import batch_size, broadcast_batch, front, shape_of
from ._util import as_array, unbroadcast


class _Slot:
    """Marks where a traced index array goes in a `gather` index template."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<traced index>"


SLOT = _Slot()


def _unsupported_traced_index() -> NotImplementedError:
    return NotImplementedError(
        "this use of an index computed from a vmapped input is not supported yet (the index "
        "differs per example): it works with integer index arrays (x[index] and "
        "x.at[index] updates); a boolean mask would give results of different sizes per "
        "example. Index outside vmap, or use riesz.numpy.where / a one-hot product"
    )


def constant_index(i: Any) -> Any:
    """An index value without its tracing (indices carry no derivative); an
    index that still varies per example (vmap) is returned traced."""
    return _raw(i)


def split_index(index: Any) -> tuple[tuple[Any, ...], list[Any]]:
    """An index made safe to save, and the traced integer index arrays in it.

    The static part is untraced, with private copies of arrays (so later
    in-place changes of the caller's index arrays cannot leak in); an index
    array that varies per example (vmap) becomes a `SLOT` in the template and
    is returned separately, to be passed to `gather` as an operand."""
    if not isinstance(index, tuple):
        index = (index,)
    out = []
    traced = []
    for i in index:
        i = constant_index(i)
        if isinstance(i, Tracer):
            if i.dtype.kind not in "iu":
                if isinstance(raw_value(i), ShapedArray):
                    raise ConcretizationError(
                        "indexing with a traced boolean mask: the output's shape depends "
                        f"on the values. {FIXES}; riesz.numpy.where(mask, x, 0) keeps the shape")
                raise _unsupported_traced_index()
            traced.append(i)
            out.append(SLOT)
            continue
        if isinstance(i, (list, np.ndarray)):
            empty_list = isinstance(i, list) and np.size(i) == 0
            i = np.array(i, dtype=np.intp) if empty_list else np.array(i)  # NumPy: [] is intp
            if i.dtype.kind not in "iub":
                raise IndexError(
                    f"arrays used as indices must be of integer or boolean type, got {i.dtype}"
                )
        out.append(i)
    return tuple(out), traced


def normalize_index(index: Any) -> tuple[Any, ...]:
    """A static index (see `split_index`); a per-example index raises."""
    template, traced = split_index(index)
    if traced:
        raise _unsupported_traced_index()
    return template


def fill_index(template: tuple[Any, ...], arrays: Iterable[Any]) -> tuple[Any, ...]:
    """The template with its slots replaced by `arrays`, in order."""
    it = iter(arrays)
    return tuple(next(it) if i is SLOT else i for i in template)


def _is_basic(index: tuple[Any, ...]) -> bool:
    return all(isinstance(i, (int, np.integer, slice)) or i is None or i is Ellipsis for i in index)


def _getitem_impl(x: Any, index: tuple[Any, ...]) -> Any:
    return x[index]


getitem_p = Primitive("getitem", _getitem_impl, family="linear")


def _getitem_jvp(t: Any, ans: Any, x: Any, index: tuple[Any, ...]) -> Any:
    return bind(getitem_p, t, index=index)


def _getitem_vjp(g: Any, ans: Any, x: Any, index: tuple[Any, ...]) -> Any:
    return SparseCotangent(x.shape, x.dtype, [(index, g)])


getitem_p.def_jvp(_getitem_jvp).def_vjp(_getitem_vjp)


def _advanced_positions(index: tuple[Any, ...]) -> list[int]:
    return [k for k, i in enumerate(index) if isinstance(i, np.ndarray)]


def _moves_front(index: tuple[Any, ...]) -> bool:
    """Whether NumPy moves the advanced-index axes of `(slice(None),) + index`
    to the front (they are not one contiguous block)."""
    pos = _advanced_positions(index)
    return bool(pos) and pos != list(range(pos[0], pos[0] + len(pos)))


def _getitem_batch(vals: list[Any], dims: list[int | None], index: tuple[Any, ...]) -> Any:
    """x[index] per example is x[:, *index] on the batch, unless NumPy would move
    the advanced axes to the front (non-adjacent index arrays)."""
    if _moves_front(index):
        return NotImplemented
    return bind(getitem_p, front(vals[0], dims[0]), index=(slice(None), *index)), 0


getitem_p.def_batch(_getitem_batch)
taylor.linear_jet(getitem_p)  # linear: each Taylor coefficient is indexed


def _scatter_batching(prim: Primitive) -> Primitive:
    """x with v put at index, per example: the same on the batch, with the
    values aligned to the selected block's per-example rank."""

    def rule(vals: list[Any], dims: list[int | None], index: tuple[Any, ...]) -> Any:
        if _moves_front(index):
            return NotImplemented
        (x, v), (dx, dv) = vals, dims
        size = batch_size(vals, dims)
        x = broadcast_batch(x, dx, size)
        if dv is not None:
            v = front(v, dv)
            block = np.empty(shape_of(x)[1:], dtype=bool)[index].ndim  # per-example rank
            s = shape_of(v)
            v = bind(ops.reshape_p, v, shape=(s[0], *(1,) * (block - len(s) + 1), *s[1:]))
        return bind(prim, x, v, index=(slice(None), *index)), 0

    rule.__name__ = f"{prim.name}_batch"
    return prim.def_batch(rule)



def _unique_positions(index: tuple[Any, ...]) -> bool:
    """True where the index arrays of `index` select each position at most once
    (slices and integers never repeat; negative entries count as possible repeats)."""
    arrays = [i for i in index if isinstance(i, np.ndarray) and i.dtype != bool]
    if not arrays:
        return all(not isinstance(i, (list, tuple)) and not is_foreign(i) for i in index)
    if any(a.dtype.kind not in "iu" or (a.size and a.min() < 0) for a in arrays):
        return False
    rows = np.stack([a.ravel() for a in np.broadcast_arrays(*arrays)])
    return rows.shape[1] == 0 or np.unique(rows, axis=1).shape[1] == rows.shape[1]


def _scatter_on_backend(x: Any, v: Any, index: Any, add: bool) -> Any:
    """x with v added (set) at index, for arrays of another backend (CuPy, Dask):
    NumPy's in-place writes into a host copy would move the data to the host, and
    Dask has neither `out=` nor `ufunc.at`. Without repeated positions the update is
    `out[index] = out[index] + v` (lazy on Dask); with repeats, the backend's `add.at`."""
    like = x if is_foreign(x) else v
    dtype = np.result_type(x.dtype if hasattr(x, "dtype") else x,
                           v.dtype if hasattr(v, "dtype") else v)
    if is_foreign(x):
        out = x.astype(dtype, copy=True)
        out = x.copy() if out is x else out  # Dask's astype returns x for its own dtype
    else:
        out = np.zeros_like(like, dtype=dtype, shape=np.shape(x)) + x
    if not add or _unique_positions(index):
        new = np.broadcast_to(v, out[index].shape) if not add else out[index] + v
        if any(i is None for i in index):  # Dask assigns without new axes: drop them
            index = tuple(i for i in index if i is not None)
            new = new.reshape(out[index].shape)
        out[index] = new
    else:
        np.add.at(out, index, v)  # repeated positions: CuPy has add.at, Dask none
    return out


def _scatter_add_impl(x: Any, v: Any, index: tuple[Any, ...]) -> Any:
    if is_foreign(x) or is_foreign(v):
        return _scatter_on_backend(x, v, index, add=True)
    out = np.array(x, dtype=np.result_type(x, v), copy=True)
    if _is_basic(index):
        out[index] += v
    else:
        np.add.at(out, index, v)
    return out


scatter_add_p = Primitive(
    "scatter_add", _scatter_add_impl, family="linear",
    notes="x with v added at index (repeated indices accumulate); the transpose of getitem",
)


def _scatter_add_jvp_x(t: Any, ans: Any, x: Any, v: Any, index: tuple[Any, ...]) -> Any:
    return t


def _scatter_add_jvp_v(t: Any, ans: Any, x: Any, v: Any, index: tuple[Any, ...]) -> Any:
    return bind(scatter_add_p, zeros(x.shape, t.dtype, t), t, index=index)


def _scatter_add_vjp_x(g: Any, ans: Any, x: Any, v: Any, index: tuple[Any, ...]) -> Any:
    return unbroadcast(g, x.shape, x.dtype)


def _scatter_vjp_v(g: Any, ans: Any, x: Any, v: Any, index: tuple[Any, ...]) -> Any:
    """∂v of scatter_add and scatter_set alike: the cotangent read at the index."""
    return unbroadcast(bind(getitem_p, g, index=index), np.shape(_raw(v)), _raw(v).dtype)


scatter_add_p.def_jvp(_scatter_add_jvp_x, _scatter_add_jvp_v)
scatter_add_p.def_vjp(_scatter_add_vjp_x, _scatter_vjp_v)
_scatter_batching(scatter_add_p)
taylor.linear_jet(scatter_add_p)  # linear in (x, v)


def _scatter_set_impl(x: Any, v: Any, index: tuple[Any, ...]) -> Any:
    if is_foreign(x) or is_foreign(v):
        return _scatter_on_backend(x, v, index, add=False)
    out = np.array(x, copy=True)
    out[index] = v
    return out


scatter_set_p = Primitive(
    "scatter_set", _scatter_set_impl, family="linear",
    notes="x with the entries at index replaced by v (index without repeats); "
    "used by x.at[index].set/multiply/... updates",
)


def _scatter_set_jvp_x(t: Any, ans: Any, x: Any, v: Any, index: tuple[Any, ...]) -> Any:
    return bind(scatter_set_p, t, zeros((), t.dtype, t), index=index)


def _scatter_set_jvp_v(t: Any, ans: Any, x: Any, v: Any, index: tuple[Any, ...]) -> Any:
    return bind(scatter_set_p, zeros(x.shape, t.dtype, t), t, index=index)


def _scatter_set_vjp_x(g: Any, ans: Any, x: Any, v: Any, index: tuple[Any, ...]) -> Any:
    return unbroadcast(bind(scatter_set_p, g, zeros((), g.dtype, g), index=index),
                       x.shape, x.dtype)


scatter_set_p.def_jvp(_scatter_set_jvp_x, _scatter_set_jvp_v)
scatter_set_p.def_vjp(_scatter_set_vjp_x, _scatter_vjp_v)
_scatter_batching(scatter_set_p)
taylor.linear_jet(scatter_set_p)  # linear in (x, v)


class SparseCotangent(LazyCotangent):
    """A cotangent of shape `shape` that is zero except for values at indices."""

    __slots__ = ("shape", "dtype", "entries")

    def __init__(self, shape: tuple[int, ...], dtype: Any, entries: list[tuple[Any, Any]]):
        self.shape = shape
        self.dtype = dtype
        self.entries = entries

    def __add__(self, other: Any) -> Any:
        if isinstance(other, SparseCotangent):
            # Slots own their sparse cotangent (rules only ever see dense ones),
            # so accumulating in place is safe and keeps a loop linear.
            self.entries.extend(other.entries)
            return self
        return self._scatter(other)

    __radd__ = __add__

    def materialize(self) -> Any:
        return self._scatter(None)

    def _scatter(self, base: Any) -> Any:
        if all(type(v) is np.ndarray or isinstance(v, (np.generic, float, int, complex))
               for _, v in self.entries) and (base is None or type(base) is np.ndarray):
            out = np.zeros(self.shape, self.dtype) if base is None else np.array(base, copy=True)
            for index, v in self.entries:
                if _is_basic(index):
                    out[index] += v
                else:
                    np.add.at(out, index, v)
            return out
        out = zeros(self.shape, self.dtype, self.entries[0][1]) if base is None else base
        for index, v in self.entries:
            out = bind(scatter_add_p, out, v, index=index)
        return out

# -- not differentiable: integer outputs -----------------------------------------


def _nonzero_impl(x: Any) -> tuple[Any, ...]:
    return tuple(np.nonzero(x))


nonzero_p = Primitive(
    "nonzero", _nonzero_impl, kind=NOT_DIFFERENTIABLE, multiple_results=True,
    notes="one integer index array per axis",
)

def nonzero(a: Any) -> tuple[Any, ...]:
    """Indices of the non-zero entries (integer arrays: not differentiable).
    Under vmap, only where every example has as many non-zero entries."""
    a = as_array(a)
    try:
        return bind(nonzero_p, a)
    except ValueError as e:  # stacking index arrays of different lengths
        if isinstance(_raw(a), Tracer):
            raise ragged_error("nonzero", " (here the examples' counts differ)") from e
        raise


def ragged_error(name: str, detail: str = "") -> TypeError:
    """The error of a function whose output shape depends on the values, under vmap."""
    return TypeError(
        f"{name} under vmap: its output shape depends on the values of its input, so it "
        f"can differ between examples and cannot be batched{detail}. Call it outside vmap, "
        "or use a fixed-size alternative (e.g. riesz.numpy.where(mask, x, fill), sort)"
    )


# -- gather: indexing with index arrays that are operands (they vary per example
# under vmap); linear in x, with no derivative in the integer index arrays -------------


# vmap of gather / scatter_add_indexed with a batched operand: the batch axis becomes one more
# index array, arange(B), in front of the per-example index. NumPy then puts the
# broadcast index block first, (B, *block, *sliced axes), and the per-example layout
# (block in place when the per-example index arrays are adjacent) is a transpose away.


def _is_advanced(i: Any) -> bool:
    return i is SLOT or isinstance(i, (int, np.integer, np.ndarray))


def _batched_index(x_shape: tuple[int, ...], template: tuple[Any, ...], arrays: list[Any],
                   dims: list[int | None], size: int) -> Any:
    """(template with arange(B) in front, the batched index arrays, `order`, the
    per-example result shape), `order` taking the batched result's axes to the
    per-example layout with the batch in front; None where the rule declines
    (boolean index arrays, empty axes: the slice-by-slice fallback handles them)."""
    if 0 in x_shape or any(isinstance(i, np.ndarray) and i.dtype == bool for i in template):
        return None
    shapes = [shape_of(a) if d is None else
              shape_of(a)[:d] + shape_of(a)[d + 1:]
              for a, d in zip(arrays, dims, strict=True)]
    statics = [np.shape(i) for i in template if _is_advanced(i) and i is not SLOT]
    nd = len(np.broadcast_shapes(*shapes, *statics))
    batched = []
    for a, d, sh in zip(arrays, dims, shapes, strict=True):
        if d is not None:
            a = bind(ops.reshape_p, front(a, d), shape=(size, *(1,) * (nd - len(sh)), *sh))
        batched.append(a)
    probe = np.broadcast_to(np.empty((), bool), x_shape)  # a view: no copy of x
    example = probe[fill_index(template, [np.zeros(sh, int) for sh in shapes])].shape
    pos = [k for k, i in enumerate(template) if _is_advanced(i)]
    lead = 0
    if pos == list(range(pos[0], pos[0] + len(pos))):  # one block: in place per example
        used = sum(1 for i in template if i is not None and i is not Ellipsis)
        lead = sum(len(x_shape) - used if i is Ellipsis else int(not isinstance(i, int))
                   for i in template[:pos[0]])
    rest = len(example) - nd
    order = (0, *range(1 + nd, 1 + nd + lead), *range(1, 1 + nd),
             *range(1 + nd + lead, 1 + nd + rest))
    bidx = np.arange(size).reshape(size, *(1,) * nd)
    return (bidx, *template), batched, order, example


def _gather_impl(x: Any, *arrays: Any, template: tuple[Any, ...]) -> Any:
    return x[fill_index(template, arrays)]


gather_p = Primitive(
    "gather", _gather_impl, family="linear",
    notes="x[index] where some index arrays are traced (vmap); not differentiable in them",
)


def _gather_jvp(primals: list[Any], tangents: list[Any], ans: Any, template: Any) -> Any:
    t = tangents[0]
    return None if t is None else bind(gather_p, t, *primals[1:], template=template)


def _gather_vjp(g: Any, ans: Any, primals: tuple[Any, ...], argnums: list[int],
                template: Any) -> list[Any]:
    x, arrays = primals[0], primals[1:]
    return [bind(scatter_add_indexed_p, zeros(x.shape, g.dtype, g), g, *arrays,
                 template=template) if k == 0 else None for k in argnums]


gather_p.def_joint_jvp(_gather_jvp).def_joint_vjp(_gather_vjp)
taylor.linear_jet(gather_p)  # linear in x (the index arrays are constants)


def _gather_batch(vals: list[Any], dims: list[int | None], template: Any) -> Any:
    size = batch_size(vals, dims)
    x = broadcast_batch(vals[0], dims[0], size)
    plan = _batched_index(shape_of(x)[1:], template, vals[1:], dims[1:], size)
    if plan is None:
        return NotImplemented
    new_template, arrays, order, _ = plan
    out = bind(gather_p, x, *arrays, template=new_template)
    return bind(ops.transpose_p, out, axes=order), 0


gather_p.def_batch(_gather_batch)


def _scatter_add_indexed_impl(x: Any, v: Any, *arrays: Any, template: tuple[Any, ...]) -> Any:
    if is_foreign(x) or is_foreign(v):
        return _scatter_on_backend(x, v, fill_index(template, arrays), add=True)
    out = np.array(x, dtype=np.result_type(x, v), copy=True)
    np.add.at(out, fill_index(template, arrays), v)
    return out


scatter_add_indexed_p = Primitive(
    "scatter_add_indexed", _scatter_add_indexed_impl, family="linear",
    notes="x with v added at an index holding traced arrays; the transpose of gather",
)


def _scatter_add_indexed_jvp(primals: list[Any], tangents: list[Any], ans: Any,
                             template: Any) -> Any:
    x, arrays = primals[0], primals[2:]
    tx, tv = tangents[0], tangents[1]
    if tv is None:
        return tx
    dtype = tv.dtype if tx is None else np.result_type(tx.dtype, tv.dtype)
    base = zeros(x.shape, dtype, tv) if tx is None else tx
    return bind(scatter_add_indexed_p, base, tv, *arrays, template=template)


def _scatter_add_indexed_vjp(g: Any, ans: Any, primals: tuple[Any, ...], argnums: list[int],
                             template: Any) -> list[Any]:
    x, v, arrays = primals[0], primals[1], primals[2:]
    out = []
    for k in argnums:
        if k == 0:
            out.append(unbroadcast(g, x.shape, x.dtype))
        elif k == 1:
            picked = bind(gather_p, g, *arrays, template=template)
            out.append(unbroadcast(picked, v.shape, v.dtype))
        else:
            out.append(None)
    return out


scatter_add_indexed_p.def_joint_jvp(_scatter_add_indexed_jvp)
scatter_add_indexed_p.def_joint_vjp(_scatter_add_indexed_vjp)
taylor.linear_jet(scatter_add_indexed_p)  # linear in (x, v)


def _scatter_add_indexed_batch(vals: list[Any], dims: list[int | None], template: Any) -> Any:
    size = batch_size(vals, dims)
    x = broadcast_batch(vals[0], dims[0], size)
    plan = _batched_index(shape_of(x)[1:], template, vals[2:], dims[2:], size)
    if plan is None:
        return NotImplemented
    new_template, arrays, order, example = plan
    # the values in the per-example layout, then in the batched gather's layout
    v = broadcast_batch(vals[1], dims[1], size)
    sv = shape_of(v)[1:]
    v = bind(ops.reshape_p, v, shape=(size, *(1,) * (len(example) - len(sv)), *sv))
    v = bind(ops.broadcast_to_p, v, shape=(size, *example))
    v = bind(ops.transpose_p, v, axes=tuple(int(k) for k in np.argsort(order)))
    return bind(scatter_add_indexed_p, x, v, *arrays, template=new_template), 0


scatter_add_indexed_p.def_batch(_scatter_add_indexed_batch)
