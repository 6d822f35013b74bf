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
import riesz.scipy.linalg as rsl
import riesz.scipy.special as rsp
from primitive_cases import CASES, NOT_DIFFERENTIABLE_CASES, ZERO_DERIVATIVE_CASES
from riesz._core.primitive import DIFFERENTIABLE

# Differentiable primitives without a Taylor rule, with the reason; jet raises
# NotImplementedError naming them (never a silently truncated series).
UNSUPPORTED: dict[str, str] = {
    "odeint": "the K-th Taylor term by nested sensitivity equations has 2^K copies of the "
              "state; nested riesz.jvp gives low orders",
    "eig": "complex results with a non-holomorphic eigenvector gauge (jet refuses it)",
}


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
    # series_out has each output leaf replaced by its list of K terms
    flat = riesz.tree_leaves(ys)
    assert len(flat) == K * len(out_leaves), label
    got_leaves = [flat[i * K:(i + 1) * K] for i in range(len(out_leaves))]
    for k in range(K):
        for j, (g_leaf, w) in enumerate(zip(got_leaves, want[k], strict=True)):
            g = np.asarray(g_leaf[k])
            assert g.shape == w.shape, f"{label}: order {k + 1} leaf {j} shape {g.shape}"
            scale = max(1.0, float(np.max(np.abs(w), initial=0.0)))
            np.testing.assert_allclose(g, w, rtol=rtol, atol=rtol * scale,
                                       err_msg=f"{label}: order {k + 1}, output leaf {j}")


def _float(case) -> bool:
    return all(np.asarray(a).dtype.kind == "f" for a in case.args)


SWEEP = [c for c in CASES if c.prim not in UNSUPPORTED and _float(c)]


# nested JVPs cost 2^K evaluations: the slow linear-algebra cases stop at K = 3
SLOW = {"svd", "qr", "eigh", "cumprod", "det", "expm", "cholesky", "pinv", "solve_sylvester",
        "sqrtm", "logm", "lu_factor", "solve_banded", "lstsq"}


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


# -- closed forms ----------------------------------------------------------------------------


def _line(v: Any, K: int) -> list[Any]:
    """The derivative series of the straight line x0 + v t."""
    return [v] + [np.zeros_like(v)] * (K - 1)


def test_exp_sin_and_geometric_series_closed_forms() -> None:
    K = 10
    _, ys = riesz.jet(rnp.exp, (0.0,), (_line(1.0, K),))
    np.testing.assert_allclose(ys, np.ones(K), rtol=1e-14)       # (e^t)^(k) = 1
    x0 = 0.3
    _, ys = riesz.jet(rnp.sin, (x0,), (_line(1.0, K),))
    np.testing.assert_allclose(ys, [np.sin(x0 + k * np.pi / 2) for k in range(1, K + 1)],
                               rtol=1e-13, atol=1e-14)
    _, ys = riesz.jet(lambda t: 1 / (1 - t), (0.0,), (_line(1.0, K),))
    np.testing.assert_allclose(ys, [math.factorial(k) for k in range(1, K + 1)], rtol=1e-14)
    # along the direction v, derivatives of order k scale as v^k
    v = np.array([0.5, -2.0])
    _, ys = riesz.jet(rnp.log, (np.array([1.5, 2.0]),), (_line(v, K),))
    for k in range(1, K + 1):
        want = (-1) ** (k - 1) * math.factorial(k - 1) / np.array([1.5, 2.0]) ** k * v ** k
        np.testing.assert_allclose(ys[k - 1], want, rtol=1e-12)


def test_polynomial_path_through_a_polynomial_is_exact() -> None:
    # (1 + t)³ = 1 + 3t + 3t² + t³: derivatives 3, 6, 6, then 0
    y0, ys = riesz.jet(lambda x: x ** 3, (1.0,), ([1.0, 0.0, 0.0, 0.0, 0.0],))
    assert y0 == 1.0
    np.testing.assert_array_equal(ys, [3.0, 6.0, 6.0, 0.0, 0.0])
    # a quadratic path: x(t) = 2 + t², so x' = 0, x'' = 2; x(t)² = 4 + 4t² + t⁴
    _, ys = riesz.jet(rnp.square, (2.0,), ([0.0, 2.0, 0.0, 0.0],))
    np.testing.assert_array_equal(ys, [0.0, 8.0, 0.0, 24.0])


