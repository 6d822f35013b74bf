"""Tour sections for spaces and linear maps: Riesz gradients, adjoints,
materialisation, function spaces and preconditioning."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

import riesz
import riesz.numpy as rnp
from riesz import LinearMap, optim
from riesz.spaces import Polynomials, Symmetric, Weighted

from ._util import _maxerr

if TYPE_CHECKING:
    from . import Tour


def _spd(n: int, seed: int, cond: float) -> np.ndarray:
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    return Q @ np.diag(np.geomspace(1.0, cond, n)) @ Q.T


def riesz_gradient(t: Tour) -> None:
    t.section(
        "The gradient depends on the inner product (Riesz representers)",
        """∂f(x) is a linear functional (a covector). The gradient is the vector that
        represents it: ⟨∇f, u⟩ = ∂f(x)[u]. Under ⟨x, y⟩ = xᵀ W y the gradient of
        f(x) = xᵀ A x is W⁻¹ (A + Aᵀ) x; under the Frobenius product restricted to
        symmetric matrices it is the symmetric part of the Frobenius gradient.""",
        code="""
        S = Weighted(metric=W)
        f = lambda x: x @ A @ x
        g = riesz.grad(f, space=S)(x)              # == np.linalg.solve(W, (A + A.T) @ x)
        D = riesz.derivative(f, domain=S)(x)       # the covector ∂f(x); D.riesz() == g
        gs = riesz.grad(lambda X: rnp.sum(C * (X @ X)), space=Symmetric(3))(X)
        """,
    )
    rng = np.random.default_rng(5)
    n = 5
    A = rng.standard_normal((n, n))
    W = _spd(n, 6, 50.0)
    x = rng.standard_normal(n)
    S = Weighted(metric=W)

    def f(x):
        return x @ A @ x

    g = riesz.grad(f, space=S)(x)

    def closed_form() -> tuple[str, bool]:
        err = _maxerr(g, np.linalg.solve(W, (A + A.T) @ x))
        return f"max |grad_W - W⁻¹(A+Aᵀ)x| = {err:.1e}", err < 1e-12

    def represents() -> tuple[str, bool]:
        u = rng.standard_normal(n)
        lhs = float(S.inner(g, u))
        rhs = float(riesz.jvp(f, (x,), (u,))[1])
        return f"⟨g, u⟩_W = {lhs:.6f}, ∂f(x)[u] = {rhs:.6f}", abs(lhs - rhs) < 1e-10

    def covector_vs_vector() -> tuple[str, bool]:
        D = riesz.derivative(f, domain=S)(x)
        c = D.T(1.0)
        gap = float(np.linalg.norm(c - g))
        err = _maxerr(D.riesz(), g)
        return (f"∂f(x): {D.domain} -> R; |covector - gradient| = {gap:.2f}, "
                f"|riesz(∂f) - grad_W| = {err:.1e}"), gap > 1e-3 and err < 1e-12

    def differentiable() -> tuple[str, bool]:
        H = riesz.jacfwd(riesz.grad(f, space=S))(x)
        err = _maxerr(H, np.linalg.solve(W, A + A.T))
        return f"max |∂(grad_W)(x) - W⁻¹(A+Aᵀ)| = {err:.1e}", err < 1e-10

    def symmetric() -> tuple[str, bool]:
        m = 3
        C = rng.standard_normal((m, m))
        X = rng.standard_normal((m, m))
        X = X + X.T
        gs = riesz.grad(lambda X: rnp.sum(C * (X @ X)), space=Symmetric(m))(X)
        frob = C @ X.T + X.T @ C  # d/dX Σ C⊙(XX) = C Xᵀ + Xᵀ C
        err = _maxerr(gs, (frob + frob.T) / 2)
        return f"max |grad_Sym - sym(grad_F)| = {err:.1e}", err < 1e-12

    t.check("grad of xᵀAx under ⟨·,·⟩_W", "W⁻¹(A+Aᵀ)x", closed_form)
    t.check("⟨grad_W, u⟩_W", "= ∂f(x)[u]", represents)
    t.check("derivative(f)(x)", "covector ≠ gradient", covector_vs_vector)
    t.check("∂ of the Riesz gradient", "W⁻¹(A+Aᵀ)", differentiable)
    t.check("grad on Symmetric(3)", "projected Frobenius", symmetric)


def weighted_adjoints(t: Tour) -> None:
    t.section(
        "Adjoints under weighted inner products",
        """The adjoint is defined by ⟨A u, v⟩_Y = ⟨u, A* v⟩_X. With weights W_X, W_Y it is
        A* = W_X⁻¹ Aᵀ W_Y, not Aᵀ. riesz derives it for any map from the metric-free
        transpose (reverse mode) and the two spaces; in orthonormal bases it is the
        transpose of the map's matrix again.""",
        code="""
        X, Y = Weighted(metric=WX), Weighted(3, WY)
        A = LinearMap.from_matrix(M, X, Y)
        A.adjoint.materialize()                    # == np.linalg.solve(WX, M.T @ np.diag(WY))
        D = riesz.derivative(lambda x: rnp.tanh(M @ x), domain=X, codomain=Y)(x)
        D.adjoint(v)                               # ⟨D u, v⟩_Y == ⟨u, D.adjoint(v)⟩_X
        """,
    )
    rng = np.random.default_rng(7)
    WX, WY = _spd(4, 8, 20.0), np.array([1.0, 3.0, 9.0])
    X, Y = Weighted(metric=WX), Weighted(3, WY)
    M = rng.standard_normal((3, 4))
    A = LinearMap.from_matrix(M, X, Y)

    def identity_check() -> tuple[str, bool]:
        worst = 0.0
        for _ in range(20):
            u, v = X.random(rng), Y.random(rng)
            lhs, rhs = float(Y.inner(A(u), v)), float(X.inner(u, A.adjoint(v)))
            worst = max(worst, abs(lhs - rhs) / (abs(lhs) + 1))
        return f"20 random pairs: max rel. |⟨Au,v⟩ - ⟨u,A*v⟩| = {worst:.1e}", worst < 1e-12

    def matrix() -> tuple[str, bool]:
        err = _maxerr(A.adjoint.materialize(), np.linalg.solve(WX, M.T @ np.diag(WY)))
        gap = _maxerr(A.adjoint.materialize(), M.T)
        return f"max |A* - W_X⁻¹AᵀW_Y| = {err:.1e} (vs plain Aᵀ: {gap:.2f})", err < 1e-12

    def of_a_derivative() -> tuple[str, bool]:
        x = rng.standard_normal(4)
        D = riesz.derivative(lambda x: rnp.tanh(rnp.matmul(M, x)), domain=X, codomain=Y)(x)
        u, v = X.random(rng), Y.random(rng)
        lhs, rhs = float(Y.inner(D(u), v)), float(X.inner(u, D.adjoint(v)))
        return f"⟨∂f u, v⟩_Y = {lhs:.6f}, ⟨u, ∂f* v⟩_X = {rhs:.6f}", abs(lhs - rhs) < 1e-12

    def orthonormal() -> tuple[str, bool]:
        err = _maxerr(A.adjoint.materialize("orthonormal"), A.materialize("orthonormal").T)
        return f"max |[A*]_orth - [A]_orthᵀ| = {err:.1e}", err < 1e-12

    t.check("⟨Au, v⟩_Y = ⟨u, A*v⟩_X", "random u, v", identity_check)
    t.check("A* materialised", "W_X⁻¹AᵀW_Y", matrix)
    t.check("adjoint of ∂f(x)", "same identity", of_a_derivative)
    t.check("A* in W-orthonormal bases", "transpose", orthonormal)


