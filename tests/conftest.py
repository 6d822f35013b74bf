"""Session summary of the property-based campaign's counts (tests/test_campaign.py)."""

from __future__ import annotations

import sys
from typing import Any


def pytest_terminal_summary(terminalreporter: Any) -> None:
    campaign = sys.modules.get("test_campaign")
    stats = getattr(campaign, "STATS", None)
    if stats:
        terminalreporter.write_sep("-", "riesz campaign")
        for key in sorted(stats):
            terminalreporter.write_line(f"{key}: {stats[key]}")
