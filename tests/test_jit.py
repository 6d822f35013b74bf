"""riesz.jit and riesz.make_graph (SPEC §15): staged values equal eager ones,
jit composes with every transformation in both orders, one compile per
signature, and value-dependent Python control flow raises ConcretizationError."""

from __future__ import annotations

import time
import warnings

import numpy as np
import pytest

import riesz
import riesz.numpy as rnp
from finite_differences import fd_grad
from primitive_cases import CASES
from riesz import fusion, staged
from riesz._interpreters.staging import Eqn, Graph, ShapedArray, Var
from riesz.staged import optimize

# cases whose output shape depends on values (boolean masks): ConcretizationError under jit
_VALUE_SHAPED = {"getitem-mask", "scatter_set-at-max-mask"}
# derivatives in a parameter whose series length depends on its values: jit(grad) raises
_SIZED_BY_VALUES = {"gammainc", "gammaincc", "betainc", "betaincc"}


def _close(a, b, rtol=1e-10, atol=1e-12):
    la, da = riesz.tree_flatten(a)
    lb, db = riesz.tree_flatten(b)
    assert da == db
    for x, y in zip(la, lb, strict=True):
        np.testing.assert_allclose(np.asarray(y), np.asarray(x), rtol=rtol, atol=atol)
        assert np.result_type(x) == np.result_type(y)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_registry_case_jit_matches_eager(case) -> None:
    if case.id in _VALUE_SHAPED:
        with pytest.raises(riesz.ConcretizationError, match="boolean mask"):
            riesz.jit(case.fn)(*case.args)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the eager call warns as NumPy does (e.g. log(0))
        eager = case.fn(*case.args)
        _close(eager, riesz.jit(case.fn)(*case.args), rtol=1e-12, atol=1e-12)
        floats = tuple(i for i, a in enumerate(case.args) if np.asarray(a).dtype.kind == "f")
        if not floats or np.asarray(riesz.tree_leaves(eager)[0]).dtype.kind != "f":
            return

        def scalar(*a):
            return rnp.sum(riesz.tree_leaves(case.fn(*a))[0])

        g = riesz.grad(scalar, argnums=floats)(*case.args)
        _close(g, riesz.grad(riesz.jit(scalar), argnums=floats)(*case.args))
        try:
            staged = riesz.jit(riesz.grad(scalar, argnums=floats))(*case.args)
        except riesz.ConcretizationError as e:  # a series sized by the parameter's values
            assert case.prim in _SIZED_BY_VALUES and "series terms" in str(e)
        else:
            _close(g, staged)


def f(x, w):
    h = rnp.tanh(x @ w)
    return rnp.sum(rnp.exp(-h * h) * rnp.sin(x[0])) + rnp.sum(w ** 2) / 3.0


X = np.linspace(-1.0, 1.0, 3)
W = np.arange(6.0).reshape(3, 2) / 7.0


def test_jit_value_grad_both_orders_match_finite_differences() -> None:
    assert riesz.jit(f)(X, W) == pytest.approx(f(X, W), rel=1e-14)
    fd = fd_grad(lambda w: f(X, w), W)
    np.testing.assert_allclose(riesz.grad(riesz.jit(f), argnums=1)(X, W), fd, rtol=1e-7)
    np.testing.assert_allclose(riesz.jit(riesz.grad(f, argnums=1))(X, W), fd, rtol=1e-7)


@pytest.mark.parametrize("order", ["jit-outside", "jit-inside"])
def test_jit_composes_with_transformations(order) -> None:
    def wrap(t, fn):
        return riesz.jit(t(fn)) if order == "jit-outside" else t(riesz.jit(fn))

    u = np.ones_like(X) / 3
    _close(riesz.jvp(lambda x: f(x, W), (X,), (u,)),
           wrap(lambda fn: lambda x, u: riesz.jvp(fn, (x,), (u,)), lambda x: f(x, W))(X, u))
    xs = np.stack([X, 2 * X, -X])
    _close(riesz.vmap(f, (0, None))(xs, W), wrap(lambda fn: riesz.vmap(fn, (0, None)), f)(xs, W))
    _close(riesz.hessian(f)(X, W), wrap(riesz.hessian, f)(X, W))
    _close(riesz.vmap(riesz.grad(f), (0, None))(xs, W),
           wrap(lambda fn: riesz.vmap(riesz.grad(fn), (0, None)), f)(xs, W))

    def g(x):
        return rnp.sin(x) * rnp.exp(x)

    series = ([1.0, 0.5, -0.25],)
    _close(riesz.jet(g, (0.3,), series),
           wrap(lambda fn: lambda x: riesz.jet(fn, (x,), series), g)(0.3))


