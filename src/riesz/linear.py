"""Linear maps between inner-product spaces, with their structure.

A `LinearMap` is a linear A: X -> Y together with its domain X and codomain Y.
Every map applies itself (`mv`) and its metric-free transpose (`tmv`); the
classes below add what their structure makes cheap, and `materialize`,
`diagonal`, `adjoint`, `T` and the direct solve (`factorize`) dispatch on it:

    FunctionMap   a function (what `LinearMap(fn, domain, codomain)` builds);
                  its transpose by reverse mode when none is given
    MatrixMap     u ↦ M u (`LinearMap.from_matrix`): materialising is free, the
                  Euclidean adjoint is Mᵀ, the direct solve factorises M itself
    DiagonalMap   u ↦ d ⊙ u: diagonal, transpose and solve are free
    IdentityMap   its own adjoint in every geometry
    ScaledMap     c A;   SumMap  A + B + ...;   ComposedMap  A @ B (materialises
                  by multiplying the parts' matrices)
    TransposeMap  Aᵀ (reuses A's factorisation, transposed)
    AdjointMap    A* (its adjoint is A again)
    JacobianMap   ∂f(x) recorded once (`linearize`): JVPs and VJPs replay the
                  tape; materialises by forward or reverse mode, whichever is
                  cheaper

Two "transposes" are kept apart:

* `A.T`, the metric-free transpose (the dual map): it takes a covector c of Y
  to the covector of X with pair(Aᵀ c, u) = pair(c, A u).
* `A.adjoint`, the adjoint under both spaces' inner products, ⟨A u, v⟩_Y =
  ⟨u, A* v⟩_X, derived from `A.T` and the spaces alone: A* = riesz_X ∘ Aᵀ ∘
  lower_Y, i.e. W_X⁻¹ Aᵀ W_Y for weighted spaces (Aᵀ itself when both spaces
  are Euclidean).

`solve(A, b, method)` runs a solver object (`riesz.linear_solvers`) on A.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, final

import numpy as np

from . import numpy as rnp
from ._core.trace import Tracer
from .linear_solvers import (
    ComplexFactorization,
    Coordinates,
    DiagonalFactorization,
    Factorization,
    LinearSolver,
    LUFactorization,
    ScaledFactorization,
    check_problem,
    is_complex_space,
    solver_for,
)
from .spaces import Euclidean, Space, space_of
from .transforms import vjp, vmap

__all__ = [
    "AdjointMap",
    "ComposedMap",
    "DiagonalMap",
    "FunctionMap",
    "IdentityMap",
    "JacobianMap",
    "LinearMap",
    "LinearMaps",
    "MatrixMap",
    "NotVectorizable",
    "ScaledMap",
    "SumMap",
    "TransposeMap",
    "adjoint",
    "bicgstab",
    "cg",
    "diagonal",
    "direct",
    "gmres",
    "identity",
    "materialize",
    "rank1",
    "solve",
]


class NotVectorizable(NotImplementedError):
    """Raised by an operation that vmap cannot batch but that works one example
    at a time: materialisation then applies the map to one basis vector at a time.

    Examples
    --------
    >>> issubclass(riesz.linear.NotVectorizable, NotImplementedError)
    True
    """


def _is_scalar(a: Any) -> bool:
    """A real scalar: a Python or NumPy number, a 0-d array or a 0-d tracer."""
    if isinstance(a, Tracer):
        return a.shape == ()
    return isinstance(a, (int, float, np.integer, np.floating)) or (
        isinstance(a, np.ndarray) and a.shape == ())


def _euclidean(space: Space) -> bool:
    """Whether the space's inner product is the standard one on its storage."""
    return space.ambient() == space


