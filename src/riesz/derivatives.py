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
from .linear import JacobianMap, LinearMap, LinearMaps
from .spaces import Product, Space, space_of
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


def _map_from_parts(out: Any, jvp_fn: Callable[..., Any], vjp_fn: Callable[..., Any],
                    primals: Sequence[Any], single: bool, domain: Space | None,
                    codomain: Space | None, name: str) -> LinearMap:
    """The JacobianMap of a recorded linearization, between the given spaces."""
    dom = space_of(primals[0]) if single else Product(*(space_of(p) for p in primals))
    like = next((c for c in map(raw_value, tree_flatten(primals)[0]) if is_foreign(c)), None)
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


def _blocks(M: Any, out: Any, ins: Any) -> Any:
    """Split the (out.size, in.size) matrix into JAX's nested pytree of Jacobian
    blocks: for each output leaf, the input pytree of arrays of shape
    out_leaf.shape + in_leaf.shape."""
    out_leaves, out_def = tree_flatten(out)
    in_leaves, in_def = tree_flatten(ins)
    o_shapes = [tuple(np.shape(x)) if not isinstance(x, Tracer) else x.shape for x in out_leaves]
    i_shapes = [tuple(np.shape(x)) if not isinstance(x, Tracer) else x.shape for x in in_leaves]
    result, r0 = [], 0
    for os_ in o_shapes:
        r1 = r0 + int(np.prod(os_, dtype=int))
        row, c0 = [], 0
        for is_ in i_shapes:
            c1 = c0 + int(np.prod(is_, dtype=int))
            row.append(rnp.reshape(M[r0:r1, c0:c1], os_ + is_))
            c0 = c1
        result.append(tree_unflatten(in_def, row))
        r0 = r1
    return tree_unflatten(out_def, result)


def _check_complex(who: str, out: Any, primals: Any, holomorphic: bool) -> None:
    """A complex Jacobian matrix represents a C-linear map only: complex values
    need `holomorphic=True` (complex inputs, f holomorphic)."""
    ins = [np.result_type(raw_value(x)).kind for x in tree_flatten(primals)[0]]
    outs = [np.result_type(raw_value(x)).kind for x in tree_flatten(out)[0]]
    if holomorphic:
        if any(k != "c" for k in ins):
            raise TypeError(f"{who}(holomorphic=True) requires complex inputs")
        return
    if "c" in ins or "c" in outs:
        raise TypeError(
            f"{who}: complex inputs or outputs. A complex Jacobian matrix f'(z) represents "
            f"the derivative of a holomorphic f only: pass {who}(f, holomorphic=True). For "
            "any other function of complex values (abs, conj, a real loss) use riesz.jvp, "
            "riesz.vjp, riesz.hvp or riesz.derivative (R-linear maps on Cⁿ as a real space)"
        )


def _jacobian(f: Callable[..., Any], argnums: int | Sequence[int], mode: str,
              who: str, holomorphic: bool = False) -> Callable[..., Any]:
    def jacobian_of_f(*args: Any, **kwargs: Any) -> Any:
        nums = _argnums_tuple(argnums, len(args), who)
        g = _partial(f, args, nums, kwargs)
        primals = [args[k] for k in nums]
        with linearize_in_call(g, *primals) as (out, jvp_fn, vjp_fn):
            _check_complex(who, out, primals, holomorphic)
            J = _map_from_parts(out, jvp_fn, vjp_fn, primals, False, None, None, who)
            # holomorphic: the columns ∂f(z)[e_j] = f'(z) e_j (a row ∂f(z)*[e_i] is conj)
            M = J._matrix("fwd" if holomorphic else mode)
        single = _single(argnums)
        return _blocks(M, out, primals[0] if single else tuple(primals))

    jacobian_of_f.__name__ = f"{who}_of_{getattr(f, '__name__', 'f')}"
    return jacobian_of_f


def jacfwd(f: Callable[..., Any], argnums: int | Sequence[int] = 0,
           holomorphic: bool = False) -> Callable[..., Any]:
    """The Jacobian of f by forward mode, one column ∂f(x)[e_j] per input basis
    vector; shape out.shape + in.shape (nested pytrees for pytree inputs/outputs).
    Complex values: `holomorphic=True` gives f'(z) of a holomorphic f.

    Math: J[:, j] = ∂f(x)[e_j].

    Examples
    --------
    >>> print(riesz.jacfwd(lambda x: x[0] * x)(np.array([1.0, 2.0])))  # x e₀ᵀ + x₀ I
    [[2. 0.]
     [2. 1.]]

    Raises
    ------
    TypeError
        For complex inputs or outputs without `holomorphic=True` (a complex Jacobian
        matrix represents a holomorphic derivative only), or `holomorphic=True` with real
        inputs.
    """
    return _jacobian(f, argnums, "fwd", "jacfwd", holomorphic)


def jacrev(f: Callable[..., Any], argnums: int | Sequence[int] = 0,
           holomorphic: bool = False) -> Callable[..., Any]:
    """The Jacobian of f by reverse mode, one row ∂f(x)*[e_i] per output basis
    vector; shape out.shape + in.shape. Complex values: `holomorphic=True`.

    Math: J[i, :] = ∂f(x)*[e_i].

    Examples
    --------
    >>> print(riesz.jacrev(lambda x: x[0] * x)(np.array([1.0, 2.0])))
    [[2. 0.]
     [2. 1.]]

    Raises
    ------
    TypeError
        As `jacfwd`: complex values without `holomorphic=True`.
    """
    return _jacobian(f, argnums, "rev", "jacrev", holomorphic)


def jacobian(f: Callable[..., Any], argnums: int | Sequence[int] = 0,
             holomorphic: bool = False) -> Callable[..., Any]:
    """The Jacobian of f, shape out.shape + in.shape: by reverse mode when the
    output is smaller than the input, else by forward mode.

    Math: J = [∂f(x)[e_j]]_j (= [∂f(x)*[e_i]]_i).

    Examples
    --------
    >>> print(riesz.jacobian(lambda x: np.sin(x) * 2.0)(np.zeros(2)))  # diag(2 cos x)
    [[2. 0.]
     [0. 2.]]

    Raises
    ------
    TypeError
        As `jacfwd`: complex values without `holomorphic=True`.
    """
    return _jacobian(f, argnums, "auto", "jacobian", holomorphic)


def hessian(f: Callable[..., Any], argnums: int | Sequence[int] = 0) -> Callable[..., Any]:
    """The Hessian of a scalar f, shape in.shape + in.shape: forward mode over
    reverse mode (jacfwd of jacrev).

    Math: H[i, j] = ∂²f(x)[e_i, e_j].

    Examples
    --------
    >>> print(riesz.hessian(lambda x: x[0] ** 2 * x[1])(np.array([1.0, 3.0])))
    [[6. 2.]
     [2. 0.]]

    Raises
    ------
    TypeError
        If f is not a real scalar function.
    """
    h = jacfwd(jacrev(f, argnums), argnums)
    h.__name__ = f"hessian_of_{getattr(f, '__name__', 'f')}"
    return h
