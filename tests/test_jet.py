"""Taylor mode: `riesz.jet` for every primitive case against an independent
oracle, the derivatives of t ↦ f(x(t)) at 0 by nested `riesz.jvp` (exact
derivative composition, exponential in the order, so only used to K = 4);
closed forms; composition with grad / jvp / vmap; pytrees; and the cost in
primitive applications, polynomial in K where nested JVPs double per order."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import riesz
import riesz.numpy as rnp
from primitive_cases import CASES, NOT_DIFFERENTIABLE_CASES, ZERO_DERIVATIVE_CASES
from riesz._core.primitive import DIFFERENTIABLE

# Differentiable primitives without a Taylor rule, with the reason; jet raises
# NotImplementedError naming them (never a silently truncated series). Empty:
# every differentiable primitive has a rule.
UNSUPPORTED: dict[str, str] = {}


def _path(args: tuple[Any, ...], K: int, seed: int) -> tuple[list[list[np.ndarray]], Any]:
    """Random polynomial paths x_i(t) = x_i + Σ_k c_ik t^k through the float
    arguments: jet's derivative series (k! c_ik) and the path as a function of t."""
    rng = np.random.default_rng(seed)
    coefs = [[0.4 * rng.standard_normal(np.shape(a)) for _ in range(K)] for a in args]

    def path(t: Any) -> tuple[Any, ...]:
        out = []
        for a, cs in zip(args, coefs, strict=True):
            x = a
            for k, c in enumerate(cs):
                x = x + c * t ** (k + 1)
            out.append(x)
        return tuple(out)

    series = [[c * math.factorial(k + 1) for k, c in enumerate(cs)] for cs in coefs]
    return series, path


def nested_jvp_derivatives(g: Callable[[Any], Any], K: int) -> list[list[np.ndarray]]:
    """[g'(0), ..., g^(K)(0)] (each as the flat list of output leaves) by K
    nested riesz.jvp calls on the scalar t."""
    derivs = [g]
    for _ in range(K):
        prev = derivs[-1]

        def d(t: Any, prev: Callable[[Any], Any] = prev) -> Any:
            return riesz.jvp(prev, (t,), (np.ones_like(t),))[1]

        derivs.append(d)
    t0 = np.array(0.0)
    return [[np.asarray(v) for v in riesz.tree_leaves(derivs[k](t0))] for k in range(1, K + 1)]


def _compare(fn: Callable[..., Any], args: tuple[Any, ...], K: int, label: str,
             seed: int = 0, rtol: float = 1e-8) -> None:
    series, path = _path(args, K, seed)
    y0, ys = riesz.jet(fn, args, series)
    want = nested_jvp_derivatives(lambda t: fn(*path(t)), K)
    out_leaves = riesz.tree_leaves(y0)
    for o, w in zip(out_leaves, riesz.tree_leaves(fn(*args)), strict=True):
        np.testing.assert_allclose(o, w, rtol=1e-12, atol=1e-12, err_msg=f"{label}: primal")
    got_leaves = [riesz.tree_leaves(ys_leaf) for ys_leaf in _series_by_leaf(ys, len(out_leaves))]
    for k in range(K):
        for j, (g_leaf, w) in enumerate(zip(got_leaves, want[k], strict=True)):
            g = np.asarray(g_leaf[k])
            assert g.shape == w.shape, f"{label}: order {k + 1} leaf {j} shape {g.shape}"
            scale = max(1.0, float(np.max(np.abs(w), initial=0.0)))
            np.testing.assert_allclose(g, w, rtol=rtol, atol=rtol * scale,
                                       err_msg=f"{label}: order {k + 1}, output leaf {j}")


def _series_by_leaf(ys: Any, n: int) -> list[list[Any]]:
    """jet's series_out holds, where each output leaf is, the list of its K terms."""
    if n == 1 and isinstance(ys, list):
        return [ys]
    leaves: list[list[Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, list) and all(not isinstance(c, (list, tuple, dict)) for c in node):
            leaves.append(node)
        elif isinstance(node, dict):
            for key in sorted(node):
                walk(node[key])
        else:
            for c in node:
                walk(c)

    walk(ys)
    return leaves


def _float(case) -> bool:
    return all(np.asarray(a).dtype.kind == "f" for a in case.args)


SWEEP = [c for c in CASES if c.prim not in UNSUPPORTED and _float(c)]


# nested JVPs cost 2^K evaluations: the slow linear-algebra cases stop at K = 3
SLOW = {"svd", "qr", "eigh", "cumprod", "det", "expm", "cholesky", "pinv"}


@pytest.mark.parametrize("case", SWEEP, ids=lambda c: c.id)
def test_jet_matches_nested_jvp(case) -> None:
    single = np.result_type(*[np.asarray(v) for v in riesz.tree_leaves(case.fn(*case.args))])
    _compare(case.fn, case.args, 3 if case.prim in SLOW else 4, case.id,
             rtol=1e-5 if single == np.float32 else 1e-8)


def test_a_primitive_without_a_rule_raises_and_names_it() -> None:
    prim = riesz.registry()["arctan"]
    rule, prim.jet = prim.jet, None
    try:
        with pytest.raises(NotImplementedError, match="'arctan' has no Taylor-mode rule"):
            riesz.jet(lambda x: rnp.sin(rnp.arctan(x)), (0.5,), ([1.0, 0.0],))
    finally:
        prim.jet = rule


def test_every_differentiable_primitive_has_a_rule_or_is_listed() -> None:
    missing = sorted(name for name, p in riesz.registry().items()
                     if p.kind == DIFFERENTIABLE and p.jet is None and name not in UNSUPPORTED)
    assert not missing, f"differentiable primitives without a jet rule: {missing}"
    stale = sorted(name for name in UNSUPPORTED if riesz.registry()[name].jet is not None)
    assert not stale, f"listed as unsupported but have a jet rule: {stale}"


@pytest.mark.parametrize("name", sorted(ZERO_DERIVATIVE_CASES))
def test_zero_derivative_primitives_give_constants(name: str) -> None:
    fn, x = ZERO_DERIVATIVE_CASES[name]
    y0, ys = riesz.jet(fn, (x,), ([np.ones_like(x), np.ones_like(x)],))
    np.testing.assert_array_equal(y0, fn(x))
    for y in ys:
        np.testing.assert_array_equal(y, np.zeros_like(y0))


@pytest.mark.parametrize("name", sorted(NOT_DIFFERENTIABLE_CASES))
def test_not_differentiable_primitives_give_plain_values(name: str) -> None:
    fn, x = NOT_DIFFERENTIABLE_CASES[name][:2]
    y0, ys = riesz.jet(fn, (x,), ([np.ones_like(x)],))
    np.testing.assert_array_equal(y0, fn(x))
    assert not np.any(ys[0])
