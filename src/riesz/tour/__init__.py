"""`riesz tour`: the chapter's results, computed live and checked.

Each section is a function `section(tour)` that explains one idea and records
rows with `tour.check(result, check, compute)`. `compute()` returns a short
description of what was measured and whether the check passed; its run time is
shown beside it. Sections are listed in chapter order in `SECTIONS`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import complex_numbers, engine, higher, implicit, ode, spaces, staging, taylor, tensor


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

    def section(self, title: str, idea: str) -> None:
        self._flush()
        self.out(f"\n== {title} ==")
        for line in idea.strip().splitlines():
            self.out(f"   {line.strip()}")

    def pyplot(self) -> Any:
        """matplotlib's pyplot when plots were asked for and it is installed, else None."""
        from .._plotting import pyplot

        return None if self.plots is None else pyplot(lambda msg: self.out(f"   ({msg})"))

    def save(self, fig: Any, name: str) -> None:
        """Write a figure into the plots folder."""
        from .._plotting import save_figure

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
        w_res = max(len("result"), *(len(r.result) for r in rows))
        w_chk = max(len("check"), *(len(r.check) for r in rows))
        self.out(f"   {'result':<{w_res}}  {'check':<{w_chk}}  {'ok':<4}  {'time':>9}  measured")
        for r in rows:
            mark = "ok" if r.ok else "FAIL"
            self.out(f"   {r.result:<{w_res}}  {r.check:<{w_chk}}  {mark:<4}  "
                     f"{r.seconds * 1e3:7.2f}ms  {r.measured}")

    def finish(self) -> bool:
        self._flush()
        failed = [r for r in self.rows if not r.ok]
        self.out(f"\n{len(self.rows) - len(failed)}/{len(self.rows)} checks passed")
        return not failed


SECTIONS: list[Callable[[Tour], None]] = [*engine.SECTIONS, *spaces.SECTIONS, *higher.SECTIONS,
                                          *taylor.SECTIONS, *implicit.SECTIONS, *tensor.SECTIONS,
                                          *ode.SECTIONS, *staging.SECTIONS,
                                          *complex_numbers.SECTIONS]


def run(plots: str | Path | None = None, out: Callable[[str], None] = print) -> bool:
    """Run every section; return True when all checks pass."""
    tour = Tour(plots=Path(plots) if plots else None, out=out)
    if tour.plots:
        tour.plots.mkdir(parents=True, exist_ok=True)
    out("riesz tour: derivatives as linear maps, computed live and checked")
    for section in SECTIONS:
        section(tour)
    return tour.finish()
