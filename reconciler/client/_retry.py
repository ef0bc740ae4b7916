"""Retry policy: which failures are worth another attempt, and how long to wait.

A :class:`RetryPolicy` is a small declared value (keyword-only, frozen): capped
exponential backoff with jitter, a bound on attempts and a bound on the total time spent
on one request. Its ``sleep`` and ``clock`` are injectable so tests run retries
instantly (:meth:`RetryPolicy.instant`).

The time bound counts what a request itself costs (an :class:`Effort`): its attempts
from the moment each one leaves until its answer or failure, and the waits between
them. Time spent queueing for a concurrency slot or for the rate limiter does not
count: on a large run a request may wait minutes for its turn, and that wait must not
use up its retries (one transient 503 would otherwise fail a whole plan).

Every call the client makes is safe to repeat: reads read, a batch write *sets*
statuses and unsubscribe-all sets an opt-out, so a batch that may or may not have
reached HubSpot can be sent again without changing the outcome.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

__all__ = ["Effort", "RetryPolicy", "Retrying"]


async def _no_wait(_seconds: float) -> None:
    # Still yields to the event loop, so concurrent chunks interleave as they would.
    await asyncio.sleep(0)


@dataclass(slots=True)
class Effort:
    """Seconds one request has spent on its attempts and on the waits between them.

    Queueing for a slot is left out (see the module docstring). One ``Effort`` may be
    shared by several sends that make one logical request (a read asked again while
    HubSpot answers ``PENDING``), so the bound covers them together.
    """

    spent: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Retrying:
    """A request about to be tried again: what the client tells ``on_retry``.

    ``request`` names the call as the plan does (``POST statuses/batch/read``, a
    subscriber's address as ``{subscriber}``), so the notice holds no address and no
    token; ``reason`` is what the failed attempt got (``HTTP 503``, ``a timeout``);
    ``attempt`` is the number of the attempt about to leave, of at most ``attempts``.
    """

    request: str
    reason: str
    attempt: int
    attempts: int
    delay: float

    def line(self) -> str:
        """One line for people: ``retrying POST statuses/batch/read after HTTP 503
        (attempt 2 of 6)``."""
        return (
            f"retrying {self.request} after {self.reason} "
            f"(attempt {self.attempt} of {self.attempts})"
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """How the client retries 429s, 5xx answers, timeouts and dropped connections.

    ``max_attempts`` counts the first try. The wait before attempt ``n + 1`` is
    ``min(max_delay, base_delay * 2**(n - 1))`` scaled by a random factor in
    ``[1 - jitter, 1]``, unless HubSpot said how long to wait (``Retry-After``). A
    request gives up when the attempts are spent or when the next wait would take the
    time spent on it (an :class:`Effort`: attempts and waits, not queueing) past
    ``max_total`` seconds.
    """

    max_attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 16.0
    max_total: float = 90.0
    jitter: float = 0.5
    sleep: Callable[[float], Awaitable[None]] = field(default=asyncio.sleep, repr=False)
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)
    rng: Callable[[], float] = field(default=random.random, repr=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.base_delay < 0 or self.max_delay < 0 or self.max_total < 0:
            raise ValueError("delays must not be negative")
        if not 0.0 <= self.jitter <= 1.0:
            raise ValueError("jitter must be between 0 and 1")

    @classmethod
    def instant(cls, *, max_attempts: int = 6) -> RetryPolicy:
        """A policy that retries like the default one but never waits (for tests)."""
        return cls(max_attempts=max_attempts, sleep=_no_wait, jitter=0.0)

    def backoff(self, attempt: int) -> float:
        """The wait after failed attempt number ``attempt`` (1-based), jitter applied."""
        raw = min(self.max_delay, self.base_delay * (2 ** max(0, attempt - 1)))
        return float(raw * (1.0 - self.jitter * self.rng()))

    def should_retry(self, attempt: int, effort: Effort, delay: float) -> bool:
        """Whether attempt ``attempt`` may be followed by another after ``delay`` seconds,
        the request having spent ``effort`` so far."""
        if attempt >= self.max_attempts:
            return False
        return effort.spent + delay <= self.max_total
