"""Every remaining endpoint and behaviour, over a real socket through `hsprefs emulator serve`.

``test_serve_behaviour`` covers the batch calls, auth, brands and GDPR under 2026-03;
this module covers the rest with one server process of its own: the single-subscriber
write and unsubscribe-all, ``links/generate``, ``includeTranslations``, v3's
definitions, subscribe and unsubscribe, the same operations under the ``v4`` and
``2026-09`` prefixes (with 2026-09's legacy calls), and a portal without brands, whose
opt-outs are PORTAL_WIDE. Bodies are compared whole; only the moments the server makes
up (``requestedAt``, ``startedAt``, ``completedAt``, a write's ``timestamp``,
``correlationId``) are checked for their form and set aside.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from .helpers import V
from .served import Served, serve_cli

TOKEN = "served-token"
EMAIL = {"channel": "EMAIL"}
V3 = "/communication-preferences/v3"
BASIS = {"legalBasis": "CONSENT_WITH_NOTICE", "legalBasisExplanation": "Asked at the fair"}
_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def _definition(id_: str, brand: int, name: str, description: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": id_,
        "business_unit": brand,
        "name": name,
        "description": description,
        "created_at": "2024-01-10T09:00:00Z",
        "updated_at": "2025-06-01T12:00:00Z",
        **extra,
    }


SEED: dict[str, Any] = {
    "version": 1,
    "portal": {"id": 4242, "gdpr": True, "created_at": "2024-01-01T00:00:00Z"},
    "brands": [{"id": 0, "name": "Account"}, {"id": 5, "name": "Outdoor"}],
    "definitions": [
        _definition(
            "101",
            0,
            "Newsletter",
            "The monthly newsletter.",
            purpose="Marketing",
            communication_method="Email",
            translations=[
                {
                    "language": "de",
                    "name": "Rundbrief",
                    "description": "Der monatliche Rundbrief.",
                    "created_at": 1704877200000,
                    "updated_at": 1748779200000,
                }
            ],
        ),
        _definition("102", 0, "Product Updates", "Release notes."),
        _definition("201", 5, "Outdoor News", "Stories from the shop."),
    ],
    "tokens": [{"token": TOKEN, "name": "full", "scopes": "all"}],
    "statuses": [
        {
            "email": "ivan@example.com",
            "subscription": "101",
            "status": "UNSUBSCRIBED",
            "timestamp": "2026-01-01T00:00:00Z",
            "source": "Unsubscribe link",
        },
        {
            "email": "ivan@example.com",
            "subscription": "201",
            "status": "SUBSCRIBED",
            "timestamp": "2025-08-18T09:30:00Z",
            "source": "Shop",
            "legal_basis": "LEGITIMATE_INTEREST_CLIENT",
            "legal_basis_explanation": "Customer of the shop",
        },
    ],
    "opt_outs": [],
}

# A portal without brands: brand 0 only, so an opt-out of all is PORTAL_WIDE.
PORTAL_SEED: dict[str, Any] = {
    "version": 1,
    "portal": {"id": 5151, "gdpr": False, "created_at": "2024-01-01T00:00:00Z"},
    "brands": [{"id": 0, "name": "Account"}],
    "definitions": [
        _definition("301", 0, "Digest", "The weekly digest."),
        _definition("302", 0, "Offers", "Special offers."),
    ],
    "tokens": [{"token": TOKEN, "name": "full", "scopes": "all"}],
    "statuses": [
        {
            "email": "pia@example.com",
            "subscription": "301",
            "status": "SUBSCRIBED",
            "timestamp": "2026-02-01T00:00:00Z",
            "source": "Signup",
        }
    ],
    "opt_outs": [
        {"email": "olga@example.com", "business_unit": 0, "timestamp": "2026-04-01T12:00:00Z"}
    ],
}

DEFINITIONS = [
    {
        "id": "101",
        "name": "Newsletter",
        "description": "The monthly newsletter.",
        "businessUnitId": 0,
        "isActive": True,
        "isDefault": False,
        "isInternal": False,
        "createdAt": "2024-01-10T09:00:00.000Z",
        "updatedAt": "2025-06-01T12:00:00.000Z",
        "purpose": "Marketing",
        "communicationMethod": "Email",
    },
    {
        "id": "102",
        "name": "Product Updates",
        "description": "Release notes.",
        "businessUnitId": 0,
        "isActive": True,
        "isDefault": False,
        "isInternal": False,
        "createdAt": "2024-01-10T09:00:00.000Z",
        "updatedAt": "2025-06-01T12:00:00.000Z",
    },
    {
        "id": "201",
        "name": "Outdoor News",
        "description": "Stories from the shop.",
        "businessUnitId": 5,
        "isActive": True,
        "isDefault": False,
        "isInternal": False,
        "createdAt": "2024-01-10T09:00:00.000Z",
        "updatedAt": "2025-06-01T12:00:00.000Z",
    },
]


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    """One `hsprefs emulator serve --port 0` process for the module."""
    with serve_cli(SEED, "--rate-limit", "0") as running:
        assert running.token == TOKEN
        yield running


@pytest.fixture
def api(served: Served) -> Served:
    """The served emulator, its state back to SEED."""
    served.load(SEED)
    return served


@pytest.fixture
def portal_wide(served: Served) -> Served:
    """The served emulator holding PORTAL_SEED, a portal without brands."""
    served.load(PORTAL_SEED)
    return served


def _settled(body: dict[str, Any]) -> dict[str, Any]:
    """An envelope with its made-up moments checked and removed."""
    for key in ("requestedAt", "startedAt", "completedAt"):
        assert _MOMENT.match(body.pop(key)), key
    for result in body.get("results", []):
        if "timestamp" in result and result.get("source") == "Public status API":
            assert _MOMENT.match(result.pop("timestamp"))
    return body


def _error(answer: httpx.Response) -> dict[str, Any]:
    """An error body with its correlation id checked against the header and removed."""
    body: dict[str, Any] = answer.json()
    correlation = body.pop("correlationId")
    assert _UUID.match(correlation)
    assert answer.headers["X-HubSpot-Correlation-Id"] == correlation
    return body


def _statuses(api: Served, email: str, brand: int = 0, version: str = "2026-03") -> dict[int, str]:
    answer = api.call(
        "GET",
        f"/communication-preferences/{version}/statuses/{email}",
        params={**EMAIL, "businessUnitId": brand},
    )
    assert answer.status_code == 200
    return {s["subscriptionId"]: s["status"] for s in answer.json()["results"]}


def _wide(api: Served, email: str, brand: int = 0) -> list[tuple[str, str]]:
    answer = api.call(
        "GET", f"{V}/statuses/{email}/unsubscribe-all", params={**EMAIL, "businessUnitId": brand}
    )
    assert answer.status_code == 200
    return [(w["wideStatusType"], w["status"]) for w in answer.json()["results"]]


# The single-subscriber write ----------------------------------------------------------


def test_single_write_sets_one_status(api: Served) -> None:
    """POST /statuses/{id}: 200 with the stored status and REQUESTED_CHANGE_OCCURRED."""
    answer = api.call(
        "POST",
        f"{V}/statuses/Ann%40Example.com",
        json={"subscriptionId": 102, "statusState": "SUBSCRIBED", "channel": "EMAIL", **BASIS},
    )
    assert answer.status_code == 200
    assert _settled(answer.json()) == {
        "status": "COMPLETE",
        "results": [
            {
                "subscriberIdString": "ann@example.com",
                "subscriptionId": 102,
                "subscriptionName": "Product Updates",
                "businessUnitId": 0,
                "channel": "EMAIL",
                "status": "SUBSCRIBED",
                "source": "Public status API",
                **BASIS,
                "setStatusSuccessReason": "REQUESTED_CHANGE_OCCURRED",
            }
        ],
    }
    assert _statuses(api, "ann@example.com") == {101: "NOT_SPECIFIED", 102: "SUBSCRIBED"}


def test_single_write_without_legal_basis_is_400_under_gdpr(api: Served) -> None:
    """POST /statuses/{id} SUBSCRIBED without legal basis: a 400 and nothing stored."""
    answer = api.call(
        "POST",
        f"{V}/statuses/ann%40example.com",
        json={"subscriptionId": 102, "statusState": "SUBSCRIBED", "channel": "EMAIL"},
    )
    assert answer.status_code == 400
    assert _error(answer) == {
        "status": "error",
        "message": "A legal basis (legalBasis and legalBasisExplanation) is required to "
        "subscribe a contact while data privacy settings are on",
        "category": "VALIDATION_ERROR",
        "context": {"subscriberIdString": ["ann@example.com"], "subscriptionId": ["102"]},
        "errors": [],
        "links": {},
    }
    assert _statuses(api, "ann@example.com") == {101: "NOT_SPECIFIED", 102: "NOT_SPECIFIED"}


# The single-subscriber unsubscribe-all -------------------------------------------------


def test_single_unsubscribe_all_answers_no_results_without_verbose(api: Served) -> None:
    """POST /statuses/{id}/unsubscribe-all: results [], the brand opted out and flipped."""
    answer = api.call(
        "POST",
        f"{V}/statuses/ivan%40example.com/unsubscribe-all",
        params={**EMAIL, "businessUnitId": 5},
    )
    assert answer.status_code == 200
    assert _settled(answer.json()) == {"status": "COMPLETE", "results": []}
    assert _wide(api, "ivan@example.com", 5) == [("BUSINESS_UNIT_WIDE", "UNSUBSCRIBED")]
    assert _statuses(api, "ivan@example.com", 5) == {201: "UNSUBSCRIBED"}
    assert _wide(api, "ivan@example.com", 0) == []


def test_single_unsubscribe_all_verbose_lists_every_subscription(api: Served) -> None:
    """With verbose=true each subscription of the brand is listed with its reason."""
    answer = api.call(
        "POST",
        f"{V}/statuses/ivan%40example.com/unsubscribe-all",
        params={**EMAIL, "verbose": "true"},
    )
    assert answer.status_code == 200
    assert [
        (r["subscriptionId"], r["status"], r["setStatusSuccessReason"], r["source"])
        for r in answer.json()["results"]
    ] == [
        (101, "UNSUBSCRIBED", "NO_STATUS_CHANGE", "Unsubscribe link"),
        (102, "UNSUBSCRIBED", "UNSUBSCRIBE_FROM_ALL_OCCURRED", "Public status API"),
    ]
    assert _statuses(api, "ivan@example.com", 5) == {201: "SUBSCRIBED"}


# links/generate ------------------------------------------------------------------------

_LINKS = "https://hs-4242.emulator.invalid/hs/manage-preferences"


def test_links_generate_with_a_subscription(api: Served) -> None:
    """POST /links/generate: the three links for one subscriber, brand and language."""
    answer = api.call(
        "POST",
        f"{V}/links/generate",
        params={**EMAIL, "businessUnitId": 5},
        json={"subscriberIdString": "Ann@Example.com", "subscriptionId": 201, "language": "de"},
    )
    assert answer.status_code == 200
    query = "languagePreference=de&businessUnitId=5&d=48fc153a0565d5cb47f92b9e31b6d147"
    assert answer.json() == {
        "subscriberIdString": "ann@example.com",
        "managePreferencesUrl": f"{_LINKS}/manage?{query}",
        "unsubscribeAllUrl": f"{_LINKS}/unsubscribe-all?{query}",
        "unsubscribeSingleUrl": f"{_LINKS}/unsubscribe?{query}&subscriptionId=201",
    }


def test_links_generate_without_a_subscription(api: Served) -> None:
    """Without subscriptionId there is no single-unsubscribe link; brand 0, English."""
    answer = api.call(
        "POST", f"{V}/links/generate", params=EMAIL, json={"subscriberIdString": "ann@example.com"}
    )
    assert answer.status_code == 200
    assert sorted(answer.json()) == [
        "managePreferencesUrl",
        "subscriberIdString",
        "unsubscribeAllUrl",
    ]
    assert "?languagePreference=en&businessUnitId=0&d=" in answer.json()["managePreferencesUrl"]


def test_links_generate_for_another_brand_is_400(api: Served) -> None:
    """A subscription of brand 5 with businessUnitId 0: 400 naming both."""
    answer = api.call(
        "POST",
        f"{V}/links/generate",
        params=EMAIL,
        json={"subscriberIdString": "ann@example.com", "subscriptionId": 201},
    )
    assert answer.status_code == 400
    assert _error(answer)["message"] == "Subscription 201 belongs to business unit 5, not 0"


# includeTranslations -------------------------------------------------------------------


def test_definitions_include_translations_on_request(api: Served) -> None:
    """includeTranslations=true adds subscriptionTranslations to each definition."""
    answer = api.call(
        "GET", f"{V}/definitions", params={"includeTranslations": "true", "businessUnitId": 0}
    )
    assert answer.status_code == 200
    assert _settled(answer.json()) == {
        "status": "COMPLETE",
        "results": [
            {
                **DEFINITIONS[0],
                "subscriptionTranslations": [
                    {
                        "subscriptionId": 101,
                        "languageCode": "de",
                        "name": "Rundbrief",
                        "description": "Der monatliche Rundbrief.",
                        "createdAt": 1704877200000,
                        "updatedAt": 1748779200000,
                    }
                ],
            },
            {**DEFINITIONS[1], "subscriptionTranslations": []},
        ],
    }


@pytest.mark.parametrize("params", [{}, {"includeTranslations": "false"}])
def test_definitions_leave_translations_out_otherwise(api: Served, params: dict[str, str]) -> None:
    """Without includeTranslations (or with false) no translations are listed."""
    answer = api.call("GET", f"{V}/definitions", params=params)
    assert answer.status_code == 200
    assert _settled(answer.json()) == {"status": "COMPLETE", "results": DEFINITIONS}


def test_include_translations_must_be_a_boolean(api: Served) -> None:
    """includeTranslations=yes: 400 naming the parameter."""
    answer = api.call("GET", f"{V}/definitions", params={"includeTranslations": "yes"})
    assert answer.status_code == 400
    assert _error(answer)["message"] == "includeTranslations must be true or false, got 'yes'"


# v3 ------------------------------------------------------------------------------------


def test_v3_definitions(api: Served) -> None:
    """v3 GET /definitions lists every brand's definitions under subscriptionDefinitions."""
    answer = api.call("GET", f"{V3}/definitions")
    assert answer.status_code == 200
    assert answer.json() == {"subscriptionDefinitions": DEFINITIONS}


