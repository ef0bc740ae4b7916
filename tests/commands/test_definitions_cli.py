"""`hsprefs definitions` against the emulator: exact text and JSON, brand filter, errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from reconciler.render.definitions import render_definitions_text
from tests.commands.conftest import Hub

TABLE = """\
ID  NAME             BRAND  ACTIVE  PURPOSE
11  Newsletter       0      yes     Marketing
12  Product Updates  0      yes     Product
13  Print Catalogue  0      no      Marketing
71  Trail News       7      yes     Marketing
72  Trail Offers     7      yes     Sales

Aliases for hsprefs.yaml (under subscriptions:):
  newsletter: {id: "11"}                      # Newsletter
  product-updates: {id: "12"}                 # Product Updates
  print-catalogue: {id: "13"}                 # Print Catalogue (inactive)
  trail-news: {id: "71", business_unit: 7}    # Trail News
  trail-offers: {id: "72", business_unit: 7}  # Trail Offers
"""


def test_text_lists_every_definition_and_alias_lines(hub: Hub, env: Path) -> None:
    """Text: id, name, brand, active flag and purpose, then lines to paste into hsprefs.yaml."""
    result = hub.hsprefs("definitions")
    assert (result.code, result.out, result.err) == (0, TABLE, "")


def test_business_unit_filters_and_json_is_versioned(hub: Hub, env: Path) -> None:
    """--business-unit 7 --format json: the versioned document of that brand only."""
    result = hub.hsprefs("definitions", "--business-unit", "7", "--format", "json")
    assert result.code == 0
    assert json.loads(result.out) == {
        "format": "hsprefs-definitions",
        "version": 1,
        "definitions": [
            {
                "id": "71",
                "name": "Trail News",
                "brand": 7,
                "active": True,
                "purpose": "Marketing",
                "description": "Trail News.",
                "communication_method": "Email",
                "default": False,
                "internal": False,
                "alias": "trail-news",
            },
            {
                "id": "72",
                "name": "Trail Offers",
                "brand": 7,
                "active": True,
                "purpose": "Sales",
                "description": "Trail Offers.",
                "communication_method": "Email",
                "default": False,
                "internal": False,
                "alias": "trail-offers",
            },
        ],
    }


def test_one_definitions_call(hub: Hub, env: Path) -> None:
    """Listing takes one GET /definitions and nothing else."""
    hub.reset_counts()
    hub.hsprefs("definitions")
    assert hub.counts() == {"definitions": 1}


def test_an_unknown_brand_is_one_error_line(hub: Hub, env: Path) -> None:
    """HubSpot's refusal of an unknown brand: one line with its message and correlationId."""
    result = hub.hsprefs("definitions", "--business-unit", "9")
    assert (result.code, result.out) == (1, "")
    assert re.fullmatch(
        r"hsprefs: error: .*Business unit 9 does not exist in portal 4242.*"
        r" \[correlationId [0-9a-f-]+\]\n",
        result.err,
    ), result.err


def test_no_definitions_says_so() -> None:
    """An empty list renders as one line."""
    assert render_definitions_text([]) == "No subscription types found.\n"


def test_missing_token_exits_1(hub: Hub, env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a token: one error line that says how to give one, exit 1."""
    monkeypatch.delenv("HUBSPOT_ACCESS_TOKEN")
    result = hub.hsprefs("definitions")
    assert (result.code, result.out, result.err) == (
        1,
        "",
        "hsprefs: error: no HubSpot token (set HUBSPOT_ACCESS_TOKEN or pass --token-file FILE)\n",
    )


def test_bad_format_is_a_usage_error(hub: Hub, env: Path) -> None:
    """An unknown --format is a usage error with exit 1."""
    result = hub.hsprefs("definitions", "--format", "yaml")
    assert result.code == 1
    assert result.err.startswith("hsprefs: error: Invalid value for '--format'")
