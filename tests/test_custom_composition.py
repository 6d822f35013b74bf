"""Custom rules composed with every transformation (issue 8, findings 1 and 6, and
the smaller custom-function findings): vmap keeps the user's rules under grad and
jvp, rules may close over values being differentiated, keyword arguments, None
tangents, and checkpoint with a non-float argument.

Oracles: closed forms in plain NumPy (a rule deliberately different from the
body's derivative shows which one was applied) and float64 finite differences.
"""

from __future__ import annotations

import numpy as np
import pytest

import riesz
import riesz.numpy as rnp
from finite_differences import fd_grad
from riesz.scipy.special import expit


def _clip_gradient():
    """Identity in the forward pass, gradient clipped to [-0.1, 0.1]."""

    @riesz.custom_vjp
    def clip(x):
        return x

    clip.defvjp(lambda x: (x, None), lambda res, g: (rnp.clip(g, -0.1, 0.1),))
    return clip


def _sin_with_rule(scale: float = 2.0):
    """sin, whose declared JVP is `scale * t` (not cos(x) t): the rule is visible."""

    @riesz.custom_jvp
    def f(x):
        return rnp.sin(x)

    f.defjvp(lambda p, t: (f(p[0]), scale * t[0]))
    return f


def _softplus(kind: str):
    def softplus(x):
        return rnp.logaddexp(0.0, x)

    f = (riesz.custom_vjp if kind == "vjp" else riesz.custom_jvp)(softplus)
    if kind == "vjp":
        f.defvjp(lambda x: (f(x), x), lambda x, g: (g * expit(x),))
    else:
        f.defjvp(lambda p, t: (f(p[0]), t[0] * expit(p[0])))
    return f


X = np.array([1.0, -2.0, 3.0])
U = np.array([0.5, 1.0, -2.0])


# -- 1. custom rules under vmap inside grad and jvp ------------------------------------------


def test_grad_of_vmap_applies_the_custom_vjp() -> None:
    clip = _clip_gradient()
    g = riesz.grad(lambda x: rnp.sum(riesz.vmap(clip)(x) * 3.0))(X)
    np.testing.assert_array_equal(g, np.clip(3.0 * np.ones(3), -0.1, 0.1))


def test_vmap_of_grad_and_grad_of_vmap_agree() -> None:
    clip = _clip_gradient()
    w = np.array([0.05, -2.0, 3.0])
    per_example = riesz.vmap(riesz.grad(lambda x, w: clip(x) * w), in_axes=(0, 0))(X, w)
    batched = riesz.grad(lambda x: rnp.sum(riesz.vmap(clip)(x) * w))(X)
    np.testing.assert_array_equal(per_example, np.clip(w, -0.1, 0.1))
    np.testing.assert_array_equal(batched, np.clip(w, -0.1, 0.1))


def test_jvp_of_vmap_applies_the_custom_jvp() -> None:
    f = _sin_with_rule(2.0)
    y, t = riesz.jvp(riesz.vmap(f), (X,), (U,))
    np.testing.assert_allclose(y, np.sin(X))
    np.testing.assert_array_equal(t, 2.0 * U)
    # forward mode over a vmapped VJP-only function differentiates its body
    t_clip = riesz.jvp(riesz.vmap(_clip_gradient()), (X,), (U,))[1]
    np.testing.assert_array_equal(t_clip, U)


def test_grad_of_vmap_transposes_the_custom_jvp() -> None:
    f = _sin_with_rule(2.0)
    g = riesz.grad(lambda x: rnp.sum(riesz.vmap(f)(x) * U))(X)
    np.testing.assert_array_equal(g, 2.0 * U)


def test_nested_vmaps_keep_the_rules() -> None:
    clip, f = _clip_gradient(), _sin_with_rule(2.0)
    x2 = np.arange(6.0).reshape(2, 3) - 2.5
    u2 = np.ones((2, 3))
    g = riesz.grad(lambda x: rnp.sum(riesz.vmap(riesz.vmap(clip))(x) * 5.0))(x2)
    np.testing.assert_array_equal(g, np.full((2, 3), 0.1))
    t = riesz.jvp(riesz.vmap(riesz.vmap(f), in_axes=1), (x2,), (u2,))[1]
    np.testing.assert_array_equal(t, 2.0 * u2.T)
    # vmap of (grad of vmap)
    inner = riesz.grad(lambda x: rnp.sum(riesz.vmap(clip)(x) * -7.0))
    np.testing.assert_array_equal(riesz.vmap(inner)(x2), np.full((2, 3), -0.1))