def test_compile_once_per_signature() -> None:
    j = riesz.jit(f)
    j(X, W)
    j(X + 1, W * 2)
    assert j.compiles == 1
    j(X[:2], W[:2])  # new shapes
    assert j.compiles == 2
    j(X.astype(np.float32), W)  # new dtype
    assert j.compiles == 3
    j(X[:2], W[:2])
    assert j.compiles == 3


def test_static_arguments_key_the_cache() -> None:
    def power(x, n, *, mode):
        out = x
        for _ in range(n - 1):  # Python control flow on static values is fine
            out = out * x
        return out if mode == "plain" else -out

    j = riesz.jit(power, static_argnums=1, static_argnames="mode")
    assert j(2.0, 3, mode="plain") == 8.0
    assert j(2.0, 4, mode="plain") == 16.0
    assert j(2.0, 4, mode="neg") == -16.0
    assert j(3.0, 4, mode="neg") == -81.0
    assert j.compiles == 3
    with pytest.raises(TypeError, match="static argument 1 of type list is not hashable"):
        j(2.0, [1], mode="plain")


def test_non_array_argument_needs_static() -> None:
    with pytest.raises(TypeError, match="mark its argument static"):
        riesz.jit(lambda x, s: x)(1.0, "a")


@pytest.mark.parametrize("body, what", [
    (lambda x: x if x > 0 else -x, "bool()"),
    (lambda x: float(x) * 2, "float()"),
    (lambda x: rnp.ones(3)[int(x)], "int()"),
    (lambda x: rnp.zeros(int(x)), "int()"),
    (lambda x: np.asarray(x), "converting to a NumPy array"),
])
def test_concretization_errors_name_operation_and_fixes(body, what) -> None:
    with pytest.raises(riesz.ConcretizationError) as info:
        riesz.jit(body)(np.float64(1.0))
    msg = str(info.value)
    assert what in msg and "static_argnums" in msg and "riesz.cond" in msg
    assert isinstance(info.value, TypeError)


def test_concretization_error_inside_grad_under_jit() -> None:
    def g(x):
        return x if x > 0 else -x

    with pytest.raises(riesz.ConcretizationError, match="bool"):
        riesz.jit(riesz.grad(g))(1.0)


def test_graph_printing_and_passes() -> None:
    def h(x):
        a = rnp.sin(x) * 2.0
        b = rnp.sin(x) * 2.0  # common subexpression
        rnp.exp(x)  # dead
        return a + b

    raw = riesz.make_graph(h)(X)
    text = repr(raw)
    assert "sin a" in text and "exp a" in text and "f64[3]" in text
    assert [e.prim.name for e in raw.eqns].count("sin") == 2
    opt = riesz.jit(h).graph(X)
    assert [e.prim.name for e in opt.eqns] == ["sin", "multiply", "add"]
    np.testing.assert_allclose(riesz.jit(h)(X), 4 * np.sin(X))
    src = riesz.jit(h).source(X)
    assert "bind" not in src
    assert sum(" = f" in line for line in src.splitlines()) == 3  # one call per equation


def test_constant_folding() -> None:
    prims = riesz.registry()
    c, x, s, y = (Var(i, ShapedArray((3,), np.float64)) for i in range(4))
    const = np.array([0.0, 1.0, 2.0])
    graph = Graph([x], [c], [const], [
        Eqn(prims["sin"], [c], [s], {}),
        Eqn(prims["multiply"], [s, x], [y], {}),
    ], [y])
    opt = optimize(graph)
    assert [e.prim.name for e in opt.eqns] == ["multiply"]
    np.testing.assert_allclose(opt.consts[0], np.sin(const))


