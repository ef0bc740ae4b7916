"""Batch writes and unsubscribe-all over hand-built answers: one result per input."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any

import httpx
import pytest

from reconciler.client._parse import mentioned
from reconciler.errors import AuthError, RateLimitError, ScopeError, UsageError
from reconciler.model import (
    LiveStatus,
    Outcome,
    PairKey,
    Status,
    StatusWrite,
    SubscriberKey,
    WriteResult,
)

from .conftest import (
    PREFIX,
    FakeHubSpot,
    FakeTime,
    envelope,
    error_body,
    make_client,
    public_status,
    reply,
    run,
    standard_error,
)

WRITE = f"POST {PREFIX}/statuses/batch/write"
OPT_OUT = f"POST {PREFIX}/statuses/batch/unsubscribe-all"
CID = "aeb5f871-7f07-4993-9211-075dc63e7cbf"


def _w(email: str, sub: str, status: Status = Status.SUBSCRIBED, **kw: Any) -> StatusWrite:
    return StatusWrite(0, email, sub, status, **kw)


def _write(server: FakeHubSpot, writes: Sequence[StatusWrite], **kw: Any) -> list[WriteResult]:
    async def go() -> list[WriteResult]:
        async with make_client(server, **kw) as client:
            return await client.write(writes)

    return run(go())


def _opt_out(server: FakeHubSpot, keys: Sequence[SubscriberKey], **kw: Any) -> list[WriteResult]:
    async def go() -> list[WriteResult]:
        async with make_client(server, **kw) as client:
            return await client.unsubscribe_all(keys)

    return run(go())


def echo_writes(request: httpx.Request) -> httpx.Response:
    """Confirms every input, as HubSpot does when all goes well."""
    inputs = json.loads(request.content)["inputs"]
    results = [
        public_status(
            i["subscriberIdString"],
            i["subscriptionId"],
            i["statusState"],
            setStatusSuccessReason="REQUESTED_CHANGE_OCCURRED",
        )
        for i in inputs
    ]
    return reply(200, envelope(results))


def test_write_body_has_integer_ids_and_channel() -> None:
    """Inputs carry subscriptionId as an integer, statusState and channel EMAIL."""
    server = FakeHubSpot(echo_writes)
    _write(server, [_w("a@example.com", "101", Status.UNSUBSCRIBED)])
    assert server.paths() == [WRITE]
    assert server.seen[0].params == {}
    assert server.seen[0].body == {
        "inputs": [
            {
                "subscriberIdString": "a@example.com",
                "subscriptionId": 101,
                "statusState": "UNSUBSCRIBED",
                "channel": "EMAIL",
            }
        ]
    }


def test_write_body_carries_legal_basis_only_when_set() -> None:
    """legalBasis and its explanation are sent when the write has them."""
    server = FakeHubSpot(echo_writes)
    _write(
        server,
        [
            _w(
                "a@example.com",
                "101",
                legal_basis="CONSENT_WITH_NOTICE",
                legal_basis_explanation="Signed up at the fair",
            ),
            _w("b@example.com", "101"),
        ],
    )
    first, second = server.seen[0].body["inputs"]
    assert first["legalBasis"] == "CONSENT_WITH_NOTICE"
    assert first["legalBasisExplanation"] == "Signed up at the fair"
    assert "legalBasis" not in second
    assert "legalBasisExplanation" not in second


def test_confirmed_write_carries_reason_and_status() -> None:
    """A listed input is CONFIRMED with setStatusSuccessReason and the returned status."""
    write = _w("a@example.com", "101")
    [result] = _write(FakeHubSpot(echo_writes), [write])
    key = PairKey(0, "a@example.com", "101")
    assert result.outcome is Outcome.CONFIRMED
    assert result.reason == "REQUESTED_CHANGE_OCCURRED"
    assert result.target == write
    assert result.error is None
    assert [s.key for s in result.statuses] == [key]
    assert result.statuses[0].status is Status.SUBSCRIBED


def test_write_chunks_keep_input_order() -> None:
    """Five writes in batches of two: three calls, inputs in order, results in order."""
    writes = [_w(f"p{i}@example.com", str(100 + i)) for i in range(5)]
    server = FakeHubSpot(echo_writes)
    results = _write(server, writes, batch_size=2)
    assert server.paths() == [WRITE] * 3
    sent = [i["subscriberIdString"] for s in server.seen for i in s.body["inputs"]]
    assert sorted(sent) == sorted(w.email for w in writes)
    for seen in server.seen:
        emails = [i["subscriberIdString"] for i in seen.body["inputs"]]
        assert emails in (
            ["p0@example.com", "p1@example.com"],
            ["p2@example.com", "p3@example.com"],
            ["p4@example.com"],
        )
    assert [r.target for r in results] == writes
    assert {r.outcome for r in results} == {Outcome.CONFIRMED}


def test_no_writes_make_no_call() -> None:
    """An empty write list sends nothing."""
    server = FakeHubSpot()
    assert _write(server, []) == []
    assert server.seen == []


def test_error_naming_email_and_id_fails_that_input() -> None:
    """An error whose context names the email and subscription id marks that input FAILED."""
    a, b = _w("a@example.com", "101"), _w("b@example.com", "101")

    def handle(request: httpx.Request) -> httpx.Response:
        error = standard_error(
            "Invalid subscription",
            context={"subscriberIdString": ["b@example.com"], "subscriptionId": ["101"]},
        )
        results = [public_status("a@example.com", 101, setStatusSuccessReason="NO_STATUS_CHANGE")]
        return reply(
            207,
            envelope(results, errors=[error], numErrors=1),
            headers={"X-HubSpot-Correlation-Id": CID},
        )

    ra, rb = _write(FakeHubSpot(handle), [a, b])
    assert ra.outcome is Outcome.CONFIRMED
    assert ra.reason == "NO_STATUS_CHANGE"
    assert rb == WriteResult(
        b, Outcome.FAILED, error="VALIDATION_ERROR: Invalid subscription", correlation_id=CID
    )


def test_200_error_naming_input_in_its_message_fails_it() -> None:
    """200 with errors[] whose message names the input marks it FAILED."""
    a = _w("a@example.com", "101")
    b = _w("b@example.com", "202")

    def handle(request: httpx.Request) -> httpx.Response:
        error = standard_error("Cannot resubscribe b@example.com to 202 without legal basis")
        results = [public_status("a@example.com", 101)]
        return reply(200, envelope(results, errors=[error], numErrors=1))

    ra, rb = _write(FakeHubSpot(handle), [a, b])
    assert ra.outcome is Outcome.CONFIRMED
    assert rb.outcome is Outcome.FAILED
    assert rb.error == (
        "VALIDATION_ERROR: Cannot resubscribe b@example.com to 202 without legal basis"
    )


def test_error_naming_no_input_leaves_absent_inputs_unconfirmed() -> None:
    """An error that names nobody: absent inputs are UNCONFIRMED, carrying its text."""
    a, b = _w("a@example.com", "101"), _w("b@example.com", "101")

    def handle(request: httpx.Request) -> httpx.Response:
        error = standard_error("Something went wrong", category="INTERNAL_ERROR")
        return reply(
            200, envelope([public_status("a@example.com", 101)], errors=[error], numErrors=1)
        )

    ra, rb = _write(FakeHubSpot(handle), [a, b])
    assert ra.outcome is Outcome.CONFIRMED
    assert rb == WriteResult(b, Outcome.UNCONFIRMED, error="INTERNAL_ERROR: Something went wrong")


def test_error_naming_only_the_email_of_two_inputs_fails_neither() -> None:
    """If the error names the subscriber but not which subscription, both stay unconfirmed."""
    a1, a2 = _w("a@example.com", "101"), _w("a@example.com", "202")

    def handle(request: httpx.Request) -> httpx.Response:
        error = standard_error("Contact a@example.com is blocked")
        return reply(200, envelope([], errors=[error], numErrors=1))

    results = _write(FakeHubSpot(handle), [a1, a2])
    assert [r.outcome for r in results] == [Outcome.UNCONFIRMED, Outcome.UNCONFIRMED]
    assert {r.error for r in results} == {"VALIDATION_ERROR: Contact a@example.com is blocked"}


def test_error_naming_a_longer_address_does_not_name_a_shorter_one() -> None:
    """'a@example.com' is not named by an error about 'aa@example.com'."""
    a = _w("a@example.com", "101")

    def handle(request: httpx.Request) -> httpx.Response:
        return reply(200, envelope([], errors=[standard_error("bad: aa@example.com 101")]))

    [result] = _write(FakeHubSpot(handle), [a])
    assert result.outcome is Outcome.UNCONFIRMED


def test_absent_input_without_errors_is_unconfirmed() -> None:
    """An input missing from results, with no error at all, is UNCONFIRMED."""
    a = _w("a@example.com", "101")
    [result] = _write(FakeHubSpot(lambda r: reply(200, envelope([]))), [a])
    assert result == WriteResult(a, Outcome.UNCONFIRMED, error="not listed in HubSpot's results")


def test_pending_envelope_leaves_every_input_unconfirmed() -> None:
    """PENDING results are not final, even when they list the input."""
    a = _w("a@example.com", "101")

    def handle(request: httpx.Request) -> httpx.Response:
        return reply(200, envelope([public_status("a@example.com", 101)], status="PROCESSING"))

    [result] = _write(FakeHubSpot(handle), [a])
    assert result == WriteResult(
        a, Outcome.UNCONFIRMED, error="HubSpot answered PROCESSING: the results are not final"
    )


def test_write_result_with_nulls_is_still_confirmed() -> None:
    """A result with null optional fields confirms its input."""
    a = _w("a@example.com", "101")

    def handle(request: httpx.Request) -> httpx.Response:
        item = public_status(
            "a@example.com",
            101,
            source=None,
            timestamp=None,
            setStatusSuccessReason=None,
            businessUnitId=None,
            legalBasis=None,
        )
        return reply(200, envelope([item], errors=None, numErrors=None, links=None))

    [result] = _write(FakeHubSpot(handle), [a])
    assert result.outcome is Outcome.CONFIRMED
    assert result.reason is None
    assert result.statuses == (LiveStatus(PairKey(0, "a@example.com", "101"), Status.SUBSCRIBED),)


def test_whole_call_failure_after_retries_is_unconfirmed_not_raised() -> None:
    """5xx until retries run out: each input UNCONFIRMED with the error and correlationId."""
    a, b = _w("a@example.com", "101"), _w("b@example.com", "101")
    server = FakeHubSpot(lambda r: reply(503, error_body("INTERNAL_ERROR", "try later")))
    results = _write(server, [a, b], max_attempts=3)
    assert len(server.seen) == 3
    message = (
        f"{WRITE} failed after 3 attempts: HubSpot answered 503 Service Unavailable: "
        "INTERNAL_ERROR: try later"
    )
    assert results == [
        WriteResult(a, Outcome.UNCONFIRMED, error=message, correlation_id=CID),
        WriteResult(b, Outcome.UNCONFIRMED, error=message, correlation_id=CID),
    ]


def test_dropped_connections_after_retries_are_unconfirmed() -> None:
    """No answer at all: the inputs may or may not have been applied."""
    a = _w("a@example.com", "101")
    server = FakeHubSpot(lambda r: httpx.RemoteProtocolError("Server disconnected"))
    [result] = _write(server, [a], max_attempts=2)
    assert result.outcome is Outcome.UNCONFIRMED
    assert result.error == (
        f"{WRITE} failed after 2 attempts: no answer from HubSpot "
        "(RemoteProtocolError: Server disconnected)"
    )


def test_validation_error_fails_every_input_of_the_batch() -> None:
    """400: HubSpot refused the batch, so its inputs are FAILED with HubSpot's message."""
    a = _w("a@example.com", "101")
    server = FakeHubSpot(
        lambda r: reply(400, error_body("VALIDATION_ERROR", "Invalid input JSON on line 1"))
    )
    [result] = _write(server, [a])
    assert len(server.seen) == 1
    assert result == WriteResult(
        a,
        Outcome.FAILED,
        error=f"{WRITE} was refused: HubSpot answered 400 Bad Request: "
        "VALIDATION_ERROR: Invalid input JSON on line 1",
        correlation_id=CID,
    )


