"""The rolling-window limiter and the retry policy, on a fake clock."""

from __future__ import annotations

import asyncio

import pytest

from reconciler.client import RateLimiter, RetryPolicy
from reconciler.client._retry import Effort

from .conftest import FakeTime, run


def _limiter(fake: FakeTime, **kw: object) -> RateLimiter:
    return RateLimiter(clock=fake.clock, sleep=fake.sleep, **kw)  # type: ignore[arg-type]


def _guarded(coro):  # type: ignore[no-untyped-def]
    """Fail instead of hanging if the limiter never lets a request go."""
    return run(asyncio.wait_for(coro, timeout=5))


async def _request(limiter: RateLimiter, fake: FakeTime, rtt: float) -> float:
    """One request: take a slot, spend ``rtt`` in flight, release."""
    sent = await limiter.acquire()
    fake.now += rtt
    limiter.release()
    return sent


def test_sends_a_full_window_then_waits_for_the_oldest_to_age_out() -> None:
    """Max 3 per 10 s: three go at once, the fourth when the first is 10 s old."""
    fake = FakeTime()
    limiter = _limiter(fake, max_requests=3, window=10.0)
    start = fake.now

    async def go() -> list[float]:
        return [await _request(limiter, fake, 0.0) - start for _ in range(7)]

    assert _guarded(go()) == [0.0, 0.0, 0.0, 10.0, 10.0, 10.0, 20.0]


def test_a_slot_ages_from_when_the_answer_arrived() -> None:
    """With a 0.5 s round trip, the next window opens 10 s after the first answer."""
    fake = FakeTime()
    limiter = _limiter(fake, max_requests=2, window=10.0)
    start = fake.now

    async def go() -> list[float]:
        return [await _request(limiter, fake, 0.5) - start for _ in range(4)]

    assert _guarded(go()) == [0.0, 0.5, 10.5, 11.0]


def test_requests_in_flight_hold_their_slots() -> None:
    """When every slot is in flight, the next request waits for one to finish."""
    fake = FakeTime()
    limiter = _limiter(fake, max_requests=2, window=1.0)

    async def go() -> list[str]:
        order: list[str] = []
        await limiter.acquire()
        await limiter.acquire()

        async def third() -> None:
            await limiter.acquire()
            order.append("third sent")

        task = asyncio.ensure_future(third())
        await asyncio.sleep(0)
        order.append("first released")
        limiter.release()
        await task
        return order

    assert _guarded(go()) == ["first released", "third sent"]


def test_margin_is_added_to_the_window() -> None:
    """A margin delays the reuse of a slot by that much."""
    fake = FakeTime()
    limiter = _limiter(fake, max_requests=1, window=10.0, margin=0.25)
    start = fake.now

    async def go() -> list[float]:
        return [await _request(limiter, fake, 0.0) - start for _ in range(2)]

    assert _guarded(go()) == [0.0, 10.25]


def test_headers_set_window_and_maximum() -> None:
    """Interval-Milliseconds and Max replace the defaults when nothing was configured."""
    limiter = RateLimiter()
    limiter.observe(
        {"X-HubSpot-RateLimit-Max": "190", "X-HubSpot-RateLimit-Interval-Milliseconds": "2000"},
        sent_at=0.0,
    )
    info = limiter.info()
    assert (info.max_requests, info.window, info.from_headers) == (190, 2.0, True)


def test_configured_limit_is_only_lowered_by_headers() -> None:
    """--rate-limit is a ceiling: headers may lower it, never raise it."""
    low = RateLimiter(max_requests=50)
    low.observe({"X-HubSpot-RateLimit-Max": "190"}, sent_at=0.0)
    high = RateLimiter(max_requests=190)
    high.observe({"X-HubSpot-RateLimit-Max": "100"}, sent_at=0.0)
    assert (low.max_requests, high.max_requests) == (50, 100)


def test_unreadable_headers_are_ignored() -> None:
    """Garbage in rate-limit headers changes nothing."""
    limiter = RateLimiter(max_requests=10, window=5.0)
    limiter.observe(
        {"X-HubSpot-RateLimit-Max": "many", "X-HubSpot-RateLimit-Interval-Milliseconds": ""},
        sent_at=0.0,
    )
    assert (limiter.max_requests, limiter.window) == (10, 5.0)


