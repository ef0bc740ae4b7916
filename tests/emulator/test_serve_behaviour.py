"""HubSpot's semantics over a real socket, through `hsprefs emulator serve` itself.

The in-process tests pin every behaviour; these run one server process for the module
(`--port 0`, a seed with two brands, GDPR on and a read-only token) and check that each
kind of behaviour survives the trip through uvicorn and the CLI: percent-encoded and
mixed-case emails, brands, GDPR on and off, resubscribe, unsubscribe-all, per-input
failures of each batch call, bad requests, auth and scopes, v3 and account-info. Before
each test the seed is loaded again through the admin surface, so tests do not share
state. Every JSON answer is also checked against HubSpot's spec (when present).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .helpers import V, write_input
from .served import Served, serve_cli

FULL = "serve-full-token"
READ_ONLY = "serve-read-only-token"
EMAIL = {"channel": "EMAIL"}


def _definition(sub_id: str, brand: int, name: str) -> dict[str, Any]:
    return {"id": sub_id, "business_unit": brand, "name": name, "created_at": "2024-01-10"}


SEED: dict[str, Any] = {
    "version": 1,
    "portal": {"id": 777, "gdpr": True, "created_at": "2024-01-01T00:00:00Z"},
    "brands": [{"id": 0, "name": "Account"}, {"id": 5, "name": "Outdoor"}],
    "definitions": [
        _definition("101", 0, "Newsletter"),
        _definition("102", 0, "Product Updates"),
        _definition("201", 5, "Outdoor News"),
    ],
    "tokens": [
        {"token": FULL, "name": "full", "scopes": "all"},
        {"token": READ_ONLY, "name": "ro", "scopes": ["communication_preferences.read"]},
    ],
    "statuses": [
        {
            "email": "ivan@example.com",
            "subscription": "101",
            "status": "UNSUBSCRIBED",
            "timestamp": "2026-01-01T00:00:00Z",
            "source": "Unsubscribe link in email",
        },
        {
            "email": "ivan@example.com",
            "subscription": "201",
            "status": "SUBSCRIBED",
            "timestamp": "2025-08-18T09:30:00Z",
            "legal_basis": "LEGITIMATE_INTEREST_CLIENT",
            "legal_basis_explanation": "Customer of the outdoor shop",
        },
    ],
    "opt_outs": [
        {"email": "judy@example.com", "business_unit": 5, "timestamp": "2026-05-09T12:00:00Z"}
    ],
}


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    """`hsprefs emulator serve --port 0` in its own process, for the whole module."""
    with serve_cli(SEED, "--rate-limit", "0", "--batch-limit", "3") as running:
        assert running.token == FULL
        yield running


@pytest.fixture
def api(served: Served) -> Served:
    """The served emulator, its state back to the seed."""
    served.load(SEED)
    return served


def _statuses(api: Served, email: str, brand: int = 0) -> dict[int, str]:
    answer = api.call("GET", f"{V}/statuses/{email}", params={**EMAIL, "businessUnitId": brand})
    assert answer.status_code == 200
    return {s["subscriptionId"]: s["status"] for s in answer.json()["results"]}


def _wide(api: Served, email: str, brand: int) -> list[tuple[str, str]]:
    answer = api.call(
        "GET",
        f"{V}/statuses/{email}/unsubscribe-all",
        params={**EMAIL, "businessUnitId": brand},
    )
    assert answer.status_code == 200
    return [(w["wideStatusType"], w["status"]) for w in answer.json()["results"]]


def test_percent_encoded_mixed_case_email(api: Served) -> None:
    """A path email sent as Ivan%40Example.COM is decoded and matched case-insensitively."""
    answer = api.call(
        "GET", f"{V}/statuses/Ivan%40Example.COM", params={**EMAIL, "businessUnitId": 0}
    )
    assert answer.status_code == 200
    results = answer.json()["results"]
    assert {r["subscriberIdString"] for r in results} == {"ivan@example.com"}
    assert {r["subscriptionId"]: r["status"] for r in results} == {
        101: "UNSUBSCRIBED",
        102: "NOT_SPECIFIED",
    }


def test_brands_scope_reads(api: Served) -> None:
    """businessUnitId=5 reads the outdoor brand's subscriptions only, 0 the account's."""
    assert _statuses(api, "ivan@example.com", 5) == {201: "SUBSCRIBED"}
    assert _statuses(api, "nobody@example.com", 0) == {101: "NOT_SPECIFIED", 102: "NOT_SPECIFIED"}


def test_gdpr_on_refuses_subscribed_without_legal_basis(api: Served) -> None:
    """With GDPR on, a SUBSCRIBED input without legal basis fails alone; the other applies."""
    inputs = [
        write_input("ann@example.com", 102, "SUBSCRIBED", basis=None, explanation=None),
        write_input("ann@example.com", 101, "UNSUBSCRIBED"),
    ]
    answer = api.call("POST", f"{V}/statuses/batch/write", json={"inputs": inputs})
    body = answer.json()
    assert answer.status_code == 200
    assert body["numErrors"] == 1
    assert body["errors"][0]["category"] == "VALIDATION_ERROR"
    assert [(r["subscriptionId"], r["status"]) for r in body["results"]] == [(101, "UNSUBSCRIBED")]
    assert _statuses(api, "ann@example.com") == {101: "UNSUBSCRIBED", 102: "NOT_SPECIFIED"}


def test_gdpr_off_accepts_subscribed_without_legal_basis(api: Served) -> None:
    """With GDPR off, the same SUBSCRIBED input without legal basis is applied."""
    api.load({**SEED, "portal": {**SEED["portal"], "gdpr": False}})
    item = write_input("ann@example.com", 102, "SUBSCRIBED", basis=None, explanation=None)
    answer = api.call("POST", f"{V}/statuses/batch/write", json={"inputs": [item]})
    body = answer.json()
    assert (answer.status_code, body.get("numErrors", 0)) == (200, 0)
    assert [r["setStatusSuccessReason"] for r in body["results"]] == ["REQUESTED_CHANGE_OCCURRED"]


def test_resubscribe_occurred(api: Served) -> None:
    """UNSUBSCRIBED -> SUBSCRIBED with a legal basis answers RESUBSCRIBE_OCCURRED."""
    item = write_input("ivan@example.com", 101, "SUBSCRIBED")
    answer = api.call("POST", f"{V}/statuses/batch/write", json={"inputs": [item]})
    [result] = answer.json()["results"]
    assert (result["status"], result["setStatusSuccessReason"]) == (
        "SUBSCRIBED",
        "RESUBSCRIBE_OCCURRED",
    )
    assert (result["legalBasis"], result["source"]) == ("CONSENT_WITH_NOTICE", "Public status API")


def test_subscribed_with_legal_basis_clears_an_opt_out(api: Served) -> None:
    """judy opted out of brand 5; a SUBSCRIBED write with legal basis clears it."""
    assert _wide(api, "judy@example.com", 5) == [("BUSINESS_UNIT_WIDE", "UNSUBSCRIBED")]
    item = write_input("judy@example.com", 201, "SUBSCRIBED")
    answer = api.call("POST", f"{V}/statuses/batch/write", json={"inputs": [item]})
    assert [r["setStatusSuccessReason"] for r in answer.json()["results"]] == [
        "RESUBSCRIBE_OCCURRED"
    ]
    assert _wide(api, "judy@example.com", 5) == []


def test_unsubscribe_all_flips_the_brand(api: Served) -> None:
    """Unsubscribe-all of brand 0 opts out and flips each of its subscriptions, not brand 5's."""
    answer = api.call(
        "POST",
        f"{V}/statuses/batch/unsubscribe-all",
        params={**EMAIL, "businessUnitId": 0, "verbose": "true"},
        json={"inputs": ["Ivan@Example.com"]},
    )
    assert answer.status_code == 200
    [result] = answer.json()["results"]
    assert result["subscriberIdString"] == "ivan@example.com"
    assert sorted(
        (s["subscriptionId"], s["status"], s["setStatusSuccessReason"]) for s in result["statuses"]
    ) == [
        (101, "UNSUBSCRIBED", "NO_STATUS_CHANGE"),
        (102, "UNSUBSCRIBED", "UNSUBSCRIBE_FROM_ALL_OCCURRED"),
    ]
    assert _wide(api, "ivan@example.com", 0) == [("BUSINESS_UNIT_WIDE", "UNSUBSCRIBED")]
    assert _statuses(api, "ivan@example.com", 5) == {201: "SUBSCRIBED"}


