"""Client-side rolling-window rate limiter, adapted from HubSpot's rate-limit headers.

HubSpot allows ``X-HubSpot-RateLimit-Max`` requests per rolling window of
``X-HubSpot-RateLimit-Interval-Milliseconds``. Over a rolling window the fastest
schedule that never exceeds the limit is not an even trickle: it sends a full window's
worth at once and then sends the next request exactly when the oldest one ages out of
the window. :class:`RateLimiter` does that.

When does a request age out? HubSpot counts it at some moment between the time it
leaves and the time its answer arrives; which moment varies with the network and the
server's load, and a client that guesses early gets 429s. So a request holds its slot
while it is in flight, and the slot frees one window after its answer (or failure)
arrived: never earlier than HubSpot frees it, whatever the latency and its jitter. The
price is one round trip per window; the gain is zero 429s from the client's own traffic.

It adapts from every response: the window length and the maximum come from the headers
(``--rate-limit`` can only lower the maximum), and when ``-Remaining`` shows more
requests in HubSpot's window than this client can have sent, the difference (another
process sharing the app's budget) is counted too; the requests of earlier runs of
hsprefs (:meth:`RateLimiter.note_earlier`) are not taken for someone else's. After a
429 the limiter holds every sender for the wait (``Retry-After``, or without it until
the window frees: the oldest request it knows of ages out, or one whole window) and adds
a margin to the window. The daily headers and the window's ``-Remaining`` are kept for
``doctor`` (:meth:`RateLimiter.info`).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
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
    #: ``X-HubSpot-RateLimit-Remaining`` of the latest answer that had it: requests left
    #: in HubSpot's current window when that answer was made.
    remaining: int | None = None
    #: Requests in the current window that HubSpot counted but this client did not send
    #: (another integration or process sharing the app's budget), as far as it can tell.
    others: int = 0
    #: ``X-HubSpot-RateLimit-Max`` of the latest answer that had it: HubSpot's own window
    #: size, which ``max_requests`` may be below when ``--rate-limit`` caps the client.
    server_max: int | None = None


class RateLimiter:
    """At most ``max_requests`` requests per rolling ``window`` seconds, for all tasks.

    ``max_requests=None`` means "not configured": start at HubSpot's lowest tier and take
    the maximum from the headers. A configured value is a ceiling the headers can only
    lower. ``margin`` (seconds, default 0) is added to the window; it grows after a 429.
    ``clock`` and ``sleep`` are injectable for tests.

    Use: ``sent_at = await limiter.acquire()``, send, then ``limiter.release()`` when the
    answer (or the failure) is in, and ``limiter.observe(headers, sent_at)`` for answers.
    """

    def __init__(
        self,
        *,
        max_requests: int | None = None,
        window: float = DEFAULT_WINDOW,
        margin: float = 0.0,
        adapt: bool = True,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if max_requests is not None and max_requests < 1:
            raise ValueError("max_requests must be at least 1")
        if window <= 0:
            raise ValueError("window must be positive")
        if margin < 0:
            raise ValueError("margin must not be negative")
        self._configured = max_requests
        self.max_requests = max_requests or DEFAULT_MAX_REQUESTS
        self.window = window
        self.margin = margin
        self._adapt = adapt
        self._clock = clock
        self._sleep = sleep
        self._in_flight = 0
        self._done: deque[float] = deque()  # when each finished request's answer arrived
        self._external: deque[float] = deque()  # others' requests, counted when seen
        # Earlier runs' requests (hsprefs's own, not others'), when their answers came.
        self._earlier: deque[float] = deque()
        self._hold_until = 0.0
        self._lock = asyncio.Lock()
        self._released: asyncio.Event | None = None
        self._from_headers = False
        self.daily: int | None = None
        self.daily_remaining: int | None = None
        self.remaining: int | None = None
        self.server_max: int | None = None

    def __repr__(self) -> str:
        return f"RateLimiter(max_requests={self.max_requests}, window={self.window:g})"

    def info(self) -> RateLimitInfo:
        """The current view of the budget."""
        self._purge(self._clock())
        return RateLimitInfo(
            self.max_requests,
            self.window,
            self._from_headers,
            self.daily,
            self.daily_remaining,
            remaining=self.remaining,
            others=len(self._external),
            server_max=self.server_max,
        )

    def _purge(self, now: float) -> None:
        horizon = now - self.window - self.margin
        for queue in (self._done, self._external, self._earlier):
            while queue and queue[0] <= horizon:
                queue.popleft()

    def time_until_free(self) -> float:
        """Seconds until one more request may be sent: 0 now, ``inf`` until one finishes."""
        now = self._clock()
        self._purge(now)
        wait = max(0.0, self._hold_until - now)
        used = self._in_flight + len(self._done) + len(self._external) + len(self._earlier)
        if used >= self.max_requests:
            aging = [q[0] for q in (self._done, self._external, self._earlier) if q]
            frees = min(aging) + self.window + self.margin - now if aging else math.inf
            wait = max(wait, frees)
        return wait

    def time_until_window_frees(self) -> float:
        """After a rolling-window 429 without ``Retry-After``: seconds until there is room.

        When the limiter counts the window full (the rate headers showed it, or others'
        requests fill it), that is when the oldest request it knows of ages out, or when
        a hold set by an earlier 429 ends. Otherwise nothing tells when HubSpot's window
        frees, and the answer is one whole window (``window + margin``): the policy's own
        length, from ``-Interval-Milliseconds`` or the configured default.
        """
        free = self.time_until_free()
        if 0.0 < free < math.inf:
            return free
        return self.window + self.margin

    async def acquire(self) -> float:
        """Wait for a free slot, take it, and return the time (to hand to :meth:`observe`).

        Waiters are served first come, first served.
        """
        async with self._lock:
            while True:
                wait = self.time_until_free()
                if wait <= 0:
                    self._in_flight += 1
                    return self._clock()
                if math.isinf(wait):
                    # Every slot is held by a request in flight: wait for one to finish.
                    self._released = self._released or asyncio.Event()
                    self._released.clear()
                    await self._released.wait()
                else:
                    await self._sleep(wait)

    def forgo(self) -> None:
        """A slot taken with :meth:`acquire` was not used after all: nothing was sent."""
        self._in_flight = max(0, self._in_flight - 1)
        if self._released is not None:
            self._released.set()

    def release(self) -> None:
        """A request taken with :meth:`acquire` finished: its slot ages from now."""
        self._in_flight = max(0, self._in_flight - 1)
        self._done.append(self._clock())
        if self._released is not None:
            self._released.set()

    def observe(self, headers: Mapping[str, str], sent_at: float) -> None:
        """Adapt to the rate-limit headers of the answer to a request sent at ``sent_at``."""
        self.daily = _header_int(headers, H_DAILY) or self.daily
        daily_remaining = _header_int(headers, H_DAILY_REMAINING)
        if daily_remaining is not None:
            self.daily_remaining = daily_remaining
        remaining = _header_int(headers, H_REMAINING)
        if remaining is not None:
            self.remaining = remaining
        server_max = _header_int(headers, H_MAX)
        if server_max is not None and server_max > 0:
            self.server_max = server_max
        if not self._adapt:
            return
        interval = _header_int(headers, H_INTERVAL)
        if interval is not None and interval > 0:
            self.window = interval / 1000.0
            self._from_headers = True
        if server_max is not None and server_max > 0:
            self.max_requests = (
                server_max if self._configured is None else min(self._configured, server_max)
            )
            self._from_headers = True
        if server_max is not None and remaining is not None:
            self._count_external(server_max - remaining, sent_at)

    def _count_external(self, used: int, sent_at: float) -> None:
        # HubSpot counted ``used`` requests in its window when this one arrived. Any request
        # of ours in flight, or finished since one window before this one left, could be
        # among them; only what exceeds that came from someone else.
        now = self._clock()
        self._purge(now)
        earliest = sent_at - self.window
        ours = self._in_flight + sum(
            1 for queue in (self._done, self._earlier) for t in queue if t >= earliest
        )
        external = used - ours - len(self._external)
        for _ in range(max(0, external)):
            self._external.append(now)

    def note_earlier(self, ages: Sequence[float]) -> None:
        """Requests of earlier runs of hsprefs whose answers came ``ages`` seconds ago:
        hsprefs's own traffic, not others'. Those HubSpot counted in an answer already
        seen were taken for others' then; they are moved back."""
        now = self._clock()
        times = [now - age for age in ages if age >= 0]
        self._earlier = deque(sorted([*self._earlier, *times]))
        self._purge(now)
        for _ in range(min(len(self._earlier), len(self._external))):
            self._external.pop()

    def own_ages(self) -> list[float]:
        """How many seconds ago this client's finished requests of the current window
        were answered (a later run leaves them out of others' traffic)."""
        now = self._clock()
        self._purge(now)
        return [now - t for t in self._done]

    def hold(self, seconds: float) -> None:
        """Stop every sender for ``seconds`` (HubSpot answered 429) and widen the margin."""
        self._hold_until = max(self._hold_until, self._clock() + max(0.0, seconds))
        self.margin = min(self.window / 4, max(0.05, self.margin * 2))