def test_auth_error_stops_writes() -> None:
    """401 raises: nothing else can succeed with this token."""
    server = FakeHubSpot(lambda r: reply(401, error_body("INVALID_AUTHENTICATION", "bad token")))
    with pytest.raises(AuthError):
        _write(server, [_w("a@example.com", "101")])


def test_scope_error_stops_writes() -> None:
    """403 raises with the missing scope named."""
    body = error_body("MISSING_SCOPES", "missing", context={"requiredGranularScopes": ["x.write"]})
    with pytest.raises(ScopeError) as caught:
        _write(FakeHubSpot(lambda r: reply(403, body)), [_w("a@example.com", "101")])
    assert caught.value.missing_scopes == ("x.write",)


def test_daily_limit_stops_writes_without_retrying() -> None:
    """A DAILY 429 raises at once."""
    body = error_body("RATE_LIMITS", "daily", errorType="RATE_LIMIT", policyName="DAILY")
    server = FakeHubSpot(lambda r: reply(429, body))
    with pytest.raises(RateLimitError) as caught:
        _write(server, [_w("a@example.com", "101")])
    assert caught.value.policy_name == "DAILY"
    assert len(server.seen) == 1


def test_non_numeric_subscription_id_is_refused_before_sending() -> None:
    """A write whose id is a name, not a number, is a usage error and nothing is sent."""
    server = FakeHubSpot()
    with pytest.raises(UsageError, match=r"subscription id 'newsletter' of a@example\.com"):
        _write(server, [_w("a@example.com", "newsletter")])
    assert server.seen == []


