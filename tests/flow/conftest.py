"""End-to-end fixtures: the CLI in-process against the emulator seeded from examples/."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.cli import run
from reconciler.client import RetryPolicy
from reconciler.emulator import DEFAULT_TOKEN, EmulatorSettings, create_app

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
SEED = EXAMPLES / "emulator-seed.yaml"
API_URL = "http://127.0.0.1"


@dataclass
class Result:
    code: int
    out: str
    err: str


class Hub:
    """The emulator app plus helpers to run hsprefs against it and to read its admin API."""

    def __init__(self, app: Any, capsys: pytest.CaptureFixture[str]) -> None:
        self.app = app
        self._capsys = capsys

    def hsprefs(self, *args: str) -> Result:
        self._capsys.readouterr()
        code = run(
            list(args),
            transport=httpx.ASGITransport(app=self.app),
            retry=RetryPolicy.instant(),
        )
        captured = self._capsys.readouterr()
        return Result(code, captured.out, captured.err)

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        async def go() -> Any:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url=API_URL) as client:
                response = await client.request(method, f"/_emulator/{path}", json=body)
                response.raise_for_status()
                return response.json() if response.content else None

        return asyncio.run(go())

    def api(self, method: str, path: str, body: Any = None, **params: Any) -> httpx.Response:
        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            headers = {"Authorization": f"Bearer {DEFAULT_TOKEN}"}
            async with httpx.AsyncClient(
                transport=transport, base_url=API_URL, headers=headers
            ) as client:
                return await client.request(method, path, json=body, params=params)

        return asyncio.run(go())

    def counts(self) -> dict[str, int]:
        return dict(self.admin("GET", "requests")["by_operation"])

    def reset_counts(self) -> None:
        self.admin("DELETE", "requests")

    def writes(self) -> list[dict[str, Any]]:
        return list(self.admin("GET", "writes")["writes"])


@pytest.fixture
def hub(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Hub]:
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", DEFAULT_TOKEN)
    monkeypatch.setenv("HSPREFS_API_URL", API_URL)
    monkeypatch.delenv("HSPREFS_API_VERSION", raising=False)
    monkeypatch.delenv("CI", raising=False)
    app = create_app(EmulatorSettings(seed=str(SEED), rate_limit=0))
    try:
        yield Hub(app, capsys)
    finally:
        app.state.emulator.close()


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of examples/ in a temporary folder, which is also the working directory."""
    target = tmp_path / "config"
    shutil.copytree(EXAMPLES, target, ignore=shutil.ignore_patterns("*.py", "emulator-seed.yaml"))
    monkeypatch.chdir(target)
    return target
