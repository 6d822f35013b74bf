"""Spaces: the vector-space and inner-product axioms (property tests), the
Riesz map against its defining identity, and constructor validation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import riesz
from matrices import random_spd
from riesz.spaces import (
    L2,
    Euclidean,
    Polynomials,
    Product,
    PyTreeSpace,
    Space,
    Symmetric,
    Weighted,
    space_of,
)

SETTINGS = settings(max_examples=15, deadline=None, derandomize=True)


def _spd(n: int, seed: int, cond: float = 10.0) -> np.ndarray:
    return random_spd(n, seed, cond)


def _metric_map(n: int) -> riesz.LinearMap:
    W = _spd(n, 7)
    return riesz.LinearMap(lambda u: riesz.numpy.matmul(W, u), Euclidean(n), Euclidean(n))


SPACES: dict[str, Space] = {
    "euclidean-vector": Euclidean(4),
    "euclidean-matrix": Euclidean((2, 3)),
    "euclidean-scalar": Euclidean(()),
    "weighted-diagonal": Weighted(4, np.array([1.0, 2.0, 0.5, 3.0])),
    "weighted-dense": Weighted(metric=_spd(4, 1)),
    "weighted-matrix-elements": Weighted((2, 2), _spd(4, 2)),
    "weighted-map": Weighted(metric=_metric_map(3)),
    "symmetric": Symmetric(3),
    "product": Product(Euclidean(2), Weighted(metric=_spd(3, 3)), Symmetric(2)),
    "pytree": PyTreeSpace({"w": np.zeros((2, 2)), "b": np.zeros(3)}),
    "pytree-weighted": PyTreeSpace((np.zeros(2), np.zeros(3)),
                                   spaces=(Euclidean(2), Weighted(metric=np.arange(1.0, 4.0)))),
    "polynomials": Polynomials(3, (0.0, 2.0)),
    "l2-gauss": L2.gauss_legendre(5, (0.0, 1.0)),
    "nested-product": Product(Product(Euclidean(1), Euclidean(2)), Polynomials(2)),
}
NAMES = sorted(SPACES)


def flat(S: Space, x) -> np.ndarray:
    return np.asarray(S.flatten(x), dtype=np.float64)


def close(S: Space, x, y, tol: float = 1e-9) -> None:
    np.testing.assert_allclose(flat(S, x), flat(S, y), rtol=tol, atol=tol)


scalars = st.floats(-3.0, 3.0, allow_nan=False)
seeds = st.integers(0, 2**31 - 1)


@pytest.mark.parametrize("name", NAMES)
@SETTINGS
@given(seed=seeds, a=scalars, b=scalars)
def test_vector_space_axioms(name: str, seed: int, a: float, b: float) -> None:
    S = SPACES[name]
    rng = np.random.default_rng(seed)
    x, y, z = S.random(rng), S.random(rng), S.random(rng)
    for v in (x, y, z, S.zeros()):
        assert S.contains(v)
    close(S, S.add(x, y), S.add(y, x))
    close(S, S.add(S.add(x, y), z), S.add(x, S.add(y, z)))
    close(S, S.add(x, S.zeros()), x)
    close(S, S.add(x, S.scale(-1.0, x)), S.zeros())
    close(S, S.scale(a, S.add(x, y)), S.add(S.scale(a, x), S.scale(a, y)))
    close(S, S.scale(a + b, x), S.add(S.scale(a, x), S.scale(b, x)))
    close(S, S.scale(a * b, x), S.scale(a, S.scale(b, x)))
    close(S, S.scale(1.0, x), x)
    close(S, S.unflatten(S.flatten(x)), x)


@pytest.mark.parametrize("name", NAMES)
@SETTINGS
@given(seed=seeds, a=scalars, b=scalars)
def test_inner_product_axioms(name: str, seed: int, a: float, b: float) -> None:
    S = SPACES[name]
    rng = np.random.default_rng(seed)
    x, y, z = S.random(rng), S.random(rng), S.random(rng)
    ip = lambda p, q: float(S.inner(p, q))  # noqa: E731
    scale = np.sqrt(ip(x, x) * ip(y, y)) + np.sqrt(ip(z, z) * ip(y, y))
    assert ip(x, y) == pytest.approx(ip(y, x), rel=1e-10, abs=1e-10 * scale)
    lhs = ip(S.add(S.scale(a, x), S.scale(b, z)), y)
    assert lhs == pytest.approx(a * ip(x, y) + b * ip(z, y), rel=1e-9, abs=1e-9 * (1 + scale))
    assert ip(x, x) > 0
    assert ip(S.zeros(), S.zeros()) == 0.0
    assert float(S.norm(x)) == pytest.approx(np.sqrt(ip(x, x)), rel=1e-12)
    assert abs(ip(x, y)) <= float(S.norm(x)) * float(S.norm(y)) * (1 + 1e-12)  # Cauchy–Schwarz


@pytest.mark.parametrize("name", NAMES)
@SETTINGS
@given(seed=seeds)
def test_riesz_map_represents_the_covector(name: str, seed: int) -> None:
    """⟨riesz(c), u⟩ = pair(c, u) for every u in S, and lower inverts riesz."""
    S = SPACES[name]
    rng = np.random.default_rng(seed)
    c = S.ambient().random(rng)  # any covector, e.g. a VJP
    u = S.random(rng)
    g = S.riesz(c)
    assert S.contains(g)
    pair = float(np.sum(flat(S, c) * flat(S, u)))  # metric-free pairing, by hand
    assert float(S.inner(g, u)) == pytest.approx(pair, rel=1e-8, abs=1e-8)
    x = S.random(rng)
    close(S, S.riesz(S.lower(x)), x, 1e-8)
    assert float(S.pair(S.lower(x), u)) == pytest.approx(float(S.inner(x, u)), rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("name", NAMES)
def test_basis_spans_and_orthonormalises(name: str) -> None:
    S = SPACES[name]
    basis = list(S.basis())
    assert len(basis) == S.dim
    assert all(S.contains(b) for b in basis)
    E = np.stack([flat(S, b) for b in basis], axis=1)
    assert np.linalg.matrix_rank(E) == S.dim  # linearly independent
    ortho = S.orthonormal_basis()
    np.testing.assert_allclose(S.gram(ortho), np.eye(S.dim), atol=1e-9)


def test_dimensions() -> None:
    assert Symmetric(4).dim == 10 and Symmetric(4).size == 16
    assert Euclidean((2, 3)).dim == 6
    assert Polynomials(5).dim == 6
    assert Product(Euclidean(2), Symmetric(3)).dim == 8
    assert PyTreeSpace({"a": np.zeros((2, 2)), "b": 1.0}).dim == 5


def test_inner_products_against_numpy() -> None:
    rng = np.random.default_rng(0)
    W = _spd(4, 1)
    x, y = rng.standard_normal(4), rng.standard_normal(4)
    assert float(Weighted(metric=W).inner(x, y)) == pytest.approx(x @ W @ y)
    w = np.array([1.0, 2.0, 0.5, 3.0])
    assert float(Weighted(4, w).inner(x, y)) == pytest.approx(np.sum(w * x * y))
    X, Y = rng.standard_normal((3, 3)), rng.standard_normal((3, 3))
    assert float(Euclidean((3, 3)).inner(X, Y)) == pytest.approx(np.trace(X.T @ Y))
    # polynomials: exact L2 product on (a, b), computed with numpy.polynomial
    P = Polynomials(3, (-0.5, 2.0))
    p, q = rng.standard_normal(4), rng.standard_normal(4)
    antider = (np.polynomial.Polynomial(p) * np.polynomial.Polynomial(q)).integ()
    assert float(P.inner(p, q)) == pytest.approx(antider(2.0) - antider(-0.5), rel=1e-12)
    # L2 with Gauss–Legendre nodes integrates polynomial products exactly
    L = L2.gauss_legendre(4, (-0.5, 2.0))
    assert float(L.inner(L.sample(np.polynomial.Polynomial(p)),
                         L.sample(np.polynomial.Polynomial(q)))) == pytest.approx(
        antider(2.0) - antider(-0.5), rel=1e-12)
    # product spaces add their factors' products
    S = Product(Weighted(metric=W), Euclidean((3, 3)))
    assert float(S.inner((x, X), (y, Y))) == pytest.approx(x @ W @ y + np.sum(X * Y))


def test_contains_and_space_of() -> None:
    assert Euclidean(3).contains(np.zeros(3))
    assert not Euclidean(3).contains(np.zeros(4))
    assert not Euclidean(3).contains(np.zeros(3, dtype=int))
    assert not Symmetric(2).contains(np.array([[0.0, 1.0], [2.0, 0.0]]))
    assert not Product(Euclidean(2), Euclidean(3)).contains((np.zeros(2),))
    assert space_of(np.zeros((2, 3))) == Euclidean((2, 3))
    assert space_of(1.5) == Euclidean(())
    f32 = space_of(np.zeros(2, np.float32))
    assert f32 == Euclidean(2, np.float32) != Euclidean(2)
    assert repr(f32) != repr(Euclidean(2))  # error messages tell the two apart
    tree = {"a": np.zeros(2), "b": (np.zeros(3), 1.0)}
    S = space_of(tree)
    assert isinstance(S, PyTreeSpace) and S.dim == 6 and S.contains(tree)
    assert Weighted(metric=_spd(3, 0)) == Weighted(metric=_spd(3, 0))
    assert Weighted(metric=_spd(3, 0)) != Weighted(metric=_spd(3, 1))
    assert Polynomials(2) != Polynomials(2, (0.0, 1.0))
    assert Weighted(metric=_spd(3, 0)).ambient() == Euclidean(3)


@pytest.mark.parametrize("make, match", [
    (lambda: Weighted(metric=np.array([[1.0, 2.0], [0.0, 1.0]])), "metric must be symmetric"),
    (lambda: Weighted(metric=np.array([[1.0, 2.0], [2.0, 1.0]])),
     "metric must be positive definite"),
    (lambda: Weighted(metric=np.array([[1.0, np.nan], [np.nan, 1.0]])), "metric must be finite"),
    (lambda: Weighted(3, np.array([1.0, -1.0, 2.0])),
     r"metric must be finite and positive; entry 1 is -1\.0"),
    (lambda: Weighted((2, 2), np.array([[1.0, 1.0], [np.inf, 1.0]])), r"entry \(1, 0\) is inf"),
    (lambda: Weighted(3, np.ones((2, 2))), "metric has shape"),
    (lambda: Weighted(3), "metric argument is required"),
    (lambda: L2([0.0, 1.0], [1.0, 0.0]), "L2: weights must be finite and positive"),
    (lambda: L2([0.0, 1.0], [1.0]), "weights have shape"),
    (lambda: Polynomials(2, (1.0, 0.0)), "a < b"),
    (lambda: Polynomials(-1), "degree"),
    (lambda: Euclidean(3, dtype=int), "real floating"),
    (lambda: Product(Euclidean(2), "x"), "factor 1"),
    (lambda: Weighted(metric=riesz.identity(Product(Euclidean(2)))), "PyTreeSpace"),
    (lambda: Weighted(metric=riesz.LinearMap(lambda u: -u, Euclidean(2), Euclidean(2))),
     "positive definite"),
    (lambda: Weighted(metric=riesz.LinearMap.from_matrix(np.array([[1.0, 1.0], [0.0, 1.0]]))),
     "not symmetric"),
])
def test_constructors_validate(make, match: str) -> None:
    with pytest.raises((ValueError, TypeError), match=match):
        make()
