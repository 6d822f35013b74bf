"""Session summary of the property-based campaign's counts (tests/test_campaign.py), and
the kernel cache folder of the test session."""

from __future__ import annotations

import os
import sys
import tempfile
from typing import Any


def pytest_configure(config: Any) -> None:
    """Compiled fusion kernels go to a fresh folder, not the user's ~/.cache/riesz."""
    os.environ.setdefault("RIESZ_CACHE_DIR", tempfile.mkdtemp(prefix="riesz-test-cache-"))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    campaign = sys.modules.get("test_campaign")
    stats = getattr(campaign, "STATS", None)
    if stats:
        terminalreporter.write_sep("-", "riesz campaign")
        for key in sorted(stats):
            terminalreporter.write_line(f"{key}: {stats[key]}")
