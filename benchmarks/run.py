#!/usr/bin/env python
"""riesz benchmark suite: the same workloads through riesz and its peers, in one process.

Peers (each optional, skipped with a note when not importable): HIPS autograd,
PyTorch (CPU) and JAX (CPU; eager and jit).

Workloads
  a  per-primitive overhead: value_and_grad of a chain of 300 elementwise ops on a
     length-16 float64 vector (us per op), plus a NumPy-only forward for reference.
  b  MLP 784-512-512-10 (tanh, softmax cross-entropy), batch 256, float32:
     forward, value_and_grad, their ratio; riesz gradient checked against a peer.
  c  a 10^5-iteration scalar loop ``x = x * 0.999 + sin(x)``: value_and_grad in
     us per iteration, and riesz's peak memory (forward record vs value_and_grad).
  w3 grad and Hessian-vector product of ``sum(tanh(W2 @ tanh(W1 @ x)))``, n = 1000, W1 and
     W2 float64 constants closed over (ms): riesz.hvp vs torch double backward and JAX
     jvp-of-grad.
  w6 Taylor mode: riesz.jet to order K = 8 of the tour's network
     sum(logaddexp(0, W x) sin(x W^T)), W 6x4 (us per call), against jax.experimental.jet.
  cx complex MLP-like: loss = Σ|abs(X W1) W2|² / batch, X (256, 512), W1 (512, 512) and
     W2 (512, 10) complex64: forward, value_and_grad w.r.t. (W1, W2), their ratio; riesz's
     gradient (the Riesz representer ∂L/∂Re W + i ∂L/∂Im W) checked against torch's.
  fft grad of ``sum(abs(ifft(fft(x) * h))**2)``, x in C^(2^16), h a complex filter (ms):
     riesz vs autograd and torch, gradients checked (autograd's conjugated, SPEC §13).
  dask  (not in the default set; needs the `dask` extra) logistic-regression gradient on
     chunked Dask data held by a dask.distributed LocalCluster (one process): riesz.grad
     vs a hand-written Dask gradient, task-graph size and compute time (SPEC §16).
  gpu  (not in the default set; needs the `gpu` extra and a CUDA device, else a skip
     note) the MLP of (b) in float32 on CuPy, batch 256 and 4096: riesz value_and_grad
     vs a hand-written CuPy forward+backward (ms).
  special  (opt-in, ``--only special``) each special function of SPEC §14 on 10^6
     float64 points: riesz's value_and_grad of the sum against SciPy's value alone
     (the target: at most 2x).
  ode  (only with --only ode) Lotka-Volterra through riesz.scipy.integrate.odeint,
     1,000 output times on [0, 10]: the adjoint gradient w.r.t. the 4 parameters over
     the forward solve, peak memory (tracemalloc) of the gradient from 10 to 1,000
     output times, and jax.experimental.ode.odeint's gradient (eager and jit).

Everything runs on one core with one BLAS / intra-op thread; timings are medians over
repeats after warm-up, measured with time.perf_counter.

    python benchmarks/run.py                 # everything (a few minutes at most)
    python benchmarks/run.py --only a,b      # a subset (a, b, c, w3, cx, fft)
    python benchmarks/run.py --quick         # smoke test: few repeats, short loop in (c)
"""

from __future__ import annotations

# --- single-threaded everything: must happen before numpy / torch / jax are imported ---
import os

for _var in (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "TF_NUM_INTRAOP_THREADS",
    "TF_NUM_INTEROP_THREADS",
):
    os.environ[_var] = "1"
os.environ["XLA_FLAGS"] = (
    os.environ.get("XLA_FLAGS", "")
    + " --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
).strip()
os.environ["JAX_PLATFORMS"] = "cpu"
if not any("gpu" in a for a in __import__("sys").argv[1:]):  # `--only gpu` needs the device
    os.environ["CUDA_VISIBLE_DEVICES"] = ""
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import argparse  # noqa: E402
import gc  # noqa: E402
import importlib.util  # noqa: E402
import inspect  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

# ----------------------------------------------------------------------------------------
# Libraries
# ----------------------------------------------------------------------------------------


@dataclass
class Libs:
    riesz: Any = None
    rnp: Any = None
    autograd: Any = None
    anp: Any = None
    torch: Any = None
    jax: Any = None
    jnp: Any = None
    notes: list[str] = field(default_factory=list)


def load_libs() -> Libs:
    libs = Libs()
    import riesz
    import riesz.numpy as rnp

    libs.riesz, libs.rnp = riesz, rnp
    try:
        import autograd
        import autograd.numpy as anp

        libs.autograd, libs.anp = autograd, anp
    except Exception as e:  # pragma: no cover - depends on the environment
        libs.notes.append(f"HIPS autograd not importable ({type(e).__name__}: {e}); skipped")
    try:
        import torch

        torch.set_num_threads(1)
        try:
            torch.set_num_interop_threads(1)
        except RuntimeError:
            pass
        libs.torch = torch
    except Exception as e:  # pragma: no cover
        libs.notes.append(f"PyTorch not importable ({type(e).__name__}: {e}); skipped")
    try:
        import jax

        jax.config.update("jax_enable_x64", True)
        jax.config.update("jax_platforms", "cpu")
        import jax.numpy as jnp

        libs.jax, libs.jnp = jax, jnp
    except Exception as e:  # pragma: no cover
        libs.notes.append(f"JAX not importable ({type(e).__name__}: {e}); skipped")
    return libs


def versions(libs: Libs) -> str:
    parts = [f"python {sys.version.split()[0]}", f"numpy {np.__version__}"]
    for name in ("riesz", "autograd", "torch", "jax"):
        mod = getattr(libs, name)
        if mod is not None:
            parts.append(f"{name} {getattr(mod, '__version__', '?')}")
    return ", ".join(parts)


def pin_to_one_core() -> str:
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned (no sched_setaffinity)"
    try:
        cpus = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpus[-1]})
        return f"pinned to CPU {cpus[-1]} (of {len(cpus)} available)"
    except OSError as e:
        return f"not pinned ({e})"


# ----------------------------------------------------------------------------------------
# Timing
# ----------------------------------------------------------------------------------------


@dataclass
class Stat:
    median: float  # seconds
    n: int


def measure(
    fn: Callable[[], Any],
    repeats: int,
    warmup: int = 2,
    budget_s: float | None = None,
    warmup_fn: Callable[[], Any] | None = None,
) -> Stat:
    """Median wall time of ``fn()`` over ``repeats`` runs after ``warmup`` runs.

    ``budget_s`` caps the total time spent on the timed runs (at least 3 runs are kept,
    fewer only if ``repeats`` is smaller). The garbage collector stays enabled (users
    run with it on) and runs when Python decides, as in a training loop; one full
    collection clears the previous workload's garbage before the series starts.
    Forcing a full collection before every run would be an artifact: it returns
    the small-object allocator's free arenas to the OS, so the next run pays page
    faults that a real loop never sees (measured here: +30 us for a single
    ``np.sin(x) * 2`` on a length-16 vector), penalising allocation-heavy Python.
    """
    for _ in range(warmup):
        (warmup_fn or fn)()
    gc.collect()
    times: list[float] = []
    start = time.perf_counter()
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        t1 = time.perf_counter()
        times.append(t1 - t0)
        if budget_s is not None and t1 - start > budget_s and len(times) >= 3:
            break
    return Stat(statistics.median(times), len(times))


# ----------------------------------------------------------------------------------------
# Results / table
# ----------------------------------------------------------------------------------------


@dataclass
class Row:
    workload: str
    library: str
    metric: str
    value: float | None  # in `unit`
    unit: str
    n: int | None = None
    ratio: float | None = None  # value / riesz value of the same workload+metric
    note: str = ""


class Report:
    def __init__(self) -> None:
        self.rows: list[Row] = []
        self.lines: list[str] = []  # extra summary lines (explicit ratios, checks)

    def add(self, workload, library, metric, stat_or_value, unit, scale=1.0, note=""):
        if isinstance(stat_or_value, Stat):
            value, n = stat_or_value.median * scale, stat_or_value.n
        elif stat_or_value is None:
            value, n = None, None
        else:
            value, n = float(stat_or_value) * scale, None
        row = Row(workload, library, metric, value, unit, n, note=note)
        self.rows.append(row)
        print(f"  {library:<26} {metric:<22} {fmt(value):>10} {unit:<8}"
              f"{'' if n is None else f' (n={n})'}{'  ' + note if note else ''}", flush=True)
        return value

    def value(self, workload, library, metric):
        for r in self.rows:
            if (r.workload, r.library, r.metric) == (workload, library, metric):
                return r.value
        return None

    def finish(self) -> None:
        for r in self.rows:
            base = self.value(r.workload, "riesz", r.metric)
            if r.value is not None and base and r.unit not in ("MB", "x"):
                r.ratio = r.value / base

    def print_table(self) -> None:
        self.finish()
        if not self.rows:  # every workload skipped (e.g. --only gpu without a GPU)
            for line in self.lines:
                print(line)
            return
        headers = ("workload", "library", "metric", "median", "unit", "n", "x riesz", "note")
        body = []
        last = None
        for r in self.rows:
            wl = r.workload if r.workload != last else ""
            last = r.workload
            body.append((
                wl, r.library, r.metric, fmt(r.value), r.unit,
                "" if r.n is None else str(r.n),
                "" if r.ratio is None else fmt(r.ratio),
                r.note,
            ))
        widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(headers)]
        right = {3, 5, 6}

        def line(cells):
            out = []
            for i, c in enumerate(cells):
                out.append(c.rjust(widths[i]) if i in right else c.ljust(widths[i]))
            return "  ".join(out).rstrip()

        sep = "-" * len(line(headers))
        print()
        print("=" * len(sep))
        print("RESULTS (medians; 'x riesz' = library median / riesz median, >1 means riesz "
              "is faster)")
        print("=" * len(sep))
        print(line(headers))
        print(sep)
        last = None
        for r, cells in zip(self.rows, body, strict=True):
            if last is not None and r.workload != last:
                print(sep)
            last = r.workload
            print(line(cells))
        print(sep)
        for s in self.lines:
            print(s)


def fmt(v: float | None) -> str:
    if v is None:
        return "-"
    if v == 0:
        return "0"
    a = abs(v)
    if a >= 1000:
        return f"{v:,.0f}"
    if a >= 100:
        return f"{v:.1f}"
    if a >= 1:
        return f"{v:.2f}"
    return f"{v:.3g}"


def section(title: str) -> None:
    print(f"\n== {title} ==", flush=True)


# ----------------------------------------------------------------------------------------
# (a) per-primitive overhead
# ----------------------------------------------------------------------------------------

A_LINKS = 100  # three ops per link -> 300 elementwise ops
A_OPS = 3 * A_LINKS
A_WL = "(a) 300-op chain, len-16 f64"


