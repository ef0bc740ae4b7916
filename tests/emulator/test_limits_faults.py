"""Rate limits, latency and injected faults: each knob, with seeded faults.

Time never passes on its own here: the limiter of every in-process client runs on a hand
clock (``client.clock``), which a test moves to roll a window or a day.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from reconciler.emulator import DroppedConnection

from .helpers import AUTH, SyncClient, V, statuses_of, write_input

EMAIL = {"channel": "EMAIL"}
DEFINITIONS = f"{V}/definitions"
BATCH_READ = f"{V}/statuses/batch/read"
BATCH_WRITE = f"{V}/statuses/batch/write"


def _queue(client: SyncClient, kind: str, operation: str | None = None, count: int = 1) -> None:
    answer = client.post(
        "/_emulator/faults", json={"kind": kind, "operation": operation, "count": count}
    )
    assert answer.status_code == 200


def _record_sleeps(client: SyncClient) -> list[float]:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    client.app.state.emulator.sleep = sleep
    return waits


def test_rate_limit_headers_on_every_answer(emulator: Callable[..., SyncClient]) -> None:
    """Each answer carries HubSpot's five rate-limit headers, Remaining counting down."""
    client = emulator(rate_limit=5, rate_window_ms=60_000, daily_limit=100)
    first = client.get(DEFINITIONS)
    second = client.get(f"{V}/statuses/bad-email", params=EMAIL)
    assert second.status_code == 400
    assert {k: v for k, v in first.headers.items() if k.startswith("x-hubspot-ratelimit")} == {
        "x-hubspot-ratelimit-max": "5",
        "x-hubspot-ratelimit-remaining": "4",
        "x-hubspot-ratelimit-interval-milliseconds": "60000",
        "x-hubspot-ratelimit-daily": "100",
        "x-hubspot-ratelimit-daily-remaining": "99",
    }
    assert second.headers["X-HubSpot-RateLimit-Remaining"] == "3"
    assert second.headers["X-HubSpot-RateLimit-Daily-Remaining"] == "98"


def test_over_the_window_limit_is_429_rolling(emulator: Callable[..., SyncClient]) -> None:
    """Past the window's limit: 429 RATE_LIMIT, TEN_SECONDLY_ROLLING, Retry-After computed."""
    client = emulator(rate_limit=2, rate_window_ms=60_000, retry_after="auto")
    assert [client.get(DEFINITIONS).status_code for _ in range(2)] == [200, 200]
    refused = client.get(DEFINITIONS)
    assert refused.status_code == 429
    body = refused.json()
    assert (body["errorType"], body["policyName"], body["category"]) == (
        "RATE_LIMIT",
        "TEN_SECONDLY_ROLLING",
        "RATE_LIMITS",
    )
    assert body["message"] == "You have reached your ten_secondly_rolling limit."
    assert refused.headers["Retry-After"] == "60"
    assert refused.headers["X-HubSpot-RateLimit-Remaining"] == "0"


@pytest.mark.parametrize(("setting", "header"), [(None, None), (0.25, "0.25"), (3, "3")])
def test_retry_after_is_settable(
    emulator: Callable[..., SyncClient], setting: float | None, header: str | None
) -> None:
    """retry_after: absent (None) or a fixed value."""
    client = emulator(rate_limit=1, rate_window_ms=60_000, retry_after=setting)
    client.get(DEFINITIONS)
    refused = client.get(DEFINITIONS)
    assert refused.status_code == 429
    assert refused.headers.get("Retry-After") == header


def test_the_window_rolls(emulator: Callable[..., SyncClient]) -> None:
    """Refused until the window has passed since the first request, then let through."""
    client = emulator(rate_limit=1, rate_window_ms=10_000, retry_after="auto")
    clock = client.clock
    assert client.get(DEFINITIONS).status_code == 200
    clock.advance(9.999)
    assert client.get(DEFINITIONS).status_code == 429
    clock.advance(0.001)
    assert client.get(DEFINITIONS).status_code == 200


