"""Vector spaces: the inner product is part of the space.

A space knows how its elements are stored (an array, or a tuple / pytree of
arrays) and its inner product ⟨x, y⟩. The derivative of a scalar function is a
*covector*: riesz stores it in the same arrays as a vector and pairs it with a
vector metric-free, pair(c, u) = Σ c ⊙ u (this is what a VJP returns). The
*gradient* is its Riesz representer, the vector g with ⟨g, u⟩ = pair(c, u)
for every u: `S.riesz(c)`. Its inverse `S.lower(x)` is the covector ⟨x, ·⟩.
For ⟨x, y⟩ = xᵀ W y, `riesz(c) = W⁻¹ c` and `lower(x) = W x`; these two maps are
all the library needs to turn a metric-free transpose into a metric-aware
adjoint (`LinearMap.adjoint`) or a covector into a gradient (`grad(space=)`).

Every operation that takes elements (`add`, `scale`, `inner`, `norm`, `riesz`,
`lower`, `flatten`) is written with `riesz.numpy`, so it is traced like any
other code and `grad(f, space=S)` can itself be differentiated. Metrics are
constants: nothing is differentiated with respect to them.

Concrete spaces are final; `Space` is the interface.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, final

import numpy as np
import scipy.linalg

from . import numpy as rnp
from ._core.pytree import PyTreeDef, tree_flatten, tree_unflatten
from ._core.trace import Tracer, raw_value
from .linear_solvers import CG, SolverError

if TYPE_CHECKING:
    from .linear import LinearMap

__all__ = [
    "DenseMetric",
    "DiagonalMetric",
    "MapMetric",
    "Metric",
    "Euclidean",
    "L2",
    "Polynomials",
    "Product",
    "PyTreeSpace",
    "Space",
    "Symmetric",
    "Weighted",
    "space_of",
]


class Space(abc.ABC):
    """A real, finite-dimensional inner-product space.

    Elements are stored as arrays (or containers of arrays); `shape` is the
    array shape for array spaces and None for containers. `size` counts the
    stored coordinates (the ambient dimension), `dim` the dimension of the
    space itself (smaller for a subspace such as `Symmetric`).

    Math: riesz(c) = R c with ⟨riesz(c), u⟩ = pair(c, u); lower(x) = L x with pair(L x, u) = ⟨x, u⟩.

    Examples
    --------
    >>> X = riesz.spaces.Weighted(2, np.array([1.0, 4.0]))
    >>> x = np.array([1.0, 1.0])
    >>> print(X.inner(x, x), X.lower(x), X.riesz(X.lower(x)))
    5.0 [1. 4.] [1. 1.]

    Raises
    ------
    ValueError
        From `check`: a value that is not an element of the space.
    """

    shape: tuple[int, ...] | None

    # -- the protocol ------------------------------------------------------------
    @property
    @abc.abstractmethod
    def dim(self) -> int:
        """The dimension of the space (the number of `basis()` vectors)."""

    @property
    @abc.abstractmethod
    def size(self) -> int:
        """The number of stored coordinates (`flatten(x).size`)."""

    @abc.abstractmethod
    def zeros(self) -> Any:
        """The zero vector."""

    @abc.abstractmethod
    def add(self, x: Any, y: Any) -> Any:
        """x + y."""

    @abc.abstractmethod
    def scale(self, a: Any, x: Any) -> Any:
        """a x for a real scalar a."""

    @abc.abstractmethod
    def inner(self, x: Any, y: Any) -> Any:
        """The inner product ⟨x, y⟩ (a real scalar)."""

    def norm(self, x: Any) -> Any:
        """‖x‖ = √⟨x, x⟩."""
        return rnp.sqrt(self.inner(x, x))

    @abc.abstractmethod
    def basis(self) -> Iterator[Any]:
        """Yield `dim` vectors forming a basis (the standard one where there is one)."""

    @abc.abstractmethod
    def riesz(self, covector: Any) -> Any:
        """The Riesz map: the vector g with ⟨g, u⟩ = pair(covector, u) for all u."""

    @abc.abstractmethod
    def lower(self, x: Any) -> Any:
        """The inverse Riesz map: the covector ⟨x, ·⟩ (W x for a metric W)."""

    @abc.abstractmethod
    def random(self, rng: np.random.Generator) -> Any:
        """A random element (standard normal coordinates, projected into the space)."""

    def contains(self, x: Any) -> bool:
        """Whether `x` is an element of this space (structure, shape, dtype, constraints)."""
        return self._why_not(x) is None

    # -- coordinates: metric-free, used by materialisation and solvers ------------
    @abc.abstractmethod
    def flatten(self, x: Any) -> Any:
        """The stored coordinates of `x` as a 1-D array (differentiable)."""

    @abc.abstractmethod
    def unflatten(self, v: Any) -> Any:
        """Inverse of `flatten`."""

    @abc.abstractmethod
    def ambient(self) -> Space:
        """The Euclidean space with the same storage (where covectors live)."""

    @abc.abstractmethod
    def _why_not(self, x: Any) -> str | None:
        """None if x belongs to the space, else the reason it does not."""

    @abc.abstractmethod
    def _key(self) -> tuple[Any, ...]:
        """What makes two spaces equal."""

    # -- derived operations --------------------------------------------------------
    def sub(self, x: Any, y: Any) -> Any:
        """x - y."""
        return self.add(x, self.scale(-1.0, y))

    def pair(self, covector: Any, x: Any) -> Any:
        """The metric-free pairing of a covector with a vector, Σ c ⊙ x."""
        return rnp.sum(self.flatten(covector) * self.flatten(x))

    def standard_basis(self) -> Iterator[Any]:
        """The unit vectors of the stored coordinates (`size` of them)."""
        for i in range(self.size):
            e = np.zeros(self.size)
            e[i] = 1.0
            yield self.unflatten(e)

    def gram(self, basis: Sequence[Any] | None = None) -> np.ndarray:
        """The Gram matrix G_ij = ⟨b_i, b_j⟩ of a basis (default `basis()`)."""
        b = list(self.basis()) if basis is None else list(basis)
        return np.array([[float(self.inner(x, y)) for y in b] for x in b]).reshape(len(b), len(b))

    def orthonormal_basis(self) -> list[Any]:
        """A basis orthonormal under this space's inner product.

        From `basis()` B with Gram matrix G = L Lᵀ, the vectors B L⁻ᵀ satisfy
        (B L⁻ᵀ)ᵀ W (B L⁻ᵀ) = L⁻¹ G L⁻ᵀ = I."""
        b = list(self.basis())
        L = np.linalg.cholesky(self.gram(b))
        E = np.stack([np.asarray(self.flatten(x)) for x in b], axis=1)
        F = scipy.linalg.solve_triangular(L, E.T, lower=True).T
        return [self.unflatten(F[:, j]) for j in range(F.shape[1])]

    def coordinates(self, xs: Sequence[Any], basis: Sequence[Any]) -> np.ndarray:
        """The matrix C of coefficients with x_j = Σ_i C_ij b_i, for a sequence of
        vectors xs (solving G C = (⟨b_i, x_j⟩)_ij with one Gram matrix G)."""
        b, xs = list(basis), list(xs)
        rhs = np.array([[float(self.inner(bi, x)) for x in xs] for bi in b]).reshape(len(b),
                                                                                      len(xs))
        return np.linalg.solve(self.gram(b), rhs)

    def check(self, x: Any, what: str = "value") -> None:
        """Raise a ValueError naming `what` if `x` is not an element of the space."""
        why = self._why_not(x)
        if why is not None:
            raise ValueError(f"{what} is not an element of {self!r}: {why}")

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._key()))


# -- array spaces ---------------------------------------------------------------------


def _shape_of(x: Any) -> tuple[int, ...] | None:
    if isinstance(x, Tracer):
        return tuple(x.shape)
    if isinstance(x, (np.ndarray, np.generic, float, int)):
        return tuple(np.shape(x))
    return None


def _as_shape(shape: int | Sequence[int]) -> tuple[int, ...]:
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    return tuple(int(n) for n in shape)


class _ArraySpace(Space):
    """Elements are arrays of one shape; addition and scaling are the array ones.
    The inner product defaults to the standard (Frobenius) one, Σ x ⊙ y, whose
    lowering map is the identity; metric spaces override both. A complex dtype
    makes Cⁿ a real space (SPEC §13): ⟨x, y⟩ = Re Σ conj(x) ⊙ y, dimension
    2·size, a basis of the e_k and the i·e_k."""

    shape: tuple[int, ...]  # (never None: an array space)

    def __init__(self, shape: int | Sequence[int], dtype: Any = np.float64):
        self.shape = _as_shape(shape)
        self.dtype = np.dtype(dtype)
        if self.dtype.kind not in "fc" or (self.dtype.kind == "c" and not self._complex_ok):
            raise TypeError(f"{type(self).__name__}: dtype must be a real floating type (or "
                            f"complex, for Euclidean), got {self.dtype}")

    _complex_ok = False

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def dim(self) -> int:
        return 2 * self.size if self.dtype.kind == "c" else self.size

    def zeros(self) -> np.ndarray:
        return np.zeros(self.shape, self.dtype)

    def add(self, x: Any, y: Any) -> Any:
        return x + y

    def scale(self, a: Any, x: Any) -> Any:
        return a * x

    def inner(self, x: Any, y: Any) -> Any:
        if self.dtype.kind == "c":
            return rnp.real(rnp.sum(rnp.conj(x) * y))
        return rnp.sum(x * y)

    def lower(self, x: Any) -> Any:
        return x

    def basis(self) -> Iterator[Any]:
        return self.standard_basis()

    def standard_basis(self) -> Iterator[Any]:
        units = (1.0, 1j) if self.dtype.kind == "c" else (1.0,)
        for unit in units:  # complex: all e_k, then all i·e_k
            for i in range(self.size):
                e = np.zeros(self.size, self.dtype)
                e[i] = unit
                yield e.reshape(self.shape)

    def random(self, rng: np.random.Generator) -> np.ndarray:
        if self.dtype.kind == "c":
            return (rng.standard_normal(self.shape)
                    + 1j * rng.standard_normal(self.shape)).astype(self.dtype)
        return rng.standard_normal(self.shape).astype(self.dtype)

    def flatten(self, x: Any) -> Any:
        return rnp.reshape(x, (self.size,))

    def unflatten(self, v: Any) -> Any:
        return rnp.reshape(v, self.shape)

    def ambient(self) -> Space:
        return Euclidean(self.shape, self.dtype)

    def pair(self, covector: Any, x: Any) -> Any:
        if self.dtype.kind == "c":
            return rnp.real(rnp.sum(rnp.conj(covector) * x))
        return rnp.sum(covector * x)

    def _why_not(self, x: Any) -> str | None:
        shape = _shape_of(x)
        if shape is None:
            return f"expected an array, got {type(x).__name__}"
        if shape != self.shape:
            return f"it has shape {shape}, the space holds arrays of shape {self.shape}"
        kind = np.result_type(raw_value(x)).kind
        if kind == "c" and self.dtype.kind != "c":
            return (f"its dtype {np.result_type(raw_value(x))} is complex, the space is real "
                    f"(use {type(self).__name__}(shape, dtype=complex128))")
        if kind not in "fc":
            return f"its dtype {np.result_type(raw_value(x))} is not floating point"
        return None


@final
class Euclidean(_ArraySpace):
    """Arrays of `shape` with the standard product ⟨x, y⟩ = Σ x ⊙ y
    (for matrices the Frobenius product Tr(Xᵀ Y)); vectors and covectors coincide.

    Examples
    --------
    >>> X = riesz.spaces.Euclidean((2, 2))
    >>> print(X.dim, X.inner(np.eye(2), np.ones((2, 2))))  # Tr(Xᵀ Y)
    4 2.0

    Raises
    ------
    TypeError
        If `dtype` is not a real or complex floating type.
    """

    _complex_ok = True

    def __init__(self, shape: int | Sequence[int] = (), dtype: Any = np.float64):
        super().__init__(shape, dtype)

    def riesz(self, covector: Any) -> Any:
        return covector

    def _key(self) -> tuple[Any, ...]:
        return (self.shape, self.dtype.str)

    def __repr__(self) -> str:
        dtype = "" if self.dtype == np.float64 else f", dtype={self.dtype.name}"
        return f"Euclidean(shape={self.shape}{dtype})"


class Metric(abc.ABC):
    """The W of ⟨x, y⟩ = xᵀ W y on a metric space's flattened coordinates: it lowers
    vectors (x ↦ W x) and raises covectors (c ↦ W⁻¹ c). `kind` names it in reprs.

    Examples
    --------
    >>> print(riesz.spaces.Weighted(2, np.array([1.0, 4.0])))  # a DiagonalMetric
    Weighted(shape=(2,), metric=diagonal)
    """

    kind: str
    W: Any  # the metric as given: a positive array, an SPD matrix or a LinearMap

    @abc.abstractmethod
    def lower(self, space: _ArraySpace, x: Any) -> Any:
        """W x (written with riesz ops, so it is traced like any other code)."""

    @abc.abstractmethod
    def apply_inverse(self, space: _ArraySpace, covector: Any) -> Any:
        """W⁻¹ c for a covector c of the space's shape (traced or concrete)."""

    @abc.abstractmethod
    def key(self) -> Any:
        """What makes two metrics equal."""

    @abc.abstractmethod
    def fits(self, shape: tuple[int, ...]) -> bool:
        """Whether this metric is one on arrays of `shape`."""