IDENTITIES = [
    ("tanh", rnp.tanh, lambda x: (rnp.exp(2 * x) - 1) / (rnp.exp(2 * x) + 1)),
    ("tan", rnp.tan, lambda x: rnp.sin(x) / rnp.cos(x)),
    ("sin²+cos²", lambda x: rnp.sin(x) ** 2 + rnp.cos(x) ** 2, lambda x: 1.0 + 0 * x),
    ("sqrt", lambda x: rnp.sqrt(x) ** 2, lambda x: x),
    ("exp-log", lambda x: rnp.exp(rnp.log(x)), lambda x: x),
    ("power", lambda x: x ** 2.5, lambda x: rnp.exp(2.5 * rnp.log(x))),
    ("integer power", lambda x: x ** 5, lambda x: x * x * x * x * x),
    ("cosh-sinh", lambda x: rnp.cosh(x) ** 2 - rnp.sinh(x) ** 2, lambda x: 1.0 + 0 * x),
    ("arcsin", lambda x: rnp.arcsin(rnp.sin(x)), lambda x: x),
    ("arctan", lambda x: rnp.arctan(x), lambda x: rnp.arctan2(x, 1.0 + 0 * x)),
    ("expit", rsp.expit, lambda x: 1 / (1 + rnp.exp(-x))),
    ("erf", lambda x: rsp.erf(x) + rsp.erfc(x), lambda x: 1.0 + 0 * x),
    ("prod", lambda x: rnp.prod(x), lambda x: rnp.exp(rnp.sum(rnp.log(x)))),
    ("cumprod", lambda x: rnp.cumprod(x), lambda x: rnp.exp(rnp.cumsum(rnp.log(x)))),
    ("inv", lambda a: rnp.linalg.inv(a) @ a, lambda a: np.eye(3) + 0 * a),
    ("expm", lambda a: rnp.diagonal(rsl.expm(a)), lambda a: rnp.exp(rnp.diagonal(a))),
]


@pytest.mark.parametrize(("name", "f", "g"), IDENTITIES, ids=[i[0] for i in IDENTITIES])
def test_high_order_identities(name: str, f: Any, g: Any) -> None:
    """Two formulas for one function, expanded by different rules, agree to K = 10."""
    K = 10
    rng = np.random.default_rng(1)
    if name == "inv":
        x0 = np.eye(3) * 2 + 0.2 * rng.standard_normal((3, 3))
    elif name == "expm":
        x0 = np.diag([0.3, -0.2, 0.5])
    else:
        x0 = rng.uniform(0.3, 0.9, 4)
    series = [0.3 * rng.standard_normal(np.shape(x0)) for _ in range(K)]
    if name == "expm":  # a diagonal path, where expm is the entrywise exponential
        series = [np.diag(np.diag(s)) for s in series]
    fy0, fys = riesz.jet(f, (x0,), (series,))
    gy0, gys = riesz.jet(g, (x0,), (series,))
    np.testing.assert_allclose(fy0, gy0, rtol=1e-12, atol=1e-12)
    for k in range(K):
        scale = max(1.0, float(np.max(np.abs(gys[k]))))
        np.testing.assert_allclose(fys[k], gys[k], rtol=1e-9, atol=1e-9 * scale,
                                   err_msg=f"{name}: order {k + 1}")


# -- composition with the other transformations --------------------------------------------


def _f(x: Any) -> Any:
    return rnp.sum(rnp.sin(x) * rnp.exp(0.5 * x)) + rnp.prod(rnp.tanh(x))


X0 = np.array([0.3, -0.7, 1.1])


def test_jet_of_grad_jvp_and_vmap_match_nested_jvp() -> None:
    u = np.array([1.0, 0.5, -0.3])
    fns = {
        "grad": riesz.grad(_f),
        "jvp": lambda x: riesz.jvp(_f, (x,), (u,))[1],
        "vmap": lambda x: riesz.vmap(lambda r: _f(r * x))(np.array([[1.0], [2.0]])),
        "jet": lambda x: riesz.jet(_f, (x,), ([u, np.zeros(3)],))[1][1],
        "hessian": lambda x: riesz.hessian(_f)(x) @ u,
    }
    for name, fn in fns.items():
        _compare(fn, (X0,), 3, f"jet of {name}")


