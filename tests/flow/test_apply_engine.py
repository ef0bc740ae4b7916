"""apply_plan() directly against the emulator: waves, interruption, verification."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx

from reconciler.apply import ApplyReport, apply_plan
from reconciler.client import HubSpotClient, RetryPolicy
from reconciler.diff import diff
from reconciler.emulator import DEFAULT_TOKEN, EmulatorSettings, create_app
from reconciler.errors import TransportError
from reconciler.journal import Journal, JournalContext
from reconciler.model import LiveState, Outcome, Status, StatusWrite, WriteResult
from reconciler.settings import ApiSettings
from tests.plan.builders import S, U, desired, live, live_status, want

SETTINGS = ApiSettings(
    api_url="http://127.0.0.1", api_version="2026-03", token=DEFAULT_TOKEN, rate_limit=None,
    batch_size=2, concurrency=4,
)  # fmt: skip


def _plan_and_apply(
    tmp_path: Path, *, stop_after_first_call: bool
) -> tuple[ApplyReport, list[str]]:
    app = create_app(EmulatorSettings(rate_limit=0))
    statuses = [want(U, email=f"u{i}@example.com") for i in range(3)]
    statuses += [
        want(S, email=f"s{i}@example.com", basis="CONSENT_WITH_NOTICE", explanation="form")
        for i in range(3)
    ]
    wanted = desired(*statuses)

    async def go() -> ApplyReport:
        client = HubSpotClient.from_settings(
            SETTINGS, transport=httpx.ASGITransport(app=app), retry=RetryPolicy.instant()
        )
        async with client:
            live = await client.read(wanted.subscribers())
            plan = diff(wanted, live, batch_size=2)
            stop = asyncio.Event()

            def progress(_n: int) -> None:
                if stop_after_first_call:
                    stop.set()

            context = JournalContext(plan.checksum, 12345678)
            with Journal(tmp_path / "j.jsonl", context) as journal:
                return await apply_plan(plan, client, journal, stop=stop, on_progress=progress)

    try:
        report = asyncio.run(go())
        lines = (tmp_path / "j.jsonl").read_text().splitlines()
    finally:
        app.state.emulator.close()
    return report, lines


def test_waves_apply_everything_and_verify(tmp_path: Path) -> None:
    """Without interruption every change is applied and verified."""
    report, lines = _plan_and_apply(tmp_path, stop_after_first_call=False)
    assert report.ok
    assert report.calls_made == 3
    assert len(lines) == 6


def test_interruption_finishes_in_flight_calls_and_sends_no_new_wave(tmp_path: Path) -> None:
    """A stop during the first wave lets it finish, journals it, and sends nothing after."""
    report, lines = _plan_and_apply(tmp_path, stop_after_first_call=True)
    states = sorted((i.change.after, i.state) for i in report.items)
    assert report.interrupted and not report.ok
    # Batches of 2: [u0 u1] [u2 s0] [s1 s2]. A call's wave is the kind of its last input,
    # so only [u0 u1] is in the unsubscribe wave; the stop keeps the rest from being sent.
    assert states.count((Status.UNSUBSCRIBED, "applied")) == 2
    assert states.count((Status.UNSUBSCRIBED, "not_sent")) == 1
    assert [s for a, s in states if a is Status.SUBSCRIBED] == ["not_sent"] * 3
    assert len(lines) == 2


class _ReadBackFails:
    """Writes succeed; the verification read fails for good."""

    async def write(self, writes: Sequence[StatusWrite]) -> list[WriteResult]:
        return [
            WriteResult(w, Outcome.CONFIRMED, reason="REQUESTED_CHANGE_OCCURRED") for w in writes
        ]

    async def read(self, subscribers: Mapping[int, Sequence[str]]) -> LiveState:
        raise TransportError("POST statuses/batch/read: no answer after 6 attempts")


def test_failed_read_back_reports_unconfirmed_instead_of_crashing(tmp_path: Path) -> None:
    """If verification cannot read, every sent change is unconfirmed and the run is not ok."""
    plan = diff(desired(want(U)), live(live_status(S)))
    client: Any = _ReadBackFails()
    with Journal(tmp_path / "j.jsonl", JournalContext(plan.checksum, 1)) as journal:
        report = asyncio.run(apply_plan(plan, client, journal))
    assert [(i.state, i.detail) for i in report.items] == [
        (
            "unconfirmed",
            "could not read back: POST statuses/batch/read: no answer after 6 attempts",
        )
    ]
    assert not report.ok
    assert len((tmp_path / "j.jsonl").read_text().splitlines()) == 1
