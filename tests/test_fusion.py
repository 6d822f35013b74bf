"""Fusion of elementwise regions into LLVM kernels under `riesz.jit` (issue 11):
fused code gives NumPy's values (special values included) and dtypes, and the
eager values and gradients; the grouping never reorders a dependency."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import riesz
import riesz.numpy as rnp
from riesz import fusion
from riesz._core.primitive import _REGISTRY
from riesz._core.trace import bind


@pytest.fixture(autouse=True, scope="module")
def _kernel_cache_in_a_temporary_folder(tmp_path_factory):
    """Compiled kernels go to a fresh folder, not the user's ~/.cache/riesz."""
    mp = pytest.MonkeyPatch()
    mp.setenv("RIESZ_CACHE_DIR", str(tmp_path_factory.mktemp("riesz-cache")))
    yield
    mp.undo()


def _fused_kernels(jitted, *args) -> int:
    """How many fused equations `jitted` runs for these arguments."""
    return sum(isinstance(e.prim, fusion._Kernel) for e in fusion.fuse(jitted.graph(*args)).eqns)


def _eager(fn, *args):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return fn(*args)


# special values: signed zeros, ±1, infinities, NaN, tiny and huge magnitudes
_SPECIAL = [-np.inf, -1e300, -2.5, -1.0, -0.5, -1e-300, -0.0, 0.0, 1e-300, 0.5, 1.0, 2.5,
            1e300, np.inf, np.nan, 0.75]
_UNARY = sorted(n for n, p in _REGISTRY.items() if isinstance(p.impl, np.ufunc)
                and p.impl.nin == 1 and p.impl.__name__ in fusion.UFUNCS)
_BINARY = sorted(n for n, p in _REGISTRY.items() if isinstance(p.impl, np.ufunc)
                 and p.impl.nin == 2 and p.impl.__name__ in fusion.UFUNCS)


def _special(dtype, values=_SPECIAL):
    with np.errstate(over="ignore"):  # ±1e300 become ±inf in float32
        return np.array(values).astype(dtype)


def _by_name(name):
    return _REGISTRY[name].impl


def test_every_supported_ufunc_has_a_primitive() -> None:
    assert len(_UNARY) + len(_BINARY) >= 50


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_unary_ufuncs_fused_match_numpy_on_special_values(dtype) -> None:
    pytest.importorskip("llvmlite")
    x = _special(dtype)  # 16 elements: the kernel's 4-lane loop

    def all_unary(x):
        y = x * 1  # a multiply first, so that each operation sits in the fused region
        return [bind(_REGISTRY[n], y) for n in _UNARY]

    f = riesz.jit(all_unary, fuse=True)
    assert _fused_kernels(f, x) == 1
    got = _eager(f, x)  # NaNs and infinities: the kernel's values, NumPy's warnings off
    for name, g in zip(_UNARY, got, strict=True):
        want = _eager(_by_name(name), x * 1)
        assert g.dtype == want.dtype, name
        tol = 1e-13 if dtype == np.float64 else 2e-6
        np.testing.assert_allclose(g, want, rtol=tol, atol=0, equal_nan=True, err_msg=name)
        np.testing.assert_array_equal(np.signbit(g[g == 0]), np.signbit(want[g == 0]),
                                      err_msg=name)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_binary_ufuncs_fused_match_numpy_on_special_value_pairs(dtype) -> None:
    pytest.importorskip("llvmlite")
    a, b = np.meshgrid(_special(dtype, _SPECIAL[:-1]), _special(dtype, _SPECIAL[:-1]))
    a, b = a.ravel(), b.ravel()  # 225 pairs: an odd length, the kernel's 1-lane loop

    def all_binary(x, y):
        x, y = x * 1, y * 1
        return [bind(_REGISTRY[n], x, y) for n in _BINARY]

    f = riesz.jit(all_binary, fuse=True)
    assert _fused_kernels(f, a, b) == 1
    for name, g in zip(_BINARY, _eager(f, a, b), strict=True):
        want = _eager(_by_name(name), a, b)
        assert g.dtype == want.dtype, name
        tol = 1e-13 if dtype == np.float64 else 2e-6
        np.testing.assert_allclose(g, want, rtol=tol, atol=0, equal_nan=True, err_msg=name)