@pytest.mark.parametrize(
    ("path", "params", "expected_status"),
    [
        ("statuses/batch/read", EMAIL, 207),
        ("statuses/batch/unsubscribe-all/read", EMAIL, 207),
        ("statuses/batch/unsubscribe-all", EMAIL, 200),
    ],
)
def test_one_bad_email_fails_alone_in_each_batch_call(
    api: Served, path: str, params: dict[str, str], expected_status: int
) -> None:
    """An invalid email fails alone: errors[] and numErrors, the valid input answered."""
    answer = api.call(
        "POST", f"{V}/{path}", params=params, json={"inputs": ["not-an-email", "ann@example.com"]}
    )
    body = answer.json()
    assert answer.status_code == expected_status
    assert body["numErrors"] == 1
    assert body["errors"][0]["category"] == "VALIDATION_ERROR"
    assert [r["subscriberIdString"] for r in body["results"]] == ["ann@example.com"]


def test_one_bad_input_fails_alone_in_a_batch_write(api: Served) -> None:
    """An unknown subscription id fails alone in a batch write (200, errors[], numErrors)."""
    inputs = [
        write_input("ann@example.com", 999, "UNSUBSCRIBED"),
        write_input("ann@example.com", 101, "UNSUBSCRIBED"),
    ]
    answer = api.call("POST", f"{V}/statuses/batch/write", json={"inputs": inputs})
    body = answer.json()
    assert (answer.status_code, body["numErrors"]) == (200, 1)
    assert [r["subscriptionId"] for r in body["results"]] == [101]