def test_a_shared_argument_sums_its_cotangents_over_the_batch() -> None:
    @riesz.custom_vjp
    def scaled(x, w):
        return x * w

    # deliberately 2x the true derivative in w, so the rule is visible
    scaled.defvjp(lambda x, w: (scaled(x, w), (x, w)),
                  lambda r, g: (g * r[1], 2.0 * rnp.sum(g * r[0])))
    w = np.array(0.7)

    def loss(x, w):
        return rnp.sum(riesz.vmap(scaled, in_axes=(0, None))(x, w))

    gx, gw = riesz.grad(loss, argnums=(0, 1))(X, w)
    np.testing.assert_allclose(gx, np.full(3, 0.7))
    np.testing.assert_allclose(gw, 2.0 * X.sum())


def test_batch_axis_other_than_zero_and_unbatched_cotangent() -> None:
    @riesz.custom_vjp
    def f(x):
        return x * 2.0

    f.defvjp(lambda x: (f(x), None), lambda r, g: (np.ones(3),))  # a constant cotangent
    x = np.arange(6.0).reshape(3, 2)
    g = riesz.grad(lambda x: rnp.sum(riesz.vmap(f, in_axes=1)(x)))(x)
    np.testing.assert_array_equal(g, np.ones((3, 2)))


@pytest.mark.parametrize("kind", ["vjp", "jvp"])
def test_second_order_through_vmap(kind: str) -> None:
    f = _softplus(kind)

    def loss(x):
        return rnp.sum(riesz.vmap(f)(x))

    s = 1 / (1 + np.exp(-X))
    np.testing.assert_allclose(riesz.grad(loss)(X), s, rtol=1e-12)
    hvp = riesz.jvp(riesz.grad(loss), (X,), (U,))[1]
    np.testing.assert_allclose(hvp, s * (1 - s) * U, rtol=1e-12)
    np.testing.assert_allclose(riesz.hessian(loss)(X), np.diag(s * (1 - s)), rtol=1e-12)


def test_linearize_of_vmap_of_a_custom_function() -> None:
    f = _sin_with_rule(3.0)
    _, lin = riesz.linearize(riesz.vmap(f), X)
    np.testing.assert_array_equal(lin(U), 3.0 * U)
    np.testing.assert_array_equal(lin.T(U), 3.0 * U)


def test_checkpoint_under_vmap_inside_grad_matches_finite_differences() -> None:
    def block(x):
        return rnp.tanh(x) * rnp.exp(-x * x)

    def loss(x):
        return rnp.sum(riesz.vmap(riesz.checkpoint(block))(x))

    np.testing.assert_allclose(riesz.grad(loss)(X), fd_grad(loss, X), rtol=1e-7,
                               atol=1e-9)


# -- 6. rules that close over a value being differentiated ---------------------------------


def _closing(rule_scale: float):
    """g(a) = f_a(a) with f_a(x) = a x, whose JVP rule (rule_scale · a · t) closes
    over a. Total derivative: the rule's part rule_scale · a plus the closure's
    part ∂_a(a x) = x = a."""

    def g(a):
        @riesz.custom_jvp
        def f(x):
            return a * x

        f.defjvp(lambda p, t: (f(p[0]), rule_scale * a * t[0]))
        return f(a)

    return g


@pytest.mark.parametrize("rule_scale", [1.0, 3.0])
def test_closure_in_a_jvp_rule_forward_and_reverse(rule_scale: float) -> None:
    g = _closing(rule_scale)
    a = np.array(1.5)
    expected = (rule_scale + 1.0) * a
    y, t = riesz.jvp(g, (a,), (np.array(1.0),))
    assert type(y) is np.float64 or type(y) is np.ndarray
    assert type(t) is np.float64 or type(t) is np.ndarray
    np.testing.assert_allclose(y, a * a)
    np.testing.assert_allclose(t, expected)
    np.testing.assert_allclose(riesz.grad(g)(a), expected)
    if rule_scale == 1.0:  # the rule is the true derivative: finite differences agree
        np.testing.assert_allclose(riesz.grad(g)(a), fd_grad(g, a), rtol=1e-8)


def test_closure_in_a_jvp_rule_linearize() -> None:
    g = _closing(3.0)  # g'(a) = 4a by the rules
    a = np.array(1.5)
    _, lin = riesz.linearize(g, a)
    np.testing.assert_allclose(lin(np.array(2.0)), 4 * a * 2.0)
    np.testing.assert_allclose(lin.T(np.array(2.0)), 4 * a * 2.0)


