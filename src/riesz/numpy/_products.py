"""Public products: matmul, dot, vdot, inner, outer, tensordot, einsum, kron.

`matmul` and `einsum` bind primitives; the others are reshapes and
transposes around one matmul (as NumPy itself computes them), so they are
as fast as NumPy and their derivatives are the matmul rules.
"""

from __future__ import annotations

import operator
import string
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._core.trace import bind
from .._primitives._util import as_array, check_out
from .._primitives.products import einsum_p, matmul_p
from ._elementwise import _ufunc_options, conjugate, multiply
from ._shape import ravel, reshape, transpose


def matmul(x1: Any, x2: Any, /, out: Any = None, **kwargs: Any) -> Any:
    """`x1 @ x2` with NumPy's rules for 1-D and batched operands (bilinear)."""
    if out is not None or kwargs:
        x1, x2 = _ufunc_options("matmul", (x1, x2), out, kwargs)
    a, b = as_array(x1), as_array(x2)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError("matmul: Input operand does not have enough dimensions")
    return bind(matmul_p, a, b)


def dot(a: Any, b: Any, out: Any = None) -> Any:
    """`numpy.dot`: products of scalars, matrix products for ≤ 2-D operands,
    and a contraction of a's last axis with b's second-to-last otherwise."""
    check_out("dot", out)
    a, b = as_array(a), as_array(b)
    if a.ndim == 0 or b.ndim == 0:
        return multiply(a, b)
    if a.ndim <= 2 and b.ndim <= 2:
        return bind(matmul_p, a, b)
    return tensordot(a, b, axes=([a.ndim - 1], [b.ndim - 2 if b.ndim > 1 else 0]))


def vdot(a: Any, b: Any, /) -> Any:
    """Σ conj(a_i) b_i of the flattened arrays (NumPy's vdot conjugates a)."""
    a = as_array(a)
    return bind(matmul_p, ravel(conjugate(a)), ravel(b))


def inner(a: Any, b: Any, /) -> Any:
    """Contraction over the last axes of a and b."""
    a, b = as_array(a), as_array(b)
    if a.ndim == 0 or b.ndim == 0:
        return multiply(a, b)
    return tensordot(a, b, axes=([a.ndim - 1], [b.ndim - 1]))


def outer(a: Any, b: Any, out: Any = None) -> Any:
    """a_i b_j of the flattened arrays."""
    check_out("outer", out)
    a, b = ravel(a), ravel(b)
    return multiply(reshape(a, (a.shape[0], 1)), reshape(b, (1, b.shape[0])))


def tensordot(a: Any, b: Any, axes: Any = 2) -> Any:
    """Contraction of `axes` of a with `axes` of b: transposes, reshapes and
    one matrix product."""
    a, b = as_array(a), as_array(b)
    if isinstance(axes, (int, np.integer)):
        n = int(axes)
        axes_a = list(range(a.ndim - n, a.ndim))
        axes_b = list(range(n))
    else:
        axes_a, axes_b = axes
        axes_a = [int(axes_a)] if isinstance(axes_a, (int, np.integer)) else list(axes_a)
        axes_b = [int(axes_b)] if isinstance(axes_b, (int, np.integer)) else list(axes_b)
    axes_a = [i % a.ndim for i in axes_a]
    axes_b = [i % b.ndim for i in axes_b]
    if len(axes_a) != len(axes_b) or any(
        a.shape[i] != b.shape[j] for i, j in zip(axes_a, axes_b, strict=True)
    ):
        raise ValueError("shape-mismatch for sum")
    free_a = [i for i in range(a.ndim) if i not in axes_a]
    free_b = [i for i in range(b.ndim) if i not in axes_b]
    k = int(np.prod([a.shape[i] for i in axes_a], dtype=int))
    ma = reshape(transpose(a, free_a + axes_a), (-1, k))
    mb = reshape(transpose(b, axes_b + free_b), (k, -1))
    out_shape = tuple(a.shape[i] for i in free_a) + tuple(b.shape[i] for i in free_b)
    return reshape(bind(matmul_p, ma, mb), out_shape)


def kron(a: Any, b: Any) -> Any:
    """Kronecker product (an outer product with interleaved axes)."""
    a, b = as_array(a), as_array(b)
    nd = max(a.ndim, b.ndim)
    sa = (1,) * (nd - a.ndim) + a.shape
    sb = (1,) * (nd - b.ndim) + b.shape
    ea = reshape(a, tuple(x for n in sa for x in (n, 1)))
    eb = reshape(b, tuple(x for n in sb for x in (1, n)))
    return reshape(multiply(ea, eb), tuple(p * q for p, q in zip(sa, sb, strict=True)))


