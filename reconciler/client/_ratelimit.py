"""Client-side rolling-window rate limiter, adapted from HubSpot's rate-limit headers.

HubSpot allows ``X-HubSpot-RateLimit-Max`` requests per rolling window of
``X-HubSpot-RateLimit-Interval-Milliseconds``. Over a rolling window the fastest
schedule that never exceeds the limit is not an even trickle: it sends a full window's
worth at once and then sends the next request exactly when the oldest one ages out of
the window. :class:`RateLimiter` does that. It remembers when each request was sent,
and lets a new one go when fewer than ``max_requests`` were sent in the last
``window + margin`` seconds. The small margin absorbs the difference between the moment
a request leaves and the moment HubSpot counts it.

It adapts from every response: the window length and the maximum come from the headers
(``--rate-limit`` can only lower the maximum), and when ``-Remaining`` shows more
requests in HubSpot's window than this client can have sent, the difference (another
process sharing the app's budget) is counted as well. After a 429 the limiter holds
every sender for the wait HubSpot asked for and widens its margin.

Imports: only the standard library.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

__all__ = ["DEFAULT_MAX_REQUESTS", "DEFAULT_WINDOW", "RateLimitInfo", "RateLimiter"]

DEFAULT_MAX_REQUESTS = 100  # HubSpot's lowest tier (Free/Starter private apps)
DEFAULT_WINDOW = 10.0  # seconds; HubSpot's documented rolling window

H_MAX = "X-HubSpot-RateLimit-Max"
H_REMAINING = "X-HubSpot-RateLimit-Remaining"
H_INTERVAL = "X-HubSpot-RateLimit-Interval-Milliseconds"
H_DAILY = "X-HubSpot-RateLimit-Daily"
H_DAILY_REMAINING = "X-HubSpot-RateLimit-Daily-Remaining"


def _header_int(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    if value is None:
        return None
    try:
        return int(str(value).strip())
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class RateLimitInfo:
    """What the limiter currently believes about the budget (for ``doctor`` and reports)."""

    max_requests: int
    window: float
    from_headers: bool
    daily: int | None
    daily_remaining: int | None


class RateLimiter:
    """At most ``max_requests`` sends per rolling ``window`` seconds, shared by all tasks.

    ``max_requests=None`` means "not configured": start at HubSpot's lowest tier and take
    the maximum from the headers. A configured value is a ceiling the headers can only
    lower. ``margin`` (seconds) is added to the window; ``None`` picks 2 % of the window,
    at most 0.25 s. ``clock`` and ``sleep`` are injectable for tests.
    """

    def __init__(
        self,
        *,
        max_requests: int | None = None,
        window: float = DEFAULT_WINDOW,
        margin: float | None = None,
        adapt: bool = True,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if max_requests is not None and max_requests < 1:
            raise ValueError("max_requests must be at least 1")
        if window <= 0:
            raise ValueError("window must be positive")
        self._configured = max_requests
        self.max_requests = max_requests or DEFAULT_MAX_REQUESTS
        self.window = window
        self._fixed_margin = margin
        self._extra_margin = 0.0
        self._adapt = adapt
        self._clock = clock
        self._sleep = sleep
        self._ours: deque[float] = deque()
        self._external: deque[float] = deque()
        self._hold_until = 0.0
        self._lock = asyncio.Lock()
        self._from_headers = False
        self.daily: int | None = None
        self.daily_remaining: int | None = None

    def __repr__(self) -> str:
        return f"RateLimiter(max_requests={self.max_requests}, window={self.window:g})"

    @property
    def margin(self) -> float:
        """Seconds added to the window before a slot counts as free again."""
        base = (
            self._fixed_margin if self._fixed_margin is not None else min(0.25, 0.02 * self.window)
        )
        return base + self._extra_margin

    def info(self) -> RateLimitInfo:
        """The current view of the budget."""
        return RateLimitInfo(
            self.max_requests, self.window, self._from_headers, self.daily, self.daily_remaining
        )

    def _purge(self, now: float) -> None:
        horizon = now - self.window - self.margin
        for queue in (self._ours, self._external):
            while queue and queue[0] <= horizon:
                queue.popleft()

    def time_until_free(self) -> float:
        """Seconds until one more request may be sent (0 when one may go now)."""
        now = self._clock()
        self._purge(now)
        wait = max(0.0, self._hold_until - now)
        if len(self._ours) + len(self._external) >= self.max_requests:
            oldest = min(q[0] for q in (self._ours, self._external) if q)
            wait = max(wait, oldest + self.window + self.margin - now)
        return wait

    async def acquire(self) -> float:
        """Wait for a free slot, take it, and return the send time to hand to :meth:`observe`.

        Waiters are served first come, first served; send the request right after this
        returns, so the recorded time is the time it leaves.
        """
        async with self._lock:
            while True:
                wait = self.time_until_free()
                if wait <= 0:
                    now = self._clock()
                    self._ours.append(now)
                    return now
                await self._sleep(wait)

    def observe(self, headers: Mapping[str, str], sent_at: float) -> None:
        """Adapt to the rate-limit headers of a response to a request sent at ``sent_at``."""
        self.daily = _header_int(headers, H_DAILY) or self.daily
        daily_remaining = _header_int(headers, H_DAILY_REMAINING)
        if daily_remaining is not None:
            self.daily_remaining = daily_remaining
        if not self._adapt:
            return
        interval = _header_int(headers, H_INTERVAL)
        if interval is not None and interval > 0:
            self.window = interval / 1000.0
            self._from_headers = True
        server_max = _header_int(headers, H_MAX)
        if server_max is not None and server_max > 0:
            self.max_requests = (
                server_max if self._configured is None else min(self._configured, server_max)
            )
            self._from_headers = True
        remaining = _header_int(headers, H_REMAINING)
        if server_max is not None and remaining is not None:
            self._count_external(server_max - remaining, sent_at)

    def _count_external(self, used: int, sent_at: float) -> None:
        # HubSpot counted ``used`` requests in its window when this one arrived. Everything
        # this client sent from one window (plus the round trip) before it, up to now,
        # could be among them; only what exceeds that came from someone else.
        now = self._clock()
        self._purge(now)
        earliest = sent_at - self.window - (now - sent_at)
        ours = sum(1 for t in self._ours if t >= earliest)
        external = used - ours - len(self._external)
        for _ in range(max(0, external)):
            self._external.append(now)

    def hold(self, seconds: float) -> None:
        """Stop every sender for ``seconds`` (HubSpot answered 429) and widen the margin."""
        self._hold_until = max(self._hold_until, self._clock() + max(0.0, seconds))
        self._extra_margin = min(self.window / 4, max(0.05, self._extra_margin * 2))