def test_daily_headers_are_remembered() -> None:
    """The daily budget is kept for reports."""
    limiter = RateLimiter()
    limiter.observe(
        {"X-HubSpot-RateLimit-Daily": "250000", "X-HubSpot-RateLimit-Daily-Remaining": "249000"},
        sent_at=0.0,
    )
    assert (limiter.daily, limiter.daily_remaining) == (250000, 249000)


def test_remaining_shows_usage_by_someone_else() -> None:
    """If HubSpot counts more than this client sent, the difference is waited for."""
    fake = FakeTime()
    limiter = _limiter(fake, max_requests=10, window=10.0)
    start = fake.now

    async def go() -> list[float]:
        sent = await limiter.acquire()
        limiter.release()
        # HubSpot says 8 of 10 are used: 7 came from another process.
        limiter.observe(
            {"X-HubSpot-RateLimit-Max": "10", "X-HubSpot-RateLimit-Remaining": "2"}, sent_at=sent
        )
        return [await _request(limiter, fake, 0.0) - start for _ in range(3)]

    assert _guarded(go()) == [0.0, 0.0, 10.0]


def test_remaining_that_matches_own_usage_costs_nothing() -> None:
    """When HubSpot's count is what this client sent, nothing extra is held back."""
    fake = FakeTime()
    limiter = _limiter(fake, max_requests=5, window=10.0)
    start = fake.now

    async def go() -> list[float]:
        sent = [await limiter.acquire() for _ in range(3)]
        for index, at in enumerate(sent):
            limiter.release()
            limiter.observe(
                {"X-HubSpot-RateLimit-Max": "5", "X-HubSpot-RateLimit-Remaining": str(4 - index)},
                sent_at=at,
            )
        return [await _request(limiter, fake, 0.0) - start for _ in range(3)]

    assert _guarded(go()) == [0.0, 0.0, 10.0]


def test_hold_stops_every_sender_and_widens_the_margin() -> None:
    """After a 429 nobody sends until the hold ends; the margin grows."""
    fake = FakeTime()
    limiter = _limiter(fake, max_requests=100, window=10.0)
    start = fake.now
    limiter.hold(3.0)
    assert limiter.margin == 0.05

    async def go() -> list[float]:
        return list(await asyncio.gather(limiter.acquire(), limiter.acquire()))

    assert [t - start for t in _guarded(go())] == [3.0, 3.0]


def test_limiter_rejects_nonsense() -> None:
    """A limit below one or a window of zero is a programming error."""
    with pytest.raises(ValueError, match="max_requests"):
        RateLimiter(max_requests=0)
    with pytest.raises(ValueError, match="window"):
        RateLimiter(window=0)
    with pytest.raises(ValueError, match="margin"):
        RateLimiter(margin=-1)


def test_backoff_doubles_up_to_the_cap() -> None:
    """Backoff without jitter is base * 2**(n-1), capped at max_delay."""
    policy = RetryPolicy(base_delay=0.5, max_delay=4.0, jitter=0.0)
    assert [policy.backoff(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 4.0, 4.0]


def test_jitter_only_shortens_the_wait() -> None:
    """Jitter scales the wait into [1 - jitter, 1] of the raw backoff."""
    assert RetryPolicy(base_delay=2.0, jitter=0.5, rng=lambda: 1.0).backoff(1) == 1.0
    assert RetryPolicy(base_delay=2.0, jitter=0.5, rng=lambda: 0.0).backoff(1) == 2.0


def test_should_retry_respects_attempts_and_total_time() -> None:
    """No retry past max_attempts, nor when the wait would take the effort past max_total."""
    policy = RetryPolicy(max_attempts=3, max_total=10.0)
    assert policy.should_retry(1, Effort(spent=0.0), 1.0) is True
    assert policy.should_retry(3, Effort(spent=0.0), 1.0) is False
    assert policy.should_retry(1, Effort(spent=9.0), 1.0) is True
    assert policy.should_retry(1, Effort(spent=9.5), 1.0) is False


def test_retry_policy_is_keyword_only_and_validated() -> None:
    """The policy is declared by keywords and refuses impossible values."""
    with pytest.raises(TypeError):
        RetryPolicy(3)  # type: ignore[misc]
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError, match="jitter"):
        RetryPolicy(jitter=2.0)


