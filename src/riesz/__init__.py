"""riesz: automatic differentiation over NumPy, with derivatives as linear maps.

The public surface is re-exported here (README.md shows it in use);
docs/architecture.md describes the layers of the package.
"""

from __future__ import annotations

from . import implicit, numpy, optim, solvers, spaces, tensor
from . import scipy as _scipy  # noqa: F401  (routes SciPy's special ufuncs on traced values)
from ._core.primitive import Primitive, registry
from ._core.pytree import (
    register_dataclass,
    register_pytree_node,
    tree_flatten,
    tree_leaves,
    tree_map,
    tree_structure,
    tree_unflatten,
)
from ._core.trace import BackendError, EscapedTracerError
from ._interpreters.reverse import SavedValueModifiedError
from .checks import GradientCheckError, check_grads
from .control_flow import cond, fori_loop, scan, while_loop
from .custom import checkpoint, custom_jvp, custom_vjp
from .derivatives import (
    derivative,
    hessian,
    jacfwd,
    jacobian,
    jacrev,
    linear_transpose,
    linearize,
)
from .linear import LinearMap, identity, rank1
from .numpy import stop_gradient
from .scipy import integrate as _integrate  # noqa: F401 (layer 6: loaded here)
from .solvers import (
    Solution,
    SolverError,
    SolverWarning,
    anderson,
    broyden,
    fixed_point_iteration,
    newton,
    solve,
)
from .staged import ConcretizationError, Graph, jit, make_graph
from .taylor import jet
from .transforms import elementwise_grad, grad, hvp, jvp, value_and_grad, vjp, vmap

__version__ = "0.1.0"

__all__ = [
    "BackendError",
    "cond",
    "fori_loop",
    "scan",
    "while_loop",
    "ConcretizationError",
    "Graph",
    "jit",
    "make_graph",
    "LinearMap",
    "Solution",
    "SolverError",
    "SolverWarning",
    "anderson",
    "broyden",
    "fixed_point_iteration",
    "implicit",
    "newton",
    "derivative",
    "hessian",
    "identity",
    "jet",
    "jacfwd",
    "jacobian",
    "jacrev",
    "linear_transpose",
    "linearize",
    "optim",
    "rank1",
    "solve",
    "solvers",
    "spaces",
    "tensor",
    "EscapedTracerError",
    "GradientCheckError",
    "check_grads",
    "checkpoint",
    "custom_jvp",
    "custom_vjp",
    "Primitive",
    "SavedValueModifiedError",
    "elementwise_grad",
    "grad",
    "hvp",
    "jvp",
    "numpy",
    "register_dataclass",
    "register_pytree_node",
    "registry",
    "stop_gradient",
    "tree_flatten",
    "tree_leaves",
    "tree_map",
    "tree_structure",
    "tree_unflatten",
    "value_and_grad",
    "vjp",
    "vmap",
]
