"""Rate limits: a rolling window per token and a daily cap per portal, with HubSpot's
headers.

Every authenticated request counts. Over the window's limit the answer is a 429 with
``policyName: TEN_SECONDLY_ROLLING``; over the daily cap, ``DAILY``. The daily cap
counts every request to the portal, whichever token sent it, and resets at midnight in
the portal's time zone (HubSpot's documented reset). A refused request does not count,
so a client that waits gets through. Headers ``X-HubSpot-RateLimit-Max``, ``-Remaining``
and ``-Interval-Milliseconds`` are sent while the window limit is on, ``-Daily`` and
``-Daily-Remaining`` while the cap is on. Time comes from two replaceable clocks
(``monotonic`` for the window, ``utcnow`` for the day), so tests roll a window or a day
by moving a clock rather than by waiting.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from reconciler.emulator.knobs import EmulatorSettings
from reconciler.emulator.wire import HubSpotError

__all__ = ["Decision", "RateLimiter", "rate_limit_error"]

ROLLING = "TEN_SECONDLY_ROLLING"
DAILY = "DAILY"


@dataclass
class Decision:
    """Whether a request may go on, the policy that refused it, and the headers to send."""

    allowed: bool
    headers: dict[str, str] = field(default_factory=dict)
    policy: str | None = None
    wait_seconds: float = 0.0


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _zone(name: str) -> tzinfo:
    """The portal's time zone; UTC when this machine does not know it."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


# The key of the daily count: one emulator is one portal.
_PORTAL = "portal"


class RateLimiter:
    """Counts requests per token (thread-safe).

    ``monotonic`` (seconds) measures the rolling window and ``utcnow`` decides the UTC
    day; both are attributes, so a test can swap in a clock it moves by hand.
    """

    def __init__(
        self,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        utcnow: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.monotonic = monotonic
        self.utcnow = utcnow
        self._lock = threading.Lock()
        self._hits: dict[str, deque[float]] = {}
        self._daily: dict[str, tuple[str, int]] = {}

    def reset(self) -> None:
        """Forget every count."""
        with self._lock:
            self._hits.clear()
            self._daily.clear()

    def daily_used(self, token: str, *, time_zone: str = "UTC") -> int:
        """Requests made to the portal today, in its time zone (every token's: ``token``
        is accepted for the callers' sake)."""
        del token
        with self._lock:
            day, used = self._daily.get(_PORTAL, ("", 0))
            return used if day == self._today(time_zone) else 0

    def hit(self, token: str, settings: EmulatorSettings, *, time_zone: str = "UTC") -> Decision:
        """Count one request of ``token``, or refuse it when a limit is reached; the day
        of the daily cap is the portal's (``time_zone``)."""
        now = self.monotonic()
        window = settings.rate_window_ms / 1000
        today = self._today(time_zone)
        with self._lock:
            hits = self._hits.setdefault(token, deque())
            while hits and hits[0] <= now - window:
                hits.popleft()
            day, used = self._daily.get(_PORTAL, (today, 0))
            if day != today:
                used = 0
            policy: str | None = None
            wait = 0.0
            if settings.daily_limit and used >= settings.daily_limit:
                policy, wait = DAILY, self._seconds_to_midnight(time_zone)
            elif settings.rate_limit and len(hits) >= settings.rate_limit:
                policy, wait = ROLLING, max(hits[0] + window - now, 0.001)
            else:
                hits.append(now)
                used += 1
                self._daily[_PORTAL] = (today, used)
            headers = _headers(settings, len(hits), used)
        return Decision(policy is None, headers, policy, wait)

    def _today(self, time_zone: str) -> str:
        return self.utcnow().astimezone(_zone(time_zone)).date().isoformat()

    def _seconds_to_midnight(self, time_zone: str) -> float:
        now = self.utcnow().astimezone(_zone(time_zone))
        midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        return (midnight - now).total_seconds()


def _headers(settings: EmulatorSettings, in_window: int, used_today: int) -> dict[str, str]:
    headers: dict[str, str] = {}
    if settings.rate_limit:
        headers["X-HubSpot-RateLimit-Max"] = str(settings.rate_limit)
        headers["X-HubSpot-RateLimit-Remaining"] = str(max(settings.rate_limit - in_window, 0))
        headers["X-HubSpot-RateLimit-Interval-Milliseconds"] = str(settings.rate_window_ms)
    if settings.daily_limit:
        headers["X-HubSpot-RateLimit-Daily"] = str(settings.daily_limit)
        headers["X-HubSpot-RateLimit-Daily-Remaining"] = str(
            max(settings.daily_limit - used_today, 0)
        )
    return headers


def rate_limit_error(
    policy: str, wait_seconds: float, settings: EmulatorSettings, headers: dict[str, str]
) -> HubSpotError:
    """The 429 HubSpot sends for ``policy``, with ``Retry-After`` as settings say."""
    out = dict(headers)
    retry = settings.retry_after
    if retry == "auto":
        out["Retry-After"] = str(max(1, math.ceil(wait_seconds)))
    elif retry is not None:
        out["Retry-After"] = str(retry)
    name = "daily" if policy == DAILY else "ten_secondly_rolling"
    return HubSpotError(
        429,
        "RATE_LIMITS",
        f"You have reached your {name} limit.",
        headers=out,
        extra={
            "errorType": "RATE_LIMIT",
            "policyName": policy,
            "groupName": "publicapi:private-app:emulator",
        },
    )