class DiagonalMetric(Metric):
    """W = diag(w) for a positive array w of the space's shape: W⁻¹ c = c / w.

    Examples
    --------
    >>> X = riesz.spaces.Weighted(2, riesz.spaces.DiagonalMetric(np.array([1.0, 4.0]), "w"))
    >>> print(X.riesz(np.array([1.0, 4.0])))  # W⁻¹ c = c / w
    [1. 1.]

    Raises
    ------
    ValueError
        If the weights are not finite and positive.
    """

    kind = "diagonal"

    def __init__(self, w: np.ndarray, what: str):
        w = _real_array(w, what, "a diagonal metric is real (Hermitian)")
        _validate_positive(w, what)
        self.W = w

    def lower(self, space: _ArraySpace, x: Any) -> Any:
        return self.W * x

    def apply_inverse(self, space: _ArraySpace, covector: Any) -> Any:
        return covector / self.W

    def key(self) -> Any:
        return (self.kind, self.W.tobytes())

    def fits(self, shape: tuple[int, ...]) -> bool:
        return self.W.shape == shape


class _SolvedMetric(Metric):
    """A metric whose W⁻¹ c is solved for: a traced covector (a derivative of a
    gradient) is multiplied by the constant matrix W⁻¹ instead, W⁻¹ c being
    linear in c, so the Riesz map stays differentiable."""

    _inverse: np.ndarray | None = None

    def apply_inverse(self, space: _ArraySpace, covector: Any) -> Any:
        if isinstance(covector, Tracer):
            return space.unflatten(self.inverse_matrix(space) @ space.flatten(covector))
        c = np.asarray(covector)
        if c.shape != space.shape:
            raise ValueError(f"riesz: covector has shape {c.shape}, expected {space.shape}")
        return self._solve(space, c)

    @abc.abstractmethod
    def _solve(self, space: _ArraySpace, c: np.ndarray) -> np.ndarray:
        """W⁻¹ c for a concrete covector."""

    @abc.abstractmethod
    def _inverse_unsymmetrised(self, space: _ArraySpace) -> np.ndarray:
        """W⁻¹ as a matrix."""

    def inverse_matrix(self, space: _ArraySpace) -> np.ndarray:
        """W⁻¹ (symmetrised), built once."""
        if self._inverse is None:
            inv = self._inverse_unsymmetrised(space)
            self._inverse = (inv + inv.conj().T) / 2
        return self._inverse


