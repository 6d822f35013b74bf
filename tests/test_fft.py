"""riesz.numpy.fft: values against numpy.fft, and derivatives against
independent oracles — the adjoint identity Re⟨J u, v⟩ = Re⟨u, J* v⟩ with random
complex u, v (SPEC §13), the dense real Jacobian built column by column from
plain NumPy calls, and finite differences — for every norm, odd and even n,
n smaller and larger than the input, and several axes."""

from __future__ import annotations

import numpy as np
import pytest

import riesz
import riesz.numpy as rnp
from riesz._primitives.fft import fft_p, irfft_p, rfft_p

NORMS = (None, "backward", "ortho", "forward")
rng = np.random.default_rng(7)


def crandn(*shape: int) -> np.ndarray:
    return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)


def re_inner(a: np.ndarray, b: np.ndarray) -> float:
    """⟨a, b⟩ = Re vdot(a, b), the real inner product of Cⁿ (and Rⁿ)."""
    return float(np.real(np.vdot(a, b)))


# -- values ---------------------------------------------------------------------------------

ONE_D = ("fft", "ifft", "rfft", "ihfft", "irfft", "hfft")


@pytest.mark.parametrize("name", ONE_D)
@pytest.mark.parametrize("n", (None, 3, 6, 9, 12))
@pytest.mark.parametrize("norm", NORMS)
def test_one_d_values(name: str, n: int | None, norm: str | None) -> None:
    x = rng.standard_normal((3, 6)) if name in ("rfft", "ihfft") else crandn(3, 6)
    for axis in (-1, 0):
        got = getattr(rnp.fft, name)(x, n=n, axis=axis, norm=norm)
        want = getattr(np.fft, name)(x, n=n, axis=axis, norm=norm)
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_allclose(got, want, atol=1e-12)


ND_ARGS = [(None, None), (None, (0, 2)), ((3, 7), (2, 0)), ((5, 4), (0, 1)), ((3, -1), (1, 2)),
           ((4,), (1,)), (None, (1, 1)), ((2, 3, 4), (0, 1, 2))]


@pytest.mark.parametrize("name", ("fftn", "ifftn", "rfftn", "irfftn"))
@pytest.mark.parametrize("s,axes", ND_ARGS)
def test_nd_values(name: str, s, axes) -> None:
    if name in ("rfftn", "irfftn") and axes is not None and len(set(axes)) < len(axes):
        return  # NumPy's real N-d transforms over a repeated axis are not meaningful
    x = rng.standard_normal((4, 6, 5)) if name == "rfftn" else crandn(4, 6, 5)
    for norm in NORMS:
        got = getattr(rnp.fft, name)(x, s=s, axes=axes, norm=norm)
        want = getattr(np.fft, name)(x, s=s, axes=axes, norm=norm)
        np.testing.assert_allclose(got, want, atol=1e-12)


@pytest.mark.parametrize("name", ("fft2", "ifft2", "rfft2", "irfft2"))
def test_two_d_values(name: str) -> None:
    x = rng.standard_normal((2, 4, 5)) if name == "rfft2" else crandn(2, 4, 5)
    for s in (None, (3, 6)):
        for axes in ((-2, -1), (0, 2)):
            np.testing.assert_allclose(getattr(rnp.fft, name)(x, s=s, axes=axes, norm="ortho"),
                                       getattr(np.fft, name)(x, s=s, axes=axes, norm="ortho"),
                                       atol=1e-12)


def test_single_precision_and_integers() -> None:
    x32 = rng.standard_normal(8).astype(np.float32)
    assert rnp.fft.fft(x32).dtype == np.complex64
    assert rnp.fft.rfft(x32).dtype == np.complex64
    assert rnp.fft.irfft(rnp.fft.rfft(x32)).dtype == np.float32
    np.testing.assert_allclose(rnp.fft.fft(np.arange(5)), np.fft.fft(np.arange(5)))
    np.testing.assert_allclose(rnp.fft.rfft(np.arange(5)), np.fft.rfft(np.arange(5)))