def test_closure_over_outer_tracer_and_nested_jit() -> None:
    # the jitted function closes over grad's tracer: evaluated by bind, not cached
    d = riesz.grad(lambda x: riesz.jit(lambda y: x * rnp.sin(y))(2.0))(3.0)
    assert d == pytest.approx(np.sin(2.0))
    inner = riesz.jit(lambda y: rnp.exp(y) * y)
    outer = riesz.jit(lambda y: inner(y) + inner(2 * y))
    assert outer(0.5) == pytest.approx(np.exp(0.5) * 0.5 + np.exp(1.0))
    assert riesz.grad(outer)(0.5) == pytest.approx(
        fd_grad(lambda y: np.exp(y) * y + np.exp(2 * y) * 2 * y, np.array(0.5)), rel=1e-7)


def test_custom_rules_survive_jit() -> None:
    @riesz.custom_vjp
    def clipped(x):
        return rnp.sin(x)

    clipped.defvjp(lambda x: (rnp.sin(x), None), lambda res, g: (3.0 * g,))
    assert riesz.grad(riesz.jit(clipped))(0.4) == pytest.approx(3.0)
    assert riesz.jit(riesz.grad(clipped))(0.4) == pytest.approx(3.0)
    assert riesz.jit(clipped)(0.4) == pytest.approx(np.sin(0.4))


def test_constant_outputs_are_fresh_and_pytrees_round_trip() -> None:
    const = np.arange(3.0)
    j = riesz.jit(lambda d: {"y": d["x"] * 2, "c": const})
    out = j({"x": X})
    np.testing.assert_allclose(out["y"], 2 * X)
    out["c"][0] = 99.0
    assert j({"x": X})["c"][0] == 0.0 and const[0] == 0.0


def test_escaped_graph_tracer() -> None:
    leaked = []
    riesz.jit(lambda x: leaked.append(x) or x)(1.0)
    with pytest.raises(riesz.EscapedTracerError):
        leaked[0] + 1.0


def test_buffer_reuse_only_where_safe() -> None:
    def h(x):
        a = rnp.sin(x) * 2.0  # sin(x) dies at the product: its buffer is reused
        v = a.reshape(2, 2)  # a view of a: a must not be overwritten
        b = rnp.exp(x)
        c = rnp.cos(b) + a  # cos(b)'s buffer takes the sum, not a's
        return c, v * 1.0, b.reshape(2, 2)

    x = np.linspace(0.1, 0.9, 4)
    src = riesz.jit(h).source(x)
    assert "out=" in src
    _close(h(x), riesz.jit(h)(x))
    _close(h(x + 1), riesz.jit(h)(x + 1))


@pytest.mark.parametrize("fused_is_slow", [True, False])
def test_fused_code_is_kept_only_where_it_is_faster(fused_is_slow) -> None:
    # after the switch to fused code the two codes take turns, _TRIALS calls each, then
    # the faster (by its fastest call) runs alone and is the source shown: fused kernels
    # call scalar libm tanh where NumPy's loop is SIMD, and lost 2x on an MLP's gradient
    ran = []

    def code(name, pause):
        def run(x):
            ran.append(name)
            time.sleep(pause)
            return x + 1.0
        run.source = name
        return run

    plain = code("plain", 0.004 if not fused_is_slow else 0.0)
    fused = code("fused", 0.004 if fused_is_slow else 0.0)
    shown = [code("tiered", 0.0)]
    run = staged._faster(plain, fused, shown)
    assert run.source == "fused"
    for i in range(2 * fusion.TRIALS + 4):
        assert run(float(i)) == i + 1.0
    want = "plain" if fused_is_slow else "fused"
    assert ran[: 2 * fusion.TRIALS] == ["fused", "plain"] * fusion.TRIALS
    assert ran[2 * fusion.TRIALS:] == [want] * 4
    assert run.source == shown[0].source == want


