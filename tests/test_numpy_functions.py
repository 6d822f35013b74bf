"""Composite functions of riesz.numpy / riesz.scipy: values against NumPy and
SciPy (computed on plain arrays), derivatives against finite differences and
the adjoint identity to second order, and float32 preservation."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
import scipy.linalg
import scipy.signal
import scipy.special

import riesz
import riesz.numpy as rnp
import riesz.scipy.linalg as rsl
import riesz.scipy.signal as rss
import riesz.scipy.special as rsp

_rng = np.random.default_rng(1)


def R(*shape: int) -> np.ndarray:
    return _rng.standard_normal(shape)


def P(*shape: int) -> np.ndarray:
    return _rng.uniform(0.5, 2.0, shape)


def W(n: int) -> np.ndarray:
    return 0.3 * _rng.standard_normal((n, n)) + 2.0 * np.eye(n)


def SPD(n: int) -> np.ndarray:
    b = _rng.standard_normal((n, n))
    return b @ b.T + n * np.eye(n)


def _u_vh(u: Any, s: Any, vh: Any) -> Any:
    """U Vh of an SVD: independent of the signs chosen for the singular vectors."""
    return u @ vh


@dataclass(frozen=True)
class Fn:
    name: str
    ours: Callable[..., Any]
    ref: Callable[..., Any]  # the same function computed by NumPy / SciPy
    args: tuple[Any, ...]
    order: int = 2

    def __repr__(self) -> str:
        return self.name


FUNCTIONS = [
    # reductions and statistics
    Fn("mean", rnp.mean, np.mean, (R(2, 3),)),
    Fn("mean-axis-keepdims", lambda x: rnp.mean(x, axis=0, keepdims=True),
       lambda x: np.mean(x, axis=0, keepdims=True), (R(2, 3),)),
    Fn("average-weights", lambda x, w: rnp.average(x, axis=1, weights=w),
       lambda x, w: np.average(x, axis=1, weights=w), (R(2, 3), P(3))),
    Fn("var", rnp.var, np.var, (R(2, 3),)),
    Fn("var-ddof-axis", lambda x: rnp.var(x, axis=1, ddof=1),
       lambda x: np.var(x, axis=1, ddof=1), (R(2, 4),)),
    Fn("std", lambda x: rnp.std(x, axis=0), lambda x: np.std(x, axis=0), (R(3, 2),)),
    Fn("ptp", lambda x: rnp.ptp(x, axis=1), lambda x: np.ptp(x, axis=1), (R(2, 3),)),
    Fn("median-even", rnp.median, np.median, (R(4),)),
    Fn("median-axis", lambda x: rnp.median(x, axis=0, keepdims=True),
       lambda x: np.median(x, axis=0, keepdims=True), (R(3, 2),)),
    Fn("nansum", rnp.nansum, np.nansum, (np.array([1.0, np.nan, -2.0]),)),
    Fn("nanmean", rnp.nanmean, np.nanmean, (np.array([[1.0, np.nan], [0.5, -2.0]]),)),
    Fn("cumsum-flat", rnp.cumsum, np.cumsum, (R(2, 3),)),
    Fn("cumprod-axis", lambda x: rnp.cumprod(x, axis=0), lambda x: np.cumprod(x, axis=0),
       (R(3, 2),)),
    Fn("prod-initial", lambda x: rnp.prod(x, initial=2.0), lambda x: np.prod(x, initial=2.0),
       (R(3),)),
    Fn("sum-dtype", lambda x: rnp.sum(x, axis=1, dtype=np.float64),
       lambda x: np.sum(x, axis=1, dtype=np.float64), (R(2, 3),)),
    Fn("logsumexp", rnp.logsumexp, scipy.special.logsumexp, (R(2, 3),)),
    Fn("logsumexp-axis-b", lambda x, b: rsp.logsumexp(x, axis=1, b=b, keepdims=True),
       lambda x, b: scipy.special.logsumexp(x, axis=1, b=b, keepdims=True), (R(2, 3), P(3))),
    Fn("softmax", lambda x: rsp.softmax(x, axis=1), lambda x: scipy.special.softmax(x, axis=1),
       (R(2, 3),)),
    Fn("log_softmax", rsp.log_softmax, scipy.special.log_softmax, (R(4),)),
    # elementwise composites
    Fn("clip", lambda x: rnp.clip(x, -0.5, 0.7), lambda x: np.clip(x, -0.5, 0.7), (R(5),)),
    Fn("clip-dtype", lambda x: rnp.clip(x, -0.5, 0.7, dtype=np.float64),
       lambda x: np.clip(x, -0.5, 0.7, dtype=np.float64), (R(5),)),
    Fn("clip-traced-bounds", rnp.clip, np.clip,
       (np.array([-2.0, 0.1, 3.0]), np.array(-1.0), np.array(1.0))),
    Fn("deg2rad", rnp.deg2rad, np.deg2rad, (R(3),)),
    Fn("rad2deg", rnp.rad2deg, np.rad2deg, (R(3),)),
    Fn("float_power", rnp.float_power, np.float_power, (P(3), R(3))),
    Fn("fmax", rnp.fmax, np.fmax, (np.array([1.0, np.nan, 2.0]), np.array([0.5, 3.0, np.nan]))),
    Fn("fmin", rnp.fmin, np.fmin, (R(3), R(3))),
    Fn("nan_to_num", rnp.nan_to_num, np.nan_to_num, (np.array([1.0, np.nan, np.inf]),)),
    # shape
    Fn("squeeze", lambda x: rnp.squeeze(x, 1), lambda x: np.squeeze(x, 1), (R(2, 1, 3),)),
    Fn("expand_dims", lambda x: rnp.expand_dims(x, (0, 2)),
       lambda x: np.expand_dims(x, (0, 2)), (R(2, 3),)),
    Fn("moveaxis", lambda x: rnp.moveaxis(x, 0, -1), lambda x: np.moveaxis(x, 0, -1),
       (R(2, 3, 4),)),
    Fn("swapaxes", lambda x: rnp.swapaxes(x, 0, 2), lambda x: np.swapaxes(x, 0, 2),
       (R(2, 3, 4),)),
    Fn("atleast_2d", rnp.atleast_2d, np.atleast_2d, (R(3),)),
    Fn("vstack", lambda x, y: rnp.vstack([x, y]), lambda x, y: np.vstack([x, y]), (R(3), R(3))),
    Fn("hstack", lambda x, y: rnp.hstack([x, y]), lambda x, y: np.hstack([x, y]), (R(2), R(3))),
    Fn("dstack", lambda x, y: rnp.dstack([x, y]), lambda x, y: np.dstack([x, y]),
       (R(2, 2), R(2, 2))),
    Fn("column_stack", lambda x, y: rnp.column_stack([x, y]),
       lambda x, y: np.column_stack([x, y]), (R(3), R(3, 2))),
    Fn("append", rnp.append, np.append, (R(2, 2), R(3))),
    Fn("array_split", lambda x: rnp.array_split(x, 3)[1], lambda x: np.array_split(x, 3)[1],
       (R(7),)),
    Fn("hsplit", lambda x: rnp.hsplit(x, 2)[1], lambda x: np.hsplit(x, 2)[1], (R(2, 4),)),
    Fn("tile", lambda x: rnp.tile(x, (2, 1, 2)), lambda x: np.tile(x, (2, 1, 2)), (R(2, 3),)),
    Fn("repeat", lambda x: rnp.repeat(x, 2, axis=1), lambda x: np.repeat(x, 2, axis=1),
       (R(2, 3),)),
    Fn("repeat-flat", lambda x: rnp.repeat(x, 3), lambda x: np.repeat(x, 3), (R(2, 2),)),
    Fn("pad-symmetric", lambda x: rnp.pad(x, (2, 1), mode="symmetric"),
       lambda x: np.pad(x, (2, 1), mode="symmetric"), (R(4),)),
    Fn("pad-reflect-odd", lambda x: rnp.pad(x, ((1, 2), (3, 0)), "reflect", reflect_type="odd"),
       lambda x: np.pad(x, ((1, 2), (3, 0)), "reflect", reflect_type="odd"), (R(3, 4),)),
    Fn("pad-symmetric-odd-wide", lambda x: rnp.pad(x, 4, "symmetric", reflect_type="odd"),
       lambda x: np.pad(x, 4, "symmetric", reflect_type="odd"), (R(3),)),
    Fn("fliplr", rnp.fliplr, np.fliplr, (R(2, 3),)),
    Fn("rot90", lambda x: rnp.rot90(x, 3), lambda x: np.rot90(x, 3), (R(2, 3),)),
    Fn("rot90-k1", rnp.rot90, np.rot90, (R(2, 3),)),
    Fn("diagonal-offset", lambda x: rnp.diagonal(x, -1, 1, 2),
       lambda x: np.diagonal(x, -1, 1, 2), (R(2, 3, 3),)),
    Fn("diag-embed-k", lambda v: rnp.diag(v, -2), lambda v: np.diag(v, -2), (R(3),)),
    Fn("diagflat", rnp.diagflat, np.diagflat, (R(2, 2),)),
    Fn("tril", lambda x: rnp.tril(x, -1), lambda x: np.tril(x, -1), (R(3, 4),)),
    Fn("triu-batched", rnp.triu, np.triu, (R(2, 3, 3),)),
    Fn("trace-offset", lambda x: rnp.trace(x, 1), lambda x: np.trace(x, 1), (R(3, 4),)),
    Fn("diff", lambda x: rnp.diff(x, 2, axis=0), lambda x: np.diff(x, 2, axis=0), (R(4, 2),)),
    Fn("diff-prepend", lambda x: rnp.diff(x, prepend=0.0), lambda x: np.diff(x, prepend=0.0),
       (R(4),)),
    Fn("sort-flat", lambda x: rnp.sort(x, axis=None), lambda x: np.sort(x, axis=None),
       (R(2, 3),)),
    Fn("take-flat", lambda x: rnp.take(x, [4, 0, 4]), lambda x: np.take(x, [4, 0, 4]),
       (R(2, 3),)),
    Fn("take-wrap", lambda x: rnp.take(x, [5, -4], mode="wrap"),
       lambda x: np.take(x, [5, -4], mode="wrap"), (R(3),)),
    Fn("unique", rnp.unique, np.unique, (np.array([3.0, -1.0, 2.5, 2.0]),)),
    Fn("broadcast_arrays", lambda x, y: rnp.broadcast_arrays(x, y)[0],
       lambda x, y: np.broadcast_arrays(x, y)[0], (R(3), R(2, 1))),
    Fn("array-of-traced", lambda x, y: rnp.array([x, y, x]),
       lambda x, y: np.array([x, y, x]), (R(2), R(2))),
    # products
    Fn("outer", rnp.outer, np.outer, (R(3), R(2))),
    Fn("inner-vv", rnp.inner, np.inner, (R(3), R(3))),
    Fn("kron-2d", rnp.kron, np.kron, (R(2, 2), R(2, 3))),
    Fn("tensordot-int", lambda a, b: rnp.tensordot(a, b, 1),
       lambda a, b: np.tensordot(a, b, 1), (R(2, 3), R(3, 2))),
    Fn("dot-scalar", rnp.dot, np.dot, (R(), R(3))),
    Fn("dot-nd-vector", rnp.dot, np.dot, (R(2, 2, 3), R(3))),
    Fn("einsum-implicit", lambda a, b: rnp.einsum("ij,jk", a, b),
       lambda a, b: np.einsum("ij,jk", a, b), (R(2, 3), R(3, 2))),
    Fn("einsum-ellipsis-out", lambda a: rnp.einsum("...ii->...i", a),
       lambda a: np.einsum("...ii->...i", a), (R(2, 3, 3),)),
    Fn("einsum-uppercase", lambda a, b: rnp.einsum("Ba,b", a, b),
       lambda a, b: np.einsum("Ba,b", a, b), (R(2, 3), R(2))),
    Fn("einsum-repeated-out", lambda a, b: rnp.einsum("iij,kj->ik", a, b),
       lambda a, b: np.einsum("iij,kj->ik", a, b), (R(2, 2, 3), R(4, 3))),
    # linear algebra composites
    Fn("matrix_power", lambda a: rnp.linalg.matrix_power(a, 3),
       lambda a: np.linalg.matrix_power(a, 3), (W(3),)),
    Fn("matrix_power-neg", lambda a: rnp.linalg.matrix_power(a, -2),
       lambda a: np.linalg.matrix_power(a, -2), (W(2),)),
    Fn("multi_dot", lambda a, b, c: rnp.linalg.multi_dot([a, b, c]),
       lambda a, b, c: np.linalg.multi_dot([a, b, c]), (R(3), R(3, 2), R(2))),
    Fn("norm-1", lambda x: rnp.linalg.norm(x, 1), lambda x: np.linalg.norm(x, 1), (R(4),)),
    Fn("norm-inf", lambda x: rnp.linalg.norm(x, np.inf), lambda x: np.linalg.norm(x, np.inf),
       (R(4),)),
    Fn("norm--inf", lambda x: rnp.linalg.norm(x, -np.inf, axis=1),
       lambda x: np.linalg.norm(x, -np.inf, axis=1), (R(2, 3),)),
    Fn("norm-3", lambda x: rnp.linalg.norm(x, 3, axis=0, keepdims=True),
       lambda x: np.linalg.norm(x, 3, axis=0, keepdims=True), (R(3, 2),)),
    Fn("norm-0", lambda x: rnp.linalg.norm(x, 0), lambda x: np.linalg.norm(x, 0),
       (np.array([0.0, 1.5, -2.0]),)),
    Fn("norm-mat-1", lambda x: rnp.linalg.norm(x, 1), lambda x: np.linalg.norm(x, 1),
       (R(3, 3),)),
    Fn("norm-mat--1", lambda x: rnp.linalg.norm(x, -1), lambda x: np.linalg.norm(x, -1),
       (R(3, 3),)),
    Fn("norm-mat-inf", lambda x: rnp.linalg.norm(x, np.inf, keepdims=True),
       lambda x: np.linalg.norm(x, np.inf, keepdims=True), (R(3, 2),)),
    Fn("norm-mat-2", lambda x: rnp.linalg.norm(x, 2), lambda x: np.linalg.norm(x, 2),
       (R(3, 2),)),
    Fn("norm-mat--2", lambda x: rnp.linalg.norm(x, -2, axis=(0, 2)),
       lambda x: np.linalg.norm(x, -2, axis=(0, 2)), (R(3, 2, 2),)),
    Fn("vector_norm", lambda x: rnp.linalg.vector_norm(x, keepdims=True),
       lambda x: np.linalg.vector_norm(x, keepdims=True), (R(2, 3),)),
    Fn("matrix_norm", rnp.linalg.matrix_norm, np.linalg.matrix_norm, (R(2, 3, 3),)),
    Fn("cond", rnp.linalg.cond, np.linalg.cond, (W(3),)),
    Fn("cond-fro", lambda x: rnp.linalg.cond(x, "fro"), lambda x: np.linalg.cond(x, "fro"),
       (W(3),)),
    Fn("svdvals", rnp.linalg.svdvals, np.linalg.svdvals, (R(2, 3),)),
    Fn("eigvalsh-upper", lambda a: rnp.linalg.eigvalsh(a, "U"),
       lambda a: np.linalg.eigvalsh(a, "U"), (SPD(3),)),
    Fn("svd-square-full", lambda a: rnp.linalg.svd(a)[1], lambda a: np.linalg.svd(a)[1],
       (R(3, 3),)),
    Fn("svd-hermitian", lambda a: rnp.linalg.svd(a, hermitian=True)[1],
       lambda a: np.linalg.svd(a, hermitian=True)[1], (R(3, 3),)),
    Fn("svd-hermitian-uv", lambda a: _u_vh(*rnp.linalg.svd(a, hermitian=True)),
       lambda a: _u_vh(*np.linalg.svd(a, hermitian=True)), (W(3),)),
    Fn("pinv-hermitian", lambda a: rnp.linalg.pinv(a, hermitian=True),
       lambda a: np.linalg.pinv(a, hermitian=True), (W(3),)),
    Fn("qr-r", lambda a: rnp.linalg.qr(a, mode="r"), lambda a: np.linalg.qr(a, mode="r"),
       (R(3, 2),)),
    Fn("linalg.trace", lambda x: rnp.linalg.trace(x, offset=1),
       lambda x: np.linalg.trace(x, offset=1), (R(2, 3, 4),)),
    Fn("linalg.diagonal", rnp.linalg.diagonal, np.linalg.diagonal, (R(2, 3, 4),)),
    Fn("vecdot", rnp.linalg.vecdot, np.linalg.vecdot, (R(2, 3), R(3))),
    Fn("scipy-cholesky", rsl.cholesky, scipy.linalg.cholesky, (SPD(3),)),
    Fn("scipy-cho_solve", lambda a, b: rsl.cho_solve(rsl.cho_factor(a), b),
       lambda a, b: scipy.linalg.cho_solve(scipy.linalg.cho_factor(a), b), (SPD(3), R(3, 2))),
    Fn("scipy-solve_triangular-lower-trans", lambda a, b: rsl.solve_triangular(a, b, 1, True),
       lambda a, b: scipy.linalg.solve_triangular(a, b, 1, True), (W(3), R(3))),
    Fn("expm", rsl.expm, scipy.linalg.expm, (0.4 * R(3, 3),)),
    # convolutions
    *[
        Fn(f"np.convolve-{mode}-{n}-{m}", lambda a, v, mode=mode: rnp.convolve(a, v, mode),
           lambda a, v, mode=mode: np.convolve(a, v, mode), (R(n), R(m)))
        for mode in ("full", "same", "valid") for n, m in ((5, 3), (3, 5), (4, 4), (4, 1))
    ],
    *[
        Fn(f"np.correlate-{mode}-{n}-{m}", lambda a, v, mode=mode: rnp.correlate(a, v, mode),
           lambda a, v, mode=mode: np.correlate(a, v, mode), (R(n), R(m)))
        for mode in ("full", "same", "valid") for n, m in ((5, 3), (3, 5), (4, 2))
    ],
    *[
        Fn(f"signal.{name}-{mode}-{sx}-{sk}",
           lambda x, k, f=f, mode=mode: f(x, k, mode=mode),
           lambda x, k, g=g, mode=mode: g(x, k, mode=mode), (R(*sx), R(*sk)))
        for name, f, g in (("correlate", rss.correlate, scipy.signal.correlate),
                           ("convolve", rss.convolve, scipy.signal.convolve))
        for mode in ("full", "same", "valid")
        for sx, sk in (((4, 5), (2, 3)), ((2, 3), (3, 4)), ((5,), (2,)))
    ],
    *[
        Fn(f"signal.{name}2d-{mode}-{sk}", lambda x, k, f=f, mode=mode: f(x, k, mode),
           lambda x, k, g=g, mode=mode: g(x, k, mode), (R(4, 4), R(*sk)))
        for name, f, g in (("correlate", rss.correlate2d, scipy.signal.correlate2d),
                           ("convolve", rss.convolve2d, scipy.signal.convolve2d))
        for mode in ("full", "same", "valid")
        for sk in ((3, 2), (2, 4), (1, 1))
    ],
    Fn("signal.fftconvolve", rss.fftconvolve, scipy.signal.fftconvolve, (R(4, 3), R(2, 2))),
]


@pytest.mark.parametrize("fn", FUNCTIONS, ids=repr)
def test_value_matches_numpy(fn: Fn) -> None:
    got = fn.ours(*fn.args)
    want = fn.ref(*fn.args)
    assert isinstance(got, (np.ndarray, np.generic))  # plain NumPy outside transformations
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-10, atol=1e-12)
    assert np.shape(got) == np.shape(want)


@pytest.mark.parametrize("fn", FUNCTIONS, ids=repr)
def test_derivatives(fn: Fn) -> None:
    riesz.check_grads(fn.ours, fn.args, order=fn.order, modes=("fwd", "rev"))


@pytest.mark.parametrize("fn", FUNCTIONS, ids=repr)
def test_float32_is_preserved(fn: Fn) -> None:
    args = tuple(np.asarray(a, np.float32) for a in fn.args)
    out, vjp_fn = riesz.vjp(fn.ours, *args)
    # the same dtype as NumPy / SciPy on float32 inputs (float32 except where
    # NumPy promotes, e.g. float_power or sum(dtype=float64))
    assert np.result_type(out) == np.result_type(fn.ref(*args))
    for ct in vjp_fn(np.ones(np.shape(out), np.result_type(out))):
        assert ct.dtype == np.float32


def test_real_imag_conj_of_plain_complex_arrays_are_numpys() -> None:
    z = np.array([1.0 + 2.0j, -0.5j])
    for name in ("real", "imag", "conj", "conjugate"):
        np.testing.assert_array_equal(getattr(rnp, name)(z), getattr(np, name)(z))


def test_arguments_that_cannot_be_honoured_raise() -> None:
    x = np.array([0.5, -1.0, 2.0])
    # SPEC §13: a cast to complex is differentiable (it used to be refused)
    np.testing.assert_array_equal(
        riesz.grad(lambda x: np.sum(x.astype(np.complex128).real))(x), np.ones(3))
    with pytest.raises(TypeError, match="holomorphic=True"):
        riesz.grad(lambda x: np.sum(x.astype(np.complex128)))(x)
    with pytest.raises(TypeError, match=r"matmul: keyword arguments \['axes'\]"):
        riesz.grad(lambda x: np.matmul(x, x, axes=[(0,), (0,), ()]))(x)
    with pytest.raises(NotImplementedError, match="signature"):
        riesz.grad(lambda x: np.sum(np.sin(x, signature="d->d")))(x)
    with pytest.raises(TypeError, match="out= is not supported"):
        rnp.linalg.multi_dot([np.eye(2), np.eye(2)], out=np.empty((2, 2)))
    with pytest.raises(ValueError, match="Invalid norm order 'fro' for vectors"):
        rnp.linalg.norm(x, "fro")
    with pytest.raises(ValueError, match="UPLO"):
        rnp.linalg.eigh(np.eye(2), "X")
    with pytest.raises(NotImplementedError, match="scalar"):
        riesz.grad(lambda c: np.sum(rnp.pad(x, 1, constant_values=c)))(np.ones(2))
    # dtype= is honoured, as NumPy's (for comparisons it names the boolean output)
    np.testing.assert_array_equal(rnp.greater(x, 1.0, dtype=bool), [False, False, True])
    out = riesz.jvp(lambda x: np.matmul(x, x, dtype=np.float32), (x,), (x,))[0]
    assert out.dtype == np.float32


def test_unique_index_outputs_are_numpys() -> None:
    x = np.array([[3.0, -1.0], [3.0, 2.0]])
    want = np.unique(x, return_index=True, return_inverse=True, return_counts=True)
    seen = []

    def f(x):
        seen.append(rnp.unique(x, return_index=True, return_inverse=True, return_counts=True))
        return np.sum(seen[-1][0])

    np.testing.assert_array_equal(riesz.grad(f)(x), [[1.0, 1.0], [0.0, 1.0]])  # first copies
    for got, ref in zip(seen[0][1:], want[1:], strict=True):
        np.testing.assert_array_equal(got, ref)
        assert np.shape(got) == np.shape(ref)
