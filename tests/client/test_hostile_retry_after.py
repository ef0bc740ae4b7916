"""A ``Retry-After`` of any size: waits stay within the retry budget, and a stop or a
hurry ends them at once.

A hold the limiter took for a 429 used to outlive the call that gave up on it, so one
``Retry-After: 999999`` on a write kept every later request waiting, the read-back
included. Over hand-built answers and a fake clock (nothing waits for real).
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import time

import httpx
import pytest

from reconciler.errors import ApiError
from reconciler.model import Outcome, Status, StatusWrite

from .conftest import (
    PREFIX,
    FakeHubSpot,
    FakeTime,
    envelope,
    error_body,
    make_client,
    public_status,
    read_handler,
    reply,
    run,
)

A = StatusWrite(0, "a@example.com", "101", Status.UNSUBSCRIBED)
ROLLING = error_body(
    "RATE_LIMITS", "Too many requests", errorType="RATE_LIMIT", policyName="TEN_SECONDLY_ROLLING"
)
WRITE = f"POST {PREFIX}/statuses/batch/write"
READS = [f"POST {PREFIX}/statuses/batch/read", f"POST {PREFIX}/statuses/batch/unsubscribe-all/read"]


def _hub(request: httpx.Request) -> httpx.Response:
    """Confirms every write and answers every read (nobody has a status)."""
    if request.url.path.endswith("/statuses/batch/write"):
        inputs = json.loads(request.content)["inputs"]
        results = [
            public_status(i["subscriberIdString"], i["subscriptionId"], i["statusState"])
            for i in inputs
        ]
        return reply(200, envelope(results))
    return read_handler()(request)


def _write_then_read(retry_after: str) -> tuple[list[Outcome], str | None, FakeTime, list[str]]:
    fake = FakeTime()
    server = FakeHubSpot(_hub, replies=[reply(429, ROLLING, {"Retry-After": retry_after})])

    async def go() -> tuple[list[Outcome], str | None]:
        async with make_client(server, time=fake) as client:
            results = await client.write([A])
            await client.read({0: ["a@example.com"]})
            return [r.outcome for r in results], results[0].error

    outcomes, error = run(go())
    return outcomes, error, fake, server.paths()


@pytest.mark.parametrize(("kind", "asked"), [("seconds", "999999 s"), ("http-date", None)])
def test_a_retry_after_beyond_the_budget_gives_up_at_once_and_holds_no_one(
    kind: str, asked: str | None
) -> None:
    """The write fails at once (HubSpot did not act on a 429), with a line that names the
    wait asked and the budget; the read after it leaves without any wait."""
    in_a_month = email.utils.formatdate(time.time() + 86400 * 30, usegmt=True)
    header = "999999" if kind == "seconds" else in_a_month
    outcomes, error, fake, paths = _write_then_read(header)
    assert outcomes == [Outcome.FAILED]
    assert error is not None
    assert error.startswith(f"HubSpot answered 429 to {WRITE} and asked to wait ")
    if asked is not None:
        assert f"asked to wait {asked}, more than the retry budget of 90 s: " in error
    assert "more than the retry budget of 90 s" in error
    assert fake.sleeps == []
    assert paths == [WRITE, *READS]


def test_a_retry_after_within_the_budget_is_waited_once_by_everyone() -> None:
    outcomes, error, fake, paths = _write_then_read("30")
    assert outcomes == [Outcome.CONFIRMED]
    assert error is None
    assert fake.sleeps == [30.0]
    assert paths == [WRITE, WRITE, *READS]


def test_a_hurried_read_does_not_wait_out_a_hold() -> None:
    """A read in a hurry (the read-back after a second Ctrl-C) is not made while the
    limiter holds, and says why; nothing sleeps."""
    fake = FakeTime()
    server = FakeHubSpot(read_handler())
    hurry = asyncio.Event()
    hurry.set()

    async def go() -> ApiError:
        async with make_client(server, time=fake) as client:
            client.limiter.hold(60.0)
            with pytest.raises(ApiError) as caught:
                await client.read({0: ["a@example.com"]}, hurry=hurry)
            return caught.value

    error = run(go())
    assert "asked to stop while it waited for HubSpot's rate limit" in error.message
    assert fake.sleeps == []
    assert server.seen == []


def test_a_hurry_set_during_a_hold_ends_the_wait() -> None:
    """The wait for a hold ends when ``hurry`` is set, not when the hold does."""
    server = FakeHubSpot(read_handler())

    async def go() -> tuple[ApiError, float]:
        hurry = asyncio.Event()
        async with make_client(server) as client:
            # Real sleeps for the limiter here, so the hold is a real wait of 60 s.
            client.limiter._sleep = asyncio.sleep
            client.limiter._clock = time.monotonic
            client.limiter.hold(60.0)
            asyncio.get_running_loop().call_later(0.05, hurry.set)
            began = time.monotonic()
            with pytest.raises(ApiError) as caught:
                await client.read({0: ["a@example.com"]}, hurry=hurry)
            return caught.value, time.monotonic() - began

    error, took = run(go())
    assert "asked to stop" in error.message
    assert took < 5.0
    assert server.seen == []
