"""Pytrees: nested containers whose leaves are arrays.

Transformations flatten their inputs and outputs at the API boundary only, so
the tracing core sees flat lists of leaves. Containers known out of the box:
tuple, list, dict, namedtuple and None; any other class is registered with
`register_pytree_node` (or `register_dataclass`). A leaf is an array, a NumPy
scalar, a Python number, a tracer, or an array-like that implements NumPy's
dispatch protocols (CuPy, Dask). Anything else raises a `TypeError` naming its
type, rather than being silently treated as a constant.
"""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Callable, Hashable, Iterable
from typing import Any, NamedTuple, TypeVar

__all__ = [
    "PyTreeDef",
    "register_dataclass",
    "register_pytree_node",
    "tree_flatten",
    "tree_leaves",
    "tree_map",
    "tree_structure",
    "tree_unflatten",
]


class _NodeType(NamedTuple):
    # (the registry holds every class's callbacks: their types are erased here)
    flatten: Callable[[Any], tuple[Iterable[Any], Hashable]]
    unflatten: Callable[[Any, list[Any]], Any]


_registry: dict[type, _NodeType] = {}
_T = TypeVar("_T")
_Aux = TypeVar("_Aux", bound=Hashable)  # what flatten returns and unflatten is given
_leaf_types: tuple[type, ...] = (numbers.Number,)


def register_pytree_node(
    cls: type[_T],
    flatten: Callable[[_T], tuple[Iterable[Any], _Aux]],
    unflatten: Callable[[_Aux, list[Any]], _T],
) -> type[_T]:
    """Register `cls` as a container: `flatten(x) -> (children, aux)` and
    `unflatten(aux, children) -> x`. Returns `cls` so it can decorate.

    Examples
    --------
    >>> class Pair:
    ...     def __init__(self, a, b):
    ...         self.a, self.b = a, b
    >>> _ = riesz.register_pytree_node(Pair, lambda p: ((p.a, p.b), None),
    ...                                lambda aux, ch: Pair(*ch))
    >>> g = riesz.grad(lambda p: p.a * p.b)(Pair(2.0, 3.0))  # a Pair of gradients
    >>> print(g.a, g.b)
    3.0 2.0

    Raises
    ------
    TypeError
        If `cls` is not a class.
    """
    if not isinstance(cls, type):
        raise TypeError(f"register_pytree_node: cls must be a class, got {cls!r}")
    _registry[cls] = _NodeType(flatten, unflatten)
    return cls


def register_dataclass(cls: type) -> type:
    """Register a dataclass whose fields are all children (use as a decorator).

    Examples
    --------
    >>> import dataclasses
    >>> @riesz.register_dataclass
    ... @dataclasses.dataclass
    ... class Params:
    ...     w: float
    ...     b: float
    >>> g = riesz.grad(lambda p: p.w * 2.0 + p.b)(Params(1.0, 0.0))  # a Params
    >>> print(g.w, g.b)
    2.0 1.0

    Raises
    ------
    TypeError
        If `cls` is not a dataclass.
    """
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"register_dataclass: {cls.__name__} is not a dataclass")
    names = tuple(f.name for f in dataclasses.fields(cls))

    def flatten(x: Any) -> tuple[list[Any], None]:
        return [getattr(x, n) for n in names], None

    def unflatten(_: Any, children: list[Any]) -> Any:
        return cls(**dict(zip(names, children, strict=True)))

    return register_pytree_node(cls, flatten, unflatten)


def register_leaf_type(cls: type) -> None:
    """Declare `cls` an array type (used by the array layers, e.g. tracers)."""
    global _leaf_types
    _leaf_types = (*_leaf_types, cls)


register_pytree_node(tuple, lambda x: (x, None), lambda _, c: tuple(c))
register_pytree_node(list, lambda x: (x, None), lambda _, c: list(c))
register_pytree_node(
    dict,
    lambda x: ([x[k] for k in sorted(x)], tuple(sorted(x))),
    lambda keys, c: dict(zip(keys, c, strict=True)),
)
register_pytree_node(type(None), lambda x: ((), None), lambda _, c: None)


class PyTreeDef:
    """The structure of a pytree: node type, auxiliary data and child structures."""

    __slots__ = ("node", "aux", "children", "num_leaves")

    def __init__(self, node: type | None, aux: Any, children: tuple[PyTreeDef, ...]):
        self.node = node  # None marks a leaf
        self.aux = aux
        self.children = children
        self.num_leaves: int = 1 if node is None else sum(c.num_leaves for c in children)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, PyTreeDef)
            and self.node is other.node
            and self.aux == other.aux
            and self.children == other.children
        )

    def __hash__(self) -> int:
        return hash((self.node, self.children))

    def __repr__(self) -> str:
        if self.node is None:
            return "*"
        inner = ", ".join(map(repr, self.children))
        return f"{self.node.__name__}({inner})"


