"""The write-ahead journal settles what a killed run left unfinished, through the CLI
against the emulator: ``sending`` lines with no answer after them are read back by the
next apply (saved plan or fresh) before anything else, and a ``recover`` line says what
became of each."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from reconciler.emulator import DEFAULT_TOKEN
from tests.flow.apply_support import JOURNAL, journal_all, write_calls
from tests.flow.conftest import Hub

NOTE = (
    "hsprefs: note: journal {journal} held {count} an earlier apply sent without "
    "recording HubSpot's answer (it was stopped while {calls} in flight); read back: "
    "{applied} applied, {not_applied} not applied, journalled as recover lines\n"
)


def _kill_before_the_answers(project: Path) -> list[dict[str, Any]]:
    """Leave only the sending lines of the journal, as a run SIGKILLed after HubSpot
    applied its calls but before their answers were journalled leaves it."""
    lines = journal_all(project)
    intents = [line for line in lines if line["outcome"] == "sending"]
    (project / JOURNAL).write_text("".join(json.dumps(line) + "\n" for line in intents))
    return intents


def test_a_fresh_apply_settles_the_intents_a_killed_run_left(hub: Hub, project: Path) -> None:
    """Every input HubSpot applied is journalled (as recover lines) before the new plan
    is made; the new plan has nothing left to do."""
    assert hub.hsprefs("apply", "--auto-approve").code == 0
    intents = _kill_before_the_answers(project)
    assert len(intents) == 8
    hub.reset_counts()
    result = hub.hsprefs("apply", "--auto-approve")
    assert result.code == 0, result.err
    assert result.err == NOTE.format(
        journal=JOURNAL, count="8 inputs", calls="their calls were", applied=8, not_applied=0
    )
    assert result.out.startswith("Plan: 0 to subscribe, 0 to unsubscribe,")
    lines = journal_all(project)
    recovered = lines[len(intents) :]
    assert [line["operation"] for line in recovered] == ["recover"] * 8
    assert all(line["verified"] == "applied" for line in recovered)
    for intent, line in zip(intents, recovered, strict=True):
        assert line["call_id"] == intent["call_id"]
        assert line["plan_checksum"] == intent["plan_checksum"]
        assert (line["subscriber"], line["subscription_id"], line["after"]) == (
            intent["subscriber"],
            intent["subscription_id"],
            intent["after"],
        )
        assert line["outcome"] == "unconfirmed"
        assert line["error"].startswith("no answer was journalled")
    assert write_calls(hub) == {"statuses.batch.write": 0, "statuses.batch.unsubscribe_all": 0}
    assert DEFAULT_TOKEN not in result.out + result.err + (project / JOURNAL).read_text()
    # settled once: the next apply finds nothing unfinished
    again = hub.hsprefs("apply", "--auto-approve")
    assert (again.code, again.err) == (0, "")
    assert len(journal_all(project)) == len(lines)


def test_a_saved_plan_apply_settles_first_and_says_not_applied(hub: Hub, project: Path) -> None:
    """An intent HubSpot never acted on (the run was killed before the call got there)
    is journalled as not applied, with what the read shows, before the plan is sent."""
    assert hub.hsprefs("plan", "-o", "plan.json").code == 0
    plan_changes = len(json.loads((project / "plan.json").read_text())["changes"])
    never = {
        "time": "2026-11-01T10:00:00.000000Z", "operation": "write",
        "subscriber": "alice@example.com", "brand": 0, "subscription_id": "101",
        "subscription": "newsletter", "before": "NOT_SPECIFIED", "after": "UNSUBSCRIBED",
        "legal_basis": None, "legal_basis_explanation": None, "outcome": "sending",
        "result": None, "error": None, "correlation_id": None,
        "plan_checksum": "sha256:earlier", "portal_id": 12345678, "config_commit": None,
        "verified": None, "observed": None, "verification_error": None,
        "call_id": "0123456789ab-1",
    }  # fmt: skip
    (project / JOURNAL).parent.mkdir(exist_ok=True)
    (project / JOURNAL).write_text(json.dumps(never) + "\n")
    result = hub.hsprefs("apply", "--plan", "plan.json")
    assert result.code == 0, result.err
    assert result.err == NOTE.format(
        journal=JOURNAL, count="1 input", calls="its call was", applied=0, not_applied=1
    )
    lines = journal_all(project)
    recover = lines[1]
    assert (recover["operation"], recover["verified"], recover["observed"]) == (
        "recover",
        "not_applied",
        "NOT_SPECIFIED",
    )
    assert recover["call_id"] == "0123456789ab-1"
    # then the plan itself: a sending and an answer line per change
    assert len(lines) == 2 + 2 * plan_changes


def test_intents_of_another_portal_are_not_settled_with_this_token(hub: Hub, project: Path) -> None:
    """The intents are another portal's: the apply refuses before anything is read for
    a plan or sent, saying how to settle them."""
    line = {
        "time": "2026-11-01T10:00:00.000000Z", "operation": "unsubscribe-all",
        "subscriber": "bob@example.com", "brand": 0, "subscription_id": None,
        "subscription": None, "before": "NOT_SPECIFIED", "after": "UNSUBSCRIBED",
        "legal_basis": None, "legal_basis_explanation": None, "outcome": "sending",
        "result": None, "error": None, "correlation_id": None,
        "plan_checksum": "sha256:earlier", "portal_id": 999, "config_commit": None,
        "verified": None, "observed": None, "verification_error": None,
        "call_id": "0123456789ab-1",
    }  # fmt: skip
    (project / JOURNAL).parent.mkdir(exist_ok=True)
    (project / JOURNAL).write_text(json.dumps(line) + "\n")
    hub.reset_counts()
    result = hub.hsprefs("apply", "--auto-approve")
    assert (result.code, result.out) == (1, "")
    assert result.err == (
        f"hsprefs: error: journal {JOURNAL} holds 1 input an earlier apply sent to portal 999 "
        "without recording HubSpot's answer, but the token belongs to portal 12345678 (run "
        "apply once with the token of portal 999 to settle them, or pass another --journal; "
        "nothing was sent)\n"
    )
    assert hub.counts().get("statuses.batch.read", 0) == 0
