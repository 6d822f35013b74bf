"""The checker itself: it must catch wrong first- and second-order rules."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

import riesz
import riesz.numpy as rnp
from riesz._core import primitive as primitive_module
from riesz._core.primitive import Primitive, elementwise_unary
from riesz._core.trace import raw_value


@pytest.fixture
def scratch_primitives() -> Iterator[list[str]]:
    """Primitives made in a test are removed from the registry afterwards."""
    names: list[str] = []
    yield names
    for n in names:
        primitive_module._REGISTRY.pop(n, None)


def test_correct_function_passes() -> None:
    riesz.check_grads(lambda x, y: rnp.sum(rnp.sin(x) * y), (np.ones(3), np.arange(3.0)), order=3)


def test_wrong_jvp_rule_is_caught(scratch_primitives: list[str]) -> None:
    bad = Primitive("bad_jvp_sin", np.sin)
    scratch_primitives.append(bad.name)
    bad.def_jvp(lambda t, ans, x: t * rnp.sin(x)).def_vjp(lambda g, ans, x: g * rnp.cos(x))
    with pytest.raises(riesz.GradientCheckError, match="JVP of f"):
        riesz.check_grads(bad, (np.linspace(0.1, 1, 3),), order=1)
    riesz.check_grads(bad, (np.linspace(0.1, 1, 3),), order=1, modes=("rev",))


def test_wrong_vjp_rule_is_caught(scratch_primitives: list[str]) -> None:
    bad = Primitive("bad_vjp_sin", np.sin)
    scratch_primitives.append(bad.name)
    bad.def_jvp(lambda t, ans, x: t * rnp.cos(x)).def_vjp(lambda g, ans, x: 2 * g * rnp.cos(x))
    with pytest.raises(riesz.GradientCheckError, match="VJP of f: adjoint identity"):
        riesz.check_grads(bad, (np.linspace(0.1, 1, 3),), order=1, modes=("rev",))


def test_rule_not_differentiable_is_caught_at_second_order(scratch_primitives: list[str]) -> None:
    # first-order correct, but the rule uses raw NumPy: its own derivative is lost
    bad = elementwise_unary(Primitive("bad_second_sin", np.sin),
                            lambda x, ans: np.cos(raw_value(x)))
    scratch_primitives.append(bad.name)
    x = (np.linspace(0.1, 1, 3),)
    riesz.check_grads(bad, x, order=1)
    with pytest.raises(riesz.GradientCheckError, match="JVP of JVP of f"):
        riesz.check_grads(bad, x, order=2, modes=("fwd",))
    with pytest.raises(riesz.GradientCheckError, match="of VJP of f"):
        riesz.check_grads(bad, x, order=2, modes=("rev",))


def test_failure_names_worst_entry(scratch_primitives: list[str]) -> None:
    bad = Primitive("bad_entry", lambda x: x * 1.0)
    scratch_primitives.append(bad.name)

    def wrong(t, ans, x):
        return t * rnp.where(np.arange(4) == 2, 3.0, 1.0)

    bad.def_jvp(wrong).def_vjp(wrong)
    with pytest.raises(riesz.GradientCheckError, match=r"at index \(2,\)"):
        riesz.check_grads(bad, (np.ones(4),), order=1)


def test_bad_arguments() -> None:
    with pytest.raises(TypeError, match="tuple"):
        riesz.check_grads(rnp.sin, np.ones(2))
    with pytest.raises(ValueError, match="modes"):
        riesz.check_grads(rnp.sin, (np.ones(2),), modes=("sideways",))
