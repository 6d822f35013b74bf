"""Fault injection: state that must not outlive a failed transformation.

An exception raised anywhere inside a transformation — in user code, in a
primitive's rule (a custom rule), in an implicit layer's solver, or a
KeyboardInterrupt in the middle of a backward pass — must leave no trace level
open (the next transformation runs at level 1) and no input read-only (`grad`
freezes its differentiated inputs during the call). Repeated `grad` calls must
not grow memory.
"""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import riesz
import riesz.numpy as rnp
from riesz._core.trace import _depth


class Injected(Exception):
    """The fault these tests inject."""


def _next_level() -> int:
    """The trace level a fresh transformation opens (public behaviour: the tracer's repr)."""
    seen: list[str] = []

    def f(x: Any) -> Any:
        seen.append(repr(x))
        return rnp.sum(x * x)

    g = riesz.grad(f)(np.array([1.0, 2.0]))
    np.testing.assert_allclose(g, [2.0, 4.0])
    return int(seen[0].split("level=")[1].split(",")[0])


def _assert_clean(*arrays: np.ndarray) -> None:
    assert _depth.get() == 0, f"trace depth {_depth.get()} left open"
    assert _next_level() == 1
    for a in arrays:
        assert a.flags.writeable, "an input was left read-only"
    # and differentiation still gives the right numbers (closed form)
    x = np.array([0.3, -0.7])
    np.testing.assert_allclose(riesz.grad(lambda z: rnp.sum(rnp.sin(z) * z))(x),
                               np.cos(x) * x + np.sin(x))


def _raising(x: Any) -> Any:
    y = rnp.sin(x) * 2.0
    raise Injected("user code")
    return y  # pragma: no cover


