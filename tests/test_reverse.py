"""Reverse mode: DAGs, deep graphs, memory release, mutation detection, threads."""

from __future__ import annotations

import gc
import threading
import tracemalloc

import numpy as np
import pytest

import riesz
import riesz.numpy as rnp


def test_shared_node_accumulates_adjoints() -> None:
    def f(x):
        y = rnp.exp(x)
        return rnp.sum(y * y + rnp.sin(y))

    x = np.linspace(-1, 1, 4)
    y = np.exp(x)
    np.testing.assert_allclose(riesz.grad(f)(x), (2 * y + np.cos(y)) * y, rtol=1e-13)


def test_multiple_outputs_and_inputs() -> None:
    def f(x, y):
        return {"a": x * y, "b": (rnp.sin(x), y**2)}

    x, y = np.array([1.0, 2.0]), np.array([3.0, -1.0])
    out, vjp_fn = riesz.vjp(f, x, y)
    ct = {"a": np.array([1.0, 0.5]), "b": (np.array([2.0, 1.0]), np.array([0.0, 3.0]))}
    gx, gy = vjp_fn(ct)
    np.testing.assert_allclose(gx, ct["a"] * y + ct["b"][0] * np.cos(x))
    np.testing.assert_allclose(gy, ct["a"] * x + ct["b"][1] * 2 * y)
    # the adjoint identity against the forward mode
    u = (np.array([0.3, -0.2]), np.array([1.0, 0.7]))
    _, t = riesz.jvp(f, (x, y), u)
    lhs = np.vdot(ct["a"], t["a"]) + np.vdot(ct["b"][0], t["b"][0]) + np.vdot(ct["b"][1], t["b"][1])
    assert lhs == pytest.approx(np.vdot(gx, u[0]) + np.vdot(gy, u[1]), rel=1e-13)


def test_vjp_fn_is_reusable() -> None:
    x = np.array([0.5, 1.5])
    out, vjp_fn = riesz.vjp(lambda x: rnp.tanh(x) * x, x)
    first = vjp_fn(np.ones(2))[0]
    second = vjp_fn(np.ones(2))[0]
    np.testing.assert_array_equal(first, second)
    np.testing.assert_allclose(first, np.tanh(x) + x * (1 - np.tanh(x) ** 2))


def test_output_independent_of_input_gives_zeros() -> None:
    g = riesz.grad(lambda x: rnp.sum(np.ones(3)))(np.ones(3))
    np.testing.assert_array_equal(g, np.zeros(3))
    _, t = riesz.jvp(lambda x: np.ones(2), (np.ones(3),), (np.ones(3),))
    np.testing.assert_array_equal(t, np.zeros(2))


def test_chain_of_a_million_primitives_is_iterative() -> None:
    def f(x):
        for _ in range(1_000_000):
            x = x * 1.0000001
        return rnp.sum(x)

    g = riesz.grad(f)(np.array([1.0]))
    np.testing.assert_allclose(g, [1.0000001**1_000_000], rtol=1e-9)


def test_backward_releases_saved_values() -> None:
    # peak memory of the backward pass must stay within 2x of the forward pass
    n = 300
    big = 20_000

    def f(x):
        for _ in range(n):
            x = rnp.sin(x)
        return rnp.sum(x)

    x = np.linspace(0, 1, big)
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        out, vjp_fn = riesz.vjp(f, x)
        forward_peak = tracemalloc.get_traced_memory()[1]
        del out, vjp_fn
        gc.collect()
        tracemalloc.reset_peak()
        riesz.grad(f)(x)
        total_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # forward holds n arrays of 160 kB; the backward adds only a few more
    assert forward_peak > n * big * 8
    assert total_peak < 2 * forward_peak


def test_sparse_index_cotangents_do_not_densify_per_index() -> None:
    n = 2000

    def f(x):
        total = 0.0
        for i in range(n):
            total = total + x[i] * x[i]
        return total

    x = np.linspace(0, 1, n)
    np.testing.assert_allclose(riesz.grad(f)(x), 2 * x)
    # the adjoint of x holds n sparse entries and is densified once
    from riesz._primitives.indexing import SparseCotangent

    calls = []
    orig = SparseCotangent._scatter

    def counting(self, base):
        calls.append(len(self.entries))
        return orig(self, base)

    SparseCotangent._scatter = counting
    try:
        riesz.grad(f)(x)
    finally:
        SparseCotangent._scatter = orig
    assert calls == [2 * n]