class DenseMetric(_SolvedMetric):
    """An SPD (or, on complex spaces, Hermitian positive-definite) matrix W on the
    flattened coordinates, Cholesky-factorised once.

    Examples
    --------
    >>> X = riesz.spaces.Weighted(2, np.array([[2.0, 1.0], [1.0, 2.0]]))
    >>> print(X, X.lower(np.array([1.0, 0.0])))  # W x
    Weighted(shape=(2,), metric=dense) [2. 1.]

    Raises
    ------
    ValueError
        If W is not finite, symmetric (Hermitian) and positive definite.
    """

    kind = "dense"

    def __init__(self, W: np.ndarray, what: str):
        W = np.asarray(W)
        if W.dtype.kind != "c":
            W = np.asarray(W, dtype=np.float64)
        self._chol = _validate_spd(W, what)
        self.W = W

    def lower(self, space: _ArraySpace, x: Any) -> Any:
        return space.unflatten(self.W @ space.flatten(x))

    def _solve(self, space: _ArraySpace, c: np.ndarray) -> np.ndarray:
        return scipy.linalg.cho_solve(self._chol, c.reshape(-1)).reshape(space.shape)

    def _inverse_unsymmetrised(self, space: _ArraySpace) -> np.ndarray:
        return scipy.linalg.cho_solve(self._chol, np.eye(space.size))

    def key(self) -> Any:
        return (self.kind, self.W.tobytes())

    def fits(self, shape: tuple[int, ...]) -> bool:
        n = math.prod(shape)
        return self.W.shape == (n, n)


