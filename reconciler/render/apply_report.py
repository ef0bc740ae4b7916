"""The end-of-apply report: what was applied and verified, what failed and why, what is
unconfirmed or was not sent. Returned as text; the CLI prints it."""

from __future__ import annotations

from reconciler.apply import ApplyReport, ItemReport
from reconciler.render.text import subscription_label

__all__ = ["render_apply_report"]


def _item(item: ItemReport) -> str:
    change = item.change
    if change.subscription_id is None:
        what = f"unsubscribe-all (brand {change.brand})"
    else:
        label = subscription_label(change.alias, change.subscription_id)
        what = f"{label} -> {change.after.value}"
    line = f"    {change.email} {what}: {item.detail or 'no detail'}"
    if item.correlation_id:
        line += f" [correlationId {item.correlation_id}]"
    return line


def render_apply_report(report: ApplyReport, journal_path: str) -> str:
    total = len(report.items)
    applied = report.of("applied")
    lines = [
        f"Applied and verified: {len(applied)} of {total} changes "
        f"({report.calls_made} {'call' if report.calls_made == 1 else 'calls'})."
    ]
    for state, title in (
        ("failed", "Failed"),
        ("unconfirmed", "Unconfirmed (not shown by the read-back)"),
        ("not_sent", "Not sent"),
    ):
        items = report.of(state)
        if items:
            lines.append(f"  {title}: {len(items)}")
            lines.extend(_item(item) for item in items)
    if report.implied_missing:
        lines.append(
            f"  Implied unsubscribes not shown by the read-back: {len(report.implied_missing)}"
        )
        lines.extend(f"    {entry}" for entry in report.implied_missing)
    if report.interrupted:
        lines.append(
            "Interrupted: the calls in flight finished and were journalled; no new call was sent."
        )
    lines.append(f"Journal: {journal_path} ({report.journal_lines} lines written)")
    if not report.ok:
        lines.append("Run 'hsprefs plan' to see what is left; a re-run of apply converges.")
    return "\n".join(lines) + "\n"