def _chain(x, links=10):
    for _ in range(links):
        x = rnp.sin(x)
        x = x * 1.01
        x = rnp.tanh(x)
    return rnp.sum(x)


def _mixed(x, y, s):
    """where, maximum, abs, comparisons, casts, a scalar operand and a reduction."""
    h = rnp.where(x > 0.25, rnp.exp(-x * x), rnp.maximum(x, y) * s)
    m = (rnp.abs(y) < 0.5).astype(x.dtype)
    return rnp.sum(rnp.log1p(h * h) + m * rnp.sqrt(rnp.abs(x * y) + 1.0) / (2.0 + y))


@pytest.mark.parametrize("shape", [(16,), (3, 5), ()])
def test_jit_value_and_grad_fused_match_eager(shape) -> None:
    pytest.importorskip("llvmlite")
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal(shape), rng.standard_normal(shape)
    for fn, args in ((_chain, (x,)), (_mixed, (x, y, 1.5))):
        vg = riesz.value_and_grad(fn, argnums=tuple(range(len(args) - (fn is _mixed))))
        want = vg(*args)
        fused = riesz.jit(vg, fuse=True)
        assert _fused_kernels(fused, *args) >= 1
        got = fused(*args)
        np.testing.assert_allclose(got[0], want[0], rtol=1e-13)
        for g, w in zip(got[1], want[1], strict=True):
            assert np.shape(g) == np.shape(w) and np.result_type(g) == np.result_type(w)
            np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-14)


def test_float32_stays_float32_and_weak_scalars_keep_numpy_promotion() -> None:
    pytest.importorskip("llvmlite")
    x = np.linspace(-1, 1, 8, dtype=np.float32)

    def f(x, s):
        return rnp.tanh(x * 1.01 + s) - x / 3

    got = riesz.jit(f, fuse=True)(x, 0.5)
    want = np.tanh(x * 1.01 + 0.5) - x / 3
    assert got.dtype == np.float32 and want.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=2e-6)
    g = riesz.jit(riesz.grad(lambda x: rnp.sum(f(x, 0.5))), fuse=True)(x)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, riesz.grad(lambda x: rnp.sum(f(x, 0.5)))(x), rtol=2e-6)


def test_integer_and_bool_inputs_and_broadcast_scalars() -> None:
    pytest.importorskip("llvmlite")
    k = np.arange(12).reshape(3, 4)
    b = k % 3 == 0
    x = np.linspace(0.1, 2, 12).reshape(3, 4)

    def f(x, k, b, c):
        return rnp.where(b, x * k + c, rnp.exp(-x) / (k + 1.0)), (x * k > 1) & b

    fused = riesz.jit(f, fuse=True)
    c = np.float64(0.25)
    assert _fused_kernels(fused, x, k, b, c) >= 1
    (y, m), (wy, wm) = fused(x, k, b, c), f(x, k, b, c)
    assert y.dtype == wy.dtype and m.dtype == wm.dtype == np.bool_
    np.testing.assert_allclose(y, wy, rtol=1e-14)
    np.testing.assert_array_equal(m, wm)
    x32 = x.astype(np.float32)  # an int64 array times float32 gives float64, as in NumPy
    assert riesz.jit(lambda x, k: x * k + 1, fuse=True)(x32, k).dtype == (x32 * k + 1).dtype


def test_no_group_runs_both_before_and_after_an_outside_equation() -> None:
    # sin(x) and cos(x) fuse; s = sum(sin x) is read by the last multiply, so that
    # multiply must not join the group of sin (the group would precede and follow
    # the sum): the taint check starts a new group, and the schedule is valid
    pytest.importorskip("llvmlite")
    x = np.linspace(-1, 1, 8)

    def f(x):
        a = rnp.sin(x) * 2.0
        c = rnp.cos(x) + 1.0
        s = rnp.sum(a)
        return (c * s) * c + a

    fused = riesz.jit(f, fuse=True)
    assert _fused_kernels(fused, x) == 2
    np.testing.assert_allclose(fused(x), f(x), rtol=1e-14)


