"""Shared set-up for the config tests: the fixture corpus, a fixed "today", project helpers."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from reconciler.model import Definition

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "config"
TODAY = datetime(2026, 10, 1, 12, 0)


def definitions() -> list[Definition]:
    """The subscription definitions the online fixtures are checked against."""
    raw = json.loads((FIXTURES / "definitions.json").read_text(encoding="utf-8"))
    return [Definition(**item) for item in raw]


def write(folder: Path, files: dict[str, str | bytes]) -> Path:
    """Create ``files`` (relative path -> text or bytes) under ``folder``; return it."""
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return folder


PROJECT = """\
version: 1
subscriptions:
  newsletter: {id: "101"}
  product: {name: "Product Updates"}
  events: {id: "103"}
  outdoor: {id: "201", business_unit: 5}
include: [subscribers/*.yaml]
"""


@pytest.fixture
def in_fixtures(monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run with the fixture folder as the current directory (paths print relative to it)."""
    monkeypatch.chdir(FIXTURES)
    return FIXTURES


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty project folder (a non-GDPR portal with four aliases) as the current folder."""
    write(tmp_path, {"hsprefs.yaml": PROJECT})
    monkeypatch.chdir(tmp_path)
    return tmp_path