class MapMetric(_SolvedMetric):
    """A symmetric positive linear map W applied matrix-free; W⁻¹ c by CG to
    relative residual `rtol` (materialised once for traced covectors).

    Examples
    --------
    >>> W = riesz.linear.DiagonalMap(np.array([1.0, 4.0]))
    >>> X = riesz.spaces.Weighted(2, W)  # W⁻¹ c by CG
    >>> print(X, np.round(X.riesz(np.array([1.0, 4.0])), 6))
    Weighted(shape=(2,), metric=map) [1. 1.]

    Raises
    ------
    ValueError
        If the map is not symmetric and positive definite on probe vectors.
    riesz.SolverError
        If the CG solve for W⁻¹ c does not converge.
    """

    kind = "map"

    def __init__(self, W: Any, shape: tuple[int, ...], what: str, rtol: float,
                 maxiter: int | None):
        _validate_metric_map(W, shape, what)
        self.W = W
        self._cg = CG(rtol=rtol, maxiter=maxiter)

    def lower(self, space: _ArraySpace, x: Any) -> Any:
        return self.W(x)

    def _solve(self, space: _ArraySpace, c: np.ndarray) -> np.ndarray:
        try:
            if space.dtype.kind == "c":
                return self._solve_complex(space, c)
            return self._cg(self.W, c)
        except SolverError as e:
            raise SolverError(
                f"{space!r}.riesz: solving W g = c with the metric map failed ({e}); pass rtol= "
                f"or maxiter= to {type(space).__name__}", method=e.method, residual=e.residual,
                iterations=e.iterations, history=e.history, x=e.x) from e

    def _solve_complex(self, space: _ArraySpace, c: np.ndarray) -> np.ndarray:
        """W⁻¹ c on Cⁿ by real CG on R²ⁿ ∋ (Re x, Im x), where a Hermitian positive W
        is the symmetric positive [[Re W, -Im W], [Im W, Re W]]."""
        n = space.size
        c = c.reshape(-1)
        x = self._cg(_RealView(self.W, space), np.concatenate([c.real, c.imag]))
        return (x[:n] + 1j * x[n:]).reshape(space.shape)

    def _inverse_unsymmetrised(self, space: _ArraySpace) -> np.ndarray:
        M = np.asarray(self.W.materialize()).reshape(space.size, space.size)
        return np.linalg.inv(M)

    def key(self) -> Any:
        return (self.kind, id(self.W))

    def fits(self, shape: tuple[int, ...]) -> bool:
        return self.W.domain.shape == shape and self.W.codomain.shape == shape


class _RealView:
    """A map W on a complex array space seen as a map on R²ⁿ ∋ (Re x, Im x): the
    domain / codomain / mv protocol the Krylov solvers use (spaces cannot import
    riesz.linear, which imports them)."""

    def __init__(self, W: Any, space: _ArraySpace):
        self.W, self.space = W, space
        self.domain = self.codomain = Euclidean(2 * space.size)

    def mv(self, v: np.ndarray) -> np.ndarray:
        n = self.space.size
        w = np.asarray(self.W(self.space.unflatten(v[:n] + 1j * v[n:]))).reshape(-1)
        return np.concatenate([w.real, w.imag])


def _is_linear_map(x: Any) -> bool:
    """A riesz LinearMap (by its protocol: spaces sit below the linear maps)."""
    return callable(x) and hasattr(x, "domain") and hasattr(x, "codomain")


def _metric(shape: tuple[int, ...], metric: Any, what: str, rtol: float,
            maxiter: int | None) -> Metric:
    """The Metric object for `metric`: a Metric, a LinearMap, a positive array of
    `shape` (diagonal) or an SPD matrix on the flattened coordinates."""
    if isinstance(metric, Metric):
        if not metric.fits(shape):
            raise ValueError(f"{what}: the {type(metric).__name__} does not fit arrays of shape "
                             f"{shape}")
        return metric
    if _is_linear_map(metric):
        return MapMetric(metric, shape, what, rtol, maxiter)
    W = np.asarray(metric)
    if W.dtype.kind not in "fc":
        W = W.astype(np.float64)
    if W.shape == shape:
        return DiagonalMetric(W, what)
    n = math.prod(shape)
    if W.shape != (n, n):
        raise ValueError(
            f"{what} has shape {W.shape}; expected {shape} (a positive diagonal), "
            f"({n}, {n}) (an SPD matrix on the flattened coordinates) or a LinearMap"
        )
    return DenseMetric(W, what)


class _MetricSpace(_ArraySpace):
    """⟨x, y⟩ = xᵀ W y on the flattened coordinates, with W a `Metric`: given as a
    positive array of `shape` (diagonal), a dense SPD matrix, or a LinearMap
    (solved by CG). `what` names the argument holding W in error messages."""

    def __init__(self, shape: Sequence[int], metric: Any, what: str, *, rtol: float = 1e-12,
                 maxiter: int | None = None, dtype: Any = np.float64):
        super().__init__(shape, dtype)
        self._metric = _metric(self.shape, metric, what, rtol, maxiter)
        self.metric = self._metric.W
        if self.dtype.kind != "c" and np.result_type(_metric_dtype(self._metric.W)).kind == "c":
            raise ValueError(f"{what} is complex but the space is real; pass "
                             f"dtype=complex128 for a Hermitian metric on Cⁿ")

    def inner(self, x: Any, y: Any) -> Any:
        return self.pair(x, self.lower(y))

    def lower(self, x: Any) -> Any:
        return self._metric.lower(self, x)

    def riesz(self, covector: Any) -> Any:
        g = self._metric.apply_inverse(self, covector)
        dtype = getattr(covector, "dtype", None)
        if dtype is not None and g.dtype != dtype and np.dtype(dtype).kind == "f":
            g = rnp.astype(g, dtype)
        return g

    def _metric_key(self) -> Any:
        return self._metric.key()

def _metric_dtype(W: Any) -> Any:
    """The dtype of a metric as given (a map's: that of its domain's elements)."""
    if _is_linear_map(W):
        return getattr(W.domain, "dtype", np.float64)
    return np.asarray(W).dtype


def _real_array(w: np.ndarray, what: str, why: str) -> np.ndarray:
    """w as a float64 array; a complex w must have a zero imaginary part."""
    w = np.asarray(w)
    if w.dtype.kind == "c":
        if np.any(w.imag != 0):
            raise ValueError(f"{what} must be real: {why} (it has a nonzero imaginary part)")
        w = w.real
    return np.asarray(w, dtype=np.float64)