def test_group_size_cap_and_compile_budget(monkeypatch) -> None:
    pytest.importorskip("llvmlite")
    x = np.linspace(-1, 1, 6)
    want = riesz.value_and_grad(lambda x: _chain(x, 4))(x)
    monkeypatch.setattr(fusion, "MAX_GROUP", 5)
    capped = riesz.jit(riesz.value_and_grad(lambda x: _chain(x, 4)), fuse=True)
    assert _fused_kernels(capped, x) >= 4
    np.testing.assert_allclose(capped(x)[1], want[1], rtol=1e-13)
    monkeypatch.setattr(fusion, "BUDGET", 0)
    monkeypatch.setattr(fusion, "_CACHE", {})
    none = riesz.jit(riesz.value_and_grad(lambda x: _chain(x, 4)), fuse=True)
    assert _fused_kernels(none, x) == 0
    np.testing.assert_allclose(none(x)[1], want[1], rtol=1e-13)


def test_tiered_default_switches_to_fused_code(monkeypatch) -> None:
    pytest.importorskip("llvmlite")
    monkeypatch.setattr(fusion, "COMPILE_S_PER_OP", 1e-9)
    monkeypatch.setattr(fusion, "GROUP_S_PER_OP", 1e-9)
    x = np.linspace(-1, 1, 4)
    f = riesz.jit(lambda x: rnp.tanh(rnp.sin(x) * 3.0))
    first = f.source(x)
    assert "f0(v0)" not in first or "out=" in first  # NumPy calls first
    for _ in range(3):
        np.testing.assert_allclose(f(x), np.tanh(np.sin(x) * 3.0), rtol=1e-15)
    assert f.source(x) != first


def test_without_llvmlite_fuse_true_is_a_clear_error_and_default_is_unfused(monkeypatch) -> None:
    monkeypatch.setattr(fusion, "available", lambda: False)
    with pytest.raises(ImportError, match=r"riesz\[jit\]"):
        riesz.jit(lambda x: x, fuse=True)
    f = riesz.jit(lambda x: rnp.tanh(rnp.sin(x) * 3.0))
    x = np.linspace(-1, 1, 4)
    for _ in range(3):
        np.testing.assert_allclose(f(x), np.tanh(np.sin(x) * 3.0), rtol=1e-15)
    assert fusion.fuse(f.graph(x)) is f.graph(x)


def test_strided_read_only_and_fortran_inputs() -> None:
    pytest.importorskip("llvmlite")

    def f(x, y):
        return rnp.sin(x) * 2.0 + y

    fused = riesz.jit(f, fuse=True)
    base = np.linspace(-1, 1, 32)
    ro = np.linspace(0, 1, 16)
    ro.flags.writeable = False
    for x, y in ((base[::2], ro), (base[:16], np.broadcast_to(0.5, (16,))),
                 (np.asfortranarray(base.reshape(4, 8)), base.reshape(8, 4).T)):
        # bit for bit the kernel's result on C-contiguous copies, and NumPy's value
        # to the vector sin's accuracy (glibc's libmvec: within 4 ulp of sin)
        got = fused(x, y)
        np.testing.assert_array_equal(got, fused(np.ascontiguousarray(x), y.copy()))
        np.testing.assert_allclose(got, np.sin(x) * 2.0 + y, rtol=1e-15,
                                   atol=8 * np.finfo(np.float64).eps)


def test_a_group_runs_after_every_input_of_any_of_its_members() -> None:
    # exp(x) + 1 joins the group of `cos(x) * s`, which runs after s = sum(sin x):
    # the final multiply reads that group, so it must not join the group of sin
    # even though its own inputs do not depend on the sum
    pytest.importorskip("llvmlite")
    x = np.linspace(-1, 1, 8)

    def f(x):
        a = rnp.sin(x) * 2.0
        b = rnp.cos(x) * rnp.sum(a)
        c = rnp.exp(x) + 1.0
        return a * c + b

    fused = riesz.jit(f, fuse=True)
    np.testing.assert_allclose(fused(x), f(x), rtol=1e-14)


