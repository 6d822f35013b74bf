"""Regenerate the figures shown by the documentation (docs/figures/*.png).

    pip install -e ".[plot,dask]" && python docs/make_figures.py [NAME ...]

Runs `riesz tour --plots docs/figures` and each script of examples/ with
`--out docs/figures` (or only those named: `tour`, or an example's name). The figures
are committed: the examples take minutes in all, too long for every docs build. The
Dask example runs on 2·10^6 rows instead of its default 2·10^7, to keep this quick.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ARGS = {"dask_logistic_regression": ["--rows", "2000000"]}


def main(names: list[str]) -> int:
    env = {**os.environ, "MPLBACKEND": "Agg",
           "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    out = str(ROOT / "docs" / "figures")
    runs = {"tour": [sys.executable, "-m", "riesz", "tour", "--plots", out]}
    for script in sorted((ROOT / "examples").glob("*.py")):
        runs[script.stem] = [sys.executable, str(script), "--out", out,
                             *ARGS.get(script.stem, [])]
    failed = 0
    for name, cmd in runs.items():
        if names and name not in names:
            continue
        t0 = time.perf_counter()
        rc = subprocess.run(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL).returncode
        print(f"{name}: {'ok' if rc == 0 else f'FAILED ({rc})'}, "
              f"{time.perf_counter() - t0:.0f} s")
        failed += rc != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
