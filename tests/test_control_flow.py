"""riesz.cond / while_loop / fori_loop / scan (SPEC §15): values against plain
Python loops, derivatives (both modes, through while_loop too) against finite
differences, vmap with batched predicates against a loop over examples, jet
against nested JVPs, and their staging under jit."""

from __future__ import annotations

import numpy as np
import pytest

import riesz
import riesz.numpy as rnp
from finite_differences import fd_grad


def grow(x):
    """Iterate x <- 1.5 x + sin x until it exceeds 10 (trip count depends on x)."""
    return riesz.while_loop(lambda v: v < 10.0, lambda v: 1.5 * v + rnp.sin(v), x)


def grow_py(x):
    while x < 10.0:
        x = 1.5 * x + np.sin(x)
    return x


@pytest.mark.parametrize("x0", [0.7, 3.0, 9.9, 12.0])
def test_while_loop_value_and_derivatives(x0) -> None:
    assert grow(x0) == pytest.approx(grow_py(x0), rel=1e-15)
    fd = fd_grad(lambda x: grow_py(float(x)), np.array(x0))
    assert riesz.grad(grow)(x0) == pytest.approx(fd, rel=1e-6)  # reverse mode
    assert riesz.jvp(grow, (x0,), (1.0,))[1] == pytest.approx(fd, rel=1e-6)
    assert riesz.grad(riesz.grad(grow))(x0) == pytest.approx(
        fd_grad(lambda x: riesz.grad(grow)(float(x)), np.array(x0)), rel=1e-5, abs=1e-8)


def test_while_loop_pytree_carry_and_jet() -> None:
    def f(x):
        n, v = riesz.while_loop(lambda c: c[0] < 4, lambda c: (c[0] + 1, rnp.sin(c[1]) + c[1]),
                                (0, x))
        return v

    _, (d1, d2) = riesz.jet(f, (0.3,), ((1.0, 0.0),))
    dd = riesz.grad(riesz.grad(f))
    assert d1 == pytest.approx(riesz.grad(f)(0.3), rel=1e-12)
    assert d2 == pytest.approx(dd(0.3), rel=1e-10)


def test_vmap_while_loop_with_batched_predicate() -> None:
    xs = np.array([0.7, 3.0, 12.0, 9.9])
    np.testing.assert_allclose(riesz.vmap(grow)(xs), [grow_py(x) for x in xs], rtol=1e-15)
    np.testing.assert_allclose(riesz.vmap(riesz.grad(grow))(xs),
                               [riesz.grad(grow)(float(x)) for x in xs], rtol=1e-12)
    np.testing.assert_allclose(riesz.grad(lambda v: rnp.sum(riesz.vmap(grow)(v)))(xs),
                               fd_grad(lambda v: sum(grow_py(x) for x in v), xs), rtol=1e-6)


@pytest.mark.parametrize("x0", [0.7, 3.0, 12.0])
def test_while_loop_under_jit_is_one_staged_equation(x0) -> None:
    j = riesz.jit(grow)
    assert j(x0) == pytest.approx(grow_py(x0), rel=1e-15)
    assert j(x0 / 3) == pytest.approx(grow_py(x0 / 3), rel=1e-15)  # another trip count
    assert j.compiles == 1
    graph = j.graph(x0)
    assert len(graph) == 1 and "custom_call[fn=while_loop" in repr(graph)  # not unrolled
    # transformations of the jitted function run the loop on their tracers: reverse mode
    # records the trip count and the carries
    fd = fd_grad(lambda x: grow_py(float(x)), np.array(x0))
    assert riesz.grad(j)(x0) == pytest.approx(fd, rel=1e-6)
    assert riesz.jvp(j, (x0,), (1.0,))[1] == pytest.approx(fd, rel=1e-6)
    assert riesz.hessian(j)(x0) == pytest.approx(riesz.hessian(grow)(x0), rel=1e-12)
    _, (d1, d2) = riesz.jet(j, (x0,), ((1.0, 0.0),))
    _, (e1, e2) = riesz.jet(grow, (x0,), ((1.0, 0.0),))
    assert (d1, d2) == pytest.approx((e1, e2), rel=1e-12)


def test_vmap_of_a_jitted_while_loop_selects_per_example() -> None:
    xs = np.array([0.7, 3.0, 12.0, 9.9])
    j = riesz.jit(grow)
    np.testing.assert_allclose(riesz.vmap(j)(xs), [grow_py(x) for x in xs], rtol=1e-15)
    np.testing.assert_allclose(riesz.vmap(riesz.grad(j))(xs),
                               [riesz.grad(grow)(float(x)) for x in xs], rtol=1e-12)


def test_fori_loop_with_traced_bounds_under_jit() -> None:
    def power(x, n):
        return riesz.fori_loop(0, n, lambda i, v: v * x + i, 1.0)

    def power_py(x, n):
        v = 1.0
        for i in range(n):
            v = v * x + i
        return v

    j, jg = riesz.jit(power), riesz.jit(riesz.grad(power))
    for n in (0, 5, 7):  # the trip count is a run-time value: one compile
        assert j(1.3, n) == pytest.approx(power_py(1.3, n), rel=1e-14)
        fd = fd_grad(lambda x, n=n: power_py(float(x), n), np.array(1.3))
        assert riesz.grad(j)(1.3, n) == pytest.approx(fd, rel=1e-7)
        assert jg(1.3, n) == pytest.approx(fd, rel=1e-7)
    assert j.compiles == 2  # plain numbers, then grad's arrays
    assert jg.compiles == 1


def test_while_loop_under_jit_errors() -> None:
    with pytest.raises(TypeError, match="body_fn must return a carry"):
        riesz.jit(lambda x: riesz.while_loop(lambda v: v < 1.0, lambda v: v.astype(
            np.float32) + 1, x))(np.float64(0.5))
    # a predicate on a static value is fine under jit
    j = riesz.jit(lambda x, n: riesz.while_loop(lambda c: c[0] < n,
                                                 lambda c: (c[0] + 1, c[1] * x), (0, 1.0))[1],
                  static_argnums=1)
    assert j(2.0, 5) == 32.0


