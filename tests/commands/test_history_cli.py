"""`hsprefs history`: a person's journal lines with their evidence, exact output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.commands.conftest import PROJECT, TOKEN, Hub

PLAN = "sha256:" + "ab" * 32
NOT_OUT = "not opted out of all"
COMMIT = "1f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c"


def line(time: str, email: str, **fields: Any) -> str:
    record: dict[str, Any] = {
        "time": time, "operation": "write", "subscriber": email, "brand": 0,
        "subscription_id": "11", "subscription": "newsletter", "before": "UNSUBSCRIBED",
        "after": "SUBSCRIBED", "legal_basis": "CONSENT_WITH_NOTICE",
        "legal_basis_explanation": "Re-opted in at the fair, form #88", "outcome": "confirmed",
        "result": "RESUBSCRIBE_OCCURRED", "error": None, "correlation_id": "c-1",
        "plan_checksum": PLAN, "portal_id": 4242, "config_commit": COMMIT, "verified": None,
        "observed": None, "verification_error": None,
    }  # fmt: skip
    record.update(fields)
    return json.dumps(record, ensure_ascii=False) + "\n"


NOVEMBER = (
    line("2026-11-03T10:00:00.000001Z", "bob@example.com", after="UNSUBSCRIBED",
         before="SUBSCRIBED", legal_basis=None, legal_basis_explanation=None,
         result="REQUESTED_CHANGE_OCCURRED")
    + line("2026-11-23T06:39:32.503371Z", "ann@example.com")
)  # fmt: skip
DECEMBER = line(
    "2026-12-01T08:00:00Z", "ann@example.com", operation="unsubscribe-all",
    subscription_id=None, subscription=None, brand=7, before="NOT_SPECIFIED",
    after="UNSUBSCRIBED", legal_basis=None, legal_basis_explanation=None,
    result="UNSUBSCRIBE_FROM_ALL_OCCURRED", correlation_id="c-2",
) + line(
    "2026-12-01T08:00:01Z", "ann@example.com", operation="verify", brand=7,
    subscription_id=None, subscription=None, before="NOT_SPECIFIED", after="UNSUBSCRIBED",
    verified="not_applied", observed="not opted out of all", correlation_id="c-2",
    result="UNSUBSCRIBE_FROM_ALL_OCCURRED",
)  # fmt: skip


@pytest.fixture
def journals(project: Path) -> Path:
    """journal/ with two month files (as the GitHub Action commits them) and brand names."""
    folder = project / "journal"
    folder.mkdir()
    (folder / "2026-11.jsonl").write_text(NOVEMBER, encoding="utf-8")
    (folder / "2026-12.jsonl").write_text(DECEMBER, encoding="utf-8")
    (folder / "notes.txt").write_text("not a journal\n", encoding="utf-8")
    text = PROJECT + "brands:\n  0: Account\n  7: Trail\n"
    (project / "hsprefs.yaml").write_text(text, encoding="utf-8")
    return folder


ANN = f"""\
History of ann@example.com: 3 journal lines in 2 journals (4 lines read)

2026-11-23T06:39:32.503371Z  brand 0 (Account)  newsletter (11)  UNSUBSCRIBED -> SUBSCRIBED
    legal basis sent: CONSENT_WITH_NOTICE "Re-opted in at the fair, form #88"
    HubSpot: confirmed (RESUBSCRIBE_OCCURRED)
    evidence: correlationId c-1, plan {PLAN}, config commit {COMMIT}, journal/2026-11.jsonl:2

2026-12-01T08:00:00Z  brand 7 (Trail)  all email  NOT_SPECIFIED -> UNSUBSCRIBED
    no legal basis sent
    HubSpot: confirmed (UNSUBSCRIBE_FROM_ALL_OCCURRED)
    evidence: correlationId c-2, plan {PLAN}, config commit {COMMIT}, journal/2026-12.jsonl:1

2026-12-01T08:00:01Z  brand 7 (Trail)  all email  read back: not_applied, observed {NOT_OUT}
    HubSpot: confirmed (UNSUBSCRIBE_FROM_ALL_OCCURRED)
    evidence: correlationId c-2, plan {PLAN}, config commit {COMMIT}, journal/2026-12.jsonl:2
