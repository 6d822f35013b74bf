"""Linear maps between inner-product spaces.

A `LinearMap` is a function A: X -> Y known to be linear, together with its
domain X and codomain Y. Two "transposes" are kept apart:

* `A.T`, the metric-free transpose (the dual map): it takes a covector c of Y
  to the covector of X with pair(Aᵀ c, u) = pair(c, A u). For a map built from
  a function it is obtained by reverse mode (a VJP of a linear function is its
  transpose, at any point), so no map needs its transpose written by hand.
* `A.adjoint`, the adjoint under both spaces' inner products, ⟨A u, v⟩_Y =
  ⟨u, A* v⟩_X. It is derived from `A.T` and the spaces alone:
  A* = riesz_X ∘ Aᵀ ∘ lower_Y, i.e. W_X⁻¹ Aᵀ W_Y for weighted spaces.

Sums, differences, scalar multiples and compositions are LinearMaps whose
transposes are assembled from the parts. `materialize` builds the array of a
map by applying it to basis vectors (Figure E1.2 of the chapter).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, final

import numpy as np

from . import numpy as rnp
from ._core.trace import Tracer
from .spaces import Euclidean, Space, space_of

__all__ = ["LinearMap", "LinearMaps", "identity", "rank1"]


def _is_scalar(a: Any) -> bool:
    if isinstance(a, Tracer):
        return a.shape == ()
    return isinstance(a, (int, float, np.integer, np.floating)) or (
        isinstance(a, np.ndarray) and a.shape == ())


@final
class LinearMap:
    """A linear map `fn` from `domain` to `codomain` (both `Space`s).

    `transpose`, if given, is the metric-free transpose as a function of a
    codomain covector; otherwise it is derived from `fn` by reverse mode the
    first time it is needed. `A(u)` applies the map; `A(u, v)` applies a map
    whose values are maps (a bilinear map, e.g. a second derivative) twice."""

    __slots__ = ("fn", "domain", "codomain", "_transpose", "name")
    __array_ufunc__ = None  # `array * A` and `array @ A` defer to LinearMap's reflected methods

    def __init__(self, fn: Callable[[Any], Any], domain: Space, codomain: Space, *,
                 transpose: Callable[[Any], Any] | None = None, name: str | None = None):
        if not callable(fn):
            raise TypeError(f"LinearMap: fn must be callable, got {type(fn).__name__}")
        for what, s in (("domain", domain), ("codomain", codomain)):
            if not isinstance(s, Space):
                raise TypeError(f"LinearMap: {what} must be a riesz.spaces.Space, got "
                                f"{type(s).__name__}")
        self.fn = fn
        self.domain = domain
        self.codomain = codomain
        self._transpose = transpose
        self.name = name or getattr(fn, "__name__", "A")

    # -- application ------------------------------------------------------------
    def __call__(self, u: Any, *more: Any) -> Any:
        if more:
            inner = self(u)
            if not isinstance(inner, LinearMap):
                raise TypeError(f"{self.name}: applied to {1 + len(more)} arguments, but its "
                                "values are not linear maps")
            return inner(*more)
        self._check_input(u)
        return self.fn(u)

    def _check_input(self, u: Any) -> None:
        shape = self.domain.shape
        if shape is not None:
            got = tuple(u.shape) if hasattr(u, "shape") else np.shape(u)
            if got != shape:
                raise ValueError(f"{self.name}: input has shape {got}, but the domain "
                                 f"{self.domain!r} holds shape {shape}")

    @property
    def shape(self) -> tuple[int, ...] | None:
        """codomain.shape + domain.shape (None when either is a container space)."""
        if self.codomain.shape is None or self.domain.shape is None:
            return None
        return self.codomain.shape + self.domain.shape

    # -- transposes --------------------------------------------------------------
    def _transpose_fn(self) -> Callable[[Any], Any]:
        if self._transpose is None:
            if isinstance(self.codomain, LinearMaps):
                raise NotImplementedError(
                    f"{self.name}: the transpose of a map whose values are linear maps "
                    "(a bilinear map) is not available; apply it to a vector first")
            self._transpose = _transpose_by_vjp(self.fn, self.domain)
        return self._transpose

    @property
    def T(self) -> LinearMap:
        """The metric-free transpose Aᵀ: covectors of the codomain -> covectors of
        the domain, pair(Aᵀ c, u) = pair(c, A u)."""
        return LinearMap(self._transpose_fn(), self.codomain.ambient(), self.domain.ambient(),
                         transpose=self.fn, name=f"{self.name}.T")

    @property
    def adjoint(self) -> LinearMap:
        """The adjoint A* under the domain's and codomain's inner products:
        ⟨A u, v⟩ = ⟨u, A* v⟩, A* = riesz_domain ∘ Aᵀ ∘ lower_codomain."""
        t = self._transpose_fn()
        dom, cod, fn = self.domain, self.codomain, self.fn

        def adjoint_fn(v: Any) -> Any:
            return dom.riesz(t(cod.lower(v)))

        def adjoint_transpose(c: Any) -> Any:  # (R Aᵀ L)ᵀ = L A R, R and L symmetric
            return cod.lower(fn(dom.riesz(c)))

        return LinearMap(adjoint_fn, cod, dom, transpose=adjoint_transpose,
                         name=f"{self.name}.adjoint")

    def riesz(self) -> Any:
        """For a linear functional (codomain R): the vector g in the domain with
        A(u) = ⟨g, u⟩, the gradient; `A.T(1.0)` is the covector itself."""
        if self.codomain.shape != ():
            raise ValueError(f"{self.name}.riesz(): only a linear functional (codomain of shape "
                             f"()) has a Riesz representer; this map's codomain is "
                             f"{self.codomain!r}")
        return self.domain.riesz(self._transpose_fn()(np.ones((), self.codomain.dtype)))

    def with_spaces(self, domain: Space | None = None, codomain: Space | None = None) -> LinearMap:
        """The same map between other spaces with the same storage (other geometry)."""
        dom = self.domain if domain is None else domain
        cod = self.codomain if codomain is None else codomain
        for what, new, old in (("domain", dom, self.domain), ("codomain", cod, self.codomain)):
            if new.ambient() != old.ambient():
                raise ValueError(f"with_spaces: {what} {new!r} does not store the same arrays "
                                 f"as {old!r}")
        return LinearMap(self.fn, dom, cod, transpose=self._transpose, name=self.name)

    # -- algebra -------------------------------------------------------------------
    def __matmul__(self, other: Any) -> Any:
        if not isinstance(other, LinearMap):
            return self(other)
        if other.codomain != self.domain:
            raise ValueError(
                f"cannot compose {self.name} @ {other.name}: {other.name} maps into "
                f"{other.codomain!r} but {self.name} is defined on {self.domain!r} (use "
                ".with_spaces to reinterpret a map between spaces with the same storage)")
        a, b = self, other

        def composed(u: Any) -> Any:
            return a.fn(b.fn(u))

        def composed_t(c: Any) -> Any:
            return b._transpose_fn()(a._transpose_fn()(c))

        return LinearMap(composed, b.domain, a.codomain, transpose=composed_t,
                         name=f"({a.name} @ {b.name})")

    def __add__(self, other: Any) -> LinearMap:
        return self._combine(other, 1.0, "+")

    def __sub__(self, other: Any) -> LinearMap:
        return self._combine(other, -1.0, "-")

    def _combine(self, other: Any, sign: float, op: str) -> LinearMap:
        if not isinstance(other, LinearMap):
            return NotImplemented
        if other.domain != self.domain or other.codomain != self.codomain:
            raise ValueError(
                f"cannot compute {self.name} {op} {other.name}: they map {self.domain!r} -> "
                f"{self.codomain!r} and {other.domain!r} -> {other.codomain!r}")
        a, b, cod, dom = self, other, self.codomain, self.domain
        dom_amb = dom.ambient()

        def summed(u: Any) -> Any:
            return cod.add(a.fn(u), cod.scale(sign, b.fn(u)))

        def summed_t(c: Any) -> Any:
            return dom_amb.add(a._transpose_fn()(c), dom_amb.scale(sign, b._transpose_fn()(c)))

        return LinearMap(summed, dom, cod, transpose=summed_t, name=f"({a.name} {op} {b.name})")

    def __mul__(self, c: Any) -> LinearMap:
        if isinstance(c, LinearMap) or not _is_scalar(c):
            raise TypeError("LinearMaps can only be multiplied by scalars; use @ to compose "
                            "maps or to apply one to a vector")
        a, cod, dom_amb = self, self.codomain, self.domain.ambient()

        def scaled(u: Any) -> Any:
            return cod.scale(c, a.fn(u))

        def scaled_t(v: Any) -> Any:
            return dom_amb.scale(c, a._transpose_fn()(v))

        return LinearMap(scaled, self.domain, cod, transpose=scaled_t, name=f"{c!r}*{a.name}")

    __rmul__ = __mul__

    def __truediv__(self, c: Any) -> LinearMap:
        return self * (1.0 / c)

    def __neg__(self) -> LinearMap:
        return self * -1.0

    def __pos__(self) -> LinearMap:
        return self

    # -- constructors ----------------------------------------------------------------
    @classmethod
    def from_matrix(cls, M: Any, domain: Space | None = None,
                    codomain: Space | None = None) -> LinearMap:
        """The map u ↦ M u, with M of shape codomain.shape + domain.shape (or
        (codomain.size, domain.size)). Without spaces, M is a matrix between
        Euclidean spaces R^m -> R^n."""
        M = np.asarray(M, dtype=np.float64)
        if domain is None or codomain is None:
            if M.ndim != 2:
                raise ValueError(f"from_matrix: M has shape {M.shape}; pass domain and codomain "
                                 "for arrays that are not matrices")
            domain = domain or Euclidean((M.shape[1],))
            codomain = codomain or Euclidean((M.shape[0],))
        if M.size != codomain.size * domain.size:
            raise ValueError(f"from_matrix: M has shape {M.shape}, which does not fit {codomain!r}"
                             f" x {domain!r}")
        M2 = M.reshape(codomain.size, domain.size)
        M2T = np.ascontiguousarray(M2.T)

        def matvec(u: Any) -> Any:
            return codomain.unflatten(M2 @ domain.flatten(u))

        def rmatvec(c: Any) -> Any:
            return domain.ambient().unflatten(M2T @ codomain.ambient().flatten(c))

        return cls(matvec, domain, codomain, transpose=rmatvec, name="M")

    @staticmethod
    def identity(space: Space) -> LinearMap:
        """The identity map of `space`."""
        return identity(space)

    @staticmethod
    def rank1(y: Any, v: Any, domain: Space | None = None,
              codomain: Space | None = None) -> LinearMap:
        """x ↦ ⟨v, x⟩ y (see `riesz.rank1`)."""
        return rank1(y, v, domain, codomain)

    # -- materialisation ----------------------------------------------------------------
    def materialize(self, basis: Sequence[Any] | str | None = None, *,
                    out_basis: Sequence[Any] | str | None = None) -> Any:
        """The array of the map, by applying it to basis vectors.

        With no basis: shape codomain.shape + domain.shape in the standard bases
        (entry [i..., j...] is component i of A(e_j)); for container spaces a
        matrix (codomain.size, domain.size) over the flattened coordinates.
        With `basis` (a sequence of domain vectors, or "orthonormal" for the
        domain's orthonormal basis): the matrix M with A(b_j) = Σ_i M_ij c_i in
        the codomain basis `out_basis` (by default: "orthonormal" again if
        `basis` is "orthonormal", the same vectors when domain and codomain are
        equal, else the codomain's standard basis). In orthonormal bases the
        adjoint's matrix is the transpose of this one."""
        if basis is None and out_basis is None:
            M = columns(self.fn, self.domain, self.codomain)
            if self.shape is None:
                return M
            return rnp.reshape(M, self.shape)
        in_b = _resolve_basis(self.domain, basis)
        if out_basis is None and (isinstance(basis, str) or self.domain == self.codomain):
            out_basis = basis
        outs = [self.fn(b) for b in in_b]
        if out_basis is None:
            return _stack([self.codomain.flatten(y) for y in outs], self.codomain.size, axis=1)
        return self.codomain.coordinates(outs, _resolve_basis(self.codomain, out_basis))

    def __repr__(self) -> str:
        return f"LinearMap({self.name}: {self.domain!r} -> {self.codomain!r})"


def _resolve_basis(space: Space, basis: Sequence[Any] | str | None) -> list[Any]:
    if basis is None:
        return list(space.standard_basis())
    if isinstance(basis, str):
        if basis == "orthonormal":
            return space.orthonormal_basis()
        if basis == "standard":
            return list(space.standard_basis())
        raise ValueError(f"materialize: unknown basis {basis!r} (use 'orthonormal', "
                         "'standard', or a sequence of vectors)")
    return list(basis)


def columns(fn: Callable[[Any], Any], domain: Space, codomain: Space) -> Any:
    """The matrix (codomain.size, domain.size) whose column j is the flattened
    fn(e_j) for the domain's standard basis e_j: one vectorised call of fn on the
    whole basis (vmap). A function vmap cannot batch (it leaves riesz's
    operations) is applied to one basis vector at a time instead."""
    from .transforms import vmap

    def column(v: Any) -> Any:
        return codomain.flatten(fn(domain.unflatten(v)))

    basis = np.eye(domain.size, dtype=getattr(domain, "dtype", np.float64))
    if domain.size == 0:
        return np.zeros((codomain.size, 0))
    try:
        rows = vmap(column)(basis)
    except (NotImplementedError, TypeError):
        rows = _stack([column(e) for e in basis], codomain.size, axis=0)
    return rnp.transpose(rows) if isinstance(rows, Tracer) else np.asarray(rows).T


def _stack(vecs: list[Any], length: int, axis: int) -> Any:
    """Stack 1-D arrays of `length` as the columns (axis=1) or rows (axis=0) of a
    matrix, with riesz ops when any is traced (so materialisation is differentiable)."""
    if not vecs:
        return np.zeros((length, 0) if axis == 1 else (0, length))
    if any(isinstance(v, Tracer) for v in vecs):
        return rnp.stack(vecs, axis=axis)
    return np.stack([np.asarray(v) for v in vecs], axis=axis)


def _transpose_by_vjp(fn: Callable[[Any], Any], domain: Space) -> Callable[[Any], Any]:
    """The transpose of the linear `fn` by reverse mode at 0 (any point would do)."""
    from .transforms import vjp

    _, pull = vjp(fn, domain.zeros())

    def transpose_by_vjp(c: Any) -> Any:
        return pull(c)[0]

    return transpose_by_vjp


def identity(space: Space) -> LinearMap:
    """The identity map of `space` (its transpose is the identity of the covectors)."""

    def identity_fn(u: Any) -> Any:
        return u

    return LinearMap(identity_fn, space, space, transpose=identity_fn, name="I")


def rank1(y: Any, v: Any, domain: Space | None = None, codomain: Space | None = None) -> LinearMap:
    """The rank-one map x ↦ ⟨v, x⟩ y, with ⟨·,·⟩ the domain's inner product
    (default spaces: those of v and y). Its transpose is c ↦ pair(c, y) lower(v)."""
    dom = domain or space_of(v)
    cod = codomain or space_of(y)
    dom.check(v, "rank1: v")
    cod.check(y, "rank1: y")
    v_low = dom.lower(v)
    cod_amb = cod.ambient()
    dom_amb = dom.ambient()

    def rank1_fn(x: Any) -> Any:
        return cod.scale(dom.inner(v, x), y)

    def rank1_t(c: Any) -> Any:
        return dom_amb.scale(cod_amb.pair(c, y), v_low)

    return LinearMap(rank1_fn, dom, cod, transpose=rank1_t, name="rank1")


@final
class LinearMaps(Space):
    """The space of linear maps `domain` -> `codomain` (the codomain of a second
    derivative), with the Hilbert–Schmidt product ⟨A, B⟩ = Σ_j ⟨A e_j, B e_j⟩
    over an orthonormal basis e of the domain. Elements are LinearMaps; their
    coordinates are their materialised arrays."""

    def __init__(self, domain: Space, codomain: Space):
        self.map_domain = domain
        self.map_codomain = codomain
        cs, ds = codomain.shape, domain.shape
        self.shape = None if cs is None or ds is None else cs + ds

    @property
    def dim(self) -> int:
        return self.map_domain.dim * self.map_codomain.dim

    @property
    def size(self) -> int:
        return self.map_domain.size * self.map_codomain.size

    def zeros(self) -> LinearMap:
        dom, cod = self.map_domain, self.map_codomain

        def zero_map(u: Any) -> Any:
            return cod.zeros()

        def zero_map_t(c: Any) -> Any:
            return dom.ambient().zeros()

        return LinearMap(zero_map, dom, cod, transpose=zero_map_t, name="0")

    def add(self, x: LinearMap, y: LinearMap) -> LinearMap:
        return x + y

    def scale(self, a: Any, x: LinearMap) -> LinearMap:
        return a * x

    def inner(self, x: LinearMap, y: LinearMap) -> Any:
        total = np.float64(0.0)
        for e in self.map_domain.orthonormal_basis():
            total = total + self.map_codomain.inner(x(e), y(e))
        return total

    def basis(self) -> Iterator[LinearMap]:
        for e in self.map_domain.basis():
            for f in self.map_codomain.basis():
                yield rank1(f, e, self.map_domain, self.map_codomain)

    def riesz(self, covector: Any) -> Any:
        raise NotImplementedError("LinearMaps.riesz: covectors of spaces of maps are not "
                                  "represented; materialise the map instead")

    def lower(self, x: Any) -> Any:
        raise NotImplementedError("LinearMaps.lower: covectors of spaces of maps are not "
                                  "represented; materialise the map instead")

    def random(self, rng: np.random.Generator) -> LinearMap:
        M = rng.standard_normal((self.map_codomain.size, self.map_domain.size))
        return LinearMap.from_matrix(M, self.map_domain, self.map_codomain)

    def flatten(self, x: LinearMap) -> Any:
        M = x.materialize()
        return rnp.reshape(M, (self.size,))

    def unflatten(self, v: Any) -> LinearMap:
        return LinearMap.from_matrix(np.asarray(v), self.map_domain, self.map_codomain)

    def ambient(self) -> Space:
        return self

    def _why_not(self, x: Any) -> str | None:
        if not isinstance(x, LinearMap):
            return f"expected a LinearMap, got {type(x).__name__}"
        if x.domain != self.map_domain or x.codomain != self.map_codomain:
            return f"it maps {x.domain!r} -> {x.codomain!r}"
        return None

    def _key(self) -> tuple[Any, ...]:
        return (self.map_domain, self.map_codomain)

    def __repr__(self) -> str:
        return f"LinearMaps({self.map_domain!r} -> {self.map_codomain!r})"
