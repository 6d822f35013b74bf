"""The `riesz` command line: `riesz --version` and `riesz tour` (see `riesz tour --help`)."""

from __future__ import annotations

import argparse
import importlib.util
import sys

PLOT_INSTALL = 'pip install "riesz[plot]"'


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("riesz")
    except PackageNotFoundError:  # running from a source checkout that is not installed
        from . import __version__

        return __version__


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="riesz", description=__doc__)
    parser.add_argument("--version", action="version", version=f"riesz {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    tour = sub.add_parser("tour", help="walk through riesz's ideas, computed and checked")
    tour.add_argument("--list", action="store_true", help="list the sections and exit")
    tour.add_argument("--section", metavar="N", action="append",
                      help="run only section N, or the sections whose title contains N "
                           "(repeatable)")
    tour.add_argument("--plots", metavar="DIR",
                      help=f"also write PNG figures to DIR (needs matplotlib: {PLOT_INSTALL})")
    args = parser.parse_args(argv)
    if args.command == "tour":
        from . import tour as tour_module

        if args.list:
            for number, title in enumerate(tour_module.titles(), start=1):
                print(f"{number:3d}. {title}")
            return 0
        if args.plots and importlib.util.find_spec("matplotlib") is None:
            print(f"riesz tour --plots needs matplotlib, which is not installed: {PLOT_INSTALL}",
                  file=sys.stderr)
            return 2
        sections = None
        if args.section:
            try:
                sections = sorted({n for which in args.section
                                   for n in tour_module.select(which)})
            except ValueError as e:
                print(f"riesz tour: {e}", file=sys.stderr)
                return 2
        return 0 if tour_module.run(plots=args.plots, sections=sections) else 1
    return 2


if __name__ == "__main__":
    sys.exit(main())
