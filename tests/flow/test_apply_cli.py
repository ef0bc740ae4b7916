"""`hsprefs apply` through the CLI against the emulator seeded from examples/."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler.emulator import DEFAULT_TOKEN, EmulatorSettings, create_app
from reconciler.outcome import GDPR_OFF_HINT
from tests.flow.apply_support import (
    JOURNAL,
    NEXT_STEP,
    allow_requests,
    answer_lines,
    journal,
    journal_all,
    masked,
    write_calls,
)
from tests.flow.conftest import SEED, Hub


def saved_plan(hub: Hub, project: Path, *args: str) -> tuple[str, str]:
    """Save a plan; return its checksum and the line apply --plan prints first."""
    assert hub.hsprefs("plan", "-o", "plan.json", *args).code == 0
    checksum = json.loads((project / "plan.json").read_text())["checksum"]
    calls = len(json.loads((project / "plan.json").read_text())["calls"])
    return checksum, (
        f"Applying plan {checksum} to portal 12345678: 4 to subscribe, 2 to unsubscribe, "
        f"1 to not-specified, 1 unsubscribe-all, 1 blocked, 6 unchanged; {calls} calls for "
        "8 changes.\n"
    )


def test_plan_apply_plan_converges(hub: Hub, project: Path) -> None:
    """plan -o, apply --plan, then plan again shows no changes."""
    assert hub.hsprefs("plan", "-o", "plan.json").code == 0
    hub.reset_counts()
    result = hub.hsprefs("apply", "--plan", "plan.json")
    assert result.code == 0, result.err
    assert result.err == ""
    checksum = json.loads((project / "plan.json").read_text())["checksum"]
    assert result.out == (
        f"Applying plan {checksum} to portal 12345678: 4 to subscribe, 2 to unsubscribe, "
        "1 to not-specified, 1 unsubscribe-all, 1 blocked, 6 unchanged; 2 calls for "
        "8 changes.\n"
        f"Applied and verified: 8 of 8 changes (2 calls).\nJournal: {JOURNAL} (8 lines written)\n"
    )
    # one unsubscribe-all call and one write call carrying all 7 statuses: the minimum
    assert write_calls(hub) == {"statuses.batch.write": 1, "statuses.batch.unsubscribe_all": 1}
    again = hub.hsprefs("plan", "--detailed-exitcode")
    assert again.code == 0
    assert "0 to subscribe, 0 to unsubscribe, 0 to not-specified, 0 unsubscribe-all" in again.out


def test_apply_reads_only_what_it_needs(hub: Hub, project: Path) -> None:
    """A saved plan costs one portal read, a stale-check read and a verification read."""
    assert hub.hsprefs("plan", "-o", "plan.json").code == 0
    hub.reset_counts()
    assert hub.hsprefs("apply", "--plan", "plan.json").code == 0
    counts = {k: v for k, v in hub.counts().items() if v}
    assert counts == {
        "account_info": 1,
        "statuses.batch.read": 4,  # 2 brands x (stale check + verification)
        "statuses.batch.unsubscribe_all_read": 4,
        "statuses.batch.write": 1,
        "statuses.batch.unsubscribe_all": 1,
    }


def test_fresh_apply_with_auto_approve(hub: Hub, project: Path) -> None:
    """apply without a plan shows the plan, then applies it with --auto-approve."""
    result = hub.hsprefs("apply", "--auto-approve")
    assert result.code == 0, result.err
    assert result.out.startswith("Plan: 4 to subscribe, 2 to unsubscribe")
    assert result.out.endswith(
        f"Applied and verified: 8 of 8 changes (2 calls).\nJournal: {JOURNAL} (8 lines written)\n"
    )


def test_fresh_apply_needs_approval_when_not_interactive(hub: Hub, project: Path) -> None:
    """Without a terminal and without --auto-approve nothing is written."""
    result = hub.hsprefs("apply")
    assert result.code == 1
    assert result.err == (
        "hsprefs: error: apply needs a confirmation and there is no terminal to ask on "
        "(review the plan and pass --auto-approve, or apply a saved plan with --plan)\n"
    )
    assert write_calls(hub) == {"statuses.batch.write": 0, "statuses.batch.unsubscribe_all": 0}
    assert not (project / JOURNAL).exists()


def test_auto_approve_is_accepted_with_a_saved_plan(hub: Hub, project: Path) -> None:
    """--auto-approve with --plan changes nothing."""
    assert hub.hsprefs("plan", "-o", "plan.json").code == 0
    assert hub.hsprefs("apply", "--plan", "plan.json", "--auto-approve").code == 0


def test_stale_plan_is_refused_with_zero_writes(hub: Hub, project: Path) -> None:
    """If a touched subscriber changed after the plan, apply refuses and writes nothing."""
    assert hub.hsprefs("plan", "-o", "plan.json").code == 0
    response = hub.api(
        "POST",
        "/communication-preferences/2026-03/statuses/batch/write",
        {
            "inputs": [
                {
                    "subscriberIdString": "carol@example.com",
                    "subscriptionId": 103,
                    "statusState": "UNSUBSCRIBED",
                    "channel": "EMAIL",
                }
            ]
        },
    )
    assert response.status_code == 200
    hub.reset_counts()
    result = hub.hsprefs("apply", "--plan", "plan.json")
    assert result.code == 1
    assert result.err == (
        "hsprefs: error: the plan is stale: 1 of 8 changes no longer match HubSpot "
        "(carol@example.com events (103): planned from SUBSCRIBED, now UNSUBSCRIBED) "
        "(run 'hsprefs plan -o FILE' again, review it and apply the new plan)\n"
    )
    assert write_calls(hub) == {"statuses.batch.write": 0, "statuses.batch.unsubscribe_all": 0}


def test_plan_for_another_portal_is_refused(hub: Hub, project: Path) -> None:
    """A saved plan applied with a token of another portal is refused before any write."""
    assert hub.hsprefs("plan", "-o", "plan.json").code == 0
    seed = yaml.safe_load(SEED.read_text())
    seed["portal"]["id"] = 55555
    other = create_app(EmulatorSettings(seed=seed, rate_limit=0))
    try:
        hub.app, original = other, hub.app
        result = hub.hsprefs("apply", "--plan", "plan.json")
        assert result.code == 1
        assert result.err == (
            "hsprefs: error: the plan was made for portal 12345678, but the token belongs to "
            "portal 55555 (use the token of the portal the plan was made for)\n"
        )
        assert write_calls(hub) == {"statuses.batch.write": 0, "statuses.batch.unsubscribe_all": 0}
    finally:
        hub.app = original
        other.state.emulator.close()


def test_blocked_pairs_are_never_written(hub: Hub, project: Path) -> None:
    """frank's blocked re-subscribe never reaches HubSpot's write log."""
    assert hub.hsprefs("apply", "--auto-approve").code == 0
    written = json.dumps(hub.writes())
    assert "frank@example.com" not in written
    assert "alice@example.com" in written


def test_mass_change_guard_refuses(hub: Hub, project: Path) -> None:
    """Over max_change_percent the apply is refused, saying by how much."""
    path = project / "hsprefs.yaml"
    path.write_text(path.read_text().replace("max_change_percent: 60", "max_change_percent: 20"))
    result = hub.hsprefs("apply", "--auto-approve")
    assert result.code == 1
    assert result.err == (
        "hsprefs: error: refusing to apply: 8 changes are 53.3% of 15 managed statuses and "
        "opt-out flags, over max_change_percent 20% (at most 3 allowed, 5 over) (review the "
        "plan; if the change is intended, re-run with --allow-mass-change)\n"
    )
    assert write_calls(hub) == {"statuses.batch.write": 0, "statuses.batch.unsubscribe_all": 0}


def test_mass_change_guard_unsubscribe_all_threshold(hub: Hub, project: Path) -> None:
    """More unsubscribe-alls than max_unsubscribe_all are refused."""
    path = project / "hsprefs.yaml"
    path.write_text(path.read_text().replace("max_unsubscribe_all: 5", "max_unsubscribe_all: 0"))
    result = hub.hsprefs("apply", "--auto-approve")
    assert result.code == 1
    assert "1 unsubscribe-all exceed max_unsubscribe_all 0 (1 over)" in result.err


def test_mass_change_guard_overridden(hub: Hub, project: Path) -> None:
    """--allow-mass-change applies anyway."""
    path = project / "hsprefs.yaml"
    path.write_text(path.read_text().replace("max_change_percent: 60", "max_change_percent: 20"))
    result = hub.hsprefs("apply", "--auto-approve", "--allow-mass-change")
    assert result.code == 0, result.err
    assert "Applied and verified: 8 of 8 changes" in result.out


def test_lying_server_is_caught_and_a_rerun_converges(hub: Hub, project: Path) -> None:
    """A write HubSpot confirms but does not apply is reported; applying again fixes it."""
    _checksum, applying = saved_plan(hub, project)
    hub.admin("POST", "faults", {"kind": "lie", "operation": "statuses.batch.write", "count": 1})
    result = hub.hsprefs("apply", "--plan", "plan.json")
    assert result.code == 1
    lie = "HubSpot confirmed the write, but the read-back shows"
    cid = "[correlationId <cid>]"
    assert masked(result.out) == applying + (
        "Applied and verified: 1 of 8 changes (2 calls).\n"
        "  Failed: 7\n"
        f"    alice@example.com product (102) -> UNSUBSCRIBED: {lie} SUBSCRIBED {cid}\n"
        f"    alice@example.com newsletter (101) -> SUBSCRIBED: {lie} NOT_SPECIFIED {cid}\n"
        f"    carol@example.com events (103) -> NOT_SPECIFIED: {lie} SUBSCRIBED {cid}\n"
        f"    dave@example.com events (103) -> SUBSCRIBED: {lie} NOT_SPECIFIED {cid}\n"
        f"    erin@example.com newsletter (101) -> SUBSCRIBED: {lie} UNSUBSCRIBED {cid}\n"
        f"    alice@example.com outdoor-news (201) -> SUBSCRIBED: {lie} NOT_SPECIFIED {cid}\n"
        f"    ivan@example.com outdoor-news (201) -> UNSUBSCRIBED: {lie} SUBSCRIBED {cid}\n"
        f"Journal: {JOURNAL} (15 lines written)\n" + NEXT_STEP
    )
    assert result.err == (
        "hsprefs: error: 7 of 8 changes did not reach their desired state: 7 failed "
        "(see the report above and the journal)\n"
    )
    again = hub.hsprefs("apply", "--auto-approve")
    assert again.code == 0, again.out
    assert again.out.endswith(
        f"Applied and verified: 7 of 7 changes (1 call).\nJournal: {JOURNAL} (7 lines written)\n"
    )


def test_lying_server_is_corrected_in_the_journal(hub: Hub, project: Path) -> None:
    """Each confirmed write the read-back does not show gets a verify line saying so."""
    hub.admin("POST", "faults", {"kind": "lie", "operation": "statuses.batch.write", "count": 1})
    assert hub.hsprefs("apply", "--auto-approve").code == 1
    lines = journal(project)
    assert [line["operation"] for line in lines] == ["unsubscribe-all"] + ["write"] * 7 + [
        "verify"
    ] * 7
    verified = [
        (
            line["subscriber"],
            line["subscription"],
            line["outcome"],
            line["verified"],
            line["observed"],
        )
        for line in lines[8:]
    ]
    assert verified == [
        ("alice@example.com", "product", "confirmed", "not_applied", "SUBSCRIBED"),
        ("alice@example.com", "newsletter", "confirmed", "not_applied", "NOT_SPECIFIED"),
        ("carol@example.com", "events", "confirmed", "not_applied", "SUBSCRIBED"),
        ("dave@example.com", "events", "confirmed", "not_applied", "NOT_SPECIFIED"),
        ("erin@example.com", "newsletter", "confirmed", "not_applied", "UNSUBSCRIBED"),
        ("alice@example.com", "outdoor-news", "confirmed", "not_applied", "NOT_SPECIFIED"),
        ("ivan@example.com", "outdoor-news", "confirmed", "not_applied", "SUBSCRIBED"),
    ]
    # a verify line restates the answer it corrects and names the same call
    assert [line["correlation_id"] for line in lines[8:]] == [
        line["correlation_id"] for line in lines[1:8]
    ]
    assert all(line["verification_error"] is None for line in lines)
    assert all(line["verified"] is None and line["observed"] is None for line in lines[:8])


def test_per_item_failure_does_not_stop_the_rest(hub: Hub, project: Path) -> None:
    """An input HubSpot rejects is reported and journalled; the others are applied. The
    refusal is for want of a legal basis and the config says gdpr: false, so the report
    and the error say to set gdpr: true and add one."""
    # The config forgets that the portal is GDPR-enabled and drops the default legal
    # basis, so HubSpot rejects the two subscribes that have none of their own.
    path = project / "hsprefs.yaml"
    path.write_text(path.read_text().replace("gdpr: true", "gdpr: false"))
    path = project / "subscribers" / "customers.yaml"
    text = path.read_text()
    start = text.index("defaults:")
    path.write_text(text[:start] + text[text.index("subscribers:") :])
    _checksum, applying = saved_plan(hub, project)
    result = hub.hsprefs("apply", "--plan", "plan.json")
    assert result.code == 1
    refused = (
        "VALIDATION_ERROR: A legal basis (legalBasis and legalBasisExplanation) is required "
        "to subscribe a contact while data privacy settings are on [correlationId <cid>]"
    )
    assert masked(result.out) == applying + (
        "Applied and verified: 6 of 8 changes (2 calls).\n"
        "  Failed: 2\n"
        f"    alice@example.com newsletter (101) -> SUBSCRIBED: {refused}\n"
        f"    dave@example.com events (103) -> SUBSCRIBED: {refused}\n"
        f"Journal: {JOURNAL} (8 lines written)\n"
        f"What is left: {GDPR_OFF_HINT}.\n"
    )
    assert result.err == (
        "hsprefs: error: 2 of 8 changes did not reach their desired state: 2 failed "
        f"({GDPR_OFF_HINT})\n"
    )
    lines = journal(project)
    failed = [line for line in lines if line["outcome"] == "failed"]
    assert [(line["subscriber"], line["error"]) for line in failed] == [
        ("alice@example.com", refused.removesuffix(" [correlationId <cid>]")),
        ("dave@example.com", refused.removesuffix(" [correlationId <cid>]")),
    ]
    # HubSpot's refusal and the read-back agree: no verify line is needed
    assert [line["operation"] for line in lines].count("verify") == 0


def test_journal_lines(hub: Hub, project: Path) -> None:
    """The journal has one line per input sent, with every field of the design."""
    assert hub.hsprefs("plan", "-o", "plan.json").code == 0
    checksum = json.loads((project / "plan.json").read_text())["checksum"]
    assert hub.hsprefs("apply", "--plan", "plan.json", "--journal", "j.jsonl").code == 0
    lines = journal(project, "j.jsonl")
    summary = [
        f"{line['operation']} {line['subscriber']} {line['brand']} {line['subscription']} "
        f"{line['before']}->{line['after']} {line['outcome']} {line['result']}"
        for line in lines
    ]
    ok = "confirmed REQUESTED_CHANGE_OCCURRED"
    assert summary == [
        "unsubscribe-all bob@example.com 0 None NOT_SPECIFIED->UNSUBSCRIBED "
        "confirmed UNSUBSCRIBE_FROM_ALL_OCCURRED",
        f"write alice@example.com 0 product SUBSCRIBED->UNSUBSCRIBED {ok}",
        f"write ivan@example.com 5 outdoor-news SUBSCRIBED->UNSUBSCRIBED {ok}",
        f"write carol@example.com 0 events SUBSCRIBED->NOT_SPECIFIED {ok}",
        f"write alice@example.com 0 newsletter NOT_SPECIFIED->SUBSCRIBED {ok}",
        f"write dave@example.com 0 events NOT_SPECIFIED->SUBSCRIBED {ok}",
        "write erin@example.com 0 newsletter UNSUBSCRIBED->SUBSCRIBED "
        "confirmed RESUBSCRIBE_OCCURRED",
        f"write alice@example.com 5 outdoor-news NOT_SPECIFIED->SUBSCRIBED {ok}",
    ]
    first = lines[4]
    assert set(first) == {
        "time", "operation", "subscriber", "brand", "subscription_id", "subscription",
        "before", "after", "legal_basis", "legal_basis_explanation", "outcome", "result",
        "error", "correlation_id", "plan_checksum", "portal_id", "config_commit",
        "verified", "observed", "verification_error", "call_id",
    }  # fmt: skip
    # every input was confirmed and the read-back shows it: no verify line
    assert len(lines) == 8
    # written ahead: each answer follows a sending line of its call (journal_all checks
    # the order), one per input, and the two calls have two ids of one run
    every = journal_all(project, "j.jsonl")
    assert [line["outcome"] for line in every].count("sending") == 8
    calls = sorted({str(line["call_id"]) for line in every})
    assert len(calls) == 2
    assert len({call.split("-")[0] for call in calls}) == 1
    assert all(line["verified"] is None for line in lines)
    assert first["legal_basis"] == "CONSENT_WITH_NOTICE"
    assert first["legal_basis_explanation"] == "Signed up on the website"
    assert first["subscription_id"] == "101"
    assert all(line["plan_checksum"] == checksum for line in lines)
    assert all(line["portal_id"] == 12345678 for line in lines)
    assert str(first["time"]).endswith("Z")


def test_journal_is_appended_not_replaced(hub: Hub, project: Path) -> None:
    """A second apply appends to the journal."""
    hub.admin("POST", "faults", {"kind": "lie", "operation": "statuses.batch.write", "count": 1})
    hub.hsprefs("apply", "--auto-approve")
    first = len(journal(project))
    hub.hsprefs("apply", "--auto-approve")
    assert len(journal(project)) == first + 7


def test_no_changes_apply_writes_nothing(hub: Hub, project: Path) -> None:
    """Applying when HubSpot already matches (but for a blocked pair) makes no write call,
    and does not claim HubSpot matches the config."""
    assert hub.hsprefs("apply", "--auto-approve").code == 0
    hub.reset_counts()
    result = hub.hsprefs("apply", "--auto-approve")
    assert result.code == 0
    assert result.out.endswith(
        "No changes to apply: the blocked pairs above stay as HubSpot has them.\n"
    )
    assert write_calls(hub) == {"statuses.batch.write": 0, "statuses.batch.unsubscribe_all": 0}


def test_edited_saved_plan_is_refused(hub: Hub, project: Path) -> None:
    """A saved plan edited by hand is refused before any call."""
    assert hub.hsprefs("plan", "-o", "plan.json").code == 0
    path = project / "plan.json"
    path.write_text(path.read_text().replace("frank@example.com", "frank2@example.com"))
    hub.reset_counts()
    result = hub.hsprefs("apply", "--plan", "plan.json")
    assert result.code == 1
    assert "plan.json does not match its checksum" in result.err
    assert sum(hub.counts().values()) == 0


def test_token_never_in_output_journal_or_plan(hub: Hub, project: Path) -> None:
    """The token appears in no output, journal line or plan file."""
    outputs = [hub.hsprefs("plan", "-o", "plan.json", "--debug")]
    outputs.append(hub.hsprefs("apply", "--plan", "plan.json", "--debug"))
    texts = [r.out + r.err for r in outputs]
    texts.append((project / "plan.json").read_text())
    texts.append((project / JOURNAL).read_text())
    assert all(DEFAULT_TOKEN not in text for text in texts)


def test_token_never_in_verify_lines_or_a_stopped_report(hub: Hub, project: Path) -> None:
    """Neither verify lines nor the report and error line of a stopped run carry the token."""
    hub.admin("POST", "faults", {"kind": "lie", "operation": "statuses.batch.write", "count": 1})
    outputs = [hub.hsprefs("apply", "--auto-approve", "--debug")]
    assert outputs[0].code == 1
    _checksum, _applying = saved_plan(hub, project)
    allow_requests(hub, 6)  # account info, the stale check, the unsubscribe-all: no more
    outputs.append(hub.hsprefs("apply", "--plan", "plan.json", "--debug"))
    assert outputs[1].code == 1
    lines = journal(project)
    assert {line["verified"] for line in lines} == {None, "not_applied", "unknown"}
    texts = [r.out + r.err for r in outputs] + [(project / JOURNAL).read_text()]
    assert all(DEFAULT_TOKEN not in text for text in texts)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_interactive_apply_asks_and_applies_on_yes(
    hub: Hub, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a terminal apply shows the plan, asks, and applies after 'y'."""
    monkeypatch.setattr("sys.stdin", _Terminal("y\n"))
    hub.reset_counts()
    result = hub.hsprefs("apply")
    assert result.code == 0, result.err
    assert "Apply these 8 changes? [y/N]: " in result.out
    assert "Applied and verified: 8 of 8 changes (2 calls)." in result.out
    # approval took time, so the touched subscribers were re-read before writing
    assert hub.counts()["statuses.batch.read"] == 6


