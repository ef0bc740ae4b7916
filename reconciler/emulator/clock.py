"""Time for the emulator: HubSpot's timestamp format and a clock that never repeats itself.

Every write gets a timestamp strictly later than the one before, so two writes to the
same status within one millisecond still read back as two different moments (plan's
stale check compares timestamps).
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

__all__ = ["Clock", "format_ts", "parse_ts"]


def format_ts(moment: datetime) -> str:
    """``2026-03-01T10:00:00.000Z``: UTC with milliseconds, as HubSpot writes them."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_ts(value: object) -> datetime:
    """Read a timestamp from a seed: a datetime, a date, or an ISO 8601 string.

    Raises ValueError with a short reason when ``value`` is none of these.
    """
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"not an ISO 8601 date-time: {value!r}") from None
    else:
        raise ValueError(f"expected a date-time, got {type(value).__name__}")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


class Clock:
    """Hands out write timestamps in strictly increasing milliseconds (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = datetime(1970, 1, 1, tzinfo=UTC)

    def now(self) -> datetime:
        """The current UTC time, without the uniqueness guarantee (for envelopes)."""
        return datetime.now(UTC)

    def tick(self) -> str:
        """A formatted timestamp later than every one handed out before."""
        with self._lock:
            now = datetime.now(UTC)
            moment = now.replace(microsecond=now.microsecond // 1000 * 1000)
            if moment <= self._last:
                moment = self._last + timedelta(milliseconds=1)
            self._last = moment
            return format_ts(moment)
