"""render_apply_report and apply.failure_line (the error line): every section, exactly."""

from __future__ import annotations

from reconciler.errors import RateLimitError
from reconciler.model import Status
from reconciler.outcome import ApplyReport, ItemReport
from reconciler.outcome import failure_line as render_apply_failure
from reconciler.plan import Change, ChangeKind
from reconciler.render.apply_report import render_apply_report

JOURNAL = ".hsprefs/journal.jsonl"
RERUN = (
    "What is left: make a new plan with 'hsprefs plan -o FILE', review it and apply it with "
    "'hsprefs apply --plan FILE' (or run 'hsprefs apply', which plans afresh and asks).\n"
)


def unsubscribe(email: str) -> Change:
    return Change(
        ChangeKind.UNSUBSCRIBE, 0, email, "102", Status.UNSUBSCRIBED, Status.SUBSCRIBED,
        alias="product",
    )  # fmt: skip


def opt_out(email: str) -> Change:
    return Change(
        ChangeKind.UNSUBSCRIBE_ALL, 5, email, None, Status.UNSUBSCRIBED, Status.NOT_SPECIFIED
    )


def applied(email: str) -> ItemReport:
    return ItemReport(unsubscribe(email), "applied", "REQUESTED_CHANGE_OCCURRED", "c-ok")


def not_sent(email: str, detail: str = "interrupted before it was sent") -> ItemReport:
    return ItemReport(unsubscribe(email), "not_sent", detail)


def test_everything_applied() -> None:
    """A clean run is two lines: the count with its calls, and the journal."""
    report = ApplyReport(
        items=(applied("a@example.com"),), calls_made=1, calls_planned=1, journal_lines=1
    )
    assert render_apply_report(report, JOURNAL) == (
        f"Applied and verified: 1 of 1 changes (1 call).\nJournal: {JOURNAL} (1 line written)\n"
    )
    assert report.ok


def test_failed_section_names_the_reason_and_correlation_id() -> None:
    """Each failed change is listed with HubSpot's reason and correlationId."""
    report = ApplyReport(
        items=(
            applied("a@example.com"),
            ItemReport(unsubscribe("b@example.com"), "failed", "VALIDATION_ERROR: no", "c-9"),
        ),
        calls_made=1,
        calls_planned=1,
        journal_lines=2,
    )
    assert render_apply_report(report, JOURNAL) == (
        "Applied and verified: 1 of 2 changes (1 call).\n"
        "  Failed: 1\n"
        "    b@example.com product (102) -> UNSUBSCRIBED: VALIDATION_ERROR: no "
        "[correlationId c-9]\n"
        f"Journal: {JOURNAL} (2 lines written)\n" + RERUN
    )
    assert render_apply_failure(report) == (
        "1 of 2 changes did not reach their desired state: 1 failed"
    )


def test_unconfirmed_section_and_a_refused_read_back() -> None:
    """Unconfirmed changes are listed, and a refused read-back is named once, with why."""
    report = ApplyReport(
        items=(
            ItemReport(
                opt_out("c@example.com"),
                "unconfirmed",
                "HubSpot confirmed it; the read-back was refused",
                "c-1",
            ),
            ItemReport(
                unsubscribe("d@example.com"),
                "unconfirmed",
                "HubSpot answered PENDING; the read-back was refused",
            ),
        ),
        calls_made=2,
        calls_planned=2,
        journal_lines=4,
        read_back_error="HubSpot answered 503 [correlationId c-2]",
    )
    assert render_apply_report(report, JOURNAL) == (
        "Applied and verified: 0 of 2 changes (2 calls).\n"
        "  Unconfirmed (not known to be applied): 2\n"
        "    c@example.com unsubscribe-all (brand 5): HubSpot confirmed it; the read-back "
        "was refused [correlationId c-1]\n"
        "    d@example.com product (102) -> UNSUBSCRIBED: HubSpot answered PENDING; the "
        "read-back was refused\n"
        "Read-back refused, so nothing sent could be verified: HubSpot answered 503 "
        "[correlationId c-2]\n"
        f"Journal: {JOURNAL} (4 lines written)\n" + RERUN
    )
    assert render_apply_failure(report) == (
        "2 of 2 changes did not reach their desired state: 2 unconfirmed"
    )


def test_not_sent_section_lists_at_most_the_limit() -> None:
    """A long Not sent list stops at the limit and says how many more there are."""
    items = tuple(not_sent(f"n{i}@example.com") for i in range(5))
    report = ApplyReport(items=items, calls_made=0, calls_planned=5, interrupted=True)
    assert render_apply_report(report, JOURNAL, limit=2) == (
        "Applied and verified: 0 of 5 changes (0 of 5 calls sent).\n"
        "  Not sent: 5\n"
        "    n0@example.com product (102) -> UNSUBSCRIBED: interrupted before it was sent\n"
        "    n1@example.com product (102) -> UNSUBSCRIBED: interrupted before it was sent\n"
        "    ... and 3 more\n"
        "Interrupted (Ctrl-C): stopped before any change was sent: nothing was written to "
        "HubSpot.\n"
        f"Journal: {JOURNAL} (0 lines written)\n" + RERUN
    )


