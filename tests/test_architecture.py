"""The import graph of `src/riesz`: layers import downwards only, and no cycles.

`LAYERS` is the one declaration of the layering (docs/architecture.md explains
it). The graph is read from the source with `ast`: module-level and
function-level imports, absolute and relative; imports under
`if TYPE_CHECKING:` are excluded (they never run). A module may import modules
of its own layer or of lower layers, and the graph must have no cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

# layer -> module patterns ("pkg.*" matches every module inside pkg, not pkg itself)
LAYERS: dict[int, tuple[str, ...]] = {
    0: ("riesz._core", "riesz._core.*"),  # Trace, Tracer, bind, Primitive, pytrees, array namespace
    1: ("riesz._interpreters", "riesz._interpreters.*"),  # forward, reverse, batching, Taylor
    2: ("riesz._primitives", "riesz._primitives.*"),  # primitives by family, with all their rules
    3: ("riesz.numpy", "riesz.numpy.*", "riesz.scipy", "riesz.scipy.*"),  # public array API
    4: ("riesz.transforms", "riesz.custom", "riesz.taylor", "riesz.staged", "riesz.fusion",
        "riesz.loop_kernels",
        "riesz.control_flow"),  # transformations
    # spaces, linear operators, linear and nonlinear solvers
    5: ("riesz.spaces", "riesz.linear", "riesz.linear_solvers", "riesz.solvers"),
    # derived operators and tools (check_grads draws its directions from spaces); ODE
    # solves, public under riesz.scipy but differentiated with the transformations
    6: ("riesz.derivatives", "riesz.implicit", "riesz.tensor", "riesz.optim", "riesz.checks",
        "riesz.scipy.integrate"),
    7: ("riesz", "riesz.__main__", "riesz.cli", "riesz._plotting", "riesz.tour", "riesz.tour.*"),
}

def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted((SRC / "riesz").rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING"
    )


def _imports(module: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The riesz modules `module` imports, anywhere in its body."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for stmt in child.orelse:
                    visit_one(stmt)
                continue
            visit_one(child)

    def visit_one(node: ast.AST) -> None:
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "riesz")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            if source.split(".")[0] == "riesz":
                for alias in node.names:  # `from pkg import submodule` imports the submodule
                    sub = f"{source}.{alias.name}"
                    found.add(sub if sub in modules else source)
        visit(node)

    visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
    out = set()
    for name in found:
        while name not in modules:  # `import riesz.numpy.linalg.x`: the deepest module
            name = name.rpartition(".")[0]
        if name != module:
            out.add(name)
    return out


def _layer_of(module: str) -> int | None:
    """The module's layer: a module named exactly wins over a package pattern `pkg.*`."""
    for layer, patterns in LAYERS.items():
        if module in patterns:
            return layer
    for layer, patterns in LAYERS.items():
        for pattern in patterns:
            if pattern.endswith(".*") and module.startswith(pattern[:-1]):
                return layer
    return None


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {m: _imports(m, p, modules) for m, p in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1 or v in graph[v]:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return out


def test_every_module_has_a_layer() -> None:
    unlisted = [m for m in _modules() if _layer_of(m) is None]
    assert not unlisted, f"modules without a layer (add them to LAYERS): {unlisted}"


def test_no_import_from_a_higher_layer() -> None:
    upward = []
    for module, deps in sorted(_graph().items()):
        mine = _layer_of(module)
        for dep in sorted(deps):
            theirs = _layer_of(dep)
            if mine is not None and theirs is not None and theirs > mine:
                upward.append(f"{module} (layer {mine}) imports {dep} (layer {theirs})")
    assert not upward, "imports from a higher layer:\n" + "\n".join(upward)


def test_no_import_cycles() -> None:
    graph = _graph()
    bad = []
    for cycle in _cycles(graph):
        edges = [f"  {m} -> {sorted(graph[m] & set(cycle))}" for m in cycle]
        bad.append("cycle " + " <-> ".join(cycle) + "\n" + "\n".join(edges))
    assert not bad, "import cycles:\n" + "\n".join(bad)


def test_core_and_interpreters_know_no_array_layer() -> None:
    """Issue 7: `_core` and `_interpreters` reach array operations only through
    what the array layer registers in `riesz._core.ops`."""
    graph = _graph()
    low = [m for m in graph if _layer_of(m) in (0, 1)]
    assert low
    for module in low:
        assert all(_layer_of(d) in (0, 1) for d in graph[module]), (module, graph[module])


# -- the checker itself must catch what it is meant to catch -------------------------------


def _graph_of(tmp_path: Path, files: dict[str, str]) -> dict[str, set[str]]:
    for rel, text in files.items():
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    modules = {}
    for p in sorted(tmp_path.rglob("*.py")):
        parts = list(p.relative_to(tmp_path).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = p
    return {m: _imports(m, p, modules) for m, p in modules.items()}


def test_checker_sees_function_level_relative_and_absolute_imports(tmp_path: Path) -> None:
    graph = _graph_of(tmp_path, {
        "riesz/__init__.py": "",
        "riesz/a.py": "def f():\n    from .b import g\n    return g\n",
        "riesz/b.py": "import riesz.c\n",
        "riesz/c.py": (
            "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n    from riesz import a\n"
            "def h():\n    from . import a\n"
        ),
        "riesz/pkg/__init__.py": "from .. import b\n",
    })
    assert graph["riesz.a"] == {"riesz.b"}
    assert graph["riesz.b"] == {"riesz.c"}
    assert graph["riesz.c"] == {"riesz.a"}  # the TYPE_CHECKING import is not counted
    assert graph["riesz.pkg"] == {"riesz.b"}
    assert _cycles(graph) == [["riesz.a", "riesz.b", "riesz.c"]]


@pytest.mark.parametrize("module, layer", [
    ("riesz._core.trace", 0), ("riesz._primitives.linalg", 2), ("riesz.numpy", 3),
    ("riesz.numpy.linalg", 3), ("riesz", 7), ("riesz.tour.engine", 7), ("riesz.nowhere", None),
    ("riesz._primitives.fft", 2), ("riesz.numpy.fft", 3),
])
def test_layer_patterns(module: str, layer: int | None) -> None:
    assert _layer_of(module) == layer


# -- what the lower layers read from the array layer ---------------------------------------


def test_unregistered_array_operation_raises_a_clear_error() -> None:
    import riesz  # noqa: F401  (registers the array layer)
    from riesz._core import ops

    assert {"add_p", "reshape_p", "move_axis", "sum", "getitem"} <= set(ops.registered())
    with pytest.raises(LookupError, match=r"riesz\._core\.ops\.no_such_op is not registered"):
        ops.no_such_op  # noqa: B018
    with pytest.raises(ValueError, match="already registered"):
        ops.register(add_p=object())
    with pytest.raises(ValueError, match="cannot be registered"):
        ops.register(register=object())


def test_tracer_methods_are_declared_on_the_class() -> None:
    """No module attaches attributes to `Tracer` from outside (`Tracer.x = ...`,
    `setattr(Tracer, ...)`): its operators and methods are in its class body."""
    from riesz._core.trace import Tracer

    for name in ("__add__", "__rmatmul__", "__getitem__", "__array_ufunc__", "sum", "T", "at"):
        assert name in vars(Tracer), name
    offenders = []
    for module, path in _modules().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets = node.targets if isinstance(node, ast.Assign) else []
            for t in targets:
                if (isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name)
                        and t.value.id == "Tracer"):
                    offenders.append(f"{module}: Tracer.{t.attr} = ...")
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id == "setattr" and node.args
                    and isinstance(node.args[0], ast.Name) and node.args[0].id == "Tracer"):
                offenders.append(f"{module}: setattr(Tracer, ...)")
    assert not offenders, offenders


def test_a_module_named_exactly_wins_over_its_package_pattern() -> None:
    assert _layer_of("riesz.scipy.integrate") == 6  # listed by name in layer 6
    assert _layer_of("riesz.scipy.linalg") == 3  # matched by "riesz.scipy.*"
