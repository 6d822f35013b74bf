"""The transformation tests of the eager suite, rerun under `riesz.jit` (SPEC §15):
for every case of the primitive registry, jvp, vjp, vmap and jet of a jitted
function (`t(jit(f))`: staged derivative graphs) and jit of the transformed
function (`jit(t(f))`) give the eager transformation's values; hessian, linearize
and nestings on representative functions; and `t(jit(f))` runs staged code (it
never falls back to evaluating the graph one primitive at a time)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import riesz
import riesz.numpy as rnp
import riesz.staged
from finite_differences import fd_grad
from primitive_cases import CASES

# output shapes that depend on values: ConcretizationError under jit (see test_jit.py)
_VALUE_SHAPED = {"getitem-mask", "scatter_set-at-max-mask"}
# derivatives whose series length depends on a parameter's values: staged by bind instead
_SIZED_BY_VALUES = {"gammainc", "gammaincc", "betainc", "betaincc"}
# a derivative rule that checks the values (eig's degenerate-eigenvalue test): jit(jvp) raises
_RULE_READS_VALUES = {"eig"}
# primitives without a Taylor rule (as test_jet.py lists them)
_NO_JET = {"odeint", "eig"}


def _close(a, b, rtol=1e-9, atol=1e-12):
    la, da = riesz.tree_flatten(a)
    lb, db = riesz.tree_flatten(b)
    assert da == db
    for x, y in zip(la, lb, strict=True):
        np.testing.assert_allclose(np.asarray(y), np.asarray(x), rtol=rtol, atol=atol)


def _like(x, rng):
    x = np.asarray(x)
    out = rng.standard_normal(x.shape)
    if x.dtype.kind == "c":
        out = out + 1j * rng.standard_normal(x.shape)
    return out.astype(x.dtype)


class _Setup:
    """A registry case as a function of its floating-point (real or complex) arguments."""

    def __init__(self, case):
        self.case = case
        self.diff = [i for i, a in enumerate(case.args) if np.asarray(a).dtype.kind in "fc"]
        self.primals = tuple(np.asarray(case.args[i]) for i in self.diff)

    def fn(self, *xs):
        args = list(self.case.args)
        for i, x in zip(self.diff, xs, strict=True):
            args[i] = x
        return self.case.fn(*args)


_STAGED_CASES = [c for c in CASES if c.id not in _VALUE_SHAPED and any(
    np.asarray(a).dtype.kind in "fc" for a in c.args)]


def _transforms(s: _Setup, rng):
    """(name, transformation of a function of the primals, its arguments)."""
    ps = s.primals
    ts = tuple(_like(p, rng) for p in ps)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = s.fn(*ps)
    ct = riesz.tree_map(lambda o: _like(o, rng), out)
    batch = tuple(np.stack([p, p * 0.9 + 0.05]) for p in ps)
    real = all(p.dtype.kind == "f" for p in ps) and all(
        np.asarray(o).dtype.kind == "f" for o in riesz.tree_leaves(out))
    yield "jvp", lambda f: lambda *a: riesz.jvp(f, a[:len(ps)], a[len(ps):]), ps + ts
    yield "vjp", lambda f: lambda *a: riesz.vjp(f, *a[:-1])[1](a[-1]), (*ps, ct)
    yield "vmap", lambda f: riesz.vmap(f), batch
    if real and s.case.prim not in _NO_JET:
        series = tuple([t, 0.5 * t] for t in ts)
        yield "jet", lambda f: lambda *a: riesz.jet(f, a, series), ps


@pytest.mark.parametrize("case", _STAGED_CASES, ids=lambda c: c.id)
def test_registry_transformations_under_jit_match_eager(case) -> None:
    s = _Setup(case)
    rng = np.random.default_rng(7)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # eager calls warn as NumPy does (e.g. log(0))
        for name, t, args in _transforms(s, rng):
            try:
                eager = t(s.fn)(*args)
            except (NotImplementedError, TypeError, ValueError) as e:  # unsupported eagerly
                with pytest.raises(type(e)):
                    t(riesz.jit(s.fn))(*args)
                continue
            _close(eager, t(riesz.jit(s.fn))(*args))  # staged derivative graphs
            try:
                outside = riesz.jit(t(s.fn))(*args)
            except riesz.ConcretizationError as e:
                assert name != "vmap" and case.prim in _SIZED_BY_VALUES | _RULE_READS_VALUES, e
            else:
                _close(eager, outside)


def f(x, w):
    h = rnp.tanh(x @ w)
    return rnp.sum(rnp.exp(-h * h) * rnp.sin(x[0])) + rnp.sum(w ** 2) / 3.0


def f_np(x, w):
    h = np.tanh(x @ w)
    return np.sum(np.exp(-h * h) * np.sin(x[0])) + np.sum(w ** 2) / 3.0


X = np.linspace(-1.0, 1.0, 3)
W = np.arange(6.0).reshape(3, 2) / 7.0


@pytest.fixture
def staged_only(monkeypatch):
    """Fail if a transformation of a jitted function evaluates its graph by bind."""

    def refuse(graph, leaves):
        raise AssertionError("a transformation of a jitted function was not staged")

    monkeypatch.setattr(riesz.staged, "_by_bind", refuse)


def test_transformations_of_jit_are_staged_and_match_eager(staged_only) -> None:
    jf = riesz.jit(f)
    g_fd = fd_grad(lambda w: f_np(X, w), W)
    np.testing.assert_allclose(riesz.grad(jf, argnums=1)(X, W), g_fd, rtol=1e-7)
    _close(riesz.value_and_grad(f, argnums=(0, 1))(X, W),
           riesz.value_and_grad(jf, argnums=(0, 1))(X, W), rtol=1e-13)
    _close(riesz.hessian(f)(X, W), riesz.hessian(jf)(X, W), rtol=1e-12)
    _close(riesz.hessian(f, argnums=1)(X, W), riesz.hessian(jf, argnums=1)(X, W), rtol=1e-12)
    xs = np.stack([X, 2 * X, -X])
    _close(riesz.vmap(riesz.grad(f), (0, None))(xs, W),
           riesz.vmap(riesz.grad(jf), (0, None))(xs, W), rtol=1e-13)
    _close(riesz.grad(lambda x: rnp.sum(riesz.vmap(f, (0, None))(x, W)))(xs),
           riesz.grad(lambda x: rnp.sum(riesz.vmap(jf, (0, None))(x, W)))(xs), rtol=1e-13)
    u = np.array([0.3, -0.2, 0.5])
    out, lin = riesz.linearize(lambda x: jf(x, W), X)
    assert out == pytest.approx(f_np(X, W), rel=1e-14)
    assert lin(u) == pytest.approx(riesz.jvp(lambda x: f(x, W), (X,), (u,))[1], rel=1e-12)
    out, pull = riesz.vjp(jf, X, W)
    _close(riesz.vjp(f, X, W)[1](2.0), pull(2.0), rtol=1e-13)
    _close(pull(2.0), pull(2.0))  # the residuals survive repeated pullbacks

    def g(x):
        return rnp.sin(x) * rnp.exp(x)

    series = ([1.0, 0.5, -0.25, 0.125],)
    _close(riesz.jet(g, (0.3,), series), riesz.jet(riesz.jit(g), (0.3,), series), rtol=1e-12)
    d3 = riesz.grad(riesz.grad(riesz.grad(riesz.jit(g))))(0.3)
    assert d3 == pytest.approx(riesz.grad(riesz.grad(riesz.grad(g)))(0.3), rel=1e-12)
    assert riesz.jvp(riesz.grad(riesz.jit(g)), (0.3,), (1.0,))[1] == pytest.approx(
        riesz.grad(riesz.grad(g))(0.3), rel=1e-12)


def test_grad_of_jit_runs_compiled_parts_once_staged(staged_only) -> None:
    jf = riesz.jit(f)
    dg = riesz.grad(jf, argnums=1)
    first = dg(X, W)
    (staged,) = jf._cache.values()
    n_derived = len(staged.derived)
    second = dg(X + 0.1, W)
    assert len(staged.derived) == n_derived and jf.compiles == 1  # nothing staged again
    np.testing.assert_allclose(first, fd_grad(lambda w: f_np(X, w), W), rtol=1e-7)
    np.testing.assert_allclose(second, fd_grad(lambda w: f_np(X + 0.1, w), W), rtol=1e-7)
    # the forward part keeps what the backward part needs; the unused input's cotangent
    # (argnums=1: no x̄) is not computed
    fwd, bwd, k = next(v for key, v in staged.derived.items() if key[0] == "vjp")
    assert k > 0 and len(bwd.graph.outvars) == 1


def test_a_derivative_that_needs_values_falls_back_to_bind() -> None:
    from riesz.scipy import special

    j = riesz.jit(lambda a, x: special.gammainc(a, x))
    a, x = np.array(1.7), np.array(0.8)
    with pytest.raises(riesz.ConcretizationError, match="series terms"):
        riesz.jit(riesz.grad(j))(a, x)
    g = riesz.grad(j)(a, x)  # staging the VJP fails, so the graph is evaluated by bind
    fd = fd_grad(lambda a: special.gammainc(a, x), a)
    assert g == pytest.approx(fd, rel=1e-6)
