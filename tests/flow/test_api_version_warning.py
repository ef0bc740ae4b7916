"""The API-version support warning: once per run, on stderr, near or past the end."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from reconciler.cli import _common
from tests.cli_hub import Hub


def test_a_version_near_its_end_is_warned_about_once_on_stderr(
    hub: Hub, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """v4 eight days before 30 March 2027: one warning line, the plan unchanged on stdout."""
    monkeypatch.setattr(_common, "today", lambda: date(2027, 3, 22))
    result = hub.hsprefs("plan", "--api-version", "v4")
    assert result.code == 0
    assert result.err == (
        "warning: HubSpot supports API version v4 until 2027-03-30 (8 days left); move to "
        "--api-version 2026-09\n"
    )
    assert "warning" not in result.out


def test_the_default_version_today_gets_no_warning(hub: Hub, project: Path) -> None:
    """2026-03 is supported well past today: nothing on stderr."""
    result = hub.hsprefs("plan")
    assert (result.code, result.err) == (0, "")
