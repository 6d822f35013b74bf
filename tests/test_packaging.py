"""pyproject.toml's metadata (SPEC §17): a build floor that supports the metadata used,
no exact pins without a reason, and the typing marker shipped."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = ROOT / "pyproject.toml"


def load() -> dict:
    return tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))


def test_setuptools_floor_supports_a_string_license():
    cfg = load()
    if isinstance(cfg["project"].get("license"), str):  # PEP 639 form: setuptools >= 77
        (req,) = [r for r in cfg["build-system"]["requires"] if r.startswith("setuptools")]
        floor = re.search(r">=\s*(\d+)", req)
        assert floor and int(floor.group(1)) >= 77, req


def test_extras_are_not_pinned_exactly_without_a_reason():
    text = PYPROJECT.read_text(encoding="utf-8")
    for extra, reqs in load()["project"]["optional-dependencies"].items():
        for req in reqs:
            if "==" in req:
                line = next(ln for ln in text.splitlines() if f'"{req}"' in ln)
                assert "#" in line, f"extra {extra!r} pins {req} with no reason next to it"


def test_metadata_names_authors_and_classifiers():
    project = load()["project"]
    assert project["authors"] and project["classifiers"]
    assert "Typing :: Typed" in project["classifiers"]


def test_py_typed_is_shipped():
    assert (ROOT / "src" / "riesz" / "py.typed").is_file()
    assert "py.typed" in load()["tool"]["setuptools"]["package-data"]["riesz"]
