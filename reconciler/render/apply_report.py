"""The end-of-apply report: what was applied and verified, what failed and why, what is
unconfirmed or was not sent, and what stopped the run (Ctrl-C, SIGTERM, a refusal, a
journal write that failed). Returned as text; the CLI prints it. (The one-line error of
an apply that fell short is :func:`reconciler.outcome.failure_line`.) A refusal that
stopped the run (401, 403, the daily cap) is said once, in full, on the error line the
CLI prints after the report; the report points to it instead of repeating it.

Live strings (HubSpot's error messages, addresses and aliases read from files) can hold
control characters: every line goes through
:func:`~reconciler.render.safe.terminal_safe`, so the report is exactly the lines it
says, with nothing a terminal acts on.
"""

from __future__ import annotations

from reconciler.errors import ApiError
from reconciler.outcome import (
    ApplyReport,
    ItemReport,
    ItemState,
    lacks_legal_basis,
    legal_basis_hint,
)
from reconciler.plan import subscription_label
from reconciler.render.safe import terminal_safe
from reconciler.words import plural

__all__ = ["LIST_LIMIT", "NEXT_STEP", "render_apply_report"]

# Items listed per section; a run stopped early can leave thousands not sent, and the
# journal and a new plan name every one of them.
LIST_LIMIT = 20

# What to do after a run that left something undone. Applying the same saved plan again
# also converges (what is already applied is skipped), but only while nothing else
# changed for the rest; a new plan always does.
NEXT_STEP = (
    "What is left: make a new plan with 'hsprefs plan -o FILE', review it and apply it "
    "with 'hsprefs apply --plan FILE' (or run 'hsprefs apply', which plans afresh and asks)."
)

# How the report names the signal that interrupted a run.
_SIGNALS = {"SIGINT": "Interrupted (Ctrl-C)", "SIGTERM": "Terminated (SIGTERM)"}


# Where the refusal that stopped a run is said in full: the error line the CLI prints
# after the report (its message, what to do and its correlationId), said once.
_SEE_BELOW = "see the error line below"


def _item(item: ItemReport, stopped_by: ApiError | None) -> str:
    change = item.change
    if change.subscription_id is None:
        what = f"unsubscribe-all (brand {change.brand})"
    else:
        label = subscription_label(change.alias, change.subscription_id)
        what = f"{label} -> {change.after.value}"
    detail = item.detail or "no detail"
    correlation_id = item.correlation_id
    if stopped_by is not None and item.detail and stopped_by.message in item.detail:
        # Refused by the refusal that stopped the run: the error line says it in full.
        if item.detail == stopped_by.message:
            detail = f"refused: {_SEE_BELOW}"
        else:
            detail = item.detail.replace(stopped_by.message, _SEE_BELOW)
        if correlation_id == stopped_by.correlation_id:
            correlation_id = None
    line = f"    {change.email} {what}: {detail}"
    if correlation_id:
        line += f" [correlationId {correlation_id}]"
    return line


def _calls(report: ApplyReport) -> str:
    if report.calls_planned > report.calls_made:
        return f"{report.calls_made} of {report.calls_planned} calls sent"
    return plural(report.calls_made, "call")


def render_apply_report(
    report: ApplyReport, journal_path: str, *, limit: int = LIST_LIMIT, signal: str = "SIGINT"
) -> str:
    """The report printed after an apply, listing at most ``limit`` items per section;
    ``signal`` (SIGINT or SIGTERM) names what interrupted the run, if something did."""
    total = len(report.items)
    applied = report.of(ItemState.APPLIED)
    # The refusal that stopped the run is the error line after the report (unless a
    # journal write failed too: then that is the error line, and the refusal is said here).
    below = report.stopped_by if report.journal_error is None else None
    lines = [f"Applied and verified: {len(applied)} of {total} changes ({_calls(report)})."]
    if report.already_applied:
        n = len(report.already_applied)
        lines.append(
            f"  Already applied before this run (skipped, not written): {plural(n, 'change')}"
        )
    for state, title in (
        (ItemState.FAILED, "Failed"),
        (ItemState.UNCONFIRMED, "Unconfirmed (not known to be applied)"),
        (ItemState.NOT_SENT, "Not sent"),
    ):
        items = report.of(state)
        if items:
            lines.append(f"  {title}: {len(items)}")
            lines.extend(_item(item, below) for item in items[:limit])
            if len(items) > limit:
                lines.append(f"    ... and {len(items) - limit} more")
    if report.implied_missing:
        lines.append(
            f"  Implied unsubscribes not shown by the read-back: {len(report.implied_missing)}"
        )
        lines.extend(f"    {entry}" for entry in report.implied_missing)
    if report.read_back_error:
        lines.append(
            f"Read-back refused, so nothing sent could be verified: {report.read_back_error}"
        )
    if report.interrupted:
        how = _SIGNALS.get(signal, _SIGNALS["SIGINT"])
        unsent = max(report.calls_planned - report.calls_made, 0)
        if report.nothing_sent:
            lines.append(
                f"{how}: stopped before any change was sent: nothing was written to HubSpot."
            )
        elif unsent:
            lines.append(
                f"{how}: the calls already sent finished and were journalled; "
                f"{plural(unsent, 'call')} of {report.calls_planned} "
                f"{'was' if unsent == 1 else 'were'} not sent."
            )
        else:
            lines.append(f"{how} after every call had been sent: nothing was left out.")
    if below is not None:
        lines.append(
            "Stopped: HubSpot refused a call in a way that stops the apply, so no further call "
            f"was sent ({_SEE_BELOW}: it says why and what to do)."
        )
    elif report.stopped_by is not None:
        lines.append(
            "Stopped: HubSpot refused a call in a way that stops the apply, so no further call "
            f"was sent: {report.stopped_by.one_line()}"
        )
    journal = f"Journal: {journal_path} ({plural(report.journal_lines, 'line')} written)"
    if report.journal_error is not None:
        missing = len(report.unjournalled)
        journal += (
            f", then a write failed: {report.journal_error}. No further call was sent; "
            f"the {plural(missing, 'line')} it could not write "
            f"{'is' if missing == 1 else 'are'} printed on stderr."
        )
    lines.append(journal)
    if not report.ok and lacks_legal_basis(report):
        lines.append(f"What is left: {legal_basis_hint(report.gdpr)}.")
    elif not report.ok:
        lines.append(NEXT_STEP)
    return "".join(terminal_safe(line) + "\n" for line in lines)
