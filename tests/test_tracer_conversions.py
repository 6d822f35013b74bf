"""Tracers where NumPy users expect an array: logging with format strings, .item() and
.tolist(), `y[i] = x` into a NumPy array, numpy.random with a traced parameter; and
autograd's elementwise_grad."""

from __future__ import annotations

import numpy as np
import pytest

import riesz
import riesz.numpy as rnp
from finite_differences import fd_grad

X = np.array([0.3, -1.2, 2.0])


def test_format_spec_logs_the_value_and_keeps_the_derivative():
    logged = []

    def loss(x):
        value = rnp.sum(rnp.sin(x) ** 2)
        logged.append(f"loss {value:.6f}, first {x[0]:+.3e}")
        return value

    g = riesz.grad(loss)(X)
    want = float(np.sum(np.sin(X) ** 2))
    assert logged == [f"loss {want:.6f}, first {X[0]:+.3e}"]
    np.testing.assert_allclose(g, 2 * np.sin(X) * np.cos(X), rtol=1e-12)


def test_format_spec_under_jvp_and_nested_grad():
    logged = []

    def f(x):
        logged.append(format(x * x, ".4f"))
        return x * x

    riesz.jvp(f, (1.5,), (1.0,))
    assert riesz.grad(riesz.grad(f))(0.5) == pytest.approx(2.0)
    assert logged == ["2.2500", "0.2500"]


def test_format_of_a_batched_value_raises():
    def loss(x):
        value = rnp.sum(x ** 2)
        f"{value:.3f}"  # noqa: B018 (the formatting is the test)
        return value

    with pytest.raises(TypeError, match="batched by .*differs per example"):
        riesz.vmap(riesz.grad(loss))(np.ones((2, 3)))


def test_empty_format_spec_is_str():
    seen = []
    riesz.grad(lambda x: seen.append((f"{x}", str(x))) or x * x)(2.0)
    assert seen[0][0] == seen[0][1] and "Tracer" in seen[0][0]


@pytest.mark.parametrize("method", ["item", "tolist"])
def test_item_and_tolist_raise_the_clear_message(method):
    def f(x):
        getattr(x, method)()
        return rnp.sum(x)

    with pytest.raises(TypeError, match=rf"x\.{method}\(\) of a traced value.*"
                                        r"stop_gradient.*has_aux=True"):
        riesz.grad(f)(X)


def test_setting_a_numpy_array_element_names_the_functional_fix():
    def f(x):
        y = np.zeros(3)
        y[0] = x[0]
        return y.sum()

    # NumPy's own message, with the fix in it (not only in the chained cause), under
    # every transformation
    for transformed in (riesz.grad(f), lambda x: riesz.jvp(f, (x,), (x,)),
                        lambda x: riesz.vmap(f)(np.stack([x, x])), riesz.jit(f)):
        with pytest.raises(ValueError, match="sequence") as info:
            transformed(X)
        assert "rnp.index_update(y, i, x)" in str(info.value)
        assert "rnp.stack" in str(info.value)

    def fixed(x):  # the fix the message names
        return rnp.index_update(np.zeros(3), 0, x[0] ** 2).sum()

    np.testing.assert_allclose(riesz.grad(fixed)(X), fd_grad(fixed, X), atol=1e-8)


def test_random_draw_with_a_traced_parameter_names_reparameterisation():
    rng = np.random.default_rng(0)

    def sample_mean(mu):
        return rnp.sum(rng.normal(mu))

    with pytest.raises(TypeError, match=r"reparameterise.*mu \+ sigma \* "
                                        r"rng\.standard_normal"):
        riesz.grad(sample_mean)(X)

    noise = np.random.default_rng(1).standard_normal(3)

    def reparameterised(mu):
        return rnp.sum(rnp.exp(mu + 0.5 * noise))

    np.testing.assert_allclose(riesz.grad(reparameterised)(X), fd_grad(reparameterised, X),
                               rtol=1e-8)


def test_elementwise_grad_of_entrywise_functions_is_the_diagonal():
    def f(x):
        return rnp.sin(x) * rnp.exp(x / 2)

    x = np.linspace(-2.0, 2.0, 7)
    got = riesz.elementwise_grad(f)(x)
    h = 1e-6
    np.testing.assert_allclose(got, (f(x + h) - f(x - h)) / (2 * h), rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(got, riesz.vmap(riesz.grad(f))(x), rtol=1e-14)


def test_elementwise_grad_is_the_gradient_of_the_sum_for_any_f():
    A = np.arange(12.0).reshape(3, 4) / 7

    def f(x):  # not entrywise: the result is the Jacobian's column sums
        return rnp.tanh(A @ x)

    x = np.array([0.1, -0.2, 0.3, 0.05])
    got = riesz.elementwise_grad(f)(x)
    np.testing.assert_allclose(got, fd_grad(lambda v: np.sum(np.tanh(A @ v)), x), rtol=1e-7)


def test_elementwise_grad_argnums():
    x, y = np.array([1.0, 2.0]), np.array([0.5, -1.0])
    gx, gy = riesz.elementwise_grad(lambda a, b: a ** 2 * rnp.sin(b), argnums=(0, 1))(x, y)
    np.testing.assert_allclose(gx, 2 * x * np.sin(y), rtol=1e-14)
    np.testing.assert_allclose(gy, x ** 2 * np.cos(y), rtol=1e-14)
