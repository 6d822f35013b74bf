"""Generate `docs/numpy.md` from the primitive registry and the public API.

    python -m riesz.numpy._docs > docs/numpy.md

The page is generated (and a test checks the committed copy is current), so
the list of supported functions, their derivative caveats and the NumPy
functions that dispatch to riesz cannot drift from the code.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from types import ModuleType
from typing import Any

from .._core.primitive import (
    DIFFERENTIABLE,
    JOINT,
    NOT_DIFFERENTIABLE,
    ZERO_DERIVATIVE,
    Primitive,
)

# What riesz deliberately does not support, and why (kept next to the generator
# so that the page states it; the protocols raise a TypeError naming the function).
NOT_SUPPORTED: list[tuple[str, str]] = [
    ("`np.array([x, y])`, `np.asarray([...])`, `np.sum([x, y])` with traced elements",
     "NumPy never consults the protocols for the elements of a list passed to these; they "
     "raise a TypeError pointing to `np.stack([x, y])` / `riesz.numpy.array([x, y])`, "
     "which work"),
    ("in-place updates: `x[i] = v`, `x += y` into a traced array, `np.add.at`, "
     "`x.sort()`, `out=` arguments",
     "a traced value is immutable; use `x.at[i].set(v)` (also `.add`, `.multiply`, "
     "`.divide`, `.power`, `.min`, `.max`) or `riesz.numpy.index_update`"),
    ("`where=` masks of ufuncs and reductions", "use `riesz.numpy.where` (or `np.where`)"),
    ("`np.linalg.svd(a)` with `full_matrices=True` for a non-square traced `a`; "
     "`np.linalg.qr(a, 'complete')` for a tall traced `a`",
     "the extra columns are an arbitrary basis of a complement, with no derivative; the "
     "thin factorisations are differentiable"),
    ("`tensorsolve`, `tensorinv`, `np.linalg.cross`",
     "not implemented; use `solve` / `pinv`"),
    ("`np.pad` modes other than constant, edge, reflect, symmetric, wrap",
     "not implemented on traced values"),
    ("`np.histogram`, `np.bincount(weights=...)`, `np.percentile` / `np.quantile`, "
     "`np.cross`, `np.polyfit(..., cov=True)`",
     "not implemented: they raise a TypeError naming the function"),
    ("`np.r_[x, y]` / `np.c_[x, y]` with traced items",
     "NumPy converts every item with `np.array`, which no protocol intercepts (a TypeError); "
     "`riesz.numpy.r_` / `riesz.numpy.c_` work"),
    ("`scipy.linalg.*`, `scipy.signal.*` and the functions of `scipy.special` that are not "
     "ufuncs (`logsumexp`, `softmax`, `log_softmax`, `polygamma`) called directly on traced "
     "values",
     "NumPy's protocols do not reach them (they raise a TypeError); `riesz.scipy.linalg`, "
     "`riesz.scipy.signal`, `riesz.scipy.special` have the same names"),
    ("traced distribution parameters of `numpy.random` (`rng.normal(mu)`)",
     "random draws are constants; write `mu + sigma * rng.standard_normal(shape)`"),
    ("derivatives with respect to integer or boolean arrays, and of `polygamma` in its order",
     "no tangent space: `grad` refuses integer inputs, integer results carry no derivative"),
]

_KIND_TEXT = {
    DIFFERENTIABLE: "differentiable",
    JOINT: JOINT,
    ZERO_DERIVATIVE: "zero derivative",
    NOT_DIFFERENTIABLE: "not differentiable",
}


def _summary(obj: Any) -> str:
    doc = inspect.getdoc(obj) or ""
    first = doc.strip().split("\n\n")[0].replace("\n", " ").strip()
    return first.replace("|", "\\|")


def _public(module: ModuleType) -> list[tuple[str, Any]]:
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n in vars(module) if not n.startswith("_")]
    out = []
    for name in sorted(names, key=str.lower):
        obj = getattr(module, name)
        if callable(obj) and not isinstance(obj, type) and not isinstance(obj, ModuleType):
            out.append((name, obj))
    return out


def _function_table(module: ModuleType, passthrough: Iterable[str] = ()) -> list[str]:
    skip = set(passthrough)
    rows = ["| function | description |", "|---|---|"]
    public = dict(_public(module))
    for name, obj in public.items():
        if name in skip or getattr(obj, "__module__", "").startswith("numpy"):
            continue
        primary = getattr(obj, "__name__", name)
        if primary != name and public.get(primary) is obj:
            text = f"alias of `{primary}`"
        else:
            text = _summary(obj)
        rows.append(f"| `{name}` | {text} |")
    return rows


def _stats_table(stats: ModuleType) -> list[str]:
    """One row per distribution: its parameters, methods and summary."""
    rows = []
    for para in (stats.__doc__ or "").split("\n\n")[1:]:  # the module's docstring
        items = para.strip().split("\n- ")
        rows += [" ".join(items[0].split()), *(f"- {' '.join(i.split())}" for i in items[1:]),
                 ""]
    rows += ["| distribution | parameters | methods | description |", "|---|---|---|---|"]
    for name in stats.__all__:
        dist = getattr(stats, name)
        if isinstance(dist, type):
            continue
        cls = type(dist)
        if isinstance(dist, stats.rv_continuous):
            params = [*dist.shapes, "loc=0", "scale=1"]
        elif isinstance(dist, stats.rv_discrete):
            params = [*dist.shapes, "loc=0"]
        else:
            params = list(inspect.signature(cls.__call__).parameters)[1:]
        methods = sorted(m for m in cls._frozen_methods
                         if m != "ppf" or cls._ppf is not stats.rv_continuous._ppf)
        rows.append(f"| `{name}` | {', '.join(f'`{p}`' for p in params)} | "
                    f"{', '.join(f'`{m}`' for m in methods)} | {_summary(cls)} |")
    return rows


def layer_primitives() -> dict[str, Primitive]:
    """The primitives declared by riesz.numpy and riesz.scipy (by name)."""
    import importlib

    names = ("_primitives.elementwise", "_primitives.reductions", "_primitives.shape",
             "_primitives.indexing", "_primitives.products", "_primitives.linalg",
             "_primitives.convolution", "_primitives.special", "_primitives.fft")
    # (import by full name)
    modules = [importlib.import_module(f"riesz.{n}") for n in names]
    found: dict[str, Primitive] = {}
    for module in modules:
        for obj in vars(module).values():
            if isinstance(obj, Primitive):
                found[obj.name] = obj
    return found


def _np_name(obj: Any) -> str:
    from ._dispatch import _name

    return _name(obj)


def generate() -> str:
    """The Markdown text of docs/numpy.md."""
    from .. import numpy as rnp
    from .. import scipy as rscipy
    from . import _dispatch

    lines = [
        "# Differentiable NumPy and SciPy",
        "",
        "<!-- generated by `python -m riesz.numpy._docs > docs/numpy.md`; do not edit -->",
        "",
        "`riesz.numpy` (`import riesz.numpy as rnp`) and `riesz.scipy` mirror NumPy's and "
        "SciPy's names, signatures, broadcasting and dtype rules (float32 in, float32 out "
        "and float32 derivatives; Python scalars do not upcast). Outside a transformation "
        "they return plain NumPy arrays. Inside one, traced values also implement NumPy's "
        "protocols, so **unmodified code written with `import numpy as np`** "
        "differentiates: the NumPy functions listed under *Dispatch* below run riesz's "
        "primitives when they meet a traced value, and any other NumPy function raises a "
        "`TypeError` naming it instead of silently dropping the derivative.",
        "",
        "Kinds: *differentiable* (JVP and VJP rules, checked to second order in both modes "
        "against finite differences and the adjoint identity, in float64 and float32); "
        "*zero derivative* (the derivative exists and is 0: outputs are constants to every "
        "transformation); *not differentiable* (integer or boolean outputs: plain arrays).",
        "",
        "Functions not in the primitive table are composites of primitives (their "
        "derivatives follow from the primitives' rules).",
        "",
        "## Primitives",
        "",
        "| primitive | kind | family | derivative notes |",
        "|---|---|---|---|",
    ]
    for name, prim in sorted(layer_primitives().items()):
        family = prim.family or ("" if prim.kind != DIFFERENTIABLE else "custom rules")
        notes = prim.notes.replace("|", "\\|")
        lines.append(f"| `{name}` | {_KIND_TEXT[prim.kind]} | {family} | {notes} |")
    sections = [
        ("riesz.numpy", rnp, ("fft", "linalg", "random")),
        ("riesz.numpy.linalg", rnp.linalg, ()),
        ("riesz.numpy.fft", rnp.fft, ()),
        ("riesz.scipy.special", rscipy.special, ()),
        ("riesz.scipy.linalg", rscipy.linalg, ()),
        ("riesz.scipy.signal", rscipy.signal, ()),
    ]
    intros = {
        "riesz.numpy.fft": (
            "NumPy's signatures, `n` / `s` (zero-padding or cropping), `axis` / `axes` and the "
            "three `norm` modes; also reached by `np.fft.*` on traced values. Every transform "
            "is linear, and its VJP is the adjoint under ⟨x, y⟩ = Re vdot(x, y) (SPEC §13): "
            "`fft`'s is `n * ifft(v)` (the conjugate transpose of the DFT matrix), `rfft`'s "
            "halves the interior bins of the half spectrum before an `irfft` (which counts "
            "them twice), `irfft`'s doubles them after an `rfft`; padding transposes to "
            "cropping. A real input of a complex transform gets a real cotangent."),
    }
    for title, module, skip in sections:
        lines += ["", f"## `{title}`", ""]
        if title in intros:
            lines += [intros[title], ""]
        lines += _function_table(module, skip)
    lines += ["", "## `riesz.scipy.stats`", ""] + _stats_table(rscipy.stats)
    lines += [
        "",
        "`riesz.numpy` also re-exports NumPy's constants, dtypes and constant constructors "
        "(`pi`, `e`, `inf`, `nan`, `newaxis`, `float32`, `float64`, `zeros`, `ones`, `eye`, "
        "`arange`, `meshgrid`, ...). `riesz.numpy.random` is NumPy's random module: draws are "
        "constants.",
        "",
        "Traced values support the Python operators (`+ - * / // % ** @`, comparisons, unary "
        "`-`, `abs`), indexing with every NumPy index kind (basic, integer arrays, boolean "
        "masks, `...`, `None`), iteration over the first axis, `.shape`, `.ndim`, `.dtype`, "
        "`.size`, `.T`, `.mT`, `.real`, `.imag`, `.at[...]`, and the methods "
        + ", ".join(f"`{m}`" for m in sorted(
            ("sum prod mean var std max min argmax argmin cumsum cumprod any all astype clip "
             "round conj conjugate ravel flatten squeeze swapaxes repeat diagonal trace copy "
             "argsort take nonzero dot reshape transpose").split()))
        + ".",
        "",
        "## Dispatch: NumPy functions that differentiate on traced values",
        "",
        "Ufuncs (`__array_ufunc__`; `reduce` of add, multiply, maximum, minimum, "
        "logical_and, logical_or, `accumulate` of add and multiply, and `outer` of every "
        "listed ufunc are supported too):",
        "",
        ", ".join(f"`{n}`" for n in sorted({_np_name(u) for u in _dispatch.UFUNCS})),
        "",
        "Functions (`__array_function__`):",
        "",
        ", ".join(f"`{n}`" for n in sorted({_np_name(f) for f in _dispatch.FUNCTIONS})),
        "",
        "Run on the primal values (their results carry no derivative):",
        "",
        ", ".join(f"`{n}`" for n in sorted({_np_name(f) for f in _dispatch.PRIMAL_ONLY})),
        "",
        "## Complex numbers (SPEC §13)",
        "",
        "Cⁿ is a real inner-product space, ⟨x, y⟩ = Re vdot(x, y): `jvp` is the R-linear "
        "∂f(z)[u], `vjp` its adjoint (conj(f'(z)) v for holomorphic f, as PyTorch; JAX "
        "returns the transpose), `grad` of a real f the Riesz representer "
        "∂f/∂Re z + i ∂f/∂Im z (`grad(|z|²) = 2z`), `grad(f, holomorphic=True)` f'(z). "
        "A real input gets a real cotangent, a real output a real tangent.",
        "",
        "- Complex rules, checked in the registry sweep along real and imaginary "
        "directions: arithmetic and powers, exp/log/trig/hyperbolic and their inverses "
        "(NumPy's branch cuts), `sqrt`, `conj`, `real`, `imag`, `abs`, `angle`, `sign`, "
        "`astype` (complex to real keeps the real part), `maximum`/`minimum`/`max`/`min` "
        "(NumPy's lexicographic order), `sum`, `prod`, `cumsum`, `cumprod`, `mean`, `var`, "
        "`std`, shape and indexing operations, `matmul`, `dot`, `vdot` (conjugates its first "
        "argument), `einsum`, `tensordot`, `outer`, `kron`; `linalg`: `solve`, `inv`, `det`, "
        "`slogdet` (the complex sign moves too), `cholesky` and `eigh` (Hermitian; they read "
        "the lower triangle and the real part of the diagonal), `svd`, `qr`, `pinv`, `norm`, "
        "`eig`/`eigvals` (general; complex results, also from real matrices); "
        "`scipy.linalg`: `solve_triangular` (`trans='C'` too), `cho_solve`, `expm`, "
        "`lu_factor`/`lu_solve` (`trans=2`: Aᴴ); "
        "`scipy.special`: `erf`, `erfc`, `log_ndtr`, `xlogy`, `xlog1py`, `jv`, `yv`, `iv`, "
        "`kv` (in z), `ive` (in z; I_v(z) e^-|Re z| is not holomorphic: no `jet`).",
        "- Gauges: eigenvectors (`eigh`, `eig`) and singular vectors have a free phase; "
        "differentiate phase-free functions of them (|v|, projectors, U f(s) Vᴴ).",
        "- `jet` covers holomorphic primitives and refuses `conj`, `real`, `imag`, `abs`, "
        "`angle` on complex values (and `eig`).",
        "- `jacfwd`/`jacrev`/`jacobian`: with `holomorphic=True` f'(z); a real output of "
        "complex inputs gives the Riesz representers as rows, a complex output of real "
        "inputs the tangents as columns; a non-holomorphic complex-to-complex map raises "
        "(use `derivative`, `jvp`, `vjp`). `hessian` of a real f of complex z is the real "
        "Hessian in (Re z, Im z), shape (2, *z.shape, 2, *z.shape).",
        "- Not yet on complex values (a clear error): `gamma` and `rgamma` have complex "
        "first derivatives only and `digamma`/`polygamma` none (SciPy's `polygamma` of "
        "order >= 1 is real-only).",
        "",
        "## Derivative conventions at non-differentiable points",
        "",
        "- `maximum`/`minimum`/`clip` and the `max`/`min` reductions share the derivative "
        "evenly between tied entries; `abs`, `sign`: derivative taken as 0 at 0.",
        "- `linalg.norm` (2-norm, Frobenius, any vector p-norm) and `std`: derivative 0 at "
        "the origin (no NaN); the 2-norm is computed without overflow or underflow.",
        "- `xlogy(0, 0)`, `xlog1py(0, -1)`: both partial derivatives 0; `xlogy(0, y)` has "
        "y-derivative exactly 0.",
        "- `logsumexp`, `softmax`, `log_softmax`: the maximum is subtracted as a constant; "
        "values and derivatives are finite for any finite input; a slice whose sum is 0 (all "
        "-inf) gives -inf with derivative 0.",
        "- `prod`, `cumprod`: exact at zeros (no division by zero).",
        "- `power`: ∂/∂x is 0 where the exponent is 0 (also at x = 0); ∂/∂y is 0 at x = 0.",
        "- `eigh`, `svd`: at repeated eigenvalues / singular values the 0/0 terms "
        "1/(λ_i - λ_j) are dropped; the first derivative is exact for symmetric functions of "
        "the repeated values (traces) and for functions of the vectors that do not depend on "
        "the basis inside the repeated subspace (projectors onto all of it, U Vᵀ), but not "
        "for a function combining both, such as U f(w) Uᵀ or U diag(s) Vᵀ (nor for second "
        "derivatives of traces): their derivative needs f'(λ) inside the subspace, which "
        "no rule of eigh/svd can see. Use a matrix-function primitive "
        "(`riesz.scipy.linalg.expm`). A `riesz.numpy.linalg.DegenerateDerivativeWarning` is "
        "raised whenever the result may be wrong: in reverse mode when the cotangent depends "
        "on the basis or combines the repeated values with their vectors, in forward mode "
        "whenever the tangent splits a repeated value.",
        "- `cholesky`, `eigh`, `eigvalsh` read one triangle of their input, as NumPy does; "
        "their derivative is that of the function NumPy computes.",
        "- `inv`, `solve`: undefined (inf/NaN) at singular matrices. `det` has its "
        "derivative (the cofactor matrix) there too; `slogdet` gives log-determinants "
        "that do not overflow.",
        "",
        "## Not supported",
        "",
        "| what | why / instead |",
        "|---|---|",
    ]
    for what, why in NOT_SUPPORTED:
        lines.append(f"| {what} | {why} |")
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    print(generate(), end="")
