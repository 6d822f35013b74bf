"""`mypy` passes on the package (SPEC §17), with the settings of pyproject.toml's
[tool.mypy]: every function annotated, bodies checked, no unused `# type: ignore`.
Skipped where mypy is not installed (it is in the `test` extra)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "riesz"


def _major_minor(version: str) -> tuple[int, int]:
    major, minor = version.split(".")[:2]
    return int(major), int(minor)


def test_mypy_reports_no_errors_on_the_package():
    pytest.importorskip("mypy")
    from mypy.version import __version__ as mypy_version

    # The result depends on the checker and on NumPy's stubs: older ones reject valid
    # code (mypy 1.19 two lines, 1.15 fifty; NumPy 2.2's stubs five, 2.0's six).
    if _major_minor(mypy_version) < (2, 0):
        pytest.skip(f"mypy {mypy_version} is older than the test extra's floor (2.0)")
    if _major_minor(np.__version__) < (2, 3):
        pytest.skip(f"NumPy {np.__version__}'s type stubs predate 2.3, which the check uses")
    # in a process of its own: a third faster than mypy.api.run inside pytest's
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"),
         "--cache-dir", str(ROOT / ".mypy_cache"), "--no-error-summary",
         "--hide-error-context", "--no-color-output", str(PACKAGE)],
        capture_output=True, text=True, cwd=ROOT, check=False,
    )
    assert proc.returncode == 0, f"mypy found errors:\n{proc.stdout}{proc.stderr}"


def test_every_type_ignore_says_why():
    # mypy itself requires each `# type: ignore` to name its error code
    # (ignore-without-code); each one also carries a reason, on its line or the one above.
    unexplained = []
    for path in sorted(PACKAGE.rglob("*.py")):
        lines = path.read_text(encoding="utf-8").splitlines()
        for i, line in enumerate(lines):
            if "# type: ignore" in line:
                code = line.split("# type: ignore")[0]
                above = lines[i - 1].strip() if i else ""
                if "#" not in code and not above.startswith("#"):
                    unexplained.append(f"{path.relative_to(ROOT)}:{i + 1}")
    assert not unexplained, f"type: ignore without a reason at {unexplained}"
