"""`riesz.jet`: Taylor mode, K-th order terms at a cost polynomial in K.

For a path through the inputs with derivatives x^(k)(0) = series[k-1], `jet`
returns f(x(0)) and the derivatives (d/dt)^k f(x(t)) at t = 0 for k = 1..K
(`jax.experimental.jet`'s convention). Inside, series are kept as raw Taylor
coefficients c_k = x^(k)(0) / k!, in which the rules are simplest (see
`riesz._interpreters.taylor`); the factorials appear here only.

    >>> import numpy as np, riesz, riesz.numpy as rnp
    >>> y0, (y1, y2, y3) = riesz.jet(rnp.exp, (0.0,), ([1.0, 0.0, 0.0],))
    >>> float(y0), float(y1), float(y2), float(y3)   # e^t: every derivative is 1
    (1.0, 1.0, 1.0, 1.0)

K nested JVPs compute the same numbers at a cost that doubles with each order;
`jet` costs O(K²) (O(K³) for the general rule) array operations per primitive.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from ._core.pytree import tree_flatten, tree_unflatten
from ._core.trace import new_trace
from ._core.zeros import instantiate
from ._interpreters.taylor import JetTrace
from .transforms import _as_cotangent, _as_input, _check_inputs

__all__ = ["jet"]


def jet(f: Callable[..., Any], primals: Sequence[Any],
        series: Sequence[Sequence[Any]]) -> tuple[Any, Any]:
    """Push truncated Taylor series of order K through `f`.

    Args:
        f: a function of `len(primals)` arguments (arrays or pytrees of arrays).
        primals: the point x(0), one entry per argument of `f`.
        series: one list per argument, `series[i][k-1]` the k-th derivative
            x_i^(k)(0) of argument i's path (k = 1..K, the same K for every
            argument), each with the structure and shapes of `primals[i]`.

    Returns:
        `(primal_out, series_out)`: f(x(0)), and for each output leaf the list
        [y'(0), y''(0), ..., y^(K)(0)] of derivatives of y(t) = f(x(t)), placed
        where the leaf is in f's output (a single array output gives a list of
        K arrays). Terms that vanish are zero arrays.

    With x(t) = x0 + Σ_k c_k t^k and c_k = series[k-1] / k!, the output's raw
    coefficients come from the rules of the primitives `f` calls; e.g.
    `jet(f, (x,), ([v] + [0] * (K - 1),))` gives the directional derivatives
    of order 1..K of f at x along v.

    Math: y(t) = f(x(t)); returns y(0) and [y'(0), ..., y^(K)(0)].

    Examples
    --------
    >>> y, (d1, d2) = riesz.jet(lambda x: x**3, (2.0,), ([1.0, 0.0],))
    >>> print(y, d1, d2)  # 8, 3 x², 6 x
    8.0 12.0 12.0

    Raises
    ------
    TypeError
        If `primals` / `series` are not tuples or lists, or a series is not a list.
    ValueError
        If their lengths differ, the arguments have different orders K, or a term's
        structure differs from its primal's.
    """
    if not isinstance(primals, (tuple, list)) or not isinstance(series, (tuple, list)):
        raise TypeError(
            "jet: primals and series must be tuples (or lists) with one entry per argument, "
            f"got {type(primals).__name__} and {type(series).__name__}; write "
            "jet(f, (x,), ([x1, x2, ...],))"
        )
    if len(series) != len(primals):
        raise ValueError(f"jet: {len(primals)} primals but {len(series)} series; give one "
                         "list of derivatives per argument")
    orders = set()
    for i, s in enumerate(series):
        if not isinstance(s, (tuple, list)):
            raise TypeError(f"jet: series[{i}] must be a list of derivatives [x', x'', ...] "
                            f"of argument {i}, got {type(s).__name__}")
        orders.add(len(s))
    if len(orders) > 1:
        raise ValueError(f"jet: every argument needs the same number of terms, got "
                         f"{[len(s) for s in series]}")
    K = orders.pop() if orders else 0

    leaves, in_def = tree_flatten(tuple(primals))
    leaves = [_as_input(x) for x in leaves]
    _check_inputs("jet", f, primals, leaves)
    # coefficients per input leaf: c_k = x^(k)(0) / k!
    coefficients: list[list[Any]] = [[] for _ in leaves]
    for k in range(1, K + 1):
        terms = tuple(s[k - 1] for s in series)
        t_leaves, t_def = tree_flatten(terms)
        if t_def != in_def:
            raise ValueError(f"jet: the order-{k} terms have structure {t_def}, the "
                             f"primals have {in_def}")
        for j, (t, x) in enumerate(zip(t_leaves, leaves, strict=True)):
            t = _as_cotangent(t, x, f"jet: order-{k} term of input leaf {j}")
            # (c_1 = x'(0) itself; the outputs are scaled, so never the caller's arrays)
            coefficients[j].append(t / float(math.factorial(k)) if k > 1 else t)

    with new_trace(JetTrace) as trace:
        trace.order = K
        ins = [trace.new_input(x, c) for x, c in zip(leaves, coefficients, strict=True)]
        out = f(*tree_unflatten(in_def, ins))
        out_leaves, out_def = tree_flatten(out)
        primal_out = [trace.primal_of(o) for o in out_leaves]
        series_out = [trace.series_of(o) for o in out_leaves]

    derivatives = []
    for y, cs in zip(primal_out, series_out, strict=True):
        cs = [None] * K if cs is None else cs
        derivatives.append([instantiate(None, y) if c is None else c * float(math.factorial(k + 1))
                            for k, c in enumerate(cs)])
    return tree_unflatten(out_def, primal_out), tree_unflatten(out_def, derivatives)
