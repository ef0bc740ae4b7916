"""Writes whose first attempt may have reached HubSpot, and writes stopped between attempts.

A call's attempts are not alike: a 429 and a connection that was never made leave
nothing behind, while a 5xx, a timeout or a dropped connection may follow a request that
HubSpot applied. What the client reports for a call that later fails or is stopped
depends on that, over hand-built answers and a fake clock (nothing waits).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import httpx
import pytest

from reconciler.client import HubSpotClient, RateLimiter, RetryPolicy
from reconciler.client._http import _until_stopped, may_have_reached
from reconciler.errors import AuthError, RateLimitError
from reconciler.model import Outcome, Status, StatusWrite, SubscriberKey, WriteResult

from .conftest import (
    PREFIX,
    FakeHubSpot,
    FakeTime,
    Reply,
    envelope,
    error_body,
    make_client,
    make_settings,
    public_status,
    reply,
    run,
)

WRITE = f"POST {PREFIX}/statuses/batch/write"
OPT_OUT = f"POST {PREFIX}/statuses/batch/unsubscribe-all"
CID = "aeb5f871-7f07-4993-9211-075dc63e7cbf"
EARLIER = "may have been applied by an earlier attempt"
A = StatusWrite(0, "a@example.com", "101", Status.UNSUBSCRIBED)
B = StatusWrite(0, "b@example.com", "101", Status.UNSUBSCRIBED)

ROLLING_429 = error_body(
    "RATE_LIMITS", "Too many requests", errorType="RATE_LIMIT", policyName="TEN_SECONDLY_ROLLING"
)
DAILY_429 = error_body("RATE_LIMITS", "daily", errorType="RATE_LIMIT", policyName="DAILY")
SERVER_503 = error_body("INTERNAL_ERROR", "try later")
GATEWAY_504 = error_body("INTERNAL_ERROR", "gateway timeout")
INVALID_400 = error_body("VALIDATION_ERROR", "Invalid input JSON on line 1")


def _confirm(request: httpx.Request) -> httpx.Response:
    inputs = json.loads(request.content)["inputs"]
    if request.url.path.endswith("/unsubscribe-all"):
        return reply(200, envelope([public_status(e, 101, "UNSUBSCRIBED") for e in inputs]))
    results = [
        public_status(i["subscriberIdString"], i["subscriptionId"], i["statusState"])
        for i in inputs
    ]
    return reply(200, envelope(results))


def _answers(*replies: Reply, stop: asyncio.Event | None = None, stop_at: int = 0) -> FakeHubSpot:
    """Answers the given replies in turn (then confirms), setting ``stop`` while
    answering request number ``stop_at`` (1-based; 0 never)."""
    queue = list(replies)

    def handle(request: httpx.Request) -> httpx.Response:
        if stop is not None and len(server.seen) == stop_at:
            stop.set()
        answer = queue.pop(0) if queue else _confirm(request)
        if isinstance(answer, Exception):
            raise answer
        return answer

    server = FakeHubSpot(handle)
    return server


def _write(
    server: FakeHubSpot,
    writes: Sequence[StatusWrite],
    *,
    stop: asyncio.Event | None = None,
    time: FakeTime | None = None,
    **kw: Any,
) -> list[WriteResult]:
    async def go() -> list[WriteResult]:
        async with make_client(server, time=time, **kw) as client:
            return await client.write(writes, stop=stop)

    return run(go())


def _opt_out(
    server: FakeHubSpot, keys: Sequence[SubscriberKey], *, stop: asyncio.Event | None = None
) -> list[WriteResult]:
    async def go() -> list[WriteResult]:
        async with make_client(server) as client:
            return await client.unsubscribe_all(keys, stop=stop)

    return run(go())


# -- which attempts may have reached HubSpot ----------------------------------------


@pytest.mark.parametrize(
    ("code", "reached"),
    [(429, False), (400, False), (404, False), (500, True), (502, True), (504, True)],
)
def test_an_error_answer_may_have_been_applied_only_when_it_is_a_5xx(
    code: int, reached: bool
) -> None:
    """A 5xx may follow applied work; a 429 or another 4xx says nothing was done."""
    assert may_have_reached(httpx.Response(code), None) is reached


@pytest.mark.parametrize(
    ("failure", "reached"),
    [
        (httpx.ConnectError("refused"), False),
        (httpx.ConnectTimeout("slow handshake"), False),
        (httpx.PoolTimeout("no free connection"), False),
        (httpx.ReadTimeout("no answer"), True),
        (httpx.WriteTimeout("body half sent"), True),
        (httpx.ReadError("reset"), True),
        (httpx.RemoteProtocolError("Server disconnected"), True),
    ],
)
def test_a_failure_without_answer_may_have_been_applied_unless_never_connected(
    failure: Exception, reached: bool
) -> None:
    """Only a connection that was never established surely carried nothing."""
    assert may_have_reached(None, failure) is reached


# -- a later attempt refused after one that may have been applied (item: FAILED) -----


def test_a_400_after_a_504_leaves_the_inputs_unconfirmed() -> None:
    """The 504'd attempt may have been applied, so the 400 of its retry fails nothing."""
    server = _answers(reply(504, GATEWAY_504), reply(400, INVALID_400))
    results = _write(server, [A, B])
    assert server.paths() == [WRITE, WRITE]
    message = (
        f"{EARLIER}; a retry was refused: {WRITE} was refused: HubSpot answered 400 "
        "Bad Request: VALIDATION_ERROR: Invalid input JSON on line 1"
    )
    assert results == [
        WriteResult(A, Outcome.UNCONFIRMED, error=message, correlation_id=CID),
        WriteResult(B, Outcome.UNCONFIRMED, error=message, correlation_id=CID),
    ]