class TestMutationDetection:
    def test_input_modified_between_vjp_and_pullback(self) -> None:
        x = np.array([1.0, 2.0, 3.0])
        _, vjp_fn = riesz.vjp(lambda x: rnp.sum(rnp.sin(x)), x)
        x[0] = 5.0
        with pytest.raises(riesz.SavedValueModifiedError, match="modified in place"):
            vjp_fn(1.0)

    def test_closed_over_constant_modified(self) -> None:
        W = np.array([[1.0, 2.0], [3.0, 4.0]])
        _, vjp_fn = riesz.vjp(lambda x: W @ x, np.array([1.0, -1.0]))
        W[1, 1] = 0.0
        with pytest.raises(riesz.SavedValueModifiedError):
            vjp_fn(np.ones(2))

    def test_constant_modified_inside_function(self) -> None:
        def f(x):
            a = np.ones(3)
            y = x * a
            a[0] = 7.0  # mutates a value the backward pass saved
            return rnp.sum(y * a)

        with pytest.raises(riesz.SavedValueModifiedError):
            riesz.grad(f)(np.ones(3))

    def test_returned_output_modified(self) -> None:
        out, vjp_fn = riesz.vjp(rnp.exp, np.array([0.0, 1.0]))
        out[0] = 100.0  # exp's VJP uses its output
        with pytest.raises(riesz.SavedValueModifiedError):
            vjp_fn(np.ones(2))

    def test_unmodified_passes(self) -> None:
        x = np.array([1.0, 2.0])
        _, vjp_fn = riesz.vjp(lambda x: rnp.sum(rnp.sin(x)), x)
        np.testing.assert_allclose(vjp_fn(1.0)[0], np.cos(x))


def test_threads_differentiate_concurrently() -> None:
    results: dict[int, np.ndarray] = {}
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def work(k: int) -> None:
        try:
            barrier.wait()
            x = np.linspace(0, 1, 50) + k
            for _ in range(20):
                def inner(x):
                    return riesz.grad(lambda y: rnp.sum(rnp.sin(y) * x))(x)

                g = riesz.grad(lambda x: rnp.sum(x * inner(x)))(x)
            results[k] = g
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for k in range(4):
        x = np.linspace(0, 1, 50) + k
        # f = sum(x * x * cos x) -> f' = 2x cos x - x^2 sin x
        np.testing.assert_allclose(results[k], 2 * x * np.cos(x) - x**2 * np.sin(x), rtol=1e-12)


def test_escaped_tracer_raises() -> None:
    leaked = []

    def f(x):
        leaked.append(x)
        return rnp.sum(x)

    riesz.grad(f)(np.ones(2))
    with pytest.raises(riesz.EscapedTracerError):
        riesz.grad(lambda y: rnp.sum(y * leaked[0]))(np.ones(2))
    with pytest.raises(riesz.EscapedTracerError):
        _ = leaked[0] * 2.0


def test_multiple_results_primitive() -> None:
    from riesz._core import primitive as primitive_module
    from riesz._core.primitive import Primitive

    sincos = Primitive("test_sincos", lambda x: (np.sin(x), np.cos(x)), multiple_results=True)

    def jvp(primals, tangents, ans):
        (t,) = tangents
        return (t * ans[1], -t * ans[0])

    def vjp(g, ans, primals, argnums):
        gs, gc_ = g
        total = 0.0
        if gs is not None:
            total = total + gs * ans[1]
        if gc_ is not None:
            total = total - gc_ * ans[0]
        return [total]

    sincos.def_joint_jvp(jvp).def_joint_vjp(vjp)
    try:
        x = np.linspace(0.1, 1.0, 3)
        riesz.check_grads(lambda x: sincos(x), (x,), order=2)
        # only one output used: the other output's cotangent is a symbolic zero
        g = riesz.grad(lambda x: rnp.sum(sincos(x)[1] * 2.0))(x)
        np.testing.assert_allclose(g, -2 * np.sin(x))
        # both outputs used, one of them twice
        g = riesz.grad(lambda x: rnp.sum(sincos(x)[0] + sincos(x)[0] * sincos(x)[1]))(x)
        np.testing.assert_allclose(g, np.cos(x) + np.cos(2 * x), rtol=1e-12)
    finally:
        primitive_module._REGISTRY.pop("test_sincos")


def test_grad_inputs_are_read_only_during_the_call() -> None:
    x = np.array([1.0, 2.0])

    def f(w):
        y = rnp.sum(rnp.sin(w))
        x[0] = 5.0  # x is the array being differentiated, reached through a closure
        return y

    with pytest.raises(ValueError, match="read-only"):
        riesz.grad(f)(x)
    assert x.flags.writeable  # restored afterwards
    x[0] = 3.0
    np.testing.assert_allclose(riesz.grad(lambda w: rnp.sum(rnp.sin(w)))(x), np.cos(x))
    assert x.flags.writeable