def test_default_jit_gives_eager_values_through_the_fusion_trials(monkeypatch) -> None:
    pytest.importorskip("numba")
    monkeypatch.setattr(riesz.fusion, "COMPILE_S_PER_OP", 1e-9)  # fused code at the 2nd call

    def loss(w, x):
        h = rnp.tanh(x @ w + 0.5)
        return rnp.sum(h * h - rnp.exp(-h))

    rng = np.random.default_rng(0)
    w, x = rng.standard_normal((6, 5)), rng.standard_normal((4, 6))
    f = riesz.jit(riesz.value_and_grad(loss))
    want = riesz.value_and_grad(loss)(w, x)
    for _ in range(2 * fusion.TRIALS + 3):
        _close(want, f(w, x), rtol=1e-13)
    assert f.source(w, x) in (riesz.jit(riesz.value_and_grad(loss), fuse=False).source(w, x),
                              riesz.jit(riesz.value_and_grad(loss), fuse=True).source(w, x))


def test_implicit_layer_under_jit_both_orders() -> None:
    from riesz import implicit

    def f(x):  # y* = cos(x y*)
        return implicit.fixed_point(lambda x, y: rnp.cos(x * y), x, np.array(0.5))

    def y_np(x):
        y = 0.5
        for _ in range(200):
            y = np.cos(x * y)
        return y

    fd = fd_grad(lambda x: y_np(float(x)), np.array(1.0))
    assert riesz.jit(f)(1.0) == pytest.approx(y_np(1.0), rel=1e-8)
    assert riesz.grad(riesz.jit(f))(1.0) == pytest.approx(fd, rel=1e-6)
    assert riesz.jit(riesz.grad(f))(1.0) == pytest.approx(fd, rel=1e-6)


def test_long_graphs_compile_in_chunks_with_constants_and_crossing_values() -> None:
    # > 500 equations: the code is split into functions passing values through a list;
    # constants closed over, values used far from where they are made, several outputs
    consts = [np.full(3, 0.1 * k) for k in range(40)]

    def long(x, y):
        keep = []
        for k in range(300):
            x = rnp.sin(x) * 0.99 + consts[k % 40]
            if k % 50 == 0:
                keep.append(x * y)
        return x + sum(keep), keep[1], y

    x0, y0 = np.linspace(0.1, 0.5, 3), np.array([1.0, -2.0, 0.5])
    j = riesz.jit(long)
    assert len(j.graph(x0, y0)) > 600 and "def chunk1(R)" in j.source(x0, y0)
    _close(long(x0, y0), j(x0, y0), rtol=1e-14)
    _close(long(x0 + 1, y0), j(x0 + 1, y0), rtol=1e-14)
    g = riesz.jit(riesz.grad(lambda x: rnp.sum(long(x, y0)[0])))
    assert "def chunk1(R)" in g.source(x0)
    np.testing.assert_allclose(g(x0), riesz.grad(lambda x: rnp.sum(long(x, y0)[0]))(x0),
                               rtol=1e-12)


def test_matrix_times_a_batch_of_vectors_is_one_matrix_product() -> None:
    # vmap of A @ x stacks the vectors as columns (B, n, 1); the code multiplies them
    # in one matrix product (one GEMM instead of B GEMVs) with the same values
    rng = np.random.default_rng(3)
    A, B = rng.standard_normal((5, 4)), rng.standard_normal((4, 4))
    xs = rng.standard_normal((6, 4))

    def g(x):
        return rnp.sum(rnp.tanh(A @ rnp.tanh(B @ x)))

    j = riesz.jit(riesz.vmap(lambda x: A @ x))
    np.testing.assert_allclose(j(xs), xs @ A.T, rtol=1e-14)
    from riesz.staged import _matrix_times_columns

    src_fns = {v.__name__ for v in j._cache[next(iter(j._cache))].run.__globals__.values()
               if callable(v) and hasattr(v, "__name__")}
    assert _matrix_times_columns.__name__ in src_fns
    h = riesz.jit(riesz.hessian(g))(xs[0])
    np.testing.assert_allclose(h, riesz.hessian(g)(xs[0]), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(h, h.T, rtol=1e-12, atol=1e-14)