def _validate_positive(w: np.ndarray, what: str) -> None:
    """A diagonal metric (or quadrature weights) must be finite and positive."""
    ok = np.isfinite(w) & (w > 0)
    if not np.all(ok):
        bad = tuple(int(i) for i in np.unravel_index(int(np.argmin(ok)), w.shape))
        where = bad[0] if len(bad) == 1 else bad
        raise ValueError(f"{what} must be finite and positive; entry {where} is {float(w[bad])}")


def _validate_spd(W: np.ndarray, what: str) -> Any:
    """Check that the dense metric W is symmetric (Hermitian, if complex) positive
    definite; return its Cholesky factorisation (scipy.linalg.cho_factor)."""
    if not np.all(np.isfinite(W)):
        raise ValueError(f"{what} must be finite (it has NaN or infinite entries)")
    asym = float(np.max(np.abs(W - W.conj().T))) if W.size else 0.0
    if asym > 1e-10 * max(1.0, float(np.max(np.abs(W), initial=0.0))):
        if W.dtype.kind == "c":
            raise ValueError(f"{what} must be Hermitian (max |W - Wᴴ| = {asym:.3g})")
        raise ValueError(f"{what} must be symmetric (max |W - Wᵀ| = {asym:.3g})")
    try:
        return scipy.linalg.cho_factor(W, lower=True)
    except np.linalg.LinAlgError:
        raise ValueError(
            f"{what} must be positive definite (its Cholesky factorisation failed; "
            f"smallest eigenvalue {np.linalg.eigvalsh(W)[0]:.3g})"
        ) from None


def _validate_metric_map(M: LinearMap, shape: tuple[int, ...], what: str) -> None:
    """A cheap check that a LinearMap metric is symmetric and positive (two probes)."""
    if M.domain.shape != shape or M.codomain.shape != shape:
        raise ValueError(
            f"{what}: the map goes {M.domain!r} -> {M.codomain!r}; both must hold arrays of "
            f"shape {shape}"
        )
    rng = np.random.default_rng(0)
    u, v = rng.standard_normal(shape), rng.standard_normal(shape)
    cplx = np.dtype(getattr(M.domain, "dtype", np.float64)).kind == "c"
    if cplx:  # Hermitian: C-linear and self-adjoint under the complex vdot
        u = u + 1j * rng.standard_normal(shape)
        v = v + 1j * rng.standard_normal(shape)
    Mu, Mv = np.asarray(M(u)), np.asarray(M(v))
    scale = np.linalg.norm(Mu) * np.linalg.norm(v) + np.linalg.norm(Mv) * np.linalg.norm(u)
    if cplx:
        Miu = np.asarray(M(1j * u))
        if np.linalg.norm(Miu - 1j * Mu) > 1e-8 * max(float(np.linalg.norm(Mu)), 1e-300):
            raise ValueError(f"{what}: the map is not Hermitian: it is not complex-linear "
                             "(M(i u) != i M(u))")
        a, b = complex(np.vdot(Mu, v)), complex(np.vdot(u, Mv))
    else:
        a, b = float(np.sum(Mu * v)), float(np.sum(u * Mv))
    if abs(a - b) > 1e-8 * max(scale, 1e-300):
        kind = "Hermitian" if cplx else "symmetric"
        raise ValueError(f"{what}: the map is not {kind}: ⟨M u, v⟩ = {a!r} but "
                         f"⟨u, M v⟩ = {b!r}")
    if float(np.real(np.vdot(u, Mu))) <= 0 or float(np.real(np.vdot(v, Mv))) <= 0:
        raise ValueError(f"{what}: the map is not positive definite (⟨M u, u⟩ <= 0)")


@final
class Weighted(_MetricSpace):
    """Arrays of `shape` with ⟨x, y⟩ = xᵀ W y (x flattened).

    `metric` is a positive array of `shape` (W diagonal), an SPD matrix of shape
    (size, size), a symmetric positive `LinearMap` applied matrix-free (the
    Riesz map W⁻¹ c is then a CG solve), or a `Metric` object (these three are
    `DiagonalMetric`, `DenseMetric`, `MapMetric`). `shape` may be omitted and inferred
    from the metric. The constructor checks the claim cheaply: positivity,
    symmetry and a successful Cholesky factorisation (two random probes for maps).

    With `dtype` complex (the default when the metric is complex) the space is Cⁿ
    as a real space (SPEC §13): ⟨x, y⟩ = Re(xᴴ W y) with W Hermitian positive
    definite (a diagonal W is real and positive), `dim` = 2·size, `riesz(c) =
    W⁻¹ c` (so `grad(f, space=S)` is W⁻¹ (∂f/∂Re z + i ∂f/∂Im z)).

    Math: ⟨x, y⟩ = xᵀ W y, riesz(c) = W⁻¹ c, so `grad(f, space=X)` = W⁻¹ ∂f(x)*[1].

    Examples
    --------
    >>> X = riesz.spaces.Weighted(2, np.array([1.0, 4.0]))
    >>> print(riesz.grad(lambda x: x.sum(), space=X)(np.zeros(2)))
    [1.   0.25]

    Raises
    ------
    TypeError
        If `metric` is missing.
    ValueError
        If the metric is not positive definite (or symmetric), does not fit `shape`, or
        is complex for a real space.
    """

    _complex_ok = True

    def __init__(self, shape: int | Sequence[int] | None = None, metric: Any = None, *,
                 rtol: float = 1e-12, maxiter: int | None = None, dtype: Any = None):
        if metric is None:
            raise TypeError("Weighted: the metric argument is required (an SPD matrix, a "
                            "positive vector, or a LinearMap)")
        if shape is None:
            given = metric.W if isinstance(metric, Metric) else metric
            if _is_linear_map(given):
                shape = given.domain.shape
                if shape is None:
                    raise ValueError(f"Weighted: the metric map acts on {metric.domain!r}, not on "
                                     "arrays; weight pytrees leaf by leaf with PyTreeSpace")
            else:
                W = np.asarray(given)
                if W.ndim == 2 and W.shape[0] == W.shape[1]:
                    shape = (W.shape[0],)
                elif W.ndim == 1:
                    shape = W.shape
                else:
                    raise ValueError(f"Weighted: cannot infer shape from a metric of shape "
                                     f"{W.shape}; pass shape=")
        if dtype is None:
            given = metric.W if isinstance(metric, Metric) else metric
            cplx = np.result_type(_metric_dtype(given)).kind == "c"
            dtype = np.complex128 if cplx else np.float64
        super().__init__(_as_shape(shape), metric, "Weighted: metric", rtol=rtol,
                         maxiter=maxiter, dtype=dtype)

    def _key(self) -> tuple[Any, ...]:
        return (self.shape, self.dtype.str, self._metric_key())

    def __repr__(self) -> str:
        dtype = "" if self.dtype == np.float64 else f", dtype={self.dtype.name}"
        return f"Weighted(shape={self.shape}, metric={self._metric.kind}{dtype})"