def test_a_400_after_a_refused_connection_still_fails_the_inputs() -> None:
    """A connection that was never made carried nothing: the 400 decides, FAILED."""
    server = _answers(httpx.ConnectError("connection refused"), reply(400, INVALID_400))
    [result] = _write(server, [A])
    assert result == WriteResult(
        A,
        Outcome.FAILED,
        error=f"{WRITE} was refused: HubSpot answered 400 Bad Request: "
        "VALIDATION_ERROR: Invalid input JSON on line 1",
        correlation_id=CID,
    )


def test_a_400_after_a_429_still_fails_the_inputs() -> None:
    """HubSpot does not process a request it answers 429: the 400 decides, FAILED."""
    server = _answers(reply(429, ROLLING_429, {"Retry-After": "1"}), reply(400, INVALID_400))
    [result] = _write(server, [A])
    assert result.outcome is Outcome.FAILED
    assert result.error is not None and not result.error.startswith(EARLIER)


def test_429s_until_retries_run_out_after_a_503_leave_the_inputs_unconfirmed() -> None:
    """A 503 first, then only 429s: the 503'd attempt may have been applied."""
    limited = reply(429, ROLLING_429, {"Retry-After": "1"})
    server = _answers(reply(503, SERVER_503), limited, limited)
    [result] = _write(server, [A], max_attempts=3)
    assert len(server.seen) == 3
    assert result == WriteResult(
        A,
        Outcome.UNCONFIRMED,
        error=f"{EARLIER}; a retry was refused: HubSpot kept answering 429 to {WRITE} after "
        "3 attempts: HubSpot answered 429 Too Many Requests: RATE_LIMITS: Too many requests",
        correlation_id=CID,
    )


def test_the_daily_cap_after_a_dropped_connection_is_raised_as_maybe_applied() -> None:
    """The stopping refusal still raises, and says an earlier attempt may have been applied."""
    server = _answers(httpx.RemoteProtocolError("Server disconnected"), reply(429, DAILY_429))
    with pytest.raises(RateLimitError) as caught:
        _write(server, [A])
    assert caught.value.policy_name == "DAILY"
    assert caught.value.may_have_applied is True
    assert len(server.seen) == 2


def test_a_401_after_a_timeout_is_raised_as_maybe_applied() -> None:
    """A timed-out attempt may have been applied before the token was refused."""
    server = _answers(
        httpx.ReadTimeout("timed out"), reply(401, error_body("INVALID_AUTHENTICATION", "bad"))
    )
    with pytest.raises(AuthError) as caught:
        _write(server, [A])
    assert caught.value.may_have_applied is True


def test_a_401_on_the_first_attempt_is_not_maybe_applied() -> None:
    """A refusal of the only attempt means nothing was applied."""
    server = _answers(reply(401, error_body("INVALID_AUTHENTICATION", "bad")))
    with pytest.raises(AuthError) as caught:
        _write(server, [A])
    assert caught.value.may_have_applied is False


