"""Linear algebra edge cases: repeated eigenvalues and singular values (the
documented policy), the matrix exponential against SciPy's Fréchet
derivative, norms at 0 and at huge values, higher orders."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.linalg

import riesz
import riesz.numpy as rnp
import riesz.scipy.linalg as rsl
from finite_differences import fd_grad
from riesz.numpy.linalg import DegenerateDerivativeWarning


def _orthogonal(n: int, seed: int) -> np.ndarray:
    q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((n, n)))
    return q


# -- eigh at a repeated eigenvalue ----------------------------------------------------------------

Q = _orthogonal(3, 0)
A_REPEATED = Q @ np.diag([1.0, 1.0, 3.0]) @ Q.T  # eigenvalue 1 twice


def _projector_loss(a):
    """Depends on the repeated eigenspace only through its projector."""
    w, v = np.linalg.eigh(a)
    p = v[:, :2] @ v[:, :2].T
    return np.sum(p * np.arange(9.0).reshape(3, 3)) + np.sum(w ** 2) + w[2] * v[0, 2] ** 2


def _projector_only_loss(a):
    w, v = np.linalg.eigh(a)
    p = v[:, :2] @ v[:, :2].T
    return np.sum(p * np.arange(9.0).reshape(3, 3)) + np.sum(v[:, 2:] @ v[:, 2:].T)


def test_eigh_repeated_eigenvalue_well_defined_functions_are_exact() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no DegenerateDerivativeWarning
        g_proj = riesz.grad(_projector_only_loss)(A_REPEATED)
        g_sum = riesz.grad(lambda a: np.sum(np.linalg.eigvalsh(a)))(A_REPEATED)
        g_sq = riesz.grad(lambda a: np.sum(np.linalg.eigvalsh(a) ** 2))(A_REPEATED)
    np.testing.assert_allclose(g_proj, fd_grad(_projector_only_loss, A_REPEATED), rtol=1e-5,
                               atol=1e-6)
    # the sum of the eigenvalues is the trace (of the lower-triangle read)
    np.testing.assert_allclose(g_sum, np.eye(3), atol=1e-12)
    np.testing.assert_allclose(g_sq, fd_grad(lambda a: np.sum(np.linalg.eigvalsh(a) ** 2),
                                             A_REPEATED), rtol=1e-5, atol=1e-6)
    # eigenvalues and eigenvectors of the repeated eigenspace together: this one is exact,
    # but U f(w) Uᵀ sends the same kind of cotangents and is not (issue 8), so it warns
    with pytest.warns(DegenerateDerivativeWarning, match="combines"):
        g = riesz.grad(_projector_loss)(A_REPEATED)
    assert np.all(np.isfinite(g))
    np.testing.assert_allclose(g, fd_grad(_projector_loss, A_REPEATED), rtol=1e-5, atol=1e-6)


def test_eigh_repeated_eigenvalue_basis_dependent_function_warns() -> None:
    with pytest.warns(DegenerateDerivativeWarning, match="repeated eigenvalues"):
        g = riesz.grad(lambda a: np.linalg.eigh(a)[1][0, 0] ** 3)(A_REPEATED)
    assert np.all(np.isfinite(g))  # finite: the undefined terms are dropped
    with pytest.warns(DegenerateDerivativeWarning, match="eigenvalues differs"):
        riesz.grad(lambda a: np.linalg.eigh(a)[0][0])(A_REPEATED)


def test_eigh_repeated_eigenvalue_splitting_direction_warns_in_forward_mode() -> None:
    split = Q @ np.diag([1.0, -1.0, 0.0]) @ Q.T  # separates the two equal eigenvalues
    same = Q @ np.diag([1.0, 1.0, 0.5]) @ Q.T  # keeps them equal
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, t = riesz.jvp(np.linalg.eigvalsh, (A_REPEATED,), (same,))
    np.testing.assert_allclose(t, [1.0, 1.0, 0.5], atol=1e-10)
    with pytest.warns(DegenerateDerivativeWarning):
        riesz.jvp(np.linalg.eigvalsh, (A_REPEATED,), (split,))


def test_eigh_second_order_at_distinct_eigenvalues() -> None:
    b = np.random.default_rng(1).standard_normal((3, 3))
    a = b @ b.T + np.diag([1.0, 2.0, 3.0])
    riesz.check_grads(lambda a: np.linalg.eigh(a)[1] * np.sign(np.linalg.eigh(a)[1][:1]),
                      (a,), order=3, modes=("fwd", "rev"))


# -- svd at repeated singular values --------------------------------------------------------------

U3, V3 = _orthogonal(3, 2), _orthogonal(2, 3)
M_REPEATED = U3[:, :2] @ np.diag([2.0, 2.0]) @ V3.T  # 3x2, singular value 2 twice


def test_svd_repeated_singular_values_well_defined_functions_are_exact() -> None:
    def f(m):
        u, s, vh = np.linalg.svd(m, full_matrices=False)
        return np.sum(s ** 3) + np.sum((u @ vh) * np.arange(6.0).reshape(3, 2))

    def values(m):
        return np.sum(np.linalg.svd(m, compute_uv=False) ** 3)

    def polar(m):
        u, _, vh = np.linalg.svd(m, full_matrices=False)
        return np.sum((u @ vh) * np.arange(6.0).reshape(3, 2))

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for part in (values, polar):
            np.testing.assert_allclose(riesz.grad(part)(M_REPEATED), fd_grad(part, M_REPEATED),
                                       rtol=1e-5, atol=1e-6)
    # both outputs of the repeated value together: exact here, but U f(s) Vᵀ sends the
    # same kind of cotangents and is not (issue 8), so it warns
    with pytest.warns(DegenerateDerivativeWarning, match="combines"):
        g = riesz.grad(f)(M_REPEATED)
    np.testing.assert_allclose(g, fd_grad(f, M_REPEATED), rtol=1e-5, atol=1e-6)
    # forward mode cannot see how the tangent is used later: a direction that splits
    # the repeated singular value warns, and the (basis-independent) result is exact
    with pytest.warns(DegenerateDerivativeWarning, match="not differentiable"):
        riesz.check_grads(f, (M_REPEATED,), order=1, modes=("fwd",))


def test_svd_repeated_singular_values_basis_dependent_function_warns() -> None:
    with pytest.warns(DegenerateDerivativeWarning, match="singular vectors"):
        riesz.grad(lambda m: np.linalg.svd(m, full_matrices=False)[0][0, 0] ** 3)(M_REPEATED)


def test_svd_full_matrices_of_rectangular_input_is_refused() -> None:
    with pytest.raises(NotImplementedError, match="full_matrices=False"):
        riesz.grad(lambda m: np.linalg.svd(m)[0].sum())(np.ones((3, 2)))
    # square inputs and singular values alone are fine with the default
    riesz.check_grads(lambda m: np.linalg.svd(m)[1], (np.arange(4.0).reshape(2, 2) + 1,),
                      order=1)


def test_svd_rank_deficient_singular_values_are_differentiable() -> None:
    m = np.outer([1.0, 2.0, 0.5], [1.0, -1.0])  # rank 1: one zero singular value
    g = riesz.grad(lambda m: np.linalg.svd(m, compute_uv=False)[0])(m)
    np.testing.assert_allclose(g, fd_grad(lambda m: np.linalg.svd(m, compute_uv=False)[0], m),
                               rtol=1e-6, atol=1e-8)


# -- determinants, solves, decompositions ---------------------------------------------------------


def _cofactor_matrix(a: np.ndarray) -> np.ndarray:
    """C_ij = (-1)^(i+j) det(a without row i and column j), with NumPy."""
    n = a.shape[0]
    c = np.zeros_like(a)
    for i, j in np.ndindex(n, n):
        minor = np.delete(np.delete(a, i, 0), j, 1)
        c[i, j] = (-1) ** (i + j) * (np.linalg.det(minor) if minor.size else 1.0)
    return c


@pytest.mark.parametrize("a", [np.zeros((1, 1)), np.array([[1.0, 2.0], [2.0, 4.0]]),
                               np.diag([0.0, 0.0, 3.0]), np.outer([1.0, 2.0, 3.0], [1, -1, 0.5])])
def test_det_gradient_at_singular_matrices_is_the_cofactor_matrix(a) -> None:
    assert np.linalg.det(a) == 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        g = riesz.grad(rnp.linalg.det)(a)
        _, t = riesz.jvp(rnp.linalg.det, (a,), (np.ones_like(a),))
    np.testing.assert_allclose(g, _cofactor_matrix(a), atol=1e-14)
    np.testing.assert_allclose(t, np.sum(_cofactor_matrix(a)), atol=1e-14)
    riesz.check_grads(rnp.linalg.det, (a,), order=2)


def test_slogdet_is_stable_where_det_underflows() -> None:
    a = np.diag(np.full(4, 1e-90))
    g = riesz.grad(lambda a: rnp.linalg.slogdet(a)[1])(a)
    np.testing.assert_allclose(g, np.diag(np.full(4, 1e90)), rtol=1e-12)


def test_qr_reconstructs_and_q_is_orthonormal() -> None:
    a = np.random.default_rng(4).standard_normal((4, 3))

    def f(a):
        q, r = rnp.linalg.qr(a)
        return q.T @ q, q @ r - a

    out, jac_t = riesz.jvp(f, (a,), (np.ones_like(a),))
    np.testing.assert_allclose(out[0], np.eye(3), atol=1e-12)
    np.testing.assert_allclose(out[1], 0, atol=1e-12)
    np.testing.assert_allclose(jac_t[0], 0, atol=1e-12)  # both are constant in a
    np.testing.assert_allclose(jac_t[1], 0, atol=1e-12)


def test_cholesky_of_gram_matrix_to_third_order() -> None:
    b = np.random.default_rng(5).standard_normal((3, 3))
    riesz.check_grads(lambda b: rnp.linalg.cholesky(b @ b.T + 3 * np.eye(3)), (b,), order=3)


def test_solve_and_inv_third_order() -> None:
    a = np.random.default_rng(6).standard_normal((3, 3)) + 3 * np.eye(3)
    riesz.check_grads(lambda a, b: rnp.linalg.solve(a, b) + rnp.linalg.inv(a) @ b,
                      (a, np.ones(3)), order=3)


# -- the matrix exponential -----------------------------------------------------------------------


def test_expm_jvp_matches_scipy_frechet_derivative() -> None:
    rng = np.random.default_rng(7)
    a, e = rng.standard_normal((4, 4)), rng.standard_normal((4, 4))
    value, tangent = riesz.jvp(rsl.expm, (a,), (e,))
    want_value, want_tangent = scipy.linalg.expm_frechet(a, e)
    np.testing.assert_allclose(value, want_value, rtol=1e-12)
    np.testing.assert_allclose(tangent, want_tangent, rtol=1e-9, atol=1e-12)


def test_expm_vjp_is_frechet_derivative_at_transpose() -> None:
    rng = np.random.default_rng(8)
    a, g = rng.standard_normal((3, 3)), rng.standard_normal((3, 3))
    _, vjp_fn = riesz.vjp(rsl.expm, a)
    (ct,) = vjp_fn(g)
    np.testing.assert_allclose(ct, scipy.linalg.expm_frechet(a.T, g)[1], rtol=1e-9)


def test_expm_third_order() -> None:
    a = 0.5 * np.random.default_rng(9).standard_normal((2, 2))
    riesz.check_grads(rsl.expm, (a,), order=3)


def test_expm_of_skew_matrix_is_a_rotation() -> None:
    def angle_loss(t):
        r = rsl.expm(np.array([[0.0, -1.0], [1.0, 0.0]]) * t)
        return r[1, 0]

    g = riesz.grad(angle_loss)(np.array(0.3))
    assert g == pytest.approx(np.cos(0.3), rel=1e-12)


# -- norms ----------------------------------------------------------------------------------------


def test_norm_gradient_at_zero_is_zero_not_nan() -> None:
    g = riesz.grad(lambda x: np.linalg.norm(x))(np.zeros(3))
    np.testing.assert_array_equal(g, np.zeros(3))
    g = riesz.grad(lambda x: np.sum(np.linalg.norm(x, axis=1)))(np.array([[0.0, 0.0],
                                                                          [3.0, 4.0]]))
    np.testing.assert_allclose(g, [[0.0, 0.0], [0.6, 0.8]])
    g = riesz.grad(lambda x: rnp.linalg.norm(x, 3))(np.zeros(2))
    np.testing.assert_array_equal(g, np.zeros(2))
    g = riesz.grad(lambda x: rnp.std(x))(np.ones(4))
    np.testing.assert_array_equal(g, np.zeros(4))


def test_norm_of_huge_and_tiny_vectors_does_not_overflow() -> None:
    for scale in (1e200, 1e-200):
        x = np.array([3.0, 4.0]) * scale
        value, g = riesz.value_and_grad(lambda x: rnp.linalg.norm(x))(x)
        assert value == pytest.approx(5.0 * scale, rel=1e-14)
        np.testing.assert_allclose(g, [0.6, 0.8], rtol=1e-14)


def test_norm_of_a_nonzero_vector_second_order() -> None:
    riesz.check_grads(lambda x: rnp.linalg.norm(x), (np.array([0.0, 3.0, -4.0]),), order=3)