class LinearMap:
    """A linear map from `domain` to `codomain` (both `Space`s).

    `LinearMap(fn, domain, codomain, transpose=None, name=None)` builds a
    `FunctionMap`; the other classes of this module are LinearMaps too. `A(u)`
    applies the map; `A(u, v)` applies a map whose values are maps (a bilinear
    map, e.g. a second derivative) twice.

    Math: A(u) for u in the domain; A.T(c) = Aᵀ c with pair(Aᵀ c, u) = pair(c, A u);
    A.adjoint = R_X ∘ Aᵀ ∘ L_Y in the spaces' geometry.

    Examples
    --------
    >>> A = riesz.LinearMap.from_matrix(np.array([[2.0, 1.0], [0.0, 3.0]]))
    >>> print(A(np.array([1.0, 1.0])), A.T(np.array([1.0, 0.0])))
    [3. 3.] [2. 1.]
    >>> print((2 * A @ A).materialize())
    [[ 8. 10.]
     [ 0. 18.]]

    Raises
    ------
    TypeError
        If `domain` / `codomain` are not `riesz.spaces.Space`s, or the map is applied to
        the wrong number of arguments.
    ValueError
        If an input's shape does not fit the domain.
    """

    __array_ufunc__ = None  # `array * A` and `array @ A` defer to LinearMap's reflected methods
    domain: Space
    codomain: Space
    name: str

    def __new__(cls, *args: Any, **kwargs: Any) -> LinearMap:
        return object.__new__(FunctionMap if cls is LinearMap else cls)

    def _set_spaces(self, domain: Space, codomain: Space, name: str) -> None:
        for what, s in (("domain", domain), ("codomain", codomain)):
            if not isinstance(s, Space):
                raise TypeError(f"LinearMap: {what} must be a riesz.spaces.Space, got "
                                f"{type(s).__name__}")
        self.domain, self.codomain, self.name = domain, codomain, name

    # -- what every map provides --------------------------------------------------
    def mv(self, u: Any) -> Any:
        """A u (unchecked)."""
        raise NotImplementedError

    def tmv(self, c: Any) -> Any:
        """Aᵀ c for a covector c of the codomain (unchecked)."""
        raise NotImplementedError

    @property
    def fn(self) -> Callable[[Any], Any]:
        """The map as a function (unchecked application)."""
        return self.mv

    def _matrix(self) -> Any:
        """The (codomain.size, domain.size) matrix in the standard coordinates."""
        return columns(self.mv, self.domain, self.codomain)

    def _transpose(self) -> LinearMap:
        return TransposeMap(self)

    def _adjoint(self) -> LinearMap:
        return AdjointMap(self)

    def _respace(self, domain: Space, codomain: Space) -> LinearMap:
        return FunctionMap(self.mv, domain, codomain, transpose=self.tmv, name=self.name)

    def factorize(self) -> Factorization:
        """The factorisation a direct solve uses: LU of the materialised matrix; on
        complex spaces, where a map is R-linear (holomorphic or not), of its real
        matrix in the solvers' real coordinates (`Coordinates`)."""
        if is_complex_space(self.domain) or is_complex_space(self.codomain):
            return LUFactorization(_real_matrix(self))
        return LUFactorization(np.asarray(self._matrix(), dtype=np.float64))

    def diagonal(self) -> Any:
        """The diagonal entries A[i..., i...] of a square map (shape domain.shape for
        array spaces of one shape, else flat)."""
        if self.domain.size != self.codomain.size:
            raise ValueError(f"{self.name}.diagonal(): the map {self.domain!r} -> "
                             f"{self.codomain!r} is not square")
        return self._shaped_diagonal(rnp.diagonal(self._matrix()))

    def _shaped_diagonal(self, d: Any) -> Any:
        shape = self.domain.shape
        if shape is not None and shape == self.codomain.shape:
            return rnp.reshape(d, shape)
        return d

    # -- application ------------------------------------------------------------
    def __call__(self, u: Any, *more: Any) -> Any:
        if more:
            inner = self(u)
            if not isinstance(inner, LinearMap):
                raise TypeError(f"{self.name}: applied to {1 + len(more)} arguments, but its "
                                "values are not linear maps")
            return inner(*more)
        self._check_input(u)
        return self.mv(u)

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
    def _check_transposable(self) -> None:
        if isinstance(self.codomain, LinearMaps):
            raise NotImplementedError(
                f"{self.name}: the transpose of a map whose values are linear maps "
                "(a bilinear map) is not available; apply it to a vector first")

    @property
    def T(self) -> LinearMap:
        """The metric-free transpose Aᵀ: covectors of the codomain -> covectors of
        the domain, pair(Aᵀ c, u) = pair(c, A u)."""
        self._check_transposable()
        return self._transpose()

    @property
    def adjoint(self) -> LinearMap:
        """The adjoint A* under the domain's and codomain's inner products:
        ⟨A u, v⟩ = ⟨u, A* v⟩, A* = riesz_domain ∘ Aᵀ ∘ lower_codomain (Aᵀ itself
        between Euclidean spaces)."""
        self._check_transposable()
        if _euclidean(self.domain) and _euclidean(self.codomain):
            return self._transpose()
        return self._adjoint()

    def riesz(self) -> Any:
        """For a linear functional (codomain R): the vector g in the domain with
        A(u) = ⟨g, u⟩, the gradient; `A.T(1.0)` is the covector itself."""
        if self.codomain.shape != ():
            raise ValueError(f"{self.name}.riesz(): only a linear functional (codomain of shape "
                             f"()) has a Riesz representer; this map's codomain is "
                             f"{self.codomain!r}")
        # (a codomain of shape () is an array space: it has a dtype)
        return self.domain.riesz(self.tmv(np.ones((), self.codomain.dtype)))  # type: ignore[attr-defined]

    def with_spaces(self, domain: Space | None = None, codomain: Space | None = None) -> LinearMap:
        """The same map between other spaces with the same storage (other geometry)."""
        dom = self.domain if domain is None else domain
        cod = self.codomain if codomain is None else codomain
        for what, new, old in (("domain", dom, self.domain), ("codomain", cod, self.codomain)):
            if new.ambient() != old.ambient():
                raise ValueError(f"with_spaces: {what} {new!r} does not store the same arrays "
                                 f"as {old!r}")
        return self._respace(dom, cod)

    # -- algebra -------------------------------------------------------------------
    def __matmul__(self, other: Any) -> Any:
        if not isinstance(other, LinearMap):
            return self(other)
        if other.codomain != self.domain:
            raise ValueError(
                f"cannot compose {self.name} @ {other.name}: {other.name} maps into "
                f"{other.codomain!r} but {self.name} is defined on {self.domain!r} (use "
                ".with_spaces to reinterpret a map between spaces with the same storage)")
        return ComposedMap(self, other)

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
        second = other if sign == 1.0 else ScaledMap(sign, other)
        return SumMap((self, second), name=f"({self.name} {op} {other.name})")

    def __mul__(self, c: Any) -> LinearMap:
        if isinstance(c, LinearMap) or not _is_scalar(c):
            raise TypeError("LinearMaps can only be multiplied by scalars; use @ to compose "
                            "maps or to apply one to a vector")
        return ScaledMap(c, self)

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
        Euclidean spaces R^m -> R^n. A complex M (between complex spaces) is kept
        complex; its transpose under the pairing Re Σ conj(c) u is Mᴴ."""
        M = np.asarray(M, dtype=np.complex128 if np.iscomplexobj(M) else np.float64)
        if domain is None or codomain is None:
            if M.ndim != 2:
                raise ValueError(f"from_matrix: M has shape {M.shape}; pass domain and codomain "
                                 "for arrays that are not matrices")
            domain = domain or Euclidean((M.shape[1],), M.dtype)
            codomain = codomain or Euclidean((M.shape[0],), M.dtype)
        if M.size != codomain.size * domain.size:
            raise ValueError(f"from_matrix: M has shape {M.shape}, which does not fit {codomain!r}"
                             f" x {domain!r}")
        return MatrixMap(M.reshape(codomain.size, domain.size), domain, codomain)

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
        """The array of the map.

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
            M = self._matrix()
            if self.shape is None:
                return M
            return rnp.reshape(M, self.shape)
        in_b = _resolve_basis(self.domain, basis)
        if out_basis is None and (isinstance(basis, str) or self.domain == self.codomain):
            out_basis = basis
        outs = [self.mv(b) for b in in_b]
        if out_basis is None:
            return _stack([self.codomain.flatten(y) for y in outs], self.codomain.size, axis=1)
        return self.codomain.coordinates(outs, _resolve_basis(self.codomain, out_basis))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name}: {self.domain!r} -> {self.codomain!r})"