def materialization(t: Tour) -> None:
    t.section(
        "Materialising a map by calling it on basis vectors",
        """∂f(X) for f(X) = X X is a linear map on 3×3 matrices. Calling it on the nine
        one-hot matrices E_kl (all at once, with vmap) and stacking the outputs gives a
        (3, 3, 3, 3) array whose contraction with any U is X U + U X.""",
        code="""
        D = riesz.derivative(lambda X: X @ X)(X)   # a LinearMap on 3×3 matrices
        T = D.materialize()                        # (3, 3, 3, 3), one vmapped call
        np.tensordot(T, U, axes=2)                 # == X @ U + U @ X
        """,
    )
    rng = np.random.default_rng(9)
    X, U = rng.standard_normal((3, 3)), rng.standard_normal((3, 3))
    calls = []

    def square(X):
        return X @ X

    D = riesz.derivative(square)(X)
    def counting(E: Any) -> Any:
        calls.append(1)
        return D(E)

    counted = LinearMap(counting, D.domain, D.codomain)
    T = counted.materialize()

    def shape_and_calls() -> tuple[str, bool]:
        # the same array, one call per one-hot matrix E_kl (component [i, j, k, l])
        loop = np.stack([D(E.reshape(3, 3)) for E in np.eye(9)], axis=-1).reshape(3, 3, 3, 3)
        err = _maxerr(T, loop)
        return (f"shape {T.shape}: 9 basis vectors in {len(calls)} vectorised call; "
                f"vs one call per E_kl {err:.1e}"), (
            T.shape == (3, 3, 3, 3) and len(calls) == 1 and err < 1e-15)

    def contraction() -> tuple[str, bool]:
        err = _maxerr(np.tensordot(T, U, axes=2), X @ U + U @ X)
        return f"max |T:U - (XU + UX)| = {err:.1e}", err < 1e-12

    def modes_agree() -> tuple[str, bool]:
        e1 = _maxerr(T, riesz.jacfwd(square)(X))
        e2 = _maxerr(T, riesz.jacrev(square)(X))
        return f"vs jacfwd {e1:.1e}, vs jacrev {e2:.1e}", max(e1, e2) < 1e-12

    t.check("materialize ∂f(X)", "9 basis vectors", shape_and_calls)
    t.check("T contracted with U", "XU + UX", contraction)
    t.check("T", "jacfwd = jacrev", modes_agree)
    plt = t.pyplot()
    if plt is not None:
        fig, ax = plt.subplots(figsize=(6, 5), layout="constrained")
        m = float(np.max(np.abs(T)))
        im = ax.imshow(T.reshape(9, 9), cmap="RdBu_r", vmin=-m, vmax=m)  # white = 0
        ax.set_title("∂f(X) for f(X) = X², materialised\n(entry (i, j) of ∂f(X)[E_kl])")
        pairs = [(i, j) for i in range(3) for j in range(3)]
        ax.set_xticks(range(9), [f"E{k}{m}" for k, m in pairs], rotation=90)
        ax.set_yticks(range(9), [f"({i}, {j})" for i, j in pairs])
        ax.set_xlabel("input basis matrix E_kl")
        ax.set_ylabel("output entry (i, j)")
        fig.colorbar(im, ax=ax, shrink=0.8)
        t.save(fig, "materialized_derivative.png")


