"""Linear solvers as objects: `init` once, `compute` for many right-hand sides.

A solver splits solving A x = b into `state = solver.init(A)` (the work that
depends on A only: a factorisation for `Direct`, the operator itself for the
Krylov methods) and `solver.compute(state, b)`; `solver.transpose(state)` is
the state for the metric-free transpose Aᵀ, from the same work (an LU
factorisation solves with A and Aᵀ alike). So an implicit layer factorises its
Jacobian once and reuses it for its tangent and adjoint solves.

The operators are riesz's linear maps (`riesz.linear`); this module only uses
their protocol (`domain`, `codomain`, `mv`, `T`, `factorize`), so the spaces
(a `Weighted` space with a matrix-free metric solves by CG) can use it too.

Krylov methods are SciPy's, run on the maps' flattened coordinates. CG works
in the domain's geometry: for A self-adjoint and positive under ⟨x, y⟩ = xᵀ W y,
W A is symmetric positive definite in coordinates, so CG is run on
(W A) x = W b (W = I for Euclidean spaces). Non-convergence raises
`SolverError` with the residual, never returns a silently wrong answer.
"""

from __future__ import annotations

import abc
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.linalg
import scipy.sparse.linalg as spla

from ._core.pytree import tree_flatten, tree_map, tree_unflatten
from ._core.trace import Tracer

__all__ = [
    "BiCGSTAB",
    "CG",
    "DiagonalFactorization",
    "Factorization",
    "GMRES",
    "METHODS",
    "Direct",
    "LUFactorization",
    "LinearSolver",
    "ScaledFactorization",
    "SolverError",
    "check_problem",
    "solver_for",
]


class SolverError(RuntimeError):
    """A solve did not converge (or broke down).

    `residual` is the final residual (for linear solves the relative residual
    ‖b - A x‖ / ‖b‖, for nonlinear ones the residual norm ‖g(y) - y‖ or
    ‖f(y)‖), `iterations` the iterations taken, `history` the residual norms
    where the method reports them, and `x` the last iterate.

    Examples
    --------
    >>> A = riesz.LinearMap.from_matrix(np.array([[1.0, 2.0], [2.0, 1.0]]))  # indefinite
    >>> try:
    ...     riesz.solve(A, np.array([1.0, 0.0]), method="cg", maxiter=1)
    ... except riesz.SolverError as e:
    ...     print(e.method, e.iterations)
    cg 1
    """

    def __init__(self, message: str, *, method: str, residual: float, iterations: int,
                 history: list[float], x: Any):
        super().__init__(message)
        self.method = method
        self.residual = residual
        self.iterations = iterations
        self.history = history
        self.x = x




def is_complex_space(space: Any) -> bool:
    """Whether a space holds complex arrays (an array space of complex dtype, or a
    container with one), by the spaces' protocol (`dtype`, `spaces`)."""
    dtype = getattr(space, "dtype", None)
    if dtype is not None:
        return np.dtype(dtype).kind == "c"
    return any(is_complex_space(s) for s in getattr(space, "spaces", ()))


def _widened(a: Any) -> np.ndarray:
    return np.asarray(a, np.complex128 if np.asarray(a).dtype.kind == "c" else np.float64)


class Coordinates:
    """The real coordinate vectors (float64) a solver iterates on for the elements of
    a space. A real space: its flattened storage. A complex one (SPEC §13: Cⁿ is the
    real space R²ⁿ under Re vdot): `_Packer`'s, each complex leaf as its real parts
    then its imaginary parts, in which the dot product is the pairing
    Re Σ conj(c) x and every R-linear map, holomorphic or not, is a real matrix."""

    def __init__(self, space: Any):
        self.space = space
        self.complex = is_complex_space(space)
        # elements in double precision, as a real space's (its float64 coordinates reshaped)
        self._packer = _Packer(tree_map(_widened, space.zeros()), repr(space)) \
            if self.complex else None
        self.dim = self._packer.size if self._packer is not None else space.size

    def flat(self, x: Any) -> np.ndarray:
        """The coordinates of the element (or covector) x."""
        if self._packer is None:
            return np.asarray(self.space.flatten(x), dtype=np.float64)
        return self._packer.pack(x, f"an element of {self.space!r}")

    def element(self, v: np.ndarray) -> Any:
        """The element with coordinates v."""
        if self._packer is None:
            return self.space.unflatten(v)
        return self._packer.unpack(v)