def _scalar(f: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda x: rnp.sum(f(x))


USER_CODE: dict[str, Callable[[np.ndarray], Any]] = {
    "grad": lambda x: riesz.grad(_scalar(_raising))(x),
    "value_and_grad": lambda x: riesz.value_and_grad(_scalar(_raising))(x),
    "jvp": lambda x: riesz.jvp(_raising, (x,), (np.ones_like(x),)),
    "vjp": lambda x: riesz.vjp(_raising, x),
    "vmap": lambda x: riesz.vmap(_raising)(x[None]),
    "jet": lambda x: riesz.jet(_raising, (x,), ([np.ones_like(x), np.zeros_like(x)],)),
    "hessian": lambda x: riesz.hessian(_scalar(_raising))(x),
    "jacfwd": lambda x: riesz.jacfwd(_raising)(x),
    "jacrev": lambda x: riesz.jacrev(_raising)(x),
    "linearize": lambda x: riesz.linearize(_raising, x),
    "checkpoint under grad": lambda x: riesz.grad(_scalar(riesz.checkpoint(_raising)))(x),
    "grad of vmap of jvp": lambda x: riesz.grad(lambda z: rnp.sum(riesz.vmap(
        lambda w: riesz.jvp(_raising, (w,), (w,))[1])(z[None])))(x),
    "vmap of grad of grad": lambda x: riesz.vmap(riesz.grad(lambda z: riesz.grad(
        _scalar(_raising))(z)[0]))(x[None]),
}


@pytest.mark.parametrize("name", sorted(USER_CODE))
def test_exception_in_user_code(name: str) -> None:
    x = np.array([0.5, 1.5])
    with pytest.raises(Injected):
        USER_CODE[name](x)
    _assert_clean(x)


def _custom_vjp_raising(exc: type[BaseException]) -> Any:
    @riesz.custom_vjp
    def f(x: Any) -> Any:
        return rnp.tanh(x)

    def bwd(x: Any, g: Any) -> Any:
        raise exc("bwd")

    f.defvjp(lambda x: (f(x), x), bwd)
    return f


def _custom_jvp_raising(exc: type[BaseException]) -> Any:
    @riesz.custom_jvp
    def f(x: Any) -> Any:
        return rnp.tanh(x)

    def rule(p: Any, t: Any) -> Any:
        raise exc("jvp rule")

    f.defjvp(rule)
    return f


def _in_the_middle(custom: Any) -> Callable[[Any], Any]:
    """A program with work on the tape before and after the failing custom call, so
    the fault strikes in the middle of the backward pass."""
    def f(x: Any) -> Any:
        y = rnp.exp(rnp.sin(x) * x)
        z = custom(y * 0.5)
        return rnp.sum(rnp.cos(z) * y + x)
    return f


def _rule_faults(exc: type[BaseException]) -> dict[str, Callable[[np.ndarray], Any]]:
    bwd = _in_the_middle(_custom_vjp_raising(exc))
    rule = _in_the_middle(_custom_jvp_raising(exc))

    def pullback(x: np.ndarray) -> Any:
        _, pb = riesz.vjp(bwd, x)
        return pb(1.0)

    return {
        "custom_vjp bwd under grad": lambda x: riesz.grad(bwd)(x),
        "custom_vjp bwd in a pullback": pullback,
        "custom_vjp bwd under grad of grad": lambda x: riesz.grad(
            lambda z: rnp.sum(riesz.grad(bwd)(z)))(x),
        "custom_vjp bwd under vmap of grad": lambda x: riesz.vmap(riesz.grad(bwd))(x[None]),
        "custom_vjp bwd under jacrev": lambda x: riesz.jacrev(bwd)(x),
        "custom_jvp rule under jvp": lambda x: riesz.jvp(rule, (x,), (np.ones_like(x),)),
        "custom_jvp rule under grad": lambda x: riesz.grad(rule)(x),
        "custom_jvp rule under hessian": lambda x: riesz.hessian(rule)(x),
    }


@pytest.mark.parametrize("name", sorted(_rule_faults(Injected)))
def test_exception_in_a_rule(name: str) -> None:
    x = np.array([0.5, 1.5])
    with pytest.raises(Injected):
        _rule_faults(Injected)[name](x)
    _assert_clean(x)


@pytest.mark.parametrize("name", sorted(_rule_faults(KeyboardInterrupt)))
def test_keyboard_interrupt_in_a_backward_pass(name: str) -> None:
    x = np.array([0.5, 1.5])
    with pytest.raises(KeyboardInterrupt):
        _rule_faults(KeyboardInterrupt)[name](x)
    _assert_clean(x)


def test_checkpoint_replay_raising_in_the_backward_pass() -> None:
    """checkpoint re-runs f in the backward pass: a fault only there."""
    calls = [0]

    def f(x: Any) -> Any:
        calls[0] += 1
        if calls[0] > 1:
            raise Injected("replay")
        return rnp.sin(x) * x

    x = np.array([0.5, 1.5])
    with pytest.raises(Injected):
        riesz.grad(lambda z: rnp.sum(rnp.exp(riesz.checkpoint(f)(z))))(x)
    assert calls[0] == 2
    _assert_clean(x)


def _contraction(raise_at: int | None, counter: list[int]) -> Callable[[Any, Any], Any]:
    def g(a: Any, y: Any) -> Any:  # y = 0.5 tanh(y) + a: a contraction in y
        counter[0] += 1
        if raise_at is not None and counter[0] == raise_at:
            raise Injected(f"solver call {raise_at}")
        return 0.5 * rnp.tanh(y) + a
    return g


def _implicit_loss(g: Callable[[Any, Any], Any]) -> Callable[[Any], Any]:
    return lambda a: rnp.sum(riesz.implicit.fixed_point(g, a, rnp.zeros_like(a)) ** 2)


def test_exception_in_an_implicit_layer_solver() -> None:
    a = np.array([0.2, -0.4])
    counter = [0]
    riesz.grad(_implicit_loss(_contraction(None, counter)))(a)
    total = counter[0]
    assert total > 3
    for raise_at in sorted({1, 2, total // 2, total - 1, total}):
        counter = [0]
        with pytest.raises(Injected):
            riesz.grad(_implicit_loss(_contraction(raise_at, counter)))(a)
        _assert_clean(a)
        counter = [0]
        with pytest.raises(Injected):
            riesz.jvp(_implicit_loss(_contraction(raise_at, counter)), (a,), (np.ones(2),))
        _assert_clean(a)


def test_solver_failure_inside_grad() -> None:
    a = np.array([0.2, -0.4])

    def g(x: Any, y: Any) -> Any:
        return 0.99 * rnp.sin(y) + x

    def loss(x: Any) -> Any:
        return rnp.sum(riesz.implicit.fixed_point(g, x, rnp.zeros_like(x), max_iter=2,
                                                  solver="fixed_point"))

    with pytest.raises(riesz.SolverError):
        riesz.grad(loss)(a)
    _assert_clean(a)


# -- memory ------------------------------------------------------------------------------
N_CALLS = 1000
ARRAY_BYTES = 8 * 512  # the input below: a leak of one such array per call is 4 MB


def _growth(step: Callable[[], Any]) -> int:
    for _ in range(50):  # warm caches (rule tables, dispatch) before measuring
        step()
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(N_CALLS):
            step()
        gc.collect()
        return tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()


def test_repeated_grad_does_not_grow_memory() -> None:
    x = np.linspace(-1.0, 1.0, 512)
    f = riesz.grad(lambda z: rnp.sum(rnp.tanh(z) * z[::-1]))
    growth = _growth(lambda: f(x))
    assert growth < ARRAY_BYTES * N_CALLS / 8, f"memory grew by {growth} bytes"


def test_repeated_failing_grad_does_not_grow_memory() -> None:
    x = np.linspace(-1.0, 1.0, 512)
    f = riesz.grad(lambda z: rnp.sum(_custom_vjp_raising(Injected)(z) * z))

    def step() -> None:
        try:
            f(x)
        except Injected:
            pass

    growth = _growth(step)
    assert growth < ARRAY_BYTES * N_CALLS / 8, f"memory grew by {growth} bytes"
    _assert_clean(x)
