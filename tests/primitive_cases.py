"""Test inputs for every registered primitive (the systematic sweep's table).

Each `Case` names the primitive it covers, a function of array arguments that
applies it (through the public `riesz.numpy` API), and the arguments. Shapes
are chosen to exercise broadcasting: scalar, vector, matrix, size-1 axes.
`tests/test_primitives.py` fails if a registered primitive has no case here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

import riesz.numpy as rnp


@dataclass(frozen=True)
class Case:
    prim: str
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    label: str = ""
    tolerances: tuple[tuple[str, float], ...] = ()  # overrides for check_grads

    @property
    def id(self) -> str:
        shapes = ",".join("x".join(map(str, np.shape(a))) or "()" for a in self.args)
        return f"{self.prim}-{self.label or shapes}"


_rng = np.random.default_rng(0)


def R(*shape: int) -> np.ndarray:
    """Standard normal test input."""
    return _rng.standard_normal(shape)


def P(*shape: int) -> np.ndarray:
    """Positive test input, away from 0."""
    return _rng.uniform(0.5, 2.0, shape)


BROADCAST_PAIRS = [((3,), (3,)), ((2, 3), (3,)), ((2, 1), (1, 3)), ((), (2, 3)), ((2, 3), ())]


def _binary(prim: str, fn: Callable[..., Any], gen: Callable[..., np.ndarray] = R) -> list[Case]:
    return [Case(prim, fn, (gen(*a), gen(*b))) for a, b in BROADCAST_PAIRS]


def _unary(prim: str, fn: Callable[..., Any], gen: Callable[..., np.ndarray] = R) -> list[Case]:
    return [Case(prim, fn, (gen(*s),)) for s in ((), (4,), (2, 3))]


CASES: list[Case] = [
    *_binary("add", lambda x, y: x + y),
    *_binary("subtract", lambda x, y: x - y),
    *_binary("multiply", lambda x, y: x * y),
    *_binary("divide", lambda x, y: x / y, P),
    *_binary("power", lambda x, y: x ** y, P),
    Case("power", lambda x: x ** 3, (R(4),), "int-exponent"),
    Case("power", lambda x: x ** 2, (R(2, 3),), "square"),
    *_binary("maximum", rnp.maximum),
    *_binary("minimum", rnp.minimum),
    Case("where", lambda x, y: rnp.where(np.arange(6).reshape(2, 3) % 2 == 0, x, y), (R(2, 3), R(3))),
    Case("where", lambda x: rnp.where(np.array([True, False, True]), x, 0.0), (R(2, 3),), "const-y"),
    *_unary("negative", lambda x: -x),
    *_unary("exp", rnp.exp),
    *_unary("log", rnp.log, P),
    *_unary("sin", rnp.sin),
    *_unary("cos", rnp.cos),
    *_unary("tanh", rnp.tanh),
    *_unary("sqrt", rnp.sqrt, P),
    *_unary("abs", rnp.abs, P),
    Case("abs", rnp.abs, (-P(3),), "negative"),
    Case("astype", lambda x: rnp.astype(x, np.float32), (R(3),), "to-float32",
         (("eps", 1e-2), ("rtol", 1e-3), ("atol", 1e-4))),
    Case("sum", rnp.sum, (R(2, 3),), "all"),
    Case("sum", lambda x: rnp.sum(x, axis=0), (R(2, 3),), "axis0"),
    Case("sum", lambda x: rnp.sum(x, axis=(0, 2), keepdims=True), (R(2, 3, 2),), "keepdims"),
    Case("sum", lambda x: x.sum(axis=-1), (R(2, 3),), "method"),
    Case("max", rnp.max, (R(2, 3),), "all"),
    Case("max", lambda x: rnp.max(x, axis=1, keepdims=True), (R(2, 3),), "keepdims"),
    Case("max", lambda x: rnp.max(x, axis=0), (R(3, 2),), "axis0"),
    Case("min", lambda x: rnp.min(x, axis=-1), (R(2, 3),), "axis"),
    Case("min", rnp.min, (R(4),), "all"),
    Case("reshape", lambda x: rnp.reshape(x, (3, 2)), (R(2, 3),)),
    Case("reshape", lambda x: x.reshape(-1), (R(2, 3),), "method"),
    Case("transpose", lambda x: x.T, (R(2, 3),)),
    Case("transpose", lambda x: rnp.transpose(x, (1, 2, 0)), (R(2, 3, 4),), "axes"),
    Case("broadcast_to", lambda x: rnp.broadcast_to(x, (2, 3)), (R(3),)),
    Case("broadcast_to", lambda x: rnp.broadcast_to(x, (2, 2, 3)), (R(2, 1, 3),), "size1"),
    Case("concatenate", lambda x, y: rnp.concatenate([x, y]), (R(2), R(3))),
    Case("concatenate", lambda x, y: rnp.concatenate([x, y, x], axis=1), (R(2, 1), R(2, 3)), "axis1"),
    Case("concatenate", lambda x, y: rnp.stack([x, y], axis=1), (R(3), R(3)), "stack"),
    Case("getitem", lambda x: x[1], (R(3, 2),), "int"),
    Case("getitem", lambda x: x[1:, ::2], (R(3, 4),), "slices"),
    Case("getitem", lambda x: x[np.array([0, 2, 0])], (R(3, 2),), "advanced-repeat"),
    Case("getitem", lambda x: x[x > 0], (R(3, 2),), "mask"),
    Case("getitem", lambda x: x[..., None, 0], (R(2, 3),), "ellipsis-newaxis"),
    Case("getitem", lambda x: x[0] * x[1] + x[0], (R(3),), "reuse"),
    Case("scatter_add", lambda x, v: _scatter(x, v, (np.array([0, 2, 0]),)), (R(3, 2), R(3, 2))),
    Case("scatter_add", lambda x, v: _scatter(x, v, (slice(1, None),)), (R(3), R(1)), "broadcast"),
    Case("matmul", lambda a, b: a @ b, (R(2, 3), R(3, 4)), "mm"),
    Case("matmul", lambda a, b: a @ b, (R(3), R(3, 4)), "vm"),
    Case("matmul", lambda a, b: a @ b, (R(2, 3), R(3)), "mv"),
    Case("matmul", lambda a, b: a @ b, (R(3), R(3)), "vv"),
    Case("matmul", lambda a, b: a @ b, (R(2, 2, 3), R(3, 2)), "batched"),
    Case("matmul", lambda a, b: rnp.dot(a, b), (R(2, 3), R(3)), "dot"),
    Case("matmul", lambda a, b: rnp.dot(a, b), (R(3), R(3)), "dot-vv"),
]


def _scatter(x: Any, v: Any, index: tuple[Any, ...]) -> Any:
    from riesz.numpy.indexing import scatter_add_p

    return scatter_add_p(x, v, index=index)


# Primitives without a derivative to check: each case asserts the documented
# behaviour instead (zero derivative: outputs are constants to every trace;
# not differentiable: outputs are plain boolean / integer arrays).
ZERO_DERIVATIVE_CASES = {
    "sign": (rnp.sign, R(4)),
    "floor": (rnp.floor, R(4) * 3),
    "stop_gradient": (rnp.stop_gradient, R(4)),
}
NOT_DIFFERENTIABLE_CASES = {
    "greater": (lambda x: x > 0, R(4)),
    "greater_equal": (lambda x: x >= 0, R(4)),
    "less": (lambda x: x < 0, R(4)),
    "less_equal": (lambda x: x <= 0, R(4)),
    "equal": (lambda x: x == x, R(4)),
    "not_equal": (lambda x: x != 0, R(4)),
}
