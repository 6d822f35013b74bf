"""vmap: for every primitive case, vmap(f)(batch) equals stacking f over the
examples (the independent reference), for several batch layouts, and vmap
composes with grad / jvp in both orders."""

from __future__ import annotations

import numpy as np
import pytest

import riesz
import riesz.numpy as rnp
from primitive_cases import CASES

B = 3


def _examples(case):
    """B per-example argument tuples near the case's inputs (same signs, so
    domain restrictions like x > 0 keep holding)."""
    return [tuple(np.asarray(a) * (1.0 + 0.07 * k) for a in case.args) for k in range(B)]


def _stack_outputs(outs):
    leaves = [riesz.tree_leaves(o) for o in outs]
    return [np.stack([np.asarray(lv[i]) for lv in leaves]) for i in range(len(leaves[0]))]


def _assert_close(got, want, label):
    got_leaves = [np.asarray(g) for g in riesz.tree_leaves(got)]
    assert len(got_leaves) == len(want), label
    for g, w in zip(got_leaves, want, strict=True):
        assert g.shape == w.shape, f"{label}: shape {g.shape} != {w.shape}"
        np.testing.assert_allclose(g, w, rtol=1e-9, atol=1e-12, err_msg=label)


# Boolean masks of the mapped input (ragged results) and .at[] updates at an
# index computed from it are not supported yet, and vmap says so instead of
# indexing the whole batch with them. (Integer index arrays that vary per
# example, e.g. from argsort in sort / median, go through gather.)
RAGGED = {"getitem-mask", "scatter_set-at-max-mask"}


@pytest.mark.parametrize("case", [c for c in CASES if c.id in RAGGED], ids=lambda c: c.id)
def test_index_from_a_mapped_input_raises(case) -> None:
    batched = [np.stack([a, a]) for a in case.args]
    with pytest.raises(NotImplementedError, match="differs per example"):
        riesz.vmap(case.fn)(*batched)


@pytest.mark.parametrize("case", [c for c in CASES if c.id not in RAGGED], ids=lambda c: c.id)
@pytest.mark.parametrize("layout", ["all-front", "first-only", "first-last-axis"])
def test_vmap_matches_a_loop(case, layout: str) -> None:
    examples = _examples(case)
    want = _stack_outputs([case.fn(*ex) for ex in examples])
    n = len(case.args)
    if layout == "all-front":
        batched = [np.stack([ex[i] for ex in examples]) for i in range(n)]
        in_axes = 0
    else:
        batched = list(examples[0])
        batched[0] = np.stack([ex[0] for ex in examples],
                              axis=-1 if layout == "first-last-axis" else 0)
        in_axes = (-1 if layout == "first-last-axis" else 0,) + (None,) * (n - 1)
        want = _stack_outputs([case.fn(ex[0], *examples[0][1:]) for ex in examples])
    got = riesz.vmap(case.fn, in_axes=in_axes)(*batched)
    _assert_close(got, want, f"{case.id} {layout}")


DIFFERENTIABLE = [c for c in CASES if c.id not in RAGGED
                  and all(np.asarray(a).dtype.kind == "f" for a in c.args)]


def _scalarize(case):
    def loss(*args):
        total = 0.0
        for leaf in riesz.tree_leaves(case.fn(*args)):
            total = total + rnp.sum(rnp.real(rnp.sin(leaf)))  # real: grad needs a real loss
        return total

    return loss


@pytest.mark.parametrize("case", DIFFERENTIABLE, ids=lambda c: c.id)
def test_vmap_of_grad_and_grad_of_vmap(case) -> None:
    loss = _scalarize(case)
    examples = _examples(case)
    want = [np.stack([np.asarray(riesz.grad(loss)(*ex)) for ex in examples])]
    batched = [np.stack([ex[i] for ex in examples]) for i in range(len(case.args))]
    _assert_close(riesz.vmap(riesz.grad(loss))(*batched), want, f"{case.id} vmap(grad)")

    def total(*xs):
        return rnp.sum(riesz.vmap(loss)(*xs))

    _assert_close(riesz.grad(total)(*batched), want, f"{case.id} grad(vmap)")


