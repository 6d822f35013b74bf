"""The array namespace: the array operations that layers below the array layer call.

`_core`, `_interpreters` and the shared rule helpers of `riesz._primitives` know
no array functions of their own. The array layer registers here, explicitly and
once at import, the few operations they need: `riesz._primitives` the primitives
behind `Tracer`'s operators and the structural operations of the interpreters
(moving a batch axis, stacking slices, casting a coefficient), `riesz.numpy`
the functions behind `Tracer`'s ndarray methods (`x.sum()`, `x.T`, ...).
Reading a name nobody registered raises a `LookupError` that says so.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ArrayNamespace", "ops"]


class ArrayNamespace:
    """Attribute access to registered operations; `register(name=op, ...)` fills it."""

    def __getattr__(self, name: str) -> Any:  # only reached for unregistered names
        if name.startswith("__"):
            raise AttributeError(name)
        raise LookupError(
            f"riesz._core.arrays.ops.{name} is not registered: the array layer registers it "
            "when imported (import riesz, or riesz.numpy, before tracing)"
        )

    def register(self, **entries: Any) -> None:
        """Register operations by name; a name is registered once."""
        for name, op in entries.items():
            old = self.__dict__.get(name)
            if old is not None and old is not op:
                raise ValueError(f"riesz._core.arrays.ops.{name} is already registered")
            self.__dict__[name] = op

    def registered(self) -> list[str]:
        """The names registered so far (sorted)."""
        return sorted(self.__dict__)


ops = ArrayNamespace()
