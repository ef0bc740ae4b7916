"""Running hsprefs in-process against the emulator, shared by the end-to-end suites.

``Hub.hsprefs`` runs the CLI through its single exit point with the emulator app as the
transport and instant retries, and returns the exit code and the exact stdout and
stderr. ``admin``/``counts``/``writes`` read the emulator's admin surface; ``api`` calls
HubSpot's API directly, as someone else changing the portal would.
"""

from __future__ import annotations

import asyncio
import io
import sys
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from reconciler.cli import run
from reconciler.client import RetryPolicy
from reconciler.emulator import DEFAULT_TOKEN

API_URL = "http://127.0.0.1"


def point_at_emulator(monkeypatch: pytest.MonkeyPatch, token: str = DEFAULT_TOKEN) -> None:
    """Set the environment a CLI run reads to the in-process emulator, and clear what a
    developer's or CI's own environment could add (an API version, CI's defaults)."""
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", token)
    monkeypatch.setenv("HSPREFS_API_URL", API_URL)
    monkeypatch.delenv("HSPREFS_API_VERSION", raising=False)
    monkeypatch.delenv("CI", raising=False)


@dataclass
class Result:
    code: int
    out: str
    err: str


class Hub:
    """The emulator app, and hsprefs run in-process against it."""

    def __init__(
        self, app: Any, capsys: pytest.CaptureFixture[str], *, token: str = DEFAULT_TOKEN
    ) -> None:
        self.app = app
        self.token = token
        self._capsys = capsys

    def hsprefs(self, *args: str, stdin: str | None = None) -> Result:
        self._capsys.readouterr()
        saved = None
        if stdin is not None:
            saved = sys.stdin
            sys.stdin = io.TextIOWrapper(io.BytesIO(stdin.encode("utf-8")), encoding="utf-8")
        try:
            code = run(
                list(args),
                transport=httpx.ASGITransport(app=self.app),
                retry=RetryPolicy.instant(),
            )
        finally:
            if saved is not None:
                sys.stdin = saved
        captured = self._capsys.readouterr()
        return Result(code, captured.out, captured.err)

    def _request(
        self, method: str, path: str, body: Any, params: Any, auth: bool
    ) -> httpx.Response:
        async def go() -> httpx.Response:
            headers = {"Authorization": f"Bearer {self.token}"} if auth else {}
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=self.app), base_url=API_URL, headers=headers
            ) as client:
                return await client.request(method, path, json=body, params=params)

        return asyncio.run(go())

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        response = self._request(method, f"/_emulator/{path}", body, None, auth=False)
        response.raise_for_status()
        return response.json() if response.content else None

    def api(self, method: str, path: str, body: Any = None, **params: Any) -> httpx.Response:
        return self._request(method, path, body, params, auth=True)

    def counts(self) -> dict[str, int]:
        """Requests per operation since the last reset."""
        return dict(self.admin("GET", "requests")["by_operation"])

    def reset_counts(self) -> None:
        self.admin("DELETE", "requests")

    def writes(self) -> list[dict[str, Any]]:
        return list(self.admin("GET", "writes")["writes"])