@pytest.mark.parametrize("outer", ["grad", "jvp"])
@pytest.mark.parametrize("inner", ["grad", "jvp"])
def test_closure_in_a_jvp_rule_at_second_order_raises_clearly(outer: str, inner: str) -> None:
    # The rule's call f(p[0]) is processed by the outer transformation while
    # f closes over the inner one's value: no rule covers both, so this raises
    # (rather than returning a second derivative that misses a term).
    g = _closing(3.0)
    a = np.array(1.5)
    d = riesz.grad(g) if inner == "grad" else (lambda a: riesz.jvp(g, (a,), (1.0,))[1])
    with pytest.raises(ValueError, match="closes over a value traced by a"):
        if outer == "grad":
            riesz.grad(d)(a)
        else:
            riesz.jvp(d, (a,), (np.array(1.0),))


def test_closure_over_an_outer_value_is_differentiated_through_the_rule() -> None:
    # f closes over a (followed by the outer grad); the inner jvp differentiates
    # the argument x with the rule 3 a t, so d/da of the tangent is 3 t
    def tangent_at(a):
        @riesz.custom_jvp
        def f(x):
            return a * x

        f.defjvp(lambda p, t: (f(p[0]), 3.0 * a * t[0]))
        return riesz.jvp(f, (np.array(2.0),), (np.array(0.5),))[1]

    np.testing.assert_allclose(tangent_at(np.array(1.5)), 3.0 * 1.5 * 0.5)
    np.testing.assert_allclose(riesz.grad(tangent_at)(np.array(1.5)), 3.0 * 0.5)


def test_a_rule_that_closes_over_a_value_the_body_does_not_use() -> None:
    # f(x) = 2x with the declared JVP a·t (a "scaled gradient"): to first order
    # the output does not depend on a, and its derivative in x is a
    def g(a, x):
        @riesz.custom_jvp
        def f(x):
            return x * 2.0

        f.defjvp(lambda p, t: (f(p[0]), a * t[0]))
        return f(x)

    a, x = np.array(1.5), np.array(2.0)
    ga, gx = riesz.grad(g, argnums=(0, 1))(a, x)
    np.testing.assert_allclose((ga, gx), (0.0, 1.5))
    t = riesz.jvp(g, (a, x), (np.array(1.0), np.array(1.0)))[1]
    np.testing.assert_allclose(t, 1.5)
    _, lin = riesz.linearize(lambda a: g(a, a), a)
    np.testing.assert_allclose(lin(np.array(1.0)), 1.5)


def test_closure_with_arrays_and_a_separate_argument() -> None:
    A = np.array([[1.0, 2.0], [0.5, -1.0]])
    x0 = np.array([0.3, -0.7])

    def g(A, x):
        @riesz.custom_jvp
        def f(x):
            return rnp.tanh(A @ x)

        def rule(p, t):
            y = f(p[0])
            return y, (1 - y * y) * (A @ t[0])

        f.defjvp(rule)
        return rnp.sum(f(x) * np.array([1.0, 2.0]))

    gA, gx = riesz.grad(g, argnums=(0, 1))(A, x0)
    np.testing.assert_allclose(gA, fd_grad(lambda A: g(A, x0), A), rtol=1e-7)
    np.testing.assert_allclose(gx, fd_grad(lambda x: g(A, x), x0), rtol=1e-7)
    dA = np.array([[0.1, -0.2], [0.3, 0.4]])
    t = riesz.jvp(lambda A: g(A, x0), (A,), (dA,))[1]
    np.testing.assert_allclose(t, np.vdot(gA, dA), rtol=1e-12)


def test_closure_in_a_custom_vjp() -> None:
    # fwd closes over a and hands it to bwd as a residual: the rule's part
    # 3 a (deliberately 3x) plus the closure's part ∂_a(a x) = x = a
    def g(a):
        @riesz.custom_vjp
        def f(x):
            return a * x

        f.defvjp(lambda x: (f(x), a), lambda r, ct: (3.0 * r * ct,))
        return f(a)

    a = np.array(1.5)
    np.testing.assert_allclose(riesz.grad(g)(a), 4.0 * a)

    def g_bwd_closes(a):
        @riesz.custom_vjp
        def f(x):
            return a * x

        f.defvjp(lambda x: (f(x), None), lambda r, ct: (3.0 * a * ct,))
        return f(a)

    with pytest.raises(riesz.EscapedTracerError, match="bwd rule of .* closes over a value"):
        riesz.grad(g_bwd_closes)(a)