"""


def test_a_persons_history_from_a_journal_folder(hub: Hub, journals: Path) -> None:
    """Every line about the person, in time order, with its evidence and file:line; no
    call to HubSpot."""
    hub.reset_counts()
    result = hub.hsprefs("history", "Ann@Example.com", "--journal", "journal/")
    assert (result.code, result.err) == (0, "")
    assert result.out == ANN
    assert hub.counts() == {}


def test_the_same_line_in_two_journals_is_shown_once(hub: Hub, journals: Path) -> None:
    """The local journal and its committed copy hold the same lines: each is shown once."""
    (journals.parent / ".hsprefs").mkdir()
    (journals.parent / ".hsprefs" / "journal.jsonl").write_text(DECEMBER, encoding="utf-8")
    result = hub.hsprefs(
        "history", "ann@example.com", "--journal", "journal", "--journal", ".hsprefs"
    )
    assert result.out.splitlines()[0] == (
        "History of ann@example.com: 3 journal lines in 3 journals (6 lines read)"
    )


def test_someone_without_lines(hub: Hub, journals: Path) -> None:
    """A person the journals do not name: said plainly, exit 0."""
    result = hub.hsprefs("history", "zed@example.com", "--journal", "journal")
    assert (result.code, result.out) == (
        0,
        "History of zed@example.com: 0 journal lines in 2 journals (4 lines read)\n"
        "  hsprefs has made no change for this person in these journals.\n",
    )


def test_an_unknown_line_kind_is_shown_not_dropped(hub: Hub, journals: Path) -> None:
    """A kind this version does not know is shown with its fields."""
    extra = json.dumps(
        {"time": "2026-12-05T00:00:00Z", "operation": "rewind", "subscriber": "ann@example.com",
         "brand": 0, "subscription_id": "11", "subscription": "newsletter", "why": "test"}
    )  # fmt: skip
    with (journals / "2026-12.jsonl").open("a", encoding="utf-8") as handle:
        handle.write(extra + "\n")
    result = hub.hsprefs("history", "ann@example.com", "--journal", "journal")
    assert result.code == 0
    assert result.out.splitlines()[-3:] == [
        "2026-12-05T00:00:00Z  brand 0 (Account)  newsletter (11)  rewind (a line kind this "
        "version of hsprefs does not word)",
        '    fields: why="test"',
        "    from journal/2026-12.jsonl:3",
    ]


def test_write_ahead_lines_fold_into_their_answer(hub: Hub, project: Path) -> None:
    """A ``sending`` line whose answer follows (same call_id) is left out; one without an
    answer (the run was killed) is shown as such, and the ``recover`` line that settled
    it is worded."""
    sent = {"outcome": "sending", "result": None, "correlation_id": None}
    text = (
        line("2026-12-03T09:00:00Z", "ann@example.com", call_id="k1", **sent)
        + line("2026-12-03T09:00:01Z", "ann@example.com", call_id="k1")
        + line("2026-12-04T09:00:00Z", "ann@example.com", call_id="k2", **sent)
        + line("2026-12-04T09:05:00Z", "ann@example.com", call_id="k2", operation="recover",
               outcome="unconfirmed", result=None, correlation_id=None, verified="applied",
               observed="SUBSCRIBED")
    )  # fmt: skip
    (project / "journal.jsonl").write_text(text, encoding="utf-8")
    result = hub.hsprefs("history", "ann@example.com", "--journal", "journal.jsonl")
    assert result.code == 0
    lines = result.out.splitlines()
    assert lines[0] == "History of ann@example.com: 3 journal lines in 1 journal (4 lines read)"
    shown = [row for row in lines if "HubSpot:" in row or "->" in row]
    assert shown == [
        "2026-12-03T09:00:01Z  brand 0  newsletter (11)  UNSUBSCRIBED -> SUBSCRIBED",
        "    HubSpot: confirmed (RESUBSCRIBE_OCCURRED)",
        "2026-12-04T09:00:00Z  brand 0  newsletter (11)  UNSUBSCRIBED -> SUBSCRIBED",
        "    HubSpot: sent, but no answer was journalled (the run ended while the call was out)",
        "2026-12-04T09:05:00Z  brand 0  newsletter (11)  UNSUBSCRIBED -> SUBSCRIBED: settled "
        "by a later run, read back applied, observed SUBSCRIBED",
        "    HubSpot: unconfirmed",
    ]


def test_a_cut_short_line_is_a_warning(hub: Hub, journals: Path) -> None:
    """A line naming the person that is not JSON (a crashed run) is named, not skipped
    silently."""
    with (journals / "2026-12.jsonl").open("a", encoding="utf-8") as handle:
        handle.write('{"time": "2026-12-02T00:00:00Z", "operation": "write", "subscriber": '
                     '"ann@example.com", "bra\n')  # fmt: skip
    result = hub.hsprefs("history", "ann@example.com", "--journal", "journal")
    assert result.code == 0
    assert result.out.splitlines()[-1] == (
        "warning: journal/2026-12.jsonl:3: not a JSON object (cut short by a crashed run?); "
        "the line names someone asked for but was not read"
    )


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (
            ["--journal", "hsprefs.yaml"],
            "hsprefs: error: hsprefs.yaml:1: not an hsprefs journal (its first line is not a "
            "journal line) (pass --journal the journal (.hsprefs/journal.jsonl) or a folder "
            "of them)",
        ),
        (
            ["--journal", "nowhere"],
            "hsprefs: error: journal nowhere does not exist (pass --journal with the journal "
            "file or its folder (.hsprefs/ by default; journal/ where the GitHub Action "
            "commits it))",
        ),
        (
            [],
            "hsprefs: error: journal .hsprefs does not exist (pass --journal with the journal "
            "file or its folder (.hsprefs/ by default; journal/ where the GitHub Action "
            "commits it))",
        ),
    ],
    ids=["not-a-journal", "missing", "no-default"],
)
def test_refusals(hub: Hub, journals: Path, args: list[str], error: str) -> None:
    """What is not a journal is one error line saying what to pass."""
    result = hub.hsprefs("history", "ann@example.com", *args)
    assert (result.code, result.out, result.err) == (1, "", error + "\n")


def test_not_an_address(hub: Hub, journals: Path) -> None:
    """An argument that is not an email address is refused, naming it."""
    result = hub.hsprefs("history", "ann", "--journal", "journal")
    assert result.err == (
        "hsprefs: error: 'ann' is not an email address (give history the email addresses "
        "of the people to look up)\n"
    )


def test_json_keeps_every_field(hub: Hub, journals: Path) -> None:
    """JSON: a versioned document with every field of every line, as written."""
    result = hub.hsprefs("history", "ann@example.com", "--journal", "journal", "--format", "json")
    document = json.loads(result.out)
    assert (document["format"], document["version"], document["lines_read"]) == (
        "hsprefs-history",
        1,
        4,
    )
    events = document["people"][0]["events"]
    assert [e["kind"] for e in events] == ["write", "unsubscribe-all", "verify"]
    assert events[0]["journal_line"] == json.loads(NOVEMBER.splitlines()[1])
    assert events[1]["brand_name"] == "Trail"
    assert document["people"][0]["live"] is None


def test_markdown_table(hub: Hub, journals: Path) -> None:
    """Markdown: one table per person, for a reply to an access request."""
    result = hub.hsprefs(
        "history", "bob@example.com", "--journal", "journal", "--format", "markdown"
    )
    assert result.out == (
        "# Consent history\n\n"
        "From 2 journals: `journal/2026-11.jsonl`, `journal/2026-12.jsonl` (4 lines read).\n\n"
        "## bob@example.com\n\n"
        "| when (UTC) | brand | subscription | change | legal basis sent | HubSpot's answer | "
        "evidence |\n"
        "|---|---|---|---|---|---|---|\n"
        "| 2026-11-03T10:00:00.000001Z | brand 0 (Account) | newsletter (11) | SUBSCRIBED → "
        "UNSUBSCRIBED | none | confirmed (REQUESTED\\_CHANGE\\_OCCURRED) | correlationId c-1, "
        f"plan {PLAN}, config commit {COMMIT}, journal/2026-11.jsonl:1 |\n"
    )


def test_live_adds_hubspots_statuses_and_sources(hub: Hub, journals: Path) -> None:
    """--live: the current statuses with their sources and legal bases, per brand; one
    status read and one opt-out read per brand; the token never shows."""
    hub.reset_counts()
    result = hub.hsprefs("history", "ann@example.com", "--journal", "journal", "--live")
    assert result.code == 0
    assert result.out.split("\nNow in HubSpot:\n")[1] == (
        "  brand 0 (Account): not opted out of all email\n"
        '    Newsletter (11): SUBSCRIBED since 2026-01-15T09:00:00Z, source "Website signup '
        'form", legal basis CONSENT_WITH_NOTICE "Signed up at the shop: form #12"\n'
        "    Product Updates (12): UNSUBSCRIBED since 2026-03-01T10:00:00Z, source "
        '"Self-service preference center"\n'
        "  brand 7 (Trail): not opted out of all email\n"
        '    Trail News (71): SUBSCRIBED since 2025-08-18T09:30:00Z, source "In-store signup", '
        'legal basis LEGITIMATE_INTEREST_CLIENT "Existing customer of the trail shop"\n'
        '    Trail Offers (72): UNSUBSCRIBED since 2026-04-22T19:05:00Z, source "Unsubscribe '
        'link in email"\n'
    )
    assert hub.counts() == {
        "account_info": 1,
        "statuses.batch.read": 2,
        "statuses.batch.unsubscribe_all_read": 2,
    }
    assert TOKEN not in result.out + result.err


def test_live_refuses_a_token_of_another_portal(hub: Hub, journals: Path) -> None:
    """--live with a project of another portal: refused, nothing read."""
    text = (journals.parent / "hsprefs.yaml").read_text("utf-8").replace("id: 4242", "id: 99")
    (journals.parent / "hsprefs.yaml").write_text(text, encoding="utf-8")
    result = hub.hsprefs("history", "ann@example.com", "--journal", "journal", "--live")
    assert (result.code, result.out) == (1, "")
    assert result.err == (
        "hsprefs: error: the token belongs to portal 4242, but the config manages portal 99 "
        "(use the token of the right portal, or fix portal.id in hsprefs.yaml)\n"
    )