def test_jvp_of_vmap_and_nested_vmap() -> None:
    W = np.arange(6.0).reshape(2, 3) / 10

    def f(x):
        return rnp.tanh(W @ x)

    xs = np.linspace(0, 1, 12).reshape(4, 3)
    us = np.ones_like(xs)
    _, t = riesz.jvp(riesz.vmap(f), (xs,), (us,))
    y = np.tanh(xs @ W.T)
    np.testing.assert_allclose(t, (1 - y**2) * (us @ W.T), rtol=1e-13)
    # vmap of vmap: an outer product table
    table = riesz.vmap(riesz.vmap(lambda a, b: a * b, in_axes=(None, 0)), in_axes=(0, None))(
        np.arange(3.0), np.arange(4.0))
    np.testing.assert_array_equal(table, np.outer(np.arange(3.0), np.arange(4.0)))


def test_vmap_per_example_gradients() -> None:
    # the classic use: per-example gradients of a loss
    rng = np.random.default_rng(0)
    w, X, y = rng.standard_normal(3), rng.standard_normal((5, 3)), rng.standard_normal(5)

    def loss(w, x, t):
        return (rnp.dot(x, w) - t) ** 2

    g = riesz.vmap(riesz.grad(loss), in_axes=(None, 0, 0))(w, X, y)
    np.testing.assert_allclose(g, 2 * (X @ w - y)[:, None] * X, rtol=1e-13)


def test_unbatched_outputs_and_out_axes() -> None:
    xs = np.arange(6.0).reshape(2, 3)
    out = riesz.vmap(lambda x: (x * 2, np.ones(2)), out_axes=(1, None))(xs)
    np.testing.assert_array_equal(out[0], (xs * 2).T)
    np.testing.assert_array_equal(out[1], np.ones(2))
    shared = riesz.vmap(lambda x: np.ones(2))(xs)  # no dependence: broadcast to the batch
    assert shared.shape == (2, 2)


def test_vmap_errors() -> None:
    with pytest.raises(ValueError, match="different batch sizes"):
        riesz.vmap(lambda a, b: a + b)(np.ones(2), np.ones(3))
    with pytest.raises(ValueError, match="no input is mapped"):
        riesz.vmap(lambda a: a, in_axes=None)(np.ones(2))
    with pytest.raises(ValueError, match="out of range"):
        riesz.vmap(lambda a: a, in_axes=2)(np.ones(2))
    with pytest.raises(ValueError, match="out_axes is None"):
        riesz.vmap(lambda a: a, out_axes=None)(np.ones(2))


# Primitives vmap maps slice by slice (no batching rule): ragged results
# (nonzero), an adaptive ODE solve per example (odeint: each takes its own steps),
# or rules not written yet. Every other primitive needs a rule.
SLICE_BY_SLICE = {"nonzero", "norm2", "correlate_valid", "custom_call", "odeint"}


def test_every_primitive_has_a_batching_rule() -> None:
    import riesz.scipy  # noqa: F401  (registers SciPy's primitives)

    missing = sorted(p.name for p in riesz.registry().values() if p.batch is None)
    assert missing == sorted(SLICE_BY_SLICE), f"no batching rule: {missing}"


def test_vmap_of_custom_rules_and_of_a_pullback() -> None:
    @riesz.custom_vjp
    def f(x):
        return rnp.sin(x) * 2.0

    f.defvjp(lambda x: (f(x), x), lambda x, g: (g * 2.0 * rnp.cos(x),))
    xs = np.linspace(0.1, 1.0, 6).reshape(2, 3)
    np.testing.assert_allclose(riesz.vmap(f)(xs), 2 * np.sin(xs))
    g = riesz.vmap(riesz.grad(lambda x: rnp.sum(f(x))))(xs)
    np.testing.assert_allclose(g, 2 * np.cos(xs), rtol=1e-14)
    # a Jacobian by mapping a pullback over the basis (what jacrev does)
    A = np.arange(6.0).reshape(2, 3)
    _, pullback = riesz.vjp(lambda x: rnp.tanh(A @ x), np.ones(3))
    J = riesz.vmap(lambda v: pullback(v)[0])(np.eye(2))
    np.testing.assert_allclose(J, (1 - np.tanh(A @ np.ones(3)) ** 2)[:, None] * A, rtol=1e-14)


