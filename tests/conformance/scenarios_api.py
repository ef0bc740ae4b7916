"""Scenarios of the operations: definitions, single and batch reads and writes, links.

Registered in :data:`~._registry.SCENARIOS`; see :mod:`.scenarios`.
"""

from __future__ import annotations

from typing import Any

from ._registry import (
    BASIS,
    EMAIL,
    V4_STYLE,
    category,
    scenario,
    statuses,
    write_input,
)
from .harness import SINGLE_BRAND_SEED, Bench

# --- definitions -----------------------------------------------------------------------


@scenario(*V4_STYLE)
def definitions(bench: Bench, version: str) -> None:
    """Every brand's definitions, as a COMPLETE envelope without translations."""
    answer = bench.api(version).get("/definitions")
    assert answer.status_code == 200
    body = answer.json()
    assert body["status"] == "COMPLETE"
    assert [d["id"] for d in body["results"]] == ["101", "102", "104", "201", "202"]
    assert all("subscriptionTranslations" not in d for d in body["results"])


@scenario(*V4_STYLE)
def definitions_of_one_brand_with_translations(bench: Bench, version: str) -> None:
    """businessUnitId narrows to one brand; includeTranslations adds translations."""
    answer = bench.api(version).get(
        "/definitions", params={"businessUnitId": 0, "includeTranslations": "true"}
    )
    assert answer.status_code == 200
    results = answer.json()["results"]
    assert [d["id"] for d in results] == ["101", "102", "104"]
    assert [t["languageCode"] for t in results[0]["subscriptionTranslations"]] == ["de"]
    assert results[2]["isActive"] is False


@scenario("2026-03")
def definitions_with_bad_brand(bench: Bench, version: str) -> None:
    """An unknown or non-numeric businessUnitId is a 400 VALIDATION_ERROR."""
    api = bench.api(version)
    for brand in ("9", "abc"):
        answer = api.get("/definitions", params={"businessUnitId": brand})
        assert category(answer) == (400, "VALIDATION_ERROR")


# --- single-subscriber reads and writes --------------------------------------------------


@scenario(*V4_STYLE)
def status_read(bench: Bench, version: str) -> None:
    """One subscriber's statuses: set ones with their basis, unset ones NOT_SPECIFIED."""
    api = bench.api(version)
    answer = api.get("/statuses/alice@example.com", params={**EMAIL, "businessUnitId": 0})
    assert answer.status_code == 200
    by_id = {s["subscriptionId"]: s for s in answer.json()["results"]}
    assert sorted(by_id) == [101, 102]  # 104 is inactive and unset: not listed
    assert by_id[101]["status"] == "SUBSCRIBED"
    assert by_id[101]["legalBasis"] == "CONSENT_WITH_NOTICE"
    assert by_id[102]["status"] == "NOT_SPECIFIED"
    assert statuses(api, "dora@example.com", brand=5) == {201: "UNSUBSCRIBED", 202: "UNSUBSCRIBED"}


@scenario("2026-03")
def status_read_with_bad_input(bench: Bench, version: str) -> None:
    """No channel, another channel, or a malformed email: 400 VALIDATION_ERROR each."""
    api = bench.api(version)
    for path, params in (
        ("/statuses/alice@example.com", {}),
        ("/statuses/alice@example.com", {"channel": "SMS"}),
        ("/statuses/not-an-email", EMAIL),
        ("/statuses/alice@example.com/unsubscribe-all", {}),
    ):
        assert category(api.get(path, params=params)) == (400, "VALIDATION_ERROR")


@scenario(*V4_STYLE)
def statuswrite_input(bench: Bench, version: str) -> None:
    """A write answers its success reason: a change, then no change, then a change."""
    api = bench.api(version)
    path = "/statuses/erin@example.com"
    reasons = []
    for state, extra in (("SUBSCRIBED", BASIS), ("SUBSCRIBED", BASIS), ("UNSUBSCRIBED", {})):
        body = {"subscriptionId": 102, "statusState": state, "channel": "EMAIL", **extra}
        answer = api.post(path, json=body)
        assert answer.status_code == 200
        (result,) = answer.json()["results"]
        reasons.append((result["status"], result["setStatusSuccessReason"]))
    assert reasons == [
        ("SUBSCRIBED", "REQUESTED_CHANGE_OCCURRED"),
        ("SUBSCRIBED", "NO_STATUS_CHANGE"),
        ("UNSUBSCRIBED", "REQUESTED_CHANGE_OCCURRED"),
    ]
    assert statuses(api, "erin@example.com")[102] == "UNSUBSCRIBED"


