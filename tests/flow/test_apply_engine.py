"""apply_plan() directly, against the emulator or a stand-in client: waves, stopping
part-way, progress, verification."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, cast

import httpx

from reconciler.apply import apply_plan
from reconciler.client import HubSpotClient, RetryPolicy
from reconciler.diff import diff
from reconciler.emulator import DEFAULT_TOKEN, EmulatorSettings, create_app
from reconciler.errors import ScopeError, TransportError
from reconciler.journal import Journal, JournalContext
from reconciler.model import LiveState, Outcome, Status, StatusWrite, WriteResult
from reconciler.outcome import ApplyReport
from reconciler.settings import ApiSettings
from tests.flow.apply_support import WRITE_PATH, HookedTransport, answer_lines, bulk_project
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
        lines = [
            line
            for line in (tmp_path / "j.jsonl").read_text().splitlines()
            if '"outcome": "sending"' not in line
        ]
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

    async def write(
        self,
        writes: Sequence[StatusWrite],
        *,
        stop: asyncio.Event | None = None,
        on_leave: Callable[[Sequence[int]], bool] | None = None,
    ) -> list[WriteResult]:
        if on_leave is not None:
            on_leave(range(len(writes)))
        return [
            WriteResult(w, Outcome.CONFIRMED, reason="REQUESTED_CHANGE_OCCURRED") for w in writes
        ]

    async def read(
        self, subscribers: Mapping[int, Sequence[str]], *, hurry: object = None, keep: object = None
    ) -> LiveState:
        raise TransportError("POST statuses/batch/read: no answer after 6 attempts")


def test_failed_read_back_reports_unconfirmed_instead_of_crashing(tmp_path: Path) -> None:
    """If verification cannot read, every sent change is unconfirmed and the run is not ok."""
    plan = diff(desired(want(U)), live(live_status(S)))
    client: Any = _ReadBackFails()
    with Journal(tmp_path / "j.jsonl", JournalContext(plan.checksum, 1)) as journal:
        report = asyncio.run(apply_plan(plan, client, journal))
    assert [(i.state, i.detail) for i in report.items] == [
        ("unconfirmed", "HubSpot confirmed it; the read-back was refused")
    ]
    assert report.read_back_error == "POST statuses/batch/read: no answer after 6 attempts"
    assert not report.ok
    lines = answer_lines(tmp_path / "j.jsonl")
    assert [
        (line["operation"], line["verified"], line["verification_error"]) for line in lines
    ] == [
        ("write", None, None),
        ("verify", "unknown", "POST statuses/batch/read: no answer after 6 attempts"),
    ]


# -- a wave of many calls, stopped part-way -------------------------------------------

WAVE = 20  # unsubscribes in batches of 2: one wave of 10 calls
WAVE_SETTINGS = ApiSettings(
    api_url="http://127.0.0.1", api_version="2026-03", token=DEFAULT_TOKEN, rate_limit=None,
    batch_size=2, concurrency=2,
)  # fmt: skip


def _wave(
    tmp_path: Path, *, stop_at_write: int | None
) -> tuple[ApplyReport, list[dict[str, Any]], int, list[int], list[int]]:
    """Apply one wave of 10 calls; with ``stop_at_write``, set ``stop`` as that write call
    arrives. Returns the report, the journal, the write calls HubSpot received, and what
    on_progress and on_verify were called with."""
    root, seed = bulk_project(tmp_path / "bulk", WAVE)
    app = create_app(EmulatorSettings(seed=seed, rate_limit=0))
    stop = asyncio.Event()
    writes = 0

    async def before(request: httpx.Request, _inner: httpx.AsyncBaseTransport) -> None:
        nonlocal writes
        if request.url.path == WRITE_PATH:
            writes += 1
            if writes == stop_at_write:
                stop.set()

    progress: list[int] = []
    verify: list[int] = []
    wanted = desired(*(want(U, email=f"p{i:04d}@example.com", sub="102") for i in range(WAVE)))

    async def go() -> ApplyReport:
        client = HubSpotClient.from_settings(
            WAVE_SETTINGS,
            transport=HookedTransport(app, before=before, wire=0.002),
            retry=RetryPolicy.instant(),
        )
        async with client:
            plan = diff(wanted, await client.read(wanted.subscribers()), batch_size=2)
            assert [len(calls) for _kind, calls in plan.waves()] == [10]
            with Journal(root / "j.jsonl", JournalContext(plan.checksum, 12345678)) as journal:
                return await apply_plan(
                    plan,
                    client,
                    journal,
                    stop=stop,
                    on_progress=progress.append,
                    on_verify=verify.append,
                )

    try:
        report = asyncio.run(go())
    finally:
        app.state.emulator.close()
    lines = answer_lines(root / "j.jsonl")
    return report, lines, writes, progress, verify


def test_progress_advances_per_call(tmp_path: Path) -> None:
    """on_progress is called once per call as its answer arrives, with its change count;
    on_verify once, with the subscribers about to be read back."""
    report, lines, writes, progress, verify = _wave(tmp_path, stop_at_write=None)
    assert report.ok
    assert (report.calls_made, report.calls_planned, writes) == (10, 10, 10)
    assert progress == [2] * 10
    assert verify == [WAVE]
    assert len(lines) == WAVE


def test_stop_mid_wave_sends_no_queued_call(tmp_path: Path) -> None:
    """A stop set while the 3rd of 10 concurrent calls is on the wire lets the calls on the
    wire finish; the queued ones come back not sent and are never journalled."""
    report, lines, writes, progress, verify = _wave(tmp_path, stop_at_write=3)
    # the 3rd call and the one beside it (concurrency 2) were on the wire
    assert writes in (3, 4)
    assert report.calls_made == writes
    assert report.calls_planned == 10
    assert report.interrupted and not report.ok
    assert report.stopped_by is None
    states = [item.state for item in report.items]
    assert states.count("applied") == 2 * writes
    assert states.count("not_sent") == WAVE - 2 * writes
    assert {i.detail for i in report.items if i.state == "not_sent"} == {
        "interrupted before it was sent"
    }
    sent = {item.change.email for item in report.items if item.state == "applied"}
    assert [line["subscriber"] for line in lines] == sorted(sent)
    assert all(line["outcome"] == "confirmed" for line in lines)
    assert report.journal_lines == len(lines) == 2 * writes
    assert progress == [2] * writes
    # only what was sent is read back
    assert verify == [2 * writes]


class _RefusesWrites:
    """Unsubscribe-alls are confirmed; every write is refused with a 403."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    async def unsubscribe_all(
        self,
        subscribers: Sequence[Any],
        *,
        stop: asyncio.Event | None = None,
        on_leave: Callable[[Sequence[int]], bool] | None = None,
    ) -> list[WriteResult]:
        if on_leave is not None:
            on_leave(range(len(subscribers)))
        self.calls.append("unsubscribe-all")
        return [
            WriteResult(k, Outcome.CONFIRMED, reason="UNSUBSCRIBE_FROM_ALL_OCCURRED")
            for k in subscribers
        ]

    async def write(
        self,
        writes: Sequence[StatusWrite],
        *,
        stop: asyncio.Event | None = None,
        on_leave: Callable[[Sequence[int]], bool] | None = None,
    ) -> list[WriteResult]:
        if on_leave is not None:
            on_leave(range(len(writes)))
        self.calls.append("write")
        raise ScopeError(
            "the token lacks scopes for POST statuses/batch/write", correlation_id="c-1"
        )

    async def read(
        self, subscribers: Mapping[int, Sequence[str]], *, hurry: object = None, keep: object = None
    ) -> LiveState:
        return LiveState()


