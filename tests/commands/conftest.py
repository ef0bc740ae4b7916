"""Fixtures for the adoption commands (audit, export, definitions, doctor).

The CLI runs in-process against the emulator (``httpx.ASGITransport``), seeded with a
small portal of two brands whose live statuses cover every status kind, legal bases,
and opt-outs of all. ``Hub.hsprefs`` returns the exit code and the exact stdout and
stderr; ``Hub.counts`` reads the emulator's request counts per operation.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.emulator import EmulatorSettings, create_app
from tests.cli_hub import API_URL, Hub

TOKEN = "pat-na1-cmdtests-7f3c9e21-secret"
READ_ONLY_TOKEN = "pat-na1-readonly-0b1d4a55-secret"
PORTAL = 4242


def _definition(
    sub_id: str, brand: int, name: str, purpose: str, *, active: bool = True
) -> dict[str, Any]:
    return {
        "id": sub_id,
        "business_unit": brand,
        "name": name,
        "description": f"{name}.",
        "purpose": purpose,
        "communication_method": "Email",
        "active": active,
        "created_at": "2024-01-10T09:00:00Z",
        "updated_at": "2025-06-01T12:00:00Z",
    }


def _status(
    email: str, sub: str, status: str, when: str, source: str, basis: str | None = None,
    why: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    item = {"email": email, "subscription": sub, "status": status, "timestamp": when}
    item["source"] = source
    if basis:
        item["legal_basis"] = basis
        item["legal_basis_explanation"] = why
    return item


FORM = "Website signup form"
SELF = "Self-service preference center"

SEED: dict[str, Any] = {
    "version": 1,
    "portal": {"id": PORTAL, "gdpr": True, "created_at": "2024-01-01T00:00:00Z"},
    "brands": [{"id": 0, "name": "Account"}, {"id": 7, "name": "Trail"}],
    "definitions": [
        _definition("11", 0, "Newsletter", "Marketing"),
        _definition("12", 0, "Product Updates", "Product"),
        _definition("13", 0, "Print Catalogue", "Marketing", active=False),
        _definition("71", 7, "Trail News", "Marketing"),
        _definition("72", 7, "Trail Offers", "Sales"),
    ],
    "tokens": [
        {"token": TOKEN, "name": "tests", "scopes": "all"},
        {"token": READ_ONLY_TOKEN, "name": "ro", "scopes": ["communication_preferences.read"]},
    ],
    "statuses": [
        _status("ann@example.com", "11", "SUBSCRIBED", "2026-01-15T09:00:00Z", FORM,
                "CONSENT_WITH_NOTICE", "Signed up at the shop: form #12"),
        _status("ann@example.com", "12", "UNSUBSCRIBED", "2026-03-01T10:00:00Z", SELF),
        _status("cid@example.com", "11", "UNSUBSCRIBED", "2026-02-02T08:00:00Z", SELF),
        _status("cid@example.com", "12", "SUBSCRIBED", "2025-12-24T18:00:00Z", "Imported",
                "LEGITIMATE_INTEREST_CLIENT", 'Customer since 2019 ("gold" tier)'),
        _status("ann@example.com", "71", "SUBSCRIBED", "2025-08-18T09:30:00Z", "In-store signup",
                "LEGITIMATE_INTEREST_CLIENT", "Existing customer of the trail shop"),
        _status("ann@example.com", "72", "UNSUBSCRIBED", "2026-04-22T19:05:00Z",
                "Unsubscribe link in email"),
    ],
    "opt_outs": [
        {"email": "ben@example.com", "business_unit": 0, "timestamp": "2026-05-09T12:00:00Z",
         "source": "Unsubscribe link in email"},
        {"email": "dot@example.com", "business_unit": 7, "timestamp": "2026-06-01T07:00:00Z",
         "source": "Unsubscribe link in email"},
    ],
}  # fmt: skip

PROJECT = f"""\
version: 1
portal:
  id: {PORTAL}
  gdpr: true
subscriptions:
  newsletter: {{id: "11"}}
  product: {{name: "Product Updates"}}
  catalogue: {{id: "13"}}
  trail-news: {{id: "71", business_unit: 7}}
  trail-offers: {{id: "72", business_unit: 7}}
include:
  - subscribers/*.yaml
"""


def make_hub(capsys: pytest.CaptureFixture[str], **settings: Any) -> Iterator[Hub]:
    app = create_app(EmulatorSettings(seed=SEED, **settings))
    try:
        yield Hub(app, capsys, token=TOKEN)
    finally:
        app.state.emulator.close()


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A clean environment pointing at the emulator, in an empty working directory."""
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", TOKEN)
    monkeypatch.setenv("HSPREFS_API_URL", API_URL)
    for name in ("HSPREFS_API_VERSION", "CI", "NO_COLOR"):
        monkeypatch.delenv(name, raising=False)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


@pytest.fixture
def hub(capsys: pytest.CaptureFixture[str], env: Path) -> Iterator[Hub]:
    """The seeded emulator without rate limits."""
    yield from make_hub(capsys, rate_limit=0)


@pytest.fixture
def project(env: Path) -> Path:
    """hsprefs.yaml with aliases for both brands, in the working directory."""
    (env / "hsprefs.yaml").write_text(PROJECT, encoding="utf-8")
    (env / "subscribers").mkdir()
    return env
