"""The code shown in the documentation's hand-written pages runs and its assertions hold.

Every ```python block of a page runs, in order, in one namespace per page (a page reads
as one session). A ```text block right after it is what it prints, and must match.
Blocks meant to be read but not run (they need a GPU, say) are marked ```py instead.
The site itself is built by `mkdocs build --strict` (the `docs` extra).
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import importlib.util
import io
import pickle
import re
import types
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
PAGES = ["index.md", "concepts.md", "migrating.md", "staging.md", "backends.md"]
NEEDS = {"backends.md": "dask"}


def _blocks(text: str) -> list[tuple[str, str | None]]:
    """The python blocks of a page, each with the text block that follows it (or None)."""
    fences = list(re.finditer(r"^```(\w*)\n(.*?)^```\n?", text, flags=re.M | re.S))
    out = []
    for i, m in enumerate(fences):
        if m.group(1) != "python":
            continue
        after = fences[i + 1] if i + 1 < len(fences) else None
        printed = (after.group(2) if after is not None and after.group(1) == "text"
                   and not text[m.end():after.start()].strip() else None)
        out.append((m.group(2), printed))
    return out


@pytest.mark.parametrize("page", PAGES)
def test_page_code_runs(page: str) -> None:
    if page in NEEDS:
        pytest.importorskip(NEEDS[page])
    blocks = _blocks((DOCS / page).read_text(encoding="utf-8"))
    assert blocks, f"{page} has no python block"
    namespace: dict[str, object] = {"__name__": f"docs_{page[:-3]}"}
    for number, (block, printed) in enumerate(blocks, start=1):
        where = f"docs/{page} (python block {number})"
        stdout = io.StringIO()
        with contextlib.redirect_stdout(stdout):
            exec(compile(block, where, "exec"), namespace)
        if printed is not None:
            assert stdout.getvalue().strip() == printed.strip(), f"{where} prints otherwise"


def test_blocks_are_found() -> None:
    text = ("a\n```python\nx = 1\n```\n```py\nnot run\n```\n```python\nprint(2)\n```\n"
            "\n```text\n2\n```\nb\n```python\ny = 2\n```\nc\n```text\nnot output\n```\n")
    assert _blocks(text) == [("x = 1\n", None), ("print(2)\n", "2\n"), ("y = 2\n", None)]


API_MODULES = ["riesz", "riesz.numpy", "riesz.numpy.linalg", "riesz.numpy.fft",
               "riesz.scipy.special", "riesz.scipy.linalg", "riesz.scipy.stats",
               "riesz.scipy.integrate", "riesz.scipy.signal", "riesz.spaces", "riesz.linear",
               "riesz.linear_solvers", "riesz.solvers", "riesz.implicit", "riesz.tensor",
               "riesz.optim"]


@pytest.mark.parametrize("module", API_MODULES)
def test_public_functions_are_found_where_they_say(module: str) -> None:
    """Each public function or class of riesz is reachable as `__module__.__qualname__`:
    the API reference (and `pickle`, and `help`) find it there. Functions built by a
    factory in another module (`erf = _unary(erf_p, "erf")`) once named the factory's
    module, where no `erf` exists."""
    mod = importlib.import_module(module)
    lost = []
    for name in mod.__all__:
        obj = getattr(mod, name)
        if not isinstance(obj, (types.FunctionType, type)) or not obj.__module__.startswith(
                "riesz"):
            continue
        home: object = importlib.import_module(obj.__module__)
        for part in obj.__qualname__.split("."):
            home = getattr(home, part, None)
        if home is not obj:
            lost.append(f"{name} ({obj.__module__}.{obj.__qualname__})")
    assert not lost, f"{module}: not found where they say they are: {lost}"
    if module == "riesz.scipy.special":
        erf = mod.erf
        assert pickle.loads(pickle.dumps(erf)) is erf


def _hooks() -> types.ModuleType:
    """docs/hooks.py, which generates the site's API, tour and example pages."""
    spec = importlib.util.spec_from_file_location("docs_hooks", DOCS / "hooks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_doctest_blocks_are_fenced() -> None:
    fence = _hooks().fence_doctests
    text = "What it does.\n>>> f(1)\n2\n\nMore text.\n```python\n>>> kept\n```"
    fenced = fence(text)
    assert "What it does.\n\n```pycon\n>>> f(1)\n2\n```\n" in fenced
    assert fenced.endswith("More text.\n```python\n>>> kept\n```")   # a code block: untouched
    numpy_style = "What.\n\nExamples\n--------\n>>> f(1)\n2"
    assert fence(numpy_style) == numpy_style   # mkdocstrings renders that section itself


def test_generated_pages_cover_the_examples_the_tour_and_the_api() -> None:
    hooks = _hooks()
    examples = hooks.example_pages()
    for script in sorted((DOCS.parent / "examples").glob("*.py")):
        page = examples[f"examples/{script.stem}.md"]
        assert "![" in page, f"{script.name}: no figure on its page"
        assert script.stem in examples["examples/index.md"]
    tour_text = hooks.tour_page()
    from riesz import tour

    for number, title in enumerate(tour.titles(), start=1):
        assert f"## {number}. {title}" in tour_text
    written = re.findall(r'\.save\(\w+, "(\w+\.png)"\)', "".join(
        p.read_text(encoding="utf-8") for p in (DOCS.parent / "src/riesz/tour").glob("*.py")
        if p.name != "__init__.py"))  # (its docstring shows the call with "name.png")
    assert written, "the tour writes no figure?"
    for png in written:
        assert f"(./figures/{png})" in tour_text, f"the tour's {png} is not on its page"
    api = hooks.api_page("riesz.scipy.special")
    import riesz.scipy.special as special

    members = re.search(r"members: (\[.*\])", api)
    assert members and set(ast.literal_eval(members.group(1))) == set(special.__all__)