def _fresh(out: np.ndarray, v: np.ndarray) -> np.ndarray:
    """`out`, copied if it shares memory with the input `v`: SciPy's Krylov methods
    reuse their work vectors, so a map returning (a view of) its input, such as the
    identity, would otherwise have its result overwritten."""
    return out.copy() if np.may_share_memory(out, v) else out


def _concrete(b: Any, who: str) -> None:
    if any(isinstance(x, Tracer) for x in tree_flatten(b)[0]):
        raise TypeError(f"{who}: the right-hand side is a traced value; riesz.solve runs on "
                        "concrete arrays and is not differentiable itself (implicit "
                        "differentiation of solves belongs to riesz.implicit)")


def _check_square(A: Any, who: str) -> None:
    if Coordinates(A.domain).dim != Coordinates(A.codomain).dim:
        raise ValueError(f"{who}: A maps {A.domain!r} -> {A.codomain!r}; a square map is "
                         "required")


# -- coordinates ------------------------------------------------------------------------


def _no_tracers(leaves: Sequence[Any], what: str) -> None:
    if any(isinstance(x, Tracer) for x in leaves):
        raise TypeError(
            f"{what} is a traced value: riesz's nonlinear solvers run on concrete arrays and "
            "are not differentiated through. To differentiate a solution with respect to "
            "parameters, use riesz.implicit.fixed_point / root / argmin (implicit function "
            "theorem), which call these solvers on concrete values")