def test_write_progress_counts_inputs() -> None:
    """on_progress adds up to the number of writes."""
    calls: list[int] = []
    writes = [_w(f"p{i}@example.com", "101") for i in range(5)]
    _write(FakeHubSpot(echo_writes), writes, batch_size=2, on_progress=calls.append)
    assert sorted(calls) == [1, 2, 2]


# -- unsubscribe-all ------------------------------------------------------------------


def echo_opt_outs(request: httpx.Request) -> httpx.Response:
    inputs = json.loads(request.content)["inputs"]
    brand = int(request.url.params["businessUnitId"])
    results = [
        {
            "subscriberIdString": e,
            "statuses": [
                public_status(
                    e,
                    101,
                    "UNSUBSCRIBED",
                    businessUnitId=brand,
                    setStatusSuccessReason="UNSUBSCRIBE_FROM_ALL_OCCURRED",
                )
            ],
        }
        for e in inputs
    ]
    return reply(200, envelope(results))


def test_unsubscribe_all_groups_by_brand_with_emails_as_inputs() -> None:
    """One call per brand chunk; body is {"inputs": [emails]}; results in input order."""
    keys = [
        SubscriberKey(0, "a@example.com"),
        SubscriberKey(5, "b@example.com"),
        SubscriberKey(0, "c@example.com"),
    ]
    server = FakeHubSpot(echo_opt_outs)
    results = _opt_out(server, keys)
    assert server.paths() == [OPT_OUT, OPT_OUT]
    calls = {s.params["businessUnitId"]: (s.params, s.body) for s in server.seen}
    assert calls["0"] == (
        {"channel": "EMAIL", "businessUnitId": "0", "verbose": "true"},
        {"inputs": ["a@example.com", "c@example.com"]},
    )
    assert calls["5"][1] == {"inputs": ["b@example.com"]}
    assert [r.target for r in results] == keys
    assert [r.outcome for r in results] == [Outcome.CONFIRMED] * 3
    assert results[1].reason == "UNSUBSCRIBE_FROM_ALL_OCCURRED"
    assert results[1].statuses[0].key == PairKey(5, "b@example.com", "101")


