"""What the emulator saw: request counts and the log of write inputs received.

Tests and benchmarks read these through ``GET /_emulator/requests`` and
``GET /_emulator/writes`` to count calls by operation name and to see exactly which
inputs reached the server. Only HubSpot paths are recorded, never the admin surface.
Kept in memory (a restart starts from zero). Imports only the standard library.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

__all__ = ["Recorder"]


class Recorder:
    """Request counters and the write log (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_operation: Counter[str] = Counter()
        self._by_status: Counter[str] = Counter()
        self._by_version: Counter[str] = Counter()
        self._pairs: dict[str, Counter[str]] = {}
        self._writes: list[dict[str, Any]] = []

    def count(self, operation: str, version: str, status: str) -> None:
        """Record one request and the status code it was answered with."""
        with self._lock:
            self._by_operation[operation] += 1
            self._by_status[status] += 1
            self._by_version[version] += 1
            self._pairs.setdefault(operation, Counter())[status] += 1

    def log_write(
        self,
        *,
        operation: str,
        version: str,
        brand: int | None,
        input: Any,
        outcome: str,
        detail: str,
        at: str,
    ) -> None:
        """Record one write input (a status input, or an email of an unsubscribe-all).

        ``outcome`` is "applied", "failed" or "not_applied" (the lying-server fault);
        ``detail`` is the success reason or the error message.
        """
        with self._lock:
            self._writes.append(
                {
                    "seq": len(self._writes) + 1,
                    "at": at,
                    "operation": operation,
                    "version": version,
                    "brand": brand,
                    "input": input,
                    "outcome": outcome,
                    "detail": detail,
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
        """Empty the write log."""
        with self._lock:
            self._writes.clear()