def test_interrupted_before_any_change_was_sent() -> None:
    """Every change not sent: the report and the error line say plainly that nothing was
    written to HubSpot, naming the signal."""
    report = ApplyReport(items=(not_sent("a@example.com"),), calls_planned=1, interrupted=True)
    assert render_apply_report(report, JOURNAL, signal="SIGTERM").splitlines()[3] == (
        "Terminated (SIGTERM): stopped before any change was sent: nothing was written to HubSpot."
    )
    assert render_apply_failure(report, signal="SIGTERM") == (
        "the apply was terminated (SIGTERM) before any change was sent: nothing was written "
        "to HubSpot"
    )


def test_interrupted_part_way() -> None:
    """An interrupt that kept calls from leaving: the counts, the sections and the error
    line all say what was applied and what was not sent."""
    report = ApplyReport(
        items=(applied("a@example.com"), applied("b@example.com"), not_sent("c@example.com")),
        calls_made=1,
        calls_planned=2,
        interrupted=True,
        journal_lines=2,
    )
    assert render_apply_report(report, JOURNAL) == (
        "Applied and verified: 2 of 3 changes (1 of 2 calls sent).\n"
        "  Not sent: 1\n"
        "    c@example.com product (102) -> UNSUBSCRIBED: interrupted before it was sent\n"
        "Interrupted (Ctrl-C): the calls already sent finished and were journalled; "
        "1 call of 2 was not sent.\n"
        f"Journal: {JOURNAL} (2 lines written)\n" + RERUN
    )
    assert render_apply_failure(report) == (
        "the apply was interrupted (Ctrl-C): 2 of 3 changes applied and verified, 1 not sent"
    )
    assert not report.ok


def test_interrupted_after_every_call_left_is_ok() -> None:
    """An interrupt that came once every call had been sent kept nothing back: the report
    says so and the run counts as a success."""
    report = ApplyReport(
        items=(applied("a@example.com"),),
        calls_made=1,
        calls_planned=1,
        interrupted=True,
        journal_lines=1,
    )
    assert render_apply_report(report, JOURNAL) == (
        "Applied and verified: 1 of 1 changes (1 call).\n"
        "Interrupted (Ctrl-C) after every call had been sent: nothing was left out.\n"
        f"Journal: {JOURNAL} (1 line written)\n"
    )
    assert report.ok


def test_stopped_by_a_refusal() -> None:
    """A refusal that stopped the run is said once, on the error line after the report:
    the report's items and its Stopped line point to it."""
    cap = RateLimitError(
        "HubSpot's daily API limit is used up",
        policy_name="DAILY",
        hint="wait for the daily limit to reset",
        correlation_id="c-7",
    )
    report = ApplyReport(
        items=(
            ItemReport(
                unsubscribe("a@example.com"),
                "failed",
                "HubSpot's daily API limit is used up",
                "c-7",
            ),
            not_sent("b@example.com", "the apply stopped before it was sent"),
        ),
        calls_made=1,
        calls_planned=2,
        journal_lines=1,
        stopped_by=cap,
    )
    assert render_apply_report(report, JOURNAL) == (
        "Applied and verified: 0 of 2 changes (1 of 2 calls sent).\n"
        "  Failed: 1\n"
        "    a@example.com product (102) -> UNSUBSCRIBED: refused: see the error line below\n"
        "  Not sent: 1\n"
        "    b@example.com product (102) -> UNSUBSCRIBED: the apply stopped before it was sent\n"
        "Stopped: HubSpot refused a call in a way that stops the apply, so no further call "
        "was sent (see the error line below: it says why and what to do).\n"
        f"Journal: {JOURNAL} (1 line written)\n" + RERUN
    )
    assert not report.ok


def test_an_item_of_another_call_refused_alike_keeps_its_correlation_id() -> None:
    """Two calls refused with the same words: the item of the call that did not stop the
    run keeps its own correlationId (it is not the one on the error line)."""
    cap = RateLimitError("HubSpot's daily API limit is used up", correlation_id="c-7")
    report = ApplyReport(
        items=(
            ItemReport(unsubscribe("a@example.com"), "failed", cap.message, "c-7"),
            ItemReport(unsubscribe("b@example.com"), "failed", cap.message, "c-8"),
        ),
        calls_made=2,
        calls_planned=2,
        journal_lines=2,
        stopped_by=cap,
    )
    assert render_apply_report(report, JOURNAL).splitlines()[1:4] == [
        "  Failed: 2",
        "    a@example.com product (102) -> UNSUBSCRIBED: refused: see the error line below",
        "    b@example.com product (102) -> UNSUBSCRIBED: refused: see the error line below "
        "[correlationId c-8]",
    ]


