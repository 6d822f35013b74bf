"""MkDocs hooks: the pages generated from the code, so that they cannot go stale.

- `api/*.md`: one page per public module; the members are read from the module at build
  time (its `__all__`), and rendered from their docstrings by mkdocstrings.
- `tour.md`: the text and code of every section of `riesz tour`, read from the tour's own
  sections (`riesz.tour.SECTIONS`) without running their checks, plus the live output of
  the first section.
- `examples/*.md`: each script of `examples/` with its docstring, its figure
  (`docs/figures/`, written by `python docs/make_figures.py`) and its code.

Listed in `mkdocs.yml` (`hooks:`); `exclude_docs` keeps this file out of the site.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
import sys
import textwrap
import types
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SRC = str(ROOT / "src")  # document this checkout, installed or not

# (module, page file under api/). mkdocstrings reads the package by importing
# it (`force_inspection` in mkdocs.yml), because many functions are built by factories
# (`erf = _unary(erf_p, "erf")`) and have their docstrings and signatures only at run time.
API: list[tuple[str, str]] = [
    ("riesz", "riesz"),
    ("riesz.numpy", "numpy"),
    ("riesz.numpy.linalg", "numpy.linalg"),
    ("riesz.numpy.fft", "numpy.fft"),
    ("riesz.numpy.random", "numpy.random"),
    ("riesz.scipy.special", "scipy.special"),
    ("riesz.scipy.linalg", "scipy.linalg"),
    ("riesz.scipy.stats", "scipy.stats"),
    ("riesz.scipy.integrate", "scipy.integrate"),
    ("riesz.scipy.signal", "scipy.signal"),
    ("riesz.spaces", "spaces"),
    ("riesz.linear", "linear"),
    ("riesz.linear_solvers", "linear_solvers"),
    ("riesz.solvers", "solvers"),
    ("riesz.implicit", "implicit"),
    ("riesz.tensor", "tensor"),
    ("riesz.optim", "optim"),
]

# The top-level page, by topic. A public name of `riesz` missing here is listed under
# "Other", so a new name shows up without an edit of this table.
TOP_GROUPS: dict[str, list[str]] = {
    "Transformations": ["grad", "value_and_grad", "jvp", "vjp", "vmap", "hvp",
                        "elementwise_grad", "jet", "stop_gradient"],
    "Derivatives as linear maps": ["derivative", "linearize", "linear_transpose", "jacfwd",
                                   "jacrev", "jacobian", "hessian"],
    "Staging and control flow": ["jit", "make_graph", "Graph", "cond", "while_loop",
                                 "fori_loop", "scan", "ConcretizationError"],
    "Custom rules": ["custom_jvp", "custom_vjp", "checkpoint"],
    "Checking derivatives": ["check_grads", "GradientCheckError"],
    "Pytrees": ["tree_map", "tree_flatten", "tree_unflatten", "tree_leaves",
                "tree_structure", "register_pytree_node", "register_dataclass"],
    "Linear maps": ["LinearMap", "identity", "rank1", "solve"],
    "Nonlinear solvers": ["fixed_point_iteration", "anderson", "broyden", "newton",
                          "Solution", "SolverError", "SolverWarning"],
    "Primitives and errors": ["Primitive", "registry", "EscapedTracerError",
                              "SavedValueModifiedError", "BackendError"],
}


def _from_numpy(name: str, obj: Any) -> bool:
    """True for NumPy's own object re-exported unchanged (`rnp.pi`, `rnp.arange`, ...)."""
    import numpy as np

    return any(vars(ns).get(name) is obj for ns in (np, np.linalg, np.fft, np.random))


def _home(name: str, obj: Any) -> str | None:
    """The API page (module name) that documents `obj` when it is not `riesz` itself."""
    for module, _ in API[1:]:
        mod = importlib.import_module(module)
        if name in getattr(mod, "__all__", ()) and getattr(mod, name) is obj:
            return module
    return None


def _directive(target: str, members: list[str] | None, level: int,
               show_heading: bool = True) -> str:
    options = [f"heading_level: {level}", f"show_root_heading: {str(show_heading).lower()}"]
    if members is not None:
        options.append(f"members: {members!r}" if members else "members: false")
    return f"::: {target}\n    options:\n" + "".join(f"      {o}\n" for o in options)


