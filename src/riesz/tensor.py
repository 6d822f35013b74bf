"""Tensors: arrays that know how their indices change under a change of basis.

An array is not a tensor until it says how each index transforms (§1.4.3 of the
chapter). `Tensor(array, kinds)` records one kind per axis:

* ``"co"``, a covariant index: an *input slot* (a linear functional's index, a
  bilinear form's two indices, a linear map's input index);
* ``"contra"``, a contravariant index: a *vector component* / output slot.

A change of basis replaces the basis E (columns e_j) by the columns of E C, i.e.
e'_j = Σ_i C_ij e_i. A vector x = E u = (E C) u' has new coordinates u' = C⁻¹ u;
a functional's values v(e'_j) = Σ_i v_i C_ij give v' = Cᵀ v. Every index follows
one of these two rules, so for a tensor with kinds (contra, ..., co, ...)

    T'^{i..}_{j..} = Σ (C⁻¹)_{i a} ... T^{a..}_{b..} ... C_{b j}

e.g. bilinear forms W' = Cᵀ W C and linear maps A' = C⁻¹ A C. The chapter's type
(m, p) counts m input (co) and p output (contra) indices: `Tensor.type`.

Everything here is built from `riesz.numpy` operations (einsum, solve), so it is
differentiable in the tensor's array and in C, in every mode.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, final

import numpy as np

from . import numpy as rnp
from ._core.trace import Tracer, raw_value
from .linear import LinearMap, LinearMaps, _is_scalar
from .spaces import Space

__all__ = ["KINDS", "Tensor", "contract", "einsum", "tensor_product", "tensordot"]

KINDS = ("co", "contra")
_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def einsum(subscripts: str, *operands: Any, **kwargs: Any) -> Any:
    """`riesz.numpy.einsum`: differentiable, any number of operands, JVP and VJP
    are einsums. It works on arrays; for a `Tensor` pass `T.array` (einsum does
    not track kinds — use `tensordot` / `contract` for kind-checked contractions).

    Examples
    --------
    >>> a = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> print(riesz.tensor.einsum("ij,j->i", a, np.array([1.0, 1.0])))
    [3. 7.]

    Raises
    ------
    TypeError
        If an operand is a `Tensor` (pass `T.array`).
    """
    for k, x in enumerate(operands):
        if isinstance(x, Tensor):
            raise TypeError(f"einsum: operand {k} is a Tensor; einsum works on arrays (pass "
                            "T.array), or use riesz.tensor.tensordot / contract, which check "
                            "that each contraction pairs a co index with a contra index")
    return rnp.einsum(subscripts, *operands, **kwargs)


def _letters(n: int) -> str:
    if n > len(_LETTERS):
        raise ValueError(f"tensors of order above {len(_LETTERS)} are not supported by einsum")
    return _LETTERS[:n]


def _shape(x: Any) -> tuple[int, ...]:
    return tuple(x.shape) if hasattr(x, "shape") else np.shape(x)


def _as_array(x: Any, who: str) -> Any:
    """A float array (or tracer) from an array-like; Tensors are refused."""
    if isinstance(x, Tensor):
        raise TypeError(f"{who}: got a Tensor where an array was expected (pass .array to "
                        "drop its kinds)")
    if isinstance(x, Tracer):
        return x
    a = np.asarray(x)
    if a.dtype.kind in "biu":
        return a.astype(np.float64)
    if a.dtype.kind not in "fc":
        raise TypeError(f"{who}: expected a numeric array, got dtype {a.dtype}")
    return a


def _check_kinds(kinds: Any, ndim: int, who: str) -> tuple[str, ...]:
    if isinstance(kinds, str):
        kinds = (kinds,)
    try:
        kinds = tuple(kinds)
    except TypeError:
        raise TypeError(f"{who}: kinds must be a sequence of 'co' / 'contra', got "
                        f"{type(kinds).__name__}") from None
    for k, kind in enumerate(kinds):
        if kind not in KINDS:
            raise ValueError(f"{who}: kinds[{k}] is {kind!r}; each kind is 'co' (covariant, an "
                             "input slot) or 'contra' (contravariant, a vector component)")
    if len(kinds) != ndim:
        raise ValueError(f"{who}: kinds has {len(kinds)} entries {kinds} but the array has "
                         f"{ndim} axes; give one kind per axis")
    return kinds


def _axis(i: Any, ndim: int, who: str, what: str = "axis") -> int:
    if not isinstance(i, (int, np.integer)) or isinstance(i, bool):
        raise TypeError(f"{who}: {what} must be an integer, got {i!r}")
    if not -ndim <= i < ndim:
        raise ValueError(f"{who}: {what} {i} is out of range for a tensor of order {ndim}")
    return int(i) % ndim


@final
class Tensor:
    """An array with one kind ("co" or "contra") per axis; see the module docstring.

    `T.array`, `T.kinds`, `T.shape`, `T.order`, `T.type` = (m, p) = (#co, #contra).
    Tensors of the same kinds and shape add and subtract; scalars scale them.
    `T(u, v, ...)` fills T's co slots with vectors (a form's value, a map's image).
    Tensors are not pytrees: differentiate with respect to `T.array`.

    Examples
    --------
    >>> M = riesz.tensor.Tensor(np.array([[1.0, 2.0], [3.0, 4.0]]), ("contra", "co"))
    >>> print(M.type, M(np.array([1.0, 0.0])).array)  # a (1, 1) tensor maps vectors
    (1, 1) [1. 3.]

    Raises
    ------
    TypeError
        If `array` is a Tensor or not numeric, or `kinds` is not a sequence of kinds.
    ValueError
        If a kind is not "co" / "contra" or their number differs from the array's rank.
    """

    __slots__ = ("array", "kinds")
    __array_ufunc__ = None  # `ndarray + T` must not silently drop the kinds

    def __init__(self, array: Any, kinds: Sequence[str] | str):
        if isinstance(array, Tensor):
            raise TypeError("Tensor: array is already a Tensor; to relabel its indices pass "
                            "T.array explicitly")
        a = _as_array(array, "Tensor")
        self.array = a
        self.kinds = _check_kinds(kinds, len(_shape(a)), "Tensor")

    @classmethod
    def _make(cls, array: Any, kinds: tuple[str, ...]) -> Tensor:
        t = object.__new__(cls)
        t.array, t.kinds = array, kinds
        return t

    # -- description ---------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return _shape(self.array)

    @property
    def order(self) -> int:
        """The number of indices, m + p."""
        return len(self.kinds)

    ndim = order

    @property
    def type(self) -> tuple[int, int]:
        """(m, p): m covariant (input) and p contravariant (output) indices."""
        m = sum(k == "co" for k in self.kinds)
        return m, len(self.kinds) - m

    def __repr__(self) -> str:
        return f"Tensor({self.array!r}, kinds={self.kinds!r})  # type {self.type}"

    def __float__(self) -> float:
        if self.order:
            raise TypeError(f"float() of a Tensor of order {self.order}; only order 0 (a "
                            "scalar) converts")
        return float(self.array)

    # -- arithmetic ------------------------------------------------------------------
    def _same(self, other: Any, op: str) -> Tensor:
        if not isinstance(other, Tensor):
            raise TypeError(f"Tensor {op} {type(other).__name__}: both operands must be Tensors "
                            "(an array has no kinds; wrap it as Tensor(array, kinds))")
        if other.kinds != self.kinds or other.shape != self.shape:
            raise ValueError(f"Tensor {op} Tensor: kinds/shapes differ, {self.kinds} {self.shape}"
                             f" vs {other.kinds} {other.shape}; only tensors of one type add")
        return other

    def __add__(self, other: Any) -> Tensor:
        return Tensor._make(self.array + self._same(other, "+").array, self.kinds)

    def __sub__(self, other: Any) -> Tensor:
        return Tensor._make(self.array - self._same(other, "-").array, self.kinds)

    def __mul__(self, c: Any) -> Tensor:
        if isinstance(c, Tensor) or not _is_scalar(c):
            raise TypeError("Tensors multiply by scalars only; use tensor_product, tensordot "
                            "or contract for products of tensors")
        return Tensor._make(self.array * c, self.kinds)

    __rmul__ = __mul__

    def __truediv__(self, c: Any) -> Tensor:
        if isinstance(c, Tensor) or not _is_scalar(c):
            raise TypeError("Tensors divide by scalars only")
        return Tensor._make(self.array / c, self.kinds)

    def __neg__(self) -> Tensor:
        return Tensor._make(-self.array, self.kinds)

    def __pos__(self) -> Tensor:
        return self

    def transpose(self, axes: Sequence[int] | None = None) -> Tensor:
        """The axes permuted (reversed by default); each kind travels with its axis."""
        perm = tuple(reversed(range(self.order))) if axes is None else tuple(
            _axis(a, self.order, "transpose") for a in axes)
        if sorted(perm) != list(range(self.order)):
            raise ValueError(f"transpose: axes {axes!r} are not a permutation of "
                             f"{tuple(range(self.order))}")
        return Tensor._make(rnp.transpose(self.array, perm), tuple(self.kinds[a] for a in perm))

    # -- change of basis ---------------------------------------------------------------
    def change_basis(self, C: Any) -> Tensor:
        """The components in the basis whose vectors are the columns of E C.

        Contra indices go by C⁻¹ (u' = C⁻¹ u), co indices by C (v' = Cᵀ v), so
        W' = Cᵀ W C for a bilinear form, A' = C⁻¹ A C for a map, and in general
        T'^{i..}_{j..} = (C⁻¹)_{ia} .. T^{a..}_{b..} .. C_{bj}. All co indices are
        transformed by one einsum; each contra index by a solve with C (no
        explicit inverse). `C` is one (n, n) matrix for every axis, or a sequence
        with one matrix (or None: unchanged) per axis, for tensors over several
        spaces, e.g. A' = C_out⁻¹ A C_in. Differentiable in the array and in C."""
        Cs = self._per_axis(C)
        out = self.array
        nd = self.order
        co = [k for k in range(nd) if self.kinds[k] == "co" and Cs[k] is not None]
        if co:
            if nd + len(co) > len(_LETTERS):
                raise ValueError(f"change_basis: order {nd} is too high for one einsum")
            old, new = _letters(nd), _LETTERS[nd:nd + len(co)]
            result = list(old)
            for k, letter in zip(co, new, strict=True):
                result[k] = letter
            subs = ",".join([old] + [old[k] + letter for k, letter in zip(co, new, strict=True)])
            out = rnp.einsum(f"{subs}->{''.join(result)}", out, *(Cs[k] for k in co))
        for k in range(nd):
            if self.kinds[k] == "contra" and Cs[k] is not None:
                out = _solve_along(Cs[k], out, k)
        return Tensor._make(out, self.kinds)

    def _per_axis(self, C: Any) -> list[Any]:
        nd = self.order
        if isinstance(C, (list, tuple)) and C and all(
                c is None or len(_shape(c)) == 2 for c in C):  # one matrix (or None) per axis
            if len(C) != nd:
                raise ValueError(f"change_basis: got {len(C)} matrices for a tensor of order "
                                 f"{nd}; pass one matrix per axis (None to keep an axis)")
            Cs = [None if c is None else _check_cob(c, f"change_basis: C[{k}]")
                  for k, c in enumerate(C)]
        else:
            Cs = [_check_cob(C, "change_basis: C")] * nd
        for k, (c, n) in enumerate(zip(Cs, self.shape, strict=True)):
            if c is not None and c.shape[0] != n:
                raise ValueError(f"change_basis: axis {k} ({self.kinds[k]!r}) has length {n} but "
                                 f"its change of basis is {c.shape[0]}x{c.shape[1]}; for axes "
                                 "of different lengths pass one matrix per axis")
        return Cs

    # -- applying and relabelling slots -----------------------------------------------------
    def __call__(self, *vectors: Any) -> Any:
        """Fill the co slots, in axis order, with vectors: an array (contravariant
        components) or a Tensor whose kinds are all "contra". An argument of ndim
        r fills the next r co slots (a matrix U fills both input slots of ∂(X²)).
        The result keeps the remaining indices: W(u, v) = uᵀ W v is a value
        (returned as an array of shape ()), A(u) = A u a contra Tensor."""
        co = [k for k, kind in enumerate(self.kinds) if kind == "co"]
        nd = self.order
        old = _letters(nd)
        subs, arrays, used = [old], [self.array], 0
        for n, v in enumerate(vectors):
            if isinstance(v, Tensor):
                if any(kind != "contra" for kind in v.kinds):
                    raise TypeError(f"Tensor call: argument {n} has kinds {v.kinds}; only vectors "
                                    "(all 'contra') fill co slots — a covector must first be "
                                    "turned into a vector by a metric (raise_index)")
                v = v.array
            else:
                v = _as_array(v, "Tensor call")
            r = len(_shape(v))
            if r == 0:
                raise ValueError(f"Tensor call: argument {n} is a scalar; slots take vectors")
            slots = co[used:used + r]
            if len(slots) < r:
                raise ValueError(f"Tensor call: {len(vectors)} arguments need more co slots than "
                                 f"the {len(co)} of a tensor with kinds {self.kinds}")
            want = tuple(self.shape[k] for k in slots)
            if _shape(v) != want:
                raise ValueError(f"Tensor call: argument {n} has shape {_shape(v)}, but it fills "
                                 f"slots {tuple(slots)} of lengths {want}")
            subs.append("".join(old[k] for k in slots))
            arrays.append(v)
            used += r
        filled = set(co[:used])
        rest = [k for k in range(nd) if k not in filled]
        out = rnp.einsum(",".join(subs) + "->" + "".join(old[k] for k in rest), *arrays)
        if not rest:
            return out
        return Tensor._make(out, tuple(self.kinds[k] for k in rest))

    def lower_index(self, i: int, metric: Any) -> Tensor:
        """Turn contra index i into a co index with a metric G (the inverse Riesz
        map, a vector's covector): T'_{..a..} = Σ_b G_ab T^{..b..}."""
        i = _axis(i, self.order, "lower_index", "index")
        if self.kinds[i] != "contra":
            raise ValueError(f"lower_index: index {i} is {self.kinds[i]!r}; only a contra index "
                             "can be lowered")
        G = _metric_array(metric, self.shape[i], "lower_index")
        nd = self.order
        old = _letters(nd)
        new = _LETTERS[nd]
        res = old[:i] + new + old[i + 1:]
        out = rnp.einsum(f"{new}{old[i]},{old}->{res}", G, self.array)
        return Tensor._make(out, self.kinds[:i] + ("co",) + self.kinds[i + 1:])

    def raise_index(self, i: int, metric: Any) -> Tensor:
        """Turn co index i into a contra index with a metric G: the Riesz map,
        g = G⁻¹ c for a covector c (the gradient from a derivative), by a solve."""
        i = _axis(i, self.order, "raise_index", "index")
        if self.kinds[i] != "co":
            raise ValueError(f"raise_index: index {i} is {self.kinds[i]!r}; only a co index can "
                             "be raised")
        G = _metric_array(metric, self.shape[i], "raise_index")
        out = _solve_along(G, self.array, i)
        return Tensor._make(out, self.kinds[:i] + ("contra",) + self.kinds[i + 1:])

    # -- constructors ------------------------------------------------------------------------
    @classmethod
    def identity(cls, n: int) -> Tensor:
        """The (1, 1) tensor δ (the identity map), the same in every basis."""
        return cls._make(np.eye(n), ("contra", "co"))

    @classmethod
    def from_metric(cls, space: Space) -> Tensor:
        """The Gram matrix G_ij = ⟨e_i, e_j⟩ of `space` in its standard basis, a
        (2, 0) tensor (a bilinear form), of shape space.shape + space.shape."""
        if not isinstance(space, Space) or space.shape is None:
            raise TypeError(f"from_metric: expected a space of arrays, got {space!r}")
        G = space.gram(list(space.standard_basis()))
        return cls._make(G.reshape(space.shape + space.shape), ("co",) * (2 * len(space.shape)))

    @classmethod
    def from_linear_map(cls, A: LinearMap, basis: Sequence[Any] | str | None = None, *,
                        out_basis: Sequence[Any] | str | None = None) -> Tensor:
        """A materialised LinearMap (e.g. `derivative(f)(x)`) as a tensor.

        In the standard bases its shape is codomain.shape + domain.shape with
        kinds ("contra",) * codomain.ndim + ("co",) * domain.ndim: ∂(X ↦ X X) is
        the order-4 tensor (contra, contra, co, co) with T(U) = X U + U X. A
        functional (codomain R) gives a covector; a second derivative B (a map of
        maps) gives out + u-slots + v-slots, so that T(u, v) = B(u, v). With a
        `basis` (see LinearMap.materialize) the result is the (1, 1) matrix in it."""
        if not isinstance(A, LinearMap):
            raise TypeError(f"from_linear_map: expected a riesz.LinearMap, got "
                            f"{type(A).__name__}")
        bilinear = isinstance(A.codomain, LinearMaps)
        if basis is not None or out_basis is not None:
            if bilinear:
                raise NotImplementedError(
                    "from_linear_map: a map of maps in a chosen basis is not supported; "
                    "materialise it in the standard basis and use change_basis")
            return cls._make(A.materialize(basis, out_basis=out_basis), ("contra", "co"))
        M = A.materialize()
        cod, dom = A.codomain.shape, A.domain.shape
        if cod is None or dom is None:  # container spaces: a matrix over flattened coordinates
            return cls._make(M, ("contra", "co"))
        if not isinstance(A.codomain, LinearMaps):
            return cls._make(M, ("contra",) * len(cod) + ("co",) * len(dom))
        inner_cod, inner_dom = A.codomain.map_codomain.shape, A.codomain.map_domain.shape
        if inner_cod is None or inner_dom is None:
            raise NotImplementedError("from_linear_map: second derivatives between container "
                                      "spaces are not supported")
        # M[out, v, u] (component out of B(e_u)(e_v)) -> [out, u, v], slots in call order
        p, q, r = len(inner_cod), len(inner_dom), len(dom)
        perm = tuple(range(p)) + tuple(range(p + q, p + q + r)) + tuple(range(p, p + q))
        return cls._make(rnp.transpose(M, perm), ("contra",) * p + ("co",) * (q + r))


def _check_cob(C: Any, who: str) -> Any:
    """A square, finite, non-singular change-of-basis matrix (traced values allowed)."""
    if isinstance(C, Tensor):
        raise TypeError(f"{who} is a Tensor; a change of basis is a plain matrix (its "
                        "columns are the new basis vectors' old coordinates)")
    C = _as_array(C, who)
    shape = _shape(C)
    if len(shape) != 2 or shape[0] != shape[1]:
        raise ValueError(f"{who} has shape {shape}; a change of basis is a square (n, n) "
                         "matrix")
    raw = np.asarray(raw_value(C))
    if not np.all(np.isfinite(raw)):
        raise ValueError(f"{who} has non-finite entries")
    if shape[0]:
        s = np.linalg.svd(raw, compute_uv=False)
        smin, smax = s[..., -1], s[..., 0]
        if np.any(smin <= smax * shape[0] * np.finfo(np.float64).eps) or np.any(smax == 0):
            raise ValueError(f"{who} is singular (singular values from {float(np.max(smax)):.3g} "
                             f"down to {float(np.min(smin)):.3g}): its columns are not a basis")
    return C


def _metric_array(metric: Any, n: int, who: str) -> Any:
    if isinstance(metric, Space):
        metric = Tensor.from_metric(metric)
    if isinstance(metric, Tensor):
        if metric.kinds != ("co", "co"):
            raise ValueError(f"{who}: the metric must be a (2, 0) tensor with kinds ('co', 'co'),"
                             f" got {metric.kinds}")
        metric = metric.array
    G = _as_array(metric, who)
    if _shape(G) != (n, n):
        raise ValueError(f"{who}: the metric has shape {_shape(G)}, expected ({n}, {n})")
    return G


def _solve_along(C: Any, X: Any, k: int) -> Any:
    """C⁻¹ applied to axis k of X, by one solve with many right-hand sides."""
    moved = rnp.moveaxis(X, k, 0)
    shape = _shape(moved)
    flat = rnp.reshape(moved, (shape[0], -1))
    return rnp.moveaxis(rnp.reshape(rnp.linalg.solve(C, flat), shape), 0, k)


def tensor_product(a: Tensor, b: Tensor, *more: Tensor) -> Tensor:
    """a ⊗ b: (a ⊗ b)[i.., j..] = a[i..] b[j..], kinds concatenated (u ⊗ v = u vᵀ).

    Examples
    --------
    >>> u = riesz.tensor.Tensor(np.array([1.0, 2.0]), ("contra",))
    >>> w = riesz.tensor.Tensor(np.array([3.0, 4.0]), ("co",))
    >>> p = riesz.tensor.tensor_product(u, w)
    >>> print(p.kinds, p.array.tolist())
    ('contra', 'co') [[3.0, 4.0], [6.0, 8.0]]
    """
    out = a
    for n, t in enumerate((a, b, *more)):
        if not isinstance(t, Tensor):
            raise TypeError(f"tensor_product: argument {n} is {type(t).__name__}, not a Tensor")
        if n:
            x = rnp.reshape(out.array, out.shape + (1,) * t.order)
            out = Tensor._make(x * t.array, out.kinds + t.kinds)
    return out


def contract(T: Tensor, i: int, j: int) -> Tensor:
    """Σ_a T[.., a (index i), .., a (index j), ..]: the contraction of one co and
    one contra index (the trace of a (1, 1) tensor), a basis-independent
    operation. Pairing two co or two contra indices is refused: the sum would
    change with the basis.

    Examples
    --------
    >>> M = riesz.tensor.Tensor(np.array([[1.0, 2.0], [3.0, 4.0]]), ("contra", "co"))
    >>> print(float(riesz.tensor.contract(M, 0, 1)))  # the trace
    5.0

    Raises
    ------
    ValueError
        If the indices are out of range or of the same kind.
    """
    if not isinstance(T, Tensor):
        raise TypeError(f"contract: expected a Tensor, got {type(T).__name__}")
    i, j = _axis(i, T.order, "contract", "i"), _axis(j, T.order, "contract", "j")
    if i == j:
        raise ValueError(f"contract: i and j are both index {i}")
    _check_pair(T.kinds[i], T.kinds[j], T.shape[i], T.shape[j], f"indices {i} and {j}")
    kinds = tuple(kind for k, kind in enumerate(T.kinds) if k not in (i, j))
    return Tensor._make(rnp.trace(T.array, axis1=i, axis2=j), kinds)


def tensordot(a: Tensor, b: Tensor, axes: Sequence[tuple[int, int]]) -> Tensor:
    """Contract index i of a with index j of b for each pair (i, j) in `axes`
    (each pair one co and one contra index), by one einsum; the remaining
    indices of a then of b. tensordot(a, b, []) is tensor_product(a, b).

    Examples
    --------
    >>> u = riesz.tensor.Tensor(np.array([1.0, 2.0]), ("contra",))
    >>> w = riesz.tensor.Tensor(np.array([3.0, 4.0]), ("co",))
    >>> print(float(riesz.tensor.tensordot(w, u, [(0, 0)])))  # w(u)
    11.0

    Raises
    ------
    ValueError
        If a pair joins two indices of the same kind, or lengths differ.
    """
    for n, t in enumerate((a, b)):
        if not isinstance(t, Tensor):
            raise TypeError(f"tensordot: argument {n} is {type(t).__name__}, not a Tensor")
    la = _letters(a.order + b.order)
    sa, sb = list(la[:a.order]), list(la[a.order:])
    seen_a: set[int] = set()
    seen_b: set[int] = set()
    for pair in axes:
        i, j = pair
        i, j = _axis(i, a.order, "tensordot", "index of a"), _axis(j, b.order, "tensordot",
                                                                 "index of b")
        if i in seen_a or j in seen_b:
            raise ValueError(f"tensordot: an index appears in two pairs of {axes!r}")
        seen_a.add(i)
        seen_b.add(j)
        _check_pair(a.kinds[i], b.kinds[j], a.shape[i], b.shape[j],
                    f"index {i} of a and index {j} of b")
        sb[j] = sa[i]
    out = "".join(s for k, s in enumerate(sa) if k not in seen_a) + "".join(
        s for k, s in enumerate(sb) if k not in seen_b)
    kinds = tuple(kd for k, kd in enumerate(a.kinds) if k not in seen_a) + tuple(
        kd for k, kd in enumerate(b.kinds) if k not in seen_b)
    arr = rnp.einsum(f"{''.join(sa)},{''.join(sb)}->{out}", a.array, b.array)
    return Tensor._make(arr, kinds)


def _check_pair(k1: str, k2: str, n1: int, n2: int, what: str) -> None:
    if k1 == k2:
        raise ValueError(f"contraction of {what}: both are {k1!r}; a contraction pairs one 'co' "
                         "with one 'contra' index (summing two of a kind depends on the basis — "
                         "use a metric, lower_index / raise_index, first)")
    if n1 != n2:
        raise ValueError(f"contraction of {what}: lengths {n1} and {n2} differ")
