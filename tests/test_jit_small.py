"""riesz.jit on small arrays, where per-call overhead is the cost (W6: jet of a
6x4 network): the compiled code calls the cheapest NumPy entry point with the
same values, and the graph passes batch independent sibling equations."""

from __future__ import annotations

import numpy as np
import pytest

import riesz
import riesz.numpy as rnp


class _Called(list):
    def __contains__(self, f):  # functions only (the globals hold arrays too)
        return any(g is f or (callable(g) and g == f) for g in self)


def _globals(j, *args):
    """The objects the code compiled for `args` calls."""
    j(*args)
    entry = j._entry(riesz.staged._Signature("jit", args, {}, (), ()))
    return _Called(entry.run.__globals__.values())


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int8, np.bool_])
@pytest.mark.parametrize("axis,keepdims", [(None, False), (0, True), (1, False), ((0, 1), True)])
def test_reductions_call_the_ufunc_reduction_with_numpys_values(dtype, axis, keepdims) -> None:
    # np.sum / np.max / np.min on small arrays: their Python wrappers cost more than
    # the work; the code calls add/maximum/minimum.reduce, whose values and dtypes
    # (bool and int8 sums promoted to int64) must be NumPy's, bit for bit
    x = (np.random.default_rng(0).standard_normal((3, 4)) * 4).astype(dtype)

    def f(x):
        return (rnp.sum(x, axis=axis, keepdims=keepdims), rnp.max(x, axis=axis, keepdims=keepdims),
                rnp.min(x, axis=axis, keepdims=keepdims))

    j = riesz.jit(f, fuse=False)
    got = j(x)
    want = (np.sum(x, axis=axis, keepdims=keepdims), np.max(x, axis=axis, keepdims=keepdims),
            np.min(x, axis=axis, keepdims=keepdims))
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(g, w)
        assert np.result_type(g) == np.result_type(w) and np.shape(g) == np.shape(w)
    called = _globals(j, x)
    assert np.add.reduce in called and np.maximum.reduce in called
    assert np.sum not in called and np.max not in called


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.complex128])
def test_vector_and_matrix_products_call_dot_with_matmuls_values(dtype) -> None:
    rng = np.random.default_rng(1)
    A = rng.standard_normal((6, 4)).astype(dtype)
    B = rng.standard_normal((4, 3)).astype(dtype)
    x, y = rng.standard_normal(4).astype(dtype), rng.standard_normal(6).astype(dtype)

    def f(A, B, x, y):
        return A @ x, y @ A, x @ x, A @ B, A[None] @ B  # the last is 3-D: stays matmul

    j = riesz.jit(f, fuse=False)
    for g, w in zip(j(A, B, x, y), (A @ x, y @ A, x @ x, A @ B, A[None] @ B), strict=True):
        np.testing.assert_array_equal(g, w)
        assert np.result_type(g) == np.result_type(w) and np.shape(g) == np.shape(w)
    called = _globals(j, A, B, x, y)
    assert np.dot in called and np.matmul in called


def _count(graph, name):
    return sum(e.prim.name == name for e in graph.eqns)


def test_independent_small_products_and_sums_become_one_call_each() -> None:
    # K products with one matrix and K sums, all independent: one batched matmul and
    # one batched sum, the values of the K separate calls (the GEMM may round differently)
    rng = np.random.default_rng(2)
    A = rng.standard_normal((6, 4))
    xs = rng.standard_normal((7, 4))

    def f(*xs):
        ys = [A @ x for x in xs]
        return [rnp.sum(rnp.sin(y), axis=0) for y in ys] + [x @ A.T for x in xs]

    want = [np.sum(np.sin(A @ x)) for x in xs] + [x @ A.T for x in xs]
    for fuse in (False, True) if riesz.fusion.available() else (False,):
        j = riesz.jit(f, fuse=fuse)
        got = j(*xs)
        for g, w in zip(got, want, strict=True):
            np.testing.assert_allclose(g, w, rtol=1e-13, atol=1e-15)
            assert np.shape(g) == np.shape(w)
        graph = j.graph(*xs)
        assert _count(graph, "matmul") == 2 and _count(graph, "sum") == 1
        assert _count(riesz.make_graph(f)(*xs), "matmul") == 14  # before the passes
    # derivatives of the batched graph (staged JVP / VJP / Taylor rules over it)
    g = riesz.grad(lambda x: sum(rnp.sum(y) for y in riesz.jit(f)(x, *xs[1:])))(xs[0])
    np.testing.assert_allclose(g, A.T @ np.cos(A @ xs[0]) + A.sum(axis=0), rtol=1e-13)


def test_dependent_products_stay_separate() -> None:
    # x_{k+1} = A tanh(x_k): each product reads the previous one, nothing to batch
    rng = np.random.default_rng(3)
    A = rng.standard_normal((4, 4)) / 2
    x0 = rng.standard_normal(4)

    def f(x):
        for _ in range(6):
            x = A @ rnp.tanh(x)
        return x

    want = x0
    for _ in range(6):
        want = A @ np.tanh(want)
    j = riesz.jit(f, fuse=False)
    np.testing.assert_allclose(j(x0), want, rtol=1e-14)
    assert _count(j.graph(x0), "matmul") == 6