# -- the structures ----------------------------------------------------------------------


@final
class FunctionMap(LinearMap):
    """A map given by a function `fn`; `transpose`, if given, is its metric-free
    transpose as a function of a codomain covector, otherwise derived from `fn`
    by reverse mode (at 0: a VJP of a linear function is its transpose) the first
    time it is needed.

    Examples
    --------
    >>> X = riesz.spaces.Euclidean(3)
    >>> A = riesz.LinearMap(np.cumsum, X, X)  # transpose derived by reverse mode
    >>> print(A.T(np.array([1.0, 0.0, 0.0])), A.T(np.array([0.0, 0.0, 1.0])))
    [1. 0. 0.] [1. 1. 1.]

    Raises
    ------
    TypeError
        If `fn` is not callable or the spaces are not `Space`s.
    """

    def __init__(self, fn: Callable[[Any], Any], domain: Space, codomain: Space, *,
                 transpose: Callable[[Any], Any] | None = None, name: str | None = None):
        if not callable(fn):
            raise TypeError(f"LinearMap: fn must be callable, got {type(fn).__name__}")
        fn_name: str = getattr(fn, "__name__", "A")
        self._set_spaces(domain, codomain, name or fn_name)
        self._fn = fn
        self._tfn = transpose

    def mv(self, u: Any) -> Any:
        return self._fn(u)

    def tmv(self, c: Any) -> Any:
        if self._tfn is None:
            self._check_transposable()
            self._tfn = _transpose_by_vjp(self._fn, self.domain)
        return self._tfn(c)

    def _respace(self, domain: Space, codomain: Space) -> LinearMap:
        return FunctionMap(self._fn, domain, codomain, transpose=self._tfn, name=self.name)