def test_interactive_apply_writes_nothing_on_no(
    hub: Hub, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Answering no cancels without a single write."""
    monkeypatch.setattr("sys.stdin", _Terminal("n\n"))
    result = hub.hsprefs("apply")
    assert result.code == 1
    assert result.err == "hsprefs: error: apply cancelled; nothing was written\n"
    assert write_calls(hub) == {"statuses.batch.write": 0, "statuses.batch.unsubscribe_all": 0}


def test_token_without_write_scope_stops_with_the_scope_named(
    hub: Hub, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read-only token (403 on the first write) stops the run: the report, then the 403
    with the missing scope and what to do, said once (on the error line)."""
    seed = yaml.safe_load(SEED.read_text())
    seed["tokens"].append(
        {
            "token": "read-only-token",
            "name": "auditor",
            "scopes": [
                "communication_preferences.read",
                "communication_preferences.statuses.batch.read",
            ],
        }
    )
    other = create_app(EmulatorSettings(seed=seed, rate_limit=0))
    hub.app, original = other, hub.app
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", "read-only-token")
    try:
        _checksum, applying = saved_plan(hub, project)
        hub.reset_counts()
        result = hub.hsprefs("apply", "--plan", "plan.json")
        assert result.code == 1
        scope = (
            "the token lacks scopes for POST /communication-preferences/2026-03/statuses/batch/"
            "unsubscribe-all: communication_preferences.statuses.batch.write (HubSpot answered "
            "403 Forbidden: MISSING_SCOPES: This app hasn't been granted all required scopes to "
            "make this call. Read more about required scopes here: "
            "https://developers.hubspot.com/scopes. (One or more of the following scopes are "
            "required.))"
        )
        hint = (
            "(HubSpot grants the batch scopes only to Marketing Hub Enterprise portals: use "
            "--api-mode single (or auto), or add them to the Service Key or private app and "
            "use its token)"
        )
        stopped = "the apply stopped before it was sent"
        assert masked(result.out) == applying + (
            "Applied and verified: 0 of 8 changes (1 of 2 calls sent).\n"
            "  Failed: 1\n"
            "    bob@example.com unsubscribe-all (brand 0): refused: see the error line below\n"
            "  Not sent: 7\n"
            f"    alice@example.com product (102) -> UNSUBSCRIBED: {stopped}\n"
            f"    alice@example.com newsletter (101) -> SUBSCRIBED: {stopped}\n"
            f"    carol@example.com events (103) -> NOT_SPECIFIED: {stopped}\n"
            f"    dave@example.com events (103) -> SUBSCRIBED: {stopped}\n"
            f"    erin@example.com newsletter (101) -> SUBSCRIBED: {stopped}\n"
            f"    alice@example.com outdoor-news (201) -> SUBSCRIBED: {stopped}\n"
            f"    ivan@example.com outdoor-news (201) -> UNSUBSCRIBED: {stopped}\n"
            "Stopped: HubSpot refused a call in a way that stops the apply, so no further call "
            "was sent (see the error line below: it says why and what to do).\n"
            f"Journal: {JOURNAL} (1 line written)\n" + NEXT_STEP
        )
        assert masked(result.err) == f"hsprefs: error: {scope} {hint} [correlationId <cid>]\n"
        assert (result.out + result.err).count(
            "communication_preferences.statuses.batch.write"
        ) == 1
        # the read-back still ran (reading is in scope): bob is shown not opted out
        assert write_calls(hub) == {"statuses.batch.write": 0, "statuses.batch.unsubscribe_all": 1}
        assert hub.counts()["statuses.batch.read"] == 2 + 1
        assert "read-only-token" not in result.out + result.err
        lines = journal(project)
        assert [(line["operation"], line["subscriber"], line["outcome"]) for line in lines] == [
            ("unsubscribe-all", "bob@example.com", "failed")
        ]
        assert lines[0]["error"] == scope
    finally:
        hub.app = original
        other.state.emulator.close()


def test_inputs_refused_for_a_missing_scope_are_journalled(
    hub: Hub, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The refused unsubscribe-all is in the journal with HubSpot's error."""
    seed: dict[str, Any] = yaml.safe_load(SEED.read_text())
    scopes = ["communication_preferences.read", "communication_preferences.statuses.batch.read"]
    seed["tokens"].append({"token": "read-only-token", "name": "auditor", "scopes": scopes})
    other = create_app(EmulatorSettings(seed=seed, rate_limit=0))
    hub.app, original = other, hub.app
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", "read-only-token")
    try:
        assert hub.hsprefs("apply", "--auto-approve").code == 1
    finally:
        hub.app = original
        other.state.emulator.close()
    lines = answer_lines(project / ".hsprefs/journal.jsonl")
    assert [(x["operation"], x["subscriber"], x["outcome"]) for x in lines] == [
        ("unsubscribe-all", "bob@example.com", "failed")
    ]
    assert "communication_preferences.statuses.batch.write" in lines[0]["error"]


def test_write_calls_are_minimal_with_small_batches_and_two_brands(hub: Hub, project: Path) -> None:
    """Batch 2: ⌈6 writes / 2⌉ = 3 write calls, and one unsubscribe-all call per brand."""
    path = project / "subscribers" / "outdoor.yaml"
    path.write_text(
        path.read_text().replace(
            "  ivan@example.com:\n", "  ivan@example.com:\n    unsubscribe_all: true\n"
        )
    )
    hub.reset_counts()
    result = hub.hsprefs("apply", "--auto-approve", "--batch-size", "2")
    assert result.code == 0, result.err
    assert "Applied and verified: 8 of 8 changes (5 calls)." in result.out
    assert write_calls(hub) == {"statuses.batch.write": 3, "statuses.batch.unsubscribe_all": 2}


def test_applying_an_applied_plan_exits_0_with_no_writes(hub: Hub, project: Path) -> None:
    """A retried job applies the same saved plan again: one line, exit 0, nothing written."""
    saved_plan(hub, project)
    assert hub.hsprefs("apply", "--plan", "plan.json").code == 0
    lines_before = len(journal(project))
    hub.reset_counts()
    again = hub.hsprefs("apply", "--plan", "plan.json")
    assert (again.code, again.err) == (0, "")
    assert again.out == (
        "Already applied: HubSpot shows all 8 changes of the plan; nothing was written.\n"
    )
    assert write_calls(hub) == {"statuses.batch.write": 0, "statuses.batch.unsubscribe_all": 0}
    assert len(journal(project)) == lines_before


def test_a_partly_applied_plan_applies_the_rest(hub: Hub, project: Path) -> None:
    """After a run that applied part of a plan, the same plan applies only what is left."""
    checksum, _applying = saved_plan(hub, project)
    hub.admin("POST", "faults", {"kind": "lie", "operation": "statuses.batch.write", "count": 1})
    assert hub.hsprefs("apply", "--plan", "plan.json").code == 1
    hub.reset_counts()
    again = hub.hsprefs("apply", "--plan", "plan.json")
    assert (again.code, again.err) == (0, "")
    assert again.out == (
        "Already applied: HubSpot shows 1 of the plan's 8 changes; they are skipped.\n"
        f"Applying plan {checksum} to portal 12345678: 4 to subscribe, 2 to unsubscribe, "
        "1 to not-specified, 1 unsubscribe-all, 1 blocked, 6 unchanged; 2 calls for "
        "8 changes.\n"
        "Applied and verified: 7 of 7 changes (1 call).\n"
        "  Already applied before this run (skipped, not written): 1 change\n"
        f"Journal: {JOURNAL} (7 lines written)\n"
    )
    assert write_calls(hub) == {"statuses.batch.write": 1, "statuses.batch.unsubscribe_all": 0}
    assert {line["plan_checksum"] for line in journal(project)} == {checksum}


def test_a_partly_applied_plan_is_stale_when_the_rest_changed(hub: Hub, project: Path) -> None:
    """What is not yet applied must still match its planned starting point."""
    saved_plan(hub, project)
    hub.admin("POST", "faults", {"kind": "lie", "operation": "statuses.batch.write", "count": 1})
    assert hub.hsprefs("apply", "--plan", "plan.json").code == 1
    response = hub.api(
        "POST",
        "/communication-preferences/2026-03/statuses/batch/write",
        {
            "inputs": [
                {
                    "subscriberIdString": "carol@example.com",
                    "subscriptionId": 103,
                    "statusState": "UNSUBSCRIBED",
                    "channel": "EMAIL",
                }
            ]
        },
    )
    assert response.status_code == 200
    hub.reset_counts()
    again = hub.hsprefs("apply", "--plan", "plan.json")
    assert again.code == 1
    assert again.err == (
        "hsprefs: error: the plan is stale: 1 of 8 changes no longer match HubSpot "
        "(carol@example.com events (103): planned from SUBSCRIBED, now UNSUBSCRIBED) "
        "(run 'hsprefs plan -o FILE' again, review it and apply the new plan)\n"
    )
    assert write_calls(hub) == {"statuses.batch.write": 0, "statuses.batch.unsubscribe_all": 0}