def polynomial_gradient(t: Tour) -> None:
    t.section(
        "Functionals on polynomials: L2 gradient vs coefficient gradient",
        """On polynomials of degree ≤ 5 on [-1, 1] with ⟨p, q⟩ = ∫ p q dt, the gradient of
        F(p) = ∫ (p - h)² dt is 2 (p - Πh), Πh the L2 projection of h. The coefficient
        gradient is G times that (G the Gram matrix of the monomials): a different
        vector, and a step along it does not land on the minimiser.""",
        code="""
        P = Polynomials(5, (-1.0, 1.0))            # ⟨p, q⟩ = ∫ p q dt on coefficients
        F = lambda c: rnp.sum(weights * (P.evaluate(c, nodes) - h(nodes)) ** 2)
        g_l2 = riesz.grad(F, space=P)(c0)          # == 2 (p - Πh)
        g_coef = riesz.grad(F)(c0)                 # == P.metric @ g_l2
        """,
    )
    d = 5
    P = Polynomials(d, (-1.0, 1.0))
    nodes, weights = np.polynomial.legendre.leggauss(40)

    def h(s):
        return np.abs(s) + 0.3 * np.sin(3 * s)

    hs = h(nodes)

    def F(c):
        return rnp.sum(weights * (P.evaluate(c, nodes) - hs) ** 2)

    c0 = np.zeros(d + 1)
    g_l2 = riesz.grad(F, space=P)(c0)
    g_coef = riesz.grad(F)(c0)
    legendre = [(2 * k + 1) / 2 * np.sum(weights * hs *
                                         np.polynomial.legendre.Legendre.basis(k)(nodes))
                for k in range(d + 1)]
    proj = np.polynomial.legendre.leg2poly(legendre)

    def vs_projection() -> tuple[str, bool]:
        err = _maxerr(g_l2, 2 * (c0 - proj))
        return f"max |grad_L2 - 2(p - Πh)| = {err:.1e} (Πh via Legendre)", err < 1e-10

    def represents() -> tuple[str, bool]:
        q = np.random.default_rng(3).standard_normal(d + 1)
        lhs = float(P.inner(g_l2, q))
        rhs = float(riesz.jvp(F, (c0,), (q,))[1])
        return f"⟨grad_L2, q⟩_L2 = {lhs:.6f}, ∂F[q] = {rhs:.6f}", abs(lhs - rhs) < 1e-10

    def different() -> tuple[str, bool]:
        err = _maxerr(g_coef, P.metric @ g_l2)
        cos = float(g_l2 @ g_coef / np.linalg.norm(g_l2) / np.linalg.norm(g_coef))
        return f"grad_coef = G grad_L2 (err {err:.1e}); cos angle between them {cos:.3f}", (
            err < 1e-10 and cos < 0.999)

    def one_step() -> tuple[str, bool]:
        c_l2 = c0 - 0.5 * g_l2
        c_co = c0 - 0.5 * g_coef
        f_min = float(F(proj))
        return (f"F after one step of size 1/2: L2 {float(F(c_l2)):.5f}, coefficients "
                f"{float(F(c_co)):.5f}; min F = {f_min:.5f}"), abs(float(F(c_l2)) - f_min) < 1e-12

    t.check("grad_L2 F", "2(p - Πh)", vs_projection)
    t.check("⟨grad_L2 F, q⟩", "= ∂F(p)[q]", represents)
    t.check("coefficient gradient", "= G grad_L2 ≠ grad_L2", different)
    t.check("one gradient step", "L2 step is exact", one_step)
    plt = t.pyplot()
    if plt is not None:
        s = np.linspace(-1, 1, 200)
        fig, ax = plt.subplots(figsize=(5.5, 3.5))
        ax.plot(s, h(s), "k", label="h")
        ax.plot(s, P.evaluate(proj, s), "C0", label="Πh (minimiser of F)")
        ax.plot(s, P.evaluate(-0.5 * g_l2, s), "C1--", label="-½ grad_L2 F at p = 0")
        ax.plot(s, P.evaluate(-0.5 * g_coef, s), "C3:", label="-½ coefficient gradient")
        ax.set_ylim(-1.5, 2.5)
        ax.set_xlabel("t")
        ax.legend(fontsize=8)
        ax.set_title("Gradients of F(p) = ∫(p - h)² as functions of t")
        t.save(fig, "polynomial_gradients.png")