@final
class L2(_MetricSpace):
    """Functions sampled at `points`, with the quadrature inner product
    ⟨f, g⟩ = Σ_i w_i f(t_i) g(t_i) ≈ ∫ f g. Elements are the sample values.

    Math: ⟨f, g⟩ = Σ_i w_i f(t_i) g(t_i) ≈ ∫ f g.

    Examples
    --------
    >>> X = riesz.spaces.L2.gauss_legendre(3)
    >>> f = X.sample(lambda t: t)
    >>> print(round(float(X.inner(f, f)), 6))  # ∫_{-1}^{1} t² dt = 2/3
    0.666667

    Raises
    ------
    ValueError
        If `points` are not 1-D or `weights` do not match them.
    """

    def __init__(self, points: Any, weights: Any):
        t = np.asarray(points, dtype=np.float64)
        w = np.asarray(weights, dtype=np.float64)
        if t.ndim != 1:
            raise ValueError(f"L2: points must be 1-D, got shape {t.shape}")
        if w.shape != t.shape:
            raise ValueError(f"L2: weights have shape {w.shape}, points have {t.shape}")
        super().__init__(t.shape, w, "L2: weights")
        self.points = t

    @property
    def weights(self) -> np.ndarray:
        """The quadrature weights w_i (the diagonal metric)."""
        return self.metric

    @classmethod
    def gauss_legendre(cls, n: int, interval: tuple[float, float] = (-1.0, 1.0)) -> L2:
        """n Gauss–Legendre nodes on `interval` (exact for polynomials of degree < 2n)."""
        a, b = _check_interval(interval, "L2.gauss_legendre")
        t, w = np.polynomial.legendre.leggauss(n)
        return cls((b - a) / 2 * t + (a + b) / 2, (b - a) / 2 * w)

    def sample(self, h: Any) -> np.ndarray:
        """The element of this space representing the callable `h` (its samples)."""
        return np.asarray(h(self.points), dtype=np.float64)

    def _key(self) -> tuple[Any, ...]:
        return (self.points.tobytes(), self.weights.tobytes())

    def __repr__(self) -> str:
        return f"L2(points={self.shape[0]})"


def _check_interval(interval: Any, who: str) -> tuple[float, float]:
    try:
        a, b = (float(v) for v in interval)
    except (TypeError, ValueError):
        raise ValueError(f"{who}: interval must be a pair (a, b), got {interval!r}") from None
    if not (np.isfinite(a) and np.isfinite(b) and a < b):
        raise ValueError(f"{who}: interval must satisfy a < b (finite), got {interval!r}")
    return a, b


@final
class Polynomials(_MetricSpace):
    """Polynomials of degree <= `degree` on `interval` = (a, b) with the L2
    product ⟨p, q⟩ = ∫_a^b p(t) q(t) dt.

    Elements are coefficient vectors in ascending order, c0 + c1 t + ... (as
    `numpy.polynomial.Polynomial`). The metric is the exact Gram matrix of the
    monomials, G_ij = ∫_a^b t^(i+j) dt = (b^(i+j+1) - a^(i+j+1)) / (i+j+1), so the
    Riesz gradient of a functional F is G⁻¹ ∂F*[1], not the coefficient gradient.

    Math: ⟨p, q⟩ = ∫_a^b p q dt = cᵀ G d with the Gram matrix G of the monomials.

    Examples
    --------
    >>> P = riesz.spaces.Polynomials(1)  # c0 + c1 t on [-1, 1]
    >>> print(round(float(P.inner(np.array([0.0, 1.0]), np.array([0.0, 1.0]))), 6))
    0.666667

    Raises
    ------
    ValueError
        If `degree` is not a non-negative int or the interval is not a < b.
    """

    def __init__(self, degree: int, interval: tuple[float, float] = (-1.0, 1.0)):
        if not isinstance(degree, (int, np.integer)) or degree < 0:
            raise ValueError(f"Polynomials: degree must be a non-negative int, got {degree!r}")
        a, b = _check_interval(interval, "Polynomials")
        self.degree = int(degree)
        self.interval = (a, b)
        k = np.arange(2 * self.degree + 1)
        moments = (b ** (k + 1) - a ** (k + 1)) / (k + 1)
        idx = np.add.outer(np.arange(self.degree + 1), np.arange(self.degree + 1))
        super().__init__((self.degree + 1,), moments[idx], "Polynomials: Gram matrix")

    def evaluate(self, c: Any, t: Any) -> Any:
        """p(t) = Σ c_k t^k (Horner; differentiable in c and t)."""
        out = c[self.degree] * np.ones_like(np.asarray(raw_value(t), dtype=np.float64))
        for k in range(self.degree - 1, -1, -1):
            out = out * t + c[k]
        return out

    def project(self, h: Any, nodes: int = 64) -> np.ndarray:
        """The L2 projection of the callable `h` onto this space: G⁻¹ (∫ t^k h(t) dt)_k,
        with the moments by Gauss–Legendre quadrature on `nodes` points."""
        q = L2.gauss_legendre(nodes, self.interval)
        V = np.vander(q.points, self.degree + 1, increasing=True)
        moments = V.T @ (q.weights * q.sample(h))
        return self.riesz(moments)

    def _key(self) -> tuple[Any, ...]:
        return (self.degree, self.interval)

    def __repr__(self) -> str:
        return f"Polynomials(degree={self.degree}, interval={self.interval})"


