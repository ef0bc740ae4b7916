"""What the emulator saw: request counts and the log of write inputs received.

Tests and benchmarks read these through ``GET /_emulator/requests`` and
``GET /_emulator/writes`` to count calls by operation name and to see exactly which
inputs reached the server, whatever became of the call: applied, refused per input,
refused as a whole (a 400, 401, 403 or 429), or hit by an injected fault. Only HubSpot
paths are recorded, never the admin surface. Kept in memory (a restart starts from
zero).
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["PendingWrite", "Recorder"]


@dataclass(frozen=True, slots=True)
class PendingWrite:
    """One write input of a call still being answered, and what became of it.

    ``outcome``: "applied", "failed" (refused on its own), "not_applied" (the lying
    server) or "refused" (the whole call was refused before the input was looked at).
    """

    brand: int | None
    input: Any
    outcome: str
    detail: str


def _json_safe(value: Any) -> Any:
    """A copy of ``value`` that any JSON encoder writes as UTF-8.

    A request can carry what JSON allows but UTF-8 cannot hold (lone surrogates from
    ``\\ud800`` escapes) or what strict JSON cannot write (NaN); the log keeps such
    parts as visible escapes rather than failing ``GET /_emulator/writes``.
    """
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict):
        return {_json_safe(str(k)): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    return value


class Recorder:
    """Request counters and the write log (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_operation: Counter[str] = Counter()
        self._by_status: Counter[str] = Counter()
        self._by_version: Counter[str] = Counter()
        self._pairs: dict[str, Counter[str]] = {}
        self._writes: list[dict[str, Any]] = []
        self._calls = 0

    def count(self, operation: str, version: str, status: str) -> None:
        """Record one request and the status code it was answered with."""
        with self._lock:
            self._by_operation[operation] += 1
            self._by_status[status] += 1
            self._by_version[version] += 1
            self._pairs.setdefault(operation, Counter())[status] += 1

    def log_call(
        self,
        entries: Sequence[PendingWrite],
        *,
        operation: str,
        version: str,
        at: str,
        status: int,
        fault: str | None,
    ) -> None:
        """Record the write inputs of one call, together, under one call number.

        ``status`` is the HTTP status the call was answered with (a dropped connection
        keeps the status it was sending; ``fault`` says "drop"); ``fault`` the injected
        fault that hit the call, if any. Each entry's ``applied`` says whether its change
        is in the state now.
        """
        if not entries:
            return
        with self._lock:
            self._calls += 1
            for entry in entries:
                self._writes.append(
                    {
                        "seq": len(self._writes) + 1,
                        "at": at,
                        "operation": operation,
                        "version": version,
                        "brand": entry.brand,
                        "input": _json_safe(entry.input),
                        "outcome": entry.outcome,
                        "detail": _json_safe(entry.detail),
                        "call": self._calls,
                        "status": status,
                        "applied": entry.outcome == "applied",
                        "fault": fault,
                    }
                )

    def requests_json(self) -> dict[str, Any]:
        """Counts as ``GET /_emulator/requests`` returns them."""
        with self._lock:
            return {
                "total": sum(self._by_operation.values()),
                "by_operation": dict(sorted(self._by_operation.items())),
                "by_status": dict(sorted(self._by_status.items())),
                "by_version": dict(sorted(self._by_version.items())),
                "by_operation_status": {
                    op: dict(sorted(counts.items())) for op, counts in sorted(self._pairs.items())
                },
            }

    def writes_json(self) -> dict[str, Any]:
        """The write log as ``GET /_emulator/writes`` returns it."""
        with self._lock:
            return {"writes": [dict(w) for w in self._writes]}

    def clear_requests(self) -> None:
        """Zero the request counters."""
        with self._lock:
            self._by_operation.clear()
            self._by_status.clear()
            self._by_version.clear()
            self._pairs.clear()

    def clear_writes(self) -> None:
        """Empty the write log (call numbers start again from 1)."""
        with self._lock:
            self._writes.clear()
            self._calls = 0