def preconditioned_descent(t: Tour) -> None:
    t.section(
        "Gradient descent in another geometry is preconditioned descent",
        """Minimise f(x) = ½ xᵀ H x - bᵀ x, H badly scaled (30 × 30, condition ≈ 5·10²).
        Plain descent (step 1/L) crawls along the flat directions; descent with the
        Riesz gradient of Weighted(metric=diag(H)) (the Jacobi preconditioner) needs
        a handful of steps to the same tolerance.""",
        code="""
        f = lambda x: 0.5 * x @ H @ x - b @ x
        plain = optim.fit(f, x0, optim.gradient_descent(1.0 / L), target=f_star + tol)
        jacobi = optim.fit(f, x0, optim.preconditioned(Weighted(n, np.diag(H)), lr=1.0),
                           target=f_star + tol)
        """,
    )
    n = 30
    rng = np.random.default_rng(11)
    scales = np.geomspace(1.0, 20.0, n)
    C = np.eye(n) + 0.3 * (lambda R: (R + R.T) / 2)(rng.standard_normal((n, n))) / np.sqrt(n)
    H = scales[:, None] * C * scales[None, :]
    b = rng.standard_normal(n)
    x_star = np.linalg.solve(H, b)
    f_star = float(-0.5 * b @ x_star)
    tol = 1e-6 * abs(f_star)
    runs: dict[str, Any] = {}

    def f(x):
        return 0.5 * x @ H @ x - b @ x

    def run(name: str, opt: optim.Optimizer) -> Any:
        runs[name] = optim.fit(f, np.zeros(n), opt, steps=20_000, target=f_star + tol,
                               progress=False)
        r = runs[name]
        return f"{r.iterations}" if r.converged else f"> {r.iterations}"

    def plain() -> tuple[str, bool]:
        L = float(np.linalg.eigvalsh(H)[-1])
        k = run("plain", optim.gradient_descent(1.0 / L))
        return f"{k} steps to f - f* <= 1e-6 |f*| (step 1/L)", runs["plain"].converged

    def preconditioned() -> tuple[str, bool]:
        k = run("jacobi", optim.preconditioned(Weighted(n, np.diag(H)), lr=1.0))
        r = runs["jacobi"]
        rel = float(np.linalg.norm(r.params - x_star) / np.linalg.norm(x_star))
        ok = r.converged and r.iterations * 10 < runs["plain"].iterations
        return f"{k} steps to the same tolerance, |x - x*|/|x*| = {rel:.1e}", ok

    t.check("plain gradient descent", "converges", plain)
    t.check("descent in Weighted(diag H)", "10x fewer steps", preconditioned)
    plt = t.pyplot()
    if plt is not None and len(runs) == 2:
        fig, ax = plt.subplots(figsize=(5.5, 3.5))
        ax.semilogy(np.asarray(runs["plain"].history) - f_star, label="plain gradient descent")
        ax.semilogy(np.asarray(runs["jacobi"].history) - f_star,
                    label="Riesz gradient in Weighted(diag H)")
        ax.axhline(tol, color="gray", ls=":", lw=1, label="tolerance 1e-6 |f*|")
        ax.set_xscale("symlog", linthresh=1.0)
        ax.set_xlim(0, len(runs["plain"].history))
        ax.set_xlabel("step")
        ax.set_ylabel("f - f*")
        ax.legend(fontsize=8)
        t.save(fig, "preconditioned_descent.png")


SECTIONS = [riesz_gradient, weighted_adjoints, materialization, polynomial_gradient,
            preconditioned_descent]
