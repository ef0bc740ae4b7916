"""The write log (GET /_emulator/writes): every write input that reached the emulator.

Inputs of calls refused as a whole (too many inputs, a bad body, no token, missing
scopes, the rate limit, an early fault) are logged as well as applied and failed ones,
each with the HTTP status its call got, whether it is applied, and the fault that hit it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from .helpers import SyncClient, V, write_input

EMAIL = {"channel": "EMAIL"}
BATCH_WRITE = f"{V}/statuses/batch/write"
UNSUBSCRIBE_ALL = f"{V}/statuses/batch/unsubscribe-all"


def _log(client: SyncClient) -> list[dict[str, Any]]:
    writes: list[dict[str, Any]] = client.get("/_emulator/writes").json()["writes"]
    return writes


def _short(entry: dict[str, Any]) -> tuple[Any, ...]:
    return (
        entry["call"],
        entry["operation"],
        entry["outcome"],
        entry["status"],
        entry["applied"],
        entry["fault"],
    )


def _queue(client: SyncClient, kind: str, operation: str) -> None:
    answer = client.post("/_emulator/faults", json={"kind": kind, "operation": operation})
    assert answer.status_code == 200


def _two_inputs() -> list[dict[str, Any]]:
    return [
        write_input("ann@example.com", 101, "SUBSCRIBED"),
        write_input("bob@example.com", 201, "UNSUBSCRIBED"),
    ]


def test_an_applied_input_is_logged_in_full(client: SyncClient) -> None:
    """An applied batch-write input: every field of its entry."""
    item = write_input("ann@example.com", 101, "SUBSCRIBED")
    client.post(BATCH_WRITE, json={"inputs": [item]})
    [entry] = _log(client)
    assert entry.pop("at").endswith("Z")
    assert entry == {
        "seq": 1,
        "operation": "statuses.batch.write",
        "version": "2026-03",
        "brand": 0,
        "input": item,
        "outcome": "applied",
        "detail": "REQUESTED_CHANGE_OCCURRED",
        "call": 1,
        "status": 200,
        "applied": True,
        "fault": None,
    }


def test_a_500_and_the_retry_are_both_logged(client: SyncClient) -> None:
    """After an injected 500 the log shows what was sent, refused, then re-sent and applied."""
    _queue(client, "500", "statuses.batch.write")
    inputs = _two_inputs()
    assert client.post(BATCH_WRITE, json={"inputs": inputs}).status_code == 500
    assert client.post(BATCH_WRITE, json={"inputs": inputs}).status_code == 200
    log = _log(client)
    assert [_short(e) for e in log] == [
        (1, "statuses.batch.write", "refused", 500, False, "500"),
        (1, "statuses.batch.write", "refused", 500, False, "500"),
        (2, "statuses.batch.write", "applied", 200, True, None),
        (2, "statuses.batch.write", "applied", 200, True, None),
    ]
    assert [e["input"] for e in log] == inputs + inputs
    assert [e["brand"] for e in log] == [0, 5, 0, 5]
    assert log[0]["detail"] == "internal error (injected fault)"


@pytest.mark.parametrize(
    ("kind", "status", "detail"),
    [
        ("502", 502, "HTTP 502 (text/html)"),
        ("503", 503, "The service is temporarily unavailable (injected fault)"),
        ("429", 429, "You have reached your ten_secondly_rolling limit."),
    ],
)
def test_early_faults_log_the_inputs_as_refused(
    client: SyncClient, kind: str, status: int, detail: str
) -> None:
    """502, 503 and an out-of-turn 429 come before any work: inputs logged as refused."""
    _queue(client, kind, "statuses.batch.unsubscribe_all")
    answer = client.post(UNSUBSCRIBE_ALL, params=EMAIL, json={"inputs": ["ann@example.com"]})
    assert answer.status_code == status
    [entry] = _log(client)
    assert _short(entry) == (1, "statuses.batch.unsubscribe_all", "refused", status, False, kind)
    assert (entry["input"], entry["brand"], entry["detail"]) == ("ann@example.com", 0, detail)


@pytest.mark.parametrize(
    ("kind", "status", "outcome", "applied"),
    [
        ("504", 504, "applied", True),
        ("pending", 200, "applied", True),
        ("slow", 200, "applied", True),
        ("lie", 200, "not_applied", False),
    ],
)
def test_late_faults_log_what_stuck(
    emulator: Callable[..., SyncClient], kind: str, status: int, outcome: str, applied: bool
) -> None:
    """504, pending and slow come after the work (applied); the lie never applies it."""
    client = emulator(slow_ms=0)
    _queue(client, kind, "statuses.batch.write")
    client.post(BATCH_WRITE, json={"inputs": [write_input("ann@example.com", 101, "SUBSCRIBED")]})
    [entry] = _log(client)
    assert _short(entry) == (1, "statuses.batch.write", outcome, status, applied, kind)


def test_a_dropped_answer_keeps_the_status_it_was_sending(client: SyncClient) -> None:
    """The drop fault: the write is applied, the log says 200 and the fault "drop"."""
    _queue(client, "drop", "statuses.batch.write")
    with pytest.raises(httpx.RemoteProtocolError):
        client.post(
            BATCH_WRITE, json={"inputs": [write_input("ann@example.com", 101, "SUBSCRIBED")]}
        )
    [entry] = _log(client)
    assert _short(entry) == (1, "statuses.batch.write", "applied", 200, True, "drop")


def test_over_the_batch_limit_every_input_is_logged(emulator: Callable[..., SyncClient]) -> None:
    """Too many inputs: a 400, and each input logged as refused with the reason."""
    client = emulator(batch_limit=1)
    inputs = _two_inputs()
    assert client.post(BATCH_WRITE, json={"inputs": inputs}).status_code == 400
    log = _log(client)
    assert [(e["input"], e["outcome"], e["status"]) for e in log] == [
        (inputs[0], "refused", 400),
        (inputs[1], "refused", 400),
    ]
    assert log[0]["detail"] == "Too many inputs: 2 were sent and at most 1 are allowed"


def test_a_wrong_type_refuses_and_logs_every_input(client: SyncClient) -> None:
    """A wrong type in one input fails the whole call; every input is logged as refused."""
    inputs = [*_two_inputs(), {**write_input("cy@example.com", 101, "SUBSCRIBED"), "channel": 7}]
    assert client.post(BATCH_WRITE, json={"inputs": inputs}).status_code == 400
    log = _log(client)
    assert [(e["input"], e["outcome"], e["applied"]) for e in log] == [
        (item, "refused", False) for item in inputs
    ]
    assert log[0]["detail"] == "The field 'inputs[2].channel' must be a string"


def test_a_body_that_is_not_json_is_logged_as_text(client: SyncClient) -> None:
    """Malformed JSON: one entry whose input is the body as received."""
    answer = client.post(
        BATCH_WRITE, content=b'{"inputs": [', headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 400
    [entry] = _log(client)
    assert (entry["input"], entry["outcome"], entry["status"], entry["brand"]) == (
        '{"inputs": [',
        "refused",
        400,
        None,
    )


def test_a_body_without_inputs_is_logged_whole(client: SyncClient) -> None:
    """A batch body without an inputs list is logged as one input: the body."""
    assert client.post(BATCH_WRITE, json={"items": []}).status_code == 400
    [entry] = _log(client)
    assert (entry["input"], entry["detail"]) == ({"items": []}, "The field 'inputs' is required")


def test_auth_refusals_are_logged(emulator: Callable[..., SyncClient]) -> None:
    """No token (401) and a token without the write scope (403): inputs logged as refused."""
    seed = {
        "version": 1,
        "portal": {"id": 9, "gdpr": False},
        "brands": [{"id": 0, "name": "Account"}],
        "definitions": [{"id": "101", "business_unit": 0, "name": "News"}],
        "tokens": [{"token": "ro", "name": "ro", "scopes": ["communication_preferences.read"]}],
    }
    client = emulator(seed=seed, auth=False)
    item = write_input("ann@example.com", 101, "UNSUBSCRIBED")
    assert client.post(BATCH_WRITE, json={"inputs": [item]}).status_code == 401
    forbidden = client.post(
        BATCH_WRITE, json={"inputs": [item]}, headers={"Authorization": "Bearer ro"}
    )
    assert forbidden.status_code == 403
    assert [(e["call"], e["status"], e["outcome"], e["input"]) for e in _log(client)] == [
        (1, 401, "refused", item),
        (2, 403, "refused", item),
    ]


def test_the_rate_limit_refusal_is_logged(emulator: Callable[..., SyncClient]) -> None:
    """A write refused by the rate limit: its input is logged with status 429, no fault."""
    client = emulator(rate_limit=1, rate_window_ms=60_000)
    client.get(f"{V}/definitions")
    item = write_input("ann@example.com", 101, "UNSUBSCRIBED")
    assert client.post(BATCH_WRITE, json={"inputs": [item]}).status_code == 429
    [entry] = _log(client)
    assert _short(entry) == (1, "statuses.batch.write", "refused", 429, False, None)
    assert entry["detail"] == "You have reached your ten_secondly_rolling limit."


def test_a_refused_single_write_names_the_path_subscriber(client: SyncClient) -> None:
    """POST /statuses/{id} refused early: the input is the path subscriber plus the body."""
    _queue(client, "503", "statuses.write")
    body = {"subscriptionId": 101, "statusState": "UNSUBSCRIBED", "channel": "EMAIL"}
    assert client.post(f"{V}/statuses/Ann%40Example.com", json=body).status_code == 503
    [entry] = _log(client)
    assert (entry["input"], entry["brand"], entry["status"]) == (
        {"subscriberIdString": "Ann@Example.com", **body},
        0,
        503,
    )


def test_a_single_write_failing_on_its_input_stays_failed(client: SyncClient) -> None:
    """A single write refused for its value is "failed" (not "refused"), status 400."""
    body = {"subscriptionId": 999, "statusState": "UNSUBSCRIBED", "channel": "EMAIL"}
    assert client.post(f"{V}/statuses/ann@example.com", json=body).status_code == 400
    [entry] = _log(client)
    assert (entry["outcome"], entry["status"], entry["applied"], entry["detail"]) == (
        "failed",
        400,
        False,
        "Subscription 999 does not exist in portal 12345678",
    )


def test_a_refused_single_unsubscribe_all_logs_the_path_email(client: SyncClient) -> None:
    """POST /statuses/{id}/unsubscribe-all without channel: 400, the path email logged."""
    answer = client.post(f"{V}/statuses/ann@example.com/unsubscribe-all?businessUnitId=5")
    assert answer.status_code == 400
    [entry] = _log(client)
    assert (entry["operation"], entry["input"], entry["brand"], entry["outcome"]) == (
        "statuses.unsubscribe_all",
        "ann@example.com",
        5,
        "refused",
    )


def test_a_refused_v3_write_logs_its_body(client: SyncClient) -> None:
    """v3 subscribe refused by an early fault: the body is the input, brand from the id."""
    _queue(client, "500", "v3.subscribe")
    body = {"emailAddress": "ann@example.com", "subscriptionId": "201"}
    response = client.post("/communication-preferences/v3/subscribe", json=body)
    assert response.status_code == 500
    [entry] = _log(client)
    assert (entry["operation"], entry["input"], entry["brand"]) == ("v3.subscribe", body, 5)


def test_reads_are_never_logged(client: SyncClient) -> None:
    """Refused or not, read calls leave the write log empty."""
    client.post(f"{V}/statuses/batch/read", json={"inputs": ["ann@example.com"]})
    client.get(f"{V}/statuses/ann@example.com", params=EMAIL)
    assert _log(client) == []


def test_text_json_cannot_carry_as_utf8_is_logged_escaped(client: SyncClient) -> None:
    """A lone surrogate in an input is logged as a visible escape; the log still answers."""
    answer = client.post(
        UNSUBSCRIBE_ALL,
        params=EMAIL,
        content=b'{"inputs": ["\\ud800@b.com"]}',
        headers={"Content-Type": "application/json"},
    )
    assert answer.status_code == 200
    [entry] = _log(client)
    assert (entry["input"], entry["outcome"]) == ("\\ud800@b.com", "failed")


def test_clearing_the_log_restarts_the_call_numbers(client: SyncClient) -> None:
    """DELETE /_emulator/writes empties the log; the next call is call 1 again."""
    item = write_input("ann@example.com", 101, "UNSUBSCRIBED")
    client.post(BATCH_WRITE, json={"inputs": [item]})
    client.delete("/_emulator/writes")
    client.post(BATCH_WRITE, json={"inputs": [item]})
    assert [(e["seq"], e["call"]) for e in _log(client)] == [(1, 1)]
