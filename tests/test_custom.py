"""custom_jvp / custom_vjp: user rules are used, missing rules are derived,
and every order and nesting works when the rules are differentiable."""

from __future__ import annotations

import numpy as np
import pytest

import riesz
import riesz.numpy as rnp
from riesz.scipy.special import expit


def _softplus_np(x):
    return np.logaddexp(0.0, x)


def _make_softplus(kind: str):
    """softplus with a stable rule; `kind` picks which rules it declares."""

    def softplus(x):
        return rnp.logaddexp(0.0, x)

    f = (riesz.custom_vjp if kind == "vjp" else riesz.custom_jvp)(softplus)
    if kind in ("vjp", "both"):
        f.defvjp(lambda x: (f(x), x), lambda x, g: (g * expit(x),))
    if kind in ("jvp", "both"):
        f.defjvp(lambda primals, tangents: (f(primals[0]), tangents[0] * expit(primals[0])))
    return f


@pytest.mark.parametrize("kind", ["vjp", "jvp", "both"])
def test_rules_check_to_second_order(kind: str) -> None:
    f = _make_softplus(kind)
    x = np.array([-2.0, 0.3, 1.5])
    np.testing.assert_allclose(f(x), _softplus_np(x))
    riesz.check_grads(f, (x,), order=2)


@pytest.mark.parametrize("kind", ["vjp", "jvp", "both"])
def test_hessian_in_all_four_nestings(kind: str) -> None:
    f = _make_softplus(kind)
    x = np.array([-1.0, 0.5])
    v = np.array([1.0, -2.0])

    def loss(x):
        return rnp.sum(f(x))

    sig = 1 / (1 + np.exp(-x))
    expected = sig * (1 - sig) * v  # the Hessian of sum(softplus) is diag(σ(1-σ))
    fwd_rev = riesz.jvp(riesz.grad(loss), (x,), (v,))[1]
    rev_rev = riesz.grad(lambda x: rnp.sum(riesz.grad(loss)(x) * v))(x)
    rev_fwd = riesz.grad(lambda x: riesz.jvp(loss, (x,), (v,))[1])(x)
    fwd_fwd = riesz.jvp(lambda x: riesz.jvp(loss, (x,), (v,))[1], (x,), (v,))[1]
    for hv in (fwd_rev, rev_rev, rev_fwd):
        np.testing.assert_allclose(hv, expected, rtol=1e-12)
    np.testing.assert_allclose(fwd_fwd, np.vdot(v, expected), rtol=1e-12)


def test_each_mode_uses_its_own_rule() -> None:
    # deliberately different rules reveal which one each mode runs
    @riesz.custom_vjp
    def f(x):
        return x * 1.0

    f.defvjp(lambda x: (f(x), None), lambda res, g: (3.0 * g,))
    f.defjvp(lambda p, t: (f(p[0]), 2.0 * t[0]))
    x = np.array([1.0, 2.0])
    assert np.all(riesz.grad(lambda x: rnp.sum(f(x)))(x) == 3.0)
    assert np.all(riesz.jvp(f, (x,), (np.ones(2),))[1] == 2.0)


def test_forward_mode_on_a_vjp_only_function_differentiates_the_body() -> None:
    @riesz.custom_vjp
    def clip_gradient(x):
        return rnp.sin(x)

    clip_gradient.defvjp(lambda x: (clip_gradient(x), x),
                         lambda x, g: (rnp.clip(g * rnp.cos(x), -0.1, 0.1),))
    x = np.array([0.2, 1.0])
    _, t = riesz.jvp(clip_gradient, (x,), (np.ones(2),))
    np.testing.assert_allclose(t, np.cos(x))  # the true derivative
    g = riesz.grad(lambda x: rnp.sum(clip_gradient(x)))(x)
    np.testing.assert_allclose(g, np.clip(np.cos(x), -0.1, 0.1))  # the custom rule


def test_reverse_mode_transposes_a_jvp_rule() -> None:
    @riesz.custom_jvp
    def scale(x, A):
        return A @ x

    scale.defjvp(lambda p, t: (scale(*p), p[1] @ t[0] + t[1] @ p[0]))
    rng = np.random.default_rng(0)
    x, A = rng.standard_normal(3), rng.standard_normal((2, 3))
    v = rng.standard_normal(2)
    gx, gA = riesz.vjp(scale, x, A)[1](v)
    np.testing.assert_allclose(gx, A.T @ v, rtol=1e-13)
    np.testing.assert_allclose(gA, np.outer(v, x), rtol=1e-13)


