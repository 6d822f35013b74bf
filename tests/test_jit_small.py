"""riesz.jit on small arrays, where per-call overhead is the cost (W6: jet of a
6x4 network): the compiled code calls the cheapest NumPy entry point with the
same values, and the graph passes batch independent sibling equations."""

from __future__ import annotations

import numpy as np
import pytest

import riesz
import riesz.numpy as rnp


def _globals(j, *args):
    """The objects the code compiled for `args` calls."""
    j(*args)
    entry = j._entry(riesz.staged._Signature("jit", args, {}, (), ()))
    return list(entry.run.__globals__.values())


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
