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
import riesz.scipy.integrate as rsi
import riesz.scipy.linalg as rsl
import riesz.scipy.signal as rss
import riesz.scipy.special as rsp


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
    Case("where", lambda x, y: rnp.where(np.arange(6).reshape(2, 3) % 2 == 0, x, y),
         (R(2, 3), R(3))),
    Case("where", lambda x: rnp.where(np.array([True, False, True]), x, 0.0), (R(2, 3),),
         "const-y"),
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
    Case("concatenate", lambda x, y: rnp.concatenate([x, y, x], axis=1), (R(2, 1), R(2, 3)),
         "axis1"),
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


def U(lo: float, hi: float) -> Callable[..., np.ndarray]:
    """Uniform test inputs in (lo, hi)."""

    def gen(*shape: int) -> np.ndarray:
        return _rng.uniform(lo, hi, shape)

    return gen


def W(*shape: int) -> np.ndarray:
    """Well-conditioned square matrices (a batch if more than 2 dims)."""
    n = shape[-1]
    return 0.3 * _rng.standard_normal(shape) + np.eye(n) * 2.0


def SPD(n: int) -> np.ndarray:
    b = _rng.standard_normal((n, n))
    return b @ b.T + n * np.eye(n)


def _with_zeros(x: np.ndarray, *where: tuple[int, ...]) -> np.ndarray:
    x = x.copy()
    for w in where:
        x[w] = 0.0
    return x


def _eye(x: Any) -> np.ndarray:
    """An identity matching the traced matrix x (keeps float32 float32)."""
    return np.eye(x.shape[-1], dtype=x.dtype)


def _signfix(v: Any) -> Any:
    """Columns of v with the sign of their first row made positive (a gauge)."""
    return v * rnp.sign(v[..., :1, :])


def _eigh_proj(a: Any) -> Any:
    w, v = rnp.linalg.eigh(a)
    return (v * rnp.tanh(w)[..., None, :]) @ rnp.swapaxes(v, -1, -2)


def _svd_parts(a: Any) -> Any:
    u, s, vh = rnp.linalg.svd(a, full_matrices=False)
    v = rnp.swapaxes(vh, -1, -2)
    return rnp.concatenate([rnp.ravel(_signfix(u)), s, rnp.ravel(_signfix(v))])


def _qr_parts(a: Any) -> Any:
    q, r = rnp.linalg.qr(a)
    return rnp.concatenate([rnp.ravel(q), rnp.ravel(r)])


