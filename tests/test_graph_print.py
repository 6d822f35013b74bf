"""Printing a staged graph (SPEC §15): the graphs a control-flow equation holds (a
cond's branches, a while_loop's predicate and body, a scan's body, and those of their
derivatives) print nested under it, as a jaxpr prints `cond[branches=...]`.

The printed text is parsed back into scopes and checked against an independent oracle:
each nested block lists the equations of the graph of that branch or body staged on its
own (`riesz.jit(branch).graph`), or of the graph the equation holds; every variable is
defined once in the whole printout, and each sub-graph reads only its own variables."""

from __future__ import annotations

import re

import numpy as np
import pytest

import riesz
import riesz.numpy as rnp
from riesz.control_flow import _Cond, _Scan, _While

_DEF = re.compile(r"([a-z]+):(?:f|c|i|u|bool|obj)[0-9]*\[")


class Block:
    """A printed graph: its binders, its equations (primitive, fn name, defined and
    read names, nested blocks by label)."""

    def __init__(self, header: str):
        self.defined = _DEF.findall(header.split("{ lambda", 1)[1])
        self.eqns: list[dict] = []
        self.out: list[str] = []

    def prims(self) -> list[str]:
        return [e["fn"] or e["prim"] for e in self.eqns]

    def all_blocks(self) -> list[Block]:
        out = [self]
        for e in self.eqns:
            for b in e["subs"].values():
                out += b.all_blocks()
        return out


def _ins(tail: str) -> list[str]:
    return [t for t in tail.split() if re.fullmatch(r"[a-z]+", t)]


def parse(text: str) -> Block:
    """The printed graph back as nested `Block`s (indentation gives the nesting)."""
    lines = text.splitlines()

    def block(header: str, indent: int) -> Block:
        nonlocal pos
        b = Block(header)
        while True:
            line = lines[pos]
            pos += 1
            body = line[indent:]
            if body.startswith("  in ("):
                b.out = _ins(body[len("  in ("):])
                return b
            assert body.startswith("    ") and not body.startswith("     "), line
            outs, rhs = body[4:].split(" = ", 1)
            m = re.match(r"(\w+)(?:\[fn=([^,\s\]]+))?", rhs)
            eqn = {"prim": m.group(1), "fn": m.group(2), "defs": _DEF.findall(outs),
                   "subs": {}, "line": line}
            if rhs.endswith("]") or "] " in rhs or "[" not in rhs:
                head_end = rhs.rfind("] ") + 2 if "] " in rhs else len(m.group(1)) + 1
                eqn["ins"] = _ins(rhs[head_end:])
            else:  # nested graphs follow, then "    ] ins" at this indent
                while lines[pos][indent:].startswith("      ") and "={ lambda" in lines[pos]:
                    label, header_ = lines[pos][indent + 6:].split("={", 1)
                    pos += 1
                    eqn["subs"][label] = block("{" + header_, indent + 6)
                close = lines[pos][indent:]
                pos += 1
                assert close.startswith("    ] ") or close == "    ]", close
                eqn["ins"] = _ins(close[5:])
            b.eqns.append(eqn)

    assert lines[0].startswith("{ lambda")
    pos = 1
    return block(lines[0], 0)


def check_scopes(root: Block) -> None:
    """Each name is defined once in the whole printout, and each equation reads
    only names of its own graph defined before it (sub-graphs are closed)."""
    every = [n for b in root.all_blocks() for n in b.defined + [d for e in b.eqns
                                                                  for d in e["defs"]]]
    assert len(every) == len(set(every)), sorted(n for n in every if every.count(n) > 1)
    for b in root.all_blocks():
        seen = set(b.defined)
        for e in b.eqns:
            assert set(e["ins"]) <= seen, (e["line"], e["ins"], seen)
            seen.update(e["defs"])
        assert set(b.out) <= seen


def jit_prims(f, *args) -> list[str]:
    """The primitives of `f` staged on its own (the oracle for a nested block)."""
    return [e.prim.name for e in riesz.jit(f).graph(*args).eqns]


def only(blocks: list[Block]) -> Block:
    assert len(blocks) == 1
    return blocks[0]


def eqns_with(block: Block, fn: str) -> list[dict]:
    return [e for e in block.eqns if e["fn"] == fn]


X = np.array([0.3, -1.2, 2.0])


def true_fn(a):
    return rnp.sin(a) * a


def false_fn(a):
    return rnp.exp(a) - 2.0


def with_cond(x):
    return rnp.sum(riesz.cond(rnp.sum(x) > 0, true_fn, false_fn, x))