def test_instant_policy_does_not_wait() -> None:
    """RetryPolicy.instant() sleeps no real time (its sleep only yields)."""
    policy = RetryPolicy.instant()

    async def go() -> None:
        await asyncio.wait_for(policy.sleep(3600), timeout=5)

    run(go())


def test_a_forgone_slot_costs_nothing_of_the_window() -> None:
    """A slot taken and then not used (nothing sent) frees at once and is not counted."""
    fake = FakeTime()
    limiter = _limiter(fake, max_requests=1, window=10.0)

    async def go() -> float:
        await limiter.acquire()
        limiter.forgo()
        return await limiter.acquire() - fake.now

    assert _guarded(go()) == 0.0
    assert fake.sleeps == []


def test_window_remaining_and_others_usage_are_reported() -> None:
    """info() carries -Remaining of the latest answer and the requests counted as others'."""
    fake = FakeTime()
    limiter = _limiter(fake, max_requests=10, window=10.0)

    async def go() -> None:
        sent = await limiter.acquire()
        limiter.release()
        limiter.observe(
            {"X-HubSpot-RateLimit-Max": "10", "X-HubSpot-RateLimit-Remaining": "2"}, sent_at=sent
        )

    assert (limiter.info().remaining, limiter.info().others) == (None, 0)
    _guarded(go())
    info = limiter.info()
    assert (info.remaining, info.others) == (2, 7)
    fake.now += 10.0  # others' requests age out of the window; the figure stays as seen
    assert (limiter.info().remaining, limiter.info().others) == (2, 0)


def test_an_earlier_run_s_requests_are_not_others() -> None:
    """Requests of an earlier run of hsprefs (note_earlier) are hsprefs's own: those an
    answer already counted as others' move back, later answers leave them out, and what
    is left beyond them is still others'."""
    fake = FakeTime()
    limiter = _limiter(fake, max_requests=100, window=10.0)
    headers = {"X-HubSpot-RateLimit-Max": "100"}

    async def call(remaining: int) -> None:
        sent = await limiter.acquire()
        limiter.release()
        limiter.observe({**headers, "X-HubSpot-RateLimit-Remaining": str(remaining)}, sent)

    # HubSpot counts 6 requests of an earlier run before this one's first: 7 used
    _guarded(call(93))
    assert limiter.info().others == 6
    limiter.note_earlier([1.0, 1.5, 2.0, 2.5, 3.0, 3.5])
    assert limiter.info().others == 0
    _guarded(call(92))  # 8 used: the earlier 6 and this run's 2
    assert limiter.info().others == 0
    _guarded(call(88))  # 12 used: 3 more than this run's 3 and the earlier 6
    assert limiter.info().others == 3
    assert limiter.own_ages() == [0.0, 0.0, 0.0]
    fake.now += 4.0
    assert limiter.own_ages() == [4.0, 4.0, 4.0]


def test_window_frees_after_a_whole_window_when_nothing_says_when() -> None:
    """Room in the limiter's own count tells nothing after a 429: wait one window."""
    fake = FakeTime()
    limiter = _limiter(fake, max_requests=10, window=4.0)
    assert limiter.time_until_window_frees() == 4.0
    limiter.hold(1.0)  # widens the margin to 0.05 and holds every sender for 1 s
    assert limiter.time_until_window_frees() == 1.0
    fake.now += 1.0
    assert limiter.time_until_window_frees() == 4.05


def test_window_frees_when_the_oldest_known_request_ages_out() -> None:
    """A window the limiter counts full frees when its oldest request is a window old."""
    fake = FakeTime()
    limiter = _limiter(fake, max_requests=2, window=10.0)

    async def go() -> None:
        await _request(limiter, fake, 0.0)
        fake.now += 3.0
        await _request(limiter, fake, 0.0)

    _guarded(go())
    assert limiter.time_until_window_frees() == 7.0
