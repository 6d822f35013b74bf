"""Transformations' API: pytrees, argnums, has_aux, and errors on bad input."""

from __future__ import annotations

import dataclasses
from collections import namedtuple

import numpy as np
import pytest

import riesz
import riesz.numpy as rnp
from finite_differences import fd_grad
from riesz._core.trace import Tracer

Pair = namedtuple("Pair", ["w", "b"])


@riesz.register_dataclass
@dataclasses.dataclass
class Layer:
    w: np.ndarray
    b: np.ndarray


class Opaque:
    def __init__(self, v):
        self.v = v


def test_tree_roundtrip_and_map() -> None:
    tree = {"a": [1.0, (2.0, None)], "b": Pair(np.ones(2), 3.0)}
    leaves, treedef = riesz.tree_flatten(tree)
    assert len(leaves) == 4
    back = riesz.tree_unflatten(treedef, leaves)
    assert back["b"].__class__ is Pair and back["a"][1][1] is None
    doubled = riesz.tree_map(lambda x: x * 2, tree)
    assert doubled["a"][0] == 2.0 and np.all(doubled["b"].w == 2.0)


def test_grad_of_pytree_arguments() -> None:
    params = {
        "layer": Layer(np.array([[1.0, 2.0]]), np.array([0.5])),
        "scale": Pair(2.0, np.array(1.0)),
    }
    x = np.array([0.3, -0.4])

    def loss(p, x):
        y = p["layer"].w @ x + p["layer"].b
        return rnp.sum(rnp.tanh(y) * p["scale"].w + p["scale"].b)

    g = riesz.grad(loss)(params, x)
    assert isinstance(g["layer"], Layer) and isinstance(g["scale"], Pair)
    y = np.tanh(params["layer"].w @ x + params["layer"].b)
    dy = 2.0 * (1 - y**2)
    np.testing.assert_allclose(g["layer"].w, np.outer(dy, x))
    np.testing.assert_allclose(g["layer"].b, dy)
    assert g["scale"].w == pytest.approx(float(y.sum()))
    np.testing.assert_allclose(g["scale"].b, 1.0)


def test_register_pytree_node_custom_class() -> None:
    class Box:
        def __init__(self, a, b):
            self.a, self.b = a, b

    riesz.register_pytree_node(Box, lambda x: ((x.a, x.b), None), lambda _, c: Box(*c))
    g = riesz.grad(lambda bx: rnp.sum(bx.a * bx.b))(Box(np.array([2.0]), np.array([3.0])))
    assert isinstance(g, Box) and g.a[0] == 3.0 and g.b[0] == 2.0


def test_argnums_and_has_aux() -> None:
    def f(x, y, z):
        return rnp.sum(x * y * z), {"note": "aux", "y": y * 2}

    x, y, z = np.array(2.0), np.array(3.0), np.array(5.0)
    (val, aux), g = riesz.value_and_grad(f, argnums=(0, 2), has_aux=True)(x, y, z)
    assert val == 30.0 and aux["note"] == "aux" and aux["y"] == 6.0
    assert isinstance(g, tuple) and g[0] == 15.0 and g[1] == 6.0
    g1, aux = riesz.grad(f, argnums=1, has_aux=True)(x, y, z)
    assert g1 == 10.0 and not isinstance(aux["y"], Tracer)  # aux values are untraced
    out, vjp_fn, aux = riesz.vjp(lambda x: (x * 3.0, x), np.array(1.0), has_aux=True)
    assert vjp_fn(1.0) == (3.0,) and aux == 1.0


def test_vjp_returns_tuple_per_primal() -> None:
    _, vjp_fn = riesz.vjp(lambda x: x * 2.0, np.ones(2))
    ct = vjp_fn(np.ones(2))
    assert isinstance(ct, tuple) and len(ct) == 1


def test_python_float_input() -> None:
    assert float(riesz.grad(lambda x: x * x)(3.0)) == 6.0


def test_float32_stays_float32() -> None:
    W = np.ones((3, 2), np.float32)
    x = np.ones(2, np.float32)
    val, g = riesz.value_and_grad(lambda W: rnp.sum(rnp.tanh(W @ x) * 0.5))(W)
    assert val.dtype == np.float32 and g.dtype == np.float32