def chain(x, ns):
    for _ in range(A_LINKS):
        x = ns.sin(x)
        x = x * 1.01
        x = ns.tanh(x)
    return ns.sum(x)


def _jit_variants(riesz) -> list[tuple[str, dict[str, Any]]]:
    """The riesz-jit rows: unfused NumPy code, and fused kernels where the `jit`
    extra (llvmlite; Numba before) is installed (none where riesz predates
    staging: before/after runs)."""
    if not hasattr(riesz, "jit"):
        return []
    if "fuse" not in inspect.signature(riesz.jit).parameters:
        return [("riesz-jit", {})]
    rows: list[tuple[str, dict[str, Any]]] = [("riesz-jit", {"fuse": False})]
    if importlib.util.find_spec("llvmlite") is not None:
        rows.append(("riesz-jit (fused)", {"fuse": True}))
    return rows


def bench_a(libs: Libs, rep: Report, repeats: int, budget: float) -> None:
    section(f"{A_WL}: value_and_grad, us per op (time / {A_OPS})")
    x0 = np.linspace(-1.0, 1.0, 16)
    us = 1e6 / A_OPS
    results = {}

    riesz, rnp = libs.riesz, libs.rnp
    vg_r = riesz.value_and_grad(lambda x: chain(x, rnp))
    results["riesz"] = vg_r(x0)
    rep.add(A_WL, "riesz", "value_and_grad", measure(lambda: vg_r(x0), repeats, 3, budget),
            "us/op", us)
    for name, fuse in _jit_variants(riesz):
        vg_rj = riesz.jit(riesz.value_and_grad(lambda x: chain(x, rnp)), **fuse)
        t0 = time.perf_counter()
        results[name] = vg_rj(x0)  # traces and compiles
        first = time.perf_counter() - t0
        rep.add(A_WL, name, "value_and_grad",
                measure(lambda vg_rj=vg_rj: vg_rj(x0), repeats, 3, budget), "us/op", us,
                note=f"excl. compile (first call {first * 1e3:.0f} ms; "
                     f"{len(vg_rj.graph(x0))} eqns)")

    if libs.autograd is not None:
        vg_a = libs.autograd.value_and_grad(lambda x: chain(x, libs.anp))
        results["autograd"] = vg_a(x0)
        rep.add(A_WL, "autograd", "value_and_grad",
                measure(lambda: vg_a(x0), repeats, 3, budget), "us/op", us)

    if libs.torch is not None:
        torch = libs.torch

        def vg_t():
            x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
            y = chain(x, torch)
            y.backward()
            return y.item(), x.grad

        v, g = vg_t()
        results["torch"] = (v, g.numpy())
        rep.add(A_WL, "torch", "value_and_grad", measure(vg_t, repeats, 3, budget),
                "us/op", us)

    if libs.jax is not None:
        jax, jnp = libs.jax, libs.jnp
        xj = jnp.asarray(x0)
        vg_je = jax.value_and_grad(lambda x: chain(x, jnp))
        vg_jj = jax.jit(jax.value_and_grad(lambda x: chain(x, jnp)))

        def run_je():
            return jax.block_until_ready(vg_je(xj))

        def run_jj():
            return jax.block_until_ready(vg_jj(xj))

        results["jax eager"] = run_je()
        rep.add(A_WL, "jax eager", "value_and_grad", measure(run_je, repeats, 2, budget),
                "us/op", us)
        results["jax jit"] = run_jj()  # compiles
        rep.add(A_WL, "jax jit", "value_and_grad", measure(run_jj, repeats, 3, budget),
                "us/op", us, note="compiled; excl. compile")

    rep.add(A_WL, "numpy (forward only)", "forward",
            measure(lambda: chain(x0, np), repeats, 3, budget), "us/op", us,
            note="reference, no derivative")
    rep.add(A_WL, "riesz (forward only)", "forward",
            measure(lambda: chain(x0, rnp), repeats, 3, budget), "us/op", us,
            note="rnp on plain arrays")

    ref_v, ref_g = results["riesz"]
    bad = [k for k, (v, g) in results.items()
           if not (np.allclose(float(v), float(ref_v), rtol=1e-10)
                   and np.allclose(np.asarray(g), ref_g, rtol=1e-8, atol=1e-12))]
    msg = "all agree with riesz" if not bad else f"MISMATCH vs riesz: {', '.join(bad)}"
    if len(results) == 1:
        msg = "no peer available to compare against"
    print(f"  value/gradient check across libraries: {msg}")
    rep.lines.append(f"(a) value/gradient check: {msg}")

    r = rep.value(A_WL, "riesz", "value_and_grad")
    a = rep.value(A_WL, "autograd", "value_and_grad")
    if a:
        rep.lines.append(
            f"(a) riesz/autograd per-op time ratio: {r / a:.2f} "
            f"(riesz {fmt(r)} us/op, autograd {fmt(a)} us/op)")
    else:
        rep.lines.append("(a) riesz/autograd ratio: autograd not available")


# ----------------------------------------------------------------------------------------
# (w6) Taylor mode: jet of order K = 8
# ----------------------------------------------------------------------------------------

W6_K = 8
W6_WL = f"(w6) jet K={W6_K} of sum(softplus(W x) sin(x W^T)), W 6x4 f64"


def bench_w6(libs: Libs, rep: Report, repeats: int, budget: float) -> None:
    """Taylor coefficients to order 8 along a line x0 + t v of the tour's network
    f(x) = sum(logaddexp(0, W x) * sin(x W^T)) (riesz.jet vs jax.experimental.jet;
    JAX writes softplus as log1p(exp(z)): its jet of logaddexp leaks a tracer)."""
    section(f"{W6_WL}: us per call")
    rng = np.random.default_rng(5)
    W = rng.standard_normal((6, 4)) / 2
    x0, v = rng.standard_normal(4), rng.standard_normal(4)
    series = [v] + [np.zeros(4)] * (W6_K - 1)
    riesz, rnp = libs.riesz, libs.rnp
    results = {}

    def f_r(x):
        return rnp.sum(rnp.logaddexp(0.0, W @ x) * rnp.sin(x @ W.T))

    def jet_r(x, s):
        return riesz.jet(f_r, (x,), (s,))

    results["riesz"] = jet_r(x0, series)
    rep.add(W6_WL, "riesz", "jet", measure(lambda: jet_r(x0, series), repeats, 3, budget), "us",
            1e6)
    for name, fuse in _jit_variants(riesz):
        j = riesz.jit(jet_r, **fuse)
        t0 = time.perf_counter()
        results[name] = j(x0, series)
        first = time.perf_counter() - t0
        rep.add(W6_WL, name, "jet", measure(lambda j=j: j(x0, series), repeats, 3, budget),
                "us", 1e6, note=f"excl. compile (first call {first * 1e3:.0f} ms; "
                                f"{len(j.graph(x0, series))} eqns)")
    if libs.jax is not None:
        jax, jnp = libs.jax, libs.jnp
        from jax.experimental import jet as jjet

        def f_j(x):
            return jnp.sum(jnp.log1p(jnp.exp(W @ x)) * jnp.sin(x @ W.T))

        jet_jj = jax.jit(lambda x, s: jjet.jet(f_j, (x,), (s,)))
        xj, sj = jnp.asarray(x0), [jnp.asarray(t) for t in series]
        t0 = time.perf_counter()
        results["jax jit"] = jax.block_until_ready(jet_jj(xj, sj))
        first = time.perf_counter() - t0
        rep.add(W6_WL, "jax jit", "jet",
                measure(lambda: jax.block_until_ready(jet_jj(xj, sj)), repeats, 3, budget),
                "us", 1e6, note=f"excl. compile (first call {first * 1e3:.0f} ms)")
    ref0, ref = results["riesz"]
    bad = [k for k, (y0, ys) in results.items()
           if not (np.allclose(float(y0), float(ref0), rtol=1e-10)
                   and np.allclose(np.asarray(ys, dtype=float), np.asarray(ref, dtype=float),
                                   rtol=1e-8, atol=1e-10))]
    msg = "all agree with riesz" if not bad else f"MISMATCH vs riesz: {', '.join(bad)}"
    print(f"  jet coefficients check across libraries: {msg}")
    rep.lines.append(f"(w6) jet check: {msg}")


# ----------------------------------------------------------------------------------------
# (b) MLP
# ----------------------------------------------------------------------------------------

B_WL = "(b) MLP 784-512-512-10 f32 b256"
B_SIZES = (784, 512, 512, 10)
B_BATCH = 256


def mlp_loss(params, X, Y, ns):
    """Softmax cross-entropy of a tanh MLP; ``ns`` is a NumPy-like module."""
    h = X
    for W, b in params[:-1]:
        h = ns.tanh(h @ W + b)
    W, b = params[-1]
    z = h @ W + b
    m = ns.max(z, axis=1, keepdims=True)
    lse = ns.log(ns.sum(ns.exp(z - m), axis=1, keepdims=True)) + m
    return ns.mean(ns.sum(Y * (lse - z), axis=1))


def mlp_loss_torch(params, X, Y, torch):
    h = X
    for W, b in params[:-1]:
        h = torch.tanh(h @ W + b)
    W, b = params[-1]
    z = h @ W + b
    m = torch.amax(z, dim=1, keepdim=True)
    lse = torch.log(torch.sum(torch.exp(z - m), dim=1, keepdim=True)) + m
    return torch.mean(torch.sum(Y * (lse - z), dim=1))


def mlp_data(seed: int = 0):
    rng = np.random.default_rng(seed)
    params = []
    for fan_in, fan_out in zip(B_SIZES[:-1], B_SIZES[1:], strict=True):
        W = (rng.standard_normal((fan_in, fan_out)) / np.sqrt(fan_in)).astype(np.float32)
        b = (0.1 * rng.standard_normal(fan_out)).astype(np.float32)
        params.append((W, b))
    X = rng.standard_normal((B_BATCH, B_SIZES[0])).astype(np.float32)
    labels = rng.integers(0, B_SIZES[-1], size=B_BATCH)
    Y = np.eye(B_SIZES[-1], dtype=np.float32)[labels]
    return params, X, Y


def _flat(grads):
    return [np.asarray(a) for pair in grads for a in pair]