def test_v3_subscribe(api: Served) -> None:
    """v3 POST /subscribe answers the subscription's v3 status and stores it."""
    answer = api.call(
        "POST",
        f"{V3}/subscribe",
        json={"emailAddress": "Ann@Example.com", "subscriptionId": "102", **BASIS},
    )
    assert answer.status_code == 200
    assert answer.json() == {
        "id": "102",
        "name": "Product Updates",
        "description": "Release notes.",
        "status": "SUBSCRIBED",
        "sourceOfStatus": "SUBSCRIPTION_STATUS",
        "brandId": 0,
        **BASIS,
    }
    assert _statuses(api, "ann@example.com") == {101: "NOT_SPECIFIED", 102: "SUBSCRIBED"}


def test_v3_unsubscribe_and_again(api: Served) -> None:
    """v3 POST /unsubscribe answers NOT_SUBSCRIBED; a second time it is a 400."""
    body = {"emailAddress": "ann@example.com", "subscriptionId": "102"}
    answer = api.call("POST", f"{V3}/unsubscribe", json=body)
    assert answer.status_code == 200
    assert answer.json() == {
        "id": "102",
        "name": "Product Updates",
        "description": "Release notes.",
        "status": "NOT_SUBSCRIBED",
        "sourceOfStatus": "SUBSCRIPTION_STATUS",
        "brandId": 0,
    }
    again = api.call("POST", f"{V3}/unsubscribe", json=body)
    assert again.status_code == 400
    assert _error(again) == {
        "status": "error",
        "message": "ann@example.com is already unsubscribed from subscription 102",
        "category": "VALIDATION_ERROR",
        "context": {"emailAddress": ["ann@example.com"], "subscriptionId": ["102"]},
        "errors": [],
        "links": {},
    }