def test_a_refusal_is_said_in_full_when_a_journal_write_failed_too() -> None:
    """When a journal write failed as well, the error line is about the journal: the
    report says the refusal in full."""
    cap = RateLimitError("HubSpot's daily API limit is used up", hint="wait", correlation_id="c-7")
    report = ApplyReport(
        items=(ItemReport(unsubscribe("a@example.com"), "failed", cap.message, "c-7"),),
        calls_made=1,
        calls_planned=1,
        journal_lines=0,
        stopped_by=cap,
        journal_error="No space left on device",
    )
    lines = render_apply_report(report, JOURNAL).splitlines()
    assert lines[2] == (
        "    a@example.com product (102) -> UNSUBSCRIBED: HubSpot's daily API limit is used "
        "up [correlationId c-7]"
    )
    assert lines[3] == (
        "Stopped: HubSpot refused a call in a way that stops the apply, so no further call "
        "was sent: HubSpot's daily API limit is used up (wait) [correlationId c-7]"
    )


def test_implied_unsubscribes_missing() -> None:
    """Every change applied but an implied unsubscribe not shown is still a failure."""
    report = ApplyReport(
        items=(ItemReport(opt_out("c@example.com"), "applied", "UNSUBSCRIBE_FROM_ALL_OCCURRED"),),
        calls_made=1,
        calls_planned=1,
        journal_lines=1,
        implied_missing=("c@example.com 201",),
    )
    assert render_apply_report(report, JOURNAL) == (
        "Applied and verified: 1 of 1 changes (1 call).\n"
        "  Implied unsubscribes not shown by the read-back: 1\n"
        "    c@example.com 201\n"
        f"Journal: {JOURNAL} (1 line written)\n" + RERUN
    )
    assert render_apply_failure(report) == (
        "all 1 changes were applied and verified, but 1 implied unsubscribe not shown by "
        "the read-back"
    )


def test_failure_line_counts_every_state() -> None:
    """The error line names failed, unconfirmed and not sent, leaving out empty ones."""
    report = ApplyReport(
        items=(
            applied("a@example.com"),
            ItemReport(unsubscribe("b@example.com"), "failed", "no"),
            ItemReport(unsubscribe("c@example.com"), "unconfirmed", "PENDING"),
            not_sent("d@example.com", "the apply stopped before it was sent"),
            not_sent("e@example.com", "the apply stopped before it was sent"),
        ),
        calls_made=3,
        calls_planned=4,
    )
    assert render_apply_failure(report) == (
        "4 of 5 changes did not reach their desired state: 1 failed, 1 unconfirmed, 2 not sent"
    )


def test_live_strings_cannot_forge_lines_or_drive_the_terminal() -> None:
    """A HubSpot message with a line break and an escape sequence stays on its line,
    shown escaped."""
    report = ApplyReport(
        items=(
            ItemReport(
                unsubscribe("b@example.com"), "failed", "bad\nApplied and verified: 9\x1b]0;x\x07"
            ),
        ),
        calls_made=1,
        calls_planned=1,
        journal_lines=1,
    )
    assert render_apply_report(report, JOURNAL).splitlines()[2] == (
        "    b@example.com product (102) -> UNSUBSCRIBED: "
        "bad\\nApplied and verified: 9\\x1b]0;x\\x07"
    )


def test_terminated_by_sigterm() -> None:
    """A run stopped by SIGTERM says it was terminated, in the report and the error line."""
    report = ApplyReport(
        items=(applied("a@example.com"), not_sent("b@example.com")),
        calls_made=1,
        calls_planned=2,
        journal_lines=1,
        interrupted=True,
    )
    assert render_apply_report(report, JOURNAL, signal="SIGTERM").splitlines()[-3] == (
        "Terminated (SIGTERM): the calls already sent finished and were journalled; "
        "1 call of 2 was not sent."
    )
    assert render_apply_failure(report, signal="SIGTERM") == (
        "the apply was terminated (SIGTERM): 1 of 2 changes applied and verified, 1 not sent"
    )


def test_a_failed_journal_write_is_reported() -> None:
    """The journal line says how many lines were written, the OS error, and that the
    lines it could not write are on stderr; the run is not ok."""
    report = ApplyReport(
        items=(applied("a@example.com"),),
        calls_made=1,
        calls_planned=1,
        journal_lines=0,
        journal_error="No space left on device",
        unjournalled=('{"subscriber": "a@example.com"}',),
    )
    assert not report.ok
    assert render_apply_report(report, JOURNAL) == (
        "Applied and verified: 1 of 1 changes (1 call).\n"
        f"Journal: {JOURNAL} (0 lines written), then a write failed: No space left on "
        "device. No further call was sent; the 1 line it could not write is printed on "
        "stderr.\n" + RERUN
    )