class TestErrors:
    def test_nonscalar_output(self) -> None:
        with pytest.raises(TypeError, match=r"shape \(3,\).*jacrev"):
            riesz.grad(lambda x: x * 2)(np.ones(3))

    def test_integer_input_names_argument(self) -> None:
        def f(x, count):
            return rnp.sum(x) * count

        with pytest.raises(TypeError, match=r"argument 1 \('count'\).*integer"):
            riesz.grad(f, argnums=1)(np.ones(2), 3)
        with pytest.raises(TypeError, match=r"argument 0 \('x'\).*integer dtype int64"):
            riesz.grad(f)(np.arange(3), 2)

    def test_boolean_input(self) -> None:
        with pytest.raises(TypeError, match="boolean"):
            riesz.grad(lambda m: rnp.sum(m * 1.0))(np.array([True, False]))

    def test_integer_leaf_in_pytree(self) -> None:
        with pytest.raises(TypeError, match=r"argument 0 \('p'\), leaf 1"):
            riesz.grad(lambda p: rnp.sum(p[0]))((np.ones(2), np.arange(2)))

    def test_unregistered_type(self) -> None:
        with pytest.raises(TypeError, match="Opaque.*register_pytree_node"):
            riesz.grad(lambda o: o.v)(Opaque(1.0))

    def test_float_and_bool_of_tracer(self) -> None:
        with pytest.raises(TypeError, match="float"):
            riesz.grad(lambda x: float(x))(1.0)
        with pytest.raises(TypeError, match="bool"):
            riesz.grad(lambda x: x if x else -x)(1.0)

    def test_comparison_gives_plain_boolean(self) -> None:
        g = riesz.grad(lambda x: x * 2.0 if bool(x > 0) else -x)(1.0)
        assert g == 2.0

    def test_item_assignment(self) -> None:
        def f(x):
            x[0] = 1.0
            return rnp.sum(x)

        with pytest.raises(TypeError, match="immutable"):
            riesz.grad(f)(np.ones(2))

    def test_jvp_arguments(self) -> None:
        with pytest.raises(TypeError, match="tuples"):
            riesz.jvp(rnp.sin, np.ones(2), np.ones(2))
        with pytest.raises(ValueError, match="shape"):
            riesz.jvp(rnp.sin, (np.ones(2),), (np.ones(3),))

    def test_cotangent_shape(self) -> None:
        _, vjp_fn = riesz.vjp(rnp.sin, np.ones(2))
        with pytest.raises(ValueError, match="shape"):
            vjp_fn(np.ones(3))

    def test_argnums_out_of_range(self) -> None:
        with pytest.raises(ValueError, match="argnums"):
            riesz.grad(lambda x: x, argnums=2)(1.0)

    def test_has_aux_needs_pair(self) -> None:
        with pytest.raises(TypeError, match="pair"):
            riesz.grad(lambda x: x * 1.0, has_aux=True)(1.0)


# -- regressions from the adversarial campaign (issue 8) ---------------------------------


def _quartic(x, y):
    return rnp.sum(x**3 * y) + rnp.sum(rnp.sin(x))


def test_repeated_argnums_give_the_full_gradient_in_every_entry() -> None:
    x, y = np.array([0.3, -1.2, 0.7]), np.array([1.5, 0.4, -0.8])
    gx = fd_grad(lambda v: float(np.sum(v**3 * y) + np.sum(np.sin(v))), x)
    gy = fd_grad(lambda v: float(np.sum(x**3 * v) + np.sum(np.sin(x))), y)
    g = riesz.grad(_quartic, argnums=(0, 0))(x, y)
    assert len(g) == 2
    np.testing.assert_allclose(g[0], gx, rtol=1e-7)
    np.testing.assert_allclose(g[1], gx, rtol=1e-7)
    g[0][0] = 99.0  # the repeated entries are separate arrays
    np.testing.assert_allclose(g[1], gx, rtol=1e-7)
    g = riesz.value_and_grad(_quartic, argnums=(1, 0, 1))(x, y)[1]
    for got, want in zip(g, (gy, gx, gy), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-7)
    for jac in (riesz.jacrev, riesz.jacfwd):  # the Jacobians likewise
        J = jac(_quartic, argnums=(1, 0, 1))(x, y)
        for got, want in zip(J, (gy, gx, gy), strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-7)
    H = riesz.hessian(_quartic, argnums=(0, 0))(x, y)  # d²/dx²: diag(6 x y - sin x)
    for row in H:
        for block in row:
            np.testing.assert_allclose(block, np.diag(6 * x * y - np.sin(x)), atol=1e-12)


@pytest.mark.parametrize("num", [np.int64(0), np.int32(-2), np.intp(0)])
def test_numpy_integer_argnums(num) -> None:
    x, y = np.array([0.3, -1.2]), np.array([1.5, 0.4])
    gx = fd_grad(lambda v: float(np.sum(v**3 * y) + np.sum(np.sin(v))), x)
    np.testing.assert_allclose(riesz.grad(_quartic, argnums=num)(x, y), gx, rtol=1e-7)
    g = riesz.grad(_quartic, argnums=(num, np.int16(1)))(x, y)
    np.testing.assert_allclose(g[0], gx, rtol=1e-7)
    np.testing.assert_allclose(riesz.jacrev(_quartic, argnums=num)(x, y), gx, rtol=1e-7)


