"""Apply when a call's first attempt may have reached HubSpot and a retry is refused or
stopped: the inputs are unconfirmed (never failed) and the read-back decides; a call
whose attempts HubSpot did not act on (a 429) is not sent once the run stops."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, cast

import httpx
import pytest

from reconciler.apply import apply_plan
from reconciler.client import HubSpotClient, RetryPolicy
from reconciler.diff import diff
from reconciler.emulator import DEFAULT_TOKEN, EmulatorSettings, create_app
from reconciler.errors import ScopeError
from reconciler.journal import Journal, JournalContext
from reconciler.model import LiveState, StatusWrite, WriteResult
from reconciler.outcome import ApplyReport, failure_line
from reconciler.render.apply_report import render_apply_report
from reconciler.settings import ApiSettings
from tests.cli_hub import API_URL, Hub, point_at_emulator
from tests.flow.apply_support import (
    JOURNAL,
    NEXT_STEP,
    WRITE_PATH,
    HookedTransport,
    allow_requests,
    answer_lines,
    bulk_project,
    hsprefs_over,
    journal,
    masked,
    queue_fault,
)
from tests.plan.builders import U, desired, live, want

EMAILS = ["p0000@example.com", "p0001@example.com"]
WRITE = "POST /communication-preferences/2026-03/statuses/batch/write"
DAILY = (
    "HubSpot's daily API limit is used up ({what}): HubSpot answered 429 Too Many Requests: "
    "RATE_LIMITS: You have reached your daily limit."
)
HINT = "(wait for the daily limit to reset, or lower the number of calls)"
EARLIER = "may have been applied by an earlier attempt"


@pytest.fixture
def pair(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Hub, Path]]:
    """Two people to unsubscribe from product, a saved plan of one write call, its emulator."""
    point_at_emulator(monkeypatch)
    root, seed = bulk_project(tmp_path / "pair", len(EMAILS))
    monkeypatch.chdir(root)
    app = create_app(EmulatorSettings(seed=seed, rate_limit=0))
    try:
        hub = Hub(app, capsys)
        assert hub.hsprefs("plan", "-o", "plan.json").code == 0
        yield hub, root
    finally:
        app.state.emulator.close()


def _statuses(hub: Hub) -> list[tuple[str, str]]:
    state = hub.admin("GET", "state")
    return [(s["email"], s["status"]) for s in state["statuses"] if s["email"] in EMAILS]


def _applied_then_refused(hub: Hub) -> None:
    """The write is applied but its answer is lost (a dropped connection); the daily cap
    then refuses the retry and everything after it."""
    # account info and the stale check's two reads, then the dropped write, pass
    allow_requests(hub, 4)
    hub.admin("POST", "faults", {"kind": "drop", "operation": "statuses.batch.write"})


def test_a_retry_refused_by_the_daily_cap_after_a_dropped_write_is_unconfirmed(
    pair: tuple[Hub, Path],
) -> None:
    """HubSpot applied the first attempt; the cap refused its retry and the read-back. The
    report and the journal say unconfirmed (never failed), and why."""
    hub, root = pair
    checksum = json.loads((root / "plan.json").read_text())["checksum"]
    _applied_then_refused(hub)
    result = hub.hsprefs("apply", "--plan", "plan.json")
    assert result.code == 1
    refused = f"{EARLIER}; a retry was refused: {DAILY.format(what=WRITE)}"
    shown = f"{EARLIER}; a retry was refused: see the error line below; the read-back was refused"
    read = DAILY.format(what="POST /communication-preferences/2026-03/statuses/batch/read")
    assert masked(result.out) == (
        f"Applying plan {checksum} to portal 12345678: 0 to subscribe, 2 to unsubscribe, "
        "0 to not-specified, 0 unsubscribe-all, 0 blocked, 0 unchanged; 1 call for "
        "2 changes.\n"
        "Applied and verified: 0 of 2 changes (1 call).\n"
        "  Unconfirmed (not known to be applied): 2\n"
        f"    p0000@example.com product (102) -> UNSUBSCRIBED: {shown}\n"
        f"    p0001@example.com product (102) -> UNSUBSCRIBED: {shown}\n"
        f"Read-back refused, so nothing sent could be verified: {read} [correlationId <cid>]\n"
        "Stopped: HubSpot refused a call in a way that stops the apply, so no further call "
        "was sent (see the error line below: it says why and what to do).\n"
        f"Journal: {JOURNAL} (4 lines written)\n" + NEXT_STEP
    )
    assert masked(result.err) == (
        "hsprefs: retrying POST statuses/batch/write after a dropped connection "
        "(attempt 2 of 6)\n"
        f"hsprefs: error: {DAILY.format(what=WRITE)} {HINT} [correlationId <cid>]\n"
    )
    lines = journal(root)
    assert [
        (line["operation"], line["subscriber"], line["outcome"], line["error"], line["verified"])
        for line in lines
    ] == [
        ("write", EMAILS[0], "unconfirmed", refused, None),
        ("write", EMAILS[1], "unconfirmed", refused, None),
        ("verify", EMAILS[0], "unconfirmed", refused, "unknown"),
        ("verify", EMAILS[1], "unconfirmed", refused, "unknown"),
    ]
    # the emulator did apply the first attempt
    assert _statuses(hub) == [(EMAILS[0], "UNSUBSCRIBED"), (EMAILS[1], "UNSUBSCRIBED")]


def test_the_read_back_decides_a_write_whose_retry_was_refused(
    pair: tuple[Hub, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """When the read-back is allowed again, it shows the dropped write applied: both
    changes count as applied, and the journal records that verdict."""
    hub, root = pair
    _applied_then_refused(hub)

    async def lift_cap_after_refusal(request: httpx.Request, inner: Any) -> None:
        # ``after`` runs only for answered requests: the dropped attempt has none, so
        # this is the retry, just refused by the cap. Lift the cap for the read-back.
        if request.url.path == WRITE_PATH:
            async with httpx.AsyncClient(transport=inner, base_url=API_URL) as admin:
                response = await admin.patch("/_emulator/settings", json={"daily_limit": 0})
                response.raise_for_status()

    transport = HookedTransport(hub.app, after=lift_cap_after_refusal)
    result = hsprefs_over(transport, capsys, "apply", "--plan", "plan.json")
    assert result.code == 1  # the refusal stopped the run
    out = masked(result.out)
    assert out[out.index("\n") + 1 :] == (
        "Applied and verified: 2 of 2 changes (1 call).\n"
        "Stopped: HubSpot refused a call in a way that stops the apply, so no further call "
        "was sent (see the error line below: it says why and what to do).\n"
        f"Journal: {JOURNAL} (4 lines written)\n" + NEXT_STEP
    )
    lines = journal(root)
    assert [(line["operation"], line["outcome"], line["verified"]) for line in lines] == [
        ("write", "unconfirmed", None),
        ("write", "unconfirmed", None),
        ("verify", "unconfirmed", "applied"),
        ("verify", "unconfirmed", "applied"),
    ]
    assert hub.hsprefs("plan", "--detailed-exitcode").code == 0


class _RefusedAfterADrop:
    """A stand-in client whose write call is refused (403) on a retry after an attempt
    that may have been applied."""

    async def write(
        self,
        writes: Sequence[StatusWrite],
        *,
        stop: asyncio.Event | None = None,
        on_leave: Callable[[Sequence[int]], bool] | None = None,
    ) -> list[WriteResult]:
        if on_leave is not None:
            on_leave(range(len(writes)))
        raise ScopeError(
            "the token lacks scopes for POST statuses/batch/write",
            correlation_id="c-2",
            may_have_applied=True,
        )

    async def read(
        self, subscribers: Mapping[int, Sequence[str]], *, hurry: object = None, keep: object = None
    ) -> LiveState:
        return live()


def test_a_stopping_refusal_after_an_attempt_that_may_have_been_applied(tmp_path: Path) -> None:
    """The refusal still stops the run, but the refused call's inputs are unconfirmed and
    the read-back (here: nothing changed) decides what they are."""
    plan = diff(desired(want(U, email="u@example.com")), live())
    with Journal(tmp_path / "j.jsonl", JournalContext(plan.checksum, 1)) as journal_file:
        report = asyncio.run(apply_plan(plan, cast(Any, _RefusedAfterADrop()), journal_file))
    assert isinstance(report.stopped_by, ScopeError)
    refused = (
        f"{EARLIER}; a retry was refused: the token lacks scopes for POST statuses/batch/write"
    )
    assert [(i.change.email, i.state, i.detail, i.correlation_id) for i in report.items] == [
        ("u@example.com", "unconfirmed", f"{refused}; the read-back shows NOT_SPECIFIED", "c-2")
    ]
    lines = answer_lines(tmp_path / "j.jsonl")
    assert [
        (line["operation"], line["outcome"], line["error"], line["verified"]) for line in lines
    ] == [
        ("write", "unconfirmed", refused, None),
        ("verify", "unconfirmed", refused, "not_applied"),
    ]


# -- stop set between a call's attempts -----------------------------------------------

SETTINGS = ApiSettings(
    api_url="http://127.0.0.1", api_version="2026-03", token=DEFAULT_TOKEN, rate_limit=None,
    batch_size=2, concurrency=1,
)  # fmt: skip


def _stop_after_first_write(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fault: str
) -> tuple[ApplyReport, list[dict[str, Any]], Hub]:
    """Unsubscribe four people in two calls, one at a time; the first call's first attempt
    meets ``fault`` and the stop is set as its answer arrives. Returns the report, the
    journal and the emulator."""
    root, seed = bulk_project(tmp_path / "four", 4)
    app = create_app(EmulatorSettings(seed=seed, rate_limit=0))
    hub = Hub(app, capsys)
    stop = asyncio.Event()
    wanted = desired(*(want(U, email=f"p{i:04d}@example.com", sub="102") for i in range(4)))

    async def after(request: httpx.Request, _inner: Any) -> None:
        if request.url.path == WRITE_PATH:
            stop.set()  # Ctrl-C as the first write's answer arrives

    async def go() -> ApplyReport:
        transport = HookedTransport(app, after=after)
        client = HubSpotClient.from_settings(
            SETTINGS, transport=transport, retry=RetryPolicy.instant()
        )
        async with client:
            plan = diff(wanted, await client.read(wanted.subscribers()), batch_size=2)
            await queue_fault(transport.inner, fault, "statuses.batch.write", 1)
            with Journal(root / "j.jsonl", JournalContext(plan.checksum, 12345678)) as file:
                return await apply_plan(plan, client, file, stop=stop)

    try:
        report = asyncio.run(go())
        lines = answer_lines(root / "j.jsonl")
        return report, lines, hub
    except BaseException:
        app.state.emulator.close()
        raise


def test_stop_after_a_429_sends_no_retry(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The first call was answered 429 (HubSpot did nothing): once stopped it is not
    retried, nothing is journalled, and the report and the error line say plainly that
    nothing was written."""
    report, lines, hub = _stop_after_first_write(tmp_path, capsys, "429")
    try:
        writes = hub.writes()
        assert [(w["outcome"], w["status"]) for w in writes] == [("refused", 429)] * 2
        assert {s for _e, s in _statuses(hub)} == {"SUBSCRIBED"}
    finally:
        hub.app.state.emulator.close()
    # the call was journalled as being sent before it left; its 429 closes it as not sent
    assert [(line["subscriber"], line["outcome"]) for line in lines] == [
        ("p0000@example.com", "not_sent"),
        ("p0001@example.com", "not_sent"),
    ]
    why = (
        "interrupted before a retry; HubSpot did not act on the attempts made "
        "(the last was answered 429)"
    )
    assert render_apply_report(report, "j.jsonl") == (
        "Applied and verified: 0 of 4 changes (0 of 2 calls sent).\n"
        "  Not sent: 4\n"
        f"    p0000@example.com alias-102 (102) -> UNSUBSCRIBED: {why}\n"
        f"    p0001@example.com alias-102 (102) -> UNSUBSCRIBED: {why}\n"
        "    p0002@example.com alias-102 (102) -> UNSUBSCRIBED: interrupted before it was sent\n"
        "    p0003@example.com alias-102 (102) -> UNSUBSCRIBED: interrupted before it was sent\n"
        "Interrupted (Ctrl-C): stopped before any change was sent: nothing was written to "
        "HubSpot.\n"
        "Journal: j.jsonl (2 lines written)\n" + NEXT_STEP
    )
    assert failure_line(report) == (
        "the apply was interrupted (Ctrl-C) before any change was sent: nothing was written "
        "to HubSpot"
    )


