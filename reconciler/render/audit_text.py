"""The audit report for terminals: totals first (overall, per brand, per subscription),
then every drifted and blocked pair with its live status, when it changed and HubSpot's
source. In-sync pairs are counted, not listed (the JSON and HTML reports list them).
Colour only when the caller asks for it. Every line is made terminal-safe before it is
coloured (:func:`~reconciler.render.safe.terminal_safe`): HubSpot's ``source`` is free
text, and must not be able to retitle the terminal or forge a line of the report."""

from __future__ import annotations

from reconciler.audit import (
    OPTED_OUT,
    AuditItem,
    AuditReport,
    PairState,
    Totals,
    describe_action,
)
from reconciler.plan import iso, subscription_label
from reconciler.redact import Redactor
from reconciler.render.safe import terminal_safe
from reconciler.render.text import paint

__all__ = ["drift_sentence", "item_subject", "live_detail", "render_audit_text", "wanted_live"]

_HUE = {PairState.DRIFTED: "yellow", PairState.BLOCKED: "magenta", PairState.IN_SYNC: "green"}


def item_subject(item: AuditItem) -> str:
    """``newsletter (101)``, or ``all email`` for an unsubscribe_all row."""
    if item.subscription_id is None:
        return "all email"
    return subscription_label(item.alias, item.subscription_id)


def _opt_out_word(value: str) -> str:
    return "opted out" if value == OPTED_OUT else "not opted out"


def wanted_live(item: AuditItem) -> tuple[str, str]:
    """The wanted and live values in words."""
    if item.subscription_id is None:
        return _opt_out_word(item.wanted), _opt_out_word(item.live)
    return item.wanted, item.live


def live_detail(item: AuditItem, mask: Redactor) -> str:
    """`` since 2026-03-01T10:00:00Z (source: ..., PORTAL_WIDE)``, or an empty string."""
    text = f" since {iso(item.live_timestamp)}" if item.live_timestamp else ""
    extra = [f"source: {mask.text(item.live_source)}"] if item.live_source else []
    if item.live_scope:
        extra.append(item.live_scope)
    if extra:
        text += f" ({', '.join(extra)})"
    return text


def drift_sentence(totals: Totals) -> str:
    """``2 of 9 managed pairs differ from the config.``"""
    verb = "differs" if totals.drift == 1 else "differ"
    return f"{totals.drift} of {totals.managed} managed pairs {verb} from the config."


def _totals_line(label: str, report_line: str) -> str:
    return f"  {label}: {report_line}"


def render_audit_text(
    report: AuditReport, *, color: bool = False, redactor: Redactor | None = None
) -> str:
    """The whole report as text with a trailing newline."""
    mask = redactor or Redactor(enabled=False)
    target = report.target
    portal = f"portal {target.portal_id}" if target.portal_id is not None else "portal (unknown)"
    totals = report.totals
    lines = [
        f"Audit: {totals.line()}",
        terminal_safe(f"Target: {portal} at {target.api_url} (API {target.api_version})"),
    ]
    if report.counts is not None:
        lines.append(f"Managed: {report.counts.line()}")
    if report.items:
        lines += ["", "By brand:"]
        lines += [_totals_line(f"brand {b.brand}", b.totals.line()) for b in report.brands()]
        lines += ["", "By subscription:"]
        for s in report.subscriptions():
            label = (
                "all email (unsubscribe_all)"
                if s.subscription_id is None
                else subscription_label(s.alias, s.subscription_id)
            )
            lines.append(terminal_safe(_totals_line(f"brand {s.brand} {label}", s.totals.line())))
    for state, title in (
        (PairState.DRIFTED, "Drifted (a plan would change them)"),
        (PairState.BLOCKED, "Blocked (differ, but consent rules forbid the change)"),
    ):
        items = report.of(state)
        if not items:
            continue
        lines += ["", f"{title}:"]
        for item in items:
            wanted, live = wanted_live(item)
            line = (
                f"  brand {item.brand} {mask.email(item.email)} {item_subject(item)}: "
                f"wanted {wanted}, live {live}{live_detail(item, mask)}"
            )
            lines.append(paint(line, _HUE[state], color))
            if state is PairState.DRIFTED:
                lines.append(f"      {describe_action(item.action)}")
            elif item.reason:
                lines.append(terminal_safe(f"      {mask.text(item.reason)}"))
            if item.location:
                lines.append(terminal_safe(f"      declared at {item.location}"))
    lines.append("")
    if not report.items:
        lines.append("Nothing is managed: the config declares no subscriber.")
    elif report.in_sync:
        lines.append("In sync: HubSpot matches the config.")
    else:
        lines.append(f"Drift: {drift_sentence(totals)}")
    return "\n".join(lines) + "\n"
