"""Scenarios that make the emulator give every kind of answer it has, under every version.

Each scenario is a plain function of a :class:`~.harness.Bench` that drives recorded
emulators and asserts what HubSpot would answer. ``test_spec_responses`` runs each one
as its own test (the bench judges every answer against the specs at teardown) and runs
them all together to prove that, between them, they reach every operation of every spec
and every error path. :data:`SCENARIOS` maps an id (``name[version]``) to a callable.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from .harness import BATCH_READ_TOKEN, READ_TOKEN, SINGLE_BRAND_SEED, Api, Bench

__all__ = ["SCENARIOS", "V4_STYLE"]

V4_STYLE = ("2026-03", "v4", "2026-09")
EMAIL = {"channel": "EMAIL"}
BASIS = {"legalBasis": "CONSENT_WITH_NOTICE", "legalBasisExplanation": "Asked at the fair"}

Scenario = Callable[[Bench], None]
SCENARIOS: dict[str, Scenario] = {}


def scenario(*versions: str) -> Callable[[Callable[[Bench, str], None]], None]:
    """Register a scenario once per API version it runs under."""

    def register(func: Callable[[Bench, str], None]) -> None:
        for version in versions:
            SCENARIOS[f"{func.__name__}[{version}]"] = partial(func, version=version)

    return register


def _write(email: str, sub: int, state: str, **extra: Any) -> dict[str, Any]:
    return {
        "subscriberIdString": email,
        "subscriptionId": sub,
        "statusState": state,
        "channel": "EMAIL",
        **extra,
    }


def _statuses(api: Api, email: str, brand: int = 0) -> dict[int, str]:
    answer = api.get(f"/statuses/{email}", params={**EMAIL, "businessUnitId": brand})
    assert answer.status_code == 200
    return {s["subscriptionId"]: s["status"] for s in answer.json()["results"]}


def _category(answer: Any) -> tuple[int, str]:
    return answer.status_code, answer.json()["category"]


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
        assert _category(answer) == (400, "VALIDATION_ERROR")


# --- single-subscriber reads and writes --------------------------------------------------


@scenario(*V4_STYLE)
def status_read(bench: Bench, version: str) -> None:
    """One subscriber's statuses: set ones with their basis, unset ones NOT_SPECIFIED."""
    api = bench.api(version)
    answer = api.get("/statuses/alice@example.com", params=EMAIL)
    assert answer.status_code == 200
    by_id = {s["subscriptionId"]: s for s in answer.json()["results"]}
    assert sorted(by_id) == [101, 102]  # 104 is inactive and unset: not listed
    assert by_id[101]["status"] == "SUBSCRIBED"
    assert by_id[101]["legalBasis"] == "CONSENT_WITH_NOTICE"
    assert by_id[102]["status"] == "NOT_SPECIFIED"
    assert _statuses(api, "dora@example.com", brand=5) == {201: "UNSUBSCRIBED", 202: "UNSUBSCRIBED"}


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
        assert _category(api.get(path, params=params)) == (400, "VALIDATION_ERROR")


@scenario(*V4_STYLE)
def status_write(bench: Bench, version: str) -> None:
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
    assert _statuses(api, "erin@example.com")[102] == "UNSUBSCRIBED"


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
        assert _category(answer) == (400, "VALIDATION_ERROR")
    assert _statuses(api, "erin@example.com")[102] == "NOT_SPECIFIED"


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
    params = {**EMAIL, "verbose": "true"}
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
    assert _category(bare) == (400, "VALIDATION_ERROR")
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
        assert _category(answer) == (400, "VALIDATION_ERROR"), body


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
def batch_write(bench: Bench, version: str) -> None:
    """Batch write: per-input failures go to errors[], the good input is applied (200)."""
    api = bench.api(version)
    answer = api.post(
        "/statuses/batch/write",
        params={"businessUnitId": 0},
        json={
            "inputs": [
                _write("erin@example.com", 101, "SUBSCRIBED", **BASIS),
                _write("erin@example.com", 999, "SUBSCRIBED", **BASIS),
                _write("not an email", 101, "UNSUBSCRIBED"),
                _write("erin@example.com", 201, "UNSUBSCRIBED"),  # brand 5, not 0
                _write("erin@example.com", 102, "SUBSCRIBED", legalBasis="LOOKS_FINE"),
            ]
        },
    )
    assert answer.status_code == 200
    body = answer.json()
    assert [(r["subscriptionId"], r["setStatusSuccessReason"]) for r in body["results"]] == [
        (101, "REQUESTED_CHANGE_OCCURRED")
    ]
    assert body["numErrors"] == 4
    assert _statuses(api, "erin@example.com") == {101: "SUBSCRIBED", 102: "NOT_SPECIFIED"}