def test_stop_after_a_504_leaves_the_call_to_the_read_back(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The first call was answered 504 after HubSpot applied it: once stopped it is not
    retried, it is journalled unconfirmed, and the read-back shows it applied."""
    report, lines, hub = _stop_after_first_write(tmp_path, capsys, "504")
    try:
        assert [w["status"] for w in hub.writes()] == [504, 504]
    finally:
        hub.app.state.emulator.close()
    assert [(i.change.email, i.state) for i in report.items] == [
        ("p0000@example.com", "applied"),
        ("p0001@example.com", "applied"),
        ("p0002@example.com", "not_sent"),
        ("p0003@example.com", "not_sent"),
    ]
    assert report.calls_made == 1 and report.interrupted
    stopped = (
        f"{EARLIER}; not retried because the run was stopping: {WRITE} failed: HubSpot "
        "answered 504 Gateway Timeout with a body that is not JSON"
    )
    assert [
        (line["operation"], line["subscriber"], line["outcome"], line["verified"]) for line in lines
    ] == [
        ("write", "p0000@example.com", "unconfirmed", None),
        ("write", "p0001@example.com", "unconfirmed", None),
        ("verify", "p0000@example.com", "unconfirmed", "applied"),
        ("verify", "p0001@example.com", "unconfirmed", "applied"),
    ]
    assert {line["error"] for line in lines} == {stopped}