def test_bad_argnums_are_named() -> None:
    from riesz.transforms import _argnums_tuple

    assert _argnums_tuple(np.int64(-1), 3, "grad") == (2,)
    assert _argnums_tuple([0, np.int8(2), 0], 3, "grad") == (0, 2, 0)
    with pytest.raises(ValueError, match="out of range for 2 positional"):
        riesz.grad(_quartic, argnums=2)(np.ones(2), np.ones(2))
    with pytest.raises(TypeError, match="argnums must be ints"):
        riesz.grad(_quartic, argnums=(0, 1.0))(np.ones(2), np.ones(2))
    with pytest.raises(TypeError, match="argnums must be ints"):
        riesz.grad(_quartic, argnums=True)(np.ones(2), np.ones(2))
    with pytest.raises(ValueError, match="at least one"):
        riesz.grad(_quartic, argnums=())(np.ones(2), np.ones(2))


def test_python_scalar_output_is_a_constant() -> None:
    x = np.array([0.5, 2.0])
    out, vjp_fn = riesz.vjp(lambda x: 3.0, x)
    assert np.asarray(out) == 3.0 and np.shape(out) == ()
    (ct,) = vjp_fn(1.0)
    np.testing.assert_array_equal(ct, np.zeros(2))
    # a pytree output mixing a traced leaf and a constant one
    out, vjp_fn = riesz.vjp(lambda x: (rnp.sum(x**2), 7), x)
    np.testing.assert_allclose(vjp_fn((1.0, 0))[0], 2 * x)
    np.testing.assert_array_equal(riesz.hessian(lambda x: 3.0)(x), np.zeros((2, 2)))
    np.testing.assert_array_equal(riesz.jacrev(lambda x: 1.5)(x), np.zeros(2))
    np.testing.assert_array_equal(riesz.grad(lambda x: 2.5)(x), np.zeros(2))


@pytest.mark.parametrize("f", [lambda x: rnp.sum(x) > 0, lambda x: True,
                               lambda x: (rnp.sum(x) > 0, 1.0)])
def test_grad_of_a_boolean_output_says_so(f) -> None:
    has_aux = not isinstance(f(np.ones(2)), bool) and isinstance(f(np.ones(2)), tuple)
    with pytest.raises(TypeError, match=r"dtype bool \(True\).*boolean .*not differentiable"):
        riesz.grad(f, has_aux=has_aux)(np.ones(2))


def _chain(kind):
    return {
        "identity": lambda x: x,
        "reshape": lambda x: rnp.reshape(x, (3, 2)),
        "transpose": lambda x: rnp.transpose(x),
        "add": lambda x: x + 1.0,
        "squeeze": lambda x: rnp.squeeze(rnp.reshape(x, (1, 6))),
    }[kind]


@pytest.mark.parametrize("kind", ["identity", "reshape", "transpose", "add", "squeeze"])
def test_a_pullback_never_returns_the_callers_cotangent(kind) -> None:
    f = _chain(kind)
    x = np.arange(6.0).reshape(2, 3)
    out, vjp_fn = riesz.vjp(f, x)
    ct = np.linspace(1.0, 2.0, out.size).reshape(out.shape)
    (g,) = vjp_fn(ct)
    # the oracle: a pullback of a linear map is the transpose of its matrix
    f0 = np.asarray(f(np.zeros((2, 3)))).ravel()  # f is affine: J e = f(e) - f(0)
    J = np.stack([np.asarray(f(e.reshape(2, 3))).ravel() - f0 for e in np.eye(6)])
    want = (J @ ct.ravel()).reshape(2, 3)
    np.testing.assert_allclose(g, want)
    ct[...] = -5.0
    np.testing.assert_allclose(g, want)  # the returned cotangent did not change
    g[...] = 7.0
    np.testing.assert_allclose(vjp_fn(np.linspace(1.0, 2.0, out.size).reshape(out.shape))[0],
                               want)
    # forward mode likewise: the tangent passed in is not returned
    u = np.ones((2, 3))
    _, t = riesz.jvp(f, (x,), (u,))
    u[...] = 3.0
    np.testing.assert_allclose(t, (J.T @ np.ones(6)).reshape(out.shape))


def test_gradients_alias_neither_inputs_nor_each_other() -> None:
    @riesz.custom_vjp
    def passthrough(x):
        return x * 1.0

    passthrough.defvjp(lambda x: (passthrough(x), x), lambda x, g: (x,))  # returns a residual
    x = np.array([1.0, 2.0, 3.0])
    g = riesz.grad(lambda x: rnp.sum(passthrough(x)))(x)
    assert not np.shares_memory(g, x)
    g[...] = 0.0
    np.testing.assert_array_equal(x, [1.0, 2.0, 3.0])
    gx, gy = riesz.grad(lambda x, y: rnp.sum((x + y) * 2.0), argnums=(0, 1))(x, x.copy())
    assert not np.shares_memory(gx, gy)
    _, vjp_fn = riesz.vjp(lambda a, b: a + b, x, x)
    ga, gb = vjp_fn(np.ones(3))
    ga[0] = 5.0
    np.testing.assert_array_equal(gb, np.ones(3))
