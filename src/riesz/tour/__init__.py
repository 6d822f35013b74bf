"""`riesz tour`: the ideas behind riesz, computed live and checked.

How to write a section (every section follows this pattern):

- A section is a function `section(tour)` listed in its module's `SECTIONS`, which
  this package concatenates in `SECTIONS` below. Sections are numbered by their
  position there: do not put a number in the title.
- It starts with `tour.section(title, idea, code=...)`. `idea` is a few sentences of
  prose; `code` is the few lines of riesz code that produce the section's numbers
  (the calls a user would type, not the checking code), printed indented.
  Cite ideas by topic, never by figure or section number of a book.
- It records results with `tour.check(result, check, compute)`: `compute()` returns a
  short description of what was measured and whether the check passed; its run time
  is shown beside it.
- Figures: `plt = tour.pyplot()` (None when no plots were asked for) and
  `tour.save(fig, "name.png")`.
- Every printed line fits in 100 columns (`WIDTH`); longer lines are wrapped.
"""

from __future__ import annotations

import re
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import complex_numbers, engine, higher, implicit, ode, spaces, staging, taylor, tensor

WIDTH = 100


@dataclass
class Row:
    result: str
    check: str
    measured: str
    ok: bool
    seconds: float


@dataclass
class Tour:
    """Collects checked results and prints them as tables."""

    plots: Path | None = None
    out: Callable[[str], None] = print
    rows: list[Row] = field(default_factory=list)
    _section_rows: list[Row] = field(default_factory=list)

    number: int = 0

    def _say(self, line: str, indent: str = "   ") -> None:
        """Print `line` wrapped to `WIDTH` columns, continuation lines indented."""
        if len(line) <= WIDTH:
            self.out(line)
            return
        for part in textwrap.wrap(line, WIDTH, subsequent_indent=indent,
                                  break_long_words=True, break_on_hyphens=False):
            self.out(part)

    def section(self, title: str, idea: str, code: str = "") -> None:
        """Start a section: its title, the idea in prose, the riesz code behind it."""
        self._flush()
        self.number += 1
        title = re.sub(r"^\d+\.\s*", "", title)
        self._say(f"\n== {self.number}. {title} ==")
        self._say("   " + " ".join(line.strip() for line in idea.strip().splitlines()))
        if code.strip():
            self.out("   code:")
            for line in textwrap.dedent(code).strip("\n").splitlines():
                self._say(f"       {line}".rstrip(), indent="           ")

    def pyplot(self) -> Any:
        """matplotlib's pyplot when plots were asked for and it is installed, else None."""
        from .._plotting import pyplot

        return None if self.plots is None else pyplot(lambda msg: self.out(f"   ({msg})"))

    def save(self, fig: Any, name: str) -> None:
        """Write a figure into the plots folder."""
        from .._plotting import save_figure

        assert self.plots is not None, "Tour.save without a plots folder"
        save_figure(fig, self.plots, name, lambda msg: self.out(f"   {msg}"))

    def check(self, result: str, check: str, compute: Callable[[], tuple[str, bool]]) -> bool:
        t0 = time.perf_counter()
        try:
            measured, ok = compute()
        except Exception as e:  # a tour row that crashes is a failed check, shown as such
            measured, ok = f"raised {type(e).__name__}: {e}", False
        row = Row(result, check, measured, bool(ok), time.perf_counter() - t0)
        self.rows.append(row)
        self._section_rows.append(row)
        return row.ok

    def _flush(self) -> None:
        rows, self._section_rows = self._section_rows, []
        if not rows:
            return
        self.out("   checks:")
        for r in rows:
            mark = "ok" if r.ok else "FAIL"
            self._say(f"   {mark:<4} {r.seconds * 1e3:8.2f} ms  {r.result} ({r.check})",
                      indent=" " * 21)
            self._say(f"{'':21}{r.measured}", indent=" " * 23)

    def finish(self) -> bool:
        self._flush()
        failed = [r for r in self.rows if not r.ok]
        self.out(f"\n{len(self.rows) - len(failed)}/{len(self.rows)} checks passed")
        return not failed


SECTIONS: list[Callable[[Tour], None]] = [*engine.SECTIONS, *spaces.SECTIONS, *higher.SECTIONS,
                                          *taylor.SECTIONS, *implicit.SECTIONS, *tensor.SECTIONS,
                                          *ode.SECTIONS, *staging.SECTIONS,
                                          *complex_numbers.SECTIONS]


class _Listed(Exception):
    """Raised by `_TitleOnly.section` to stop a section once its title is known."""


class _TitleOnly(Tour):
    def section(self, title: str, idea: str, code: str = "") -> None:
        self.title = re.sub(r"^\d+\.\s*", "", title)
        raise _Listed


def titles() -> list[str]:
    """The sections' titles, in order, without running their checks."""
    out = []
    for section in SECTIONS:
        t = _TitleOnly(out=lambda line: None)
        try:
            section(t)
        except _Listed:
            pass
        out.append(t.title)
    return out


def select(which: str) -> list[int]:
    """The 1-based numbers of the sections named by `which`: a number, or words of a title."""
    names = titles()
    if which.strip().isdigit():
        n = int(which)
        if not 1 <= n <= len(names):
            raise ValueError(f"--section {which}: the tour has sections 1 to {len(names)}")
        return [n]
    hits = [i + 1 for i, name in enumerate(names) if which.lower() in name.lower()]
    if not hits:
        raise ValueError(f"--section {which!r}: no section title contains it; "
                         "`riesz tour --list` shows them")
    return hits


def run(plots: str | Path | None = None, out: Callable[[str], None] = print,
        sections: list[int] | None = None) -> bool:
    """Run the sections numbered in `sections` (default all); True when all checks pass."""
    tour = Tour(plots=Path(plots) if plots else None, out=out)
    if tour.plots:
        tour.plots.mkdir(parents=True, exist_ok=True)
    out("riesz tour: derivatives as linear maps, computed live and checked")
    for number, section in enumerate(SECTIONS, start=1):
        if sections is None or number in sections:
            tour.number = number - 1
            section(tour)
    return tour.finish()
