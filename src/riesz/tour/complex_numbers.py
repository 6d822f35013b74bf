"""Tour section: complex numbers, Cⁿ as a real inner-product space."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

import riesz
import riesz.numpy as rnp

if TYPE_CHECKING:
    from . import Tour


def complex_numbers(t: Tour) -> None:
    t.section(
        "17. Complex numbers: the gradient is the Riesz representer",
        """Cⁿ is a real inner-product space with ⟨x, y⟩ = Re vdot(x, y). The VJP is the
        adjoint under it (conj(f'(z)) v for holomorphic f), and grad of a real f is
        the representer ∂f/∂Re z + i ∂f/∂Im z: grad(|z|²) = 2z, the steepest-ascent
        direction. JAX and autograd return the transpose f'(z) v instead, so their
        grad(|z|²) is 2 conj(z): the covector ∂f/∂z = (∂f/∂Re z - i ∂f/∂Im z)/2 doubled,
        not a direction in Cⁿ, and descending along it turns the wrong way.""",
        code="grad(lambda z: np.sum(np.abs(z) ** 2))(z)     # 2z\n"
             "grad(np.sin, holomorphic=True)(z)               # cos z\n"
             "z = z - step * grad(lambda z: np.sum(np.abs(A @ z - b) ** 2))(z)",
    )
    z = np.array([1.0 + 2.0j, -0.5 + 0.3j, 0.2 - 1.0j])

    def abs_squared() -> tuple[str, bool]:
        g = riesz.grad(lambda z: rnp.sum(rnp.abs(z) ** 2))(z)
        err = float(np.max(np.abs(g - 2 * z)))
        return f"max |grad - 2z| = {err:.1e}; |grad - 2 conj(z)| = " \
               f"{float(np.max(np.abs(g - 2 * np.conj(z)))):.2f}", err < 1e-14

    t.check("grad(Σ|z|²) = 2z", "closed form (JAX: 2 conj(z))", abs_squared)

    def holomorphic() -> tuple[str, bool]:
        w = 0.3 + 0.4j
        d = riesz.grad(rnp.sin, holomorphic=True)(w)
        _, vjp_fn = riesz.vjp(rnp.sin, w)
        v = 1.0 - 2.0j
        err = max(abs(d - np.cos(w)), abs(vjp_fn(v)[0] - np.conj(np.cos(w)) * v))
        return f"|sin'(z) - cos z| and |VJP - conj(cos z) v|: {err:.1e}", err < 1e-15

    t.check("grad(sin, holomorphic=True) = cos; VJP = conj(f') v", "closed form",
            holomorphic)

    rng = np.random.default_rng(15)
    n = 6
    m = 40  # well conditioned: AᴴA ≈ I
    A = (rng.standard_normal((m, n)) + 1j * rng.standard_normal((m, n))) / np.sqrt(2 * m)
    b = rng.standard_normal(m) + 1j * rng.standard_normal(m)
    z_star = np.linalg.lstsq(A, b, rcond=None)[0]

    def loss(z):
        return rnp.sum(rnp.abs(A @ z - b) ** 2)

    step = 0.5 / float(np.linalg.norm(A, 2) ** 2)  # 1/L for the gradient 2Aᴴ(Az - b)

    def descend(conjugate: bool) -> float:
        z = np.zeros(n, complex)
        for _ in range(100):
            g = riesz.grad(loss)(z)
            z = z - step * (np.conj(g) if conjugate else g)
        return float(np.linalg.norm(z - z_star))

    def least_squares() -> tuple[str, bool]:
        ours, conj = descend(False), descend(True)
        return (f"100 steps: |z - z*| = {ours:.1e} with grad as is, {conj:.1e} with "
                f"its conjugate"), ours < 1e-8 < conj

    t.check("gradient descent on min ‖Az - b‖², z ∈ C⁶", "np.linalg.lstsq", least_squares)


SECTIONS = [complex_numbers]