@scenario("2026-03")
def status_write_rejected(bench: Bench, version: str) -> None:
    """Bad single writes are 400s and change nothing."""
    api = bench.api(version)
    path = "/statuses/erin@example.com"
    good = {"subscriptionId": 102, "statusState": "SUBSCRIBED", "channel": "EMAIL", **BASIS}
    bodies: list[dict[str, Any]] = [
        {**good, "legalBasis": None, "legalBasisExplanation": None},  # GDPR portal
        {**good, "subscriptionId": 999},
        {**good, "subscriptionId": 104},  # inactive
        {**good, "subscriptionId": "102"},
        {**good, "statusState": "MAYBE"},
        {**good, "channel": "SMS"},
        {"statusState": "SUBSCRIBED", "channel": "EMAIL"},
    ]
    for body in bodies:
        assert api.post(path, json=body).status_code == 400, body
    for raw in (b"", b"{not json", b"[1, 2]"):
        answer = api.post(path, content=raw, headers={"content-type": "application/json"})
        assert category(answer) == (400, "VALIDATION_ERROR")
    assert statuses(api, "erin@example.com")[102] == "NOT_SPECIFIED"


@scenario(*V4_STYLE)
def unsubscribe_all_single(bench: Bench, version: str) -> None:
    """Opting one subscriber out flips every status; the wide read then shows it."""
    api = bench.api(version)
    answer = api.post(
        "/statuses/alice@example.com/unsubscribe-all", params={**EMAIL, "verbose": "true"}
    )
    assert answer.status_code == 200
    flipped = {
        s["subscriptionId"]: (s["status"], s["setStatusSuccessReason"])
        for s in answer.json()["results"]
    }
    assert flipped == {
        101: ("UNSUBSCRIBED", "UNSUBSCRIBE_FROM_ALL_OCCURRED"),
        102: ("UNSUBSCRIBED", "UNSUBSCRIBE_FROM_ALL_OCCURRED"),
    }
    quiet = api.post("/statuses/erin@example.com/unsubscribe-all", params=EMAIL)
    assert quiet.status_code == 200
    assert quiet.json()["results"] == []
    wide = api.get("/statuses/alice@example.com/unsubscribe-all", params=EMAIL)
    assert wide.status_code == 200
    (entry,) = wide.json()["results"]
    assert (entry["status"], entry["wideStatusType"]) == ("UNSUBSCRIBED", "BUSINESS_UNIT_WIDE")


@scenario("2026-03")
def wide_read_styles(bench: Bench, version: str) -> None:
    """Not opted out reads as [] or as SUBSCRIBED; a portal without brands says PORTAL_WIDE."""
    params = {**EMAIL, "verbose": "true", "businessUnitId": 0}
    empty = bench.api(version).get("/statuses/alice@example.com/unsubscribe-all", params=params)
    assert empty.json()["results"] == []
    explicit = bench.api(version, wide_status_style="explicit").get(
        "/statuses/alice@example.com/unsubscribe-all", params=params
    )
    assert [w["status"] for w in explicit.json()["results"]] == ["SUBSCRIBED"]
    single = bench.api(version, seed=SINGLE_BRAND_SEED).get(
        "/statuses/olga@example.com/unsubscribe-all", params=EMAIL
    )
    assert [(w["status"], w["wideStatusType"]) for w in single.json()["results"]] == [
        ("UNSUBSCRIBED", "PORTAL_WIDE")
    ]


@scenario("2026-03")
def resubscribe_after_opt_out(bench: Bench, version: str) -> None:
    """Subscribing someone opted out needs a legal basis, and answers RESUBSCRIBE_OCCURRED."""
    api = bench.api(version)
    body = {"subscriptionId": 201, "statusState": "SUBSCRIBED", "channel": "EMAIL"}
    bare = api.post("/statuses/dora@example.com", json=body)
    assert category(bare) == (400, "VALIDATION_ERROR")
    answer = api.post("/statuses/dora@example.com", json={**body, **BASIS})
    assert answer.status_code == 200
    assert answer.json()["results"][0]["setStatusSuccessReason"] == "RESUBSCRIBE_OCCURRED"


# --- batch calls -------------------------------------------------------------------------


@scenario(*V4_STYLE)
def batch_read(bench: Bench, version: str) -> None:
    """Batch read: 200 when all inputs are good; a bad one fails alone (207 where declared)."""
    api = bench.api(version)
    good = api.post(
        "/statuses/batch/read", params=EMAIL, json={"inputs": ["alice@example.com", "bob@x.io"]}
    )
    assert good.status_code == 200
    assert [r["subscriberIdString"] for r in good.json()["results"]] == [
        "alice@example.com",
        "bob@x.io",
    ]
    mixed = api.post(
        "/statuses/batch/read", params=EMAIL, json={"inputs": ["alice@example.com", "nope"]}
    )
    # 2026-09's spec lists no 207 for this operation: partial failure is a 200 there.
    assert mixed.status_code == (200 if version == "2026-09" else 207)
    body = mixed.json()
    assert [r["subscriberIdString"] for r in body["results"]] == ["alice@example.com"]
    assert body["numErrors"] == 1
    assert body["errors"][0]["context"] == {"subscriberIdString": ["nope"]}