@final
class Symmetric(_ArraySpace):
    """Symmetric n×n matrices, a subspace of dimension n(n+1)/2 of the n×n
    matrices, with the Frobenius product.

    A covector G (e.g. the VJP of f at a symmetric X) pairs with symmetric U as
    Tr(Gᵀ U); only its symmetric part matters there, so the Riesz map is the
    projection sym(G) = (G + Gᵀ)/2. The basis is orthonormal: E_ii and
    (E_ij + E_ji)/√2 for i < j.

    Math: riesz(G) = (G + Gᵀ)/2.

    Examples
    --------
    >>> S = riesz.spaces.Symmetric(2)
    >>> print(S.dim, S.riesz(np.array([[0.0, 2.0], [0.0, 0.0]])))
    3 [[0. 1.]
     [1. 0.]]

    Raises
    ------
    ValueError
        If `n` is not a non-negative int.
    """

    def __init__(self, n: int, dtype: Any = np.float64):
        if not isinstance(n, (int, np.integer)) or n < 0:
            raise ValueError(f"Symmetric: n must be a non-negative int, got {n!r}")
        super().__init__((int(n), int(n)), dtype)
        self.n = int(n)

    @property
    def dim(self) -> int:
        return self.n * (self.n + 1) // 2

    def riesz(self, covector: Any) -> Any:
        return (covector + rnp.transpose(covector)) * 0.5

    def basis(self) -> Iterator[np.ndarray]:
        r = 1.0 / np.sqrt(2.0)
        for i in range(self.n):
            for j in range(i, self.n):
                E = np.zeros(self.shape, self.dtype)
                if i == j:
                    E[i, i] = 1.0
                else:
                    E[i, j] = E[j, i] = r
                yield E

    def random(self, rng: np.random.Generator) -> np.ndarray:
        A = rng.standard_normal(self.shape)
        return ((A + A.T) / 2).astype(self.dtype)

    def _why_not(self, x: Any) -> str | None:
        why = super()._why_not(x)
        if why is not None:
            return why
        X = np.asarray(raw_value(x))
        asym = float(np.max(np.abs(X - X.T))) if X.size else 0.0
        if asym > 1e-10 * max(1.0, float(np.max(np.abs(X)))):
            return f"it is not symmetric (max |X - Xᵀ| = {asym:.3g})"
        return None

    def _key(self) -> tuple[Any, ...]:
        return (self.n, self.dtype.str)

    def __repr__(self) -> str:
        dtype = "" if self.dtype == np.float64 else f", dtype={self.dtype.name}"
        return f"Symmetric({self.n}{dtype})"


# -- containers -------------------------------------------------------------------------


class _StructureMismatch(ValueError):
    """A value does not have a container space's structure (the message says why)."""


class _ContainerSpace(Space):
    """A product of spaces: ⟨(x1, y1), (x2, y2)⟩ = ⟨x1, x2⟩ + ⟨y1, y2⟩, every
    operation mapped over the children."""

    shape = None
    spaces: tuple[Space, ...]
    _child: str  # what a child is called in messages ("factor", "leaf")

    @abc.abstractmethod
    def _children(self, x: Any) -> list[Any]:
        """The children of an element; raises _StructureMismatch saying why not."""

    @abc.abstractmethod
    def _join(self, children: Sequence[Any]) -> Any:
        """An element from its children."""

    @abc.abstractmethod
    def _with(self, spaces: Sequence[Space]) -> Space:
        """The same container over other child spaces."""

    def _split(self, x: Any) -> list[Any]:
        try:
            return self._children(x)
        except _StructureMismatch as e:
            raise ValueError(f"{self!r}: {e}") from None

    @property
    def dim(self) -> int:
        return sum(s.dim for s in self.spaces)

    @property
    def size(self) -> int:
        return sum(s.size for s in self.spaces)

    def _map(self, method: str, *xs: Any) -> Any:
        """An element whose child i is `spaces[i].method(x_i, ...)`."""
        parts = [self._split(x) for x in xs]
        return self._join([getattr(s, method)(*p)
                           for s, *p in zip(self.spaces, *parts, strict=True)])

    def _sum(self, method: str, x: Any, y: Any) -> Any:
        """Σ_i spaces[i].method(x_i, y_i) (the inner product, the pairing)."""
        terms = [getattr(s, method)(a, b) for s, a, b in
                 zip(self.spaces, self._split(x), self._split(y), strict=True)]
        return sum(terms[1:], start=terms[0]) if terms else np.float64(0.0)

    def _embed(self, method: str) -> Iterator[Any]:
        """Each vector of `spaces[i].method()` in slot i, zeros elsewhere, for every i."""
        for i, s in enumerate(self.spaces):
            for b in getattr(s, method)():
                yield self._join([b if j == i else t.zeros() for j, t in enumerate(self.spaces)])

    def zeros(self) -> Any:
        return self._join([s.zeros() for s in self.spaces])

    def add(self, x: Any, y: Any) -> Any:
        return self._map("add", x, y)

    def scale(self, a: Any, x: Any) -> Any:
        return self._join([s.scale(a, xi)
                           for s, xi in zip(self.spaces, self._split(x), strict=True)])

    def inner(self, x: Any, y: Any) -> Any:
        return self._sum("inner", x, y)

    def pair(self, covector: Any, x: Any) -> Any:
        return self._sum("pair", covector, x)

    def riesz(self, covector: Any) -> Any:
        return self._map("riesz", covector)

    def lower(self, x: Any) -> Any:
        return self._map("lower", x)

    def basis(self) -> Iterator[Any]:
        return self._embed("basis")

    def standard_basis(self) -> Iterator[Any]:
        return self._embed("standard_basis")

    def random(self, rng: np.random.Generator) -> Any:
        return self._join([s.random(rng) for s in self.spaces])

    def flatten(self, x: Any) -> Any:
        parts = [s.flatten(xi) for s, xi in zip(self.spaces, self._split(x), strict=True)]
        return rnp.concatenate(parts) if parts else np.zeros(0)

    def unflatten(self, v: Any) -> Any:
        out, start = [], 0
        for s in self.spaces:
            out.append(s.unflatten(v[start:start + s.size]))
            start += s.size
        return self._join(out)

    def ambient(self) -> Space:
        return self._with([s.ambient() for s in self.spaces])

    def _why_not(self, x: Any) -> str | None:
        try:
            children = self._children(x)
        except _StructureMismatch as e:
            return str(e)
        for i, (s, xi) in enumerate(zip(self.spaces, children, strict=True)):
            why = s._why_not(xi)
            if why is not None:
                return f"{self._child} {i}: {why}"
        return None

    def _key(self) -> tuple[Any, ...]:
        return tuple(self.spaces)