def _eqns_named(graph, name: str) -> list:
    return [e for e in graph.eqns if getattr(e.params.get("fn"), "__name__", "") == name]


@pytest.mark.parametrize("x0", [0.7, 3.0, 9.9, 12.0])
def test_jit_grad_through_a_traced_while_loop(x0) -> None:
    """Reverse mode inside jit: the backward part is one equation that records the
    trip count and the body's residuals at run time; higher orders too."""
    fd = fd_grad(lambda x: grow_py(float(x)), np.array(x0))
    jg = riesz.jit(riesz.grad(grow))
    assert jg(x0) == pytest.approx(fd, rel=1e-6)
    assert jg(x0) == pytest.approx(riesz.grad(grow)(x0), rel=1e-14)
    graph = jg.graph(x0)
    assert len(_eqns_named(graph, "while_loop_vjp")) == 1 and len(graph) < 4  # not unrolled
    g = riesz.grad(grow)
    fd2 = fd_grad(lambda x: g(float(x)), np.array(x0))
    second = riesz.grad(g)(x0)
    assert second == pytest.approx(fd2, rel=1e-5, abs=1e-8)
    for d2 in (riesz.jit(riesz.hessian(grow)), riesz.jit(riesz.grad(g)), riesz.grad(jg),
               riesz.jit(lambda x: riesz.jvp(g, (x,), (1.0,))[1])):
        assert d2(x0) == pytest.approx(second, rel=1e-12, abs=1e-14)
    third = riesz.grad(riesz.grad(g))(x0)
    assert riesz.jit(riesz.grad(riesz.grad(g)))(x0) == pytest.approx(third, rel=1e-12, abs=1e-14)