def bench_b(libs: Libs, rep: Report, repeats: int, budget: float) -> None:
    section(f"{B_WL}: forward and value_and_grad, ms")
    params, X, Y = mlp_data()
    ms = 1e3
    grads = {}

    # riesz ------------------------------------------------------------------------
    riesz, rnp = libs.riesz, libs.rnp
    vg_r = riesz.value_and_grad(lambda p, X, Y: mlp_loss(p, X, Y, rnp), argnums=0)
    loss_r, g_r = vg_r(params, X, Y)
    dtypes = {np.asarray(loss_r).dtype.name} | {a.dtype.name for a in _flat(g_r)}
    assert np.asarray(loss_r).dtype == np.float32, f"riesz loss dtype {np.asarray(loss_r).dtype}"
    for a in _flat(g_r):
        assert a.dtype == np.float32, f"riesz gradient dtype {a.dtype}, expected float32"
    assert [tuple(a.shape) for a in _flat(g_r)] == [
        tuple(a.shape) for pair in params for a in pair], "riesz gradient shapes"
    print(f"  riesz dtypes: loss and all gradients {sorted(dtypes)} (asserted float32)")
    grads["riesz"] = (float(loss_r), _flat(g_r))

    def add_pair(lib, fwd, vg, fwd_note="", note=""):
        f = rep.add(B_WL, lib, "forward", measure(fwd, repeats, 2, budget), "ms", ms,
                    fwd_note or note)
        v = rep.add(B_WL, lib, "value_and_grad", measure(vg, repeats, 2, budget), "ms", ms,
                    note)
        rep.add(B_WL, lib, "vag/forward", v / f, "x")

    add_pair("riesz", lambda: mlp_loss(params, X, Y, rnp), lambda: vg_r(params, X, Y))
    if hasattr(riesz, "jit"):  # (w2) absent in riesz versions before staging
        f_rj = riesz.jit(lambda p, X, Y: mlp_loss(p, X, Y, rnp))
        vg_rj = riesz.jit(vg_r)
        grads["riesz-jit"] = (float(vg_rj(params, X, Y)[0]), _flat(vg_rj(params, X, Y)[1]))
        f_rj(params, X, Y)
        add_pair("riesz-jit", lambda: f_rj(params, X, Y), lambda: vg_rj(params, X, Y),
                 note="excl. compile")

    # autograd ---------------------------------------------------------------------
    if libs.autograd is not None:
        anp = libs.anp
        vg_a = libs.autograd.value_and_grad(lambda p, X, Y: mlp_loss(p, X, Y, anp), argnum=0)
        loss_a, g_a = vg_a(params, X, Y)
        grads["autograd"] = (float(loss_a), _flat(g_a))
        add_pair("autograd", lambda: mlp_loss(params, X, Y, anp), lambda: vg_a(params, X, Y))

    # torch ------------------------------------------------------------------------
    if libs.torch is not None:
        torch = libs.torch
        tparams = [(torch.from_numpy(W.copy()), torch.from_numpy(b.copy())) for W, b in params]
        tX, tY = torch.from_numpy(X), torch.from_numpy(Y)
        for W, b in tparams:
            W.requires_grad_(True)
            b.requires_grad_(True)
        tflat = [a for pair in tparams for a in pair]

        def fwd_t():
            with torch.no_grad():
                return mlp_loss_torch(tparams, tX, tY, torch).item()

        def vg_t():
            loss = mlp_loss_torch(tparams, tX, tY, torch)
            gs = torch.autograd.grad(loss, tflat)
            return loss.item(), gs

        loss_t, g_t = vg_t()
        grads["torch"] = (loss_t, [g.numpy() for g in g_t])
        add_pair("torch", fwd_t, vg_t, fwd_note="under torch.no_grad()")

    # jax --------------------------------------------------------------------------
    if libs.jax is not None:
        jax, jnp = libs.jax, libs.jnp
        jparams = [(jnp.asarray(W), jnp.asarray(b)) for W, b in params]
        jX, jY = jnp.asarray(X), jnp.asarray(Y)

        def loss_j(p, X, Y):
            return mlp_loss(p, X, Y, jnp)

        vg_j = jax.value_and_grad(loss_j)
        f_jit, vg_jit = jax.jit(loss_j), jax.jit(jax.value_and_grad(loss_j))
        lj, gj = jax.block_until_ready(vg_jit(jparams, jX, jY))
        jax.block_until_ready(f_jit(jparams, jX, jY))
        assert lj.dtype == jnp.float32
        grads["jax jit"] = (float(lj), _flat(gj))
        add_pair("jax eager",
                 lambda: jax.block_until_ready(loss_j(jparams, jX, jY)),
                 lambda: jax.block_until_ready(vg_j(jparams, jX, jY)))
        add_pair("jax jit",
                 lambda: jax.block_until_ready(f_jit(jparams, jX, jY)),
                 lambda: jax.block_until_ready(vg_jit(jparams, jX, jY)),
                 note="compiled; excl. compile")

    # gradient check ---------------------------------------------------------------
    ref_name = "torch" if "torch" in grads else ("autograd" if "autograd" in grads else None)
    if ref_name is None:
        msg = "no peer available to check riesz's gradient against"
    else:
        lr, gr = grads["riesz"]
        lref, gref = grads[ref_name]
        errs = [float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-30))
                for a, b in zip(gr, gref, strict=True)]
        worst = max(errs)
        loss_err = abs(lr - lref) / abs(lref)
        ok = worst < 1e-4 and loss_err < 1e-5
        msg = (f"{'PASS' if ok else 'FAIL'} vs {ref_name}: max rel. gradient error "
               f"{worst:.2e} (per leaf, relative to leaf max), loss rel. error {loss_err:.2e}")
    print(f"  gradient check: {msg}")
    rep.lines.append(f"(b) riesz gradient check (float32 tolerance 1e-4): {msg}")

    r = rep.value(B_WL, "riesz", "value_and_grad")
    rj = rep.value(B_WL, "riesz-jit", "value_and_grad")
    if rj:
        rep.lines.append(
            f"(w2) riesz-jit value_and_grad / riesz eager: {rj / r:.2f} (target <= 1); "
            f"riesz-jit vag/forward {rep.value(B_WL, 'riesz-jit', 'vag/forward'):.2f} "
            "(target <= 2.3)")
    t = rep.value(B_WL, "torch", "value_and_grad")
    if t:
        rep.lines.append(
            f"(b) riesz value_and_grad / torch value_and_grad: {r / t:.2f} "
            f"(riesz {fmt(r)} ms, torch {fmt(t)} ms); riesz vag/forward "
            f"{rep.value(B_WL, 'riesz', 'vag/forward'):.2f}")


# ----------------------------------------------------------------------------------------
# (c) long scalar loop
# ----------------------------------------------------------------------------------------

C_WL = "(c) scalar loop x=.999x+sin x"


def loop(x, ns, n):
    for _ in range(n):
        x = x * 0.999 + ns.sin(x)
    return ns.sum(x)