def test_refusal_that_stops_everything_sends_no_further_wave(tmp_path: Path) -> None:
    """A 403 on the unsubscribe wave stops the run: the subscribe wave is never sent, the
    refused inputs are journalled as failed, and the report names the refusal."""
    wanted = desired(
        want(U, email="u@example.com"),
        want(S, email="s@example.com", basis="CONSENT_WITH_NOTICE", explanation="form"),
    )
    plan = diff(wanted, live(), batch_size=1)
    assert [kind.value for kind, _calls in plan.waves()] == ["unsubscribe", "subscribe"]
    client = _RefusesWrites()
    with Journal(tmp_path / "j.jsonl", JournalContext(plan.checksum, 1)) as journal:
        report = asyncio.run(apply_plan(plan, cast(Any, client), journal))
    assert client.calls == ["write"]
    assert isinstance(report.stopped_by, ScopeError)
    assert not report.interrupted and not report.ok
    assert (report.calls_made, report.calls_planned) == (1, 2)
    assert [(i.change.email, i.state, i.detail) for i in report.items] == [
        ("s@example.com", "not_sent", "the apply stopped before it was sent"),
        ("u@example.com", "failed", "the token lacks scopes for POST statuses/batch/write"),
    ]
    lines = answer_lines(tmp_path / "j.jsonl")
    assert [
        (line["operation"], line["subscriber"], line["outcome"], line["error"]) for line in lines
    ] == [
        (
            "write",
            "u@example.com",
            "failed",
            "the token lacks scopes for POST statuses/batch/write",
        ),
    ]
    assert lines[0]["correlation_id"] == "c-1"