# The v4 and 2026-09 prefixes ------------------------------------------------------------

OTHER_VERSIONS = ("v4", "2026-09")


@pytest.mark.parametrize("version", OTHER_VERSIONS)
def test_definitions_under_other_prefixes(api: Served, version: str) -> None:
    """GET /definitions answers the same definitions under v4 and 2026-09."""
    answer = api.call("GET", f"/communication-preferences/{version}/definitions")
    assert answer.status_code == 200
    assert _settled(answer.json()) == {"status": "COMPLETE", "results": DEFINITIONS}


@pytest.mark.parametrize(("version", "status"), [("v4", 207), ("2026-09", 200)])
def test_batch_read_under_other_prefixes(api: Served, version: str, status: int) -> None:
    """A partly failed batch read: 207 under v4, 200 under 2026-09 (whose spec has no 207)."""
    answer = api.call(
        "POST",
        f"/communication-preferences/{version}/statuses/batch/read",
        params={**EMAIL, "businessUnitId": 0},
        json={"inputs": ["ivan@example.com", "nope"]},
    )
    assert answer.status_code == status
    body = answer.json()
    assert (body["numErrors"], body["errors"][0]["message"]) == (
        1,
        "Invalid email address: 'nope'",
    )
    assert [
        [(s["subscriptionId"], s["status"]) for s in r["statuses"]] for r in body["results"]
    ] == [[(101, "UNSUBSCRIBED"), (102, "NOT_SPECIFIED")]]


