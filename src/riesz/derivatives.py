"""Derivatives as objects: `derivative`, `linearize`, `linear_transpose`,
and the materialised Jacobians `jacfwd`, `jacrev`, `jacobian`, `hessian`.

`derivative(f)(x)` is ∂f(x) as a `LinearMap` from the space of x to the space
of f(x). It is built on one evaluation of f that records a tape
(`linearize_parts`): applying the map, ∂f(x)[u], is a forward sweep of that
tape and its transpose, ∂f(x)*[v] in Euclidean spaces, a backward sweep; f is
not run again. For a scalar f the map is a linear functional (a covector),
not the gradient: the gradient under a space's inner product is its Riesz
representer, `derivative(f, domain=S)(x).riesz()` = `grad(f, space=S)(x)`.

The Jacobians materialise these maps (`JacobianMap`): all columns ∂f(x)[e_j]
in one vectorised forward sweep, or all rows ∂f(x)*[e_i] in one vectorised
backward sweep.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import numpy as rnp
from ._core.pytree import tree_flatten, tree_map, tree_unflatten
from ._core.trace import Tracer, raw_value
from ._core.zeros import is_foreign
from .linear import JacobianMap, LinearMap, LinearMaps, columns
from .spaces import Euclidean, Product, Space, space_of
from .transforms import _argnums_tuple, _single, jvp, linearize_in_call, linearize_parts, vjp

__all__ = [
    "derivative",
    "hessian",
    "jacfwd",
    "jacobian",
    "jacrev",
    "linear_transpose",
    "linearize",
]


def _partial(f: Callable[..., Any], args: Sequence[Any], nums: tuple[int, ...],
             kwargs: dict[str, Any]) -> Callable[..., Any]:
    """f as a function of the arguments `nums` only (the others closed over)."""

    repeated = len(set(nums)) < len(nums)

    def f_of_selected(*selected: Any) -> Any:
        full = list(args)
        for k, v in zip(nums, selected, strict=True):
            if repeated and full[k] is not args[k]:
                # a repeated argnum is x + Σ_j (x_j - x) over its occurrences x_j, so
                # each occurrence gets the whole derivative (as in grad)
                v = tree_map(lambda a, b, x: a + (b - x), full[k], v, args[k])
            full[k] = v
        return f(*full, **kwargs)

    return f_of_selected


def _backend_like(leaves: Sequence[Any]) -> Any:
    """An array of the leaves' backend where it is not NumPy (CuPy, Dask), else None:
    materialised derivatives build their basis there."""
    return next((c for c in map(raw_value, leaves) if is_foreign(c)), None)


def _map_from_parts(out: Any, jvp_fn: Callable[..., Any], vjp_fn: Callable[..., Any],
                    primals: Sequence[Any], single: bool, domain: Space | None,
                    codomain: Space | None, name: str) -> JacobianMap:
    """The JacobianMap of a recorded linearization, between the given spaces."""
    dom = space_of(primals[0]) if single else Product(*(space_of(p) for p in primals))
    like = _backend_like(tree_flatten(primals)[0])
    return JacobianMap(jvp_fn, vjp_fn, domain or dom, codomain or space_of(out), single, name,
                       like)


def linearize(f: Callable[..., Any], *primals: Any, domain: Space | None = None,
              codomain: Space | None = None) -> tuple[Any, LinearMap]:
    """Evaluate `f` once at `primals`; return `(f(*primals), ∂f(primals))`.

    The LinearMap applies ∂f[u] by sweeping the recorded tape forward and its
    transpose by sweeping it backward, without re-running f. With several
    primals its domain is their `Product` and it is applied to a tuple.
    `domain` / `codomain` attach other geometries (e.g. a `Weighted` space) to
    the map, which changes its `adjoint`, not its values.

    Math: (f(x), u ↦ ∂f(x)[u]); `.T` applies v ↦ ∂f(x)*[v].

    Examples
    --------
    >>> y, df = riesz.linearize(lambda x: x**3, np.array([1.0, 2.0]))
    >>> print(df(np.array([1.0, 1.0])), df.T(np.array([1.0, 0.0])))  # 3 x² ⊙ u
    [ 3. 12.] [3. 0.]

    Raises
    ------
    TypeError
        If no primal is passed.
    """
    if not primals:
        raise TypeError("linearize: pass at least one primal, e.g. linearize(f, x)")
    out, jvp_fn, vjp_fn = linearize_parts(f, *primals)
    name = f"∂{getattr(f, '__name__', 'f')}"
    return out, _map_from_parts(out, jvp_fn, vjp_fn, primals, len(primals) == 1, domain,
                                codomain, name)


def derivative(f: Callable[..., Any], argnums: int | Sequence[int] = 0, *,
               domain: Space | None = None, codomain: Space | None = None
               ) -> Callable[..., LinearMap]:
    """The derivative operator: `derivative(f)(*args)` is ∂f(args) with respect to
    the arguments `argnums`, a LinearMap (for a tuple of argnums, on their Product).

    For a scalar f it is a linear functional u ↦ ∂f(x)[u]: its `.T(1.0)` is the
    covector ∂f(x)*[1] and its `.riesz()` the gradient in the domain's geometry.
    Applied to a function that returns LinearMaps (such as `derivative(f)`), it
    gives a map whose values are maps: B = derivative(derivative(f))(x) with
    B(u) a LinearMap and B(u, v) = ∂²f(x)[u, v].

    Math: derivative(f)(x) = ∂f(x), the LinearMap u ↦ ∂f(x)[u] with transpose v ↦ ∂f(x)*[v].

    Examples
    --------
    >>> D = riesz.derivative(lambda x: (x**2).sum())(np.array([1.0, 2.0]))
    >>> print(D(np.array([1.0, 1.0])), D.T(1.0))  # ⟨2x, u⟩ and the covector 2x
    6.0 [2. 4.]

    Raises
    ------
    NotImplementedError
        For third and higher derivatives as multilinear maps (nest `jvp` instead).
    TypeError
        If `argnums` is malformed or an input is an integer array.
    """
    map_valued = getattr(f, "_riesz_derivative_of", None)
    single = _single(argnums)

    def derivative_of_f(*args: Any, **kwargs: Any) -> LinearMap:
        nums = _argnums_tuple(argnums, len(args), "derivative")
        if map_valued is not None:
            return _second_derivative(f, map_valued, args, kwargs, nums, single, domain)
        g = _partial(f, args, nums, kwargs)
        primals = [args[k] for k in nums]
        out, jvp_fn, vjp_fn = linearize_parts(g, *primals)
        return _map_from_parts(out, jvp_fn, vjp_fn, primals, single, domain, codomain,
                               f"∂{getattr(f, '__name__', 'f')}")

    derivative_of_f.__name__ = f"derivative_of_{getattr(f, '__name__', 'f')}"
    # a function attribute (mypy has no type for it): derivative() of this function reads it
    derivative_of_f._riesz_derivative_of = (f, argnums)  # type: ignore[attr-defined]
    return derivative_of_f


def _second_derivative(df: Callable[..., LinearMap], base: tuple[Any, Any], args: Sequence[Any],
                       kwargs: dict[str, Any], nums: tuple[int, ...], outer_single: bool,
                       domain: Space | None) -> LinearMap:
    """B(u)(v) = ∂/∂x [∂f(x)[v]] [u]: the derivative of x ↦ ∂f(x), a map of maps."""
    f, inner_argnums = base
    if getattr(f, "_riesz_derivative_of", None) is not None:
        raise NotImplementedError("derivative: third and higher derivatives as multilinear "
                                  "maps are not available yet; nest jvp or use jet")
    inner = df(*args, **kwargs)  # one evaluation of f gives the inner map's spaces
    inner_nums = _argnums_tuple(inner_argnums, len(args), "derivative")
    outer_primals = [args[k] for k in nums]
    dom = domain or (space_of(outer_primals[0]) if outer_single
                     else Product(*(space_of(p) for p in outer_primals)))

    def second(u: Any) -> LinearMap:
        us = (u,) if outer_single else tuple(u)

        def second_u(v: Any) -> Any:
            vs = (v,) if _single(inner_argnums) else tuple(v)

            def first(*xs: Any) -> Any:
                full = list(args)
                for k, x in zip(nums, xs, strict=True):
                    full[k] = x
                g = _partial(f, full, inner_nums, kwargs)
                return jvp(g, [full[k] for k in inner_nums], list(vs))[1]

            return jvp(first, outer_primals, list(us))[1]

        return LinearMap(second_u, inner.domain, inner.codomain, name="∂²f(x)[u]")

    return LinearMap(second, dom, LinearMaps(inner.domain, inner.codomain), name="∂²f(x)")


def linear_transpose(f: Callable[..., Any],
                     *example_primals: Any) -> Callable[[Any], tuple[Any, ...]]:
    """The transpose of a linear `f`: a function c ↦ fᵀ c returning a tuple with
    one entry per primal, pair(fᵀ c, u) = pair(c, f(u)).

    The examples give shapes and dtypes only; f is linear, so its VJP at any point
    (riesz uses zeros) is its transpose.

    Math: fᵀ with pair(fᵀ c, u) = pair(c, f(u)) for a linear f.

    Examples
    --------
    >>> M = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> fT = riesz.linear_transpose(lambda u: M @ u, np.zeros(2))
    >>> print(fT(np.array([1.0, 0.0])))  # (Mᵀ c,)
    (array([1., 2.]),)

    Raises
    ------
    TypeError
        If no example primal is given.
    """
    if not example_primals:
        raise TypeError("linear_transpose: pass example primals giving the input shapes")
    zeros = [tree_unflatten(d, [np.zeros(np.shape(x), getattr(x, "dtype", np.float64))
                                for x in leaves])
             for leaves, d in (tree_flatten(p) for p in example_primals)]
    _, pull = vjp(f, *zeros)

    def transpose_of_f(cotangent: Any) -> tuple[Any, ...]:
        return pull(cotangent)

    transpose_of_f.__name__ = f"transpose_of_{getattr(f, '__name__', 'f')}"
    return transpose_of_f


# -- materialised Jacobians -----------------------------------------------------------


def _shape(x: Any) -> tuple[int, ...]:
    return x.shape if isinstance(x, Tracer) else tuple(np.shape(x))


def _dtype(x: Any) -> np.dtype:
    r = raw_value(x)
    return np.result_type(getattr(r, "dtype", r))  # by the dtype: a Dask array stays lazy


def _is_complex(x: Any) -> bool:
    return _dtype(x).kind == "c"


class _Coordinates:
    """Flat coordinates of a list of array leaves: leaf j takes its `size` entries
    in storage order, or, where `split[j]` (a complex leaf seen as a real array),
    2·size real ones, its real parts then its imaginary parts, the order of
    `Euclidean(shape, complex).basis()`, i.e. the flattened (2, *shape) array
    `stack([x.real, x.imag])`. Written with riesz ops, so it can be traced."""

    def __init__(self, leaves: Sequence[Any], split: Sequence[bool]):
        self.shapes = [_shape(x) for x in leaves]
        self.dtypes = [_dtype(x) for x in leaves]
        self.split = list(split)
        self.coord_shapes = [(2, *s) if c else s for s, c in zip(self.shapes, self.split,
                                                                    strict=True)]
        self.sizes = [int(np.prod(s, dtype=int)) for s in self.coord_shapes]
        self.starts = [int(a) for a in np.cumsum([0, *self.sizes])]
        self.dim = self.starts[-1]

    def leaves(self, v: Any) -> list[Any]:
        """The leaves whose coordinates are the real vector v."""
        out = []
        for j, (s, dt) in enumerate(zip(self.shapes, self.dtypes, strict=True)):
            part = v[self.starts[j]:self.starts[j + 1]]
            if self.split[j]:
                half = self.sizes[j] // 2
                part = part[:half] + 1j * part[half:]
            elif dt.kind == "c":
                part = part.astype(dt)
            out.append(rnp.reshape(part, s))
        return out

    def vector(self, leaves: Sequence[Any]) -> Any:
        """The coordinate vector of the leaves (complex where an unsplit leaf is)."""
        parts = []
        for x, c in zip(leaves, self.split, strict=True):
            x = rnp.reshape(x, (-1,))
            parts.extend([rnp.real(x), rnp.imag(x)] if c else [x])
        return parts[0] if len(parts) == 1 else rnp.concatenate(parts)

    def merged(self, M: Any, axis: int) -> Any:
        """M with the split coordinates along `axis` merged back into one complex
        coordinate per entry: re + i·im (the representer of a real functional of a
        complex input, or a complex tangent from its real and imaginary parts)."""
        if not any(self.split):
            return M
        parts = []
        for j, c in enumerate(self.split):
            a, b = self.starts[j], self.starts[j + 1]
            if c:
                h = (a + b) // 2
                parts.append(_take(M, a, h, axis) + 1j * _take(M, h, b, axis))
            else:
                parts.append(_take(M, a, b, axis))
        return parts[0] if len(parts) == 1 else rnp.concatenate(parts, axis=axis)


def _take(M: Any, a: int, b: int, axis: int) -> Any:
    return M[a:b] if axis == 0 else M[:, a:b]


def _blocks(M: Any, out_shapes: list[tuple[int, ...]], out_def: Any, out_real: list[bool],
            in_shapes: list[tuple[int, ...]], in_def: Any, in_real: list[bool]) -> Any:
    """Split the (rows, columns) matrix into JAX's nested pytree of Jacobian blocks:
    for each output leaf, the input pytree of arrays of shape out_shape + in_shape
    (real where both leaves are real)."""
    result, r0 = [], 0
    cplx = _dtype(M).kind == "c"
    for os_, o_real in zip(out_shapes, out_real, strict=True):
        r1 = r0 + int(np.prod(os_, dtype=int))
        row, c0 = [], 0
        for is_, i_real in zip(in_shapes, in_real, strict=True):
            c1 = c0 + int(np.prod(is_, dtype=int))
            block = M[r0:r1, c0:c1]
            if cplx and o_real and i_real:
                block = rnp.real(block)
            row.append(rnp.reshape(block, os_ + is_))
            c0 = c1
        result.append(tree_unflatten(in_def, row))
        r0 = r1
    return tree_unflatten(out_def, result)


def _not_defined(who: str) -> TypeError:
    return TypeError(
        f"{who}: f maps complex inputs to complex outputs. A complex Jacobian matrix f'(z) "
        f"is the derivative of a holomorphic f only: pass {who}(f, holomorphic=True). For a "
        "map that is not holomorphic (conj, abs, a mix), its derivative is R-linear, not a "
        "complex matrix: use riesz.derivative(f)(z) (a LinearMap over the complex space; "
        "`.materialize('orthonormal')` gives its real matrix in the bases e_k, i·e_k), or "
        "riesz.jvp / riesz.vjp")


def _jacobian_matrix(who: str, jvp_fn: Callable[..., Any], vjp_fn: Callable[..., Any],
                     ins: list[Any], in_def: Any, outs: list[Any], out_def: Any, mode: str,
                     holomorphic: bool, real: bool) -> tuple[Any, _Coordinates, _Coordinates]:
    """The Jacobian matrix of the recorded map, with the coordinates of its rows and
    columns. `real`: the matrix of the R-linear map in real coordinates (complex
    leaves split into real and imaginary parts on both sides); otherwise complex
    leaves keep one complex coordinate per entry, which is well defined for a
    holomorphic map (f'(z)), a real output of a complex input (rows: the Riesz
    representers, as `grad`) and a complex output of a real input (columns: the
    tangents ∂f(x)[e_k])."""
    in_c, out_c = [_is_complex(x) for x in ins], [_is_complex(y) for y in outs]
    if holomorphic:
        if not all(in_c) or not all(out_c):
            what = "inputs" if not all(in_c) else "outputs"
            raise TypeError(f"{who}(holomorphic=True) requires complex {what} (a holomorphic f "
                            "maps complex values to complex values); drop holomorphic=True for "
                            "a real input or a real-valued f")
    elif not real and any(in_c) and any(out_c):
        raise _not_defined(who)
    split_in = [c and not holomorphic for c in in_c]  # the basis of a real input space
    split_out = [c and not holomorphic for c in out_c]
    # the coordinates of the other side: split too for the real matrix, else storage
    vec_in = _Coordinates(ins, in_c if real else [False] * len(ins))
    vec_out = _Coordinates(outs, out_c if real else [False] * len(outs))
    basis_in, basis_out = _Coordinates(ins, split_in), _Coordinates(outs, split_out)
    like = _backend_like(ins)  # the basis on the inputs' backend (CuPy, Dask)
    if mode == "auto":
        mode = "rev" if basis_out.dim < basis_in.dim else "fwd"
    if mode == "fwd":  # columns ∂f(x)[b] over the real basis b of the input space

        def column(v: Any) -> Any:
            return vec_out.vector(tree_flatten(jvp_fn(*tree_unflatten(in_def,
                                                                      basis_in.leaves(v))))[0])

        M = columns(column, Euclidean((basis_in.dim,)), Euclidean((vec_out.dim,)), like)
        return (M if real else basis_in.merged(M, 1)), vec_out, vec_in

    def row(w: Any) -> Any:  # rows ∂f(x)*[b] over the real basis b of the output space
        return vec_in.vector(tree_flatten(vjp_fn(tree_unflatten(out_def,
                                                                basis_out.leaves(w))))[0])

    M = rnp.transpose(columns(row, Euclidean((basis_out.dim,)), Euclidean((vec_in.dim,)),
                              like))
    if holomorphic:  # ∂f(z)*[e_i] = conj(row i of f'(z))
        M = rnp.conj(M)
    return (M if real else basis_out.merged(M, 0)), vec_out, vec_in


def _jacobian(f: Callable[..., Any], argnums: int | Sequence[int], mode: str,
              who: str, holomorphic: bool = False, real: bool = False) -> Callable[..., Any]:
    def jacobian_of_f(*args: Any, **kwargs: Any) -> Any:
        nums = _argnums_tuple(argnums, len(args), who)
        g = _partial(f, args, nums, kwargs)
        primals = [args[k] for k in nums]
        with linearize_in_call(g, *primals) as (out, jvp_fn, vjp_fn):
            ins, in_def = tree_flatten(tuple(primals))
            outs, out_def = tree_flatten(out)
            M, rows, cols = _jacobian_matrix(who, jvp_fn, vjp_fn, ins, in_def, outs, out_def,
                                             mode, holomorphic, real)
        if _single(argnums):  # blocks keyed by the one argument's pytree
            in_def = tree_flatten(primals[0])[1]
        return _blocks(M, rows.coord_shapes, out_def, [not _is_complex(y) for y in outs],
                       cols.coord_shapes, in_def, [not _is_complex(x) for x in ins])

    jacobian_of_f.__name__ = f"{who}_of_{getattr(f, '__name__', 'f')}"
    return jacobian_of_f


def jacfwd(f: Callable[..., Any], argnums: int | Sequence[int] = 0,
           holomorphic: bool = False) -> Callable[..., Any]:
    """The Jacobian of f by forward mode, one column ∂f(x)[e_j] per input basis
    vector; shape out.shape + in.shape (nested pytrees for pytree inputs/outputs).

    Complex values (Cⁿ a real space under Re vdot, SPEC §13): with
    `holomorphic=True` (complex inputs and outputs) the complex Jacobian f'(z), as
    JAX. Without it, a real output of complex inputs gives rows that are the Riesz
    representers ∂f/∂Re z + i ∂f/∂Im z (what `grad` returns; the columns are
    computed along e_k and i·e_k), and a complex output of real inputs gives the
    columns ∂f(x)[e_k].

    Math: J[:, j] = ∂f(x)[e_j].

    Examples
    --------
    >>> print(riesz.jacfwd(lambda x: x[0] * x)(np.array([1.0, 2.0])))  # x e₀ᵀ + x₀ I
    [[2. 0.]
     [2. 1.]]

    Raises
    ------
    TypeError
        For complex inputs and complex outputs without `holomorphic=True` (a complex
        Jacobian matrix represents a holomorphic derivative only: use
        `riesz.derivative`, `jvp` or `vjp` for other maps), or `holomorphic=True` with
        real inputs or outputs.
    """
    return _jacobian(f, argnums, "fwd", "jacfwd", holomorphic)


def jacrev(f: Callable[..., Any], argnums: int | Sequence[int] = 0,
           holomorphic: bool = False) -> Callable[..., Any]:
    """The Jacobian of f by reverse mode, one row ∂f(x)*[e_i] per output basis
    vector; shape out.shape + in.shape. Complex values as `jacfwd`: f'(z) with
    `holomorphic=True` (the conjugates of the rows ∂f(z)*[e_i]); the Riesz
    representers as rows for a real output of complex inputs; for a complex output
    of real inputs, rows from ∂f(x)*[e_i] and ∂f(x)*[i·e_i].

    Math: J[i, :] = ∂f(x)*[e_i].

    Examples
    --------
    >>> print(riesz.jacrev(lambda x: x[0] * x)(np.array([1.0, 2.0])))
    [[2. 0.]
     [2. 1.]]

    Raises
    ------
    TypeError
        As `jacfwd`: complex inputs and outputs without `holomorphic=True`.
    """
    return _jacobian(f, argnums, "rev", "jacrev", holomorphic)


def jacobian(f: Callable[..., Any], argnums: int | Sequence[int] = 0,
             holomorphic: bool = False) -> Callable[..., Any]:
    """The Jacobian of f, shape out.shape + in.shape: by reverse mode when the
    output is smaller than the input, else by forward mode. Complex values as
    `jacfwd`.

    Math: J = [∂f(x)[e_j]]_j (= [∂f(x)*[e_i]]_i).

    Examples
    --------
    >>> print(riesz.jacobian(lambda x: np.sin(x) * 2.0)(np.zeros(2)))  # diag(2 cos x)
    [[2. 0.]
     [0. 2.]]

    Raises
    ------
    TypeError
        As `jacfwd`: complex inputs and outputs without `holomorphic=True`.
    """
    return _jacobian(f, argnums, "auto", "jacobian", holomorphic)


def hessian(f: Callable[..., Any], argnums: int | Sequence[int] = 0,
            holomorphic: bool = False) -> Callable[..., Any]:
    """The Hessian of a scalar f, shape in.shape + in.shape: forward mode over
    reverse mode (jacfwd of jacrev).

    Complex inputs z = x + iy of a real-valued f: the R-bilinear ∂²f(z) as the
    ordinary real Hessian of f(x + iy) in (x, y). A complex input of shape s takes
    real coordinates of shape (2, *s), `stack([z.real, z.imag])`, so H has shape
    (2, *s, 2, *s), real and symmetric; `H.reshape(2n, 2n)` (n = z.size) is its
    matrix in the basis of `Euclidean(s, complex).basis()` (all e_k, then all
    i·e_k), and for u = a + ib, `H.reshape(2n, 2n) @ concatenate([a, b])` holds the
    real and imaginary parts of `hvp(f, (z,), (u,))`. With `holomorphic=True` (a
    holomorphic complex f): the complex second derivative f''(z), as JAX.

    Math: H[i, j] = ∂²f(x)[e_i, e_j] (e_i running over the real basis).

    Examples
    --------
    >>> print(riesz.hessian(lambda x: x[0] ** 2 * x[1])(np.array([1.0, 3.0])))
    [[6. 2.]
     [2. 0.]]
    >>> z = np.array([1.0 + 2.0j])  # |z|⁴ = (x² + y²)²: H = 4 (|z|² I + 2 (x, y)(x, y)ᵀ)
    >>> print(riesz.hessian(lambda z: np.sum(np.abs(z) ** 4))(z).reshape(2, 2))
    [[28. 16.]
     [16. 52.]]

    Raises
    ------
    TypeError
        If f has a complex output and is not declared holomorphic (use
        `holomorphic=True`, or `hvp` / `derivative`).
    """
    if holomorphic:
        h = jacfwd(jacrev(f, argnums, holomorphic=True), argnums, holomorphic=True)
    else:
        h = _jacobian(_jacobian(f, argnums, "rev", "hessian"), argnums, "fwd", "hessian",
                      real=True)
    h.__name__ = f"hessian_of_{getattr(f, '__name__', 'f')}"
    return h
