"""`hsprefs apply` runs that end early or unfinished, through the CLI against the emulator:
Ctrl-C, the daily cap, answers that never become final, and nothing to do."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest

from reconciler.emulator import DEFAULT_TOKEN, EmulatorSettings, create_app
from tests.cli_hub import Hub, point_at_emulator
from tests.flow.apply_support import (
    JOURNAL,
    NEXT_STEP,
    WRITE_PATH,
    HookedTransport,
    allow_requests,
    bulk_project,
    ctrl_c_at_write,
    hsprefs_over,
    journal,
    masked,
    queue_fault,
    write_calls,
)

BULK = 40  # unsubscribes, sent in batches of 2: 20 calls in one wave
WIRE = 0.002  # seconds each request spends on the wire
# two calls at a time, and no client-side rate limit: the stale check, 20 writes and the
# read-back are more than the default 100 requests per 10 s
FAST = ("--concurrency", "2", "--rate-limit", "100000")


@pytest.fixture
def bulk(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Hub, Path]]:
    """A config of BULK unsubscribes, a plan of it saved in batches of 2, and its emulator."""
    point_at_emulator(monkeypatch)
    root, seed = bulk_project(tmp_path / "bulk", BULK)
    monkeypatch.chdir(root)
    app = create_app(EmulatorSettings(seed=seed, rate_limit=0))
    try:
        hub = Hub(app, capsys)
        assert hub.hsprefs("plan", "-o", "plan.json", "--batch-size", "2").code == 0
        hub.reset_counts()
        yield hub, root
    finally:
        app.state.emulator.close()


def interrupted_report(checksum: str, sent_calls: int, not_sent: list[str]) -> str:
    """What apply prints when Ctrl-C came after ``sent_calls`` of the bulk plan's calls."""
    applied = 2 * sent_calls
    listed = "".join(
        f"    {email} product (102) -> UNSUBSCRIBED: interrupted before it was sent\n"
        for email in not_sent[:20]
    )
    more = f"    ... and {len(not_sent) - 20} more\n" if len(not_sent) > 20 else ""
    return (
        f"Applying plan {checksum} to portal 12345678: 0 to subscribe, {BULK} to unsubscribe, "
        f"0 to not-specified, 0 unsubscribe-all, 0 blocked, 0 unchanged; 20 calls for "
        f"{BULK} changes.\n"
        f"Applied and verified: {applied} of {BULK} changes ({sent_calls} of 20 calls sent).\n"
        f"  Not sent: {len(not_sent)}\n{listed}{more}"
        "Interrupted (Ctrl-C): the calls already sent finished and were journalled; "
        f"{20 - sent_calls} calls of 20 were not sent.\n"
        f"Journal: {JOURNAL} ({applied} lines written)\n" + NEXT_STEP
    )


def _ctrl_c_run(
    hub: Hub, root: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str, int]:
    """Apply the bulk plan with Ctrl-C as the 4th write call arrives; return the exit
    code, stdout, stderr, and the write calls HubSpot received."""
    transport = HookedTransport(hub.app, before=ctrl_c_at_write(4), wire=WIRE)
    result = hsprefs_over(transport, capsys, "apply", "--plan", "plan.json", *FAST)
    return result.code, result.out, result.err, write_calls(hub)["statuses.batch.write"]


