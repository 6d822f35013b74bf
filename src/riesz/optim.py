"""Optimisers: descent in a chosen geometry.

Gradient descent moves against the gradient, and the gradient depends on the
inner product: in a space S the step is -lr · S.riesz(∂L(θ)*[1]). Euclidean
descent, preconditioned descent (a fixed metric W: the step is -lr W⁻¹ ∇L) and
natural gradient (the Fisher / Gauss–Newton metric G(θ) = Jᵀ H J + λI of a
model θ ↦ z with output loss ℓ(z), J = ∂z(θ), H = ∂²ℓ(z)) are one mechanism
with three metrics. The natural-gradient metric is never built: it is a
LinearMap whose application is one JVP of the model, one Hessian-vector
product of ℓ and one VJP of the model, solved by conjugate gradients.

Each optimiser has `init(params) -> state` and
`step(loss, params, state) -> (params, state, loss value)`; `fit` loops over
steps with a tqdm progress bar and returns the loss history.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any, NamedTuple, final

import numpy as np
from tqdm.auto import tqdm

from . import numpy as rnp
from ._core.pytree import tree_map
from .checks import _axpy
from .linear import LinearMap
from .solvers import solve
from .spaces import Space, space_of
from .transforms import linearize_in_call, linearize_parts, value_and_grad

__all__ = [
    "Adam",
    "FitResult",
    "GradientDescent",
    "NaturalGradient",
    "Optimizer",
    "Preconditioned",
    "adam",
    "fit",
    "gauss_newton_metric",
    "gradient_descent",
    "natural_gradient",
    "preconditioned",
]


class Optimizer(abc.ABC):
    """One step of an iterative minimiser of a scalar loss over a pytree θ.

    Examples
    --------
    >>> opt = riesz.optim.gradient_descent(0.25)
    >>> loss = lambda x: (x**2).sum()
    >>> x, state = np.array([2.0]), opt.init(np.array([2.0]))
    >>> x, state, value = opt.step(loss, x, state)  # x - 0.25 · 2x
    >>> print(x, value)
    [1.] 4.0
    """

    def init(self, params: Any) -> Any:
        """The optimiser's state for starting at `params`."""
        del params
        return None

    @abc.abstractmethod
    def step(self, loss: Callable[[Any], Any], params: Any, state: Any) -> tuple[Any, Any, float]:
        """Return (new params, new state, loss(params))."""


@final
class GradientDescent(Optimizer):
    """θ ← θ - lr ∇L(θ) (Euclidean gradient).

    Math: θ ← θ - lr ∂L(θ)*[1].

    Examples
    --------
    >>> res = riesz.optim.fit(lambda x: (x**2).sum(), np.array([2.0]),
    ...                       riesz.optim.GradientDescent(0.25), steps=3, progress=False)
    >>> print(res.params, res.history)  # halves each step
    [0.25] [4.0, 1.0, 0.25, 0.0625]
    """

    def __init__(self, lr: float):
        self.lr = float(lr)

    def step(self, loss: Callable[[Any], Any], params: Any, state: Any) -> tuple[Any, Any, float]:
        value, g = value_and_grad(loss)(params)
        return _axpy(-self.lr, g, params), state, float(value)


@final
class Preconditioned(Optimizer):
    """θ ← θ - lr S.riesz(∂L(θ)*[1]): gradient descent in the geometry of the
    space S (for S = Weighted(metric=W): preconditioned descent with W⁻¹).

    Examples
    --------
    >>> S = riesz.spaces.Weighted(2, np.array([1.0, 100.0]))  # W = the loss's Hessian / 2
    >>> loss = lambda x: x[0] ** 2 + 100.0 * x[1] ** 2
    >>> res = riesz.optim.fit(loss, np.ones(2), riesz.optim.preconditioned(S, 0.5),
    ...                       steps=1, progress=False)
    >>> print(res.params)  # one step reaches the minimum
    [0. 0.]
    """

    def __init__(self, space: Space, lr: float = 1.0):
        if not isinstance(space, Space):
            raise TypeError(f"preconditioned: space must be a riesz.spaces.Space, got "
                            f"{type(space).__name__}")
        self.space = space
        self.lr = float(lr)

    def step(self, loss: Callable[[Any], Any], params: Any, state: Any) -> tuple[Any, Any, float]:
        value, g = value_and_grad(loss, space=self.space)(params)
        return self.space.add(params, self.space.scale(-self.lr, g)), state, float(value)


def _gauss_newton(model: Callable[[Any], Any], output_loss: Callable[[Any], Any], params: Any,
                  damping: float, linearize: Callable[..., Any] = linearize_parts
                  ) -> tuple[float, Any, LinearMap]:
    """(L(θ), ∇L(θ), G(θ) + λI) from one recorded evaluation of the model.
    `linearize` is `linearize_parts`, or for a metric used only inside a step,
    a function entering `linearize_in_call` (saved arrays held read-only)."""
    z, jvp_model, vjp_model = linearize(model, params)
    # one evaluation of ℓ and its gradient, linearised: ℓ(z), ∇ℓ(z) and v ↦ ∂²ℓ(z)[v]
    (value, gz), jvp_value_and_grad, _ = linearize(value_and_grad(output_loss), z)
    S = space_of(params)

    def gauss_newton(v: Any) -> Any:
        Gv = vjp_model(jvp_value_and_grad(jvp_model(v))[1])[0]
        return S.add(Gv, S.scale(damping, v)) if damping else Gv

    G = LinearMap(gauss_newton, S, S, transpose=gauss_newton, name="G")
    return float(value), vjp_model(gz)[0], G