class _Packer:
    """A pytree of float arrays <-> one flat float64 vector (concrete values only).

    A complex leaf of n entries takes 2n coordinates, its real parts then its
    imaginary parts (Cⁿ viewed as R²ⁿ): the Euclidean inner product there is
    SPEC's Re vdot, so every solver, and riesz's R-linear JVPs and their
    adjoints, work unchanged on complex states (non-holomorphic ones included).

    With `batched`, every leaf has a leading batch axis of one size B and the
    batch is packed into a B x n matrix, one row per example (`pack_rows`)."""

    def __init__(self, example: Any, what: str, batched: bool = False):
        leaves, self.treedef = tree_flatten(example)
        _no_tracers(leaves, what)
        if not leaves:
            raise ValueError(f"{what} has no array leaves")
        arrays = [np.asarray(x) for x in leaves]
        self.batch = None
        if batched:
            sizes_b = {a.shape[0] if a.ndim else None for a in arrays}
            if len(sizes_b) != 1 or None in sizes_b:
                raise ValueError(f"{what}: a batched solve needs every leaf to have the same "
                                 f"leading batch axis, got shapes {[a.shape for a in arrays]}")
            self.batch = sizes_b.pop()
            arrays = [a[0] for a in arrays]
        self.shapes = [a.shape for a in arrays]
        self.dtypes = [a.dtype if a.dtype.kind in "fc" else np.dtype(np.float64)
                       for a in arrays]
        self.complex = [dt.kind == "c" for dt in self.dtypes]
        sizes = [2 * a.size if c else a.size for a, c in zip(arrays, self.complex, strict=True)]
        self.splits = np.cumsum(sizes)[:-1]
        self.size = int(sum(sizes))

    def pack(self, tree: Any, what: str) -> np.ndarray:
        return self._pack(tree, what, ())

    def _pack(self, tree: Any, what: str, lead: tuple[int, ...]) -> np.ndarray:
        """The leaves as one real vector per leading index (complex leaves as real parts,
        then imaginary parts), shape `lead + (size,)`."""
        leaves, treedef = tree_flatten(tree)
        if treedef != self.treedef:
            raise ValueError(f"{what} has structure {treedef}, expected {self.treedef} "
                             "(that of y0)")
        _no_tracers(leaves, what)
        parts = []
        for k, (x, shape) in enumerate(zip(leaves, self.shapes, strict=True)):
            a = self._real(x, k)
            if a.shape != (*lead, *shape):
                raise ValueError(f"{what}: leaf {k} has shape {a.shape}, expected "
                                 f"{(*lead, *shape)} (that of y0)")
            parts.append(np.concatenate([a.real.reshape(*lead, -1), a.imag.reshape(*lead, -1)],
                                        axis=-1)
                         if self.complex[k] else a.reshape(*lead, -1))
        return parts[0].copy() if len(parts) == 1 else np.concatenate(parts, axis=-1)

    def _real(self, x: Any, k: int) -> np.ndarray:
        """Leaf k as float64, or complex128 for a complex leaf (a complex value for a
        real leaf is an error, not a silently dropped imaginary part)."""
        if self.complex[k]:
            return np.asarray(x, dtype=np.complex128)
        a = np.asarray(x)
        if a.dtype.kind == "c":
            raise TypeError(f"leaf {k} is complex ({a.dtype}) where y0's is real "
                            f"({self.dtypes[k]}): start from a complex y0")
        return a.astype(np.float64, copy=False)

    @staticmethod
    def _leaf(p: np.ndarray, shape: tuple[int, ...], dt: np.dtype, lead: tuple[int, ...]
              ) -> np.ndarray:
        if dt.kind == "c":  # real parts, then imaginary parts
            half = p.shape[-1] // 2
            p = p[..., :half] + 1j * p[..., half:]
        return p.reshape((*lead, *shape)).astype(dt, copy=False)

    def unpack(self, v: np.ndarray) -> Any:
        parts = np.split(v, self.splits) if len(self.shapes) > 1 else [v]
        return tree_unflatten(self.treedef, [
            self._leaf(p, s, dt, ())
            for p, s, dt in zip(parts, self.shapes, self.dtypes, strict=True)])

    def pack_rows(self, tree: Any, what: str) -> np.ndarray:
        """The B x n matrix of a batch (B = 1 for an unbatched packer)."""
        if self.batch is None:
            return self.pack(tree, what)[None]
        return self._pack(tree, what, (self.batch,))

    def unpack_rows(self, v: np.ndarray) -> Any:
        if self.batch is None:
            return self.unpack(v[0])
        parts = np.split(v, self.splits, axis=1) if len(self.shapes) > 1 else [v]
        return tree_unflatten(self.treedef, [
            self._leaf(p, s, dt, (len(v),))
            for p, s, dt in zip(parts, self.shapes, self.dtypes, strict=True)])

    def example(self, v: np.ndarray, b: int) -> Any:
        """Example `b` of the packed batch `v` as a pytree."""
        return self.unpack(v[b])


class LinearSolver(abc.ABC):
    """Solves A x = b for linear maps A: `init(A)` -> state, `compute(state, b)` -> x,
    `transpose(state)` -> the state of Aᵀ. `solver(A, b)` does init and compute.

    Examples
    --------
    >>> solver = riesz.linear_solvers.CG(rtol=1e-12)
    >>> A = riesz.LinearMap.from_matrix(np.array([[2.0, 0.0], [0.0, 4.0]]))
    >>> state = solver.init(A)  # once per A, then one compute per right-hand side
    >>> print(solver.compute(state, np.array([2.0, 4.0])), solver(A, np.array([4.0, 4.0])))
    [1. 1.] [2. 1.]

    Raises
    ------
    ValueError
        From `init` if A is not square.
    riesz.SolverError
        From `compute` if the method does not converge.
    """

    name: str

    @abc.abstractmethod
    def init(self, A: Any) -> Any:
        """The work that depends on A only (checked square)."""

    @abc.abstractmethod
    def compute(self, state: Any, b: Any) -> Any:
        """x with A x = b, for b an element of A.codomain (concrete arrays)."""

    @abc.abstractmethod
    def transpose(self, state: Any) -> Any:
        """The state solving with Aᵀ (covectors of the domain -> covectors of the codomain)."""

    def __call__(self, A: Any, b: Any) -> Any:
        return self.compute(self.init(A), b)


