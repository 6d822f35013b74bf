"""matplotlib, imported lazily: figures are optional (the `plot` extra)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def pyplot(note: Callable[[str], None] = print) -> Any:
    """matplotlib's pyplot on the Agg backend, or None (with a note) if it is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        note("matplotlib is not installed (pip install 'riesz[plot]'); skipping the figure")
        return None
    return plt
