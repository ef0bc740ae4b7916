"""Scenarios of the edges: auth, limits, unknown paths, faults, v3 and account info.

Auth and scopes, rate limits, paths that are no operation, injected faults, v3 and the
legacy operations of 2026-09, and account information.

Registered in :data:`~._registry.SCENARIOS`; see :mod:`.scenarios`.
"""

from __future__ import annotations

from ._registry import (
    BASIS,
    EMAIL,
    V4_STYLE,
    category,
    scenario,
    statuses,
    write_input,
)
from .harness import BATCH_READ_TOKEN, READ_TOKEN, SINGLE_BRAND_SEED, Bench

# --- auth, scopes, rate limits ------------------------------------------------------------


@scenario(*V4_STYLE, "v3")
def unauthenticated(bench: Bench, version: str) -> None:
    """No token, an unknown token, or another scheme: 401 INVALID_AUTHENTICATION."""
    for api in (bench.api(version, token=None), bench.api(version, token="not-a-token")):
        assert category(api.get("/definitions")) == (401, "INVALID_AUTHENTICATION")
    basic = bench.api(version, token=None).get(
        "/definitions", headers={"Authorization": "Basic dXNlcjpwdw=="}
    )
    assert category(basic) == (401, "INVALID_AUTHENTICATION")


@scenario("2026-03", "v3")
def missing_scopes(bench: Bench, version: str) -> None:
    """A token without the operation's scopes: 403 MISSING_SCOPES naming them."""
    reader = bench.api(version, token=READ_TOKEN)
    assert reader.get("/definitions").status_code == 200
    batch_only = bench.api(version, token=BATCH_READ_TOKEN)
    answer = batch_only.get("/definitions")
    assert category(answer) == (403, "MISSING_SCOPES")
    assert answer.json()["context"]["requiredGranularScopes"] == [
        "communication_preferences.read",
        "communication_preferences.read_write",
    ]
    if version == "2026-03":
        denied = reader.post("/statuses/batch/read", params=EMAIL, json={"inputs": []})
        assert category(denied) == (403, "MISSING_SCOPES")


@scenario("2026-03")
def rate_limited_rolling(bench: Bench, version: str) -> None:
    """Over the rolling window's limit: 429 RATE_LIMIT TEN_SECONDLY_ROLLING, with
    Retry-After when asked for (no HubSpot source says a 429 carries it: off by default)."""
    api = bench.api(version, rate_limit=2, rate_window_ms=60_000, retry_after="auto")
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
        json={"inputs": [write_input("erin@example.com", 102, "UNSUBSCRIBED")]},
    )
    assert lie.status_code == 200
    assert lie.json()["results"][0]["status"] == "UNSUBSCRIBED"
    assert statuses(api, "erin@example.com")[102] == "NOT_SPECIFIED"
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
    assert category(api.get("/status/email/not-an-email")) == (400, "VALIDATION_ERROR")


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