def test_retry_after_counts_the_seconds_left_in_the_window(
    emulator: Callable[..., SyncClient],
) -> None:
    """Retry-After "auto" is the whole seconds until the oldest request leaves the window."""
    client = emulator(rate_limit=1, rate_window_ms=10_000, retry_after="auto")
    client.get(DEFINITIONS)
    client.clock.advance(2.5)
    refused = client.get(DEFINITIONS)
    assert (refused.status_code, refused.headers["Retry-After"]) == (429, "8")


def test_the_daily_cap_resets_at_utc_midnight(emulator: Callable[..., SyncClient]) -> None:
    """Refused for the rest of the portal's day (here UTC; Retry-After until midnight),
    fine after it."""
    client = emulator(daily_limit=1, retry_after="auto")
    client.clock.wall = datetime(2026, 5, 1, 23, 59, 30, tzinfo=UTC)
    assert client.get(DEFINITIONS).status_code == 200
    refused = client.get(DEFINITIONS)
    assert (refused.status_code, refused.headers["Retry-After"]) == (429, "30")
    client.clock.advance(30)
    answer = client.get(DEFINITIONS)
    assert answer.status_code == 200
    assert answer.headers["X-HubSpot-RateLimit-Daily-Remaining"] == "0"


def test_limits_are_per_token(emulator: Callable[..., SyncClient]) -> None:
    """Each token has its own window."""
    client = emulator(rate_limit=1, rate_window_ms=60_000, token="second-token")
    assert client.get(DEFINITIONS).status_code == 200
    other = client.get(DEFINITIONS, headers={"Authorization": "Bearer second-token"})
    assert other.status_code == 200
    assert client.get(DEFINITIONS).status_code == 429


def test_daily_cap_is_429_daily(emulator: Callable[..., SyncClient]) -> None:
    """Past the daily cap: 429 with policyName DAILY."""
    client = emulator(daily_limit=2)
    client.get(DEFINITIONS)
    client.get(DEFINITIONS)
    refused = client.get(DEFINITIONS)
    assert refused.status_code == 429
    assert refused.json()["policyName"] == "DAILY"
    assert refused.headers["X-HubSpot-RateLimit-Daily-Remaining"] == "0"


def test_no_rate_headers_when_limits_are_off(emulator: Callable[..., SyncClient]) -> None:
    """With both limits off, no rate-limit headers are sent."""
    client = emulator(rate_limit=0, daily_limit=0)
    headers = client.get(DEFINITIONS).headers
    assert not [k for k in headers if k.startswith("x-hubspot-ratelimit")]


def test_admin_calls_are_never_limited(emulator: Callable[..., SyncClient]) -> None:
    """The admin surface does not use up the budget."""
    client = emulator(rate_limit=1, rate_window_ms=60_000, retry_after="auto")
    for _ in range(3):
        assert client.get("/_emulator/requests").status_code == 200
    assert client.get(DEFINITIONS).status_code == 200


def test_latency_waits_within_the_jitter(emulator: Callable[..., SyncClient]) -> None:
    """Each request waits latency_ms plus or minus the jitter."""
    client = emulator(latency_ms=100, latency_jitter_ms=20)
    waits = _record_sleeps(client)
    for _ in range(20):
        client.get(DEFINITIONS)
    assert len(waits) == 20
    assert all(0.08 <= w <= 0.12 for w in waits)
    assert len(set(waits)) > 1


def test_500_fault_is_json_and_changes_nothing(client: SyncClient) -> None:
    """A 500 fault answers HubSpot's JSON error before doing the work."""
    _queue(client, "500", "statuses.batch.write")
    answer = client.post(
        BATCH_WRITE, json={"inputs": [write_input("f@example.com", 101, "SUBSCRIBED")]}
    )
    assert answer.status_code == 500
    assert answer.json()["category"] == "INTERNAL_ERROR"
    assert statuses_of(client, "f@example.com")[101] == "NOT_SPECIFIED"