def api_page(module: str) -> str:
    """The page of one module: its docstring, then its public functions and classes."""
    mod = importlib.import_module(module)
    names = [n for n in getattr(mod, "__all__", dir(mod)) if not n.startswith("_")]
    out = [f"# `{module}`\n\n"]
    if module == "riesz":
        return "".join(out) + _directive(module, [], level=2, show_heading=False) + \
            _top_page(mod, names)
    passed = sorted((n for n in names if _from_numpy(n, getattr(mod, n))), key=str.lower)
    own = [n for n in names if n not in passed
           and not isinstance(getattr(mod, n), types.ModuleType)]
    if len(own) > 40:  # a long namespace (riesz.numpy) reads best in alphabetical order
        own.sort(key=str.lower)
    out.append(_directive(module, own, level=2, show_heading=False))
    if passed:
        listed = ", ".join(f"`{n}`" for n in passed)
        out.append(f"\n## Passed through from NumPy\n\nNumPy's own objects, re-exported "
                   f"unchanged (see NumPy's documentation): {listed}.\n")
    return "".join(out)


def _top_page(mod: types.ModuleType, names: list[str]) -> str:
    modules = [n for n in names if isinstance(getattr(mod, n), types.ModuleType)]
    placed = {n for group in TOP_GROUPS.values() for n in group}
    groups = dict(TOP_GROUPS)
    other = [n for n in names if n not in placed and n not in modules]
    if other:
        groups["Other"] = other
    out = ["\nSubmodules, each on its own page: "
           + ", ".join(f"[`riesz.{n}`]({_page_of('riesz.' + n)})" for n in modules
                       if _page_of("riesz." + n)) + ".\n"]
    for group, members in groups.items():
        members = [n for n in members if n in names]
        if not members:
            continue
        out.append(f"\n## {group}\n")
        elsewhere = []
        for n in members:
            home = _home(n, getattr(mod, n))
            if home:
                elsewhere.append((n, home))
            else:
                out.append("\n" + _directive(f"riesz.{n}", None, level=3))
        for n, home in elsewhere:
            out.append(f"\n`riesz.{n}` is [`{home}.{n}`]({_page_of(home)}#{home}.{n}).\n")
    return "".join(out)


def _page_of(module: str) -> str:
    for m, page in API:
        if m == module:
            return f"{page}.md"
    return ""


# --- the tour -----------------------------------------------------------------------

def tour_page() -> str:
    from riesz import tour

    class _Stop(Exception):
        pass

    sections: list[tuple[str, str, str]] = []

    class _Text(tour.Tour):  # records a section's text, then stops it before its checks
        def section(self, title: str, idea: str, code: str = "") -> None:
            title = re.sub(r"^\d+\.\s*", "", title)
            sections.append((title, " ".join(ln.strip() for ln in idea.strip().splitlines()),
                             textwrap.dedent(code).strip("\n")))
            raise _Stop

    for section in tour.SECTIONS:
        try:
            section(_Text(out=lambda line: None))
        except _Stop:
            pass
    lines: list[str] = []
    tour.run(out=lines.append, sections=[1])
    sample = "\n".join(lines).strip("\n")
    out = [TOUR_INTRO.format(n=len(sections), sample=sample)]
    for number, (title, idea, code) in enumerate(sections, start=1):
        out.append(f"\n## {number}. {title}\n\n{idea}\n")
        if code:
            out.append(f"\n```python\n{code}\n```\n")
        figures = _figures(ast.parse(textwrap.dedent(inspect.getsource(tour.SECTIONS[number - 1]))))
        out += [_figure(png, "riesz tour --plots", ".") for png in figures]
        out.append(f"\n`riesz tour --section {number}` runs it.\n")
    return "".join(out)


TOUR_INTRO = """# The tour

`riesz tour` walks through the ideas behind riesz in {n} sections. Each section states an
idea, shows the few lines of riesz code behind it, then computes its results live and
checks each against an independent oracle (a closed form, finite differences, the adjoint
identity) and prints the time it took.

```bash
riesz tour                      # every section
riesz tour --list               # the titles
riesz tour --section 5          # one section, by number ...
riesz tour --section Taylor     # ... or by words of its title
riesz tour --plots figures/     # also write the figures (needs the plot extra)
```

This page is generated from the tour's own code, so it shows what `riesz tour` prints.
The first section, as run when these pages were built:

```text
{sample}
```

In the code below, the arrays (`X`, `U`, `x`, `A`, `W`, ...) are random test data that the
section draws before the lines shown.
"""


# --- the examples ------------------------------------------------------------------

def example_pages() -> dict[str, str]:
    pages = {}
    index = [EXAMPLES_INTRO]
    for path in sorted((ROOT / "examples").glob("*.py")):
        source = path.read_text(encoding="utf-8")
        tree = ast.parse(source)
        doc = ast.get_docstring(tree) or ""
        summary, _, body = doc.partition("\n\n")
        summary = " ".join(summary.split())
        end = tree.body[0].end_lineno if doc else 0
        code = "\n".join(source.splitlines()[end:]).strip("\n")
        out = [f"# `{path.name}`\n\n{summary}\n\n{_markdown(body)}\n"]
        out += [_figure(png, f"examples/{path.name}", "..") for png in _figures(tree)]
        out.append(f"\n## Run it\n\n```bash\npython examples/{path.name}\n```\n"
                   f"\n## The code\n\n```python\n{code}\n```\n")
        pages[f"examples/{path.stem}.md"] = "".join(out)
        index.append(f"| [`{path.name}`]({path.stem}.md) | {summary} |\n")
    pages["examples/index.md"] = "".join(index)
    return pages