def test_materialize_and_jacobians_are_vectorised() -> None:
    calls = []
    A = np.arange(12.0).reshape(3, 4)

    def apply(u):
        calls.append(1)
        return A @ u

    M = riesz.LinearMap(apply, riesz.spaces.Euclidean((4,)), riesz.spaces.Euclidean((3,)))
    np.testing.assert_array_equal(M.materialize(), A)
    assert len(calls) == 1  # one batched call, not one per basis vector

    def f(x):
        calls.append(1)
        return rnp.tanh(A @ x)

    x = np.linspace(0, 1, 4)
    expected = (1 - np.tanh(A @ x) ** 2)[:, None] * A
    for jac in (riesz.jacfwd, riesz.jacrev):
        calls.clear()
        np.testing.assert_allclose(jac(f)(x), expected, rtol=1e-13)
        assert len(calls) == 1  # f runs once; its linearisation is mapped over the basis


def test_per_example_integer_indices() -> None:
    rng = np.random.default_rng(1)
    logp, labels = rng.standard_normal((6, 4)), rng.integers(0, 4, 6)
    picked = riesz.vmap(lambda row, k: row[k])(logp, labels)
    np.testing.assert_array_equal(picked, logp[np.arange(6), labels])
    g = riesz.grad(lambda L: rnp.sum(riesz.vmap(lambda row, k: row[k] ** 2)(L, labels)))(logp)
    expected = np.zeros_like(logp)
    expected[np.arange(6), labels] = 2 * logp[np.arange(6), labels]
    np.testing.assert_allclose(g, expected)


@pytest.mark.parametrize("out_axes", [2, 5, -3, -7])
def test_out_axes_out_of_range_raise(out_axes) -> None:
    with pytest.raises(ValueError, match=rf"out_axes {out_axes} is out of range.*per-example "
                                         r"shape \(2,\).*rank 2\); valid axes are -2 to 1"):
        riesz.vmap(lambda x: x * 2, out_axes=out_axes)(np.ones((3, 2)))


@pytest.mark.parametrize("in_axes", [2, -3, (5,)])
def test_in_axes_out_of_range_raise(in_axes) -> None:
    with pytest.raises(ValueError, match=r"in_axes -?\d is out of range.*\(3, 2\) \(rank 2\)"):
        riesz.vmap(lambda x: x * 2, in_axes=in_axes)(np.ones((3, 2)))


@pytest.mark.parametrize("spec", [(1.5,), (True,), ({"a": 0, "b": "x"},)])
def test_axis_entries_that_are_not_ints_raise(spec) -> None:
    with pytest.raises(TypeError, match="in_axes entries must be ints or None"):
        riesz.vmap(lambda d: d, in_axes=spec)({"a": np.ones((3, 2)), "b": np.ones(3)})


def test_negative_axes_and_numpy_integers_match_a_loop() -> None:
    xs = np.arange(24.0).reshape(2, 3, 4)
    out = riesz.vmap(lambda x: rnp.sin(x), in_axes=np.int64(-1), out_axes=-2)(xs)
    loop = np.stack([np.sin(xs[..., i]) for i in range(4)], axis=-2)
    np.testing.assert_allclose(out, loop)


def test_in_axes_pytree_prefix_with_none_leaves() -> None:
    data = {"a": np.arange(6.0).reshape(3, 2), "b": (np.array([2.0, -1.0]), np.array(0.5))}

    def f(d):
        return rnp.sum(d["a"] * d["b"][0]) + d["b"][1]

    out = riesz.vmap(f, in_axes=({"a": 0, "b": None},))(data)
    loop = [np.sum(data["a"][i] * data["b"][0]) + data["b"][1] for i in range(3)]
    np.testing.assert_allclose(out, loop)
    # a None inside a nested tuple, and a list of per-argument entries
    out = riesz.vmap(f, in_axes=[{"a": 1, "b": (None, 0)}])(
        {"a": data["a"].T, "b": (data["b"][0], np.array([1.0, 2.0, 3.0]))})
    loop = [np.sum(data["a"][i] * data["b"][0]) + (1.0, 2.0, 3.0)[i] for i in range(3)]
    np.testing.assert_allclose(out, loop)
    # out_axes as a prefix too
    out = riesz.vmap(lambda a: {"p": a * 2, "q": (a, np.ones(2))},
                     out_axes={"p": 1, "q": (0, None)})(data["a"])
    np.testing.assert_allclose(out["p"], (data["a"] * 2).T)
    np.testing.assert_allclose(out["q"][1], np.ones(2))
    with pytest.raises(ValueError, match="does not match the structure"):
        riesz.vmap(f, in_axes=({"a": 0, "c": None},))(data)
