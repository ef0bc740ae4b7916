"""`hsprefs audit` against the emulator: exact output, exit codes, formats, read-only."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from reconciler.emulator import OPERATION_NAMES
from reconciler.emulator.operations import OPERATIONS
from reconciler.resources import load_schema
from tests.commands.conftest import Hub
from tests.golden import golden_checker

GOLDEN = Path(__file__).parent / "golden"

# ann and ben in sync; cid blocked (she opted out of the newsletter herself) and drifted;
# fay and gus drifted; dot blocked (opted out of all of brand 7, declared not to be).
DRIFT = """\
version: 1
business_unit: 0
defaults:
  legal_basis: CONSENT_WITH_NOTICE
  legal_basis_explanation: "Signed up at the shop"
subscribers:
  ann@example.com:
    newsletter: subscribed
    product: unsubscribed
  ben@example.com:
    unsubscribe_all: true
  cid@example.com:
    newsletter: subscribed
    product: not_specified
  fay@example.com:
    newsletter: subscribed
  gus@example.com:
    unsubscribe_all: true
"""

TRAIL = """\
version: 1
business_unit: 7
subscribers:
  ann@example.com:
    trail-offers: unsubscribed
  dot@example.com:
    unsubscribe_all: false
"""

IN_SYNC = """\
version: 1
defaults:
  legal_basis: CONSENT_WITH_NOTICE
  legal_basis_explanation: "Signed up at the shop"
subscribers:
  ann@example.com:
    newsletter: subscribed
    product: unsubscribed
  ben@example.com:
    unsubscribe_all: true
"""

WRITE_OPERATIONS = sorted(name for name, spec in OPERATIONS.items() if spec.writes)


check_golden = golden_checker(GOLDEN)


@pytest.fixture
def drift(project: Path) -> Path:
    """A project whose declared state differs from live in every way audit reports."""
    (project / "subscribers" / "customers.yaml").write_text(DRIFT, encoding="utf-8")
    (project / "subscribers" / "trail.yaml").write_text(TRAIL, encoding="utf-8")
    return project


@pytest.fixture
def in_sync(project: Path) -> Path:
    (project / "subscribers" / "customers.yaml").write_text(IN_SYNC, encoding="utf-8")
    return project


def test_text_report_of_drift(hub: Hub, drift: Path) -> None:
    """The text report: totals, then drifted and blocked pairs with live status, time, source."""
    result = hub.hsprefs("audit")
    assert (result.code, result.err) == (2, "")
    check_golden("audit-cli.txt", result.out)


def test_in_sync_exits_0(hub: Hub, in_sync: Path) -> None:
    """When HubSpot matches the config, audit exits 0 and says so."""
    result = hub.hsprefs("audit")
    assert (result.code, result.err) == (0, "")
    assert result.out.splitlines()[0] == "Audit: 3 managed: 3 in sync, 0 drifted, 0 blocked"
    assert result.out.endswith("\nIn sync: HubSpot matches the config.\n")


def test_blocked_alone_exits_2(hub: Hub, project: Path) -> None:
    """A blocked pair alone is drift: exit 2."""
    (project / "subscribers" / "c.yaml").write_text(
        "version: 1\nsubscribers:\n  ben@example.com:\n    unsubscribe_all: false\n",
        encoding="utf-8",
    )
    result = hub.hsprefs("audit")
    assert result.code == 2
    assert result.out.splitlines()[0] == "Audit: 1 managed: 0 in sync, 0 drifted, 1 blocked"
    assert result.out.endswith("\nDrift: 1 of 1 managed pairs differs from the config.\n")


def test_audit_makes_no_write_call(hub: Hub, drift: Path) -> None:
    """Audit reads exactly what plan reads and sends no write of any kind."""
    hub.reset_counts()
    assert hub.hsprefs("audit", "--format", "json").code == 2
    counts = hub.counts()
    assert {name: counts.get(name, 0) for name in WRITE_OPERATIONS} == dict.fromkeys(
        WRITE_OPERATIONS, 0
    )
    assert counts == {
        "account_info": 1,
        "definitions": 1,
        "statuses.batch.read": 2,
        "statuses.batch.unsubscribe_all_read": 2,
    }
    assert set(counts) <= set(OPERATION_NAMES)


def test_audit_leaves_the_portal_unchanged(hub: Hub, drift: Path) -> None:
    """The emulator's state and write log are the same before and after an audit."""
    before = hub.admin("GET", "state")
    hub.hsprefs("audit", "--format", "html", "-o", "report.html")
    assert hub.admin("GET", "state") == before
    assert hub.admin("GET", "writes")["writes"] == []


