"""Helpers for running the client against the emulator, in-process or over a socket."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from starlette.applications import Starlette

from reconciler.client import HubSpotClient, RateLimiter, RetryPolicy
from reconciler.emulator import DEFAULT_TOKEN, EmulatorSettings, create_app

from .conftest import FakeTime, make_settings


class CountingTransport(httpx.AsyncBaseTransport):
    """Wraps a transport and records how many requests were in flight at the peak."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.in_flight = 0
        self.peak = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            return await self.inner.handle_async_request(request)
        finally:
            self.in_flight -= 1

    async def aclose(self) -> None:
        await self.inner.aclose()


@contextmanager
def emulator(**settings: Any) -> Iterator[Starlette]:
    """An in-process emulator app (closed afterwards); rate limit off unless given."""
    settings.setdefault("rate_limit", 0)
    app = create_app(EmulatorSettings(**settings))
    try:
        yield app
    finally:
        app.state.emulator.close()


def client_for(
    app: Starlette,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    fake_time: bool = True,
    max_attempts: int = 4,
    token: str = DEFAULT_TOKEN,
    **settings: Any,
) -> HubSpotClient:
    """A client over the in-process app; with ``fake_time`` no wait takes real time."""
    values: dict[str, Any] = {"api_url": "http://127.0.0.1", "token": token}
    values.update(settings)
    limiter = None
    retry = RetryPolicy.instant(max_attempts=max_attempts)
    if fake_time:
        fake = FakeTime()
        limiter = RateLimiter(
            max_requests=values.get("rate_limit"), clock=fake.clock, sleep=fake.sleep
        )
        retry = RetryPolicy(
            max_attempts=max_attempts, jitter=0.0, sleep=fake.sleep, clock=fake.clock
        )
    return HubSpotClient.from_settings(
        make_settings(**values),
        transport=transport or httpx.ASGITransport(app=app),
        retry=retry,
        limiter=limiter,
    )


async def admin(app: Starlette, method: str, path: str, body: Any = None) -> Any:
    """Call the emulator's admin surface (not counted, never limited)."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1"
    ) as http:
        response = await http.request(method, f"/_emulator/{path}", json=body)
        response.raise_for_status()
        return response.json()


async def counts(app: Starlette) -> dict[str, int]:
    """Requests per operation the emulator served."""
    data = await admin(app, "GET", "requests")
    return dict(data["by_operation"])


def calls(n: int, batch: int = 100) -> int:
    """The minimum number of batch calls for ``n`` items (docs/architecture.md#minimal-calls)."""
    return math.ceil(n / batch)