@final
class MatrixMap(LinearMap):
    """u ↦ M u for a concrete (codomain.size, domain.size) matrix M on the
    flattened coordinates.

    Examples
    --------
    >>> X = riesz.spaces.Euclidean(2)
    >>> A = riesz.linear.MatrixMap(np.array([[1.0, 2.0], [3.0, 4.0]]), X, X)
    >>> print(A(np.array([1.0, 0.0])), A.T(np.array([1.0, 0.0])))
    [1. 3.] [1. 2.]
    """

    def __init__(self, M: np.ndarray, domain: Space, codomain: Space, name: str = "M"):
        self._set_spaces(domain, codomain, name)
        self.matrix = M
        self._MT: np.ndarray | None = None

    def _mt(self) -> np.ndarray:
        if self._MT is None:
            M = self.matrix  # the transpose under pair(c, u) = Re Σ conj(c) u: Mᴴ
            self._MT = np.ascontiguousarray(M.conj().T if M.dtype.kind == "c" else M.T)
        return self._MT

    def mv(self, u: Any) -> Any:
        return self.codomain.unflatten(self.matrix @ self.domain.flatten(u))

    def tmv(self, c: Any) -> Any:
        return self.domain.ambient().unflatten(self._mt() @ self.codomain.ambient().flatten(c))

    def _matrix(self) -> Any:
        return self.matrix

    def _transpose(self) -> LinearMap:
        return MatrixMap(self._mt(), self.codomain.ambient(), self.domain.ambient(),
                         f"{self.name}.T")

    def _respace(self, domain: Space, codomain: Space) -> LinearMap:
        return MatrixMap(self.matrix, domain, codomain, self.name)

    def factorize(self) -> Factorization:
        dom, cod = self.domain, self.codomain
        if not (is_complex_space(dom) or is_complex_space(cod)):
            return LUFactorization(self.matrix)
        if _complex_array_space(dom) and _complex_array_space(cod):  # C-linear on Cⁿ
            return ComplexFactorization(LUFactorization(self.matrix))
        return super().factorize()


def _complex_array_space(space: Space) -> bool:
    """An array space of complex dtype (whose solver coordinates are Re, Im of its storage)."""
    return space.shape is not None and np.dtype(getattr(space, "dtype", float)).kind == "c"


@final
class DiagonalMap(LinearMap):
    """u ↦ d ⊙ u on an array space of d's shape. A complex d needs a complex space
    (the default for it); its transpose under Re Σ conj(c) u is c ↦ conj(d) ⊙ c.

    Examples
    --------
    >>> D = riesz.linear.DiagonalMap(np.array([2.0, 4.0]))
    >>> print(D(np.array([1.0, 1.0])), riesz.linear.direct(D, np.array([2.0, 2.0])))
    [2. 4.] [1.  0.5]

    Raises
    ------
    ValueError
        If the diagonal's shape differs from the space's, or d is complex and the
        space real.
    """

    def __init__(self, d: Any, space: Space | None = None, name: str = "D"):
        d = np.asarray(d)
        cplx = d.dtype.kind == "c"
        d = d.astype(np.complex128 if cplx else np.float64, copy=False)
        if space is None:
            space = Euclidean(d.shape, np.complex128 if cplx else np.float64)
        if space.shape != d.shape:
            raise ValueError(f"DiagonalMap: the diagonal has shape {d.shape}, the space "
                             f"{space!r} holds shape {space.shape}")
        if cplx and not is_complex_space(space):
            raise ValueError(f"DiagonalMap: the diagonal d is complex but the space {space!r} "
                             "is real; pass a complex space, e.g. "
                             f"Euclidean({d.shape}, dtype=complex128)")
        self._set_spaces(space, space, name)
        self.d = d

    def mv(self, u: Any) -> Any:
        return self.d * u

    def tmv(self, c: Any) -> Any:
        return self._conj_d() * c

    def _conj_d(self) -> np.ndarray:
        return self.d.conj() if self.d.dtype.kind == "c" else self.d

    def _matrix(self) -> Any:
        return np.diag(self.d.reshape(-1))

    def diagonal(self) -> Any:
        return self.d

    def _transpose(self) -> LinearMap:
        return DiagonalMap(self._conj_d(), self.domain.ambient(), f"{self.name}.T")

    def factorize(self) -> Factorization:
        if is_complex_space(self.domain):
            return ComplexFactorization(DiagonalFactorization(self.d))
        return DiagonalFactorization(self.d)


@final
class IdentityMap(LinearMap):
    """The identity of a space: its adjoint in every geometry is itself.

    Examples
    --------
    >>> I = riesz.identity(riesz.spaces.Weighted(2, np.array([1.0, 4.0])))
    >>> print(I(np.array([1.0, 2.0])), I.adjoint(np.array([1.0, 2.0])))
    [1. 2.] [1. 2.]
    """

    def __init__(self, space: Space):
        self._set_spaces(space, space, "I")

    def mv(self, u: Any) -> Any:
        return u

    def tmv(self, c: Any) -> Any:
        return c

    def _matrix(self) -> Any:
        return np.eye(self.domain.size)

    def diagonal(self) -> Any:
        return self._shaped_diagonal(np.ones(self.domain.size))

    def _transpose(self) -> LinearMap:
        return IdentityMap(self.domain.ambient())

    def _adjoint(self) -> LinearMap:
        return self

    def _respace(self, domain: Space, codomain: Space) -> LinearMap:
        return IdentityMap(domain) if domain == codomain else super()._respace(domain, codomain)

    def factorize(self) -> Factorization:
        return DiagonalFactorization(np.ones(1))  # x = b in any coordinates


