"""The systematic sweep: every registered primitive, by finite differences
(JVP), the adjoint identity (VJP), and to second order in every nesting of
forward and reverse mode, in float64 and float32."""

from __future__ import annotations

import numpy as np
import pytest

import riesz
from primitive_cases import (
    CASES,
    COMPLEX_EXEMPT,
    NOT_DIFFERENTIABLE_CASES,
    ZERO_DERIVATIVE_CASES,
)
from riesz._core.primitive import CUSTOM, DIFFERENTIABLE, JOINT, NOT_DIFFERENTIABLE, ZERO_DERIVATIVE
from riesz._interpreters.reverse import recorded_primitives
from riesz.transforms import _Recorded


def test_every_primitive_has_cases() -> None:
    covered = {c.prim for c in CASES} | set(ZERO_DERIVATIVE_CASES) | set(NOT_DIFFERENTIABLE_CASES)
    missing = sorted(set(riesz.registry()) - covered)
    assert not missing, f"primitives without test inputs in tests/primitive_cases.py: {missing}"


def test_every_primitive_has_rules() -> None:
    incomplete = [p.name for p in riesz.registry().values() if not p.has_rules]
    assert not incomplete, f"differentiable primitives missing a JVP or VJP rule: {incomplete}"


def test_cases_exercise_their_primitive() -> None:
    for case in CASES:
        rec = _Recorded(case.fn, case.args, "test", False, case.fn)
        used = recorded_primitives(rec.trace.tape)
        assert case.prim in used, f"case {case.id} never applies primitive {case.prim!r}"


def test_kinds_match_tables() -> None:
    reg = riesz.registry()
    for name in ZERO_DERIVATIVE_CASES:
        assert reg[name].kind == ZERO_DERIVATIVE
    for name in NOT_DIFFERENTIABLE_CASES:
        assert reg[name].kind == NOT_DIFFERENTIABLE
    for case in CASES:
        assert reg[case.prim].kind in (DIFFERENTIABLE, CUSTOM, JOINT)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_primitive_float64(case) -> None:
    riesz.check_grads(case.fn, case.args, order=2, modes=("fwd", "rev"), **dict(case.tolerances))


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_primitive_float32(case) -> None:
    args = tuple(np.asarray(a, np.complex64 if np.iscomplexobj(a) else np.float32)
                 for a in case.args)
    riesz.check_grads(case.fn, args, order=1, modes=("fwd", "rev"))
    out, vjp_fn = riesz.vjp(case.fn, *args)
    single = {np.dtype(np.float32), np.dtype(np.complex64)}
    assert np.result_type(out) in single, f"{case.id}: output dtype {np.result_type(out)}"
    cts = vjp_fn(np.ones(np.shape(out), np.result_type(out)))
    for ct, a in zip(cts, args, strict=True):
        assert ct.dtype == a.dtype, f"{case.id}: cotangent dtype {ct.dtype}, input {a.dtype}"
    _, tangent = riesz.jvp(case.fn, args, tuple(np.ones_like(a) for a in args))
    assert np.result_type(tangent) == np.result_type(out), f"{case.id}: tangent dtype"


@pytest.mark.parametrize("name", sorted(ZERO_DERIVATIVE_CASES))
def test_zero_derivative(name: str) -> None:
    fn, x = ZERO_DERIVATIVE_CASES[name]
    g = riesz.grad(lambda x: (fn(x) * x).sum())(x)
    np.testing.assert_allclose(g, np.asarray(fn(x)))  # d/dx [c(x) x] = c(x) when c' = 0
    _, t = riesz.jvp(fn, (x,), (np.ones_like(x),))
    np.testing.assert_array_equal(t, np.zeros_like(x))


@pytest.mark.parametrize("name", sorted(NOT_DIFFERENTIABLE_CASES))
def test_not_differentiable(name: str) -> None:
    fn, x, *kind = NOT_DIFFERENTIABLE_CASES[name]
    kind = kind[0] if kind else "b"
    seen = []

    def f(x):
        y = fn(x)
        seen.append(y)
        return (x * 2.0).sum()

    riesz.grad(f)(x)
    assert type(seen[0]) is np.ndarray and seen[0].dtype.kind == kind
    np.testing.assert_array_equal(seen[0], fn(x))


def _complexified(case):
    """The case's float inputs with an imaginary part added."""
    return tuple(np.asarray(a) + 0.25j if np.asarray(a).dtype.kind == "f" else a
                 for a in case.args)


def _runs_on_complex(case) -> bool:
    """Whether case.prim's implementation ran on a complex operand when the case's
    function is recorded with complexified inputs (NumPy/SciPy accept them)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            rec = _Recorded(case.fn, _complexified(case), "test", False, case.fn)
        except Exception:  # refused (a TypeError from NumPy, a ComplexWarning, ...)
            return False
    prim = riesz.registry()[case.prim]
    return any(node is not None and node[0] == prim.index
               and any(np.iscomplexobj(v) for v in node[4])
               for node in rec.trace.tape)


def test_every_primitive_accepting_complex_has_a_complex_case() -> None:
    """SPEC §13: a primitive NumPy defines on complex arrays is checked on them."""
    covered = {c.prim for c in CASES if any(np.iscomplexobj(a) for a in c.args)}
    covered |= set(COMPLEX_EXEMPT)
    accepting = {c.prim for c in CASES if c.prim not in covered and _runs_on_complex(c)}
    assert not accepting, f"primitives that run on complex inputs without a complex case: " \
        f"{sorted(accepting)}"