def test_shifts_and_frequencies() -> None:
    x = rng.standard_normal((5, 6))
    for axes in (None, 0, (1,), (0, 1), -1):
        np.testing.assert_array_equal(rnp.fft.fftshift(x, axes), np.fft.fftshift(x, axes))
        np.testing.assert_array_equal(rnp.fft.ifftshift(x, axes), np.fft.ifftshift(x, axes))
    for n in (1, 6, 7):
        np.testing.assert_array_equal(rnp.fft.fftfreq(n, 0.1), np.fft.fftfreq(n, 0.1))
        np.testing.assert_array_equal(rnp.fft.rfftfreq(n, 0.1), np.fft.rfftfreq(n, 0.1))


def test_bad_arguments_raise_naming_them() -> None:
    x = rng.standard_normal(4)
    with pytest.raises(ValueError, match="norm"):
        rnp.fft.fft(x, norm="unitary")
    with pytest.raises(ValueError, match=r"\(0\)"):
        rnp.fft.rfft(x, n=0)
    with pytest.raises(TypeError, match="must be real"):
        rnp.fft.rfft(crandn(4))
    with pytest.raises(ValueError, match="Shape and axes"):
        rnp.fft.fftn(x, s=(2, 3), axes=(0,))
    with pytest.raises(TypeError, match="out="):
        rnp.fft.fft(x, out=np.empty(4, complex))


# -- the adjoints of the primitives, by the adjoint identity ----------------------------------
# The rules are called directly (on plain arrays they run the implementations), with random
# complex u and v: Re⟨J u, v⟩ = Re⟨u, J* v⟩ is the SPEC §13 definition of the VJP.


def _adjoint_gap(prim, u, params) -> float:
    ans = prim.impl(u, **params)
    v = crandn(*ans.shape) if ans.dtype.kind == "c" else rng.standard_normal(ans.shape)
    ju = prim.jvps[0](u, ans, u, **params)
    jtv = prim.vjps[0](v, ans, u, **params)
    assert jtv.shape == u.shape and jtv.dtype == u.dtype
    np.testing.assert_allclose(ju, ans)  # linear: ∂f(x)[u] = f(u)
    lhs, rhs = re_inner(ju, v), re_inner(u, jtv)
    return abs(lhs - rhs) / max(1.0, abs(lhs))


@pytest.mark.parametrize("norm", ("backward", "ortho", "forward"))
@pytest.mark.parametrize("inverse", (False, True))
@pytest.mark.parametrize("axes", ((0,), (1,), (0, 1), (1, 2), (0, 1, 2)))
def test_fft_adjoint(norm: str, inverse: bool, axes) -> None:
    u = crandn(3, 4, 5)
    assert _adjoint_gap(fft_p, u, dict(axes=axes, norm=norm, inverse=inverse)) < 1e-12


@pytest.mark.parametrize("norm", ("backward", "ortho", "forward"))
@pytest.mark.parametrize("hermitian", (False, True))
@pytest.mark.parametrize("n", (1, 2, 5, 6))
@pytest.mark.parametrize("axis", (0, 1))
def test_real_transform_adjoints(norm: str, hermitian: bool, n: int, axis: int) -> None:
    params = dict(axis=axis, norm=norm, hermitian=hermitian)
    shape = [3, 3]
    shape[axis] = n
    assert _adjoint_gap(rfft_p, rng.standard_normal(shape), params) < 1e-12
    shape[axis] = n // 2 + 1
    assert _adjoint_gap(irfft_p, crandn(*shape), dict(params, n=n)) < 1e-12


def test_fft_vjp_is_the_conjugate_transpose_of_the_dft_matrix() -> None:
    n = 6
    F = np.exp(-2j * np.pi * np.outer(np.arange(n), np.arange(n)) / n)
    v = crandn(n)
    vjp = fft_p.vjps[0](v, None, crandn(n), axes=(0,), norm="backward", inverse=False)
    np.testing.assert_allclose(vjp, F.conj().T @ v)
    np.testing.assert_allclose(vjp, n * np.fft.ifft(v))


# -- the public functions of real input, against their dense real Jacobians ---------------------


def _real_jacobian(fn, x: np.ndarray) -> np.ndarray:
    """M with [Re f(x + u) ; Im f(x + u)] - [...f(x)] = M u, column by column (f is linear)."""
    cols = []
    for k in range(x.size):
        e = np.zeros(x.size)
        e[k] = 1.0
        y = np.asarray(fn(e.reshape(x.shape)))
        cols.append(np.concatenate([y.real.ravel(), y.imag.ravel()]))
    return np.array(cols).T


