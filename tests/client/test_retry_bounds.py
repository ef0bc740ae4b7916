"""The retry policy's time bound counts a request's own attempts and waits, not its queue.

On a large run a request may wait minutes for its turn at the rate limiter; that wait
must not use up its retries. The fake clock moves only when someone sleeps on it (or a
handler moves it, standing in for a slow answer), so nothing here takes real time.
"""

from __future__ import annotations

import httpx
import pytest

from reconciler.errors import ApiError, TransportError
from reconciler.model import SubscriberKey

from .conftest import (
    FakeHubSpot,
    FakeTime,
    envelope,
    error_body,
    make_client,
    read_handler,
    reply,
    run,
)

EMAILS = [f"p{i:02d}@example.com" for i in range(30)]
LATE = 50  # the request (of 60) that meets the fault; it leaves long after the start
MAX_TOTAL = 90.0  # RetryPolicy's default, which make_client keeps


def _late_fault(fault: httpx.Response, fake: FakeTime) -> tuple[FakeHubSpot, list[float]]:
    """A server that answers request number LATE with ``fault``; records when it left."""
    answer = read_handler()
    left: list[float] = []

    def handle(request: httpx.Request) -> httpx.Response:
        if len(server.seen) == LATE:
            left.append(fake.now - 1000.0)
            return fault
        return answer(request)

    server = FakeHubSpot(handle)
    return server, left


def _read_slowly(server: FakeHubSpot, fake: FakeTime) -> tuple[int, int]:
    """Read 30 subscribers one per call at 4 calls per 10 s: 60 calls over 150 s."""

    async def go() -> tuple[int, int]:
        async with make_client(
            server, time=fake, rate_limit=4, batch_size=1, concurrency=4, max_attempts=6
        ) as client:
            live = await client.read({0: EMAILS})
            opted_out = sum(live.opted_out(SubscriberKey(0, e)) for e in EMAILS)
            return len(live.opt_outs) - opted_out, client.stats.retries

    return run(go())


def test_a_503_after_a_long_queue_is_still_retried() -> None:
    """A request that waited longer than max_total for its turn still gets its retries."""
    fake = FakeTime()
    server, left = _late_fault(reply(503, error_body("INTERNAL_ERROR", "try again")), fake)
    assert _read_slowly(server, fake) == (30, 1)
    assert left[0] > MAX_TOTAL
    assert len(server.seen) == 61


def test_a_pending_read_after_a_long_queue_is_still_asked_again() -> None:
    """A PENDING answer to a request that queued past max_total is asked again."""
    fake = FakeTime()
    server, left = _late_fault(reply(200, envelope([], status="PENDING")), fake)
    assert _read_slowly(server, fake) == (30, 1)
    assert left[0] > MAX_TOTAL
    assert len(server.seen) == 61


def test_time_spent_on_failed_attempts_bounds_the_retries() -> None:
    """Attempts that each take 40 s: the third would pass 90 s with its wait, so it is last."""
    fake = FakeTime()

    def slow_503(request: httpx.Request) -> httpx.Response:
        fake.now += 40.0  # the answer takes 40 s to come back
        return reply(503, error_body("INTERNAL_ERROR", "try again"))

    server = FakeHubSpot(slow_503)

    async def go() -> None:
        async with make_client(server, time=fake, max_attempts=6) as client:
            await client.portal_id()

    with pytest.raises(TransportError) as caught:
        run(go())
    # 40 + 0.5 wait + 40 + 1.0 wait = 81.5 s spent; 81.5 + 40 + 2.0 > 90: no fourth try.
    assert len(server.seen) == 3
    assert fake.sleeps == [0.5, 1.0]
    assert "after 3 attempts" in caught.value.message


def test_pending_askings_share_one_time_bound() -> None:
    """A read that stays PENDING stops once its askings and waits would pass max_total."""
    fake = FakeTime()

    def slow_pending(request: httpx.Request) -> httpx.Response:
        fake.now += 30.0
        return reply(200, envelope([], status="PENDING"))

    server = FakeHubSpot(slow_pending)

    async def go() -> None:
        async with make_client(server, time=fake, max_attempts=6, concurrency=1) as client:
            await client.read({0: ["a@example.com"]})

    with pytest.raises(ApiError) as caught:
        run(go())
    # Each part: 30 + 0.5 + 30 + 1.0 + 30 = 91.5 s after its third asking: no fourth.
    assert len(server.seen) == 6
    assert "HubSpot answered PENDING 3 times" in caught.value.message
