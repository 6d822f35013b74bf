"""Differentiable SciPy: `riesz.scipy.special`, `riesz.scipy.linalg`,
`riesz.scipy.signal` (real arrays; SciPy's names and signatures).

The special functions are NumPy ufuncs in SciPy, so unmodified code calling
`scipy.special.erf(x)` on a traced value differentiates too; the other
SciPy functions must be called through this package.
"""

from __future__ import annotations

from . import linalg, signal, special

__all__ = ["linalg", "signal", "special"]