CASES += [
    # -- elementwise unary -----------------------------------------------------------
    *_unary("exp2", rnp.exp2),
    *_unary("expm1", rnp.expm1),
    *_unary("log2", rnp.log2, P),
    *_unary("log10", rnp.log10, P),
    *_unary("log1p", rnp.log1p, U(-0.5, 2.0)),
    *_unary("cbrt", rnp.cbrt, P),
    Case("cbrt", rnp.cbrt, (-P(3),), "negative"),
    *_unary("square", rnp.square),
    *_unary("reciprocal", rnp.reciprocal, P),
    *_unary("tan", rnp.tan, U(-1.0, 1.0)),
    *_unary("arcsin", rnp.arcsin, U(-0.8, 0.8)),
    *_unary("arccos", rnp.arccos, U(-0.8, 0.8)),
    *_unary("arctan", rnp.arctan),
    *_unary("sinh", rnp.sinh),
    *_unary("cosh", rnp.cosh),
    *_unary("arcsinh", rnp.arcsinh),
    *_unary("arccosh", rnp.arccosh, U(1.5, 3.0)),
    *_unary("arctanh", rnp.arctanh, U(-0.8, 0.8)),
    # -- elementwise binary ----------------------------------------------------------
    *_binary("hypot", rnp.hypot),
    *_binary("arctan2", rnp.arctan2),
    *_binary("logaddexp", rnp.logaddexp),
    *_binary("logaddexp2", rnp.logaddexp2),
    *_binary("remainder", lambda x, y: rnp.remainder(3 * x, y), P),
    Case("fmod", rnp.fmod, (np.array([2.3, -1.7, 0.6]), np.array([0.9, 0.8, 0.5]))),
    Case("fmod", rnp.fmod, (np.array([[2.3], [-1.7]]), np.array([0.9, -0.7, 0.5])), "broadcast"),
    Case("remainder", lambda x: x % 0.7, (R(4),), "operator"),
    Case("maximum", lambda x: rnp.maximum(x, x), (R(3),), "ties"),
    Case("maximum", lambda x: rnp.clip(x, -0.5, 0.5), (R(2, 3),), "clip"),
    Case("power", lambda x, y: x ** y, (P(3), np.array([0.0, 1.0, 2.5])), "zero-exponent"),
    Case("logaddexp", lambda x, y: rnp.logaddexp(x * 300, y * 300), (R(3), R(3)), "large"),
    # -- reductions and scans ---------------------------------------------------------
    Case("prod", rnp.prod, (P(2, 3),), "all"),
    Case("prod", lambda x: rnp.prod(x, axis=1, keepdims=True), (R(2, 3),), "keepdims"),
    Case("prod", lambda x: x.prod(axis=(0, 2)), (R(2, 3, 2),), "axes"),
    Case("prod", lambda x: rnp.prod(x, axis=0), (_with_zeros(R(3, 2), (1, 0)),), "one-zero"),
    Case("prod", rnp.prod, (_with_zeros(R(4), (0,), (2,)),), "two-zeros"),
    Case("cumsum", lambda x: rnp.cumsum(x, axis=0), (R(3, 2),), "axis0"),
    Case("cumsum", rnp.cumsum, (R(2, 3),), "flat"),
    Case("cumsum", lambda x: np.add.accumulate(x, axis=1), (R(2, 3),), "ufunc-accumulate"),
    Case("cumprod", lambda x: rnp.cumprod(x, axis=1), (P(2, 3),), "axis1"),
    Case("cumprod", rnp.cumprod, (R(4),), "flat"),
    Case("cumprod", lambda x: rnp.cumprod(x, axis=0),
         (_with_zeros(R(4, 2), (1, 0), (2, 1)),), "zeros"),
    # -- shape -------------------------------------------------------------------------
    Case("split", lambda x: rnp.concatenate(rnp.split(x, [1, 3], axis=1)[::-2], axis=1),
         (R(2, 4),), "unused-piece"),
    Case("split", lambda x: rnp.split(x, 2)[1] * rnp.split(x, 2)[0], (R(4, 2),), "sections"),
    Case("pad", lambda x: rnp.pad(x, ((1, 0), (2, 1))), (R(2, 3),), "widths"),
    Case("pad", lambda x, c: rnp.pad(x, 1, constant_values=c), (R(3), R()), "traced-constant"),
    Case("pad", lambda x: rnp.pad(x, 2, constant_values=1.5), (R(2, 2),), "constant"),
    Case("flip", rnp.flip, (R(2, 3),), "all"),
    Case("flip", lambda x: rnp.flip(x, 1) * x, (R(2, 3),), "axis"),
    Case("roll", lambda x: rnp.roll(x, 1), (R(2, 3),), "flat"),
    Case("roll", lambda x: rnp.roll(x, (1, -1), axis=(0, 1)), (R(2, 3),), "axes"),
    Case("getitem", lambda x: rnp.pad(x, ((1, 2), (0, 1)), mode="reflect"), (R(3, 3),),
         "pad-reflect"),
    Case("getitem", lambda x: rnp.pad(x, 2, mode="edge"), (R(3),), "pad-edge"),
    Case("getitem", lambda x: rnp.pad(x, 1, mode="wrap"), (R(2, 3),), "pad-wrap"),
    Case("getitem", lambda x: rnp.take(x, np.array([[2, 0], [1, 1]]), axis=1), (R(2, 3),),
         "take"),
    Case("getitem", lambda x: rnp.take_along_axis(x, np.argsort(x, axis=0), axis=0),
         (R(3, 2),), "take_along_axis"),
    Case("getitem", lambda x: rnp.diag(x, 1), (R(3, 4),), "diag-k"),
    Case("getitem", lambda x: rnp.trace(x), (R(3, 3),), "trace"),
    Case("getitem", lambda x: rnp.repeat(x, [1, 0, 2], axis=0), (R(3, 2),), "repeat-array"),
    Case("getitem", lambda x: rnp.sort(x, axis=0), (R(4, 2),), "sort"),
    Case("getitem", lambda x: rnp.median(x, axis=1), (R(2, 4),), "median"),
    Case("scatter_add", lambda x: rnp.diag(x), (R(3),), "diag-embed"),
    Case("scatter_add", lambda x, v: rnp.at(x)[np.array([0, 2, 0])].add(v), (R(3), R(3)),
         "at-add"),
    Case("scatter_set", lambda x, v: rnp.at(x)[1:].set(v), (R(3, 2), R(2)), "at-set"),
    Case("scatter_set", lambda x, v: rnp.at(x)[np.array([0, 2, 0])].set(v), (R(3), R(3)),
         "at-set-repeat"),
    Case("scatter_set", lambda x, v: rnp.at(x)[np.array([1, 1, 0])].multiply(v), (R(3), R(3)),
         "at-multiply-repeat"),
    Case("scatter_set", lambda x, v: rnp.at(x)[x > 0].max(v), (R(4), R()), "at-max-mask"),
    Case("scatter_set", lambda x, v: rnp.index_update(x, (0, slice(None)), v),
         (R(2, 3), R(3)), "index_update"),
    # -- products ------------------------------------------------------------------------
    Case("einsum", lambda a, b: rnp.einsum("ij,jk->ik", a, b), (R(2, 3), R(3, 4)), "mm"),
    Case("einsum", lambda a: rnp.einsum("ii->i", a), (R(3, 3),), "diagonal"),
    Case("einsum", lambda a: rnp.einsum("ii", a), (R(3, 3),), "trace"),
    Case("einsum", lambda a, b: rnp.einsum("ij,k", a, b), (R(2, 3), R(2)), "implicit-outer"),
    Case("einsum", lambda a, b: rnp.einsum("ij->", a * b), (R(2, 3), R(3)), "sum-all"),
    Case("einsum", lambda a, b, c: rnp.einsum("ij,jk,kl->il", a, b, c, optimize=True),
         (R(2, 3), R(3, 2), R(2, 2)), "three-operands"),
    Case("einsum", lambda a, b: rnp.einsum("...ij,...jk->...ik", a, b),
         (R(2, 1, 2, 3), R(3, 3, 2)), "ellipsis-broadcast"),
    Case("einsum", lambda a, b: rnp.einsum("bi,i->b", a, b), (R(2, 3), R(3)), "mv"),
    Case("einsum", lambda a, b: rnp.einsum("ij,ij->i", a, b), (R(2, 3), R(2, 3)), "rowdot"),
    Case("matmul", lambda a, b: rnp.tensordot(a, b, axes=([0, 2], [1, 0])),
         (R(2, 3, 4), R(4, 2, 3)), "tensordot"),
    Case("matmul", lambda a, b: rnp.dot(a, b), (R(2, 2, 3), R(2, 3, 4)), "dot-nd"),
    Case("matmul", lambda a, b: np.dot(a, b), (R(3, 2), R(2)), "np-dot"),
    Case("matmul", lambda a, b: rnp.inner(a, b), (R(2, 3), R(4, 3)), "inner"),
    Case("matmul", lambda a, b: rnp.vdot(a, b), (R(2, 3), R(2, 3)), "vdot"),
    Case("multiply", lambda a, b: rnp.outer(a, b), (R(3), R(2, 2)), "outer"),
    Case("multiply", lambda a, b: rnp.kron(a, b), (R(2, 2), R(3)), "kron"),
    # -- linear algebra ---------------------------------------------------------------------
    Case("solve", rnp.linalg.solve, (W(3, 3), R(3)), "vector"),
    Case("solve", rnp.linalg.solve, (W(3, 3), R(3, 2)), "matrix"),
    Case("solve", rnp.linalg.solve, (W(2, 3, 3), R(3)), "batched-vector"),
    Case("solve", rnp.linalg.solve, (W(2, 3, 3), R(3, 2)), "broadcast-b"),
    Case("inv", rnp.linalg.inv, (W(3, 3),), "matrix"),
    Case("inv", rnp.linalg.inv, (W(2, 2, 2),), "batched"),
    Case("det", rnp.linalg.det, (W(3, 3),), "matrix"),
    Case("det", rnp.linalg.det, (W(2, 3, 3),), "batched"),
    Case("det", rnp.linalg.det, (np.array([[[1.0, 0.0, 0.5], [0.0, 0.0, 0.0], [2.0, 1.0, 3.0]],
                                           2 * np.eye(3)]),), "singular"),
    Case("slogdet", lambda a: rnp.linalg.slogdet(a)[1], (W(3, 3),), "logdet"),
    Case("slogdet", lambda a: rnp.prod(rnp.linalg.slogdet(a)), (W(3, 3)[::-1],),
         "negative-det"),
    Case("cholesky", rnp.linalg.cholesky, (SPD(3),), "spd"),
    Case("cholesky", lambda b: rnp.linalg.cholesky(b @ b.T + 3 * _eye(b)), (R(3, 3),),
         "gram"),
    Case("cholesky", lambda a: rnp.linalg.cholesky(a, upper=True), (SPD(3),), "upper"),
    Case("eigh", lambda a: rnp.linalg.eigh(a)[0], (SPD(3),), "eigenvalues"),
    Case("eigh", _eigh_proj, (SPD(3),), "function-of-a"),
    Case("eigh", lambda a: _signfix(rnp.linalg.eigh(a)[1]), (SPD(3),), "eigenvectors"),
    Case("eigh", lambda b: rnp.linalg.eigvalsh(b + rnp.swapaxes(b, 1, 2)), (R(2, 3, 3),),
         "batched-sym"),
    Case("svd", lambda a: rnp.linalg.svd(a, compute_uv=False), (R(3, 2),), "values"),
    Case("svd", _svd_parts, (R(3, 3),), "square"),
    Case("svd", _svd_parts, (R(4, 2),), "tall"),
    Case("svd", _svd_parts, (R(2, 4),), "wide"),
    Case("svd", lambda a: rnp.linalg.norm(a, "nuc"), (R(3, 2),), "nuclear"),
    Case("qr", _qr_parts, (R(3, 3),), "square"),
    Case("qr", _qr_parts, (R(4, 2),), "tall"),
    Case("qr", _qr_parts, (R(2, 3),), "wide"),
    Case("qr", lambda a: rnp.linalg.qr(a)[0], (R(2, 3, 2),), "batched-q"),
    Case("pinv", rnp.linalg.pinv, (R(4, 2),), "tall"),
    Case("pinv", rnp.linalg.pinv, (R(2, 3),), "wide"),
    Case("norm2", rnp.linalg.norm, (R(2, 3),), "fro"),
    Case("norm2", lambda x: rnp.linalg.norm(x, axis=1), (R(2, 3),), "axis"),
    Case("norm2", lambda x: rnp.linalg.norm(x, axis=0, keepdims=True), (R(2, 3),), "keepdims"),
    Case("norm2", lambda x: rnp.linalg.norm(x, axis=(1, 2)), (R(2, 2, 3),), "matrices"),
    Case("triangular_solve", lambda a, b: rsl.solve_triangular(a, b, lower=True),
         (W(3, 3), R(3)), "lower"),
    Case("triangular_solve", lambda a, b: rsl.solve_triangular(a, b, trans=1),
         (W(3, 3), R(3, 2)), "upper-trans"),
    Case("triangular_solve",
         lambda a, b: rsl.solve_triangular(a, b, lower=True, unit_diagonal=True),
         (W(3, 3), R(3, 2)), "unit-diagonal"),
    Case("triangular_solve", lambda a, b: rsl.cho_solve(rsl.cho_factor(a), b),
         (SPD(3), R(3)), "cho_solve"),
    Case("triangular_solve",
         lambda a, b: rsl.cho_solve(rsl.cho_factor(a, lower=True), b),
         (SPD(3), R(3, 2)), "cho_solve-lower"),
    Case("expm", rsl.expm, (0.5 * R(3, 3),), "matrix"),
    Case("expm", rsl.expm, (0.5 * R(2, 2, 2),), "batched"),
    Case("expm", lambda a, e: rsl.expm_frechet(a, e)[1], (0.5 * R(3, 3), R(3, 3)), "frechet"),
    Case("expm", lambda a: rsl.expm_frechet(a, a)[0], (0.5 * R(3, 3),), "frechet-expm"),
    Case("solve_sylvester", rsl.solve_sylvester, (W(3, 3), W(2, 2), R(3, 2)), "rectangular"),
    Case("solve_sylvester", rsl.solve_sylvester, (W(2, 3, 3), W(3, 3), R(3, 3)), "batched"),
    Case("solve_sylvester", rsl.solve_continuous_lyapunov, (W(3, 3), R(3, 3)), "lyapunov"),
    Case("sqrtm", rsl.sqrtm, (W(3, 3),), "matrix"),
    Case("sqrtm", rsl.sqrtm, (SPD(3) / 3,), "spd"),
    Case("sqrtm", rsl.sqrtm, (W(2, 2, 2),), "batched"),
    Case("logm", rsl.logm, (W(3, 3),), "matrix"),
    Case("logm", rsl.logm, (W(2, 2, 2),), "batched"),
    Case("lu_factor", lambda a: rsl.lu_factor(a)[0], (R(3, 3),), "lu"),
    Case("lu_factor", lambda a, b: rsl.lu_solve(rsl.lu_factor(a), b), (W(3, 3), R(3)),
         "lu_solve"),
    Case("lu_factor", lambda a, b: rsl.lu_solve(rsl.lu_factor(a), b, trans=1), (R(3, 3), R(3, 2)),
         "lu_solve-trans"),
    Case("solve_banded", lambda ab, b: rsl.solve_banded((1, 1), ab, b),
         (np.array([0.0, 1.0, 1.0, 1.0]) * R(3, 4) + np.array([[0], [4], [0]]), R(4)),
         "tridiagonal"),
    Case("solve_banded", lambda ab, b: rsl.solve_banded((2, 1), ab, b),
         (R(4, 5) + np.array([[0], [5], [0], [0]]), R(5, 2)), "l2-u1"),
    Case("lstsq", lambda a, b: rsl.lstsq(a, b)[0], (R(4, 2), R(4)), "tall"),
    Case("lstsq", lambda a, b: rsl.lstsq(a, b)[0], (R(2, 3), R(2, 2)), "wide"),
    Case("lstsq", lambda a, b: rnp.linalg.lstsq(a, b)[1], (R(4, 3), R(4, 2)), "numpy-residuals"),
    Case("svd", lambda a: rsl.polar(a)[0], (R(3, 3),), "polar-u"),
    Case("svd", lambda a: rsl.polar(a)[1], (R(3, 2),), "polar-p"),
    Case("svd", lambda a: rsl.polar(a, side="left")[1], (R(2, 3),), "polar-left"),
    # -- convolution -------------------------------------------------------------------------
    Case("correlate_valid", lambda a, v: rnp.convolve(a, v), (R(5), R(3)), "convolve-full"),
    Case("correlate_valid", lambda a, v: rnp.convolve(a, v, "same"), (R(3), R(4)), "convolve-same"),
    Case("correlate_valid", lambda a, v: rnp.correlate(a, v), (R(5), R(2)), "correlate-valid"),
    Case("correlate_valid", lambda x, k: rss.correlate(x, k, mode="valid"), (R(4, 5), R(2, 3)),
         "2d-valid"),
    Case("correlate_valid", lambda x, k: rss.convolve2d(x, k, mode="same"), (R(3, 4), R(2, 2)),
         "2d-same"),
    Case("correlate_valid", lambda x, k: rss.correlate(x, k), (R(2, 3), R(3, 2)), "2d-full"),
    # -- numpy.fft: complex intermediates between real ends (rfft ... irfft) -------------------
    Case("rfft", lambda x: rnp.fft.irfft(rnp.fft.rfft(x, n=7, norm="ortho"), n=10), (R(6),),
         "pad-odd"),
    Case("rfft", lambda x: rnp.fft.irfft(rnp.fft.ihfft(x, n=4, norm="forward"), n=5),
         (R(2, 5),), "ihfft-crop"),
    Case("irfft", lambda x: rnp.fft.hfft(rnp.fft.rfft(x, axis=0), n=4, axis=0, norm="ortho"),
         (R(5, 2),), "hfft-axis0"),
    Case("irfft", lambda x: rnp.fft.irfftn(rnp.fft.rfftn(x), s=(3, 4)), (R(3, 5),), "2d"),
    Case("fft", lambda x: rnp.fft.irfft(rnp.fft.fft(rnp.fft.rfft(x), n=6, norm="forward")),
         (R(7),), "1d"),
    Case("fft", lambda x: rnp.fft.irfft2(rnp.fft.ifft2(rnp.fft.rfft2(x), s=(4, 3)), s=(3, 3)),
         (R(3, 4),), "2d-ifft"),
    # -- scipy.special --------------------------------------------------------------------------
    *_unary("erf", rsp.erf),
    *_unary("erfc", rsp.erfc),
    *_unary("expit", rsp.expit),
    *_unary("log_ndtr", rsp.log_ndtr),
    Case("log_ndtr", rsp.log_ndtr, (np.array([-30.0, -8.0, 8.0]),), "tails"),
    *_unary("logit", rsp.logit, U(0.1, 0.9)),
    *_unary("gammaln", rsp.gammaln, P),
    *_unary("gamma", rsp.gamma, P),
    *_unary("polygamma", rsp.digamma, P),
    Case("polygamma", lambda x: rsp.polygamma(2, x), (P(3),), "order2"),
    *_binary("xlogy", rsp.xlogy, P),
    Case("xlogy", rsp.xlogy, (np.array([0.0, 0.5, 0.0]), P(3)), "zero-x"),
    *_binary("xlog1py", rsp.xlog1py, P),
]