def test_kernels_persist_on_disk_and_load_in_a_later_session(tmp_path, monkeypatch) -> None:
    pytest.importorskip("llvmlite")
    monkeypatch.setenv("RIESZ_CACHE_DIR", str(tmp_path))
    x = np.linspace(-1, 1, 8)

    def f(x):
        return rnp.exp(rnp.cos(x) * 0.5) - x

    def session():
        monkeypatch.setattr(fusion, "_CACHE", {})  # a new process: nothing in memory
        monkeypatch.setattr(fusion, "_STATS", {"compiled": 0, "loaded": 0})
        fused = riesz.jit(f, fuse=True)
        np.testing.assert_allclose(fused(x), np.exp(np.cos(x) * 0.5) - x, rtol=1e-15)
        return fusion._STATS

    assert session() == {"compiled": 1, "loaded": 0}
    files = list((tmp_path / "fusion").glob("riesz_kernels_*.o"))
    assert len(files) == 1 and files[0].stat().st_size > 0
    assert session() == {"compiled": 0, "loaded": 1}  # machine code read, not compiled
    monkeypatch.setenv("RIESZ_CACHE_DIR", "")
    assert fusion.cache_dir() is None
    assert session() == {"compiled": 1, "loaded": 0}


def test_returned_arrays_own_their_memory() -> None:
    pytest.importorskip("llvmlite")
    x = np.linspace(-1, 1, 8)
    f = riesz.jit(lambda x: (rnp.sin(x) * 2.0, rnp.cos(x) * 3.0), fuse=True)
    assert _fused_kernels(f, x) == 1
    for y in f(x):  # not rows of the kernel's (2, 8) output buffer
        assert y.base is None or y.base.size == y.size


@pytest.fixture(params=[4, 1], ids=["vector", "scalar"])
def lanes(request, monkeypatch):
    """Kernels written with four lanes (glibc's vector math) and with one (the C
    library's scalar functions, the path where libmvec is absent)."""
    pytest.importorskip("llvmlite")
    fusion._target()
    if request.param > 1 and fusion._LLVM["lanes"] == 1:
        pytest.skip("no vector math library on this machine")
    monkeypatch.setitem(fusion._LLVM, "lanes", request.param)
    monkeypatch.setattr(fusion, "_CACHE", {})  # kernels written anew for these lanes
    return request.param


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n", [1, 3, 7, 13])
def test_kernels_match_numpy_on_random_values_and_partial_steps(lanes, dtype, n) -> None:
    # lengths that leave 1..3 elements for the last, masked vector step
    rng = np.random.default_rng(n)
    x = (rng.standard_normal(n) * 2).astype(dtype)
    y = (rng.uniform(0.1, 3.0, n)).astype(dtype)

    def unary(x):
        y = x * 0.5
        return [bind(_REGISTRY[name], y) for name in _UNARY]

    def binary(x, y):
        return [bind(_REGISTRY[name], x * 1, y * 1) for name in _BINARY]

    tol = 1e-13 if dtype == np.float64 else 2e-6
    for fn, args in ((unary, (x,)), (binary, (x, y))):
        fused = riesz.jit(fn, fuse=True)
        assert _fused_kernels(fused, *args) == 1
        for name, g, w in zip(_UNARY if fn is unary else _BINARY, _eager(fused, *args),
                              _eager(fn, *args), strict=True):
            assert g.dtype == w.dtype and g.shape == w.shape, name
            np.testing.assert_allclose(g, w, rtol=tol, atol=0, equal_nan=True, err_msg=name)