def gauss_newton_metric(model: Callable[[Any], Any], output_loss: Callable[[Any], Any],
                        params: Any, damping: float = 0.0) -> LinearMap:
    """The Gauss–Newton (for exponential-family losses, Fisher) metric at θ,
    G v = Jᵀ H J v + λ v with J = ∂model(θ) and H = ∂²ℓ(model(θ)), as a
    matrix-free LinearMap: one JVP, one Hessian-vector product, one VJP per
    application, from a single recorded evaluation of the model.

    Math: G v = ∂m(θ)*[∂²ℓ(m(θ))[∂m(θ)[v]]] + λ v.

    Examples
    --------
    >>> model = lambda w: w[0] * np.array([1.0, 2.0])  # J = [1, 2]ᵀ
    >>> G = riesz.optim.gauss_newton_metric(model, lambda y: 0.5 * (y**2).sum(), np.ones(1))
    >>> print(G(np.array([1.0])))  # Jᵀ J = 5
    [5.]
    """
    return _gauss_newton(model, output_loss, params, damping)[2]


@final
class NaturalGradient(Optimizer):
    """θ ← θ - lr (G(θ) + λI)⁻¹ ∇L(θ) with L(θ) = ℓ(model(θ)) and G the
    Gauss–Newton / Fisher metric (`gauss_newton_metric`), solved by CG.

    This is gradient descent in the geometry ⟨u, v⟩_θ = uᵀ (G(θ) + λI) v: the
    step is the Riesz representer of ∂L(θ) in that metric. The damping λ keeps
    the metric positive definite where G is singular.

    Examples
    --------
    >>> model = lambda w: w[0] * np.array([1.0, 2.0])
    >>> out_loss = lambda y: 0.5 * ((y - np.array([2.0, 4.0])) ** 2).sum()
    >>> opt = riesz.optim.natural_gradient(model, out_loss, lr=1.0, damping=0.0)
    >>> res = riesz.optim.fit(lambda w: out_loss(model(w)), np.zeros(1), opt, steps=1,
    ...                       progress=False)
    >>> print(np.round(res.params, 6))  # Gauss–Newton: exact for a linear model
    [2.]
    """

    def __init__(self, model: Callable[[Any], Any], output_loss: Callable[[Any], Any],
                 lr: float = 1.0, damping: float = 1e-4, rtol: float = 1e-8,
                 maxiter: int | None = None):
        if damping < 0:
            raise ValueError(f"natural_gradient: damping must be >= 0, got {damping}")
        self.model, self.output_loss = model, output_loss
        self.lr, self.damping = float(lr), float(damping)
        self.rtol, self.maxiter = rtol, maxiter

    def step(self, loss: Callable[[Any], Any], params: Any, state: Any) -> tuple[Any, Any, float]:
        del loss  # the loss is output_loss(model(params)); its parts are needed separately
        with ExitStack() as stack:  # the metric lives for this step only
            value, g, G = _gauss_newton(
                self.model, self.output_loss, params, self.damping,
                lambda f, *p: stack.enter_context(linearize_in_call(f, *p)))
            d = solve(G, g, "cg", rtol=self.rtol, maxiter=self.maxiter)
        return _axpy(-self.lr, d, params), state, float(value)


class _AdamState(NamedTuple):
    m: Any
    v: Any
    t: int


@final
class Adam(Optimizer):
    """Adam (Kingma & Ba): per-coordinate steps from bias-corrected running
    means of the gradient and of its square.

    Examples
    --------
    >>> res = riesz.optim.fit(lambda x: (x**2).sum(), np.array([1.0]),
    ...                       riesz.optim.Adam(lr=0.1), steps=2, progress=False)
    >>> print(np.round(res.params, 2))  # each early step moves by about lr
    [0.8]
    """

    def __init__(self, lr: float = 1e-3, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8):
        self.lr, self.b1, self.b2, self.eps = float(lr), float(b1), float(b2), float(eps)

    def init(self, params: Any) -> _AdamState:
        zeros = tree_map(lambda p: np.zeros(np.shape(p)), params)
        return _AdamState(zeros, zeros, 0)

    def step(self, loss: Callable[[Any], Any], params: Any,
             state: _AdamState) -> tuple[Any, _AdamState, float]:
        value, g = value_and_grad(loss)(params)
        b1, b2, t = self.b1, self.b2, state.t + 1
        m = tree_map(lambda mi, gi: b1 * mi + (1 - b1) * gi, state.m, g)
        v = tree_map(lambda vi, gi: b2 * vi + (1 - b2) * gi * gi, state.v, g)
        c1, c2 = 1 - b1**t, 1 - b2**t

        def update(p: Any, mi: Any, vi: Any) -> Any:
            return p - self.lr * (mi / c1) / (rnp.sqrt(vi / c2) + self.eps)

        return tree_map(update, params, m, v), _AdamState(m, v, t), float(value)