def test_unsubscribe_all_chunks_per_brand() -> None:
    """Three subscribers of one brand in batches of two take two calls."""
    keys = [SubscriberKey(0, f"p{i}@example.com") for i in range(3)]
    server = FakeHubSpot(echo_opt_outs)
    _opt_out(server, keys, batch_size=2)
    assert [len(s.body["inputs"]) for s in server.seen] == [2, 1]


def test_unsubscribe_all_sends_a_repeated_subscriber_once() -> None:
    """The same subscriber twice is one input; both get its result."""
    keys = [SubscriberKey(0, "a@example.com"), SubscriberKey(0, "A@example.com")]
    server = FakeHubSpot(echo_opt_outs)
    results = _opt_out(server, keys)
    assert server.seen[0].body == {"inputs": ["a@example.com"]}
    assert [r.target for r in results] == keys
    assert [r.outcome for r in results] == [Outcome.CONFIRMED, Outcome.CONFIRMED]


def test_unsubscribe_all_error_naming_the_email_fails_it() -> None:
    """An error naming an address marks that subscriber FAILED; an absent one UNCONFIRMED."""
    keys = [
        SubscriberKey(0, "a@example.com"),
        SubscriberKey(0, "b@example.com"),
        SubscriberKey(0, "c@example.com"),
    ]

    def handle(request: httpx.Request) -> httpx.Response:
        detail = {"message": "not a contact", "context": {"emails": ["b@example.com"]}}
        error = standard_error("Some inputs failed", errors=[detail])
        results = [{"subscriberIdString": "a@example.com", "statuses": None}]
        return reply(200, envelope(results, errors=[error], numErrors=1))

    ra, rb, rc = _opt_out(FakeHubSpot(handle), keys)
    assert ra == WriteResult(keys[0], Outcome.CONFIRMED)
    assert rb == WriteResult(
        keys[1], Outcome.FAILED, error="VALIDATION_ERROR: Some inputs failed (not a contact)"
    )
    assert rc == WriteResult(keys[2], Outcome.UNCONFIRMED, error="not listed in HubSpot's results")