# -- direct: factorisations -------------------------------------------------------------


class Factorization(abc.ABC):
    """A factorised square matrix on flattened coordinates: `solve(b)` is A⁻¹ b,
    `transposed()` the factorisation of Aᵀ (sharing the work).

    Examples
    --------
    >>> F = riesz.linear_solvers.LUFactorization(np.array([[1.0, 2.0], [0.0, 1.0]]))
    >>> print(isinstance(F, riesz.linear_solvers.Factorization), F.solve(np.array([3.0, 1.0])))
    True [1. 1.]
    """

    @abc.abstractmethod
    def solve(self, b: np.ndarray) -> np.ndarray:
        """A⁻¹ b for a flat vector b."""

    @abc.abstractmethod
    def transposed(self) -> Factorization:
        """The factorisation of Aᵀ."""


def _singular(message: str) -> SolverError:
    return SolverError(message, method="direct", residual=float("nan"), iterations=0,
                       history=[], x=None)


class LUFactorization(Factorization):
    """P L U = A (scipy.linalg.lu_factor), computed once; solves with A or Aᵀ. A
    complex A is a C-linear map whose transpose under the pairing Re Σ conj(c) x
    is Aᴴ, so its transposed factorisation solves with Aᴴ.

    Examples
    --------
    >>> F = riesz.linear_solvers.LUFactorization(np.array([[1.0, 2.0], [0.0, 1.0]]))
    >>> print(F.solve(np.array([3.0, 1.0])), F.transposed().solve(np.array([1.0, 2.0])))
    [1. 1.] [1. 0.]
    """

    def __init__(self, matrix: np.ndarray | None, trans: int = 0, lu: Any = None):
        if lu is None:
            M = np.asarray(matrix)
            M = M.astype(np.complex128 if M.dtype.kind == "c" else np.float64, copy=False)
            if not np.all(np.isfinite(M)):
                raise _singular(f"solve(direct): the {M.shape[0]}x{M.shape[1]} matrix has "
                                "non-finite entries")
            with warnings.catch_warnings():  # exact singularity is reported below
                warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
                lu = scipy.linalg.lu_factor(M, check_finite=False)
            if M.size and np.any(np.diag(lu[0]) == 0.0):
                raise _singular(f"solve(direct): the materialised {M.shape[0]}x{M.shape[1]} "
                                "matrix is singular (a zero pivot in its LU factorisation)")
        self.lu, self.trans = lu, trans

    def solve(self, b: np.ndarray) -> np.ndarray:
        if b.size == 0:
            return b.copy()
        if b.dtype.kind == "c" and self.lu[0].dtype.kind != "c":  # a real A on Cⁿ
            return self.solve(b.real) + 1j * self.solve(b.imag)
        return scipy.linalg.lu_solve(self.lu, b, trans=self.trans, check_finite=False)

    def transposed(self) -> LUFactorization:
        transposed = 2 if self.lu[0].dtype.kind == "c" else 1  # Aᴴ, or Aᵀ
        return LUFactorization(None, 0 if self.trans else transposed, self.lu)


class DiagonalFactorization(Factorization):
    """A = diag(d): A⁻¹ b = b / d, and Aᵀ = diag(conj d). A d of one entry (the
    identity's) applies to every coordinate.

    Examples
    --------
    >>> F = riesz.linear_solvers.DiagonalFactorization(np.array([2.0, 4.0]))
    >>> print(F.solve(np.array([2.0, 2.0])))
    [1.  0.5]
    """

    def __init__(self, d: np.ndarray):
        d = np.asarray(d)
        self.d = d.astype(np.complex128 if d.dtype.kind == "c" else np.float64,
                          copy=False).reshape(-1)
        if np.any(self.d == 0.0):
            raise _singular(f"solve(direct): the diagonal map is singular (a zero entry at "
                            f"{int(np.argmin(np.abs(self.d)))})")

    def solve(self, b: np.ndarray) -> np.ndarray:
        return b / self.d

    def transposed(self) -> DiagonalFactorization:
        return DiagonalFactorization(self.d.conj()) if self.d.dtype.kind == "c" else self


