"""Products: `matmul` and `einsum`, both multilinear.

For C = A B the rules are the standard results (M. Giles, "An extended
collection of matrix derivative results for forward and reverse mode AD",
2008, §2.2.1): ∂C = ∂A B + A ∂B, Ā = C̄ Bᴴ and B̄ = Aᴴ C̄ (the adjoints under
Re⟨·,·⟩; Bᴴ = Bᵀ on real operands, at no cost), with 1-D operands promoted to
matrices as NumPy does and batch dimensions summed back (and a real operand's
cotangent the real part).

`einsum` is linear in each operand, so its JVP puts the tangent in the
operand's place, and the VJP of operand k is again an einsum: the output
cotangent contracted with the other operands onto operand k's subscripts
(indices only operand k carries are broadcast back with a ones operand, a
repeated index `ii` is put back on the diagonal with an identity operand).
`dot`, `tensordot`, `inner`, `outer`, `vdot` and `kron` are composites.
"""

from __future__ import annotations

import string
from typing import Any

import numpy as np

from .._core.primitive import Primitive, bilinear
from .._core.trace import bind
from .._core.zeros import full
from .._interpreters import taylor
from ._batch_axes import batch_size, front, shape_of
from ._util import conj, unbroadcast
from .shape import reshape_p, transpose_p


def _mT(x: Any) -> Any:
    """Swap the last two axes."""
    n = x.ndim
    return bind(transpose_p, x, axes=(*range(n - 2), n - 1, n - 2))


def _mH(x: Any) -> Any:
    """The conjugate transpose of the last two axes (the transpose on real x, at no cost)."""
    return conj(_mT(x))


def _expand(x: Any, axis: int) -> Any:
    shape = list(x.shape)
    shape.insert(axis % (len(shape) + 1), 1)
    return bind(reshape_p, x, shape=tuple(shape))


matmul_p = Primitive("matmul", np.matmul)


def _promote(a: Any, b: Any, g: Any) -> tuple[Any, Any, Any]:
    """1-D operands as matrices, with the cotangent reshaped to match."""
    if a.ndim == 1:
        a = bind(reshape_p, a, shape=(1, a.shape[0]))
        g = _expand(g, -2 if b.ndim > 1 else -1)
    if b.ndim == 1:
        b = bind(reshape_p, b, shape=(b.shape[0], 1))
        g = _expand(g, -1)
    return a, b, g


def _matmul_vjp_a(g: Any, ans: Any, a: Any, b: Any) -> Any:
    a2, b2, g2 = _promote(a, b, g)
    ct = bind(matmul_p, g2, _mH(b2))
    if a.ndim == 1:
        ct = bind(reshape_p, unbroadcast(ct, (1, a.shape[0]), a.dtype), shape=a.shape)
    return unbroadcast(ct, a.shape, a.dtype)


def _matmul_vjp_b(g: Any, ans: Any, a: Any, b: Any) -> Any:
    if b.ndim == 1 and a.ndim == 2:  # matrix-vector: Aᴴ g, with no reshapes (which cost
        return unbroadcast(bind(matmul_p, _mH(a), g), b.shape, b.dtype)  # Dask rechunks)
    a2, b2, g2 = _promote(a, b, g)
    ct = bind(matmul_p, _mH(a2), g2)
    if b.ndim == 1:
        ct = bind(reshape_p, unbroadcast(ct, (b.shape[0], 1), b.dtype), shape=b.shape)
    return unbroadcast(ct, b.shape, b.dtype)


bilinear(matmul_p, _matmul_vjp_a, _matmul_vjp_b)


def _matmul_batch(vals: list[Any], dims: list[int | None]) -> Any:
    """NumPy's matmul broadcasts over leading axes; a batched 1-D operand is
    promoted to a matrix first and the unit axis dropped afterwards."""
    (a, b), (da, db) = vals, dims
    sa = shape_of(a)[:da] + shape_of(a)[da + 1:] if da is not None else shape_of(a)
    sb = shape_of(b)[:db] + shape_of(b)[db + 1:] if db is not None else shape_of(b)
    size = batch_size(vals, dims)
    # per-example stack axes of each operand; batched operands get unit stack
    # axes after the batch axis so that all stack axes line up
    lead = max(len(sa) - 2, len(sb) - 2, 0)
    if da is not None:
        a = front(a, da)
        ea = (1, sa[0]) if len(sa) == 1 else sa
        a = bind(reshape_p, a, shape=(size, *(1,) * (lead - len(ea) + 2), *ea))
    if db is not None:
        b = front(b, db)
        eb = (sb[0], 1) if len(sb) == 1 else sb
        b = bind(reshape_p, b, shape=(size, *(1,) * (lead - len(eb) + 2), *eb))
    if len(sa) == 1 and len(sb) == 1:
        out_shape: tuple[int, ...] = ()
    elif len(sa) == 1:
        out_shape = (*sb[:-2], sb[-1])
    elif len(sb) == 1:
        out_shape = sa[:-1]
    else:
        out_shape = (*np.broadcast_shapes(sa[:-2], sb[:-2]), sa[-2], sb[-1])
    out = bind(matmul_p, a, b)
    return bind(reshape_p, out, shape=(size, *out_shape)), 0


