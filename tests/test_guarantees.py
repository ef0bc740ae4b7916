"""docs/guarantees.md names a test for each guarantee: every one of them exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NAMED = re.compile(r"`(tests/[\w/]+\.py)(?:::(\w+))?`")


def test_every_test_the_guarantees_page_names_exists() -> None:
    text = (ROOT / "docs" / "guarantees.md").read_text(encoding="utf-8")
    named = NAMED.findall(text)
    assert len(named) >= 30
    missing = []
    for file, test in named:
        path = ROOT / file
        if not path.is_file():
            missing.append(file)
            continue
        if test and not re.search(rf"^def {test}\(", path.read_text("utf-8"), re.MULTILINE):
            missing.append(f"{file}::{test}")
    assert missing == []


def test_the_page_is_linked_from_the_readme() -> None:
    assert "docs/guarantees.md" in (ROOT / "README.md").read_text(encoding="utf-8")