def test_unsubscribe_all_pending_is_unconfirmed() -> None:
    """A PENDING unsubscribe-all answer confirms nobody."""
    key = SubscriberKey(0, "a@example.com")

    def handle(request: httpx.Request) -> httpx.Response:
        return reply(200, envelope([{"subscriberIdString": "a@example.com"}], status="PENDING"))

    [result] = _opt_out(FakeHubSpot(handle), [key])
    assert result.outcome is Outcome.UNCONFIRMED


def test_unsubscribe_all_whole_call_failure_is_returned() -> None:
    """A timeout on every attempt returns UNCONFIRMED results instead of raising."""
    key = SubscriberKey(0, "a@example.com")
    server = FakeHubSpot(lambda r: httpx.ReadTimeout("timed out"))
    [result] = _opt_out(server, [key], max_attempts=2)
    assert result.outcome is Outcome.UNCONFIRMED
    assert result.error is not None and "ReadTimeout" in result.error


def _stopping(stop: asyncio.Event) -> FakeHubSpot:
    """Answers like echo_writes, and sets ``stop`` while answering the first call."""

    def handler(request: httpx.Request) -> httpx.Response:
        stop.set()
        if request.url.path.endswith("/unsubscribe-all"):
            emails = json.loads(request.content)["inputs"]
            return reply(200, envelope([public_status(e, 101, "UNSUBSCRIBED") for e in emails]))
        return echo_writes(request)

    return FakeHubSpot(handler)