def test_ctrl_c_stops_queued_calls_and_reports_the_truth(
    bulk: tuple[Hub, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """Ctrl-C lets the calls on the wire finish; the queued ones are never sent, and the
    report, the journal and the error line say exactly that."""
    hub, root = bulk
    checksum = json.loads((root / "plan.json").read_text())["checksum"]
    code, out, err, sent_calls = _ctrl_c_run(hub, root, capsys)
    # the 4th call and the one beside it (concurrency 2) were on the wire; no other left
    assert sent_calls in (4, 5)
    lines = journal(root)
    sent = [line["subscriber"] for line in lines]
    assert len(sent) == 2 * sent_calls
    assert all(line["outcome"] == "confirmed" for line in lines)
    emails = [f"p{i:04d}@example.com" for i in range(BULK)]
    not_sent = [email for email in emails if email not in sent]
    assert out == interrupted_report(checksum, sent_calls, not_sent)
    assert err == (
        "hsprefs: stopping after the calls in flight (Ctrl-C)\n"
        f"hsprefs: error: the apply was interrupted (Ctrl-C): {2 * sent_calls} of {BULK} "
        f"changes applied and verified, {BULK - 2 * sent_calls} not sent "
        "(see the report above and the journal)\n"
    )
    assert code == 1


def test_ctrl_c_then_a_rerun_converges(
    bulk: tuple[Hub, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """After an interrupted apply, a new plan holds exactly what was not sent."""
    hub, root = bulk
    _code, _out, _err, sent_calls = _ctrl_c_run(hub, root, capsys)
    left = BULK - 2 * sent_calls
    again = hub.hsprefs("apply", "--auto-approve")
    assert again.code == 0, again.err
    assert again.out.startswith(f"Plan: 0 to subscribe, {left} to unsubscribe,")
    assert again.out.endswith(
        f"Applied and verified: {left} of {left} changes (1 call).\n"
        f"Journal: {JOURNAL} ({left} lines written)\n"
    )


def test_ctrl_c_without_loop_signal_handlers(
    bulk: tuple[Hub, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where the event loop cannot take a SIGINT handler (Windows), Ctrl-C still stops
    queued calls instead of killing the ones on the wire."""

    def unsupported(*_args: Any) -> None:
        raise NotImplementedError

    monkeypatch.setattr(asyncio.SelectorEventLoop, "add_signal_handler", unsupported)
    hub, root = bulk
    code, _out, err, sent_calls = _ctrl_c_run(hub, root, capsys)
    assert code == 1
    assert err.startswith("hsprefs: stopping after the calls in flight (Ctrl-C)\n")
    assert sent_calls < 20
    assert len(journal(root)) == 2 * sent_calls


def test_ctrl_c_after_every_call_was_sent_exits_0(
    bulk: tuple[Hub, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """Ctrl-C as the last call is on the wire keeps nothing from being sent: every change
    is applied and verified, so the exit code is 0 and the report says so."""
    hub, _root = bulk
    transport = HookedTransport(hub.app, before=ctrl_c_at_write(20), wire=WIRE)
    result = hsprefs_over(transport, capsys, "apply", "--plan", "plan.json", *FAST)
    assert result.code == 0
    assert result.out.endswith(
        f"Applied and verified: {BULK} of {BULK} changes (20 calls).\n"
        "Interrupted (Ctrl-C) after every call had been sent: nothing was left out.\n"
        f"Journal: {JOURNAL} ({BULK} lines written)\n"
    )
    assert result.err == "hsprefs: stopping after the calls in flight (Ctrl-C)\n"


class _Terminated(Exception):
    """Raised by the test's own SIGTERM handler: apply did not take the signal."""


@pytest.fixture
def sigterm_guard() -> Iterator[Any]:
    """A SIGTERM handler of the test's own while it runs (so a SIGTERM apply failed to
    take raises instead of ending pytest); yields it, to check it was put back."""

    def guard(_sig: int, _frame: object) -> None:
        raise _Terminated

    previous = signal.signal(signal.SIGTERM, guard)
    try:
        yield guard
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_sigterm_stops_like_ctrl_c(
    bulk: tuple[Hub, Path], capsys: pytest.CaptureFixture[str], sigterm_guard: Any
) -> None:
    """SIGTERM (a cancelled CI job) lets the calls on the wire finish and journals them,
    sends nothing more, prints the report saying it was terminated, and exits 1."""
    hub, root = bulk
    transport = HookedTransport(hub.app, before=ctrl_c_at_write(4, signal.SIGTERM), wire=WIRE)
    result = hsprefs_over(transport, capsys, "apply", "--plan", "plan.json", *FAST)
    sent_calls = write_calls(hub)["statuses.batch.write"]
    assert sent_calls in (4, 5)
    lines = journal(root)
    assert len(lines) == 2 * sent_calls
    assert all(line["outcome"] == "confirmed" for line in lines)
    checksum = json.loads((root / "plan.json").read_text())["checksum"]
    emails = [f"p{i:04d}@example.com" for i in range(BULK)]
    sent = [line["subscriber"] for line in lines]
    expected = interrupted_report(checksum, sent_calls, [e for e in emails if e not in sent])
    assert result.out == expected.replace("Interrupted (Ctrl-C)", "Terminated (SIGTERM)")
    assert result.err == (
        "hsprefs: stopping after the calls in flight (SIGTERM)\n"
        f"hsprefs: error: the apply was terminated (SIGTERM): {2 * sent_calls} of {BULK} "
        f"changes applied and verified, {BULK - 2 * sent_calls} not sent "
        "(see the report above and the journal)\n"
    )
    assert result.code == 1
    # the handler that was there before the apply is back
    assert signal.getsignal(signal.SIGTERM) is sigterm_guard


def test_sigterm_without_loop_signal_handlers(
    bulk: tuple[Hub, Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    sigterm_guard: Any,
) -> None:
    """Where the event loop cannot take signal handlers, SIGTERM still stops the run
    gracefully, and the previous handler is put back."""

    def unsupported(*_args: Any) -> None:
        raise NotImplementedError

    monkeypatch.setattr(asyncio.SelectorEventLoop, "add_signal_handler", unsupported)
    hub, root = bulk
    transport = HookedTransport(hub.app, before=ctrl_c_at_write(4, signal.SIGTERM), wire=WIRE)
    result = hsprefs_over(transport, capsys, "apply", "--plan", "plan.json", *FAST)
    assert result.code == 1
    assert result.err.startswith("hsprefs: stopping after the calls in flight (SIGTERM)\n")
    sent_calls = write_calls(hub)["statuses.batch.write"]
    assert sent_calls < 20
    assert len(journal(root)) == 2 * sent_calls
    assert signal.getsignal(signal.SIGTERM) is sigterm_guard


def _signal_at_read(sig: signal.Signals) -> Any:
    """A hook that sends ``sig`` to this process as the stale check's first read arrives:
    apply is still checking, and no call that writes has left."""
    sent = False

    async def hook(request: httpx.Request, _inner: httpx.AsyncBaseTransport) -> None:
        nonlocal sent
        if request.url.path.endswith("/statuses/batch/read") and not sent:
            sent = True
            signal.raise_signal(sig)

    return hook


@pytest.mark.parametrize(
    ("sig", "how"),
    [(signal.SIGINT, "interrupted (Ctrl-C)"), (signal.SIGTERM, "terminated (SIGTERM)")],
)
def test_a_signal_before_any_write_says_nothing_was_sent(
    bulk: tuple[Hub, Path],
    capsys: pytest.CaptureFixture[str],
    sigterm_guard: Any,
    sig: signal.Signals,
    how: str,
) -> None:
    """Ctrl-C or SIGTERM while apply still checks the plan: one line saying plainly that
    nothing was sent, no write at HubSpot, nothing journalled, exit 1."""
    hub, root = bulk
    transport = HookedTransport(hub.app, before=_signal_at_read(sig), wire=WIRE)
    result = hsprefs_over(transport, capsys, "apply", "--plan", "plan.json", *FAST)
    assert (result.code, result.out) == (1, "")
    assert result.err == (
        f"hsprefs: error: the apply was {how} before any change was sent: nothing was "
        "written to HubSpot\n"
    )
    assert write_calls(hub)["statuses.batch.write"] == 0
    assert not (root / JOURNAL).exists()
    # the handler that was there before the apply is back
    assert signal.getsignal(signal.SIGTERM) is sigterm_guard


def test_ctrl_c_while_a_fresh_apply_reads_says_nothing_was_sent(
    hub: Hub, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Ctrl-C while apply (without --plan) reads HubSpot for its plan: nothing was sent,
    and the one line says so."""
    transport = HookedTransport(hub.app, before=_signal_at_read(signal.SIGINT))
    result = hsprefs_over(transport, capsys, "apply", "--auto-approve")
    assert (result.code, result.out) == (1, "")
    assert result.err == (
        "hsprefs: error: the apply was interrupted (Ctrl-C) before any change was sent: "
        "nothing was written to HubSpot\n"
    )
    assert write_calls(hub) == {"statuses.batch.write": 0, "statuses.batch.unsubscribe_all": 0}


def test_daily_cap_stops_the_run_and_still_reports(hub: Hub, project: Path) -> None:
    """The daily cap (429 DAILY) mid-run: no further wave, a report of what happened, the
    cap as the error line, and a journal of everything sent."""
    assert hub.hsprefs("plan", "-o", "plan.json", "--batch-size", "2").code == 0
    checksum = json.loads((project / "plan.json").read_text())["checksum"]
    # account info, 8 stale-check reads and the unsubscribe-all pass; the first write,
    # and then the read-back, get the daily 429
    allow_requests(hub, 10)
    hub.reset_counts()
    result = hub.hsprefs("apply", "--plan", "plan.json")
    assert result.code == 1
    cap = (
        "HubSpot's daily API limit is used up (POST /communication-preferences/2026-03/"
        "statuses/batch/{}): HubSpot answered 429 Too Many Requests: RATE_LIMITS: You have "
        "reached your daily limit."
    )
    hint = "(wait for the daily limit to reset, or lower the number of calls)"
    stopped = "the apply stopped before it was sent"
    assert masked(result.out) == (
        f"Applying plan {checksum} to portal 12345678: 4 to subscribe, 2 to unsubscribe, "
        "1 to not-specified, 1 unsubscribe-all, 1 blocked, 6 unchanged; 5 calls for "
        "8 changes.\n"
        "Applied and verified: 0 of 8 changes (2 of 5 calls sent).\n"
        "  Failed: 2\n"
        "    alice@example.com product (102) -> UNSUBSCRIBED: refused: see the error line below\n"
        "    ivan@example.com outdoor-news (201) -> UNSUBSCRIBED: refused: see the error line "
        "below\n"
        "  Unconfirmed (not known to be applied): 1\n"
        "    bob@example.com unsubscribe-all (brand 0): HubSpot confirmed it; the read-back "
        "was refused [correlationId <cid>]\n"
        "  Not sent: 5\n"
        f"    alice@example.com newsletter (101) -> SUBSCRIBED: {stopped}\n"
        f"    carol@example.com events (103) -> NOT_SPECIFIED: {stopped}\n"
        f"    dave@example.com events (103) -> SUBSCRIBED: {stopped}\n"
        f"    erin@example.com newsletter (101) -> SUBSCRIBED: {stopped}\n"
        f"    alice@example.com outdoor-news (201) -> SUBSCRIBED: {stopped}\n"
        "Read-back refused, so nothing sent could be verified: "
        f"{cap.format('read')} [correlationId <cid>]\n"
        "Stopped: HubSpot refused a call in a way that stops the apply, so no further call "
        "was sent (see the error line below: it says why and what to do).\n"
        f"Journal: {JOURNAL} (6 lines written)\n" + NEXT_STEP
    )
    assert masked(result.err) == (
        f"hsprefs: error: {cap.format('write')} {hint} [correlationId <cid>]\n"
    )
    # one refused write, then nothing: the subscribe wave was never sent
    assert write_calls(hub) == {"statuses.batch.write": 1, "statuses.batch.unsubscribe_all": 1}
    lines = journal(project)
    assert [
        (line["operation"], line["subscriber"], line["outcome"], line["verified"]) for line in lines
    ] == [
        ("unsubscribe-all", "bob@example.com", "confirmed", None),
        ("write", "alice@example.com", "failed", None),
        ("write", "ivan@example.com", "failed", None),
        # verify lines follow the plan's order
        ("verify", "alice@example.com", "failed", "unknown"),
        ("verify", "bob@example.com", "confirmed", "unknown"),
        ("verify", "ivan@example.com", "failed", "unknown"),
    ]
    assert lines[1]["error"] == cap.format("write")
    assert masked(str(lines[4]["verification_error"])) == (
        f"{cap.format('read')} [correlationId <cid>]"
    )


def test_daily_cap_run_converges_once_the_cap_resets(hub: Hub, project: Path) -> None:
    """After the cap stopped a run, applying again (the cap lifted) reaches the config."""
    assert hub.hsprefs("plan", "-o", "plan.json", "--batch-size", "2").code == 0
    allow_requests(hub, 10)
    assert hub.hsprefs("apply", "--plan", "plan.json").code == 1
    hub.admin("PATCH", "settings", {"daily_limit": 0})
    again = hub.hsprefs("apply", "--auto-approve")
    assert again.code == 0, again.err
    assert again.out.startswith(
        "Plan: 4 to subscribe, 2 to unsubscribe, 1 to not-specified, 0 unsubscribe-all,"
    )


def test_saved_plan_with_no_changes(hub: Hub, project: Path) -> None:
    """A saved plan with nothing to do says so, sends nothing and exits 0."""
    assert hub.hsprefs("apply", "--auto-approve").code == 0
    assert hub.hsprefs("plan", "-o", "plan.json").code == 0
    before = (project / JOURNAL).read_text()
    hub.reset_counts()
    result = hub.hsprefs("apply", "--plan", "plan.json")
    assert (result.code, result.out, result.err) == (
        0,
        "The plan has no changes: nothing to apply.\n",
        "",
    )
    assert write_calls(hub) == {"statuses.batch.write": 0, "statuses.batch.unsubscribe_all": 0}
    assert (project / JOURNAL).read_text() == before


def _pending_reads_after_writes(request: httpx.Request, inner: httpx.AsyncBaseTransport) -> Any:
    async def hook() -> None:
        if request.url.path == WRITE_PATH:
            # the read-back that follows never gets a final answer (6 attempts per read)
            await queue_fault(inner, "pending", "statuses.batch.read", 100)

    return hook()


def test_pending_write_verified_by_the_read_back(
    hub: Hub, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A write answered PENDING (unconfirmed) that the read-back shows counts as applied,
    and the journal records the read-back's verdict."""
    assert hub.hsprefs("plan", "-o", "plan.json").code == 0
    hub.admin("POST", "faults", {"kind": "pending", "operation": "statuses.batch.write"})
    result = hub.hsprefs("apply", "--plan", "plan.json")
    assert result.code == 0, result.err
    assert result.out.endswith(
        f"Applied and verified: 8 of 8 changes (2 calls).\nJournal: {JOURNAL} (15 lines written)\n"
    )
    lines = journal(project)
    assert [(line["operation"], line["outcome"], line["verified"]) for line in lines] == [
        ("unsubscribe-all", "confirmed", None),
        *[("write", "unconfirmed", None)] * 7,
        *[("verify", "unconfirmed", "applied")] * 7,
    ]


def test_pending_write_and_read_back_end_unconfirmed(
    hub: Hub, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A write answered PENDING whose read-back never becomes final is unconfirmed: the
    report says why for each change, the run exits 1."""
    assert hub.hsprefs("plan", "-o", "plan.json").code == 0
    checksum = json.loads((project / "plan.json").read_text())["checksum"]
    hub.admin("POST", "faults", {"kind": "pending", "operation": "statuses.batch.write"})
    transport = HookedTransport(hub.app, after=_pending_reads_after_writes)
    result = hsprefs_over(transport, capsys, "apply", "--plan", "plan.json")
    assert result.code == 1
    pending = "HubSpot answered PENDING: the results are not final; the read-back was refused"
    out = masked(result.out)
    assert out.startswith(f"Applying plan {checksum} to portal 12345678:")
    assert out[out.index("\n") + 1 :] == (
        "Applied and verified: 0 of 8 changes (2 calls).\n"
        "  Unconfirmed (not known to be applied): 8\n"
        f"    alice@example.com product (102) -> UNSUBSCRIBED: {pending} [correlationId <cid>]\n"
        "    alice@example.com newsletter (101) -> SUBSCRIBED: "
        f"{pending} [correlationId <cid>]\n"
        "    bob@example.com unsubscribe-all (brand 0): HubSpot confirmed it; the read-back "
        "was refused [correlationId <cid>]\n"
        f"    carol@example.com events (103) -> NOT_SPECIFIED: {pending} [correlationId <cid>]\n"
        f"    dave@example.com events (103) -> SUBSCRIBED: {pending} [correlationId <cid>]\n"
        f"    erin@example.com newsletter (101) -> SUBSCRIBED: {pending} [correlationId <cid>]\n"
        "    alice@example.com outdoor-news (201) -> SUBSCRIBED: "
        f"{pending} [correlationId <cid>]\n"
        "    ivan@example.com outdoor-news (201) -> UNSUBSCRIBED: "
        f"{pending} [correlationId <cid>]\n"
        "Read-back refused, so nothing sent could be verified: could not read 7 of 7 "
        "subscribers; first error: POST /communication-preferences/2026-03/statuses/batch/"
        "read: HubSpot answered PENDING 6 times; the results are not final "
        "[correlationId <cid>]\n"
        f"Journal: {JOURNAL} (16 lines written)\n" + NEXT_STEP
    )
    assert result.err == (
        "hsprefs: error: 8 of 8 changes did not reach their desired state: 8 unconfirmed "
        "(see the report above and the journal)\n"
    )
    verify = [line for line in journal(project) if line["operation"] == "verify"]
    assert [(line["verified"], line["observed"]) for line in verify] == [("unknown", None)] * 8


class _Bar:
    """Stands in for the CLI's progress bar and records what it was told."""

    made: ClassVar[list[_Bar]] = []

    def __init__(self, _state: object, label: str, total: int) -> None:
        self.label = label
        self.total = total
        self.steps: list[int] = []
        self.closed = False
        _Bar.made.append(self)

    def advance(self, count: int) -> None:
        assert not self.closed
        self.steps.append(count)

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def bars(monkeypatch: pytest.MonkeyPatch) -> list[_Bar]:
    _Bar.made = []
    monkeypatch.setattr("reconciler.cli.apply_cmd.Progress", _Bar)
    return _Bar.made


def test_progress_of_a_saved_plan(hub: Hub, project: Path, bars: list[_Bar]) -> None:
    """The stale check, each call's answer and the read-back each move a bar."""
    assert hub.hsprefs("plan", "-o", "plan.json", "--batch-size", "2").code == 0
    assert hub.hsprefs("apply", "--plan", "plan.json").code == 0
    # brand 0: 5 touched subscribers (reads of 2, 2, 1), brand 5: 2 (one read)
    assert [(b.label, b.total, sorted(b.steps), b.closed) for b in bars] == [
        ("Checking the plan is current", 7, [1, 2, 2, 2], True),
        ("Applying", 8, [1, 1, 2, 2, 2], True),
        ("Verifying", 7, [1, 2, 2, 2], True),
    ]
    # the unsubscribe-all and the unsubscribe wave come first, one call at a time
    assert bars[1].steps[:2] == [1, 2]


def test_progress_of_a_fresh_plan(hub: Hub, project: Path, bars: list[_Bar]) -> None:
    """Planning afresh moves a reading bar over every declared subscriber first."""
    assert hub.hsprefs("apply", "--auto-approve").code == 0
    assert [(b.label, b.total, sum(b.steps)) for b in bars] == [
        ("Reading HubSpot", 11, 11),
        ("Applying", 8, 8),
        ("Verifying", 7, 7),
    ]
    assert bars[1].steps == [1, 7]


def test_token_never_in_a_stopped_run(
    bulk: tuple[Hub, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """An interrupted run's output and journal do not carry the token."""
    hub, root = bulk
    _code, out, err, _sent = _ctrl_c_run(hub, root, capsys)
    assert DEFAULT_TOKEN not in out + err + (root / JOURNAL).read_text()