def test_cond_prints_both_branches_under_their_labels() -> None:
    graph = riesz.jit(with_cond).graph(X)
    root = parse(repr(graph))
    check_scopes(root)
    eqn = only(eqns_with(root, "cond"))
    assert list(eqn["subs"]) == ["true_fn", "false_fn"]
    assert eqn["subs"]["true_fn"].prims() == jit_prims(true_fn, X) == ["sin", "multiply"]
    assert eqn["subs"]["false_fn"].prims() == jit_prims(false_fn, X) == ["exp", "subtract"]
    # the branches' operations are only inside the branches
    assert not {"sin", "exp"} & set(root.prims())


def body(v):
    return 1.5 * v + rnp.sin(v)


def grow(x):
    return riesz.while_loop(lambda v: v < 10.0, body, x)


def test_while_loop_prints_predicate_and_body() -> None:
    root = parse(repr(riesz.jit(grow).graph(0.7)))
    check_scopes(root)
    eqn = only(eqns_with(root, "while_loop"))
    assert list(eqn["subs"]) == ["cond_fn", "body_fn"]
    assert eqn["subs"]["cond_fn"].prims() == ["less"]
    assert eqn["subs"]["body_fn"].prims() == jit_prims(body, 0.7)
    assert "cond_nconsts=0, body_nconsts=0" in eqn["line"]


def test_fori_loop_with_traced_bound_prints_its_loop() -> None:
    def f(x, n):
        return riesz.fori_loop(0, n, lambda i, v: rnp.cos(v) * x, x)

    root = parse(repr(riesz.jit(f).graph(0.5, 3)))
    check_scopes(root)
    eqn = only(eqns_with(root, "while_loop"))
    assert "cos" in eqn["subs"]["body_fn"].prims() and "add" in eqn["subs"]["body_fn"].prims()
    assert "less" in eqn["subs"]["cond_fn"].prims()
    assert "cond_nconsts=1, body_nconsts=1" in eqn["line"]  # the bound, and x


def test_grad_of_while_loop_prints_the_vjp_equation_with_the_loop() -> None:
    root = parse(repr(riesz.jit(riesz.grad(grow)).graph(0.7)))
    check_scopes(root)
    eqn = only(eqns_with(root, "while_loop_vjp"))
    assert eqn["subs"]["body_fn"].prims() == jit_prims(body, 0.7)
    assert eqn["subs"]["cond_fn"].prims() == ["less"]


def step(c, x):
    return rnp.tanh(c * x + 1.0), rnp.cos(c)


def rnn(c0, xs):
    c, ys = riesz.scan(step, c0, xs)
    return c + rnp.sum(ys)


def test_scan_prints_its_body() -> None:
    root = parse(repr(riesz.jit(rnn).graph(0.2, X)))
    check_scopes(root)
    eqn = only(eqns_with(root, "scan"))
    assert list(eqn["subs"]) == ["body"]
    assert eqn["subs"]["body"].prims() == jit_prims(lambda c, x: list(step(c, x)), 0.2, 0.3)
    assert "length=3, reverse=False, num_consts=0, num_carry=1" in eqn["line"]
    assert "tanh" not in root.prims()


def test_grad_of_scan_prints_forward_and_backward_bodies() -> None:
    jg = riesz.jit(riesz.grad(rnn, argnums=(0, 1)))
    graph = jg.graph(0.2, X)
    root = parse(repr(graph))
    check_scopes(root)
    scans = [e for e in graph.eqns if isinstance(e.params.get("fn"), _Scan)]
    printed = eqns_with(root, "scan")
    assert len(printed) == len(scans) == 2
    assert ["reverse=True" in e["line"] for e in printed] == [s.params["fn"].reverse
                                                             for s in scans] == [False, True]
    for e, s in zip(printed, scans, strict=True):  # the bodies the equations hold
        assert e["subs"]["body"].prims() == [q.prim.name for q in s.params["fn"].body.graph.eqns]
    backward = printed[1]["subs"]["body"].prims()
    assert "multiply" in backward and "tanh" not in backward  # a VJP, residuals saved
    np.testing.assert_allclose(jg(0.2, X)[1], riesz.grad(rnn, argnums=1)(0.2, X), rtol=1e-14)


def scan_of_cond(c0, xs):
    def f(c, x):
        c = riesz.cond(x > 0, lambda a: rnp.sin(a) * x, lambda a: rnp.exp(-a), c)
        return c, 2.0 * c

    c, ys = riesz.scan(f, c0, xs)
    return c + rnp.sum(ys)