@pytest.mark.parametrize("version", OTHER_VERSIONS)
def test_batch_write_under_other_prefixes(api: Served, version: str) -> None:
    """A batch write applies under v4 and 2026-09 and reads back under 2026-03."""
    item = {
        "subscriberIdString": "ann@example.com",
        "subscriptionId": 201,
        "statusState": "UNSUBSCRIBED",
        "channel": "EMAIL",
    }
    answer = api.call(
        "POST",
        f"/communication-preferences/{version}/statuses/batch/write",
        json={"inputs": [item]},
    )
    assert answer.status_code == 200
    [result] = answer.json()["results"]
    assert (result["status"], result["setStatusSuccessReason"]) == (
        "UNSUBSCRIBED",
        "REQUESTED_CHANGE_OCCURRED",
    )
    assert _statuses(api, "ann@example.com", 5) == {201: "UNSUBSCRIBED"}


@pytest.mark.parametrize("version", OTHER_VERSIONS)
def test_single_calls_under_other_prefixes(api: Served, version: str) -> None:
    """Single read, single write and single unsubscribe-all answer under v4 and 2026-09."""
    prefix = f"/communication-preferences/{version}"
    assert _statuses(api, "ivan@example.com", 5, version) == {201: "SUBSCRIBED"}
    write = api.call(
        "POST",
        f"{prefix}/statuses/ivan%40example.com",
        json={"subscriptionId": 101, "statusState": "SUBSCRIBED", "channel": "EMAIL", **BASIS},
    )
    assert write.json()["results"][0]["setStatusSuccessReason"] == "RESUBSCRIBE_OCCURRED"
    opt_out = api.call(
        "POST",
        f"{prefix}/statuses/ivan%40example.com/unsubscribe-all",
        params={**EMAIL, "businessUnitId": 5},
    )
    assert opt_out.status_code == 200
    wide = api.call(
        "GET",
        f"{prefix}/statuses/ivan%40example.com/unsubscribe-all",
        params={**EMAIL, "businessUnitId": 5},
    )
    assert [(w["wideStatusType"], w["status"]) for w in wide.json()["results"]] == [
        ("BUSINESS_UNIT_WIDE", "UNSUBSCRIBED")
    ]