@final
class ScaledMap(LinearMap):
    """c A for a real scalar c (possibly traced).

    Examples
    --------
    >>> A = riesz.identity(riesz.spaces.Euclidean(2))
    >>> print(type(3.0 * A).__name__, (3.0 * A)(np.array([1.0, 2.0])))
    ScaledMap [3. 6.]
    """

    c: Any
    inner: LinearMap

    def __init__(self, c: Any, A: LinearMap):
        if isinstance(A, ScaledMap):  # c (d B) = (c d) B
            c, A = c * A.c, A.inner
        self._set_spaces(A.domain, A.codomain, f"{c!r}*{A.name}")
        self.c, self.inner = c, A

    def mv(self, u: Any) -> Any:
        return self.codomain.scale(self.c, self.inner.mv(u))

    def tmv(self, c: Any) -> Any:
        return self.domain.ambient().scale(self.c, self.inner.tmv(c))

    def _matrix(self) -> Any:
        return self.c * self.inner._matrix()

    def diagonal(self) -> Any:
        return self.c * self.inner.diagonal()

    def _transpose(self) -> LinearMap:
        return ScaledMap(self.c, self.inner.T)

    def _adjoint(self) -> LinearMap:
        return ScaledMap(self.c, self.inner.adjoint)

    def factorize(self) -> Factorization:
        return ScaledFactorization(float(self.c), self.inner.factorize())


@final
class SumMap(LinearMap):
    """A_1 + A_2 + ... (maps between the same spaces).

    Examples
    --------
    >>> A = riesz.identity(riesz.spaces.Euclidean(2))
    >>> print(type(A + A).__name__, (A + A)(np.array([1.0, 2.0])))
    SumMap [2. 4.]

    Raises
    ------
    ValueError
        If the maps do not share their domain and codomain.
    """

    def __init__(self, terms: Sequence[LinearMap], name: str | None = None):
        terms = tuple(terms)
        self._set_spaces(terms[0].domain, terms[0].codomain,
                         name or "(" + " + ".join(t.name for t in terms) + ")")
        self.terms = terms

    def mv(self, u: Any) -> Any:
        out = self.terms[0].mv(u)
        for t in self.terms[1:]:
            out = self.codomain.add(out, t.mv(u))
        return out

    def tmv(self, c: Any) -> Any:
        amb = self.domain.ambient()
        out = self.terms[0].tmv(c)
        for t in self.terms[1:]:
            out = amb.add(out, t.tmv(c))
        return out

    def _matrix(self) -> Any:
        out = self.terms[0]._matrix()
        for t in self.terms[1:]:
            out = out + t._matrix()
        return out

    def diagonal(self) -> Any:
        out = self.terms[0].diagonal()
        for t in self.terms[1:]:
            out = out + t.diagonal()
        return out

    def _transpose(self) -> LinearMap:
        return SumMap([t.T for t in self.terms], f"{self.name}.T")

    def _adjoint(self) -> LinearMap:
        return SumMap([t.adjoint for t in self.terms], f"{self.name}.adjoint")


@final
class ComposedMap(LinearMap):
    """A @ B: u ↦ A(B(u)); its matrix is the product of the parts' matrices.

    Examples
    --------
    >>> A = riesz.LinearMap.from_matrix(np.array([[0.0, 1.0], [1.0, 0.0]]))
    >>> print(type(A @ A).__name__, (A @ A)(np.array([1.0, 2.0])))
    ComposedMap [1. 2.]

    Raises
    ------
    ValueError
        If the inner map's codomain is not the outer map's domain.
    """

    def __init__(self, A: LinearMap, B: LinearMap):
        self._set_spaces(B.domain, A.codomain, f"({A.name} @ {B.name})")
        self.outer, self.inner = A, B

    def mv(self, u: Any) -> Any:
        return self.outer.mv(self.inner.mv(u))

    def tmv(self, c: Any) -> Any:
        return self.inner.tmv(self.outer.tmv(c))

    def _matrix(self) -> Any:
        return rnp.matmul(self.outer._matrix(), self.inner._matrix())

    def _transpose(self) -> LinearMap:
        return ComposedMap(self.inner.T, self.outer.T)

    def _adjoint(self) -> LinearMap:
        return ComposedMap(self.inner.adjoint, self.outer.adjoint)


