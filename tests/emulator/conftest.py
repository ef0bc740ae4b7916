"""Fixtures for the emulator tests: in-process clients of emulators built per test.

``emulator(**settings)`` builds an app and returns a :class:`~.helpers.SyncClient` that
already sends the demo token. Every answer is judged against HubSpot's response schemas
by the suite-wide plugin (``tests/conformance/judging.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal

from reconciler.emulator import EmulatorSettings, create_app

from .helpers import AUTH, EXAMPLE_SEED, SyncClient


@pytest.fixture(scope="session")
def portal() -> Iterator[BlockingPortal]:
    """One event loop in a thread, shared by every in-process client."""
    with start_blocking_portal(backend="asyncio") as running:
        yield running


@pytest.fixture
def emulator(portal: BlockingPortal) -> Iterator[Callable[..., SyncClient]]:
    """Build in-process emulators: ``emulator(rate_limit=0, ...) -> SyncClient``."""
    clients: list[SyncClient] = []

    def build(*, auth: bool = True, **settings: Any) -> SyncClient:
        settings.setdefault("rate_limit", 0)
        app = create_app(EmulatorSettings(**settings))
        client = SyncClient(app, portal, AUTH if auth else None)
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.close()


@pytest.fixture
def client(emulator: Callable[..., SyncClient]) -> SyncClient:
    """An emulator with the built-in demo portal and the rate limit off."""
    return emulator()


@pytest.fixture
def seeded(emulator: Callable[..., SyncClient]) -> SyncClient:
    """An emulator seeded with examples/emulator-seed.yaml."""
    return emulator(seed=EXAMPLE_SEED)