def test_502_fault_has_an_html_body(client: SyncClient) -> None:
    """A 502 fault answers an HTML page, as a gateway would."""
    _queue(client, "502")
    answer = client.get(DEFINITIONS)
    assert answer.status_code == 502
    assert answer.headers["content-type"] == "text/html"
    assert "<h1>502 Bad Gateway</h1>" in answer.text


def test_503_fault(client: SyncClient) -> None:
    """A 503 fault answers SERVICE_UNAVAILABLE."""
    _queue(client, "503")
    answer = client.get(DEFINITIONS)
    assert answer.status_code == 503
    assert answer.json()["category"] == "SERVICE_UNAVAILABLE"


def test_504_fault_comes_after_the_write_was_committed(client: SyncClient) -> None:
    """A 504 fault answers a gateway timeout although the write was applied."""
    _queue(client, "504", "statuses.batch.write")
    answer = client.post(
        BATCH_WRITE, json={"inputs": [write_input("f@example.com", 101, "SUBSCRIBED")]}
    )
    assert answer.status_code == 504
    assert "Gateway Time-out" in answer.text
    assert statuses_of(client, "f@example.com")[101] == "SUBSCRIBED"


def test_429_fault_out_of_turn(emulator: Callable[..., SyncClient]) -> None:
    """A 429 fault comes while budget remains, shaped like a real one."""
    client = emulator(retry_after="auto")
    _queue(client, "429")
    answer = client.get(DEFINITIONS)
    assert answer.status_code == 429
    assert (answer.json()["errorType"], answer.json()["policyName"]) == (
        "RATE_LIMIT",
        "TEN_SECONDLY_ROLLING",
    )
    assert answer.headers["Retry-After"] == "1"


def test_drop_fault_breaks_the_connection_after_committing(client: SyncClient) -> None:
    """A dropped connection reaches the client as a transport error; the write stuck."""
    _queue(client, "drop", "statuses.batch.write")
    with pytest.raises(httpx.RemoteProtocolError) as caught:
        client.post(BATCH_WRITE, json={"inputs": [write_input("f@example.com", 101, "SUBSCRIBED")]})
    assert isinstance(caught.value, DroppedConnection)
    assert statuses_of(client, "f@example.com")[101] == "SUBSCRIBED"
    counts = client.get("/_emulator/requests").json()["by_operation_status"]
    assert counts["statuses.batch.write"] == {"dropped": 1}


def test_slow_fault_answers_late(client: SyncClient) -> None:
    """A slow fault waits slow_ms before answering (the work is done first)."""
    client.patch("/_emulator/settings", json={"slow_ms": 1500})
    waits = _record_sleeps(client)
    _queue(client, "slow", "statuses.batch.write")
    answer = client.post(
        BATCH_WRITE, json={"inputs": [write_input("f@example.com", 101, "SUBSCRIBED")]}
    )
    assert answer.status_code == 200
    assert waits == [1.5]


def test_pending_fault_answers_a_batch_as_pending(seeded: SyncClient) -> None:
    """A pending fault answers status PENDING with no results."""
    _queue(seeded, "pending", "statuses.batch.read")
    answer = seeded.post(BATCH_READ, params=EMAIL, json={"inputs": ["alice@example.com", "x"]})
    assert answer.status_code == 200
    assert (answer.json()["status"], answer.json()["results"]) == ("PENDING", [])


def test_pending_write_is_still_applied(client: SyncClient) -> None:
    """A batch write answered PENDING is applied (the results are not final, the work is)."""
    _queue(client, "pending", "statuses.batch.write")
    answer = client.post(
        BATCH_WRITE, json={"inputs": [write_input("f@example.com", 101, "SUBSCRIBED")]}
    )
    assert answer.json()["status"] == "PENDING"
    assert statuses_of(client, "f@example.com")[101] == "SUBSCRIBED"


