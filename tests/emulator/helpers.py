"""Helpers shared by the emulator tests: paths, inputs, reads, and in-process clients.

Every answer an emulator gives is judged against HubSpot's specs by the suite-wide
plugin ``tests/conformance/judging.py``; :func:`check_against_spec` hands it the answers
of an emulator running in another process.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from anyio.from_thread import BlockingPortal
from conformance.judging import record_response
from conformance.openapi import specs_dir
from starlette.applications import Starlette

from reconciler.emulator import DEFAULT_TOKEN

REPO = Path(__file__).resolve().parents[2]
SPECS = specs_dir()
EXAMPLE_SEED = REPO / "examples" / "emulator-seed.yaml"
AUTH = {"Authorization": f"Bearer {DEFAULT_TOKEN}"}
V = "/communication-preferences/2026-03"


def check_against_spec(response: httpx.Response) -> None:
    """Hand an answer of an emulator in another process to the suite's judge.

    Answers of emulators built in this process are recorded and judged without help
    (``tests/conformance/judging.py``); a subprocess's are not, so its tests pass each
    answer here. It is judged when the test ends, and an off-spec answer fails the test.
    """
    record_response(response)


def write_input(
    email: str,
    subscription: int,
    state: str,
    *,
    basis: str | None = "CONSENT_WITH_NOTICE",
    explanation: str | None = "Signed up on the website",
) -> dict[str, Any]:
    """One batch-write input; the legal basis is sent unless set to None."""
    item: dict[str, Any] = {
        "subscriberIdString": email,
        "subscriptionId": subscription,
        "statusState": state,
        "channel": "EMAIL",
    }
    if basis is not None:
        item["legalBasis"] = basis
    if explanation is not None:
        item["legalBasisExplanation"] = explanation
    return item


def statuses_of(client: SyncClient, email: str, brand: int = 0) -> dict[int, str]:
    """A subscriber's statuses in one brand, as {subscription id: status}."""
    answer = client.get(
        f"{V}/statuses/{email}", params={"channel": "EMAIL", "businessUnitId": brand}
    )
    assert answer.status_code == 200
    return {s["subscriptionId"]: s["status"] for s in answer.json()["results"]}


def opted_out(client: SyncClient, email: str, brand: int = 0) -> bool:
    """Whether a subscriber reads as opted out of all email of a brand."""
    answer = client.get(
        f"{V}/statuses/{email}/unsubscribe-all",
        params={"channel": "EMAIL", "businessUnitId": brand},
    )
    assert answer.status_code == 200
    return any(w["status"] == "UNSUBSCRIBED" for w in answer.json()["results"])


class HandClock:
    """A clock a test moves by hand: monotonic seconds and a UTC wall time.

    Installed on an emulator's rate limiter (:func:`hold_time`), it makes windows and
    days roll only when the test says so, never because the machine was slow.
    """

    def __init__(self, wall: datetime | None = None) -> None:
        self.seconds = 1000.0
        self.wall = wall or datetime(2026, 5, 1, 12, 0, tzinfo=UTC)

    def monotonic(self) -> float:
        return self.seconds

    def utcnow(self) -> datetime:
        return self.wall

    def advance(self, seconds: float) -> None:
        """Move both clocks forward by ``seconds``."""
        self.seconds += seconds
        self.wall += timedelta(seconds=seconds)


def hold_time(app: Any) -> HandClock:
    """Put the rate limiter of an emulator app on a new :class:`HandClock`."""
    clock = HandClock()
    limiter = app.state.emulator.limiter
    limiter.monotonic = clock.monotonic
    limiter.utcnow = clock.utcnow
    return clock


class SyncClient:
    """A blocking client over an in-process emulator (``httpx.ASGITransport``).

    Calls run on a shared anyio portal. ``app`` is the emulator app
    (``app.state.emulator`` is its state); ``clock`` is the hand clock its rate limiter
    runs on (time stands still until a test moves it).
    """

    def __init__(
        self, app: Starlette, portal: BlockingPortal, headers: dict[str, str] | None
    ) -> None:
        self.app = app
        self.clock = hold_time(app)
        self._portal = portal
        self._client = portal.call(self._open, headers)

    async def _open(self, headers: dict[str, str] | None) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app),
            base_url="http://127.0.0.1",
            headers=headers,
        )

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """Send one request and wait for the answer."""

        async def send() -> httpx.Response:
            return await self._client.request(method, url, **kwargs)

        return self._portal.call(send)

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", url, **kwargs)

    def close(self) -> None:
        """Close the client and the emulator's database."""
        self._portal.call(self._client.aclose)
        self.app.state.emulator.close()