class ComplexFactorization(Factorization):
    """A factorisation of a C-linear map of one complex array space to another (a
    complex LU, a complex diagonal) solving in complex arithmetic, used on the real
    coordinates (Re b, Im b) that the solvers iterate on (`Coordinates`)."""

    def __init__(self, inner: Factorization):
        self.inner = inner

    def solve(self, b: np.ndarray) -> np.ndarray:
        n = b.shape[0] // 2
        x = self.inner.solve(b[:n] + 1j * b[n:])
        return np.concatenate([x.real, x.imag])

    def transposed(self) -> ComplexFactorization:
        return ComplexFactorization(self.inner.transposed())


class ScaledFactorization(Factorization):
    """A = c B: A⁻¹ b = B⁻¹ b / c.

    Examples
    --------
    >>> D = riesz.linear_solvers.DiagonalFactorization(np.array([2.0, 4.0]))
    >>> print(riesz.linear_solvers.ScaledFactorization(2.0, D).solve(np.array([4.0, 8.0])))
    [1. 1.]
    """

    def __init__(self, c: float, inner: Factorization):
        if c == 0.0:
            raise _singular("solve(direct): the map is scaled by 0")
        self.c, self.inner = c, inner

    def solve(self, b: np.ndarray) -> np.ndarray:
        return self.inner.solve(b) / self.c

    def transposed(self) -> ScaledFactorization:
        return ScaledFactorization(self.c, self.inner.transposed())


@dataclass(frozen=True)
class _DirectState:
    A: Any
    factor: Factorization


class Direct(LinearSolver):
    """Factorise A once (`A.factorize()`: LU of its matrix, or the structure's own:
    a diagonal, a scaled or an identity map need no LU), then solve by
    substitution; the transpose reuses the factors. `rtol` bounds the relative
    residual ‖b - A x‖ / ‖b‖ accepted (a numerically singular matrix raises).

    Examples
    --------
    >>> A = riesz.LinearMap.from_matrix(np.array([[1.0, 2.0], [0.0, 1.0]]))
    >>> print(riesz.linear_solvers.Direct()(A, np.array([3.0, 1.0])))
    [1. 1.]

    Raises
    ------
    riesz.SolverError
        If the residual exceeds `rtol` (a numerically singular matrix).
    """

    name = "direct"

    def __init__(self, rtol: float = 1e-10):
        self.rtol = rtol

    def init(self, A: Any) -> _DirectState:
        _check_square(A, "solve")
        return _DirectState(A, A.factorize())

    def compute(self, state: _DirectState, b: Any) -> Any:
        A = state.A
        dom, cod = Coordinates(A.domain), Coordinates(A.codomain)
        b_flat = cod.flat(b)
        b_norm = float(np.linalg.norm(b_flat))
        if b_norm == 0.0:
            return A.domain.zeros()
        x_flat = state.factor.solve(b_flat)
        x = dom.element(x_flat)
        with np.errstate(all="ignore"):
            r = float(np.linalg.norm(b_flat - cod.flat(A.mv(x)))) / b_norm
        if not np.isfinite(r) or r > max(1e-6, self.rtol * 1e3):
            raise SolverError(f"solve(direct): residual {r:.3g} (the matrix is numerically "
                              "singular)", method="direct", residual=r, iterations=1,
                              history=[r], x=x)
        return x

    def transpose(self, state: _DirectState) -> _DirectState:
        return _DirectState(state.A.T, state.factor.transposed())


# -- Krylov methods ---------------------------------------------------------------------


