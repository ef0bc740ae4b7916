"""`hsprefs apply` against a HubSpot that asks for absurd waits: the run ends within its
retry budget, and says why, instead of hanging."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.emulator import EmulatorSettings, create_app
from tests.cli_hub import Hub, point_at_emulator
from tests.flow.apply_support import (
    WRITE_PATH,
    HookedTransport,
    Result,
    bulk_project,
    hsprefs_over,
    journal,
    queue_fault,
)

BOUND = 30.0  # seconds; the old behaviour waited 999999 s (the test would never end)


def test_a_retry_after_of_999999_on_a_write_ends_the_run_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """One 429 with ``Retry-After: 999999`` on the batch write: the call fails at once
    (HubSpot did not act on it), the limiter is not held, the read-back runs, and apply
    exits 1 naming the wait asked and the budget."""
    point_at_emulator(monkeypatch)
    root, seed = bulk_project(tmp_path / "four", 4)
    monkeypatch.chdir(root)
    app = create_app(EmulatorSettings(seed=seed, rate_limit=0, retry_after=999999))
    hub = Hub(app, capsys)
    queued = False

    async def before(request: httpx.Request, inner: Any) -> None:
        nonlocal queued
        if request.url.path == WRITE_PATH and not queued:
            queued = True
            await queue_fault(inner, "429", "statuses.batch.write", 1)

    try:
        assert hub.hsprefs("plan", "-o", "plan.json").code == 0
        transport = HookedTransport(app, before=before)
        done: list[Result] = []
        began = time.monotonic()
        worker = threading.Thread(
            target=lambda: done.append(
                hsprefs_over(transport, capsys, "apply", "--plan", "plan.json")
            ),
            daemon=True,
        )
        worker.start()
        worker.join(BOUND)
        assert done, f"apply still waiting after {BOUND} s"
        assert time.monotonic() - began < BOUND
        result = done[0]
        assert result.code == 1
        assert "asked to wait 999999 s, more than the retry budget of 90 s" in result.out
        assert result.err.endswith(
            "hsprefs: error: 4 of 4 changes did not reach their desired state: 4 failed "
            "(see the report above and the journal)\n"
        )
        assert [line["outcome"] for line in journal(root)] == ["failed"] * 4
    finally:
        app.state.emulator.close()
