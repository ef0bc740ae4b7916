"""One running emulator: its settings, store, portal semantics, limiter, faults and
counters, and the waits it makes (latency, the "slow" fault).

The request pipeline (:mod:`reconciler.emulator.app`), the handlers (through
:class:`~reconciler.emulator.invocation.Invocation`) and the admin surface
(:mod:`reconciler.emulator.admin`) all work on the :class:`Emulator` of this module,
which knows none of them.
"""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from reconciler.emulator._seedcheck import load_seed
from reconciler.emulator.auth import accepted_tokens
from reconciler.emulator.clock import Clock, format_ts
from reconciler.emulator.faults import FaultInjector
from reconciler.emulator.knobs import DEFAULT_TOKEN, EmulatorSettings
from reconciler.emulator.limiter import RateLimiter
from reconciler.emulator.portal import Portal
from reconciler.emulator.recorder import Recorder
from reconciler.emulator.seed import Seed
from reconciler.emulator.store import Store

__all__ = ["Emulator"]


class Emulator:
    """One running emulator: settings, store, semantics, limiter, faults and counters."""

    def __init__(self, settings: EmulatorSettings) -> None:
        seed = load_seed(settings.seed)
        self.initial_settings = settings
        self.settings = settings
        self.store = Store(os.fspath(settings.db))
        self.seed_applied = self.store.is_empty()
        try:
            if self.seed_applied:
                self.store.load(seed)
        except BaseException:
            self.store.close()
            raise
        self.clock = Clock()
        self.portal = Portal(self.store, self.clock)
        self.limiter = RateLimiter()
        self.faults = FaultInjector(settings.fault_seed)
        self.recorder = Recorder()
        self._latency_rng = random.Random()  # noqa: S311 - jitter, not cryptography
        # Every deliberate wait (latency, the "slow" fault) goes through here, so tests
        # can record the waits instead of spending them.
        self.sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
        self.tokens = self._tokens()

    def _tokens(self) -> dict[str, frozenset[str]]:
        settings = self.settings
        tier = settings.tier or self.portal.view.seed.tier
        return accepted_tokens(
            self.portal.view.tokens,
            settings.token,
            DEFAULT_TOKEN,
            scopes=settings.token_scopes,
            enterprise=tier == "enterprise",
        )

    @property
    def token(self) -> str:
        """The token the contract line prints: --token, else the seed's first, else default."""
        if self.settings.token:
            return self.settings.token
        seeded = self.portal.view.seed.tokens
        return seeded[0].token if seeded else DEFAULT_TOKEN

    def close(self) -> None:
        """Close the database."""
        self.store.close()

    def load(self, seed: Seed) -> None:
        """Replace all state with ``seed`` (it becomes what reset returns to)."""
        self.store.load(seed)
        self.portal.refresh()
        self.tokens = self._tokens()
        self.limiter.reset()

    def reset(self) -> None:
        """Back to the start: base seed, startup settings, empty counters and queues."""
        self.settings = self.initial_settings
        self.store.reset()
        self.portal.refresh()
        self.tokens = self._tokens()
        self.limiter.reset()
        self.faults.reseed(self.settings.fault_seed)
        self.recorder.clear_requests()
        self.recorder.clear_writes()

    def update_settings(self, changes: dict[str, Any]) -> EmulatorSettings:
        """Apply run-time setting changes; a new fault_seed restarts the fault sequence."""
        self.settings = self.settings.update(changes)
        if "fault_seed" in changes:
            self.faults.reseed(self.settings.fault_seed)
        return self.settings

    def clock_now(self) -> str:
        """Now, formatted (for envelopes)."""
        return format_ts(self.clock.now())

    def next_midnight(self) -> str:
        """The next midnight in the portal's time zone, when the daily cap resets."""
        try:
            zone: Any = ZoneInfo(self.portal.view.seed.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            zone = UTC
        now = self.clock.now().astimezone(zone)
        midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        return format_ts(midnight.astimezone(UTC))

    def utc_offset_ms(self) -> int:
        """The portal time zone's current UTC offset (0 when the zone is unknown here)."""
        try:
            offset = datetime.now(ZoneInfo(self.portal.view.seed.time_zone)).utcoffset()
        except (ZoneInfoNotFoundError, ValueError):
            return 0
        return int(offset.total_seconds() * 1000) if offset is not None else 0

    async def pause(self) -> None:
        """Wait the configured latency, with jitter."""
        settings = self.settings
        if settings.latency_ms <= 0:
            return
        jitter = settings.jitter_ms
        delay = settings.latency_ms + self._latency_rng.uniform(-jitter, jitter)
        await self.sleep(max(delay, 0) / 1000)
