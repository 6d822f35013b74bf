"""matplotlib, imported lazily: figures are optional (the `plot` extra)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
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


def save_figure(fig: Any, directory: str | Path, name: str,
                note: Callable[[str], None] = print) -> Path:
    """Write `fig` as `directory/name` (created if needed), close it, say where."""
    import matplotlib.pyplot as plt

    path = Path(directory) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    note(f"wrote {path}")
    return path
