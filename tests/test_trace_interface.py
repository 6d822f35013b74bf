"""The declared Trace interface, the shared JVP-application helper and typed
symbolic zeros (issue 7, deliverable 4)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

import riesz
import riesz.numpy as rnp
from riesz._core import primitive as primitive_module
from riesz._core.primitive import Primitive, apply_jvp
from riesz._core.trace import Trace
from riesz._core.zeros import Zero, instantiate, is_zero, zeros_like
from riesz._interpreters.batching import BatchTrace
from riesz._interpreters.forward import JVPTrace
from riesz._interpreters.reverse import VJPTrace
from riesz._interpreters.taylor import JetTrace, jet_from_jvp


@pytest.fixture
def scratch() -> Iterator[list[str]]:
    """Primitives made in a test are removed from the registry afterwards."""
    names: list[str] = []
    yield names
    for n in names:
        primitive_module._REGISTRY.pop(n, None)


@pytest.mark.parametrize("cls", [JVPTrace, VJPTrace, BatchTrace, JetTrace])
def test_every_interpreter_implements_the_interface(cls: type[Trace]) -> None:
    assert issubclass(cls, Trace)
    for name in ("process", "process_custom", "new_input"):
        assert getattr(cls, name) is not getattr(Trace, name), f"{cls.__name__}.{name}"
    assert callable(cls.primal_of)


def _two_argument_primitive(name: str) -> Primitive:
    """p(x, y) = x² y, with per-argument JVP rules 2xy·s and x²·t."""
    p = Primitive(name, lambda x, y: x * x * y)
    p.def_jvp(lambda s, ans, x, y: 2.0 * x * y * s, lambda t, ans, x, y: x * x * t)
    p.def_vjp(lambda g, ans, x, y: 2.0 * x * y * g, lambda g, ans, x, y: x * x * g)
    return jet_from_jvp(p)


def test_one_jvp_helper_serves_forward_replay_and_taylor_mode(scratch: list[str]) -> None:
    scratch.append("test_x2y_interface")
    p = _two_argument_primitive("test_x2y_interface")
    x, y = np.array([1.5, -0.5]), np.array([2.0, 3.0])
    s, t = np.array([1.0, 0.5]), np.array([-1.0, 2.0])
    expected = 2 * x * y * s + x * x * t  # closed form of ∂p(x, y)[s, t]
    np.testing.assert_allclose(apply_jvp(p, [x, y], [s, t], p.impl(x, y), {}), expected)
    assert apply_jvp(p, [x, y], [None, None], p.impl(x, y), {}) is None
    np.testing.assert_allclose(apply_jvp(p, [x, y], [None, t], p.impl(x, y), {}), x * x * t)
    np.testing.assert_allclose(riesz.jvp(p, (x, y), (s, t))[1], expected)
    _, lin = riesz.linearize(p, x, y)
    np.testing.assert_allclose(lin((s, t)), expected)
    _, (d1,) = riesz.jet(p, (x, y), ([s], [t]))
    np.testing.assert_allclose(d1, expected)


def test_a_genuine_error_in_a_rule_under_jet_is_raised_once_not_retried(
    scratch: list[str],
) -> None:
    # jet's general rule first runs the JVP rule with its output unknown; only
    # "the rule reads its output" may send it to a second run, not any error.
    calls = []

    def bad_rule(t, ans, x):
        calls.append(1)
        raise ZeroDivisionError("a genuine bug in a rule")

    scratch.append("test_bad_rule_interface")
    p = Primitive("test_bad_rule_interface", lambda x: x * 2.0)
    p.def_jvp(bad_rule).def_vjp(lambda g, ans, x: 2.0 * g)
    jet_from_jvp(p)
    with pytest.raises(ZeroDivisionError, match="genuine bug"):
        riesz.jet(p, (np.array(1.0),), ([np.array(1.0), np.array(0.0)],))
    assert len(calls) == 1


def test_typed_zeros_carry_shape_and_dtype() -> None:
    z = Zero.like(np.ones((2, 3), np.float32))
    assert (z.shape, z.dtype) == ((2, 3), np.float32)
    a = z.instantiate()
    assert a.shape == (2, 3) and a.dtype == np.float32 and not a.any()
    assert is_zero(None) and is_zero(z) and not is_zero(a)
    assert instantiate(a, None) is a
    assert Zero.like(3).dtype == np.float64 and Zero.like(2.0j).dtype == np.complex128
    assert zeros_like(np.ones(4, np.float32)).dtype == np.float32


def test_outputs_that_do_not_depend_on_the_input_get_typed_zero_tangents() -> None:
    x = np.array([1.0, 2.0], np.float32)
    const = np.ones((3,), np.float32)
    (y, c), (ty, tc) = riesz.jvp(lambda x: (rnp.sin(x), const), (x,), (np.ones(2, np.float32),))
    assert tc.shape == (3,) and tc.dtype == np.float32 and not tc.any()
    np.testing.assert_allclose(ty, np.cos(x), rtol=1e-6)
    _, (d1, d2) = riesz.jet(lambda x: const * 1.0, (x,), ([x, x],))
    assert d1.shape == (3,) and d1.dtype == np.float32 and not d1.any()


def test_a_custom_rule_may_return_a_typed_zero() -> None:
    @riesz.custom_jvp
    def f(x):
        return x * 3.0

    f.defjvp(lambda p, t: (f(p[0]), Zero.like(p[0])))
    x = np.array([1.0, 2.0])
    t = riesz.jvp(f, (x,), (np.ones(2),))[1]
    assert t.shape == (2,) and not t.any()
    np.testing.assert_array_equal(riesz.grad(lambda x: rnp.sum(f(x)))(x), 0.0)