REAL_INPUT = [
    ("rfft", lambda x, n, norm: rnp.fft.rfft(x, n=n, norm=norm)),
    ("ihfft", lambda x, n, norm: rnp.fft.ihfft(x, n=n, norm=norm)),
    ("rfft-axis0", lambda x, n, norm: rnp.fft.rfft(x, n=n, axis=0, norm=norm)),
    ("rfftn", lambda x, n, norm: rnp.fft.rfftn(x, s=None if n is None else (n, n), norm=norm)),
    ("rfft2-axes", lambda x, n, norm: rnp.fft.rfft2(x, s=None if n is None else (n, 3),
                                                    axes=(1, 0), norm=norm)),
]


@pytest.mark.parametrize("name,fn", REAL_INPUT, ids=[r[0] for r in REAL_INPUT])
@pytest.mark.parametrize("n", (None, 2, 3, 8, 9))
@pytest.mark.parametrize("norm", NORMS)
def test_real_input_vjp_is_the_dense_transpose(name, fn, n, norm) -> None:
    x = rng.standard_normal((4, 5))
    M = _real_jacobian(lambda u: fn(u, n, norm), x)
    out, vjp_fn = riesz.vjp(lambda u: fn(u, n, norm), x)
    v = crandn(*out.shape)
    (ct,) = vjp_fn(v)
    assert ct.dtype == np.float64
    want = M.T @ np.concatenate([v.real.ravel(), v.imag.ravel()])
    np.testing.assert_allclose(ct.ravel(), want, atol=1e-12)
    _, t = riesz.jvp(lambda u: fn(u, n, norm), (x,), (x,))
    np.testing.assert_allclose(t, fn(x, n, norm), atol=1e-12)


# -- finite differences and second order through real-valued compositions ---------------------

FILTER = rng.standard_normal(4)
COMPOSITIONS = [
    ("rfft-irfft", lambda x: rnp.fft.irfft(rnp.fft.rfft(x, n=9, norm="ortho"), n=6)),
    ("power-spectrum", lambda x: rnp.sum(rnp.fft.irfft(rnp.fft.rfft(x) * rnp.fft.rfft(x)))),
    ("fft-chain", lambda x: rnp.fft.irfft(rnp.fft.ifft(rnp.fft.fft(rnp.fft.rfft(x), n=7), n=4,
                                                      norm="forward"), n=5)),
    ("hfft-ihfft", lambda x: rnp.fft.hfft(rnp.fft.ihfft(x, n=3), n=8, norm="forward")),
    ("nd", lambda x: rnp.fft.irfftn(rnp.fft.fftn(rnp.fft.rfftn(x, axes=(0, 1)), s=(5,),
                                                 axes=(0,)), s=(4, 4), axes=(0, 1))),
    ("tanh-nonlinear", lambda x: rnp.tanh(rnp.fft.irfft(rnp.fft.rfft(rnp.sin(x)) * FILTER))),
    ("np-dispatch", lambda x: np.fft.irfft2(np.fft.fftshift(np.fft.rfft2(x), axes=0) * 2.0,
                                             s=x.shape)),
]


@pytest.mark.parametrize("name,fn", COMPOSITIONS, ids=[c[0] for c in COMPOSITIONS])
def test_compositions_finite_differences_second_order(name, fn) -> None:
    x = rng.standard_normal((4, 6)) if name in ("nd", "np-dispatch") else rng.standard_normal(6)
    riesz.check_grads(fn, (x,), order=2, modes=("fwd", "rev"))