@pytest.mark.parametrize("version", OTHER_VERSIONS)
def test_batch_unsubscribe_all_under_other_prefixes(api: Served, version: str) -> None:
    """Batch unsubscribe-all and its read answer under v4 and 2026-09."""
    prefix = f"/communication-preferences/{version}"
    answer = api.call(
        "POST",
        f"{prefix}/statuses/batch/unsubscribe-all",
        params=EMAIL,
        json={"inputs": ["Ann@Example.com"]},
    )
    assert (answer.status_code, answer.json()["results"]) == (
        200,
        [{"subscriberIdString": "ann@example.com"}],
    )
    read = api.call(
        "POST",
        f"{prefix}/statuses/batch/unsubscribe-all/read",
        params=EMAIL,
        json={"inputs": ["ann@example.com"]},
    )
    assert read.status_code == 200
    [result] = read.json()["results"]
    assert [(w["wideStatusType"], w["status"]) for w in result["wideStatuses"]] == [
        ("BUSINESS_UNIT_WIDE", "UNSUBSCRIBED")
    ]


@pytest.mark.parametrize("version", OTHER_VERSIONS)
def test_links_generate_under_other_prefixes(api: Served, version: str) -> None:
    """links/generate answers the same links under v4 and 2026-09 as under 2026-03."""
    body = {"subscriberIdString": "ann@example.com", "subscriptionId": 101}
    answers = [
        api.call("POST", f"/communication-preferences/{v}/links/generate", params=EMAIL, json=body)
        for v in ("2026-03", version)
    ]
    assert [a.status_code for a in answers] == [200, 200]
    assert answers[0].json() == answers[1].json()