@pytest.mark.parametrize(
    "content",
    [b'{"inputs": ', b'{"inputs": "ann@example.com"}', b"{}", b'{"inputs": ["a","b","c","d"]}'],
    ids=["malformed", "wrong-type", "missing-inputs", "over-the-batch-limit"],
)
def test_bad_requests_are_hubspot_shaped_400s(api: Served, content: bytes) -> None:
    """Malformed JSON, a wrong type, a missing field, too many inputs: 400 VALIDATION_ERROR."""
    answer = api.call(
        "POST",
        f"{V}/statuses/batch/read",
        params=EMAIL,
        content=content,
        headers={"Content-Type": "application/json"},
    )
    body = answer.json()
    assert answer.status_code == 400
    assert (body["status"], body["category"]) == ("error", "VALIDATION_ERROR")
    assert body["correlationId"] == answer.headers["X-HubSpot-Correlation-Id"]


def test_no_token_is_a_401(api: Served) -> None:
    """Without Authorization: 401 INVALID_AUTHENTICATION and X-HubSpot-Auth-Failure."""
    answer = api.call("GET", f"{V}/definitions", token="")
    assert answer.status_code == 401
    assert answer.json()["category"] == "INVALID_AUTHENTICATION"
    assert "X-HubSpot-Auth-Failure" in answer.headers


def test_a_token_without_the_scope_is_a_403(api: Served) -> None:
    """A read-only token may read definitions but not batch-write: 403 naming the scopes."""
    assert api.call("GET", f"{V}/definitions", token=READ_ONLY).status_code == 200
    answer = api.call(
        "POST",
        f"{V}/statuses/batch/write",
        json={"inputs": [write_input("ann@example.com", 101, "UNSUBSCRIBED")]},
        token=READ_ONLY,
    )
    assert answer.status_code == 403
    body = answer.json()
    assert body["category"] == "MISSING_SCOPES"
    assert body["context"]["requiredGranularScopes"] == [
        "communication_preferences.statuses.batch.write"
    ]


def test_v3_and_account_info(api: Served) -> None:
    """v3 spells UNSUBSCRIBED as NOT_SUBSCRIBED; account-info answers the seed's portalId."""
    answer = api.call("GET", "/communication-preferences/v3/status/email/ivan%40example.com")
    assert answer.status_code == 200
    assert [(s["id"], s["status"]) for s in answer.json()["subscriptionStatuses"]] == [
        ("101", "NOT_SUBSCRIBED"),
        ("201", "SUBSCRIBED"),
    ]
    account = api.call("GET", "/account-info/v3/details")
    assert (account.status_code, account.json()["portalId"]) == (200, 777)
