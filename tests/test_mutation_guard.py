"""The mutation guard: every in-place write to an array saved for the backward pass
is caught, flags are restored whatever happens, and in-call transformations pay O(1)
per saved array (read-only flags) while pullbacks that outlive the call are
fingerprinted."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import riesz
import riesz.numpy as rnp
from riesz._interpreters import reverse


def layers(W1: np.ndarray, W2: np.ndarray):
    def f(x):
        return rnp.sum(rnp.tanh(W2 @ rnp.tanh(W1 @ x)))

    return f


def layers_grad(W1: np.ndarray, W2: np.ndarray, x: np.ndarray) -> np.ndarray:
    """∇ sum(tanh(W2 tanh(W1 x))) in closed form."""
    h = np.tanh(W1 @ x)
    y = np.tanh(W2 @ h)
    return W1.T @ ((1 - h**2) * (W2.T @ (1 - y**2)))


def data(n: int = 4, seed: int = 0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((n, n)), rng.standard_normal((n, n)),
            rng.standard_normal(n), rng.standard_normal(n))


IN_CALL = {
    "grad": lambda f, x, v: riesz.grad(f)(x),
    "value_and_grad": lambda f, x, v: riesz.value_and_grad(f)(x),
    "jacrev": lambda f, x, v: riesz.jacrev(f)(x),
    "jacfwd": lambda f, x, v: riesz.jacfwd(f)(x),
    "hessian": lambda f, x, v: riesz.hessian(f)(x),
    **{f"hvp {m}": (lambda f, x, v, m=m: riesz.hvp(f, (x,), (v,), mode=m))
       for m in ("fwd-rev", "rev-fwd", "rev-rev")},
}


def assert_writeable(*arrays: np.ndarray) -> None:
    for a in arrays:
        assert a.flags.writeable
    assert not reverse._FROZEN  # no hold left behind


# -- O(1) inside the call, fingerprints where the pullback outlives it ------------------


@pytest.mark.parametrize("how", sorted(IN_CALL))
def test_in_call_transformations_fingerprint_nothing(how, monkeypatch) -> None:
    W1, W2, x, v = data()
    calls = []
    original = reverse._fingerprint
    monkeypatch.setattr(reverse, "_fingerprint", lambda a: calls.append(a.shape) or original(a))
    IN_CALL[how](layers(W1, W2), x, v)
    assert calls == []
    assert_writeable(W1, W2, x, v)


def test_in_call_gradient_is_correct() -> None:
    W1, W2, x, _ = data(6)
    np.testing.assert_allclose(riesz.grad(layers(W1, W2))(x), layers_grad(W1, W2, x),
                               rtol=1e-12)


def test_vjp_fingerprints_what_outlives_the_call(monkeypatch) -> None:
    W1, W2, x, _ = data()
    calls = []
    original = reverse._fingerprint
    monkeypatch.setattr(reverse, "_fingerprint", lambda a: calls.append(a.shape) or original(a))
    _, vjp_fn = riesz.vjp(layers(W1, W2), x)
    saved = len(calls)
    assert saved >= 3  # x, W1, W2 (and the output)
    np.testing.assert_allclose(vjp_fn(1.0)[0], layers_grad(W1, W2, x), rtol=1e-12)
    assert len(calls) == 2 * saved  # checked once per pullback
    assert_writeable(W1, W2, x)  # vjp never touches the flags


# -- every mutation path is caught ---------------------------------------------------


@pytest.mark.parametrize("how", sorted(IN_CALL))
def test_write_to_closed_over_constant_inside_the_call(how) -> None:
    W1, W2, x, v = data()

    def f(x):
        y = rnp.sum(rnp.tanh(W2 @ rnp.tanh(W1 @ x)))
        W1[0, 0] = 5.0  # W1 was saved for the backward pass
        return y

    with pytest.raises(riesz.SavedValueModifiedError, match="read-only"):
        IN_CALL[how](f, x, v)
    assert W1[0, 0] != 5.0
    assert_writeable(W1, W2, x, v)


@pytest.mark.parametrize("how", ["grad", "jacrev", "hessian", "hvp rev-rev"])
def test_write_to_input_inside_the_call(how) -> None:
    W1, W2, x, v = data()
    original = x.copy()

    def f(w):
        y = rnp.sum(rnp.tanh(W2 @ rnp.tanh(W1 @ w)))
        x[1] += 1.0  # the array being differentiated, reached through a closure
        return y

    with pytest.raises(ValueError, match="read-only"):
        IN_CALL[how](f, x, v)
    np.testing.assert_array_equal(x, original)
    assert_writeable(W1, W2, x)


@pytest.mark.parametrize("write", ["base", "new view", "sort", "out=", "fill"])
def test_write_through_base_or_view_inside_grad(write) -> None:
    W1, W2, x, _ = data(4)
    big = np.concatenate([W1, W2], axis=1)  # owns the memory
    V1 = big[:, :4]  # the saved constant is a view of big

    def f(w):
        y = rnp.sum(rnp.tanh(W2 @ rnp.tanh(V1 @ w)))
        if write == "base":
            big[0, 0] = 5.0
        elif write == "new view":
            big[:, :2][1, 1] = 5.0
        elif write == "sort":
            big.sort(axis=1)
        elif write == "out=":
            np.sin(V1, out=V1)
        else:
            V1.fill(0.0)
        return y

    before = big.copy()
    with pytest.raises(riesz.SavedValueModifiedError):
        riesz.grad(f)(x)
    np.testing.assert_array_equal(big, before)
    assert_writeable(big, V1, W2, x)


def test_in_place_sort_of_saved_constant_inside_grad() -> None:
    W1, W2, x, _ = data()
    c = np.array([3.0, 1.0, 2.0, 0.5])

    def f(w):
        y = rnp.sum(w * c)
        c.sort()
        return y

    with pytest.raises(riesz.SavedValueModifiedError):
        riesz.grad(f)(x)
    np.testing.assert_array_equal(c, [3.0, 1.0, 2.0, 0.5])
    assert_writeable(c)


def test_writes_before_a_constant_is_used_are_fine() -> None:
    W1, W2, x, _ = data()
    buf = np.zeros_like(W1)

    def f(w):
        buf[...] = W1  # mutated before any traced operation saves it
        buf[0, 0] += 1.0
        return rnp.sum(rnp.tanh(W2 @ rnp.tanh(buf @ w)))

    W1b = W1.copy()
    W1b[0, 0] += 1.0
    np.testing.assert_allclose(riesz.grad(f)(x), layers_grad(W1b, W2, x), rtol=1e-12)
    assert_writeable(buf)
    buf[...] = 0.0  # and writeable again afterwards: a second call works the same
    np.testing.assert_allclose(riesz.grad(f)(x), layers_grad(W1b, W2, x), rtol=1e-12)


@pytest.mark.parametrize("write", ["input", "constant", "output", "base", "sibling view",
                                   "sort"])
def test_writes_between_vjp_and_vjp_fn(write) -> None:
    W1, W2, x, _ = data()
    big = np.concatenate([W1, W2], axis=1)
    V1, sibling = big[:, :4], big[:, 2:6]  # sibling: an alias the flags could not catch

    def f(w):
        return rnp.tanh(W2 @ rnp.tanh(V1 @ w))

    out, vjp_fn = riesz.vjp(f, x)
    {"input": lambda: x.__setitem__(0, 9.0),
     "constant": lambda: W2.__setitem__((1, 1), 9.0),
     "output": lambda: out.__setitem__(0, 0.0),  # tanh's VJP uses its output
     "base": lambda: big.__setitem__((0, 0), 9.0),
     "sibling view": lambda: sibling.__setitem__((0, 0), 9.0),
     "sort": lambda: big.sort(axis=0)}[write]()
    with pytest.raises(riesz.SavedValueModifiedError, match="modified in place"):
        vjp_fn(np.ones(4))


def test_write_through_foreign_buffer_is_fingerprinted() -> None:
    raw = bytearray(np.arange(4.0).tobytes())
    c = np.frombuffer(raw)  # writeable, memory owned by the bytearray: flags cannot guard it

    def f(w):
        y = rnp.sum(w * c)
        raw[0:8] = np.float64(7.0).tobytes()
        return y

    with pytest.raises(riesz.SavedValueModifiedError, match="modified in place"):
        riesz.grad(f)(np.ones(4))
    assert c.flags.writeable


def test_writeable_view_of_read_only_owner_is_fingerprinted() -> None:
    owner = np.arange(4.0)
    view = owner[:]
    owner.flags.writeable = False  # view keeps its own (writeable) flag

    def f(w):
        y = rnp.sum(w * view)
        view[0] = 7.0
        return y

    with pytest.raises(riesz.SavedValueModifiedError, match="modified in place"):
        riesz.grad(f)(np.ones(4))
    assert view.flags.writeable and not owner.flags.writeable


# -- flags restored ------------------------------------------------------------------


def test_read_only_arrays_stay_read_only() -> None:
    W1, W2, x, _ = data()
    W1.flags.writeable = False
    x.flags.writeable = False
    np.testing.assert_allclose(riesz.grad(layers(W1, W2))(x), layers_grad(W1, W2, x),
                               rtol=1e-12)
    assert not W1.flags.writeable and not x.flags.writeable
    assert W2.flags.writeable


def test_flags_restored_after_error_in_user_code() -> None:
    W1, W2, x, _ = data()

    def f(w):
        rnp.tanh(W2 @ rnp.tanh(W1 @ w))
        raise KeyError("boom")

    with pytest.raises(KeyError, match="boom"):
        riesz.grad(f)(x)
    assert_writeable(W1, W2, x)


def test_flags_restored_after_keyboard_interrupt() -> None:
    W1, W2, x, _ = data()

    def f(w):
        rnp.tanh(W2 @ rnp.tanh(W1 @ w))
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        riesz.hessian(f)(x)
    assert_writeable(W1, W2, x)


def test_flags_restored_after_error_in_a_rule() -> None:
    W1, W2, x, _ = data()

    @riesz.custom_vjp
    def scale(w):
        return 2.0 * w

    def bwd(res, g):
        assert not W1.flags.writeable  # still held while the backward pass runs
        raise ArithmeticError("rule failed")

    scale.defvjp(lambda w: (scale(w), None), bwd)

    with pytest.raises(ArithmeticError, match="rule failed"):
        riesz.grad(lambda w: rnp.sum(scale(W1 @ w)))(x)
    assert_writeable(W1, x)


def test_nested_calls_share_a_constant() -> None:
    W1, W2, x, _ = data()

    def outer(w):
        g = riesz.grad(layers(W1, W2))(w)  # inner call holds W1 too, then lets go
        with pytest.raises(ValueError, match="read-only"):
            W1[0, 0] = 1.0  # still saved by the outer call
        return rnp.sum(g * g)

    riesz.grad(outer)(x)
    assert_writeable(W1, W2, x)


def test_views_and_bases_restored_in_any_order() -> None:
    owner = np.arange(16.0).reshape(4, 4)
    view = owner[1:3]
    x = np.ones(4)

    def inner(w):  # holds the view (and so the owner)
        return rnp.sum(rnp.sin(view @ w))

    def outer(w):  # holds the owner directly, then the inner call lets go of the view
        y = rnp.sum(owner @ w)
        g = riesz.grad(inner)(w)
        assert not view.flags.writeable  # its owner is still held: it stays read-only
        return y + rnp.sum(g)

    riesz.grad(outer)(x)
    assert_writeable(owner, view)


def test_concurrent_calls_share_a_constant() -> None:
    W1, W2, x, _ = data()
    first_saved, second_done = threading.Event(), threading.Event()
    errors: list[BaseException] = []
    seen: list[bool] = []

    def slow(w):
        y = rnp.sum(rnp.tanh(W2 @ rnp.tanh(W1 @ w)))
        first_saved.set()
        second_done.wait(10)
        seen.append(W1.flags.writeable)  # the other thread's return must not thaw W1
        return y

    def run(fn) -> None:
        try:
            np.testing.assert_allclose(riesz.grad(fn)(x), layers_grad(W1, W2, x), rtol=1e-12)
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    t = threading.Thread(target=run, args=(slow,))
    t.start()
    first_saved.wait(10)
    run(layers(W1, W2))
    second_done.set()
    t.join(10)
    assert not errors
    assert seen == [False]
    assert_writeable(W1, W2, x)


def test_linearize_in_call_refuses_use_after_the_block() -> None:
    from riesz.transforms import linearize_in_call

    W1, W2, x, _ = data()
    with linearize_in_call(layers(W1, W2), x) as (_, jvp_fn, vjp_fn):
        np.testing.assert_allclose(vjp_fn(1.0)[0], layers_grad(W1, W2, x), rtol=1e-12)
        assert not W1.flags.writeable
    assert_writeable(W1, W2, x)
    with pytest.raises(RuntimeError, match="after its `with` block"):
        vjp_fn(1.0)


def test_natural_gradient_step_holds_its_metric_in_call(monkeypatch) -> None:
    from riesz import optim

    rng = np.random.default_rng(3)
    X, y, theta = rng.standard_normal((8, 3)), rng.standard_normal(8), rng.standard_normal(3)
    calls = []
    original = reverse._fingerprint
    monkeypatch.setattr(reverse, "_fingerprint", lambda a: calls.append(a.shape) or original(a))
    opt = optim.natural_gradient(lambda t: X @ t, lambda z: 0.5 * rnp.sum((z - y) ** 2),
                                 lr=0.5, damping=0.1, rtol=1e-12)
    new, _, value = opt.step(None, theta, opt.init(theta))
    assert calls == []
    assert_writeable(X, y, theta)
    # least squares: G = XᵀX, ∇L = Xᵀ(Xθ - y)
    d = np.linalg.solve(X.T @ X + 0.1 * np.eye(3), X.T @ (X @ theta - y))
    np.testing.assert_allclose(new, theta - 0.5 * d, rtol=1e-9)
    assert value == pytest.approx(0.5 * np.sum((X @ theta - y) ** 2), rel=1e-12)