def test_grad_vmap_and_jvp_of_jet() -> None:
    v = np.array([0.2, -1.0, 0.4])

    def third(x):  # d³/dt³ f(x + t v) at 0
        return riesz.jet(_f, (x,), (_line(v, 3),))[1][2]

    # the same number from nested JVPs along v
    def nested(x):
        return nested_jvp_derivatives(lambda t: _f(x + t * v), 3)[2][0]

    np.testing.assert_allclose(third(X0), nested(X0), rtol=1e-12)
    g = riesz.grad(third)(X0)
    eps = 1e-5
    fd = np.array([(nested(X0 + eps * e) - nested(X0 - eps * e)) / (2 * eps) for e in np.eye(3)])
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-8)
    # jvp of jet against the gradient
    _, t = riesz.jvp(third, (X0,), (v,))
    np.testing.assert_allclose(t, g @ v, rtol=1e-12)
    # vmap of jet against a loop
    xs = np.stack([X0, 0.5 * X0, -X0])
    np.testing.assert_allclose(riesz.vmap(third)(xs), [third(x) for x in xs], rtol=1e-13)


def test_jet_of_vmap_matches_per_example_jets() -> None:
    xs = np.stack([X0, 2 * X0])
    series = [np.ones_like(xs), 0.5 * xs, np.zeros_like(xs)]

    def rows(x):
        return riesz.vmap(lambda r: rnp.tanh(r) * rnp.sum(r ** 2))(x)

    y0, ys = riesz.jet(rows, (xs,), (series,))
    for b in range(2):
        e0, es = riesz.jet(lambda r: rnp.tanh(r) * rnp.sum(r ** 2), (xs[b],),
                           ([s[b] for s in series],))
        np.testing.assert_allclose(y0[b], e0, rtol=1e-14)
        for k in range(3):
            np.testing.assert_allclose(ys[k][b], es[k], rtol=1e-12)


def test_perturbations_do_not_mix() -> None:
    # d/dx [x * d/dy (x + y)] = 1: the inner series in y must not see x's
    def inner(x):
        return riesz.jet(lambda y: x + y, (1.0,), ([1.0, 0.0],))[1][0]  # d/dy (x + y) = 1

    _, ys = riesz.jet(lambda x: x * inner(x), (2.0,), ([1.0, 0.0],))
    np.testing.assert_allclose(ys, [1.0, 0.0])


def test_custom_jvp_rule_is_used() -> None:
    # the body calls NumPy directly (not traceable); jet works through the JVP rule
    @riesz.custom_jvp
    def softplus(x):
        return np.log1p(np.exp(np.asarray(x)))

    @softplus.defjvp
    def _rule(primals, tangents):
        (x,), (t,) = primals, tangents
        return softplus(x), t * rsp.expit(x)

    x0 = np.array([-0.5, 0.2, 1.3])
    series = [np.ones(3), 0.3 * np.ones(3), -0.2 * np.ones(3), np.zeros(3)]
    y0, ys = riesz.jet(softplus, (x0,), (series,))
    w0, ws = riesz.jet(lambda x: rnp.logaddexp(0.0, x), (x0,), (series,))
    np.testing.assert_allclose(y0, w0, rtol=1e-14)
    np.testing.assert_allclose(ys, ws, rtol=1e-11, atol=1e-13)


def test_implicit_layer_series_match_nested_jvp() -> None:
    # y* = g(x, y*) by a solver; jet uses the implicit function's JVP rule, order by order
    from riesz import implicit

    def layer(x):
        return implicit.fixed_point(lambda x, y: 0.5 * rnp.cos(y) + x, x, np.zeros(3),
                                    tol=1e-14)

    _compare(layer, (np.array([0.1, 0.5, -0.3]),), 3, "fixed_point", rtol=1e-10)


def test_custom_vjp_function_is_expanded_through_its_body() -> None:
    f = riesz.checkpoint(lambda x: rnp.sin(x) * x)
    _compare(f, (X0,), 4, "checkpoint")


# -- pytrees, dtypes, K = 0, errors -----------------------------------------------------------


def test_pytree_inputs_and_outputs() -> None:
    def f(params, x):
        w, b = params["w"], params["b"]
        h = rnp.tanh(w @ x + b)
        return {"h": h, "pair": (rnp.sum(h), x * 2)}

    rng = np.random.default_rng(2)
    params = {"w": rng.standard_normal((2, 3)), "b": rng.standard_normal(2)}
    x = rng.standard_normal(3)
    K = 3
    p_series = [{"w": rng.standard_normal((2, 3)), "b": rng.standard_normal(2)}
                for _ in range(K)]
    x_series = [rng.standard_normal(3) for _ in range(K)]
    y0, ys = riesz.jet(f, (params, x), (p_series, x_series))
    assert set(ys) == {"h", "pair"} and len(ys["h"]) == K and len(ys["pair"][1]) == K
    np.testing.assert_allclose(y0["h"], f(params, x)["h"], rtol=1e-15)
    np.testing.assert_allclose(ys["pair"][1], [2 * s for s in x_series], rtol=1e-15)

    # against nested JVPs of the flat function along the same path
    def flat(w, b, x):
        return f({"w": w, "b": b}, x)["h"]

    series = ([s["w"] for s in p_series], [s["b"] for s in p_series], x_series)
    _, flat_ys = riesz.jet(flat, (params["w"], params["b"], x), series)
    np.testing.assert_allclose(ys["h"], flat_ys, rtol=1e-15)
    _compare(flat, (params["w"], params["b"], x), 3, "pytree")