def test_lying_write_reports_success_without_applying(client: SyncClient) -> None:
    """A lying write answers success but leaves the state as it was."""
    _queue(client, "lie", "statuses.batch.write")
    answer = client.post(
        BATCH_WRITE, json={"inputs": [write_input("f@example.com", 101, "SUBSCRIBED")]}
    )
    assert answer.status_code == 200
    [result] = answer.json()["results"]
    assert (result["status"], result["setStatusSuccessReason"]) == (
        "SUBSCRIBED",
        "REQUESTED_CHANGE_OCCURRED",
    )
    assert statuses_of(client, "f@example.com")[101] == "NOT_SPECIFIED"
    [logged] = client.get("/_emulator/writes").json()["writes"]
    assert logged["outcome"] == "not_applied"


def test_lying_unsubscribe_all(seeded: SyncClient) -> None:
    """A lying unsubscribe-all answers as done and opts nobody out."""
    _queue(seeded, "lie", "statuses.batch.unsubscribe_all")
    answer = seeded.post(
        f"{V}/statuses/batch/unsubscribe-all", params=EMAIL, json={"inputs": ["bob@example.com"]}
    )
    assert answer.json()["results"] == [{"subscriberIdString": "bob@example.com"}]
    assert statuses_of(seeded, "bob@example.com")[101] == "SUBSCRIBED"


def test_a_fault_only_hits_operations_it_fits(client: SyncClient) -> None:
    """'pending' waits for a batch call and 'lie' for a write; other calls pass untouched."""
    _queue(client, "pending")
    _queue(client, "lie")
    assert client.get(DEFINITIONS).status_code == 200
    queued = client.get("/_emulator/faults").json()["queued"]
    assert [q["kind"] for q in queued] == ["pending", "lie"]
    answer = client.post(
        BATCH_WRITE, json={"inputs": [write_input("f@example.com", 101, "SUBSCRIBED")]}
    )
    assert answer.json()["status"] == "PENDING"
    assert [q["kind"] for q in client.get("/_emulator/faults").json()["queued"]] == ["lie"]


def _codes(client: SyncClient, count: int) -> list[int]:
    return [client.get(DEFINITIONS).status_code for _ in range(count)]


def test_random_faults_are_deterministic_with_a_seed(emulator: Callable[..., SyncClient]) -> None:
    """The same fault_seed gives the same faults for the same requests."""
    settings: dict[str, Any] = {"fault_rate": 0.5, "faults": ("500", "503"), "fault_seed": 7}
    first = _codes(emulator(**settings), 30)
    second = _codes(emulator(**settings), 30)
    assert first == second
    assert set(first) == {200, 500, 503}


def test_another_seed_gives_other_faults(emulator: Callable[..., SyncClient]) -> None:
    """A different fault_seed changes the sequence."""
    first = _codes(emulator(fault_rate=0.5, faults=("500",), fault_seed=1), 30)
    second = _codes(emulator(fault_rate=0.5, faults=("500",), fault_seed=2), 30)
    assert first != second


def test_fault_rate_one_with_an_unfit_kind_changes_nothing(
    emulator: Callable[..., SyncClient],
) -> None:
    """Faults that do not fit the operation are never drawn for it."""
    client = emulator(fault_rate=1.0, faults=("lie",), fault_seed=3)
    assert _codes(client, 5) == [200] * 5


def test_fault_rate_one_hits_every_request(emulator: Callable[..., SyncClient]) -> None:
    """fault_rate 1 faults every request with one of the chosen kinds."""
    client = emulator(fault_rate=1.0, faults=("503",))
    assert _codes(client, 4) == [503] * 4


