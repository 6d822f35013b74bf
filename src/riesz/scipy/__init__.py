"""Differentiable SciPy: `riesz.scipy.special`, `riesz.scipy.linalg`,
`riesz.scipy.signal`, `riesz.scipy.stats`, `riesz.scipy.integrate` (real arrays;
SciPy's names and signatures). `integrate` differentiates through ODE solves with
the transformations, so it sits above them (layer 6) and is loaded by
`import riesz` (or `import riesz.scipy.integrate`), not by this package.

The special functions are NumPy ufuncs in SciPy, so unmodified code calling
`scipy.special.erf(x)` on a traced value differentiates too; the other
SciPy functions must be called through this package (SciPy's distributions
convert their arguments with `np.asarray`: use `riesz.scipy.stats`).
"""

from __future__ import annotations

from ..numpy import _examples
from . import linalg, signal, special, stats

# docstring examples of the mirrored functions (a link to SciPy's page, a runnable check)
_examples.document(special, "riesz.scipy.special", "scipy.special", "scipy.special",
                   _examples.SCIPY_SPECIAL)
_examples.document(linalg, "riesz.scipy.linalg", "scipy.linalg", "scipy.linalg",
                   _examples.SCIPY_LINALG)
_examples.document(signal, "riesz.scipy.signal", "scipy.signal", "scipy.signal",
                   _examples.SCIPY_SIGNAL)
_examples.document(stats, "riesz.scipy.stats", "scipy.stats", "scipy.stats",
                   _examples.SCIPY_STATS)

__all__ = ["linalg", "signal", "special", "stats"]