def test_jit_grad_and_hessian_of_while_loop_with_closure_pytree_and_int_counter() -> None:
    def f(x, w):
        n, v = riesz.while_loop(lambda c: rnp.sum(c[1]) < 20.0,
                                lambda c: (c[0] + 1, c[1] * w + 0.1 * rnp.sin(c[1])), (0, x))
        return rnp.sum(v ** 2) * n

    def f_py(x, w):
        n, v = 0, x
        while np.sum(v) < 20.0:
            n, v = n + 1, v * w + 0.1 * np.sin(v)
        return np.sum(v ** 2) * n

    x, w = np.array([0.5, 1.0]), np.array([1.2, 1.1])
    jg = riesz.jit(riesz.grad(f, argnums=(0, 1)))
    np.testing.assert_allclose(jg(x, w)[0], fd_grad(lambda u: f_py(u, w), x), rtol=1e-6)
    np.testing.assert_allclose(jg(x, w)[1], fd_grad(lambda u: f_py(x, u), w), rtol=1e-6)
    assert jg.compiles == 1
    x2 = np.array([3.0, 4.0])  # another trip count, the same compiled function
    np.testing.assert_allclose(jg(x2, w)[0], fd_grad(lambda u: f_py(u, w), x2), rtol=1e-6)
    assert jg.compiles == 1
    h = riesz.jit(riesz.hessian(f, argnums=(0, 1)))(x, w)
    h_eager = riesz.hessian(f, argnums=(0, 1))(x, w)
    for a, b in zip(h, h_eager, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    u = np.array([0.3, -0.7])
    np.testing.assert_allclose(h[0][0] @ u, fd_grad(lambda y: riesz.grad(f)(y, w) @ u, x),
                               rtol=1e-5)
    np.testing.assert_allclose(u @ h[0][1], fd_grad(lambda q: riesz.grad(f)(x, q) @ u, w),
                               rtol=1e-5)
    # vmap of the jitted gradient: a predicate per example
    xs = np.array([[0.5, 1.0], [3.0, 4.0], [15.0, 6.0]])
    np.testing.assert_allclose(riesz.vmap(riesz.jit(riesz.grad(f)), in_axes=(0, None))(xs, w),
                               [riesz.grad(f)(r, w) for r in xs], rtol=1e-12)



def damped(x, w):
    """A dict carry (int counter, vector, scalar) whose trip count depends on x."""
    def body(c):
        v = rnp.tanh(c["v"] * w) + 0.5 * c["v"] + 0.1 * rnp.sin(c["v"]) * c["s"]
        return {"n": c["n"] + 1, "v": v, "s": c["s"] * 1.1 + 0.01 * rnp.sum(v)}

    c = riesz.while_loop(lambda c: rnp.sum(c["v"] ** 2) + c["s"] < 40.0, body,
                         {"n": 0, "v": x, "s": rnp.sum(x) * 0.0 + 1.0})
    return rnp.sum(c["v"] ** 2) + c["s"] * c["n"]


def damped_py(x, w):
    n, v, s = 0, x, 1.0
    while np.sum(v ** 2) + s < 40.0:
        v = np.tanh(v * w) + 0.5 * v + 0.1 * np.sin(v) * s
        n, s = n + 1, s * 1.1 + 0.01 * np.sum(v)
    return np.sum(v ** 2) + s * n, n


def _count_predicates(graph) -> list[int]:
    """Wrap the compiled predicate of each staged loop in `graph` with a counter:
    every run of a forward loop evaluates it trip count + 1 times (a backward loop
    never does)."""
    count = [0]
    loops = {id(e.params["fn"].loop): e.params["fn"].loop for e in graph.eqns
             if hasattr(e.params.get("fn"), "loop")}
    for w in loops.values():
        def counted(xs, cond_g=w.cond_g):
            count[0] += 1
            return cond_g(xs)
        w.cond_g = counted
    return count


@pytest.mark.parametrize("x0", [[0.5, 1.0, -0.3], [2.0, -1.5, 0.7], [7.0, 0.0, 0.0]])
def test_jit_value_and_grad_of_while_loop_runs_the_forward_loop_once(x0) -> None:
    """Under jit, reverse mode replaces the loop by one forward equation that also
    records the body's residuals (the tape) for the backward equation: the value
    and the gradient come from one forward loop (not one for the value and one
    more inside the VJP), for value_and_grad and for grad alone."""
    x, w = np.array(x0), np.array([1.2, 0.9, 1.05])
    value, trips = damped_py(x, w)
    fd_x = fd_grad(lambda u: damped_py(u, w)[0], x)
    fd_w = fd_grad(lambda u: damped_py(x, u)[0], w)
    eager = riesz.value_and_grad(damped, argnums=(0, 1))(x, w)
    for jf, with_value in ((riesz.jit(riesz.value_and_grad(damped, argnums=(0, 1))), True),
                           (riesz.jit(riesz.grad(damped, argnums=(0, 1))), False)):
        graph = jf.graph(x, w)
        assert not _eqns_named(graph, "while_loop")  # the loop runs in the forward part only
        assert len(_eqns_named(graph, "while_loop_fwd")) == 1
        assert len(_eqns_named(graph, "while_loop_vjp")) == 1
        count = _count_predicates(graph)
        got = jf(x, w)
        assert count[0] == trips + 1  # one forward loop
        v, (gx, gw) = got if with_value else (eager[0], got)
        assert v == pytest.approx(value, rel=1e-13)
        np.testing.assert_allclose(gx, fd_x, rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(gw, fd_w, rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(gx, eager[1][0], rtol=1e-13, atol=1e-14)
        np.testing.assert_allclose(gw, eager[1][1], rtol=1e-13, atol=1e-14)


def test_jit_value_and_grad_of_while_loop_composes() -> None:
    """The forward equation with its tape under the other transformations: grad of
    the jitted gradient, jacfwd of it, and vmap with a predicate per example, against
    the eager derivatives."""
    w = np.array([1.2, 0.9, 1.05])
    x = np.array([0.5, 1.0, -0.3])
    jvg = riesz.jit(riesz.value_and_grad(damped))
    g = riesz.grad(damped)
    h = riesz.jacfwd(g)(x, w)
    assert riesz.grad(lambda u: jvg(u, w)[1] @ w)(x) == pytest.approx(h @ w, rel=1e-12)
    np.testing.assert_allclose(riesz.jacfwd(lambda u: jvg(u, w)[1])(x), h, rtol=1e-12)
    np.testing.assert_allclose(riesz.jit(riesz.jacfwd(lambda u: riesz.value_and_grad(
        damped)(u, w)[1]))(x), h, rtol=1e-12)
    xs = np.array([[0.5, 1.0, -0.3], [2.0, -1.5, 0.7], [7.0, 0.0, 0.0]])
    vs, gs = riesz.vmap(jvg, in_axes=(0, None))(xs, w)
    np.testing.assert_allclose(vs, [damped_py(r, w)[0] for r in xs], rtol=1e-13)
    np.testing.assert_allclose(gs, [g(r, w) for r in xs], rtol=1e-12)


def branchy(x):
    return riesz.cond(x > 0, lambda y: rnp.sin(y) * y, lambda y: y ** 3, x)


@pytest.mark.parametrize("x0", [-0.8, 0.6])
def test_cond_value_grad_and_jit(x0) -> None:
    py = np.sin(x0) * x0 if x0 > 0 else x0 ** 3
    assert branchy(x0) == pytest.approx(py)
    fd = fd_grad(lambda x: np.sin(x) * x if x > 0 else x ** 3, np.array(x0))
    assert riesz.grad(branchy)(x0) == pytest.approx(fd, rel=1e-7)
    assert riesz.jit(branchy)(x0) == pytest.approx(py)
    assert riesz.jit(riesz.grad(branchy))(x0) == pytest.approx(fd, rel=1e-7)
    assert riesz.grad(riesz.jit(branchy))(x0) == pytest.approx(fd, rel=1e-7)


def test_vmap_cond_selects_per_example() -> None:
    xs = np.array([-0.8, 0.6, -2.0, 1.5])
    np.testing.assert_allclose(riesz.vmap(branchy)(xs), [branchy(float(x)) for x in xs])
    np.testing.assert_allclose(riesz.vmap(riesz.grad(branchy))(xs),
                               [riesz.grad(branchy)(float(x)) for x in xs], rtol=1e-14)


def test_cond_branch_mismatch_is_an_error() -> None:
    with pytest.raises(TypeError, match="different structures"):
        riesz.vmap(lambda x: riesz.cond(x > 0, lambda y: (y, y), lambda y: y, x))(np.ones(2))
    with pytest.raises(TypeError, match="scalar"):
        riesz.cond(np.array([True, False]), lambda: 1.0, lambda: 2.0)


def power_loop(x):
    return riesz.fori_loop(1, 6, lambda i, v: v * x + i, 1.0)


def test_fori_loop_value_grad_and_jit() -> None:
    def py(x):
        v = 1.0
        for i in range(1, 6):
            v = v * x + i
        return v

    assert power_loop(1.3) == pytest.approx(py(1.3))
    fd = fd_grad(lambda x: py(float(x)), np.array(1.3))
    assert riesz.grad(power_loop)(1.3) == pytest.approx(fd, rel=1e-7)
    j = riesz.jit(riesz.grad(power_loop))
    assert j(1.3) == pytest.approx(fd, rel=1e-7)
    assert len(j.graph(1.3)) > 5  # unrolled into the graph


def test_fori_loop_batched_bounds() -> None:
    ns = np.array([0, 1, 4])
    out = riesz.vmap(lambda n: riesz.fori_loop(0, n, lambda i, v: v * 2.0 + i, 1.0))(ns)

    def py(n):
        v = 1.0
        for i in range(n):
            v = v * 2.0 + i
        return v

    np.testing.assert_allclose(out, [py(n) for n in ns])


def rnn(h0, xs, w):
    def step(h, x):
        h = rnp.tanh(w * h + x)
        return h, h * h

    h, ys = riesz.scan(step, h0, xs)
    return h + rnp.sum(ys)


def rnn_py(h0, xs, w):
    h, total = h0, 0.0
    for x in xs:
        h = np.tanh(w * h + x)
        total += h * h
    return h + total


XS = np.linspace(-1.0, 1.0, 7)


def test_scan_value_and_grads_vs_finite_differences() -> None:
    assert rnn(0.2, XS, 0.9) == pytest.approx(rnn_py(0.2, XS, 0.9), rel=1e-14)
    fd = fd_grad(lambda xs: rnn_py(0.2, xs, 0.9), XS)
    np.testing.assert_allclose(riesz.grad(rnn, argnums=1)(0.2, XS, 0.9), fd, rtol=1e-6)
    np.testing.assert_allclose(riesz.jit(riesz.grad(rnn, argnums=1))(0.2, XS, 0.9), fd,
                               rtol=1e-6)
    np.testing.assert_allclose(riesz.grad(riesz.jit(rnn), argnums=1)(0.2, XS, 0.9), fd,
                               rtol=1e-6)
    dw = fd_grad(lambda w: rnn_py(0.2, XS, float(w)), np.array(0.9))
    assert riesz.jvp(lambda w: rnn(0.2, XS, w), (0.9,), (1.0,))[1] == pytest.approx(dw, rel=1e-6)


def test_scan_reverse_pytrees_and_length() -> None:
    xs = {"a": np.arange(4.0), "b": np.ones((4, 2))}
    carry, ys = riesz.scan(lambda c, x: (c + x["a"], (c, x["b"] * c)), 0.0, xs, reverse=True)
    assert carry == 6.0
    np.testing.assert_allclose(ys[0], [6.0, 5.0, 3.0, 0.0])  # carries seen, last slice first
    np.testing.assert_allclose(ys[1], np.ones((4, 2)) * [[6.0], [5.0], [3.0], [0.0]])
    carry, ys = riesz.scan(lambda c, _: (c * 2, None), 1.0, None, length=5)
    assert carry == 32.0 and ys is None
    with pytest.raises(ValueError, match="disagree"):
        riesz.scan(lambda c, x: (c, x), 0.0, np.ones(3), length=4)


def test_vmap_scan_matches_loop() -> None:
    ws = np.array([0.5, 0.9, -0.3])
    np.testing.assert_allclose(riesz.vmap(lambda w: rnn(0.2, XS, w))(ws),
                               [rnn_py(0.2, XS, w) for w in ws], rtol=1e-14)


def _scan_eqns(graph) -> list:
    return [e for e in graph.eqns if type(e.params.get("fn")).__name__ == "_Scan"]


def test_scan_under_jit_is_one_equation_compiled_once() -> None:
    """The body is staged once: the graph's size does not grow with the length."""
    j = riesz.jit(rnn)
    assert j(0.2, XS, 0.9) == pytest.approx(rnn_py(0.2, XS, 0.9), rel=1e-14)
    long_xs = np.linspace(-1.0, 1.0, 200)
    assert j(0.2, long_xs, 0.9) == pytest.approx(rnn_py(0.2, long_xs, 0.9), rel=1e-13)
    short, long_ = j.graph(0.2, XS, 0.9), j.graph(0.2, long_xs, 0.9)
    assert len(_scan_eqns(short)) == 1 and len(short) == len(long_) < 10
    # reverse mode inside jit: one forward and one backward scan, not 200 bodies
    jg = riesz.jit(riesz.grad(rnn, argnums=(0, 1, 2)))
    assert len(_scan_eqns(jg.graph(0.2, long_xs, 0.9))) == 2
    assert len(jg.graph(0.2, long_xs, 0.9)) == len(jg.graph(0.2, XS, 0.9))


def test_scan_unroll_stages_the_whole_loop_with_the_same_values() -> None:
    """unroll=True (or an int >= length) puts every iteration in the graph; the values
    and gradients equal the looped scan's; other unroll values are checked."""
    def rnn_unrolled(h0, xs, w, unroll):
        def step(h, x):
            h = rnp.tanh(w * h + x)
            return h, h * h

        h, ys = riesz.scan(step, h0, xs, unroll=unroll)
        return h + rnp.sum(ys)

    for unroll in (True, len(XS)):
        j = riesz.jit(lambda h0, xs, w, u=unroll: rnn_unrolled(h0, xs, w, u))
        assert not _scan_eqns(j.graph(0.2, XS, 0.9))
        assert j(0.2, XS, 0.9) == pytest.approx(rnn_py(0.2, XS, 0.9), rel=1e-14)
        g = riesz.jit(riesz.grad(lambda h0, xs, w, u=unroll: rnn_unrolled(h0, xs, w, u),
                                 argnums=(0, 2)))(0.2, XS, 0.9)
        want = riesz.grad(rnn, argnums=(0, 2))(0.2, XS, 0.9)
        np.testing.assert_allclose(g, want, rtol=1e-12)
    looped = riesz.jit(lambda h0, xs, w: rnn_unrolled(h0, xs, w, 2))  # partial: a loop
    assert len(_scan_eqns(looped.graph(0.2, XS, 0.9))) == 1
    for bad in (0, -1, 1.5, "yes"):
        with pytest.raises(TypeError, match="unroll"):
            rnn_unrolled(0.2, XS, 0.9, bad)


@pytest.mark.parametrize("reverse", [False, True])
def test_jit_scan_derivatives_vs_finite_differences(reverse) -> None:
    """jit(grad), grad(jit), jvp(jit), hessian of a jitted scan against finite
    differences of a plain loop, a pytree carry and pytree xs and ys, reverse too."""
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal(5), rng.standard_normal((5, 2))

    def f(w, a, b):
        def step(c, x):
            h, s = c["h"], c["s"]
            h = rnp.tanh(w[0] * h + x[0] + w[1] * x[1])
            return {"h": h, "s": s + rnp.sum(rnp.sin(h))}, (h * h, x[1] * h)

        c, (y1, y2) = riesz.scan(step, {"h": np.zeros(2), "s": 0.5}, (a, b), reverse=reverse)
        return rnp.sum(c["h"]) * c["s"] + rnp.sum(y1 * y1) + rnp.sum(y2)

    def f_py(w, a, b):
        h, s, total = np.zeros(2), 0.5, 0.0
        for k in (range(4, -1, -1) if reverse else range(5)):
            h = np.tanh(w[0] * h + a[k] + w[1] * b[k])
            s = s + np.sum(np.sin(h))
            total += np.sum(h ** 4) + np.sum(b[k] * h)
        return np.sum(h) * s + total

    w = np.array([0.7, -0.4])
    assert riesz.jit(f)(w, a, b) == pytest.approx(f_py(w, a, b), rel=1e-13)
    assert len(_scan_eqns(riesz.jit(f).graph(w, a, b))) == 1
    for argnum, x in ((0, w), (1, a), (2, b)):
        def g(v, argnum=argnum):
            args = [w, a, b]
            args[argnum] = v
            return f_py(*args)

        fd = fd_grad(g, x)
        np.testing.assert_allclose(riesz.jit(riesz.grad(f, argnums=argnum))(w, a, b), fd,
                                   rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(riesz.grad(riesz.jit(f), argnums=argnum)(w, a, b), fd,
                                   rtol=1e-6, atol=1e-8)
    u = np.array([0.3, -1.1])
    t_jit = riesz.jit(lambda w: riesz.jvp(lambda v: f(v, a, b), (w,), (u,))[1])(w)
    assert t_jit == pytest.approx(fd_grad(lambda v: f_py(v, a, b), w) @ u, rel=1e-6)
    h_eager = riesz.hessian(lambda v: f(v, a, b))(w)
    np.testing.assert_allclose(riesz.jit(riesz.hessian(lambda v: f(v, a, b)))(w), h_eager,
                               rtol=1e-10)
    np.testing.assert_allclose(h_eager, h_eager.T, rtol=1e-10)
    np.testing.assert_allclose(h_eager @ u, fd_grad(
        lambda v: riesz.grad(lambda q: f(q, a, b))(v) @ u, w), rtol=1e-5)


def test_jit_scan_vmap_jet_and_length_only() -> None:
    ws = np.array([0.5, 0.9, -0.3])
    expect = [rnn_py(0.2, XS, w) for w in ws]
    np.testing.assert_allclose(riesz.vmap(riesz.jit(lambda w: rnn(0.2, XS, w)))(ws), expect,
                               rtol=1e-14)
    np.testing.assert_allclose(riesz.jit(riesz.vmap(lambda w: rnn(0.2, XS, w)))(ws), expect,
                               rtol=1e-14)
    # jet of the jitted scan against the eager jet (itself checked against nested JVPs)
    coeffs = ([1.0, 0.5, -0.2],)
    eager = riesz.jet(lambda w: rnn(0.2, XS, w), (0.9,), coeffs)
    staged = riesz.jet(riesz.jit(lambda w: rnn(0.2, XS, w)), (0.9,), coeffs)
    assert staged[0] == pytest.approx(eager[0], rel=1e-14)
    np.testing.assert_allclose(staged[1], eager[1], rtol=1e-10)
    # xs=None with a length; the carry's derivative through 5 doublings
    j = riesz.jit(riesz.grad(lambda c: riesz.scan(lambda c, _: (c * c, None), c, None,
                                                   length=3)[0]))
    assert j(1.1) == pytest.approx(8 * 1.1 ** 7, rel=1e-14)
    assert len(_scan_eqns(j.graph(1.1))) == 2


# -- cond under jit: one equation, only the branch taken runs ----------------------------


def _cond_eqns(graph) -> list:
    return [e for e in graph.eqns if type(e.params.get("fn")).__name__ == "_Cond"]


def mixer(x, w, v):
    """Branches of a vector operand that close over different traced values."""
    return riesz.cond(rnp.sum(x) > 0,
                      lambda y: rnp.sum(rnp.sin(w * y) * y),
                      lambda y: rnp.sum(v * y ** 3) + rnp.sum(w),
                      x)


def mixer_py(x, w, v):
    return np.sum(np.sin(w * x) * x) if np.sum(x) > 0 else np.sum(v * x ** 3) + np.sum(w)


X_POS, X_NEG = np.array([0.6, -0.2, 0.9]), np.array([-0.7, 0.3, -0.4])
W, V = np.array([1.3, -0.4, 0.8]), np.array([0.5, 2.0, -1.5])


@pytest.mark.parametrize("x", [X_POS, X_NEG])
def test_jit_cond_values_and_gradients_vs_finite_differences(x) -> None:
    j = riesz.jit(mixer)
    assert j(x, W, V) == pytest.approx(mixer_py(x, W, V), rel=1e-14)
    graph = j.graph(x, W, V)
    assert len(_cond_eqns(graph)) == 1
    assert not [e for e in graph.eqns if e.prim.name in ("sin", "power")]  # not inlined
    for argnum, at in ((0, x), (1, W), (2, V)):
        def py(u, argnum=argnum):
            args = [x, W, V]
            args[argnum] = u
            return mixer_py(*args)

        fd = fd_grad(py, at)
        for g in (riesz.jit(riesz.grad(mixer, argnums=argnum)),
                  riesz.grad(riesz.jit(mixer), argnums=argnum)):
            np.testing.assert_allclose(g(x, W, V), fd, rtol=1e-6, atol=1e-9)
    u = np.array([0.3, -1.0, 0.5])
    t = riesz.jit(lambda x: riesz.jvp(lambda y: mixer(y, W, V), (x,), (u,))[1])(x)
    assert t == pytest.approx(fd_grad(lambda y: mixer_py(y, W, V), x) @ u, rel=1e-6)
    h_eager = riesz.hessian(mixer)(x, W, V)
    for h in (riesz.jit(riesz.hessian(mixer)), riesz.hessian(riesz.jit(mixer))):
        np.testing.assert_allclose(h(x, W, V), h_eager, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(h_eager @ u, fd_grad(
        lambda y: riesz.grad(mixer)(y, W, V) @ u, x), rtol=1e-5, atol=1e-8)


def test_jit_grad_of_cond_has_one_forward_and_one_backward_cond() -> None:
    graph = riesz.jit(riesz.grad(mixer, argnums=(0, 1, 2))).graph(X_POS, W, V)
    assert len(_cond_eqns(graph)) == 2
    assert not [e for e in graph.eqns if e.prim.name in ("sin", "cos", "power")]


def safe_sqrt(x):
    return riesz.cond(x > 0, lambda y: rnp.sqrt(y), lambda y: -y, x)


def test_jit_cond_runs_only_the_branch_taken() -> None:
    """sqrt of a negative number in the branch not taken: computing both branches
    and selecting (what cond did under jit before) warns (an error in this suite)
    and gives a NaN gradient (0 * inf); the real cond does neither."""
    j = riesz.jit(safe_sqrt)
    assert j(-4.0) == 4.0 and j(4.0) == 2.0
    for g in (riesz.jit(riesz.grad(safe_sqrt)), riesz.grad(j)):
        assert g(-4.0) == -1.0
        assert g(4.0) == pytest.approx(0.25, rel=1e-15)
    assert riesz.jit(riesz.hessian(safe_sqrt))(-4.0) == 0.0
    assert riesz.jit(riesz.hessian(safe_sqrt))(4.0) == pytest.approx(-1 / 32, rel=1e-14)
    # an unbatched predicate under vmap stays a cond (the batched operands never reach sqrt)
    xs = np.array([-4.0, -1.0, -9.0])
    vg = riesz.jit(riesz.vmap(riesz.grad(lambda x, s: riesz.cond(
        s > 0, lambda y: rnp.sqrt(y), lambda y: -y, x)), in_axes=(0, None)))
    np.testing.assert_array_equal(vg(xs, -1.0), [-1.0, -1.0, -1.0])
    _, (d1, d2) = riesz.jet(j, (-4.0,), ((1.0, 0.5),))
    assert (d1, d2) == (-1.0, -0.5)


def test_jit_cond_under_vmap_batched_and_unbatched_predicate() -> None:
    xs = np.array([-0.8, 0.6, -2.0, 1.5])
    expect = [branchy(float(x)) for x in xs]
    grads = [riesz.grad(branchy)(float(x)) for x in xs]
    # batched predicate: both branches, then a select per example (jax.lax.cond's vmap)
    for f in (riesz.vmap(riesz.jit(branchy)), riesz.jit(riesz.vmap(branchy))):
        np.testing.assert_allclose(f(xs), expect, rtol=1e-15)
    for g in (riesz.vmap(riesz.grad(riesz.jit(branchy))), riesz.jit(riesz.vmap(riesz.grad(
            branchy))), riesz.vmap(riesz.jit(riesz.grad(branchy)))):
        np.testing.assert_allclose(g(xs), grads, rtol=1e-14)

    # unbatched predicate: a cond of the batched branches
    def f(x, s):
        return riesz.cond(s > 0, lambda y: rnp.sin(y) * s, lambda y: rnp.cos(y) + s, x)

    for s, want in ((0.5, 0.5 * np.sin(xs)), (-0.5, np.cos(xs) - 0.5)):
        for fv in (riesz.vmap(riesz.jit(f), in_axes=(0, None)),
                   riesz.jit(riesz.vmap(f, in_axes=(0, None)))):
            np.testing.assert_allclose(fv(xs, s), want, rtol=1e-15)
        graph = riesz.jit(riesz.vmap(f, in_axes=(0, None))).graph(xs, s)
        assert len(_cond_eqns(graph)) == 1
        ds = riesz.jit(riesz.grad(lambda s: rnp.sum(riesz.vmap(f, in_axes=(0, None))(xs, s))))
        assert ds(s) == pytest.approx(np.sum(np.sin(xs)) if s > 0 else len(xs), rel=1e-14)
    # a batched closed-over value, unbatched predicate and operand
    g = riesz.jit(riesz.vmap(lambda w, s: riesz.cond(s > 0, lambda y: y * w, lambda y: y - w,
                                                     2.0), in_axes=(1, None)))
    ws = np.array([[1.0, -1.0], [3.0, 4.0]])  # examples: the columns
    np.testing.assert_allclose(g(ws, 1.0), [[2.0, 6.0], [-2.0, 8.0]])
    np.testing.assert_allclose(g(ws, -1.0), [[1.0, -1.0], [3.0, -2.0]])


def test_jit_cond_jet_against_eager_and_nested_jvp() -> None:
    coeffs = ((1.0, 0.5, -0.2),)
    for x0 in (-0.8, 0.6):
        eager = riesz.jet(branchy, (x0,), coeffs)
        for staged in (riesz.jet(riesz.jit(branchy), (x0,), coeffs),
                       riesz.jit(lambda x: riesz.jet(branchy, (x,), coeffs))(x0)):
            assert staged[0] == pytest.approx(eager[0], rel=1e-15)
            np.testing.assert_allclose(staged[1], eager[1], rtol=1e-13)
        d2 = riesz.grad(riesz.grad(branchy))(x0)
        _, (e1, e2) = riesz.jet(riesz.jit(branchy), (x0,), ((1.0, 0.0),))
        assert e2 == pytest.approx(d2, rel=1e-12)  # y'' = f''(x) for x(t) = x0 + t

    # an output that depends on t in one branch only (a constant in the other)
    def h(x):
        return riesz.cond(x > 0, lambda y: y * y, lambda y: 0.0 * y + 3.0, x)

    _, series = riesz.jet(riesz.jit(h), (-1.0,), ((1.0, 1.0),))
    np.testing.assert_array_equal(series, [0.0, 0.0])
    _, series = riesz.jet(riesz.jit(h), (2.0,), ((1.0, 1.0),))
    np.testing.assert_allclose(series, [4.0, 6.0])  # y = x²: y' = 2x x', y'' = 2x'² + 2x x''


def test_nested_cond_under_jit() -> None:
    def f(x, y):
        return riesz.cond(x > 0,
                          lambda a, b: riesz.cond(b > 0, lambda u: u * b, lambda u: u + b, a),
                          lambda a, b: rnp.exp(a) * b, x, y)

    def f_py(x, y):
        return (x * y if y > 0 else x + y) if x > 0 else np.exp(x) * y

    j, jg = riesz.jit(f), riesz.jit(riesz.grad(f, argnums=(0, 1)))
    assert len(_cond_eqns(j.graph(1.0, 1.0))) == 1
    for x, y in ((1.2, 0.7), (1.2, -0.7), (-0.5, 2.0)):
        assert j(x, y) == pytest.approx(f_py(x, y), rel=1e-15)
        fx = fd_grad(lambda a, y=y: f_py(float(a), y), np.array(x))
        fy = fd_grad(lambda b, x=x: f_py(x, float(b)), np.array(y))
        np.testing.assert_allclose(jg(x, y), (fx, fy), rtol=1e-6)
        np.testing.assert_allclose(riesz.grad(j, argnums=(0, 1))(x, y), (fx, fy), rtol=1e-6)
        np.testing.assert_allclose(riesz.jit(riesz.hessian(f, argnums=(0, 1)))(x, y),
                                   riesz.hessian(f, argnums=(0, 1))(x, y), rtol=1e-12)


def test_jit_cond_pytrees_int_outputs_and_integer_predicate() -> None:
    def f(x, n):
        out = riesz.cond(n, lambda d: {"a": d["a"] * 2.0, "k": d["k"] + 1},
                         lambda d: {"a": rnp.sin(d["a"]), "k": d["k"] - 1},
                         {"a": x, "k": n})
        return out["a"] * out["k"]

    j = riesz.jit(f)
    for n in (0, 3):
        want = (1.5 * 2.0) * 4 if n else np.sin(1.5) * -1
        assert j(1.5, n) == pytest.approx(want, rel=1e-15)
        assert riesz.jit(riesz.grad(f))(1.5, n) == pytest.approx(
            8.0 if n else -np.cos(1.5), rel=1e-15)
    assert j.compiles == 1  # the predicate's value is a run-time value


def test_jit_cond_branch_mismatch_names_both_branches() -> None:
    cases = [
        (lambda y: (y, y), lambda y: y, "same structure; true_fn returns"),
        (lambda y: rnp.ones(3) * y, lambda y: y, r"output 0: true_fn returns f64\[3\], "
                                                r"false_fn returns f64\[\]"),
        (lambda y: y.astype(np.float32), lambda y: y, "true_fn returns f32"),
    ]
    for t, f, match in cases:
        with pytest.raises(TypeError, match=match):
            riesz.jit(lambda x, t=t, f=f: riesz.cond(x > 0, t, f, x))(np.float64(1.0))
    # under vmap with a batched predicate (both branches run, then a select per example)
    with pytest.raises(TypeError, match="true_fn and false_fn return different structures"):
        riesz.vmap(lambda x: riesz.cond(x > 0, lambda y: (y, y), lambda y: y, x))(np.ones(2))
    with pytest.raises(TypeError, match=r"output 0: true_fn returns shape \(3,\), false_fn"):
        riesz.vmap(lambda x: riesz.cond(x > 0, lambda y: rnp.ones(3) * y, lambda y: y, x))(
            np.ones(2))
    # a Python number in one branch takes the other branch's dtype, as in JAX
    g = riesz.jit(lambda x: riesz.cond(x > 0, lambda y: y * 2, lambda y: 0.0, x))
    out = g(np.float32(-1.0))
    assert out == 0.0 and out.dtype == np.float32


def test_jit_grad_of_cond_writes_no_residuals_of_the_branch_not_taken() -> None:
    """The forward cond's slots for the other branch's residuals are zero views on
    arrays: the cheap branch costs no memory for the expensive one's residuals."""
    import tracemalloc

    def heavy(y):
        for _ in range(10):
            y = rnp.sin(y) * 1.01
        return y

    def f(x):
        return rnp.sum(riesz.cond(rnp.sum(x) > 0, heavy, lambda y: y * 2.0, x))

    x = -np.ones(100_000)
    g = riesz.jit(riesz.grad(f), fuse=False)
    np.testing.assert_array_equal(g(x), 2.0)
    tracemalloc.start()
    try:
        np.testing.assert_array_equal(g(x), 2.0)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * x.nbytes  # zeros for the ~20 residuals of heavy would be 20 x.nbytes

    def heavy_py(y):
        for _ in range(10):
            y = np.sin(y) * 1.01
        return np.sum(y)

    y = np.array([0.3, 1.2, 0.5])  # the expensive branch's gradient is still right
    np.testing.assert_allclose(g(y), fd_grad(heavy_py, y), rtol=1e-6)


def test_cond_and_while_reverse_mode_where_the_body_vjp_is_not_split(monkeypatch) -> None:
    """Where a branch's or the body's reverse mode cannot be split into staged
    parts (a rule needing concrete values), the backward equations recompute it
    with riesz.vjp: the same values."""
    from riesz import staged

    want_cond = [riesz.grad(mixer, argnums=(0, 1))(x, W, V) for x in (X_POS, X_NEG)]
    want_while = [riesz.grad(grow)(x0) for x0 in (0.7, 3.0)]
    monkeypatch.setattr(staged, "_vjp_split", lambda *a: None)
    for x, want in zip((X_POS, X_NEG), want_cond, strict=True):
        for g in (riesz.jit(riesz.grad(mixer, argnums=(0, 1))),
                  riesz.grad(riesz.jit(mixer), argnums=(0, 1))):
            for a, b in zip(g(x, W, V), want, strict=True):
                np.testing.assert_allclose(a, b, rtol=1e-14)
    for x0, want in zip((0.7, 3.0), want_while, strict=True):
        assert riesz.jit(riesz.grad(grow))(x0) == pytest.approx(want, rel=1e-14)


def counted_growth(x, n):
    """A pytree carry (int counter, vector, scalar): the counter runs to n, or
    stops early once the vector's norm exceeds 30 (trip count per example)."""
    def c(v):
        i, y, _ = v
        return (i < n) & (rnp.sum(y ** 2) < 900.0)

    def b(v):
        i, y, s = v
        y = 1.3 * y + rnp.sin(y) * s
        return i + 1, y, s + 0.1 * rnp.sum(y)

    return riesz.while_loop(c, b, (0, x, 0.5))


def counted_growth_py(x, n):
    i, y, s = 0, np.array(x, dtype=float), 0.5
    while i < n and np.sum(y ** 2) < 900.0:
        y = 1.3 * y + np.sin(y) * s
        i, s = i + 1, s + 0.1 * np.sum(y)
    return i, y, s


def test_vmap_of_a_staged_while_loop_with_per_example_trip_counts() -> None:
    """vmap of a while_loop whose predicate is traced (vmap(jit(f)), jit(vmap(f))):
    a staged while_loop of the batched body that runs while any example's predicate
    holds and freezes the carry of the examples done (as jax.lax.while_loop under
    vmap): the values equal each example's own loop exactly, 0 trips included."""
    xs = np.array([[0.3, -0.2], [1.0, 2.0], [0.5, 0.1], [3.0, 4.0], [-0.7, 0.4]])
    ns = np.array([0, 3, 40, 6, 1])
    want = [counted_growth_py(x, n) for x, n in zip(xs, ns, strict=True)]
    trips = [w[0] for w in want]
    assert trips[0] == 0 and len(set(trips)) == len(trips)  # 0 trips, all different
    for f in (riesz.vmap(riesz.jit(counted_growth)), riesz.jit(riesz.vmap(counted_growth))):
        i, y, s = f(xs, ns)
        assert i.dtype == np.asarray(0).dtype
        np.testing.assert_array_equal(i, trips)
        np.testing.assert_array_equal(y, [w[1] for w in want])
        np.testing.assert_array_equal(s, [w[2] for w in want])
    # examples along axis 1 of the carry, the trip bound shared by all
    g = riesz.jit(riesz.vmap(counted_growth, in_axes=(1, None), out_axes=(0, 1, 0)))
    i, y, s = g(xs.T, 5)
    want = [counted_growth_py(x, 5) for x in xs]
    np.testing.assert_array_equal(i, [w[0] for w in want])
    np.testing.assert_array_equal(y, np.array([w[1] for w in want]).T)
    np.testing.assert_array_equal(s, [w[2] for w in want])


def test_jit_vmap_while_loop_is_one_loop_of_the_batched_body() -> None:
    """The graph of jit(vmap(f)) holds one while_loop equation whose body is the
    batched body with a per-example select (not an eager loop per operation), and
    the loop evaluates the predicate max(trips) + 1 times (not once per example's
    iteration); with an unbatched predicate, no select."""
    xs = np.array([[0.3, -0.2], [1.0, 2.0], [0.5, 0.1], [3.0, 4.0]])
    ns = np.array([0, 3, 40, 6])
    trips = [counted_growth_py(x, n)[0] for x, n in zip(xs, ns, strict=True)]
    jf = riesz.jit(riesz.vmap(counted_growth))
    graph = jf.graph(xs, ns)
    (eq,) = _eqns_named(graph, "while_loop")
    assert len(graph.eqns) == 1
    body = eq.params["fn"].loop.body_g.graph
    assert "where" in {e.prim.name for e in body.eqns}
    count = _count_predicates(graph)
    jf(xs, ns)
    assert count[0] == max(trips) + 1

    def unbatched(x, n):  # the predicate reads the counter and the shared bound only
        return riesz.while_loop(lambda v: v[0] < n, lambda v: (v[0] + 1, rnp.sin(v[1]) + v[1]),
                                (0, x))

    jf = riesz.jit(riesz.vmap(unbatched, in_axes=(0, None)))
    graph = jf.graph(xs, 4)
    (eq,) = _eqns_named(graph, "while_loop")
    assert "where" not in {e.prim.name for e in eq.params["fn"].loop.body_g.graph.eqns}
    count = _count_predicates(graph)
    i, y = jf(xs, 4)
    assert count[0] == 5
    np.testing.assert_array_equal(i, [4] * len(xs))
    np.testing.assert_array_equal(y, np.stack([unbatched(x, 4)[1] for x in xs]))


def test_vmap_of_staged_while_loop_nested_and_differentiated() -> None:
    """vmap of vmap of the staged loop, and reverse mode of the vmapped loop
    (under jit, inside or outside vmap), against each example's eager loop."""
    xs = np.random.default_rng(1).uniform(-1.0, 3.0, (3, 4, 2))
    ns = np.array([[0, 2, 5, 9]] * 3)
    for f in (riesz.vmap(riesz.vmap(riesz.jit(counted_growth))),
              riesz.jit(riesz.vmap(riesz.vmap(counted_growth)))):
        i, y, s = f(xs, ns)
        for a, b in np.ndindex(3, 4):
            w = counted_growth_py(xs[a, b], ns[a, b])
            assert i[a, b] == w[0] and s[a, b] == w[2]
            np.testing.assert_array_equal(y[a, b], w[1])

    def loss(x, n):
        _, y, s = counted_growth(x, n)
        return rnp.sum(y) + s

    want = np.stack([riesz.grad(loss)(x, n) for x, n in zip(xs[0], ns[0], strict=True)])
    fd = np.stack([fd_grad(lambda u, n=n: np.sum(counted_growth_py(u, n)[1])
                           + counted_growth_py(u, n)[2], x) for x, n in zip(xs[0], ns[0],
                                                                            strict=True)])
    np.testing.assert_allclose(want, fd, rtol=1e-6, atol=1e-8)
    for g in (riesz.jit(riesz.grad(lambda x: rnp.sum(riesz.vmap(loss)(x, ns[0])))),
              lambda x: riesz.vmap(riesz.jit(riesz.grad(loss)))(x, ns[0]),
              lambda x: riesz.jit(riesz.vmap(riesz.grad(loss)))(x, ns[0])):
        np.testing.assert_allclose(g(xs[0]), want, rtol=1e-13)