def test_unsubscribe_all_refused_after_a_timeout_is_unconfirmed() -> None:
    """Unsubscribe-all follows the same rule: a 400 after a timeout fails nothing."""
    key = SubscriberKey(0, "a@example.com")
    server = _answers(httpx.ReadTimeout("timed out"), reply(400, INVALID_400))
    [result] = _opt_out(server, [key])
    assert result.outcome is Outcome.UNCONFIRMED
    assert result.error == (
        f"{EARLIER}; a retry was refused: {OPT_OUT} was refused: HubSpot answered 400 "
        "Bad Request: VALIDATION_ERROR: Invalid input JSON on line 1"
    )


# -- stop set between attempts ------------------------------------------------------


def test_stop_after_a_429_sends_no_retry_and_the_call_is_not_sent() -> None:
    """A 429 left nothing behind: stopped before its retry, the call is NOT_SENT."""
    stop = asyncio.Event()
    fake = FakeTime()
    server = _answers(reply(429, ROLLING_429, {"Retry-After": "10"}), stop=stop, stop_at=1)
    results = _write(server, [A, B], stop=stop, time=fake)
    assert server.paths() == [WRITE]
    why = "HubSpot did not act on the attempts made (the last was answered 429)"
    assert results == [
        WriteResult(A, Outcome.NOT_SENT, error=why),
        WriteResult(B, Outcome.NOT_SENT, error=why),
    ]
    assert fake.sleeps == []  # the 10 s Retry-After was not waited out


def test_stop_after_a_refused_connection_sends_no_retry_and_the_call_is_not_sent() -> None:
    """A connection that was never made carried nothing: NOT_SENT, no retry."""
    stop = asyncio.Event()
    server = _answers(httpx.ConnectError("connection refused"), stop=stop, stop_at=1)
    [result] = _write(server, [A], stop=stop)
    assert server.paths() == [WRITE]
    assert result == WriteResult(
        A,
        Outcome.NOT_SENT,
        error="HubSpot did not act on the attempts made (the last got no connection: ConnectError)",
    )


def test_stop_after_a_503_sends_no_retry_and_the_call_is_unconfirmed() -> None:
    """A 503'd attempt may have been applied: stopped before its retry, UNCONFIRMED."""
    stop = asyncio.Event()
    server = _answers(reply(503, SERVER_503), stop=stop, stop_at=1)
    results = _write(server, [A, B], stop=stop)
    assert server.paths() == [WRITE]
    message = (
        f"{EARLIER}; not retried because the run was stopping: {WRITE} failed: HubSpot "
        "answered 503 Service Unavailable: INTERNAL_ERROR: try later"
    )
    assert results == [
        WriteResult(A, Outcome.UNCONFIRMED, error=message, correlation_id=CID),
        WriteResult(B, Outcome.UNCONFIRMED, error=message, correlation_id=CID),
    ]


def test_stop_after_a_dropped_then_a_429_attempt_is_unconfirmed() -> None:
    """The earlier dropped attempt may have been applied though the last one got a 429."""
    stop = asyncio.Event()
    server = _answers(
        httpx.RemoteProtocolError("Server disconnected"),
        reply(429, ROLLING_429, {"Retry-After": "1"}),
        stop=stop,
        stop_at=2,
    )
    [result] = _write(server, [A], stop=stop)
    assert server.paths() == [WRITE, WRITE]
    assert result.outcome is Outcome.UNCONFIRMED
    assert result.error == (
        f"{EARLIER}; not retried because the run was stopping: HubSpot kept answering 429 to "
        f"{WRITE} after 2 attempts: HubSpot answered 429 Too Many Requests: RATE_LIMITS: "
        "Too many requests"
    )


def test_stop_after_a_timeout_applies_to_unsubscribe_all() -> None:
    """Unsubscribe-all stopped before a retry after a timeout is UNCONFIRMED."""
    stop = asyncio.Event()
    key = SubscriberKey(0, "a@example.com")
    server = _answers(httpx.ReadTimeout("timed out"), stop=stop, stop_at=1)
    [result] = _opt_out(server, [key], stop=stop)
    assert server.paths() == [OPT_OUT]
    assert result.outcome is Outcome.UNCONFIRMED
    assert result.error == (
        f"{EARLIER}; not retried because the run was stopping: {OPT_OUT} failed: no answer "
        "from HubSpot (ReadTimeout: timed out)"
    )