def test_order_zero_float32_and_constant_outputs() -> None:
    y0, ys = riesz.jet(rnp.sin, (0.5,), ([],))
    assert ys == [] and y0 == np.sin(0.5)
    x32 = np.array([0.1, 0.2], np.float32)
    y0, ys = riesz.jet(lambda x: rnp.exp(x) / (1 + x), (x32,), ([np.ones(2, np.float32)] * 3,))
    assert y0.dtype == np.float32 and all(y.dtype == np.float32 for y in ys)
    # an output that does not depend on the input gets zero terms
    y0, ys = riesz.jet(lambda x: (x, np.ones(2)), (np.zeros(2),), ([np.ones(2), np.ones(2)],))
    np.testing.assert_array_equal(ys[1], [np.zeros(2), np.zeros(2)])
    np.testing.assert_array_equal(ys[0], [np.ones(2), np.ones(2)])


def test_bad_arguments_raise_clear_errors() -> None:
    with pytest.raises(TypeError, match="tuples"):
        riesz.jet(rnp.sin, 0.5, [[1.0]])
    with pytest.raises(ValueError, match="same number of terms"):
        riesz.jet(lambda x, y: x * y, (1.0, 2.0), ([1.0, 0.0], [1.0]))
    with pytest.raises(ValueError, match="one list of derivatives per argument"):
        riesz.jet(lambda x, y: x * y, (1.0, 2.0), ([1.0],))
    with pytest.raises(ValueError, match="shape"):
        riesz.jet(rnp.sin, (np.zeros(3),), ([np.zeros(2)],))
    with pytest.raises(TypeError, match="integer"):
        riesz.jet(rnp.sin, (np.arange(3),), ([np.ones(3)],))


# -- cost: polynomial in K, where nested JVPs double per order ----------------------------------


class _CountCalls:
    """Counts primitive applications (calls of every registered impl)."""

    def __enter__(self) -> _CountCalls:
        from riesz._core.primitive import BY_INDEX

        self.count = 0
        self.saved = [(p, p.impl) for p in BY_INDEX]
        for p, impl in self.saved:
            def counted(*args: Any, _impl: Any = impl, **params: Any) -> Any:
                self.count += 1
                return _impl(*args, **params)

            p.impl = counted
        return self

    def __exit__(self, *exc: Any) -> None:
        for p, impl in self.saved:
            p.impl = impl


def _jet_calls(fn: Callable[..., Any], args: tuple[Any, ...], K: int) -> int:
    series, _ = _path(args, K, 0)
    with _CountCalls() as c:
        riesz.jet(fn, args, series)
    return c.count


def test_cost_is_polynomial_in_the_order_and_nested_jvp_is_not() -> None:
    with _CountCalls() as c:
        _f(X0)
    assert _jet_calls(_f, (X0,), 0) == c.count  # K = 0 is one plain evaluation
    jet_calls = {K: _jet_calls(_f, (X0,), K) for K in (6, 12)}
    assert jet_calls[12] <= 8 * jet_calls[6], jet_calls  # at most cubic growth
    nested = {}
    for K in (3, 4, 5, 6):
        _, path = _path((X0,), K, 0)
        with _CountCalls() as c:
            nested_jvp_derivatives(lambda t, path=path: _f(*path(t)), K)
        nested[K] = c.count
    assert all(nested[K + 1] >= 1.8 * nested[K] for K in (3, 4, 5)), nested
    assert jet_calls[12] < nested[6], (jet_calls, nested)


@pytest.mark.parametrize("case", list({c.prim: c for c in reversed(SWEEP)}.values()),
                         ids=lambda c: c.prim)
def test_every_rule_costs_polynomially(case) -> None:
    """From K = 9 to K = 12 a polynomial cost of degree d grows by (4/3)^d; a rule
    that branched twice per order would grow by 2³ = 8."""
    low, high = _jet_calls(case.fn, case.args, 9), _jet_calls(case.fn, case.args, 12)
    assert high <= 4 * low, f"{case.id}: {low} -> {high} primitive calls"
