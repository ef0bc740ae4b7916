"""Stops and faults during an apply in single mode (a portal without the batch scopes),
through the CLI against the emulator. Every change is its own call, and each behaves
exactly as in batch mode (tests/flow/test_apply_stop.py): on Ctrl-C or SIGTERM the calls
on the wire finish and are journalled, the queued ones are never sent, and the report
says which; a PENDING answer is unconfirmed until the read-back decides; a transient
fault is retried."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.emulator import DEFAULT_TOKEN, EmulatorSettings, create_app
from tests.cli_hub import Hub, point_at_emulator
from tests.flow.apply_support import (
    JOURNAL,
    NEXT_STEP,
    HookedTransport,
    bulk_project,
    ctrl_c_at_write,
    hsprefs_over,
    is_single_write,
    journal,
    journal_all,
)

BULK = 12  # unsubscribes: 12 single writes
WIRE = 0.002
FAST = ("--concurrency", "2", "--rate-limit", "100000")
EMAILS = [f"p{i:04d}@example.com" for i in range(BULK)]


@pytest.fixture
def single(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Hub, Path]]:
    """A config of BULK unsubscribes on a Professional portal (no batch scopes), a plan of
    it saved in auto mode (so in single mode), and its emulator."""
    point_at_emulator(monkeypatch)
    monkeypatch.delenv("HSPREFS_API_MODE", raising=False)
    root, seed = bulk_project(tmp_path / "bulk", BULK)
    monkeypatch.chdir(root)
    app = create_app(EmulatorSettings(seed=seed, rate_limit=0, tier="professional"))
    try:
        hub = Hub(app, capsys)
        planned = hub.hsprefs("plan", "-o", "plan.json")
        assert planned.code == 0, planned.err
        assert json.loads((root / "plan.json").read_text())["target"]["api_mode"] == "single"
        hub.reset_counts()
        yield hub, root
    finally:
        app.state.emulator.close()


def single_writes(hub: Hub) -> int:
    return hub.counts().get("statuses.write", 0)


def stopped_report(checksum: str, sent: int, how: str) -> str:
    """What apply prints when it was stopped (``how``) after ``sent`` single writes."""
    not_sent = EMAILS[sent:]
    listed = "".join(
        f"    {email} product (102) -> UNSUBSCRIBED: interrupted before it was sent\n"
        for email in not_sent
    )
    return (
        f"Applying plan {checksum} to portal 12345678: 0 to subscribe, {BULK} to unsubscribe, "
        f"0 to not-specified, 0 unsubscribe-all, 0 blocked, 0 unchanged; {BULK} calls for "
        f"{BULK} changes.\n"
        f"Applied and verified: {sent} of {BULK} changes ({sent} of {BULK} calls sent).\n"
        f"  Not sent: {len(not_sent)}\n{listed}"
        f"{how}: the calls already sent finished and were journalled; "
        f"{BULK - sent} calls of {BULK} were not sent.\n"
        f"Journal: {JOURNAL} ({sent} lines written)\n" + NEXT_STEP
    )


@pytest.mark.parametrize(
    ("sig", "how", "word"),
    [
        (signal.SIGINT, "Interrupted (Ctrl-C)", "interrupted (Ctrl-C)"),
        (signal.SIGTERM, "Terminated (SIGTERM)", "terminated (SIGTERM)"),
    ],
)
def test_a_stop_in_single_mode_finishes_the_calls_on_the_wire(
    single: tuple[Hub, Path],
    capsys: pytest.CaptureFixture[str],
    sig: signal.Signals,
    how: str,
    word: str,
) -> None:
    """The signal comes as the 4th single write arrives: that call and the one beside it
    (concurrency 2) finish and are journalled, confirmed and verified; no other leaves."""
    hub, root = single
    # SIGTERM would end pytest if apply did not take it: a handler of the test's own,
    # which apply must put back.
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        transport = HookedTransport(
            hub.app, before=ctrl_c_at_write(4, sig, is_write=is_single_write), wire=WIRE
        )
        result = hsprefs_over(transport, capsys, "apply", "--plan", "plan.json", *FAST)
        assert signal.getsignal(signal.SIGTERM) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGTERM, previous)
    sent = single_writes(hub)
    assert sent in (4, 5)
    assert "statuses.batch.write" not in hub.counts()
    lines = journal(root)
    assert [line["subscriber"] for line in lines] == EMAILS[:sent]
    assert all(line["outcome"] == "confirmed" for line in lines)
    # each single call was journalled ahead with its own call id
    intents = [line for line in journal_all(root) if line["outcome"] == "sending"]
    assert len({line["call_id"] for line in intents}) == len(intents) == sent
    checksum = json.loads((root / "plan.json").read_text())["checksum"]
    assert result.out == stopped_report(checksum, sent, how)
    stop_word = "Ctrl-C" if sig == signal.SIGINT else "SIGTERM"
    assert result.err == (
        f"hsprefs: stopping after the calls in flight ({stop_word})\n"
        f"hsprefs: error: the apply was {word}: {sent} of {BULK} "
        f"changes applied and verified, {BULK - sent} not sent "
        "(see the report above and the journal)\n"
    )
    assert result.code == 1
    assert DEFAULT_TOKEN not in result.out + result.err + (root / JOURNAL).read_text()


def test_after_a_stop_in_single_mode_a_rerun_converges(
    single: tuple[Hub, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """A new apply plans exactly what was not sent, in single mode again, and applies it
    with one call per change."""
    hub, _root = single
    transport = HookedTransport(
        hub.app, before=ctrl_c_at_write(4, is_write=is_single_write), wire=WIRE
    )
    assert hsprefs_over(transport, capsys, "apply", "--plan", "plan.json", *FAST).code == 1
    left = BULK - single_writes(hub)
    hub.reset_counts()
    again = hub.hsprefs("apply", "--auto-approve")
    assert again.code == 0, again.err
    assert again.out.startswith(f"Plan: 0 to subscribe, {left} to unsubscribe,")
    assert again.out.endswith(
        f"Applied and verified: {left} of {left} changes ({left} calls).\n"
        f"Journal: {JOURNAL} ({left} lines written)\n"
    )
    assert single_writes(hub) == left
    assert hub.hsprefs("plan", "--detailed-exitcode").code == 0


def test_ctrl_c_after_every_single_call_was_sent_exits_0(
    single: tuple[Hub, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    hub, _root = single
    transport = HookedTransport(
        hub.app, before=ctrl_c_at_write(BULK, is_write=is_single_write), wire=WIRE
    )
    result = hsprefs_over(transport, capsys, "apply", "--plan", "plan.json", *FAST)
    assert result.code == 0
    assert result.out.endswith(
        f"Applied and verified: {BULK} of {BULK} changes ({BULK} calls).\n"
        "Interrupted (Ctrl-C) after every call had been sent: nothing was left out.\n"
        f"Journal: {JOURNAL} ({BULK} lines written)\n"
    )
    assert result.err == "hsprefs: stopping after the calls in flight (Ctrl-C)\n"
    assert single_writes(hub) == BULK


def test_a_pending_single_write_is_verified_by_the_read_back(single: tuple[Hub, Path]) -> None:
    """One single write answered PENDING is unconfirmed; the read-back of its subscriber
    shows it applied, and the journal records that verdict, as in batch mode."""
    hub, root = single
    hub.admin("POST", "faults", {"kind": "pending", "operation": "statuses.write", "count": 1})
    result = hub.hsprefs("apply", "--plan", "plan.json", *FAST)
    assert result.code == 0, result.err
    assert result.out.endswith(
        f"Applied and verified: {BULK} of {BULK} changes ({BULK} calls).\n"
        f"Journal: {JOURNAL} ({BULK + 1} lines written)\n"
    )
    outcomes = [(line["operation"], line["outcome"], line["verified"]) for line in journal(root)]
    assert sorted(outcomes[:BULK]) == [("write", "confirmed", None)] * (BULK - 1) + [
        ("write", "unconfirmed", None)
    ]
    assert outcomes[BULK:] == [("verify", "unconfirmed", "applied")]


@pytest.mark.parametrize("kind", ["500", "503", "drop"])
def test_a_fault_on_a_single_write_is_retried_and_the_run_converges(
    single: tuple[Hub, Path], kind: str
) -> None:
    """A transient fault on one single write is retried (a write sent twice is a no-op):
    every change is applied and verified, and that one call was sent twice."""
    hub, root = single
    hub.admin("POST", "faults", {"kind": kind, "operation": "statuses.write", "count": 1})
    result = hub.hsprefs("apply", "--plan", "plan.json", *FAST)
    assert result.code == 0, result.err
    assert result.out.endswith(
        f"Applied and verified: {BULK} of {BULK} changes ({BULK} calls).\n"
        f"Journal: {JOURNAL} ({BULK} lines written)\n"
    )
    assert single_writes(hub) == BULK + 1
    assert {line["outcome"] for line in journal(root)} == {"confirmed"}
    assert hub.hsprefs("plan", "--detailed-exitcode").code == 0
