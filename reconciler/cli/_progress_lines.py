"""Progress for a stderr that is no terminal (a CI log): one plain line at a time.

A progress bar redraws itself with escape codes, which a log file keeps as garbage, so
off a terminal :class:`ProgressLines` prints a line such as
``Reading HubSpot: 4000 of 40000 (10%) after 12 s`` each time another 10% is done, and
every 30 s while nothing moves (a long rate-limit wait), so a CI log is never silent for
minutes. An operation that ends within its first few seconds prints nothing: a short
read needs no progress, and a log stays the command's output.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

__all__ = ["GRACE", "INTERVAL", "ProgressLines"]

GRACE = 5.0  # seconds before the first line may be printed
INTERVAL = 30.0  # a line at least this often while the operation runs
STEP = 10  # percent between two lines


def _elapsed(seconds: float) -> str:
    whole = int(seconds)
    if whole < 60:
        return f"{whole} s"
    return f"{whole // 60}m{whole % 60:02d}s"


class ProgressLines:
    """Progress over ``total`` items as lines on ``stream``; ``advance(n)`` is thread-safe
    and ``close()`` stops the timer. ``clock``, ``grace``, ``interval`` and ``poll`` (how
    often the timer looks) are for tests."""

    def __init__(
        self,
        label: str,
        total: int,
        stream: Any,
        *,
        clock: Callable[[], float] = time.monotonic,
        grace: float | None = None,
        interval: float | None = None,
        poll: float = 1.0,
    ) -> None:
        self._label = label
        self._total = max(1, total)
        self._stream = stream
        self._clock = clock
        self._grace = GRACE if grace is None else grace
        self._interval = INTERVAL if interval is None else interval
        self._poll = poll
        self._lock = threading.Lock()
        self._done = 0
        self._step = 0  # the last multiple of STEP percent reached
        self._started = self._last = clock()
        self._stop = threading.Event()
        self._timer = threading.Thread(target=self._tick, name="hsprefs-progress", daemon=True)
        self._timer.start()

    def advance(self, count: int) -> None:
        with self._lock:
            self._done = min(self._total, self._done + count)
            reached = self._done * 100 // self._total // STEP * STEP
            if reached > self._step:
                self._step = reached
                if self._clock() - self._started >= self._grace:
                    self._write()

    def close(self) -> None:
        self._stop.set()
        self._timer.join()

    def _tick(self) -> None:
        while not self._stop.wait(self._poll):
            with self._lock:
                now = self._clock()
                if now - self._started >= self._grace and now - self._last >= self._interval:
                    self._write()

    def _write(self) -> None:
        # Called with the lock held, so lines never interleave.
        now = self._clock()
        percent = self._done * 100 // self._total
        line = (
            f"{self._label}: {self._done} of {self._total} ({percent}%) "
            f"after {_elapsed(now - self._started)}\n"
        )
        try:
            self._stream.write(line)
            self._stream.flush()
        except (OSError, ValueError):
            pass  # a closed or full stderr must not break the run
        self._last = now