class _Krylov(LinearSolver):
    """A SciPy Krylov method on flattened coordinates (the state is A itself)."""

    def __init__(self, rtol: float = 1e-10, atol: float = 0.0, maxiter: int | None = None,
                 x0: Any = None, M: Any = None, restart: int | None = None):
        self.rtol, self.atol, self.maxiter = rtol, atol, maxiter
        self.x0, self.M, self.restart = x0, M, restart

    def init(self, A: Any) -> Any:
        _check_square(A, "solve")
        return A

    def transpose(self, state: Any) -> Any:
        return state.T

    def _run(self, lin: Any, rhs: np.ndarray, x0: np.ndarray | None, prec: Any,
             tol_abs: float, record: Callable[[Any], None]) -> tuple[np.ndarray, int]:
        raise NotImplementedError

    def compute(self, state: Any, b: Any) -> Any:
        A, method = state, self.name
        dom, cod = A.domain, A.codomain
        X, Y = Coordinates(dom), Coordinates(cod)  # complex spaces: real coordinates
        n = X.dim

        def apply(v: np.ndarray) -> np.ndarray:
            return _fresh(Y.flat(A.mv(X.element(v))), v)

        b_flat = Y.flat(b)
        b_norm = float(np.linalg.norm(b_flat))
        if b_norm == 0.0:
            return dom.zeros()
        in_geometry = method == "cg" and cod == dom
        if in_geometry:
            # CG in the domain's geometry: (W A) x = W b, symmetric if A is self-adjoint.
            # Its residuals W (b - A x) are covectors, so a preconditioner M ≈ A⁻¹ of
            # this system is M W⁻¹ = M ∘ riesz ≈ (W A)⁻¹ (symmetric if M is self-adjoint).
            # On Cⁿ the coordinates' dot product is Re vdot: A Hermitian (self-adjoint
            # under Re⟨·,·⟩) and positive makes this a real SPD system.
            def op(v: np.ndarray) -> np.ndarray:
                return _fresh(X.flat(dom.lower(A.mv(X.element(v)))), v)

            rhs = X.flat(dom.lower(b))
        else:
            op, rhs = apply, b_flat
        lin = spla.LinearOperator((n, n), matvec=op, dtype=np.float64)
        prec = None
        if self.M is not None:
            M = self.M

            def prec_op(v: np.ndarray) -> np.ndarray:
                r = Y.element(v)
                if in_geometry:
                    r = dom.riesz(r)
                return _fresh(X.flat(M.mv(r)), v)

            prec = spla.LinearOperator((n, n), matvec=prec_op, dtype=np.float64)
        x_init = None if self.x0 is None else X.flat(self.x0)
        history: list[float] = []
        count = [0]

        def record(res: Any) -> None:
            count[0] += 1
            if np.ndim(res) == 0:
                history.append(float(res))

        tol_abs = max(self.rtol * float(np.linalg.norm(rhs)), self.atol)
        x_flat, info = self._run(lin, rhs, x_init, prec, tol_abs, record)
        # SciPy tests convergence at the top of an iteration, so a last iterate that
        # meets the tolerance is still reported as info > 0: check it here
        if info > 0 and float(np.linalg.norm(rhs - op(x_flat))) <= tol_abs:
            info = 0
        if info != 0:
            r = float(np.linalg.norm(b_flat - apply(x_flat))) / b_norm
            what = "did not converge" if info > 0 else "broke down"
            raise SolverError(
                f"solve({method}) {what} after {count[0]} iterations: relative residual "
                f"‖b - A x‖/‖b‖ = {r:.3g} (asked rtol {self.rtol:g}, atol {self.atol:g}); "
                "raise maxiter, precondition, or check that A suits the method (CG needs A "
                "self-adjoint and positive)", method=method, residual=r, iterations=count[0],
                history=history, x=X.element(x_flat))
        return X.element(x_flat)


class CG(_Krylov):
    """Conjugate gradients, for A self-adjoint and positive in its domain's geometry.

    Math: minimises ‖x - A⁻¹ b‖_A over Krylov spaces; needs ⟨A u, u⟩ > 0.

    Examples
    --------
    >>> A = riesz.LinearMap.from_matrix(np.array([[2.0, 0.0], [0.0, 4.0]]))
    >>> print(riesz.linear_solvers.CG()(A, np.array([2.0, 2.0])))
    [1.  0.5]

    Raises
    ------
    riesz.SolverError
        If it does not converge within `maxiter` (e.g. A indefinite).
    """

    name = "cg"

    def _run(self, lin: Any, rhs: np.ndarray, x0: np.ndarray | None, prec: Any,
             tol_abs: float, record: Callable[[Any], None]) -> tuple[np.ndarray, int]:
        return spla.cg(lin, rhs, x0=x0, rtol=0.0, atol=tol_abs, maxiter=self.maxiter, M=prec,
                       callback=record)