def test_json_report_validates_and_counts(hub: Hub, drift: Path) -> None:
    """--format json prints the versioned document that schemas/audit.schema.json describes."""
    result = hub.hsprefs("audit", "--format", "json")
    document = json.loads(result.out)
    jsonschema.Draft202012Validator(load_schema("audit.schema.json")).validate(document)
    assert (document["format"], document["version"], document["in_sync"]) == (
        "hsprefs-audit",
        1,
        False,
    )
    assert document["totals"] == {"managed": 9, "in_sync": 4, "drifted": 3, "blocked": 2}
    assert document["read_calls"] == 4


def test_markdown_report(hub: Hub, drift: Path) -> None:
    """--format markdown renders the same report as tables."""
    result = hub.hsprefs("audit", "--format", "markdown")
    assert result.code == 2
    check_golden("audit-cli.md", result.out)


def test_html_report_to_file(hub: Hub, drift: Path) -> None:
    """-o writes the report to the file; stdout stays empty and stderr names the file."""
    result = hub.hsprefs("audit", "--format", "html", "-o", "audit.html")
    assert (result.code, result.out) == (2, "")
    assert result.err == (
        "Audit: 9 managed: 4 in sync, 3 drifted, 2 blocked. Wrote the report to audit.html.\n"
    )
    html = (drift / "audit.html").read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert html.count('data-state="blocked"') == 2


@pytest.mark.parametrize("fmt", ["text", "json", "markdown", "html"])
def test_redact_masks_every_address_in_every_format(hub: Hub, drift: Path, fmt: str) -> None:
    """--redact leaves no declared address in any format."""
    result = hub.hsprefs("audit", "--format", fmt, "--redact")
    assert result.code == 2
    for name in ("ann", "ben", "cid", "dot", "fay", "gus"):
        assert f"{name}@example.com" not in result.out
    assert "subscriber-" in result.out


def test_config_error_exits_1(hub: Hub, project: Path) -> None:
    """An invalid config is one error line and exit 1, before any call."""
    (project / "subscribers" / "bad.yaml").write_text(
        "version: 1\nsubscribers:\n  ann@example.com:\n    nope: subscribed\n", encoding="utf-8"
    )
    hub.reset_counts()
    result = hub.hsprefs("audit")
    assert (result.code, result.out) == (1, "")
    assert result.err.startswith("hsprefs: error: subscribers/bad.yaml:4:5: ")
    assert hub.counts() == {}


def test_wrong_token_exits_1(hub: Hub, drift: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A refused token is one error line on stderr and exit 1."""
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", "not-a-token-of-this-portal")
    result = hub.hsprefs("audit")
    assert (result.code, result.out) == (1, "")
    assert result.err.startswith("hsprefs: error: HubSpot rejected the access token")
    assert "not-a-token-of-this-portal" not in result.err


def test_portal_mismatch_exits_1(hub: Hub, drift: Path) -> None:
    """A token of another portal than portal.id is refused before any read."""
    text = (drift / "hsprefs.yaml").read_text(encoding="utf-8").replace("id: 4242", "id: 99")
    (drift / "hsprefs.yaml").write_text(text, encoding="utf-8")
    result = hub.hsprefs("audit")
    assert result.code == 1
    assert result.err == (
        "hsprefs: error: the token belongs to portal 4242, but the config manages portal 99 "
        "(use the token of the right portal, or fix portal.id in hsprefs.yaml)\n"
    )


def test_out_to_a_folder_is_an_error(hub: Hub, drift: Path) -> None:
    """-o naming a folder is one error line, exit 1, and no stray temporary file."""
    result = hub.hsprefs("audit", "-o", "subscribers")
    assert result.code == 1
    assert result.err.startswith("hsprefs: error: ")
    assert sorted(p.name for p in (drift / "subscribers").iterdir()) == [
        "customers.yaml",
        "trail.yaml",
    ]