_LEAF = PyTreeDef(None, None, ())


def _is_leaf(x: Any) -> bool:
    if isinstance(x, _leaf_types):
        return True
    t = type(x)
    return hasattr(t, "__array_function__") or hasattr(t, "__array_ufunc__")


def _node_type(x: Any) -> _NodeType | None:
    t = type(x)
    node = _registry.get(t)
    if node is None and isinstance(x, tuple) and hasattr(t, "_fields"):
        # namedtuples: rebuild with the same class
        def rebuild(_: Any, children: list[Any], t: type = t) -> Any:
            return t(*children)

        node = _NodeType(lambda v: (tuple(v), None), rebuild)
        _registry[t] = node
    return node


def tree_flatten(tree: Any, strict: bool = True) -> tuple[list[Any], PyTreeDef]:
    """Return the leaves of `tree` (left to right) and its structure.

    With `strict=False` unknown types are leaves (used for auxiliary outputs).

    Examples
    --------
    >>> leaves, treedef = riesz.tree_flatten({"w": np.ones(2), "b": 0.5})
    >>> print(leaves)
    [0.5, array([1., 1.])]

    Raises
    ------
    TypeError
        For a container type that is not registered (with `strict=True`).
    """
    leaves: list[Any] = []
    treedef = _flatten(tree, leaves, strict)
    return leaves, treedef


def _flatten(x: Any, leaves: list[Any], strict: bool) -> PyTreeDef:
    if _is_leaf(x):
        leaves.append(x)
        return _LEAF
    node = _node_type(x)
    if node is None:
        if strict:
            raise TypeError(
                f"type {type(x).__module__}.{type(x).__qualname__} is not a pytree "
                "node or an array; register it with riesz.register_pytree_node "
                "(or riesz.register_dataclass for a dataclass)"
            )
        leaves.append(x)
        return _LEAF
    children, aux = node.flatten(x)
    return PyTreeDef(type(x), aux, tuple(_flatten(c, leaves, strict) for c in children))


def tree_unflatten(treedef: PyTreeDef, leaves: Iterable[Any]) -> Any:
    """Inverse of `tree_flatten`.

    Examples
    --------
    >>> leaves, treedef = riesz.tree_flatten((1.0, {"a": 2.0}))
    >>> riesz.tree_unflatten(treedef, [10.0, 20.0])
    (10.0, {'a': 20.0})

    Raises
    ------
    ValueError
        If the number of leaves does not match the structure.
    """
    it = iter(leaves)
    out = _unflatten(treedef, it)
    if next(it, _sentinel) is not _sentinel:
        raise ValueError(f"too many leaves for tree structure {treedef}")
    return out


_sentinel = object()


def _unflatten(treedef: PyTreeDef, it: Any) -> Any:
    if treedef.node is None:
        x = next(it, _sentinel)
        if x is _sentinel:
            raise ValueError("too few leaves for tree structure")
        return x
    children = [_unflatten(c, it) for c in treedef.children]
    return _node_type_of(treedef.node).unflatten(treedef.aux, children)


def _node_type_of(cls: type) -> _NodeType:
    return _registry[cls]


def tree_leaves(tree: Any) -> list[Any]:
    """The leaves of `tree`, left to right (dicts in sorted key order).

    Examples
    --------
    >>> riesz.tree_leaves({"b": (1.0, 2.0), "a": np.zeros(2)})
    [array([0., 0.]), 1.0, 2.0]

    Raises
    ------
    TypeError
        For a container type that is not registered (`register_pytree_node`).
    """
    return tree_flatten(tree)[0]


def tree_structure(tree: Any) -> PyTreeDef:
    """The structure of `tree` without its leaves (a `PyTreeDef`, comparable with ==).

    Examples
    --------
    >>> riesz.tree_structure((1.0, [2.0, 3.0])) == riesz.tree_structure((0, [0, 0]))
    True

    Raises
    ------
    TypeError
        For a container type that is not registered (`register_pytree_node`).
    """
    return tree_flatten(tree)[1]


def tree_map(f: Callable[..., Any], tree: Any, *rest: Any) -> Any:
    """Apply `f` leafwise to `tree` and the trees in `rest` (same structure).

    Examples
    --------
    >>> riesz.tree_map(lambda x, y: x + y, (1.0, [2.0]), (10.0, [20.0]))
    (11.0, [22.0])

    Raises
    ------
    ValueError
        If the trees in `rest` do not have `tree`'s structure.
    """
    leaves, treedef = tree_flatten(tree)
    others = []
    for i, r in enumerate(rest):
        r_leaves, r_def = tree_flatten(r)
        if r_def != treedef:
            raise ValueError(
                f"tree_map: tree {i + 1} has structure {r_def}, expected {treedef}"
            )
        others.append(r_leaves)
    return tree_unflatten(treedef, [f(*xs) for xs in zip(leaves, *others, strict=False)])