def test_2026_09_serves_the_legacy_calls(api: Served) -> None:
    """2026-09 carries v3's status read and subscribe, and /resubscribe."""
    prefix = "/communication-preferences/2026-09"
    status = api.call("GET", f"{prefix}/status/email/ivan%40example.com")
    assert status.status_code == 200
    assert [(s["id"], s["status"]) for s in status.json()["subscriptionStatuses"]] == [
        ("101", "NOT_SUBSCRIBED"),
        ("201", "SUBSCRIBED"),
    ]
    subscribe = api.call(
        "POST",
        f"{prefix}/subscribe",
        json={"emailAddress": "ann@example.com", "subscriptionId": "102", **BASIS},
    )
    assert (subscribe.status_code, subscribe.json()["status"]) == (200, "SUBSCRIBED")
    api.call("POST", f"{V}/statuses/ann%40example.com/unsubscribe-all", params=EMAIL)
    resubscribe = api.call(
        "POST",
        f"{prefix}/resubscribe",
        json={"emailAddress": "ann@example.com", "subscriptionId": "102", **BASIS},
    )
    assert (resubscribe.status_code, resubscribe.json()["status"]) == (200, "SUBSCRIBED")
    assert _wide(api, "ann@example.com") == []


# A portal without brands: PORTAL_WIDE ---------------------------------------------------


def test_portal_wide_opt_out_from_the_seed(portal_wide: Served) -> None:
    """A seeded opt-out in a portal without brands reads PORTAL_WIDE, single and batch."""
    assert _wide(portal_wide, "olga@example.com") == [("PORTAL_WIDE", "UNSUBSCRIBED")]
    answer = portal_wide.call(
        "POST",
        f"{V}/statuses/batch/unsubscribe-all/read",
        params=EMAIL,
        json={"inputs": ["olga@example.com"]},
    )
    [result] = answer.json()["results"]
    assert result["wideStatuses"] == [
        {
            "subscriberIdString": "olga@example.com",
            "wideStatusType": "PORTAL_WIDE",
            "businessUnitId": 0,
            "channel": "EMAIL",
            "status": "UNSUBSCRIBED",
            "timestamp": "2026-04-01T12:00:00.000Z",
        }
    ]


def test_portal_wide_unsubscribe_all(portal_wide: Served) -> None:
    """Unsubscribe-all in a portal without brands is PORTAL_WIDE and flips every subscription."""
    answer = portal_wide.call(
        "POST",
        f"{V}/statuses/batch/unsubscribe-all",
        params={**EMAIL, "verbose": "true"},
        json={"inputs": ["pia@example.com"]},
    )
    assert answer.status_code == 200
    [result] = answer.json()["results"]
    assert [
        (s["subscriptionId"], s["status"], s["setStatusSuccessReason"]) for s in result["statuses"]
    ] == [
        (301, "UNSUBSCRIBED", "UNSUBSCRIBE_FROM_ALL_OCCURRED"),
        (302, "UNSUBSCRIBED", "UNSUBSCRIBE_FROM_ALL_OCCURRED"),
    ]
    assert _wide(portal_wide, "pia@example.com") == [("PORTAL_WIDE", "UNSUBSCRIBED")]


def test_portal_wide_in_v3(portal_wide: Served) -> None:
    """v3 lists each subscription of an opted-out subscriber with PORTAL_WIDE_STATUS."""
    answer = portal_wide.call("GET", f"{V3}/status/email/olga%40example.com")
    assert answer.status_code == 200
    assert answer.json() == {
        "recipient": "olga@example.com",
        "subscriptionStatuses": [
            {
                "id": "301",
                "name": "Digest",
                "description": "The weekly digest.",
                "status": "NOT_SUBSCRIBED",
                "sourceOfStatus": "PORTAL_WIDE_STATUS",
                "brandId": 0,
            },
            {
                "id": "302",
                "name": "Offers",
                "description": "Special offers.",
                "status": "NOT_SUBSCRIBED",
                "sourceOfStatus": "PORTAL_WIDE_STATUS",
                "brandId": 0,
            },
        ],
    }


def test_portal_wide_resubscribe_clears_the_opt_out(portal_wide: Served) -> None:
    """A SUBSCRIBED write with legal basis clears a PORTAL_WIDE opt-out (GDPR off)."""
    answer = portal_wide.call(
        "POST",
        f"{V}/statuses/olga%40example.com",
        json={"subscriptionId": 301, "statusState": "SUBSCRIBED", "channel": "EMAIL", **BASIS},
    )
    assert answer.json()["results"][0]["setStatusSuccessReason"] == "RESUBSCRIBE_OCCURRED"
    assert _wide(portal_wide, "olga@example.com") == []
    assert _statuses(portal_wide, "olga@example.com") == {301: "SUBSCRIBED", 302: "UNSUBSCRIBED"}
