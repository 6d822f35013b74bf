"""docs/numpy.md is generated from the registry and the public API: the
committed copy must be current (regenerate with
`python -m riesz.numpy._docs > docs/numpy.md`)."""

from __future__ import annotations

from pathlib import Path

import riesz
from riesz.numpy._docs import generate, layer_primitives

DOC = Path(__file__).resolve().parent.parent / "docs" / "numpy.md"


def test_docs_numpy_md_is_up_to_date() -> None:
    assert DOC.read_text(encoding="utf-8") == generate(), (
        "docs/numpy.md is stale: run `python -m riesz.numpy._docs > docs/numpy.md`"
    )


def test_docs_list_every_primitive_with_its_kind() -> None:
    text = generate()
    prims = layer_primitives()
    assert set(prims) <= set(riesz.registry())
    for name, prim in prims.items():
        assert f"| `{name}` | {prim.kind} |" in text
