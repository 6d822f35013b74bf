"""riesz on Dask arrays (SPEC §16): derivatives of chunked, lazy arrays stay lazy
Dask arrays; nothing is computed until the user asks."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

da = pytest.importorskip("dask.array", reason="the `dask` extra is not installed")
dask = pytest.importorskip("dask")

import riesz  # noqa: E402
import riesz.numpy as rnp  # noqa: E402
from backend_sweep import check_case, sweep_params  # noqa: E402

# Primitives whose NumPy function Dask does not implement (or not for these arguments):
# they raise riesz's BackendError naming the primitive and Dask.
DASK_UNSUPPORTED = {
    # NumPy / SciPy functions Dask does not implement (Dask would warn and compute on host)
    "det", "slogdet", "eigh", "pinv", "expm", "triangular_solve", "correlate_valid",
    "cholesky",  # its derivative solves triangular systems
    "getitem-sort", "getitem-median", "getitem-take_along_axis",  # argsort
    # Dask's linear algebra: 2-d only, svd of arrays chunked in one dimension, qr without mode
    "svd", "qr", "inv-batched", "solve-batched-vector", "solve-broadcast-b",
    # Dask's indexing: no ufunc.at (scatter-add with repeated positions), no nd fancy
    # indexing, no list indices, no mask positions known before computing
    "scatter_add-3x2,3x2", "scatter_add-at-add", "getitem-advanced-repeat", "gather-repeat",
    "getitem-repeat-array", "scatter_add_indexed-repeat", "scatter_add-diag-embed",
    "getitem-diag-k", "getitem-trace", "getitem-take", "getitem-pad-edge",
    "getitem-pad-reflect", "getitem-pad-wrap", "scatter_set-at-max-mask",
    # Dask's reshape splits or merges axes evenly only (here 2x3 -> 3x2 in 1x1 chunks)
    "reshape-2x3",
}


def _no_compute(dsk: Any, keys: Any, **kwargs: Any) -> Any:
    raise AssertionError("riesz computed a Dask array: results must stay lazy")


@pytest.fixture
def lazy():
    """Any computation (`.compute()`, `np.asarray`, `float(...)`) raises inside."""
    with dask.config.set(scheduler=_no_compute):
        yield


def _chunked(a: np.ndarray) -> Any:
    chunks = tuple(max(1, n // 2) for n in a.shape)  # several chunks where an axis has > 1
    return da.from_array(a, chunks=chunks)


def _host(x: Any) -> np.ndarray:
    with dask.config.set(scheduler="sync"):
        return np.asarray(x.compute())


def _is_dask(x: Any) -> bool:
    return isinstance(x, da.Array)


@pytest.mark.parametrize("case", sweep_params())
def test_primitive_on_dask(case, lazy) -> None:
    check_case(case, _chunked, _host, _is_dask, "dask", DASK_UNSUPPORTED)