class BiCGSTAB(_Krylov):
    """BiCGSTAB, for a general square A.

    Examples
    --------
    >>> A = riesz.LinearMap.from_matrix(np.array([[1.0, 2.0], [0.0, 1.0]]))
    >>> print(np.round(riesz.linear_solvers.BiCGSTAB()(A, np.array([3.0, 1.0])), 6))
    [1. 1.]

    Raises
    ------
    riesz.SolverError
        If it does not converge within `maxiter` or breaks down.
    """

    name = "bicgstab"

    def _run(self, lin: Any, rhs: np.ndarray, x0: np.ndarray | None, prec: Any,
             tol_abs: float, record: Callable[[Any], None]) -> tuple[np.ndarray, int]:
        return spla.bicgstab(lin, rhs, x0=x0, rtol=0.0, atol=tol_abs, maxiter=self.maxiter,
                             M=prec, callback=record)


class GMRES(_Krylov):
    """Restarted GMRES, for a general square A (records the residual history).

    Examples
    --------
    >>> A = riesz.LinearMap.from_matrix(np.array([[1.0, 2.0], [0.0, 1.0]]))
    >>> print(np.round(riesz.linear_solvers.GMRES()(A, np.array([3.0, 1.0])), 6))
    [1. 1.]

    Raises
    ------
    riesz.SolverError
        If it does not converge within `maxiter`.
    """

    name = "gmres"

    def _run(self, lin: Any, rhs: np.ndarray, x0: np.ndarray | None, prec: Any,
             tol_abs: float, record: Callable[[Any], None]) -> tuple[np.ndarray, int]:
        return spla.gmres(lin, rhs, x0=x0, rtol=0.0, atol=tol_abs, maxiter=self.maxiter,
                          M=prec, restart=self.restart, callback=record,
                          callback_type="pr_norm")


_KRYLOV: dict[str, type[_Krylov]] = {"cg": CG, "gmres": GMRES, "bicgstab": BiCGSTAB}
_SOLVERS: dict[str, type[LinearSolver]] = {**_KRYLOV, "direct": Direct}
METHODS = tuple(_SOLVERS)


def solver_for(method: str | LinearSolver, *, rtol: float = 1e-10, atol: float = 0.0,
               maxiter: int | None = None, x0: Any = None, restart: int | None = None,
               M: Any = None) -> LinearSolver:
    """The solver object for `method` ("cg", "gmres", "bicgstab", "direct", or a
    LinearSolver, returned as it is) with these options.

    Examples
    --------
    >>> print(type(riesz.linear_solvers.solver_for("gmres", rtol=1e-8)).__name__)
    GMRES

    Raises
    ------
    ValueError
        For an unknown method name.
    """
    if isinstance(method, LinearSolver):
        return method
    if method not in _SOLVERS:
        raise ValueError(f"solve: method must be one of {METHODS} or a LinearSolver, got "
                         f"{method!r}")
    if method == "direct":
        return Direct(rtol=rtol)
    return _KRYLOV[method](rtol=rtol, atol=atol, maxiter=maxiter, x0=x0, M=M, restart=restart)


def check_problem(A: Any, b: Any) -> None:
    """A must be square and b a concrete element of its codomain.

    Examples
    --------
    >>> A = riesz.LinearMap.from_matrix(np.ones((2, 3)))
    >>> try:
    ...     riesz.linear_solvers.check_problem(A, np.ones(2))
    ... except ValueError:
    ...     print("not square")
    not square

    Raises
    ------
    ValueError
        If A is not square.
    TypeError
        If b is a traced value (use `riesz.implicit` to differentiate through a solve).
    """
    _concrete(b, "solve")
    _check_square(A, "solve")
    A.codomain.check(b, "solve: b")
