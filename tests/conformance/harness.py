"""The conformance suite's test bench: seeded emulators whose every answer is recorded.

:class:`Bench` builds emulator apps wrapped in :class:`~.recorder.Recording`, served
in-process or on a real socket; every exchange of every app it built lands in
``bench.exchanges``, and :meth:`Bench.verdicts` judges them all against HubSpot's
specs. :class:`Api` is a small in-process client of one emulator under one version.
:data:`SEED` is the portal the suite runs against: two brands, a definition with
translations, an inactive one, tokens with narrow scopes, statuses with and without a
legal basis, and an opt-out of all.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from contextlib import ExitStack
from datetime import UTC, datetime
from typing import Any

import httpx

from reconciler.emulator import DEFAULT_TOKEN, EmulatorSettings, create_app, serve_in_thread

from .openapi import Exchange, Spec, Verdict, judge
from .recorder import Recording

__all__ = [
    "BATCH_READ_TOKEN",
    "READ_TOKEN",
    "SEED",
    "SINGLE_BRAND_SEED",
    "Api",
    "Bench",
    "InProcessClient",
]

_NOON = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
READ_TOKEN = "conformance-read-only"
BATCH_READ_TOKEN = "conformance-batch-read"
_CREATED = "2024-02-01T08:00:00Z"
_UPDATED = "2025-05-01T08:00:00Z"


def _definition(id_: str, brand: int, name: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": id_,
        "business_unit": brand,
        "name": name,
        "description": f"{name}, for the conformance suite.",
        "purpose": "Marketing",
        "communication_method": "Email",
        "created_at": _CREATED,
        "updated_at": _UPDATED,
        **extra,
    }


SEED: Mapping[str, Any] = {
    "version": 1,
    "portal": {"id": 424242, "gdpr": True, "created_at": "2024-01-01T00:00:00Z"},
    "brands": [{"id": 0, "name": "Account"}, {"id": 5, "name": "Outdoor"}],
    "definitions": [
        _definition(
            "101",
            0,
            "Newsletter",
            translations=[
                {
                    "language": "de",
                    "name": "Rundbrief",
                    "description": "Unser monatlicher Rundbrief.",
                    "created_at": 1706774400000,
                    "updated_at": 1714550400000,
                }
            ],
        ),
        _definition("102", 0, "Product Updates"),
        _definition("104", 0, "Print Catalogue", active=False),
        _definition("201", 5, "Outdoor News"),
        _definition("202", 5, "Outdoor Offers"),
    ],
    "tokens": [
        {"token": DEFAULT_TOKEN, "name": "full", "scopes": "all"},
        {"token": READ_TOKEN, "name": "read only", "scopes": ["communication_preferences.read"]},
        {
            "token": BATCH_READ_TOKEN,
            "name": "batch read",
            "scopes": ["communication_preferences.statuses.batch.read"],
        },
    ],
    "statuses": [
        {
            "email": "alice@example.com",
            "subscription": "101",
            "status": "SUBSCRIBED",
            "timestamp": "2026-01-15T09:00:00Z",
            "source": "Website signup form",
            "legal_basis": "CONSENT_WITH_NOTICE",
            "legal_basis_explanation": "Signed up on the website",
        },
        {
            "email": "bob@example.com",
            "subscription": "102",
            "status": "UNSUBSCRIBED",
            "timestamp": "2026-02-01T10:00:00Z",
            "source": "Unsubscribe link",
        },
    ],
    "opt_outs": [
        {
            "email": "dora@example.com",
            "business_unit": 5,
            "timestamp": "2026-03-01T12:00:00Z",
            "source": "Preference centre",
        }
    ],
}

# A portal without brands: an opt-out of all there is PORTAL_WIDE.
SINGLE_BRAND_SEED: Mapping[str, Any] = {
    "version": 1,
    "portal": {"id": 515151, "gdpr": False, "created_at": "2024-01-01T00:00:00Z"},
    "brands": [{"id": 0, "name": "Account"}],
    "definitions": [_definition("301", 0, "Digest")],
    "tokens": [{"token": DEFAULT_TOKEN, "name": "full", "scopes": "all"}],
    "statuses": [],
    "opt_outs": [
        {
            "email": "olga@example.com",
            "business_unit": 0,
            "timestamp": "2026-04-01T12:00:00Z",
            "source": "Preference centre",
        }
    ],
}


class InProcessClient:
    """A synchronous httpx client of an ASGI app, on a private event loop.

    (Starlette's ``TestClient`` warns that its httpx support is deprecated, and the
    suite runs with warnings as errors.)
    """

    def __init__(self, app: Recording, headers: Mapping[str, str] | None = None) -> None:
        self.app = app
        self._loop = asyncio.new_event_loop()
        self._client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://emulator.invalid",
            headers=dict(headers or {}),
        )

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """Send one request and wait for the whole answer."""
        return self._loop.run_until_complete(self._client.request(method, url, **kwargs))

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def close(self) -> None:
        """Close the client, its loop, and the emulator's database."""
        self._loop.run_until_complete(self._client.aclose())
        self._loop.close()
        self.app.state.emulator.close()