def test_pytree_arguments_and_outputs() -> None:
    @riesz.custom_vjp
    def f(params, x):
        return {"y": params["w"] * x, "z": rnp.sum(x)}

    def fwd(params, x):
        return f(params, x), (params, x)

    def bwd(res, ct):
        params, x = res
        return {"w": rnp.sum(ct["y"] * x)}, ct["y"] * params["w"] + ct["z"]

    f.defvjp(fwd, bwd)
    params, x = {"w": np.array(2.0)}, np.array([1.0, 3.0])
    riesz.check_grads(f, (params, x), order=2)


def test_zero_cotangent_arguments_and_unused_outputs() -> None:
    @riesz.custom_vjp
    def pair(x, y):
        return x * y, x + y

    pair.defvjp(lambda x, y: (pair(x, y), (x, y)),
                lambda res, ct: (ct[0] * res[1] + ct[1], None))  # y's cotangent: None
    g = riesz.grad(lambda x: rnp.sum(pair(x, np.array([2.0, 5.0]))[1]))(np.ones(2))
    np.testing.assert_allclose(g, np.ones(2))  # only the second output is used


def test_plain_call_and_errors() -> None:
    @riesz.custom_vjp
    def f(x):
        return x * 2.0

    assert np.all(f(np.ones(2)) == 2.0)  # outside a transformation: the function itself
    f.defvjp(lambda x: f(x), lambda res, g: (g,))  # fwd forgets the residuals
    with pytest.raises(TypeError, match="fwd rule must return a pair"):
        riesz.grad(lambda x: rnp.sum(f(x)))(np.ones(2))
    f.defvjp(lambda x: (f(x), None), lambda res, g: g)  # bwd returns a bare array
    with pytest.raises(TypeError, match="one cotangent per argument"):
        riesz.grad(lambda x: rnp.sum(f(x)))(np.ones(2))


@pytest.mark.parametrize("kind", ["vjp", "jvp", "both"])
def test_linearize_replays_custom_calls(kind: str) -> None:
    f = _make_softplus(kind)
    x, u = np.array([-1.0, 0.5, 2.0]), np.array([0.3, -1.0, 2.0])
    out, lin = riesz.linearize(lambda x: f(x) * 2.0, x)
    np.testing.assert_allclose(out, 2 * _softplus_np(x))
    np.testing.assert_allclose(lin(u), 2 * u / (1 + np.exp(-x)), rtol=1e-13)
    np.testing.assert_allclose(lin.T(u), 2 * u / (1 + np.exp(-x)), rtol=1e-13)


def _segment(x):
    for _ in range(30):
        x = rnp.sin(x)
    return x


def _chain(x, wrap):
    for _ in range(10):
        x = wrap(_segment)(x)
    return rnp.sum(x)


def test_checkpoint_gives_the_same_derivatives() -> None:
    x = np.linspace(0.1, 1.0, 4)
    g_plain = riesz.grad(lambda x: _chain(x, lambda s: s))(x)
    g_ckpt = riesz.grad(lambda x: _chain(x, riesz.checkpoint))(x)
    np.testing.assert_allclose(g_ckpt, g_plain, rtol=1e-14)
    riesz.check_grads(riesz.checkpoint(_segment), (x,), order=2)


def test_checkpoint_recomputes_instead_of_storing() -> None:
    import gc
    import tracemalloc

    calls = []

    def counted(x):
        calls.append(1)
        return _segment(x)

    riesz.grad(lambda x: rnp.sum(riesz.checkpoint(counted)(x)))(np.ones(3))
    assert len(calls) == 2  # once forward, once again in the backward pass

    x = np.linspace(0.0, 1.0, 20_000)
    peaks = {}
    for name, wrap in (("plain", lambda s: s), ("checkpoint", riesz.checkpoint)):
        gc.collect()
        tracemalloc.start()
        try:
            riesz.grad(lambda x, wrap=wrap: _chain(x, wrap))(x)
            peaks[name] = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    # 300 saved arrays without checkpoints; ~10 boundaries + one segment with them
    assert peaks["checkpoint"] < 0.3 * peaks["plain"], peaks
