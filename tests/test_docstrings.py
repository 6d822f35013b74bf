"""Every public name has a docstring with an ``Examples`` section, and the examples run.

The public names are those of `riesz.__all__` and of each public submodule's
``__all__`` (`PUBLIC_MODULES`), less what NumPy itself provides and riesz re-exports
unchanged (`riesz.numpy.pi`, `riesz.numpy.random.default_rng`, ...: NumPy's own
docstrings and doctests cover them). Each object is checked once, under the first
name found. The examples run with `doctest` in a namespace holding ``np`` (NumPy),
``riesz``, ``rnp`` (`riesz.numpy`) and ``scipy`` with its submodules, as NumPy's
examples assume ``import numpy as np``. The examples of the NumPy / SciPy mirror
functions are generated (`riesz.numpy._examples`): each compares riesz's value with
NumPy's / SciPy's and checks the derivatives against finite differences.
"""

from __future__ import annotations

import doctest
import importlib
import inspect
from types import ModuleType
from typing import Any

import numpy as np
import pytest
import scipy.integrate
import scipy.linalg
import scipy.signal
import scipy.special
import scipy.stats

import riesz
import riesz.numpy as rnp

PUBLIC_MODULES = (
    "riesz", "riesz.transforms", "riesz.derivatives", "riesz.spaces", "riesz.linear",
    "riesz.linear_solvers", "riesz.solvers", "riesz.implicit", "riesz.tensor", "riesz.optim",
    "riesz.taylor", "riesz.staged", "riesz.control_flow", "riesz.custom", "riesz.checks",
    "riesz.numpy", "riesz.numpy.linalg", "riesz.numpy.fft", "riesz.numpy.random",
    "riesz.scipy.special", "riesz.scipy.linalg", "riesz.scipy.stats", "riesz.scipy.signal",
    "riesz.scipy.integrate",
)


def _is_data(obj: Any) -> bool:
    """Whether `obj` is a plain data constant (a dict / tuple of names, e.g.
    `riesz.tensor.KINDS`): its ``__doc__`` is its type's, documented by its module."""
    return type(obj) in (dict, tuple, list, frozenset, set, str)


def _from_numpy(obj: Any) -> bool:
    """Whether `obj` is NumPy's own object re-exported unchanged (a constant, a dtype,
    `numpy.random`'s functions and classes, `numpy.linalg.LinAlgError`)."""
    if isinstance(obj, (int, float, complex, type(None))):
        return True
    module = getattr(obj, "__module__", None) or type(obj).__module__
    return module.split(".")[0] == "numpy"


def public_names() -> dict[str, Any]:
    """Qualified name -> object, for every public object riesz defines (each once)."""
    seen: set[int] = set()
    out: dict[str, Any] = {}
    for modname in PUBLIC_MODULES:
        module = importlib.import_module(modname)
        for name in module.__all__:
            obj = getattr(module, name)
            if (isinstance(obj, ModuleType) or _from_numpy(obj) or _is_data(obj)
                    or id(obj) in seen):
                continue
            seen.add(id(obj))
            out[f"{modname}.{name}"] = obj
    return out


PUBLIC = public_names()


def _doc(obj: Any) -> str:
    return inspect.getdoc(obj) or ""


def _globs() -> dict[str, Any]:
    return {"np": np, "riesz": riesz, "rnp": rnp, "scipy": scipy}




def test_every_public_name_has_an_example() -> None:
    missing = sorted(name for name, obj in PUBLIC.items()
                     if "Examples\n--------" not in _doc(obj) or ">>> " not in _doc(obj))
    assert not missing, f"{len(missing)} public names without an Examples section: {missing}"


def test_public_names_are_counted() -> None:
    """The enumeration sees the whole surface (guards against a silently empty sweep)."""
    assert len(PUBLIC) > 400
    assert "riesz.grad" in PUBLIC and "riesz.numpy.sin" in PUBLIC
    assert not any(name.startswith("riesz.numpy.random.") for name in PUBLIC)


_FINDER = doctest.DocTestFinder(recurse=False)
_FLAGS = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS


@pytest.mark.parametrize("name", sorted(n for n, o in PUBLIC.items() if ">>> " in _doc(o)))
def test_docstring_examples_run(name: str) -> None:
    obj = PUBLIC[name]
    tests = [t for t in _FINDER.find(obj, name, globs=_globs()) if t.examples]
    assert tests, f"{name}: no doctest found"
    runner = doctest.DocTestRunner(optionflags=_FLAGS)
    for test in tests:
        report = _Collect()
        runner.run(test, out=report)
        assert runner.failures == 0, f"{name}: its example failed\n{report.text}"


class _Collect:
    """The doctest runner's report, kept for the assertion message."""

    def __init__(self) -> None:
        self.text = ""

    def __call__(self, text: str) -> None:
        self.text += text


def test_generated_raises_sections_hold() -> None:
    """The ``Raises`` sections the generator writes are true: each wrapper documented to
    refuse `out=` (TypeError) or a `where=` mask (NotImplementedError) does, when called
    as in its example."""
    from riesz.numpy import _examples as gen

    namespaces = [("riesz.numpy", "rnp", gen.NUMPY), ("riesz.numpy.linalg", "rnp.linalg",
                  gen.NUMPY_LINALG), ("riesz.numpy.fft", "rnp.fft", gen.NUMPY_FFT),
                  ("riesz.scipy.special", "riesz.scipy.special", gen.SCIPY_SPECIAL)]
    checked, wrong = 0, []
    for modname, ns, specs in namespaces:
        module = importlib.import_module(modname)
        for name, (setup, call, _, _) in specs.items():
            doc = _doc(getattr(module, name))
            if not (call.startswith("{f}(") and call.endswith(")")):
                assert "For `out=`" not in doc and "For `where=`" not in doc, name
                continue
            globs = _globs()
            for line in gen._setup_lines(setup):
                exec(line, globs)
            for keyword, error, marker in (("out=np.empty(0)", TypeError, "For `out=`"),
                                           ("where=np.zeros(1, bool)", NotImplementedError,
                                            "For `where=`")):
                if marker not in doc:
                    continue
                checked += 1
                try:
                    eval(call.format(f=f"{ns}.{name}")[:-1] + f", {keyword})", globs)
                    wrong.append(f"{name}({keyword}) raised nothing")
                except error:
                    pass
    assert checked > 200
    assert not wrong, wrong