@scenario("2026-03")
def batch_write_rejected(bench: Bench, version: str) -> None:
    """A malformed input fails the whole batch write before anything is written."""
    api = bench.api(version)
    inputs = [
        _write("erin@example.com", 102, "UNSUBSCRIBED"),
        {"subscriberIdString": "erin@example.com", "subscriptionId": 101, "channel": "EMAIL"},
    ]
    answer = api.post("/statuses/batch/write", json={"inputs": inputs})
    assert _category(answer) == (400, "VALIDATION_ERROR")
    assert _statuses(api, "erin@example.com")[102] == "NOT_SPECIFIED"


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


# --- auth, scopes, rate limits ------------------------------------------------------------


@scenario(*V4_STYLE, "v3")
def unauthenticated(bench: Bench, version: str) -> None:
    """No token, an unknown token, or another scheme: 401 INVALID_AUTHENTICATION."""
    for api in (bench.api(version, token=None), bench.api(version, token="not-a-token")):
        assert _category(api.get("/definitions")) == (401, "INVALID_AUTHENTICATION")
    basic = bench.api(version, token=None).get(
        "/definitions", headers={"Authorization": "Basic dXNlcjpwdw=="}
    )
    assert _category(basic) == (401, "INVALID_AUTHENTICATION")


@scenario("2026-03", "v3")
def missing_scopes(bench: Bench, version: str) -> None:
    """A token without the operation's scopes: 403 MISSING_SCOPES naming them."""
    reader = bench.api(version, token=READ_TOKEN)
    assert reader.get("/definitions").status_code == 200
    batch_only = bench.api(version, token=BATCH_READ_TOKEN)
    answer = batch_only.get("/definitions")
    assert _category(answer) == (403, "MISSING_SCOPES")
    assert answer.json()["context"]["requiredGranularScopes"] == [
        "communication_preferences.read",
        "communication_preferences.read_write",
    ]
    if version == "2026-03":
        denied = reader.post("/statuses/batch/read", params=EMAIL, json={"inputs": []})
        assert _category(denied) == (403, "MISSING_SCOPES")


@scenario("2026-03")
def rate_limited_rolling(bench: Bench, version: str) -> None:
    """Over the rolling window's limit: 429 RATE_LIMIT TEN_SECONDLY_ROLLING, Retry-After."""
    api = bench.api(version, rate_limit=2, rate_window_ms=60_000)
    assert [api.get("/definitions").status_code for _ in range(2)] == [200, 200]
    answer = api.get("/definitions")
    assert answer.status_code == 429
    body = answer.json()
    assert (body["errorType"], body["policyName"]) == ("RATE_LIMIT", "TEN_SECONDLY_ROLLING")
    assert "retry-after" in answer.headers


@scenario("2026-03")
def rate_limited_daily(bench: Bench, version: str) -> None:
    """Over the daily cap: 429 with policyName DAILY (here without Retry-After)."""
    api = bench.api(version, daily_limit=1, retry_after=None)
    assert api.get("/definitions").status_code == 200
    answer = api.get("/definitions")
    assert answer.status_code == 429
    assert answer.json()["policyName"] == "DAILY"
    assert "retry-after" not in answer.headers


# --- paths that are no operation -----------------------------------------------------------


@scenario(*V4_STYLE, "v3")
def no_such_operation(bench: Bench, version: str) -> None:
    """An unknown path is a JSON 404, a known path with the wrong method a JSON 405."""
    api = bench.api(version)
    assert api.get("/no/such/thing").status_code == 404
    assert api.client.request("DELETE", f"{api.prefix}/definitions").status_code == 405
    assert api.client.get("/communication-preferences/v9/definitions").status_code == 404


# --- injected faults -------------------------------------------------------------------------


@scenario("2026-03")
def faults_in_hubspot_shape(bench: Bench, version: str) -> None:
    """Injected 500, 503 and out-of-turn 429 answers carry HubSpot's error body."""
    api = bench.api(version)
    for kind, expected in (("500", 500), ("503", 503), ("429", 429)):
        api.fault(kind, "definitions")
        answer = api.get("/definitions")
        assert answer.status_code == expected
        assert answer.json()["status"] == "error"


@scenario("2026-03")
def fault_pending_batch(bench: Bench, version: str) -> None:
    """A batch answered PENDING: a 200 envelope whose results are not final."""
    api = bench.api(version)
    api.fault("pending", "statuses.batch.read")
    answer = api.post("/statuses/batch/read", params=EMAIL, json={"inputs": ["alice@example.com"]})
    assert answer.status_code == 200
    assert (answer.json()["status"], answer.json()["results"]) == ("PENDING", [])


@scenario("2026-03")
def fault_lie_and_slow(bench: Bench, version: str) -> None:
    """A lying write looks like success but changes nothing; a slow answer is still valid."""
    api = bench.api(version, slow_ms=1)
    api.fault("lie", "statuses.batch.write")
    lie = api.post(
        "/statuses/batch/write",
        json={"inputs": [_write("erin@example.com", 102, "UNSUBSCRIBED")]},
    )
    assert lie.status_code == 200
    assert lie.json()["results"][0]["status"] == "UNSUBSCRIBED"
    assert _statuses(api, "erin@example.com")[102] == "NOT_SPECIFIED"
    api.fault("slow", "definitions")
    assert api.get("/definitions").status_code == 200