def test_without_stop_the_same_failures_are_retried() -> None:
    """The same 429 and 503 are retried as usual when nobody asked to stop."""
    limited = reply(429, ROLLING_429, {"Retry-After": "1"})
    server = _answers(limited, reply(503, SERVER_503))
    results = _write(server, [A], stop=asyncio.Event())
    assert server.paths() == [WRITE, WRITE, WRITE]
    assert [r.outcome for r in results] == [Outcome.CONFIRMED]


# -- the waits end when stop is set -------------------------------------------------

Sleep = Callable[[float], Awaitable[None]]


def _never_ending(stop: asyncio.Event, waited: list[str]) -> Sleep:
    """A sleep that sets ``stop`` (Ctrl-C during the wait) and would then never end."""

    async def sleep(seconds: float) -> None:
        waited.append(f"began {seconds:g}")
        stop.set()
        try:
            await asyncio.Event().wait()
        finally:
            waited.append("cut short")

    return sleep


def _bounded(coro: Awaitable[list[WriteResult]]) -> list[WriteResult]:
    # Only a broken build would wait: fail it instead of hanging the suite.
    async def go() -> list[WriteResult]:
        return await asyncio.wait_for(coro, timeout=30)

    return run(go())


def test_stop_during_the_retry_wait_ends_it_and_nothing_more_is_sent() -> None:
    """Ctrl-C while waiting out a 429's Retry-After ends the wait; the call is NOT_SENT."""
    stop = asyncio.Event()
    waited: list[str] = []
    server = _answers(reply(429, ROLLING_429, {"Retry-After": "10"}))
    fake = FakeTime()
    client_retry = RetryPolicy(max_attempts=4, jitter=0.0, sleep=_never_ending(stop, waited))

    async def go() -> list[WriteResult]:
        client = HubSpotClient.from_settings(
            make_settings(),
            transport=httpx.MockTransport(server),
            retry=client_retry,
            limiter=RateLimiter(clock=fake.clock, sleep=fake.sleep),
        )
        async with client:
            return await client.write([A], stop=stop)

    [result] = _bounded(go())
    assert waited == ["began 10", "cut short"]
    assert server.paths() == [WRITE]
    assert result.outcome is Outcome.NOT_SENT


def test_stop_during_the_rate_limit_wait_ends_it() -> None:
    """Ctrl-C while a call waits for the rate limiter's window ends the wait: NOT_SENT."""
    stop = asyncio.Event()
    waited: list[str] = []
    server = FakeHubSpot(_confirm)
    fake = FakeTime()

    async def go() -> list[WriteResult]:
        client = HubSpotClient.from_settings(
            make_settings(batch_size=1, concurrency=1),
            transport=httpx.MockTransport(server),
            retry=RetryPolicy.instant(),
            limiter=RateLimiter(
                max_requests=1, clock=fake.clock, sleep=_never_ending(stop, waited)
            ),
        )
        async with client:
            return await client.write([A, B], stop=stop)

    results = _bounded(go())
    assert [r.outcome for r in results] == [Outcome.CONFIRMED, Outcome.NOT_SENT]
    assert waited == ["began 10", "cut short"]
    assert server.paths() == [WRITE]


# -- the race between a wait and stop -----------------------------------------------


def test_until_stopped_returns_the_finished_job() -> None:
    """A job that ends before stop is set hands back its result."""

    async def go() -> object:
        async def job() -> int:
            return 7

        done = await _until_stopped(job(), asyncio.Event())
        return None if done is None else done.result()

    assert run(go()) == 7


def test_until_stopped_gives_back_a_result_taken_as_stop_was_set() -> None:
    """A job that finishes in the same step as stop is set does not count; its result
    goes to ``undo`` (a rate-limit slot taken at that moment is given back)."""
    undone: list[int] = []

    async def go() -> object:
        stop = asyncio.Event()

        async def job() -> int:
            stop.set()
            return 7

        return await _until_stopped(job(), stop, undone.append)

    assert run(go()) is None
    assert undone == [7]


def test_until_stopped_cancels_the_job_when_its_caller_is_cancelled() -> None:
    """Cancelling the waiting caller cancels the job too: nothing outlives it."""
    events: list[str] = []

    async def go() -> None:
        async def job() -> None:
            try:
                await asyncio.Event().wait()
            finally:
                events.append("job ended")

        waiter = asyncio.ensure_future(_until_stopped(job(), asyncio.Event()))
        for _ in range(3):  # the waiter starts the job, and the job starts waiting
            await asyncio.sleep(0)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter

    run(go())
    assert events == ["job ended"]
