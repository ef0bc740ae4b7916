"""Injected faults: which request gets which failure, deterministically.

Two sources, scripted first: faults queued through ``POST /_emulator/faults`` (the next
matching requests get them, in order), then a random draw: with probability
``fault_rate`` a request gets one of the configured kinds that fits its operation
("pending" only calls whose answer has a status, the batch and the single-subscriber
status calls; "lie" only writes). The generator is seeded with
``fault_seed`` and makes exactly two draws per request, so the same sequence of
requests meets the same faults.
"""

from __future__ import annotations

import random
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

from reconciler.emulator.knobs import EmulatorSettings
from reconciler.emulator.operations import OperationSpec

__all__ = ["FaultInjector", "ScriptedFault", "applies"]


def applies(kind: str, spec: OperationSpec) -> bool:
    """Whether a fault kind makes sense for an operation."""
    if kind == "pending":
        return spec.batch or spec.name.startswith("statuses.")
    if kind == "lie":
        return spec.writes
    return True


@dataclass
class ScriptedFault:
    """A queued fault for the next ``count`` requests of ``operation`` (None: any)."""

    kind: str
    operation: str | None
    count: int

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "operation": self.operation, "count": self.count}


class FaultInjector:
    """Decides the fault of each request (thread-safe)."""

    def __init__(self, seed: int | None) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(seed)  # noqa: S311 - test faults, not cryptography
        self._script: deque[ScriptedFault] = deque()

    def reseed(self, seed: int | None) -> None:
        """Restart the random sequence (and drop the script)."""
        with self._lock:
            self._rng = random.Random(seed)  # noqa: S311
            self._script.clear()

    def queue(self, fault: ScriptedFault) -> None:
        """Add a scripted fault at the end of the queue."""
        with self._lock:
            self._script.append(fault)

    def scripted(self) -> list[ScriptedFault]:
        """The faults still queued."""
        with self._lock:
            return list(self._script)

    def clear_script(self) -> None:
        """Drop every queued fault."""
        with self._lock:
            self._script.clear()

    def draw(self, spec: OperationSpec, settings: EmulatorSettings) -> str | None:
        """The fault for one request of ``spec``, or None."""
        with self._lock:
            for entry in self._script:
                if entry.operation in (None, spec.name) and applies(entry.kind, spec):
                    entry.count -= 1
                    if entry.count <= 0:
                        self._script.remove(entry)
                    return entry.kind
            if settings.fault_rate <= 0:
                return None
            roll = self._rng.random()
            pick = self._rng.random()
        kinds = [k for k in settings.active_faults if applies(k, spec)]
        if roll >= settings.fault_rate or not kinds:
            return None
        return kinds[int(pick * len(kinds))]