@scenario("2026-03")
def fault_gateway_pages(bench: Bench, version: str) -> None:
    """Injected 502 and 504 are HTML pages, as the proxy in front of HubSpot sends them."""
    api = bench.api(version)
    for kind in ("502", "504"):
        api.fault(kind, "definitions")
        answer = api.get("/definitions")
        assert answer.status_code == int(kind)
        assert answer.headers["content-type"].startswith("text/html")


# --- v3 and the legacy operations of 2026-09 ------------------------------------------------


@scenario("v3")
def v3_definitions(bench: Bench, version: str) -> None:
    """v3 lists every definition under subscriptionDefinitions."""
    answer = bench.api(version).get("/definitions")
    assert answer.status_code == 200
    ids = [d["id"] for d in answer.json()["subscriptionDefinitions"]]
    assert ids == ["101", "102", "104", "201", "202"]


@scenario("v3", "2026-09")
def v3_status_read(bench: Bench, version: str) -> None:
    """v3 status: set statuses as SUBSCRIBED/NOT_SUBSCRIBED, opt-outs as brand- or portal-wide."""
    api = bench.api(version)
    alice = api.get("/status/email/alice@example.com").json()
    assert [(s["id"], s["status"], s["sourceOfStatus"]) for s in alice["subscriptionStatuses"]] == [
        ("101", "SUBSCRIBED", "SUBSCRIPTION_STATUS")
    ]
    bob = api.get("/status/email/bob@example.com").json()
    assert [(s["id"], s["status"]) for s in bob["subscriptionStatuses"]] == [
        ("102", "NOT_SUBSCRIBED")
    ]
    dora = api.get("/status/email/dora@example.com").json()
    assert {s["sourceOfStatus"] for s in dora["subscriptionStatuses"]} == {"BRAND_WIDE_STATUS"}
    olga = bench.api(version, seed=SINGLE_BRAND_SEED).get("/status/email/olga@example.com")
    assert {s["sourceOfStatus"] for s in olga.json()["subscriptionStatuses"]} == {
        "PORTAL_WIDE_STATUS"
    }
    assert _category(api.get("/status/email/not-an-email")) == (400, "VALIDATION_ERROR")


@scenario("v3", "2026-09")
def v3_subscribe_and_unsubscribe(bench: Bench, version: str) -> None:
    """v3 writes answer the new status; impossible ones are 400s."""
    api = bench.api(version)
    who = {"emailAddress": "erin@example.com", "subscriptionId": "102"}
    subscribed = api.post("/subscribe", json={**who, **BASIS})
    assert subscribed.status_code == 200
    assert (subscribed.json()["status"], subscribed.json()["legalBasis"]) == (
        "SUBSCRIBED",
        "CONSENT_WITH_NOTICE",
    )
    unsubscribed = api.post("/unsubscribe", json=who)
    assert unsubscribed.status_code == 200
    assert unsubscribed.json()["status"] == "NOT_SUBSCRIBED"
    for path, body in (
        ("/unsubscribe", who),  # already unsubscribed
        ("/subscribe", {"emailAddress": "dora@example.com", "subscriptionId": "201", **BASIS}),
        ("/subscribe", {**who, "emailAddress": "nope"}),
        ("/subscribe", {**who, "subscriptionId": "999"}),
        ("/subscribe", {"emailAddress": "erin@example.com"}),
    ):
        assert api.post(path, json=body).status_code == 400, (path, body)


@scenario("2026-09")
def legacy_resubscribe(bench: Bench, version: str) -> None:
    """2026-09's /resubscribe undoes an opt-out of all when given a legal basis."""
    api = bench.api(version)
    body = {"emailAddress": "dora@example.com", "subscriptionId": "201", **BASIS}
    answer = api.post("/resubscribe", json=body)
    assert answer.status_code == 200
    assert (answer.json()["status"], answer.json()["sourceOfStatus"]) == (
        "SUBSCRIBED",
        "SUBSCRIPTION_STATUS",
    )


# --- account information (no spec here: only its errors are judged) ---------------------


@scenario("2026-03")
def account_info(bench: Bench, version: str) -> None:
    """Account details and daily usage answer; their errors are HubSpot-shaped."""
    api = bench.api(version)
    details = api.client.get("/account-info/v3/details")
    assert details.json()["portalId"] == 424242
    usage = api.client.get("/account-info/v3/api-usage/daily/private-apps")
    assert usage.json()["results"][0]["usageLimit"] == 625_000
    stranger = bench.api(version, token="not-a-token")
    assert stranger.client.get("/account-info/v3/details").status_code == 401
    uncapped = bench.api(version, daily_limit=0)
    assert uncapped.client.get("/account-info/v3/api-usage/daily/private-apps").status_code == 404