@pytest.mark.parametrize("n", (7, 8))
def test_real_filter_is_self_adjoint(n: int) -> None:
    # A = irfft ∘ diag(H) ∘ rfft with a real H is a circulant with a real even kernel,
    # hence symmetric: grad of ⟨y, A x⟩ is A y. Through rfft's adjoint, this holds only if
    # the interior bins are halved and DC / Nyquist are not.
    H, y = rng.standard_normal(n // 2 + 1), rng.standard_normal(n)

    def A(x):
        return np.fft.irfft(np.fft.rfft(x) * H, n=n)

    g = riesz.grad(lambda x: np.sum(y * A(x)))(rng.standard_normal(n))
    np.testing.assert_allclose(g, A(y), atol=1e-12)


def test_np_fft_on_traced_values_matches_riesz_numpy() -> None:
    x = rng.standard_normal((3, 8))

    def f(fft):
        return lambda x: (fft.irfft(fft.ifft(fft.fft(fft.rfft(x, axis=1), axis=0), axis=0)
                                    * fft.rfftfreq(8), axis=1) ** 2).sum()

    np.testing.assert_allclose(riesz.grad(f(np.fft))(x), riesz.grad(f(rnp.fft))(x))


def test_fftfreq_differentiable_in_spacing() -> None:
    for fn, n in ((rnp.fft.fftfreq, 7), (rnp.fft.rfftfreq, 8), (np.fft.fftfreq, 6),
                  (np.fft.rfftfreq, 5)):
        g = riesz.grad(lambda d, fn=fn, n=n: (fn(n, d) ** 2).sum())(0.5)
        np.testing.assert_allclose(g, -2 * (fn(n, 1.0) ** 2).sum() / 0.5 ** 3)


# -- vmap and jet -------------------------------------------------------------------------------


@pytest.mark.parametrize("name,fn", COMPOSITIONS, ids=[c[0] for c in COMPOSITIONS])
def test_vmap_matches_loop(name, fn) -> None:
    shape = (4, 6) if name in ("nd", "np-dispatch") else (6,)
    xs = rng.standard_normal((3, *shape))
    np.testing.assert_allclose(riesz.vmap(fn)(xs), np.stack([fn(x) for x in xs]), atol=1e-12)
    loss = lambda x: rnp.sum(fn(x) ** 2)  # noqa: E731
    np.testing.assert_allclose(riesz.vmap(riesz.grad(loss))(xs),
                               np.stack([riesz.grad(loss)(x) for x in xs]), atol=1e-10)
    # the batch axis anywhere: in_axes=1 moves it past the transform axes
    np.testing.assert_allclose(riesz.vmap(fn, in_axes=1)(np.moveaxis(xs, 0, 1)),
                               np.stack([fn(x) for x in xs]), atol=1e-12)


def test_jet_of_linear_transforms_is_the_transform_of_each_coefficient() -> None:
    from riesz import jet

    f = COMPOSITIONS[2][1]
    x, c1, c2 = (rng.standard_normal(6) for _ in range(3))
    y, (y1, y2) = jet(f, (x,), ((c1, c2),))
    np.testing.assert_allclose(y, f(x))
    np.testing.assert_allclose(y1, f(c1), atol=1e-12)
    np.testing.assert_allclose(y2, f(c2), atol=1e-12)
    g = COMPOSITIONS[5][1]  # nonlinear around the transforms: against nested jvp
    _, (g1, g2) = jet(g, (x,), ((c1, np.zeros(6)),))
    d1 = lambda x: riesz.jvp(g, (x,), (c1,))[1]  # noqa: E731
    np.testing.assert_allclose(g1, d1(x), atol=1e-10)
    np.testing.assert_allclose(g2, riesz.jvp(d1, (x,), (c1,))[1], atol=1e-10)


# -- complex inputs (SPEC §13: Cⁿ a real space under Re vdot) -----------------------------------


def _real_jacobian_c(fn, z: np.ndarray) -> np.ndarray:
    """The R-linear map C^N -> output as a real matrix on [Re; Im] coordinates, built from
    plain NumPy calls on the basis e_k and i e_k."""
    cols = []
    for unit in (1.0, 1j):
        for k in range(z.size):
            e = np.zeros(z.size, complex)
            e[k] = unit
            y = np.asarray(fn(e.reshape(z.shape)))
            cols.append(np.concatenate([y.real.ravel(), y.imag.ravel()]))
    return np.array(cols).T


COMPLEX_INPUT = [
    ("fft", lambda z, n, norm: rnp.fft.fft(z, n=n, norm=norm)),
    ("ifft-axis0", lambda z, n, norm: rnp.fft.ifft(z, n=n, axis=0, norm=norm)),
    ("fftn", lambda z, n, norm: rnp.fft.fftn(z, s=None if n is None else (n, 4), norm=norm)),
    ("ifft2-axes", lambda z, n, norm: rnp.fft.ifft2(z, s=None if n is None else (3, n),
                                                    axes=(1, 0), norm=norm)),
    ("irfft", lambda z, n, norm: rnp.fft.irfft(z, n=n, norm=norm)),
    ("hfft-axis0", lambda z, n, norm: rnp.fft.hfft(z, n=n, axis=0, norm=norm)),
    ("irfftn", lambda z, n, norm: rnp.fft.irfftn(z, s=None if n is None else (4, n),
                                                 norm=norm)),
    ("irfft2-axes", lambda z, n, norm: rnp.fft.irfft2(z, s=None if n is None else (n, 5),
                                                      axes=(1, 0), norm=norm)),
]


@pytest.mark.parametrize("name,fn", COMPLEX_INPUT, ids=[c[0] for c in COMPLEX_INPUT])
@pytest.mark.parametrize("n", (None, 2, 3, 8, 9))
@pytest.mark.parametrize("norm", NORMS)
def test_complex_input_vjp_is_the_dense_transpose(name, fn, n, norm) -> None:
    z = crandn(4, 5)
    M = _real_jacobian_c(lambda u: fn(u, n, norm), z)
    out, vjp_fn = riesz.vjp(lambda u: fn(u, n, norm), z)
    v = crandn(*out.shape) if np.iscomplexobj(out) else rng.standard_normal(out.shape)
    (ct,) = vjp_fn(v)
    assert ct.dtype == np.complex128
    want = M.T @ np.concatenate([v.real.ravel(), np.imag(v).ravel()])
    np.testing.assert_allclose(ct.ravel(), want[:z.size] + 1j * want[z.size:], atol=1e-12)
    t = crandn(4, 5)  # linear: the JVP is the function of the tangent
    np.testing.assert_allclose(riesz.jvp(lambda u: fn(u, n, norm), (z,), (t,))[1],
                               fn(t, n, norm), atol=1e-12)


def test_fft_vjp_is_n_times_ifft_and_parseval_gradient() -> None:
    z, v = crandn(6), crandn(6)
    _, vjp_fn = riesz.vjp(np.fft.fft, z)
    np.testing.assert_allclose(vjp_fn(v)[0], 6 * np.fft.ifft(v))
    # Σ|F z|² = n Σ|z|²: the Riesz representer is 2 n z (JAX and autograd: its conjugate)
    g = riesz.grad(lambda z: np.sum(np.abs(np.fft.fft(z)) ** 2))(z)
    np.testing.assert_allclose(g, 12 * z)
    g = riesz.grad(lambda z: np.sum(np.abs(np.fft.fft(z, norm="ortho")) ** 2))(z)
    np.testing.assert_allclose(g, 2 * z)


def test_filter_gradient_closed_form() -> None:
    # L(z) = ‖A z‖², A = ifft ∘ diag(h) ∘ fft: grad = 2 A^H A z = 2 ifft(|h|² fft(z))
    z, h = crandn(16), crandn(16)
    g = riesz.grad(lambda z: np.sum(np.abs(np.fft.ifft(np.fft.fft(z) * h)) ** 2))(z)
    np.testing.assert_allclose(g, 2 * np.fft.ifft(np.abs(h) ** 2 * np.fft.fft(z)), atol=1e-12)
    # with real input the cotangent is real: the real part of the complex representer
    x = rng.standard_normal(16)
    g = riesz.grad(lambda x: np.sum(np.abs(np.fft.ifft(np.fft.fft(x) * h)) ** 2))(x)
    assert g.dtype == np.float64
    np.testing.assert_allclose(g, np.real(2 * np.fft.ifft(np.abs(h) ** 2 * np.fft.fft(x))),
                               atol=1e-12)


H16 = crandn(5)
COMPLEX_COMPOSITIONS = [
    ("filter", lambda z: rnp.sum(rnp.abs(rnp.fft.ifft(rnp.fft.fft(z, n=5) * H16, n=3)) ** 2)),
    ("spectrum-product", lambda z: rnp.fft.ifft(rnp.fft.fft(z) * rnp.fft.fft(rnp.conj(z)),
                                                norm="ortho")),
    ("irfft-of-square", lambda z: rnp.fft.irfft(rnp.sin(z) ** 2, n=7, norm="forward")),
    ("hfft-2d", lambda z: rnp.fft.hfft(rnp.fft.fft2(z, s=(3, 4)), axis=0)),
    ("np-dispatch", lambda z: np.fft.ifftshift(np.fft.rfftn(np.real(np.fft.ifftn(z)) ** 2))),
]


@pytest.mark.parametrize("name,fn", COMPLEX_COMPOSITIONS, ids=[c[0] for c in COMPLEX_COMPOSITIONS])
def test_complex_compositions_second_order(name, fn) -> None:
    # finite differences along random real and imaginary directions, the adjoint identity
    # under Re⟨·,·⟩, and both nestings of second order
    z = crandn(3, 4) if name in ("hfft-2d", "np-dispatch") else crandn(4)
    riesz.check_grads(fn, (z,), order=2, modes=("fwd", "rev"))


@pytest.mark.parametrize("name,fn", COMPLEX_COMPOSITIONS, ids=[c[0] for c in COMPLEX_COMPOSITIONS])
def test_complex_vmap_matches_loop(name, fn) -> None:
    shape = (3, 4) if name in ("hfft-2d", "np-dispatch") else (4,)
    zs = crandn(2, *shape)
    np.testing.assert_allclose(riesz.vmap(fn)(zs), np.stack([fn(z) for z in zs]), atol=1e-12)
    _, vjp_fn = riesz.vjp(riesz.vmap(fn), zs)
    out = riesz.vmap(fn)(zs)
    v = crandn(*out.shape) if np.iscomplexobj(out) else rng.standard_normal(out.shape)
    loop = np.stack([riesz.vjp(fn, z)[1](vi)[0] for z, vi in zip(zs, v, strict=True)])
    np.testing.assert_allclose(vjp_fn(v)[0], loop, atol=1e-10)


def test_jet_of_complex_fft_chain() -> None:
    from riesz import jet

    f = lambda z: rnp.fft.ifft(rnp.exp(rnp.fft.fft(z, norm="ortho")), n=6)  # noqa: E731
    z, c1 = crandn(4), crandn(4)
    _, (y1, y2) = jet(f, (z,), ((c1, np.zeros(4, complex)),))
    d1 = lambda z: riesz.jvp(f, (z,), (c1,))[1]  # noqa: E731
    np.testing.assert_allclose(y1, d1(z), atol=1e-12)
    np.testing.assert_allclose(y2, riesz.jvp(d1, (z,), (c1,))[1], atol=1e-12)


@pytest.mark.parametrize("mode", ("fwd-rev", "rev-fwd"))
def test_hvp_of_a_filter_energy(mode: str) -> None:
    # L(z) = ‖ifft(h ⊙ fft(z))‖²: its gradient 2 ifft(|h|² fft(z)) is R-linear in z, so the
    # Hessian applied to v is 2 ifft(|h|² fft(v)). (hvp's "rev-rev" and "fwd-fwd" modes do
    # not handle complex inputs yet: that is riesz.hvp's, not the transforms')
    z, v, h = crandn(8), crandn(8), crandn(8)
    L = lambda z: np.sum(np.abs(np.fft.ifft(np.fft.fft(z) * h)) ** 2)  # noqa: E731
    (hv,) = riesz.hvp(L, (z,), (v,), mode=mode)
    np.testing.assert_allclose(hv, 2 * np.fft.ifft(np.abs(h) ** 2 * np.fft.fft(v)), atol=1e-12)


def test_jet_of_irfft_of_complex_path() -> None:
    # irfft is R-linear (not holomorphic): along a real path its Taylor coefficients are
    # irfft of the coefficients
    from riesz import jet

    z, c1, c2 = crandn(5), crandn(5), crandn(5)
    f = lambda z: rnp.fft.irfft(z, n=8, norm="ortho")  # noqa: E731
    y, (y1, y2) = jet(f, (z,), ((c1, c2),))
    for got, want in ((y, z), (y1, c1), (y2, c2)):
        np.testing.assert_allclose(got, np.fft.irfft(want, n=8, norm="ortho"), atol=1e-12)