def test_bool_int_and_scalar_inputs_in_partial_steps(lanes) -> None:
    k = np.arange(-5, 6, dtype=np.int32)  # 11 elements
    u = np.arange(11, dtype=np.uint8)
    b = k % 3 == 0
    x = np.linspace(-2, 2, 11)

    def f(x, k, u, b, s, t):
        m = ((x * k > s) | b) & ~(u > 6)
        return rnp.where(m, x * u + t, -x), m, (k + 0.5) * s

    fused = riesz.jit(f, fuse=True)
    args = (x, k, u, b, np.float64(0.25), 3)
    assert _fused_kernels(fused, *args) >= 1
    for g, w in zip(fused(*args), f(*args), strict=True):
        assert g.dtype == w.dtype
        np.testing.assert_array_equal(g, w)


def test_long_groups_are_cut_and_repeated_links_compile_once(monkeypatch) -> None:
    pytest.importorskip("llvmlite")
    monkeypatch.setattr(fusion, "MAX_GROUP", 30)
    monkeypatch.setattr(fusion, "MODULE_OPS", 30)
    monkeypatch.setattr(fusion, "_CACHE", {})
    monkeypatch.setattr(fusion, "_STATS", {"compiled": 0, "loaded": 0})
    x = np.linspace(-1, 1.5, 16)

    def f(x):
        return _chain(x, 60)  # 180 operations, then a sum

    fused = riesz.jit(riesz.value_and_grad(f), fuse=True)
    graph = fusion.fuse(fused.graph(x))
    kernels = [e.prim for e in graph.eqns if isinstance(e.prim, fusion._Kernel)]
    sizes = [int(k.name.split("[")[1].split()[0]) for k in kernels]
    assert len(kernels) >= 12 and max(sizes) <= 30 and sum(sizes) >= 3 * 180 - 10
    # the links repeat: far fewer kernels are compiled than run
    assert 2 <= len(fusion._CACHE) < len(kernels) / 2
    # new kernels are compiled in modules of <= MODULE_OPS operations: one each here
    assert fusion._STATS["compiled"] == len(fusion._CACHE)
    want = riesz.value_and_grad(f)(x)
    got = fused(x)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-13)
    np.testing.assert_allclose(got[1], want[1], rtol=1e-12)


def test_a_kernel_refuses_foreign_inputs_and_the_wrapper_copies_them() -> None:
    pytest.importorskip("llvmlite")
    x = np.linspace(-1, 1, 12)
    fused = riesz.jit(lambda x, y: rnp.sin(x) * 2.0 + y, fuse=True)
    graph = fusion.fuse(fused.graph(x, x))
    (kernel,) = [e.prim for e in graph.eqns if isinstance(e.prim, fusion._Kernel)]

    class Sub(np.ndarray):
        pass

    want = np.sin(x) * 2.0 + x
    base = np.linspace(-1, 1, 24)
    big = np.linspace(-1, 1, 12).astype(">f8")  # non-native byte order
    for a, b in ((x.view(Sub), x), (base[::2], x), (x, big), (x, x.astype(np.float32))):
        (got,) = kernel.impl(a, b)
        np.testing.assert_allclose(got, np.sin(np.asarray(a, np.float64)) * 2.0 +
                                   np.asarray(b, np.float64), rtol=1e-15, atol=1e-15)
    (got,) = kernel.impl(x, x)
    np.testing.assert_array_equal(got, kernel.impl(x.view(Sub), x)[0])
    np.testing.assert_allclose(got, want, rtol=1e-15, atol=1e-15)


def test_large_kernels_release_the_gil_and_empty_arrays_run(monkeypatch) -> None:
    pytest.importorskip("llvmlite")
    import threading

    monkeypatch.setattr(fusion, "NOGIL_SIZE", 1000)
    x = np.linspace(-1, 1, 4001)
    fused = riesz.jit(lambda x: rnp.tanh(rnp.sin(x) * 3.0) - x, fuse=True)
    results = [None] * 4

    def work(k):
        results[k] = fused(x + k)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k, r in enumerate(results):
        np.testing.assert_allclose(r, np.tanh(np.sin(x + k) * 3.0) - (x + k), rtol=1e-14,
                                   atol=1e-15)
    empty = np.zeros((0, 3))
    got = riesz.jit(lambda x: rnp.exp(x) * 2.0 + 1.0, fuse=True)(empty)
    assert got.shape == (0, 3) and got.dtype == np.float64


