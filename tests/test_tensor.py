"""riesz.tensor: the transformation laws of each kind of index against independent
NumPy computations (np.linalg.solve / inv, plain np.einsum), the basis-independent
invariants (and that swapping the rules breaks them), derivatives as tensors,
differentiability of change_basis, and error messages."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import riesz
import riesz.numpy as rnp
from riesz.spaces import Weighted
from riesz.tensor import Tensor, contract, einsum, tensor_product, tensordot

SETTINGS = settings(max_examples=15, deadline=None, derandomize=True)
seeds = st.integers(0, 2**31 - 1)
dims = st.integers(1, 4)
kinds_st = st.lists(st.sampled_from(["co", "contra"]), min_size=1, max_size=4)


def _cob(rng: np.random.Generator, n: int) -> np.ndarray:
    """A well-conditioned change of basis that is far from orthogonal
    (C⁻¹ ≠ Cᵀ), so that mixing up the two rules shows."""
    Q1, _ = np.linalg.qr(rng.standard_normal((n, n)))
    Q2, _ = np.linalg.qr(rng.standard_normal((n, n)))
    return Q1 @ np.diag(np.geomspace(0.4, 3.0, n)) @ Q2


def _reference(T: np.ndarray, kinds: tuple[str, ...], C: np.ndarray) -> np.ndarray:
    """The general law by the textbook formula: one plain np.einsum with an
    explicit inverse for every contra index and C for every co index."""
    Cinv = np.linalg.inv(C)
    out = T
    for k, kind in enumerate(kinds):
        M = Cinv if kind == "contra" else C.T  # new index i = Σ_a M[i, a] old a
        out = np.moveaxis(np.tensordot(M, out, axes=([1], [k])), 0, k)
    return out


# -- the transformation law of each kind -------------------------------------------------


@SETTINGS
@given(seed=seeds, n=dims)
def test_order_one_and_two_laws(seed: int, n: int) -> None:
    rng = np.random.default_rng(seed)
    C = _cob(rng, n)
    u, v = rng.standard_normal(n), rng.standard_normal(n)
    W, A = rng.standard_normal((n, n)), rng.standard_normal((n, n))
    np.testing.assert_allclose(Tensor(u, ["contra"]).change_basis(C).array,
                               np.linalg.solve(C, u), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(Tensor(v, ["co"]).change_basis(C).array, C.T @ v,
                               rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(Tensor(W, ["co", "co"]).change_basis(C).array, C.T @ W @ C,
                               rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(Tensor(A, ["contra", "co"]).change_basis(C).array,
                               np.linalg.inv(C) @ A @ C, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(Tensor(A, ["co", "contra"]).change_basis(C).array,
                               C.T @ A @ np.linalg.inv(C).T, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(Tensor(A, ["contra", "contra"]).change_basis(C).array,
                               np.linalg.inv(C) @ A @ np.linalg.inv(C).T, rtol=1e-9, atol=1e-11)


@SETTINGS
@given(seed=seeds, n=st.integers(1, 3), kinds=kinds_st)
def test_mixed_tensor_law_against_plain_einsum(seed: int, n: int, kinds: list[str]) -> None:
    rng = np.random.default_rng(seed)
    C = _cob(rng, n)
    T = rng.standard_normal((n,) * len(kinds))
    got = Tensor(T, kinds).change_basis(C)
    assert got.kinds == tuple(kinds) and got.shape == T.shape
    np.testing.assert_allclose(got.array, _reference(T, tuple(kinds), C), rtol=1e-9, atol=1e-11)
    # one np.einsum spelling out the whole law, for order 3 with the kinds given
    if len(kinds) == 3:
        M = [np.linalg.inv(C) if k == "contra" else C.T for k in kinds]
        np.testing.assert_allclose(got.array, np.einsum("ia,jb,kc,abc->ijk", *M, T),
                                   rtol=1e-9, atol=1e-11)


@SETTINGS
@given(seed=seeds, n=st.integers(1, 3), kinds=kinds_st)
def test_two_changes_compose(seed: int, n: int, kinds: list[str]) -> None:
    """E → E C → (E C) D is the single change E → E (C D)."""
    rng = np.random.default_rng(seed)
    C, D = _cob(rng, n), _cob(rng, n)
    T = Tensor(rng.standard_normal((n,) * len(kinds)), kinds)
    np.testing.assert_allclose(T.change_basis(C).change_basis(D).array,
                               T.change_basis(C @ D).array, rtol=1e-9, atol=1e-10)
    back = T.change_basis(C).change_basis(np.linalg.inv(C))
    np.testing.assert_allclose(back.array, T.array, rtol=1e-9, atol=1e-10)


def test_per_axis_matrices_for_maps_between_spaces() -> None:
    rng = np.random.default_rng(0)
    A = rng.standard_normal((2, 3))
    C_out, C_in = _cob(rng, 2), _cob(rng, 3)
    got = Tensor(A, ("contra", "co")).change_basis([C_out, C_in]).array
    np.testing.assert_allclose(got, np.linalg.solve(C_out, A @ C_in), rtol=1e-10)
    only_in = Tensor(A, ("contra", "co")).change_basis([None, C_in]).array
    np.testing.assert_allclose(only_in, A @ C_in, rtol=1e-12)


# -- invariants, and that the wrong rules break them ---------------------------------------


def _swap(t: Tensor) -> Tensor:
    """The same array with every kind flipped: transformed by the wrong rules."""
    return Tensor(t.array, tuple("co" if k == "contra" else "contra" for k in t.kinds))


@SETTINGS
@given(seed=seeds, n=st.integers(2, 4))
def test_bilinear_form_value_is_basis_independent(seed: int, n: int) -> None:
    rng = np.random.default_rng(seed)
    C = _cob(rng, n)
    W = Tensor(rng.standard_normal((n, n)), ("co", "co"))
    u, v = Tensor(rng.standard_normal(n), "contra"), Tensor(rng.standard_normal(n), "contra")
    value = W(u, v)
    assert np.shape(value) == ()
    assert float(value) == pytest.approx(float(u.array @ W.array @ v.array), rel=1e-12)
    new = W.change_basis(C)(u.change_basis(C), v.change_basis(C))
    assert float(new) == pytest.approx(float(value), rel=1e-9, abs=1e-10)
    assert np.max(np.abs(W.change_basis(C).array - W.array)) > 1e-3  # the matrix did change
    # the wrong rules: vectors by Cᵀ (as covectors) or the form by C⁻¹ (as a (0, 2) tensor)
    wrong_vectors = W.change_basis(C)(_swap(u).change_basis(C).array,
                                      _swap(v).change_basis(C).array)
    wrong_form = _swap(W).change_basis(C).array
    wrong_form_value = u.change_basis(C).array @ wrong_form @ v.change_basis(C).array
    scale = 1e-6 * (1 + abs(float(value)))
    assert abs(float(wrong_vectors) - float(value)) > scale or abs(
        float(wrong_form_value) - float(value)) > scale


def test_wrong_rules_break_the_pairing_for_every_non_orthogonal_change() -> None:
    """The pairing v(u) = vᵀu is invariant exactly when one side goes by Cᵀ and the
    other by C⁻¹; transforming the covector like the vector (both by C⁻¹) or the
    vector like the covector (both by Cᵀ) fails on a generic change of basis."""
    rng = np.random.default_rng(1)
    C = _cob(rng, 4)
    u, v = rng.standard_normal(4), rng.standard_normal(4)
    value = v @ u
    for ku, kv in itertools.product(("co", "contra"), repeat=2):
        new = Tensor(v, kv).change_basis(C).array @ Tensor(u, ku).change_basis(C).array
        correct = ku != kv
        assert (abs(new - value) < 1e-10) == correct, (ku, kv, new, value)


@SETTINGS
@given(seed=seeds, n=st.integers(2, 4))
def test_trace_and_map_application_are_invariant(seed: int, n: int) -> None:
    rng = np.random.default_rng(seed)
    C = _cob(rng, n)
    A = Tensor(rng.standard_normal((n, n)), ("contra", "co"))
    u = Tensor(rng.standard_normal(n), ("contra",))
    tr = float(contract(A, 0, 1))
    assert tr == pytest.approx(np.trace(A.array), rel=1e-12, abs=1e-12)
    assert float(contract(A.change_basis(C), 0, 1)) == pytest.approx(tr, rel=1e-9, abs=1e-10)
    # the Gram-style "trace" of a bilinear form is not invariant: contract refuses it
    with pytest.raises(ValueError, match="both are 'co'"):
        contract(Tensor(A.array, ("co", "co")), 0, 1)
    assert abs(np.trace(Tensor(A.array, ("co", "co")).change_basis(C).array) - tr) > 1e-6
    # A u transforms like a vector: (A u)' = A' u'
    Au = A(u)
    assert Au.kinds == ("contra",)
    np.testing.assert_allclose(Au.change_basis(C).array,
                               A.change_basis(C)(u.change_basis(C)).array, rtol=1e-9, atol=1e-10)
    # with the map's kinds mixed up (transformed as a (1, 1) tensor the other way), it breaks
    bad = _swap(A).change_basis(C).array @ u.change_basis(C).array
    assert np.max(np.abs(bad - Au.change_basis(C).array)) > 1e-6
    # the identity map is the same in every basis
    np.testing.assert_allclose(Tensor.identity(n).change_basis(C).array, np.eye(n), atol=1e-12)


@SETTINGS
@given(seed=seeds, n=st.integers(1, 3), ka=kinds_st, kb=kinds_st)
def test_products_and_contractions_commute_with_change_of_basis(
        seed: int, n: int, ka: list[str], kb: list[str]) -> None:
    rng = np.random.default_rng(seed)
    C = _cob(rng, n)
    a = Tensor(rng.standard_normal((n,) * len(ka)), ka)
    b = Tensor(rng.standard_normal((n,) * len(kb)), kb)
    ab = tensor_product(a, b)
    assert ab.kinds == tuple(ka) + tuple(kb)
    np.testing.assert_allclose(ab.array, np.multiply.outer(a.array, b.array), rtol=1e-12)
    np.testing.assert_allclose(ab.change_basis(C).array,
                               tensor_product(a.change_basis(C), b.change_basis(C)).array,
                               rtol=1e-9, atol=1e-10)
    # every co/contra pair contracts, before or after the change, to the same tensor
    pairs = [(i, j) for i in range(ab.order) for j in range(ab.order)
             if ab.kinds[i] == "co" and ab.kinds[j] == "contra"]
    for i, j in pairs[:3]:
        before = contract(ab, i, j).change_basis(C) if ab.order > 2 else contract(ab, i, j)
        after = contract(ab.change_basis(C), i, j)
        np.testing.assert_allclose(after.array, before.array, rtol=1e-9, atol=1e-9)
        if i < a.order <= j:  # across the two factors: tensordot gives the same
            td = tensordot(a, b, [(i, j - a.order)])
            np.testing.assert_allclose(td.array, contract(ab, i, j).array, rtol=1e-10,
                                       atol=1e-12)


# -- derivatives as tensors ---------------------------------------------------------------


def test_derivative_of_matrix_square_is_an_order_four_tensor() -> None:
    rng = np.random.default_rng(2)
    X, U = rng.standard_normal((3, 3)), rng.standard_normal((3, 3))
    T = Tensor.from_linear_map(riesz.derivative(lambda X: X @ X)(X))
    assert T.kinds == ("contra", "contra", "co", "co") and T.type == (2, 2)
    np.testing.assert_allclose(T(U).array, X @ U + U @ X, rtol=1e-12, atol=1e-12)
    Ut = Tensor(U, ("contra", "contra"))
    np.testing.assert_allclose(tensordot(T, Ut, [(2, 0), (3, 1)]).array, X @ U + U @ X,
                               rtol=1e-12, atol=1e-12)
    # the tensor itself: T[i, j, k, l] = X[i, k] δ[j, l] + δ[i, k] X[l, j]
    eye = np.eye(3)
    np.testing.assert_allclose(T.array, np.einsum("ik,jl->ijkl", X, eye)
                               + np.einsum("ik,lj->ijkl", eye, X), atol=1e-12)


def test_second_derivative_slots_follow_call_order() -> None:
    """B(u, v) = ∂/∂x [∂f/∂y [v]] [u] for f(x, y) = (x₀ y₁², x₁ y₀ y₁): not
    symmetric in (u, v), so the slot order matters."""
    x0, y0 = np.array([0.7, -1.3]), np.array([0.4, 2.1])

    def f(x, y):
        return rnp.stack([x[0] * y[1] ** 2, x[1] * y[0] * y[1]])

    B = riesz.derivative(riesz.derivative(f, argnums=1), argnums=0)(x0, y0)
    T = Tensor.from_linear_map(B)
    assert T.kinds == ("contra", "co", "co") and T.shape == (2, 2, 2)
    u, v = np.array([1.0, -2.0]), np.array([0.3, 0.5])
    np.testing.assert_allclose(T(u, v).array, B(u, v), rtol=1e-12)
    np.testing.assert_allclose(T(u, v).array, [u[0] * 2 * y0[1] * v[1],
                                               u[1] * (v[0] * y0[1] + y0[0] * v[1])], rtol=1e-12)


def test_hessian_is_a_bilinear_form_and_functional_a_covector() -> None:
    rng = np.random.default_rng(3)
    A, x = rng.standard_normal((3, 3)), rng.standard_normal(3)

    def f(x):
        return x @ A @ x

    H = Tensor.from_linear_map(riesz.derivative(riesz.derivative(f))(x))
    assert H.kinds == ("co", "co")
    np.testing.assert_allclose(H.array, A + A.T, atol=1e-12)
    c = Tensor.from_linear_map(riesz.derivative(f)(x))
    assert c.kinds == ("co",)
    np.testing.assert_allclose(c.array, (A + A.T) @ x, atol=1e-12)


def test_materialize_in_a_basis_is_the_change_of_basis() -> None:
    rng = np.random.default_rng(4)
    M, C = rng.standard_normal((3, 3)), _cob(rng, 3)
    L = riesz.LinearMap.from_matrix(M)
    in_basis = Tensor.from_linear_map(L, basis=[C[:, j] for j in range(3)])
    assert in_basis.kinds == ("contra", "co")
    np.testing.assert_allclose(in_basis.array, Tensor.from_linear_map(L).change_basis(C).array,
                               rtol=1e-9, atol=1e-10)


@SETTINGS
@given(seed=seeds, n=st.integers(2, 4))
def test_riesz_map_covector_and_gradient_transform_differently(seed: int, n: int) -> None:
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    Wm = Q @ np.diag(np.geomspace(1.0, 10.0, n)) @ Q.T
    S = Weighted(metric=Wm)
    b, x, C = rng.standard_normal(n), rng.standard_normal(n), _cob(rng, n)

    def f(x):
        return rnp.sum(rnp.sin(x) * b)

    c = Tensor.from_linear_map(riesz.derivative(f)(x))  # the derivative: a covector
    G = Tensor.from_metric(S)
    assert G.kinds == ("co", "co")
    g = c.raise_index(0, G)  # its Riesz representer: a vector
    assert g.kinds == ("contra",)
    np.testing.assert_allclose(g.array, riesz.grad(f, space=S)(x), rtol=1e-10)
    np.testing.assert_allclose(g.lower_index(0, S).array, c.array, rtol=1e-10, atol=1e-12)
    c2, g2, G2 = c.change_basis(C), g.change_basis(C), G.change_basis(C)
    np.testing.assert_allclose(c2.array, C.T @ c.array, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(g2.array, np.linalg.solve(C, g.array), rtol=1e-9, atol=1e-12)
    # raising in the new basis with the new metric gives the transformed gradient
    np.testing.assert_allclose(c2.raise_index(0, G2).array, g2.array, rtol=1e-8, atol=1e-10)
    # ⟨g, u⟩_W = c(u) in every basis
    u = rng.standard_normal(n)
    assert float(G2(g2, Tensor(u, "contra").change_basis(C))) == pytest.approx(
        float(c(u)), rel=1e-9, abs=1e-10)


# -- differentiability ---------------------------------------------------------------------


@pytest.mark.parametrize("kinds", [("contra",), ("co",), ("contra", "co"), ("co", "contra", "co"),
                                   ("contra", "contra", "co")])
def test_change_basis_is_differentiable_in_array_and_c(kinds: tuple[str, ...]) -> None:
    rng = np.random.default_rng(5)
    n = 3
    T, C = rng.standard_normal((n,) * len(kinds)), _cob(rng, n)

    def changed(T, C):
        return Tensor(T, kinds).change_basis(C).array

    riesz.check_grads(changed, (T, C), order=2, modes=("fwd", "rev"))


def test_contractions_and_slots_are_differentiable() -> None:
    rng = np.random.default_rng(6)
    A, W, u, C = (rng.standard_normal((3, 3)), rng.standard_normal((3, 3)),
                  rng.standard_normal(3), _cob(rng, 3))

    def trace_in_new_basis(A, C):
        return contract(Tensor(A, ("contra", "co")).change_basis(C), 0, 1).array

    def form_value(W, u, C):
        u2 = Tensor(u, "contra").change_basis(C)
        return Tensor(W, ("co", "co")).change_basis(C)(u2, u2)

    riesz.check_grads(trace_in_new_basis, (A, C), order=2)
    riesz.check_grads(form_value, (W, u, C), order=2)
    # invariance: the derivative of the trace in C is zero, of the value too
    np.testing.assert_allclose(riesz.grad(trace_in_new_basis, argnums=1)(A, C), 0, atol=1e-10)
    np.testing.assert_allclose(riesz.grad(form_value, argnums=2)(W, u, C), 0, atol=1e-9)


def test_change_basis_under_vmap() -> None:
    rng = np.random.default_rng(7)
    W = rng.standard_normal((3, 3))
    Cs = np.stack([_cob(rng, 3) for _ in range(4)])
    got = riesz.vmap(lambda C: Tensor(W, ("co", "co")).change_basis(C).array)(Cs)
    np.testing.assert_allclose(got, np.einsum("zai,ab,zbj->zij", Cs, W, Cs), rtol=1e-10)


# -- the object's surface and its errors -------------------------------------------------


def test_surface() -> None:
    T = Tensor(np.arange(6.0).reshape(2, 3), ["contra", "co"])
    assert T.shape == (2, 3) and T.order == 2 and T.type == (1, 1) and T.kinds == (
        "contra", "co")
    assert "kinds=('contra', 'co')" in repr(T) and "(1, 1)" in repr(T)
    S = T + 2.0 * T - T / 2.0
    np.testing.assert_allclose(S.array, 2.5 * T.array)
    np.testing.assert_allclose((-T).array, -T.array)
    assert T.transpose().kinds == ("co", "contra") and T.transpose().shape == (3, 2)
    assert Tensor(np.array([1, 2]), "co").array.dtype == np.float64
    np.testing.assert_allclose(einsum("ij,j->i", T.array, np.ones(3)), T.array.sum(1))
    assert float(contract(Tensor.identity(3), 0, 1)) == 3.0
    assert riesz.tensor.Tensor is Tensor


def test_errors() -> None:
    rng = np.random.default_rng(8)
    A = Tensor(rng.standard_normal((3, 3)), ("contra", "co"))
    with pytest.raises(ValueError, match="kinds has 1 entries"):
        Tensor(np.zeros((3, 3)), ["co"])
    with pytest.raises(ValueError, match=r"kinds\[1\] is 'covariant'"):
        Tensor(np.zeros((3, 3)), ["co", "covariant"])
    with pytest.raises(TypeError, match="already a Tensor"):
        Tensor(A, ("co", "co"))
    with pytest.raises(ValueError, match="square"):
        A.change_basis(np.ones((3, 2)))
    with pytest.raises(ValueError, match="axis 0 .* has length 3 .* 2x2"):
        A.change_basis(np.eye(2))
    with pytest.raises(ValueError, match="singular"):
        A.change_basis(np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [0.0, 1.0, 0.0]]))
    with pytest.raises(ValueError, match="got 3 matrices"):
        A.change_basis([np.eye(3)] * 3)
    with pytest.raises(ValueError, match="non-finite"):
        A.change_basis(np.full((3, 3), np.nan))
    with pytest.raises(TypeError, match="plain matrix"):
        A.change_basis(A)
    with pytest.raises(ValueError, match="both are 'contra'"):
        contract(Tensor(np.zeros((3, 3)), ("contra", "contra")), 0, 1)
    with pytest.raises(ValueError, match="lengths 2 and 3"):
        contract(Tensor(np.zeros((2, 3)), ("contra", "co")), 0, 1)
    with pytest.raises(ValueError, match="out of range"):
        contract(A, 0, 2)
    with pytest.raises(ValueError, match="both are 'co'"):
        tensordot(A, A, [(1, 1)])
    with pytest.raises(ValueError, match="kinds/shapes differ"):
        A + Tensor(A.array, ("co", "co"))
    with pytest.raises(TypeError, match="no kinds"):
        A + A.array
    with pytest.raises(TypeError, match="scalars only"):
        A * A.array
    with pytest.raises(TypeError, match="raise_index"):
        A(Tensor(np.ones(3), "co"))
    with pytest.raises(ValueError, match="more co slots"):
        A(np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        A(np.ones(2))
    with pytest.raises(ValueError, match="only a co index"):
        A.raise_index(0, np.eye(3))
    with pytest.raises(ValueError, match="kinds \\('co', 'co'\\)"):
        A.lower_index(0, A)
    with pytest.raises(TypeError, match="Tensor; einsum works on arrays"):
        einsum("ij->", A)
    with pytest.raises(TypeError, match="LinearMap"):
        Tensor.from_linear_map(np.eye(3))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="order 2"):
        float(A)
