"""Logistic regression on a chunked Dask data set larger than a tenth of memory.

The data, X (rows x 16 float64, 2.56 GB at the default 2 x 10^7 rows) and labels
y = [X w* + noise > 0], are never held anywhere: they are defined lazily from a seeded
`dask.array` random generator, so each chunk is generated on a worker, used, and
dropped. Each step of gradient descent asks riesz for the value and gradient of

    L(w) = mean(max(z, 0) - z y + log1p(exp(-|z|))),   z = X w,

with the same riesz code as on NumPy: `riesz.value_and_grad` returns lazy Dask arrays,
and one `client.compute` per step streams the chunks through a dask.distributed
LocalCluster (one process) with bounded memory: a few chunks at a time.

Before the big run, the same loop runs on NumPy for a small slice of the rows and on
Dask for that slice, and the script prints their agreement. It prints the peak memory
of the process (the cluster runs in it), and writes the loss curve (PNG, needs
matplotlib) to --out.

    python examples/dask_logistic_regression.py [--rows N] [--steps K] [--out DIR]
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

import dask
import dask.array as da
import numpy as np
from distributed import Client, LocalCluster
from tqdm import tqdm

import riesz
import riesz.numpy as rnp

D = 16


def make_data(rows: int, chunk: int, seed: int = 0) -> tuple[da.Array, da.Array]:
    """Lazily defined features and labels: nothing is computed or stored here."""
    rng = da.random.default_rng(seed)
    x = rng.standard_normal((rows, D), chunks=(chunk, D))
    w_true = np.random.default_rng(seed).standard_normal(D)
    noise = rng.standard_normal(rows, chunks=chunk)
    y = (x @ w_true + noise > 0).astype(np.float64)
    return x, y


def loss(w, x, y):
    z = x @ w
    return rnp.mean(rnp.maximum(z, 0.0) - z * y + rnp.log1p(rnp.exp(-rnp.abs(z))))


value_and_grad = riesz.value_and_grad(loss)


def descend(x, y, steps: int, lr: float, compute, progress: bool = False):
    """Gradient descent from w = 0; `compute` turns (lazy) results into NumPy."""
    w, losses = np.zeros(D), []
    for _ in tqdm(range(steps), desc="gradient steps", disable=not progress):
        value, g = compute(*value_and_grad(w, x, y))
        losses.append(float(value))
        w = w - lr * g
    return w, losses


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, default=20_000_000,
                   help="rows of the data set (default 2e7: 2.56 GB of float64 features)")
    p.add_argument("--chunk", type=int, default=500_000, help="rows per chunk (64 MB)")
    p.add_argument("--steps", type=int, default=4)
    p.add_argument("--lr", type=float, default=2.0)
    p.add_argument("--check-rows", type=int, default=50_000,
                   help="rows of the slice run on NumPy and on Dask for the agreement check")
    p.add_argument("--out", type=Path, default=Path("figures"),
                   help="directory for the PNG (default: figures/, created)")
    p.add_argument("--no-plot", action="store_true")
    args = p.parse_args()

    x, y = make_data(args.rows, args.chunk)
    print(f"data: {x.shape[0]:,} x {D} float64 = {x.nbytes / 1e9:.2f} GB of features in "
          f"{x.numblocks[0]} chunks of {args.chunk:,} rows (lazy: never stored)")

    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                      dashboard_address=":0") as cluster, Client(cluster) as client:

        def on_cluster(*lazy):
            return client.compute(list(lazy), sync=True)

        # 1. the same loop on NumPy and on Dask, for a slice small enough for NumPy
        n = args.check_rows
        xs, ys = x[:n], y[:n]
        xs_np, ys_np = dask.compute(xs, ys)
        w_np, l_np = descend(xs_np, ys_np, args.steps, args.lr, lambda v, g: (v, g))
        w_da, l_da = descend(xs.rechunk(n // 4), ys.rechunk(n // 4), args.steps, args.lr,
                             on_cluster)
        print(f"agreement on {n:,} rows after {args.steps} steps: max |w_numpy - w_dask| = "
              f"{np.max(np.abs(w_np - w_da)):.2e}, losses {l_np[-1]:.6f} (NumPy) vs "
              f"{l_da[-1]:.6f} (Dask)")

        # 2. the full data set, streamed chunk by chunk on every step
        t0 = time.perf_counter()
        w, losses = descend(x, y, args.steps, args.lr, on_cluster, progress=True)
        elapsed = time.perf_counter() - t0

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6  # kB -> GB (Linux)
    print(f"full data: loss {losses[0]:.4f} -> {losses[-1]:.4f} in {args.steps} steps, "
          f"{elapsed:.0f} s; peak memory of the process {peak:.2f} GB "
          f"(the features alone are {x.nbytes / 1e9:.2f} GB)")
    if not args.no_plot:
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            print("matplotlib not installed (the `plot` extra): no figure")
            return
        args.out.mkdir(parents=True, exist_ok=True)
        fig, ax = plt.subplots(figsize=(5, 3.5))
        ax.plot(range(1, len(losses) + 1), losses, "o-", label=f"Dask, {x.shape[0]:,} rows")
        ax.plot(range(1, len(l_np) + 1), l_np, "x--", label=f"NumPy, {n:,} rows")
        ax.set(xlabel="step", ylabel="mean logistic loss", title="gradient descent")
        ax.legend()
        fig.tight_layout()
        path = args.out / "dask_logistic_regression.png"
        fig.savefig(path, dpi=120)
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