@final
class TransposeMap(LinearMap):
    """Aᵀ, between the covector spaces (the ambient Euclidean spaces) of A's
    codomain and domain; a direct solve transposes A's factorisation.

    Examples
    --------
    >>> X = riesz.spaces.Euclidean(3)
    >>> A = riesz.LinearMap(np.cumsum, X, X)  # a matrix map's transpose is a matrix map
    >>> print(type(A.T).__name__, A.T(np.array([0.0, 0.0, 1.0])))
    TransposeMap [1. 1. 1.]
    """

    def __init__(self, A: LinearMap):
        self._set_spaces(A.codomain.ambient(), A.domain.ambient(), f"{A.name}.T")
        self.inner = A

    def mv(self, u: Any) -> Any:
        return self.inner.tmv(u)

    def tmv(self, c: Any) -> Any:
        return self.inner.mv(c)

    def _matrix(self) -> Any:
        return rnp.transpose(self.inner._matrix())

    def diagonal(self) -> Any:
        return self.inner.diagonal()

    def _transpose(self) -> LinearMap:
        A = self.inner
        if _euclidean(A.domain) and _euclidean(A.codomain):
            return A
        return A.with_spaces(A.domain.ambient(), A.codomain.ambient())

    def factorize(self) -> Factorization:
        return self.inner.factorize().transposed()


@final
class AdjointMap(LinearMap):
    """A* = riesz_X ∘ Aᵀ ∘ lower_Y for A: X -> Y; its transpose is
    lower_Y ∘ A ∘ riesz_X (R and L are symmetric), its adjoint A.

    Examples
    --------
    >>> X = riesz.spaces.Weighted(2, np.array([1.0, 2.0]))  # ⟨x, y⟩ = x₀y₀ + 2 x₁y₁
    >>> A = riesz.LinearMap.from_matrix(np.eye(2), X, X)
    >>> print(A.adjoint(np.array([1.0, 1.0])))  # W⁻¹ Aᵀ W = I
    [1. 1.]
    """

    def __init__(self, A: LinearMap):
        self._set_spaces(A.codomain, A.domain, f"{A.name}.adjoint")
        self.inner = A

    def mv(self, v: Any) -> Any:
        A = self.inner
        return A.domain.riesz(A.tmv(A.codomain.lower(v)))

    def tmv(self, c: Any) -> Any:
        A = self.inner
        return A.codomain.lower(A.mv(A.domain.riesz(c)))

    def _adjoint(self) -> LinearMap:
        return self.inner


@final
class JacobianMap(LinearMap):
    """∂f(x) from one recorded evaluation of f: `jvp_fn` applies it and `vjp_fn`
    its transpose by replaying the tape (f is not run again). With `single`
    the domain holds one primal, else a tuple of them (a `Product`).

    Examples
    --------
    >>> _, J = riesz.linearize(lambda x: x**2, np.array([1.0, 3.0]))
    >>> print(type(J).__name__, J(np.array([1.0, 1.0])), J.T(np.array([1.0, 1.0])))
    JacobianMap [2. 6.] [2. 6.]
    """

    def __init__(self, jvp_fn: Callable[..., Any], vjp_fn: Callable[[Any], Any],
                 domain: Space, codomain: Space, single: bool, name: str,
                 like: Any = None):
        self._set_spaces(domain, codomain, name)
        self._jvp, self._vjp, self.single = jvp_fn, vjp_fn, single
        self._like = like  # an array of the primals' backend where not NumPy

    def mv(self, u: Any) -> Any:
        return self._jvp(u) if self.single else self._jvp(*u)

    def tmv(self, c: Any) -> Any:
        return self._vjp(c)[0] if self.single else tuple(self._vjp(c))

    def _matrix(self, mode: str = "auto") -> Any:
        """By forward mode (one vectorised JVP over the domain's basis) or reverse
        mode (one vectorised VJP over the codomain's); "auto": the smaller basis."""
        dom, cod = self.domain.ambient(), self.codomain.ambient()
        if mode == "rev" or (mode == "auto" and cod.size < dom.size):
            return rnp.transpose(columns(self.tmv, cod, dom, self._like))
        return columns(self.mv, self.domain, self.codomain, self._like)

    def _respace(self, domain: Space, codomain: Space) -> LinearMap:
        return JacobianMap(self._jvp, self._vjp, domain, codomain, self.single, self.name,
                           self._like)


# -- functions on maps ----------------------------------------------------------------


def materialize(A: LinearMap, basis: Sequence[Any] | str | None = None, *,
                out_basis: Sequence[Any] | str | None = None) -> Any:
    """The array of `A` (see `LinearMap.materialize`).

    Math: M[i, j] = ⟨f_i, A e_j⟩ for bases e of the domain and f of the codomain.

    Examples
    --------
    >>> _, J = riesz.linearize(lambda x: x[0] * x, np.array([1.0, 2.0]))
    >>> print(riesz.linear.materialize(J))
    [[2. 0.]
     [2. 1.]]

    Raises
    ------
    ValueError
        For an unknown basis name.
    """
    return A.materialize(basis, out_basis=out_basis)


def diagonal(A: LinearMap) -> Any:
    """The diagonal of a square map (free for diagonal, identity and scaled maps).

    Examples
    --------
    >>> A = riesz.LinearMap.from_matrix(np.array([[1.0, 2.0], [3.0, 4.0]]))
    >>> print(riesz.linear.diagonal(A))
    [1. 4.]

    Raises
    ------
    ValueError
        If the map is not square.
    """
    return A.diagonal()