@scenario("2026-03")
def batch_read_rejected(bench: Bench, version: str) -> None:
    """Whole-request problems of a batch read are 400s."""
    api = bench.api(version, batch_limit=2)
    for params, body in (
        (EMAIL, {}),
        (EMAIL, {"inputs": "alice@example.com"}),
        (EMAIL, {"inputs": [1, 2]}),
        (EMAIL, {"inputs": ["a@x.io", "b@x.io", "c@x.io"]}),
        ({}, {"inputs": ["a@x.io"]}),
    ):
        answer = api.post("/statuses/batch/read", params=params, json=body)
        assert category(answer) == (400, "VALIDATION_ERROR"), body


@scenario(*V4_STYLE)
def batch_wide_read(bench: Bench, version: str) -> None:
    """Batch wide read: the opted-out subscriber shows UNSUBSCRIBED, the other nothing."""
    api = bench.api(version)
    params = {**EMAIL, "businessUnitId": 5}
    good = api.post(
        "/statuses/batch/unsubscribe-all/read",
        params=params,
        json={"inputs": ["dora@example.com", "alice@example.com"]},
    )
    assert good.status_code == 200
    wide = {r["subscriberIdString"]: r["wideStatuses"] for r in good.json()["results"]}
    assert [w["status"] for w in wide["dora@example.com"]] == ["UNSUBSCRIBED"]
    assert wide["alice@example.com"] == []
    mixed = api.post(
        "/statuses/batch/unsubscribe-all/read", params=params, json={"inputs": ["x", "d@x.io"]}
    )
    assert mixed.status_code == (200 if version == "2026-09" else 207)
    assert mixed.json()["numErrors"] == 1


@scenario(*V4_STYLE)
def batchwrite_input(bench: Bench, version: str) -> None:
    """Batch write: per-input failures go to errors[], the good input is applied (200)."""
    api = bench.api(version)
    answer = api.post(
        "/statuses/batch/write",
        params={"businessUnitId": 0},
        json={
            "inputs": [
                write_input("erin@example.com", 101, "SUBSCRIBED", **BASIS),
                write_input("erin@example.com", 999, "SUBSCRIBED", **BASIS),
                write_input("not an email", 101, "UNSUBSCRIBED"),
                write_input("erin@example.com", 201, "UNSUBSCRIBED"),  # brand 5, not 0
                write_input("erin@example.com", 102, "SUBSCRIBED", legalBasis="LOOKS_FINE"),
            ]
        },
    )
    assert answer.status_code == 200
    body = answer.json()
    assert [(r["subscriptionId"], r["setStatusSuccessReason"]) for r in body["results"]] == [
        (101, "REQUESTED_CHANGE_OCCURRED")
    ]
    assert body["numErrors"] == 4
    assert statuses(api, "erin@example.com") == {101: "SUBSCRIBED", 102: "NOT_SPECIFIED"}


@scenario("2026-03")
def batch_write_rejected(bench: Bench, version: str) -> None:
    """A malformed input fails the whole batch write before anything is written."""
    api = bench.api(version)
    inputs = [
        write_input("erin@example.com", 102, "UNSUBSCRIBED"),
        {"subscriberIdString": "erin@example.com", "subscriptionId": 101, "channel": "EMAIL"},
    ]
    answer = api.post("/statuses/batch/write", json={"inputs": inputs})
    assert category(answer) == (400, "VALIDATION_ERROR")
    assert statuses(api, "erin@example.com")[102] == "NOT_SPECIFIED"


@scenario(*V4_STYLE)
def batch_unsubscribe_all(bench: Bench, version: str) -> None:
    """Batch opt-out: good inputs answered (with statuses when verbose), bad ones in errors."""
    api = bench.api(version)
    answer = api.post(
        "/statuses/batch/unsubscribe-all",
        params={**EMAIL, "verbose": "true"},
        json={"inputs": ["alice@example.com", "bad"]},
    )
    assert answer.status_code == 200
    body = answer.json()
    (result,) = body["results"]
    assert result["subscriberIdString"] == "alice@example.com"
    assert {s["status"] for s in result["statuses"]} == {"UNSUBSCRIBED"}
    assert body["numErrors"] == 1
    quiet = api.post(
        "/statuses/batch/unsubscribe-all", params=EMAIL, json={"inputs": ["erin@example.com"]}
    )
    assert quiet.json()["results"] == [{"subscriberIdString": "erin@example.com"}]


@scenario(*V4_STYLE)
def links_generate(bench: Bench, version: str) -> None:
    """Preference links: single-subscription link only when a subscription is named."""
    api = bench.api(version)
    both = api.post(
        "/links/generate",
        params=EMAIL,
        json={"subscriberIdString": "alice@example.com", "subscriptionId": 101},
    )
    assert both.status_code == 200
    assert "unsubscribeSingleUrl" in both.json()
    plain = api.post(
        "/links/generate", params=EMAIL, json={"subscriberIdString": "alice@example.com"}
    )
    assert plain.status_code == 200
    assert "unsubscribeSingleUrl" not in plain.json()
    for body in (
        {"subscriberIdString": "nope"},
        {"subscriberIdString": "a@x.io", "subscriptionId": 9},
    ):
        assert api.post("/links/generate", params=EMAIL, json=body).status_code == 400