def _normalize_einsum(subscripts: str, shapes: Sequence[tuple[int, ...]]) -> str:
    """Explicit subscripts without ellipsis: '...' becomes letters, an
    implicit output becomes NumPy's (ellipsis axes, then the letters that
    appear once, in alphabetical order), and a size-1 ellipsis axis that
    broadcasts gets a letter of its own (summed, i.e. broadcast)."""
    subscripts = subscripts.replace(" ", "")
    if "->" in subscripts:
        ins, out = subscripts.split("->")
        explicit = True
    else:
        ins, out, explicit = subscripts, "", False
    terms = ins.split(",")
    if len(terms) != len(shapes):
        raise ValueError("einsum: the number of operands does not match the subscripts")
    used = set(subscripts) - set(".,->")
    fresh = iter(c for c in string.ascii_letters if c not in used)
    ell_ndim = 0
    for t, s in zip(terms, shapes, strict=True):
        if "..." in t:
            ell_ndim = max(ell_ndim, len(s) - (len(t) - 3))
    ell = [next(fresh) for _ in range(ell_ndim)]
    ell_size = [1] * ell_ndim
    for t, s in zip(terms, shapes, strict=True):
        if "..." in t:
            k = len(s) - (len(t) - 3)
            start = t.index("...")
            for j in range(k):
                n = s[start + j]
                pos = ell_ndim - k + j
                if n != 1:
                    ell_size[pos] = n
    new_terms = []
    for t, s in zip(terms, shapes, strict=True):
        if "..." in t:
            k = len(s) - (len(t) - 3)
            start = t.index("...")
            letters = []
            for j in range(k):
                pos = ell_ndim - k + j
                broadcasting = s[start + j] == 1 and ell_size[pos] != 1
                letters.append(next(fresh) if broadcasting else ell[pos])
            t = t.replace("...", "".join(letters))
        if len(t) != len(s):
            raise ValueError(f"einsum: operand of shape {s} does not match subscripts {t!r}")
        new_terms.append(t)
    if explicit:
        out = out.replace("...", "".join(ell))
    else:
        counts: dict[str, int] = {}
        for t in terms:
            for c in t.replace("...", ""):
                counts[c] = counts.get(c, 0) + 1
        out = "".join(ell) + "".join(sorted(c for c, n in counts.items() if n == 1))
    return ",".join(new_terms) + "->" + out


def _sublist_to_subscripts(args: Sequence[Any]) -> tuple[Any, ...]:
    """NumPy's operand/sublist form einsum(a, [0, 1], b, [1, 2], [0, 2]) as the
    subscripts form ('ab,bc->ac', a, b); Ellipsis in a sublist is '...'."""
    args = list(args)
    out = args.pop() if len(args) % 2 else None
    letters = string.ascii_letters

    def term(sub: Any) -> str:
        chars = []
        for s in sub:
            if s is Ellipsis:
                chars.append("...")
            else:
                i = operator.index(s)
                if not 0 <= i < len(letters):
                    raise ValueError(f"einsum: subscript {i} is not in [0, {len(letters)})")
                chars.append(letters[i])
        return "".join(chars)

    ops, subs = args[0::2], args[1::2]
    spec = ",".join(term(s) for s in subs)
    if out is not None:
        spec += "->" + term(out)
    return (spec, *ops)


def einsum(*operands: Any, out: Any = None, optimize: Any = False, **kwargs: Any) -> Any:
    """`numpy.einsum(subscripts, *operands)`: multilinear, and every JVP and
    VJP is again an einsum."""
    check_out("einsum", out)
    for key in ("dtype", "order", "casting"):
        if kwargs.pop(key, None) not in (None, "K", "safe"):
            raise NotImplementedError(f"einsum: {key}= is not supported")
    if kwargs:
        raise TypeError(f"einsum: unexpected keyword arguments {sorted(kwargs)}")
    if not operands:
        raise ValueError("einsum: no operands given")
    if not isinstance(operands[0], str):
        operands = _sublist_to_subscripts(operands)
    subscripts, arrays = operands[0], [as_array(x) for x in operands[1:]]
    spec = _normalize_einsum(subscripts, [x.shape for x in arrays])
    if optimize is True:
        optimize = "greedy"
    return bind(einsum_p, *arrays, subscripts=spec, optimize=optimize)