def test_batches_that_read_each_other_are_scheduled_or_kept_apart() -> None:
    # two batches, each with a member that reads a member of the other: merging both
    # would be a cycle; the result must still be every product, in a valid order
    rng = np.random.default_rng(4)
    A, B = rng.standard_normal((4, 4)), rng.standard_normal((4, 4))
    u, v = rng.standard_normal((4, 4)), rng.standard_normal((4, 4))

    def f(u, v, np_=rnp):
        a = [A @ u[k] for k in range(3)]
        b = [B @ v[k] for k in range(3)]
        a.append(A @ np_.tanh(b[0]))
        b.append(B @ np_.tanh(a[0]))
        return a + b

    j = riesz.jit(f, fuse=False)
    for g, w in zip(j(u, v), f(u, v, np), strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-13)
    assert _count(j.graph(u, v), "matmul") < 8  # one of the two batches is made


def test_large_operands_are_not_stacked() -> None:
    # per-call overhead is negligible beside the work: stacking would only copy
    rng = np.random.default_rng(5)
    A = rng.standard_normal((64, 64))
    xs = rng.standard_normal((5, 64, 32))
    j = riesz.jit(lambda *xs: [A @ x for x in xs], fuse=False)
    for g, x in zip(j(*xs), xs, strict=True):
        np.testing.assert_array_equal(g, A @ x)
    assert _count(j.graph(*xs), "matmul") == 5


def test_jit_jet_of_a_network_batches_its_coefficients() -> None:
    # W6: the K + 1 coefficients through W x and x W^T are two matrix products, their
    # K + 1 sums one reduction; the coefficients are jet's (eager) ones
    rng = np.random.default_rng(5)
    W = rng.standard_normal((6, 4)) / 2
    x0, v = rng.standard_normal(4), rng.standard_normal(4)
    K = 8
    series = [v] + [np.zeros(4)] * (K - 1)

    def jet_f(x, s):
        return riesz.jet(lambda x: rnp.sum(rnp.logaddexp(0.0, W @ x) * rnp.sin(x @ W.T)),
                         (x,), (s,))

    j = riesz.jit(jet_f, fuse=False)
    y0, ys = j(x0, series)
    e0, es = jet_f(x0, series)
    np.testing.assert_allclose(y0, e0, rtol=1e-14)
    np.testing.assert_allclose(np.asarray(ys), np.asarray(es), rtol=1e-10, atol=1e-12)
    graph = j.graph(x0, series)
    assert _count(graph, "matmul") == 2 and _count(graph, "sum") == 1
    # the first derivative is the directional derivative of f (closed form)
    s = W @ x0
    d1 = np.sum(v @ W.T * (1 / (1 + np.exp(-s))) * np.sin(s) + np.logaddexp(0, s) *
                np.cos(s) * (v @ W.T))
    np.testing.assert_allclose(ys[0], d1, rtol=1e-12)


def test_a_batch_of_rows_times_a_matrix_is_one_matrix_product() -> None:
    # vmap of x @ A stacks the rows (B, 1, n): one GEMM over the flattened stack
    rng = np.random.default_rng(6)
    A = rng.standard_normal((4, 5))
    xs = rng.standard_normal((3, 7, 4))
    j = riesz.jit(riesz.vmap(riesz.vmap(lambda x: x @ A)), fuse=False)
    np.testing.assert_allclose(j(xs), xs @ A, rtol=1e-14)
    from riesz.staged import _rows_times_matrix

    assert _rows_times_matrix in _globals(j, xs)
    # the reshapes vmap stacks up read the input: one before and one after the product
    assert _count(j.graph(xs), "reshape") == 2


@pytest.mark.parametrize("name", ["sum", "max", "min", "prod", "einsum"])
def test_batched_reductions_and_contractions_give_each_members_value(name) -> None:
    rng = np.random.default_rng(7)
    xs = list(rng.standard_normal((5, 3, 4)))
    B = rng.standard_normal((3, 4))
    ops_ = {"sum": lambda ns, x: ns.sum(x, axis=1), "max": lambda ns, x: ns.max(x, axis=0),
            "min": lambda ns, x: ns.min(x, axis=(0, 1), keepdims=True),
            "prod": lambda ns, x: ns.prod(x, axis=1),
            "einsum": lambda ns, x: ns.einsum("ij,ij->i", x, B)}
    op = ops_[name]
    j = riesz.jit(lambda *xs: [op(rnp, x) for x in xs], fuse=False)
    for g, x in zip(j(*xs), xs, strict=True):
        w = op(np, x)
        np.testing.assert_allclose(g, w, rtol=1e-14)
        assert np.shape(g) == np.shape(w)
    assert _count(j.graph(*xs), name) == 1
