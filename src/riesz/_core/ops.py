"""The array namespace: the array operations that layers below the array layer call.

`_core`, `_interpreters` and the shared rule helpers of `riesz._primitives` know
no array functions of their own. The array layer registers here, explicitly and
once at import, the few operations they need: `riesz._primitives` the primitives
behind `Tracer`'s operators and the structural operations of the interpreters
(moving a batch axis, stacking slices, casting a coefficient), `riesz.numpy`
the functions behind `Tracer`'s ndarray methods (`x.sum()`, `x.T`, ...).
Callers read them as attributes of this module (`ops.add_p`); reading a name
nobody registered raises a `LookupError` that says so. (A module, not an
object with `__getattr__`: attribute reads stay on CPython's fast path, and
the operators of `Tracer` are the hot path of tracing.)
"""

from __future__ import annotations

from typing import Any

__all__ = ["register", "registered"]

_OWN = frozenset(("register", "registered", "annotations", "Any"))
_registered: dict[str, Any] = {}


def register(**entries: Any) -> None:
    """Register operations by name; a name is registered once."""
    namespace = globals()
    for name, op in entries.items():
        if name.startswith("_") or name in _OWN:
            raise ValueError(f"riesz._core.ops: {name!r} cannot be registered")
        old = _registered.get(name)
        if old is not None and old is not op:
            raise ValueError(f"riesz._core.ops.{name} is already registered")
        _registered[name] = op
        namespace[name] = op


def registered() -> list[str]:
    """The names registered so far (sorted)."""
    return sorted(_registered)


def __getattr__(name: str) -> Any:  # only reached for names not registered
    if name.startswith("__"):
        raise AttributeError(name)
    raise LookupError(
        f"riesz._core.ops.{name} is not registered: the array layer registers it when "
        "imported (import riesz, or riesz.numpy, before tracing)"
    )