def _write_until(
    server: FakeHubSpot, stop: asyncio.Event, writes: Sequence[StatusWrite], **kw: Any
) -> list[Outcome]:
    async def go() -> list[Outcome]:
        async with make_client(server, **kw) as client:
            return [r.outcome for r in await client.write(writes, stop=stop)]

    return run(go())


def test_stop_set_before_writing_sends_nothing() -> None:
    """With stop already set, no call leaves and every input comes back NOT_SENT."""
    stop = asyncio.Event()
    stop.set()
    server = FakeHubSpot()
    writes = [_w(f"p{i}@example.com", "101") for i in range(3)]
    assert _write_until(server, stop, writes) == [Outcome.NOT_SENT] * 3
    assert server.seen == []


def test_stop_lets_the_call_in_flight_finish_and_sends_no_more() -> None:
    """One call at a time: the call answering when stop is set is confirmed, the rest wait."""
    stop = asyncio.Event()
    server = _stopping(stop)
    writes = [_w(f"p{i}@example.com", "101") for i in range(6)]
    outcomes = _write_until(server, stop, writes, batch_size=2, concurrency=1)
    assert outcomes == [Outcome.CONFIRMED] * 2 + [Outcome.NOT_SENT] * 4
    assert server.paths() == [WRITE]


def test_stop_set_while_a_call_waits_for_the_rate_limit_keeps_it_unsent() -> None:
    """A call that was waiting for the budget when stop was set is not sent after all."""
    stop = asyncio.Event()

    class StopWhileWaiting(FakeTime):
        async def sleep(self, seconds: float) -> None:
            stop.set()  # Ctrl-C arrives while the second call waits for the window
            await super().sleep(seconds)

    server = FakeHubSpot(echo_writes)
    writes = [_w(f"p{i}@example.com", "101") for i in range(4)]
    outcomes = _write_until(
        server, stop, writes, time=StopWhileWaiting(), batch_size=2, rate_limit=1
    )
    assert outcomes == [Outcome.CONFIRMED] * 2 + [Outcome.NOT_SENT] * 2
    assert server.paths() == [WRITE]


def test_stop_applies_to_unsubscribe_all() -> None:
    """Unsubscribe-all calls not yet sent when stop is set come back NOT_SENT."""
    stop = asyncio.Event()
    server = _stopping(stop)
    keys = [SubscriberKey(0, f"p{i}@example.com") for i in range(3)]

    async def go() -> list[Outcome]:
        async with make_client(server, batch_size=1, concurrency=1) as client:
            return [r.outcome for r in await client.unsubscribe_all(keys, stop=stop)]

    assert run(go()) == [Outcome.CONFIRMED, Outcome.NOT_SENT, Outcome.NOT_SENT]
    assert server.paths() == [OPT_OUT]


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("Invalid email A@B.CO for subscription 101", {"a@b.co"}),
        ("a@b.c and a@b.co both failed", {"a@b.c", "a@b.co"}),
        ("xa@b.c is not a@b.cd", set()),
        ("<a@b.c>: unknown subscription", {"a@b.c"}),
        ("nothing about anyone", set()),
    ],
)
def test_an_error_names_an_input_only_as_a_whole_address(text: str, named: set[str]) -> None:
    """One pattern per answer finds every input an error names, and no look-alike."""
    assert mentioned([text], ["a@b.c", "a@b.co", "c@d.e"]) == [named]


def test_an_answer_without_errors_builds_no_pattern() -> None:
    """No error, nothing to search: the common case costs nothing."""
    assert mentioned([], ["a@b.c"]) == []