def adjoint(A: LinearMap) -> LinearMap:
    """The adjoint of `A` in its spaces' geometry (`LinearMap.adjoint`).

    Math: ⟨A* v, u⟩_X = ⟨v, A u⟩_Y.

    Examples
    --------
    >>> X = riesz.spaces.Weighted(2, np.array([1.0, 2.0]))
    >>> A = riesz.LinearMap.from_matrix(np.array([[0.0, 1.0], [0.0, 0.0]]), X, X)
    >>> print(riesz.linear.adjoint(A)(np.array([1.0, 0.0])))  # W⁻¹ Aᵀ W e₀
    [0.  0.5]
    """
    return A.adjoint


def _as_map(A: Any, b: Any) -> LinearMap:
    if isinstance(A, LinearMap):
        return A
    if callable(A):
        s = space_of(b)
        return FunctionMap(A, s, s, name=getattr(A, "__name__", "A"))
    raise TypeError(f"solve: A must be a LinearMap or a linear function, got {type(A).__name__}")


def solve(A: LinearMap | Callable[[Any], Any], b: Any, method: str | LinearSolver = "cg", *,
          rtol: float = 1e-10, atol: float = 0.0, maxiter: int | None = None,
          x0: Any = None, restart: int | None = None, M: LinearMap | None = None) -> Any:
    """Solve A(x) = b matrix-free; `b` is an element of A.codomain (any pytree).

    `method`: "cg" (A self-adjoint and positive in its domain's inner product),
    "gmres", "bicgstab" (general square A), "direct" (factorise: the map's
    structure decides how, e.g. a diagonal map divides, a matrix map is
    LU-factorised without materialising) or a `riesz.linear_solvers.LinearSolver`.
    Stops when the residual r of the system iterated on satisfies
    ‖r‖ <= max(rtol ‖r0‖, atol) with r0 its right-hand side: r = b - A x, or
    r = W (b - A x) for CG in a domain with metric W. `M` is an optional
    preconditioner approximating A⁻¹ (for CG: self-adjoint and positive in the
    domain's geometry). On complex spaces (Cⁿ real under Re vdot) the solvers
    iterate on real coordinates (real parts, then imaginary parts), so every
    R-linear A, holomorphic or not, is solved; CG needs A self-adjoint under
    Re⟨·,·⟩ and positive (a Hermitian positive definite matrix), and complex
    matrices and diagonals factorise in complex arithmetic. Raises `SolverError` on
    non-convergence, reporting ‖b - A x‖ / ‖b‖. To solve with one A for many b, use
    the solver object: `state = solver.init(A)` once, then `solver.compute(state, b)`.

    Math: x = A⁻¹ b, iterated on A only through products A u (and Aᵀ c for some methods).

    Examples
    --------
    >>> A = riesz.LinearMap.from_matrix(np.array([[4.0, 1.0], [1.0, 3.0]]))
    >>> x = riesz.linear.solve(A, np.array([1.0, 2.0]), method="cg")
    >>> print(np.round(x, 6))
    [0.090909 0.636364]

    Raises
    ------
    riesz.SolverError
        If the method does not converge within `maxiter`.
    TypeError
        If `A` is neither a LinearMap nor a callable.
    ValueError
        For an unknown `method`, or `b` not in A's codomain.
    """
    solver = solver_for(method, rtol=rtol, atol=atol, maxiter=maxiter, x0=x0, restart=restart,
                        M=M)
    A = _as_map(A, b)
    check_problem(A, b)
    return solver.compute(solver.init(A), b)


def cg(A: LinearMap | Callable[[Any], Any], b: Any, **kwargs: Any) -> Any:
    """Conjugate gradients (A self-adjoint and positive); see `solve`.

    Examples
    --------
    >>> A = riesz.LinearMap.from_matrix(np.array([[2.0, 0.0], [0.0, 4.0]]))
    >>> print(riesz.linear.cg(A, np.array([2.0, 2.0])))
    [1.  0.5]

    Raises
    ------
    riesz.SolverError
        As `solve`: no convergence (A not positive definite, too few iterations).
    """
    return solve(A, b, "cg", **kwargs)


def gmres(A: LinearMap | Callable[[Any], Any], b: Any, **kwargs: Any) -> Any:
    """Restarted GMRES for a general square A; see `solve`.

    Examples
    --------
    >>> A = riesz.LinearMap.from_matrix(np.array([[1.0, 2.0], [0.0, 1.0]]))
    >>> print(np.round(riesz.linear.gmres(A, np.array([3.0, 1.0])), 6))
    [1. 1.]

    Raises
    ------
    riesz.SolverError
        As `solve`.
    """
    return solve(A, b, "gmres", **kwargs)


