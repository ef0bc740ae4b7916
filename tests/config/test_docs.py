"""docs/config.md stays in step with the schemas and the code."""

from __future__ import annotations

import re

import pytest

from reconciler.config import check
from reconciler.config._reference import BEGIN, END, render_reference
from tests.config.conftest import FIXTURES, ROOT, TODAY

DOC = ROOT / "docs" / "config.md"


def test_reference_matches_the_schemas() -> None:
    """The reference section is exactly what the schemas generate."""
    text = DOC.read_text(encoding="utf-8")
    block = text.split(BEGIN, 1)[1].split(END, 1)[0]
    assert block == "\n" + render_reference(), (
        "run: python -m reconciler.config._reference docs/config.md"
    )


def test_reference_names_every_key() -> None:
    """Every key of the language appears in the reference."""
    reference = render_reference()
    for key in (
        "`portal.id`",
        "`subscriptions.<alias>.name`",
        "`policy.max_unsubscribe_all`",
        "`include`",
        "`subscribers.<email>.unsubscribe_all`",
        "`subscribers.<email>.<alias>.consented_at`",
        "`groups.<group>.members_file`",
        "`groups.<group>.set.<alias>.resubscribe`",
    ):
        assert key in reference, key


def _documented_codes() -> set[str]:
    text = DOC.read_text(encoding="utf-8").split("### Finding codes", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([a-z-]+)` \|", text, flags=re.MULTILINE))


def test_documented_codes_exist() -> None:
    """Every finding code in the docs is one the code can produce."""
    source = "".join(p.read_text() for p in (ROOT / "reconciler" / "config").glob("*.py"))
    missing = sorted(code for code in _documented_codes() if f'"{code}"' not in source)
    assert missing == []


@pytest.mark.usefixtures("in_fixtures")
def test_codes_of_the_fixture_corpus_are_documented() -> None:
    """Every code the fixture corpus produces is in the docs' table."""
    seen: set[str] = set()
    for path in FIXTURES.rglob("invalid-*.yaml"):
        _, findings = check([path.relative_to(FIXTURES)], today=TODAY)
        seen |= {f.code for f in findings}
    assert sorted(seen - _documented_codes()) == []
    assert len(seen) >= 20