def peak_mb(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Peak traced memory (MB) above the level at the start of ``fn()``."""
    gc.collect()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    out = fn()
    return (tracemalloc.get_traced_memory()[1] - base) / 2**20, out


def bench_c(libs: Libs, rep: Report, repeats: int, n: int, jax_n: int) -> None:
    section(f"{C_WL}, n={n}: value_and_grad, us per iteration")
    x0 = np.array([0.5])
    us = 1e6 / n
    short = min(n, 1000)
    results = {}
    wl = f"{C_WL} n={n:.0e}".replace("e+0", "e")

    riesz, rnp = libs.riesz, libs.rnp
    vg_r = riesz.value_and_grad(lambda x: loop(x, rnp, n))
    warm_r = riesz.value_and_grad(lambda x: loop(x, rnp, short))
    results["riesz"] = vg_r(x0)
    rep.add(wl, "riesz", "value_and_grad",
            measure(lambda: vg_r(x0), repeats, 1, warmup_fn=lambda: warm_r(x0)), "us/it", us)

    if libs.autograd is not None:
        anp = libs.anp
        vg_a = libs.autograd.value_and_grad(lambda x: loop(x, anp, n))
        warm_a = libs.autograd.value_and_grad(lambda x: loop(x, anp, short))
        results["autograd"] = vg_a(x0)
        rep.add(wl, "autograd", "value_and_grad",
                measure(lambda: vg_a(x0), repeats, 1, warmup_fn=lambda: warm_a(x0)),
                "us/it", us)

    if libs.torch is not None:
        torch = libs.torch

        def vg_t(m=n):
            x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
            y = loop(x, torch, m)
            y.backward()
            return y.item(), x.grad.numpy()

        results["torch"] = vg_t()
        rep.add(wl, "torch", "value_and_grad",
                measure(vg_t, repeats, 1, warmup_fn=lambda: vg_t(short)), "us/it", us)

    if libs.jax is not None:
        jax, jnp = libs.jax, libs.jnp
        xj = jnp.asarray(x0)
        vg_je = jax.value_and_grad(lambda x: loop(x, jnp, jax_n))
        run_je = lambda: jax.block_until_ready(vg_je(xj))  # noqa: E731
        run_je()
        st = measure(run_je, max(1, min(repeats, 3)), 0)
        rep.add(wl, f"jax eager (n={jax_n} only)", "value_and_grad", st, "us/it", 1e6 / jax_n,
                note=f"n={n} would take ~{st.median * n / jax_n:.0f} s (extrapolated)")
        rep.add(wl, "jax jit (unrolled loop)", "value_and_grad", None, "us/it",
                note="skipped: compiling the unrolled loop does not finish in 40 s "
                     "(n=1e3 alone compiles in ~15 s)")

        def loop_fori(x):
            body = lambda i, x: x * 0.999 + jnp.sin(x)  # noqa: E731
            return jnp.sum(jax.lax.fori_loop(0, n, body, x))

        vg_jf = jax.jit(jax.value_and_grad(loop_fori))
        run_jf = lambda: jax.block_until_ready(vg_jf(xj))  # noqa: E731
        results["jax jit fori_loop"] = run_jf()
        rep.add(wl, "jax jit (lax.fori_loop)", "value_and_grad",
                measure(run_jf, max(3, repeats), 1), "us/it", us,
                note="different program: compiled loop, for scale")

    ref_v, ref_g = results["riesz"]
    bad = [k for k, (v, g) in results.items()
           if not (np.allclose(float(v), float(ref_v), rtol=1e-9)
                   and np.allclose(np.asarray(g), ref_g, rtol=1e-6, atol=1e-12))]
    # At full length the gradient underflows to 0 (|d x_{k+1}/d x_k| < 1 near the fixed
    # point), so also compare a short loop whose gradient is still representable.
    m = 60
    ref_short = riesz.grad(lambda x: loop(x, rnp, m))(x0)
    peers_short = {}
    if libs.autograd is not None:
        peers_short["autograd"] = libs.autograd.grad(lambda x: loop(x, libs.anp, m))(x0)
    if libs.torch is not None:
        xt = libs.torch.tensor(x0, dtype=libs.torch.float64, requires_grad=True)
        loop(xt, libs.torch, m).backward()
        peers_short["torch"] = xt.grad.numpy()
    bad += [f"{k} (n={m})" for k, g in peers_short.items()
            if not np.allclose(g, ref_short, rtol=1e-9, atol=0)]
    msg = "all agree with riesz" if not bad else f"MISMATCH vs riesz: {', '.join(bad)}"
    if len(results) == 1:
        msg = "no peer available to compare against"
    msg += (f" (n={n}: value {float(ref_v):.12g}, gradient {np.asarray(ref_g)}; "
            f"n={m}: gradient {ref_short} checked against {', '.join(peers_short) or '-'})")
    print(f"  value/gradient check across libraries: {msg}")
    rep.lines.append(f"(c) value/gradient check: {msg}")

    # memory (riesz), separate runs under tracemalloc ---------------------------------
    print("  riesz memory (tracemalloc, separate untimed runs):", flush=True)
    tracemalloc.start()
    try:
        fwd_mb, (out, vjp_fn) = peak_mb(lambda: riesz.vjp(lambda x: loop(x, rnp, n), x0))
        ct = np.ones_like(np.asarray(out))
        bwd_extra_mb, _ = peak_mb(lambda f=vjp_fn, ct=ct: f(ct))
        out = vjp_fn = None  # free the recorded forward before the next measurement
        vag_mb, _ = peak_mb(lambda: vg_r(x0))
    finally:
        tracemalloc.stop()
    ratio = vag_mb / fwd_mb if fwd_mb > 0 else float("nan")
    rep.add(wl, "riesz", "peak mem forward(vjp)", fwd_mb, "MB",
            note="riesz.vjp: forward + recording")
    rep.add(wl, "riesz", "peak mem backward+", bwd_extra_mb, "MB",
            note="vjp_fn(1): above post-forward level")
    rep.add(wl, "riesz", "peak mem value_and_grad", vag_mb, "MB", note="whole call")
    verdict = "within 2x target" if ratio <= 2 else "ABOVE 2x target"
    rep.lines.append(
        f"(c) riesz peak memory: value_and_grad {vag_mb:.1f} MB / forward recording "
        f"{fwd_mb:.1f} MB = {ratio:.2f}x ({verdict}); backward adds {bwd_extra_mb:.1f} MB "
        f"above the recorded forward")
    print(f"  peak ratio value_and_grad/forward = {ratio:.2f}x ({verdict})")


# ----------------------------------------------------------------------------------------
# (ode) odeint's adjoint gradient, Lotka-Volterra
# ----------------------------------------------------------------------------------------

ODE_WL = "(ode) Lotka-Volterra odeint"
ODE_THETA = np.array([1.5, 1.0, 1.0, 3.0])
ODE_Y0 = np.array([1.0, 0.5])


def lotka_volterra(y, t, theta, ns):
    return ns.stack([theta[0] * y[0] - theta[1] * y[0] * y[1],
                     theta[2] * y[0] * y[1] - theta[3] * y[1]])


def bench_ode(libs: Libs, rep: Report, repeats: int, n_out: int = 1000) -> None:
    """Reverse-mode (adjoint) gradient of sum(y(t_i)^2) w.r.t. theta, over the solve."""
    section(f"{ODE_WL}, {n_out} output times on [0, 10], rtol = atol = 1.49e-8")
    riesz, rnp = libs.riesz, libs.rnp
    from riesz.scipy.integrate import odeint

    def rhs(y, t, theta):
        return lotka_volterra(y, t, theta, rnp)

    def loss(theta, t):
        return rnp.sum(odeint(rhs, ODE_Y0, t, args=(theta,)) ** 2)

    t = np.linspace(0.0, 10.0, n_out)
    wl = f"{ODE_WL}, {n_out} times"
    grad = riesz.grad(loss)
    g = grad(ODE_THETA, t)
    fwd = rep.add(wl, "riesz", "forward solve", measure(lambda: loss(ODE_THETA, t), repeats, 1),
                  "ms", 1e3)
    rev = rep.add(wl, "riesz", "gradient (adjoint)", measure(lambda: grad(ODE_THETA, t),
                                                             repeats, 1), "ms", 1e3)
    fwd_mode = rep.add(wl, "riesz", "jacfwd (sensitivities)", measure(
        lambda: riesz.jacfwd(loss)(ODE_THETA, t), repeats, 1), "ms", 1e3)
    ratio = rev / fwd
    rep.add(wl, "riesz", "gradient / forward", ratio, "x",
            note="target <= 3x" + ("" if ratio <= 3 else ": ABOVE"))
    rep.lines.append(f"(ode) riesz adjoint gradient / forward solve = {ratio:.1f}x at "
                     f"{n_out} output times (target <= 3x); forward-mode (4 sensitivities) "
                     f"/ forward = {fwd_mode / fwd:.1f}x")

    print("  riesz memory (tracemalloc, separate untimed runs):", flush=True)
    peaks = {}
    tracemalloc.start()
    try:
        for m in (10, 100, n_out):
            tm = np.linspace(0.0, 10.0, m)
            peaks[m], _ = peak_mb(lambda tm=tm: grad(ODE_THETA, tm))
            rep.add(wl, "riesz", f"peak mem grad, {m} times", peaks[m], "MB")
    finally:
        tracemalloc.stop()
    growth = peaks[n_out] / peaks[10]
    rep.lines.append(f"(ode) riesz gradient peak memory {peaks[10]:.2f} MB (10 times) -> "
                     f"{peaks[n_out]:.2f} MB ({n_out} times) = {growth:.2f}x (target <= 1.2x)")

    if libs.jax is not None:
        try:
            from jax.experimental.ode import odeint as jodeint
        except Exception as e:  # pragma: no cover
            rep.lines.append(f"(ode) jax.experimental.ode not importable: {e}")
            return
        jax, jnp = libs.jax, libs.jnp
        tj, thj, y0j = jnp.asarray(t), jnp.asarray(ODE_THETA), jnp.asarray(ODE_Y0)

        def jrhs(y, s, th):  # one function object: odeint compiles once per function
            return lotka_volterra(y, s, th, jnp)

        def jloss(theta):
            ys = jodeint(jrhs, y0j, tj, theta, rtol=1.49012e-8, atol=1.49012e-8)
            return jnp.sum(ys ** 2)

        jg, jgj, jfj = jax.grad(jloss), jax.jit(jax.grad(jloss)), jax.jit(jloss)
        for name, fn in (("jax eager", jloss), ("jax eager", jg), ("jax jit", jfj),
                         ("jax jit", jgj)):
            metric = "forward solve" if fn in (jloss, jfj) else "gradient (adjoint)"
            rep.add(wl, name, metric, measure(lambda fn=fn: jax.block_until_ready(fn(thj)),
                                              max(3, repeats), 1), "ms", 1e3)
        for name in ("jax eager", "jax jit"):
            r = rep.value(wl, name, "gradient (adjoint)") / rep.value(wl, name, "forward solve")
            rep.add(wl, name, "gradient / forward", r, "x")
        rep.lines.append(
            f"(ode) riesz gradient / jax gradient = "
            f"{rev / rep.value(wl, 'jax eager', 'gradient (adjoint)'):.1f}x (jax eager: "
            "odeint is jax.jit-compiled inside, per function), "
            f"{rev / rep.value(wl, 'jax jit', 'gradient (adjoint)'):.1f}x (jax.jit(grad))")
        gj = np.asarray(jgj(thj))
        ok = np.allclose(gj, g, rtol=1e-5)
        rep.lines.append(f"(ode) gradient riesz {g} vs jax {gj}: "
                         f"{'agree' if ok else 'MISMATCH'} (rtol 1e-5; both at tol 1.5e-8)")


# ----------------------------------------------------------------------------------------
# (w3) two dense layers over closed-over constant matrices
# ----------------------------------------------------------------------------------------

W3_N = 1000
W3_WL = f"(w3) sum tanh(W2 tanh(W1 x)) n={W3_N}"


def w3_data(seed: int = 0):
    rng = np.random.default_rng(seed)
    n = W3_N
    W1 = rng.standard_normal((n, n)) / np.sqrt(n)
    W2 = rng.standard_normal((n, n)) / np.sqrt(n)
    x = rng.standard_normal(n)
    v = rng.standard_normal(n)
    return W1, W2, x, v


def bench_w3(libs: Libs, rep: Report, repeats: int, budget: float) -> None:
    """grad and Hessian-vector product of f(x) = sum(tanh(W2 @ tanh(W1 @ x))), W1 and W2
    constant float64 matrices the function closes over (8 MB each)."""
    section(f"{W3_WL}: grad and hvp, ms")
    W1, W2, x0, v0 = w3_data()
    ms = 1e3
    grads, hvps = {}, {}

    riesz, rnp = libs.riesz, libs.rnp

    def f_r(x):
        return rnp.sum(rnp.tanh(W2 @ rnp.tanh(W1 @ x)))

    g_r = riesz.grad(f_r)
    grads["riesz"] = g_r(x0)
    rep.add(W3_WL, "riesz", "grad", measure(lambda: g_r(x0), repeats, 3, budget), "ms", ms)
    if hasattr(riesz, "jit"):  # absent in riesz versions before staging (before/after runs)
        g_rj = riesz.jit(riesz.grad(f_r))
        grads["riesz-jit"] = g_rj(x0)
        rep.add(W3_WL, "riesz-jit", "grad", measure(lambda: g_rj(x0), repeats, 3, budget), "ms",
                ms, note="excl. compile")
        h_rj = riesz.jit(lambda x, v: riesz.hvp(f_r, (x,), (v,))[0])
        hvps["riesz-jit"] = h_rj(x0, v0)
        rep.add(W3_WL, "riesz-jit", "hvp", measure(lambda: h_rj(x0, v0), repeats, 3, budget),
                "ms", ms, note="jit of riesz.hvp; excl. compile")

    def vjp_r():  # the pullback outlives the call, so the saved arrays are fingerprinted
        _, pull = riesz.vjp(f_r, x0)
        return pull(1.0)[0]

    np.testing.assert_allclose(vjp_r(), grads["riesz"], rtol=1e-12)
    rep.add(W3_WL, "riesz", "vjp + vjp_fn", measure(vjp_r, repeats, 3, budget), "ms", ms,
            note="saved arrays fingerprinted")
    hvps["riesz"] = riesz.hvp(f_r, (x0,), (v0,))[0]
    rep.add(W3_WL, "riesz", "hvp", measure(lambda: riesz.hvp(f_r, (x0,), (v0,)), repeats, 3,
                                           budget), "ms", ms, note="riesz.hvp (fwd-rev)")

    if libs.autograd is not None:
        anp = libs.anp

        def f_a(x):
            return anp.sum(anp.tanh(anp.dot(W2, anp.tanh(anp.dot(W1, x)))))

        g_a = libs.autograd.grad(f_a)
        grads["autograd"] = g_a(x0)
        rep.add(W3_WL, "autograd", "grad", measure(lambda: g_a(x0), repeats, 3, budget),
                "ms", ms)

    if libs.torch is not None:
        torch = libs.torch
        tW1, tW2 = torch.from_numpy(W1), torch.from_numpy(W2)
        tv = torch.from_numpy(v0)

        def f_t(x):
            return torch.sum(torch.tanh(tW2 @ torch.tanh(tW1 @ x)))

        def grad_t():
            x = torch.tensor(x0, requires_grad=True)
            (g,) = torch.autograd.grad(f_t(x), x)
            return g

        def hvp_t():  # double backward: d/dx <grad f(x), v>
            x = torch.tensor(x0, requires_grad=True)
            (g,) = torch.autograd.grad(f_t(x), x, create_graph=True)
            (h,) = torch.autograd.grad(g, x, grad_outputs=tv)
            return h

        grads["torch"] = grad_t().numpy()
        hvps["torch"] = hvp_t().numpy()
        rep.add(W3_WL, "torch", "grad", measure(grad_t, repeats, 3, budget), "ms", ms)
        rep.add(W3_WL, "torch", "hvp", measure(hvp_t, repeats, 3, budget), "ms", ms,
                note="double backward")

    if libs.jax is not None:
        jax, jnp = libs.jax, libs.jnp
        jW1, jW2 = jnp.asarray(W1), jnp.asarray(W2)
        xj, vj = jnp.asarray(x0), jnp.asarray(v0)

        def f_j(x):
            return jnp.sum(jnp.tanh(jW2 @ jnp.tanh(jW1 @ x)))

        g_j = jax.grad(f_j)

        def hvp_j(x, v):  # forward over reverse
            return jax.jvp(g_j, (x,), (v,))[1]

        g_jit, hvp_jit = jax.jit(g_j), jax.jit(hvp_j)
        for lib, g, h, note in (("jax eager", g_j, hvp_j, ""),
                                ("jax jit", g_jit, hvp_jit, "compiled; excl. compile")):
            grads[lib] = np.asarray(jax.block_until_ready(g(xj)))
            hvps[lib] = np.asarray(jax.block_until_ready(h(xj, vj)))
            rep.add(W3_WL, lib, "grad",
                    measure(lambda g=g: jax.block_until_ready(g(xj)), repeats, 3, budget),
                    "ms", ms, note=note)
            rep.add(W3_WL, lib, "hvp",
                    measure(lambda h=h: jax.block_until_ready(h(xj, vj)), repeats, 3, budget),
                    "ms", ms, note=note or "jvp of grad")

    bad = [k for k, g in grads.items() if not np.allclose(g, grads["riesz"], rtol=1e-9,
                                                          atol=1e-12)]
    bad += [f"{k} hvp" for k, h in hvps.items() if not np.allclose(h, hvps["riesz"], rtol=1e-8,
                                                                 atol=1e-12)]
    msg = "all agree with riesz" if not bad else f"MISMATCH vs riesz: {', '.join(bad)}"
    if len(grads) == 1:
        msg = "no peer available to compare against"
    print(f"  gradient/hvp check across libraries: {msg}")
    rep.lines.append(f"(w3) gradient/hvp check: {msg}")
    r, rh = rep.value(W3_WL, "riesz", "grad"), rep.value(W3_WL, "riesz", "hvp")
    parts = []
    for lib in ("autograd", "torch"):
        g = rep.value(W3_WL, lib, "grad")
        if g:
            parts.append(f"grad riesz/{lib} {r / g:.2f}")
    th = rep.value(W3_WL, "torch", "hvp")
    if th:
        parts.append(f"hvp riesz/torch {rh / th:.2f}")
    rv = rep.value(W3_WL, "riesz", "vjp + vjp_fn")
    rep.lines.append(f"(w3) {'; '.join(parts) or 'no peer'} (riesz grad {fmt(r)} ms, "
                     f"hvp {fmt(rh)} ms; vjp + vjp_fn {fmt(rv)} ms, the fingerprints' cost)")


# ----------------------------------------------------------------------------------------
# (w4) Hessian, (w5) long chains under jit, (w7) scan: riesz eager / riesz-jit / JAX-jit
# ----------------------------------------------------------------------------------------

W4_N = 400
W4_WL = f"(w4) hessian of sum tanh(W2 tanh(W1 x)) n={W4_N}"


def bench_w4(libs: Libs, rep: Report, repeats: int, budget: float) -> None:
    """The Hessian (jacfwd of jacrev) of the (w3) function at n = 400, W1 and W2 closed
    over: riesz.hessian eager and under jit against jax.jit(jax.hessian)."""
    section(f"{W4_WL}: ms")
    rng = np.random.default_rng(1)
    n = W4_N
    W1 = rng.standard_normal((n, n)) / np.sqrt(n)
    W2 = rng.standard_normal((n, n)) / np.sqrt(n)
    x0 = rng.standard_normal(n)
    ms = 1e3
    riesz, rnp = libs.riesz, libs.rnp

    def f_r(x):
        return rnp.sum(rnp.tanh(W2 @ rnp.tanh(W1 @ x)))

    h_r = riesz.hessian(f_r)
    hs = {"riesz": h_r(x0)}
    rep.add(W4_WL, "riesz", "hessian", measure(lambda: h_r(x0), repeats, 2, budget), "ms", ms)
    if hasattr(riesz, "jit"):
        h_rj = riesz.jit(riesz.hessian(f_r))
        t0 = time.perf_counter()
        hs["riesz-jit"] = h_rj(x0)
        first = time.perf_counter() - t0
        rep.add(W4_WL, "riesz-jit", "hessian", measure(lambda: h_rj(x0), repeats, 2, budget),
                "ms", ms, note=f"jit(hessian); excl. compile ({first * 1e3:.0f} ms)")
        h_jr = riesz.hessian(riesz.jit(f_r))
        hs["riesz hessian(jit)"] = h_jr(x0)
        rep.add(W4_WL, "riesz hessian(jit)", "hessian",
                measure(lambda: h_jr(x0), repeats, 2, budget), "ms", ms,
                note="staged derivative graphs")
    if libs.jax is not None:
        jax, jnp = libs.jax, libs.jnp
        jW1, jW2, xj = jnp.asarray(W1), jnp.asarray(W2), jnp.asarray(x0)
        h_j = jax.jit(jax.hessian(lambda x: jnp.sum(jnp.tanh(jW2 @ jnp.tanh(jW1 @ x)))))
        hs["jax jit"] = np.asarray(jax.block_until_ready(h_j(xj)))
        rep.add(W4_WL, "jax jit", "hessian",
                measure(lambda: jax.block_until_ready(h_j(xj)), repeats, 2, budget), "ms", ms,
                note="compiled; excl. compile")
    bad = [k for k, h in hs.items() if not np.allclose(h, hs["riesz"], rtol=1e-8, atol=1e-10)]
    msg = "all agree with riesz" if not bad else f"MISMATCH vs riesz: {', '.join(bad)}"
    print(f"  hessian check: {msg}")
    rj, jj = rep.value(W4_WL, "riesz-jit", "hessian"), rep.value(W4_WL, "jax jit", "hessian")
    rep.lines.append(f"(w4) hessian check: {msg}" + (
        f"; riesz-jit / JAX-jit {rj / jj:.2f} (target <= 1.5)" if rj and jj else ""))


W5_LENGTHS = (1_000, 10_000, 100_000)
W5_WL = "(w5) n-op chain, len-16 f64, jit"


def bench_w5(libs: Libs, rep: Report, repeats: int, lengths: tuple[int, ...]) -> None:
    """First call (trace + passes + code generation + run) of jit(f) and
    jit(value_and_grad(f)) on the (a) chain of n elementwise ops, by n: linear in n is
    the target (10^5 ops <= 10 s), and the warm call's time per op. JAX-jit at n = 10^3
    only (its unrolled compile at 10^5 does not finish in minutes)."""
    section(f"{W5_WL}: first call s, warm us/op")
    riesz, rnp = libs.riesz, libs.rnp
    if not hasattr(riesz, "jit"):
        return
    x0 = np.linspace(-1.0, 1.0, 16)

    def long_chain(x, ns, n):
        for _ in range(n // 3):
            x = ns.tanh(ns.sin(x) * 1.01)
        return ns.sum(x)

    # the default jit (fused once the calls have cost as much as compiling), and
    # fuse=True (the first call compiles the kernels) where the jit extra is there
    variants = [("riesz-jit", {})] + [v for v in _jit_variants(riesz) if v[1].get("fuse")]
    for n in lengths:
        for what, make in (("jit", lambda f: f), ("jit vag", riesz.value_and_grad)):
            for row, kw in variants:
                fn = riesz.jit(make(lambda x, n=n: long_chain(x, rnp, n)), **kw)
                c0, t0 = time.process_time(), time.perf_counter()
                fn(x0)
                wall, cpu = time.perf_counter() - t0, time.process_time() - c0
                rep.add(W5_WL, row, f"{what} first n={n:.0e}", wall, "s",
                        note=f"cpu {cpu:.2f} s; {len(fn.graph(x0))} eqns")
                rep.add(W5_WL, row, f"{what} warm n={n:.0e}",
                        measure(lambda fn=fn: fn(x0), max(3, repeats // (n // 1000)), 1, 5.0),
                        "us/op", 1e6 / n)
                del fn
    if libs.jax is not None:
        jax, jnp = libs.jax, libs.jnp
        n = lengths[0]
        vg = jax.jit(jax.value_and_grad(lambda x: long_chain(x, jnp, n)))
        xj = jnp.asarray(x0)
        t0 = time.perf_counter()
        jax.block_until_ready(vg(xj))
        rep.add(W5_WL, "jax jit", f"jit vag first n={n:.0e}", time.perf_counter() - t0, "s")
        rep.add(W5_WL, "jax jit", f"jit vag warm n={n:.0e}",
                measure(lambda: jax.block_until_ready(vg(xj)), repeats, 2, 5.0), "us/op",
                1e6 / n)
    firsts = [rep.value(W5_WL, "riesz-jit", f"jit vag first n={n:.0e}") for n in lengths]
    rep.lines.append("(w5) riesz-jit value_and_grad first call by length: " + ", ".join(
        f"n={n:.0e} {t:.2f} s ({t / n * 1e6:.0f} us/op)" for n, t in zip(lengths, firsts,
                                                                          strict=True)))


W7_STEPS = 200
W7_CONFIGS = ((1, 32), (32, 128))  # (batch of sequences, hidden size)


def bench_w7(libs: Libs, rep: Report, repeats: int, budget: float) -> None:
    """grad of an RNN written with scan over 200 steps (h <- tanh(h W + x_t U), loss = sum
    of h_t^2) w.r.t. (W, U): riesz eager and jit(grad) (the scan one equation, a loop;
    'fused': each loop one Numba function, riesz.loop_kernels) against
    jax.jit(jax.grad) of lax.scan; one sequence of hidden size 32 (per-op overhead
    bound) and a batch of 32 sequences of hidden size 128."""
    if not hasattr(libs.riesz, "scan"):
        return
    for B, H in W7_CONFIGS:
        _bench_w7_config(libs, rep, repeats, budget, B, H)


def _bench_w7_config(libs: Libs, rep: Report, repeats: int, budget: float, B: int,
                     H: int) -> None:
    riesz, rnp = libs.riesz, libs.rnp
    wl = f"(w7) RNN scan {W7_STEPS} steps, batch {B}, hidden {H}"
    section(f"{wl}: grad, ms")
    rng = np.random.default_rng(2)
    W = rng.standard_normal((H, H)) / np.sqrt(H)
    U = rng.standard_normal((8, H)) / np.sqrt(8)
    xs = rng.standard_normal((W7_STEPS, B, 8))
    h0 = np.zeros((B, H))

    def loss_r(W, U, unroll=1):
        def step(h, x):
            h = rnp.tanh(h @ W + x @ U)
            return h, rnp.sum(h * h)

        _, ys = riesz.scan(step, h0, xs, unroll=unroll)
        return rnp.sum(ys)

    g_r = riesz.grad(loss_r, argnums=(0, 1))
    gs = {"riesz": g_r(W, U)}
    rep.add(wl, "riesz", "grad", measure(lambda: g_r(W, U), repeats, 2, budget),
            "ms", 1e3)
    for name, fuse in _jit_variants(riesz):
        g_rj = riesz.jit(g_r, **fuse)
        t0 = time.perf_counter()
        gs[name] = g_rj(W, U)
        first = time.perf_counter() - t0
        rep.add(wl, name, "grad", measure(lambda g_rj=g_rj: g_rj(W, U), repeats, 2, budget),
                "ms", 1e3, note=f"jit(grad){'; the loops compiled' if fuse.get('fuse') else ''}"
                                f"; excl. compile (first call {first * 1e3:.0f} ms; "
                                f"{len(g_rj.graph(W, U))} eqns)")
    g_ru = riesz.jit(riesz.grad(lambda W, U: loss_r(W, U, unroll=True), argnums=(0, 1)))
    t0 = time.perf_counter()
    gs["riesz-jit unroll=True"] = g_ru(W, U)
    first = time.perf_counter() - t0
    rep.add(wl, "riesz-jit unroll=True", "grad",
            measure(lambda: g_ru(W, U), repeats, 2, budget), "ms", 1e3,
            note=f"the scan unrolled into the graph; excl. compile ({first * 1e3:.0f} ms; "
                 f"{len(g_ru.graph(W, U))} eqns)")
    if libs.jax is not None:
        jax, jnp = libs.jax, libs.jnp
        xsj, h0j = jnp.asarray(xs), jnp.asarray(h0)

        def loss_j(W, U):
            def step(h, x):
                h = jnp.tanh(h @ W + x @ U)
                return h, jnp.sum(h * h)

            _, ys = jax.lax.scan(step, h0j, xsj)
            return jnp.sum(ys)

        g_j = jax.jit(jax.grad(loss_j, argnums=(0, 1)))
        Wj, Uj = jnp.asarray(W), jnp.asarray(U)
        gs["jax jit"] = tuple(np.asarray(a) for a in jax.block_until_ready(g_j(Wj, Uj)))
        rep.add(wl, "jax jit", "grad",
                measure(lambda: jax.block_until_ready(g_j(Wj, Uj)),
                        repeats, 2, budget),
                "ms", 1e3, note="lax.scan; compiled; excl. compile")
    bad = [k for k, g in gs.items() if not all(np.allclose(a, b, rtol=1e-8, atol=1e-10)
                                               for a, b in zip(g, gs["riesz"], strict=True))]
    msg = "all agree with riesz" if not bad else f"MISMATCH vs riesz: {', '.join(bad)}"
    print(f"  gradient check: {msg}")
    rj, jj = rep.value(wl, "riesz-jit", "grad"), rep.value(wl, "jax jit", "grad")
    rf = rep.value(wl, "riesz-jit (fused)", "grad")
    ru = rep.value(wl, "riesz-jit unroll=True", "grad")
    rep.lines.append(f"(w7 batch {B}, hidden {H}) gradient check: {msg}" + (
        f"; riesz-jit / JAX-jit {rj / jj:.2f}, unroll=True {ru / jj:.2f}"
        + (f", compiled loops {rf / jj:.2f}" if rf else "") + " (target <= 2)"
        if rj and jj and ru else ""))


# ----------------------------------------------------------------------------------------
# (cx) complex MLP-like workload
# ----------------------------------------------------------------------------------------

CX_WL = "(cx) complex MLP 512x512, batch 256"


def cx_loss(W1, W2, X, ns):
    """Σ |abs(X W1) W2|² / batch: complex matmuls with an abs nonlinearity."""
    h = ns.abs(X @ W1) + 0j  # back to complex (torch does not mix real and complex matmul)
    return ns.sum(ns.abs(h @ W2) ** 2) / X.shape[0]


def cx_data(seed: int = 0):
    rng = np.random.default_rng(seed)

    def c(*shape, scale=1.0):
        return (scale * (rng.standard_normal(shape) + 1j * rng.standard_normal(shape))
                ).astype(np.complex64)

    return c(512, 512, scale=512 ** -0.5), c(512, 10, scale=512 ** -0.5), c(256, 512)


def bench_cx(libs: Libs, rep: Report, repeats: int, budget: float) -> None:
    section(f"{CX_WL}: forward and value_and_grad, ms")
    W1, W2, X = cx_data()
    ms = 1e3
    riesz, rnp = libs.riesz, libs.rnp
    vg_r = riesz.value_and_grad(lambda a, b: cx_loss(a, b, X, rnp), argnums=(0, 1))
    loss_r, g_r = vg_r(W1, W2)
    assert all(g.dtype == np.complex64 for g in g_r), "riesz gradient dtype"

    def add_pair(lib, fwd, vg, fwd_note=""):
        f = rep.add(CX_WL, lib, "forward", measure(fwd, repeats, 2, budget), "ms", ms, fwd_note)
        v = rep.add(CX_WL, lib, "value_and_grad", measure(vg, repeats, 2, budget), "ms", ms)
        rep.add(CX_WL, lib, "vag/forward", v / f, "x")

    add_pair("riesz", lambda: cx_loss(W1, W2, X, rnp), lambda: vg_r(W1, W2))
    if libs.torch is not None:
        torch = libs.torch
        tW1, tW2 = torch.from_numpy(W1.copy()), torch.from_numpy(W2.copy())
        tW1.requires_grad_(True)
        tW2.requires_grad_(True)
        tX = torch.from_numpy(X)

        def fwd_t():
            with torch.no_grad():
                return cx_loss(tW1, tW2, tX, torch).item()

        def vg_t():
            loss = cx_loss(tW1, tW2, tX, torch)
            return loss.item(), torch.autograd.grad(loss, (tW1, tW2))

        loss_t, g_t = vg_t()
        add_pair("torch", fwd_t, vg_t, fwd_note="under torch.no_grad()")
        errs = [float(np.max(np.abs(a - b.numpy())) / np.max(np.abs(b.numpy())))
                for a, b in zip(g_r, g_t, strict=True)]
        ok = max(errs) < 1e-4
        msg = (f"{'PASS' if ok else 'FAIL'} vs torch (same convention, no conjugate): max rel. "
               f"gradient error {max(errs):.2e}, loss rel. error "
               f"{abs(float(loss_r) - loss_t) / abs(loss_t):.2e}")
        print(f"  gradient check: {msg}")
        rep.lines.append(f"(cx) riesz gradient check: {msg}")
        r, t = rep.value(CX_WL, "riesz", "value_and_grad"), rep.value(CX_WL, "torch",
                                                                        "value_and_grad")
        rep.lines.append(f"(cx) riesz value_and_grad / torch value_and_grad: {r / t:.2f}; "
                         f"riesz vag/forward {rep.value(CX_WL, 'riesz', 'vag/forward'):.2f}")
# (fft) a spectral filter: grad of sum(abs(ifft(fft(x) * h))**2)
# ----------------------------------------------------------------------------------------

FFT_N = 2 ** 16
FFT_WL = "(fft) grad sum|ifft(fft(x)h)|^2"
FFT_WARMUP = 10  # untimed calls of each library, in turn, before any is timed


def _riesz_accepts_complex(riesz: Any, rnp: Any) -> bool:
    """Whether this riesz differentiates complex inputs (SPEC §13: grad |z|² = 2z)."""
    z = np.array([1.0 + 2.0j])
    try:
        g = riesz.grad(lambda z: rnp.sum(rnp.abs(z) ** 2))(z)
    except TypeError:
        return False
    return bool(np.allclose(g, 2 * z))


def bench_fft(libs: Libs, rep: Report, repeats: int, budget: float) -> None:
    """grad of L(x) = Σ |ifft(fft(x) ⊙ h)|² for x ∈ C^(2^16) and a complex filter h
    (real x and a real h where riesz does not differentiate complex inputs yet)."""
    riesz, rnp = libs.riesz, libs.rnp
    rng = np.random.default_rng(0)
    cplx = _riesz_accepts_complex(riesz, rnp)
    if cplx:
        x0 = rng.standard_normal(FFT_N) + 1j * rng.standard_normal(FFT_N)
        h = rng.standard_normal(FFT_N) + 1j * rng.standard_normal(FFT_N)
        what = "x complex128"
    else:
        x0, h = rng.standard_normal(FFT_N), np.exp(-np.fft.fftfreq(FFT_N) ** 2 * 400.0)
        what = "x, h real (complex inputs unsupported by this riesz)"
    section(f"{FFT_WL}: n = 2^16, {what}, ms")
    rep.lines.append(f"(fft) n = 2^16, {what}")
    ms = 1e3
    grads: dict[str, np.ndarray] = {}
    runs: dict[str, tuple[Callable[[], Any], str]] = {}  # library -> (timed call, note)

    def f_r(x):
        return rnp.sum(rnp.abs(rnp.fft.ifft(rnp.fft.fft(x) * h)) ** 2)

    g_r = riesz.grad(f_r)
    grads["riesz"] = g_r(x0)
    runs["riesz"] = (lambda: g_r(x0), "")

    if libs.autograd is not None:
        anp, afft = libs.anp, libs.autograd.numpy.fft

        def f_a(x):
            return anp.sum(anp.abs(afft.ifft(afft.fft(x) * h)) ** 2)

        g_a = libs.autograd.grad(f_a)
        # autograd returns the conjugate of the steepest-ascent direction (SPEC §13)
        grads["autograd"] = np.conj(g_a(x0))
        runs["autograd"] = (lambda: g_a(x0), "returns conj" if cplx else "")

    if libs.torch is not None:
        torch = libs.torch
        th = torch.from_numpy(h)

        def grad_t():
            x = torch.tensor(x0, requires_grad=True)
            loss = torch.sum(torch.abs(torch.fft.ifft(torch.fft.fft(x) * th)) ** 2)
            (g,) = torch.autograd.grad(loss, x)
            return g

        grads["torch"] = grad_t().numpy()
        runs["torch"] = (grad_t, "")

    # The first calls of the process at this size pay one-time costs (FFT plans, the
    # allocator growing its heap to hold 1 MB blocks) that fall on whichever library runs
    # first: warm every library up, in turn, before timing any.
    for _ in range(FFT_WARMUP):
        for call, _note in runs.values():
            call()
    for lib, (call, note) in runs.items():
        rep.add(FFT_WL, lib, "grad", measure(call, repeats, 2, budget), "ms", ms, note=note)
    rep.add(FFT_WL, "numpy (forward only)", "forward",
            measure(lambda: np.sum(np.abs(np.fft.ifft(np.fft.fft(x0) * h)) ** 2), repeats,
                    2, budget), "ms", ms)

    bad = [k for k, g in grads.items() if not np.allclose(g, grads["riesz"], rtol=1e-9,
                                                          atol=1e-9)]
    msg = "all agree with riesz" if not bad else f"MISMATCH vs riesz: {', '.join(bad)}"
    if len(grads) == 1:
        msg = "no peer available to compare against"
    print(f"  gradient check across libraries: {msg}")
    rep.lines.append(f"(fft) gradient check: {msg}")
    r = rep.value(FFT_WL, "riesz", "grad")
    parts = [f"riesz/{lib} {r / v:.2f}" for lib in ("torch", "autograd")
             if (v := rep.value(FFT_WL, lib, "grad"))]
    rep.lines.append(f"(fft) grad {'; '.join(parts) or 'no peer'} (riesz {fmt(r)} ms)")


# ----------------------------------------------------------------------------------------
# dask: logistic-regression gradient on a LocalCluster (SPEC §16)
# ----------------------------------------------------------------------------------------

DASK_N, DASK_D, DASK_CHUNK = 4_000_000, 16, 250_000  # --dask-rows 40000000: the size


def logistic_loss(w, x, y, ns):
    """Mean logistic loss, written as users write it (the issue's maximum/log1p form)."""
    z = x @ w
    return ns.mean(ns.maximum(z, 0.0) - z * y + ns.log1p(ns.exp(-ns.abs(z))))


def logistic_grad_by_hand(w, x, y):
    """The gradient Xᵀ (σ(Xw) - y) / n, written directly with Dask (the reference)."""
    return x.T @ (1 / (1 + np.exp(-(x @ w))) - y) / x.shape[0]


def peak_rss_during(fn: Callable[[], Any]) -> tuple[Any, float]:
    """fn()'s result and the process's peak resident memory while it ran, in bytes
    above the resident memory at the start (sampled every 5 ms by a thread)."""
    import threading

    import psutil  # a dependency of dask.distributed

    proc = psutil.Process()
    start = peak = proc.memory_info().rss
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.wait(0.005):
            peak = max(peak, proc.memory_info().rss)

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    try:
        out = fn()
    finally:
        done.set()
        t.join()
    return out, max(peak, proc.memory_info().rss) - start


def bench_dask(libs: Libs, rep: Report, repeats: int, budget: float, rows: int) -> None:
    wl = f"dask: logistic grad {rows:.0e}x{DASK_D}"
    chunk_mb = DASK_CHUNK * DASK_D * 8 / 1e6
    section(f"{wl} ({rows * DASK_D * 8 / 1e9:.2f} GB), chunks of {DASK_CHUNK} rows "
            f"({chunk_mb:.0f} MB), LocalCluster (1 process, 1 worker)")
    try:
        import dask
        import dask.array as da
        import distributed
    except ImportError as e:
        print(f"  SKIPPED: {e} (pip install -e '.[dask]')")
        rep.lines.append(f"NOTE: {wl} skipped: dask is not installed")
        return
    riesz, rnp = libs.riesz, libs.rnp
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=":0", memory_limit=0) as cluster, \
            distributed.Client(cluster) as client:
        rs = da.random.RandomState(0)  # generated on the worker, then held there
        x = rs.standard_normal((rows, DASK_D), chunks=(DASK_CHUNK, DASK_D))
        y = (rs.random_sample(rows, chunks=DASK_CHUNK) > 0.5).astype(np.float64)
        x, y = client.persist([x, y])
        distributed.wait([x, y])
        w = np.random.default_rng(1).standard_normal(DASK_D) * 0.1
        g_r = riesz.grad(lambda w: logistic_loss(w, x, y, rnp))(w)
        g_h = logistic_grad_by_hand(w, x, y)
        assert isinstance(g_r, da.Array), "riesz's gradient is not a lazy Dask array"
        tasks = {}
        for lib, g in (("riesz", g_r), ("hand-written dask", g_h)):
            (opt,) = dask.optimize(g)
            tasks[lib] = (len(dict(g.__dask_graph__())), len(dict(opt.__dask_graph__())))
        diff = np.max(np.abs(client.compute(g_r).result() - client.compute(g_h).result()))
        print(f"  riesz vs hand-written gradient: max |difference| {diff:.2e}")
        times = {}
        for lib, g in (("riesz", lambda: riesz.grad(
                lambda w: logistic_loss(w, x, y, rnp))(w)), ("hand-written dask",
                lambda: logistic_grad_by_hand(w, x, y))):
            n_raw, n_opt = tasks[lib]
            rep.add(wl, lib, "tasks (graph)", n_raw, "tasks")
            rep.add(wl, lib, "tasks (optimised)", n_opt, "tasks")
            rep.add(wl, lib, "build graph", measure(g, repeats, 1, budget), "ms", 1e3)
            times[lib] = measure(lambda g=g: client.compute(g()).result(), repeats, 1, budget)
            rep.add(wl, lib, "build+compute", times[lib], "ms", 1e3)
            _, extra = peak_rss_during(lambda g=g: client.compute(g()).result())
            print(f"  {lib}: peak memory above the persisted data during a compute "
                  f"{extra / 1e6:.0f} MB = {extra / 1e6 / chunk_mb:.1f} chunks")
            rep.lines.append(f"{wl}: {lib} peak memory above the data {extra / 1e6:.0f} MB "
                             f"({extra / 1e6 / chunk_mb:.1f} chunks of {chunk_mb:.0f} MB)")
        r = times["riesz"].median / times["hand-written dask"].median
        t = tasks["riesz"][1] / tasks["hand-written dask"][1]
        rep.lines.append(f"{wl}: riesz / hand-written: tasks (optimised) {t:.2f}x "
                         f"(target <= 1.5), build+compute {r:.2f}x (target <= 1.3)")


# ----------------------------------------------------------------------------------------
# gpu: the MLP of (b) on CuPy, float32
# ----------------------------------------------------------------------------------------


def mlp_by_hand(params, X, Y, cp):
    """Loss and gradients of mlp_loss, forward and backward written out with CuPy."""
    hs = [X]
    for W, b in params[:-1]:
        hs.append(cp.tanh(hs[-1] @ W + b))
    W, b = params[-1]
    z = hs[-1] @ W + b
    m = z.max(axis=1, keepdims=True)
    e = cp.exp(z - m)
    s = e.sum(axis=1, keepdims=True)
    lse = cp.log(s) + m
    ysum = Y.sum(axis=1, keepdims=True)
    loss = (Y * (lse - z)).sum(axis=1).mean()
    dz = (e / s * ysum - Y) / X.shape[0]
    grads = []
    d = dz
    for k in range(len(params) - 1, -1, -1):
        W, _ = params[k]
        grads.append((hs[k].T @ d, d.sum(axis=0)))
        if k:
            d = (d @ W.T) * (1 - hs[k] * hs[k])
    return loss, grads[::-1]


def bench_gpu(libs: Libs, rep: Report, repeats: int, budget: float) -> None:
    section("gpu: MLP 784-512-512-10 value_and_grad on CuPy, float32, ms")
    try:
        import cupy as cp

        n_dev = cp.cuda.runtime.getDeviceCount()
    except Exception as e:  # ImportError, or CUDA errors without a driver/device
        n_dev, why = 0, f"{type(e).__name__}: {e}"
    else:
        why = "no CUDA device"
    if not n_dev:
        print(f"  SKIPPED: needs CuPy and a CUDA GPU ({why}); pip install -e '.[gpu]'")
        rep.lines.append(f"NOTE: gpu workload skipped ({why})")
        return
    riesz, rnp = libs.riesz, libs.rnp
    params, _, _ = mlp_data()
    p_gpu = [(cp.asarray(W), cp.asarray(b)) for W, b in params]
    vg_r = riesz.value_and_grad(lambda p, X, Y: mlp_loss(p, X, Y, rnp), argnums=0)
    sync = cp.cuda.Device().synchronize
    for batch in (256, 4096):
        wl = f"gpu MLP batch {batch}"
        rng = np.random.default_rng(batch)
        X = cp.asarray(rng.standard_normal((batch, B_SIZES[0])).astype(np.float32))
        Y = cp.asarray(np.eye(B_SIZES[-1], dtype=np.float32)[
            rng.integers(0, B_SIZES[-1], size=batch)])
        loss_r, g_r = vg_r(p_gpu, X, Y)
        loss_h, g_h = mlp_by_hand(p_gpu, X, Y, cp)
        assert isinstance(g_r[0][0], cp.ndarray) and g_r[0][0].dtype == np.float32
        err = max(float(cp.max(cp.abs(a - b))) for pr, ph in zip(g_r, g_h, strict=True)
                  for a, b in zip(pr, ph, strict=True))
        print(f"  batch {batch}: riesz vs hand-written: loss {float(loss_r):.6f} vs "
              f"{float(loss_h):.6f}, max |gradient difference| {err:.1e}")

        def timed(fn):
            def run():
                fn()
                sync()
            return run

        rep.add(wl, "riesz", "value_and_grad", measure(
            timed(lambda X=X, Y=Y: vg_r(p_gpu, X, Y)), repeats, 3, budget), "ms", 1e3)
        rep.add(wl, "hand-written cupy", "value_and_grad", measure(
            timed(lambda X=X, Y=Y: mlp_by_hand(p_gpu, X, Y, cp)), repeats, 3, budget),
            "ms", 1e3)


# ----------------------------------------------------------------------------------------
# main
# ----------------------------------------------------------------------------------------


# ----------------------------------------------------------------------------------------
# (special) scipy.special functions on 10^6 points
# ----------------------------------------------------------------------------------------

S_WL = "(special) 10^6 points, f64"


def special_workloads(n: int) -> list[tuple[str, Callable[..., Any], Callable[..., Any], Any]]:
    """(name, SciPy function, riesz function, arguments): the riesz function is
    differentiated in all its arguments."""
    import scipy.special as sp

    import riesz.scipy.special as rsp

    rng = np.random.default_rng(0)

    def u(lo: float, hi: float) -> np.ndarray:
        return rng.uniform(lo, hi, n)

    x, pos = u(0.1, 20.0), u(0.5, 5.0)
    out = [
        ("beta", sp.beta, rsp.beta, (pos, u(0.5, 5.0))),
        ("betaln", sp.betaln, rsp.betaln, (pos, u(0.5, 5.0))),
        ("betainc", lambda x: sp.betainc(2.5, 1.5, x), lambda x: rsp.betainc(2.5, 1.5, x),
         (u(0.0, 1.0),)),
        ("gammainc", lambda x: sp.gammainc(2.5, x), lambda x: rsp.gammainc(2.5, x),
         (u(0.1, 10.0),)),
        ("gammaincc", lambda x: sp.gammaincc(2.5, x), lambda x: rsp.gammaincc(2.5, x),
         (u(0.1, 10.0),)),
        # the shape parameters too (no closed form: series / continued fractions)
        ("gammainc(a,x)", sp.gammainc, rsp.gammainc, (u(0.5, 5.0), u(0.1, 10.0))),
        ("betainc(a,b,x)", sp.betainc, rsp.betainc, (u(0.5, 5.0), u(0.5, 5.0), u(0.0, 1.0))),
        ("erfinv", sp.erfinv, rsp.erfinv, (u(-0.99, 0.99),)),
        ("erfcinv", sp.erfcinv, rsp.erfcinv, (u(0.01, 1.99),)),
        ("rgamma", sp.rgamma, rsp.rgamma, (u(0.1, 5.0),)),
        ("rgamma +-", sp.rgamma, rsp.rgamma, (u(-5.0, 5.0),)),  # reflection for x <= 0
        ("multigammaln", lambda a: sp.multigammaln(a, 3), lambda a: rsp.multigammaln(a, 3),
         (u(2.0, 10.0),)),
        ("gammasgn", sp.gammasgn, rsp.gammasgn, (u(-5.0, 5.0),)),
        ("polygamma", lambda x: sp.polygamma(1, x), lambda x: rsp.polygamma(1, x), (pos,)),
    ]
    for name in ("jv", "yv", "iv", "ive", "kv"):
        f_sp, f_r = getattr(sp, name), getattr(rsp, name)
        out.append((name, lambda x, f=f_sp: f(1.5, x), lambda x, f=f_r: f(1.5, x), (x,)))
    out.append(("jn", lambda x: sp.jn(2, x), lambda x: rsp.jn(2, x), (x,)))
    out.append(("yn", lambda x: sp.yn(2, x), lambda x: rsp.yn(2, x), (x,)))
    for name in ("j0", "j1", "y0", "y1", "i0", "i1", "i0e", "i1e"):
        out.append((name, getattr(sp, name), getattr(rsp, name), (x,)))
    return out


def stats_workloads(n: int) -> list[tuple[str, Callable[..., Any], Callable[..., Any], Any]]:
    """(name, scipy.stats logpdf / logpmf, riesz's, arguments): data and every parameter
    differentiated (Poisson: the rate only, its data being counts)."""
    import scipy.stats as st

    import riesz.scipy.stats as rst

    rng = np.random.default_rng(1)

    def u(lo: float, hi: float) -> np.ndarray:
        return rng.uniform(lo, hi, n)

    x, pos, unit = u(-5.0, 5.0), u(0.1, 10.0), u(0.01, 0.99)
    loc, scale, shape = u(-1.0, 1.0), u(0.5, 2.0), u(0.5, 5.0)
    out = [(name, getattr(st, name).logpdf, getattr(rst, name).logpdf, (x, loc, scale))
           for name in ("norm", "laplace", "logistic", "cauchy")]
    out += [
        ("expon", st.expon.logpdf, rst.expon.logpdf, (pos, loc - 1.0, scale)),
        ("t", st.t.logpdf, rst.t.logpdf, (x, shape, loc, scale)),
        ("gamma", st.gamma.logpdf, rst.gamma.logpdf, (pos, shape, loc - 1.0, scale)),
        ("chi2", st.chi2.logpdf, rst.chi2.logpdf, (pos, shape)),
        ("beta", st.beta.logpdf, rst.beta.logpdf, (unit, shape, u(0.5, 5.0))),
    ]
    k = rng.poisson(3.0, n).astype(np.float64)
    out.append(("poisson (logpmf)", lambda mu: st.poisson.logpmf(k, mu),
                lambda mu: rst.poisson.logpmf(k, mu), (u(0.5, 6.0),)))
    return out


def _special_rows(libs: Libs, rep: Report, repeats: int, title: str, workloads: Any,
                  target: float | None) -> None:
    """riesz's value_and_grad (of the sum, w.r.t. every argument) against SciPy's value alone,
    timed interleaved (SciPy, riesz, SciPy, ...) so that both see the same machine load; the
    ratio is the median of the per-repeat ratios."""
    riesz, rnp = libs.riesz, libs.rnp
    within: list[str] = []
    over: list[str] = []
    for name, f_sp, f_r, args in workloads:
        vg = riesz.value_and_grad(lambda *a, f=f_r: rnp.sum(f(*a)), argnums=tuple(range(len(args))))
        f_sp(*args), vg(*args)  # warm-up
        gc.collect()
        t_sp, t_r = [], []
        for _ in range(max(repeats, 1)):
            t0 = time.perf_counter()
            f_sp(*args)
            t1 = time.perf_counter()
            vg(*args)
            t_sp.append(t1 - t0)
            t_r.append(time.perf_counter() - t1)
        ratio = statistics.median(r / s for r, s in zip(t_r, t_sp, strict=True))
        rep.add(title, "scipy (value only)", name, Stat(statistics.median(t_sp), len(t_sp)),
                "ms", 1e3)
        rep.add(title, "riesz", name, Stat(statistics.median(t_r), len(t_r)), "ms", 1e3)
        (within if target is None or ratio <= target else over).append(f"{name} {ratio:.2f}x")
        flag = "" if target is None or ratio <= target else f"  (over the {target:g}x target)"
        rep.lines.append(f"{title.split()[0]} {name:<16} riesz value_and_grad / SciPy value = "
                         f"{ratio:.2f}x{flag}")
    if target is not None:
        rep.lines.append(f"{title.split()[0]} within {target:g}x ({len(within)}): "
                         + ", ".join(within))
        rep.lines.append(f"{title.split()[0]} over {target:g}x ({len(over)}): "
                         + (", ".join(over) or "none"))


def bench_special(libs: Libs, rep: Report, repeats: int, n: int = 10**6) -> None:
    section(f"{S_WL}: riesz value_and_grad vs SciPy value alone, ms")
    _special_rows(libs, rep, repeats, S_WL, special_workloads(n), 2.0)
    title = S_WL.replace("(special)", "(stats)")
    section(f"{title}: riesz logpdf value_and_grad vs scipy.stats logpdf value alone, ms "
            "(no target)")
    _special_rows(libs, rep, repeats, title, stats_workloads(n), None)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", default="a,b,c,w3,w4,w6,w7,cx,fft",
                   help="comma-separated workloads to run, from a,b,c,w3,w4,w5,w6,w7,cx,fft,"
                        "special,ode,dask,gpu (default: a,b,c,w3,w4,w6,w7,cx,fft)")
    p.add_argument("--repeats", type=int, default=None,
                   help="timed repeats per measurement (default: a=50, b=20, c=3, w3=30, "
                   "fft=30)")
    p.add_argument("--quick", action="store_true",
                   help="smoke test: few repeats and a 10^4-iteration loop in (c)")
    p.add_argument("--dask-rows", type=int, default=DASK_N,
                   help=f"rows of the dask workload's data (default {DASK_N:.0e}; the issue's "
                        "target size is 40000000, 5.1 GB)")
    p.add_argument("--no-pin", action="store_true",
                   help="do not pin the process to a single CPU core")
    args = p.parse_args(argv)

    only = {s.strip().lower() for s in args.only.split(",") if s.strip()}
    unknown = only - {"a", "b", "c", "w3", "w4", "w5", "w6", "w7", "cx", "fft", "special",
                      "ode", "dask", "gpu"}
    if unknown:
        p.error(f"--only: unknown workload(s) {sorted(unknown)}; "
                "choose from a,b,c,w3,w4,w5,w6,w7,cx,fft,special,ode,dask,gpu")
    if args.repeats is not None and args.repeats < 1:
        p.error("--repeats must be >= 1")

    if args.quick:
        reps = {"a": 5, "b": 3, "c": 1, "w3": 3, "cx": 3, "fft": 3, "special": 1, "ode": 1,
                "dask": 1, "gpu": 5}
        budget, c_n, jax_n = 2.0, 10_000, 200
    else:
        reps = {"a": 50, "b": 20, "c": 3, "w3": 30, "cx": 20, "fft": 30, "special": 3,
                "ode": 7, "dask": 3, "gpu": 50}
        budget, c_n, jax_n = 8.0, 100_000, 1_000
    reps.update({"w4": 3, "w5": 3, "w6": 5, "w7": 3} if args.quick else
                {"w4": 10, "w5": 20, "w6": 30, "w7": 20})
    if args.repeats is not None:
        reps = dict.fromkeys(reps, args.repeats)
        budget = None  # the user asked for an exact count

    pin = "not pinned (--no-pin)" if args.no_pin else pin_to_one_core()
    warnings.filterwarnings("ignore", category=UserWarning, module="jax")
    libs = load_libs()
    print("riesz benchmarks")
    print(f"  {versions(libs)}")
    print(f"  single-threaded: OMP/OPENBLAS/MKL_NUM_THREADS=1, torch.set_num_threads(1), "
          f"XLA_FLAGS={os.environ['XLA_FLAGS']!r}; {pin}")
    print(f"  repeats: {reps}{' (quick)' if args.quick else ''}; medians after warm-up")
    for note in libs.notes:
        print(f"  NOTE: {note}")

    rep = Report()
    rep.lines.extend(f"NOTE: {n}" for n in libs.notes)
    t0 = time.perf_counter()
    if "a" in only:
        bench_a(libs, rep, reps["a"], budget)
    if "b" in only:
        bench_b(libs, rep, reps["b"], budget)
    if "c" in only:
        bench_c(libs, rep, reps["c"], c_n, jax_n)
    if "w3" in only:
        bench_w3(libs, rep, reps["w3"], budget)
    if "w4" in only:
        bench_w4(libs, rep, reps["w4"], budget)
    if "w5" in only:
        bench_w5(libs, rep, reps["w5"], W5_LENGTHS[:2] if args.quick else W5_LENGTHS)
    if "w6" in only:
        bench_w6(libs, rep, reps["w6"], budget)
    if "w7" in only:
        bench_w7(libs, rep, reps["w7"], budget)
    if "cx" in only:
        bench_cx(libs, rep, reps["cx"], budget)
    if "fft" in only:
        bench_fft(libs, rep, reps["fft"], budget)
    if "special" in only:
        bench_special(libs, rep, reps["special"], 10**4 if args.quick else 10**6)
    if "ode" in only:
        bench_ode(libs, rep, reps["ode"], 100 if args.quick else 1000)
    if "dask" in only:
        bench_dask(libs, rep, reps["dask"], budget, args.dask_rows)
    if "gpu" in only:
        bench_gpu(libs, rep, reps["gpu"], budget)
    rep.print_table()
    print(f"total benchmark time: {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