def _apart(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """x and y with real parts 0.5 apart (NumPy orders complex numbers by real part
    first): no ties for finite differences to cross."""
    x = x.copy()
    x.real = y.real + np.where(np.indices(x.shape).sum(axis=0) % 2, 0.5, -0.5)
    return x, y


# The complex cases draw from their own generator: the real cases' inputs stay as they were.
_crng = np.random.default_rng(1)


def C(*shape: int) -> np.ndarray:
    """Complex standard normal test input."""
    return _crng.standard_normal(shape) + 1j * _crng.standard_normal(shape)


def RC(*shape: int) -> np.ndarray:
    """A real standard normal input of a complex case (from the complex cases' generator)."""
    return _crng.standard_normal(shape)


def CP(*shape: int) -> np.ndarray:
    """Complex test input away from 0 and from the negative real axis (log's cut)."""
    return _crng.uniform(0.5, 2.0, shape) * np.exp(1j * _crng.uniform(-2.0, 2.0, shape))


# -- complex: Cⁿ as a real space under Re vdot (check_grads perturbs along real and
# imaginary directions and runs the adjoint test under Re⟨·,·⟩) -------------------------
CASES += [
    *[Case(c.prim, c.fn, tuple(C(*np.shape(a)) for a in c.args), "complex-" + c.label)
      for c in _binary("add", lambda x, y: x + y)[:3]],
    Case("add", lambda x, y: x + y, (RC(3), C(2, 3)), "complex-mixed"),
    Case("subtract", lambda x, y: x - y, (C(2, 3), RC(3)), "complex-mixed"),
    Case("multiply", lambda x, y: x * y, (C(2, 3), C(3)), "complex"),
    Case("multiply", lambda x, y: x * y, (RC(2, 3), C(3)), "complex-mixed"),
    Case("multiply", lambda x: (1 + 2j) * x, (RC(3),), "complex-constant"),
    Case("multiply", lambda x, y: x + 1j * y, (RC(3), RC(3)), "complex-x-plus-iy"),
    Case("divide", lambda x, y: x / y, (C(2, 3), CP(3)), "complex"),
    Case("divide", lambda x, y: x / y, (RC(3), CP(3)), "complex-mixed"),
    Case("power", lambda x, y: x ** y, (CP(3), C(3)), "complex"),
    Case("power", lambda x: x ** 3, (C(4),), "complex-int-exponent"),
    Case("negative", lambda x: -x, (C(3),), "complex"),
    Case("astype", lambda x: rnp.astype(x, np.result_type(x.dtype, np.complex64)), (RC(3),),
         "to-complex"),
    Case("astype", lambda x: rnp.astype(x * (1 - 1j), np.finfo(x.dtype).dtype), (C(3),),
         "complex-to-real"),
    Case("where", lambda x, y: rnp.where(np.array([True, False, True]), x, y), (C(3), RC(3)),
         "complex"),
    Case("conj", rnp.conj, (C(2, 3),), "complex"),
    Case("conj", lambda x: x.conj() * x, (C(3),), "complex-product"),
    Case("real", rnp.real, (C(2, 3),), "complex"),
    Case("real", lambda x: x.real * x, (C(3),), "complex-method"),
    Case("imag", rnp.imag, (C(2, 3),), "complex"),
    Case("imag", lambda x: x.imag * x, (C(3),), "complex-method"),
    Case("abs", rnp.abs, (C(2, 3),), "complex"),
    Case("abs", lambda x: rnp.abs(x) ** 2, (C(3),), "complex-squared"),
    Case("arctan2", rnp.angle, (C(2, 3),), "complex-angle"),
    Case("abs", rnp.sign, (CP(3),), "complex-sign"),
    *[Case(name, getattr(rnp, name), (gen(2, 3),), "complex") for name, gen in (
        ("exp", C), ("exp2", C), ("expm1", C), ("log", CP), ("log2", CP), ("log10", CP),
        ("log1p", CP), ("sqrt", CP), ("square", C), ("reciprocal", CP), ("sin", C),
        ("cos", C), ("tan", C), ("sinh", C), ("cosh", C), ("tanh", C), ("arcsin", C),
        ("arccos", C), ("arctan", C), ("arcsinh", C), ("arccosh", C), ("arctanh", C))],
    Case("arccosh", rnp.arccosh, (-CP(3),), "complex-left-half-plane"),
    # reductions and scans
    Case("sum", lambda x: rnp.sum(x, axis=0), (C(2, 3),), "complex"),
    Case("sum", lambda x: rnp.mean(x * x), (C(2, 3),), "complex-mean"),
    Case("sum", lambda x: rnp.var(x, axis=1), (C(2, 3),), "complex-var"),
    Case("prod", lambda x: rnp.prod(x, axis=1), (C(2, 3),), "complex"),
    Case("prod", rnp.prod, (_with_zeros(C(4), (1,)),), "complex-one-zero"),
    Case("cumsum", lambda x: rnp.cumsum(x, axis=1), (C(2, 3),), "complex"),
    Case("cumprod", lambda x: rnp.cumprod(x, axis=1), (C(2, 3),), "complex"),
    Case("cumprod", rnp.cumprod, (_with_zeros(C(4), (1,)),), "complex-zeros"),
    # products
    Case("matmul", lambda a, b: a @ b, (C(2, 3), C(3, 4)), "complex-mm"),
    Case("matmul", lambda a, b: a @ b, (RC(2, 3), C(3)), "complex-mixed-mv"),
    Case("matmul", lambda a, b: a @ b, (C(3), RC(3, 2)), "complex-mixed-vm"),
    Case("matmul", lambda a, b: a @ b, (C(2, 2, 3), C(3, 2)), "complex-batched"),
    Case("matmul", rnp.vdot, (C(2, 3), C(2, 3)), "complex-vdot"),
    Case("matmul", lambda a, b: rnp.tensordot(a, b, axes=([0, 2], [1, 0])),
         (C(2, 3, 4), RC(4, 2, 3)), "complex-tensordot"),
    Case("einsum", lambda a, b: rnp.einsum("ij,jk->ik", a, b), (C(2, 3), C(3, 4)), "complex-mm"),
    Case("einsum", lambda a: rnp.einsum("ii->i", a), (C(3, 3),), "complex-diagonal"),
    Case("einsum", lambda a, b, c: rnp.einsum("ij,jk,kl->il", a, b, c),
         (C(2, 3), RC(3, 2), C(2, 2)), "complex-three-operands"),
    Case("einsum", lambda a, b: rnp.einsum("ij,k", a, b), (RC(2, 3), C(2)), "complex-mixed-outer"),
    Case("multiply", lambda a, b: rnp.outer(a, b), (C(3), C(2)), "complex-outer"),
    Case("multiply", lambda a, b: rnp.kron(a, b), (C(2, 2), RC(3)), "complex-kron"),
    # numpy.fft on complex inputs and outputs
    Case("fft", rnp.fft.fft, (C(5),), "complex"),
    Case("fft", lambda x: rnp.fft.ifft2(x, s=(3, 4), norm="ortho"), (C(2, 3),), "complex-ifft2"),
    Case("fft", lambda x: rnp.fft.fftn(x, axes=(0,), norm="forward"), (RC(3, 2),), "real-in"),
    Case("rfft", lambda x: rnp.fft.rfft(x, n=5), (RC(4),), "complex-out"),
    Case("rfft", lambda x: rnp.fft.ihfft(x, axis=0, norm="ortho"), (RC(4, 2),), "ihfft-out"),
    Case("irfft", lambda x: rnp.fft.irfft(x, n=6), (C(4),), "complex"),
    Case("irfft", lambda x: rnp.fft.hfft(x, n=5, norm="forward"), (C(2, 3),), "hfft-complex"),
    Case("irfft", lambda x: rnp.fft.irfft2(x, s=(3, 4)), (C(3, 3),), "irfft2-complex"),
]


def _scatter(x: Any, v: Any, index: tuple[Any, ...]) -> Any:
    from riesz._primitives.indexing import scatter_add_p

    return scatter_add_p(x, v, index=index)



def _gather(x: Any, idx: Any) -> Any:
    from riesz._primitives.indexing import SLOT, gather_p

    return gather_p(x, idx, template=(slice(None), SLOT))


def _scatter_indexed(x: Any, v: Any, idx: Any) -> Any:
    from riesz._primitives.indexing import SLOT, scatter_add_indexed_p

    return scatter_add_indexed_p(x, v, idx, template=(SLOT,))


CASES += [  # indexing with index arrays as operands (what vmap uses per example)
    Case("gather", lambda x: _gather(x, np.array([2, 0, 2])), (R(2, 3),), "repeat"),
    Case("scatter_add_indexed", lambda x, v: _scatter_indexed(x, v, np.array([1, 0, 1])),
         (R(3, 2), R(3, 2)), "repeat"),
    Case("scatter_add_indexed", lambda x, v: _scatter_indexed(x, v, np.array([2, 0])),
         (R(3), R(1)), "broadcast"),
]

def _custom_softplus() -> Any:
    """A function with its own VJP (and JVP) rules: covers the custom_call primitive."""
    import riesz
    from riesz.scipy.special import expit

    @riesz.custom_vjp
    def softplus(x: Any) -> Any:
        return rnp.logaddexp(0.0, x)

    softplus.defvjp(lambda x: (softplus(x), x), lambda x, g: (g * expit(x),))
    return softplus


_softplus_vjp_only = _custom_softplus()
_softplus_both = _custom_softplus()
_softplus_both.defjvp(lambda p, t: (_softplus_both(p[0]), t[0] * (1 - 1 / (1 + rnp.exp(p[0])))))
CASES += [
    Case("custom_call", _softplus_vjp_only, (R(2, 3),), "vjp-rule"),
    Case("custom_call", lambda x, y: _softplus_both(x * y), (R(3), R(2, 1)), "both-rules"),
]

def CW(*shape: int) -> np.ndarray:
    """Well-conditioned complex square matrices."""
    return 0.3 * C(*shape) + np.eye(shape[-1]) * 2.0


def HPD(n: int) -> np.ndarray:
    """A Hermitian positive-definite matrix."""
    b = C(n, n)
    return b @ b.conj().T + n * np.eye(n)


def _eigh_proj_c(a: Any) -> Any:
    w, v = rnp.linalg.eigh(a)
    return (v * rnp.tanh(w)[..., None, :]) @ rnp.conj(rnp.swapaxes(v, -1, -2))


CASES += [  # linear algebra on complex matrices (adjoints with conjugate transposes)
    Case("solve", rnp.linalg.solve, (CW(3, 3), C(3)), "complex-vector"),
    Case("solve", rnp.linalg.solve, (CW(2, 3, 3), C(3, 2)), "complex-broadcast-b"),
    Case("solve", rnp.linalg.solve, (0.3 * RC(3, 3) + 2 * np.eye(3), C(3)),
         "complex-mixed-real-a"),
    Case("solve", rnp.linalg.solve, (CW(3, 3), RC(3)), "complex-mixed-real-b"),
    Case("inv", rnp.linalg.inv, (CW(3, 3),), "complex"),
    Case("det", rnp.linalg.det, (CW(3, 3),), "complex"),
    Case("det", rnp.linalg.det, (np.array([[1.0, 1j, 0.5], [0.0, 0.0, 0.0], [2.0, 1.0, 3.0j]]),),
         "complex-singular"),
    Case("slogdet", lambda a: rnp.linalg.slogdet(a)[1], (CW(3, 3),), "complex-logdet"),
    Case("slogdet", lambda a: rnp.linalg.slogdet(a)[0], (CW(3, 3),), "complex-sign"),
    Case("slogdet", lambda a: rnp.linalg.slogdet(a)[0] * rnp.linalg.slogdet(a)[1],
         (CW(2, 3, 3),), "complex-both"),
    Case("cholesky", rnp.linalg.cholesky, (HPD(3),), "complex-hpd"),
    Case("cholesky", lambda b: rnp.linalg.cholesky(b @ rnp.conj(b.T) + 3 * _eye(b)),
         (C(3, 3),), "complex-gram"),
    Case("eigh", lambda a: rnp.linalg.eigh(a)[0], (HPD(3),), "complex-eigenvalues"),
    Case("eigh", _eigh_proj_c, (HPD(3),), "complex-function-of-a"),
    Case("pinv", rnp.linalg.pinv, (C(4, 2),), "complex-tall"),
    Case("pinv", rnp.linalg.pinv, (C(2, 3),), "complex-wide"),
    Case("norm2", rnp.linalg.norm, (C(2, 3),), "complex-fro"),
    Case("norm2", lambda x: rnp.linalg.norm(x, axis=1), (C(2, 3),), "complex-axis"),
    Case("triangular_solve", lambda a, b: rsl.solve_triangular(a, b, lower=True),
         (CW(3, 3), C(3)), "complex-lower"),
    Case("triangular_solve", lambda a, b: rsl.solve_triangular(a, b, trans=1),
         (CW(3, 3), C(3, 2)), "complex-upper-trans"),
    Case("triangular_solve", lambda a, b: rsl.solve_triangular(a, b, trans="C", lower=True),
         (CW(3, 3), C(3, 2)), "complex-lower-conj-trans"),
    Case("triangular_solve", lambda a, b: rsl.solve_triangular(a, b, trans=1),
         ((0.3 * RC(3, 3) + 2 * np.eye(3)), C(3, 2)), "complex-mixed-real-a"),
]

CASES += [  # SciPy functions, lexicographic extrema and expm on complex values
    *[Case(name, getattr(rsp, name), (gen(2, 3),), "complex") for name, gen in (
        ("erf", C), ("erfc", C), ("log_ndtr", C))],
    Case("xlogy", rsp.xlogy, (C(3), CP(3)), "complex"),
    Case("xlog1py", rsp.xlog1py, (C(3), CP(3)), "complex"),
    Case("maximum", rnp.maximum, (_apart(C(2, 3), C(3)), None)[0], "complex"),
    Case("minimum", rnp.minimum, (C(3), C(3)), "complex"),
    Case("max", lambda x: rnp.max(x, axis=1), (C(2, 3),), "complex"),
    Case("min", rnp.min, (C(4),), "complex"),
    Case("expm", rsl.expm, (0.5 * C(3, 3),), "complex"),
]

def _svd_gauge_free(a: Any) -> Any:
    """Phase-invariant functions of a complex SVD: s, U f(s) Vᴴ, |U|, |Vᴴ|."""
    u, s, vh = rnp.linalg.svd(a, full_matrices=False)
    f = (u * rnp.tanh(s)[..., None, :]) @ vh
    return rnp.concatenate([s.astype(a.dtype), rnp.ravel(f), rnp.ravel(rnp.abs(u)).astype(a.dtype),
                            rnp.ravel(rnp.abs(vh)).astype(a.dtype)])


def _qr_gauge_free(a: Any) -> Any:
    q, r = rnp.linalg.qr(a)
    return rnp.concatenate([rnp.ravel(q), rnp.ravel(r)])


CASES += [
    Case("svd", lambda a: rnp.linalg.svd(a, compute_uv=False), (C(3, 2),), "complex-values"),
    Case("svd", _svd_gauge_free, (C(3, 3),), "complex-square"),
    Case("svd", _svd_gauge_free, (C(4, 2),), "complex-tall"),
    Case("svd", _svd_gauge_free, (C(2, 4),), "complex-wide"),
    Case("svd", lambda a: rnp.linalg.norm(a, "nuc"), (C(3, 2),), "complex-nuclear"),
    Case("qr", _qr_gauge_free, (C(3, 3),), "complex-square"),
    Case("qr", _qr_gauge_free, (C(4, 2),), "complex-tall"),
    Case("qr", _qr_gauge_free, (C(2, 3),), "complex-wide"),
]

CASES += [  # added on main concurrently: complex checks of their rules
    Case("jv", lambda x: rsp.jv(1.5, x), (CP(2, 3),), "complex"),
    Case("yv", lambda x: rsp.yv(0.5, x), (CP(3),), "complex"),
    Case("iv", lambda x: rsp.iv(2, x), (CP(3),), "complex"),
    Case("kv", lambda x: rsp.kv(0.5, x), (CP(3),), "complex"),
]

def _eig_gauge_free(a: Any) -> Any:
    """Eigenvalues and the phase-free |V| of a general eigendecomposition."""
    w, v = rnp.linalg.eig(a)
    return rnp.concatenate([w, rnp.ravel(rnp.abs(v)).astype(w.dtype)])


CASES += [  # general eigendecomposition: complex results from real or complex matrices
    Case("eig", rnp.linalg.eigvals, (RC(3, 3),), "real-eigvals"),
    Case("eig", rnp.linalg.eigvals, (C(3, 3),), "complex-eigvals"),
    Case("eig", _eig_gauge_free, (C(3, 3),), "complex-vectors"),
    Case("eig", _eig_gauge_free, (RC(3, 3),), "real-vectors"),
    Case("eig", lambda a: rnp.linalg.eigvals(a)[..., 0], (C(2, 3, 3),), "complex-batched"),
]

# Primitives whose implementation runs on complex values but whose complex derivatives
# are not offered (the reason is the entry's value).
COMPLEX_EXEMPT = {
    "gamma": "Γ'(z) = Γ(z) ψ(z) works, but Γ'' needs polygamma(1, z): SciPy's is real-only "
             "(the second derivative raises naming it: tests/test_complex_special.py)",
    "polygamma": "SciPy's polygamma(n >= 1, z) is real-only (it raises, naming the functions "
                 "whose derivatives need it)",
    "rgamma": "as gamma: its second derivative needs SciPy's real-only polygamma(1, z)",
}

# Linear primitives with real coefficients (shape, indexing, scans, convolution-free):
# their real cases again with complex inputs (the same index arrays and masks).
_STRUCTURAL = {"reshape", "transpose", "broadcast_to", "concatenate", "getitem", "scatter_add",
               "scatter_set", "split", "pad", "flip", "roll", "gather", "scatter_add_indexed",
               "sum", "cumsum"}
_ORDER_DEPENDENT = {"getitem-mask", "getitem-take_along_axis", "getitem-sort", "getitem-median",
                    "scatter_set-at-max-mask"}  # compare values: real-only
CASES += [
    Case(c.prim, c.fn, tuple(C(*np.shape(a)) if np.asarray(a).dtype.kind == "f" else a
                             for a in c.args), "complex-" + (c.label or "auto"), c.tolerances)
    for c in list(CASES)
    if c.prim in _STRUCTURAL and not c.label.startswith("complex") and c.id not in _ORDER_DEPENDENT
]

# Primitives without a derivative to check: each case asserts the documented
# behaviour instead (zero derivative: outputs are constants to every trace;
# not differentiable: outputs are plain boolean / integer arrays).
ZERO_DERIVATIVE_CASES = {
    "sign": (rnp.sign, R(4)),
    "floor": (rnp.floor, R(4) * 3),
    "stop_gradient": (rnp.stop_gradient, R(4)),
    "ceil": (rnp.ceil, R(4) * 3),
    "trunc": (rnp.trunc, R(4) * 3),
    "rint": (rnp.rint, R(4) * 3),
    "round": (lambda x: rnp.round(x, 1), R(4) * 3),
    "floor_divide": (lambda x: x // 0.7, R(4) * 3),
}


def _ode_rhs(y: Any, s: Any, a: Any) -> Any:
    return -a * y + 0.3 * rnp.sin(y) + 0.2 * s  # nonlinear, non-autonomous


def _odeint(y0: Any, t: Any, a: Any) -> Any:
    """Solved tightly, with DOP853 backwards: the sweep's adjoint identity
    <v, JVP(u)> = <VJP(v), u> holds to 1e3 ulp only when both solves are that accurate."""
    return rsi.odeint(_ode_rhs, y0, t, args=(a,), rtol=1e-13, atol=1e-13,
                      adjoint_method="DOP853", adjoint_rtol=1e-13, adjoint_atol=1e-13)


def _solve_ivp(y0: Any, t: Any, a: Any) -> Any:
    return rsi.solve_ivp(lambda s, y, a: _ode_rhs(y, s, a), (t[0], t[-1]), y0, "DOP853",
                         t_eval=t, args=(a,), rtol=1e-13, atol=1e-13).y


CASES += [
    Case("odeint", _odeint, (R(2), np.array([0.0, 0.4, 1.1]), P(2)), "odeint"),
    Case("odeint", _solve_ivp, (R(2), np.array([1.0, 0.6, 0.1]), P(1)), "solve_ivp-backwards"),
]

NOT_DIFFERENTIABLE_CASES = {
    "greater": (lambda x: x > 0, R(4)),
    "greater_equal": (lambda x: x >= 0, R(4)),
    "less": (lambda x: x < 0, R(4)),
    "less_equal": (lambda x: x <= 0, R(4)),
    "equal": (lambda x: x == x, R(4)),
    "not_equal": (lambda x: x != 0, R(4)),
    "logical_and": (lambda x: rnp.logical_and(x, x > 0), R(4)),
    "logical_or": (lambda x: rnp.logical_or(x, x > 0), R(4)),
    "logical_xor": (lambda x: rnp.logical_xor(x, x > 0), R(4)),
    "logical_not": (rnp.logical_not, R(4)),
    "isnan": (rnp.isnan, R(4)),
    "isinf": (np.isinf, R(4)),
    "isfinite": (np.isfinite, R(4)),
    "signbit": (rnp.signbit, R(4)),
    "any": (lambda x: rnp.any(x > 0, axis=0), R(2, 3)),
    "all": (lambda x: np.all(x, axis=1), R(2, 3)),
    # (function, input, dtype kind of the output)
    "argmax": (lambda x: rnp.argmax(x, axis=0), R(3, 2), "i"),
    "argmin": (lambda x: np.argmin(x, axis=1), R(3, 2), "i"),
    "argsort": (rnp.argsort, R(4), "i"),
    "count_nonzero": (lambda x: rnp.count_nonzero(x > 0, axis=0), R(3, 2), "i"),
    "nonzero": (lambda x: np.nonzero(x > 0)[0], R(5), "i"),
}

# -- scipy.special: beta, incomplete gamma and beta, ... (riesz.scipy.special, SPEC §14) -----
# Their own generator, so the inputs of the cases above do not move. Shape parameters and
# orders without a derivative are constants of the case's function.
_special_rng = np.random.default_rng(14)


def _SU(lo: float, hi: float) -> Callable[..., np.ndarray]:
    return lambda *shape: _special_rng.uniform(lo, hi, shape)


_SP, _SX = _SU(0.5, 2.0), _SU(0.1, 0.8)
_A = np.array([0.7, 1.5, 3.0], np.float32)  # float32: keeps float32 cases float32
CASES += [
    *_binary("beta", rsp.beta, _SP),
    *_binary("betaln", rsp.betaln, _SP),
    Case("betaln", rsp.betaln, (np.array([30.0, 1e3]), np.array([0.5, 2e3])), "large"),
    Case("gammainc", lambda x: rsp.gammainc(_A, x), (_SP(2, 3),), "a-vector"),
    Case("gammainc", lambda x: rsp.gammainc(2.5, x), (_SP(),), "a-scalar"),
    Case("gammainc", lambda x: rsp.gammainc(_A[:, None], x), (_SP(4),), "outer"),
    Case("gammaincc", lambda x: rsp.gammaincc(_A, x), (_SP(3),), "a-vector"),
    Case("gammaincc", lambda x: rsp.gammaincc(0.8, x), (_SP(2, 3),), "a-scalar"),
    Case("gammainc", rsp.gammainc, (_SU(0.5, 4.0)(3), _SU(0.2, 3.0)(2, 3)), "in-a-and-x"),
    Case("gammainc", lambda a: rsp.gammainc(a, 6.0), (_SU(1.0, 3.0)(2),), "in-a-tail"),
    Case("gammaincc", rsp.gammaincc, (_SU(0.5, 4.0)(2, 1), _SU(0.2, 6.0)(1, 3)), "in-a-and-x"),
    Case("betainc", lambda x: rsp.betainc(_A, 2.0, x), (_SX(2, 3),), "a-vector"),
    Case("betainc", lambda x: rsp.betainc(1.5, _A[:, None], x), (_SX(4),), "outer"),
    Case("betainc", lambda x: rsp.betainc(0.6, 0.9, x), (_SX(),), "scalar"),
    Case("betainc", rsp.betainc, (_SU(0.5, 3.0)(3), _SU(0.5, 3.0)(2, 1), _SX(2, 3)), "in-a-b-x"),
    Case("betainc", lambda a, b: rsp.betainc(a, b, 0.8), (_SU(0.5, 2.0)(2), _SU(2.0, 5.0)(2)),
         "in-a-b-swapped"),
    Case("betaincc", lambda x: rsp.betaincc(_A, 2.0, x), (_SX(2, 3),), "a-vector"),
    Case("betaincc", lambda x: rsp.betaincc(0.6, 0.9, x), (_SX(),), "scalar"),
    Case("betaincc", rsp.betaincc, (_SU(0.5, 3.0)(3), _SU(0.5, 3.0)(3), _SX(3)), "in-a-b-x"),
]



def _SPM(*shape: int) -> np.ndarray:
    """Both signs, away from 0."""
    return _special_rng.choice([-1.0, 1.0], shape) * _special_rng.uniform(0.3, 2.0, shape)


_V = np.array([0.0, 1.5, 3.0], np.float32)
CASES += [
    *_unary("erfinv", rsp.erfinv, _SU(-0.8, 0.8)),
    *_unary("erfcinv", rsp.erfcinv, _SU(0.2, 1.7)),
    *_unary("rgamma", rsp.rgamma, _SU(-2.5, 3.0)),
    Case("rgamma", rsp.rgamma, (np.array([-2.0, -1.0, 0.0]),), "zeros"),
    Case("jv", lambda x: rsp.jv(_V, x), (_SP(2, 3),), "v-vector"),
    Case("jv", lambda x: rsp.jn(2, x), (_SPM(4),), "jn"),
    Case("yv", lambda x: rsp.yv(_V, x), (_SP(3),), "v-vector"),
    Case("yv", lambda x: rsp.yv(0.5, x), (_SP(2, 2),), "half"),
    Case("iv", lambda x: rsp.iv(_V[:, None], x), (_SP(2),), "outer"),
    Case("iv", lambda x: rsp.iv(2, x), (_SPM(4),), "int-order"),
    Case("ive", lambda x: rsp.ive(_V, x), (_SP(2, 3),), "v-vector"),
    Case("ive", lambda x: rsp.ive(1, x), (_SPM(4),), "signs"),
    Case("kv", lambda x: rsp.kv(_V, x), (_SP(3),), "v-vector"),
    Case("kv", lambda x: rsp.kv(0.5, x), (_SP(),), "half"),
    Case("yn", lambda x: rsp.yn(2, x), (_SP(3),), "n2"),
    Case("yn", lambda x: rsp.yn(0, x), (_SP(2, 2),), "n0"),
    *_unary("j0", rsp.j0, _SPM),
    *_unary("j1", rsp.j1, _SPM),
    *_unary("y0", rsp.y0, _SP),
    *_unary("y1", rsp.y1, _SP),
    *_unary("i0", rsp.i0, _SPM),
    *_unary("i1", rsp.i1, _SPM),
    *_unary("i0e", rsp.i0e, _SPM),
    *_unary("i1e", rsp.i1e, _SPM),
]
ZERO_DERIVATIVE_CASES["gammasgn"] = (rsp.gammasgn, _SU(-3.0, 3.0)(5))

# Drawn last, from the complex generator: earlier cases keep their inputs.
CASES += [  # convolutions of complex arrays (the public correlations conjugate their 2nd argument)
    Case("correlate_valid", lambda a, v: rnp.convolve(a, v), (C(5), C(3)), "complex-convolve-full"),
    Case("correlate_valid", lambda a, v: rnp.correlate(a, v, "same"), (C(5), C(3)),
         "complex-correlate-same"),
    Case("correlate_valid", lambda a, v: rnp.correlate(a, v, "full"), (C(3), C(5)),
         "complex-correlate-swapped"),
    Case("correlate_valid", lambda a, v: rnp.correlate(a, v), (RC(5), C(2)),
         "complex-mixed-real-a"),
    Case("correlate_valid", lambda x, k: rss.correlate(x, k, mode="valid"), (C(4, 5), RC(2, 3)),
         "complex-2d-valid-real-k"),
    Case("correlate_valid", lambda x, k: rss.correlate2d(x, k, mode="valid"), (C(2, 3), C(3, 4)),
         "complex-2d-valid-swapped"),
    Case("correlate_valid", lambda x, k: rss.convolve2d(x, k, mode="same"), (C(3, 4), C(2, 2)),
         "complex-2d-same"),
]
CASES += [  # logsumexp (a composite) on complex values: the principal log of Σ b e^a
    Case("log", lambda x: rsp.logsumexp(x, axis=1), (C(2, 3),), "complex-logsumexp"),
    Case("log", lambda x, b: rsp.logsumexp(x, b=b), (C(3), RC(3)), "complex-logsumexp-b"),
    Case("log", lambda x: rsp.softmax(x), (C(3),), "complex-softmax"),
]
CASES += [  # Sylvester equations on complex matrices (the adjoint solves with Aᴴ, Bᴴ)
    Case("solve_sylvester", rsl.solve_sylvester, (CW(3, 3), CW(2, 2), C(3, 2)), "complex"),
    Case("solve_sylvester", rsl.solve_sylvester, (CW(2, 3, 3), RC(3, 3) + 2 * np.eye(3), C(3, 3)),
         "complex-batched-mixed-real-b"),
    Case("solve_sylvester", rsl.solve_continuous_lyapunov, (CW(3, 3), C(3, 3)), "complex-lyapunov"),
]


def _CB(lower: int, upper: int, n: int) -> np.ndarray:
    """Complex band storage of a diagonally dominant matrix."""
    ab = 0.3 * C(lower + upper + 1, n)
    ab[upper] += 3.0
    return ab


CASES += [  # banded solves on complex values (the adjoint solves with Aᴴ)
    Case("solve_banded", lambda ab, b: rsl.solve_banded((1, 2), ab, b), (_CB(1, 2, 5), C(5)),
         "complex"),
    Case("solve_banded", lambda ab, b: rsl.solve_banded((2, 1), ab, b), (_CB(2, 1, 4), RC(4, 2)),
         "complex-matrix-real-b"),
]


def _CZ(*shape: int) -> np.ndarray:
    """Complex input whose real parts have both signs, away from 0 (ive's e^-|Re z|)."""
    return (_crng.choice([-1.0, 1.0], shape) * _crng.uniform(0.3, 2.0, shape)
            + 1j * _crng.standard_normal(shape))


CASES += [  # LU factorisation (the adjoint conjugates: Aᴴ, Uᴴ, Lᴴ) and ive on complex values
    Case("lu_factor", lambda a: rsl.lu_factor(a)[0], (CW(3, 3),), "complex-lu"),
    Case("lu_factor", lambda a, b: rsl.lu_solve(rsl.lu_factor(a), b), (CW(3, 3), C(3)),
         "complex-lu_solve"),
    Case("lu_factor", lambda a, b: rsl.lu_solve(rsl.lu_factor(a), b, trans=1), (CW(3, 3), C(3, 2)),
         "complex-lu_solve-trans"),
    Case("lu_factor", lambda a, b: rsl.lu_solve(rsl.lu_factor(a), b, trans=2), (CW(3, 3), C(3, 2)),
         "complex-lu_solve-conj-trans"),
    Case("lu_factor", lambda a, b: rsl.lu_solve(rsl.lu_factor(a), b), (CW(3, 3), RC(3)),
         "complex-lu_solve-real-b"),
    Case("ive", lambda x: rsp.ive(_V, x), (_CZ(2, 3),), "complex"),
    Case("ive", lambda x: rsp.ive(1, x), (_CZ(4),), "complex-int-order"),
]
