"""The registry sweep on another array backend (SPEC §16), shared by the Dask and the
CuPy tests: every case of `primitive_cases.CASES` with its arguments moved to the
backend, its value, JVP and VJP checked (a) to stay on the backend and (b) against the
same computation on NumPy, itself checked against finite differences by
`test_primitives.py`. A primitive the backend does not implement must raise riesz's
`BackendError` naming the primitive and the backend: `unsupported` lists those cases
(a primitive's name for all its cases, or a case id), and a case listed there that
works fails the sweep too, so the table stays exact."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import riesz
from primitive_cases import CASES, Case
from riesz._core.pytree import tree_flatten
from riesz._core.trace import BackendError


def check_case(case: Case, to_backend: Callable[[np.ndarray], Any],
               to_host: Callable[[Any], np.ndarray], is_backend: Callable[[Any], bool],
               backend: str, unsupported: set[str], rtol: float = 1e-9) -> None:
    rng = np.random.default_rng(1)
    args = case.args
    tangents = tuple(rng.standard_normal(np.shape(a)) for a in args)
    on = [to_backend(np.asarray(a)) for a in args]
    t_on = [to_backend(t) for t in tangents]
    listed = case.prim in unsupported or case.id in unsupported
    try:
        out, vjp_fn = riesz.vjp(case.fn, *on)
        if any(np.isnan(n) for n in np.shape(out)):  # Dask: a boolean mask's unknown size
            np.testing.assert_allclose(to_host(out), case.fn(*args), rtol=rtol)
            return
        ct = rng.standard_normal(np.shape(out))
        cts = vjp_fn(to_backend(ct))
        out_j, tan = riesz.jvp(case.fn, on, t_on)
    except BackendError as e:
        assert listed, f"{case.id}: unexpected BackendError: {e}"
        assert backend in str(e), f"{case.id}: the error does not name {backend}: {e}"
        return
    assert not listed, f"{case.id} works on {backend}: update the table"
    out_n, vjp_n = riesz.vjp(case.fn, *args)
    cts_n = vjp_n(ct)
    _, tan_n = riesz.jvp(case.fn, args, tangents)
    for what, got, want in (("value", out, out_n), ("jvp", tan, tan_n), ("jvp value", out_j, out_n),
                            *((f"vjp {k}", c, cn) for k, (c, cn) in
                              enumerate(zip(cts, cts_n, strict=True)))):
        got_leaves, want_leaves = tree_flatten(got)[0], tree_flatten(want)[0]
        for g, w in zip(got_leaves, want_leaves, strict=True):
            assert is_backend(g), f"{case.id}: {what} is a {type(g).__name__}, not on {backend}"
            h = to_host(g)
            assert h.shape == np.shape(w), f"{case.id}: {what} shape {h.shape}"
            assert h.dtype == np.result_type(w), f"{case.id}: {what} dtype {h.dtype}"
            np.testing.assert_allclose(h, w, rtol=rtol, atol=rtol, err_msg=f"{case.id}: {what}")


def sweep_params() -> list[Any]:
    return [pytest.param(c, id=c.id) for c in CASES]