def bicgstab(A: LinearMap | Callable[[Any], Any], b: Any, **kwargs: Any) -> Any:
    """BiCGSTAB for a general square A; see `solve`.

    Examples
    --------
    >>> A = riesz.LinearMap.from_matrix(np.array([[1.0, 2.0], [0.0, 1.0]]))
    >>> print(np.round(riesz.linear.bicgstab(A, np.array([3.0, 1.0])), 6))
    [1. 1.]

    Raises
    ------
    riesz.SolverError
        As `solve`.
    """
    return solve(A, b, "bicgstab", **kwargs)


def direct(A: LinearMap | Callable[[Any], Any], b: Any, **kwargs: Any) -> Any:
    """Factorise A and solve by substitution (small problems, or as a reference); see
    `solve`.

    Examples
    --------
    >>> A = riesz.LinearMap.from_matrix(np.array([[1.0, 2.0], [0.0, 1.0]]))
    >>> print(riesz.linear.direct(A, np.array([3.0, 1.0])))
    [1. 1.]

    Raises
    ------
    numpy.linalg.LinAlgError
        If the factorisation finds A singular.
    """
    return solve(A, b, "direct", **kwargs)


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


def columns(fn: Callable[[Any], Any], domain: Space, codomain: Space,
            like: Any = None) -> Any:
    """The matrix (codomain.size, domain.size) whose column j is the flattened
    fn(e_j) for the domain's standard basis e_j: one vectorised call of fn on the
    whole basis (vmap). A function that raises `NotVectorizable` under vmap is
    applied to one basis vector at a time instead.

    `like`, an array of another backend (CuPy, Dask), puts the basis on that
    backend, so the columns stay there (a CuPy function cannot take NumPy
    tangents) and a Dask result stays lazy."""

    def column(v: Any) -> Any:
        return codomain.flatten(fn(domain.unflatten(v)))

    basis = np.eye(domain.size, dtype=getattr(domain, "dtype", np.float64))
    if domain.size == 0:
        return np.zeros((codomain.size, 0))
    if like is not None:
        basis = np.asarray(basis, like=like)  # one explicit copy of the basis
    try:
        rows = vmap(column)(basis)
    except NotVectorizable:
        rows = _stack([column(e) for e in basis], codomain.size, axis=0)
    return rnp.transpose(rows)


def _real_matrix(A: LinearMap) -> np.ndarray:
    """The real (codomain dim, domain dim) matrix of A in the solvers' real coordinates
    (complex parts split into real and imaginary parts), column by column."""
    X, Y = Coordinates(A.domain), Coordinates(A.codomain)
    cols = [Y.flat(A.mv(X.element(e))) for e in np.eye(X.dim)]
    return np.stack(cols, axis=1) if cols else np.zeros((Y.dim, 0))


def _stack(vecs: list[Any], length: int, axis: int) -> Any:
    """Stack 1-D arrays of `length` as the columns (axis=1) or rows (axis=0) of a
    matrix, with riesz ops when any is traced (so materialisation is differentiable)."""
    if not vecs:
        return np.zeros((length, 0) if axis == 1 else (0, length))
    return rnp.stack(vecs, axis=axis)


def _transpose_by_vjp(fn: Callable[[Any], Any], domain: Space) -> Callable[[Any], Any]:
    """The transpose of the linear `fn` by reverse mode at 0 (any point would do)."""

    _, pull = vjp(fn, domain.zeros())

    def transpose_by_vjp(c: Any) -> Any:
        return pull(c)[0]

    return transpose_by_vjp


def identity(space: Space) -> LinearMap:
    """The identity map of `space` (its transpose is the identity of the covectors).

    Examples
    --------
    >>> I = riesz.identity(riesz.spaces.Euclidean(2))
    >>> print(I(np.array([1.0, 2.0])), I.materialize())
    [1. 2.] [[1. 0.]
     [0. 1.]]
    """
    return IdentityMap(space)


def rank1(y: Any, v: Any, domain: Space | None = None, codomain: Space | None = None) -> LinearMap:
    """The rank-one map x ↦ ⟨v, x⟩ y, with ⟨·,·⟩ the domain's inner product
    (default spaces: those of v and y). Its transpose is c ↦ pair(c, y) lower(v).

    Math: x ↦ ⟨v, x⟩ y; transpose c ↦ pair(c, y) L(v).

    Examples
    --------
    >>> A = riesz.rank1(np.array([1.0, 2.0]), np.array([1.0, 1.0]))
    >>> print(A(np.array([3.0, 4.0])))  # (3 + 4) y
    [ 7. 14.]
    """
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
    coordinates are their materialised arrays.

    Examples
    --------
    >>> X = riesz.spaces.Euclidean(2)
    >>> S = riesz.linear.LinearMaps(X, X)
    >>> print(S.dim, S.inner(riesz.identity(X), riesz.identity(X)))  # ⟨I, I⟩ = Tr I
    4 2.0

    Raises
    ------
    NotImplementedError
        From `riesz` / `lower`: covectors of spaces of maps are not represented.
    """

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
