"""Helpers shared by the tour's sections."""

from __future__ import annotations

from typing import Any

import numpy as np

import riesz


def _maxerr(a: Any, b: Any) -> float:
    """The largest absolute difference between two arrays or pytrees of arrays."""
    la, lb = riesz.tree_leaves(a), riesz.tree_leaves(b)
    return max(float(np.max(np.abs(np.asarray(x) - np.asarray(y))))
               for x, y in zip(la, lb, strict=True))