# NumPy's floating-point errors: a kernel that meets an infinity or a NaN reruns its
# group as NumPy code, which warns or raises as np.errstate says (the eager behaviour)
_FP_CASES = [  # (errstate key, NumPy's message, function of x, the offending value)
    ("invalid", "invalid value encountered in log", lambda x: rnp.log(x * 1.0), -1.0),
    ("invalid", "invalid value encountered in sqrt", lambda x: rnp.sqrt(x * 1.0), -1.0),
    ("invalid", "invalid value encountered in subtract", lambda x: x * 2.0 - x * 3.0, np.inf),
    ("invalid", "invalid value encountered in multiply", lambda x: (x + 1.0) * 0.0, np.inf),
    ("divide", "divide by zero encountered in log", lambda x: rnp.log(x * 1.0), 0.0),
    ("divide", "divide by zero encountered in divide", lambda x: 1.0 / (x * 1.0), 0.0),
    ("over", "overflow encountered in exp", lambda x: rnp.exp(x * 1.0), 1000.0),
    # an intermediate infinity that vanishes from the output still warns
    ("over", "overflow encountered in exp", lambda x: 1.0 / rnp.exp(x * 1.0), 1000.0),
]


@pytest.mark.parametrize("case", range(len(_FP_CASES)))
def test_fused_kernels_warn_and_raise_as_numpy_errstate_says(lanes, case) -> None:
    key, message, fn, bad = _FP_CASES[case]
    x = np.array([0.5, 2.0, bad, 3.0, 1.5])  # 5 elements: a partial vector step too
    f = riesz.jit(fn, fuse=True)
    assert _fused_kernels(f, x) == 1
    want = _eager(fn, x)
    with pytest.warns(RuntimeWarning, match=message):  # default errstate: warn
        got = f(x)
    np.testing.assert_allclose(got, want, rtol=1e-14, equal_nan=True)
    with np.errstate(**{key: "raise"}), pytest.raises(FloatingPointError, match=message):
        f(x)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("error")
        got = f(x)
    np.testing.assert_allclose(got, want, rtol=1e-14, equal_nan=True)
    # the same values without the offending element: finite, silent even under 'raise'
    x[2] = 1.0
    with np.errstate(all="raise"), warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_allclose(f(x), fn(x), rtol=1e-14)


def test_fused_value_and_grad_of_finite_values_is_silent_under_raise(lanes) -> None:
    x = np.random.default_rng(0).uniform(0.1, 2.0, 37)
    vg = riesz.jit(riesz.value_and_grad(_chain), fuse=True)
    assert _fused_kernels(vg, x) >= 1
    with np.errstate(all="raise"), warnings.catch_warnings():
        warnings.simplefilter("error")
        v, g = vg(x)
    wv, wg = riesz.value_and_grad(_chain)(x)
    np.testing.assert_allclose(v, wv, rtol=1e-13)
    np.testing.assert_allclose(g, wg, rtol=1e-13)


def test_fused_gradient_warns_where_the_eager_gradient_does(lanes) -> None:
    # d/dx sqrt(x) at 0 is 1/(2 sqrt 0): a division by zero in the backward pass only
    def f(x):
        return rnp.sum(rnp.sqrt(x * 1.0) * 2.0)

    x = np.array([0.0, 1.0, 4.0])
    g = riesz.jit(riesz.grad(f), fuse=True)
    assert _fused_kernels(g, x) >= 1
    with pytest.warns(RuntimeWarning, match="divide by zero encountered"):
        want = riesz.grad(f)(x)
    with pytest.warns(RuntimeWarning, match="divide by zero encountered"):
        got = g(x)
    np.testing.assert_array_equal(got, want)
    with np.errstate(divide="raise"), pytest.raises(FloatingPointError):
        g(x)
