"""Structured linear maps and solver objects: every operator class against
dense NumPy (materialise, transpose, adjoint identity in weighted spaces,
diagonal, solves), structure kept through the algebra, factorisations computed
once (counted), an implicit layer's direct solves sharing one factorisation,
and vmap composed with the materialising transformations (against a loop)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import scipy.linalg

import riesz
import riesz.numpy as rnp
from matrices import random_spd
from riesz import implicit
from riesz.linear import (
    AdjointMap,
    ComposedMap,
    DiagonalMap,
    FunctionMap,
    IdentityMap,
    JacobianMap,
    LinearMap,
    MatrixMap,
    ScaledMap,
    SumMap,
    TransposeMap,
    identity,
)
from riesz.linear_solvers import CG, GMRES, Direct, LinearSolver, SolverError
from riesz.spaces import DenseMetric, DiagonalMetric, Euclidean, MapMetric, Weighted

N = 4
RNG = np.random.default_rng(11)
K1 = RNG.standard_normal((N, N)) + 3 * np.eye(N)
K2 = RNG.standard_normal((N, N)) + 3 * np.eye(N)
D = np.array([1.5, -2.0, 0.5, 3.0])
W = random_spd(N, 7, 5.0)
Wd = np.array([1.0, 2.0, 0.5, 4.0])
X0 = RNG.standard_normal(N)


def _jac_f(x):
    return rnp.tanh(rnp.matmul(K1, x)) + x * x[0]


def _jac_f_dense(x: np.ndarray) -> np.ndarray:
    """∂f(x) of _jac_f in closed form: diag(1 - tanh²(K1 x)) K1 + diag(x) e_0ᵀ + x[0] I."""
    t = np.tanh(K1 @ x)
    J = (1 - t**2)[:, None] * K1 + x[0] * np.eye(N)
    J[:, 0] += x
    return J


def _function(S, T):
    return LinearMap(lambda u: rnp.matmul(K1, u), S, T)


# name -> (build(domain space, codomain space), the dense matrix in standard coordinates)
CASES: dict[str, tuple[Callable[..., LinearMap], np.ndarray, type]] = {
    "function": (_function, K1, FunctionMap),
    "matrix": (lambda S, T: LinearMap.from_matrix(K1, S, T), K1, MatrixMap),
    "diagonal": (lambda S, T: DiagonalMap(D, S), np.diag(D), DiagonalMap),
    "identity": (lambda S, T: identity(S), np.eye(N), IdentityMap),
    "scaled": (lambda S, T: -2.5 * LinearMap.from_matrix(K1, S, T), -2.5 * K1, ScaledMap),
    "sum": (lambda S, T: LinearMap.from_matrix(K1, S, T) - _function(S, T) * 0.5
            + LinearMap.from_matrix(K2, S, T), K1 - 0.5 * K1 + K2, SumMap),
    "composed": (lambda S, T: LinearMap.from_matrix(K1, T, T) @ _function(S, T), K1 @ K1,
                 ComposedMap),
    "composed-diagonal": (lambda S, T: DiagonalMap(D, T) @ LinearMap.from_matrix(K2, S, T),
                          np.diag(D) @ K2, ComposedMap),
    "jacobian": (lambda S, T: riesz.derivative(_jac_f, domain=S, codomain=T)(X0),
                 _jac_f_dense(X0), JacobianMap),
}
SQUARE_SAME = {"diagonal", "identity"}  # maps of one space onto itself
GEOMETRIES = {
    "euclidean": (Euclidean(N), Euclidean(N), np.eye(N), np.eye(N)),
    "weighted": (Weighted(metric=W), Weighted(metric=np.diag(Wd)), W, np.diag(Wd)),
    "diagonal-metric": (Weighted(metric=Wd), Weighted(metric=W), np.diag(Wd), W),
}


def _build(name: str, geometry: str) -> tuple[LinearMap, np.ndarray, np.ndarray, np.ndarray]:
    build, dense, _ = CASES[name]
    S, T, WS, WT = GEOMETRIES[geometry]
    if name in SQUARE_SAME:
        T, WT = S, WS
    return build(S, T), dense, WS, WT


@pytest.mark.parametrize("geometry", sorted(GEOMETRIES))
@pytest.mark.parametrize("name", sorted(CASES))
def test_operator_against_dense_numpy(name: str, geometry: str) -> None:
    A, dense, WS, WT = _build(name, geometry)
    assert isinstance(A, CASES[name][2]) and isinstance(A, LinearMap)
    u, v = RNG.standard_normal(N), RNG.standard_normal(N)
    np.testing.assert_allclose(A(u), dense @ u, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(A.materialize(), dense, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(A.T.materialize(), dense.T, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(A.T(v), dense.T @ v, rtol=1e-12, atol=1e-12)
    # the adjoint: ⟨A u, v⟩_T = ⟨u, A* v⟩_S, and its matrix W_S⁻¹ Aᵀ W_T
    adj = A.adjoint
    np.testing.assert_allclose((dense @ u) @ WT @ v, u @ WS @ adj(v), rtol=1e-10)
    np.testing.assert_allclose(adj.materialize(), np.linalg.solve(WS, dense.T @ WT),
                               rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(A.diagonal(), np.diag(dense), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(riesz.linear.diagonal(A), np.diag(dense), rtol=1e-12,
                               atol=1e-12)


@pytest.mark.parametrize("name", ["function", "matrix", "sum", "composed", "jacobian"])
def test_adjoint_and_transpose_maps_as_operators(name: str) -> None:
    """A* (an AdjointMap between weighted spaces) and Aᵀ (a TransposeMap) are maps
    like any other: their own adjoints, transposes, diagonals and solves."""
    A, dense, WS, WT = _build(name, "weighted")
    B = A.adjoint
    if name in ("sum", "composed"):  # the adjoint of a sum / composition keeps the structure
        assert isinstance(B, SumMap if name == "sum" else ComposedMap)
    else:
        assert isinstance(B, AdjointMap) and B.adjoint is A
    Bd = np.linalg.solve(WS, dense.T @ WT)  # T -> S
    u, v = RNG.standard_normal(N), RNG.standard_normal(N)
    np.testing.assert_allclose((Bd @ v) @ WS @ u, v @ WT @ B.adjoint(u), rtol=1e-10)
    np.testing.assert_allclose(B.T.materialize(), Bd.T, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(B.diagonal(), np.diag(Bd), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(riesz.solve(B, u, "direct"), np.linalg.solve(Bd, u), rtol=1e-8)
    C = A.T
    assert isinstance(C, {"function": TransposeMap, "jacobian": TransposeMap,
                          "matrix": MatrixMap, "sum": SumMap, "composed": ComposedMap}[name])
    np.testing.assert_allclose(C.materialize(), dense.T, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(C.adjoint(u), dense @ u, rtol=1e-12)  # Euclidean: Cᵀ
    np.testing.assert_allclose(C.diagonal(), np.diag(dense), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(riesz.solve(C, u, "direct"), np.linalg.solve(dense.T, u),
                               rtol=1e-8)


@pytest.mark.parametrize("method", ["direct", "gmres", "bicgstab"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_solve_matches_numpy(name: str, method: str) -> None:
    A, dense, _, _ = _build(name, "weighted")
    b = RNG.standard_normal(N)
    np.testing.assert_allclose(riesz.solve(A, b, method=method), np.linalg.solve(dense, b),
                               rtol=1e-8, atol=1e-10)
    # Aᵀ λ = b by the transposed state of the same solver object
    solver = riesz.linear_solvers.solver_for(method)
    lam = solver.compute(solver.transpose(solver.init(A)), b)
    np.testing.assert_allclose(lam, np.linalg.solve(dense.T, b), rtol=1e-8, atol=1e-10)


def test_structure_survives_the_algebra() -> None:
    S = Euclidean(N)
    M = LinearMap.from_matrix(K1)
    assert isinstance(M.adjoint, MatrixMap)  # Euclidean: the adjoint of a matrix is Mᵀ
    np.testing.assert_array_equal(M.adjoint.matrix, K1.T)
    assert isinstance(M.T.T, MatrixMap)
    Wsp = Weighted(metric=W)
    Mw = LinearMap.from_matrix(K1, Wsp, Wsp)
    assert isinstance(Mw.adjoint, AdjointMap) and Mw.adjoint.adjoint is Mw
    assert isinstance(Mw.T, MatrixMap) and isinstance(_function(Wsp, Wsp).T, TransposeMap)
    I_w = identity(Wsp)
    assert I_w.adjoint is I_w  # the identity is self-adjoint in every geometry
    assert isinstance(2.0 * (3.0 * M), ScaledMap) and (2.0 * (3.0 * M)).c == 6.0
    assert isinstance(M + M, SumMap) and isinstance(M @ M, ComposedMap)
    assert isinstance(riesz.derivative(_jac_f)(X0), JacobianMap)
    assert isinstance(riesz.linearize(_jac_f, X0)[1], JacobianMap)
    assert type(LinearMap(lambda u: u, S, S)) is FunctionMap


def test_structured_operations_do_not_apply_the_map() -> None:
    """Materialising a composition of matrices, the diagonal of a diagonal or scaled
    map and a direct solve with a matrix map never call a function map."""
    calls = []
    S = Euclidean(N)
    f = LinearMap(lambda u: calls.append(1) or rnp.matmul(K2, u), S, S)
    M = LinearMap.from_matrix(K1)
    np.testing.assert_allclose((M @ M).materialize(), K1 @ K1, rtol=1e-12)
    np.testing.assert_array_equal((2.0 * DiagonalMap(D)).diagonal(), 2.0 * D)
    np.testing.assert_allclose(riesz.solve(M, X0, "direct"), np.linalg.solve(K1, X0))
    assert calls == []
    # a composition with a function map materialises it once (one vectorised call)
    np.testing.assert_allclose((M @ f).materialize(), K1 @ K2, rtol=1e-12)
    assert len(calls) == 1


def _count_lu(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    lu_factor = scipy.linalg.lu_factor

    def counted(*args, **kwargs):
        calls.append(1)
        return lu_factor(*args, **kwargs)

    monkeypatch.setattr(scipy.linalg, "lu_factor", counted)
    return calls


def test_direct_solver_factorises_once(monkeypatch: pytest.MonkeyPatch) -> None:
    lu = _count_lu(monkeypatch)
    applied = []
    S = Euclidean(N)
    A = LinearMap(lambda u: applied.append(1) or rnp.matmul(K1, u), S, S)
    solver = Direct()
    state = solver.init(A)
    assert len(lu) == 1
    materialised = len(applied)
    bs = RNG.standard_normal((3, N))
    for b in bs:
        np.testing.assert_allclose(solver.compute(state, b), np.linalg.solve(K1, b), rtol=1e-10)
        np.testing.assert_allclose(solver.compute(solver.transpose(state), b),
                                   np.linalg.solve(K1.T, b), rtol=1e-10)
    assert len(lu) == 1  # computes and transposes reuse the factors
    # besides materialising, A is applied by the 3 residual checks and once to record
    # its transpose (by VJP, replayed for the 3 transposed residual checks)
    assert len(applied) - materialised == 4
    # structure decides the factorisation: no LU for diagonal, identity or scaled diagonal
    for B, want in ((DiagonalMap(D), X0 / D), (identity(S), X0),
                    (-2.0 * DiagonalMap(D), X0 / (-2.0 * D))):
        np.testing.assert_allclose(riesz.solve(B, X0, method=Direct()), want, rtol=1e-14)
    assert len(lu) == 1


def test_solver_objects() -> None:
    S = Weighted(metric=W)
    H = random_spd(N, 3, 10.0)
    A = LinearMap(lambda u: rnp.matmul(np.linalg.solve(W, H), u), S, S)  # self-adjoint in S
    b = RNG.standard_normal(N)
    want = np.linalg.solve(np.linalg.solve(W, H), b)
    for solver in (CG(), GMRES(restart=N), Direct()):
        assert isinstance(solver, LinearSolver)
        np.testing.assert_allclose(solver(A, b), want, rtol=1e-8)
        np.testing.assert_allclose(riesz.solve(A, b, method=solver), want, rtol=1e-8)
    with pytest.raises(ValueError, match="method"):
        riesz.solve(A, b, method="lu")
    with pytest.raises(SolverError, match="singular"):
        Direct().init(DiagonalMap(np.array([1.0, 0.0])))


def test_weighted_metric_kinds_are_classes() -> None:
    assert isinstance(Weighted(metric=Wd)._metric, DiagonalMetric)
    assert isinstance(Weighted(metric=W)._metric, DenseMetric)
    S = Weighted(metric=LinearMap.from_matrix(W))
    assert isinstance(S._metric, MapMetric)
    assert Weighted(N, DiagonalMetric(Wd, "w")) == Weighted(metric=Wd)
    assert Weighted(metric=DenseMetric(W, "W")) == Weighted(metric=W)  # shape inferred
    with pytest.raises(ValueError, match="does not fit arrays of shape"):
        Weighted(N + 1, DiagonalMetric(Wd, "w"))
    c = RNG.standard_normal(N)
    for space, Wm in ((Weighted(metric=Wd), np.diag(Wd)), (Weighted(metric=W), W), (S, W)):
        np.testing.assert_allclose(space.riesz(c), np.linalg.solve(Wm, c), rtol=1e-9)
        np.testing.assert_allclose(space.lower(c), Wm @ c, rtol=1e-12)


def test_structured_materialisation_is_differentiable() -> None:
    """A traced scale factor and a map built from traced values go through
    materialize: its derivative matches the closed form."""
    M = LinearMap.from_matrix(K1)

    def total(c):
        F = LinearMap(lambda u: c * rnp.matmul(K2, u), Euclidean(N), Euclidean(N))
        return rnp.sum((M * c + M @ F).diagonal()) + rnp.sum((M * c - F).materialize())

    # d/dc [c tr K1 + c tr(K1 K2) + c ΣK1 - c ΣK2]
    want = np.trace(K1) + np.trace(K1 @ K2) + K1.sum() - K2.sum()
    np.testing.assert_allclose(riesz.grad(total)(0.7), want, rtol=1e-12)


def test_materialize_raises_genuine_errors_instead_of_looping() -> None:
    """A map that fails under vmap is not retried one column at a time (only
    NotVectorizable is): the error reaches the caller."""
    S = Euclidean(N)
    calls = []

    def leaves_riesz(u):
        calls.append(1)
        return K1 @ np.asarray(u)

    with pytest.raises(TypeError, match="np.asarray"):
        LinearMap(leaves_riesz, S, S).materialize()
    assert len(calls) == 1


# -- implicit layers: one factorisation per point -----------------------------------------

A_FP = 0.4 * RNG.standard_normal((N, N)) / np.sqrt(N)


def _layer(x):
    return implicit.fixed_point(lambda x, y: rnp.matmul(A_FP, rnp.tanh(y)) + x, x,
                                np.zeros(N), backward="direct")


def _layer_np(x: np.ndarray) -> np.ndarray:
    y = np.zeros(N)
    for _ in range(500):
        y = A_FP @ np.tanh(y) + x
    return y


def _layer_jacobian(x: np.ndarray) -> np.ndarray:
    """(I - A diag(1 - tanh² y*))⁻¹, by the implicit function theorem in NumPy."""
    y = _layer_np(x)
    return np.linalg.solve(np.eye(N) - A_FP * (1 - np.tanh(y) ** 2), np.eye(N))


def test_implicit_layer_reuses_its_factorisation(monkeypatch: pytest.MonkeyPatch) -> None:
    lu = _count_lu(monkeypatch)
    x = RNG.standard_normal(N)
    J = riesz.jacrev(_layer)(x)  # N adjoint solves at one point
    np.testing.assert_allclose(J, _layer_jacobian(x), rtol=1e-8)
    assert len(lu) == 1
    lu.clear()
    J = riesz.jacfwd(_layer)(x)  # N tangent solves
    np.testing.assert_allclose(J, _layer_jacobian(x), rtol=1e-8)
    assert len(lu) == 1
    lu.clear()
    v = RNG.standard_normal(N)

    def loss(x):
        return rnp.sum(_layer(x) ** 2)

    hv = riesz.hvp(loss, (x,), (v,))[0]  # adjoint and tangent solves, all at y*(x)
    h = 1e-5
    fd = (riesz.grad(loss)(x + h * v) - riesz.grad(loss)(x - h * v)) / (2 * h)
    np.testing.assert_allclose(hv, fd, rtol=1e-6, atol=1e-8)
    lu.clear()
    riesz.hvp(loss, (x,), (v,))
    assert len(lu) == 1
    lu.clear()
    H = riesz.hessian(loss)(x)  # 13 factorisations before they were shared
    np.testing.assert_allclose(H @ v, hv, rtol=1e-8, atol=1e-10)
    assert len(lu) == 1


def test_implicit_layer_records_its_jacobian_once_per_point() -> None:
    """With a Krylov backward method, the N adjoint solves of a Jacobian replay one
    recording of ∂_y r at y* (the user's g is traced once for them, not N times)."""
    traced = []

    def g(x, y):
        if isinstance(y, riesz._core.trace.Tracer):
            traced.append(1)
        return rnp.matmul(A_FP, rnp.tanh(y)) + x

    x = RNG.standard_normal(N)
    J = riesz.jacrev(lambda x: implicit.fixed_point(g, x, np.zeros(N), backward="gmres"))(x)
    np.testing.assert_allclose(J, _layer_jacobian(x), rtol=1e-8)
    assert len(traced) == 1  # ∂_y r recorded once (it was N times)


# -- vmap composed with the materialising transformations --------------------------------


def _scalar(x):
    return rnp.sum(rnp.sin(x) * x[0]) + rnp.sum(x**3)


VMAPPED: dict[str, Callable[[np.ndarray], object]] = {
    "jacfwd": riesz.jacfwd(_jac_f),
    "jacrev": riesz.jacrev(_jac_f),
    "jacobian": riesz.jacobian(lambda x: rnp.sum(x) * x[:2]),
    "hessian": riesz.hessian(_scalar),
    "materialize": lambda x: riesz.derivative(_jac_f)(x).materialize(),
    "materialize-weighted-adjoint": lambda x: riesz.derivative(
        _jac_f, domain=Weighted(metric=W))(x).adjoint.materialize(),
    "diagonal": lambda x: riesz.derivative(_jac_f)(x).diagonal(),
    "jacfwd-of-jacrev-two-args": lambda x: riesz.jacfwd(riesz.jacrev(
        lambda a, b: rnp.sum(a * b * b), argnums=(0, 1)), argnums=0)(x, x + 1.0),
}


@pytest.mark.parametrize("name", sorted(VMAPPED))
def test_vmap_composes_with_materialisation(name: str) -> None:
    f = VMAPPED[name]
    xs = np.random.default_rng(5).standard_normal((3, N))
    got = riesz.vmap(f)(xs)
    want = [f(x) for x in xs]
    got_leaves, want_leaves = riesz.tree_leaves(got), riesz.tree_leaves(want)
    for k, g in enumerate(got_leaves):
        np.testing.assert_allclose(g, np.stack(want_leaves[k::len(got_leaves)]), rtol=1e-12,
                                   atol=1e-12)


def test_vmap_of_jacfwd_matches_closed_form() -> None:
    xs = np.random.default_rng(6).standard_normal((3, N))
    np.testing.assert_allclose(riesz.vmap(riesz.jacfwd(_jac_f))(xs),
                               np.stack([_jac_f_dense(x) for x in xs]), rtol=1e-12)


def test_argnums_as_numpy_integers_and_empty() -> None:
    """One argnums parser (transforms) serves grad and the Jacobians alike."""

    def f(a, b):
        return rnp.sum(a * b**2)

    a, b = X0, X0 + 1.0
    np.testing.assert_allclose(riesz.grad(f, argnums=np.int64(1))(a, b), 2 * a * b)
    np.testing.assert_allclose(riesz.jacrev(f, argnums=np.int64(1))(a, b), 2 * a * b)
    for transform in (riesz.grad, riesz.jacfwd, riesz.derivative):
        with pytest.raises(ValueError, match="argnums"):
            transform(f, argnums=())(a, b)