def gradient_descent(lr: float) -> GradientDescent:
    """Plain (Euclidean) gradient descent with step size `lr`.

    Examples
    --------
    >>> print(type(riesz.optim.gradient_descent(0.1)).__name__)
    GradientDescent
    """
    return GradientDescent(lr)


def preconditioned(space: Space, lr: float = 1.0) -> Preconditioned:
    """Gradient descent in the geometry of `space`: the step is the Riesz gradient.

    Examples
    --------
    >>> S = riesz.spaces.Weighted(1, np.array([4.0]))
    >>> res = riesz.optim.fit(lambda x: (x**2).sum(), np.array([1.0]),
    ...                       riesz.optim.preconditioned(S, lr=1.0), steps=1, progress=False)
    >>> print(res.params)  # 1 - W⁻¹ 2x = 1 - 2/4
    [0.5]

    Raises
    ------
    TypeError
        If `space` is not a `riesz.spaces.Space`.
    """
    return Preconditioned(space, lr)


def natural_gradient(model: Callable[[Any], Any], output_loss: Callable[[Any], Any],
                     lr: float = 1.0, damping: float = 1e-4, rtol: float = 1e-8,
                     maxiter: int | None = None) -> NaturalGradient:
    """Natural gradient for L(θ) = output_loss(model(θ)) with the damped
    Gauss–Newton / Fisher metric, applied matrix-free and solved by CG.

    Examples
    --------
    >>> model = lambda w: w * np.array([1.0, 2.0])
    >>> opt = riesz.optim.natural_gradient(model, lambda y: 0.5 * (y**2).sum())
    >>> print(type(opt).__name__)
    NaturalGradient

    Raises
    ------
    ValueError
        If `damping` is negative.
    """
    return NaturalGradient(model, output_loss, lr, damping, rtol, maxiter)


def adam(lr: float = 1e-3, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8) -> Adam:
    """The Adam optimiser.

    Examples
    --------
    >>> print(type(riesz.optim.adam(lr=0.01)).__name__)
    Adam
    """
    return Adam(lr, b1, b2, eps)


class FitResult(NamedTuple):
    """`params` after the last step; `history[k]` the loss at iterate k
    (history[0] at the start); `converged` whether `target` was reached.

    Examples
    --------
    >>> res = riesz.optim.fit(lambda x: (x**2).sum(), np.array([1.0]),
    ...                       riesz.optim.gradient_descent(0.5), target=1e-12, progress=False)
    >>> print(res.params, res.converged, len(res.history))
    [0.] True 2
    """

    params: Any
    history: list[float]
    converged: bool

    @property
    def iterations(self) -> int:
        """The number of steps taken."""
        return len(self.history) - 1


def fit(loss: Callable[[Any], Any], params: Any, optimizer: Optimizer, steps: int = 100, *,
        target: float | None = None, progress: bool = True, desc: str | None = None,
        callback: Callable[[int, Any, float], None] | None = None) -> FitResult:
    """Minimise `loss` from `params` with `optimizer` for at most `steps` steps,
    stopping early once the loss is <= `target`. Shows a tqdm progress bar
    unless `progress=False`; `callback(k, params, loss)` runs after each
    evaluation. Raises FloatingPointError if the loss becomes NaN or infinite.

    Examples
    --------
    >>> res = riesz.optim.fit(lambda x: ((x - 3.0) ** 2).sum(), np.zeros(2),
    ...                       riesz.optim.gradient_descent(0.5), steps=5, progress=False)
    >>> print(res.params)
    [3. 3.]

    Raises
    ------
    TypeError
        If `optimizer` is not a `riesz.optim.Optimizer`.
    FloatingPointError
        If the loss becomes NaN or infinite.
    """
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"fit: optimizer must be a riesz.optim.Optimizer, got "
                        f"{type(optimizer).__name__}")
    state = optimizer.init(params)
    history: list[float] = []
    every = max(1, steps // 50)
    with tqdm(total=steps, disable=not progress, desc=desc or type(optimizer).__name__,
              leave=False) as bar:
        for k in range(steps):
            new_params, new_state, value = optimizer.step(loss, params, state)
            _check_finite(value, k)
            history.append(value)
            if callback is not None:
                callback(k, params, value)
            if target is not None and value <= target:
                return FitResult(params, history, True)
            params, state = new_params, new_state
            bar.update(1)
            if k % every == 0:
                bar.set_postfix(loss=f"{value:.4g}", refresh=False)
        final = float(loss(params))
        _check_finite(final, steps)
        history.append(final)
    return FitResult(params, history, target is not None and final <= target)


def _check_finite(value: float, k: int) -> None:
    if not math.isfinite(value):
        raise FloatingPointError(f"fit: the loss is {value} at step {k}; the iteration "
                                 "diverged (lower the learning rate)")