def test_cond_inside_scan_prints_nested_in_the_body() -> None:
    graph = riesz.jit(scan_of_cond).graph(0.2, X)
    text = repr(graph)
    root = parse(text)
    check_scopes(root)
    body_ = only(eqns_with(root, "scan"))["subs"]["body"]
    cond_ = only(eqns_with(body_, "cond"))
    assert cond_["subs"]["true_fn"].prims() == ["sin", "multiply"]
    assert cond_["subs"]["false_fn"].prims() == ["negative", "exp"]
    assert "cond" not in [e["fn"] for e in root.eqns]
    # the nesting is the indentation: the branches sit deeper than the body's equations
    assert re.search(r"^ {6}body=\{ lambda", text, re.M)
    assert re.search(r"^ {12}true_fn=\{ lambda", text, re.M)
    assert re.search(r"^ {16}\S+ = sin ", text, re.M)
    # and under grad: the backward scan's body holds the backward cond
    root = parse(repr(riesz.jit(riesz.grad(scan_of_cond, argnums=1)).graph(0.2, X)))
    check_scopes(root)
    back = [e for e in eqns_with(root, "scan") if "reverse=True" in e["line"]]
    assert {"true_fn", "false_fn"} == set(only(eqns_with(only(back)["subs"]["body"],
                                                         "cond"))["subs"])


def test_vmap_of_loop_under_jit_prints_the_batched_graphs() -> None:
    xs = np.array([0.7, 3.0])
    root = parse(repr(riesz.jit(riesz.vmap(grow)).graph(xs)))
    check_scopes(root)
    eqn = only([e for e in root.eqns if e["subs"]])
    assert eqn["fn"] == "vmap(while_loop" and "in_axes=(0,), size=2)" in eqn["line"]
    # a while_loop of the batched body: while any example's predicate holds, the
    # body then a select per example (the predicate again) keeps the finished ones
    assert eqn["subs"]["cond_fn"].prims() == ["less", "any"]
    assert eqn["subs"]["body_fn"].prims() == [*jit_prims(body, 0.7), "less", "where"]
    # a staged cond mapped with a per-example predicate: both branches, then a select
    per_example = riesz.jit(lambda x: riesz.cond(x > 0, rnp.sin, rnp.cos, x))
    root = parse(repr(riesz.jit(riesz.vmap(per_example)).graph(xs)))
    check_scopes(root)
    eqn = only([e for e in root.eqns if e["subs"]])
    assert sorted(only(list(eqn["subs"].values())).prims()) == ["cos", "sin", "where"]


def held_by(graph) -> list:
    """The control-flow functions of `graph`'s equations at any depth, each with the
    staged functions it holds."""
    out = []
    for e in graph.eqns:
        fn = e.params.get("fn")
        if isinstance(fn, _Cond):
            staged = list(fn.branches)
        elif isinstance(fn, _While):
            staged = [fn.cond_g, fn.body_g]
        elif isinstance(fn, _Scan):
            staged = [fn.body]
        else:
            continue
        out.append((fn, staged))
        for st in staged:
            out += held_by(st.graph)
    return out


def test_printing_changes_neither_the_graph_nor_the_results() -> None:
    def f(x):
        y = with_cond(x) + grow(x[0]) + rnn(x[1], x)
        return y + scan_of_cond(x[2], x)

    jf, jg = riesz.jit(f), riesz.jit(riesz.grad(f))
    graph = riesz.make_graph(f)(X)
    eqns, outs = list(graph.eqns), list(graph.outvars)
    first = repr(graph)
    assert repr(graph) == first and graph.eqns == eqns and graph.outvars == outs
    # printing compiles nothing: no staged sub-graph (at any depth) has code yet
    held = held_by(graph)
    assert sorted(type(fn).__name__ for fn, _ in held) == ["_Cond", "_Cond", "_Scan", "_Scan",
                                                           "_While"]
    assert all(st.run is None for _, staged in held for st in staged)
    assert all(fn.compiled is None for fn, _ in held if isinstance(fn, _Scan))
    v0, g0 = jf(X), jg(X)
    repr(jf.graph(X)), repr(jg.graph(X))  # noqa: B018 - printing only
    assert jf(X) == v0 and np.array_equal(jg(X), g0)
    assert v0 == pytest.approx(f(X), rel=1e-14)
    np.testing.assert_allclose(g0, riesz.grad(f)(X), rtol=1e-13)
    # a graph prints the same however often it is staged (no addresses in parameters)
    assert repr(riesz.make_graph(f)(X)) == first


def test_custom_call_parameters_print_without_default_reprs() -> None:
    @riesz.custom_vjp
    def square(x):
        return x * x

    square.defvjp(lambda x: (x * x, x), lambda x, g: (2.0 * x * g,))
    text = repr(riesz.jit(lambda x: square(x) + 1.0).graph(X))
    assert " object at" not in text and "fn=square" in text  # no default reprs
    assert text == repr(riesz.jit(lambda x: square(x) + 1.0).graph(X))
