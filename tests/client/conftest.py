"""Helpers for the client tests: hand-built HubSpot answers over httpx.MockTransport.

The fixtures here are written from HubSpot's OpenAPI specs and reference pages
(``../shared/hubspot-openapi``, ``../shared/seeds``), not from the emulator, so a
misreading shared by client and emulator cannot hide.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
import pytest

from reconciler.client import HubSpotClient, RateLimiter, RetryPolicy
from reconciler.settings import ApiSettings

T = TypeVar("T")

TOKEN = "pat-na1-11111111-2222-3333-4444-555555555555"
PREFIX = "/communication-preferences/2026-03"
STAMP = "2026-05-04T10:11:12.345Z"


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run one coroutine to completion on a fresh event loop."""
    return asyncio.run(coro)


class FakeTime:
    """A clock that only moves when someone sleeps on it; records every sleep."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(0.0, seconds)
        await asyncio.sleep(0)


def make_settings(**overrides: Any) -> ApiSettings:
    values: dict[str, Any] = {
        "api_url": "https://api.hubapi.com",
        "api_version": "2026-03",
        "token": TOKEN,
        "rate_limit": None,
        "batch_size": 100,
        "concurrency": 8,
    }
    values.update(overrides)
    return ApiSettings(**values)


Reply = httpx.Response | Exception
Handler = Callable[[httpx.Request], Reply]


@dataclass
class Seen:
    """One request the fake server received."""

    method: str
    path: str
    params: dict[str, str]
    body: Any
    headers: httpx.Headers


@dataclass
class FakeHubSpot:
    """A MockTransport server: answers from a queue of replies or from a handler."""

    handler: Handler | None = None
    replies: list[Reply] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        self.seen.append(
            Seen(
                request.method,
                request.url.path,
                dict(request.url.params),
                body,
                request.headers,
            )
        )
        reply: Reply
        if self.replies:
            reply = self.replies.pop(0)
        elif self.handler is not None:
            reply = self.handler(request)
        else:
            raise AssertionError(f"unexpected request {request.method} {request.url.path}")
        if isinstance(reply, Exception):
            raise reply
        return reply

    def paths(self) -> list[str]:
        return [f"{s.method} {s.path}" for s in self.seen]


def make_client(
    server: FakeHubSpot,
    *,
    time: FakeTime | None = None,
    max_attempts: int = 4,
    on_progress: Callable[[int], None] | None = None,
    **settings: Any,
) -> HubSpotClient:
    """A client over ``server`` whose waits (limiter and retries) are instant."""
    fake = time or FakeTime()
    return HubSpotClient.from_settings(
        make_settings(**settings),
        transport=httpx.MockTransport(server),
        retry=RetryPolicy(
            max_attempts=max_attempts, jitter=0.0, sleep=fake.sleep, clock=fake.clock
        ),
        limiter=RateLimiter(
            max_requests=settings.get("rate_limit"), clock=fake.clock, sleep=fake.sleep
        ),
        on_progress=on_progress,
    )


def reply(
    status: int = 200, body: Any = None, headers: dict[str, str] | None = None
) -> httpx.Response:
    """A JSON answer."""
    return httpx.Response(status, json=body, headers=headers)


def envelope(results: Iterable[Any], *, status: str = "COMPLETE", **extra: Any) -> dict[str, Any]:
    """A batch envelope as the specs describe it."""
    body: dict[str, Any] = {
        "status": status,
        "results": list(results),
        "startedAt": STAMP,
        "completedAt": STAMP,
        "requestedAt": STAMP,
        "links": {},
    }
    body.update(extra)
    return body


def public_status(
    email: str, sub_id: int, status: str = "SUBSCRIBED", **extra: Any
) -> dict[str, Any]:
    """A ``PublicStatus`` with every required field."""
    item: dict[str, Any] = {
        "channel": "EMAIL",
        "source": "PORTAL",
        "status": status,
        "subscriberIdString": email,
        "subscriptionId": sub_id,
        "timestamp": STAMP,
    }
    item.update(extra)
    return item


def wide_status(email: str, status: str = "UNSUBSCRIBED", **extra: Any) -> dict[str, Any]:
    """A ``PublicWideStatus`` with every required field."""
    item: dict[str, Any] = {
        "channel": "EMAIL",
        "status": status,
        "subscriberIdString": email,
        "timestamp": STAMP,
        "wideStatusType": "BUSINESS_UNIT_WIDE",
    }
    item.update(extra)
    return item


def standard_error(message: str, **extra: Any) -> dict[str, Any]:
    """A ``StandardError`` as batch envelopes carry them."""
    item: dict[str, Any] = {
        "status": "error",
        "category": "VALIDATION_ERROR",
        "message": message,
        "context": {},
        "errors": [],
        "links": {},
    }
    item.update(extra)
    return item


def error_body(category: str, message: str, **extra: Any) -> dict[str, Any]:
    """A top-level error answer (spec ``Error``)."""
    item: dict[str, Any] = {
        "status": "error",
        "message": message,
        "correlationId": "aeb5f871-7f07-4993-9211-075dc63e7cbf",
        "category": category,
    }
    item.update(extra)
    return item


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


def read_handler(
    statuses: dict[str, list[dict[str, Any]]] | None = None,
    wide: dict[str, list[dict[str, Any]]] | None = None,
) -> Handler:
    """Answers both batch reads for whatever emails are asked, from the given tables."""
    statuses = statuses or {}
    wide = wide or {}

    def handle(request: httpx.Request) -> httpx.Response:
        inputs = json.loads(request.content)["inputs"]
        if request.url.path.endswith("/statuses/batch/unsubscribe-all/read"):
            rows = [{"subscriberIdString": e, "wideStatuses": wide.get(e, [])} for e in inputs]
            return reply(200, envelope(rows))
        if request.url.path.endswith("/statuses/batch/read"):
            rows = [{"subscriberIdString": e, "statuses": statuses.get(e, [])} for e in inputs]
            return reply(200, envelope(rows))
        raise AssertionError(f"unexpected request {request.url.path}")

    return handle