@final
class Product(_ContainerSpace):
    """The product space X1 × X2 × ...; elements are tuples (x1, x2, ...) and
    ⟨x, y⟩ = Σ_i ⟨x_i, y_i⟩_i.

    Math: ⟨(x₁, x₂), (y₁, y₂)⟩ = ⟨x₁, y₁⟩₁ + ⟨x₂, y₂⟩₂.

    Examples
    --------
    >>> X = riesz.spaces.Product(riesz.spaces.Euclidean(2), riesz.spaces.Euclidean())
    >>> print(X.dim, X.inner((np.ones(2), 3.0), (np.ones(2), 2.0)))
    3 8.0

    Raises
    ------
    TypeError
        If a factor is not a Space.
    """

    _child = "factor"

    def __init__(self, *spaces: Space):
        for i, s in enumerate(spaces):
            if not isinstance(s, Space):
                raise TypeError(f"Product: factor {i} is a {type(s).__name__}, not a Space")
        self.spaces = tuple(spaces)

    def _children(self, x: Any) -> list[Any]:
        if not isinstance(x, (tuple, list)) or len(x) != len(self.spaces):
            got = f"{type(x).__name__}" + (
                f" of length {len(x)}" if isinstance(x, (tuple, list)) else "")
            raise _StructureMismatch(f"expected a tuple of {len(self.spaces)} elements, got "
                                     f"{got}")
        return list(x)

    def _join(self, children: Sequence[Any]) -> tuple[Any, ...]:
        return tuple(children)

    def _with(self, spaces: Sequence[Space]) -> Space:
        return Product(*spaces)

    def __repr__(self) -> str:
        return f"Product({', '.join(map(repr, self.spaces))})"


@final
class PyTreeSpace(_ContainerSpace):
    """Pytrees with the structure of `example` (tuples, lists, dicts, registered
    classes), each leaf in its own array space: by default `Euclidean` of the
    leaf's shape, or the spaces in `spaces`, a pytree of array spaces with the
    same structure (e.g. a `Weighted` space for one parameter).

    Examples
    --------
    >>> X = riesz.spaces.PyTreeSpace({"w": np.zeros(2), "b": 0.0})
    >>> print(X.dim, X.inner({"w": np.ones(2), "b": 1.0}, {"w": np.ones(2), "b": 2.0}))
    3 4.0

    Raises
    ------
    ValueError
        If `spaces` does not have the example's structure.
    TypeError
        If a leaf's space is not an array space.
    """

    _child = "leaf"

    def __init__(self, example: Any, spaces: Any = None):
        leaves, self.treedef = tree_flatten(example)
        if spaces is None:
            children: list[Space] = [space_of(x) for x in leaves]
        else:
            children, sdef = tree_flatten(spaces, strict=False)
            if sdef != self.treedef:
                raise ValueError(f"PyTreeSpace: spaces have structure {sdef}, the example has "
                                 f"{self.treedef}")
            for i, (s, x) in enumerate(zip(children, leaves, strict=True)):
                if not isinstance(s, _ArraySpace):
                    raise TypeError(f"PyTreeSpace: leaf {i} space must be an array space, got "
                                    f"{type(s).__name__} (use Product to nest container spaces)")
                s.check(x, f"PyTreeSpace: leaf {i} of the example")
        self.spaces = tuple(children)

    @classmethod
    def _from(cls, treedef: PyTreeDef, spaces: Sequence[Space]) -> PyTreeSpace:
        self = cls.__new__(cls)
        self.treedef = treedef
        self.spaces = tuple(spaces)
        return self

    def _children(self, x: Any) -> list[Any]:
        try:
            leaves, d = tree_flatten(x)
        except TypeError as e:
            raise _StructureMismatch(str(e)) from None
        if d != self.treedef:
            raise _StructureMismatch(f"it has structure {d}, expected {self.treedef}")
        return leaves

    def _join(self, children: Sequence[Any]) -> Any:
        return tree_unflatten(self.treedef, list(children))

    def _with(self, spaces: Sequence[Space]) -> Space:
        return PyTreeSpace._from(self.treedef, spaces)

    def _key(self) -> tuple[Any, ...]:
        return (self.treedef, tuple(self.spaces))

    def __repr__(self) -> str:
        return f"PyTreeSpace({self.treedef}, {list(self.spaces)})"


def space_of(x: Any) -> Space:
    """The Euclidean space of an array (or scalar), or the PyTreeSpace of a pytree.

    Examples
    --------
    >>> print(riesz.spaces.space_of(np.zeros((2, 3))))
    Euclidean(shape=(2, 3))
    """
    shape = _shape_of(x)
    if shape is not None or hasattr(x, "__array_function__"):
        dtype = np.result_type(raw_value(x))
        return Euclidean(shape if shape is not None else np.shape(raw_value(x)),
                         dtype if dtype.kind in "fc" else np.float64)
    return PyTreeSpace(x)