@pytest.mark.parametrize("kind", ["jvp", "vjp"])
def test_closure_under_vmap_inside_grad_and_jvp(kind: str) -> None:
    xs = np.array([0.3, -0.5, 1.2])

    def loss(a):
        def body(x):
            return rnp.tanh(a * x)

        f = (riesz.custom_jvp if kind == "jvp" else riesz.custom_vjp)(body)
        if kind == "jvp":
            def rule(p, t):
                y = f(p[0])
                return y, (1 - y * y) * a * t[0]

            f.defjvp(rule)
        else:
            f.defvjp(lambda x: (f(x), (x, a)),
                     lambda r, g: ((1 - rnp.tanh(r[1] * r[0]) ** 2) * r[1] * g,))
        return rnp.sum(riesz.vmap(f)(xs * a))

    a = np.array(0.8)
    expected = fd_grad(loss, a)
    np.testing.assert_allclose(riesz.grad(loss)(a), expected, rtol=1e-8)
    np.testing.assert_allclose(riesz.jvp(loss, (a,), (np.array(1.0),))[1], expected, rtol=1e-8)


def test_jet_of_a_rule_that_closes_over_the_expanded_value_raises_clearly() -> None:
    g = _closing(1.0)
    with pytest.raises(ValueError, match="closes over a value that jet is expanding"):
        riesz.jet(g, (np.array(1.5),), ([np.array(1.0), np.array(0.0)],))


# -- keyword arguments, None tangents, checkpoint with an int --------------------------------


def test_keyword_arguments_reach_the_rules_by_position() -> None:
    @riesz.custom_jvp
    def h(x, scale=1.0):
        return x * scale

    h.defjvp(lambda p, t: (h(*p), t[0] * p[1]))
    x = np.array(1.2)
    np.testing.assert_allclose(riesz.grad(lambda x: h(x, scale=2.0))(x), 2.0)
    np.testing.assert_allclose(riesz.grad(lambda x: h(x))(x), 1.0)  # the default, positional
    np.testing.assert_allclose(riesz.jvp(lambda x: h(scale=4.0, x=x), (x,), (1.0,))[1], 4.0)
    np.testing.assert_allclose(h(x, scale=3.0), 3.6)

    @riesz.custom_vjp
    def k(x, *, scale):
        return x * scale

    k.defvjp(lambda x, *, scale: (k(x, scale=scale), None), lambda r, g: (g,))
    np.testing.assert_allclose(k(x, scale=2.0), 2.4)  # no rule involved: a plain call
    with pytest.raises(TypeError, match="keyword-only"):
        riesz.grad(lambda x: k(x, scale=2.0))(x)


def test_a_jvp_rule_may_return_none_for_a_zero_tangent() -> None:
    @riesz.custom_jvp
    def k(x, y):
        return x * y

    k.defjvp(lambda p, t: (k(*p), None))
    y, t = riesz.jvp(lambda x: k(x, 2.0), (np.array([1.0, 2.0]),), (np.ones(2),))
    np.testing.assert_array_equal(y, [2.0, 4.0])
    np.testing.assert_array_equal(t, np.zeros(2))
    np.testing.assert_array_equal(riesz.grad(lambda x: rnp.sum(k(x, 2.0)))(np.ones(2)), 0.0)

    @riesz.custom_jvp
    def two(x):
        return x * 2.0, rnp.sin(x)

    two.defjvp(lambda p, t: (two(p[0]), (2.0 * t[0], None)))  # None for one output
    x = np.array([0.3, 0.4])
    t1, t2 = riesz.jvp(two, (x,), (np.ones(2),))[1]
    np.testing.assert_array_equal(t1, 2.0)
    np.testing.assert_array_equal(t2, 0.0)
    assert t2.shape == (2,) and t2.dtype == np.float64


def test_checkpoint_with_an_integer_argument() -> None:
    def f(x, n):
        return rnp.sum(x ** n)

    x = np.array([0.5, 1.5])
    np.testing.assert_allclose(riesz.grad(lambda x: riesz.checkpoint(f)(x, 2))(x), 2 * x)
    np.testing.assert_allclose(riesz.grad(lambda x: riesz.checkpoint(f)(x, 3))(x), 3 * x * x)
    # a float second argument is differentiated
    gx, gp = riesz.grad(riesz.checkpoint(f), argnums=(0, 1))(x, 2.0)
    np.testing.assert_allclose(gx, 2 * x)
    np.testing.assert_allclose(gp, np.sum(x ** 2 * np.log(x)))