def _figure(png: str, writer: str, up: str) -> str:
    """A figure of docs/figures/, which must exist (it is committed, not built)."""
    if not (ROOT / "docs" / "figures" / png).is_file():
        raise FileNotFoundError(f"docs/figures/{png} (written by {writer}) is missing: "
                                "run `python docs/make_figures.py`")
    return f"\n![{png}]({up}/figures/{png})\n"


EXAMPLES_INTRO = """# Examples

Runnable scripts in `examples/`. Each prints its figures of merit (checked against an
independent reference where one exists) and writes a figure into the folder named by
`--out` (default `figures/`, created; needs the plot extra: `pip install -e ".[plot]"`).
`python examples/NAME.py --help` lists the options.

| script | what it shows |
|---|---|
"""


def _figures(tree: ast.Module) -> list[str]:
    """The PNG files an example writes: the `"NAME.png"` string literals of its code."""
    names = {node.value for node in ast.walk(tree) if isinstance(node, ast.Constant)
             and isinstance(node.value, str) and re.fullmatch(r"[\w.-]+\.png", node.value)}
    return sorted(names)


def _markdown(docstring: str) -> str:
    """A module docstring as Markdown: indented blocks become fenced code blocks."""
    out: list[str] = []
    block: list[str] = []
    for line in docstring.strip("\n").splitlines() + [""]:
        if line.startswith("    ") or (block and not line.strip()):
            block.append(line[4:])
            continue
        if block:
            while block and not block[-1].strip():
                block.pop()
            out += ["```", *block, "```", ""]
            block = []
        out.append(line)
    return "\n".join(out).strip("\n")


# --- docstrings ------------------------------------------------------------------------

def fence_doctests(text: str) -> str:
    """Wrap bare `>>>` examples of a docstring in fenced `pycon` blocks.

    Markdown would read `>>>` as three nested quotes. A docstring with an `Examples`
    section (NumPy style: the title over a line of dashes) is left alone: mkdocstrings
    renders that section's examples itself.
    """
    if re.search(r"^\s*Examples?\s*\n\s*-{3,}\s*$", text, re.M):
        return text
    lines, out, i, fenced = text.split("\n"), [], 0, False
    while i < len(lines):
        line = lines[i]
        if line.lstrip().startswith("```"):
            fenced = not fenced
        if fenced or not line.lstrip().startswith(">>>"):
            out.append(line)
            i += 1
            continue
        pad = line[: len(line) - len(line.lstrip())]
        block = []
        while i < len(lines) and lines[i].strip():
            block.append(lines[i])
            i += 1
        if out and out[-1].strip():
            out.append("")
        out += [pad + "```pycon", *block, pad + "```", ""]
    return "\n".join(out).rstrip("\n")


def _griffe_extension() -> Any:
    import griffe

    class DoctestBlocks(griffe.Extension):
        """Fences the `>>>` examples of every docstring (see `fence_doctests`), and drops
        the docstring that an attribute only inherits from its value's type (read by
        importing, `kind = "dense"` would otherwise show the documentation of `str`)."""

        def on_instance(self, *, obj: Any, node: Any = None, **kwargs: Any) -> None:
            if obj.is_alias or obj.docstring is None:
                return
            inherited = type(getattr(node, "obj", None)).__doc__
            if obj.is_attribute and isinstance(inherited, str) and \
                    obj.docstring.value == inspect.cleandoc(inherited):
                obj.docstring = None
                return
            obj.docstring.value = fence_doctests(obj.docstring.value)

    return DoctestBlocks


try:  # loaded by mkdocstrings as `docs/hooks.py:DoctestBlocks`
    DoctestBlocks = _griffe_extension()
except ImportError:  # griffe is part of the docs extra only
    pass


# --- hook entry points ----------------------------------------------------------------

def on_files(files: Any, config: Any) -> Any:
    from mkdocs.structure.files import File

    if SRC not in sys.path:
        sys.path.insert(0, SRC)

    pages = {f"api/{page}.md": api_page(module) for module, page in API}
    pages["tour.md"] = tour_page()
    pages.update(example_pages())
    for path, content in pages.items():
        files.append(File.generated(config, path, content=content))
    listed = set(re.findall(r"[\w./-]+\.md", str(config["nav"])))
    missing = sorted(p for p in pages if p not in listed)
    if missing:
        raise ValueError(f"mkdocs.yml: add {', '.join(missing)} to the nav")
    return files

