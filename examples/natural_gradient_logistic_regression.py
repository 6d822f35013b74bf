"""Natural-gradient logistic regression vs plain gradient descent.

The loss L(θ) = mean(log(1 + e^z) - y z) of the logits z = X w + b is minimised
by two kinds of descent, which differ only in the geometry used to turn the
derivative ∂L(θ) into a step:

* plain gradient descent: the Euclidean gradient, step size 1/L;
* natural gradient: the Riesz representer of ∂L(θ) under the Fisher (here
  equal to Gauss–Newton) metric G(θ) = Jᵀ diag(p(1-p))/N J + λI, where
  J = ∂z(θ). riesz never builds G: it is a LinearMap applied by one JVP, one
  Hessian-vector product and one VJP, and the step is a CG solve.

The features are badly scaled, so the Euclidean geometry is a poor one. The
script prints the iterations each method needs to get within 1e-4 of the
optimal loss and writes a PNG of both loss curves (needs matplotlib: the
`plot` extra).

    python examples/natural_gradient_logistic_regression.py [--out DIR] [--no-plot]

The PNG goes into the folder given by --out (default figures/, created).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import scipy.optimize

import riesz.numpy as rnp
from riesz import optim


def make_data(n: int = 400, d: int = 8, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Correlated Gaussian features on very different scales, noisy labels."""
    rng = np.random.default_rng(seed)
    mix = np.eye(d) + 0.4 * rng.standard_normal((d, d)) / np.sqrt(d)
    X = rng.standard_normal((n, d)) @ mix * np.geomspace(0.3, 6.0, d)
    w_true = rng.standard_normal(d) / np.geomspace(0.3, 6.0, d)
    y = (X @ w_true + 0.3 + 0.8 * rng.standard_normal(n) > 0).astype(float)
    return X, y


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="figures",
                        help="folder for the PNG, created if needed (default: figures)")
    parser.add_argument("--no-plot", action="store_true", help="skip the figure")
    parser.add_argument("--progress", action="store_true", help="show progress bars")
    args = parser.parse_args()

    X, y = make_data()
    n, d = X.shape

    def model(params):  # θ = {"w", "b"} -> logits
        return rnp.matmul(X, params["w"]) + params["b"]

    def nll(z):  # mean binary cross-entropy of the logits
        return rnp.mean(rnp.log(1.0 + rnp.exp(z)) - y * z)

    def loss(params):
        return nll(model(params))

    # the optimum, independently of riesz (SciPy's BFGS on the plain NumPy loss)
    def np_loss(v):
        z = X @ v[:d] + v[d]
        return np.mean(np.logaddexp(0.0, z) - y * z)

    def np_grad(v):
        z = X @ v[:d] + v[d]
        r = (1 / (1 + np.exp(-z)) - y) / n
        return np.r_[X.T @ r, r.sum()]

    best = scipy.optimize.minimize(np_loss, np.zeros(d + 1), jac=np_grad, method="BFGS",
                                   options={"gtol": 1e-10, "maxiter": 10_000})
    f_star = float(best.fun)
    target = f_star + 1e-4

    theta0 = {"w": np.zeros(d), "b": np.array(0.0)}
    Xb = np.c_[X, np.ones(n)]
    lipschitz = np.linalg.eigvalsh(Xb.T @ Xb)[-1] / (4 * n)  # of ∇L: λ_max(XᵀX)/(4N)
    runs = {
        "plain gradient descent": optim.fit(
            loss, theta0, optim.gradient_descent(1.0 / lipschitz), steps=50_000,
            target=target, progress=args.progress, desc="gradient descent"),
        "natural gradient": optim.fit(
            loss, theta0, optim.natural_gradient(model, nll, lr=1.0, damping=1e-4),
            steps=200, target=target, progress=args.progress, desc="natural gradient"),
    }
    print(f"logistic regression, {n} samples, {d} features; optimal loss {f_star:.6f} "
          "(SciPy BFGS)")
    print(f"condition number of the data's Gram matrix: {np.linalg.cond(Xb.T @ Xb):.1e}")
    for name, r in runs.items():
        status = "" if r.converged else " (not reached)"
        plural = "" if r.iterations == 1 else "s"
        print(f"{name:>24}: {r.iterations:6d} iteration{plural} to loss <= optimum + 1e-4{status}")

    if args.no_plot:
        return
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed (pip install 'riesz[plot]'); skipping the figure")
        return
    fig, ax = plt.subplots(figsize=(6, 3.8))
    for name, r in runs.items():
        gap = np.maximum(np.asarray(r.history) - f_star, 1e-16)
        ax.loglog(np.arange(1, len(gap) + 1), gap, label=f"{name} ({r.iterations} it.)")
    ax.axhline(1e-4, color="gray", ls=":", lw=1, label="target")
    ax.set_xlabel("iteration + 1")
    ax.set_ylabel("loss - optimal loss")
    ax.set_title("Logistic regression: natural gradient vs gradient descent")
    ax.legend(fontsize=8)
    path = Path(args.out) / "natural_gradient_logistic_regression.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