class Api:
    """An in-process client of one recorded emulator, speaking one API version."""

    def __init__(self, client: InProcessClient, version: str) -> None:
        self.client = client
        self.version = version

    @property
    def prefix(self) -> str:
        return f"/communication-preferences/{self.version}"

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        """GET ``path`` under this version's prefix."""
        return self.client.get(self.prefix + path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        """POST ``path`` under this version's prefix."""
        return self.client.post(self.prefix + path, **kwargs)

    def fault(self, kind: str, operation: str | None = None, count: int = 1) -> None:
        """Queue a scripted fault through the admin surface."""
        answer = self.client.post(
            "/_emulator/faults", json={"kind": kind, "operation": operation, "count": count}
        )
        assert answer.status_code == 200, answer.text


class Bench:
    """Builds recorded emulators; judges everything they answered."""

    def __init__(self) -> None:
        self.exchanges: list[Exchange] = []
        self._clients: list[InProcessClient] = []
        self._servers = ExitStack()

    def app(self, **settings: Any) -> Recording:
        """A recorded emulator app (rate limit off and the suite's seed unless given)."""
        settings.setdefault("rate_limit", 0)
        settings.setdefault("seed", SEED)
        app = create_app(EmulatorSettings(**settings))
        # Time stands still for the limiter: a window or a day never rolls in the middle
        # of a scenario because the machine was slow or the clock passed midnight.
        limiter = app.state.emulator.limiter
        limiter.monotonic = lambda: 1000.0
        limiter.utcnow = lambda: _NOON
        return Recording(app, self.exchanges)

    def api(
        self, version: str = "2026-03", *, token: str | None = DEFAULT_TOKEN, **settings: Any
    ) -> Api:
        """An in-process client of a fresh recorded emulator; ``token=None`` sends none."""
        headers = {"Authorization": f"Bearer {token}"} if token else None
        client = InProcessClient(self.app(**settings), headers)
        self._clients.append(client)
        return Api(client, version)

    def serve(self, **settings: Any) -> str:
        """A recorded emulator on a real socket (127.0.0.1, a free port); its base URL."""
        return self._servers.enter_context(serve_in_thread(app=self.app(**settings)))

    def close(self) -> None:
        """Stop every client, server and emulator this bench built."""
        while self._clients:
            self._clients.pop().close()
        self._servers.close()

    def verdicts(self, specs: Mapping[str, Spec]) -> list[Verdict]:
        """Every recorded exchange, judged."""
        return [judge(exchange, specs) for exchange in self.exchanges]

    def problems(self, specs: Mapping[str, Spec]) -> list[str]:
        """Every exchange that is off-spec, described."""
        return [v.describe() for v in self.verdicts(specs) if v.problems]
