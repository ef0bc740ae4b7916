"""Shared test set-up: bounded hypothesis profiles, so the suite fits CI's budget, and
the judge of every emulator answer (``tests/conformance/judging.py``)."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

# The shared golden-file check asserts outside a test module: rewrite it, so a mismatch
# shows the diff.
pytest.register_assert_rewrite("tests.golden")

# Every answer any emulator gives in any test is judged against HubSpot's specs.
pytest_plugins = ("conformance.judging",)

settings.register_profile(
    "ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=100, deadline=None)
settings.register_profile(
    "soak", max_examples=5000, deadline=None, suppress_health_check=list(HealthCheck)
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


@pytest.fixture(autouse=True)
def _lock_folder(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test gets a folder of its own for apply's per-portal locks: the emulators of
    tests running side by side share a portal id and an address, but are not one portal."""
    monkeypatch.setenv("HSPREFS_LOCK_DIR", str(tmp_path_factory.mktemp("locks")))