def _rate_headers(answer: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in answer.headers.items() if k.startswith("x-hubspot-ratelimit")}


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", f"{V}/nothing-here", 404), ("PUT", f"{V}/statuses/batch/read", 405)],
    ids=["unknown-path", "wrong-method"],
)
def test_unmatched_requests_count_and_carry_the_headers(
    emulator: Callable[..., SyncClient], method: str, path: str, status: int
) -> None:
    """An authenticated 404 or 405 uses a slot of the budget and says so in its headers."""
    client = emulator(rate_limit=5, rate_window_ms=60_000, daily_limit=100)
    client.get(DEFINITIONS)
    answer = client.request(method, path)
    assert answer.status_code == status
    assert _rate_headers(answer) == {
        "x-hubspot-ratelimit-max": "5",
        "x-hubspot-ratelimit-remaining": "3",
        "x-hubspot-ratelimit-interval-milliseconds": "60000",
        "x-hubspot-ratelimit-daily": "100",
        "x-hubspot-ratelimit-daily-remaining": "98",
    }
    assert client.get(DEFINITIONS).headers["X-HubSpot-RateLimit-Remaining"] == "2"


def test_unmatched_request_past_the_limit_is_429(emulator: Callable[..., SyncClient]) -> None:
    """Past the window's limit an unknown path is refused like any other request."""
    client = emulator(rate_limit=1, rate_window_ms=60_000, retry_after="auto")
    client.get(DEFINITIONS)
    refused = client.get(f"{V}/nothing-here")
    assert refused.status_code == 429
    assert (refused.json()["policyName"], refused.headers["Retry-After"]) == (
        "TEN_SECONDLY_ROLLING",
        "60",
    )
    counts = client.get("/_emulator/requests").json()["by_operation_status"]
    assert counts["unknown"] == {"429": 1}


def test_unmatched_request_without_a_token_is_not_counted(
    emulator: Callable[..., SyncClient],
) -> None:
    """Without a valid token an unknown path is a bare 404: no headers, no slot used."""
    client = emulator(rate_limit=5, rate_window_ms=60_000, auth=False)
    answer = client.get(f"{V}/nothing-here", headers={"Authorization": "Bearer wrong"})
    assert (answer.status_code, _rate_headers(answer)) == (404, {})
    first = client.get(DEFINITIONS, headers=AUTH)
    assert first.headers["X-HubSpot-RateLimit-Remaining"] == "4"


def test_a_429_carries_no_retry_after_by_default(emulator: Callable[..., SyncClient]) -> None:
    """No HubSpot source says a 429 carries Retry-After: by default the emulator sends none."""
    client = emulator(rate_limit=1, rate_window_ms=60_000)
    assert client.get(DEFINITIONS).status_code == 200
    refused = client.get(DEFINITIONS)
    assert refused.status_code == 429
    assert "Retry-After" not in refused.headers


def test_the_daily_cap_counts_per_portal_and_resets_at_the_portal_s_midnight(
    emulator: Callable[..., SyncClient],
) -> None:
    """Every token of the portal shares the day's budget, and the day is the portal's:
    23:30 UTC is already the next day in Berlin (UTC+1 in winter)."""
    seed = {
        "version": 1,
        "portal": {"id": 7, "time_zone": "Europe/Berlin"},
        "definitions": [{"id": "1", "name": "A"}],
        "tokens": [{"token": "tok-a", "scopes": "all"}, {"token": "tok-b", "scopes": "all"}],
    }
    client = emulator(seed=seed, daily_limit=2, auth=False)
    client.clock.wall = datetime(2026, 1, 10, 22, 30, tzinfo=UTC)  # 23:30 in Berlin
    a = {"Authorization": "Bearer tok-a"}
    b = {"Authorization": "Bearer tok-b"}
    assert client.get(DEFINITIONS, headers=a).status_code == 200
    assert client.get(DEFINITIONS, headers=b).status_code == 200
    refused = client.get(DEFINITIONS, headers=a)
    assert (refused.status_code, refused.json()["policyName"]) == (429, "DAILY")
    client.clock.advance(30 * 60)  # midnight in Berlin, 23:00 UTC
    assert client.get(DEFINITIONS, headers=b).status_code == 200
