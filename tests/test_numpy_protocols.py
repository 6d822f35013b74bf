"""Unmodified NumPy code differentiates: traced values implement
`__array_ufunc__` and `__array_function__`. Expectations are finite
differences and NumPy's own values, never riesz itself."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.special

import riesz
import riesz.numpy as rnp
from finite_differences import fd_grad
from riesz.numpy import _dispatch

# -- a block of ordinary NumPy code: only `np` inside ---------------------------------------------


def mlp_loss(params):
    W1, b1, W2, b2, X, y = params
    h = np.tanh(X @ W1 + b1)
    logits = np.dot(h, W2) + b2
    logits = logits - np.max(logits, axis=1, keepdims=True)
    logp = logits - np.log(np.sum(np.exp(logits), axis=1, keepdims=True))
    nll = -np.mean(np.sum(logp * y, axis=1))
    reg = 1e-2 * (np.sum(W1 ** 2) + np.linalg.norm(W2) ** 2)
    return nll + reg


def numpy_block(x):
    A = np.array([[2.0, 0.3, 0.1], [0.2, 1.5, -0.3], [0.0, 0.4, 3.0]])
    y = np.sin(x) * np.exp(0.5 * x) + np.dot(A, x)
    z = np.linalg.solve(A, y)
    w = np.concatenate([z, x ** 2, np.abs(x)])
    w = np.where(w > 0, w, 0.1 * w)
    s = np.stack([w[:3], z, np.cumsum(x)])
    q = np.einsum("ij,j->i", s, x) + np.linalg.det(A + np.outer(x, x))
    v = np.clip(x, -1.0, 1.0).reshape(3, 1) * x[None, :]
    out = np.sum(s ** 2, axis=0).mean() + np.sum(q) + np.trace(v) + np.var(x)
    out = out + np.log1p(np.exp(x)).sum() + np.max(np.abs(x)) + scipy.special.expit(x).sum()
    return out + np.prod(np.sqrt(np.square(x) + 1.0)) + np.linalg.eigh(v + v.T)[0].sum()


def test_unmodified_numpy_block_matches_finite_differences() -> None:
    x = np.array([0.3, -1.2, 0.7])
    g = riesz.grad(numpy_block)(x)
    np.testing.assert_allclose(g, fd_grad(numpy_block, x), rtol=1e-6, atol=1e-6)
    assert riesz.value_and_grad(numpy_block)(x)[0] == pytest.approx(numpy_block(x))


def test_unmodified_numpy_mlp_matches_finite_differences() -> None:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((5, 3))
    y = np.eye(2)[rng.integers(0, 2, 5)]
    W1, b1, W2, b2 = rng.standard_normal((3, 4)), np.zeros(4), rng.standard_normal((4, 2)), \
        np.zeros(2)
    g = riesz.grad(lambda W1: mlp_loss((W1, b1, W2, b2, X, y)))(W1)
    np.testing.assert_allclose(g, fd_grad(lambda W: mlp_loss((W, b1, W2, b2, X, y)), W1),
                               rtol=1e-6, atol=1e-7)


def test_numpy_block_second_order() -> None:
    riesz.check_grads(numpy_block, (np.array([0.3, -1.2, 0.7]),), order=2)


# -- every ufunc in the dispatch table ------------------------------------------------------------

UNARY = [u for u in _dispatch._UFUNC_NAMES.split() if getattr(np, u).nin == 1]
BINARY = [u for u in _dispatch._UFUNC_NAMES.split() if getattr(np, u).nin == 2]
_DOMAIN = {"arccosh": (1.5, 3.0), "arcsin": (-0.8, 0.8), "arccos": (-0.8, 0.8),
           "arctanh": (-0.8, 0.8), "log": (0.5, 2.0), "log2": (0.5, 2.0),
           "log10": (0.5, 2.0), "sqrt": (0.5, 2.0), "reciprocal": (0.5, 2.0),
           "log1p": (0.5, 2.0), "cbrt": (0.5, 2.0), "power": (0.5, 2.0),
           "float_power": (0.5, 2.0), "remainder": (0.5, 2.0), "fmod": (0.5, 2.0),
           "floor_divide": (0.5, 2.0), "divide": (0.5, 2.0), "tan": (-1.0, 1.0)}


def _inputs(name, shape, seed):
    lo, hi = _DOMAIN.get(name, (-2.0, 2.0))
    x = np.random.default_rng(seed).uniform(lo, hi, shape)
    if name in ("sign", "floor", "ceil", "trunc", "rint", "absolute", "fabs"):
        x = x + 0.25  # away from the kinks / jumps at integers and 0
    return x


@pytest.mark.parametrize("name", UNARY)
def test_unary_ufunc_protocol(name: str) -> None:
    ufunc = getattr(np, name)
    x = _inputs(name, (3,), 0)
    want = ufunc(x)
    seen = []

    def f(x):
        y = ufunc(x)
        seen.append(np.asarray(riesz.stop_gradient(y)))
        if want.dtype.kind != "f":
            assert type(y) is np.ndarray  # boolean results are plain arrays
            return np.sum(x)
        return np.sum(y)

    g = riesz.grad(f)(x)
    np.testing.assert_array_equal(seen[0], want)
    if want.dtype.kind == "f":
        np.testing.assert_allclose(g, fd_grad(lambda v: np.sum(ufunc(v)), x), rtol=1e-5,
                                   atol=1e-6)


@pytest.mark.parametrize("name", BINARY)
def test_binary_ufunc_protocol(name: str) -> None:
    ufunc = getattr(np, name)
    x, y = _inputs(name, (3,), 1), _inputs(name, (2, 1), 2)
    if name == "matmul":
        x, y = _inputs(name, (2, 3), 1), _inputs(name, (3,), 2)
    out = ufunc(x, y)
    if out.dtype.kind != "f":
        seen = riesz.grad(lambda a: (ufunc(a, y), np.sum(a))[1], has_aux=False)(x)
        np.testing.assert_array_equal(seen, np.ones_like(x))
        assert type(rnp.__dict__[name](x, y)) is np.ndarray
        return
    gx, gy = riesz.grad(lambda a, b: np.sum(ufunc(a, b)), argnums=(0, 1))(x, y)
    np.testing.assert_allclose(gx, fd_grad(lambda a: np.sum(ufunc(a, y)), x), rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(gy, fd_grad(lambda b: np.sum(ufunc(x, b)), y), rtol=1e-5,
                               atol=1e-6)


def test_ufunc_methods() -> None:
    x = np.array([[1.0, -2.0, 3.0], [0.5, 4.0, -1.0]])
    f = lambda x: np.sum(np.add.reduce(x) * np.multiply.reduce(x, axis=1).sum()  # noqa: E731
                         + np.maximum.reduce(x, axis=1).sum() + np.add.accumulate(x, axis=1)
                         .sum() + np.multiply.outer(x[0], x[1]).sum())
    np.testing.assert_allclose(riesz.grad(f)(x), fd_grad(f, x), rtol=1e-6, atol=1e-6)
    with pytest.raises(TypeError, match="numpy.add.at"):
        riesz.grad(lambda x: np.add.at(x, [0], 1.0))(x)
    with pytest.raises(TypeError, match=r"numpy.add.reduceat is not supported"):
        riesz.grad(lambda x: np.add.reduceat(x, [0, 1]).sum())(x)


def test_ufunc_keywords() -> None:
    x = np.array([0.5, 1.5], np.float32)
    g = riesz.grad(lambda x: np.sum(np.sin(x, dtype=np.float64)))(x)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, np.cos(x), rtol=1e-6)
    with pytest.raises(TypeError, match="out= is not supported"):
        riesz.grad(lambda x: np.sin(x, out=np.empty(2)).sum())(x)


# -- NumPy functions through __array_function__ ---------------------------------------------------

rng = np.random.default_rng(3)
A = rng.standard_normal((3, 3)) + 3 * np.eye(3)

FUNCTION_CALLS = {
    "sum-axis": lambda x: np.sum(x.reshape(3, 2), axis=0),
    "dot": lambda x: np.dot(A, x[:3]),
    "solve": lambda x: np.linalg.solve(A, x[:3]),
    "concatenate": lambda x: np.concatenate([x, np.ones(2), x[:1]]),
    "where": lambda x: np.where(x > 0, x, np.zeros(6)),
    "stack": lambda x: np.stack([x, 2 * x], axis=1),
    "vstack": lambda x: np.vstack([x, x]),
    "mean-var-std": lambda x: np.mean(x) + np.var(x) + np.std(x),
    "reshape-transpose": lambda x: np.transpose(np.reshape(x, (2, 3))),
    "einsum": lambda x: np.einsum("i,j->ij", x, x),
    "tensordot": lambda x: np.tensordot(x.reshape(2, 3), A, axes=1),
    "linalg": lambda x: np.linalg.inv(A + np.diag(x[:3])) @ np.linalg.cholesky(
        A @ A.T + np.outer(x[3:], x[3:])),
    "slogdet": lambda x: np.linalg.slogdet(A + np.diag(x[:3])).logabsdet,
    "eigh": lambda x: np.linalg.eigh(np.outer(x[:3], x[:3]) + A @ A.T).eigenvalues,
    "svd": lambda x: np.linalg.svd(x.reshape(2, 3), full_matrices=False).S,
    "qr": lambda x: np.linalg.qr(x.reshape(3, 2)).R,
    "norm": lambda x: np.linalg.norm(x.reshape(2, 3), axis=1),
    "linalg.trace": lambda x: np.linalg.trace(np.outer(x, x).reshape(4, 3, 3)),
    "pad-roll-flip": lambda x: np.flip(np.roll(np.pad(x, 2), 1)),
    "tile-repeat": lambda x: np.tile(np.repeat(x, 2), 2),
    "split": lambda x: np.split(x, 3)[1] * np.array_split(x, 2)[0][:2],
    "take": lambda x: np.take(x, [0, 0, 5]) + np.take_along_axis(x, np.argsort(x), axis=0)[:3],
    "sort": lambda x: np.sort(x),
    "cumprod": lambda x: np.cumprod(x),
    "triu-diag": lambda x: np.triu(np.outer(x, x)) + np.diag(x),
    "kron": lambda x: np.kron(x[:2], x[2:]),
    "convolve": lambda x: np.convolve(x, np.array([1.0, -2.0, 0.5]), "same"),
    "matrix_power": lambda x: np.linalg.matrix_power(np.outer(x[:3], x[3:]) + A, 3),
    "clip-round": lambda x: np.clip(x, -0.5, 0.5) + np.round(x),
    "moveaxis": lambda x: np.moveaxis(x.reshape(1, 2, 3), 0, -1),
    "broadcast_to": lambda x: np.broadcast_to(x, (2, 6)),
    "diff": lambda x: np.diff(x, 2),
    "median": lambda x: np.median(x.reshape(2, 3), axis=1),
    "full_like": lambda x: np.full_like(x, 2.0) * x,
}


@pytest.mark.parametrize("name", sorted(FUNCTION_CALLS))
def test_array_function_protocol(name: str) -> None:
    fn = FUNCTION_CALLS[name]
    x = np.array([0.3, -1.2, 0.7, 1.1, -0.4, 0.9])
    riesz.check_grads(fn, (x,), order=1)
    out = riesz.jvp(fn, (x,), (np.ones_like(x),))[0]
    np.testing.assert_allclose(out, fn(x))  # the primal value is NumPy's


def test_operators_with_ndarray_on_the_left() -> None:
    x = np.array([0.5, -1.0, 2.0])
    M = np.arange(9.0).reshape(3, 3)

    def f(x):
        return np.sum(M @ x + np.ones(3) * x - np.float64(2.0) * x + [1.0, 2.0, 3.0] * x
                      + np.ones(3) / (x + 3) + 2.0 ** x)

    np.testing.assert_allclose(riesz.grad(f)(x), fd_grad(f, x), rtol=1e-6)


def test_scipy_special_ufuncs_dispatch() -> None:
    x = np.array([0.3, 0.6])
    f = lambda x: np.sum(scipy.special.erf(x) + scipy.special.gammaln(x + 1)  # noqa: E731
                         + scipy.special.xlogy(x, x) + scipy.special.psi(x + 1)
                         + scipy.special.logit(x))
    np.testing.assert_allclose(riesz.grad(f)(x), fd_grad(f, x), rtol=1e-6)


# -- lists of traced values -----------------------------------------------------------------------


def test_lists_of_traced_values() -> None:
    x = np.array([0.5, -1.0])

    def f(x):
        a = rnp.array([x[0], x[1], x[0] * x[1]])
        b = np.stack([x, x ** 2])
        c = rnp.sum([x[0], x[1]])
        d = np.concatenate([[x[0]], x])
        e = rnp.exp([x[0], 1.0])
        f = x * [x[1], 2.0] - (1.0, x[0])  # operators with lists of traced values
        return np.sum(a) + np.sum(b) + c + np.sum(d) + np.sum(e) + np.sum(f)

    np.testing.assert_allclose(riesz.grad(f)(x), fd_grad(f, x), rtol=1e-6)


def test_np_array_of_traced_values_raises_pointing_to_stack() -> None:
    with pytest.raises(TypeError, match=r"np\.stack"):
        riesz.grad(lambda x: np.array([x[0], x[1]]).sum())(np.ones(2))
    with pytest.raises(TypeError, match=r"np\.stack"):
        riesz.grad(lambda x: np.sum([x[0], x[1]]))(np.ones(2))


@pytest.mark.parametrize("call, name", [
    (lambda x: np.histogram(x), "numpy.histogram"),
    (lambda x: np.linalg.tensorinv(np.outer(x, x)), "numpy.linalg.tensorinv"),  # (eig is
    # supported now: tests/test_complex.py)
    (lambda x: np.percentile(x, 50.0), "numpy.percentile"),  # (interp and gradient are
    (lambda x: np.cross(x, x), "numpy.cross"),  # supported now: tests/test_numpy_additions.py)
    (lambda x: scipy.special.struve(1.0, x), "scipy.special.struve"),
])
def test_unsupported_function_raises_naming_it(call, name) -> None:
    with pytest.raises(TypeError, match=name.replace(".", r"\.") + " is not supported"):
        riesz.grad(lambda x: np.sum(call(x)))(np.array([1.0, 2.0]))


# -- non-differentiable operations on traced values -----------------------------------------------


def test_non_differentiable_operations_return_plain_arrays() -> None:
    x = np.array([0.7, -1.3, 2.2, -0.1])
    seen = {}

    def f(x):
        seen["argmax"] = np.argmax(x)
        seen["argsort"] = np.argsort(x)
        seen["nonzero"] = np.nonzero(x > 0)
        seen["isnan"] = np.isnan(x)
        seen["cmp"] = x >= 0
        seen["shape"] = np.shape(x)
        seen["ndim"] = np.ndim(x)
        seen["allclose"] = np.allclose(x, x)
        seen["count"] = np.count_nonzero(x > 0)
        seen["searchsorted"] = np.searchsorted(np.sort(riesz.stop_gradient(x)), 0.0)
        seen["floor"] = np.floor(x)
        seen["round"] = np.round(x, 1)
        seen["sign"] = np.sign(x)
        mask = x > 0
        return np.sum(x[mask] * 3.0) + np.sum(x[np.argsort(x)[:2]]) + np.sum(x * np.floor(x))

    g = riesz.grad(f)(x)
    np.testing.assert_allclose(g, fd_grad(f, x))
    assert seen["argmax"] == 2 and seen["shape"] == (4,) and seen["ndim"] == 1
    np.testing.assert_array_equal(seen["argsort"], np.argsort(x))
    np.testing.assert_array_equal(seen["nonzero"][0], [0, 2])
    for key in ("argsort", "isnan", "cmp", "floor", "round", "sign"):
        assert type(seen[key]) is np.ndarray, key
    np.testing.assert_array_equal(seen["floor"], np.floor(x))
    assert seen["allclose"] is True or seen["allclose"] == np.True_
    assert seen["count"] == 2 and seen["searchsorted"] == 2
    _, t = riesz.jvp(lambda x: np.floor(x) + np.round(x) + np.sign(x), (x,), (np.ones(4),))
    np.testing.assert_array_equal(t, np.zeros(4))


def test_integer_casts_and_bool_indexing() -> None:
    x = np.array([0.7, -1.3, 2.2])
    f = lambda x: np.sum(x[x.astype(int) != 0] ** 2) + np.sum(x[[True, False, True]])  # noqa
    np.testing.assert_allclose(riesz.grad(f)(x), fd_grad(f, x))


# -- dtype rules ----------------------------------------------------------------------------------


@pytest.mark.parametrize("expr", [
    lambda x: x * 2.0,
    lambda x: 2 * x + 1,
    lambda x: np.sin(x) / 3.0,
    lambda x: x ** 2,
    lambda x: np.float64(2.0) * x,
    lambda x: x + np.ones(3),
    lambda x: np.mean(x) + np.std(x),
    lambda x: np.linalg.norm(x),
    lambda x: x @ np.ones((3, 2), np.float32),
    lambda x: rnp.logsumexp(x) * x,
])
def test_dtype_follows_numpy(expr) -> None:
    x = np.array([0.5, 1.5, -2.0], np.float32)
    want = np.result_type(expr(x))
    out, vjp_fn = riesz.vjp(expr, x)
    assert np.result_type(out) == want
    (ct,) = vjp_fn(np.ones(np.shape(out), want))
    assert ct.dtype == np.float32
    _, t = riesz.jvp(expr, (x,), (np.ones(3, np.float32),))
    assert np.result_type(t) == want


# -- tracer methods -------------------------------------------------------------------------------


def test_methods_of_traced_values() -> None:
    x = np.array([[0.5, -1.0, 2.0], [1.5, 0.3, -0.7]])

    def f(x):
        a, b = x  # iteration over the first axis
        out = a.dot(b) + x.mean(axis=0).sum() + x.std() + x.var(axis=1).sum() + x.prod()
        out = out + x.cumsum(axis=1).sum() + x.cumprod().sum() + x.ravel()[1] + x.flatten()[4]
        out = out + x.T.sum() + x.mT[0, 1] + x.clip(-0.5, 0.5).sum() + x.max() - x.min()
        out = out + x.reshape(3, 2).squeeze().swapaxes(0, 1).trace() + x.diagonal().sum()
        out = out + x.repeat(2, axis=0).take([0, 3]).sum() + x.copy().sum() + x.real.sum()
        return out + x.astype(np.float64).sum() + x.imag.sum() + x.conj().sum()

    np.testing.assert_allclose(riesz.grad(f)(x), fd_grad(f, x), rtol=1e-5, atol=1e-6)


def test_item_assignment_points_to_functional_updates() -> None:
    def f(x):
        x[0] = 1.0
        return x.sum()

    with pytest.raises(TypeError, match=r"x\.at\[index\]\.set\(v\)"):
        riesz.grad(f)(np.ones(3))
    with pytest.raises(TypeError, match="in place"):
        riesz.grad(lambda x: x.sort())(np.ones(3))


def test_functional_updates_on_traced_values() -> None:
    x = np.array([0.5, -1.0, 2.0, 1.5])
    idx = np.array([0, 2, 0])

    def f(x):
        y = x.at[1].set(x[3] * 2)
        y = y.at[idx].add(x[:3])
        y = y.at[idx].multiply(x[1:])
        y = y.at[2:].divide(3.0)
        y = y.at[0].power(2.0)
        y = y.at[x > 0].min(1.0)
        return np.sum(y * np.arange(1.0, 5.0)) + x.at[1:3].get().sum()

    value, g = riesz.value_and_grad(f)(x)
    np.testing.assert_allclose(g, fd_grad(lambda v: riesz.value_and_grad(f)(v)[0], x),
                               rtol=1e-6)
    # values match NumPy's in-place semantics
    z = x.copy()
    z[1] = x[3] * 2
    np.add.at(z, idx, x[:3])
    np.multiply.at(z, idx, x[1:])
    z[2:] /= 3.0
    z[0] **= 2.0
    z[x > 0] = np.minimum(z[x > 0], 1.0)
    assert value == pytest.approx(np.sum(z * np.arange(1.0, 5.0)) + x[1:3].sum())


def test_index_update_last_value_wins_like_numpy() -> None:
    x, v = np.zeros(3), np.array([1.0, 2.0, 3.0])
    idx = np.array([2, 0, 2])
    want = x.copy()
    want[idx] = v
    np.testing.assert_array_equal(rnp.index_update(x, idx, v), want)
    g = riesz.grad(lambda v: np.sum(rnp.index_update(x, idx, v) * [1.0, 2.0, 3.0]))(v)
    np.testing.assert_array_equal(g, [0.0, 1.0, 3.0])  # the overwritten v[0] has no effect


# -- random ---------------------------------------------------------------------------------------


def test_random_passes_through_and_is_constant() -> None:
    a = rnp.random.default_rng(7).normal(size=4)
    np.testing.assert_array_equal(a, np.random.default_rng(7).normal(size=4))
    assert rnp.random.Generator is np.random.Generator

    def f(mu):
        eps = rnp.random.default_rng(0).standard_normal(3)
        return np.sum((mu + 2.0 * eps) ** 2)

    mu = np.array([0.1, 0.2, 0.3])
    np.testing.assert_allclose(riesz.grad(f)(mu), fd_grad(f, mu), rtol=1e-6)
    with pytest.raises(TypeError, match="cannot be converted"):
        riesz.grad(lambda m: np.sum(np.random.default_rng(0).normal(m)))(mu)


def test_bitwise_ufuncs_on_boolean_masks_are_logical_under_vmap():
    # a NumPy mask combined with a per-example traced mask (found by the campaign)
    mask = np.array([True, False, True])
    X = np.array([[1.0, -2.0, 3.0], [-1.0, 2.0, -3.0]])

    def f(x):
        keep = (mask & (x > 0)) | ~(x < -2.5) ^ mask
        return np.where(keep, x, 0.0)

    out = riesz.vmap(f)(X)
    expected = np.stack([f(x) for x in X])
    np.testing.assert_array_equal(out, expected)
    with pytest.raises(TypeError, match="bitwise_and"):
        riesz.vmap(lambda x: np.arange(3) & (x > 0).astype(int))(X)
