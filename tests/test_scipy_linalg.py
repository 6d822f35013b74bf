"""riesz.scipy.linalg's matrix functions and solvers: values against SciPy, and the
derivatives against their defining equations (closed forms in plain NumPy), finite
differences and the adjoint identity ⟨∂f(x)[u], v⟩ = ⟨u, ∂f(x)*[v]⟩. The registry sweep
(tests/primitive_cases.py) adds second order, float32, vmap and jet for each primitive."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg

import riesz
import riesz.numpy as rnp
import riesz.scipy.linalg as rsl

rng = np.random.default_rng(7)


def well(n: int) -> np.ndarray:
    return 0.3 * rng.standard_normal((n, n)) + 2.0 * np.eye(n)


A, B, E, G = well(4), well(3), rng.standard_normal((4, 4)), rng.standard_normal((4, 4))
Q = rng.standard_normal((4, 3))


def fd_jvp(f, args, tangents, eps=1e-6):
    plus = f(*[a + eps * t for a, t in zip(args, tangents, strict=True)])
    minus = f(*[a - eps * t for a, t in zip(args, tangents, strict=True)])
    return (np.asarray(plus) - np.asarray(minus)) / (2 * eps)


def adjoint_gap(f, args):
    """|⟨J u, v⟩ - ⟨u, Jᵀ v⟩| relative to the sizes, for random u, v."""
    us = [rng.standard_normal(np.shape(a)) for a in args]
    out, ju = riesz.jvp(f, tuple(args), tuple(us))
    v = rng.standard_normal(np.shape(out))
    _, pullback = riesz.vjp(f, *args)
    jtv = pullback(v)
    lhs = np.sum(ju * v)
    rhs = sum(np.sum(u * w) for u, w in zip(us, jtv, strict=True))
    return abs(lhs - rhs) / (abs(lhs) + 1e-300)


# -- values equal SciPy's ---------------------------------------------------------------


def test_values_equal_scipy() -> None:
    np.testing.assert_allclose(rsl.sqrtm(A), scipy.linalg.sqrtm(A), rtol=1e-14)
    np.testing.assert_allclose(rsl.logm(A), scipy.linalg.logm(A), rtol=1e-14)
    np.testing.assert_allclose(rsl.solve_sylvester(A, B, Q),
                               scipy.linalg.solve_sylvester(A, B, Q), rtol=1e-13)
    np.testing.assert_allclose(rsl.solve_continuous_lyapunov(A, G),
                               scipy.linalg.solve_continuous_lyapunov(A, G), rtol=1e-12,
                               atol=1e-14)
    for got, want in zip(rsl.expm_frechet(A, E), scipy.linalg.expm_frechet(A, E), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12)
    np.testing.assert_allclose(rsl.expm_frechet(A, E, compute_expm=False),
                               scipy.linalg.expm_frechet(A, E, compute_expm=False), rtol=1e-12)
    for side in ("right", "left"):
        for m in (A, Q, Q.T):
            for got, want in zip(rsl.polar(m, side), scipy.linalg.polar(m, side), strict=True):
                np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


def test_sqrtm_logm_disp_false_give_the_error_estimate() -> None:
    x, err = rsl.sqrtm(A, disp=False)
    np.testing.assert_allclose(x @ x, A, rtol=1e-12, atol=1e-14)
    assert 0 <= err < 1e-13
    lg, err = rsl.logm(A, disp=False)
    np.testing.assert_allclose(scipy.linalg.expm(lg), A, rtol=1e-12, atol=1e-14)
    assert 0 <= err < 1e-13


def test_lu_factor_and_lu_solve_equal_scipy() -> None:
    a = rng.standard_normal((5, 5))
    b = rng.standard_normal((5, 2))
    lu, piv = rsl.lu_factor(a)
    slu, spiv = scipy.linalg.lu_factor(a)
    np.testing.assert_array_equal(lu, slu)
    np.testing.assert_array_equal(piv, spiv)
    for trans in (0, 1, 2):
        want = scipy.linalg.lu_solve((slu, spiv), b, trans=trans)
        np.testing.assert_allclose(rsl.lu_solve((lu, piv), b, trans=trans), want, rtol=1e-12)
        # SciPy's own (lu, piv) tuple works too
        np.testing.assert_allclose(rsl.lu_solve((slu, spiv), b, trans=trans), want, rtol=1e-12)


def test_solve_banded_equals_scipy_and_the_dense_solve() -> None:
    n, lo, up = 6, 2, 1
    ab = rng.standard_normal((lo + up + 1, n))
    ab[up] += 5.0
    dense = np.zeros((n, n))
    for i in range(n):
        for j in range(max(0, i - lo), min(n, i + up + 1)):
            dense[i, j] = ab[up + i - j, j]
    b = rng.standard_normal((n, 3))
    got = rsl.solve_banded((lo, up), ab, b)
    np.testing.assert_allclose(got, scipy.linalg.solve_banded((lo, up), ab, b), rtol=1e-14)
    np.testing.assert_allclose(got, np.linalg.solve(dense, b), rtol=1e-12)

    # the gradient w.r.t. the band equals the dense gradient read on the band
    def banded(ab, b):
        return rnp.sum(rnp.sin(rsl.solve_banded((lo, up), ab, b)))

    mask = np.zeros((lo + up + 1, n), bool)
    rows, cols = [], []
    for r in range(lo + up + 1):
        for j in range(n):
            i = j + r - up
            if 0 <= i < n:
                mask[r, j] = True
                rows.append(i)
                cols.append(j)
    g_ab, g_b = riesz.grad(banded, argnums=(0, 1))(ab, b)
    g_dense, g_b2 = riesz.grad(lambda a, b: rnp.sum(rnp.sin(rnp.linalg.solve(a, b))),
                               argnums=(0, 1))(dense, b)
    np.testing.assert_allclose(g_ab[mask], g_dense[rows, cols], rtol=1e-12)
    np.testing.assert_allclose(g_b, g_b2, rtol=1e-12)


def test_lstsq_values_equal_scipy_and_numpy() -> None:
    for a, b in [(Q, rng.standard_normal(4)), (Q, rng.standard_normal((4, 2))),
                 (Q.T, rng.standard_normal(3))]:
        for got, want in zip(rsl.lstsq(a, b), scipy.linalg.lstsq(a, b), strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
            assert np.shape(got) == np.shape(want)
        for got, want in zip(rnp.linalg.lstsq(a, b), np.linalg.lstsq(a, b), strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
            assert np.shape(got) == np.shape(want)


# -- derivatives from the defining equations ------------------------------------------


def test_sqrtm_jvp_solves_the_sylvester_equation_and_matches_finite_differences() -> None:
    x, dx = riesz.jvp(rsl.sqrtm, (A,), (E,))
    np.testing.assert_allclose(x @ dx + dx @ x, E, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(dx, fd_jvp(scipy.linalg.sqrtm, [A], [E]), rtol=1e-7, atol=1e-9)
    # sqrtm(A) @ sqrtm(A) = A: the derivative of the product is the identity map
    _, d = riesz.jvp(lambda a: rsl.sqrtm(a) @ rsl.sqrtm(a), (A,), (E,))
    np.testing.assert_allclose(d, E, rtol=1e-12, atol=1e-13)
    g = riesz.grad(lambda a: rnp.sum(G * (rsl.sqrtm(a) @ rsl.sqrtm(a))))(A)
    np.testing.assert_allclose(g, G, rtol=1e-12, atol=1e-13)
    assert adjoint_gap(rsl.sqrtm, [A]) < 1e-12


def test_logm_derivative_inverts_the_frechet_derivative_of_expm() -> None:
    lg, dl = riesz.jvp(rsl.logm, (A,), (E,))
    # exp(L) = A  ⇒  L_exp(L, ∂L) = ∂A
    np.testing.assert_allclose(scipy.linalg.expm_frechet(lg, dl, compute_expm=False), E,
                               rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(dl, fd_jvp(scipy.linalg.logm, [A], [E]), rtol=1e-7, atol=1e-9)
    # the adjoint identity L(A, ·)* = L(Aᵀ, ·) makes the VJP the transpose of the JVP
    assert adjoint_gap(rsl.logm, [A]) < 1e-12
    _, d = riesz.jvp(lambda a: rsl.expm(rsl.logm(a)), (A,), (E,))
    np.testing.assert_allclose(d, E, rtol=1e-11, atol=1e-12)


def test_logm_second_derivative_matches_finite_differences_of_the_first() -> None:
    def first(a):
        return riesz.jvp(rsl.logm, (a,), (E,))[1]

    _, second = riesz.jvp(first, (A,), (G,))
    np.testing.assert_allclose(second, fd_jvp(first, [A], [G], eps=1e-5), rtol=1e-6,
                               atol=1e-8)


def test_solve_sylvester_jvp_satisfies_the_differentiated_equation() -> None:
    dA, dB, dQ = (rng.standard_normal(m.shape) for m in (A, B, Q))
    x, dx = riesz.jvp(rsl.solve_sylvester, (A, B, Q), (dA, dB, dQ))
    np.testing.assert_allclose(A @ dx + dx @ B, dQ - dA @ x - x @ dB, rtol=1e-11, atol=1e-12)
    assert adjoint_gap(rsl.solve_sylvester, [A, B, Q]) < 1e-12


def test_lyapunov_solution_and_derivative() -> None:
    x = rsl.solve_continuous_lyapunov(A, G)
    np.testing.assert_allclose(A @ x + x @ A.T, G, rtol=1e-12, atol=1e-13)
    dA, dG = rng.standard_normal(A.shape), rng.standard_normal(G.shape)
    _, dx = riesz.jvp(rsl.solve_continuous_lyapunov, (A, G), (dA, dG))
    np.testing.assert_allclose(A @ dx + dx @ A.T, dG - dA @ x - x @ dA.T, rtol=1e-11,
                               atol=1e-12)


def test_expm_frechet_is_linear_in_e_and_its_a_derivative_matches_fd() -> None:
    f = lambda a, e: rsl.expm_frechet(a, e, compute_expm=False)  # noqa: E731
    _, de = riesz.jvp(f, (A, E), (np.zeros_like(A), G))
    np.testing.assert_allclose(de, f(A, G), rtol=1e-12)
    _, da = riesz.jvp(f, (A, E), (G, np.zeros_like(E)))
    ref = lambda a: scipy.linalg.expm_frechet(a, E, compute_expm=False)  # noqa: E731
    np.testing.assert_allclose(da, fd_jvp(ref, [A], [G]), rtol=1e-6, atol=1e-8)


def test_lu_factor_derivative_keeps_the_factorisation() -> None:
    a = rng.standard_normal((4, 4))
    lu, dlu = riesz.jvp(lambda a: rsl.lu_factor(a)[0], (a,), (E,))
    p, low, up = scipy.linalg.lu(a)
    dlow, dup = np.tril(dlu, -1), np.triu(dlu)
    # P L U = A  ⇒  P (∂L U + L ∂U) = ∂A, with ∂L strictly lower and ∂U upper
    np.testing.assert_allclose(p @ (dlow @ up + low @ dup), E, rtol=1e-11, atol=1e-12)
    assert adjoint_gap(lambda a: rsl.lu_factor(a)[0], [a]) < 1e-12


def test_lu_solve_is_differentiable_in_a_and_b() -> None:
    a, b = rng.standard_normal((4, 4)), rng.standard_normal(4)
    for trans in (0, 1):
        def f(a, b, trans=trans):
            return rsl.lu_solve(rsl.lu_factor(a), b, trans=trans)

        def ref(a, b, trans=trans):
            return rnp.linalg.solve(a.T if trans else a, b)

        da, db = rng.standard_normal(a.shape), rng.standard_normal(b.shape)
        _, got = riesz.jvp(f, (a, b), (da, db))
        _, want = riesz.jvp(ref, (a, b), (da, db))
        np.testing.assert_allclose(got, want, rtol=1e-10)
        v = rng.standard_normal(4)
        got = riesz.vjp(f, a, b)[1](v)
        want = riesz.vjp(ref, a, b)[1](v)
        for g, w in zip(got, want, strict=True):
            np.testing.assert_allclose(g, w, rtol=1e-10)


def test_lstsq_full_rank_derivative_is_the_normal_equations_one() -> None:
    b = rng.standard_normal((4, 2))

    def normal(a, b):
        return rnp.linalg.solve(a.T @ a, a.T @ b)

    da, db = rng.standard_normal(Q.shape), rng.standard_normal(b.shape)
    _, got = riesz.jvp(lambda a, b: rsl.lstsq(a, b)[0], (Q, b), (da, db))
    _, want = riesz.jvp(normal, (Q, b), (da, db))
    np.testing.assert_allclose(got, want, rtol=1e-10)
    # wide, full row rank: the minimum-norm solution aᵀ (a aᵀ)⁻¹ b
    w, c = Q.T, rng.standard_normal(3)

    def min_norm(a, b):
        return a.T @ rnp.linalg.solve(a @ a.T, b)

    g1 = riesz.grad(lambda a, b: rnp.sum(rnp.sin(rsl.lstsq(a, b)[0])), argnums=(0, 1))(w, c)
    g2 = riesz.grad(lambda a, b: rnp.sum(rnp.sin(min_norm(a, b))), argnums=(0, 1))(w, c)
    for x, y in zip(g1, g2, strict=True):
        np.testing.assert_allclose(x, y, rtol=1e-10)


def test_lstsq_rank_deficient_derivative_along_rank_preserving_perturbations() -> None:
    u, _ = np.linalg.qr(rng.standard_normal((5, 3)))
    v, _ = np.linalg.qr(rng.standard_normal((3, 3)))
    s, ds = np.array([3.0, 1.5, 0.0]), np.array([0.3, -0.2, 0.0])
    du = rng.standard_normal((5, 3))
    b = rng.standard_normal(5)

    def a_of(t):
        return (u + t * du) @ np.diag(s + t * ds) @ v.T

    a0, da = a_of(0.0), (a_of(1e-7) - a_of(-1e-7)) / 2e-7
    x, r, rank, sv = rsl.lstsq(a0, b)
    assert rank == 2 and np.shape(r) == (0,)
    np.testing.assert_allclose(x, np.linalg.pinv(a0) @ b, rtol=1e-10)
    _, dx = riesz.jvp(lambda a: rsl.lstsq(a, b)[0], (a0,), (da,))
    eps = 1e-6
    want = (scipy.linalg.lstsq(a_of(eps), b)[0] - scipy.linalg.lstsq(a_of(-eps), b)[0]) / (2 * eps)
    np.testing.assert_allclose(dx, want, rtol=1e-6, atol=1e-8)


def test_polar_derivatives() -> None:
    f_u = lambda a: rsl.polar(a)[0]  # noqa: E731
    f_p = lambda a: rsl.polar(a)[1]  # noqa: E731
    for f, k in ((f_u, 0), (f_p, 1)):
        _, d = riesz.jvp(f, (A,), (E,))
        np.testing.assert_allclose(d, fd_jvp(lambda a, k=k: scipy.linalg.polar(a)[k], [A], [E]),
                                   rtol=1e-6, atol=1e-8)
        assert adjoint_gap(f, [A]) < 1e-12


def test_vmap_of_the_new_functions_matches_a_loop() -> None:
    As = np.stack([well(3) for _ in range(3)])
    bs = rng.standard_normal((3, 3))
    for f in (rsl.sqrtm, rsl.logm, lambda a: rsl.solve_sylvester(a, B, a),
              lambda a: rsl.lu_solve(rsl.lu_factor(a), a[0])):
        got = riesz.vmap(f)(As)
        np.testing.assert_allclose(got, np.stack([f(a) for a in As]), rtol=1e-12)
    got = riesz.vmap(lambda a, b: rsl.lstsq(a, b)[0])(As, bs)
    np.testing.assert_allclose(got, np.stack([np.linalg.solve(a, b) for a, b in
                                              zip(As, bs, strict=True)]), rtol=1e-10)


# -- errors -----------------------------------------------------------------------------


def test_real_functions_refuse_a_complex_result() -> None:
    neg = np.diag([-1.0, 2.0])
    with pytest.raises(ValueError, match="sqrtm.*complex"):
        rsl.sqrtm(neg)
    with pytest.raises(ValueError, match="logm.*complex"):
        rsl.logm(neg)


def test_bad_shapes_name_the_argument() -> None:
    with pytest.raises(ValueError, match="sqrtm: A must be a square"):
        rsl.sqrtm(np.ones((2, 3)))
    with pytest.raises(ValueError, match="solve_sylvester: q must have shape"):
        rsl.solve_sylvester(A, B, np.ones((3, 3)))
    with pytest.raises(ValueError, match="solve_banded: ab must have shape"):
        rsl.solve_banded((1, 1), np.ones((2, 4)), np.ones(4))
    with pytest.raises(ValueError, match="lu_factor: a must be a square"):
        rsl.lu_factor(np.ones((2, 3)))
    with pytest.raises(ValueError, match="expm_frechet: A and E"):
        rsl.expm_frechet(A, B)
    with pytest.raises(ValueError, match="polar: side"):
        rsl.polar(A, "up")
    with pytest.raises(np.linalg.LinAlgError, match="lstsq: b must have shape"):
        rsl.lstsq(Q, np.ones(3))


def test_lstsq_taylor_rule_refuses_a_rank_deficient_matrix() -> None:
    a = np.outer(np.arange(1.0, 5.0), [1.0, 2.0, 3.0])  # rank 1
    b = np.ones(4)
    with pytest.raises(NotImplementedError, match="full-rank"):
        riesz.jet(lambda m: rsl.lstsq(m, b)[0], (a,), ([np.ones_like(a), np.zeros_like(a)],))
    # full rank: the series agrees with nested forward mode
    y0, (y1, y2) = riesz.jet(lambda m: rsl.lstsq(m, b)[0], (Q,), ([E[:, :3], G[:, :3]],))
    d1 = riesz.jvp(lambda m: rsl.lstsq(m, b)[0], (Q,), (E[:, :3],))[1]
    np.testing.assert_allclose(y1, d1, rtol=1e-10)


def test_lu_solve_under_vmap_needs_the_factor_object() -> None:
    As = np.stack([well(3) for _ in range(2)])
    b = np.ones(3)
    with pytest.raises(ValueError, match="lu_solve: under vmap"):
        riesz.vmap(lambda a: rsl.lu_solve(tuple(rsl.lu_factor(a)), b))(As)


def test_taylor_rules_with_some_arguments_constant() -> None:
    b, db = rng.standard_normal(4), rng.standard_normal(4)
    _, (y1, _y2) = riesz.jet(lambda v: rsl.lstsq(Q, v)[0], (b,), ([db, np.zeros(4)],))
    np.testing.assert_allclose(y1, riesz.jvp(lambda v: rsl.lstsq(Q, v)[0], (b,), (db,))[1],
                               rtol=1e-10)
    dq = rng.standard_normal(Q.shape)
    _, (x1, _x2) = riesz.jet(lambda q: rsl.solve_sylvester(A, B, q), (Q,), ([dq, dq],))
    np.testing.assert_allclose(x1, rsl.solve_sylvester(A, B, dq), rtol=1e-10)
