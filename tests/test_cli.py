"""The `riesz` command line and the tour's framework (SPEC §17)."""

from __future__ import annotations

import importlib.util
import re

import pytest

import riesz
from riesz import cli, tour


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        rc = cli.main(list(argv))
    except SystemExit as e:  # argparse's --version exits
        rc = e.code
    out, err = capsys.readouterr()
    return rc, out, err


def test_version(capsys):
    rc, out, _ = run_cli(capsys, "--version")
    assert rc == 0 and out.strip() == f"riesz {riesz.__version__}"


def test_list_numbers_every_section_without_running_it(capsys):
    rc, out, _ = run_cli(capsys, "tour", "--list")
    lines = out.splitlines()
    assert rc == 0 and len(lines) == len(tour.SECTIONS)
    for number, line in enumerate(lines, start=1):
        assert re.fullmatch(rf"\s*{number}\. \S.*", line), line
    assert "checks passed" not in out


def test_section_by_number_and_by_name(capsys):
    names = tour.titles()
    rc, out, _ = run_cli(capsys, "tour", "--section", "2")
    assert rc == 0
    assert f"== 2. {names[1]} ==" in out and "== 1." not in out and "== 3." not in out
    rc, out, _ = run_cli(capsys, "tour", "--section", "elementwise")
    assert rc == 0 and f"== 2. {names[1]} ==" in out and out.count("\n== ") == 1


@pytest.mark.parametrize("which", ["0", "999", "no such section"])
def test_unknown_section_fails_with_a_message(capsys, which):
    rc, out, err = run_cli(capsys, "tour", "--section", which)
    assert rc != 0 and "--section" in err and out == ""


def test_plots_without_matplotlib_fails_at_once(capsys, tmp_path, monkeypatch):
    real = importlib.util.find_spec

    def find_spec(name, *args, **kwargs):
        return None if name == "matplotlib" else real(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    rc, out, err = run_cli(capsys, "tour", "--plots", str(tmp_path / "figs"))
    assert rc != 0 and out == ""
    assert 'pip install "riesz[plot]"' in err
    assert not (tmp_path / "figs").exists()


def test_tour_output_fits_100_columns_shows_code_and_cites_no_figures():
    lines: list[str] = []
    tour.run(out=lines.append)  # the checks' outcomes are the sections' business, not this test's
    n = len(tour.SECTIONS)
    assert sum(line.startswith("\n== ") for line in lines) == n
    assert sum(line == "   code:" for line in lines) == n  # every section shows its code
    too_wide = [line for line in "\n".join(lines).splitlines() if len(line) > tour.WIDTH]
    assert too_wide == []
    text = "\n".join(lines)
    assert not re.search(r"Figure [A-Z]?\d|§\s*\d", text)


def test_long_lines_are_wrapped_not_cut():
    lines: list[str] = []
    t = tour.Tour(out=lines.append)
    t.section("A title", "word " * 60, code="x = 1")
    t.check("a result", "a check", lambda: ("measured " * 30, True))
    assert t.finish()
    text = "\n".join(lines)
    assert max(len(line) for line in text.splitlines()) <= tour.WIDTH
    assert text.count("word") == 60 and text.count("measured") == 30
