"""riesz.loop_kernels: a staged scan's whole loop compiled into one Numba function.

Each test runs the compiled loop (`jit(..., fuse=True)`), checks that it ran (a
spy on `LoopKernel._run` counts the kernel calls that returned), and compares it
with independent oracles: a plain NumPy loop for values, central finite
differences for derivatives; and with the Python loop over the compiled step
(`fuse=False`), which must agree to rounding.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import pytest

import riesz
import riesz.numpy as rnp
from finite_differences import fd_grad

pytest.importorskip("numba")

from riesz import fusion, loop_kernels  # noqa: E402 - after the skip: the module imports fusion


@pytest.fixture
def ran(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """One entry per compiled-loop call: True if the kernel ran, False if it fell back."""
    calls: list[bool] = []
    run = loop_kernels.LoopKernel._run

    def spy(self, leaves):  # type: ignore[no-untyped-def]
        out = run(self, leaves)
        calls.append(out is not None)
        return out

    monkeypatch.setattr(loop_kernels.LoopKernel, "_run", spy)
    return calls


def _rnn(W, U, xs, h0, reverse=False):  # type: ignore[no-untyped-def]
    def step(h, x):  # type: ignore[no-untyped-def]
        h = rnp.tanh(h @ W + x @ U)
        return h, rnp.sum(h * h)

    _, ys = riesz.scan(step, h0, xs, reverse=reverse)
    return rnp.sum(ys)


def _rnn_py(W, U, xs, h0, reverse=False):  # type: ignore[no-untyped-def]
    h, total = h0, 0.0
    for x in (xs[::-1] if reverse else xs):
        h = np.tanh(h @ W + x @ U)
        total += np.sum(h * h)
    return total


def _data(batch: int, hidden: int, steps: int = 12, seed: int = 0):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((hidden, hidden)) / np.sqrt(hidden)
    U = rng.standard_normal((3, hidden)) / np.sqrt(3)
    xs = rng.standard_normal((steps, batch, 3))
    h0 = rng.standard_normal((batch, hidden)) * 0.1
    return W, U, xs, h0


@pytest.mark.parametrize("reverse", [False, True])
def test_rnn_grad_compiled_loops_vs_finite_differences(ran, reverse) -> None:  # type: ignore[no-untyped-def]
    """W7's cell: jit(grad) runs the forward and the transposed scan as kernels."""
    W, U, xs, h0 = _data(1, 6)
    loss = lambda W, U: _rnn(W, U, xs, h0, reverse)  # noqa: E731
    g = riesz.jit(riesz.grad(loss, argnums=(0, 1)), fuse=True)
    gW, gU = g(W, U)
    assert ran == [True, True]  # the forward scan and the backward scan, each one kernel
    np.testing.assert_allclose(gW, fd_grad(lambda w: _rnn_py(w, U, xs, h0, reverse), W),
                               rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(gU, fd_grad(lambda u: _rnn_py(W, u, xs, h0, reverse), U),
                               rtol=1e-6, atol=1e-9)
    plain = riesz.jit(riesz.grad(loss, argnums=(0, 1)), fuse=False)(W, U)
    for a, b in zip((gW, gU), plain, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    assert len(ran) == 2  # fuse=False: no kernel
    # grad of the jitted function: its staged forward and backward parts hold the scans
    gj = riesz.grad(riesz.jit(loss, fuse=True), argnums=(0, 1))(W, U)
    assert ran[2:] == [True, True]
    for a, b in zip(gj, plain, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_large_products_use_blas(ran, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """Above SMALL_MATMUL multiply-adds a product is np.dot (BLAS): same values."""
    monkeypatch.setattr(loop_kernels, "SMALL_MATMUL", 0)
    W, U, xs, h0 = _data(4, 5, seed=1)
    g = riesz.jit(riesz.grad(lambda W: _rnn(W, U, xs, h0)), fuse=True)(W)
    assert ran == [True, True]
    np.testing.assert_allclose(g, fd_grad(lambda w: _rnn_py(w, U, xs, h0), W), rtol=1e-6,
                               atol=1e-9)


def test_values_pytrees_reverse_and_length(ran) -> None:  # type: ignore[no-untyped-def]
    """Forward values against a NumPy loop: a dict carry with a scalar, tuple ys,
    a closed-over array and scalar, reverse=True, and xs=None with a length."""
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal(6), rng.standard_normal((6, 2, 3))
    M = rng.standard_normal((3, 3))

    def f(w, a, b, reverse):  # type: ignore[no-untyped-def]
        def step(c, x):  # type: ignore[no-untyped-def]
            h = rnp.tanh(w * c["h"] + x[0] + x[1] @ M)  # (2, 3)
            return {"h": h, "s": c["s"] * 0.5 + rnp.sum(h)}, (h.T, rnp.sum(h, axis=1))

        return riesz.scan(step, {"h": np.zeros((2, 3)), "s": 1.0}, (a, b), reverse=reverse)

    def f_py(w, a, b, reverse):  # type: ignore[no-untyped-def]
        h, s, y1, y2 = np.zeros((2, 3)), 1.0, [None] * 6, [None] * 6
        for k in (range(5, -1, -1) if reverse else range(6)):
            h = np.tanh(w * h + a[k] + b[k] @ M)
            s = s * 0.5 + np.sum(h)
            y1[k], y2[k] = h.T, np.sum(h, axis=1)
        return {"h": h, "s": s}, (np.stack(y1), np.stack(y2))

    for reverse in (False, True):
        got = riesz.jit(f, static_argnums=3, fuse=True)(0.7, a, b, reverse)
        want = f_py(0.7, a, b, reverse)
        for x, y in zip(riesz.tree_flatten(got)[0], riesz.tree_flatten(want)[0], strict=True):
            np.testing.assert_allclose(x, y, rtol=1e-13, atol=1e-15)
        assert isinstance(got[0]["s"], np.float64)
    c, ys = riesz.jit(lambda c: riesz.scan(lambda c, _: (c * c + 0.1, c), c, None, length=4),
                      fuse=True)(np.array([0.5, -0.2]))
    want, seen = np.array([0.5, -0.2]), []
    for _ in range(4):
        seen.append(want)
        want = want * want + 0.1
    np.testing.assert_allclose(c, want, rtol=1e-15)
    np.testing.assert_allclose(ys, np.stack(seen), rtol=1e-15)
    assert ran == [True, True, True]


def test_many_primitives_in_one_body(ran) -> None:  # type: ignore[no-untyped-def]
    """Broadcasting, where, maximum, sums over axes with keepdims, reshapes (one
    moving only length-1 axes, one a true reshape), a 3-D transpose, matrix-vector,
    vector-matrix and vector-vector products, casts, comparisons: the kernel's
    values and gradient against NumPy and finite differences."""
    rng = np.random.default_rng(4)
    xs = rng.standard_normal((5, 2, 3))
    v = rng.standard_normal(3)

    def step(c, x, ns):  # type: ignore[no-untyped-def]
        h, z = c
        t = ns.maximum(h * x + v, 0.1 * x)                          # (2, 3), broadcast
        t = ns.where(t > 0.3, ns.exp(-t), ns.log1p(t * t))
        s = ns.sum(t, axis=0, keepdims=True) / 3.0                  # (1, 3)
        r = ns.reshape(t, (3, 2)).T                                 # (2, 3): a true reshape
        q = ns.transpose(ns.reshape(t, (1, 2, 3)), (2, 0, 1))       # (3, 1, 2)
        m = ns.reshape(q, (3, 2)) @ ns.sum(r, axis=0)[:2]           # (3,) matrix @ vector
        k = v @ ns.reshape(q, (3, 2))                               # (2,) vector @ matrix
        z = z + v @ m + ns.sum(k) + ns.sum(s)                       # vector @ vector
        h = ns.tanh(h + s - 0.2 * r).astype(ns.float32).astype(ns.float64)
        return (h, z), ns.reshape(h, (6,)) * z

    def f(w):  # type: ignore[no-untyped-def]
        (h, z), ys = riesz.scan(lambda c, x: step(c, x, rnp), (w, 0.0), xs)
        return rnp.sum(h) + z + rnp.sum(ys * ys)

    def f_py(w):  # type: ignore[no-untyped-def]
        c, total = (w, 0.0), 0.0
        for x in xs:
            c, y = step(c, x, np)
            total += np.sum(y * y)
        return np.sum(c[0]) + c[1] + total

    w = rng.standard_normal((2, 3)) * 0.5
    value, g = riesz.jit(riesz.value_and_grad(f), fuse=True)(w)
    assert ran == [True, True]
    assert value == pytest.approx(f_py(w), rel=1e-12)
    np.testing.assert_allclose(g, riesz.jit(riesz.grad(f), fuse=False)(w), rtol=1e-12)
    # the float32 round trip makes the loss piecewise constant at 1e-8: a wider step
    np.testing.assert_allclose(g, fd_grad(f_py, w, eps=1e-3), rtol=1e-3, atol=1e-4)


def test_float32_stays_float32(ran) -> None:  # type: ignore[no-untyped-def]
    """A float32 scan computes in float32 (as the Python loop does), weak Python
    scalars included: dtypes and values equal the Python loop's."""
    W, U, xs, h0 = (a.astype(np.float32) for a in _data(2, 4, seed=5))

    def f(W):  # type: ignore[no-untyped-def]
        def step(h, x):  # type: ignore[no-untyped-def]
            h = rnp.tanh(h @ W + x @ U) * 0.9 + 0.05
            return h, h - 1.0

        return riesz.scan(step, h0, xs)

    got = riesz.jit(f, fuse=True)(W)
    want = riesz.jit(f, fuse=False)(W)
    for a, b in zip(got, want, strict=True):
        assert a.dtype == np.float32
        np.testing.assert_allclose(a, b, rtol=2e-6, atol=1e-6)
    g32 = riesz.jit(riesz.grad(lambda W: rnp.sum(f(W)[1] ** 2)), fuse=True)(W)
    assert g32.dtype == np.float32 and ran == [True, True, True]
    W64, U64, xs64, h64 = (a.astype(np.float64) for a in (W, U, xs, h0))

    def f_py(W):  # type: ignore[no-untyped-def]
        h, total = h64, 0.0
        for x in xs64:
            h = np.tanh(h @ W + x @ U64) * 0.9 + 0.05
            total += np.sum((h - 1.0) ** 2)
        return total

    np.testing.assert_allclose(g32, fd_grad(f_py, W64), rtol=1e-4, atol=1e-4)


def test_carry_permutation_and_passthrough(ran) -> None:  # type: ignore[no-untyped-def]
    """Carries that swap, one passed through unchanged, one that is also a y."""
    def f(a, b, c):  # type: ignore[no-untyped-def]
        def step(carry, x):  # type: ignore[no-untyped-def]
            a, b, c = carry
            return (b, a + x * c, c), a

        return riesz.scan(step, (a, b, c), np.linspace(0.0, 1.0, 5))

    a, b, c = np.array([1.0, 2.0]), np.array([-1.0, 0.5]), np.array([3.0, 4.0])
    got = riesz.jit(f, fuse=True)(a, b, c)
    pa, pb, seen = a, b, []
    for x in np.linspace(0.0, 1.0, 5):
        seen.append(pa)
        pa, pb = pb, pa + x * c
    for x, y in zip(riesz.tree_flatten(got)[0], [pa, pb, c, np.stack(seen)], strict=True):
        np.testing.assert_allclose(x, y, rtol=1e-15)
    assert ran == [True]
    np.testing.assert_allclose(a, [1.0, 2.0])  # the caller's carries are not written


def test_unsupported_body_falls_back_to_the_python_loop(ran) -> None:  # type: ignore[no-untyped-def]
    """A body with an equation outside the supported set (sort) runs the Python
    loop, with the same values and gradients; so does a kernel that cannot load."""
    xs = np.random.default_rng(6).standard_normal((4, 3))

    def f(w):  # type: ignore[no-untyped-def]
        def step(h, x):  # type: ignore[no-untyped-def]
            h = rnp.sort(rnp.tanh(w * h + x))
            return h, h[0]

        h, ys = riesz.scan(step, np.zeros(3), xs)
        return rnp.sum(h) + rnp.sum(ys)

    def f_py(w):  # type: ignore[no-untyped-def]
        h, total = np.zeros(3), 0.0
        for x in xs:
            h = np.sort(np.tanh(w * h + x))
            total += h[0]
        return np.sum(h) + total

    j = riesz.jit(f, fuse=True)
    assert j(0.8) == pytest.approx(f_py(0.8), rel=1e-14)
    (scan_eqn,) = [e for e in j.graph(0.8).eqns if "fn" in e.params]
    body = scan_eqn.params["fn"].body.graph
    assert loop_kernels.loop_source(body, scan_eqn.params["fn"].nc, 1, False) is None
    assert scan_eqn.params["fn"].loop_kernel.failed
    g = riesz.jit(riesz.grad(f), fuse=True)(0.8)
    assert g == pytest.approx(fd_grad(f_py, np.array(0.8)), rel=1e-6)
    assert ran == []  # never compiled: the Python loop ran each time

    def broken(source: str) -> None:
        raise ImportError("no Numba here")

    W, U, xs2, h0 = _data(1, 3, seed=7)
    loss = lambda W: _rnn(W, U, xs2, h0)  # noqa: E731
    mp = pytest.MonkeyPatch()
    mp.setattr(loop_kernels, "_load", broken)
    try:
        g = riesz.jit(riesz.grad(loss), fuse=True)(W)
    finally:
        mp.undo()
    np.testing.assert_allclose(g, fd_grad(lambda w: _rnn_py(w, U, xs2, h0), W), rtol=1e-6,
                               atol=1e-9)
    assert ran == []


def test_compile_policy_follows_jits_fuse(ran, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """fuse=False never compiles a loop; the default compiles once the Python
    loop's calls have cost COMPILE_S (here 0: at once; 10^9: never)."""
    W, U, xs, h0 = _data(1, 3, seed=8)
    loss = lambda W: _rnn(W, U, xs, h0)  # noqa: E731
    want = fd_grad(lambda w: _rnn_py(w, U, xs, h0), W)
    j = riesz.jit(riesz.grad(loss), fuse=False)
    np.testing.assert_allclose(j(W), want, rtol=1e-6, atol=1e-9)
    assert all(e.params["fn"].loop_kernel is None for e in j.graph(W).eqns if "fn" in e.params)
    monkeypatch.setattr(loop_kernels, "COMPILE_S", 1e9)
    j = riesz.jit(riesz.grad(loss))
    for _ in range(3):
        np.testing.assert_allclose(j(W), want, rtol=1e-6, atol=1e-9)
    assert ran == []
    monkeypatch.setattr(loop_kernels, "COMPILE_S", 0.0)
    j = riesz.jit(riesz.grad(loss))
    np.testing.assert_allclose(j(W), want, rtol=1e-6, atol=1e-9)
    assert ran == [True, True]
    # then on trial against the Python loop: kept, as it is much faster here
    for _ in range(2 * fusion.TRIALS):
        np.testing.assert_allclose(j(W), want, rtol=1e-6, atol=1e-9)
    kernels = [e.params["fn"].loop_kernel for e in j.graph(W).eqns if "fn" in e.params]
    assert [(k.mode, k.trial) for k in kernels] == [(None, None)] * 2
    assert ran == [True] * (2 + 2 * fusion.TRIALS)


def test_a_slower_kernel_is_dropped(ran, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """By default a compiled loop that measures slower than the Python loop is
    dropped after the trial (here made slow on purpose)."""
    monkeypatch.setattr(loop_kernels, "COMPILE_S", 0.0)
    run = loop_kernels.LoopKernel._run

    def slow(self, leaves):  # type: ignore[no-untyped-def]
        time.sleep(0.02)
        return run(self, leaves)

    monkeypatch.setattr(loop_kernels.LoopKernel, "_run", slow)
    xs = np.linspace(-1.0, 1.0, 4)
    f = riesz.jit(lambda w: riesz.scan(lambda c, x: (rnp.tanh(w * c + x), c), 0.3, xs))
    for _ in range(2 * fusion.TRIALS + 3):
        c, ys = f(0.8)
    want, seen = 0.3, []
    for x in xs:
        seen.append(want)
        want = np.tanh(0.8 * want + x)
    assert c == pytest.approx(want, rel=1e-15)
    np.testing.assert_allclose(ys, seen, rtol=1e-15)
    (k,) = [e.params["fn"].loop_kernel for e in f.graph(0.8).eqns if "fn" in e.params]
    assert k.mode is False and k.trial is None


# -- floating-point errors: NumPy's, as np.errstate says -----------------------------------

# (body op, inputs where it errs, NumPy's error name, its message): each hides or stores
# the non-finite value (exp(-1/0) = 0, tanh(exp(1000)) = 1, log(-1) = NaN stored)
_FP_CASES = {
    "invalid": (rnp.log, [1.0, -1.0, 2.0], "invalid value"),
    "divide": (lambda x: rnp.exp(-1.0 / x), [1.0, 0.0, 2.0], "divide by zero"),
    "over": (lambda x: rnp.tanh(rnp.exp(x)), [1.0, 1000.0, 2.0], "overflow"),
}


def _fp_scan(op):  # type: ignore[no-untyped-def]
    def f(xs):  # type: ignore[no-untyped-def]
        def step(c, x):  # type: ignore[no-untyped-def]
            y = op(x)
            return c + y, y * 2.0

        c, ys = riesz.scan(step, np.zeros(3), xs)
        return rnp.sum(c) + rnp.sum(ys)

    return f


def _fp_xs(bad):  # type: ignore[no-untyped-def]
    xs = np.tile(np.array([0.5, 1.5, 3.0]), (5, 1))
    xs[2] = bad
    return xs


@pytest.mark.parametrize("err", sorted(_FP_CASES))
def test_forward_loop_warns_raises_or_stays_silent_like_eager(ran, err) -> None:  # type: ignore[no-untyped-def]
    """A kernel that meets ±inf / NaN reruns the Python loop: NumPy's warning by
    default, FloatingPointError under errstate(raise), nothing under ignore."""
    op, bad, message = _FP_CASES[err]
    f, xs = _fp_scan(op), _fp_xs(bad)
    with np.errstate(all="ignore"):
        want = f(xs)  # eager
    g = riesz.jit(f, fuse=True)
    with pytest.warns(RuntimeWarning, match=message):
        np.testing.assert_allclose(g(xs), want, rtol=1e-12)
    with np.errstate(**{err: "raise"}), pytest.raises(FloatingPointError, match=message):
        g(xs)
    with np.errstate(all="ignore"):
        np.testing.assert_allclose(g(xs), want, rtol=1e-12)
    assert ran == [True] * 3  # the kernel ran each time (then the Python loop, or not)


@pytest.mark.parametrize("err", sorted(_FP_CASES))
def test_forward_loop_warns_under_grad(ran, err) -> None:  # type: ignore[no-untyped-def]
    """The same forward scan under jit(value_and_grad): eager's warning, eager's values."""
    op, bad, message = _FP_CASES[err]
    f, xs = _fp_scan(op), _fp_xs(bad)
    with np.errstate(all="ignore"):
        want = riesz.value_and_grad(f)(xs)
    eager, _ = _errors(lambda: riesz.value_and_grad(f)(xs))
    assert message in eager
    jitted, got = _errors(lambda: riesz.jit(riesz.value_and_grad(f), fuse=True)(xs))
    assert jitted == eager
    for a, b in zip(got, want, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    assert ran == [True, True]


def _errors(run):  # type: ignore[no-untyped-def]
    """The kinds of NumPy floating-point warnings `run()` gives, and its result."""
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        out = run()
    kinds = ("invalid value", "divide by zero", "overflow")
    return {k for w in seen for k in kinds if k in str(w.message)}, out


def test_backward_loop_warns_raises_or_stays_silent_like_eager(ran) -> None:  # type: ignore[no-untyped-def]
    """sqrt(0) is finite but its derivative divides by zero: only the transposed
    scan errs, and warns / raises / stays silent as eager reverse mode does."""

    def f(xs):  # type: ignore[no-untyped-def]
        def step(c, x):  # type: ignore[no-untyped-def]
            return c * 0.5 + rnp.sqrt(x), rnp.sqrt(x) * c

        c, ys = riesz.scan(step, np.ones(3), xs)
        return rnp.sum(c) + rnp.sum(ys)

    xs = _fp_xs(0.0)
    grad = riesz.grad(f)
    with np.errstate(all="ignore"):
        want = grad(xs)
    assert not np.isfinite(want).all()
    eager, _ = _errors(lambda: grad(xs))  # the oracle of which warnings
    assert "divide by zero" in eager
    g = riesz.jit(grad, fuse=True)
    jitted, got = _errors(lambda: g(xs))
    assert ran == [True, True]  # forward and backward kernels both ran
    assert jitted == eager
    np.testing.assert_allclose(got, want, rtol=1e-12)
    with np.errstate(divide="raise"), pytest.raises(FloatingPointError, match="divide by zero"):
        g(xs)
    with np.errstate(all="ignore"):
        np.testing.assert_allclose(g(xs), want, rtol=1e-12)
    with np.errstate(all="raise"):  # a finite point: silent and compiled
        np.testing.assert_allclose(g(xs + 1.0), grad(xs + 1.0), rtol=1e-12)
    assert ran[-1]


def test_finite_loops_are_silent_under_errstate_raise(ran) -> None:  # type: ignore[no-untyped-def]
    """All-finite forward and backward loops: no rerun, nothing raised."""
    W, U, xs, h0 = _data(2, 8)
    loss = lambda W, U: _rnn(W, U, xs, h0)  # noqa: E731
    g = riesz.jit(riesz.value_and_grad(loss, argnums=(0, 1)), fuse=True)
    with np.errstate(all="raise"):
        (v, (gW, gU)), want = g(W, U), riesz.value_and_grad(loss, argnums=(0, 1))(W, U)
    assert ran == [True, True]
    np.testing.assert_allclose(v, want[0], rtol=1e-12)
    np.testing.assert_allclose(gW, want[1][0], rtol=1e-10)
    np.testing.assert_allclose(gU, want[1][1], rtol=1e-10)
