"""The `riesz` command line: `riesz tour [--plots DIR]`."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="riesz", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    tour = sub.add_parser("tour", help="walk through the chapter's results, computed and checked")
    tour.add_argument("--plots", metavar="DIR", help="also write PNG figures to DIR")
    args = parser.parse_args(argv)
    if args.command == "tour":
        from .tour import run

        return 0 if run(plots=args.plots) else 1
    return 2


if __name__ == "__main__":
    sys.exit(main())