matmul_p.def_batch(_matmul_batch)
taylor.multilinear_jet(matmul_p)  # bilinear: the terms are Cauchy products

# -- einsum ---------------------------------------------------------------------


def _einsum_impl(*operands: Any, subscripts: str, optimize: Any) -> Any:
    return np.einsum(subscripts, *operands, optimize=optimize)


einsum_p = Primitive(
    "einsum", _einsum_impl, family="multilinear",
    notes="subscripts are normalised (explicit output, no ellipsis) by riesz.numpy.einsum",
)


def _split_subscripts(subscripts: str) -> tuple[list[str], str]:
    ins, out = subscripts.split("->")
    return ins.split(","), out


def _einsum_jvp(
    primals: Any, tangents: Any, ans: Any, subscripts: str, optimize: Any
) -> Any:
    out = None
    for k, t in enumerate(tangents):
        if t is None:
            continue
        ops = list(primals)
        ops[k] = t
        c = bind(einsum_p, *ops, subscripts=subscripts, optimize=optimize)
        out = c if out is None else out + c
    return out


def _einsum_operand_ct(
    g: Any, primals: Any, k: int, subscripts: str, optimize: Any
) -> Any:
    """∂einsum*[g] for operand k, as one einsum (see the module docstring)."""
    ins, out = _split_subscripts(subscripts)
    target = ins[k]
    x = primals[k]
    others = [(s, op) for j, (s, op) in enumerate(zip(ins, primals, strict=True)) if j != k]
    seen = set(out).union(*[set(s) for s, _ in others]) if others else set(out)
    used = set(subscripts)
    fresh = (c for c in string.ascii_letters if c not in used)
    subs = [out] + [s for s, _ in others]
    ops = [g] + [conj(op) for _, op in others]
    letters = []
    first: dict[str, str] = {}
    for pos, c in enumerate(target):
        n = x.shape[pos]
        if c in first:  # a repeated index: back onto the diagonal
            new = next(fresh)
            subs.append(first[c] + new)
            ops.append(np.eye(n, dtype=x.dtype))
            letters.append(new)
            continue
        first[c] = c
        letters.append(c)
        if c not in seen:  # summed by this operand alone: broadcast back
            subs.append(c)
            ops.append(full((n,), 1, x.dtype, x))
    spec = ",".join(subs) + "->" + "".join(letters)
    ct = bind(einsum_p, *ops, subscripts=spec, optimize=optimize)
    if ct.dtype != x.dtype:
        ct = unbroadcast(ct, x.shape, x.dtype)
    return ct


def _einsum_vjp(
    g: Any, ans: Any, primals: Any, argnums: Any, subscripts: str, optimize: Any
) -> list[Any]:
    return [_einsum_operand_ct(g, primals, k, subscripts, optimize) for k in argnums]


einsum_p.def_joint_jvp(_einsum_jvp).def_joint_vjp(_einsum_vjp)


def _einsum_batch(vals: list[Any], dims: list[int | None], subscripts: str,
                  optimize: Any) -> Any:
    """A fresh index letter for the batch axis on batched operands and the output."""
    ins, out = subscripts.split("->")
    if "." in subscripts:
        return NotImplemented
    letter = next(c for c in "zyxwvutsrqponmlkjihgfedcbaZYXWVUTSRQPONMLKJIHGFEDCBA"
                  if c not in subscripts)
    terms = ins.split(",")
    moved = []
    for k, (v, d) in enumerate(zip(vals, dims, strict=True)):
        if d is not None:
            terms[k] = letter + terms[k]
            v = front(v, d)
        moved.append(v)
    new = ",".join(terms) + "->" + letter + out
    return bind(einsum_p, *moved, subscripts=new, optimize=optimize), 0


einsum_p.def_batch(_einsum_batch)
taylor.multilinear_jet(einsum_p)  # multilinear: the terms are Cauchy products
